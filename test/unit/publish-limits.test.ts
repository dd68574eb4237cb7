// What keeps publishing under a network's limits: per-account budgets shared through the store, and
// how many publishes run at once per network and per account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../../src/infra/stores/memory.ts';
import { PublishLimits, PUBLISH_BUDGETS } from '../../src/modules/publishing/limits.ts';

test('a per-account budget refuses past its points with the wait until the next one, per account', async () => {
  const limits = new PublishLimits(new MemoryStore(), { perNetwork: 4, perAccount: 1, budgets: { x: '2/900' } });
  assert.deepEqual(await limits.takeBudget('x', 'a1'), { ok: true });
  assert.deepEqual(await limits.takeBudget('x', 'a1'), { ok: true });
  const third = await limits.takeBudget('x', 'a1');
  assert.equal(third.ok, false);
  assert.ok(!third.ok && third.retryAfterMs > 800_000 && third.retryAfterMs <= 900_000, JSON.stringify(third));
  assert.deepEqual(await limits.takeBudget('x', 'a2'), { ok: true }, 'another account has its own budget');
  assert.deepEqual(await limits.takeBudget('sandbox', 'a1'), { ok: true }, 'a network without a documented limit has no budget');
});

test('the documented budgets are the networks\' own figures', () => {
  assert.equal(PUBLISH_BUDGETS.x, '100/900');
  assert.equal(PUBLISH_BUDGETS.threads, '250/86400');
  assert.equal(PUBLISH_BUDGETS.mastodon, '300/10800');
});

test('at most perAccount publishes run at once as one account, and perNetwork on one network', async () => {
  const limits = new PublishLimits(new MemoryStore(), { perNetwork: 3, perAccount: 1, budgets: {} });
  let running = 0;
  let peak = 0;
  const byAccount = new Map<string, number>();
  let accountPeak = 0;
  const job = (account: string) => limits.run('x', account, async () => {
    running++;
    byAccount.set(account, (byAccount.get(account) ?? 0) + 1);
    peak = Math.max(peak, running);
    accountPeak = Math.max(accountPeak, byAccount.get(account)!);
    await sleep(20); // the work itself: jobs must last long enough to overlap, nothing is awaited
    running--;
    byAccount.set(account, byAccount.get(account)! - 1);
  });
  await Promise.all(['a', 'a', 'a', 'b', 'b', 'c', 'd', 'e'].map(job));
  assert.equal(accountPeak, 1);
  assert.ok(peak <= 3 && peak >= 2, `peak ${peak}`);
});
