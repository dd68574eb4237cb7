// Start-up retries: a dependency that is not reachable yet is named in the log and tried again with
// exponential backoff and full jitter, up to a limit; then start-up fails with the last error.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger.ts';

export interface RetryOptions {
  what: string;
  attempts: number;
  maxDelayMs: number;
  baseDelayMs?: number;
  log: Logger;
  signal?: AbortSignal;
}

export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || opts.signal?.aborted) {
        throw new DependencyError(opts.what, attempt, err);
      }
      const delay = Math.round(Math.random() * Math.min(opts.maxDelayMs, base * 2 ** attempt));
      opts.log.warn({ dependency: opts.what, attempt, of: opts.attempts, retryInMs: delay, err: errorSummary(err) },
        `${opts.what} is not reachable yet; retrying`);
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined).catch(() => undefined);
    }
  }
}

export class DependencyError extends Error {
  constructor(readonly dependency: string, readonly attempts: number, readonly causeError: unknown) {
    super(`${dependency} is not reachable after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorSummary(causeError)}`);
    this.name = 'DependencyError';
  }
}

export function errorSummary(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorSummary(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message || err.name;
  }
  return String(err);
}
