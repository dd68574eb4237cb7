// The report of one `allin loadtest` run: its JSON shape (documented in docs/PERFORMANCE.md; `schema`
// changes only with a new version number) and the terminal table.
import os from 'node:os';
import type { EndpointFigures, LatencySummary, SecondFigures } from './stats.ts';
import type { ResourceSignal, ServerFigures } from './server-metrics.ts';
import type { ScenarioName } from './scenarios.ts';
import type { AgencyReport } from './agency.ts';

export const REPORT_SCHEMA = 'allin-loadtest/1';
export const REPORT_SET_SCHEMA = 'allin-loadtest-set/1';

export interface Machine {
  hostname: string;
  platform: string;
  arch: string;
  release: string;
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  node: string;
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(), platform: os.platform(), arch: os.arch(), release: os.release(),
    cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', totalMemoryBytes: os.totalmem(), node: process.version,
  };
}

export interface StepFigures {
  vus: number;
  seconds: number;
  requests: number;
  successRate: number;
  errorRate: number;
  /** Successful answers per second during the step. */
  achievedRate: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
  server: ServerFigures;
  /** Why this step failed its limits (null: it passed). */
  failed: string | null;
  /** Seconds from the start of the run. */
  startedAtSeconds: number;
  endpoints: { name: string; requests: number; successRate: number; p95: number; p99: number }[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: 'allin loadtest'; version: string };
  scenario: ScenarioName;
  description: string;
  /** The load's shape in words. */
  shape: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  options: Record<string, unknown>;
  machine: Machine;
  users: { count: number; createdVia: 'api' | 'cli' | 'given' | 'none'; setupSeconds: number };
  summary: {
    requests: number;
    ok: number;
    failed: number;
    successRate: number;
    /** open: the configured arrival rate; closed: requests started per second. */
    offeredRate: number;
    /** Successful answers per second. */
    achievedRate: number;
    /** Answers (of any status) per second. */
    throughput: number;
    latency: LatencySummary;
    statuses: Record<string, number>;
    /** Every latency of the run: an HdrHistogram (microseconds) in its compressed V2 encoding, base64. */
    histogram: string;
  };
  endpoints: EndpointFigures[];
  /** One entry per second of the run (by completion time). */
  timeline: SecondFigures[];
  /** Percentile curves, overall ('all') and per endpoint. */
  distribution: Record<string, { percentile: number; ms: number }[]>;
  server: ServerFigures;
  /** The load generator's own load: when it is busy, its latencies include its own delays. */
  generator: { cpuCores: number; eventLoopDelayP99Ms: number; busy: boolean };
  open?: {
    rate: number;
    intended: number;
    sent: number;
    /** Requests sent more than lateMs after their intended time (no free slot, or the generator was late). */
    late: number;
    notSent: number;
    lateMs: number;
    maxLateMs: number;
    /** Latency from the actual send (what a closed-loop tool would report), to compare with the corrected one. */
    uncorrectedLatency: LatencySummary;
  };
  stress?: {
    steps: StepFigures[];
    stopReason: string | null;
    knee: { vus: number; achievedRate: number; p95: number; p99: number; note: string } | null;
    firstFailingResource: ResourceSignal | null;
    signals: ResourceSignal[];
    peakRssBytes: number | null;
  };
  journey?: { journeys: number; completed: number; failed: number; latency: LatencySummary };
  agency?: AgencyReport;
  warnings: string[];
}

export interface ReportSet {
  schema: typeof REPORT_SET_SCHEMA;
  createdAt: string;
  note?: string;
  reports: Report[];
}

// ---------------------------------------------------------------------------------------------- text

export const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`);
export const fmtPct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
export const fmtNum = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const fmtBytes = (b: number | undefined) => (b === undefined ? '?' : b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : `${(b / 1024 ** 2).toFixed(0)} MiB`);
const statusText = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k}×${fmtNum(v)}`).join(' ');

function table(head: string[], rows: string[][], rightFrom = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i >= rightFrom && i < r.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

const latencyCells = (l: LatencySummary) => [fmtMs(l.p50), fmtMs(l.p90), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.p999), fmtMs(l.max)];

export function renderText(r: Report): string {
  const out: string[] = [];
  out.push(`allin loadtest ${r.scenario} → ${r.target}`);
  out.push(`  ${r.shape}`);
  out.push(`  machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${fmtBytes(r.machine.totalMemoryBytes)}, Node ${r.machine.node}, ${r.machine.platform} ${r.machine.arch}`);
  out.push(`  users: ${r.users.count} (${r.users.createdVia === 'none' ? 'none needed' : `made with ${r.users.createdVia === 'cli' ? 'allin users create' : r.users.createdVia === 'api' ? 'the API' : '--user'}`})  started ${r.startedAt}`);
  out.push('');
  const rows = [...r.endpoints, { name: 'all', requests: r.summary.requests, ok: r.summary.ok, successRate: r.summary.successRate, achievedRate: r.summary.achievedRate, latency: r.summary.latency, statuses: r.summary.statuses }]
    .map((e) => [e.name, fmtNum(e.requests), fmtPct(e.successRate), ...latencyCells(e.latency), statusText(e.statuses)]);
  out.push(table(['endpoint', 'requests', 'success', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'statuses'], rows));
  out.push('');
  out.push(`  success ${fmtPct(r.summary.successRate)} (${fmtNum(r.summary.failed)} failed)   achieved ${fmtNum(r.summary.achievedRate, 1)} req/s   offered ${fmtNum(r.summary.offeredRate, 1)} req/s   duration ${r.durationSeconds.toFixed(1)} s`);
  if (r.open) {
    const o = r.open;
    out.push(`  open model: ${fmtNum(o.sent)} of ${fmtNum(o.intended)} sent, ${fmtNum(o.late)} late (> ${o.lateMs} ms after their intended time, worst ${fmtMs(o.maxLateMs)}), ${fmtNum(o.notSent)} never sent`);
    out.push(`  latency from the intended send time (above) vs from the actual send: p99 ${fmtMs(r.summary.latency.p99)} vs ${fmtMs(o.uncorrectedLatency.p99)}, max ${fmtMs(r.summary.latency.max)} vs ${fmtMs(o.uncorrectedLatency.max)}`);
  }
  if (r.journey) {
    const j = r.journey;
    out.push(`  journeys: ${j.completed} of ${j.journeys} completed, ${j.failed} failed; a journey (with think time) p50 ${fmtMs(j.latency.p50)}, p95 ${fmtMs(j.latency.p95)}, max ${fmtMs(j.latency.max)}`);
  }
  if (r.agency) out.push('', ...agencyLines(r.agency));
  if (r.stress) {
    const s = r.stress;
    out.push('');
    out.push(table(['VUs', 'requests', 'achieved/s', 'success', 'p50', 'p95', 'p99', 'max', 'server CPU', 'RSS max', 'loop lag p99', 'pool waiting', 'verdict'],
      s.steps.map((st) => [String(st.vus), fmtNum(st.requests), fmtNum(st.achievedRate, 1), fmtPct(st.successRate), fmtMs(st.latency.p50), fmtMs(st.latency.p95), fmtMs(st.latency.p99), fmtMs(st.latency.max),
        st.server.cpuCores !== undefined ? `${st.server.cpuCores.toFixed(2)} cores` : '?', fmtBytes(st.server.memory?.rssBytesMax), st.server.eventLoopLagP99MsMax !== undefined ? fmtMs(st.server.eventLoopLagP99MsMax) : '?',
        String(st.server.dbPool?.waitingMax ?? '?'), st.failed ?? 'ok']), 0));
    out.push('');
    out.push(s.knee ? `  knee: ${s.knee.vus} virtual users, ${fmtNum(s.knee.achievedRate, 1)} req/s, p95 ${fmtMs(s.knee.p95)}, p99 ${fmtMs(s.knee.p99)} (${s.knee.note})` : '  knee: not found (the first step already failed its limits)');
    out.push(`  stopped: ${s.stopReason ?? 'no (every step passed)'}`);
    out.push(`  first failing resource: ${s.firstFailingResource ? `${s.firstFailingResource.resource} at ${s.firstFailingResource.firstSeenAtSeconds} s: ${s.firstFailingResource.detail}` : 'none seen'}`);
    for (const sig of s.signals.slice(1)) out.push(`    then ${sig.resource} at ${sig.firstSeenAtSeconds} s: ${sig.detail}`);
    if (s.peakRssBytes !== null) out.push(`  peak server memory (RSS): ${fmtBytes(s.peakRssBytes)}`);
  }
  out.push('');
  out.push(serverLine(r.server));
  out.push(`  generator: ${r.generator.cpuCores.toFixed(2)} cores, event-loop delay p99 ${fmtMs(r.generator.eventLoopDelayP99Ms)}`);
  for (const w of r.warnings) out.push(`  ! ${w}`);
  return out.join('\n');
}

/** The agency scenario's table: each route on both workspaces, against the issue's goals. */
export function agencyLines(a: AgencyReport): string[] {
  const cells = (f: AgencyReport['routes'][number]['largest']) => [`${fmtMs(f.p50)} / ${fmtMs(f.p95)} / ${fmtMs(f.p99)}`, fmtNum(f.throughput, 1), f.meanBytes === null ? '?' : fmtSize(f.meanBytes)];
  const out = [
    `  largest: "${a.workspaces.largest.name}" (${a.workspaces.largest.id}); 20 posts: "${a.workspaces.baseline.name}" (${a.workspaces.baseline.id})`,
    ...(a.workspaces.largest.busiestDay && a.workspaces.baseline.busiestDay
      ? [`  the busiest day (of the months read): ${busiest(a.workspaces.largest.busiestDay)} on the largest, ${busiest(a.workspaces.baseline.busiestDay)} on the 20-post one`]
      : []),
    `  goals: P95 ≤ ${a.goals.pageP95Ms} ms for a page or a week, ≤ ${a.goals.monthP95Ms} ms for a month, at most ${a.goals.maxP95Ratio}× the 20-post workspace's; RSS < ${fmtBytes(a.goals.rssBytes)}`,
    '',
    table(['route', 'goal P95', 'largest p50 / p95 / p99', 'req/s', 'size', '20 posts p50 / p95 / p99', 'req/s', 'size', 'P95 ratio', 'verdict'],
      a.routes.map((x) => [x.route, `${x.goalP95Ms} ms`, ...cells(x.largest), ...cells(x.baseline), x.p95Ratio === null ? '?' : `${x.p95Ratio.toFixed(2)}×`, x.verdict])),
    '',
    `  server memory (RSS) while serving the largest workspace: max ${a.rss.largestMaxBytes === null ? '?' : fmtBytes(a.rss.largestMaxBytes)}`
      + ` (the 20-post one: ${a.rss.baselineMaxBytes === null ? '?' : fmtBytes(a.rss.baselineMaxBytes)}): ${a.rss.verdict}`,
  ];
  const missed = a.routes.filter((x) => x.verdict !== 'ok').length;
  out.push(`  ${missed === 0 ? 'every route meets its goals' : `${missed} of ${a.routes.length} routes miss their goals`}`);
  return out;
}

const busiest = (d: { date: string; total: number }) => `${d.date} (${fmtNum(d.total)} targets)`;
const fmtSize = (b: number) => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(0)} KiB` : `${b} B`);

export function serverLine(s: ServerFigures): string {
  if (!s.available) return `  server (/metrics): not read (${s.reason})`;
  const parts = [`${fmtNum(s.requests?.total ?? 0)} requests (${statusText(s.requests?.byStatus ?? {})})`];
  if (s.cache && s.cache.hitRate !== null) {
    const types = Object.entries(s.cache.byType).map(([k, v]) => `${k} ${v.hits}/${v.hits + v.misses}`).join(', ');
    parts.push(`cache hit rate ${fmtPct(s.cache.hitRate, 1)} (${types})`);
  } else parts.push('no cache lookups');
  if (s.cpuCores !== undefined) parts.push(`CPU ${s.cpuCores.toFixed(2)} cores (${s.cpuSeconds?.toFixed(1)} s)`);
  parts.push(`RSS ${fmtBytes(s.memory?.rssBytesBefore)} → max ${fmtBytes(s.memory?.rssBytesMax)}`);
  if (s.eventLoopLagP99MsMax !== undefined) parts.push(`event-loop lag p99 max ${fmtMs(s.eventLoopLagP99MsMax)}`);
  if (s.dbPool?.waitingMax !== undefined) parts.push(`DB pool waiting max ${s.dbPool.waitingMax} (pool ${s.dbPool.max})`);
  if (s.shed) parts.push(`shed ${Object.entries(s.shed).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return `  server (/metrics): ${parts.join(', ')}`;
}
