// The load generator's HTTP client: one undici pool of keep-alive connections to the target (as many
// connections as requests that may be in flight), JSON in and out. A failure that is not an HTTP answer
// becomes a status word: "timeout" (no answer within --timeout) or the socket error's code ("ECONNRESET",
// "ECONNREFUSED", …), so the status breakdown shows it beside the HTTP codes.
// A 429 or 503 with Retry-After is waited out and sent again (twice at most, with jitter, and not past the
// request timeout), as a well-behaved client would: the request counts once, with its final answer and
// the wait in its latency, and `retried` tallies the answers waited out so the report can say so.
import { Pool, errors as undiciErrors } from 'undici';
import { parseRetryAfter, retryAfterBackoff, RETRY_AFTER_STATUSES, type RetryAfterPolicy } from '../infra/retry-after.ts';
import { withRetries } from '../infra/retry.ts';

export interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** JSON body. */
  body?: unknown;
}

export interface Res {
  status: string;
  /** The body text ('' when it was not read, or for a failure). */
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** Answers (429, 503) waited out before this one. */
  retries?: number;
}

export class Target {
  readonly base: URL;
  private readonly prefix: string;
  private readonly pool: Pool;
  private readonly retry: RetryAfterPolicy | null;
  /** Answers waited out because of their Retry-After, by status, since this target was made. */
  readonly retried = new Map<string, number>();

  /** `retry`: how 429/503 with Retry-After are retried; false: never (each answer is the request's). */
  constructor(base: string | URL, opts: { connections: number; timeoutMs: number; retry?: RetryAfterPolicy | false }) {
    this.retry = opts.retry === false ? null : opts.retry ?? { maxRetries: 2, maxWaitMs: Math.min(opts.timeoutMs, 30_000) };
    this.base = new URL(base);
    this.prefix = this.base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(this.base.origin, {
      connections: opts.connections, pipelining: 1, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs,
      connectTimeout: opts.timeoutMs, keepAliveTimeout: 30_000,
    });
  }

  url(path: string): string {
    return `${this.base.origin}${this.prefix}${path}`;
  }

  async send(req: Req, readBody = true): Promise<Res> {
    const policy = this.retry;
    if (!policy) return this.sendOnce(req, readBody);
    let retries = 0;
    const res = await withRetries(() => this.sendOnce(req, readBody), {
      retries: policy.maxRetries,
      backoff: retryAfterBackoff(policy),
      retryOn: (r) => {
        if (!r.ok || !RETRY_AFTER_STATUSES.has(Number(r.value.status))) return false;
        const ra = r.value.headers['retry-after'];
        const wait = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra);
        return wait === undefined ? false : { retryAfterMs: wait };
      },
      onRetry: ({ result }) => {
        if (!result.ok) return;
        retries++;
        this.retried.set(result.value.status, (this.retried.get(result.value.status) ?? 0) + 1);
      },
    });
    return retries > 0 ? { ...res, retries } : res;
  }

  private async sendOnce(req: Req, readBody: boolean): Promise<Res> {
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    try {
      const r = await this.pool.request({ origin: this.base.origin, path: `${this.prefix}${req.path}`, method: req.method as 'GET', headers, body: payload });
      let text = '';
      if (readBody) text = await r.body.text();
      else await r.body.dump();
      return { status: String(r.statusCode), text, headers: r.headers };
    } catch (err) {
      return { status: failureStatus(err), text: '', headers: {} };
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}

export function failureStatus(err: unknown): string {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) return 'timeout';
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.cause?.code ?? e.code;
  if (code === 'UND_ERR_SOCKET') return 'socket_error';
  return code ?? 'error';
}

/** The JSON body of an answer, or undefined when it is not JSON. */
export function jsonOf<T = Record<string, unknown>>(r: Res): T | undefined {
  try {
    return r.text ? (JSON.parse(r.text) as T) : undefined;
  } catch {
    return undefined;
  }
}
