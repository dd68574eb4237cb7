// Rate limiters from rate-limiter-flexible: shared through Redis when the process has it, with a
// per-process memory limiter as insurance while Redis is unreachable; memory alone otherwise.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { KeyValueStore } from './stores/types.ts';
import { RateLimited, type RateLimitState } from '../domain/errors.ts';

export interface Limiter {
  name: string;
  points: number;
  duration: number;
  impl: RateLimiterAbstract;
}

/** A `count/seconds` limit (the LIMIT_* settings; readConfig checks their shape). */
export function parseLimit(value: string): { points: number; duration: number } {
  const [points, duration] = value.split('/').map(Number);
  return { points: points!, duration: duration! };
}

export function createLimiter(store: KeyValueStore, name: string, limit: string): Limiter {
  const { points, duration } = parseLimit(limit);
  const memory = new RateLimiterMemory({ keyPrefix: `rl:${name}`, points, duration });
  // While the connection is not ready, go to the memory limiter at once rather than through a failed
  // command: the counts are then per process (each process allows the limit) until Redis is back.
  const impl = store.redis
    ? new RateLimiterRedis({ storeClient: store.redis, keyPrefix: `rl:${name}`, points, duration, insuranceLimiter: memory, rejectIfRedisNotReady: true })
    : memory;
  return { name, points, duration, impl };
}

export function rateLimitState(l: Limiter, res: RateLimiterRes): RateLimitState {
  return {
    name: l.name, limit: l.points, windowSeconds: l.duration, remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}

/** The draft-IETF RateLimit headers, for every answer from a limited route and every 429. */
export function formatRateLimit(s: RateLimitState): Record<string, string> {
  return {
    'ratelimit-policy': `${s.limit};w=${s.windowSeconds};name="${s.name}"`,
    ratelimit: `limit=${s.limit}, remaining=${s.remaining}, reset=${s.resetSeconds}`,
  };
}

export const rateLimitHeaders = (l: Limiter, res: RateLimiterRes): Record<string, string> => formatRateLimit(rateLimitState(l, res));

export function tooMany(l: Limiter, res: RateLimiterRes, message: string): RateLimited {
  const retry = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new RateLimited('RATE_LIMITED', `${message} Try again in ${retry} s.`, retry, rateLimitState(l, res), { retryAfterSeconds: retry });
}

/** Remaining allowance without consuming; null when the key has no record yet. */
export async function peek(l: Limiter, key: string): Promise<RateLimiterRes | null> {
  return l.impl.get(key);
}

/** Consumes one point; resolves with the state, or with the refusal (never throws for a refusal). */
export async function consume(l: Limiter, key: string): Promise<{ ok: boolean; res: RateLimiterRes }> {
  try {
    return { ok: true, res: await l.impl.consume(key) };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { ok: false, res: err };
    throw err;
  }
}
