// Answering exactly once, proven with real processes, as the publishing crash test proves posting: `allin
// worker` processes send inbox replies to the Sandbox network on the simulator while the test kills them
// with SIGKILL in the middle of replying, 30 times. The simulator ignores idempotency keys here, so a blind
// resend would show up as a second answer carrying the same marker. Every accepted reply must end published
// exactly once on the network, or `unknown` (at most once there); none lost, none failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { crashRig, killLoop, stopWorkers, type CrashRig } from './support/crash.ts';
import { collectNow } from './support/inbox.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';
import { inboxMessages } from '../src/modules/inbox/schema.ts';
import { replyMarkerOf } from '../src/modules/inbox/reply-sender.ts';

const KILLS = 30;
/** Replies waiting or being sent that the test keeps in the queue, so every kill finds work. */
const BACKLOG = 40;
let rig: CrashRig;
/** The messages answered (mentions: a conversation each), with their conversation. */
const targets: { conversationId: string; messageId: string }[] = [];
let sent = 0;

before(async () => {
  rig = await crashRig('rcrash', {
    WORKER_CONCURRENCY: '4',
    // Every run of a reply that a kill interrupts counts as a try: enough tries that none runs out of them.
    PUBLISH_MAX_ATTEMPTS: '100', INBOX_POLL_INTERVAL_SECONDS: '3600',
  });
  const { api, token, ws, sim } = rig;
  await simKnobs(rig.sim.url, 'sandbox', { inboxRatePerMinute: 0 });
  const { inbox, db: orm } = rig.api.running.services;
  for (let a = 0; a < 3; a++) {
    const simUser = `rcrash-${a}`;
    const accountId = await connectSandbox(api, token, ws, simUser);
    const said: string[] = [];
    for (let m = 0; m < 4; m++) said.push((await simSay(sim.url, { user: simUser, kind: 'mention', text: `@you question ${a}.${m}?` })).id);
    await inbox.scheduler.ensureCursors();
    await collectNow(api, accountId);
    for (const remoteId of said) {
      const [m] = await orm.select().from(inboxMessages).where(and(eq(inboxMessages.accountId, accountId), eq(inboxMessages.remoteId, remoteId)));
      assert.ok(m, `mention ${remoteId} collected`);
      targets.push({ conversationId: m.conversationId, messageId: m.id });
    }
  }
});

after(() => rig?.stop());

const count = (q: string, values: unknown[] = []) => rig.count(q, values);
const pending = () => count(`select count(*)::int as n from inbox_replies where state in ('queued', 'sending')`);

/** Accepts replies through the API until BACKLOG wait to be sent (ten at a time, spread over the conversations). */
async function topUp(): Promise<void> {
  const missing = BACKLOG - await pending();
  for (let i = 0; i < missing; i += 10) {
    const rs = await Promise.all(Array.from({ length: Math.min(10, missing - i) }, () => {
      const target = targets[sent % targets.length]!;
      const text = `answer ${++sent}`;
      return rig.api.call('POST', `/api/workspaces/${rig.ws}/inbox/conversations/${target.conversationId}/replies`, { token: rig.token, body: { messageId: target.messageId, text } });
    }));
    for (const r of rs) assert.equal(r.status, 202, JSON.stringify(r.body));
  }
}

test(`SIGKILL in the middle of replying, ${KILLS} times: every accepted reply published exactly once or unknown`, { timeout: 600_000 }, async () => {
  await simKnobs(rig.sim.url, 'sandbox', { latencyMs: 150, ignoreIdempotencyKey: true });
  const { kills, midCall: midReply, live } = await killLoop(rig, {
    kills: KILLS, what: 'replying', topUp,
    holding: async (pid) => (await count(`select count(*)::int as n from inbox_replies where state = 'sending' and worker_id like $1`, [`%:${pid}`])) > 0,
    inFlight: async (pid) => (await count(`select count(*)::int as n from inbox_reply_attempts where outcome = 'in_flight' and worker_id like $1`, [`%:${pid}`])) > 0,
  });
  await eventually(async () => (await pending()) === 0, 180_000, 'every reply to settle').catch(async (err: unknown) => {
    const stuck = await rig.api.running.pool.query(`select r.id, r.state, r.attempts, r.lease_until, r.next_attempt_at, r.error_message, j.locked_at, j.run_at, j.attempts as job_attempts
      from inbox_replies r left join graphile_worker.jobs j on j.key = 'inbox-reply:' || r.id::text where r.state in ('queued', 'sending') limit 5`);
    console.log(`# stuck: ${JSON.stringify(stuck.rows)}`);
    throw err;
  });

  const rows = (await rig.api.running.pool.query(`select id, state, remote_id from inbox_replies`)).rows as { id: string; state: string; remote_id: string | null }[];
  assert.equal(rows.length, sent, 'no accepted reply lost');
  const byKey = new Map<string, string[]>();
  for (const item of rig.sim.state('sandbox').inbox.items.values()) if (item.key) byKey.set(item.key, [...(byKey.get(item.key) ?? []), item.id]);
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
  await stopWorkers(live);
});
