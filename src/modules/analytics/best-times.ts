// Best time to post: from an account's own history, its posts' engagement by weekday and hour of
// publishing in the account's time zone (its posting schedule's, unless another is asked for), with how
// many posts each cell holds and a 95 % interval of its mean. Shown only with enough data: below
// MIN_POSTS posts in the window the answer is "not enough data" and how many more are needed; a cell
// below MIN_CELL_POSTS gives its count but no mean (docs/ANALYTICS.md, *Best time to post*).
import { sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { NotFound } from '../../domain/errors.ts';
import { assertZone } from '../../shared/time.ts';
import { postPerformance as pp } from './schema.ts';

/** Posts with figures the whole heatmap needs. */
export const MIN_POSTS = 30;
/** Posts a cell needs for its mean and interval. */
export const MIN_CELL_POSTS = 3;
/** Posts younger than this are left out: their figures are still growing (the +3 d collection is the third-last). */
export const MIN_AGE_DAYS = 3;
export const DEFAULT_WEEKS = 12;
export const MAX_WEEKS = 104;
const DAY_MS = 86_400_000;

// Student's t, two-sided 95 %, by degrees of freedom (1-30), then the normal value's neighbours.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
export function t95(df: number): number {
  if (df <= 30) return T95[df - 1]!;
  if (df <= 40) return 2.021;
  if (df <= 60) return 2.0;
  if (df <= 120) return 1.98;
  return 1.96;
}

export interface HeatCell {
  /** ISO weekday, 1 = Monday … 7 = Sunday, in timeZone. */
  weekday: number;
  /** Hour of the day, 0-23, in timeZone. */
  hour: number;
  posts: number;
  /** Mean engagement per post; null below MIN_CELL_POSTS. */
  mean: number | null;
  /** 95 % interval of the mean (Student's t); null below MIN_CELL_POSTS. */
  low: number | null;
  high: number | null;
  /** mean ÷ the account's mean over the window (1.2: 20 % above its usual); null below MIN_CELL_POSTS. */
  index: number | null;
}

export type BestTimes = {
  accountId: string;
  provider: string;
  timeZone: string;
  timeZoneSource: 'asked' | 'posting_schedule' | 'default_utc';
  from: string;
  to: string;
  rule: { minPosts: number; minCellPosts: number; minAgeDays: number };
  posts: number;
} & ({ enough: false; needed: number; cells: null; mean: null } | { enough: true; needed: 0; cells: HeatCell[]; mean: number });

const round = (v: number, places = 2) => Math.round(v * 10 ** places) / 10 ** places;

export class BestTimesService {
  constructor(private readonly d: { db: Db; clock?: () => Date }) {}

  async heatmap(workspaceId: string, accountId: string, q: { weeks?: number | undefined; timeZone?: string | undefined }): Promise<BestTimes> {
    if (q.timeZone) assertZone(q.timeZone, 'querystring.timeZone');
    const acc = await this.d.db.execute<{ provider: string; zone: string | null }>(sql`
      select a.provider, s.time_zone as zone from social_accounts a left join posting_schedules s on s.account_id = a.id
      where a.id = ${accountId} and a.workspace_id = ${workspaceId}`);
    const row = acc.rows[0];
    if (!row) throw new NotFound('NOT_FOUND', 'No such account in this workspace.');
    const timeZone = q.timeZone ?? row.zone ?? 'UTC';
    const timeZoneSource = q.timeZone ? 'asked' : row.zone ? 'posting_schedule' : 'default_utc';
    const now = this.d.clock?.() ?? new Date();
    const to = new Date(now.getTime() - MIN_AGE_DAYS * DAY_MS);
    const from = new Date(to.getTime() - (q.weeks ?? DEFAULT_WEEKS) * 7 * DAY_MS);
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select extract(isodow from ${pp.publishedAt} at time zone ${timeZone})::int as weekday,
        extract(hour from ${pp.publishedAt} at time zone ${timeZone})::int as hour,
        count(*)::int as posts, avg(${pp.engagement})::float8 as mean, coalesce(stddev_samp(${pp.engagement}), 0)::float8 as sd,
        sum(${pp.engagement})::float8 as total
      from ${pp}
      where ${pp.accountId} = ${accountId} and ${pp.publishedAt} >= ${from.toISOString()}::timestamptz and ${pp.publishedAt} < ${to.toISOString()}::timestamptz
        and ${pp.engagement} is not null
      group by 1, 2`);
    const posts = res.rows.reduce((s, r) => s + Number(r.posts), 0);
    const base = {
      accountId, provider: row.provider, timeZone, timeZoneSource, from: from.toISOString(), to: to.toISOString(),
      rule: { minPosts: MIN_POSTS, minCellPosts: MIN_CELL_POSTS, minAgeDays: MIN_AGE_DAYS }, posts,
    } as const;
    if (posts < MIN_POSTS) return { ...base, enough: false, needed: MIN_POSTS - posts, cells: null, mean: null };
    const overall = res.rows.reduce((s, r) => s + Number(r.total), 0) / posts;
    const byCell = new Map(res.rows.map((r) => [`${Number(r.weekday)}:${Number(r.hour)}`, r]));
    const cells: HeatCell[] = [];
    for (let weekday = 1; weekday <= 7; weekday++) {
      for (let hour = 0; hour < 24; hour++) {
        const r = byCell.get(`${weekday}:${hour}`);
        const count = r ? Number(r.posts) : 0;
        if (count < MIN_CELL_POSTS) {
          cells.push({ weekday, hour, posts: count, mean: null, low: null, high: null, index: null });
          continue;
        }
        const mean = Number(r!.mean);
        const half = t95(count - 1) * (Number(r!.sd) / Math.sqrt(count));
        cells.push({
          weekday, hour, posts: count, mean: round(mean), low: round(Math.max(0, mean - half)), high: round(mean + half),
          index: overall > 0 ? round(mean / overall) : null,
        });
      }
    }
    return { ...base, enough: true, needed: 0, cells, mean: round(overall) };
  }
}
