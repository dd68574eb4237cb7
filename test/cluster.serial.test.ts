// AllIN as it is deployed once one machine is not enough: two `allin serve` and two `allin worker`
// processes, real child processes of the real command, on one PostgreSQL database and one Redis (the run's,
// under a key prefix of their own). What one API process does, the other sees: a session made on one
// refreshes on the other, OAuth state made on one is consumed on the other (once), rate-limit counts add up
// across both, and a revoked session is refused by both as soon as the sign-out has answered. The two
// workers share the queue: 1,000 scheduled targets are published exactly once between them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { spawnAllin, isReady, type AllinProcess } from './support/process.ts';
import { strongPassword, uniqueEmail } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, type ApiBase } from './support/social.ts';
import { apiCaller } from './support/http.ts';
import { markerOf } from '../src/modules/publishing/service.ts';

let sim: Simulator;
let db: { url: string; drop(): Promise<void> };
let pool: pg.Pool;
let env: Record<string, string>;
const procs: AllinProcess[] = [];
let a: Api;
let b: Api;
const workerUrls: string[] = [];

interface Api extends ApiBase { name: string }

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => res(port));
  });
});

function api(name: string, url: string): Api {
  return { name, url, call: apiCaller(url) };
}

async function start(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const p = spawnAllin(args, { ...env, ...extra });
  procs.push(p);
  const ready = await p.waitFor(isReady, 120_000);
  return String(ready.url);
}

async function user(): Promise<{ email: string; password: string }> {
  const email = uniqueEmail('cluster');
  const password = strongPassword();
  const p = spawnAllin(['users', 'create', '--email', email, '--password', password], env);
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  return { email, password };
}

async function login(via: Api, u: { email: string; password: string }): Promise<{ accessToken: string; refreshToken: string }> {
  const r = await via.call('POST', '/api/auth/login', { body: u });
  assert.equal(r.status, 200, `${via.name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

before(async () => {
  sim = await startSimulator();
  db = await createTempDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  env = {
    NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: `${testRedisPrefix()}cluster${randomBytes(3).toString('hex')}:`,
    AUTH_SECRET: `cluster-test-secret-${randomBytes(24).toString('hex')}`, ENCRYPTION_KEYS: `c1:${randomBytes(32).toString('base64')}`,
    PUBLIC_URL: 'http://allin.cluster.test', SIMULATOR_URL: sim.url, SANDBOX: 'on', PORT: '0',
    LIMIT_LOGIN_FAILURES_ACCOUNT_IP: '4/900', HEARTBEAT_INTERVAL_SECONDS: '2', READINESS_CACHE_MS: '0',
    WORKER_CONCURRENCY: '8', WORKER_POLL_INTERVAL_MS: '200', PUBLISH_CONCURRENCY_PER_ACCOUNT: '4', STARTUP_MAX_ATTEMPTS: '5', SHUTDOWN_TIMEOUT_MS: '3000',
  };
  // The first process applies the migrations; the other three start together.
  a = api('api-1', await start(['serve']));
  const [urlB, w1, w2] = await Promise.all([
    start(['serve']),
    freePort().then((port) => start(['worker'], { WORKER_PORT: String(port) })),
    freePort().then((port) => start(['worker'], { WORKER_PORT: String(port) })),
  ]);
  b = api('api-2', urlB!);
  workerUrls.push(w1!, w2!);
});

after(async () => {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  await pool?.end();
  await sim?.stop();
  await db?.drop();
});

test('four processes, one database and one Redis: all ready, the two workers each running jobs', async () => {
  for (const url of [a.url, b.url, ...workerUrls]) {
    const r = await fetch(`${url}/api/health`);
    const body = await r.json() as { status: string; role: string; checks: Record<string, { status: string }> };
    assert.equal(r.status, 200, `${url}: ${JSON.stringify(body)}`);
    assert.equal(body.checks.redis?.status, 'pass');
  }
  const workers = await eventually(async () => {
    const r = await pool.query<{ n: number }>('select count(distinct worker_id)::int as n from worker_heartbeats');
    return r.rows[0]!.n >= 2 ? r.rows[0]!.n : undefined;
  }, 90_000, 'both workers to run a heartbeat job');
  assert.equal(workers, 2);
});

test('a session made through one API process refreshes through the other, and back', async () => {
  const u = await user();
  const s1 = await login(a, u);
  assert.equal((await b.call('GET', '/api/auth/me', { token: s1.accessToken })).status, 200);
  const r2 = await b.call('POST', '/api/auth/refresh', { body: { refreshToken: s1.refreshToken } });
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.notEqual(r2.body.refreshToken, s1.refreshToken, 'rotated');
  assert.equal((await a.call('GET', '/api/auth/me', { token: r2.body.accessToken })).status, 200);
  const r3 = await a.call('POST', '/api/auth/refresh', { body: { refreshToken: r2.body.refreshToken } });
  assert.equal(r3.status, 200, JSON.stringify(r3.body));
  assert.equal((await b.call('GET', '/api/auth/me', { token: r3.body.accessToken })).status, 200);
});

test('OAuth state made on one API process is consumed on the other, and only once', async () => {
  const u = await user();
  const { accessToken: token } = await login(a, u);
  const ws = (await a.call('POST', '/api/workspaces', { token, body: { name: 'Cluster' } })).body.id as string;
  const started = await a.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token, body: { provider: 'sandbox' } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const cookie = started.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${started.body.authorizationUrl}&login_hint=cluster-oauth`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const callback = `${back.pathname}${back.search}`;
  // The network sends the browser back; the load balancer hands it to the other process.
  const onB = await fetch(`${b.url}${callback}`, { redirect: 'manual', headers: { cookie } });
  const done = new URL(onB.headers.get('location')!);
  assert.equal(done.searchParams.get('connected'), 'sandbox', done.toString());
  // The same state again, on the first process: already used.
  const replay = await fetch(`${a.url}${callback}`, { redirect: 'manual', headers: { cookie } });
  assert.equal(new URL(replay.headers.get('location')!).searchParams.get('connect_error'), 'invalid_state');
  const accounts = await a.call('GET', `/api/workspaces/${ws}/accounts`, { token });
  assert.equal(accounts.status, 200);
  assert.equal(accounts.body.accounts.length, 1, JSON.stringify(accounts.body));
});

test('rate-limit counts are shared: failed sign-ins on both processes add up to one limit', async () => {
  // LIMIT_LOGIN_FAILURES_ACCOUNT_IP is 4/900: two failures on each process use it up. Counted per process,
  // each would have seen only two, and a fifth attempt would still be judged on its password.
  const u = await user();
  const wrong = { email: u.email, password: `${u.password}-wrong` };
  for (const via of [a, b, a, b]) assert.equal((await via.call('POST', '/api/auth/login', { body: wrong })).status, 401, via.name);
  for (const via of [a, b]) {
    const r = await via.call('POST', '/api/auth/login', { body: u });
    assert.equal(r.status, 429, `${via.name}: ${JSON.stringify(r.body)}`);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
  }
});

test('a session signed out on one process is refused by both as soon as the sign-out has answered', async () => {
  const u = await user();
  const s = await login(a, u);
  for (const via of [a, b]) assert.equal((await via.call('GET', '/api/auth/me', { token: s.accessToken })).status, 200, via.name);
  const out = await b.call('POST', '/api/auth/logout', { token: s.accessToken, body: {} });
  assert.equal(out.status, 200, JSON.stringify(out.body));
  // No waiting: the revocation is in the shared store before the sign-out answers.
  const [onA, onB] = await Promise.all([a, b].map((via) => via.call('GET', '/api/auth/me', { token: s.accessToken })));
  for (const r of [onA!, onB!]) {
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'SESSION_REVOKED');
  }
  assert.equal((await a.call('POST', '/api/auth/refresh', { body: { refreshToken: s.refreshToken } })).status, 401);
});

test('1,000 scheduled targets are published exactly once by the two workers', { timeout: 600_000 }, async () => {
  await simKnobs(sim.url, 'sandbox', { latencyMs: 5, ignoreIdempotencyKey: true });
  const u = await user();
  const { accessToken: token } = await login(a, u);
  const ws = (await a.call('POST', '/api/workspaces', { token, body: { name: 'Cluster publishing' } })).body.id as string;
  const accounts: string[] = [];
  for (let i = 0; i < 5; i++) accounts.push(await connectSandbox(i % 2 ? b : a, token, ws, `cluster-${i}`));
  const tag = `cluster-${randomBytes(3).toString('hex')}`;
  const posts = 200; // × 5 accounts = 1,000 targets
  for (let i = 0; i < posts; i += 10) {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, j) => (j % 2 ? b : a).call('POST', `/api/workspaces/${ws}/posts`, {
      token, body: { text: `${tag} ${i + j}`, targets: accounts.map((accountId) => ({ accountId })), schedule: { now: true } },
    })));
    for (const r of rs) assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const targets = await eventually(async () => {
    const r = await pool.query<{ id: string; state: string; remote_id: string | null; worker_id: string | null }>(
      `select t.id, t.state, t.remote_id, t.worker_id from post_targets t join posts p on p.id = t.post_id where p.text like $1`, [`${tag} %`]);
    return r.rows.every((t) => t.state !== 'scheduled' && t.state !== 'publishing') ? r.rows : undefined;
  }, 300_000, 'every target to settle');
  assert.equal(targets.length, 1000, 'no target lost');
  const onNetwork = new Map<string, string[]>();
  for (const p of sim.state('sandbox').posts) onNetwork.set(p.key ?? '', [...(onNetwork.get(p.key ?? '') ?? []), p.id]);
  for (const t of targets) {
    assert.equal(t.state, 'published', `target ${t.id}`);
    assert.deepEqual(onNetwork.get(markerOf(t.id, 0)), [t.remote_id], `target ${t.id} is on the network once`);
  }
  // Both workers took part (each attempt records the worker that made it).
  const byWorker = await pool.query<{ worker_id: string; n: number }>(
    `select a.worker_id, count(*)::int as n from publish_attempts a join post_targets t on t.id = a.target_id join posts p on p.id = t.post_id
      where p.text like $1 group by a.worker_id`, [`${tag} %`]);
  assert.equal(byWorker.rows.length, 2, JSON.stringify(byWorker.rows));
});
