// Calls to Reddit's OAuth API (https://www.reddit.com/dev/api, https://github.com/reddit-archive/reddit/wiki/OAuth2):
// `https://oauth.reddit.com/<path>` with `Authorization: bearer <token>` and a User-Agent of Reddit's form
// (`<platform>:<app id>:<version> (by /u/<user>)`, https://github.com/reddit-archive/reddit/wiki/API); writes are
// urlencoded forms with api_type=json. Errors are mapped by errors.ts. Every answer carries the rate-limit headers,
// which `headroom` turns into a wait before a post is sent when the window has too few calls left to finish it.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { ProviderError } from '../types.ts';
import { PROVIDER, redditError, resetWaitMs } from './errors.ts';

export const REDDIT_API_URL = 'https://oauth.reddit.com';

export interface RedditApi extends AdapterCalls {
  readonly base: string;
  headers(token: string): Record<string, string>;
  get<T>(token: string, path: string, operation: string): Promise<{ body: T; res: HttpResponse }>;
  form<T>(token: string, path: string, operation: string, fields: Record<string, string>, creates?: boolean): Promise<T>;
}

export function redditApi(http: HttpClient, baseUrl: string, userAgent: string): RedditApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: redditError });
  const headers = (token: string) => ({ authorization: `bearer ${token}`, 'user-agent': userAgent });
  return {
    ...calls,
    base,
    headers,
    async get<T>(token: string, path: string, operation: string) {
      const res = await calls.call({ method: 'GET', url: `${base}${path}`, operation, headers: headers(token) });
      return { body: calls.read<T>(res, operation), res };
    },
    async form<T>(token: string, path: string, operation: string, fields: Record<string, string>, creates = false) {
      const res = await calls.call({ method: 'POST', url: `${base}${path}`, operation, headers: headers(token), body: new URLSearchParams({ api_type: 'json', ...fields }), retryUnsent: true }, creates);
      return calls.read<T>(res, operation, creates);
    },
  };
}

/**
 * Refuses to start a post when the window has fewer than `needed` calls left (X-Ratelimit-Remaining), with the wait
 * to its end (X-Ratelimit-Reset): nothing was sent, so the post waits instead of failing halfway.
 */
export function headroom(res: HttpResponse, needed: number): void {
  const remaining = Number(res.headers['x-ratelimit-remaining']);
  if (!Number.isFinite(remaining) || remaining >= needed) return;
  const wait = resetWaitMs(res.headers);
  throw new ProviderError('rate_limited', `Reddit: ${Math.floor(remaining)} calls are left in this rate-limit window and a post needs ${needed}`,
    { provider: PROVIDER, reason: 'ratelimit_window_low', ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
}
