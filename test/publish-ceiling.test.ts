// A publish attempt's ceiling holds even when the attempt is stuck somewhere no signal reaches (an adapter
// that never returns): past the ceiling its lease is no longer extended, so it runs out, the sweeper hands
// the target back, the next run reconciles it, and the stuck run, when it wakes, is fenced off (even in
// the same worker process). The lease and ceiling are set short here: they are what the test checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually } from './support/social.ts';
import { PublishingService } from '../src/modules/publishing/service.ts';
import { PublishLimits } from '../src/modules/publishing/limits.ts';
import type { ProviderRegistry } from '../src/providers/registry.ts';
import type { Provider, PublishedPost } from '../src/providers/types.ts';
import { postTargets, publishAttempts } from '../src/modules/posts/schema.ts';
import { quietLogger } from './support/env.ts';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';

let t: TestApp;
let sim: Simulator;
// The API alone, with no job runner: a runner of the app's own would take the target the sweeper hands back
// (it is queued again at once) and race this test's service for it. The Sandbox network's simulator runs here.
before(async () => {
  sim = await startSimulator();
  t = await startTestApp({ SIMULATOR_URL: sim.url }, 'serve');
});
after(async () => {
  await t?.stop();
  await sim?.stop();
});

test('past the ceiling a stuck attempt stops extending its lease; the target is swept, reconciled and published once; the stuck run is fenced off', { timeout: 120_000 }, async () => {
  const u = await t.user();
  const token = (await t.login(u.email, u.password)).accessToken as string;
  const ws = (await t.call('POST', '/api/workspaces', { token, body: { name: 'Ceiling' } })).body.id as string;
  const account = await connectSandbox(t, token, ws, 'stuck');
  // Scheduled an hour ahead (no runner would take it anyway); this test's service runs it now.
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text: 'stuck then swept', targets: [{ accountId: account }], schedule: { at: new Date(Date.now() + 3_600_000).toISOString() } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const targetId = r.body.targets[0].id as string;
  const { db } = t.running.services;
  await db.update(postTargets).set({ publishAt: new Date(Date.now() - 1000) }).where(eq(postTargets.id, targetId));

  // An adapter whose first publish never returns by itself and hears no signal; the second waits for the test.
  let wake!: (p: PublishedPost) => void;
  let openGate!: () => void;
  const gate = new Promise<void>((res) => { openGate = res; });
  let publishes = 0;
  const real = t.running.services.registry.get('sandbox');
  const fake: Provider = {
    ...real,
    publish: async () => {
      publishes++;
      if (publishes === 1) return new Promise<PublishedPost>((res) => { wake = res; });
      await gate;
      return { remoteId: 'second-run' };
    },
    findByMarker: async () => null,
  };
  const svc = new PublishingService({
    db, registry: { get: () => fake } as unknown as ProviderRegistry, accounts: t.running.services.accounts, posts: t.running.services.posts.scheduling,
    media: t.running.services.media, limits: new PublishLimits(t.running.store, { perNetwork: 4, perAccount: 2 }),
    metrics: t.running.metrics, log: quietLogger(), outbound: t.running.services.http,
    options: { leaseMs: 1000, attemptMaxMs: 1500, maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 200 },
  });

  const first = svc.run(targetId, 'one-process');
  await eventually(async () => publishes === 1, 20_000, 'the first publish to start');
  // The lease runs out while the first run is still stuck: nothing extends it past the ceiling.
  await eventually(async () => {
    const [row] = await db.select().from(postTargets).where(eq(postTargets.id, targetId));
    return row!.state === 'publishing' && row!.leaseUntil !== null && row!.leaseUntil.getTime() < Date.now() - 500;
  }, 30_000, 'the lease to run out');
  assert.equal(publishes, 1, 'still stuck');
  assert.ok(await svc.sweep() >= 1, 'the sweeper hands the target back');

  // The next run (same process) reconciles the attempt left in flight, finds nothing, and sends again.
  const second = svc.run(targetId, 'one-process');
  await eventually(async () => publishes === 2, 20_000, 'the second run to send');
  // The stuck run wakes up with an answer while the second holds the target: it is fenced off, although
  // both runs belong to one worker process, and records nothing.
  wake({ remoteId: 'stale-run' });
  assert.equal(await first, 'lost_lease');
  openGate();
  assert.equal(await second, 'published');
  const [done] = await db.select().from(postTargets).where(eq(postTargets.id, targetId));
  assert.equal(done!.state, 'published');
  assert.equal(done!.remoteId, 'second-run');
  const attempts = await db.select().from(publishAttempts).where(eq(publishAttempts.targetId, targetId));
  assert.deepEqual(attempts.map((a) => a.outcome).sort(), ['absent', 'published'], 'the stuck attempt was settled as absent, the second published');
});
