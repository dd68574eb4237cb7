// The calendar view: a workspace's targets between two days, grouped by calendar day in a time zone.
// A target sits on the day it was published, else the day it is due.
import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import { DateTime as Luxon } from 'luxon';
import type { Db } from '../../infra/db/client.ts';
import { Invalid } from '../../domain/errors.ts';
import { assertZone, dayIn, startOfDay } from '../../shared/time.ts';
import { posts, postTargets } from './schema.ts';

/** The longest range one calendar answer covers (about a quarter). */
const MAX_DAYS = 92;

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

export class PostCalendar {
  constructor(private readonly d: { db: Db }) {}

  /** Targets whose time falls in [from, to). */
  async targetsBetween(workspaceId: string, from: Date, to: Date, accountId?: string) {
    const when = sql`coalesce(${postTargets.publishedAt}, ${postTargets.publishAt})`;
    const conds = [eq(postTargets.workspaceId, workspaceId), gte(when, from), lt(when, to), sql`${postTargets.state} <> 'cancelled'`];
    if (accountId) conds.push(eq(postTargets.accountId, accountId));
    // How many networks the same occurrence of the post goes to: the calendar offers to move one alone.
    const networks = sql<number>`(select count(*)::int from post_targets s where s.post_id = ${postTargets.postId} and s.occurrence = ${postTargets.occurrence} and s.state <> 'cancelled')`;
    return this.d.db.select({ target: postTargets, text: posts.text, postStatus: posts.status, networks }).from(postTargets)
      .innerJoin(posts, eq(posts.id, postTargets.postId)).where(and(...conds)).orderBy(asc(when)).limit(5000);
  }

  /** Every day from `fromDay` to `toDay` (YYYY-MM-DD, both included) in `zone`, each with its targets. */
  async days(workspaceId: string, fromDay: string, toDay: string, zone: string, accountId?: string): Promise<{ timeZone: string; days: { date: string; targets: CalendarEntry[] }[] }> {
    assertZone(zone, 'querystring.timeZone');
    const days = Luxon.fromISO(toDay).diff(Luxon.fromISO(fromDay), 'days').days;
    if (days < 0 || days > MAX_DAYS) throw new Invalid('VALIDATION_FAILED', `to must be on or after from, and at most ${MAX_DAYS} days later.`, [{ field: 'querystring.to', message: 'range' }]);
    const from = startOfDay(fromDay, zone);
    const to = startOfDay(Luxon.fromISO(toDay).plus({ days: 1 }).toFormat('yyyy-MM-dd'), zone);
    const rows = await this.targetsBetween(workspaceId, from, to, accountId);
    const byDay = new Map<string, CalendarEntry[]>();
    for (let c = Luxon.fromISO(fromDay); c <= Luxon.fromISO(toDay); c = c.plus({ days: 1 })) byDay.set(c.toFormat('yyyy-MM-dd'), []);
    for (const r of rows) {
      const at = r.target.publishedAt ?? r.target.publishAt!;
      byDay.get(dayIn(at, zone))?.push({
        postId: r.target.postId, targetId: r.target.id, accountId: r.target.accountId, provider: r.target.provider, state: r.target.state,
        at: at.toISOString(), localTime: Luxon.fromJSDate(at, { zone }).toFormat('HH:mm'), text: (r.target.variant.text ?? r.text).slice(0, 280), queued: r.target.queued, url: r.target.remoteUrl,
        networks: r.networks,
      });
    }
    return { timeZone: zone, days: [...byDay].map(([date, targets]) => ({ date, targets })) };
  }
}
