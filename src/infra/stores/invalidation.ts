// Cache invalidation across processes. A process that changes what another may have cached publishes
// the key; every process (itself included) drops it. Redis pub/sub with several processes, a local
// dispatch with one. Caches also expire on their own, so a message lost during a Redis reconnect
// costs at most one TTL of staleness; one that could not be published is logged and counted
// (allin_cache_invalidation_failures_total), so that staleness is visible rather than silent.
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { KeyValueStore } from './types.ts';

type Listener = (key: string) => void;

export interface InvalidationBus {
  publish(topic: string, keys: string[]): Promise<void>;
  on(topic: string, fn: Listener): void;
  close(): Promise<void>;
}

class LocalBus implements InvalidationBus {
  protected readonly listeners = new Map<string, Listener[]>();

  on(topic: string, fn: Listener): void {
    this.listeners.set(topic, [...(this.listeners.get(topic) ?? []), fn]);
  }

  protected deliver(topic: string, keys: string[]): void {
    for (const fn of this.listeners.get(topic) ?? []) for (const k of keys) fn(k);
  }

  async publish(topic: string, keys: string[]): Promise<void> {
    this.deliver(topic, keys);
  }

  async close(): Promise<void> {}
}

class RedisBus extends LocalBus {
  private readonly channel: string;

  constructor(private readonly publisher: Redis, private readonly subscriber: Redis, prefix: string, private readonly log: Logger,
    private readonly metrics: Metrics | undefined) {
    super();
    this.channel = `${prefix}invalidate`;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const { topic, keys } = JSON.parse(message) as { topic: string; keys: string[] };
        this.deliver(topic, keys);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'unreadable cache invalidation message');
      }
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  override async publish(topic: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.deliver(topic, keys); // at once here; the others hear it from Redis
    try {
      await this.publisher.publish(this.channel, JSON.stringify({ topic, keys }));
    } catch (err) {
      // Not thrown: the change is committed and this process has dropped the keys; the other processes
      // keep their entries until the TTL ends them.
      this.metrics?.cacheInvalidationFailures.labels(topic).inc();
      this.log.warn({ topic, keys: keys.length, err: (err as Error).message },
        'a cache invalidation could not be published; other processes may serve the old value until it expires');
    }
  }

  override async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}

/** `metrics`: where failed publishes are counted (the one-shot commands, which export none, leave it out). */
export async function createInvalidationBus(store: KeyValueStore, prefix: string, log: Logger, metrics?: Metrics): Promise<InvalidationBus> {
  const redis = store.redis;
  if (!redis) return new LocalBus();
  // A subscribed connection can do nothing else, so it is a second one.
  const subscriber = redis.duplicate({ enableOfflineQueue: true, lazyConnect: false });
  subscriber.on('error', () => undefined); // the main connection already reports Redis errors
  const bus = new RedisBus(redis, subscriber, prefix, log, metrics);
  await bus.start();
  return bus;
}
