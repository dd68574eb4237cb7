// What the server says about itself during a load test: /metrics (Prometheus text) is read before the
// run, every second during it and after it. Counters are turned into deltas over the run (requests by
// status, cache hits and misses, CPU seconds, load shedding); gauges into their peak (resident memory,
// heap, event-loop lag, database pool clients waiting, open connections). The scrapes' own requests are
// left out of the request counts. With several API processes behind a balancer, /metrics is one process's.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value: v });
  }
  return out;
}

const sum = (samples: Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true) => {
  let found = false;
  let total = 0;
  for (const s of samples) {
    if (s.name === name && pred(s.labels)) {
      found = true;
      total += s.value;
    }
  }
  return found ? total : undefined;
};

/** The figures kept from one scrape. */
export interface Point {
  /** performance.now() of the scrape. */
  at: number;
  rssBytes?: number;
  heapUsedBytes?: number;
  eventLoopLagP99Ms?: number;
  eventLoopLagMaxMs?: number;
  dbPoolWaiting?: number;
  dbPoolTotal?: number;
  dbPoolMax?: number;
  activeConnections?: number;
  cpuSeconds?: number;
  /** allin_http_requests_total by status code, without /metrics itself. */
  requestsByStatus: Record<string, number>;
  cacheHits: Record<string, number>;
  cacheMisses: Record<string, number>;
  /** Counters whose name says the server refused work to protect itself (…shed…, …overload…). */
  shed: Record<string, number>;
}

export function pointOf(samples: Sample[], at: number): Point {
  const byLabel = (name: string, label: string, skip?: (l: Record<string, string>) => boolean) => {
    const out: Record<string, number> = {};
    for (const s of samples) {
      if (s.name !== name || skip?.(s.labels)) continue;
      const k = s.labels[label] ?? '';
      out[k] = (out[k] ?? 0) + s.value;
    }
    return out;
  };
  const shed: Record<string, number> = {};
  for (const s of samples) {
    if (!/^allin_.*(shed|overload|load_rejected).*_total$/.test(s.name)) continue;
    const key = `${s.name}${Object.keys(s.labels).length ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',')}}` : ''}`;
    shed[key] = (shed[key] ?? 0) + s.value;
  }
  const secs = (v: number | undefined) => (v === undefined ? undefined : v * 1000);
  return {
    at,
    rssBytes: sum(samples, 'allin_process_resident_memory_bytes'),
    heapUsedBytes: sum(samples, 'allin_nodejs_heap_size_used_bytes'),
    eventLoopLagP99Ms: secs(sum(samples, 'allin_nodejs_eventloop_lag_p99_seconds')),
    eventLoopLagMaxMs: secs(sum(samples, 'allin_nodejs_eventloop_lag_max_seconds')),
    dbPoolWaiting: sum(samples, 'allin_db_pool_connections', (l) => l.state === 'waiting'),
    dbPoolTotal: sum(samples, 'allin_db_pool_connections', (l) => l.state === 'total'),
    dbPoolMax: sum(samples, 'allin_db_pool_connections', (l) => l.state === 'max'),
    activeConnections: sum(samples, 'allin_active_connections'),
    cpuSeconds: sum(samples, 'allin_process_cpu_seconds_total'),
    requestsByStatus: byLabel('allin_http_requests_total', 'status_code', (l) => l.route === '/metrics'),
    cacheHits: byLabel('allin_cache_hits_total', 'cache_type'),
    cacheMisses: byLabel('allin_cache_misses_total', 'cache_type'),
    shed,
  };
}

export type ScrapeResult = { ok: true; point: Point } | { ok: false; reason: string };

export async function scrape(metricsUrl: string, token: string | undefined, timeoutMs = 5000): Promise<ScrapeResult> {
  try {
    const res = await fetch(metricsUrl, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (res.status === 401) return { ok: false, reason: '/metrics answered 401: give its token with --metrics-token (or METRICS_TOKEN)' };
    if (res.status === 404) return { ok: false, reason: '/metrics answered 404 (METRICS_ENABLED=false on the server?)' };
    if (res.status !== 200) return { ok: false, reason: `/metrics answered ${res.status}` };
    return { ok: true, point: pointOf(parsePrometheus(text), performance.now()) };
  } catch (err) {
    return { ok: false, reason: `/metrics could not be read: ${(err as Error).message}` };
  }
}

/** Scrapes every `intervalMs` until stopped; keeps every point (one a second is a few hundred bytes). */
export class Sampler {
  readonly points: Point[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  failure: string | undefined;

  constructor(private readonly metricsUrl: string, private readonly token: string | undefined, private readonly intervalMs = 1000) {}

  /** Takes a first point; resolves false (with `failure` set) when /metrics cannot be read. */
  async start(): Promise<boolean> {
    const first = await scrape(this.metricsUrl, this.token);
    if (!first.ok) {
      this.failure = first.reason;
      return false;
    }
    this.points.push(first.point);
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    return true;
  }

  /** One scrape at a time: a point is kept when the scrape worked. */
  private async sample(): Promise<void> {
    this.busy = true;
    try {
      const r = await scrape(this.metricsUrl, this.token);
      if (r.ok) this.points.push(r.point);
    } finally {
      this.busy = false;
    }
  }

  private async tick(): Promise<void> {
    if (!this.busy) await this.sample();
  }

  /** One point now (a stress step's end), beside the regular ones. */
  async takeNow(): Promise<void> {
    if (this.failure) return;
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    await this.sample();
  }

  /** Stops sampling after one last point. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    if (this.failure) return;
    await this.sample();
  }

  /** The points taken between two instants (performance.now()), plus the last one before `from`. */
  between(from: number, to: number): Point[] {
    const before = this.points.filter((p) => p.at <= from).at(-1);
    const inside = this.points.filter((p) => p.at > from && p.at <= to);
    return before ? [before, ...inside] : inside;
  }
}

export interface ServerFigures {
  available: boolean;
  /** Why not, when it is not. */
  reason?: string;
  scrapes: number;
  /** Requests the server counted (allin_http_requests_total, without /metrics), by status. */
  requests?: { total: number; byStatus: Record<string, number> };
  cache?: { hits: number; misses: number; hitRate: number | null; byType: Record<string, { hits: number; misses: number; hitRate: number | null }> };
  /** CPU time the server process used, and that divided by the wall time: cores busy on average. */
  cpuSeconds?: number;
  cpuCores?: number;
  memory?: { rssBytesBefore?: number; rssBytesMax?: number; rssBytesAfter?: number; heapUsedBytesMax?: number };
  /** The largest per-second event-loop lag P99 and max seen by the server's own monitor. */
  eventLoopLagP99MsMax?: number;
  eventLoopLagMaxMs?: number;
  dbPool?: { waitingMax?: number; totalMax?: number; max?: number };
  activeConnectionsMax?: number;
  /** Deltas of load-shedding counters, when the server exports any. */
  shed?: Record<string, number>;
}

const delta = (a: Record<string, number>, b: Record<string, number>) => {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d !== 0) out[k] = Math.round(d * 1000) / 1000;
  }
  return out;
};
const maxOf = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
};
const r3 = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 1000) / 1000);

/** Figures over a series of points (the first is "before", the last "after"). */
export function serverFigures(points: Point[], reason?: string): ServerFigures {
  if (points.length < 2) return { available: false, reason: reason ?? 'fewer than two /metrics scrapes', scrapes: points.length };
  const first = points[0]!;
  const last = points.at(-1)!;
  const byStatus = delta(first.requestsByStatus, last.requestsByStatus);
  const hits = delta(first.cacheHits, last.cacheHits);
  const misses = delta(first.cacheMisses, last.cacheMisses);
  const byType: Record<string, { hits: number; misses: number; hitRate: number | null }> = {};
  for (const k of new Set([...Object.keys(hits), ...Object.keys(misses)])) {
    const h = hits[k] ?? 0;
    const m = misses[k] ?? 0;
    byType[k] = { hits: h, misses: m, hitRate: h + m > 0 ? r3(h / (h + m))! : null };
  }
  // The readiness cache is consulted by every /metrics scrape (ours included): it is listed by type but
  // left out of the overall rate, which is about the caches the load itself uses.
  const counted = (o: Record<string, number>) => Object.entries(o).filter(([k]) => k !== 'readiness').reduce((a, [, v]) => a + v, 0);
  const totalHits = counted(hits);
  const totalMisses = counted(misses);
  const wall = (last.at - first.at) / 1000;
  const cpu = first.cpuSeconds !== undefined && last.cpuSeconds !== undefined ? last.cpuSeconds - first.cpuSeconds : undefined;
  const inner = points; // gauges: the peak over every scrape, the one before the run included
  const shed = delta(first.shed, last.shed);
  return {
    available: true, scrapes: points.length,
    requests: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus },
    cache: { hits: totalHits, misses: totalMisses, hitRate: totalHits + totalMisses > 0 ? r3(totalHits / (totalHits + totalMisses))! : null, byType },
    ...(cpu !== undefined ? { cpuSeconds: r3(cpu), cpuCores: wall > 0 ? r3(cpu / wall) : undefined } : {}),
    memory: { rssBytesBefore: first.rssBytes, rssBytesMax: maxOf(inner.map((p) => p.rssBytes)), rssBytesAfter: last.rssBytes, heapUsedBytesMax: maxOf(inner.map((p) => p.heapUsedBytes)) },
    eventLoopLagP99MsMax: r3(maxOf(inner.map((p) => p.eventLoopLagP99Ms))),
    eventLoopLagMaxMs: r3(maxOf(inner.map((p) => p.eventLoopLagMaxMs))),
    dbPool: { waitingMax: maxOf(inner.map((p) => p.dbPoolWaiting)), totalMax: maxOf(inner.map((p) => p.dbPoolTotal)), max: last.dbPoolMax },
    activeConnectionsMax: maxOf(inner.map((p) => p.activeConnections)),
    ...(Object.keys(shed).length ? { shed } : {}),
  };
}

/** A resource that ran out, and when (seconds from the start of the run) it was first seen to. */
export interface ResourceSignal {
  resource: string;
  detail: string;
  firstSeenAtSeconds: number;
}

export interface ClientSecond {
  t: number;
  statuses: Record<string, number>;
}

/**
 * Which resource gave out first: each signal's first crossing, in the server's samples (database pool
 * clients waiting, event-loop lag, a busy CPU, load shedding, 503/429/5xx counts) and in what the load
 * generator saw (timeouts, socket errors). Sorted earliest first.
 */
export function resourceSignals(points: Point[], origin: number, client: ClientSecond[], limits: { eventLoopLagMs: number; cpuCores: number }): ResourceSignal[] {
  const seen = new Map<string, ResourceSignal>();
  const note = (resource: string, t: number, detail: string) => {
    const prev = seen.get(resource);
    if (!prev || t < prev.firstSeenAtSeconds) seen.set(resource, { resource, detail, firstSeenAtSeconds: Math.max(0, Math.round(t * 10) / 10) });
  };
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    const prev = points[i - 1]!;
    const t = (p.at - origin) / 1000;
    if ((p.dbPoolWaiting ?? 0) > 0) note('database pool', t, `${p.dbPoolWaiting} queries waiting for one of ${p.dbPoolMax ?? '?'} connections`);
    if ((p.eventLoopLagP99Ms ?? 0) > limits.eventLoopLagMs) note('event loop', t, `event-loop lag P99 ${p.eventLoopLagP99Ms!.toFixed(1)} ms (limit ${limits.eventLoopLagMs} ms)`);
    const wall = (p.at - prev.at) / 1000;
    if (p.cpuSeconds !== undefined && prev.cpuSeconds !== undefined && wall > 0) {
      const cores = (p.cpuSeconds - prev.cpuSeconds) / wall;
      if (cores >= limits.cpuCores) note('CPU', t, `the server process used ${cores.toFixed(2)} cores`);
    }
    const d = delta(prev.requestsByStatus, p.requestsByStatus);
    const shed = delta(prev.shed, p.shed);
    if (Object.keys(shed).length) note('load shedding', t, `the server shed load: ${Object.entries(shed).map(([k, v]) => `${k} +${v}`).join(', ')}`);
    if ((d['503'] ?? 0) > 0) note('capacity (503)', t, `${d['503']} answers 503 in a second (load shedding or a saturated pool, with Retry-After)`);
    if ((d['429'] ?? 0) > 0) note('rate limits (429)', t, `${d['429']} answers 429: a limit, not a capacity problem`);
    const other5xx = Object.entries(d).filter(([k]) => /^5\d\d$/.test(k) && k !== '503').reduce((a, [, v]) => a + v, 0);
    if (other5xx > 0) note('server errors (5xx)', t, `${other5xx} answers 5xx other than 503`);
  }
  for (const s of client) {
    const timeouts = s.statuses.timeout ?? 0;
    if (timeouts > 0) note('timeouts', s.t, `${timeouts} requests without an answer in time`);
    const sockets = Object.entries(s.statuses).filter(([k]) => !/^\d+$/.test(k) && k !== 'timeout' && k !== 'not_sent').reduce((a, [, v]) => a + v, 0);
    if (sockets > 0) note('connections', s.t, `${sockets} socket errors (${Object.keys(s.statuses).filter((k) => !/^\d+$/.test(k)).join(', ')})`);
  }
  return [...seen.values()].sort((a, b) => a.firstSeenAtSeconds - b.firstSeenAtSeconds);
}
