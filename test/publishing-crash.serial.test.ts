// Exactly once, proven with real processes: `allin worker` processes publish to the network simulator
// while the test kills them with SIGKILL in the middle of publishing, 50 times; then four workers share
// one queue. The simulator ignores idempotency keys here, so any blind resend would show up as a second
// post with the same marker. Every target must end published exactly once, or `unknown`; none lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { spawnAllin, type AllinProcess } from './support/process.ts';
import { connectSandbox, eventually, simKnobs } from './support/social.ts';
import { markerOf } from '../src/modules/publishing/service.ts';

const KILLS = 50;
let sim: Simulator;
let db: { url: string; drop(): Promise<void> };
let api: TestApp;
let env: Record<string, string>;
let token: string;
let ws: string;
const accounts: string[] = [];
const workers = new Set<AllinProcess>();

before(async () => {
  sim = await startSimulator();
  db = await createTempDatabase();
  env = {
    NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: `${testRedisPrefix()}crash${randomBytes(3).toString('hex')}:`,
    AUTH_SECRET: `crash-test-secret-${randomBytes(24).toString('hex')}`, ENCRYPTION_KEYS: `c1:${randomBytes(32).toString('base64')}`,
    SIMULATOR_URL: sim.url, SANDBOX: 'on', LOG_LEVEL: 'warn', WORKER_PORT: '0', WORKER_CONCURRENCY: '8', WORKER_POLL_INTERVAL_MS: '100',
    HEARTBEAT_INTERVAL_SECONDS: '2', PUBLISH_LEASE_SECONDS: '2', PUBLISH_SWEEP_INTERVAL_MS: '300', PUBLISH_BACKOFF_BASE_MS: '100', PUBLISH_BACKOFF_MAX_MS: '500',
    PUBLISH_CONCURRENCY_PER_ACCOUNT: '4', STARTUP_MAX_ATTEMPTS: '5', SHUTDOWN_TIMEOUT_MS: '2000',
  };
  api = await startTestApp({ ...env, PORT: '0' }, 'serve');
  const u = await api.user();
  token = (await api.login(u.email, u.password)).accessToken;
  ws = (await api.call('POST', '/api/workspaces', { token, body: { name: 'Crash' } })).body.id;
  for (let i = 0; i < 5; i++) accounts.push(await connectSandbox(api, token, ws, `crash-${i}`));
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await Promise.all([...workers].map((w) => w.exited));
  await api?.stop();
  await sim?.stop();
  await db?.drop();
});

async function schedule(n: number, tag: string): Promise<void> {
  // Many posts at once through the API: each has one target per account.
  const per = Math.ceil(n / accounts.length);
  const body = (i: number) => ({ text: `${tag} ${i}`, targets: accounts.map((accountId) => ({ accountId })), schedule: { now: true } });
  for (let i = 0; i < per; i += 10) {
    const rs = await Promise.all(Array.from({ length: Math.min(10, per - i) }, (_, j) => api.call('POST', `/api/workspaces/${ws}/posts`, { token, body: body(i + j) })));
    for (const r of rs) assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}

function startWorker(): AllinProcess {
  const w = spawnAllin(['worker'], env);
  workers.add(w);
  void w.exited.then(() => workers.delete(w));
  return w;
}

async function states(tag: string): Promise<Record<string, number>> {
  const r = await api.running.pool.query(
    `select t.state, count(*)::int as n from post_targets t join posts p on p.id = t.post_id where p.text like $1 group by t.state`, [`${tag} %`]);
  return Object.fromEntries(r.rows.map((x: { state: string; n: number }) => [x.state, x.n]));
}

/** Every target of the tag published once or unknown, checked against what the network holds. */
async function verify(tag: string, total: number): Promise<Record<string, number>> {
  const rows = await api.running.services.db.execute<{ id: string; state: string; remote_id: string | null; parts: number }>(sql`
    select t.id, t.state, t.remote_id, jsonb_array_length(t.progress->'parts') as parts from post_targets t join posts p on p.id = t.post_id where p.text like ${`${tag} %`}`);
  assert.equal(rows.rows.length, total, 'no target lost');
  const byKey = new Map<string, string[]>();
  for (const p of sim.state('sandbox').posts) byKey.set(p.key ?? '', [...(byKey.get(p.key ?? '') ?? []), p.id]);
  const counts: Record<string, number> = {};
  for (const t of rows.rows) {
    counts[t.state] = (counts[t.state] ?? 0) + 1;
    const onNetwork = byKey.get(markerOf(t.id, 0)) ?? [];
    assert.ok(onNetwork.length <= 1, `target ${t.id} is on the network ${onNetwork.length} times`);
    if (t.state === 'published') {
      assert.equal(onNetwork.length, 1, `published target ${t.id} is on the network once`);
      assert.equal(t.remote_id, onNetwork[0]);
    } else {
      assert.equal(t.state, 'unknown', `target ${t.id} ended ${t.state}`);
    }
  }
  return counts;
}

test(`SIGKILL in the middle of publishing, ${KILLS} times: every target published exactly once or unknown`, { timeout: 600_000 }, async () => {
  await simKnobs(sim.url, 'sandbox', { latencyMs: 120, ignoreIdempotencyKey: true });
  const tag = 'crash';
  const total = 600;
  await schedule(total, tag);
  let kills = 0;
  let midPublish = 0;
  const waits: number[] = [];
  const live: AllinProcess[] = [startWorker(), startWorker()];
  while (kills < KILLS) {
    const victim = live.shift()!;
    const waitStarted = Date.now();
    // Wait until the victim holds a target, then kill it a random moment later (before, during or after a call).
    const pid = victim.child.pid!;
    const holding = await eventually(async () => {
      if (victim.child.exitCode !== null) throw new Error(`worker exited: ${victim.stderr()}`);
      const r = await api.running.pool.query(`select count(*)::int as n from post_targets where state = 'publishing' and worker_id like $1`, [`%:${pid}`]);
      const left = await api.running.pool.query(`select count(*)::int as n from post_targets where state in ('scheduled', 'publishing')`);
      return r.rows[0].n > 0 ? 'holding' : left.rows[0].n === 0 ? 'done' : undefined;
    }, 60_000, `worker ${pid} to start publishing`);
    if (holding === 'done') break;
    waits.push(Date.now() - waitStarted);
    await sleep(Math.floor(Math.random() * 250));
    const inFlight = await api.running.pool.query(`select count(*)::int as n from publish_attempts where outcome = 'in_flight' and worker_id like $1`, [`%:${pid}`]);
    if (inFlight.rows[0].n > 0) midPublish++;
    victim.kill('SIGKILL');
    await victim.exited;
    kills++;
    live.push(startWorker());
  }
  const final = await eventually(async () => {
    const s = await states(tag);
    return (s.scheduled ?? 0) + (s.publishing ?? 0) === 0 ? s : undefined;
  }, 180_000, 'every target to settle');
  const counts = await verify(tag, total);
  console.log(`# mean wait for a worker to hold a target: ${Math.round(waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length))} ms`);
  console.log(`# ${kills} kills (${midPublish} with a network call in flight); targets: ${JSON.stringify(final)}; posts on the network: ${sim.state('sandbox').posts.filter((p) => p.text.startsWith(`${tag} `)).length}`);
  assert.equal(kills, KILLS, 'all the kills happened while there was work');
  assert.ok(midPublish > 0, 'some kills hit a call in flight');
  assert.ok((counts.published ?? 0) > 0);
  for (const w of live) w.kill('SIGTERM');
  await Promise.all(live.map((w) => w.exited));
});

test('four workers on one queue publish every target once', { timeout: 300_000 }, async () => {
  await simKnobs(sim.url, 'sandbox', { latencyMs: 20, ignoreIdempotencyKey: true });
  const tag = 'four';
  const total = 400;
  const four = [startWorker(), startWorker(), startWorker(), startWorker()];
  await schedule(total, tag);
  await eventually(async () => {
    const s = await states(tag);
    return (s.scheduled ?? 0) + (s.publishing ?? 0) === 0 ? s : undefined;
  }, 180_000, 'every target to settle');
  const counts = await verify(tag, total);
  assert.equal(counts.published, total, 'no crash here: every target is published');
  for (const w of four) w.kill('SIGTERM');
  await Promise.all(four.map((w) => w.exited));
});
