// /metrics shows every family, and a request, a cache lookup, a query and a job each move theirs.
import { json } from './support/http.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRuntime, type Running } from '../src/runtime.ts';
import { testConfig, quietLogger, createTempDatabase } from './support/env.ts';
import { parseMetrics, value, families } from './support/metrics.ts';
import { eventually } from './support/eventually.ts';

let running: Running;
let dropDb: () => Promise<void>;
let releaseSlow: () => void = () => {};

before(async () => {
  const db = await createTempDatabase();
  dropDb = db.drop;
  running = await startRuntime('start', testConfig({ DATABASE_URL: db.url, METRICS_TOKEN: 'metrics-token-for-tests' }), quietLogger(), {
    extendApp: (app) => {
      app.get('/test/slow', async () => {
        await new Promise<void>((res) => { releaseSlow = res; });
        return { ok: true };
      });
    },
  });
});
after(async () => {
  releaseSlow();
  await running.stop();
  await dropDb();
});

const scrape = async () => {
  const res = await fetch(`${running.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests' } });
  assert.equal(res.status, 200);
  return res.text();
};

const FAMILIES = [
  'allin_http_request_duration_seconds', 'allin_http_requests_total', 'allin_active_connections',
  'allin_cache_hits_total', 'allin_cache_misses_total', 'allin_db_query_duration_seconds', 'allin_db_queries_total',
  'allin_db_pool_connections', 'allin_oauth_operations_total', 'allin_social_api_calls_total', 'allin_social_api_duration_seconds',
  'allin_jobs_waiting', 'allin_jobs_running', 'allin_jobs_failed', 'allin_jobs_oldest_waiting_age_seconds', 'allin_jobs_completed_total',
  'allin_job_duration_seconds', 'allin_worker_heartbeat_timestamp_seconds', 'allin_dependency_up',
  'allin_process_cpu_seconds_total', 'allin_process_resident_memory_bytes', 'allin_nodejs_eventloop_lag_seconds', 'allin_nodejs_heap_size_used_bytes',
];

test('every family is exported', async () => {
  const have = families(await scrape());
  for (const f of FAMILIES) assert.ok(have.has(f), `missing ${f}`);
});

test('METRICS_TOKEN protects the endpoint', async () => {
  const none = await fetch(`${running.url}/metrics`);
  assert.equal(none.status, 401);
  assert.equal((await json(none)).code, 'UNAUTHORIZED');
  const wrong = await fetch(`${running.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
});

test('a request moves the HTTP families, labelled by route template', async () => {
  const before = parseMetrics(await scrape());
  const labels = { method: 'GET', route: '/health', status_code: '200' };
  const n0 = value(before, 'allin_http_requests_total', labels) ?? 0;
  for (let i = 0; i < 3; i++) await fetch(`${running.url}/health`);
  const after = parseMetrics(await scrape());
  assert.equal(value(after, 'allin_http_requests_total', labels), n0 + 3);
  assert.equal(value(after, 'allin_http_request_duration_seconds_count', labels), n0 + 3);
});

test('unmatched URLs share one series: 300 random paths add none', async () => {
  await fetch(`${running.url}/no/such/${Math.random()}`);
  const seriesBefore = (await scrape()).split('\n').filter((l) => l.startsWith('allin_http_requests_total')).length;
  await Promise.all(Array.from({ length: 300 }, (_, i) => fetch(`${running.url}/random/${i}/${Math.random().toString(36)}`)));
  const text = await scrape();
  const seriesAfter = text.split('\n').filter((l) => l.startsWith('allin_http_requests_total')).length;
  assert.equal(seriesAfter, seriesBefore);
  assert.ok((value(parseMetrics(text), 'allin_http_requests_total', { route: 'unmatched', status_code: '404' }) ?? 0) >= 301);
});

test('a cache lookup moves the cache families (readiness cache)', async () => {
  const b = parseMetrics(await scrape());
  const h0 = value(b, 'allin_cache_hits_total', { cache_type: 'readiness' }) ?? 0;
  const m0 = value(b, 'allin_cache_misses_total', { cache_type: 'readiness' }) ?? 0;
  // Let a cached answer from an earlier test age out (READINESS_CACHE_MS is 500 in tests): an expiry is
  // the passing of time, not an event, and reading it to check would count as a lookup.
  await sleep(600);
  const first = await json(await fetch(`${running.url}/api/health`));
  const second = await json(await fetch(`${running.url}/api/health`));
  assert.equal(first.cached, false);
  assert.equal(second.cached, true);
  const a = parseMetrics(await scrape());
  assert.ok((value(a, 'allin_cache_misses_total', { cache_type: 'readiness' }) ?? 0) >= m0 + 1);
  assert.ok((value(a, 'allin_cache_hits_total', { cache_type: 'readiness' }) ?? 0) >= h0 + 1);
});

test('a query moves the database families, labelled by operation and table', async () => {
  const b = parseMetrics(await scrape());
  const labels = { operation: 'select', table: 'worker_heartbeats', status: 'ok' };
  const n0 = value(b, 'allin_db_queries_total', labels) ?? 0;
  await running.pool.query('select count(*) from worker_heartbeats');
  await running.pool.query('select * from worker_heartbeats limit 1');
  const a = parseMetrics(await scrape());
  // The scrape itself may run readiness queries on the same table; at least our two are there.
  assert.ok((value(a, 'allin_db_queries_total', labels) ?? 0) >= n0 + 2);
  assert.ok((value(a, 'allin_db_query_duration_seconds_count', labels) ?? 0) >= n0 + 2);
  await assert.rejects(running.pool.query('select * from no_such_table'));
  const e = parseMetrics(await scrape());
  assert.equal(value(e, 'allin_db_queries_total', { operation: 'select', table: 'no_such_table', status: 'error' }), 1);
  assert.equal(value(e, 'allin_db_pool_connections', { state: 'max' }), 10);
});

test('a job moves the job families; queue gauges are read from the queue', async () => {
  const b = parseMetrics(await scrape());
  const labels = { task: 'heartbeat', status: 'success' };
  const n0 = value(b, 'allin_jobs_completed_total', labels) ?? 0;
  await running.pool.query(`select graphile_worker.add_job('heartbeat', '{}'::json)`);
  await eventually(async () => (value(parseMetrics(await scrape()), 'allin_jobs_completed_total', labels) ?? 0) > n0, 20_000, 'the heartbeat job to complete');
  const a = parseMetrics(await scrape());
  assert.ok((value(a, 'allin_jobs_completed_total', labels) ?? 0) > n0);
  assert.ok((value(a, 'allin_worker_heartbeat_timestamp_seconds') ?? 0) > Date.now() / 1000 - 60);
  // A job due an hour ago that no task handles waits: depth and lag show it.
  // (No runner takes a task it has no handler for.)
  await running.pool.query(`select graphile_worker.add_job('no_such_task', '{}'::json, run_at := now() - interval '1 hour')`);
  const lagged = parseMetrics(await scrape());
  assert.ok((value(lagged, 'allin_jobs_oldest_waiting_age_seconds') ?? 0) >= 3000, 'queue lag reflects the old job');
  assert.ok((value(lagged, 'allin_jobs_waiting') ?? 0) >= 1);
  assert.equal(value(lagged, 'allin_dependency_up', { dependency: 'database' }), 1);
});

test('active connections fall when a client aborts', async () => {
  // Read the gauges in-process: an HTTP scrape would add its own connection.
  const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => {
    await running.metrics.render(); // runs the collectors that copy the live counts into the gauges
    return (await g.get()).values[0]?.value ?? 0;
  };
  const { activeConnections } = running.metrics;
  const url = new URL(running.url!);
  const conns0 = await gauge(activeConnections);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((res) => socket.once('connect', () => res()));
  socket.write(`GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n`);
  await eventually(async () => (await gauge(activeConnections)) === conns0 + 1, 10_000, 'the connection to be counted', 10);
  socket.destroy();
  await eventually(async () => (await gauge(activeConnections)) === conns0, 10_000, 'the aborted connection to be let go', 10);
  releaseSlow();
});

test('with METRICS_ENABLED=false there is no /metrics and no HTTP hooks', async () => {
  const db = await createTempDatabase();
  const r = await startRuntime('serve', testConfig({ DATABASE_URL: db.url, METRICS_ENABLED: 'false' }), quietLogger());
  try {
    assert.equal((await fetch(`${r.url}/metrics`)).status, 404);
    await fetch(`${r.url}/health`);
    assert.equal((await r.metrics.httpRequests.get()).values.length, 0);
  } finally {
    await r.stop();
    await db.drop();
  }
});
