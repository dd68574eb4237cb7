// What keeps publishing under a network's limits: per-account budgets shared through the store, and
// how many publishes run at once per network and per account (a place now, or a later turn).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/infra/stores/memory.ts';
import { MIN_TURN_MS, PublishLimits, PUBLISH_BUDGETS } from '../../src/modules/publishing/limits.ts';

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

test('YouTube\'s budget is the Google project\'s daily upload quota, shared by every channel', async () => {
  const limits = new PublishLimits(new MemoryStore(), { perNetwork: 4, perAccount: 1, budgets: { youtube: '2/86400' } });
  assert.deepEqual(await limits.takeBudget('youtube', 'channel-a'), { ok: true });
  assert.deepEqual(await limits.takeBudget('youtube', 'channel-b'), { ok: true });
  const third = await limits.takeBudget('youtube', 'channel-c');
  assert.ok(!third.ok && third.retryAfterMs > 86_000_000, 'a third channel waits: the quota is the project\'s');
  assert.equal(PUBLISH_BUDGETS.youtube, '100/86400');
});

test('the documented budgets are the networks\' own figures', () => {
  assert.equal(PUBLISH_BUDGETS.x, '100/900');
  assert.equal(PUBLISH_BUDGETS.threads, '250/86400');
  assert.equal(PUBLISH_BUDGETS.mastodon, '300/10800');
});

test('a place is taken at once or not at all: at most perAccount as one account and perNetwork on one network', () => {
  const limits = new PublishLimits(new MemoryStore(), { perNetwork: 3, perAccount: 2, budgets: {} });
  const a1 = limits.take('x', 'a');
  const a2 = limits.take('x', 'a');
  assert.ok(a1.ok && a2.ok);
  const a3 = limits.take('x', 'a');
  assert.ok(!a3.ok && a3.busy === 'account', JSON.stringify(a3));
  const b1 = limits.take('x', 'b');
  assert.ok(b1.ok, 'another account is not held up by a busy one');
  const c1 = limits.take('x', 'c');
  assert.ok(!c1.ok && c1.busy === 'network', 'the network is full at perNetwork');
  assert.ok(limits.take('y', 'c').ok, 'another network has its own places');
  a1.release();
  a1.release(); // a second release of one place frees nothing more
  const a4 = limits.take('x', 'a');
  assert.ok(a4.ok, 'a released place is free again');
  assert.ok(!limits.take('x', 'a').ok);
  b1.release();
  assert.ok(!limits.take('x', 'a').ok, 'the network\'s free place is not the account\'s');
  assert.ok(limits.take('x', 'c').ok);
});

test('jobs turned away by a busy account come back one turn after another, not all at once', () => {
  const limits = new PublishLimits(new MemoryStore(), { perNetwork: 10, perAccount: 1, budgets: {} });
  assert.ok(limits.take('x', 'a').ok);
  const waits = Array.from({ length: 5 }, () => {
    const r = limits.take('x', 'a');
    assert.ok(!r.ok);
    return r.retryAfterMs;
  });
  for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! > waits[i - 1]!, `turn ${i} after turn ${i - 1}: ${waits.join(', ')}`);
  assert.ok(waits[0]! >= MIN_TURN_MS);
  const other = limits.take('x', 'b');
  assert.ok(other.ok, 'another account has no line to wait in');
});
