// The small interface AllIN needs from shared fast state. Redis implements it for several processes;
// memory implements it for the single-process `npm start`. Everything here may be lost on restart:
// PostgreSQL holds what must not be.
import type { Redis } from 'ioredis';

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  /**
   * The Redis connection behind the store; undefined for the in-memory one. For the components built on
   * Redis itself (the shared rate limiters, the invalidation pub/sub), which then fall back to their
   * per-process form, so none of them has to know which class implements the store.
   */
  readonly redis: Redis | undefined;
  /**
   * Moves on each time the store's connection is (re)established. A value read under one generation may
   * miss writes made while the store was unreachable, so what was concluded from it is checked again.
   */
  readonly generation: number;
  get(key: string): Promise<string | null>;
  /** Several keys in one round trip, in order; null for each absent one. */
  getMany(keys: string[]): Promise<(string | null)[]>;
  /** Stores a value; with ttlMs it expires after that many milliseconds. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Stores only when the key is absent (a lock, a single-use marker); true when it stored. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one atomic step: of two concurrent callers, only one gets the value. */
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<void>;
  /** Increments a counter; its expiry is set when the counter is created (a fixed window). */
  incr(key: string, ttlMs: number): Promise<number>;
  /** Remaining time to live in milliseconds; -1 without expiry, -2 when absent. */
  ttl(key: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
