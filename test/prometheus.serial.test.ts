// A real Prometheus (Debian's package; .ci/run installs it) scrapes a running AllIN every second with the
// shipped recording and alert rules loaded, and is queried through its HTTP API:
// - the P95 query over allin_http_request_duration_seconds that the previous AllIN backend's monitoring
//   guide gave (also in docs/OPERATIONS.md, Useful queries) returns a number;
// - every shipped rule evaluates without error against real data, and the per-route P95 the dashboards
//   read is recorded;
// - alerts fire when their condition is made true: a route that fails with 500 under steady traffic
//   (AllinHigh5xxRatio's expression), and the job runner stopped (AllinNoJobRunner's expression; the real
//   condition an operator meets when no worker runs). The shipped alerts wait minutes (`for:`), so the test
//   loads copies of their exact expressions with `for: 1s`, and checks that the shipped ones are pending.
// Only polling deadlines are timed; nothing asserts on how long anything took.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { startRuntime, type Running } from '../src/runtime.ts';
import { testConfig, quietLogger, createTempDatabase } from './support/env.ts';
import { RULE_FILES, allRules } from './support/promql.ts';
import { eventually } from './support/eventually.ts';

let running: Running;
let dropDb: () => Promise<void>;
let prometheus: ChildProcess;
let promUrl: string;
let promLog = '';
let tmp: string;

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => res(port));
  });
});

const shipped = (name: string) => {
  const rule = allRules().find((r) => r.alert === name);
  assert.ok(rule, `no alert ${name} in deploy/prometheus/rules`);
  return rule;
};

before(async () => {
  const db = await createTempDatabase();
  dropDb = db.drop;
  running = await startRuntime('start', testConfig({ DATABASE_URL: db.url }), quietLogger(), {
    extendApp: (app) => {
      // A route that fails the way a bug does: an exception, answered 500 and counted by route.
      app.get('/test/fail', async () => {
        throw new Error('deliberate failure for the alert test');
      });
    },
  });

  tmp = mkdtempSync(join(tmpdir(), 'allin-prometheus-'));
  // The shipped alerts' exact expressions with a 1 s `for:`, so they fire within the test.
  const quick = ['AllinHigh5xxRatio', 'AllinNoJobRunner'].map((name) => {
    const r = shipped(name);
    return { alert: `${name}Now`, expr: r.expr, for: '1s', labels: r.labels };
  });
  writeFileSync(join(tmp, 'quick-alerts.yml'), stringify({ groups: [{ name: 'allin-test-quick', rules: quick }] }));
  const target = new URL(running.url!).host;
  writeFileSync(join(tmp, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: [...RULE_FILES, join(tmp, 'quick-alerts.yml')],
    scrape_configs: [{ job_name: 'allin-api', static_configs: [{ targets: [target] }] }],
  }));

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [
    `--config.file=${join(tmp, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout!.on('data', (d: Buffer) => { promLog += d.toString(); });
  prometheus.stderr!.on('data', (d: Buffer) => { promLog += d.toString(); });
  const spawnError = new Promise<never>((_, rej) => prometheus.once('error', (err) => rej(new Error(`prometheus: ${err.message} (apt-get install prometheus; .ci/run does)`))));
  await Promise.race([spawnError, until('Prometheus ready', async () => (await fetch(`${promUrl}/-/ready`)).ok)]);
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((res) => prometheus.once('exit', res));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await running?.stop();
  await dropDb?.();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The suite's poller, errors retried (Prometheus answers only once ready); the deadline only ends a broken run. */
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false>, deadlineMs = 90_000): Promise<T> =>
  eventually(fn, deadlineMs, what, 250, { retryErrors: true, context: () => `prometheus log:\n${promLog.slice(-3000)}` });

interface VectorSample { metric: Record<string, string>; value: [number, string] }
async function query(q: string): Promise<VectorSample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as { status: string; error?: string; data: { resultType: string; result: VectorSample[] } };
  assert.equal(body.status, 'success', `${q}: ${body.error}`);
  return body.data.result;
}
interface Alert { labels: Record<string, string>; state: 'pending' | 'firing' | 'inactive' }
async function alerts(): Promise<Alert[]> {
  const body = await (await fetch(`${promUrl}/api/v1/alerts`)).json() as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

/** Steady traffic until stopped: the counters must move between scrapes for rate() to see it. */
function traffic(paths: string[]): () => Promise<void> {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await Promise.all(paths.map((p) => fetch(`${running.url}${p}`).then((r) => r.arrayBuffer())));
      await sleep(50);
    }
  })();
  return async () => {
    stop = true;
    await loop;
  };
}

test('Prometheus scrapes AllIN, and the P95 query over all routes returns a number', async () => {
  const up = await until('the target to be up', async () => {
    const r = await query('up{job="allin-api"}');
    return r[0]?.value[1] === '1' ? r : undefined;
  });
  assert.equal(up.length, 1);
  const stop = traffic(['/health', '/api/health', '/api/networks']);
  try {
    const p95 = await until('a P95', async () => {
      const r = await query('histogram_quantile(0.95, sum(rate(allin_http_request_duration_seconds_bucket[1m])) by (le))');
      const v = Number(r[0]?.value[1]);
      return r.length === 1 && Number.isFinite(v) ? v : undefined;
    });
    assert.ok(p95 > 0, `P95 = ${p95}`);
    // The per-route P95 the dashboards read is recorded from the same data.
    const perRoute = await until('the recorded per-route P95', async () => {
      const r = await query('job_route:allin_http_request_duration_seconds:p95_rate5m{job="allin-api", route="/health"}');
      return r.length === 1 && Number.isFinite(Number(r[0]!.value[1])) ? r : undefined;
    });
    assert.equal(perRoute[0]!.metric.route, '/health');
  } finally {
    await stop();
  }
});

test('every shipped rule evaluates without error against a real AllIN', async () => {
  interface Rules { data: { groups: { name: string; file: string; rules: { name: string; health: string; lastError?: string }[] }[] } }
  const groups = await until('every rule group to have been evaluated', async () => {
    const body = await (await fetch(`${promUrl}/api/v1/rules`)).json() as Rules;
    const g = body.data.groups.filter((x) => x.name !== 'allin-test-quick');
    return g.length > 0 && g.every((x) => x.rules.every((r) => r.health !== 'unknown')) ? g : undefined;
  });
  assert.equal(groups.reduce((n, g) => n + g.rules.length, 0), allRules().length);
  const bad = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`));
  assert.deepEqual(bad, []);
});

test('an alert fires when its condition is made true: 5xx from a failing route under traffic', async () => {
  assert.deepEqual((await alerts()).filter((a) => a.labels.alertname?.startsWith('AllinHigh5xxRatio')), [], 'nothing fails yet');
  const stop = traffic(['/test/fail', '/health']);
  try {
    const firing = await until('AllinHigh5xxRatioNow to fire', async () =>
      (await alerts()).find((a) => a.labels.alertname === 'AllinHigh5xxRatioNow' && a.state === 'firing'));
    assert.equal(firing.labels.job, 'allin-api');
    assert.equal(firing.labels.severity, 'critical');
    // The shipped alert, with its real `for: 5m`, has seen the same condition.
    const shippedAlert = (await alerts()).find((a) => a.labels.alertname === 'AllinHigh5xxRatio');
    assert.equal(shippedAlert?.state, 'pending');
    const ratio = await query('job:allin_http_requests_5xx:ratio_rate5m{job="allin-api"}');
    assert.ok(Number(ratio[0]!.value[1]) > 0.05);
  } finally {
    await stop();
  }
});

test('an alert fires when its condition is made true: the job runner stops', async () => {
  assert.equal((await alerts()).find((a) => a.labels.alertname === 'AllinNoJobRunnerNow'), undefined, 'the runner is up');
  await running.runner!.stop();
  const firing = await until('AllinNoJobRunnerNow to fire', async () =>
    (await alerts()).find((a) => a.labels.alertname === 'AllinNoJobRunnerNow' && a.state === 'firing'));
  assert.equal(firing.labels.severity, 'critical');
  const dep = await query('allin_dependency_up{dependency="jobs"}');
  assert.equal(dep[0]!.value[1], '0');
});
