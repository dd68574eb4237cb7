// Outbound HTTP for the network adapters (and webhooks), on undici (the HTTP client of Node itself;
// version 6 is the line that supports Node 20). Every call:
// - has a connect timeout and a response timeout, and tells them apart: a request that timed out after
//   it was sent may have been acted on (an unknown outcome), one that never connected was not;
// - is retried, boundedly, only when that is safe: idempotent methods, or nothing was sent;
// - moves allin_social_api_calls_total{provider,operation,status} and allin_social_api_duration_seconds;
// - goes through the private-address guard when the host was chosen by a user.
import { Agent, request, errors as undiciErrors, type Dispatcher } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../logger.ts';
import { assertHostAllowed, guardedLookup, BlockedHostError } from './guard.ts';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** Labels for metrics: which network, which call. */
  provider: string;
  operation: string;
  headers?: Record<string, string>;
  /** JSON-encoded when a plain object; sent as is when a string, Buffer, URLSearchParams or FormData. */
  body?: unknown;
  timeoutMs?: number;
  /** The host was typed by a user (Mastodon instance, webhook): private addresses are refused. */
  userSuppliedHost?: boolean;
  /** Retry a POST on failures that prove nothing was sent (the caller knows it is safe). */
  retryUnsent?: boolean;
  /** Keep at most this many bytes of the answer's body and stop reading there (receivers that are not trusted: webhooks). */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as read (up to maxResponseBytes); `text` is it decoded as UTF-8. */
  bytes: Buffer;
  text: string;
  json<T = unknown>(): T;
}

/** A call that got no HTTP answer. `sent` tells whether the request may have reached the network. */
export class TransportError extends Error {
  constructor(readonly reason: 'timeout' | 'connect' | 'reset' | 'blocked_host' | 'other', readonly sent: boolean, message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface HttpClientOptions {
  metrics: Metrics;
  log: Logger;
  allowPrivateHosts: boolean;
  defaultTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxRetries?: number;
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

export class HttpClient {
  private readonly trusted: Agent;
  private readonly guarded: Agent;

  constructor(private readonly opts: HttpClientOptions) {
    const connectTimeout = opts.connectTimeoutMs ?? 5000;
    this.trusted = new Agent({ connect: { timeout: connectTimeout }, keepAliveTimeout: 10_000 });
    this.guarded = opts.allowPrivateHosts ? this.trusted
      : new Agent({ connect: { timeout: connectTimeout, lookup: guardedLookup() }, keepAliveTimeout: 10_000 });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const maxRetries = this.opts.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.once(req);
        if (res.status >= 500 && IDEMPOTENT.has(req.method) && attempt < maxRetries) {
          await sleep(backoff(attempt));
          continue;
        }
        return res;
      } catch (err) {
        const safe = err instanceof TransportError && err.reason !== 'blocked_host' && (IDEMPOTENT.has(req.method) || (!err.sent && req.retryUnsent));
        if (!safe || attempt >= maxRetries) throw err;
        await sleep(backoff(attempt));
      }
    }
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const { metrics } = this.opts;
    const started = process.hrtime.bigint();
    const done = (status: string) => {
      metrics.socialApiCalls.labels(req.provider, req.operation, status).inc();
      metrics.socialApiDuration.labels(req.provider, req.operation).observe(Number(process.hrtime.bigint() - started) / 1e9);
    };
    const url = new URL(req.url);
    if (req.userSuppliedHost && !this.opts.allowPrivateHosts) {
      try {
        assertHostAllowed(url.hostname);
      } catch (err) {
        done('blocked');
        throw new TransportError('blocked_host', false, (err as Error).message);
      }
    }
    const headers: Record<string, string> = { 'user-agent': 'AllIN (+https://github.com/allin)', ...req.headers };
    let body: string | Buffer | FormData | undefined;
    if (req.body instanceof URLSearchParams) {
      body = req.body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (typeof req.body === 'string' || Buffer.isBuffer(req.body) || req.body instanceof FormData) {
      body = req.body as string | Buffer | FormData;
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const timeout = req.timeoutMs ?? this.opts.defaultTimeoutMs ?? 30_000;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body: body as Dispatcher.DispatchOptions['body'],
        dispatcher: req.userSuppliedHost ? this.guarded : this.trusted,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const bytes = req.maxResponseBytes === undefined ? Buffer.from(await res.body.arrayBuffer()) : await readCapped(res.body, req.maxResponseBytes);
      const text = bytes.toString('utf8');
      done(String(res.statusCode));
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      return {
        status: res.statusCode, headers: flat, bytes, text,
        json<T>() {
          return JSON.parse(text) as T;
        },
      };
    } catch (err) {
      const t = classify(err);
      done(t.reason);
      throw t;
    }
  }

  async close(): Promise<void> {
    await this.trusted.close();
    if (this.guarded !== this.trusted) await this.guarded.close();
  }
}

function classify(err: unknown): TransportError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof BlockedHostError || err instanceof BlockedHostError) return new TransportError('blocked_host', false, (cause as Error).message);
  if (err instanceof undiciErrors.ConnectTimeoutError) return new TransportError('connect', false, 'could not connect in time');
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new TransportError('timeout', true, 'no answer in time after the request was sent');
  }
  const code = (err as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new TransportError('connect', false, `could not connect (${code})`);
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return new TransportError('reset', true, `the connection was cut (${code})`);
  return new TransportError('other', true, (err as Error).message ?? String(err));
}

/** The first `max` bytes of a body; the rest is not read and the connection is let go. */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= max) break;
  }
  if (!body.destroyed) body.destroy();
  return Buffer.concat(chunks).subarray(0, max);
}

const backoff = (attempt: number) => Math.round(Math.random() * Math.min(2000, 200 * 2 ** attempt));
