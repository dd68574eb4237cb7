// Posting slots and the queue: each account's weekly schedule in its own time zone (Buffer's "posting
// schedule"). "Add to queue" takes the account's next slot that no scheduled target holds yet; the queue
// can be reordered, its targets keeping the set of slot times they hold.
import { and, eq, gte, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Conflict, Invalid } from '../../domain/errors.ts';
import { assertZone, localToInstant } from '../../shared/time.ts';
import { audit } from '../audit/index.ts';
import { posts, postTargets, postingSchedules } from './schema.ts';
import { enqueue } from './jobs.ts';
import type { Actor, Target } from './model.ts';

export interface Slot {
  weekday: number;
  time: string;
}

const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
/** The queue's rows, written as post_targets_queue_idx's predicate (literals, not parameters, so the planner can use it). */
const queued = sql`${postTargets.queued} and ${postTargets.state} = 'scheduled'`;
const queueList = keyset('queue', { publishAt: [postTargets.publishAt, 'time'], id: [postTargets.id, 'uuid'] }, 'asc');

/** How far ahead "add to queue" looks for a free slot. */
const HORIZON_DAYS = 120;

export function checkSlots(timeZone: string, slots: Slot[]): Slot[] {
  assertZone(timeZone, 'body.timeZone');
  slots.forEach((s, i) => {
    if (!Number.isInteger(s.weekday) || s.weekday < 1 || s.weekday > 7) throw new Invalid('VALIDATION_FAILED', `slots[${i}].weekday: 1 (Monday) to 7 (Sunday).`, [{ field: `body.slots[${i}].weekday`, message: '1-7' }]);
    if (!TIME_RE.test(s.time)) throw new Invalid('VALIDATION_FAILED', `slots[${i}].time: "${s.time}" is not a time like 09:30.`, [{ field: `body.slots[${i}].time`, message: 'HH:mm' }]);
  });
  const seen = new Set<string>();
  return slots.filter((s) => !seen.has(`${s.weekday} ${s.time}`) && seen.add(`${s.weekday} ${s.time}`))
    .sort((a, b) => a.weekday - b.weekday || a.time.localeCompare(b.time));
}

export async function getSchedule(db: DbOrTx, accountId: string) {
  const [row] = await db.select().from(postingSchedules).where(eq(postingSchedules.accountId, accountId));
  return row ?? null;
}

export async function putSchedule(db: DbOrTx, workspaceId: string, accountId: string, timeZone: string, slots: Slot[]) {
  const clean = checkSlots(timeZone, slots);
  const [row] = await db.insert(postingSchedules).values({ accountId, workspaceId, timeZone, slots: clean })
    .onConflictDoUpdate({ target: postingSchedules.accountId, set: { timeZone, slots: clean, updatedAt: sql`now()` } }).returning();
  return row!;
}

/** Slot instants of a schedule from `from` on, in order (wall-clock times made instants day by day, DST-aware). */
export function* slotInstants(timeZone: string, slots: Slot[], from: Date, days = HORIZON_DAYS): Generator<Date> {
  if (slots.length === 0) return;
  const start = DateTime.fromJSDate(from, { zone: timeZone }).startOf('day');
  for (let d = 0; d < days; d++) {
    const day = start.plus({ days: d });
    const times = slots.filter((s) => s.weekday === day.weekday).map((s) => localToInstant(`${day.toFormat('yyyy-MM-dd')}T${s.time}`, timeZone));
    times.sort((a, b) => a.getTime() - b.getTime());
    for (const t of times) if (t.getTime() > from.getTime()) yield t;
  }
}

/** The account's next `n` slots that no scheduled or publishing target holds. */
export async function nextFreeSlots(db: DbOrTx, accountId: string, now: Date, n: number): Promise<Date[]> {
  const schedule = await getSchedule(db, accountId);
  if (!schedule || schedule.slots.length === 0) return [];
  const taken = await db.select({ at: postTargets.publishAt }).from(postTargets)
    .where(and(eq(postTargets.accountId, accountId), gte(postTargets.publishAt, now), sql`${postTargets.state} in ('scheduled', 'publishing', 'pending_approval')`));
  const held = new Set(taken.map((r) => r.at?.getTime()));
  const out: Date[] = [];
  for (const t of slotInstants(schedule.timeZone, schedule.slots, now)) {
    if (held.has(t.getTime())) continue;
    out.push(t);
    if (out.length >= n) break;
  }
  return out;
}

export class PostQueue {
  constructor(private readonly d: { db: Db; now: () => Date }) {}

  /** The account's weekly posting slots and its next free ones. */
  async slots(accountId: string, next = 5) {
    const s = await getSchedule(this.d.db, accountId);
    const free = await nextFreeSlots(this.d.db, accountId, this.d.now(), next);
    return { timeZone: s?.timeZone ?? 'UTC', slots: s?.slots ?? [], next: free.map((x) => x.toISOString()) };
  }

  async setSlots(workspaceId: string, accountId: string, timeZone: string, slots: Slot[], actor: Actor) {
    await this.d.db.transaction(async (tx) => {
      await putSchedule(tx, workspaceId, accountId, timeZone, slots);
      await audit(tx, { action: 'slots.updated', workspaceId, targetType: 'social_account', targetId: accountId, details: { timeZone, slots: slots.length }, ...actor });
    });
  }

  /** Targets queued on an account, in slot order, with their post's text, a page at a time (post_targets_queue_idx). */
  async queueOf(workspaceId: string, accountId: string, page: PageRequest) {
    const rows = await this.d.db.select({ target: postTargets, text: posts.text, cursorKey: queueList.fields.cursorKey })
      .from(postTargets).innerJoin(posts, eq(posts.id, postTargets.postId))
      .where(and(eq(postTargets.accountId, accountId), queued, eq(postTargets.workspaceId, workspaceId),
        queueList.startAfter(page)))
      .orderBy(...queueList.orderBy).limit(page.limit + 1);
    return queueList.page(rows, page.limit);
  }

  /** Puts the account's queued targets in this order, keeping the set of slot times they hold. */
  async reorderQueue(workspaceId: string, accountId: string, order: string[], actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const rows = await tx.select().from(postTargets).where(and(eq(postTargets.accountId, accountId), queued, eq(postTargets.workspaceId, workspaceId)))
        .orderBy(...queueList.orderBy).for('update');
      const ids = new Set(rows.map((r) => r.id));
      if (order.length !== rows.length || order.some((id) => !ids.has(id)) || new Set(order).size !== order.length) {
        throw new Invalid('VALIDATION_FAILED', `Give every queued target of this account exactly once (${rows.length} are queued).`, [{ field: 'body.targetIds', message: 'must be a permutation of the queue' }]);
      }
      const times = rows.map((r) => r.publishAt!);
      for (const [i, id] of order.entries()) {
        await tx.update(postTargets).set({ publishAt: times[i]!, nextAttemptAt: null, updatedAt: sql`now()` }).where(eq(postTargets.id, id));
        await enqueue(tx, id, times[i]!);
      }
      await audit(tx, { action: 'queue.reordered', workspaceId, targetType: 'social_account', targetId: accountId, ...actor });
    });
  }

  /** Gives each target the next free posting slot of its account, in the caller's transaction. */
  async place(tx: DbOrTx, targets: Target[]): Promise<void> {
    for (const t of targets) {
      const [slot] = await nextFreeSlots(tx, t.accountId, this.d.now(), 1);
      if (!slot) throw new Conflict('NO_POSTING_SLOTS', 'This account has no posting slots; set its weekly slots first, or pick a time.', [{ accountId: t.accountId }]);
      await tx.update(postTargets).set({ state: 'scheduled', publishAt: slot, queued: true, nextAttemptAt: null, updatedAt: sql`now()` }).where(eq(postTargets.id, t.id));
      await enqueue(tx, t.id, slot);
    }
  }
}
