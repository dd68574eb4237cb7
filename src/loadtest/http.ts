// The load generator's HTTP client: one undici pool of keep-alive connections to the target (as many
// connections as requests that may be in flight), JSON in and out. A failure that is not an HTTP answer
// becomes a status word: "timeout" (no answer within --timeout) or the socket error's code ("ECONNRESET",
// "ECONNREFUSED", …), so the status breakdown shows it beside the HTTP codes.
import { Pool, errors as undiciErrors } from 'undici';

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
}

export class Target {
  readonly base: URL;
  private readonly prefix: string;
  private readonly pool: Pool;

  constructor(base: string | URL, opts: { connections: number; timeoutMs: number }) {
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
