// Analytics: the overview of a period for a set of accounts (figures against the period before, charts of
// engagement per day, followers, networks and weekday × hour, the top and bottom posts), an account's best
// times to post, the post table with its sorts and each post's growth curve, the CSV exports, and the clicks
// on the workspace's short links (docs/LINKS.md). Every figure comes from the public API (docs/ANALYTICS.md);
// every chart has its numbers as a table.
import { useState } from 'preact/hooks';
import { api, download, getAll } from '../api.ts';
import { setQuery, useLocation } from '../router.ts';
import { addDays, dateTime, excerpt, today } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { Account, AccountList, AnalyticsLabel, ReportSchedule, ReportScheduleList, BestTimes, Change, LinkClicks, LinkOverview, Overview, OverviewTable, Paged, PostPerformance, PostRowPerf, PostSort, ShortLink, Snapshots } from '../types.ts';
import { ChartFrame, Heatmap, num, TimeChart, WEEKDAY_SHORT } from '../charts.tsx';
import { Button, Dialog, Empty, ErrorNote, ExternalLink, Link, Loading, Page, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';

const PRESETS: [string, string][] = [['7', 'Last 7 days'], ['28', 'Last 28 days'], ['90', 'Last 90 days'], ['custom', 'Custom']];
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

interface Period { from: string; to: string; preset: string }

/** The period in the viewer's zone: a preset ending today, or the custom days asked for. */
function periodOf(search: URLSearchParams, zone: string): Period {
  const preset = search.get('period') ?? '28';
  const to = today(zone);
  if (preset === 'custom') {
    const f = search.get('from') ?? '';
    const t = search.get('to') ?? '';
    if (DAY_RE.test(f) && DAY_RE.test(t)) return { preset, from: f, to: t };
    return { preset, from: addDays(to, -27), to };
  }
  const n = ['7', '28', '90'].includes(preset) ? Number(preset) : 28;
  return { preset: String(n), from: addDays(to, -(n - 1)), to };
}

const pct = (p: number | null) => (p === null ? '' : `${p > 0 ? '+' : ''}${(p * 100).toLocaleString(undefined, { maximumFractionDigits: 1 })} %`);
const rate = (r: number | null) => (r === null ? '—' : `${(r * 100).toLocaleString(undefined, { maximumFractionDigits: 2 })} %`);
const signed = (n: number | null) => (n === null ? '—' : `${n > 0 ? '+' : ''}${num(n)}`);
const shortDay = (d: string) => new Date(`${d}T12:00:00Z`).toLocaleDateString(undefined, { timeZone: 'UTC', day: 'numeric', month: 'short' });

export function Analytics() {
  const { can } = useApp();
  if (!can('analytics.read')) {
    return <Page title="Analytics"><Empty>Your role in this workspace does not include seeing analytics. Ask an owner or admin.</Empty></Page>;
  }
  return <AnalyticsScreen />;
}

function AnalyticsScreen() {
  const { workspace, zone } = useApp();
  const loc = useLocation();
  const period = periodOf(loc.search, zone);
  const chosen = (loc.search.get('accounts') ?? '').split(',').filter(Boolean);
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const list = accounts.data?.accounts ?? [];

  return (
    <Page title="Analytics" actions={<Exports period={period} chosen={chosen} />}>
      <PeriodPicker period={period} zone={zone} />
      {accounts.error ? <ErrorNote error={accounts.error} retry={accounts.reload} /> : null}
      {accounts.data && list.length === 0 && <Empty>No accounts connected yet: connect one under Accounts, and its figures appear here once posts are published and collected.</Empty>}
      {list.length > 0 && (
        <>
          <AccountPicker accounts={list} chosen={chosen} />
          <OverviewSection period={period} chosen={chosen} accounts={list} />
          <BestTimesSection accounts={list} />
          <PostTable period={period} accounts={list} />
          <ScheduledReports chosen={chosen} accounts={list} />
        </>
      )}
      {!accounts.data && !accounts.error && <Loading />}
      {accounts.data && <LinkClicksSection period={period} />}
    </Page>
  );
}

function PeriodPicker({ period, zone }: { period: Period; zone: string }) {
  const [from, setFrom] = useState(period.from);
  const [to, setTo] = useState(period.to);
  return (
    <div class="analytics-controls">
      <div class="filters" role="group" aria-label="Period">
        {PRESETS.map(([v, l]) => (
          <button key={v} type="button" class="chip" aria-pressed={period.preset === v}
            onClick={() => setQuery(v === 'custom' ? { period: v, from: period.from, to: period.to } : { period: v, from: undefined, to: undefined })}>{l}</button>
        ))}
      </div>
      {period.preset === 'custom' && (
        <form class="row wrap" onSubmit={(e) => { e.preventDefault(); if (from && to) setQuery({ period: 'custom', from: from <= to ? from : to, to: from <= to ? to : from }); }}>
          <label>From <input type="date" value={from} max={to} onInput={(e) => setFrom(e.currentTarget.value)} required /></label>
          <label>To <input type="date" value={to} min={from} onInput={(e) => setTo(e.currentTarget.value)} required /></label>
          <button type="submit" class="button button-small">Show</button>
        </form>
      )}
      <p class="hint">{shortDay(period.from)} – {shortDay(period.to)}, days in {zone}. Follower counts are per UTC day, as the networks report them.</p>
    </div>
  );
}

function AccountPicker({ accounts, chosen }: { accounts: Account[]; chosen: string[] }) {
  const { networks } = useApp();
  const toggle = (id: string, on: boolean) => {
    const next = on ? [...chosen, id] : chosen.filter((x) => x !== id);
    setQuery({ accounts: next.join(',') || undefined });
  };
  return (
    <fieldset class="account-picker">
      <legend>Accounts <span class="hint">({chosen.length === 0 ? 'all' : `${chosen.length} of ${accounts.length}`})</span></legend>
      <div class="choices-inline">
        {accounts.map((a) => (
          <span key={a.id} class="check">
            <input type="checkbox" id={`acc-${a.id}`} checked={chosen.includes(a.id)} onChange={(e) => toggle(a.id, e.currentTarget.checked)} />
            <label for={`acc-${a.id}`}>{providerName(networks, a.provider)} {a.username}</label>
          </span>
        ))}
        {chosen.length > 0 && <button type="button" class="link-button" onClick={() => setQuery({ accounts: undefined })}>All accounts</button>}
      </div>
    </fieldset>
  );
}

// ---------- exports ----------

const OVERVIEW_TABLES: [OverviewTable, string][] = [
  ['totals', 'Totals'], ['networks', 'By network'], ['accounts', 'By account'], ['labels', 'By label'],
  ['days', 'Per day'], ['hours', 'By weekday and hour'], ['top', 'Top posts'], ['bottom', 'Bottom posts'],
];

function Exports({ period, chosen }: { period: Period; chosen: string[] }) {
  const { workspace, zone } = useApp();
  const [table, setTable] = useState<OverviewTable>('totals');
  const [run, busy] = useAction();
  const q = { from: period.from, to: period.to, timeZone: zone };
  return (
    <div class="row wrap">
      <Button small busy={busy} onClick={() => run(() => download(wsPath(workspace, '/analytics/posts.csv'), { ...q, account: chosen.length === 1 ? chosen[0] : undefined }), (n) => `Downloaded ${n}.`)}>Download posts (CSV)</Button>
      <label class="visually-hidden" for="overview-table">Overview table to download</label>
      <select id="overview-table" value={table} onChange={(e) => setTable(e.currentTarget.value as OverviewTable)}>
        {OVERVIEW_TABLES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
      </select>
      <Button small busy={busy} onClick={() => run(() => download(wsPath(workspace, '/analytics/overview.csv'), { ...q, table, accounts: chosen.join(',') || undefined }), (n) => `Downloaded ${n}.`)}>Download overview (CSV)</Button>
      <Button small busy={busy} onClick={() => run(() => download(wsPath(workspace, '/analytics/report.html'), { ...q, accounts: chosen.join(',') || undefined }), (n) => `Downloaded ${n}.`)}>Report (HTML)</Button>
      <Button small busy={busy} onClick={() => run(() => download(wsPath(workspace, '/analytics/report.pdf'), { ...q, accounts: chosen.join(',') || undefined }), (n) => `Downloaded ${n}.`)}>PDF</Button>
    </div>
  );
}

// ---------- scheduled reports ----------

/** The workspace's scheduled reports; owners and admins add one for the accounts ticked above, in the viewer's zone. */
function ScheduledReports({ chosen, accounts }: { chosen: string[]; accounts: Account[] }) {
  const { workspace, zone, can } = useApp();
  const path = wsPath(workspace, '/analytics/report-schedules');
  const list = useLoad(() => getAll<ReportScheduleList>(path, 'items'), [workspace.id]);
  const [cadence, setCadence] = useState<ReportSchedule['cadence']>('weekly');
  const [recipients, setRecipients] = useState('');
  const [run, busy] = useAction();
  const manage = can('analytics.manage');
  const names = (ids: string[] | null) => (ids === null ? 'All accounts' : ids.map((id) => accounts.find((a) => a.id === id)?.username ?? id).join(', '));
  const add = async (e: Event) => {
    e.preventDefault();
    const ok = await run(() => api.post<ReportSchedule>(path, { cadence, recipients: recipients.split(/[\s,;]+/).filter(Boolean), timeZone: zone, accounts: chosen.length > 0 ? chosen : null }), 'Scheduled report saved.');
    if (ok) {
      setRecipients('');
      list.reload();
    }
  };
  const remove = async (id: string) => {
    await run(() => api.del(`${path}/${id}`), 'Scheduled report deleted.');
    list.reload();
  };
  const items = list.data?.items ?? [];
  return (
    <section aria-labelledby="scheduled-title" class="analytics-section">
      <h2 id="scheduled-title">Scheduled reports</h2>
      <p class="hint">The report of each past week (Monday to Sunday) or month, mailed as a page with the PDF attached.</p>
      {list.error ? <ErrorNote error={list.error} retry={list.reload} /> : null}
      {list.data && items.length === 0 && <Empty>No scheduled report yet.</Empty>}
      {items.length > 0 && (
        <div class="table-scroll">
          <table class="table table-compact">
            <thead><tr><th scope="col">Every</th><th scope="col">Mailed to</th><th scope="col">Accounts</th><th scope="col">Days in</th><th scope="col">Last mailed</th>{manage && <th scope="col"><span class="visually-hidden">Actions</span></th>}</tr></thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{s.cadence === 'weekly' ? 'Week' : 'Month'}</td><td>{s.recipients.join(', ')}</td><td>{names(s.accounts)}</td><td>{s.timeZone}</td>
                  <td>{s.lastMailed ? `${s.lastMailed.from} – ${s.lastMailed.to}` : 'Not yet'}</td>
                  {manage && <td><Button small busy={busy} onClick={() => remove(s.id)}>Delete</Button></td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {manage && (
        <form class="row wrap" onSubmit={add}>
          <label>Every <select value={cadence} onChange={(e) => setCadence(e.currentTarget.value as ReportSchedule['cadence'])}><option value="weekly">week</option><option value="monthly">month</option></select></label>
          <label>Mail to <input type="text" value={recipients} placeholder="a@example.com, b@example.com" onInput={(e) => setRecipients(e.currentTarget.value)} required /></label>
          <button type="submit" class="button button-small" disabled={busy}>Schedule report</button>
          <span class="hint">For {chosen.length === 0 ? 'all accounts' : `the ${chosen.length} ticked`}, days in {zone}.</span>
        </form>
      )}
    </section>
  );
}

// ---------- overview ----------

const CARDS: [keyof Overview['totals'], string][] = [['posts', 'Posts published'], ['engagement', 'Engagement'], ['likes', 'Likes'], ['reposts', 'Reposts'], ['replies', 'Replies'], ['impressions', 'Impressions']];

function ChangeLine({ c }: { c: Change }) {
  if (c.previous === null || c.change === null) return <span class="hint">no figure for the period before</span>;
  const dir = c.change > 0 ? 'up' : c.change < 0 ? 'down' : 'flat';
  return <span class={`change change-${dir}`}>{signed(c.change)}{c.changePct !== null ? ` (${pct(c.changePct)})` : ''} <span class="hint">vs {num(c.previous)} before</span></span>;
}

function OverviewSection({ period, chosen, accounts }: { period: Period; chosen: string[]; accounts: Account[] }) {
  const { workspace, zone, networks } = useApp();
  const key = chosen.join(',');
  const o = useLoad(() => api.get<Overview>(wsPath(workspace, '/analytics/overview'), { query: { from: period.from, to: period.to, timeZone: zone, accounts: key || undefined } }),
    [workspace.id, period.from, period.to, zone, key]);
  if (o.error) return <ErrorNote error={o.error} retry={o.reload} />;
  if (!o.data) return <Loading label="Reading the overview…" />;
  const d = o.data;
  const nothing = (d.totals.posts.current ?? 0) === 0;
  return (
    <section aria-labelledby="overview-title" class="analytics-section">
      <h2 id="overview-title">Overview</h2>
      <ul class="stat-cards" aria-label="Figures of the period">
        {CARDS.map(([k, label]) => (
          <li key={k} class="card stat-card">
            <span class="stat-label">{label}</span>
            <span class="stat-value">{num(d.totals[k].current)}</span>
            <ChangeLine c={d.totals[k]} />
          </li>
        ))}
        <li class="card stat-card">
          <span class="stat-label">Follower growth</span>
          <span class="stat-value">{signed(d.followers.growth.current)}</span>
          <ChangeLine c={d.followers.growth} />
        </li>
      </ul>
      <p class="hint">Against {shortDay(d.previous.from)} – {shortDay(d.previous.to)}. Engagement = likes + reposts + replies as each network reports them; a dash is a figure no network of the set reports.</p>
      {nothing && <Empty>No posts were published in this period on {chosen.length ? 'these accounts' : 'your accounts'} yet, so there are no post figures to chart. Follower counts are below when the networks give them.</Empty>}
      <div class="chart-grid">
        {!nothing && (
          <ChartFrame title="Engagement per day" note={`By day of publishing, in ${d.timeZone}.`} table={
            <NumbersTable head={['Day', 'Posts', 'Engagement', 'Likes', 'Reposts', 'Replies', 'Impressions']}
              rows={d.days.map((x) => [x.date, num(x.posts), num(x.engagement), num(x.likes), num(x.reposts), num(x.replies), num(x.impressions)])} />
          }>
            <TimeChart kind="bar" unit="interactions" xTitle="Day" labels={d.days.map((x) => shortDay(x.date))} series={[{ name: 'Engagement', values: d.days.map((x) => x.engagement) }]}
              describe={`Engagement per day from ${shortDay(d.from)} to ${shortDay(d.to)}: ${num(d.totals.engagement.current)} in all.`} />
          </ChartFrame>
        )}
        <FollowersChart period={period} accounts={chosen.length ? accounts.filter((a) => chosen.includes(a.id)) : accounts} />
        {!nothing && (
          <ChartFrame title="Engagement by network" note="Against the period before." table={
            <NumbersTable head={['Network', 'Posts', 'Engagement', 'Before', 'Change']}
              rows={d.networks.map((n) => [providerName(networks, n.provider), num(n.posts.current), num(n.engagement.current), num(n.engagement.previous), `${signed(n.engagement.change)} ${pct(n.engagement.changePct)}`])} />
          }>
            <TimeChart kind="bar" unit="interactions" xTitle="Network" labels={d.networks.map((n) => providerName(networks, n.provider))}
              series={[{ name: 'This period', values: d.networks.map((n) => n.engagement.current) }, { name: 'Period before', values: d.networks.map((n) => n.engagement.previous) }]}
              describe={`Engagement per network: ${d.networks.map((n) => `${providerName(networks, n.provider)} ${num(n.engagement.current)}`).join(', ')}.`} />
          </ChartFrame>
        )}
        {!nothing && (
          <ChartFrame title="By weekday and hour of publishing" note={`Engagement of the posts published in each hour, in ${d.timeZone}.`} table={
            <NumbersTable head={['Weekday', 'Hour', 'Posts', 'Engagement']}
              rows={d.byWeekdayHour.filter((c) => c.posts > 0).map((c) => [WEEKDAY_SHORT[c.weekday - 1]!, `${String(c.hour).padStart(2, '0')}:00`, num(c.posts), num(c.engagement)])} />
          }>
            <Heatmap describe="Engagement by weekday and hour of publishing."
              cell={(w, h) => {
                const c = d.byWeekdayHour.find((x) => x.weekday === w && x.hour === h);
                return c && c.posts > 0 ? { value: c.engagement ?? 0, text: `${num(c.posts)} post${c.posts === 1 ? '' : 's'}, engagement ${num(c.engagement)}` } : { value: null, text: 'No posts' };
              }} />
          </ChartFrame>
        )}
      </div>
      {!nothing && (
        <div class="chart-grid">
          <PostList title="Top posts" rows={d.top} empty="No post of the period reports engagement yet." />
          <PostList title="Bottom posts" rows={d.bottom} empty="No post of the period reports engagement yet." />
        </div>
      )}
    </section>
  );
}

function NumbersTable({ head, rows }: { head: string[]; rows: string[][] }) {
  if (rows.length === 0) return <p class="hint">No numbers.</p>;
  return (
    <div class="table-scroll">
      <table class="table table-compact">
        <thead><tr>{head.map((h) => <th key={h} scope="col">{h}</th>)}</tr></thead>
        <tbody>{rows.map((r, i) => <tr key={i}>{r.map((c, j) => (j === 0 ? <th key={j} scope="row">{c}</th> : <td key={j} class="num">{c}</td>))}</tr>)}</tbody>
      </table>
    </div>
  );
}

function FollowersChart({ period, accounts }: { period: Period; accounts: Account[] }) {
  const { workspace, networks } = useApp();
  const ids = accounts.map((a) => a.id).join(',');
  const snaps = useLoad(() => Promise.all(accounts.map((a) => getAll<Snapshots>(wsPath(workspace, `/accounts/${a.id}/snapshots`), 'items', { query: { from: period.from, to: period.to } }))),
    [workspace.id, ids, period.from, period.to]);
  if (snaps.error) return <ErrorNote error={snaps.error} retry={snaps.reload} />;
  if (!snaps.data) return <Loading label="Reading follower counts…" />;
  const withCounts = snaps.data.filter((s) => s.items.some((i) => i.followers !== null));
  if (withCounts.length === 0) {
    const why = snaps.data.map((s) => s.collection.reason).find(Boolean);
    return (
      <div class="card chart">
        <h3>Followers</h3>
        <Empty>No follower counts in this period yet. AllIN reads each account's counts once a day{why ? `; ${why}` : '; some networks give none'}.</Empty>
      </div>
    );
  }
  const days: string[] = [];
  for (let d = period.from; d <= period.to; d = addDays(d, 1)) days.push(d);
  const name = (s: Snapshots) => {
    const a = accounts.find((x) => x.id === s.accountId);
    return `${providerName(networks, s.provider)} ${a?.username ?? ''}`.trim();
  };
  const series = withCounts.map((s) => {
    const by = new Map(s.items.map((i) => [i.day, i.followers]));
    return { name: name(s), values: days.map((d) => by.get(d) ?? null) };
  });
  return (
    <ChartFrame title="Followers" note="Each account's followers at the end of each UTC day." table={
      <NumbersTable head={['Day (UTC)', ...series.map((s) => s.name)]} rows={days.map((d, i) => [d, ...series.map((s) => num(s.values[i]))])} />
    }>
      <TimeChart kind="line" fromZero={false} unit="followers" xTitle="Day" labels={days.map(shortDay)} series={series}
        describe={`Followers per day: ${series.map((s) => `${s.name} from ${num(s.values.find((v) => v !== null))} to ${num([...s.values].reverse().find((v) => v !== null))}`).join('; ')}.`} />
    </ChartFrame>
  );
}

function PostList({ title, rows, empty }: { title: string; rows: PostRowPerf[]; empty: string }) {
  const { networks, zone } = useApp();
  return (
    <div class="card">
      <h3>{title}</h3>
      {rows.length === 0 ? <p class="hint">{empty}</p> : (
        <ol class="rank-list" aria-label={title}>
          {rows.map((r) => (
            <li key={r.targetId}>
              <span class="grow">{excerpt(r.text, 80)}</span>
              <span class="meta">{providerName(networks, r.provider)} {r.username} · {dateTime(r.publishedAt, zone)} · engagement <strong>{num(r.engagement)}</strong>{r.engagementRate !== null ? `, rate ${rate(r.engagementRate)}` : ''}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

// ---------- best times ----------

function BestTimesSection({ accounts }: { accounts: Account[] }) {
  const { workspace, networks } = useApp();
  const loc = useLocation();
  const picked = loc.search.get('bestTimes');
  const account = accounts.find((a) => a.id === picked) ?? accounts[0]!;
  const bt = useLoad(() => api.get<BestTimes>(wsPath(workspace, `/analytics/accounts/${account.id}/best-times`)), [workspace.id, account.id]);
  const zoneWords = (b: BestTimes) => (b.timeZoneSource === 'posting_schedule' ? `${b.timeZone}, the account's posting schedule's zone` : b.timeZoneSource === 'default_utc' ? 'UTC (the account has no posting schedule zone)' : b.timeZone);
  return (
    <section aria-labelledby="best-times-title" class="analytics-section">
      <h2 id="best-times-title">Best time to post</h2>
      <div class="field field-inline">
        <label for="best-times-account">Account</label>
        <select id="best-times-account" value={account.id} onChange={(e) => setQuery({ bestTimes: e.currentTarget.value })}>
          {accounts.map((a) => <option key={a.id} value={a.id}>{providerName(networks, a.provider)} {a.username}</option>)}
        </select>
      </div>
      {bt.error ? <ErrorNote error={bt.error} retry={bt.reload} /> : null}
      {!bt.data && !bt.error && <Loading label="Reading the account's history…" />}
      {bt.data && !bt.data.enough && (
        <Empty>
          Not enough data yet: a heatmap needs at least {bt.data.rule.minPosts} posts at least {bt.data.rule.minAgeDays} days old that report engagement;
          this account has {bt.data.posts} in the last weeks, so {bt.data.needed} more are needed.
        </Empty>
      )}
      {bt.data?.enough && bt.data.cells && (() => {
        const b = bt.data;
        const cells = b.cells!;
        const cellAt = (w: number, h: number) => cells.find((c) => c.weekday === w && c.hour === h);
        return (
          <ChartFrame title={`Mean engagement per post, by weekday and hour (${b.timeZone})`}
            note={<>From {b.posts} posts published {dateTime(b.from)} – {dateTime(b.to)}, in {zoneWords(b)}. Mean {num(b.mean, 1)} per post. A cell needs {b.rule.minCellPosts} posts for a mean; each has its 95 % interval: a wide one says little.</>}
            table={<NumbersTable head={['Weekday', 'Hour', 'Posts', 'Mean engagement', '95 % interval', 'Against the usual']}
              rows={cells.filter((c) => c.posts > 0).map((c) => [WEEKDAY_SHORT[c.weekday - 1]!, `${String(c.hour).padStart(2, '0')}:00`, num(c.posts), num(c.mean, 1),
                c.low === null ? 'too few posts' : `${num(c.low, 1)} – ${num(c.high, 1)}`, c.index === null ? '—' : `${num(c.index, 2)}×`])} />}>
            <Heatmap describe={`Best times to post for ${account.username}: mean engagement per post by weekday and hour.`}
              cell={(w, h) => {
                const c = cellAt(w, h);
                if (!c || c.posts === 0) return { value: null, text: 'No posts' };
                if (c.mean === null) return { value: null, text: `${c.posts} post${c.posts === 1 ? '' : 's'}: too few for a mean` };
                return { value: c.mean, text: `mean ${num(c.mean, 1)} (95 %: ${num(c.low, 1)} – ${num(c.high, 1)}) from ${c.posts} posts${c.index !== null ? `, ${num(c.index, 2)}× the usual` : ''}` };
              }} />
          </ChartFrame>
        );
      })()}
    </section>
  );
}

// ---------- post table ----------

const COLUMNS: [PostSort, string][] = [['publishedAt', 'Published'], ['likes', 'Likes'], ['reposts', 'Reposts'], ['replies', 'Replies'], ['impressions', 'Impressions'], ['engagement', 'Engagement'], ['engagementRate', 'Rate']];

function PostTable({ period, accounts }: { period: Period; accounts: Account[] }) {
  const { workspace, zone, networks } = useApp();
  const loc = useLocation();
  const sort = (COLUMNS.find(([k]) => k === loc.search.get('sort'))?.[0] ?? 'publishedAt');
  const order = loc.search.get('order') === 'asc' ? 'asc' : 'desc';
  const label = loc.search.get('label') ?? '';
  const account = loc.search.get('account') ?? '';
  const [open, setOpen] = useState<PostRowPerf | null>(null);
  const labels = useLoad(() => getAll<Paged<'items', AnalyticsLabel>>(wsPath(workspace, '/labels'), 'items'), [workspace.id]);
  const rows = usePages((cursor) => api.get<{ items: PostRowPerf[]; nextCursor: string | null }>(wsPath(workspace, '/analytics/posts'), {
    query: { from: period.from, to: period.to, timeZone: zone, sort, order, label: label || undefined, account: account || undefined, limit: 50, cursor },
  }), [workspace.id, period.from, period.to, zone, sort, order, label, account]);
  const sortBy = (k: PostSort) => setQuery({ sort: k, order: k === sort && order === 'desc' ? 'asc' : 'desc' });

  return (
    <section aria-labelledby="posts-title" class="analytics-section">
      <h2 id="posts-title">Posts</h2>
      <div class="row wrap filters">
        <label>Account <select value={account} onChange={(e) => setQuery({ account: e.currentTarget.value || undefined })}>
          <option value="">All accounts</option>
          {accounts.map((a) => <option key={a.id} value={a.id}>{providerName(networks, a.provider)} {a.username}</option>)}
        </select></label>
        <label>Label <select value={label} onChange={(e) => setQuery({ label: e.currentTarget.value || undefined })}>
          <option value="">Any label</option>
          {(labels.data?.items ?? []).map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
        </select></label>
      </div>
      {rows.first.error ? <ErrorNote error={rows.first.error} retry={rows.first.reload} /> : null}
      {rows.first.loading && !rows.first.data && <Loading />}
      {rows.first.data && rows.items.length === 0 && <Empty>No published posts {label ? 'with this label ' : ''}in this period yet.</Empty>}
      {rows.items.length > 0 && (
        <div class="table-scroll">
          <table class="table table-compact" aria-label="Published posts and their latest figures">
            <thead>
              <tr>
                <th scope="col">Post</th>
                <th scope="col">Account</th>
                {COLUMNS.map(([k, l]) => (
                  <th key={k} scope="col" aria-sort={k === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined} class={k === 'publishedAt' ? '' : 'num'}>
                    <button type="button" class="sort-button" onClick={() => sortBy(k)}>{l}<span aria-hidden="true">{k === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span></button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.items.map((r) => (
                <tr key={r.targetId}>
                  <td><button type="button" class="link-button" onClick={() => setOpen(r)} aria-haspopup="dialog">{excerpt(r.text, 60)}</button>
                    {r.labels.length > 0 && <div class="meta">{r.labels.map((l) => l.name).join(', ')}</div>}</td>
                  <td>{providerName(networks, r.provider)} {r.username}</td>
                  <td>{dateTime(r.publishedAt, zone)}</td>
                  <td class="num">{num(r.likes)}</td>
                  <td class="num">{num(r.reposts)}</td>
                  <td class="num">{num(r.replies)}</td>
                  <td class="num">{num(r.impressions)}</td>
                  <td class="num">{num(r.engagement)}</td>
                  <td class="num">{rate(r.engagementRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows.loadMore && <Button busy={rows.loadingMore} onClick={rows.loadMore}>Load more</Button>}
      <Dialog open={open !== null} title="Growth of the post" onClose={() => setOpen(null)}>
        {open && <PostCurve row={open} />}
      </Dialog>
    </section>
  );
}

const age = (h: number) => (h < 48 ? `+${num(h, 1)} h` : `+${num(h / 24, 1)} d`);

function PostCurve({ row }: { row: PostRowPerf }) {
  const { workspace, networks } = useApp();
  const p = useLoad(() => api.get<PostPerformance>(wsPath(workspace, `/analytics/posts/${row.postId}`)), [workspace.id, row.postId]);
  if (p.error) return <ErrorNote error={p.error} retry={p.reload} />;
  if (!p.data) return <Loading />;
  const t = p.data.targets.find((x) => x.targetId === row.targetId) ?? p.data.targets[0];
  if (!t) return <Empty>This post has no published target any more.</Empty>;
  const m = t.accountMedian;
  return (
    <div class="post-curve">
      <p class="break">{excerpt(row.text, 200)}</p>
      <p class="meta">{providerName(networks, t.provider)} {row.username}{row.url && <> · <ExternalLink href={row.url}>View on the network</ExternalLink></>}</p>
      <p>
        {m.engagement === null
          ? `No median to compare with: the account has no other post reporting engagement in the ${m.windowDays} days before this one.`
          : `The account's median engagement is ${num(m.engagement, 1)} (${m.posts} posts in the ${m.windowDays} days before this one); this post has ${num(t.latest.engagement)}${m.engagementRatio !== null ? `, ${num(m.engagementRatio, 2)}× the median` : ''}.`}
      </p>
      {t.curve.length === 0 ? <Empty>No figures collected for this post yet: the first are read an hour after publishing.</Empty> : (
        <ChartFrame title="Engagement after publishing" note="Each collection of the post's figures; the dashed line is the account's median." table={
          <NumbersTable head={['Age', 'Collected', 'Likes', 'Reposts', 'Replies', 'Impressions', 'Engagement']}
            rows={t.curve.map((c) => [age(c.ageHours), dateTime(c.collectedAt), num(c.likes), num(c.reposts), num(c.replies), num(c.impressions), num(c.engagement)])} />
        }>
          <TimeChart kind="line" unit="interactions" xTitle="Collection" labels={t.curve.map((c) => age(c.ageHours))} series={[{ name: 'Engagement', values: t.curve.map((c) => c.engagement) }]}
            refLine={m.engagement === null ? null : { value: m.engagement, name: 'Account median' }}
            describe={`Engagement of the post at each collection, from ${num(t.curve[0]!.engagement)} to ${num(t.curve.at(-1)!.engagement)}.`} />
        </ChartFrame>
      )}
    </div>
  );
}

// ---------- link clicks ----------

/**
 * Clicks on the workspace's short links (docs/LINKS.md): the period's clicks by people and fetches by bots in
 * all, per network and per day, then the links themselves, newest first, each opening its clicks per day. Clicks
 * are counted per UTC day, so the period's days are read as UTC days here.
 */
function LinkClicksSection({ period }: { period: Period }) {
  const { workspace, networks } = useApp();
  const o = useLoad(() => api.get<LinkOverview>(wsPath(workspace, '/analytics/links'), { query: { from: period.from, to: period.to } }), [workspace.id, period.from, period.to]);
  const links = usePages((cursor) => api.get<Paged<'items', ShortLink>>(wsPath(workspace, '/links'), { query: { limit: 50, cursor } }), [workspace.id]);
  const [open, setOpen] = useState<ShortLink | null>(null);
  const d = o.data;
  return (
    <section aria-labelledby="links-title" class="analytics-section">
      <h2 id="links-title">Link clicks</h2>
      <p class="hint">Clicks on the short links AllIN put in published posts, {shortDay(period.from)} – {shortDay(period.to)} as UTC days. Bots are link-preview fetchers and crawlers (networks fetch each link for its card); nothing about the people who click is stored.</p>
      {o.error ? <ErrorNote error={o.error} retry={o.reload} /> : null}
      {!d && !o.error && <Loading label="Reading link clicks…" />}
      {links.first.data && links.items.length === 0 && (
        <Empty>No short links yet. With shortening on (<Link href="/settings/links">Settings › Links</Link>), the URLs of posts published from then on become short links, and their clicks appear here.</Empty>
      )}
      {d && links.items.length > 0 && (
        <>
          <ul class="stat-cards" aria-label="Link clicks of the period">
            <li class="card stat-card"><span class="stat-label">Clicks by people</span><span class="stat-value">{num(d.totals.clicks)}</span></li>
            <li class="card stat-card"><span class="stat-label">Fetches by bots</span><span class="stat-value">{num(d.totals.botClicks)}</span></li>
          </ul>
          <div class="chart-grid">
            <ChartFrame title="Link clicks per day" note="UTC days; people and bots apart." table={
              <NumbersTable head={['Day (UTC)', 'People', 'Bots']} rows={d.days.map((x) => [x.date, num(x.clicks), num(x.botClicks)])} />
            }>
              <TimeChart kind="bar" unit="clicks" xTitle="Day" labels={d.days.map((x) => shortDay(x.date))}
                series={[{ name: 'People', values: d.days.map((x) => x.clicks) }, { name: 'Bots', values: d.days.map((x) => x.botClicks) }]}
                describe={`Link clicks per day from ${shortDay(d.from)} to ${shortDay(d.to)}: ${num(d.totals.clicks)} by people and ${num(d.totals.botClicks)} by bots.`} />
            </ChartFrame>
            <div class="card">
              <h3>By network</h3>
              {d.networks.length === 0 ? <p class="hint">No clicks in this period.</p> : (
                <table class="table table-compact" aria-label="Link clicks by network">
                  <thead><tr><th scope="col">Network</th><th scope="col" class="num">People</th><th scope="col" class="num">Bots</th></tr></thead>
                  <tbody>{d.networks.map((n) => <tr key={n.network}><th scope="row">{providerName(networks, n.network)}</th><td class="num">{num(n.clicks)}</td><td class="num">{num(n.botClicks)}</td></tr>)}</tbody>
                </table>
              )}
            </div>
          </div>
        </>
      )}
      {links.first.error ? <ErrorNote error={links.first.error} retry={links.first.reload} /> : null}
      {links.items.length > 0 && (
        <div class="table-scroll">
          <table class="table table-compact" aria-label="Short links and their clicks">
            <thead>
              <tr>
                <th scope="col">Destination</th><th scope="col">Short link</th><th scope="col">Network</th>
                <th scope="col" class="num">People (in all)</th><th scope="col" class="num">Bots (in all)</th><th scope="col"><span class="visually-hidden">Clicks per day</span></th>
              </tr>
            </thead>
            <tbody>
              {links.items.map((l) => (
                <tr key={l.id}>
                  <td class="break"><span title={l.destination}>{excerpt(l.url, 70)}</span>
                    <div class="meta">{l.postId ? <Link href={`/posts/${l.postId}`}>The post</Link> : 'Post deleted'} · made {dateTime(l.createdAt)}</div></td>
                  <td><code>{l.shortUrl.replace(/^https?:\/\//, '')}</code></td>
                  <td>{providerName(networks, l.network)}</td>
                  <td class="num">{num(l.clicks)}</td>
                  <td class="num">{num(l.botClicks)}</td>
                  <td><button type="button" class="link-button" aria-haspopup="dialog" aria-label={`Clicks per day of ${l.shortUrl}`} onClick={() => setOpen(l)}>Per day</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {links.loadMore && <Button busy={links.loadingMore} onClick={links.loadMore}>Load more links</Button>}
      <Dialog open={open !== null} title="Clicks of the link" onClose={() => setOpen(null)}>
        {open && <LinkDays link={open} period={period} />}
      </Dialog>
    </section>
  );
}

function LinkDays({ link, period }: { link: ShortLink; period: Period }) {
  const { workspace, networks } = useApp();
  const c = useLoad(() => api.get<LinkClicks>(wsPath(workspace, `/links/${link.id}/clicks`), { query: { from: period.from, to: period.to } }), [workspace.id, link.id, period.from, period.to]);
  if (c.error) return <ErrorNote error={c.error} retry={c.reload} />;
  if (!c.data) return <Loading />;
  const days = c.data.days;
  const people = days.reduce((a, x) => a + x.clicks, 0);
  const bots = days.reduce((a, x) => a + x.botClicks, 0);
  return (
    <div class="post-curve">
      <p><code>{link.shortUrl}</code> on {providerName(networks, link.network)}</p>
      <p class="meta break">Sends to {link.destination}</p>
      <p>{num(people)} click{people === 1 ? '' : 's'} by people and {num(bots)} by bots from {shortDay(period.from)} to {shortDay(period.to)} (UTC days).</p>
      <ChartFrame title="Clicks per day" note="UTC days." table={
        <NumbersTable head={['Day (UTC)', 'People', 'Bots']} rows={days.map((x) => [x.date, num(x.clicks), num(x.botClicks)])} />
      }>
        <TimeChart kind="bar" unit="clicks" xTitle="Day" labels={days.map((x) => shortDay(x.date))}
          series={[{ name: 'People', values: days.map((x) => x.clicks) }, { name: 'Bots', values: days.map((x) => x.botClicks) }]}
          describe={`Clicks per day on ${link.shortUrl}: ${num(people)} by people, ${num(bots)} by bots.`} />
      </ChartFrame>
    </div>
  );
}
