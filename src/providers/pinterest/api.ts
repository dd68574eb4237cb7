// Calls to the Pinterest API v5 (https://developers.pinterest.com/docs/api/v5/): `https://api.pinterest.com/v5/<path>`
// with `Authorization: Bearer <token>`, JSON answers, and the mapping of its errors.
// Every error answer is `{"code": <int>, "message": "<text>"}` with the HTTP status telling the class
// (the reference's Error schema): 401 the token is dead; 403 the account may not do it (a board not its own, a scope
// not granted); 404 a board, section, Pin or media upload that does not exist; 429 too many requests
// (https://developers.pinterest.com/docs/reference/rate-limits/): the wait is Retry-After or the reset header when
// one is sent (UNCONFIRMED which: the rate-limit page names none), else a minute; 5xx Pinterest's side.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'pinterest';
export const PINTEREST_API_URL = 'https://api.pinterest.com';

/** The code and message of Pinterest's error body. */
export function pinterestReason(res: HttpResponse): { code?: number; message?: string } {
  const b = parseJson(res) as { code?: unknown; message?: unknown; error?: unknown; error_description?: unknown } | null;
  if (!b || typeof b !== 'object') return {};
  const message = typeof b.message === 'string' ? b.message : typeof b.error_description === 'string' ? b.error_description : typeof b.error === 'string' ? b.error : undefined;
  return { ...(typeof b.code === 'number' ? { code: b.code } : {}), ...(message ? { message: redactSecrets(message).slice(0, 300) } : {}) };
}

/** A non-2xx answer of the API as a ProviderError. */
export function pinterestError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const { code, message } = pinterestReason(res);
  const said = message ?? bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason: code !== undefined ? `code ${code}: ${said}` : said };
  if (res.status === 429) {
    return new ProviderError('rate_limited', `Pinterest: ${operation} is over Pinterest's rate limit`, { ...base, retryAfterMs: retryAfterMs(res.headers) ?? 60_000 });
  }
  if (res.status === 401) return new ProviderError('auth_expired', `Pinterest: ${operation} refused the token (${said})`, base);
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) {
      return new ProviderError('unknown_outcome', `Pinterest: ${operation} answered ${res.status} from a gateway; the Pin may have been made`, base);
    }
    return new ProviderError('transient', `Pinterest: ${operation} failed on Pinterest's side (${res.status})`, base);
  }
  if (res.status === 403) return new ProviderError('permanent', `Pinterest: ${operation}: Pinterest does not allow this for the account (${said})`, base);
  if (res.status === 404) return new ProviderError('permanent', `Pinterest: ${operation}: not found (${said})`, base);
  return new ProviderError('permanent', `Pinterest: ${operation}: Pinterest refused it (${said})`, base);
}

export interface PinterestApi extends AdapterCalls {
  /** Where /v5 is. */
  readonly base: string;
  readonly http: HttpClient;
  get<T>(token: string, path: string, operation: string): Promise<T>;
  post<T>(token: string, path: string, body: unknown, operation: string, creates?: boolean): Promise<T>;
}

export function pinterestApi(http: HttpClient, baseUrl: string): PinterestApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: pinterestError });
  const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/json' });
  return {
    ...calls,
    base,
    http,
    async get<T>(token: string, path: string, operation: string) {
      return calls.read<T>(await calls.call({ method: 'GET', url: `${base}/v5${path}`, operation, headers: auth(token) }), operation);
    },
    async post<T>(token: string, path: string, body: unknown, operation: string, creates = false) {
      // A Pin's create is not retried here: a lost answer is reconciled (reconcile.ts); other posts are safe to resend unsent.
      const res = await calls.call({ method: 'POST', url: `${base}/v5${path}`, operation, headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify(body), ...(creates ? {} : { retryUnsent: true }), ...(creates ? { media: true } : {}) }, creates);
      return calls.read<T>(res, operation, creates);
    },
  };
}
