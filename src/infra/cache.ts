// A small in-process read-through cache with a TTL and single flight: concurrent lookups of a missing
// key share one load. Every lookup moves allin_cache_hits_total or allin_cache_misses_total.
import type { Metrics } from './metrics.ts';

interface Slot<T> {
  value?: T;
  expiresAt: number;
  loading?: Promise<T>;
}

export class TtlCache<T> {
  private readonly slots = new Map<string, Slot<T>>();

  constructor(
    private readonly cacheType: string,
    private readonly ttlMs: number,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /** Returns the cached value (and `cached: true`) or loads it once for all concurrent callers. */
  async get(key: string, load: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    const slot = this.slots.get(key);
    if (slot && 'value' in slot && slot.expiresAt > this.now()) {
      this.metrics.cacheHits.labels(this.cacheType).inc();
      return { value: slot.value as T, cached: true };
    }
    if (slot?.loading) {
      this.metrics.cacheHits.labels(this.cacheType).inc();
      return { value: await slot.loading, cached: true };
    }
    this.metrics.cacheMisses.labels(this.cacheType).inc();
    const loading = load();
    const next: Slot<T> = { expiresAt: 0, loading };
    if (slot && 'value' in slot) next.value = slot.value;
    if (!this.slots.has(key) && this.slots.size >= this.maxEntries) this.slots.delete(this.slots.keys().next().value!);
    this.slots.set(key, next);
    try {
      const value = await loading;
      this.slots.set(key, { value, expiresAt: this.now() + this.ttlMs });
      return { value, cached: false };
    } catch (err) {
      this.slots.delete(key);
      throw err;
    }
  }

  invalidate(key: string): void {
    this.slots.delete(key);
  }
}
