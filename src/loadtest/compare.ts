// `--compare previous.json`: the deltas between an earlier report and this one, scenario by scenario,
// and whether any passes the threshold. Throughput (successful answers per second) and P50/P95/P99 are
// compared relative to the earlier figure (a latency must also have moved by at least `minDeltaMs`, so
// 0.4 → 0.5 ms is not called a regression); the success rate in percentage points.
import { readFileSync } from 'node:fs';
import { REPORT_SCHEMA, REPORT_SET_SCHEMA, type Report, type ReportSet } from './report.ts';
import { decodeHistogram, encodeHistogram, newHistogram, summarize } from './stats.ts';

export interface CompareOptions {
  /** Relative worsening that counts as a regression (0.1 = 10 %). */
  threshold: number;
  /** Success-rate drop, in percentage points, that counts as a regression. */
  successPoints: number;
  /** Smallest latency change, in ms, that can count as a regression. */
  minDeltaMs: number;
}

export const DEFAULT_COMPARE: CompareOptions = { threshold: 0.1, successPoints: 1, minDeltaMs: 1 };

export interface Delta {
  scenario: string;
  metric: 'throughput' | 'p50' | 'p95' | 'p99' | 'successRate';
  before: number;
  after: number;
  /** Relative change (after / before − 1); for successRate, the change in percentage points. */
  change: number;
  /** The change is in the bad direction. */
  worse: boolean;
  regression: boolean;
}

export interface Comparison {
  deltas: Delta[];
  regressions: Delta[];
  /** Scenarios in one file and not the other, and shapes that differ. */
  notes: string[];
}

export class CompareError extends Error {}

/** Reads a report or a set of reports (what `npm run bench -- loadtest` keeps). */
export function readReports(file: string): Report[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CompareError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return reportsOf(data, file);
}

export function reportsOf(data: unknown, label = 'the input'): Report[] {
  const d = data as { schema?: string; reports?: unknown[] };
  if (d?.schema === REPORT_SCHEMA) return [data as Report];
  if (d?.schema === REPORT_SET_SCHEMA && Array.isArray(d.reports)) return (data as ReportSet).reports;
  throw new CompareError(`${label} is not an allin loadtest report (schema "${REPORT_SCHEMA}" or "${REPORT_SET_SCHEMA}")`);
}

export function compareReports(before: Report[], after: Report[], opts: CompareOptions = DEFAULT_COMPARE): Comparison {
  const deltas: Delta[] = [];
  const notes: string[] = [];
  for (const a of after) {
    const b = before.find((r) => r.scenario === a.scenario);
    if (!b) {
      notes.push(`${a.scenario}: not in the earlier report`);
      continue;
    }
    if (b.shape !== a.shape) notes.push(`${a.scenario}: the load differs (before: ${b.shape}; now: ${a.shape})`);
    const rel = (x: number, y: number) => (x === 0 ? (y === 0 ? 0 : Infinity) : y / x - 1);
    const tBefore = b.summary.achievedRate;
    const tAfter = a.summary.achievedRate;
    const tChange = rel(tBefore, tAfter);
    deltas.push({ scenario: a.scenario, metric: 'throughput', before: tBefore, after: tAfter, change: tChange, worse: tChange < 0, regression: -tChange > opts.threshold });
    for (const m of ['p50', 'p95', 'p99'] as const) {
      const x = b.summary.latency[m];
      const y = a.summary.latency[m];
      const change = rel(x, y);
      deltas.push({ scenario: a.scenario, metric: m, before: x, after: y, change, worse: y > x, regression: change > opts.threshold && y - x >= opts.minDeltaMs });
    }
    const sChange = (a.summary.successRate - b.summary.successRate) * 100;
    deltas.push({ scenario: a.scenario, metric: 'successRate', before: b.summary.successRate, after: a.summary.successRate, change: sChange, worse: sChange < 0, regression: -sChange > opts.successPoints });
  }
  for (const b of before) if (!after.some((a) => a.scenario === b.scenario)) notes.push(`${b.scenario}: in the earlier report only`);
  return { deltas, regressions: deltas.filter((d) => d.regression), notes };
}

export function renderComparison(c: Comparison, opts: CompareOptions = DEFAULT_COMPARE, label = 'previous'): string {
  const out: string[] = [`compared with ${label} (regression: ${(opts.threshold * 100).toFixed(0)}% worse, latency by ≥ ${opts.minDeltaMs} ms; success rate ${opts.successPoints} point${opts.successPoints === 1 ? '' : 's'} lower)`];
  const fmt = (d: Delta, v: number) => (d.metric === 'throughput' ? `${v.toFixed(1)}/s` : d.metric === 'successRate' ? `${(v * 100).toFixed(2)}%` : `${v.toFixed(2)} ms`);
  const rows = c.deltas.map((d) => [
    d.scenario, d.metric === 'successRate' ? 'success' : d.metric, fmt(d, d.before), fmt(d, d.after),
    d.metric === 'successRate' ? `${d.change >= 0 ? '+' : ''}${d.change.toFixed(2)} pt` : Number.isFinite(d.change) ? `${d.change >= 0 ? '+' : ''}${(d.change * 100).toFixed(1)}%` : 'new',
    d.regression ? 'REGRESSION' : d.worse ? 'worse' : 'ok',
  ]);
  const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['scenario', 'metric', 'before', 'now', 'change', ''][i]!.length));
  const line = (r: string[]) => `  ${r.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()}`;
  out.push(line(['scenario', 'metric', 'before', 'now', 'change', '']));
  for (const r of rows) out.push(line(r));
  for (const n of c.notes) out.push(`  note: ${n}`);
  out.push(c.regressions.length ? `  ${c.regressions.length} regression${c.regressions.length === 1 ? '' : 's'}` : '  no regression');
  return out.join('\n');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * One report standing for several runs of the same scenario: the run with the median throughput, with
 * the compared figures (throughput, success rate, p50, p95, p99) replaced by their medians over the runs.
 * A shared machine is noisy; a median of three moves far less than one run.
 */
export function medianReport(runs: Report[]): Report {
  if (runs.length === 1) return runs[0]!;
  const byRate = [...runs].sort((a, b) => a.summary.achievedRate - b.summary.achievedRate);
  const base = structuredClone(byRate[Math.floor(byRate.length / 2)]!);
  const m = (f: (r: Report) => number) => Math.round(median(runs.map(f)) * 1000) / 1000;
  base.summary.achievedRate = m((r) => r.summary.achievedRate);
  base.summary.successRate = m((r) => r.summary.successRate);
  base.summary.latency.p50 = m((r) => r.summary.latency.p50);
  base.summary.latency.p95 = m((r) => r.summary.latency.p95);
  base.summary.latency.p99 = m((r) => r.summary.latency.p99);
  base.warnings = [...base.warnings, `summary figures are medians of ${runs.length} runs: throughput ${runs.map((r) => r.summary.achievedRate).join(', ')}/s; p95 ${runs.map((r) => r.summary.latency.p95).join(', ')} ms; p99 ${runs.map((r) => r.summary.latency.p99).join(', ')} ms`];
  return base;
}

/**
 * Several runs of one scenario as one: their latency histograms added together (so P99 rests on every run's
 * slowest requests, not on one run's few), their requests and statuses summed, throughput as all successful
 * answers over all the time they took. Runs without a histogram fall back to the medians.
 */
export function poolReports(runs: Report[]): Report {
  if (runs.length === 1) return runs[0]!;
  if (runs.some((r) => typeof r.summary.histogram !== 'string')) return medianReport(runs);
  const merged = newHistogram();
  for (const r of runs) merged.add(decodeHistogram(r.summary.histogram));
  const byRate = [...runs].sort((a, b) => a.summary.achievedRate - b.summary.achievedRate);
  const base = structuredClone(byRate[Math.floor(byRate.length / 2)]!);
  const requests = runs.reduce((a, r) => a + r.summary.requests, 0);
  const ok = runs.reduce((a, r) => a + r.summary.ok, 0);
  const seconds = runs.reduce((a, r) => a + (r.summary.achievedRate > 0 ? r.summary.ok / r.summary.achievedRate : r.durationSeconds), 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.summary.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  base.summary = {
    ...base.summary, requests, ok, failed: requests - ok, successRate: requests ? Math.round((ok / requests) * 1e6) / 1e6 : 0,
    achievedRate: seconds > 0 ? Math.round((ok / seconds) * 100) / 100 : 0, latency: summarize(merged), statuses, histogram: encodeHistogram(merged),
  };
  base.warnings = [...base.warnings, `summary figures pool ${runs.length} runs (${requests} requests); per run: throughput ${runs.map((r) => r.summary.achievedRate).join(', ')}/s, p95 ${runs.map((r) => r.summary.latency.p95).join(', ')} ms, p99 ${runs.map((r) => r.summary.latency.p99).join(', ')} ms`];
  return base;
}
