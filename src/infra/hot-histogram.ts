// A histogram for hot paths (every HTTP request, every query). prom-client's Histogram hashes and
// validates its labels on every observation, which cost 10-15% of a trivial request's throughput in
// `npm run bench -- health`. Here a caller gets a series handle once per label set and observing is
// a bucket search and three additions; the registry reads the series at scrape time through the same
// `get()` contract prom-client's own metrics implement, so the exposition format is unchanged.
import type { Registry, MetricObjectWithValues, MetricValueWithName } from 'prom-client';

export interface Series {
  observe(seconds: number): void;
}

interface SeriesData extends Series {
  labels: Record<string, string>;
  counts: Float64Array; // per bucket, not cumulative; last slot is +Inf
  sum: number;
  count: number;
}

export class HotHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly data = new Map<string, SeriesData>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series for one label set; keep the handle, it is the fast path. */
  series(labels: Record<L, string>): Series {
    const key = this.labelNames.map((l) => labels[l]).join('\u0000');
    let s = this.data.get(key);
    if (!s) {
      const counts = new Float64Array(this.buckets.length + 1);
      const bounds = this.buckets;
      const data: SeriesData = {
        labels: { ...labels },
        counts,
        sum: 0,
        count: 0,
        observe(v: number) {
          let i = 0;
          while (i < bounds.length && v > bounds[i]!) i++;
          counts[i]! += 1;
          data.sum += v;
          data.count += 1;
        },
      };
      s = data;
      this.data.set(key, s);
    }
    return s;
  }

  /** Every series with its total count, for counters derived from this histogram. */
  totals(): { labels: Record<string, string>; count: number }[] {
    return [...this.data.values()].map((s) => ({ labels: s.labels, count: s.count }));
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.data.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator } as never;
  }

  reset(): void {
    this.data.clear();
  }
}

/** A counter whose values are the counts of a HotHistogram's series (requests total = durations observed). */
export class DerivedCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';

  constructor(readonly name: string, readonly help: string, private readonly source: HotHistogram<string>, registry: Registry) {
    registry.registerMetric(this as never);
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return {
      name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: this.source.totals().map((t) => ({ labels: t.labels, value: t.count })),
    } as never;
  }

  reset(): void {}
}
