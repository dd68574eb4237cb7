// Retry-After in the clients AllIN ships: the shared rule (src/infra/retry-after.ts, also the web app's),
// and `allin loadtest`'s HTTP client against a local server that sheds, with the run's figures still
// saying what happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { parseRetryAfter, retryDelayMs } from '../src/infra/retry-after.ts';
import { Target } from '../src/loadtest/http.ts';
import { runLoadtest } from '../src/loadtest/runner.ts';
import { defaults } from '../src/loadtest/scenarios.ts';

const policy = { maxRetries: 2, maxWaitMs: 10_000 };

test('the rule: 429 and 503 with Retry-After, bounded retries, jitter on top of the asked wait', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: now');
  for (const bad of [undefined, null, '', 'soon', '-1', '1.5']) assert.equal(parseRetryAfter(bad, now), undefined, String(bad));

  assert.equal(retryDelayMs(503, '2', 1, policy, () => 0), 2000, 'never sooner than asked');
  assert.equal(retryDelayMs(503, '2', 1, policy, () => 1), 3000, 'jitter: up to half the wait more');
  assert.equal(retryDelayMs(429, '0', 2, policy, () => 1), 500, 'at least half a second of spread when told "now"');
  assert.equal(retryDelayMs(429, '1', 3, policy), null, 'retries used up');
  assert.equal(retryDelayMs(503, null, 1, policy), null, 'a 503 without Retry-After (a proxy) is not retried');
  assert.equal(retryDelayMs(500, '1', 1, policy), null, 'only 429 and 503');
  assert.equal(retryDelayMs(429, '900', 1, policy), null, 'a longer wait than the caller allows goes back to it');
  const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(503, '1', 1, policy)));
  assert.ok(spread.size > 10, 'a crowd told the same number does not come back in one instant');
});

// A server that answers each path's scripted statuses in turn, then 200; it records what it was sent.
let server: Server;
let url: string;
const scripts = new Map<string, [number, string | undefined][]>();
const seen: { path: string; body: string }[] = [];
before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const path = req.url!.split('?')[0]!;
      seen.push({ path, body });
      const next = scripts.get(path)?.shift();
      if (next) {
        const [status, retryAfter] = next;
        res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}) });
        res.end(JSON.stringify({ statusCode: status, code: 'OVERLOADED', message: 'busy' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((res) => server.close(() => res())));

const sent = (path: string) => seen.filter((s) => s.path === path);

test('loadtest client: waits out 503 and 429 with Retry-After and sends the same request again', async () => {
  const target = new Target(url, { connections: 4, timeoutMs: 10_000 });
  try {
    scripts.set('/a', [[503, '0'], [429, '0']]);
    const r = await target.send({ method: 'POST', path: '/a', body: { email: 'a@example.com' } });
    assert.equal(r.status, '200');
    assert.equal(r.retries, 2);
    assert.deepEqual(sent('/a').map((s) => s.body), Array(3).fill('{"email":"a@example.com"}'));
    assert.deepEqual([...target.retried], [['503', 1], ['429', 1]]);

    scripts.set('/b', [[503, '0'], [503, '0'], [503, '0'], [503, '0']]);
    const gaveUp = await target.send({ method: 'GET', path: '/b' });
    assert.equal(gaveUp.status, '503', 'two retries, then the answer as it is');
    assert.equal(sent('/b').length, 3);

    scripts.set('/c', [[503, undefined]]);
    assert.equal((await target.send({ method: 'GET', path: '/c' })).status, '503', 'no Retry-After: not retried');
    scripts.set('/d', [[429, '3600']]);
    assert.equal((await target.send({ method: 'GET', path: '/d' })).status, '429', 'an hour is longer than a request may take');
    scripts.set('/e', [[500, '0']]);
    assert.equal((await target.send({ method: 'GET', path: '/e' })).status, '500');
    assert.deepEqual([sent('/c').length, sent('/d').length, sent('/e').length], [1, 1, 1]);
  } finally {
    await target.close();
  }
  const never = new Target(url, { connections: 1, timeoutMs: 10_000, retry: false });
  try {
    scripts.set('/f', [[503, '0']]);
    assert.equal((await never.send({ method: 'GET', path: '/f' })).status, '503');
    assert.equal(never.retried.size, 0);
  } finally {
    await never.close();
  }
});

test('a run against a shedding server: each request counts once, and the report says what was retried', async () => {
  // The first answer is for the runner's own check; then one request waits out two 503s, another one.
  scripts.set('/health', [[200, undefined], [503, '0'], [503, '0'], [200, undefined], [503, '0']]);
  const before = sent('/health').length;
  const r = await runLoadtest({ ...defaults('baseline', false), url, metricsToken: undefined, createUsers: 'api', requests: 10, vus: 1, mix: { health: 100 }, metrics: false });
  assert.equal(r.summary.requests, 10);
  assert.deepEqual(r.summary.statuses, { 200: 10 });
  assert.equal(sent('/health').length - before, 1 + 10 + 3, 'the check, ten requests, three answers waited out');
  assert.ok(r.warnings.some((w) => /^3 answers were 503 with Retry-After and were waited out/.test(w)), r.warnings.join('\n'));
});
