// The overview of a period for a set of accounts: posts published, their figures in total, per network and
// per day (days in a named time zone), follower growth, and each against the period just before of the same
// number of days. Read from account_post_rollups (posts and their latest figures per quarter hour of
// publishing, kept by the database as figures arrive) and account_snapshots (followers per UTC day): a
// handful of index reads per account, whatever the number of posts (docs/ANALYTICS.md, Overview).
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Db } from '../../infra/db/client.ts';
import { Invalid, NotFound } from '../../domain/errors.ts';
import { startOfDay } from '../../shared/time.ts';
import type { MetricsRange } from './service.ts';
import { PostPerformance, type PostRow } from './performance.ts';

/** A figure in the period, in the one before, and the difference (null where either is unknown). */
export interface Change {
  current: number | null;
  previous: number | null;
  change: number | null;
  /** The change as a percentage of the previous figure, one decimal; null when that is 0 or unknown. */
  changePct: number | null;
}

const FIGURES = ['posts', 'likes', 'reposts', 'replies', 'impressions', 'engagement'] as const;
type FigureName = (typeof FIGURES)[number];
type Sums = { posts: number } & Record<Exclude<FigureName, 'posts'>, number | null>;

export interface Overview {
  from: string;
  to: string;
  timeZone: string;
  previous: { from: string; to: string };
  accounts: { accountId: string; provider: string; username: string }[];
  totals: Record<FigureName, Change>;
  networks: ({ provider: string } & Record<FigureName, Change>)[];
  followers: {
    /** Summed over the accounts that have counts on both ends of the period. */
    growth: Change;
    accounts: { accountId: string; provider: string; first: number | null; last: number | null; growth: Change }[];
  };
  days: ({ date: string } & Sums)[];
  /** Per account: its posts' figures, against the period before. */
  byAccount: ({ accountId: string; provider: string } & Record<FigureName, Change>)[];
  /** Per label carried by a post of either period: its posts' figures, against the period before. */
  byLabel: ({ labelId: string; name: string; color: string } & Record<FigureName, Change>)[];
  /** The 7 × 24 weekday-hour cells of publishing in timeZone (ISO weekday, 1 = Monday). */
  byWeekdayHour: ({ weekday: number; hour: number } & Sums)[];
  /** The period's posts with the most and the least engagement, among those that report it. */
  top: PostRow[];
  bottom: PostRow[];
  generatedAt: string;
}

/** Posts in the overview's top and bottom lists. */
export const EXTREMES = 5;

/** Accounts one overview may name. */
export const MAX_OVERVIEW_ACCOUNTS = 100;

const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** A rollup row's sums: a figure no post reported is null; engagement is likes + reposts + replies as reported. */
function sums(r: Record<string, unknown> | undefined): Sums {
  const f = (k: string) => (r && n(r[`${k}_n`]) > 0 ? n(r[k]) : null);
  const likes = f('likes');
  const reposts = f('reposts');
  const replies = f('replies');
  const engagement = likes === null && reposts === null && replies === null ? null : (likes ?? 0) + (reposts ?? 0) + (replies ?? 0);
  return { posts: r ? n(r.posts) : 0, likes, reposts, replies, impressions: f('impressions'), engagement };
}

export function change(current: number | null, previous: number | null): Change {
  const diff = current !== null && previous !== null ? current - previous : null;
  return { current, previous, change: diff, changePct: diff !== null && previous ? Math.round((diff / previous) * 1000) / 10 : null };
}

/** The period of the same number of days that ends the day before `range` starts, in the same zone. */
export function previousPeriod(range: MetricsRange): { from: string; to: string; start: Date; end: Date } {
  const first = DateTime.fromISO(range.from, { zone: 'utc' });
  const from = first.minus({ days: range.days.length }).toFormat('yyyy-MM-dd');
  const to = first.minus({ days: 1 }).toFormat('yyyy-MM-dd');
  return { from, to, start: startOfDay(from, range.timeZone), end: range.start };
}

export class AnalyticsOverview {
  private readonly performance: PostPerformance;

  constructor(private readonly d: { db: Db; clock?: () => Date }) {
    this.performance = new PostPerformance({ db: d.db });
  }

  /** The workspace's accounts named (all of them when none is), each checked to be the workspace's. */
  private async accounts(workspaceId: string, ids: string[] | undefined): Promise<{ accountId: string; provider: string; username: string }[]> {
    if (ids && ids.length > MAX_OVERVIEW_ACCOUNTS) {
      throw new Invalid('VALIDATION_FAILED', `At most ${MAX_OVERVIEW_ACCOUNTS} accounts in one overview; ask for fewer.`, [{ field: 'querystring.accounts', message: 'too many' }]);
    }
    // Named accounts are read by key and put in order here (at most MAX_OVERVIEW_ACCOUNTS rows); all of them in
    // the order of the workspace's index.
    const res = await this.d.db.execute<Record<string, unknown>>(ids
      ? sql`select id, provider, username from social_accounts where id in ${ids} and workspace_id = ${workspaceId}`
      : sql`select id, provider, username from social_accounts where workspace_id = ${workspaceId} order by provider, username, id limit 10000`);
    const found = res.rows.map((r) => ({ accountId: String(r.id), provider: String(r.provider), username: String(r.username) }));
    if (ids) found.sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : a.username < b.username ? -1 : a.username > b.username ? 1 : a.accountId < b.accountId ? -1 : 1));
    if (ids) {
      const missing = ids.filter((id) => !found.some((a) => a.accountId === id));
      if (missing.length > 0) throw new NotFound('NOT_FOUND', `No such account in this workspace: ${missing.join(', ')}.`);
    }
    return found;
  }

  async overview(workspaceId: string, range: MetricsRange, accountIds?: string[]): Promise<Overview> {
    const ids = accountIds ? [...new Set(accountIds)] : undefined;
    const accounts = await this.accounts(workspaceId, ids);
    const prev = previousPeriod(range);
    const list = accounts.map((a) => a.accountId);
    const base = {
      from: range.from, to: range.to, timeZone: range.timeZone, previous: { from: prev.from, to: prev.to }, accounts,
      generatedAt: (this.d.clock?.() ?? new Date()).toISOString(),
    };
    if (list.length === 0) {
      const none = Object.fromEntries(FIGURES.map((k) => [k, change(k === 'posts' ? 0 : null, k === 'posts' ? 0 : null)])) as Record<FigureName, Change>;
      return {
        ...base, totals: none, networks: [], followers: { growth: change(null, null), accounts: [] }, days: range.days.map((date) => ({ date, ...sums(undefined) })),
        byAccount: [], byLabel: [], byWeekdayHour: weekHours(new Map()), top: [], bottom: [],
      };
    }
    const ids_ = sql`array[${sql.join(list.map((id) => sql`${id}::uuid`), sql`, `)}]`;
    const columns = sql`sum(posts) as posts, sum(likes) as likes, sum(likes_n) as likes_n, sum(reposts) as reposts, sum(reposts_n) as reposts_n,
      sum(replies) as replies, sum(replies_n) as replies_n, sum(impressions) as impressions, sum(impressions_n) as impressions_n`;
    const inPeriod = (start: Date, end: Date) => sql`workspace_id = ${workspaceId} and account_id = any(${ids_}) and bucket >= ${start}::timestamptz and bucket < ${end}::timestamptz`;

    const byNetwork = async (start: Date, end: Date) => {
      const res = await this.d.db.execute<Record<string, unknown>>(sql`select provider, ${columns} from account_post_rollups where ${inPeriod(start, end)} group by provider`);
      return new Map(res.rows.map((r) => [String(r.provider), r]));
    };
    const [now, before] = [await byNetwork(range.start, range.end), await byNetwork(prev.start, prev.end)];
    const providers = [...new Set([...accounts.map((a) => a.provider)])].sort();
    const networks = providers.map((provider) => {
      const c = sums(now.get(provider));
      const p = sums(before.get(provider));
      return { provider, ...Object.fromEntries(FIGURES.map((k) => [k, change(c[k], p[k])])) } as { provider: string } & Record<FigureName, Change>;
    });
    const total = (m: Map<string, Record<string, unknown>>) => {
      const acc: Record<string, number> = {};
      for (const r of m.values()) for (const [k, v] of Object.entries(r)) if (k !== 'provider') acc[k] = (acc[k] ?? 0) + n(v);
      return m.size > 0 ? sums(acc) : sums(undefined);
    };
    const [tc, tp] = [total(now), total(before)];
    const totals = Object.fromEntries(FIGURES.map((k) => [k, change(tc[k], tp[k])])) as Record<FigureName, Change>;

    // Each quarter hour's local day in the zone, by PostgreSQL's own zone rules (23- and 25-hour days included).
    const dayRes = await this.d.db.execute<Record<string, unknown>>(sql`
      select to_char(bucket at time zone ${range.timeZone}, 'YYYY-MM-DD') as day, ${columns}
      from account_post_rollups where ${inPeriod(range.start, range.end)} group by 1`);
    const byDay = new Map(dayRes.rows.map((r) => [String(r.day), r]));
    const days = range.days.map((date) => ({ date, ...sums(byDay.get(date)) }));

    const growthOf = async (from: string, to: string) => {
      const res = await this.d.db.execute<Record<string, unknown>>(sql`
        select a.id, f.followers as first, l.followers as last from unnest(${ids_}) as a(id)
        left join lateral (select followers from account_snapshots s where s.account_id = a.id and s.day between ${from}::date and ${to}::date
          and s.followers is not null order by s.day asc limit 1) f on true
        left join lateral (select followers from account_snapshots s where s.account_id = a.id and s.day between ${from}::date and ${to}::date
          and s.followers is not null order by s.day desc limit 1) l on true`);
      return new Map(res.rows.map((r) => [String(r.id), { first: r.first === null ? null : n(r.first), last: r.last === null ? null : n(r.last) }]));
    };
    const [gNow, gBefore] = [await growthOf(range.from, range.to), await growthOf(prev.from, prev.to)];
    const grow = (g: { first: number | null; last: number | null } | undefined) => (g && g.first !== null && g.last !== null ? g.last - g.first : null);
    const followerAccounts = accounts.map((a) => {
      const g = gNow.get(a.accountId);
      return { accountId: a.accountId, provider: a.provider, first: g?.first ?? null, last: g?.last ?? null, growth: change(grow(g), grow(gBefore.get(a.accountId))) };
    });
    const sumOf = (vals: (number | null)[]) => (vals.some((v) => v !== null) ? vals.reduce<number>((s, v) => s + (v ?? 0), 0) : null);
    const growth = change(sumOf(followerAccounts.map((a) => a.growth.current)), sumOf(followerAccounts.map((a) => a.growth.previous)));

    const byAccountOf = async (start: Date, end: Date) => {
      const res = await this.d.db.execute<Record<string, unknown>>(sql`select account_id, ${columns} from account_post_rollups where ${inPeriod(start, end)} group by account_id`);
      return new Map(res.rows.map((r) => [String(r.account_id), r]));
    };
    const [accNow, accBefore] = [await byAccountOf(range.start, range.end), await byAccountOf(prev.start, prev.end)];
    const byAccount = accounts.map((a) => {
      const c = sums(accNow.get(a.accountId));
      const p = sums(accBefore.get(a.accountId));
      return { accountId: a.accountId, provider: a.provider, ...Object.fromEntries(FIGURES.map((k) => [k, change(c[k], p[k])])) } as { accountId: string; provider: string } & Record<FigureName, Change>;
    });

    // By label: the period's published targets (post_performance rows) summed per label their post carries.
    // Driven by the period's rows (a range on the workspace's date index), each post's labels looked up by
    // its key (OFFSET 0 keeps the planner from turning that round), the labels' names read after.
    const byLabelOf = async (start: Date, end: Date) => {
      const res = await this.d.db.execute<Record<string, unknown>>(sql`
        select pl.label_id, count(*) as posts, sum(p.likes) as likes, count(p.likes) as likes_n, sum(p.reposts) as reposts, count(p.reposts) as reposts_n,
          sum(p.replies) as replies, count(p.replies) as replies_n, sum(p.impressions) as impressions, count(p.impressions) as impressions_n
        from post_performance p
        cross join lateral (select l.label_id from post_labels l where l.post_id = p.post_id offset 0) pl
        where p.workspace_id = ${workspaceId} and p.published_at >= ${start}::timestamptz and p.published_at < ${end}::timestamptz
          ${ids ? sql`and p.account_id = any(${ids_})` : sql``}
        group by pl.label_id`);
      return new Map(res.rows.map((r) => [String(r.label_id), r]));
    };
    const [labNow, labBefore] = [await byLabelOf(range.start, range.end), await byLabelOf(prev.start, prev.end)];
    const labelIds = [...new Set([...labNow.keys(), ...labBefore.keys()])];
    const names = labelIds.length === 0 ? new Map<string, Record<string, unknown>>() : new Map((await this.d.db.execute<Record<string, unknown>>(sql`
      select id, name, color from labels where workspace_id = ${workspaceId} and id in ${labelIds}`)).rows.map((r) => [String(r.id), r]));
    const byLabel = labelIds.filter((id) => names.has(id)).map((id) => {
      const r = names.get(id)!;
      const c = sums(labNow.get(id));
      const p = sums(labBefore.get(id));
      return { labelId: id, name: String(r.name), color: String(r.color), ...Object.fromEntries(FIGURES.map((k) => [k, change(c[k], p[k])])) } as { labelId: string; name: string; color: string } & Record<FigureName, Change>;
    }).sort((a, b) => a.name.localeCompare(b.name) || a.labelId.localeCompare(b.labelId));

    // Each quarter hour's local weekday and hour, by PostgreSQL's zone rules: an hour a DST change skips
    // holds nothing, an hour it repeats holds both.
    const hourRes = await this.d.db.execute<Record<string, unknown>>(sql`
      select extract(isodow from bucket at time zone ${range.timeZone})::int as weekday, extract(hour from bucket at time zone ${range.timeZone})::int as hour, ${columns}
      from account_post_rollups where ${inPeriod(range.start, range.end)} group by 1, 2`);
    const byWeekdayHour = weekHours(new Map(hourRes.rows.map((r) => [`${Number(r.weekday)}:${Number(r.hour)}`, r])));

    // Named accounts, or (when none is named) the whole workspace, which its engagement index serves directly.
    const scope = { range, accountIds: ids ? list : undefined };
    const [top, bottom] = [await this.performance.extremes(workspaceId, scope, 'top', EXTREMES), await this.performance.extremes(workspaceId, scope, 'bottom', EXTREMES)];

    return { ...base, totals, networks, followers: { growth, accounts: followerAccounts }, days, byAccount, byLabel, byWeekdayHour, top, bottom };
  }
}

function weekHours(cells: Map<string, Record<string, unknown>>): ({ weekday: number; hour: number } & Sums)[] {
  const out: ({ weekday: number; hour: number } & Sums)[] = [];
  for (let weekday = 1; weekday <= 7; weekday++) for (let hour = 0; hour < 24; hour++) out.push({ weekday, hour, ...sums(cells.get(`${weekday}:${hour}`)) });
  return out;
}
