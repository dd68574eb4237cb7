// Start-up order, retries, readiness and graceful shutdown, in-process against real PostgreSQL and Redis.
import { json } from './support/http.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import pg from 'pg';
import { startRuntime, StartupRefused, type Running } from '../src/runtime.ts';
import { DependencyError } from '../src/infra/retry.ts';
import { applyMigrations, pendingMigrations } from '../src/infra/db/migrate.ts';
import { createPool } from '../src/infra/db/pool.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { testConfig, quietLogger, capturingLogger, createTempDatabase } from './support/env.ts';
import { eventually } from './support/eventually.ts';

let db: { url: string; drop(): Promise<void> };
before(async () => { db = await createTempDatabase(); });
after(() => db.drop());

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => res(port));
  });
});

test('starts and stops 20 times in a row, ready every time', async () => {
  const config = testConfig({ DATABASE_URL: db.url });
  for (let i = 0; i < 20; i++) {
    const r = await startRuntime('start', config, quietLogger());
    try {
      const res = await fetch(`${r.url}/api/health`);
      const body = await json(res);
      assert.equal(res.status, 200, `round ${i}: ${JSON.stringify(body)}`);
      assert.equal(body.status, 'pass');
      assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'jobs', 'redis']);
    } finally {
      await r.stop();
    }
    await assert.rejects(fetch(`${r.url}/health`), 'nothing listens after stop');
  }
});

test('migrations: five processes starting at once apply them once, under the lock', async () => {
  const fresh = await createTempDatabase();
  const pools = Array.from({ length: 5 }, () => createPool({ connectionString: fresh.url, max: 3, metrics: createMetrics({ enabled: false }), log: quietLogger(), applicationName: 'test' }));
  try {
    const results = await Promise.all(pools.map((p) => applyMigrations(p, quietLogger())));
    assert.equal(results.reduce((n, r) => n + r.applied, 0), results[0]!.total);
    assert.equal(await pendingMigrations(pools[0]!), 0);
    const jobs = await pools[0]!.query("select to_regclass('graphile_worker._private_jobs') as t");
    assert.ok(jobs.rows[0].t, 'graphile-worker schema installed');
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await fresh.drop();
  }
});

test('Redis unreachable: named in the log, retried, then start-up fails without listening', async () => {
  const port = await freePort();
  const { log, lines } = capturingLogger('warn');
  const config = testConfig({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1', PORT: String(port), STARTUP_MAX_ATTEMPTS: '3' });
  const err = await startRuntime('start', config, log).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DependencyError, String(err));
  assert.equal(err.dependency, 'Redis');
  assert.equal(err.attempts, 3);
  const retries = lines().filter((l) => l.dependency === 'Redis');
  assert.equal(retries.length, 2, 'two retries logged before the third, failing attempt');
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});

test('PostgreSQL unreachable: the same, naming PostgreSQL', async () => {
  const config = testConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', STARTUP_MAX_ATTEMPTS: '2' });
  await assert.rejects(startRuntime('serve', config, quietLogger()), (e: unknown) => e instanceof DependencyError && e.dependency === 'PostgreSQL');
});

test('serve and worker refuse to start without shared PostgreSQL and Redis, saying why', async () => {
  for (const role of ['serve', 'worker'] as const) {
    await assert.rejects(startRuntime(role, testConfig({ DATABASE_URL: undefined, REDIS_URL: undefined }), quietLogger()), (e: unknown) => {
      assert.ok(e instanceof StartupRefused);
      assert.match(e.message, /DATABASE_URL and REDIS_URL/);
      assert.match(e.message, /npm start/);
      return true;
    });
    await assert.rejects(startRuntime(role, testConfig({ REDIS_URL: undefined }), quietLogger()), /needs REDIS_URL/);
  }
});

test('readiness: 503 when the job runner stops; an API process only warns about absent workers', async () => {
  const fresh = await createTempDatabase();
  const start = await startRuntime('start', testConfig({ DATABASE_URL: fresh.url, READINESS_CACHE_MS: '0' }), quietLogger());
  try {
    assert.equal((await fetch(`${start.url}/api/health`)).status, 200);
    await start.runner!.stop();
    const res = await fetch(`${start.url}/api/health`);
    assert.equal(res.status, 503);
    const body = await json(res);
    assert.equal(body.checks.jobs.status, 'fail');
    assert.match(body.checks.jobs.message, /stopped/);
  } finally {
    await start.stop();
  }
  // No runner has beaten in this database now: an API process stays ready and warns.
  await (async () => {
    const p = new pg.Client({ connectionString: fresh.url });
    await p.connect();
    await p.query('delete from worker_heartbeats');
    await p.end();
  })();
  const serve = await startRuntime('serve', testConfig({ DATABASE_URL: fresh.url, READINESS_CACHE_MS: '0' }), quietLogger());
  try {
    const res = await fetch(`${serve.url}/api/health`);
    const body = await json(res);
    assert.equal(res.status, 200);
    assert.equal(body.checks.jobs.status, 'warn');
    assert.equal(body.checks.jobs.critical, false);
    assert.equal(body.role, 'serve');
  } finally {
    await serve.stop();
    await fresh.drop();
  }
});

test('shutdown: in-flight requests finish, new connections are refused, keep-alive does not hold it open', async () => {
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((res) => { entered = res; });
  const r: Running = await startRuntime('start', testConfig({ DATABASE_URL: db.url, READINESS_CACHE_MS: '0' }), quietLogger(), {
    extendApp: (app) => {
      app.get('/test/slow', async () => {
        entered();
        await new Promise<void>((res) => { release = res; });
        return { finished: true };
      });
    },
  });
  const slow = fetch(`${r.url}/test/slow`).then(async (res) => ({ status: res.status, body: await json(res) }));
  await inside;
  const stopping = r.stop('test');
  await eventually(() => fetch(`${r.url}/health`, { headers: { connection: 'close' } }).then(() => false, () => true), 10_000, 'new connections to be refused', 10);
  release();
  assert.deepEqual(await slow, { status: 200, body: { finished: true } });
  const t0 = Date.now();
  await stopping;
  assert.ok(Date.now() - t0 < 4000, 'stop did not wait for the shutdown deadline (5 s)');
});

test('shutdown deadline: a request that outlives SHUTDOWN_TIMEOUT_MS is cut, and stop still completes', async () => {
  let entered!: () => void;
  const inside = new Promise<void>((res) => { entered = res; });
  const r = await startRuntime('start', testConfig({ DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: '300' }), quietLogger(), {
    extendApp: (app) => {
      app.get('/test/forever', () => { entered(); return new Promise(() => {}); });
    },
  });
  const hanging = fetch(`${r.url}/test/forever`).then(() => 'answered', () => 'cut');
  await inside;
  const t0 = Date.now();
  await r.stop('test');
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(await hanging, 'cut');
});
