// Calls to the Tumblr API v2 (https://www.tumblr.com/docs/en/api/v2): `https://api.tumblr.com/v2/<path>` with
// `Authorization: Bearer <token>`; every answer is `{meta: {status, msg}, response}`, and error answers add
// `errors: [{title, code, detail}]` (Response Format; the create route's Errors and Error Subcodes). The classes:
// 401 the token is dead; 403 the account may not (8004/8011/8023: a daily upload or posting limit, waited out as a
// rate limit until the day turns; 8010: a video still transcoding, tried again later; 8022: the queue is full); 404 the
// blog or post does not exist; 429 a rate limit (Retry-After, else the X-Ratelimit-Perhour/Perday-Reset header of the
// exhausted window, in seconds: UNCONFIRMED, the reference says only that "the error message or headers" tell which
// limit; else a minute); 5xx Tumblr's side (502/504 on a create: the post may exist).
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, malformed, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { adapterCalls, type AdapterCalls, type AdapterRequest } from '../request.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'tumblr';
export const TUMBLR_API_URL = 'https://api.tumblr.com';

/** Daily limits per user (Rate Limits): the call may work again once Tumblr's calendar day turns. */
const DAILY_LIMIT_CODES = new Set([8004, 8011, 8023]);
/** How long a daily limit is waited before trying again: Tumblr's day is its servers' clock, whose zone is not said. */
const DAILY_RETRY_MS = 60 * 60_000;

/** The first error's code and words, else the meta's message. */
export function tumblrReason(res: HttpResponse): { code?: number; message?: string } {
  const b = parseJson(res) as { meta?: { msg?: unknown }; errors?: { title?: unknown; code?: unknown; detail?: unknown }[]; error?: unknown; error_description?: unknown } | null;
  if (!b || typeof b !== 'object') return {};
  const e = Array.isArray(b.errors) ? b.errors[0] : undefined;
  const words = [e?.title, e?.detail].filter((x): x is string => typeof x === 'string' && x !== '');
  const message = words.length > 0 ? words.join(': ') : typeof b.error_description === 'string' ? b.error_description : typeof b.error === 'string' ? b.error : typeof b.meta?.msg === 'string' ? b.meta.msg : undefined;
  return { ...(typeof e?.code === 'number' ? { code: e.code } : {}), ...(message ? { message: redactSecrets(message).slice(0, 300) } : {}) };
}

/** How long a 429 asks to wait: Retry-After, else the reset of the exhausted hourly or daily window. */
function tumblrWait(headers: Record<string, string>): number {
  const direct = retryAfterMs(headers);
  if (direct !== undefined) return direct;
  for (const w of ['perhour', 'perday']) {
    const reset = Number(headers[`x-ratelimit-${w}-reset`]);
    if (headers[`x-ratelimit-${w}-remaining`] === '0' && Number.isFinite(reset) && reset > 0) return reset * 1000;
  }
  return 60_000;
}

/** A non-2xx answer of the API as a ProviderError. */
export function tumblrError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const { code, message } = tumblrReason(res);
  const said = message ?? bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason: code !== undefined ? `code ${code}: ${said}` : said };
  if (res.status === 429) return new ProviderError('rate_limited', `Tumblr: ${operation} is over Tumblr's rate limit (${said})`, { ...base, retryAfterMs: tumblrWait(res.headers) });
  if (res.status === 401) return new ProviderError('auth_expired', `Tumblr: ${operation} refused the token (${said})`, base);
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) return new ProviderError('unknown_outcome', `Tumblr: ${operation} answered ${res.status} from a gateway; the post may have been made`, base);
    return new ProviderError('transient', `Tumblr: ${operation} failed on Tumblr's side (${res.status}: ${said})`, base);
  }
  if (res.status === 403 && code !== undefined && DAILY_LIMIT_CODES.has(code)) {
    return new ProviderError('rate_limited', `Tumblr: ${operation}: the account reached a daily limit (${said}); tried again later`, { ...base, retryAfterMs: DAILY_RETRY_MS });
  }
  if (res.status === 403 && code === 8010) return new ProviderError('transient', `Tumblr: a video of the account is still being processed (${said}); tried again later`, base);
  if (res.status === 403) return new ProviderError('permanent', `Tumblr: ${operation}: Tumblr does not allow this for the account (${said})`, base);
  if (res.status === 404) return new ProviderError('permanent', `Tumblr: ${operation}: not found (${said})`, base);
  return new ProviderError('permanent', `Tumblr: ${operation}: Tumblr refused it (${said})`, base);
}

export interface TumblrApi extends AdapterCalls {
  /** Where /v2 is. */
  readonly base: string;
  readonly http: HttpClient;
  /** The `response` of a GET. */
  get<T>(token: string, path: string, operation: string): Promise<T>;
  /** The `response` of a POST (JSON, or a multipart form whose `json` part holds the parameters). */
  post<T>(token: string, path: string, body: unknown, operation: string, creates?: boolean): Promise<T>;
}

export function tumblrApi(http: HttpClient, baseUrl: string): TumblrApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: tumblrError });
  const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/json' });
  const unwrap = <T>(res: HttpResponse, operation: string, creates = false): T => {
    const b = calls.read<{ response?: unknown }>(res, operation, creates);
    if (!b.response || typeof b.response !== 'object') throw malformed(PROVIDER, operation, creates, res.status);
    return b.response as T;
  };
  return {
    ...calls,
    base,
    http,
    async get<T>(token: string, path: string, operation: string) {
      return unwrap<T>(await calls.call({ method: 'GET', url: `${base}/v2${path}`, operation, headers: auth(token) }), operation);
    },
    async post<T>(token: string, path: string, body: unknown, operation: string, creates = false) {
      const form = body instanceof FormData;
      // A create is never resent here: a lost answer is reconciled (reconcile.ts).
      const req: AdapterRequest = {
        method: 'POST', url: `${base}/v2${path}`, operation, headers: { ...auth(token), ...(form ? {} : { 'content-type': 'application/json' }) },
        body: form ? body : JSON.stringify(body), ...(creates ? { media: form } : { retryUnsent: true }),
      };
      return unwrap<T>(await calls.call(req, creates), operation, creates);
    },
  };
}
