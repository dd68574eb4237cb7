// Mapping network answers to ProviderError kinds. Adapters use these and add what is particular to
// their network (X's duplicate-content 403, Meta's error codes, …) before falling back to them.
import { TransportError, type HttpResponse } from '../infra/http/client.ts';
import { parseRetryAfter } from '../infra/retry-after.ts';
import { ProviderError } from './types.ts';
import { MalformedResponseError, parseJson, redactSecrets } from './http.ts';

/**
 * How long a 429 asks to wait: Retry-After (seconds or an HTTP date, read by the one parser in
 * infra/retry-after), else when the exhausted window resets: X's `x-rate-limit-reset` and Bluesky's
 * `RateLimit-Reset` in epoch seconds (https://docs.bsky.app/docs/advanced-guides/rate-limits), Mastodon's
 * `X-RateLimit-Reset` as an ISO 8601 time (https://docs.joinmastodon.org/api/rate-limits/).
 */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const direct = parseRetryAfter(headers['retry-after'], now);
  if (direct !== undefined) return direct;
  const raw = headers['x-rate-limit-reset'] ?? headers['x-ratelimit-reset'] ?? headers['ratelimit-reset'];
  if (raw === undefined) return undefined;
  const reset = Number(raw);
  if (Number.isFinite(reset) && reset > 1e9) return Math.max(0, reset * 1000 - now);
  const at = /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function reasonOf(res: HttpResponse): string {
  const body = parseJson(res);
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    const e = b.error;
    const desc = b.error_description ?? b.message ?? b.detail ?? b.title ?? (typeof e === 'object' && e ? (e as { message?: unknown }).message : undefined);
    const parts = [typeof e === 'string' ? e : undefined, typeof desc === 'string' ? desc : undefined].filter(Boolean);
    if (parts.length > 0) return redactSecrets(parts.join(': ')).slice(0, 300);
  }
  return bodySnippet(res);
}

/** The start of a body that is not a readable error, credentials taken out, for an error's reason. */
export function bodySnippet(res: HttpResponse): string {
  return redactSecrets(res.text.slice(0, 400)).slice(0, 200) || `HTTP ${res.status}`;
}

/** A non-2xx answer as a ProviderError. */
export function httpError(provider: string, what: string, res: HttpResponse): ProviderError {
  const reason = reasonOf(res);
  const base = { provider, status: res.status, reason };
  if (res.status === 401) return new ProviderError('auth_expired', `${provider}: ${what} refused the token (${reason})`, base);
  if (res.status === 429) {
    const wait = retryAfterMs(res.headers);
    return new ProviderError('rate_limited', `${provider}: ${what} is rate limited`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) return new ProviderError('transient', `${provider}: ${what} failed on the network's side (${res.status})`, base);
  return new ProviderError('permanent', `${provider}: ${what} was refused (${reason})`, base);
}

/**
 * A call that got no answer. For a call that creates something (a post), a request that may have been
 * sent is an unknown outcome: reconcile before retrying. Otherwise it is transient.
 */
export function transportError(provider: string, what: string, err: unknown, creates: boolean): ProviderError {
  if (err instanceof TransportError) {
    if (err.reason === 'blocked_host') return new ProviderError('permanent', `${provider}: ${err.message}`, { provider, reason: 'blocked_host' });
    if (creates && err.sent) {
      return new ProviderError('unknown_outcome', `${provider}: ${what} got no answer after it was sent; it may have been accepted`, { provider, reason: err.reason });
    }
    return new ProviderError('transient', `${provider}: ${what} could not reach the network (${redactSecrets(err.message)})`, { provider, reason: err.reason });
  }
  return new ProviderError('transient', `${provider}: ${what} failed (${redactSecrets(String((err as Error)?.message ?? err))})`, { provider });
}

/** A 2xx answer that cannot be read (or lacks what it must hold): for a creating call the post may exist. */
export function malformed(provider: string, what: string, creates: boolean, status?: number): ProviderError {
  return new MalformedResponseError(provider, what, creates, status);
}
