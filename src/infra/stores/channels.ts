// Messages on named channels, heard by every process that listens: Redis pub/sub with several processes, a
// local dispatch with one (the in-memory `npm start`). For live updates, whose messages are hints that
// something changed (the reader reads the change itself through the API), so at-most-once is enough; a
// listener is told when messages may have been missed (Redis reconnected) so it can read everything again.
// A process subscribes in Redis only to the channels someone in it listens to, and unsubscribes when the
// last listener goes; the subscribing connection is opened on the first subscription (a worker never does).
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { KeyValueStore } from './types.ts';

export interface ChannelListener {
  message(payload: string): void;
  /** Messages may have been missed (the connection to the other processes was lost and is back). */
  gap?(): void;
}

export interface Channels {
  /** Never throws: a message that cannot be sent is logged and counted (live updates are hints). */
  publish(channel: string, payload: string): Promise<void>;
  /** Resolves once messages on the channel reach `listener`; the function it returns stops them. Throws when the channel cannot be listened to now. */
  subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>>;
  /** Channels this process listens to (for tests and metrics). */
  listening(): number;
  close(): Promise<void>;
}

function deliver(listeners: Iterable<ChannelListener> | undefined, payload: string, log: Logger): void {
  for (const l of listeners ?? []) {
    try {
      l.message(payload);
    } catch (err) {
      log.warn({ err }, 'a channel listener failed');
    }
  }
}

export class LocalChannels implements Channels {
  private readonly listeners = new Map<string, Set<ChannelListener>>();

  constructor(private readonly log: Logger) {}

  async publish(channel: string, payload: string): Promise<void> {
    deliver(this.listeners.get(channel), payload, this.log);
  }

  async subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>> {
    const set = this.listeners.get(channel) ?? new Set();
    this.listeners.set(channel, set);
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) this.listeners.delete(channel);
    };
  }

  listening(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

class RedisChannels implements Channels {
  private readonly listeners = new Map<string, Set<ChannelListener>>();
  private readonly subscribed = new Set<string>();
  /** Subscribe and unsubscribe calls of one channel run one after another. */
  private readonly pending = new Map<string, Promise<void>>();
  private subscriber: Redis | undefined;
  private ready = 0;

  constructor(private readonly publisher: Redis, private readonly prefix: string, private readonly log: Logger, private readonly metrics: Metrics | undefined) {}

  async publish(channel: string, payload: string): Promise<void> {
    const full = this.prefix + channel;
    try {
      await this.publisher.publish(full, payload);
    } catch (err) {
      // Redis is down: this process's own listeners still hear it (their subscription is down too); the other
      // processes' listeners are told of a gap when Redis is back.
      deliver(this.listeners.get(full), payload, this.log);
      this.metrics?.livePublishFailures.inc();
      this.log.warn({ channel, err: (err as Error).message }, 'a live update could not be sent to the other processes');
    }
  }

  async subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>> {
    const full = this.prefix + channel;
    const set = this.listeners.get(full) ?? new Set();
    this.listeners.set(full, set);
    set.add(listener);
    const stop = async () => {
      if (!set.delete(listener)) return;
      if (set.size === 0 && this.listeners.get(full) === set) {
        this.listeners.delete(full);
        await this.sync(full).catch((err: unknown) => this.log.warn({ channel, err: (err as Error).message }, 'could not unsubscribe from a channel'));
      }
    };
    try {
      await this.sync(full);
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  }

  /** Makes the Redis subscription match the listeners: subscribed while anyone listens, not after. */
  private sync(full: string): Promise<void> {
    const run = async () => {
      const want = this.listeners.has(full);
      if (want && !this.subscribed.has(full)) {
        await this.connection().subscribe(full);
        this.subscribed.add(full);
      } else if (!want && this.subscribed.has(full)) {
        this.subscribed.delete(full);
        await this.connection().unsubscribe(full);
      }
    };
    const next = (this.pending.get(full) ?? Promise.resolve()).then(run);
    const settled = next.catch(() => undefined);
    this.pending.set(full, settled);
    void settled.then(() => { if (this.pending.get(full) === settled) this.pending.delete(full); });
    return next;
  }

  /** A subscribed connection can do nothing else, so it is a second one, opened on first use. */
  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.publisher.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    sub.on('error', () => undefined); // the main connection already reports Redis errors
    sub.on('message', (channel: string, payload: string) => deliver(this.listeners.get(channel), payload, this.log));
    // ioredis subscribes again by itself after a reconnection; what was published meanwhile is lost.
    sub.on('ready', () => {
      if (this.ready++ === 0) return;
      for (const set of this.listeners.values()) for (const l of set) l.gap?.();
    });
    this.subscriber = sub;
    return sub;
  }

  listening(): number {
    return this.subscribed.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscribed.clear();
    this.subscriber?.disconnect();
  }
}

/** Redis channels when the store is Redis (names under `prefix`), else this process's own. `metrics`: where failed publishes are counted. */
export function createChannels(store: KeyValueStore, prefix: string, log: Logger, metrics?: Metrics): Channels {
  return store.redis ? new RedisChannels(store.redis, prefix, log, metrics) : new LocalChannels(log);
}
