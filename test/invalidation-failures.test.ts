// The invalidation bus (src/infra/stores/invalidation.ts): a message that cannot reach Redis does not
// fail the change that published it, and it is not lost silently: a warning names the topic and
// allin_cache_invalidation_failures_total counts it, so an operator can see why another process served
// an old value until its TTL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../src/infra/stores/redis.ts';
import { createInvalidationBus } from '../src/infra/stores/invalidation.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { capturingLogger, quietLogger, testRedisPrefix, testRedisUrl } from './support/env.ts';

const store = new RedisStore(testRedisUrl(), testRedisPrefix(), quietLogger());
after(() => store.close());

test('a publish that fails is logged with its topic and counted; this process still drops the key', async () => {
  await store.connect();
  const metrics = createMetrics({ enabled: true });
  const { log, lines } = capturingLogger();
  const bus = await createInvalidationBus(store, `${testRedisPrefix()}inv-${randomBytes(4).toString('hex')}:`, log, metrics);
  try {
    const dropped: string[] = [];
    bus.on('post_metrics', (k) => dropped.push(k));
    await bus.publish('post_metrics', ['ws:1']);
    assert.deepEqual(await metrics.cacheInvalidationFailures.get().then((m) => m.values), [], 'nothing failed while Redis answered');

    // The publishing connection is gone (as when Redis is down): the command is refused at once.
    store.redis!.disconnect();
    await bus.publish('post_metrics', ['ws:2', 'ws:3']);
    // (The first key may be heard twice: locally at once, and back from Redis by this process's subscriber.)
    assert.deepEqual([...new Set(dropped)], ['ws:1', 'ws:2', 'ws:3'], 'the local caches are still told');
    const counted = (await metrics.cacheInvalidationFailures.get()).values;
    assert.deepEqual(counted.map((v) => [v.labels, v.value]), [[{ topic: 'post_metrics' }, 1]]);
    const warned = lines().filter((l) => l.level === 'warn' || l.level === 40);
    assert.equal(warned.length, 1, JSON.stringify(lines()));
    assert.equal(warned[0]!.topic, 'post_metrics');
    assert.equal(warned[0]!.keys, 2);
    assert.match(String(warned[0]!.msg), /could not be published/);
    const scraped = await metrics.registry.metrics();
    assert.match(scraped, /allin_cache_invalidation_failures_total\{topic="post_metrics"\} 1/);
  } finally {
    await bus.close();
  }
});
