// The components built on Redis itself (the shared rate limiters, the invalidation pub/sub) find the
// connection through KeyValueStore.redis, not by testing for the RedisStore class: a store that wraps
// Redis (here a delegating wrapper, as an instrumented or namespaced store would be) shares limits and
// invalidations across processes exactly as RedisStore does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { RedisStore } from '../src/infra/stores/redis.ts';
import { MemoryStore } from '../src/infra/stores/memory.ts';
import type { KeyValueStore } from '../src/infra/stores/types.ts';
import { consume, createLimiter } from '../src/infra/rate-limit.ts';
import { createInvalidationBus } from '../src/infra/stores/invalidation.ts';
import { quietLogger, testRedisPrefix, testRedisUrl } from './support/env.ts';

/** A store that is not a RedisStore but stands on one: every call is passed through. */
function wrap(inner: KeyValueStore): KeyValueStore {
  return {
    kind: inner.kind,
    get generation() { return inner.generation; },
    get redis() { return inner.redis; },
    get: (k) => inner.get(k),
    getMany: (ks) => inner.getMany(ks),
    set: (k, v, ttl) => inner.set(k, v, ttl),
    setIfAbsent: (k, v, ttl) => inner.setIfAbsent(k, v, ttl),
    getDel: (k) => inner.getDel(k),
    del: (k) => inner.del(k),
    incr: (k, ttl) => inner.incr(k, ttl),
    ttl: (k) => inner.ttl(k),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

// Two connections, as two processes would have.
const a = new RedisStore(testRedisUrl(), testRedisPrefix(), quietLogger());
const b = new RedisStore(testRedisUrl(), testRedisPrefix(), quietLogger());
after(async () => { await a.close(); await b.close(); });

test('the memory store offers no Redis connection; the Redis store offers its own', async () => {
  const memory = new MemoryStore();
  assert.equal(memory.redis, undefined);
  await memory.close();
  assert.ok(a.redis);
});

test('a wrapped Redis store gets the shared limiter: two processes count against one limit', async () => {
  await a.connect();
  await b.connect();
  const name = `capability-${randomBytes(4).toString('hex')}`;
  const first = createLimiter(wrap(a), name, '1/60');
  const second = createLimiter(wrap(b), name, '1/60');
  assert.ok(first.impl instanceof RateLimiterRedis);
  assert.equal((await consume(first, 'caller')).ok, true);
  assert.equal((await consume(second, 'caller')).ok, false, 'the second process saw the first one\'s point');
});

// Without the Redis bus the message never arrives: the timeout only turns that hang into a failure.
test('a wrapped Redis store gets the Redis invalidation bus: a key published in one process reaches the other', { timeout: 60_000 }, async () => {
  await a.connect();
  await b.connect();
  const prefix = `${testRedisPrefix()}capability-${randomBytes(4).toString('hex')}:`;
  const publisher = await createInvalidationBus(wrap(a), prefix, quietLogger());
  const listener = await createInvalidationBus(wrap(b), prefix, quietLogger());
  try {
    const heard = new Promise<string>((resolve) => listener.on('things', resolve));
    await publisher.publish('things', ['k1']);
    assert.equal(await heard, 'k1');
  } finally {
    await publisher.close();
    await listener.close();
  }
});
