// `allin loadtest`: statistics on known data, the open model against a deliberately slow server, and
// real runs against a real AllIN (baseline, journey, stress), through the functions and the command.
// Nothing here asserts on speed: counts, shapes and exit codes only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.ts';
import { spawnAllin } from './support/process.ts';
import { newHistogram, recordMs, summarize, nearestRank, distribution, Recorder, isSuccess, decodeHistogram } from '../src/loadtest/stats.ts';
import { plan, rng, defaults, usersNeeded, type LoadOptions, type ScenarioName } from '../src/loadtest/scenarios.ts';
import { parseLoadtestArgs, UsageError, LOADTEST_USAGE } from '../src/loadtest/cli.ts';
import { runLoadtest, slowEndpoints } from '../src/loadtest/runner.ts';
import { compareReports, medianReport, poolReports } from '../src/loadtest/compare.ts';
import { parsePrometheus, pointOf, serverFigures } from '../src/loadtest/server-metrics.ts';
import { renderHtml } from '../src/loadtest/html.ts';
import { renderText, REPORT_SCHEMA, type Report } from '../src/loadtest/report.ts';

const dir = mkdtempSync(join(tmpdir(), 'allin-loadtest-'));
const options = (scenario: ScenarioName, url: string, extra: Partial<LoadOptions> = {}): LoadOptions =>
  ({ ...defaults(scenario, false), url, metricsToken: undefined, createUsers: 'api', ...extra });

// ------------------------------------------------------------------------------------------ stats

test('percentiles of known data: 1..1000 ms give what nearest-rank gives, within HdrHistogram precision', () => {
  const h = newHistogram();
  const values = Array.from({ length: 1000 }, (_, i) => i + 1);
  for (const v of values) recordMs(h, v);
  const s = summarize(h);
  assert.equal(s.count, 1000);
  assert.equal(s.min, 1);
  assert.equal(s.max, 1000);
  for (const [p, got] of [[50, s.p50], [90, s.p90], [95, s.p95], [99, s.p99], [99.9, s.p999]] as const) {
    const exact = nearestRank(values, p);
    assert.ok(Math.abs(got - exact) / exact <= 0.001, `p${p}: ${got} vs exact ${exact}`);
  }
  assert.ok(Math.abs(s.mean - 500.5) < 0.5);
});

test('percentiles of skewed data, and sub-millisecond values', () => {
  const h = newHistogram();
  const values: number[] = [];
  for (let i = 0; i < 990; i++) values.push(0.25); // 250 µs
  for (let i = 0; i < 9; i++) values.push(40);
  values.push(2500);
  for (const v of values) recordMs(h, v);
  const s = summarize(h);
  assert.equal(s.p50, 0.25);
  assert.equal(s.p90, 0.25);
  assert.equal(s.p99, 0.25); // the 990th of 1,000 values
  assert.ok(Math.abs(s.p999 - 40) / 40 <= 0.001, String(s.p999));
  assert.equal(s.max, 2500);
  const d = distribution(h);
  assert.equal(d[0]!.percentile, 0);
  assert.equal(d.at(-1)!.percentile, 100);
  assert.equal(d.at(-1)!.ms, 2500);
  for (let i = 1; i < d.length; i++) assert.ok(d[i]!.ms >= d[i - 1]!.ms && d[i]!.percentile > d[i - 1]!.percentile);
  assert.deepEqual(summarize(newHistogram()), { count: 0, min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 });
});

test('the recorder counts per endpoint, status and second; only 2xx and 3xx are successes', () => {
  const r = new Recorder(0);
  r.record('GET /a', '200', 0, 10, 10);
  r.record('GET /a', '429', 5, 1500, 1495);
  r.record('POST /b', '503', 20, 30, 10);
  r.record('POST /b', 'timeout', 40, 2100, 2060);
  r.record('POST /b', '302', 50, 60, 10);
  const all = r.totalFigures();
  assert.equal(all.requests, 5);
  assert.equal(all.ok, 2);
  assert.equal(all.successRate, 0.4);
  assert.deepEqual(all.statuses, { 200: 1, 302: 1, 429: 1, 503: 1, timeout: 1 });
  const byName = Object.fromEntries(r.endpointFigures().map((e) => [e.name, e]));
  assert.equal(byName['GET /a']!.requests, 2);
  assert.equal(byName['POST /b']!.ok, 1);
  assert.deepEqual(r.timeline().map((s) => [s.t, s.requests, s.errors]), [[0, 3, 1], [1, 1, 1], [2, 1, 1]]);
  assert.equal(r.elapsedSeconds(), 2.1);
  assert.ok(isSuccess('204') && isSuccess('301') && !isSuccess('404') && !isSuccess('timeout'));
});

test('a mix plan has exactly the proportions, shuffled the same way for the same seed', () => {
  const a = plan({ health: 60, login: 40 }, 100, rng(7));
  assert.equal(a.filter((k) => k === 'health').length, 60);
  assert.equal(a.filter((k) => k === 'login').length, 40);
  assert.deepEqual(a, plan({ health: 60, login: 40 }, 100, rng(7)));
  const b = plan({ health: 1, me: 1, login: 1 }, 100, rng(1));
  assert.equal(b.length, 100);
  // Session endpoints get enough users to stay within half the per-user limit.
  const o = options('open', 'http://x', { rate: 100, mix: { me: 100 } });
  assert.equal(usersNeeded(o), 10); // 100/s over 10/s per user (half of 1200/60)
  assert.equal(usersNeeded(options('scaled', 'http://x')), 1);
});

test('server figures from /metrics: deltas by status without /metrics itself, cache hit rate, peaks', () => {
  const scrape = (n: number, rss: number, waiting: number) => pointOf(parsePrometheus([
    `allin_http_requests_total{method="GET",route="/health",status_code="200"} ${10 + n}`,
    `allin_http_requests_total{method="GET",route="/metrics",status_code="200"} ${n}`,
    `allin_http_requests_total{method="POST",route="/api/auth/login",status_code="503"} ${n > 1 ? 2 : 0}`,
    `allin_cache_hits_total{cache_type="me"} ${n * 9}`, `allin_cache_misses_total{cache_type="me"} ${n}`,
    `allin_cache_hits_total{cache_type="readiness"} ${n * 100}`,
    `allin_process_resident_memory_bytes ${rss}`, `allin_process_cpu_seconds_total ${n / 2}`,
    `allin_db_pool_connections{state="waiting"} ${waiting}`, 'allin_db_pool_connections{state="max"} 10',
  ].join('\n')), n * 1000);
  const f = serverFigures([scrape(0, 100, 0), scrape(1, 300, 3), scrape(2, 200, 0)]);
  assert.equal(f.available, true);
  assert.deepEqual(f.requests, { total: 4, byStatus: { 200: 2, 503: 2 } });
  assert.equal(f.cache!.hitRate, 0.9); // readiness (read by every scrape) left out
  assert.equal(f.memory!.rssBytesMax, 300);
  assert.equal(f.dbPool!.waitingMax, 3);
  assert.equal(f.cpuCores, 0.5);
});

test('stress: the endpoint that slowed first names the resource behind it', () => {
  const step = (vus: number, at: number, login: number, health: number) => ({
    vus, startedAtSeconds: at, endpoints: [{ name: 'POST /api/auth/login', requests: 10, successRate: 1, p95: login, p99: login }, { name: 'GET /health', requests: 10, successRate: 1, p95: health, p99: health }],
  }) as unknown as Parameters<typeof slowEndpoints>[0][number];
  const signals = slowEndpoints([step(10, 0, 108, 10), step(50, 10, 40, 11), step(100, 20, 733, 12)]);
  assert.deepEqual(signals.map((s) => [s.resource, s.firstSeenAtSeconds]), [['password hashing', 20]]);
  assert.match(signals[0]!.detail, /p95 733\.0 ms at 100 virtual users \(40\.0 ms at 50\)/);
});

// ------------------------------------------------------------------------------------------ command line

test('options: scenario defaults, overrides, and a clear message for each bad option', () => {
  const ok = parseLoadtestArgs(['scaled', '--url', 'http://127.0.0.1:1', '--think', '10-20', '--mix', 'health=50,me=50', '--threshold', '5%']);
  assert.ok(ok !== 'help');
  assert.equal(ok.options.vus, 50);
  assert.equal(ok.options.requests, 1000);
  assert.deepEqual(ok.options.thinkMs, [10, 20]);
  assert.deepEqual(ok.options.mix, { health: 50, me: 50 });
  assert.equal(ok.compare.threshold, 0.05);
  assert.equal(parseLoadtestArgs(['--help']), 'help');
  const agency = parseLoadtestArgs(['agency', '--url', 'http://127.0.0.1:1', '--routes', 'Inbox, calendar']);
  assert.ok(agency !== 'help');
  assert.deepEqual(agency.options.routes, ['inbox', 'calendar']);
  const bad: [string[], RegExp][] = [
    [[], /--url is required/],
    [['--url', 'ftp://x'], /not an http/],
    [['fly', '--url', 'http://x'], /unknown scenario "fly"/],
    [['--url', 'http://x', '--vus', '0'], /--vus/],
    [['--url', 'http://x', '--think', '500-100'], /--think/],
    [['--url', 'http://x', '--mix', 'health=60,nope=40'], /--mix/],
    [['--url', 'http://x', '--steps', '50,10'], /--steps/],
    [['--url', 'http://x', '--user-limit', '1200'], /--user-limit/],
    [['--url', 'http://x', '--create-users', 'magic'], /--create-users/],
    [['--url', 'http://x', '--bogus'], /bogus/],
    [['agency', '--url', 'http://x', '--routes', 'nothing-like-it'], /--routes: no agency route's name contains "nothing-like-it"/],
    [['scaled', '--url', 'http://x', '--routes', 'inbox'], /--routes is for the agency scenario/],
  ];
  for (const [args, re] of bad) assert.throws(() => parseLoadtestArgs(args), (e: unknown) => e instanceof UsageError && re.test(e.message), args.join(' '));
});

test('allin loadtest: usage lists every option; a bad option exits 64 with a message', async () => {
  const help = spawnAllin(['loadtest', '--help'], {});
  assert.equal((await help.exited).code, 0);
  const text = help.lines.map((l) => String(l.text ?? '')).join('\n');
  for (const opt of ['--url', '--metrics-token', '--json', '--html', '--compare', '--threshold', '--vus', '--rate', '--steps', '--max-p95', '--create-users', '--short']) assert.ok(text.includes(opt), opt);
  assert.equal(text, LOADTEST_USAGE);

  const bad = spawnAllin(['loadtest', 'baseline', '--url', 'http://127.0.0.1:1', '--rate', 'fast'], {});
  assert.equal((await bad.exited).code, 64);
  assert.match(bad.stderr(), /--rate: "fast" is not a number/);

  const top = spawnAllin(['help'], {});
  await top.exited;
  assert.ok(top.lines.some((l) => String(l.text).includes('loadtest [scenario]')));

  const down = spawnAllin(['loadtest', '--url', 'http://127.0.0.1:9'], {});
  assert.equal((await down.exited).code, 69);
  assert.match(down.stderr(), /is AllIN running there/);
});

// ------------------------------------------------------------------------------------------ open model

let slow: Server;
let slowUrl: string;
before(async () => {
  // A server that takes 100 ms over every answer.
  slow = createServer((_req, res) => setTimeout(() => res.end('{"status":"ok"}'), 100));
  await new Promise<void>((res) => slow.listen(0, '127.0.0.1', () => res()));
  slowUrl = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
});
after(() => new Promise<void>((res) => slow.close(() => res())));

test('open model: a slow server makes sends late, and latency counts from the intended send time', async () => {
  // 40 arrivals a second; 2 in flight at 100 ms each serve 20 a second: the rest must wait.
  const r = await runLoadtest(options('open', slowUrl, { rate: 40, durationSeconds: 1.5, maxInflight: 2, mix: { health: 100 }, metrics: false }));
  assert.ok(r.open);
  assert.equal(r.open.intended, 60);
  assert.equal(r.open.sent + r.open.notSent, 60);
  assert.equal(r.summary.requests, 60);
  assert.ok(r.open.late > 0, `late: ${r.open.late}`);
  assert.ok(r.open.late >= 20, `most arrivals find both slots busy: ${r.open.late}`);
  assert.ok(r.summary.latency.min >= 99, 'no answer is faster than the server');
  assert.ok(r.summary.latency.max > r.open.uncorrectedLatency.max, 'the wait before sending is part of the latency');
  assert.ok(r.summary.latency.p99 > r.open.uncorrectedLatency.p99);
  assert.equal(r.summary.offeredRate, 40);
  assert.ok(r.warnings.some((w) => /could not be sent on time/.test(w)));

  // The same server with room to spare: nothing is late by a second.
  const calm = await runLoadtest(options('open', slowUrl, { rate: 10, durationSeconds: 1, maxInflight: 16, lateMs: 1000, mix: { health: 100 }, metrics: false }));
  assert.equal(calm.open!.late, 0);
  assert.equal(calm.summary.successRate, 1);
});

// ------------------------------------------------------------------------------------------ a real AllIN

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t?.stop();
});

test('baseline against AllIN: 100 requests, 60/40, every one a success, no 429; the server counts the same', async () => {
  const r = await runLoadtest(options('baseline', t.url));
  assert.equal(r.schema, REPORT_SCHEMA);
  assert.equal(r.summary.requests, 100);
  assert.equal(r.summary.successRate, 1);
  assert.deepEqual(r.summary.statuses, { 200: 100 });
  const by = Object.fromEntries(r.endpoints.map((e) => [e.name, e]));
  assert.equal(by['GET /health']!.requests, 60);
  assert.equal(by['POST /api/auth/login']!.requests, 40);
  assert.equal(r.users.count, 1);
  assert.equal(r.users.createdVia, 'api');
  assert.equal(r.server.available, true, r.server.reason);
  assert.deepEqual(r.server.requests, { total: 100, byStatus: { 200: 100 } });
  assert.ok(r.server.memory!.rssBytesMax! > 0);
  assert.equal(r.timeline.reduce((a, s) => a + s.requests, 0), 100);
  assert.ok(r.summary.latency.p50 <= r.summary.latency.p95 && r.summary.latency.p95 <= r.summary.latency.p99 && r.summary.latency.p99 <= r.summary.latency.max);
  assert.match(renderText(r), /POST \/api\/auth\/login +40 +100\.00%/);
});

test('stress: steps, their figures, a knee; /metrics behind a token', async () => {
  const guarded = await startTestApp({ METRICS_TOKEN: 'loadtest-metrics-token' });
  try {
    const r = await runLoadtest(options('stress', guarded.url, { steps: [2, 4], stepSeconds: 1, thinkMs: [20, 50], maxP95Ms: 600_000, metricsToken: 'loadtest-metrics-token' }));
    assert.ok(r.stress);
    assert.deepEqual(r.stress.steps.map((s) => s.vus), [2, 4]);
    for (const s of r.stress.steps) {
      assert.ok(s.requests > 0);
      assert.equal(s.failed, null);
      assert.equal(s.server.available, true);
    }
    assert.ok(r.stress.knee);
    assert.equal(r.stress.stopReason, null);
    assert.ok(r.stress.peakRssBytes! > 0);
    assert.equal(r.summary.statuses['429'], undefined);

    const locked = await runLoadtest(options('baseline', guarded.url, { requests: 10, mix: { health: 100 } }));
    assert.equal(locked.server.available, false);
    assert.match(locked.server.reason!, /--metrics-token/);
  } finally {
    await guarded.stop();
  }
});

test('journey: sign in, read, draft, schedule, refresh, delete, sign out, on a Sandbox account', async () => {
  const app = await startTestApp({}, 'start');
  try {
    const r = await runLoadtest(options('journey', app.url, { vus: 2, iterations: 2, thinkMs: [0, 0] }));
    assert.deepEqual({ ...r.journey, latency: undefined }, { journeys: 4, completed: 4, failed: 0, latency: undefined });
    assert.equal(r.summary.successRate, 1, JSON.stringify(r.summary.statuses));
    assert.deepEqual(r.endpoints.map((e) => [e.name, e.requests]), [
      ['POST /api/auth/login', 4], ['GET /api/auth/me', 4], ['GET /api/workspaces/:id/accounts', 4], ['GET /api/workspaces/:id/calendar', 4],
      ['POST /api/workspaces/:id/posts', 4], ['POST /api/workspaces/:id/posts/:id/schedule', 4], ['POST /api/auth/refresh', 4],
      ['DELETE /api/workspaces/:id/posts/:id', 4], ['POST /api/auth/logout', 4],
    ]);
  } finally {
    await app.stop();
  }
});

test('the command: --json shape, --save, --html with charts', async () => {
  const html = join(dir, 'report.html');
  const saved = join(dir, 'saved.json');
  const p = spawnAllin(['loadtest', 'baseline', '--url', t.url, '--create-users', 'api', '--json', '--html', html, '--save', saved], {});
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  const text = p.lines.map((l) => (l.text !== undefined ? String(l.text) : JSON.stringify(l))).join('\n');
  const r = JSON.parse(text) as Report;
  assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')), r);
  assert.equal(r.schema, 'allin-loadtest/1');
  assert.equal(r.scenario, 'baseline');
  for (const k of ['tool', 'description', 'shape', 'target', 'startedAt', 'finishedAt', 'durationSeconds', 'options', 'machine', 'users', 'summary', 'endpoints', 'timeline', 'distribution', 'server', 'generator', 'warnings']) {
    assert.ok(k in r, k);
  }
  assert.equal(typeof r.machine.cpus, 'number');
  assert.equal(typeof r.machine.totalMemoryBytes, 'number');
  assert.equal(r.machine.node, process.version);
  assert.equal(r.options.vus, 5);
  assert.equal(r.options.requests, 100);
  for (const k of ['count', 'min', 'mean', 'stddev', 'p50', 'p90', 'p95', 'p99', 'p999', 'max']) assert.equal(typeof (r.summary.latency as unknown as Record<string, number>)[k], 'number', k);
  for (const k of ['requests', 'ok', 'failed', 'successRate', 'offeredRate', 'achievedRate', 'throughput', 'statuses', 'histogram']) assert.ok(k in r.summary, k);
  assert.equal(decodeHistogram(r.summary.histogram).totalCount, 100);
  assert.deepEqual(Object.keys(r.endpoints[0]!).sort(), ['achievedRate', 'latency', 'name', 'ok', 'requests', 'statuses', 'successRate']);
  assert.deepEqual(Object.keys(r.timeline[0]!).sort(), ['errors', 'max', 'p50', 'p99', 'requests', 't']);
  assert.ok(r.distribution.all!.length > 3);
  assert.equal(r.summary.requests, 100);
  assert.equal(r.summary.successRate, 1);

  const page = readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/);
  assert.ok((page.match(/<svg /g) ?? []).length >= 3, 'latency over time, percentiles, statuses');
  assert.ok(!/<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i.test(page.replace(/xmlns="[^"]*"/g, '')), 'self-contained: no script, no outside URL');
  assert.match(page, /Latency over time/);
  assert.match(renderHtml(r), /Status codes/);
});

test('--compare: exit 1 past the threshold, 0 otherwise; and allin loadtest compare on two files', async () => {
  const base = JSON.parse(readFileSync(join(dir, 'saved.json'), 'utf8')) as Report;
  // A previous run that was far better than anything this one can do: this run regresses.
  const better = structuredClone(base);
  better.summary.achievedRate = 1e9;
  const betterFile = join(dir, 'better.json');
  writeFileSync(betterFile, JSON.stringify(better));
  // A previous run far worse: this one is no regression.
  const worse = structuredClone(base);
  Object.assign(worse.summary, { achievedRate: 0.001, successRate: 0 });
  Object.assign(worse.summary.latency, { p50: 1e9, p95: 1e9, p99: 1e9 });
  const worseFile = join(dir, 'worse.json');
  writeFileSync(worseFile, JSON.stringify(worse));

  const regress = spawnAllin(['loadtest', 'baseline', '--url', t.url, '--create-users', 'api', '--requests', '20', '--compare', betterFile], {});
  assert.equal((await regress.exited).code, 1, regress.stderr());
  assert.ok(regress.lines.some((l) => /throughput.*REGRESSION/.test(String(l.text))));
  const fine = spawnAllin(['loadtest', 'baseline', '--url', t.url, '--create-users', 'api', '--requests', '20', '--compare', worseFile], {});
  assert.equal((await fine.exited).code, 0, fine.stderr());
  assert.ok(fine.lines.some((l) => /no regression/.test(String(l.text))));

  // Two files, no run: p99 30% worse is past 10%, not past 50%.
  const slower = structuredClone(base);
  slower.summary.latency.p99 = base.summary.latency.p99 * 1.3 + 5;
  const slowerFile = join(dir, 'slower.json');
  writeFileSync(slowerFile, JSON.stringify(slower));
  const c1 = spawnAllin(['loadtest', 'compare', join(dir, 'saved.json'), slowerFile], {});
  assert.equal((await c1.exited).code, 1);
  const c2 = spawnAllin(['loadtest', 'compare', join(dir, 'saved.json'), slowerFile, '--threshold', '50%'], {});
  assert.equal((await c2.exited).code, 0);
  const c3 = spawnAllin(['loadtest', 'compare', join(dir, 'saved.json'), join(dir, 'saved.json')], {});
  assert.equal((await c3.exited).code, 0);
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"hello": 1}');
  const c4 = spawnAllin(['loadtest', 'compare', junk, slowerFile], {});
  assert.equal((await c4.exited).code, 65);
  assert.ok(existsSync(slowerFile));

  // The rules: success rate by percentage points, latency only past 1 ms.
  const c = compareReports([base], [{ ...base, summary: { ...base.summary, successRate: base.summary.successRate - 0.02, latency: { ...base.summary.latency, p50: base.summary.latency.p50 + 0.5 } } }]);
  assert.deepEqual(c.regressions.map((d) => d.metric), ['successRate']);

  // Several rounds stand as one: the medians of the compared figures.
  const round = (rate: number, p99: number) => ({ ...base, summary: { ...base.summary, achievedRate: rate, latency: { ...base.summary.latency, p99 } } });
  const m = medianReport([round(10, 30), round(30, 10), round(20, 20)]);
  assert.equal(m.summary.achievedRate, 20);
  assert.equal(m.summary.latency.p99, 20);

  // Or pooled: the histograms added together, requests summed.
  const pooled = poolReports([base, base]);
  assert.equal(pooled.summary.requests, 2 * base.summary.requests);
  assert.equal(pooled.summary.successRate, 1);
  assert.equal(pooled.summary.latency.count, 2 * base.summary.latency.count);
  assert.equal(pooled.summary.latency.p50, base.summary.latency.p50);
  assert.equal(pooled.summary.latency.p99, base.summary.latency.p99);
});
