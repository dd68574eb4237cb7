// The outbound client against a hostile host (what a Mastodon instance or a Bluesky PDS named by any user
// can be): a body that never ends, a body trickled a byte a second, headers too large to keep. Each call
// fails with its own typed error, reads no more than its cap (plus one chunk), lets the connection go, and
// the client keeps working for the next call. Size caps are the shipped defaults; deadlines are set short
// only in the tests that check the deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import {
  DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES, DeadlineError, HttpClient, ResponseTooLargeError, TransportError, userAgentOf,
} from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { transportError } from '../src/providers/errors.ts';
import { quietLogger } from './support/env.ts';
import { eventually } from './support/social.ts';

/** undici hands the body over in chunks of at most its highWaterMark (64 KiB). */
const CHUNK = 64 * 1024;
/** The endless body stops here (four times the cap) only so a client without a cap cannot eat the machine. */
const ENDLESS_SAFETY = 4 * DEFAULT_MAX_BODY_BYTES;

let server: Server;
let base: string;
const seen: { url: string; userAgent: string | undefined }[] = [];
/** Per path: connections whose answer was cut off by the client (closed before the server ended it). */
const cut: Record<string, number> = {};
/** Per path: bytes of body the server managed to write before the client let go. */
const written: Record<string, number> = {};
let open = 0;

function endless(res: ServerResponse, path: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(CHUNK, 0x61);
  const pump = () => {
    while (!res.destroyed && written[path]! < ENDLESS_SAFETY) {
      written[path]! += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

function trickle(res: ServerResponse, path: string): void {
  // A valid answer that would take a day to arrive: a byte a second.
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '86400' });
  const timer = setInterval(() => {
    written[path]! += 1;
    res.write('a');
  }, 1000);
  res.on('close', () => clearInterval(timer));
}

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    seen.push({ url: path, userAgent: req.headers['user-agent'] });
    written[path] ??= 0;
    open++;
    res.on('close', () => {
      open--;
      if (!res.writableFinished) cut[path] = (cut[path] ?? 0) + 1;
    });
    req.resume();
    if (path === '/endless') return endless(res, path);
    if (path === '/trickle') return trickle(res, path);
    if (path === '/declared') {
      // Says 1 GiB is coming, then sends it slowly: refused on the header alone.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1024 ** 3) });
      res.write('a');
      return;
    }
    if (path === '/huge-header') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-padding': 'p'.repeat(1024 * 1024) });
      return void res.end('{}');
    }
    if (path === '/slow-media') {
      // Three bytes a second apart: longer than the test's default deadline, well within the media one.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('[12]'[sent++]!);
        if (sent === 4) {
          clearInterval(timer);
          res.end();
        }
      }, 1000);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

const client = (o: { defaultTimeoutMs?: number; mediaTimeoutMs?: number; maxRetries?: number } = {}) => {
  const metrics = createMetrics({ enabled: true });
  return { metrics, http: new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: true, ...o }) };
};

/** The connection came back: the server sees nothing left open, and the same client answers the next call. */
async function slotComesBack(http: HttpClient): Promise<void> {
  await eventually(async () => open === 0, 20_000, 'the hostile connections to close');
  const ok = await http.request({ method: 'GET', url: `${base}/ok`, provider: 'mastodon', operation: 'profile', userSuppliedHost: true });
  assert.equal(ok.status, 200);
}

test('an endless body: the call fails with ResponseTooLargeError at the default cap, having read at most the cap and one chunk', { timeout: 120_000 }, async () => {
  const { http, metrics } = client();
  const err = await http.request({ method: 'GET', url: `${base}/endless`, provider: 'mastodon', operation: 'instance', userSuppliedHost: true }).catch((e: unknown) => e);
  assert.ok(err instanceof ResponseTooLargeError, String(err));
  assert.ok(err instanceof TransportError, 'still a TransportError for callers that know only that');
  assert.equal(err.code, 'ALLIN_HTTP_RESPONSE_TOO_LARGE');
  assert.equal(err.part, 'body');
  assert.equal(err.limit, DEFAULT_MAX_BODY_BYTES);
  assert.ok(err.received! > DEFAULT_MAX_BODY_BYTES && err.received! <= DEFAULT_MAX_BODY_BYTES + CHUNK, `read ${err.received} bytes`);
  assert.equal(err.sent, true);
  await slotComesBack(http);
  assert.equal(cut['/endless'], 1, 'the client let the connection go, once: an answer too large is not asked for again');
  assert.ok(written['/endless']! < ENDLESS_SAFETY, 'and stopped the server before its safety stop');
  const calls = (await metrics.socialApiCalls.get()).values;
  assert.equal(calls.find((v) => v.labels.operation === 'instance')?.labels.status, 'too_large');
  await http.close();
});

test('a body declared larger than the cap is refused on its Content-Length, before any of it is read', { timeout: 60_000 }, async () => {
  const { http } = client();
  const err = await http.request({ method: 'GET', url: `${base}/declared`, provider: 'bluesky', operation: 'find_post', userSuppliedHost: true }).catch((e: unknown) => e);
  assert.ok(err instanceof ResponseTooLargeError, String(err));
  assert.equal(err.part, 'body');
  assert.equal(err.received, null);
  await slotComesBack(http);
  await http.close();
});

test('a body trickled a byte a second: the deadline is total, not idle; a POST cut that way may have been acted on and is not repeated', { timeout: 120_000 }, async () => {
  const { http, metrics } = client({ defaultTimeoutMs: 2500 });
  const before = seen.filter((s) => s.url === '/trickle').length;
  const err = await http.request({ method: 'POST', url: `${base}/trickle`, provider: 'bluesky', operation: 'publish', body: { text: 'hi' }, userSuppliedHost: true, retryUnsent: true })
    .catch((e: unknown) => e);
  assert.ok(err instanceof DeadlineError, String(err));
  assert.equal(err.code, 'ALLIN_HTTP_DEADLINE');
  assert.equal(err.reason, 'timeout');
  assert.equal(err.sent, true, 'the request was sent: an unknown outcome, to reconcile');
  assert.equal(err.limitMs, 2500);
  assert.equal(seen.filter((s) => s.url === '/trickle').length - before, 1, 'not sent again');
  assert.ok(written['/trickle']! >= 1, 'bytes were still arriving when the deadline ended the call');
  await slotComesBack(http);
  assert.ok((cut['/trickle'] ?? 0) >= 1);
  assert.ok((await metrics.socialApiCalls.get()).values.some((v) => v.labels.operation === 'publish' && v.labels.status === 'timeout'));
  await http.close();
});

test('headers larger than the cap: ResponseTooLargeError for the headers', { timeout: 60_000 }, async () => {
  const { http } = client();
  const err = await http.request({ method: 'GET', url: `${base}/huge-header`, provider: 'mastodon', operation: 'profile', userSuppliedHost: true }).catch((e: unknown) => e);
  assert.ok(err instanceof ResponseTooLargeError, String(err));
  assert.equal(err.part, 'headers');
  assert.equal(err.limit, DEFAULT_MAX_HEADER_BYTES);
  await slotComesBack(http);
  await http.close();
});

test('a caller\'s signal ends a call in flight (sent) and refuses a new one at once (not sent)', { timeout: 60_000 }, async () => {
  const { http } = client();
  const ac = new AbortController();
  const before = seen.filter((s) => s.url === '/trickle').length;
  const reached = () => seen.filter((s) => s.url === '/ok' || s.url === '/trickle').length;
  const reachedBefore = reached();
  const pending = http.withSignal(ac.signal, () => http.request({ method: 'POST', url: `${base}/trickle`, provider: 'bluesky', operation: 'publish', body: {}, retryUnsent: true }));
  await eventually(async () => seen.filter((s) => s.url === '/trickle').length > before, 20_000, 'the request to arrive');
  ac.abort(new Error('the publish attempt ran past its ceiling'));
  const err = await pending.catch((e: unknown) => e);
  assert.ok(err instanceof DeadlineError, String(err));
  assert.equal(err.sent, true);
  assert.equal(err.limitMs, null, 'ended by the caller, not by its own deadline');
  assert.match(err.message, /ceiling/);
  const later = await http.withSignal(ac.signal, () => http.request({ method: 'GET', url: `${base}/ok`, provider: 'bluesky', operation: 'find_post' })).catch((e: unknown) => e);
  assert.ok(later instanceof DeadlineError);
  assert.equal(later.sent, false, 'nothing was sent: safe to say so');
  assert.equal(reached() - reachedBefore, 1, 'and nothing reached the host');
  await slotComesBack(http);
  await http.close();
});

test('an upload raises the deadline deliberately (media: true); the same answer fails under the default one', { timeout: 60_000 }, async () => {
  const { http } = client({ defaultTimeoutMs: 1000, mediaTimeoutMs: 60_000, maxRetries: 0 });
  const plain = await http.request({ method: 'POST', url: `${base}/slow-media`, provider: 'mastodon', operation: 'profile', body: {} }).catch((e: unknown) => e);
  assert.ok(plain instanceof DeadlineError, String(plain));
  const upload = await http.request({ method: 'POST', url: `${base}/slow-media`, provider: 'mastodon', operation: 'media_upload', body: Buffer.alloc(10), media: true });
  assert.equal(upload.status, 200);
  assert.deepEqual(upload.json(), [12]);
  await http.close();
});

test('every call names AllIN and its version (from package.json) in User-Agent, with a home page when there is one', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const { http } = client();
  await http.request({ method: 'GET', url: `${base}/ok?ua`, provider: 'x', operation: 'profile' });
  const ua = seen.at(-1)!.userAgent;
  assert.equal(ua, userAgentOf(pkg as Parameters<typeof userAgentOf>[0]));
  assert.match(ua!, /^AllIN\/\d+\.\d+\.\d+\S*( \(\+https:\/\/\S+\))?$/);
  // A caller that names itself more precisely (webhooks) keeps its name.
  await http.request({ method: 'GET', url: `${base}/ok?own`, provider: 'webhook', operation: 'deliver', headers: { 'user-agent': 'AllIN-Webhooks/1' } });
  assert.equal(seen.at(-1)!.userAgent, 'AllIN-Webhooks/1');
  assert.equal(userAgentOf({ name: 'allin', version: '1.2.3', repository: { url: 'git+https://example.org/allin.git' } }), 'allin/1.2.3 (+https://example.org/allin)');
  assert.equal(userAgentOf({ name: 'allin', productName: 'AllIN', version: '1.2.3' }), 'AllIN/1.2.3');
  await http.close();
});

test('for publishing: a create cut off or refused after it was sent is an unknown outcome (reconciled); one never sent is transient', () => {
  const kind = (err: unknown, creates: boolean) => transportError('mastodon', 'publish', err, creates).kind;
  assert.equal(kind(new DeadlineError(true, 30_000, 'no complete answer within 30000 ms after the request was sent'), true), 'unknown_outcome');
  assert.equal(kind(new ResponseTooLargeError('body', DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES + 1), true), 'unknown_outcome');
  assert.equal(kind(new ResponseTooLargeError('headers', DEFAULT_MAX_HEADER_BYTES, null), true), 'unknown_outcome');
  assert.equal(kind(new DeadlineError(false, null, 'not sent: the publish attempt ran past its ceiling'), true), 'transient');
  assert.equal(kind(new DeadlineError(true, 30_000, 'a read timed out'), false), 'transient', 'a read that timed out proves nothing was created');
});
