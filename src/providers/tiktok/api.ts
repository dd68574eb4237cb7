// Calls to TikTok's API v2 (https://developers.tiktok.com/doc/tiktok-api-v2-introduction): `https://open.tiktokapis.com/v2/<path>`
// with `Authorization: Bearer <token>`, JSON in and out, and the mapping of its errors. Every answer carries
// `{"data": {…}, "error": {"code": "ok" | <code>, "message", "log_id"}}`
// (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling): the HTTP status tells the class and the code says
// which. 401 access_token_invalid: the token is dead; 401 scope_not_authorized: the consent lacks a scope (reconnect and
// allow it, not a refresh); 403: the creator or the app may not do it (spam_risk_too_many_posts,
// spam_risk_user_banned_from_posting, reached_active_user_cap, unaudited_client_can_only_post_to_private_accounts,
// url_ownership_unverified, privacy_level_option_mismatch); 400 invalid_params and friends; 429 rate_limit_exceeded:
// TikTok's limits are per user token per endpoint per minute (creator_info 20, video init 6, status 30), and no
// Retry-After is documented (UNCONFIRMED; the limits are noted on each endpoint's reference), so the wait is Retry-After when sent, else a minute; 5xx internal_error.
// The log_id is kept in the reason: TikTok's support asks for it.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, malformed, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { ProviderError } from '../types.ts';

export const PROVIDER = 'tiktok';
export const TIKTOK_API_URL = 'https://open.tiktokapis.com';

/** The code, message and log id of TikTok's error envelope (also the token endpoint's {error, error_description}). */
export function tiktokReason(res: HttpResponse): { code?: string; message?: string; logId?: string } {
  const b = parseJson(res) as { error?: unknown; error_description?: unknown; log_id?: unknown } | null;
  if (!b || typeof b !== 'object') return {};
  const e = b.error;
  if (e && typeof e === 'object') {
    const x = e as { code?: unknown; message?: unknown; log_id?: unknown };
    return {
      ...(typeof x.code === 'string' ? { code: x.code } : {}), ...(typeof x.message === 'string' && x.message ? { message: redactSecrets(x.message).slice(0, 300) } : {}),
      ...(typeof x.log_id === 'string' ? { logId: x.log_id } : {}),
    };
  }
  return {
    ...(typeof e === 'string' ? { code: e } : {}), ...(typeof b.error_description === 'string' ? { message: redactSecrets(b.error_description).slice(0, 300) } : {}),
    ...(typeof b.log_id === 'string' ? { logId: b.log_id } : {}),
  };
}

/** A non-2xx answer (or a 2xx whose error code is not ok) as a ProviderError. */
export function tiktokError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const { code, message, logId } = tiktokReason(res);
  const said = message ?? bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason: `${code ?? `HTTP ${res.status}`}: ${said}${logId ? ` (log_id ${logId})` : ''}` };
  if (res.status === 429 || code === 'rate_limit_exceeded') {
    return new ProviderError('rate_limited', `TikTok: ${operation} is over TikTok's rate limit (per user, per minute)`, { ...base, retryAfterMs: retryAfterMs(res.headers) ?? 60_000 });
  }
  if (res.status === 401 && code === 'scope_not_authorized') return new ProviderError('permanent', `TikTok: ${operation} needs a permission the creator did not allow; reconnect the account and allow every permission (${said})`, base);
  if (res.status === 401) return new ProviderError('auth_expired', `TikTok: ${operation} refused the token (${said})`, base);
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) return new ProviderError('unknown_outcome', `TikTok: ${operation} answered ${res.status} from a gateway; the post may have been made`, base);
    return new ProviderError('transient', `TikTok: ${operation} failed on TikTok's side (${res.status})`, base);
  }
  if (code === 'unaudited_client_can_only_post_to_private_accounts') {
    return new ProviderError('permanent', `TikTok: this AllIN's TikTok app has not passed TikTok's audit, so it may post only to private accounts and only as SELF_ONLY (${said})`, base);
  }
  if (code === 'url_ownership_unverified') {
    return new ProviderError('permanent', `TikTok: TikTok fetches photos only from a domain or URL prefix verified for the app in the TikTok developer portal; verify where AllIN serves media (PUBLIC_URL) there (${said})`, base);
  }
  if (code === 'spam_risk_too_many_posts' || code === 'reached_active_user_cap') {
    return new ProviderError('permanent', `TikTok: the daily posting cap is reached (${code}); post again tomorrow (${said})`, base);
  }
  if (res.status === 403) return new ProviderError('permanent', `TikTok: ${operation}: TikTok does not allow this for the creator (${said})`, base);
  return new ProviderError('permanent', `TikTok: ${operation}: TikTok refused it (${said})`, base);
}

export interface TikTokApi extends AdapterCalls {
  /** Where /v2 is. */
  readonly base: string;
  readonly http: HttpClient;
  /** GET /v2<path>; the `data` of the answer. */
  get<T>(token: string, path: string, operation: string): Promise<T>;
  /** POST /v2<path> with a JSON body; the `data` of the answer. `creates`: a lost answer is an unknown outcome. */
  post<T>(token: string, path: string, body: unknown, operation: string, creates?: boolean): Promise<T>;
}

export function tiktokApi(http: HttpClient, baseUrl: string): TikTokApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: tiktokError });
  const auth = (token: string) => ({ authorization: `Bearer ${token}`, accept: 'application/json' });
  const data = <T>(res: HttpResponse, operation: string, creates: boolean): T => {
    const b = calls.read<{ data?: unknown; error?: { code?: unknown } }>(res, operation, creates);
    // A 2xx whose error code is not "ok" is a refusal all the same.
    if (b.error && typeof b.error === 'object' && typeof b.error.code === 'string' && b.error.code !== 'ok') throw tiktokError(operation, res, creates);
    if (!b.data || typeof b.data !== 'object') throw malformed(PROVIDER, operation, creates, res.status);
    return b.data as T;
  };
  return {
    ...calls,
    base,
    http,
    async get<T>(token: string, path: string, operation: string) {
      return data<T>(await calls.call({ method: 'GET', url: `${base}/v2${path}`, operation, headers: auth(token) }), operation, false);
    },
    async post<T>(token: string, path: string, body: unknown, operation: string, creates = false) {
      // A creating call is not retried here: a lost answer is reconciled (reconcile.ts); reads are safe to resend unsent.
      const res = await calls.call({ method: 'POST', url: `${base}/v2${path}`, operation, headers: { ...auth(token), 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(body ?? {}), ...(creates ? {} : { retryUnsent: true }) }, creates);
      return data<T>(res, operation, creates);
    },
  };
}
