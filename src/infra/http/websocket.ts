// One WebSocket conversation through the outbound HTTP client's agents (Nostr relays speak WebSocket,
// NIP-01): the same private-address guard at connect time for a host a user chose, a deadline for the
// whole conversation, a cap on each message's size (undici's maxPayloadSize closes the socket with 1009
// past it) and on how many messages are read, and the same metrics. What the caller sends is tracked, so a
// conversation cut short after a send is told apart from one that never sent anything (an unknown outcome).
import { WebSocket, type Dispatcher } from 'undici';
import { DeadlineError, TransportError, ResponseTooLargeError } from './errors.ts';
import { assertHostAllowed } from './guard.ts';
import type { Metrics } from '../metrics.ts';

export interface WebSocketRequest {
  /** ws:// or wss:// */
  url: string;
  /** Labels for metrics: which network, which call. */
  provider: string;
  operation: string;
  /** The host was typed by a user (a Nostr relay): private addresses are refused. */
  userSuppliedHost?: boolean;
  /** Deadline of the whole conversation, from connecting to the last message, in milliseconds. */
  timeoutMs?: number;
  /** Most messages read before the conversation is cut (a relay that floods). */
  maxMessages?: number;
}

/** An open conversation: send text frames, read text frames in order. */
export interface WebSocketConversation {
  send(text: string): void;
  /** The next message; throws a TransportError when the socket closes, the deadline passes or a cap is hit. */
  next(): Promise<string>;
}

export const DEFAULT_WS_MAX_MESSAGES = 2_000;

export interface WebSocketDeps {
  metrics: Metrics;
  /** The agent to connect through (the client's guarded one for a user's host). */
  dispatcher: Dispatcher;
  allowPrivateHosts: boolean;
  userAgent: string;
  /** The caller's abort signal (a publish attempt's ceiling), when there is one. */
  caller?: AbortSignal | undefined;
  /** The per-message cap the dispatcher enforces, for the error's text. */
  maxMessageBytes: number;
}

/** Opens the socket, runs `fn` with it, closes it: whatever `fn` returns or throws, the socket is gone after. */
export async function converse<T>(d: WebSocketDeps, req: WebSocketRequest, fn: (c: WebSocketConversation) => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  let counted = false;
  const done = (status: string) => {
    if (counted) return;
    counted = true;
    d.metrics.socialApiCalls.labels(req.provider, req.operation, status).inc();
    d.metrics.socialApiDuration.labels(req.provider, req.operation).observe(Number(process.hrtime.bigint() - started) / 1e9);
  };
  const url = new URL(req.url);
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    done('other');
    throw new TransportError('other', false, `${url.protocol} is not a WebSocket address (wss:// or ws://)`);
  }
  if (req.userSuppliedHost && !d.allowPrivateHosts) {
    try {
      assertHostAllowed(url.hostname);
    } catch (err) {
      done('blocked');
      throw new TransportError('blocked_host', false, (err as Error).message);
    }
  }
  if (d.caller?.aborted) {
    done('timeout');
    throw new DeadlineError(false, null, 'not sent: the caller gave up');
  }
  const timeout = req.timeoutMs ?? 30_000;
  const maxMessages = req.maxMessages ?? DEFAULT_WS_MAX_MESSAGES;
  const ws = new WebSocket(url, { dispatcher: d.dispatcher, headers: { 'user-agent': d.userAgent } });
  const queue: string[] = [];
  let waiter: { resolve: (s: string) => void; reject: (e: Error) => void } | null = null;
  let failure: TransportError | null = null;
  let sent = false;
  let read = 0;
  let opened = false;
  let settleOpen!: { resolve: () => void; reject: (e: Error) => void };
  const opening = new Promise<void>((resolve, reject) => { settleOpen = { resolve, reject }; });
  const fail = (e: TransportError) => {
    if (failure) return;
    failure = e;
    settleOpen.reject(e);
    waiter?.reject(e);
    waiter = null;
    try { ws.close(); } catch { /* already closing */ }
  };
  ws.addEventListener('open', () => { opened = true; settleOpen.resolve(); });
  ws.addEventListener('error', (ev) => {
    const cause = (ev as unknown as { error?: { cause?: Error; message?: string } }).error;
    const text = cause?.cause?.message ?? cause?.message ?? 'the WebSocket failed';
    // undici fails the connection (code 1009) when a message passes the agent's maxPayloadSize.
    if (/Payload size exceeds/i.test(text)) return fail(new ResponseTooLargeError('body', d.maxMessageBytes, null));
    fail(/private, loopback or link-local/.test(text) ? new TransportError('blocked_host', false, text)
      : opened ? new TransportError('reset', sent, `the connection was cut (${text})`) : new TransportError('connect', false, `could not connect (${text})`));
  });
  opening.catch(() => {});
  ws.addEventListener('message', (ev) => {
    if (failure) return;
    if (++read > maxMessages) return fail(new ResponseTooLargeError('body', maxMessages, read));
    const data = typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString('utf8');
    if (waiter) {
      waiter.resolve(data);
      waiter = null;
    } else {
      queue.push(data);
    }
  });
  ws.addEventListener('close', (ev) => {
    if (ev.code === 1009) return fail(new ResponseTooLargeError('body', d.maxMessageBytes, null));
    fail(opened ? new TransportError('reset', sent, `the connection was closed (${ev.code}${ev.reason ? `: ${ev.reason.slice(0, 100)}` : ''})`)
      : new TransportError('connect', false, 'could not connect'));
  });
  const timer = setTimeout(() => fail(new DeadlineError(sent, timeout, sent ? `no complete answer within ${timeout} ms after sending` : `no answer within ${timeout} ms; nothing was sent`)), timeout);
  const onCaller = () => fail(new DeadlineError(sent, null, 'the caller gave up'));
  d.caller?.addEventListener('abort', onCaller, { once: true });
  const conversation: WebSocketConversation = {
    send(text) {
      if (failure) throw failure;
      sent = true;
      ws.send(text);
    },
    next() {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (failure) return Promise.reject(failure);
      return new Promise<string>((resolve, reject) => { waiter = { resolve, reject }; });
    },
  };
  try {
    await opening;
    const out = await fn(conversation);
    done('ok');
    return out;
  } catch (err) {
    done(err instanceof TransportError ? err.reason : 'error');
    throw err;
  } finally {
    clearTimeout(timer);
    d.caller?.removeEventListener('abort', onCaller);
    failure ??= new TransportError('other', sent, 'the conversation is over');
    try { ws.close(); } catch { /* already closed */ }
  }
}
