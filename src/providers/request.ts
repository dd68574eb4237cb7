// One outbound call of an adapter, made the same way for every network: the request goes through the
// injected HttpClient (timeouts, bounded retries, metrics, the private-address guard); no answer becomes a
// ProviderError by errors.ts's transportError (an unknown outcome for a creating call that may have been
// sent); a non-2xx answer becomes one by the adapter's own error mapping; a 2xx body is read by http.ts's
// one JSON reader. Each adapter builds its AdapterCalls once and speaks its network through it.
import type { HttpClient, HttpRequest, HttpResponse } from '../infra/http/client.ts';
import { transportError } from './errors.ts';
import { readJson } from './http.ts';
import type { ProviderError } from './types.ts';

/** A request as an adapter writes it: the provider label is filled in. */
export type AdapterRequest = Omit<HttpRequest, 'provider'>;

/** A non-2xx answer as a ProviderError, the network's own cases first (errors.ts's httpError for the rest). */
export type ErrorMapping = (operation: string, res: HttpResponse, creates: boolean) => ProviderError;

export interface AdapterCalls {
  readonly provider: string;
  /** Sends; no answer throws. Any status comes back, for calls that read a non-2xx status themselves. */
  send(req: AdapterRequest, creates?: boolean): Promise<HttpResponse>;
  /** Sends and requires a 2xx answer; any other status throws the adapter's mapping of it. */
  call(req: AdapterRequest, creates?: boolean): Promise<HttpResponse>;
  /** The JSON body of an answer, else a MalformedResponseError (an unknown outcome for a creating call). */
  read<T>(res: HttpResponse, operation: string, creates?: boolean): T;
  /** The adapter's mapping of a non-2xx answer, for calls that look at the status first. */
  fail(operation: string, res: HttpResponse, creates?: boolean): ProviderError;
}

export const isOk = (res: HttpResponse): boolean => res.status >= 200 && res.status < 300;

/**
 * The calls of one adapter. `defaults` go into every request (Mastodon: `userSuppliedHost` and
 * `retryUnsent`), under what the request itself says.
 */
export function adapterCalls(http: HttpClient, o: { provider: string; error: ErrorMapping; defaults?: Partial<AdapterRequest> }): AdapterCalls {
  const fail = (operation: string, res: HttpResponse, creates = false) => o.error(operation, res, creates);
  const send = async (req: AdapterRequest, creates = false): Promise<HttpResponse> => {
    try {
      return await http.request({ ...o.defaults, ...req, provider: o.provider });
    } catch (err) {
      throw transportError(o.provider, req.operation, err, creates);
    }
  };
  return {
    provider: o.provider,
    send,
    fail,
    async call(req, creates = false) {
      const res = await send(req, creates);
      if (!isOk(res)) throw fail(req.operation, res, creates);
      return res;
    },
    read: <T>(res: HttpResponse, operation: string, creates = false) => readJson<T>(res, { provider: o.provider, operation, creates }),
  };
}
