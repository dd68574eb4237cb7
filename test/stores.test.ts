// One contract, two implementations: what passes for Redis must pass for memory, and the reverse.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../src/infra/stores/memory.ts';
import { RedisStore } from '../src/infra/stores/redis.ts';
import type { KeyValueStore } from '../src/infra/stores/types.ts';
import { LocalFallback } from '../src/infra/stores/local-fallback.ts';
import { quietLogger, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { eventually } from './support/eventually.ts';

const stores: [string, () => Promise<KeyValueStore>][] = [
  ['memory', async () => new MemoryStore()],
  ['redis', async () => {
    const s = new RedisStore(testRedisUrl(), testRedisPrefix(), quietLogger());
    await s.connect();
    return s;
  }],
];

for (const [name, make] of stores) {
  describe(`${name} store`, async () => {
    const store = await make();
    after(() => store.close());
    const key = () => `contract:${randomBytes(6).toString('hex')}`;

    test('set and get, with and without expiry', async () => {
      const k = key();
      assert.equal(await store.get(k), null);
      await store.set(k, 'v');
      assert.equal(await store.get(k), 'v');
      assert.equal(await store.ttl(k), -1);
      const t = key();
      await store.set(t, 'short', 80);
      assert.equal(await store.get(t), 'short');
      const left = await store.ttl(t);
      assert.ok(left > 0 && left <= 80, `ttl ${left}`);
      await eventually(async () => (await store.get(t)) === null, 5000, 'the 80 ms value to expire', 10);
      assert.equal(await store.ttl(t), -2);
    });

    test('getDel is atomic: of 50 concurrent callers exactly one gets the value', async () => {
      const k = key();
      await store.set(k, 'once', 10_000);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.getDel(k)));
      assert.equal(results.filter((r) => r === 'once').length, 1);
      assert.equal(await store.get(k), null);
    });

    test('setIfAbsent stores only once until the key expires', async () => {
      const k = key();
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k, String(i), 100)));
      assert.equal(wins.filter(Boolean).length, 1);
      await eventually(() => store.setIfAbsent(k, 'again', 100), 5000, 'the key to expire and be set again', 10);
    });

    test('incr counts within a fixed window that starts at the first increment', async () => {
      const k = key();
      const counts = await Promise.all(Array.from({ length: 30 }, () => store.incr(k, 120)));
      assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
      const ttl = await store.ttl(k);
      assert.ok(ttl > 0 && ttl <= 120);
      // Time passing is what is tested (an increment must not restart the window), so a fixed wait.
      await sleep(60);
      await store.incr(k, 120); // does not extend the window
      assert.ok((await store.ttl(k)) <= 70);
      await eventually(async () => (await store.ttl(k)) === -2, 5000, 'the window to end', 10);
      assert.equal(await store.incr(k, 120), 1);
    });

    test('getMany reads several keys in order, null for each absent one', async () => {
      const [a, b] = [key(), key()];
      await store.set(a, 'first');
      await store.set(b, 'second', 10_000);
      assert.deepEqual(await store.getMany([b, key(), a]), ['second', null, 'first']);
    });

    test('del and ping', async () => {
      const k = key();
      await store.set(k, 'x');
      await store.del(k);
      assert.equal(await store.get(k), null);
      await store.ping();
    });
  });
}

test('redis store fails fast, with a clear error, when Redis is unreachable', async () => {
  const s = new RedisStore('redis://127.0.0.1:1', 'x:', quietLogger());
  await assert.rejects(() => s.connect());
  await assert.rejects(() => s.get('k'));
  await assert.rejects(() => s.getMany(['k', 'l']));
  await assert.rejects(() => s.ping(), /Redis is unreachable \(connection \w+; last error: .*ECONNREFUSED/);
  assert.equal(s.generation, 0, 'never connected');
  await s.close();
});

test('memory store drops expired entries in its sweep', async () => {
  let now = 0;
  const s = new MemoryStore(() => now, 10);
  for (let i = 0; i < 100; i++) await s.set(`k${i}`, 'v', 5);
  assert.equal(s.size, 100);
  now = 10;
  await eventually(() => s.size === 0, 5000, 'the sweep', 5);
  await s.close();
});

test('local fallback: a value the unreachable store refuses is kept in this process, once', async () => {
  const down = new RedisStore('redis://127.0.0.1:1', 'x:', quietLogger());
  const values = new LocalFallback(down);
  assert.equal(await values.set('state:a', 'pending', 10_000), false, 'kept locally');
  const taken = await Promise.all(Array.from({ length: 10 }, () => values.getDel('state:a')));
  assert.deepEqual(taken.filter(Boolean), ['pending'], 'single use');
  assert.equal(await values.getDel('state:never'), null);
  await down.close();

  const up = new MemoryStore();
  const shared = new LocalFallback(up);
  assert.equal(await shared.set('state:b', 'pending', 10_000), true, 'in the shared store');
  assert.equal(await up.get('state:b'), 'pending');
  assert.equal(await shared.getDel('state:b'), 'pending');
  assert.equal(await up.get('state:b'), null);
  await up.close();
});
