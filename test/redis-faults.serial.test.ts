// Redis killed (SIGKILL) under `allin serve`, and started again on the same port, while clients keep
// calling. Redis is a private redis-server of this test (the machine's shared one is never touched).
// While it is down: every answer is a 2xx, a 4xx the request earns, or a deliberate 503/429 with
// Retry-After (never another 5xx); sign-in, refresh and sign-out work; a session revoked before the kill
// or during the outage is refused; OAuth state made before the kill fails with `invalid_state` and a
// connect started during the outage completes; /api/health names Redis. Once it is back (empty): the same
// revocations still hold, and limits and OAuth state go through Redis again. Then Redis frozen (SIGSTOP:
// the connection stays open, nothing answers): requests are answered, not held, until it thaws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually } from './support/social.ts';
import type { Json } from './support/http.ts';

let port: number;
let redis: ChildProcess | undefined;
let sim: Simulator;
let t: TestApp;
let traffic: { count(): number; stop(): Promise<Seen[]> } | undefined;

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => res(p));
  });
});

/** A redis-server of this test only, without persistence: a restart comes back empty, as after a flush. */
async function startRedis(): Promise<void> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redis = child;
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    }, 20_000, 'the private redis-server to answer PING');
  } finally {
    probe.disconnect();
  }
}

async function killRedis(): Promise<void> {
  const child = redis!;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGKILL');
  await exited;
  redis = undefined;
}

/** A raw client on the private Redis, to look at what AllIN wrote there. */
async function peek<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ port, host: '127.0.0.1', keyPrefix: t.running.config.REDIS_KEY_PREFIX });
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

const health = async () => (await t.call('GET', '/api/health')) as { status: number; body: Json };

async function signIn() {
  const u = await t.user();
  const s = await t.login(u.email, u.password);
  return { ...u, token: s.accessToken as string, refreshToken: s.refreshToken as string, sessionId: s.session.id as string };
}

/** Every answer of the steady traffic that runs through the whole fault. */
interface Seen { path: string; status: number; retryAfter: string | null; code?: string }

function steadyTraffic(token: string, workspaceId: string): { count(): number; stop(): Promise<Seen[]> } {
  const seen: Seen[] = [];
  let running = true;
  const paths = ['/api/auth/me', '/api/workspaces', `/api/workspaces/${workspaceId}/accounts`, '/api/auth/sessions'];
  const loops = [0, 1].map(async (n) => {
    for (let i = n; running; i += 2) {
      const path = paths[i % paths.length]!;
      try {
        const r = await t.call('GET', path, { token });
        seen.push({ path, status: r.status, retryAfter: r.headers.get('retry-after'), code: r.body?.code });
      } catch (err) {
        seen.push({ path, status: 0, retryAfter: null, code: (err as Error).message });
      }
      await sleep(100);
    }
  });
  return {
    count: () => seen.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      return seen;
    },
  };
}

before(async () => {
  port = await freePort();
  await startRedis();
  sim = await startSimulator();
  t = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}`, SIMULATOR_URL: sim.url, SANDBOX: 'on' });
});

after(async () => {
  await traffic?.stop(); // when the test failed half-way
  await t?.stop();
  await sim?.stop();
  if (redis) await killRedis();
});

test('Redis killed and restarted under allin serve: nothing answers 500, revocations hold, everything recovers', async () => {
  // Before: all through Redis.
  const before = await health();
  assert.equal(before.body.checks.redis?.status, 'pass', JSON.stringify(before.body));

  const alice = await signIn();
  const ws = await t.call('POST', '/api/workspaces', { token: alice.token, body: { name: 'Redis faults' } });
  assert.equal(ws.status, 201, JSON.stringify(ws.body));
  const workspaceId = ws.body.id as string;
  const reader = await signIn();
  const joined = await t.call('GET', '/api/workspaces', { token: reader.token });
  assert.equal(joined.status, 200);

  const bob = await signIn();
  assert.equal((await t.call('GET', '/api/auth/me', { token: bob.token })).status, 200);
  assert.equal((await t.call('POST', '/api/auth/logout', { token: bob.token, body: {} })).status, 200);
  assert.equal((await t.call('GET', '/api/auth/me', { token: bob.token })).status, 401, 'revoked before the kill');

  // An OAuth connect started before the kill: its state lives in Redis only.
  const started = await t.call('POST', `/api/workspaces/${workspaceId}/accounts/connect`, { token: alice.token, body: { provider: 'sandbox' } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const cookie = started.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${started.body.authorizationUrl}&login_hint=before-kill`, { redirect: 'manual' });
  const callback = new URL(consent.headers.get('location')!);

  traffic = steadyTraffic(alice.token, workspaceId);
  await sleep(300);

  // --- Redis killed.
  await killRedis();
  const answeredBeforeKill = traffic.count();

  const down = await eventually(async () => {
    const h = await health();
    return h.body.checks.redis?.status !== 'pass' ? h : undefined;
  }, 30_000, '/api/health to notice Redis is down');
  assert.equal(down.status, 200, `the process still serves, so it stays ready: ${JSON.stringify(down.body)}`);
  assert.equal(down.body.checks.redis.status, 'warn');
  assert.equal(down.body.checks.redis.critical, false);
  assert.match(down.body.checks.redis.message, /Redis is unreachable/);

  const me = await t.call('GET', '/api/auth/me', { token: alice.token });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.match(String(me.headers.get('ratelimit')), /limit=\d+, remaining=\d+/, 'still rate limited (in memory)');
  const refused = await t.call('GET', '/api/auth/me', { token: bob.token });
  assert.equal(refused.status, 401, `revoked before the kill: ${JSON.stringify(refused.body)}`);
  assert.equal(refused.body.code, 'SESSION_REVOKED');
  assert.equal((await t.call('GET', '/api/auth/me', { token: reader.token })).status, 200, 'another live session, checked against the database');

  // Sign-in, refresh and sign-out during the outage.
  const carol = await signIn();
  assert.equal((await t.call('GET', '/api/auth/me', { token: carol.token })).status, 200);
  const refreshed = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: carol.refreshToken } });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  const carolToken = refreshed.body.accessToken as string;
  assert.equal((await t.call('GET', '/api/auth/me', { token: carolToken })).status, 200);
  const out = await t.call('POST', '/api/auth/logout', { token: carolToken, body: {} });
  assert.equal(out.status, 200, JSON.stringify(out.body));
  assert.equal((await t.call('GET', '/api/auth/me', { token: carolToken })).status, 401, 'revoked during the outage');
  assert.equal((await t.call('GET', '/api/auth/me', { token: carol.token })).status, 401, 'the older token of the same session too');

  // OAuth: the state in the dead Redis is gone (invalid_state, not an error); a new connect completes,
  // its state kept in this process while Redis is down.
  const lost = await fetch(`${t.url}${callback.pathname}${callback.search}`, { redirect: 'manual', headers: { cookie } });
  assert.equal(lost.status, 302);
  assert.equal(new URL(lost.headers.get('location')!).searchParams.get('connect_error'), 'invalid_state');
  const connectedDuring = await connectSandbox(t, alice.token, workspaceId, 'during-outage');
  assert.ok(connectedDuring);

  // --- Redis back, empty (no persistence): as after a flush.
  const answeredDuringOutage = traffic.count() - answeredBeforeKill;
  await startRedis();
  const up = await eventually(async () => {
    const h = await health();
    return h.body.checks.redis?.status === 'pass' ? h : undefined;
  }, 30_000, '/api/health to see Redis again');
  assert.equal(up.status, 200);

  assert.equal((await t.call('GET', '/api/auth/me', { token: alice.token })).status, 200);
  for (const token of [bob.token, carolToken, carol.token]) {
    const r = await t.call('GET', '/api/auth/me', { token });
    assert.equal(r.status, 401, `still revoked with Redis back and empty: ${JSON.stringify(r.body)}`);
  }
  const connectedAfter = await connectSandbox(t, alice.token, workspaceId, 'after-outage');
  assert.ok(connectedAfter);

  const seen = await traffic.stop();
  traffic = undefined;

  // Redis is used again: the revocations it lost are written back as they are met, limits count there.
  const [bobMarked, carolMarked, aliceCount] = await peek((r) => Promise.all([
    r.exists(`revoked-session:${bob.sessionId}`), r.exists(`revoked-session:${carol.sessionId}`), r.exists(`rl:api-user:${alice.id}`),
  ]));
  assert.equal(bobMarked, 1, 'bob\'s revocation is back in Redis');
  assert.equal(carolMarked, 1, 'carol\'s revocation (made while Redis was down) is in Redis');
  assert.equal(aliceCount, 1, 'alice\'s rate limit counts in Redis again');

  assert.ok(answeredDuringOutage > 0, 'the steady traffic ran while Redis was down');
  const bad = seen.filter((s) => !(s.status >= 200 && s.status < 300) && !((s.status === 503 || s.status === 429) && s.retryAfter));
  assert.deepEqual(bad, [], `every answer during the fault was 2xx or a deliberate 503/429 with Retry-After (${seen.length} requests)`);
});

test('Redis frozen (SIGSTOP, connection open, no answer): requests are answered, not held; it recovers on SIGCONT', async () => {
  const u = await signIn();
  const gone = await signIn();
  assert.equal((await t.call('POST', '/api/auth/logout', { token: gone.token, body: {} })).status, 200);
  assert.equal((await t.call('GET', '/api/auth/me', { token: u.token })).status, 200);
  const child = redis!;
  child.kill('SIGSTOP');
  try {
    // Without a socket timeout these would wait for Redis forever; a generous bound turns a hang into a failure.
    const answered = <T>(p: Promise<T>, what: string) => Promise.race([
      p, sleep(60_000).then(() => { throw new Error(`${what}: no answer while Redis is frozen`); }),
    ]);
    const me = await answered(t.call('GET', '/api/auth/me', { token: u.token }), 'GET /api/auth/me');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const refused = await answered(t.call('GET', '/api/auth/me', { token: gone.token }), 'GET /api/auth/me (revoked)');
    assert.equal(refused.status, 401);
    const h = await answered(eventually(async () => {
      const r = await health();
      return r.body.checks.redis?.status !== 'pass' ? r : undefined;
    }, 30_000, '/api/health to name the frozen Redis'), '/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.body.checks.redis.status, 'warn');
  } finally {
    child.kill('SIGCONT');
  }
  await eventually(async () => (await health()).body.checks.redis?.status === 'pass', 30_000, 'Redis to pass again after SIGCONT');
  assert.equal((await t.call('GET', '/api/auth/me', { token: u.token })).status, 200);
  assert.equal((await t.call('GET', '/api/auth/me', { token: gone.token })).status, 401);
});
