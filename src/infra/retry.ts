// The one backoff rule and the one retry loop. Every wait before trying again (start-up, outbound HTTP,
// publishing, webhooks, the clients honouring Retry-After) is computed by backoffDelay: exponential from a
// base to a cap (or a fixed schedule of steps), jittered so that callers that failed together do not come
// back together, and never sooner than a Retry-After the other side gave, up to a maximum.
// No Node-only imports: the web app's client (through retry-after.ts) uses it too.

/** How the wait is spread below its ceiling (see backoffDelay). */
export type Jitter =
  /** Anywhere in [0, ceiling]: the least load on the other side (AWS's "full jitter"). */
  | 'full'
  /** In [ceiling / 2, ceiling]: never much sooner than the ceiling says. */
  | 'equal'
  /** In [base, 3 × the previous wait], capped: grows from what was drawn last ("decorrelated jitter"). */
  | 'decorrelated'
  /** Within ± this fraction of the ceiling (0.2: 80 % to 120 %). */
  | { around: number };

export interface Backoff {
  /** The ceiling of the first wait, in milliseconds. */
  baseMs: number;
  /** No computed wait is longer than this, in milliseconds (a Retry-After may be: see maxRetryAfterMs). */
  capMs: number;
  jitter: Jitter;
  /** Ceilings as multiples of baseMs, one per retry (the last one repeats), instead of doubling. */
  steps?: readonly number[];
  /**
   * The longest Retry-After honoured, in milliseconds (default: no limit). backoffDelay cuts a longer one
   * to this; the retry loop does not wait that long at all and hands the answer back to its caller.
   */
  maxRetryAfterMs?: number;
  /** Spread over a Retry-After wait: up to this fraction of max(Retry-After, 1 s) more (default 0). */
  retryAfterJitter?: number;
}

export interface DelayInput {
  /** What the other side asked for (a parsed Retry-After), in milliseconds. */
  retryAfterMs?: number | undefined;
  /** The previous wait (for decorrelated jitter); base when absent. */
  previousMs?: number | undefined;
  /** A source of numbers in [0, 1); Math.random unless a test injects one. */
  random?: () => number;
}

/** The ceiling of retry number `retry` (1 for the first) before jitter: base·2^(retry-1) or base·steps[retry-1], capped. */
export function backoffCeiling(b: Backoff, retry: number): number {
  const n = Math.max(1, Math.floor(retry));
  const factor = b.steps ? b.steps[Math.min(n, b.steps.length) - 1] ?? 1 : 2 ** (n - 1);
  return Math.min(b.capMs, b.baseMs * factor);
}

/**
 * How long to wait before retry number `retry` (1 for the first), in whole milliseconds: the jittered
 * backoff, or the Retry-After (plus its own spread) when that is longer, the Retry-After cut to maxRetryAfterMs.
 */
export function backoffDelay(b: Backoff, retry: number, input: DelayInput = {}): number {
  const random = input.random ?? Math.random;
  const ceiling = backoffCeiling(b, retry);
  let wait: number;
  const j = b.jitter;
  if (j === 'full') wait = random() * ceiling;
  else if (j === 'equal') wait = ceiling / 2 + random() * (ceiling / 2);
  else if (j === 'decorrelated') {
    const previous = Math.max(b.baseMs, input.previousMs ?? b.baseMs);
    wait = Math.min(b.capMs, b.baseMs + random() * (3 * previous - b.baseMs));
  } else wait = Math.min(b.capMs, ceiling * (1 - j.around + 2 * j.around * random()));
  const asked = input.retryAfterMs;
  if (asked !== undefined && Number.isFinite(asked) && asked >= 0) {
    const honoured = Math.min(asked, b.maxRetryAfterMs ?? Infinity);
    const spread = b.retryAfterJitter ? random() * b.retryAfterJitter * Math.max(honoured, 1000) : 0;
    wait = Math.max(wait, honoured + spread);
  }
  return Math.round(wait);
}

/** What the loop does after a try: stop (return the value, or throw the error), or try again. */
export type RetryDecision = false | true | { retryAfterMs: number | undefined };

export type TryResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface RetryLoop<T> {
  /** Retries after the first try (so at most retries + 1 tries). */
  retries: number;
  backoff: Backoff;
  /**
   * Whether this result calls for another try (`retry` is the number the next one would have), with the
   * Retry-After it carries if any. Not asked once the retries are used up or the signal has ended.
   */
  retryOn(result: TryResult<T>, retry: number): RetryDecision;
  /** Stops the loop (the last result stands) and cuts a wait short. */
  signal?: AbortSignal | undefined;
  random?: () => number;
  /** Told before each wait (to log it). */
  onRetry?(info: { retry: number; delayMs: number; result: TryResult<T> }): void;
  /** How to wait; a timer (ended by the signal) unless a test injects one. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `fn` until it gives a result that `retryOn` does not retry, the retries are used up, the signal
 * ends, or the other side asks for a longer wait than maxRetryAfterMs; then returns the last value or
 * throws the last error. `fn` gets the try's number (0 for the first).
 */
export async function withRetries<T>(fn: (tryNumber: number) => Promise<T>, loop: RetryLoop<T>): Promise<T> {
  const sleep = loop.sleep ?? abortableSleep;
  let previousMs: number | undefined;
  for (let n = 0; ; n++) {
    let result: TryResult<T>;
    try {
      result = { ok: true, value: await fn(n) };
    } catch (error) {
      result = { ok: false, error };
    }
    const decision = n < loop.retries && !loop.signal?.aborted ? loop.retryOn(result, n + 1) : false;
    const retryAfterMs = typeof decision === 'object' ? decision.retryAfterMs : undefined;
    if (decision === false || (retryAfterMs !== undefined && retryAfterMs > (loop.backoff.maxRetryAfterMs ?? Infinity))) {
      if (result.ok) return result.value;
      throw result.error;
    }
    const delayMs = backoffDelay(loop.backoff, n + 1, { retryAfterMs, previousMs, ...(loop.random ? { random: loop.random } : {}) });
    previousMs = delayMs;
    loop.onRetry?.({ retry: n + 1, delayMs, result });
    await sleep(delayMs, loop.signal);
  }
}

/** Resolves after `ms`, or at once when the signal ends (the loop then stops on its next look). */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A logger as the start-up retries need it (pino's shape). */
interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export interface RetryOptions {
  what: string;
  /** Tries in all, the first included. */
  attempts: number;
  maxDelayMs: number;
  baseDelayMs?: number;
  log: WarnLogger;
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Start-up retries: a dependency that is not reachable yet is named in the log and tried again with
 * exponential backoff and full jitter (ceilings 2·base, 4·base, … up to maxDelayMs), up to `attempts`
 * tries; then start-up fails with a DependencyError that carries the last error.
 */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 100;
  let tries = 0;
  try {
    return await withRetries(() => {
      tries++;
      return fn();
    }, {
      retries: opts.attempts - 1,
      backoff: { baseMs: 2 * base, capMs: opts.maxDelayMs, jitter: 'full' },
      retryOn: (r) => !r.ok,
      signal: opts.signal,
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
      onRetry: ({ retry: n, delayMs, result }) => opts.log.warn(
        { dependency: opts.what, attempt: n, of: opts.attempts, retryInMs: delayMs, err: errorSummary(result.ok ? undefined : result.error) },
        `${opts.what} is not reachable yet; retrying`),
    });
  } catch (err) {
    throw new DependencyError(opts.what, tries, err);
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
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code && !err.message.includes(code) ? `${code} ${err.message}` : err.message || err.name;
  }
  return String(err);
}
