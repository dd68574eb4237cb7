// The report of a period for a set of accounts: the overview (its figures, each against the period before,
// engagement per day, by network, follower growth, top posts) as one self-contained HTML page (inline CSS and
// SVG, no request leaves the page) or as a PDF (report-pdf.ts). Every figure is the overview's own
// (overview.ts); this file only lays them out. Every string a person or a network wrote is escaped.
import { DateTime } from 'luxon';
import type { WorkspaceService } from '../workspaces/index.ts';
import { assertZone } from '../../shared/time.ts';
import type { AnalyticsOverview, Change, Overview } from './overview.ts';
import { metricsRange } from './service.ts';

export interface Report {
  workspace: string;
  overview: Overview;
}

export interface ReportQuery {
  from?: string | undefined;
  to?: string | undefined;
  /** The zone of the days; the workspace's (its settings) when not given, else UTC. */
  timeZone?: string | undefined;
  accounts?: string[] | undefined;
}

export class AnalyticsReports {
  constructor(private readonly d: { overview: AnalyticsOverview; workspaces: Pick<WorkspaceService, 'get'> }) {}

  async build(workspaceId: string, q: ReportQuery, now: Date): Promise<Report> {
    const ws = await this.d.workspaces.get(workspaceId);
    const own = (ws.settings as Record<string, unknown> | null)?.timeZone;
    const timeZone = q.timeZone ?? (typeof own === 'string' ? own : 'UTC');
    assertZone(timeZone, 'querystring.timeZone');
    const range = metricsRange({ from: q.from, to: q.to, timeZone }, now);
    return { workspace: ws.name, overview: await this.d.overview.overview(workspaceId, range, q.accounts) };
  }
}

/** The file name a report is saved under (no character of the workspace's name, which a person wrote). */
export const reportFileName = (o: Overview, ext: 'html' | 'pdf') => `report-${o.from}-${o.to}.${ext}`;

// ---------- figures as text (shared with the PDF) ----------

const NUM = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
/** A figure; one a network does not report is a dash, never 0. */
export const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : NUM.format(v));
export const signed = (v: number | null): string => (v === null ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${NUM.format(Math.abs(v))}`);
export const changeText = (c: Change): string => (c.change === null ? '—' : `${signed(c.change)}${c.changePct === null ? '' : ` (${signed(c.changePct)} %)`}`);
export const rateText = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(2)} %`);
export const localTime = (iso: string, zone: string): string => DateTime.fromISO(iso).setZone(zone).toFormat('yyyy-MM-dd HH:mm');

export const FIGURE_LABELS = [
  ['posts', 'Posts published'], ['engagement', 'Engagement'], ['likes', 'Likes'], ['reposts', 'Reposts'], ['replies', 'Replies'], ['impressions', 'Impressions'],
] as const;

/** The headline figures in the order the report shows them, follower growth last. */
export function headline(o: Overview): { label: string; change: Change }[] {
  return [...FIGURE_LABELS.map(([k, label]) => ({ label, change: o.totals[k] })), { label: 'Follower growth', change: o.followers.growth }];
}

export const usernameOf = (o: Overview, accountId: string) => o.accounts.find((a) => a.accountId === accountId)?.username ?? accountId;

// ---------- HTML ----------

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };
/** Text for an HTML text node or a quoted attribute. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

interface Series { name: string; color: string; values: (number | null)[] }

/** A bar chart (bars side by side per label) as inline SVG with axes, a title per bar, and a text alternative. */
function barChart(id: string, title: string, unit: string, labels: string[], series: Series[]): string {
  const W = 720;
  const H = 220;
  const left = 56;
  const bottom = 40;
  const top = 12;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const scale = max > 0 ? niceCeil(max) : 1;
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (slot * 0.8) / series.length);
  const y = (v: number) => top + plotH - (v / scale) * plotH;
  const ticks = [0, scale / 2, scale];
  const every = Math.max(1, Math.ceil(labels.length / 10));
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line x1="${left}" x2="${W - 8}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/>`,
      `<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(t))}</text>`);
  }
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const x = left + i * slot + slot * 0.1 + j * barW;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${s.color}"><title>${esc(`${label}, ${s.name}: ${fmt(v)} ${unit}`)}</title></rect>`);
    });
    if (i % every === 0) parts.push(`<text x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${esc(label)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" class="axis"/>`, `<line x1="${left}" x2="${W - 8}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`,
    `<text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`);
  const legend = series.length > 1 ? `<p class="legend">${series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join(' ')}</p>` : '';
  const total = series.map((s) => `${s.name}: ${fmt(s.values.reduce<number>((a, v) => a + (v ?? 0), 0))} ${unit} in all`).join('; ');
  return `<figure><svg id="${id}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" xmlns="http://www.w3.org/2000/svg"><title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(`${title}. ${total}. The table below gives each figure.`)}</desc>${parts.join('')}</svg>${legend}</figure>`;
}

/** The smallest of 1, 2, 5 × 10^k at or above v: round axis ends. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v)!;
}

const table = (caption: string, head: string[], rows: string[][], numericFrom = 1) =>
  `<table><caption>${esc(caption)}</caption><thead><tr>${head.map((h, i) => `<th scope="col"${i >= numericFrom ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.length === 0 ? `<tr><td colspan="${head.length}">Nothing in this period.</td></tr>`
      : rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td${i >= numericFrom ? ' class="n"' : ''}>${esc(c)}</td>`)).join('')}</tr>`).join('')}</tbody></table>`;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0 auto;max-width:960px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-top:16px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:10px}.card b{display:block;font-size:20px}.card span{color:#57606a;font-size:12px}
.up{color:#1a7f37}.down{color:#cf222e}
figure{margin:8px 0}svg{width:100%;height:auto;font-size:11px;fill:#57606a}.grid{stroke:#eaeef2}.axis{stroke:#8c959f}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
table{border-collapse:collapse;width:100%;margin:8px 0 4px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:left;vertical-align:top}.n{text-align:right;font-variant-numeric:tabular-nums}
tbody th{font-weight:normal}.text{max-width:420px;overflow-wrap:anywhere}
footer{margin-top:28px;color:#57606a;font-size:12px}
@media print{body{padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}}`;

const ACCENT = '#0969da';
const PREVIOUS = '#8c959f';

export function reportHtml(r: Report): string {
  const o = r.overview;
  const title = `${r.workspace}: analytics ${o.from} to ${o.to}`;
  const cards = headline(o).map(({ label, change: c }) => {
    const cls = c.change === null || c.change === 0 ? '' : c.change > 0 ? ' up' : ' down';
    return `<div class="card"><span>${esc(label)}</span><b>${esc(fmt(c.current))}</b><span class="${cls.trim()}">${esc(changeText(c))}</span> <span>vs ${esc(fmt(c.previous))}</span></div>`;
  }).join('');
  const summary = table('Figures against the previous period', ['Figure', 'This period', 'Previous period', 'Change', 'Change %'],
    headline(o).map(({ label, change: c }) => [label, fmt(c.current), fmt(c.previous), signed(c.change), c.changePct === null ? '—' : `${signed(c.changePct)} %`]));

  const dayChart = barChart('chart-days', `Engagement per day of publishing (${o.timeZone})`, 'interactions', o.days.map((d) => d.date.slice(5)),
    [{ name: 'Engagement', color: ACCENT, values: o.days.map((d) => d.engagement) }]);
  const dayTable = table('Engagement per day', ['Day', 'Posts', 'Likes', 'Reposts', 'Replies', 'Impressions', 'Engagement'],
    o.days.map((d) => [d.date, fmt(d.posts), fmt(d.likes), fmt(d.reposts), fmt(d.replies), fmt(d.impressions), fmt(d.engagement)]));

  const netChart = barChart('chart-networks', 'Engagement by network, this period and the previous one', 'interactions', o.networks.map((n) => n.provider), [
    { name: `${o.from} to ${o.to}`, color: ACCENT, values: o.networks.map((n) => n.engagement.current) },
    { name: `${o.previous.from} to ${o.previous.to}`, color: PREVIOUS, values: o.networks.map((n) => n.engagement.previous) },
  ]);
  const netTable = table('By network', ['Network', 'Posts', 'Posts before', 'Engagement', 'Engagement before', 'Change', 'Impressions'],
    o.networks.map((n) => [n.provider, fmt(n.posts.current), fmt(n.posts.previous), fmt(n.engagement.current), fmt(n.engagement.previous), changeText(n.engagement), fmt(n.impressions.current)]));

  const followers = table('Followers per account (UTC days)', ['Account', 'Network', 'First', 'Last', 'Growth', 'Growth before'],
    o.followers.accounts.map((a) => [usernameOf(o, a.accountId), a.provider, fmt(a.first), fmt(a.last), signed(a.growth.current), signed(a.growth.previous)]), 2);

  const top = `<table><caption>Top posts by engagement</caption><thead><tr>${['Published', 'Account', 'Text', 'Likes', 'Reposts', 'Replies', 'Impressions', 'Engagement', 'Rate']
    .map((h, i) => `<th scope="col"${i >= 3 ? ' class="n"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${o.top.length === 0
    ? '<tr><td colspan="9">No post of this period reports engagement yet.</td></tr>'
    : o.top.map((p) => `<tr><td>${esc(localTime(p.publishedAt, o.timeZone))}</td><td>${esc(`${p.username} (${p.provider})`)}</td><td class="text">${p.url && /^https?:\/\//i.test(p.url)
      ? `<a href="${esc(p.url)}" rel="noopener noreferrer">${esc(p.text)}</a>` : esc(p.text)}</td>${[p.likes, p.reposts, p.replies, p.impressions, p.engagement].map((v) => `<td class="n">${fmt(v)}</td>`).join('')}<td class="n">${rateText(p.engagementRate)}</td></tr>`).join('')}</tbody></table>`;

  const accounts = o.accounts.length === 0 ? 'no account' : o.accounts.map((a) => `${a.username} (${a.provider})`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<header><h1>${esc(r.workspace)}</h1>
<p class="meta">Analytics from ${esc(o.from)} to ${esc(o.to)} (days in ${esc(o.timeZone)}), against ${esc(o.previous.from)} to ${esc(o.previous.to)}.</p>
<p class="meta">Accounts: ${esc(accounts)}.</p></header>
<main>
<h2>Overview</h2><div class="cards">${cards}</div>${summary}
<h2>Engagement per day</h2>${dayChart}${dayTable}
<h2>By network</h2>${netChart}${netTable}
<h2>Followers</h2>${followers}
<h2>Top posts</h2>${top}
</main>
<footer>Engagement is likes + reposts + replies as each network reports them; a dash is a figure the network does not report (never 0). Follower counts are per UTC day. Generated by AllIN at ${esc(o.generatedAt)}.</footer>
</body></html>
`;
}
