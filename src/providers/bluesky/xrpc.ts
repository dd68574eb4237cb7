// XRPC calls and their errors (https://atproto.com/specs/xrpc): `GET|POST {server}/xrpc/{nsid}`, sent through
// the HttpClient (the private-address guard for every server that is not trusted configuration), and an error
// answer mapped to a ProviderError kind, with the rate-limit headers of
// https://docs.bsky.app/docs/advanced-guides/rate-limits (read by errors.ts's retryAfterMs).
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { ProviderError } from '../types.ts';

const PROVIDER = 'bluesky';

/** An XRPC error answer's `error` and `message` (empty when the body is not one). */
export function xrpcBody(res: HttpResponse): { error: string; message: string } {
  const b = parseJson(res) as { error?: unknown; message?: unknown } | null | undefined;
  return { error: typeof b?.error === 'string' ? b.error : '', message: typeof b?.message === 'string' ? b.message : '' };
}

/**
 * An XRPC error as a ProviderError. ExpiredToken and InvalidToken come as HTTP 400, not 401 (docs/NETWORKS.md, Network facts: Bluesky). A
 * 5xx to a creating call may have been committed behind a gateway, so it is an unknown outcome.
 */
export function xrpcError(what: string, res: HttpResponse, creates: boolean): ProviderError {
  const { error, message } = xrpcBody(res);
  const reason = redactSecrets([error, message].filter(Boolean).join(': ')).slice(0, 300) || bodySnippet(res);
  const details = { provider: PROVIDER, status: res.status, reason };
  if (error === 'ExpiredToken' || error === 'InvalidToken' || res.status === 401) {
    return new ProviderError('auth_expired', `bluesky: ${what} refused the session (${reason})`, details);
  }
  if (res.status === 429) {
    const wait = retryAfterMs(res.headers);
    return new ProviderError('rate_limited', `bluesky: ${what} is rate limited`, { ...details, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) {
    return creates
      ? new ProviderError('unknown_outcome', `bluesky: ${what} failed on the server (${res.status}); the record may have been written`, details)
      : new ProviderError('transient', `bluesky: ${what} failed on the network's side (${res.status})`, details);
  }
  return new ProviderError('permanent', `bluesky: ${what} was refused (${reason})`, details);
}

export interface XrpcCall {
  method: 'GET' | 'POST';
  base: string;
  nsid: string;
  what: string;
  creates?: boolean;
  token?: string;
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Carries file bytes: the client's media deadline. */
  media?: boolean;
}

export interface RecordAnswer { uri?: unknown; cid?: unknown; value?: Record<string, unknown> }

export interface Xrpc extends AdapterCalls {
  /** One XRPC call; any status comes back (for calls that read an error themselves). */
  xrpcSend(c: XrpcCall): Promise<HttpResponse>;
  /** One XRPC call that must answer 2xx; any other status throws xrpcError. */
  xrpcCall(c: XrpcCall): Promise<HttpResponse>;
}

/** XRPC over AllIN's HttpClient; `trusted` are the origins of configured servers, sent without the guard. */
export function xrpcClient(http: HttpClient, trusted: Set<string>): Xrpc {
  const calls = adapterCalls(http, { provider: PROVIDER, error: xrpcError });
  const xrpcSend = (c: XrpcCall): Promise<HttpResponse> => {
    const u = new URL(`${c.base}/xrpc/${c.nsid}`);
    for (const [k, v] of Object.entries(c.query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
    }
    return calls.send({
      method: c.method, url: u.toString(), operation: c.what,
      headers: { accept: 'application/json', ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...c.headers },
      ...(c.body !== undefined ? { body: c.body } : {}),
      userSuppliedHost: !trusted.has(u.origin),
      retryUnsent: true,
      ...(c.media ? { media: true } : {}),
    }, c.creates ?? false);
  };
  return {
    ...calls,
    xrpcSend,
    async xrpcCall(c) {
      const res = await xrpcSend(c);
      if (res.status < 200 || res.status >= 300) throw xrpcError(c.what, res, c.creates ?? false);
      return res;
    },
  };
}
