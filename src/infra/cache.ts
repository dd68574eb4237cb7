// The one in-process read-through cache: a TTL, a size bound and single flight (concurrent lookups of a
// missing key share one load), on lru-cache's fetch. An invalidate() while a load is in flight drops that
// load's result: its waiting callers still get it, but it is never stored, so a load that read the old
// row cannot write it back after the row changed. Every lookup moves allin_cache_hits_total or
// allin_cache_misses_total.
import { LRUCache } from 'lru-cache';
import type { Metrics } from './metrics.ts';

type Load<T> = () => Promise<T>;

export class TtlCache<T extends object> {
  private readonly lru: LRUCache<string, T, Load<T>>;

  constructor(
    private readonly cacheType: string,
    private readonly ttlMs: number,
    private readonly metrics: Metrics,
    now: () => number = Date.now,
    maxEntries = 10_000,
  ) {
    this.lru = new LRUCache<string, T, Load<T>>({
      max: maxEntries,
      ttl: ttlMs,
      // The clock is passed in (tests move it); check staleness on every read, not once per millisecond.
      perf: { now },
      ttlResolution: 0,
      fetchMethod: (_key, _stale, { context }) => context(),
      // A load aborted by invalidate() still answers the callers waiting on it, but its value is not kept.
      ignoreFetchAbort: true,
    });
  }

  /** Returns the cached value (and `cached: true`) or loads it once for all concurrent callers. */
  async get(key: string, load: Load<T>): Promise<{ value: T; cached: boolean }> {
    // A TTL of 0 keeps nothing (lru-cache would read it as "never expires"): every lookup loads.
    if (this.ttlMs <= 0) {
      this.metrics.cacheMisses.labels(this.cacheType).inc();
      return { value: await load(), cached: false };
    }
    const status: LRUCache.Status<string, T, Load<T>> = {};
    const pending = this.lru.fetch(key, { context: load, status });
    // A hit, or a load another caller already started: either way this lookup cost no load of its own.
    const cached = status.fetch === 'hit' || status.fetch === 'inflight';
    (cached ? this.metrics.cacheHits : this.metrics.cacheMisses).labels(this.cacheType).inc();
    const value = await pending;
    // fetchMethod never resolves undefined (a load returns T), so undefined only means "not loaded".
    if (value === undefined) throw new Error(`cache ${this.cacheType}: load for a key produced nothing`);
    return { value, cached };
  }

  invalidate(key: string): void {
    this.lru.delete(key);
  }
}
