// Latency statistics for `allin loadtest`: every response time goes into an HdrHistogram (hdr-histogram-js,
// its plain JavaScript build: no WebAssembly), in microseconds, 3 significant digits (values are exact to
// 0.1 %). Percentiles are read from the histogram over every request, never averaged across endpoints or
// seconds. Each request is tallied per endpoint, overall and per second of the run.
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** One hour in microseconds: the largest latency recorded (longer ones are clamped to it). */
export const MAX_LATENCY_US = 3_600_000_000;

export function newHistogram(digits: 2 | 3 = 3, packed = false): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1, highestTrackableValue: MAX_LATENCY_US, numberOfSignificantValueDigits: digits,
    bitBucketSize: packed ? 'packed' : 32, autoResize: false, useWebAssembly: false,
  });
}

/** A histogram as HdrHistogram's compressed V2 encoding in base64 (kept in reports, so runs can be pooled). */
export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

export function decodeHistogram(encoded: string): Histogram {
  const h = newHistogram();
  h.add(hdr.decodeFromCompressedBase64(encoded, 32, false));
  return h;
}

/** Records a latency given in milliseconds (fractional) as whole microseconds. */
export function recordMs(h: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  h.recordValue(Math.min(MAX_LATENCY_US, Math.max(1, Number.isFinite(us) ? us : MAX_LATENCY_US)));
}

/** Latency figures in milliseconds (3 decimals). All zero when nothing was recorded. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  stddev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

const ms3 = (us: number) => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { count: 0, min: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  // A percentile is the highest value equivalent to its bucket (within 0.1 %): never above the max.
  const max = h.maxValue;
  const at = (p: number) => ms3(Math.min(max, h.getValueAtPercentile(p)));
  return {
    count,
    min: ms3(h.minNonZeroValue),
    mean: ms3(h.mean),
    stddev: ms3(h.stdDeviation),
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: ms3(max),
  };
}

/**
 * The percentile curve for charts: points at 0, 50, 75, 87.5 … (halving the distance to 100 %) up to
 * the last one the number of samples supports, then 100 (the max).
 */
export function distribution(h: Histogram): { percentile: number; ms: number }[] {
  const n = h.totalCount;
  if (n === 0) return [];
  const out: { percentile: number; ms: number }[] = [];
  for (let k = 0; k <= 40; k++) {
    const p = 100 * (1 - 1 / 2 ** (k / 2)); // two ticks per halving: 0, 29.3, 50, 64.6, 75, …
    if (1 / (1 - p / 100) > n) break;
    out.push({ percentile: Math.round(p * 10000) / 10000, ms: ms3(Math.min(h.maxValue, h.getValueAtPercentile(p))) });
  }
  out.push({ percentile: 100, ms: ms3(h.maxValue) });
  return out;
}

/** Exact nearest-rank percentile of raw values (what the previous AllIN backend's load-test scripts reported); for checks. */
export function nearestRank(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A success is an answer with a 2xx or 3xx status; anything else (4xx, 5xx, timeout, socket error) is not. */
export const isSuccess = (status: string) => /^[23]\d\d$/.test(status);

/** Counts and a latency histogram for one endpoint (or for all of them). */
export class Tally {
  readonly hist: Histogram;
  readonly statuses = new Map<string, number>();
  count = 0;
  ok = 0;
  constructor(digits: 2 | 3 = 3, packed = false) {
    this.hist = newHistogram(digits, packed);
  }
  add(status: string, ms: number | undefined): void {
    this.count++;
    if (isSuccess(status)) this.ok++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (ms !== undefined) recordMs(this.hist, ms);
  }
  statusObject(): Record<string, number> {
    return Object.fromEntries([...this.statuses].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface SecondFigures {
  /** Seconds since the start of the run (or step) when these requests completed. */
  t: number;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export interface EndpointFigures {
  name: string;
  requests: number;
  ok: number;
  successRate: number;
  /** Successful answers per second over the run. */
  achievedRate: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
}

/**
 * Everything measured in one run (or one stress step): per endpoint, overall, per second. Latency of a
 * request is from its intended send time (open model) or its send time (closed model) to the end of its
 * answer's body.
 */
export class Recorder {
  readonly endpoints = new Map<string, Tally>();
  readonly total = new Tally();
  readonly seconds = new Map<number, Tally>();
  firstStart = Infinity;
  lastEnd = -Infinity;
  constructor(readonly origin: number) {}

  record(endpoint: string, status: string, startMs: number, endMs: number, latencyMs: number | undefined): void {
    let e = this.endpoints.get(endpoint);
    if (!e) this.endpoints.set(endpoint, (e = new Tally()));
    e.add(status, latencyMs);
    this.total.add(status, latencyMs);
    const sec = Math.max(0, Math.floor((endMs - this.origin) / 1000));
    let s = this.seconds.get(sec);
    if (!s) this.seconds.set(sec, (s = new Tally(2, true)));
    s.add(status, latencyMs);
    if (startMs < this.firstStart) this.firstStart = startMs;
    if (endMs > this.lastEnd) this.lastEnd = endMs;
  }

  /** Seconds from the first request's start to the last one's end. */
  elapsedSeconds(): number {
    return this.lastEnd > this.firstStart ? (this.lastEnd - this.firstStart) / 1000 : 0;
  }

  endpointFigures(): EndpointFigures[] {
    const secs = this.elapsedSeconds();
    return [...this.endpoints].map(([name, t]) => figures(name, t, secs));
  }

  totalFigures(): EndpointFigures {
    return figures('all', this.total, this.elapsedSeconds());
  }

  timeline(): SecondFigures[] {
    if (this.seconds.size === 0) return [];
    const last = Math.max(...this.seconds.keys());
    const out: SecondFigures[] = [];
    for (let t = 0; t <= last; t++) {
      const s = this.seconds.get(t);
      if (!s) {
        out.push({ t, requests: 0, errors: 0, p50: 0, p99: 0, max: 0 });
        continue;
      }
      const l = summarize(s.hist);
      out.push({ t, requests: s.count, errors: s.count - s.ok, p50: l.p50, p99: l.p99, max: l.max });
    }
    return out;
  }
}

function figures(name: string, t: Tally, secs: number): EndpointFigures {
  return {
    name, requests: t.count, ok: t.ok,
    successRate: t.count === 0 ? 0 : round(t.ok / t.count, 6),
    achievedRate: secs > 0 ? round(t.ok / secs, 2) : 0,
    latency: summarize(t.hist), statuses: t.statusObject(),
  };
}

export const round = (n: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
