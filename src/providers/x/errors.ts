// X's error answers as ProviderError kinds (https://docs.x.com/x-api/fundamentals/response-codes-and-errors):
// the body is a problem document (`title`, `detail`, `type`, `errors[]`); a 429 carries no Retry-After but the
// reset times of the windows it is counted in (https://docs.x.com/x-api/fundamentals/rate-limits); the same
// text again from the same account is refused 403 as duplicate content.
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson, redactSecrets } from '../http.ts';
import { ProviderError } from '../types.ts';

export interface XProblem {
  title?: string;
  detail?: string;
  type?: string;
  status?: number;
  errors?: { message?: string; detail?: string; title?: string; type?: string }[];
}

/**
 * Wait for a 429. X sends no Retry-After; x-rate-limit-reset is the 15-minute window, and the daily caps
 * come as x-user-limit-24hour-* / x-app-limit-24hour-*. The latest reset of an exhausted window wins; a 429
 * can come while x-rate-limit-remaining is still above 0, so its reset counts when no window says 0.
 */
export function xRetryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const waits: number[] = [];
  for (const prefix of ['x-rate-limit', 'x-user-limit-24hour', 'x-app-limit-24hour']) {
    const reset = Number(headers[`${prefix}-reset`]);
    const remaining = headers[`${prefix}-remaining`];
    if (Number.isFinite(reset) && reset > 1e9 && remaining !== undefined && Number(remaining) <= 0) waits.push(reset * 1000 - now);
  }
  if (waits.length > 0) return Math.max(0, ...waits);
  return retryAfterMs(headers, now);
}

export function problemOf(res: HttpResponse): XProblem {
  const p = parseJson(res);
  return p && typeof p === 'object' ? p as XProblem : {};
}

function describe(p: XProblem, res: HttpResponse): string {
  const parts = [p.detail ?? p.title, ...(p.errors ?? []).map((e) => e.message ?? e.detail)].filter((s): s is string => typeof s === 'string' && s !== '');
  return (parts.length > 0 ? redactSecrets([...new Set(parts)].join('; ')) : bodySnippet(res)).slice(0, 300);
}

export const isDuplicate = (p: XProblem): boolean => /duplicate content/i.test(`${p.detail ?? ''} ${(p.errors ?? []).map((e) => e.message ?? '').join(' ')}`);

/** A non-2xx answer from the X API as a ProviderError, with X's own cases named. */
export function xError(what: string, res: HttpResponse, opts: { creates?: boolean; reply?: boolean } = {}): ProviderError {
  const p = problemOf(res);
  const reason = describe(p, res);
  const base = { provider: 'x', status: res.status };
  if (res.status === 401) return new ProviderError('auth_expired', `x: ${what} refused the token (${reason})`, { ...base, reason });
  if (res.status === 429) {
    const wait = xRetryAfterMs(res.headers);
    const kind = p.type?.endsWith('/usage-capped') ? 'usage-capped' : 'rate-limit-exceeded';
    return new ProviderError('rate_limited', `x: ${what} is rate limited (${reason})`, { ...base, reason: kind, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status === 403 && isDuplicate(p)) {
    return new ProviderError('permanent', `x: ${what} was refused as a duplicate of an earlier post (${reason})`, { ...base, reason: 'duplicate_content' });
  }
  // Since 2026-02-23 replies are accepted only from accounts the parent's author summoned; not retryable.
  if (res.status === 403 && opts.reply && /repl/i.test(reason)) {
    return new ProviderError('permanent', `x: ${what} was refused: X does not allow this reply (${reason})`, { ...base, reason: 'reply_not_allowed' });
  }
  // A gateway timeout on a create was forwarded upstream and may have been acted on.
  if (res.status === 504 && opts.creates) {
    return new ProviderError('unknown_outcome', `x: ${what} timed out inside X (504); it may have been accepted`, { ...base, reason });
  }
  if (res.status >= 500) return new ProviderError('transient', `x: ${what} failed on X's side (${res.status})`, { ...base, reason });
  const kind = p.type && p.type !== 'about:blank' ? p.type.split('/').pop() : undefined;
  return new ProviderError('permanent', `x: ${what} was refused (${reason})`, { ...base, reason: kind ? `${kind}: ${reason}` : reason });
}
