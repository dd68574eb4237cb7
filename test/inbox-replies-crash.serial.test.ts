// Answering exactly once, proven with real processes, as the publishing crash test proves posting: `allin
// worker` processes send inbox replies to the Sandbox network on the simulator while the test kills them
// with SIGKILL in the middle of replying, 30 times. The simulator ignores idempotency keys here, so a blind
// resend would show up as a second answer carrying the same marker. Every accepted reply must end published
// exactly once on the network, or `unknown` (at most once there); none lost, none failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { spawnAllin, type AllinProcess } from './support/process.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';
import { inboxCollectionCursors, inboxMessages } from '../src/modules/inbox/schema.ts';
import { replyMarkerOf } from '../src/modules/inbox/reply-sender.ts';

const KILLS = 30;
/** Replies waiting or being sent that the test keeps in the queue, so every kill finds work. */
const BACKLOG = 40;
let sim: Simulator;
let db: { url: string; drop(): Promise<void> };
let api: TestApp;
let env: Record<string, string>;
let token: string;
let ws: string;
/** The messages answered (mentions: a conversation each), with their conversation. */
const targets: { conversationId: string; messageId: string }[] = [];
const workers = new Set<AllinProcess>();
let sent = 0;

before(async () => {
  sim = await startSimulator();
  db = await createTempDatabase();
  env = {
    NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: `${testRedisPrefix()}rcrash${randomBytes(3).toString('hex')}:`,
    AUTH_SECRET: `reply-crash-secret-${randomBytes(24).toString('hex')}`, ENCRYPTION_KEYS: `c1:${randomBytes(32).toString('base64')}`,
    SIMULATOR_URL: sim.url, SANDBOX: 'on', LOG_LEVEL: 'warn', WORKER_PORT: '0', WORKER_CONCURRENCY: '4', WORKER_POLL_INTERVAL_MS: '100',
    HEARTBEAT_INTERVAL_SECONDS: '2', PUBLISH_LEASE_SECONDS: '2', PUBLISH_SWEEP_INTERVAL_MS: '300', PUBLISH_BACKOFF_BASE_MS: '100', PUBLISH_BACKOFF_MAX_MS: '500',
    // Every run of a reply that a kill interrupts counts as a try: enough tries that none runs out of them.
    PUBLISH_MAX_ATTEMPTS: '100', STARTUP_MAX_ATTEMPTS: '5', SHUTDOWN_TIMEOUT_MS: '2000', INBOX_POLL_INTERVAL_SECONDS: '3600',
  };
  api = await startTestApp({ ...env, PORT: '0' }, 'serve');
  await simKnobs(sim.url, 'sandbox', { inboxRatePerMinute: 0 });
  const u = await api.user();
  token = (await api.login(u.email, u.password)).accessToken;
  ws = (await api.call('POST', '/api/workspaces', { token, body: { name: 'Reply crash' } })).body.id;
  const { inbox, db: orm } = api.running.services;
  for (let a = 0; a < 3; a++) {
    const simUser = `rcrash-${a}`;
    const accountId = await connectSandbox(api, token, ws, simUser);
    const said: string[] = [];
    for (let m = 0; m < 4; m++) said.push((await simSay(sim.url, { user: simUser, kind: 'mention', text: `@you question ${a}.${m}?` })).id);
    await inbox.scheduler.ensureCursors();
    await orm.update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
    assert.equal(await inbox.collector.run(accountId, 'inbox'), 'collected');
    for (const remoteId of said) {
      const [m] = await orm.select().from(inboxMessages).where(and(eq(inboxMessages.accountId, accountId), eq(inboxMessages.remoteId, remoteId)));
      assert.ok(m, `mention ${remoteId} collected`);
      targets.push({ conversationId: m.conversationId, messageId: m.id });
    }
  }
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await Promise.all([...workers].map((w) => w.exited));
  await api?.stop();
  await sim?.stop();
  await db?.drop();
});

function startWorker(): AllinProcess {
  const w = spawnAllin(['worker'], env);
  workers.add(w);
  void w.exited.then(() => workers.delete(w));
  return w;
}

const count = async (q: string, values: unknown[] = []): Promise<number> => (await api.running.pool.query(q, values)).rows[0].n as number;
const pending = () => count(`select count(*)::int as n from inbox_replies where state in ('queued', 'sending')`);

/** Accepts replies through the API until BACKLOG wait to be sent (ten at a time, spread over the conversations). */
async function topUp(): Promise<void> {
  const missing = BACKLOG - await pending();
  for (let i = 0; i < missing; i += 10) {
    const rs = await Promise.all(Array.from({ length: Math.min(10, missing - i) }, () => {
      const target = targets[sent % targets.length]!;
      const text = `answer ${++sent}`;
      return api.call('POST', `/api/workspaces/${ws}/inbox/conversations/${target.conversationId}/replies`, { token, body: { messageId: target.messageId, text } });
    }));
    for (const r of rs) assert.equal(r.status, 202, JSON.stringify(r.body));
  }
}

test(`SIGKILL in the middle of replying, ${KILLS} times: every accepted reply published exactly once or unknown`, { timeout: 600_000 }, async () => {
  await simKnobs(sim.url, 'sandbox', { latencyMs: 150, ignoreIdempotencyKey: true });
  let kills = 0;
  let midReply = 0;
  const live: AllinProcess[] = [startWorker(), startWorker()];
  while (kills < KILLS) {
    await topUp();
    const victim = live.shift()!;
    const pid = victim.child.pid!;
    // Wait until the victim holds a reply, then kill it a random moment later (before, during or after a call).
    await eventually(async () => {
      if (victim.child.exitCode !== null) throw new Error(`worker exited: ${victim.stderr()}`);
      return (await count(`select count(*)::int as n from inbox_replies where state = 'sending' and worker_id like $1`, [`%:${pid}`])) > 0;
    }, 60_000, `worker ${pid} to start replying`);
    await sleep(Math.floor(Math.random() * 250));
    if (await count(`select count(*)::int as n from inbox_reply_attempts where outcome = 'in_flight' and worker_id like $1`, [`%:${pid}`]) > 0) midReply++;
    victim.kill('SIGKILL');
    await victim.exited;
    kills++;
    live.push(startWorker());
  }
  await eventually(async () => (await pending()) === 0, 180_000, 'every reply to settle').catch(async (err: unknown) => {
    const stuck = await api.running.pool.query(`select r.id, r.state, r.attempts, r.lease_until, r.next_attempt_at, r.error_message, j.locked_at, j.run_at, j.attempts as job_attempts
      from inbox_replies r left join graphile_worker.jobs j on j.key = 'inbox-reply:' || r.id::text where r.state in ('queued', 'sending') limit 5`);
    console.log(`# stuck: ${JSON.stringify(stuck.rows)}`);
    throw err;
  });

  const rows = (await api.running.pool.query(`select id, state, remote_id from inbox_replies`)).rows as { id: string; state: string; remote_id: string | null }[];
  assert.equal(rows.length, sent, 'no accepted reply lost');
  const byKey = new Map<string, string[]>();
  for (const item of sim.state('sandbox').inbox.items.values()) if (item.key) byKey.set(item.key, [...(byKey.get(item.key) ?? []), item.id]);
  const counts: Record<string, number> = {};
  for (const r of rows) {
    counts[r.state] = (counts[r.state] ?? 0) + 1;
    const onNetwork = byKey.get(replyMarkerOf(r.id)) ?? [];
    assert.ok(onNetwork.length <= 1, `reply ${r.id} is on the network ${onNetwork.length} times`);
    if (r.state === 'published') {
      assert.equal(onNetwork.length, 1, `published reply ${r.id} is on the network once`);
      assert.equal(r.remote_id, onNetwork[0]);
    } else {
      assert.equal(r.state, 'unknown', `reply ${r.id} ended ${r.state}`);
    }
  }
  // Each published reply is one outbound message of its conversation (the collected copy collapses with it).
  const outbound = await count(`select count(*)::int as n from inbox_messages where direction = 'outbound'`);
  assert.equal(outbound, counts.published ?? 0);
  console.log(`# ${kills} kills (${midReply} with a network call in flight); replies: ${JSON.stringify(counts)}; answers on the network: ${[...byKey.keys()].filter((k) => k.startsWith('allin-reply-')).length}`);
  assert.equal(kills, KILLS);
  assert.ok(midReply > 0, 'some kills hit a call in flight');
  assert.ok((counts.published ?? 0) > 0);
  for (const w of live) w.kill('SIGTERM');
  await Promise.all(live.map((w) => w.exited));
});
