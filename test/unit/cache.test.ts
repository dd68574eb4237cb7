// The one read-through cache (src/infra/cache.ts): single flight, TTL on the given clock, failed loads
// not kept, and the race that matters: an invalidation while a load is in flight must win.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCache } from '../../src/infra/cache.ts';
import { createMetrics } from '../../src/infra/metrics.ts';

const metrics = createMetrics({ enabled: true });
const deferred = <T>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
};

test('concurrent lookups of a missing key share one load', async () => {
  const cache = new TtlCache<{ v: number }>('t_single', 60_000, metrics);
  let loads = 0;
  const gate = deferred<{ v: number }>();
  const load = () => { loads++; return gate.promise; };
  const all = Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
  gate.resolve({ v: 1 });
  const got = await all;
  assert.equal(loads, 1);
  assert.deepEqual(got.map((g) => g.value.v), [1, 1, 1]);
  assert.deepEqual(got.map((g) => g.cached), [false, true, true]);
  assert.deepEqual(await cache.get('k', load), { value: { v: 1 }, cached: true });
  assert.equal(loads, 1);
});

test('an invalidation during a load is not undone by that load finishing', async () => {
  const cache = new TtlCache<{ v: string }>('t_race', 60_000, metrics);
  const slow = deferred<{ v: string }>();
  // A reader starts loading the row as it was...
  const first = cache.get('row', () => slow.promise);
  // ...the row changes and the writer invalidates while that load is still running...
  cache.invalidate('row');
  slow.resolve({ v: 'old' });
  // ...the reader that started before the change may see the old row,
  assert.equal((await first).value.v, 'old');
  // but the old row must not be stored: the next reader loads the new one.
  let loads = 0;
  const next = await cache.get('row', async () => { loads++; return { v: 'new' }; });
  assert.equal(loads, 1);
  assert.deepEqual(next, { value: { v: 'new' }, cached: false });
});

test('entries expire by the clock the cache was given', async () => {
  let now = 1_000_000;
  const cache = new TtlCache<{ v: number }>('t_ttl', 5_000, metrics, () => now);
  let loads = 0;
  const load = async () => ({ v: ++loads });
  assert.equal((await cache.get('k', load)).value.v, 1);
  now += 4_999;
  assert.equal((await cache.get('k', load)).value.v, 1);
  now += 2;
  assert.deepEqual(await cache.get('k', load), { value: { v: 2 }, cached: false });
});

test('a failed load is not kept, and every waiting caller sees its error', async () => {
  const cache = new TtlCache<{ v: number }>('t_fail', 60_000, metrics);
  const gate = deferred<void>();
  const failing = async () => { await gate.promise; throw new Error('database unavailable'); };
  const both = Promise.allSettled([cache.get('k', failing), cache.get('k', failing)]);
  gate.resolve();
  const results = await both;
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'database unavailable'));
  assert.deepEqual(await cache.get('k', async () => ({ v: 7 })), { value: { v: 7 }, cached: false });
});

test('the size bound evicts the least recently used key', async () => {
  const cache = new TtlCache<{ v: string }>('t_size', 60_000, metrics, Date.now, 2);
  await cache.get('a', async () => ({ v: 'a' }));
  await cache.get('b', async () => ({ v: 'b' }));
  await cache.get('a', async () => ({ v: 'a2' })); // a is now the most recent
  await cache.get('c', async () => ({ v: 'c' }));
  assert.equal((await cache.get('a', async () => ({ v: 'a3' }))).value.v, 'a');
  assert.equal((await cache.get('b', async () => ({ v: 'b2' }))).value.v, 'b2');
});

test('a TTL of 0 keeps nothing: every lookup loads', async () => {
  const cache = new TtlCache<{ v: number }>('t_zero', 0, metrics);
  let loads = 0;
  const load = async () => ({ v: ++loads });
  assert.deepEqual(await cache.get('k', load), { value: { v: 1 }, cached: false });
  assert.deepEqual(await cache.get('k', load), { value: { v: 2 }, cached: false });
});
