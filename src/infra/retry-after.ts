// Honouring Retry-After on 429 and 503, for the clients AllIN ships (the web app, `allin loadtest`): wait
// what the server asked plus jitter (so a crowd told the same number does not come back in one instant),
// then try again, a bounded number of times, and never wait longer than the caller is willing to.
// Pure (no Node or DOM imports): the web app imports it too. The wait itself is retry.ts's backoffDelay.
import { backoffDelay, type Backoff } from './retry.ts';

export interface RetryAfterPolicy {
  /** Retries after the first try. */
  maxRetries: number;
  /** A longer Retry-After is not waited for: that answer goes back to the caller as it is. */
  maxWaitMs: number;
  /** Extra wait drawn from [0, jitter × max(Retry-After, 1 s)]; 0.5 by default. */
  jitter?: number;
}

/** Statuses whose Retry-After means "nothing was done; the same request may come back then". */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** The policy as retry.ts takes it: no backoff of its own, only the server's Retry-After spread by the jitter. */
export function retryAfterBackoff(policy: RetryAfterPolicy): Backoff {
  return { baseMs: 0, capMs: 0, jitter: 'full', maxRetryAfterMs: policy.maxWaitMs, retryAfterJitter: policy.jitter ?? 0.5 };
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3}, /.test(v)) return undefined; // an IMF-fixdate starts with its day name
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * How long to wait before retry number `retry` (1 for the first) of an answer with this status and
 * Retry-After, or null when the answer should go back to the caller: not 429/503, no Retry-After (a 503
 * from a proxy says nothing about when), retries used up, or a longer wait than the policy allows.
 */
export function retryDelayMs(status: number, retryAfter: string | null | undefined, retry: number, policy: RetryAfterPolicy,
  random: () => number = Math.random, now = Date.now()): number | null {
  if (!RETRY_AFTER_STATUSES.has(status) || retry > policy.maxRetries) return null;
  const wait = parseRetryAfter(retryAfter, now);
  if (wait === undefined || wait > policy.maxWaitMs) return null;
  return backoffDelay(retryAfterBackoff(policy), retry, { retryAfterMs: wait, random });
}
