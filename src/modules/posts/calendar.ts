// The calendar view: a workspace's targets between two days, grouped by calendar day in a time zone.
// A target sits on the day it was published, else the day it is due.
//
// Its cost follows the page, not the workspace: each day lists at most `perDay` targets in time order (the
// rest are counted, and paged within the day by a keyset cursor). Everything is read through one index,
// post_targets_calendar_at_idx on (workspace_id, coalesce(published_at, publish_at), id, account_id,
// published_at, publish_at) where state <> 'cancelled': the day counts are index-only scans, and each day's
// first perDay + 1 rows come from the index in order. Only the columns shown are read (a variant's text,
// not the whole variant with its thread), and times are formatted by one cached Intl formatter per zone.
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { keyset } from '../../infra/db/keyset.ts';
import { Invalid } from '../../domain/errors.ts';
import { assertZone, clockIn, startOfDay } from '../../shared/time.ts';

/** The longest range one calendar answer covers (about a quarter). */
const MAX_DAYS = 92;
const DAY_MS = 86_400_000;
export const PER_DAY_DEFAULT = 100;
export const PER_DAY_MAX = 1000;

export interface CalendarEntry {
  postId: string;
  targetId: string;
  accountId: string;
  provider: string;
  state: string;
  at: string;
  localTime: string;
  text: string;
  queued: boolean;
  url: string | null;
  networks: number;
}

export interface CalendarDay {
  date: string;
  /** Targets on this day (with the account filter, that account's), listed or not. */
  total: number;
  /** Pass as `cursor` (with from = to = this day) for the targets after the listed ones; null when none. */
  nextCursor: string | null;
  targets: CalendarEntry[];
}

export interface CalendarQuery {
  accountId?: string;
  perDay?: number;
  cursor?: string;
}

/** The day-time of a target, as the index has it: the same expression, or the index does not serve it. */
const at = sql.raw('coalesce(t.published_at, t.publish_at)');

/** Within a day, targets in (time, id) order; a cursor is where a day's listing stopped (the shared keyset cursor). */
const dayList = keyset('calendar', { at: [at, 'time'], id: [sql.raw('t.id'), 'uuid'] }, 'asc');

/** One array parameter (drizzle would spread a JS array into one parameter per element). */
const pgArray = (xs: string[]) => `{${xs.join(',')}}`;

type Row = {
  day: number;
  id: string;
  post_id: string;
  account_id: string;
  provider: string;
  state: string;
  queued: boolean;
  remote_url: string | null;
  occurrence: number;
  /** The day-time to the microsecond, ISO 8601 in UTC: the cursor's, and (cut to the millisecond) `at`. */
  at_us: string;
  text: string;
};

export class PostCalendar {
  constructor(private readonly d: { db: Db }) {}

  /** Every day from `fromDay` to `toDay` (YYYY-MM-DD, both included) in `zone`, each with its first targets. */
  async days(workspaceId: string, fromDay: string, toDay: string, zone: string, q: CalendarQuery = {}): Promise<{ timeZone: string; days: CalendarDay[] }> {
    assertZone(zone, 'querystring.timeZone');
    const first = Date.parse(`${fromDay}T00:00:00Z`);
    const span = Math.round((Date.parse(`${toDay}T00:00:00Z`) - first) / DAY_MS);
    if (!(span >= 0 && span <= MAX_DAYS)) throw new Invalid('VALIDATION_FAILED', `to must be on or after from, and at most ${MAX_DAYS} days later.`, [{ field: 'querystring.to', message: 'range' }]);
    if (q.cursor !== undefined && fromDay !== toDay) {
      throw new Invalid('VALIDATION_FAILED', 'querystring.cursor pages within one day: give the same day as from and to.', [{ field: 'querystring.cursor', message: 'needs from = to' }]);
    }
    const perDay = q.perDay ?? PER_DAY_DEFAULT;
    const after = q.cursor === undefined ? undefined : dayList.decode(q.cursor);
    // Day boundaries in the zone (a DST day is 23 or 25 hours long): n + 1 instants for n days.
    const dates: string[] = [];
    for (let i = 0; i <= span + 1; i++) dates.push(new Date(first + i * DAY_MS).toISOString().slice(0, 10));
    const bounds = dates.map((d) => startOfDay(d, zone).toISOString());
    dates.pop();

    const account = q.accountId ? sql`and t.account_id = ${q.accountId}` : sql``;
    const totals = await this.countByDay(workspaceId, bounds, account);
    const rows = await this.firstOfEachDay(workspaceId, bounds, perDay + 1, account, after);
    const networks = await this.networksOf(rows);

    const clock = clockIn(zone);
    const days: CalendarDay[] = dates.map((date, i) => ({ date, total: totals[i] ?? 0, nextCursor: null, targets: [] }));
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      const day = days[r.day - 1]!;
      if (day.targets.length === perDay) {
        // The (perDay + 1)th row only says there is more; the cursor is where the listing stopped.
        const last = rows[k - 1]!;
        day.nextCursor = dayList.cursorOf([last.at_us, last.id]);
        continue;
      }
      const ms = Date.parse(r.at_us);
      day.targets.push({
        postId: r.post_id, targetId: r.id, accountId: r.account_id, provider: r.provider, state: r.state,
        at: new Date(ms).toISOString(), localTime: clock(ms), text: r.text, queued: r.queued, url: r.remote_url,
        networks: networks.get(`${r.post_id} ${r.occurrence}`) ?? 1,
      });
    }
    return { timeZone: zone, days };
  }

  /** How many targets each day [bounds[i], bounds[i+1]) holds: one index-only scan over the whole range. */
  private async countByDay(workspaceId: string, bounds: string[], account: SQL): Promise<number[]> {
    const res = await this.d.db.execute<{ day: number; n: number }>(sql`
      select width_bucket(${at}, ${pgArray(bounds)}::timestamptz[]) as day, count(*)::int as n
      from post_targets t
      where t.workspace_id = ${workspaceId} and ${at} >= ${bounds[0]}::timestamptz and ${at} < ${bounds[bounds.length - 1]}::timestamptz
        and t.state <> 'cancelled' ${account}
      group by 1`);
    const totals: number[] = [];
    for (const r of res.rows) totals[r.day - 1] = r.n;
    return totals;
  }

  /**
   * Each day's first `limit` targets in (time, id) order, after the cursor if any: per day, an index scan that
   * stops at `limit`, joined to its post (by primary key) for the text.
   */
  private async firstOfEachDay(workspaceId: string, bounds: string[], limit: number, account: SQL, after?: { at: string; id: string }): Promise<Row[]> {
    const resume = after ? sql`and ${dayList.after(after)}` : sql``;
    const page = await this.d.db.execute<Row>(sql`
      select b.i as day, p.* from (
        select d.i::int as i, d.s, lead(d.s) over (order by d.i) as e from unnest(${pgArray(bounds)}::timestamptz[]) with ordinality as d(s, i)
      ) b cross join lateral (
        select t.id, t.post_id, t.account_id, t.provider, t.state, t.queued, t.remote_url, t.occurrence,
          to_char(${at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_us,
          left(coalesce(t.variant->>'text', posts.text), 280) as text
        from post_targets t join posts on posts.id = t.post_id
        where t.workspace_id = ${workspaceId} and ${at} >= b.s and ${at} < b.e
          and t.state <> 'cancelled' ${account} ${resume}
        order by ${at}, t.id
        limit ${limit}
      ) p
      order by b.i, p.at_us, p.id`);
    return page.rows;
  }

  /**
   * How many networks the same occurrence of each listed post goes to (the calendar offers to move one
   * alone), keyed "postId occurrence": one grouped query over those posts, a separate statement with the ids
   * as an array so that the planner sees how few they are and probes the index (joined to the page in one
   * statement, it was planned as a scan of every target).
   */
  private async networksOf(rows: Row[]): Promise<Map<string, number>> {
    if (rows.length === 0) return new Map();
    const postIds = [...new Set(rows.map((r) => r.post_id))];
    const counted = await this.d.db.execute<{ post_id: string; occurrence: number; n: number }>(sql`
      select post_id, occurrence, count(*)::int as n from post_targets
      where post_id = any(${pgArray(postIds)}::uuid[]) and state <> 'cancelled'
      group by post_id, occurrence`);
    return new Map(counted.rows.map((r) => [`${r.post_id} ${r.occurrence}`, r.n]));
  }
}
