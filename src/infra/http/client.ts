// Outbound HTTP for the network adapters (and webhooks), on undici (the HTTP client of Node itself;
// version 6 is the line that supports Node 20). Every call:
// - has a connect timeout and a total deadline (headers and body together, not an idle timer: a host that
//   trickles a byte a second is cut off), a cap on the size of the answer's headers and of its body, and
//   tells apart a call that was never sent from one that may have been acted on (an unknown outcome);
// - runs under the caller's abort signal when one is given with `withSignal` (a publish attempt's ceiling);
// - is retried, boundedly, only when that is safe: idempotent methods, or nothing was sent;
// - sends a real User-Agent, moves allin_social_api_calls_total{provider,operation,status} and
//   allin_social_api_duration_seconds, and goes through the private-address guard when a user chose the host.
// A caller raises the deadline deliberately (`media: true` for uploads, or `timeoutMs`) and the body cap
// with `maxBodyBytes`; `maxResponseBytes` instead keeps the first bytes of an answer and drops the rest.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, DecoratorHandler, request, errors as undiciErrors, type Dispatcher } from 'undici';
import { withRetries, type Backoff } from '../retry.ts';
import { parseRetryAfter } from '../retry-after.ts';
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../logger.ts';
import { PROJECT_ROOT } from '../../paths.ts';
import { assertHostAllowed, guardedLookup, BlockedHostError } from './guard.ts';
import { DeadlineError, ResponseTooLargeError, TransportError } from './errors.ts';
import { converse, type WebSocketConversation, type WebSocketRequest } from './websocket.ts';

export { DeadlineError, ResponseTooLargeError, TransportError } from './errors.ts';
export type { WebSocketConversation, WebSocketRequest } from './websocket.ts';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** Labels for metrics: which network, which call. */
  provider: string;
  operation: string;
  headers?: Record<string, string>;
  /** JSON-encoded when a plain object; sent as is when a string, Buffer, URLSearchParams or FormData. */
  body?: unknown;
  /** Total deadline of one try, headers and body, in milliseconds (default: the client's, or its media one). */
  timeoutMs?: number;
  /** The call carries media bytes (an upload): it gets the client's media deadline instead of the default one. */
  media?: boolean;
  /** The host was typed by a user (Mastodon instance, webhook): private addresses are refused. */
  userSuppliedHost?: boolean;
  /** Retry a POST on failures that prove nothing was sent (the caller knows it is safe). */
  retryUnsent?: boolean;
  /** Never retried here: the caller recovers itself (a resumable upload asks the server where it got to first). */
  noRetry?: boolean;
  /** Refuse an answer whose body is larger than this (ResponseTooLargeError); default: the client's cap. */
  maxBodyBytes?: number;
  /** Keep at most this many bytes of the answer's body and stop reading there (receivers that are not trusted: webhooks). */
  maxResponseBytes?: number;
  /**
   * A streamed answer (Server-Sent Events from a model): a 2xx body is handed over chunk by chunk as it
   * arrives, under the same deadline and size cap, and not kept (`bytes` is empty). Any other status is read
   * whole as usual. An error thrown here ends the call and reaches the caller as it is.
   */
  onBody?: (chunk: Buffer) => void;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as read (up to maxResponseBytes); `text` is it decoded as UTF-8. */
  bytes: Buffer;
  text: string;
  json<T = unknown>(): T;
}

export interface HttpClientOptions {
  metrics: Metrics;
  log: Logger;
  allowPrivateHosts: boolean;
  /** Total deadline of one try (headers and body), in milliseconds. */
  defaultTimeoutMs?: number;
  /** Total deadline of one try of a call marked `media` (uploads), in milliseconds. */
  mediaTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxRetries?: number;
  /** Largest answer body read, in bytes; past it the call fails with ResponseTooLargeError. */
  maxBodyBytes?: number;
  /** Largest answer header block, in bytes (undici's maxHeaderSize). */
  maxHeaderBytes?: number;
  /** Sent with every call; default: `AllIN/<version> (+<homepage>)` from package.json. */
  userAgent?: string;
  /** Largest WebSocket message read (a Nostr relay's answer), in bytes; past it the socket is closed. */
  maxWebSocketMessageBytes?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MEDIA_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_HEADER_BYTES = 32 * 1024;
export const DEFAULT_MAX_WS_MESSAGE_BYTES = 1024 * 1024;

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);
/**
 * Waits between tries of one call: full jitter under 200 ms, 400 ms, … up to 2 s. A Retry-After of up to
 * 5 s is waited out; a longer one is the caller's to schedule (the answer goes back to it at once).
 */
export const RETRY_BACKOFF: Backoff = { baseMs: 200, capMs: 2000, jitter: 'full', maxRetryAfterMs: 5000 };

export class HttpClient {
  private readonly trusted: Agent;
  private readonly guarded: Agent;
  /** WebSocket conversations get agents of their own: the message cap is an agent's setting in undici. */
  private readonly wsTrusted: Agent;
  private readonly wsGuarded: Agent;
  private readonly userAgent: string;
  /** The caller's abort signal for the calls made inside `withSignal`. */
  private readonly scope = new AsyncLocalStorage<AbortSignal>();

  constructor(private readonly opts: HttpClientOptions) {
    const connectTimeout = opts.connectTimeoutMs ?? 5000;
    const maxHeaderSize = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.trusted = new Agent({ connect: { timeout: connectTimeout }, keepAliveTimeout: 10_000, maxHeaderSize });
    this.guarded = opts.allowPrivateHosts ? this.trusted
      : new Agent({ connect: { timeout: connectTimeout, lookup: guardedLookup() }, keepAliveTimeout: 10_000, maxHeaderSize });
    const webSocket = { maxPayloadSize: opts.maxWebSocketMessageBytes ?? DEFAULT_MAX_WS_MESSAGE_BYTES, maxFragments: 1024 };
    this.wsTrusted = new Agent({ connect: { timeout: connectTimeout }, maxHeaderSize, webSocket });
    this.wsGuarded = opts.allowPrivateHosts ? this.wsTrusted
      : new Agent({ connect: { timeout: connectTimeout, lookup: guardedLookup() }, maxHeaderSize, webSocket });
    this.userAgent = opts.userAgent ?? projectUserAgent();
  }

  /**
   * One WebSocket conversation (websocket.ts): guarded like a request to the same host, under a deadline
   * and the caller's signal, its messages capped in size and number; the socket is closed when `fn` ends.
   */
  webSocket<T>(req: WebSocketRequest, fn: (c: WebSocketConversation) => Promise<T>): Promise<T> {
    return converse({
      metrics: this.opts.metrics, dispatcher: req.userSuppliedHost ? this.wsGuarded : this.wsTrusted, allowPrivateHosts: this.opts.allowPrivateHosts,
      userAgent: this.userAgent, caller: this.scope.getStore(), maxMessageBytes: this.opts.maxWebSocketMessageBytes ?? DEFAULT_MAX_WS_MESSAGE_BYTES,
    }, { ...req, timeoutMs: req.timeoutMs ?? this.opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS }, fn);
  }

  /**
   * Runs `fn` with every call it makes (through this client) ended when `signal` aborts: calls in flight
   * fail with a DeadlineError (sent), later ones fail at once (not sent).
   */
  withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return this.scope.run(signal, fn);
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const caller = this.scope.getStore();
    return withRetries(() => this.once(req, caller), {
      retries: this.opts.maxRetries ?? 2,
      backoff: RETRY_BACKOFF,
      // The caller's end (a publish attempt's ceiling) also ends a wait between tries.
      signal: caller,
      retryOn: (r) => {
        if (req.noRetry) return false;
        if (r.ok) {
          if (r.value.status < 500 || !IDEMPOTENT.has(req.method)) return false;
          // A 503 that says when is waited out if that is soon; a longer wait goes back to the caller.
          return { retryAfterMs: parseRetryAfter(r.value.headers['retry-after']) };
        }
        const err = r.error;
        // An answer too large is as large the next time; a caller that gave up wants no more tries.
        return err instanceof TransportError && err.reason !== 'blocked_host' && err.reason !== 'too_large' && !caller?.aborted
          && (IDEMPOTENT.has(req.method) || (!err.sent && req.retryUnsent === true));
      },
    });
  }

  private async once(req: HttpRequest, caller: AbortSignal | undefined): Promise<HttpResponse> {
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
    if (caller?.aborted) {
      done('timeout');
      throw new DeadlineError(false, null, `not sent: ${reasonOf(caller)}`);
    }
    // A caller may name itself more precisely (webhooks do); every call names AllIN at least.
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
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
    const timeout = req.timeoutMs ?? (req.media ? this.opts.mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS : this.opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    const limit = req.maxBodyBytes ?? this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

    // One signal for the whole try: the deadline or the caller, whichever comes first.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no complete answer within ${timeout} ms`)), timeout);
    const onCaller = () => ac.abort(new Error(reasonOf(caller!)));
    caller?.addEventListener('abort', onCaller, { once: true });
    // Whether the request reached a connection (undici calls onConnect just before writing it).
    const progress = { sent: false };
    const base = req.userSuppliedHost ? this.guarded : this.trusted;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body: body as Dispatcher.DispatchOptions['body'],
        dispatcher: base.compose((dispatch) => (o, handler) => dispatch(o, new SentTracker(handler, progress))),
        signal: ac.signal,
        // Idle timers, kept as a second line; the deadline above is what ends a slow answer.
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const declared = Number(res.headers['content-length']);
      let bytes: Buffer;
      if (req.onBody && res.statusCode >= 200 && res.statusCode < 300) {
        await readStreamed(res.body, limit, req.onBody);
        bytes = Buffer.alloc(0);
      } else if (req.maxResponseBytes !== undefined) {
        bytes = await readCapped(res.body, req.maxResponseBytes);
      } else {
        if (Number.isFinite(declared) && declared > limit) {
          letGo(res.body);
          throw new ResponseTooLargeError('body', limit, null);
        }
        bytes = await readLimited(res.body, limit);
      }
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
      if (err instanceof ConsumerError) {
        done('consumer');
        throw err.cause;
      }
      const t = ac.signal.aborted && !(err instanceof ResponseTooLargeError)
        ? new DeadlineError(progress.sent, caller?.aborted ? null : timeout, progress.sent
          ? `${(ac.signal.reason as Error).message} after the request was sent`
          : `${(ac.signal.reason as Error).message}; the request was not sent`)
        : classify(err, this.opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, url);
      done(t.reason);
      throw t;
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCaller);
    }
  }

  async close(): Promise<void> {
    await this.trusted.close();
    if (this.guarded !== this.trusted) await this.guarded.close();
    await this.wsTrusted.close();
    if (this.wsGuarded !== this.wsTrusted) await this.wsGuarded.close();
  }
}

/** Marks the request as sent once undici hands it to a connection. */
class SentTracker extends DecoratorHandler {
  constructor(handler: Dispatcher.DispatchHandlers, private readonly progress: { sent: boolean }) {
    super(handler);
  }

  // undici's types do not declare DecoratorHandler's methods; it forwards each one to the wrapped handler.
  onConnect(...args: [abort: (err?: Error) => void, context?: object]): void {
    this.progress.sent = true;
    (DecoratorHandler.prototype as { onConnect(...a: unknown[]): void }).onConnect.apply(this, args);
  }
}

const reasonOf = (signal: AbortSignal): string => {
  const r = signal.reason as unknown;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'the caller gave up';
};

/**
 * `text` without the request's path and query: a URL may carry a credential (Telegram's bot token is a
 * path segment), and an error message ends up in logs and in the post's error shown to people.
 */
export function withoutUrlSecrets(text: string, url: URL): string {
  let out = text;
  for (const s of [url.href, `${url.origin}${url.pathname}`, `${url.pathname}${url.search}`, url.pathname]) {
    if (s.length > 1) out = out.split(s).join(`${s.startsWith('/') ? '' : url.origin}/…`);
  }
  return out;
}

function classify(err: unknown, maxHeaderBytes: number, url: URL): TransportError {
  if (err instanceof TransportError) return err;
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof BlockedHostError || err instanceof BlockedHostError) return new TransportError('blocked_host', false, (cause as Error).message);
  if (err instanceof undiciErrors.ConnectTimeoutError) return new TransportError('connect', false, 'could not connect in time');
  if (err instanceof undiciErrors.HeadersOverflowError) return new ResponseTooLargeError('headers', maxHeaderBytes, null);
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new TransportError('timeout', true, 'no answer in time after the request was sent');
  }
  const code = (err as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new TransportError('connect', false, `could not connect (${code})`);
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return new TransportError('reset', true, `the connection was cut (${code})`);
  return new TransportError('other', true, withoutUrlSecrets((err as Error).message ?? String(err), url));
}

/** The whole body, refused (and the connection let go) as soon as it passes `max` bytes. */
async function readLimited(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      letGo(body);
      throw new ResponseTooLargeError('body', max, size);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** An error the caller's `onBody` threw: it goes back to the caller unchanged, not as a transport error. */
class ConsumerError extends Error {
  constructor(override readonly cause: unknown) {
    super('the consumer of a streamed answer stopped it');
  }
}

/** A body handed to `onBody` chunk by chunk, refused (and let go) once it passes `max` bytes in all. */
async function readStreamed(body: Dispatcher.ResponseData['body'], max: number, onBody: (chunk: Buffer) => void): Promise<void> {
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      letGo(body);
      throw new ResponseTooLargeError('body', max, size);
    }
    try {
      onBody(chunk as Buffer);
    } catch (err) {
      letGo(body);
      throw new ConsumerError(err);
    }
  }
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
  if (!body.destroyed) letGo(body);
  return Buffer.concat(chunks).subarray(0, max);
}

/** Stops reading a body and closes its connection (undici reports that as an error nobody needs). */
function letGo(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

interface PackageInfo {
  name: string;
  productName?: string;
  version: string;
  homepage?: string;
  repository?: string | { url?: string };
}

/**
 * `AllIN/0.1.0 (+https://…)`: the product and version, and where a network's operator can read who is
 * calling (RFC 9110 §10.1.5), all from package.json.
 */
export function userAgentOf(pkg: PackageInfo): string {
  const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const url = pkg.homepage ?? repo?.replace(/^git\+/, '').replace(/\.git$/, '');
  return `${pkg.productName ?? pkg.name}/${pkg.version}${url ? ` (+${url})` : ''}`;
}

export function projectUserAgent(): string {
  return userAgentOf(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as PackageInfo);
}

