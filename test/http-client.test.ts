// The outbound client: metrics per call, safe retries only, unknown outcomes told apart from refusals,
// and user-supplied hosts kept off private addresses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { HttpClient, TransportError } from '../src/infra/http/client.ts';
import { guardedLookup, BlockedHostError, isBlockedAddress } from '../src/infra/http/guard.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { quietLogger } from './support/env.ts';

let server: Server;
let base: string;
let hits: Record<string, number> = {};
before(async () => {
  server = createServer((req, res) => {
    hits[req.url!] = (hits[req.url!] ?? 0) + 1;
    if (req.url === '/flaky' && hits[req.url]! < 3) return void res.writeHead(503).end();
    if (req.url === '/hang') return; // never answers
    if (req.url === '/busy-long') return void res.writeHead(503, { 'retry-after': '3600' }).end();
    if (req.url === '/busy-soon' && hits[req.url] === 1) return void res.writeHead(503, { 'retry-after': '1' }).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, method: req.method }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

// A deadline far above a local answer's time even on a busy machine, so only the test of a hang meets it.
const client = (allowPrivateHosts = true, defaultTimeoutMs = 10_000) => {
  const metrics = createMetrics({ enabled: true });
  return { metrics, http: new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts, defaultTimeoutMs }) };
};

test('a call moves allin_social_api_calls_total and the duration histogram', async () => {
  const { http, metrics } = client();
  const r = await http.request({ method: 'GET', url: `${base}/ok`, provider: 'x', operation: 'profile' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { ok: true, method: 'GET' });
  const calls = await metrics.socialApiCalls.get();
  assert.deepEqual(calls.values.map((v) => [v.labels, v.value]), [[{ provider: 'x', operation: 'profile', status: '200' }, 1]]);
  assert.equal((await metrics.socialApiDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value, 1);
  await http.close();
});

test('idempotent calls are retried on 5xx (bounded); a POST is not', async () => {
  const { http } = client();
  hits = {};
  assert.equal((await http.request({ method: 'GET', url: `${base}/flaky`, provider: 'x', operation: 'read' })).status, 200);
  assert.equal(hits['/flaky'], 3);
  hits = {};
  assert.equal((await http.request({ method: 'POST', url: `${base}/flaky`, provider: 'x', operation: 'publish', body: {} })).status, 503);
  assert.equal(hits['/flaky'], 1);
  await http.close();
});

test('a 503 with Retry-After: waited out when soon, handed back at once when it asks for longer than 5 s', async () => {
  const { http } = client();
  hits = {};
  // An hour: the answer is the caller's to schedule (publishing reschedules the target), not a worker's to sleep on.
  const long = await http.request({ method: 'GET', url: `${base}/busy-long`, provider: 'x', operation: 'read' });
  assert.equal(long.status, 503);
  assert.equal(long.headers['retry-after'], '3600');
  assert.equal(hits['/busy-long'], 1, 'not tried again');
  assert.equal((await http.request({ method: 'GET', url: `${base}/busy-soon`, provider: 'x', operation: 'read' })).status, 200);
  assert.equal(hits['/busy-soon'], 2);
  await http.close();
});

test('a POST that times out after sending is an unknown outcome, not retried; a refused connection was not sent', async () => {
  const { http } = client(true, 300);
  hits = {};
  const err = await http.request({ method: 'POST', url: `${base}/hang`, provider: 'x', operation: 'publish', body: { a: 1 } }).catch((e: unknown) => e);
  assert.ok(err instanceof TransportError);
  assert.equal(err.reason, 'timeout');
  assert.equal(err.sent, true);
  assert.equal(hits['/hang'], 1);
  const refused = await http.request({ method: 'POST', url: 'http://127.0.0.1:1/x', provider: 'x', operation: 'publish', body: {} }).catch((e: unknown) => e);
  assert.ok(refused instanceof TransportError);
  assert.equal(refused.reason, 'connect');
  assert.equal(refused.sent, false);
  await http.close();
});

test('user-supplied hosts: loopback, link-local (cloud metadata) and private addresses are refused', async () => {
  const { http, metrics } = client(false);
  for (const url of [`${base}/ok`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.5/', 'http://[::1]/', 'http://localhost/', 'http://0.0.0.0/']) {
    const err = await http.request({ method: 'GET', url, provider: 'mastodon', operation: 'instance', userSuppliedHost: true }).catch((e: unknown) => e);
    assert.ok(err instanceof TransportError, url);
    assert.equal(err.reason, 'blocked_host', url);
  }
  // The same loopback URL is fine for a configured (trusted) base URL.
  assert.equal((await http.request({ method: 'GET', url: `${base}/ok`, provider: 'x', operation: 'profile' })).status, 200);
  assert.ok(((await metrics.socialApiCalls.get()).values.find((v) => v.labels.status === 'blocked')?.value ?? 0) >= 6);
  await http.close();
});

test('a hostname that resolves to a private address is refused at connect time', async () => {
  const err = await new Promise<Error | null>((res) => guardedLookup()('localhost', {}, (e) => res(e)));
  assert.ok(err instanceof BlockedHostError);
  assert.equal(isBlockedAddress('93.184.216.34'), false);
  assert.equal(isBlockedAddress('::ffff:127.0.0.1'), true);
  assert.equal(isBlockedAddress('fd00::1'), true);
  assert.equal(isBlockedAddress('100.64.0.1'), true);
});
