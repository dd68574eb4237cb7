// A publish run that ends in an error while it holds its target (the post went out, then recording the
// outcome failed: the database went away under it) leaves the target publishing under its lease. The run
// is over, so the same process takes the target back at once, not after the lease: the queue's retry
// (or the sweeper, when the queue could not record the failure) runs it again, and the new run asks the
// network, finds the post and records it; nothing is sent twice. The lease is the default (5 minutes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox } from './support/social.ts';
import { PublishingService, type PublishEvents } from '../src/modules/publishing/service.ts';
import { PublishLimits } from '../src/modules/publishing/limits.ts';
import type { ProviderRegistry } from '../src/providers/registry.ts';
import type { Provider, PublishedPost } from '../src/providers/types.ts';
import { postTargets, publishAttempts } from '../src/modules/posts/schema.ts';
import { enqueue } from '../src/modules/posts/jobs.ts';
import { quietLogger } from './support/env.ts';

let t: TestApp;
before(async () => { t = await startTestApp({}, 'start'); });
after(() => t.stop());

async function dueTarget(text: string): Promise<string> {
  const u = await t.user();
  const token = (await t.login(u.email, u.password)).accessToken as string;
  const ws = (await t.call('POST', '/api/workspaces', { token, body: { name: 'Abandoned' } })).body.id as string;
  const account = await connectSandbox(t, token, ws, `abandoned-${text.length}`);
  // Scheduled an hour ahead, so the app's own worker leaves it alone; this test's service runs it now.
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text, targets: [{ accountId: account }], schedule: { at: new Date(Date.now() + 3_600_000).toISOString() } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const targetId = r.body.targets[0].id as string;
  await t.running.services.db.update(postTargets).set({ publishAt: new Date(Date.now() - 1000) }).where(eq(postTargets.id, targetId));
  await enqueue(t.running.services.db, targetId, new Date(Date.now() + 3_600_000));
  return targetId;
}

/** A service over the app's, with a network that remembers what it got and an outcome that fails to record once. */
function service() {
  const sent = new Map<string, PublishedPost>();
  const fake: Provider = {
    ...t.running.services.registry.get('sandbox'),
    publish: async (_account, post) => {
      const p = { remoteId: `remote-${sent.size + 1}` };
      sent.set(post.marker, p);
      return p;
    },
    findByMarker: async (_account, marker) => sent.get(marker) ?? null,
  };
  let failures = 1;
  // The database goes away as the outcome is recorded (once): by the statement that ends a published target.
  const fail = () => {
    if (failures-- > 0) throw new Error('Connection terminated unexpectedly');
  };
  const events: PublishEvents = {
    emit: async () => fail(),
    emitInStatement: () => {
      fail();
      return { ctes: sql``, done: sql`0` };
    },
  };
  const svc = new PublishingService({
    db: t.running.services.db, registry: { get: () => fake } as unknown as ProviderRegistry, accounts: t.running.services.accounts,
    posts: t.running.services.posts.scheduling, media: t.running.services.media, limits: new PublishLimits(t.running.store, { perNetwork: 4, perAccount: 2 }),
    metrics: t.running.metrics, log: quietLogger(), events,
    options: { leaseMs: t.running.config.PUBLISH_LEASE_SECONDS * 1000, attemptMaxMs: 60_000, maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 200 },
  });
  return { svc, sent };
}

const row = async (id: string) => (await t.running.services.db.select().from(postTargets).where(eq(postTargets.id, id)))[0]!;

test('a run that ended in an error holding its target: the next run of the process takes it back at once, finds the post on the network and records it', { timeout: 120_000 }, async () => {
  const targetId = await dueTarget('sent, then the outcome could not be recorded');
  const { svc, sent } = service();
  await assert.rejects(svc.run(targetId, 'one-process'), /Connection terminated/);
  const left = await row(targetId);
  assert.equal(left.state, 'publishing', 'held under the run\'s lease');
  assert.ok(left.leaseUntil!.getTime() > Date.now() + 60_000, 'the lease has minutes to run');
  assert.equal(sent.size, 1);

  assert.equal(await svc.run(targetId, 'one-process'), 'published', 'taken back at once, not after the lease');
  const done = await row(targetId);
  assert.equal(done.state, 'published');
  assert.equal(done.remoteId, 'remote-1');
  assert.equal(sent.size, 1, 'found on the network, not sent again');
  const attempts = await t.running.services.db.select().from(publishAttempts).where(eq(publishAttempts.targetId, targetId));
  assert.deepEqual(attempts.map((a) => a.outcome), ['reconciled']);

  // Another process does not take it: only the process whose run it was knows that run is over.
  const other = await dueTarget('sent by one process, not taken by another');
  const first = service();
  await assert.rejects(first.svc.run(other, 'one-process'), /Connection terminated/);
  assert.equal(await service().svc.run(other, 'another-process'), 'skipped');
});

test('the sweeper hands such a target back when the queue could not record the failed job', { timeout: 120_000 }, async () => {
  const targetId = await dueTarget('its failed job was never recorded');
  const { svc } = service();
  await assert.rejects(svc.run(targetId, 'one-process'), /Connection terminated/);
  // The job's time, or null once the app's own worker has taken it (it cannot claim the target: the run
  // that holds it is not one of its own).
  const runAt = async () => {
    const [job] = (await t.running.services.db.execute<{ run_at: string }>(sql`select run_at from graphile_worker.jobs where key = ${`publish:${targetId}`}`)).rows;
    return job ? new Date(job.run_at).getTime() : null;
  };
  assert.ok((await runAt())! > Date.now() + 60_000, 'its job is an hour away');
  assert.ok(await svc.sweep() >= 1);
  const due = await runAt();
  assert.ok(due === null || due <= Date.now(), 'its job is due now');
  assert.equal(await svc.run(targetId, 'one-process'), 'published');
  assert.equal((await row(targetId)).state, 'published');
  assert.equal(await svc.sweep(), 0, 'nothing is left to hand back');
});
