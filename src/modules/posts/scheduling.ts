// A post's way through its states: draft → pending_approval → scheduled (at an instant, at a local time
// in a zone, now, or in the accounts' queues), back to draft, retried after a failure, settled by hand
// after an unknown outcome, and repeated when it recurs. Each change runs under the post's row lock, and
// a target's publishing job is added or removed in the same transaction (see jobs.ts).
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { assertZone, instantToLocal, localToInstant } from '../../shared/time.ts';
import { audit } from '../audit/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { workspaces } from '../workspaces/schema.ts';
import { posts, postTargets, type Recurrence } from './schema.ts';
import { EDITABLE, maxOccurrence, type Account, type Actor, type Post, type ScheduleSpec, type Target } from './model.ts';
import { enqueue, removeJob } from './jobs.ts';
import { lockPost } from './read.ts';
import { inputOf, type PostValidator } from './validation.ts';
import type { PostQueue } from './queue.ts';
import { nextOccurrence } from './recurrence.ts';

export interface SchedulingDeps {
  db: Db;
  validator: PostValidator;
  queue: PostQueue;
  now: () => Date;
  /** A schedule closer than this to now is "now"; earlier than now minus it is refused as past. */
  pastToleranceMs?: number;
}

export class PostScheduling {
  constructor(private readonly d: SchedulingDeps) {}

  async requiresApproval(workspaceId: string, db: DbOrTx = this.d.db): Promise<boolean> {
    const [ws] = await db.select({ settings: workspaces.settings }).from(workspaces).where(eq(workspaces.id, workspaceId));
    return ws?.settings?.requireApproval === true;
  }

  /** Schedules a draft (or reschedules a scheduled post). Approval rules are the route's to check. */
  async schedule(workspaceId: string, postId: string, spec: ScheduleSpec, recurrence: Recurrence | null | undefined, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await lockPost(tx, workspaceId, postId);
      await this.scheduleLocked(tx, post, targets, spec, recurrence === undefined ? post.recurrence : recurrence);
      await audit(tx, { action: 'post.scheduled', workspaceId, targetType: 'post', targetId: postId, details: { mode: spec.mode }, ...actor });
    });
  }

  /**
   * Moves some networks of a scheduled post to another time; the others keep theirs. The post's own
   * time becomes the earliest of its scheduled targets', so lists still sort by when it first goes out.
   */
  async rescheduleTargets(workspaceId: string, postId: string, targetIds: string[], spec: ScheduleSpec, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await lockPost(tx, workspaceId, postId);
      if (post.status !== 'scheduled') {
        throw new Conflict('NOT_SCHEDULED', `Only a scheduled post's networks can be moved one by one; this post is ${post.status.replace('_', ' ')}. Schedule the whole post first.`);
      }
      if (post.recurrence) throw new Conflict('RECURRING_POST', 'A repeating post moves as a whole; leave out targetIds, or stop the repeat first.');
      const chosen = targetIds.map((id, i) => ({ i, target: targets.find((t) => t.id === id) }));
      const unknown = chosen.filter((c) => !c.target);
      if (unknown.length) {
        throw new NotFound('TARGET_NOT_FOUND', `This post has no target ${targetIds[unknown[0]!.i]}; the post's targets are listed by GET on the post.`,
          unknown.map((c) => ({ field: `body.targetIds.${c.i}`, message: 'not a target of this post' })));
      }
      const fixed = chosen.filter((c) => c.target!.state !== 'scheduled');
      if (fixed.length) {
        const t = fixed[0]!.target!;
        throw new Conflict('TARGET_NOT_SCHEDULED', `The ${t.provider} target is ${t.state.replace('_', ' ')}, not scheduled, so it cannot be moved.`,
          fixed.map((c) => ({ field: `body.targetIds.${c.i}`, message: c.target!.state })));
      }
      const moving = chosen.map((c) => c.target!);
      const { due } = this.instantOf(spec);
      const accounts = await tx.select().from(socialAccounts).where(inArray(socialAccounts.id, moving.map((t) => t.accountId)));
      assertActive(accounts);
      if (spec.mode === 'queue') {
        await this.d.queue.place(tx, moving);
      } else {
        await tx.update(postTargets).set({ publishAt: due, queued: false, nextAttemptAt: null, updatedAt: sql`now()` }).where(inArray(postTargets.id, moving.map((t) => t.id)));
        for (const t of moving) await enqueue(tx, t.id, due!);
      }
      const [first] = await tx.select({ at: sql<Date | null>`min(${postTargets.publishAt})`.mapWith(postTargets.publishAt) }).from(postTargets)
        .where(and(eq(postTargets.postId, post.id), eq(postTargets.state, 'scheduled')));
      // The wall-clock time the post was given still describes it only if its first target still goes then.
      const same = first?.at && post.publishAt && first.at.getTime() === post.publishAt.getTime();
      await tx.update(posts).set({
        publishAt: first?.at ?? null, ...(same ? {} : { scheduleMode: 'at', localTime: null, timeZone: null }),
        version: sql`${posts.version} + 1`, updatedAt: sql`now()`,
      }).where(eq(posts.id, post.id));
      await audit(tx, { action: 'post.scheduled', workspaceId, targetType: 'post', targetId: postId, details: { mode: spec.mode, targetIds }, ...actor });
    });
  }

  /**
   * Schedules a post whose row the caller has locked. `validated`: the accounts of a post just checked in
   * this transaction (by create). Returns the post's new time (null for the queue, where each target gets
   * its own slot).
   */
  async scheduleLocked(tx: DbOrTx, post: Post, targets: Target[], spec: ScheduleSpec, recurrence: Recurrence | null, validated?: Account[]): Promise<Date | null> {
    const pending = targets.filter((t) => EDITABLE.includes(t.state) && t.occurrence === maxOccurrence(targets, t.accountId));
    if (pending.length === 0) throw new Conflict('NOTHING_TO_SCHEDULE', 'Every target of this post has already been published or is publishing.');
    const checked = validated ?? await this.d.validator.assertValid(post.workspaceId, inputOf(post, targets), tx);
    const accounts = checked.filter((a) => pending.some((t) => t.accountId === a.id));
    assertActive(accounts);
    const { at, due } = this.instantOf(spec);
    let localTime = spec.mode === 'local' ? spec.localTime : null;
    let timeZone = spec.mode === 'local' ? spec.timeZone : null;
    if (recurrence && spec.mode === 'queue') throw new Invalid('VALIDATION_FAILED', 'A recurring post needs a time, not a queue slot.', [{ field: 'body.recurrence', message: 'not with queue' }]);
    if (recurrence && !localTime) {
      // Repeats keep the wall-clock time of the zone they were set in; an instant repeats in UTC.
      timeZone = 'UTC';
      localTime = instantToLocal(at!, 'UTC');
    }
    await tx.update(posts).set({
      status: 'scheduled', scheduleMode: spec.mode, publishAt: due, localTime, timeZone, recurrence,
      version: sql`${posts.version} + 1`, updatedAt: sql`now()`,
    }).where(eq(posts.id, post.id));
    if (spec.mode === 'queue') {
      await this.d.queue.place(tx, pending);
      return null;
    }
    await tx.update(postTargets).set({ state: 'scheduled', publishAt: due, queued: false, nextAttemptAt: null, updatedAt: sql`now()` }).where(inArray(postTargets.id, pending.map((t) => t.id)));
    for (const t of pending) await enqueue(tx, t.id, due!);
    return due;
  }

  /**
   * The instant a schedule names (null for the queue), and when it is due: a moment ago counts as now; a
   * time that has passed is refused. `local` turns a local time into an instant, its zone already checked
   * (bulk upload passes a localResolver, which remembers the zone's offsets).
   */
  instantOf(spec: ScheduleSpec, local?: (localTime: string, field: string) => Date): { at: Date | null; due: Date | null } {
    const now = this.d.now();
    let at: Date | null = null;
    if (spec.mode === 'at') {
      at = new Date(spec.at);
    } else if (spec.mode === 'local') {
      if (local) {
        at = local(spec.localTime, 'body.localTime');
      } else {
        assertZone(spec.timeZone, 'body.timeZone');
        at = localToInstant(spec.localTime, spec.timeZone, 'body.localTime');
      }
    } else if (spec.mode === 'now') {
      at = now;
    }
    if (at && at.getTime() < now.getTime() - (this.d.pastToleranceMs ?? 60_000)) {
      throw new Invalid('SCHEDULE_IN_PAST', `${at.toISOString()} has passed; choose a later time, or publish now.`, [{ field: spec.mode === 'local' ? 'body.localTime' : 'body.at', message: 'in the past' }]);
    }
    return { at, due: at && at < now ? now : at };
  }

  /** Back to draft: scheduled targets lose their jobs. */
  async unschedule(workspaceId: string, postId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { targets } = await lockPost(tx, workspaceId, postId);
      if (targets.some((t) => t.state === 'publishing')) throw new Conflict('POST_PUBLISHING', 'This post is being published right now.');
      for (const t of targets.filter((x) => x.state === 'scheduled' || x.state === 'pending_approval')) {
        await tx.update(postTargets).set({ state: 'draft', queued: false, nextAttemptAt: null, updatedAt: sql`now()` }).where(eq(postTargets.id, t.id));
        await removeJob(tx, t.id);
      }
      await tx.update(posts).set({ status: 'draft', version: sql`${posts.version} + 1`, updatedAt: sql`now()` }).where(eq(posts.id, postId));
      await audit(tx, { action: 'post.unscheduled', workspaceId, targetType: 'post', targetId: postId, ...actor });
    });
  }

  /** An editor asks for approval; the requested schedule is kept for the approver. */
  async submit(workspaceId: string, postId: string, spec: ScheduleSpec, recurrence: Recurrence | null | undefined, userId: string | null, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await lockPost(tx, workspaceId, postId);
      if (post.status !== 'draft') throw new Conflict('NOT_A_DRAFT', `Only drafts can be submitted; this post is ${post.status.replace('_', ' ')}.`);
      await this.d.validator.assertValid(workspaceId, inputOf(post, targets), tx);
      if (spec.mode === 'local') {
        assertZone(spec.timeZone, 'body.timeZone');
        localToInstant(spec.localTime, spec.timeZone, 'body.localTime');
      }
      await tx.update(posts).set({
        status: 'pending_approval', scheduleMode: spec.mode,
        publishAt: spec.mode === 'at' ? new Date(spec.at) : spec.mode === 'local' ? localToInstant(spec.localTime, spec.timeZone) : null,
        localTime: spec.mode === 'local' ? spec.localTime : null, timeZone: spec.mode === 'local' ? spec.timeZone : null,
        recurrence: recurrence ?? post.recurrence, submittedBy: userId, submittedAt: sql`now()`, reviewDecision: null, reviewComment: null, reviewedAt: null, reviewedBy: null,
        version: sql`${posts.version} + 1`, updatedAt: sql`now()`,
      }).where(eq(posts.id, postId));
      await tx.update(postTargets).set({ state: 'pending_approval', updatedAt: sql`now()` }).where(and(eq(postTargets.postId, postId), inArray(postTargets.state, ['draft', 'cancelled'])));
      await audit(tx, { action: 'post.submitted', workspaceId, targetType: 'post', targetId: postId, ...actor });
    });
  }

  /**
   * Approving schedules the post as it was submitted; a time that has passed meanwhile publishes now.
   * `version` is the version the approver read: checked under the post's row lock, in the transaction that
   * schedules, so what is scheduled is exactly what was approved, never an edit made since.
   */
  async approve(workspaceId: string, postId: string, version: number, userId: string | null, comment: string | undefined, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await lockPost(tx, workspaceId, postId);
      if (post.status !== 'pending_approval') throw new Conflict('NOT_PENDING', `This post is ${post.status.replace('_', ' ')}, not waiting for approval.`);
      if (post.version !== version) {
        throw new Conflict('VERSION_CONFLICT', `The post was changed after you read it (you approved version ${version}; it is now version ${post.version}). Read it again and approve what it says now.`,
          [{ field: 'body.version', message: `current version is ${post.version}` }]);
      }
      let spec: ScheduleSpec;
      const past = post.publishAt && post.publishAt.getTime() < this.d.now().getTime();
      if (post.scheduleMode === 'queue') spec = { mode: 'queue' };
      else if (post.scheduleMode === 'local' && post.localTime && post.timeZone && !past) spec = { mode: 'local', localTime: post.localTime, timeZone: post.timeZone };
      else if (post.scheduleMode === 'at' && post.publishAt && !past) spec = { mode: 'at', at: post.publishAt.toISOString() };
      else spec = { mode: 'now' };
      await this.scheduleLocked(tx, post, targets, spec, post.recurrence);
      await tx.update(posts).set({ reviewedBy: userId, reviewedAt: sql`now()`, reviewDecision: 'approved', reviewComment: comment ?? null }).where(eq(posts.id, postId));
      await audit(tx, { action: 'post.approved', workspaceId, targetType: 'post', targetId: postId, details: { mode: spec.mode, version }, ...actor });
    });
  }

  async reject(workspaceId: string, postId: string, userId: string | null, comment: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post } = await lockPost(tx, workspaceId, postId);
      if (post.status !== 'pending_approval') throw new Conflict('NOT_PENDING', `This post is ${post.status.replace('_', ' ')}, not waiting for approval.`);
      await tx.update(posts).set({
        status: 'draft', reviewedBy: userId, reviewedAt: sql`now()`, reviewDecision: 'rejected', reviewComment: comment,
        version: sql`${posts.version} + 1`, updatedAt: sql`now()`,
      }).where(eq(posts.id, postId));
      await tx.update(postTargets).set({ state: 'draft', updatedAt: sql`now()` }).where(and(eq(postTargets.postId, postId), eq(postTargets.state, 'pending_approval')));
      await audit(tx, { action: 'post.rejected', workspaceId, targetType: 'post', targetId: postId, details: { comment: comment.slice(0, 500) }, ...actor });
    });
  }

  /** Failed targets (of these posts, or these targets) go back to scheduled, due now. Returns how many. */
  async retryFailed(workspaceId: string, where: { postIds?: string[]; targetIds?: string[] }, actor: Actor): Promise<number> {
    return this.d.db.transaction(async (tx) => {
      const conds = [eq(postTargets.workspaceId, workspaceId), eq(postTargets.state, 'failed')];
      if (where.postIds) conds.push(inArray(postTargets.postId, where.postIds));
      if (where.targetIds) conds.push(inArray(postTargets.id, where.targetIds));
      const rows = await tx.select().from(postTargets).where(and(...conds)).for('update');
      const accounts = rows.length ? await tx.select().from(socialAccounts).where(inArray(socialAccounts.id, rows.map((r) => r.accountId))) : [];
      const inactive = accounts.filter((a) => a.status !== 'active');
      if (inactive.length) {
        throw new Conflict('ACCOUNT_NEEDS_RECONNECT', `Reconnect ${inactive.map((a) => `${a.provider} ${a.username}`).join(', ')} first; its posts would fail again.`);
      }
      const now = this.d.now();
      for (const t of rows) {
        await tx.update(postTargets).set({ state: 'scheduled', nextAttemptAt: now, attempts: 0, errorClass: null, errorMessage: null, networkStatus: null, updatedAt: sql`now()` }).where(eq(postTargets.id, t.id));
        await enqueue(tx, t.id, now);
        await tx.update(posts).set({ status: 'scheduled', updatedAt: sql`now()` }).where(eq(posts.id, t.postId));
      }
      if (rows.length) await audit(tx, { action: 'post.retried', workspaceId, targetType: 'post_targets', details: { targets: rows.map((r) => r.id) }, ...actor });
      return rows.length;
    });
  }

  /**
   * After a recurring post's target finished: the same account's next occurrence, scheduled with its job,
   * in the caller's transaction. Nothing when the post does not repeat or the rule has ended.
   */
  async scheduleNextOccurrence(tx: DbOrTx, target: Target, known?: Post): Promise<void> {
    if (known && !known.recurrence) return; // the common case, without a query
    const [post] = await tx.select().from(posts).where(eq(posts.id, target.postId));
    if (!post?.recurrence || post.status !== 'scheduled' || !post.localTime || !post.timeZone) return;
    const currentLocal = instantToLocal(target.publishAt ?? post.publishAt!, post.timeZone);
    const next = nextOccurrence(post.recurrence, post.localTime, currentLocal, target.occurrence, post.timeZone);
    if (!next) return;
    const [row] = await tx.insert(postTargets).values({
      id: randomUUID(), postId: post.id, workspaceId: post.workspaceId, accountId: target.accountId, provider: target.provider,
      occurrence: target.occurrence + 1, variant: target.variant, state: 'scheduled', publishAt: next.at,
    }).onConflictDoNothing().returning();
    if (row) await enqueue(tx, row.id, next.at);
  }

  /** A person checked the account after an unknown outcome: it was published (with its link), or it was not. */
  async resolveUnknown(workspaceId: string, postId: string, targetId: string, r: { outcome: 'published' | 'failed'; url?: string; remoteId?: string }, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const [t] = await tx.select().from(postTargets).where(and(eq(postTargets.id, targetId), eq(postTargets.postId, postId), eq(postTargets.workspaceId, workspaceId))).for('update');
      if (!t) throw new NotFound('NOT_FOUND', 'No such target of this post.');
      if (t.state !== 'unknown') throw new Conflict('NOT_UNKNOWN', `This target is ${t.state}; only an unknown outcome can be settled by hand.`);
      if (r.outcome === 'published') {
        await tx.update(postTargets).set({
          state: 'published', publishedAt: sql`now()`, remoteUrl: r.url ?? t.remoteUrl, remoteId: r.remoteId ?? t.remoteId,
          errorClass: null, errorMessage: null, updatedAt: sql`now()`,
        }).where(eq(postTargets.id, targetId));
      } else {
        await tx.update(postTargets).set({ state: 'failed', errorClass: 'unknown_outcome', errorMessage: 'Checked by a person: it was not published. Retry to send it.', updatedAt: sql`now()` }).where(eq(postTargets.id, targetId));
      }
      await audit(tx, { action: 'post.outcome_resolved', workspaceId, targetType: 'post_target', targetId, details: { outcome: r.outcome, ...(r.url ? { url: r.url } : {}) }, ...actor });
    });
  }
}

/** Refuses to schedule to an account that must be reconnected first: its posts would only fail. */
export function assertActive(accounts: Account[]): void {
  const inactive = accounts.filter((a) => a.status !== 'active');
  if (inactive.length) {
    throw new Conflict('ACCOUNT_NEEDS_RECONNECT', `Reconnect ${inactive.map((a) => `${a.provider} ${a.username}`).join(', ')} before scheduling to it (status: ${inactive[0]!.status}).`,
      inactive.map((a) => ({ accountId: a.id, status: a.status })));
  }
}
