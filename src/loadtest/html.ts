// `--html FILE`: one self-contained page (no script, no CDN, no font to fetch): the summary, latency over
// time (p50/p99/max per second with the request rate behind), the percentile distribution per endpoint,
// the status codes per endpoint, for stress throughput and latency per step, for agency each route on both
// workspaces. The charts are SVG drawn here by hand; colours follow the reader's light or dark theme.
import type { Report } from './report.ts';
import { fmtBytes, fmtMs, fmtNum, fmtPct } from './report.ts';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
// Endpoint colours (blue and orange stay p50 and p99 in the other charts).
const PALETTE = ['#0ea5e9', '#a855f7', '#10b981', '#ca8a04', '#db2777', '#14b8a6', '#64748b', '#84cc16', '#e11d48', '#6366f1'];

/** 1, 2, 5 × 10^k steps covering [0, max] in about `count` ticks. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

const tickLabel = (v: number, unit: string) => (unit === 'ms' ? (v >= 1000 ? `${+(v / 1000).toFixed(2)} s` : `${+v.toFixed(2)} ms`) : unit === '/s' ? `${fmtNum(v, v > 0 && v < 10 ? 1 : 0)}/s` : `${v}`);

interface Series {
  name: string;
  color: string;
  points: [number, number][];
  width?: number;
  dash?: string;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const frame = (w = 860, h = 300): Frame => ({ w, h, left: 64, right: 64, top: 16, bottom: 40 });

function legend(items: { name: string; color: string; dash?: string; bar?: boolean }[]): string {
  return `<div class="legend">${items.map((i) => `<span><svg width="22" height="10" aria-hidden="true">${i.bar
    ? `<rect x="4" y="0" width="14" height="10" fill="${i.color}" opacity=".55"/>`
    : `<line x1="0" y1="5" x2="22" y2="5" stroke="${i.color}" stroke-width="2.5" ${i.dash ? `stroke-dasharray="${i.dash}"` : ''}/>`}</svg>${esc(i.name)}</span>`).join('')}</div>`;
}

function yAxis(f: Frame, ticks: number[], y: (v: number) => number, unit: string, side: 'left' | 'right' = 'left'): string {
  return ticks.map((t) => {
    const yy = y(t).toFixed(1);
    const grid = side === 'left' ? `<line class="grid" x1="${f.left}" x2="${f.w - f.right}" y1="${yy}" y2="${yy}"/>` : '';
    const x = side === 'left' ? f.left - 8 : f.w - f.right + 8;
    return `${grid}<text class="tick" x="${x}" y="${yy}" dy="0.32em" text-anchor="${side === 'left' ? 'end' : 'start'}">${esc(tickLabel(t, unit))}</text>`;
  }).join('');
}

/** Latency over time: p50, p99 and max per second, the requests per second as bars behind them. */
function timelineChart(r: Report): string {
  const tl = r.timeline;
  if (tl.length === 0) return '<p class="muted">No requests completed.</p>';
  const f = frame();
  const maxT = Math.max(1, tl.length);
  const yMax = Math.max(...tl.map((s) => s.p99), 0.001) * 1.1;
  const maxShown = Math.max(...tl.map((s) => s.max));
  const clipMax = Math.max(yMax, Math.min(maxShown, yMax * 3));
  const yTicks = niceTicks(clipMax);
  const yTop = yTicks.at(-1)!;
  const rTicks = niceTicks(Math.max(...tl.map((s) => s.requests), 1));
  const rTop = rTicks.at(-1)!;
  const x = (t: number) => f.left + ((t + 0.5) / maxT) * (f.w - f.left - f.right);
  const y = (v: number) => f.h - f.bottom - (Math.min(v, yTop) / yTop) * (f.h - f.top - f.bottom);
  const yr = (v: number) => f.h - f.bottom - (v / rTop) * (f.h - f.top - f.bottom);
  const bw = Math.max(1, ((f.w - f.left - f.right) / maxT) * 0.7);
  const bars = tl.map((s) => {
    const ok = s.requests - s.errors;
    const parts = [`<rect class="bar-req" x="${(x(s.t) - bw / 2).toFixed(1)}" y="${yr(s.requests).toFixed(1)}" width="${bw.toFixed(1)}" height="${(yr(0) - yr(s.requests)).toFixed(1)}"><title>${s.t} s: ${s.requests} answers (${ok} ok, ${s.errors} failed), p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)}, max ${fmtMs(s.max)}</title></rect>`];
    if (s.errors > 0) parts.push(`<rect fill="#e11d48" opacity=".7" x="${(x(s.t) - bw / 2).toFixed(1)}" y="${yr(s.errors).toFixed(1)}" width="${bw.toFixed(1)}" height="${(yr(0) - yr(s.errors)).toFixed(1)}"/>`);
    return parts.join('');
  }).join('');
  const withData = tl.filter((s) => s.requests > 0);
  const series: Series[] = [
    { name: 'max', color: '#94a3b8', points: withData.map((s) => [s.t, s.max]), width: 1.2, dash: '3 3' },
    { name: 'p99', color: '#f97316', points: withData.map((s) => [s.t, s.p99]), width: 2.2 },
    { name: 'p50', color: '#2563eb', points: withData.map((s) => [s.t, s.p50]), width: 2.2 },
  ];
  const lines = series.map((s) => polyline(s, (p) => [x(p[0]), y(p[1])])).join('');
  const xTicks = niceTicks(maxT, 8).filter((t) => t <= maxT).map((t) => `<text class="tick" x="${x(t - 0.5).toFixed(1)}" y="${f.h - f.bottom + 18}" text-anchor="middle">${t}s</text>`).join('');
  return `<svg viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="Latency over time">
    ${yAxis(f, yTicks, y, 'ms')}${yAxis(f, rTicks, yr, '/s', 'right')}${bars}${lines}${xTicks}
    <line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}"/>
    ${maxShown > yTop ? `<text class="tick" x="${f.left + 4}" y="${f.top + 10}">max clipped at ${esc(fmtMs(yTop))} (highest ${esc(fmtMs(maxShown))})</text>` : ''}
  </svg>${legend([{ name: 'p50', color: '#2563eb' }, { name: 'p99', color: '#f97316' }, { name: 'max', color: '#94a3b8', dash: '3 3' }, { name: 'answers per second (right axis)', color: 'var(--bar)', bar: true }, { name: 'failed per second', color: '#e11d48', bar: true }])}`;
}

function polyline(s: Series, map: (p: [number, number]) => [number, number]): string {
  if (s.points.length === 0) return '';
  if (s.points.length === 1) {
    const [px, py] = map(s.points[0]!);
    return `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${s.color}"/>`;
  }
  const d = s.points.map((p) => map(p).map((v) => v.toFixed(1)).join(',')).join(' ');
  return `<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}" stroke-linejoin="round" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''} points="${d}"><title>${esc(s.name)}</title></polyline>`;
}

/** The percentile curve: x is 1 / (1 − p) on a log scale (0, 90, 99, 99.9 … evenly apart), y is latency. */
function distributionChart(r: Report): string {
  const names = Object.keys(r.distribution).filter((n) => (r.distribution[n]?.length ?? 0) > 0);
  if (names.length === 0) return '<p class="muted">No latencies recorded.</p>';
  const f = frame(860, 320);
  const xv = (p: number) => Math.log10(1 / Math.max(1e-6, 1 - p / 100));
  const allPts = names.flatMap((n) => r.distribution[n]!.filter((d) => d.percentile < 100));
  const xMax = Math.max(2, Math.ceil(Math.max(...allPts.map((d) => xv(d.percentile)), 0) + 0.3));
  const yTicks = niceTicks(Math.max(...names.flatMap((n) => r.distribution[n]!.map((d) => d.ms)), 0.001) * 1.05);
  const yTop = yTicks.at(-1)!;
  const x = (v: number) => f.left + (Math.min(v, xMax) / xMax) * (f.w - f.left - f.right);
  const y = (v: number) => f.h - f.bottom - (v / yTop) * (f.h - f.top - f.bottom);
  const ordered = ['all', ...names.filter((n) => n !== 'all')];
  const series = ordered.filter((n) => names.includes(n)).map((n, i) => ({
    name: n, color: n === 'all' ? 'var(--fg)' : PALETTE[(i - 1 + PALETTE.length) % PALETTE.length]!, width: n === 'all' ? 2.6 : 1.8,
    // The max is drawn at the right edge.
    points: r.distribution[n]!.map((d) => [d.percentile >= 100 ? xMax : xv(d.percentile), d.ms] as [number, number]),
    dash: n === 'all' ? '6 3' : undefined,
  }));
  const labels = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%', '99.9999%'];
  const xTicks = Array.from({ length: xMax + 1 }, (_, k) => k).map((k) => `<line class="grid" x1="${x(k).toFixed(1)}" x2="${x(k).toFixed(1)}" y1="${f.top}" y2="${f.h - f.bottom}"/><text class="tick" x="${x(k).toFixed(1)}" y="${f.h - f.bottom + 18}" text-anchor="middle">${k === xMax ? 'max' : labels[k] ?? ''}</text>`).join('');
  const lines = series.map((s) => polyline(s as Series, (p) => [x(p[0]), y(p[1])])).join('');
  return `<svg viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="Latency by percentile">
    ${yAxis(f, yTicks, y, 'ms')}${xTicks}${lines}
    <line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}"/>
  </svg>${legend(series.map((s) => ({ name: s.name, color: s.color, ...(s.dash ? { dash: s.dash } : {}) })))}`;
}

function statusColor(code: string): string {
  if (code === '200') return '#10b981';
  if (/^2/.test(code)) return ['#059669', '#34d399', '#047857', '#6ee7b7'][Number(code) % 4]!;
  if (/^3/.test(code)) return '#14b8a6';
  if (code === '429') return '#a855f7';
  if (code === '503') return '#f97316';
  if (/^4/.test(code)) return '#ca8a04';
  if (/^5/.test(code)) return '#e11d48';
  return '#475569';
}

/** One stacked bar per endpoint (and all): the share of each status. */
function statusChart(r: Report): string {
  const rows = [...r.endpoints.map((e) => ({ name: e.name, statuses: e.statuses, n: e.requests })), { name: 'all', statuses: r.summary.statuses, n: r.summary.requests }];
  const codes = [...new Set(rows.flatMap((x) => Object.keys(x.statuses)))].sort();
  const f = { w: 860, left: 290, right: 20, row: 30 };
  const h = rows.length * f.row + 10;
  const width = f.w - f.left - f.right;
  const body = rows.map((row, i) => {
    let acc = 0;
    const yy = 4 + i * f.row;
    const segs = codes.filter((c) => row.statuses[c]).map((c) => {
      const n = row.statuses[c]!;
      const w = (n / Math.max(1, row.n)) * width;
      const seg = `<rect x="${(f.left + acc).toFixed(1)}" y="${yy}" width="${Math.max(0.5, w).toFixed(1)}" height="${f.row - 10}" rx="2" fill="${statusColor(c)}"><title>${esc(row.name)}: ${esc(c)} × ${n} (${((n / row.n) * 100).toFixed(2)}%)</title></rect>${w > 60 ? `<text class="seg" x="${(f.left + acc + w / 2).toFixed(1)}" y="${yy + (f.row - 10) / 2}" dy="0.35em" text-anchor="middle">${esc(c)} · ${fmtNum(n)}</text>` : ''}`;
      acc += w;
      return seg;
    }).join('');
    return `<text class="label" x="${f.left - 10}" y="${yy + (f.row - 10) / 2}" dy="0.35em" text-anchor="end">${esc(row.name)}</text>${segs}`;
  }).join('');
  return `<svg viewBox="0 0 ${f.w} ${h}" role="img" aria-label="Status codes">${body}</svg>${legend(codes.map((c) => ({ name: c, color: statusColor(c), bar: true })))}`;
}

/** Stress: achieved throughput per step (bars) and p50/p95/p99 (lines), the knee marked. */
function stepsChart(r: Report): string {
  const steps = r.stress?.steps ?? [];
  if (steps.length === 0) return '';
  const f = frame(860, 300);
  const n = steps.length;
  const x = (i: number) => f.left + ((i + 0.5) / n) * (f.w - f.left - f.right);
  const rTicks = niceTicks(Math.max(...steps.map((s) => s.achievedRate), 1));
  const lTicks = niceTicks(Math.max(...steps.map((s) => s.latency.p99), 0.001) * 1.1);
  const yr = (v: number) => f.h - f.bottom - (v / rTicks.at(-1)!) * (f.h - f.top - f.bottom);
  const yl = (v: number) => f.h - f.bottom - (v / lTicks.at(-1)!) * (f.h - f.top - f.bottom);
  const bw = ((f.w - f.left - f.right) / n) * 0.5;
  const kneeVus = r.stress?.knee?.vus;
  const bars = steps.map((s, i) => `<rect x="${(x(i) - bw / 2).toFixed(1)}" y="${yr(s.achievedRate).toFixed(1)}" width="${bw.toFixed(1)}" height="${(yr(0) - yr(s.achievedRate)).toFixed(1)}" rx="2" fill="${s.failed ? '#e11d48' : s.vus === kneeVus ? '#10b981' : 'var(--bar)'}" opacity=".75"><title>${s.vus} VUs: ${fmtNum(s.achievedRate, 1)}/s, success ${fmtPct(s.successRate)}, p95 ${fmtMs(s.latency.p95)}${s.failed ? ` — ${s.failed}` : ''}</title></rect>
    <text class="tick" x="${x(i).toFixed(1)}" y="${f.h - f.bottom + 18}" text-anchor="middle">${s.vus} VUs${s.vus === kneeVus ? ' (knee)' : ''}</text>`).join('');
  const line = (name: string, color: string, get: (s: (typeof steps)[number]) => number) => polyline({ name, color, width: 2.2, points: steps.map((s, i) => [i, get(s)]) }, (p) => [x(p[0]), yl(p[1])]);
  return `<svg viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="Throughput and latency per step">
    ${yAxis(f, lTicks, yl, 'ms')}${yAxis(f, rTicks, yr, '/s', 'right')}${bars}
    ${line('p50', '#2563eb', (s) => s.latency.p50)}${line('p95', '#a855f7', (s) => s.latency.p95)}${line('p99', '#f97316', (s) => s.latency.p99)}
    <line class="axis" x1="${f.left}" x2="${f.w - f.right}" y1="${f.h - f.bottom}" y2="${f.h - f.bottom}"/>
  </svg>${legend([{ name: 'achieved/s (right axis)', color: 'var(--bar)', bar: true }, { name: 'knee', color: '#10b981', bar: true }, { name: 'failed its limits', color: '#e11d48', bar: true }, { name: 'p50', color: '#2563eb' }, { name: 'p95', color: '#a855f7' }, { name: 'p99', color: '#f97316' }])}`;
}

const card = (label: string, value: string, note = '', tone = '') => `<div class="card ${tone}"><div class="k">${esc(label)}</div><div class="v">${esc(value)}</div>${note ? `<div class="n">${esc(note)}</div>` : ''}</div>`;

export function renderHtml(r: Report): string {
  const s = r.summary;
  const srv = r.server;
  const tone = s.successRate >= 0.999 ? 'good' : s.successRate >= 0.95 ? 'warn' : 'bad';
  const cards = [
    card('Requests', fmtNum(s.requests), `${fmtNum(s.failed)} failed`),
    card('Success', fmtPct(s.successRate), Object.entries(s.statuses).map(([k, v]) => `${k}×${v}`).join(' '), tone),
    card('Achieved', `${fmtNum(s.achievedRate, 1)}/s`, `offered ${fmtNum(s.offeredRate, 1)}/s`),
    card('P50', fmtMs(s.latency.p50)), card('P95', fmtMs(s.latency.p95)), card('P99', fmtMs(s.latency.p99)),
    card('P99.9', fmtMs(s.latency.p999)), card('Max', fmtMs(s.latency.max)),
  ];
  if (srv.available) {
    if (srv.cache?.hitRate !== null && srv.cache?.hitRate !== undefined) cards.push(card('Cache hit rate', fmtPct(srv.cache.hitRate, 1), `${srv.cache.hits} hits, ${srv.cache.misses} misses`));
    if (srv.cpuCores !== undefined) cards.push(card('Server CPU', `${srv.cpuCores.toFixed(2)} cores`, `${srv.cpuSeconds?.toFixed(1)} CPU-s`));
    cards.push(card('Server RSS max', fmtBytes(srv.memory?.rssBytesMax), `before ${fmtBytes(srv.memory?.rssBytesBefore)}`));
    if (srv.eventLoopLagP99MsMax !== undefined) cards.push(card('Event-loop lag', fmtMs(srv.eventLoopLagP99MsMax), 'worst per-second p99'));
  }
  if (r.open) cards.push(card('Late sends', fmtNum(r.open.late), `> ${r.open.lateMs} ms late of ${fmtNum(r.open.intended)}; worst ${fmtMs(r.open.maxLateMs)}`, r.open.late > 0 ? 'warn' : 'good'));
  if (r.journey) cards.push(card('Journeys', `${r.journey.completed}/${r.journey.journeys}`, `p50 ${fmtMs(r.journey.latency.p50)} each`, r.journey.failed ? 'warn' : 'good'));

  const endpointRows = [...r.endpoints, { name: 'all', requests: s.requests, successRate: s.successRate, achievedRate: s.achievedRate, latency: s.latency, statuses: s.statuses }]
    .map((e) => `<tr${e.name === 'all' ? ' class="total"' : ''}><td>${esc(e.name)}</td><td>${fmtNum(e.requests)}</td><td>${fmtPct(e.successRate)}</td><td>${fmtNum(e.achievedRate, 1)}/s</td>${[e.latency.p50, e.latency.p90, e.latency.p95, e.latency.p99, e.latency.p999, e.latency.max].map((v) => `<td>${fmtMs(v)}</td>`).join('')}<td class="l">${esc(Object.entries(e.statuses).map(([k, v]) => `${k}×${v}`).join(' '))}</td></tr>`).join('');

  const agency = r.agency ? `<section><h2>Largest workspace against the 20-post one</h2>
    <div class="scroll"><table><thead><tr><th class="l">route</th><th>goal P95</th><th>largest p50</th><th>p95</th><th>p99</th><th>req/s</th><th>20 posts p50</th><th>p95</th><th>p99</th><th>req/s</th><th>P95 ratio</th><th class="l">verdict</th></tr></thead><tbody>
    ${r.agency.routes.map((x) => `<tr><td class="l">${esc(x.route)}</td><td>${x.goalP95Ms} ms</td><td>${fmtMs(x.largest.p50)}</td><td>${fmtMs(x.largest.p95)}</td><td>${fmtMs(x.largest.p99)}</td><td>${fmtNum(x.largest.throughput, 1)}</td><td>${fmtMs(x.baseline.p50)}</td><td>${fmtMs(x.baseline.p95)}</td><td>${fmtMs(x.baseline.p99)}</td><td>${fmtNum(x.baseline.throughput, 1)}</td><td>${x.p95Ratio === null ? '?' : `${x.p95Ratio.toFixed(2)}×`}</td><td class="l">${esc(x.verdict)}</td></tr>`).join('')}
    </tbody></table></div>
    <ul class="facts"><li><b>Server memory (RSS) while serving the largest workspace:</b> ${r.agency.rss.largestMaxBytes === null ? '?' : fmtBytes(r.agency.rss.largestMaxBytes)} (${esc(r.agency.rss.verdict)})</li></ul></section>` : '';
  const stress = r.stress ? `<section><h2>Steps</h2>${stepsChart(r)}
    <div class="scroll"><table><thead><tr><th>VUs</th><th>requests</th><th>achieved</th><th>success</th><th>p50</th><th>p95</th><th>p99</th><th>server CPU</th><th>RSS max</th><th>loop lag</th><th>pool waiting</th><th class="l">verdict</th></tr></thead><tbody>
    ${r.stress.steps.map((st) => `<tr><td>${st.vus}</td><td>${fmtNum(st.requests)}</td><td>${fmtNum(st.achievedRate, 1)}/s</td><td>${fmtPct(st.successRate)}</td><td>${fmtMs(st.latency.p50)}</td><td>${fmtMs(st.latency.p95)}</td><td>${fmtMs(st.latency.p99)}</td><td>${st.server.cpuCores?.toFixed(2) ?? '?'}</td><td>${fmtBytes(st.server.memory?.rssBytesMax)}</td><td>${st.server.eventLoopLagP99MsMax !== undefined ? fmtMs(st.server.eventLoopLagP99MsMax) : '?'}</td><td>${st.server.dbPool?.waitingMax ?? '?'}</td><td class="l">${esc(st.failed ?? 'ok')}</td></tr>`).join('')}
    </tbody></table></div>
    <ul class="facts"><li><b>Knee:</b> ${r.stress.knee ? `${r.stress.knee.vus} virtual users, ${fmtNum(r.stress.knee.achievedRate, 1)}/s, p95 ${fmtMs(r.stress.knee.p95)} <span class="muted">(${esc(r.stress.knee.note)})</span>` : 'not found'}</li>
    <li><b>Stopped:</b> ${esc(r.stress.stopReason ?? 'no, every step passed')}</li>
    <li><b>First failing resource:</b> ${r.stress.firstFailingResource ? `${esc(r.stress.firstFailingResource.resource)} at ${r.stress.firstFailingResource.firstSeenAtSeconds} s — ${esc(r.stress.firstFailingResource.detail)}` : 'none seen'}</li>
    ${r.stress.signals.slice(1).map((sg) => `<li class="muted">then ${esc(sg.resource)} at ${sg.firstSeenAtSeconds} s — ${esc(sg.detail)}</li>`).join('')}
    ${r.stress.peakRssBytes !== null ? `<li><b>Peak server memory:</b> ${fmtBytes(r.stress.peakRssBytes)}</li>` : ''}</ul></section>` : '';

  const openSection = r.open ? `<section><h2>Open model</h2><ul class="facts">
    <li>${fmtNum(r.open.sent)} of ${fmtNum(r.open.intended)} requests sent at ${r.open.rate}/s; <b>${fmtNum(r.open.late)}</b> sent more than ${r.open.lateMs} ms after their intended time (worst ${fmtMs(r.open.maxLateMs)}); ${fmtNum(r.open.notSent)} never sent.</li>
    <li>Latency from the intended send time (the figures above): p99 ${fmtMs(s.latency.p99)}, max ${fmtMs(s.latency.max)}. From the actual send, as a closed-loop tool would report it: p99 ${fmtMs(r.open.uncorrectedLatency.p99)}, max ${fmtMs(r.open.uncorrectedLatency.max)}.</li></ul></section>` : '';

  const serverRows = srv.available ? [
    ['requests counted by the server', `${fmtNum(srv.requests?.total ?? 0)} (${Object.entries(srv.requests?.byStatus ?? {}).map(([k, v]) => `${k}×${v}`).join(' ')})`],
    ['cache', srv.cache?.hitRate !== null && srv.cache ? `${fmtPct(srv.cache.hitRate, 1)} hits — ${Object.entries(srv.cache.byType).map(([k, v]) => `${k}: ${v.hits}/${v.hits + v.misses}`).join(', ')}` : 'no lookups'],
    ['CPU', srv.cpuCores !== undefined ? `${srv.cpuCores.toFixed(2)} cores on average (${srv.cpuSeconds?.toFixed(1)} CPU-seconds)` : '?'],
    ['memory (RSS)', `${fmtBytes(srv.memory?.rssBytesBefore)} before, ${fmtBytes(srv.memory?.rssBytesMax)} at most, ${fmtBytes(srv.memory?.rssBytesAfter)} after; heap used at most ${fmtBytes(srv.memory?.heapUsedBytesMax)}`],
    ['event loop', srv.eventLoopLagP99MsMax !== undefined ? `lag p99 at most ${fmtMs(srv.eventLoopLagP99MsMax)}, max ${fmtMs(srv.eventLoopLagMaxMs ?? 0)}` : '?'],
    ['database pool', `${srv.dbPool?.waitingMax ?? '?'} waiting at most; ${srv.dbPool?.totalMax ?? '?'} of ${srv.dbPool?.max ?? '?'} connections open at most`],
    ['open connections', `${srv.activeConnectionsMax ?? '?'} at most`],
    ...(srv.shed ? [['load shed', Object.entries(srv.shed).map(([k, v]) => `${k}: ${v}`).join(', ')]] : []),
  ] : [['/metrics', srv.reason ?? 'not read']];

  const m = r.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>AllIN load test: ${esc(r.scenario)} — ${esc(r.startedAt)}</title>
<style>
:root{--bg:#f8fafc;--panel:#fff;--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--grid:#eef2f7;--bar:#93c5fd;--good:#059669;--warn:#b45309;--bad:#e11d48}
@media (prefers-color-scheme:dark){:root{--bg:#0b1120;--panel:#111827;--fg:#e5e7eb;--muted:#94a3b8;--line:#1f2937;--grid:#1a2333;--bar:#1e3a8a;--good:#34d399;--warn:#fbbf24;--bad:#fb7185}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:960px;margin:0 auto;padding:28px 20px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}
.sub{color:var(--muted);margin:0 0 20px}
section{background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:16px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .n{color:var(--muted);font-size:12px;overflow-wrap:anywhere}.card.good .v{color:var(--good)}.card.warn .v{color:var(--warn)}.card.bad .v{color:var(--bad)}
svg{width:100%;height:auto;display:block}svg text{fill:var(--muted);font-size:11px;font-family:inherit}
svg .label{fill:var(--fg);font-size:12px}svg .seg{fill:#fff;font-size:11px;font-weight:600}
.grid{stroke:var(--grid)}.axis{stroke:var(--muted)}.bar-req{fill:var(--bar);opacity:.55}
.legend{display:flex;flex-wrap:wrap;gap:14px;color:var(--muted);font-size:12px;margin-top:6px}.legend span{display:inline-flex;align-items:center;gap:6px}.legend svg{width:22px;height:10px;display:inline}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}th{color:var(--muted);font-weight:600}
td:first-child,th:first-child,.l{text-align:left}td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:120px}.scroll{overflow-x:auto}tr.total td{font-weight:650}td.l{white-space:normal}
.facts{margin:12px 0 0;padding-left:18px}.muted{color:var(--muted)}
.warnings{border-color:var(--warn)}.warnings li{color:var(--warn)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
pre{overflow:auto;font-size:12px;background:var(--bg);padding:10px;border-radius:8px}
</style></head>
<body><main>
<h1>AllIN load test · ${esc(r.scenario)}</h1>
<p class="sub">${esc(r.target)} · ${esc(r.startedAt)} · ${r.durationSeconds.toFixed(1)} s<br>${esc(r.shape)}</p>
<div class="cards">${cards.join('')}</div>
${r.warnings.length ? `<section class="warnings"><h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
<section><h2>Latency over time</h2>${timelineChart(r)}</section>
<section><h2>Latency by percentile</h2>${distributionChart(r)}</section>
<section><h2>Status codes</h2>${statusChart(r)}</section>
${agency}${stress}${openSection}
<section><h2>Endpoints</h2><div class="scroll"><table><thead><tr><th>endpoint</th><th>requests</th><th>success</th><th>achieved</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th class="l">statuses</th></tr></thead><tbody>${endpointRows}</tbody></table></div></section>
<section><h2>Server (from /metrics)</h2><dl>${serverRows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl></section>
<section><h2>Run</h2><dl>
<dt>scenario</dt><dd>${esc(r.description)}</dd>
<dt>machine</dt><dd>${m.cpus} CPUs (${esc(m.cpuModel)}), ${fmtBytes(m.totalMemoryBytes)}, Node ${esc(m.node)}, ${esc(m.platform)} ${esc(m.arch)} ${esc(m.release)}</dd>
<dt>load generator</dt><dd>${r.generator.cpuCores.toFixed(2)} cores, event-loop delay p99 ${fmtMs(r.generator.eventLoopDelayP99Ms)}${r.generator.busy ? ' (busy: its latencies include its own delays)' : ''}</dd>
<dt>users</dt><dd>${r.users.count} (${esc(r.users.createdVia)}), set-up ${r.users.setupSeconds} s</dd>
<dt>tool</dt><dd>${esc(r.tool.name)} ${esc(r.tool.version)}</dd></dl>
<details><summary class="muted">options</summary><pre>${esc(JSON.stringify(r.options, null, 2))}</pre></details></section>
</main></body></html>
`;
}
