// Redis KeyValueStore through ioredis. Commands fail fast while Redis is unreachable (no offline queue),
// so callers can fall back or report, and ioredis reconnects in the background.
import { Redis } from 'ioredis';
import type { KeyValueStore } from './types.ts';
import type { Logger } from '../logger.ts';

// INCR and set the window's expiry only when the counter is new, atomically.
const INCR_WITH_TTL = `local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private lastErrorLog = 0;
  private lastError: string | undefined;
  private connections = 0;

  constructor(url: string, prefix: string, private readonly log: Logger) {
    this.client = new Redis(url, {
      keyPrefix: prefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      // A Redis that stops answering without closing the connection (frozen, a dropped route), or one that
      // dies with commands in flight (ioredis keeps those for a reconnect), would hold requests until it is
      // back: a command fails after this long (its caller falls back), and with no byte back for
      // socketTimeout the connection is dropped, so later commands fail at once while it reconnects.
      commandTimeout: 1000,
      socketTimeout: 2000,
      retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
    });
    this.client.defineCommand('incrWithTtl', { numberOfKeys: 1, lua: INCR_WITH_TTL });
    this.client.on('ready', () => { this.connections++; });
    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
      // One line a few seconds is enough while Redis is down.
      if (Date.now() - this.lastErrorLog > 5000) {
        this.lastErrorLog = Date.now();
        this.log.warn({ err: err.message }, 'redis connection error');
      }
    });
  }

  get redis(): Redis {
    return this.client;
  }

  get generation(): number {
    return this.connections;
  }

  /** Connects once; start-up retries around this. */
  async connect(): Promise<void> {
    if (this.client.status === 'ready') return;
    if (this.client.status === 'wait' || this.client.status === 'end') await this.client.connect();
    else await new Promise<void>((res, rej) => {
      this.client.once('ready', res);
      this.client.once('error', rej);
    });
  }

  async get(key: string) {
    return this.client.get(key);
  }

  async getMany(keys: string[]) {
    return this.client.mget(keys);
  }

  async set(key: string, value: string, ttlMs?: number) {
    if (ttlMs) await this.client.set(key, value, 'PX', ttlMs);
    else await this.client.set(key, value);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async getDel(key: string) {
    return this.client.getdel(key);
  }

  async del(key: string) {
    await this.client.del(key);
  }

  async incr(key: string, ttlMs: number) {
    const c = this.client as unknown as { incrWithTtl(key: string, ttl: number): Promise<number> };
    return Number(await c.incrWithTtl(key, ttlMs));
  }

  async ttl(key: string) {
    return this.client.pttl(key);
  }

  /** Fails with what is wrong (readiness shows it): the connection's state and its last error. */
  async ping() {
    if (this.client.status !== 'ready') {
      throw new Error(`Redis is unreachable (connection ${this.client.status}${this.lastError ? `; last error: ${this.lastError}` : ''})`);
    }
    try {
      await this.client.ping();
    } catch (err) {
      throw new Error(`Redis is unreachable (${(err as Error).message})`, { cause: err });
    }
  }

  async close() {
    this.client.disconnect();
  }
}
