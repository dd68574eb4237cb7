// Exactly once, proven with real processes: `allin worker` processes publish to the network simulator
// while the test kills them with SIGKILL in the middle of publishing, 50 times; then four workers share
// one queue. The simulator ignores idempotency keys here, so any blind resend would show up as a second
// post with the same marker. Every target must end published exactly once, or `unknown`; none lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { crashRig, killLoop, stopWorkers, type CrashRig } from './support/crash.ts';
import { connectSandbox, eventually, simKnobs } from './support/social.ts';
import { markerOf } from '../src/modules/publishing/service.ts';

const KILLS = 50;
let rig: CrashRig;
const accounts: string[] = [];

before(async () => {
  rig = await crashRig('crash', { WORKER_CONCURRENCY: '8', PUBLISH_CONCURRENCY_PER_ACCOUNT: '4' });
  for (let i = 0; i < 5; i++) accounts.push(await connectSandbox(rig.api, rig.token, rig.ws, `crash-${i}`));
});

after(() => rig?.stop());

async function schedule(n: number, tag: string): Promise<void> {
  // Many posts at once through the API: each has one target per account.
  const per = Math.ceil(n / accounts.length);
  const body = (i: number) => ({ text: `${tag} ${i}`, targets: accounts.map((accountId) => ({ accountId })), schedule: { now: true } });
  for (let i = 0; i < per; i += 10) {
    const rs = await Promise.all(Array.from({ length: Math.min(10, per - i) }, (_, j) => rig.api.call('POST', `/api/workspaces/${rig.ws}/posts`, { token: rig.token, body: body(i + j) })));
    for (const r of rs) assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}

async function states(tag: string): Promise<Record<string, number>> {
  const r = await rig.api.running.pool.query(
    `select t.state, count(*)::int as n from post_targets t join posts p on p.id = t.post_id where p.text like $1 group by t.state`, [`${tag} %`]);
  return Object.fromEntries(r.rows.map((x: { state: string; n: number }) => [x.state, x.n]));
}

/** Every target of the tag published once or unknown, checked against what the network holds. */
async function verify(tag: string, total: number): Promise<Record<string, number>> {
  const rows = await rig.api.running.services.db.execute<{ id: string; state: string; remote_id: string | null; parts: number }>(sql`
    select t.id, t.state, t.remote_id, jsonb_array_length(t.progress->'parts') as parts from post_targets t join posts p on p.id = t.post_id where p.text like ${`${tag} %`}`);
  assert.equal(rows.rows.length, total, 'no target lost');
  const byKey = new Map<string, string[]>();
  for (const p of rig.sim.state('sandbox').posts) byKey.set(p.key ?? '', [...(byKey.get(p.key ?? '') ?? []), p.id]);
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
  await simKnobs(rig.sim.url, 'sandbox', { latencyMs: 120, ignoreIdempotencyKey: true });
  const tag = 'crash';
  const total = 600;
  await schedule(total, tag);
  const { kills, midCall: midPublish, waits, live } = await killLoop(rig, {
    kills: KILLS, what: 'publishing',
    holding: async (pid) => (await rig.count(`select count(*)::int as n from post_targets where state = 'publishing' and worker_id like $1`, [`%:${pid}`])) > 0
      || ((await rig.count(`select count(*)::int as n from post_targets where state in ('scheduled', 'publishing')`)) === 0 ? 'done' : false),
    inFlight: async (pid) => (await rig.count(`select count(*)::int as n from publish_attempts where outcome = 'in_flight' and worker_id like $1`, [`%:${pid}`])) > 0,
  });
  const final = await eventually(async () => {
    const s = await states(tag);
    return (s.scheduled ?? 0) + (s.publishing ?? 0) === 0 ? s : undefined;
  }, 180_000, 'every target to settle');
  const counts = await verify(tag, total);
  console.log(`# mean wait for a worker to hold a target: ${Math.round(waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length))} ms`);
  console.log(`# ${kills} kills (${midPublish} with a network call in flight); targets: ${JSON.stringify(final)}; posts on the network: ${rig.sim.state('sandbox').posts.filter((p) => p.text.startsWith(`${tag} `)).length}`);
  assert.equal(kills, KILLS, 'all the kills happened while there was work');
  assert.ok(midPublish > 0, 'some kills hit a call in flight');
  assert.ok((counts.published ?? 0) > 0);
  await stopWorkers(live);
});

test('four workers on one queue publish every target once', { timeout: 300_000 }, async () => {
  await simKnobs(rig.sim.url, 'sandbox', { latencyMs: 20, ignoreIdempotencyKey: true });
  const tag = 'four';
  const total = 400;
  const four = [rig.startWorker(), rig.startWorker(), rig.startWorker(), rig.startWorker()];
  await schedule(total, tag);
  await eventually(async () => {
    const s = await states(tag);
    return (s.scheduled ?? 0) + (s.publishing ?? 0) === 0 ? s : undefined;
  }, 180_000, 'every target to settle');
  const counts = await verify(tag, total);
  assert.equal(counts.published, total, 'no crash here: every target is published');
  await stopWorkers(four);
});
