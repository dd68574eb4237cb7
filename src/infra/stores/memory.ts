// In-memory KeyValueStore for the single-process mode. Expired entries are dropped when read and by a
// periodic sweep, so memory stays bounded by what is live.
import type { KeyValueStore } from './types.ts';

interface Entry {
  value: string;
  expiresAt: number; // 0: never
}

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly redis = undefined;
  /** Never reconnects: its contents end only with the store itself. */
  readonly generation = 1;
  private readonly map = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now, sweepEveryMs = 30_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e && e.expiresAt !== 0 && e.expiresAt <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.map) if (e.expiresAt !== 0 && e.expiresAt <= now) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }

  async getMany(keys: string[]) {
    return keys.map((k) => this.live(k)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs?: number) {
    this.map.set(key, { value, expiresAt: ttlMs ? this.now() + ttlMs : 0 });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    this.map.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async getDel(key: string) {
    const e = this.live(key);
    this.map.delete(key);
    return e?.value ?? null;
  }

  async del(key: string) {
    this.map.delete(key);
  }

  async incr(key: string, ttlMs: number) {
    const e = this.live(key);
    const next = (e ? Number(e.value) : 0) + 1;
    this.map.set(key, { value: String(next), expiresAt: e ? e.expiresAt : this.now() + ttlMs });
    return next;
  }

  async ttl(key: string) {
    const e = this.live(key);
    if (!e) return -2;
    return e.expiresAt === 0 ? -1 : e.expiresAt - this.now();
  }

  async ping() {}

  async close() {
    clearInterval(this.sweeper);
    this.map.clear();
  }
}
