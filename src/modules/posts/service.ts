// Posts: drafts with a base text and per-account variants, validated by each network's rules; scheduling
// at an instant, at a local time in a zone, now, or into the accounts' queues; approvals; retries. A
// target's publishing job is added in the same transaction that schedules it (job key = target id), so
// a committed schedule always has its job and a rolled-back one never does.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { addJob } from '../../infra/queue/add-job.ts';
import { ApiError } from '../../http/errors.ts';
import { audit, type AuditEntry } from '../audit/service.ts';
import { socialAccounts } from '../accounts/index.ts';
import { workspaces } from '../workspaces/schema.ts';
import { holdWorkspace } from '../workspaces/hold.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { ProviderId, ProviderLimits } from '../../providers/types.ts';
import { posts, postTargets, publishAttempts, type PostStatus, type Recurrence, type TargetState, type Variant } from './schema.ts';
import { checkTarget, type Count, type MediaFacts, type Problem, type TargetContent } from './validate.ts';
import { assertZone, instantToLocal, localToInstant } from './time.ts';
import { nextOccurrence } from './recurrence.ts';
import { getSchedule, nextFreeSlots, putSchedule, type Slot } from './queue.ts';

export const PUBLISH_TASK = 'publish_target';

type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type Post = typeof posts.$inferSelect;
export type Target = typeof postTargets.$inferSelect;
type Account = typeof socialAccounts.$inferSelect;

export interface MediaLookup {
  /** Facts of the workspace's media with these ids; an id that is not the workspace's is an error naming it. */
  describe(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<MediaFacts[]>;
}

export interface TargetInput {
  accountId: string;
  text?: string;
  mediaIds?: string[];
  thread?: { text: string; mediaIds?: string[] }[];
  firstComment?: string;
  options?: Record<string, unknown>;
}

/** Who changes a post: whether they may approve posts in its workspace decides what their edit does. */
export interface Editor {
  userId: string | null;
  mayApprove: boolean;
}

export interface PostInput {
  text: string;
  mediaIds?: string[];
  targets: TargetInput[];
}

export type ScheduleSpec =
  | { mode: 'at'; at: string }
  | { mode: 'local'; localTime: string; timeZone: string }
  | { mode: 'now' }
  | { mode: 'queue' };

export interface PostsDeps {
  db: Db;
  registry: ProviderRegistry;
  media: MediaLookup;
  now?: () => Date;
  /** A schedule closer than this to now is "now"; earlier than now minus it is refused as past. */
  pastToleranceMs?: number;
}

const notFound = () => new ApiError(404, 'NOT_FOUND', 'No such post in this workspace.');
const EDITABLE: readonly TargetState[] = ['draft', 'pending_approval', 'scheduled', 'cancelled'];

export class PostsService {
  private readonly now: () => Date;

  constructor(private readonly d: PostsDeps) {
    this.now = d.now ?? (() => new Date());
  }

  // ---------- reading ----------

  async get(workspaceId: string, postId: string, db: DbOrTx = this.d.db): Promise<{ post: Post; targets: Target[] }> {
    const [post] = await db.select().from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId)));
    if (!post) throw notFound();
    const targets = await db.select().from(postTargets).where(eq(postTargets.postId, postId)).orderBy(asc(postTargets.occurrence), asc(postTargets.createdAt), asc(postTargets.id));
    return { post, targets };
  }

  async attempts(targetIds: string[]) {
    if (targetIds.length === 0) return [];
    return this.d.db.select().from(publishAttempts).where(inArray(publishAttempts.targetId, targetIds)).orderBy(asc(publishAttempts.id));
  }

  /** Newest first; `after` is the last post of the previous page (posts made in the same instant are not skipped). */
  async list(workspaceId: string, opts: { status?: PostStatus; limit: number; before?: string; after?: { createdAt: Date; id: string } }) {
    const conds = [eq(posts.workspaceId, workspaceId)];
    if (opts.status) conds.push(eq(posts.status, opts.status));
    if (opts.before) conds.push(lt(posts.createdAt, new Date(opts.before)));
    if (opts.after) conds.push(sql`(${posts.createdAt}, ${posts.id}) < (${opts.after.createdAt.toISOString()}::timestamptz, ${opts.after.id}::uuid)`);
    const rows = await this.d.db.select().from(posts).where(and(...conds)).orderBy(desc(posts.createdAt), desc(posts.id)).limit(opts.limit);
    const targets = rows.length ? await this.d.db.select().from(postTargets).where(inArray(postTargets.postId, rows.map((r) => r.id))).orderBy(asc(postTargets.occurrence)) : [];
    return rows.map((post) => ({ post, targets: targets.filter((t) => t.postId === post.id) }));
  }

  /** Targets whose time falls in [from, to), for the calendar. */
  async targetsBetween(workspaceId: string, from: Date, to: Date, accountId?: string) {
    const when = sql`coalesce(${postTargets.publishedAt}, ${postTargets.publishAt})`;
    const conds = [eq(postTargets.workspaceId, workspaceId), gte(when, from), lt(when, to), sql`${postTargets.state} <> 'cancelled'`];
    if (accountId) conds.push(eq(postTargets.accountId, accountId));
    // How many networks the same occurrence of the post goes to: the calendar offers to move one alone.
    const networks = sql<number>`(select count(*)::int from post_targets s where s.post_id = ${postTargets.postId} and s.occurrence = ${postTargets.occurrence} and s.state <> 'cancelled')`;
    return this.d.db.select({ target: postTargets, text: posts.text, postStatus: posts.status, networks }).from(postTargets)
      .innerJoin(posts, eq(posts.id, postTargets.postId)).where(and(...conds)).orderBy(asc(when)).limit(5000);
  }

  // ---------- validation ----------

  /** Each target checked by its network's rules; problems name the account and the field. */
  async validate(workspaceId: string, input: PostInput, db: DbOrTx = this.d.db): Promise<{ problems: Problem[]; counts: { accountId: string; provider: string; counts: Count[] }[]; accounts: Account[] }> {
    const ids = [...new Set(input.targets.map((t) => t.accountId))];
    if (ids.length !== input.targets.length) throw new ApiError(400, 'VALIDATION_FAILED', 'Each account can be a target of a post only once.', [{ field: 'body.targets', message: 'duplicate accountId' }]);
    const accounts = ids.length ? await db.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, ids))) : [];
    for (const [i, t] of input.targets.entries()) {
      if (!accounts.some((a) => a.id === t.accountId)) {
        throw new ApiError(400, 'VALIDATION_FAILED', `targets[${i}].accountId: no such social account in this workspace.`, [{ field: `body.targets[${i}].accountId`, message: 'unknown account' }]);
      }
    }
    const allMedia = new Set<string>([...(input.mediaIds ?? [])]);
    for (const t of input.targets) {
      for (const m of t.mediaIds ?? []) allMedia.add(m);
      for (const p of t.thread ?? []) for (const m of p.mediaIds ?? []) allMedia.add(m);
    }
    // In a transaction the media rows stay locked FOR SHARE until it ends, so they cannot be deleted under the post.
    const facts = allMedia.size ? await this.d.media.describe(workspaceId, [...allMedia], db === this.d.db ? undefined : db) : [];
    const fact = (id: string) => facts.find((f) => f.id === id)!;
    const problems: Problem[] = [];
    const counts: { accountId: string; provider: string; counts: Count[] }[] = [];
    for (const t of input.targets) {
      const acc = accounts.find((a) => a.id === t.accountId)!;
      const provider = this.d.registry.get(acc.provider as ProviderId);
      const limits = (acc.data as { limits?: ProviderLimits }).limits ?? provider.meta.limits;
      const content: TargetContent = {
        parts: [
          { text: t.text ?? input.text, media: (t.mediaIds ?? input.mediaIds ?? []).map(fact) },
          ...(t.thread ?? []).map((p) => ({ text: p.text, media: (p.mediaIds ?? []).map(fact) })),
        ],
        ...(t.firstComment !== undefined ? { firstComment: t.firstComment } : {}),
        ...(t.options !== undefined ? { options: t.options } : {}),
      };
      const r = checkTarget(acc.id, acc.provider, `${provider.meta.displayName} (${acc.username})`, limits, content);
      problems.push(...r.problems);
      counts.push({ accountId: acc.id, provider: acc.provider, counts: r.counts });
    }
    return { problems, counts, accounts };
  }

  private async assertValid(workspaceId: string, input: PostInput, db: DbOrTx): Promise<Account[]> {
    const { problems, accounts } = await this.validate(workspaceId, input, db);
    assertNoProblems(problems);
    return accounts;
  }

  private inputOf(post: Post, targets: Target[]): PostInput {
    return {
      text: post.text, mediaIds: post.mediaIds,
      targets: targets.filter((t) => t.occurrence === maxOccurrence(targets, t.accountId)).map((t) => ({ accountId: t.accountId, ...t.variant })),
    };
  }

  // ---------- writing ----------

  /**
   * A new draft, scheduled in the same transaction when `schedule` is given (one validation, one
   * transaction: a post is either saved and scheduled, or not saved at all).
   */
  async create(workspaceId: string, userId: string | null, input: PostInput, actor: Actor, schedule?: { spec: ScheduleSpec; recurrence: Recurrence | null }): Promise<string> {
    return (await this.d.db.transaction((tx) => this.createIn(tx, workspaceId, userId, input, actor, schedule))).id;
  }

  /** The new post's id, and its time when it was scheduled. */
  private async createIn(tx: DbOrTx, workspaceId: string, userId: string | null, input: PostInput, actor: Actor, schedule?: { spec: ScheduleSpec; recurrence: Recurrence | null }): Promise<{ id: string; publishAt: Date | null }> {
    if (input.targets.length === 0) throw new ApiError(400, 'VALIDATION_FAILED', 'Choose at least one account to post to.', [{ field: 'body.targets', message: 'empty' }]);
    const id = randomUUID();
    // Unknown accounts and media are refused even for drafts; rule problems only when scheduling.
    const { problems, accounts } = await this.validate(workspaceId, input, tx);
    if (schedule) assertNoProblems(problems);
    const [post] = await tx.insert(posts).values({ id, workspaceId, createdBy: userId, text: input.text, mediaIds: input.mediaIds ?? [] }).returning();
    const targets = await tx.insert(postTargets).values(input.targets.map((t) => ({
      id: randomUUID(), postId: id, workspaceId, accountId: t.accountId, provider: accounts.find((a) => a.id === t.accountId)!.provider, variant: variantOf(t),
    }))).returning();
    await audit(tx, { action: 'post.created', workspaceId, targetType: 'post', targetId: id, details: { targets: input.targets.length, ...(schedule ? { scheduled: schedule.spec.mode } : {}) }, ...actor });
    const publishAt = schedule ? await this.scheduleLocked(tx, post!, targets, schedule.spec, schedule.recurrence, accounts) : null;
    return { id, publishAt };
  }

  /**
   * Many scheduled posts at once (a bulk upload): all are created, or none. Each row's refusal is
   * collected with its line number, so that one answer lists everything to fix. `dryRun` checks only.
   */
  async createMany(workspaceId: string, userId: string | null, rows: { line: number; text: string; spec: ScheduleSpec }[], accountIds: string[], actor: Actor, dryRun: boolean): Promise<{ line: number; postId: string; publishAt: Date | null }[]> {
    // The accounts are the same for every row: refuse them once, not once per line.
    const found = await this.d.db.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, accountIds)));
    const unknown = accountIds.filter((id) => !found.some((a) => a.id === id));
    if (unknown.length) {
      throw new ApiError(400, 'VALIDATION_FAILED', `body.accountIds: no such social account in this workspace: ${unknown.join(', ')}.`, unknown.map(() => ({ field: 'body.accountIds', message: 'unknown account' })));
    }
    this.assertActive(found);
    const ROLLBACK = new Error('dry run');
    let created: { line: number; postId: string; publishAt: Date | null }[] = [];
    try {
      await this.d.db.transaction(async (tx) => {
        const out: typeof created = [];
        const problems: { line: number; field: string; message: string }[] = [];
        for (const row of rows) {
          // Each row in a savepoint: a refused row leaves the transaction usable for the next one.
          try {
            const made = await tx.transaction((sp) => this.createIn(sp, workspaceId, userId, { text: row.text, targets: accountIds.map((accountId) => ({ accountId })) }, actor, { spec: row.spec, recurrence: null }));
            out.push({ line: row.line, postId: made.id, publishAt: made.publishAt });
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            // A post's rule problems name their network and field; other refusals say it in their message.
            if (err.code === 'POST_INVALID' && Array.isArray(err.details)) {
              for (const d of err.details as Problem[]) problems.push({ line: row.line, field: d.field, message: `line ${row.line}: ${d.message}` });
            } else {
              problems.push({ line: row.line, field: 'row', message: `line ${row.line}: ${err.message}` });
            }
          }
        }
        if (problems.length) {
          throw new ApiError(422, 'BULK_INVALID', `${new Set(problems.map((p) => p.line)).size} of ${rows.length} rows cannot be scheduled, so nothing was created: ${problems.map((p) => p.message).join(' ')}`, problems);
        }
        created = out;
        if (dryRun) throw ROLLBACK;
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    }
    return created;
  }

  /**
   * Replaces the content of a post that has not started publishing; a scheduled post is re-validated and keeps its time.
   * Approval is checked here, under the post's row lock, so an approve cannot slip between the check and the
   * change: someone who cannot approve may not change an approved, scheduled post where approval is required,
   * and their change to a post waiting for approval makes it a new submission (an approver's approve names
   * the version it read, so it no longer matches).
   */
  async update(workspaceId: string, postId: string, input: PostInput, expectedVersion: number | undefined, actor: Actor, editor: Editor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await this.lockPost(tx, workspaceId, postId);
      if (expectedVersion !== undefined && expectedVersion !== post.version) {
        throw new ApiError(409, 'VERSION_CONFLICT', `The post changed since you loaded it (version ${post.version}, yours ${expectedVersion}); reload it and apply your change again.`);
      }
      if (!editor.mayApprove && post.status === 'scheduled' && await this.requiresApproval(workspaceId, tx)) {
        throw new ApiError(403, 'APPROVAL_REQUIRED', 'This post was approved and is scheduled; a change needs approval again: unschedule it, edit it, and submit it.');
      }
      const resubmitted = !editor.mayApprove && post.status === 'pending_approval';
      const live = targets.filter((t) => !EDITABLE.includes(t.state));
      if (live.length) throw new ApiError(409, 'POST_PUBLISHING', 'This post has started publishing or is published; it cannot be edited. Duplicate it to post again.');
      if (input.targets.length === 0) throw new ApiError(400, 'VALIDATION_FAILED', 'Choose at least one account to post to.', [{ field: 'body.targets', message: 'empty' }]);
      if (post.status === 'scheduled' || post.status === 'pending_approval') await this.assertValid(workspaceId, input, tx);
      else await this.validate(workspaceId, input, tx);
      await tx.update(posts).set({
        text: input.text, mediaIds: input.mediaIds ?? [], version: sql`${posts.version} + 1`, updatedAt: sql`now()`,
        ...(resubmitted ? { submittedBy: editor.userId, submittedAt: sql`now()`, reviewDecision: null, reviewComment: null, reviewedAt: null, reviewedBy: null } : {}),
      }).where(eq(posts.id, postId));
      const keep = new Set(input.targets.map((t) => t.accountId));
      for (const t of targets) {
        if (!keep.has(t.accountId)) {
          await tx.delete(postTargets).where(eq(postTargets.id, t.id));
          await removeJob(tx, t.id);
        }
      }
      const accounts = await tx.select({ id: socialAccounts.id, provider: socialAccounts.provider }).from(socialAccounts).where(inArray(socialAccounts.id, [...keep]));
      for (const ti of input.targets) {
        const existing = targets.find((t) => t.accountId === ti.accountId);
        if (existing) {
          await tx.update(postTargets).set({ variant: variantOf(ti), updatedAt: sql`now()` }).where(eq(postTargets.id, existing.id));
        } else {
          const state: TargetState = post.status === 'scheduled' ? 'scheduled' : post.status;
          const [row] = await tx.insert(postTargets).values({
            id: randomUUID(), postId, workspaceId, accountId: ti.accountId, provider: accounts.find((a) => a.id === ti.accountId)!.provider,
            variant: variantOf(ti), state, publishAt: post.publishAt,
          }).returning();
          if (state === 'scheduled') {
            if (post.scheduleMode === 'queue') await this.placeInQueue(tx, [row!]);
            else await enqueue(tx, row!.id, post.publishAt ?? this.now());
          }
        }
      }
      await audit(tx, { action: 'post.updated', workspaceId, targetType: 'post', targetId: postId, ...(resubmitted ? { details: { resubmitted: true } } : {}), ...actor });
    });
  }

  async remove(workspaceId: string, postId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      // The workspace before the post (see workspaces/hold.ts): no deadlock with a workspace being deleted.
      await holdWorkspace(tx, workspaceId);
      const { targets } = await this.lockPost(tx, workspaceId, postId);
      if (targets.some((t) => t.state === 'publishing')) throw new ApiError(409, 'POST_PUBLISHING', 'This post is being published right now; wait for it to finish, then delete it.');
      for (const t of targets) await removeJob(tx, t.id);
      await tx.delete(posts).where(eq(posts.id, postId));
      await audit(tx, { action: 'post.deleted', workspaceId, targetType: 'post', targetId: postId, details: { published: targets.filter((t) => t.state === 'published').length }, ...actor });
    });
  }

  // ---------- scheduling and approval ----------

  async requiresApproval(workspaceId: string, db: DbOrTx = this.d.db): Promise<boolean> {
    const [ws] = await db.select({ settings: workspaces.settings }).from(workspaces).where(eq(workspaces.id, workspaceId));
    return ws?.settings?.requireApproval === true;
  }

  /** Schedules a draft (or reschedules a scheduled post). Approval rules are the route's to check. */
  async schedule(workspaceId: string, postId: string, spec: ScheduleSpec, recurrence: Recurrence | null | undefined, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { post, targets } = await this.lockPost(tx, workspaceId, postId);
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
      const { post, targets } = await this.lockPost(tx, workspaceId, postId);
      if (post.status !== 'scheduled') {
        throw new ApiError(409, 'NOT_SCHEDULED', `Only a scheduled post's networks can be moved one by one; this post is ${post.status.replace('_', ' ')}. Schedule the whole post first.`);
      }
      if (post.recurrence) throw new ApiError(409, 'RECURRING_POST', 'A repeating post moves as a whole; leave out targetIds, or stop the repeat first.');
      const chosen = targetIds.map((id, i) => ({ i, target: targets.find((t) => t.id === id) }));
      const unknown = chosen.filter((c) => !c.target);
      if (unknown.length) {
        throw new ApiError(404, 'TARGET_NOT_FOUND', `This post has no target ${targetIds[unknown[0]!.i]}; the post's targets are listed by GET on the post.`,
          unknown.map((c) => ({ field: `body.targetIds.${c.i}`, message: 'not a target of this post' })));
      }
      const fixed = chosen.filter((c) => c.target!.state !== 'scheduled');
      if (fixed.length) {
        const t = fixed[0]!.target!;
        throw new ApiError(409, 'TARGET_NOT_SCHEDULED', `The ${t.provider} target is ${t.state.replace('_', ' ')}, not scheduled, so it cannot be moved.`,
          fixed.map((c) => ({ field: `body.targetIds.${c.i}`, message: c.target!.state })));
      }
      const moving = chosen.map((c) => c.target!);
      const { due } = this.instantOf(spec);
      const accounts = await tx.select().from(socialAccounts).where(inArray(socialAccounts.id, moving.map((t) => t.accountId)));
      this.assertActive(accounts);
      if (spec.mode === 'queue') {
        await this.placeInQueue(tx, moving);
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

  /** `validated`: the accounts of a post just checked in this transaction (by create). */
  /** Returns the post's new time (null for the queue, where each target gets its own slot). */
  private async scheduleLocked(tx: DbOrTx, post: Post, targets: Target[], spec: ScheduleSpec, recurrence: Recurrence | null, validated?: Account[]): Promise<Date | null> {
    const pending = targets.filter((t) => EDITABLE.includes(t.state) && t.occurrence === maxOccurrence(targets, t.accountId));
    if (pending.length === 0) throw new ApiError(409, 'NOTHING_TO_SCHEDULE', 'Every target of this post has already been published or is publishing.');
    const checked = validated ?? await this.assertValid(post.workspaceId, this.inputOf(post, targets), tx);
    const accounts = checked.filter((a) => pending.some((t) => t.accountId === a.id));
    this.assertActive(accounts);
    const { at, due } = this.instantOf(spec);
    let localTime = spec.mode === 'local' ? spec.localTime : null;
    let timeZone = spec.mode === 'local' ? spec.timeZone : null;
    if (recurrence && spec.mode === 'queue') throw new ApiError(400, 'VALIDATION_FAILED', 'A recurring post needs a time, not a queue slot.', [{ field: 'body.recurrence', message: 'not with queue' }]);
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
      await this.placeInQueue(tx, pending);
      return null;
    }
    await tx.update(postTargets).set({ state: 'scheduled', publishAt: due, queued: false, nextAttemptAt: null, updatedAt: sql`now()` }).where(inArray(postTargets.id, pending.map((t) => t.id)));
    for (const t of pending) await enqueue(tx, t.id, due!);
    return due;
  }

  private assertActive(accounts: Account[]): void {
    const inactive = accounts.filter((a) => a.status !== 'active');
    if (inactive.length) {
      throw new ApiError(409, 'ACCOUNT_NEEDS_RECONNECT', `Reconnect ${inactive.map((a) => `${a.provider} ${a.username}`).join(', ')} before scheduling to it (status: ${inactive[0]!.status}).`,
        inactive.map((a) => ({ accountId: a.id, status: a.status })));
    }
  }

  /** The instant a schedule names (null for the queue), and when it is due: a moment ago counts as now. */
  private instantOf(spec: ScheduleSpec): { at: Date | null; due: Date | null } {
    const now = this.now();
    let at: Date | null = null;
    if (spec.mode === 'at') {
      at = new Date(spec.at);
    } else if (spec.mode === 'local') {
      assertZone(spec.timeZone, 'body.timeZone');
      at = localToInstant(spec.localTime, spec.timeZone, 'body.localTime');
    } else if (spec.mode === 'now') {
      at = now;
    }
    if (at && at.getTime() < now.getTime() - (this.d.pastToleranceMs ?? 60_000)) {
      throw new ApiError(400, 'SCHEDULE_IN_PAST', `${at.toISOString()} has passed; choose a later time, or publish now.`, [{ field: spec.mode === 'local' ? 'body.localTime' : 'body.at', message: 'in the past' }]);
    }
    return { at, due: at && at < now ? now : at };
  }

  /** Gives each target the next free posting slot of its account. */
  private async placeInQueue(tx: DbOrTx, targets: Target[]): Promise<void> {
    for (const t of targets) {
      const [slot] = await nextFreeSlots(tx, t.accountId, this.now(), 1);
      if (!slot) throw new ApiError(409, 'NO_POSTING_SLOTS', 'This account has no posting slots; set its weekly slots first, or pick a time.', [{ accountId: t.accountId }]);
      await tx.update(postTargets).set({ state: 'scheduled', publishAt: slot, queued: true, nextAttemptAt: null, updatedAt: sql`now()` }).where(eq(postTargets.id, t.id));
      await enqueue(tx, t.id, slot);
    }
  }

  /** Back to draft: scheduled targets lose their jobs. */
  async unschedule(workspaceId: string, postId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const { targets } = await this.lockPost(tx, workspaceId, postId);
      if (targets.some((t) => t.state === 'publishing')) throw new ApiError(409, 'POST_PUBLISHING', 'This post is being published right now.');
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
      const { post, targets } = await this.lockPost(tx, workspaceId, postId);
      if (post.status !== 'draft') throw new ApiError(409, 'NOT_A_DRAFT', `Only drafts can be submitted; this post is ${post.status.replace('_', ' ')}.`);
      await this.assertValid(workspaceId, this.inputOf(post, targets), tx);
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
      const { post, targets } = await this.lockPost(tx, workspaceId, postId);
      if (post.status !== 'pending_approval') throw new ApiError(409, 'NOT_PENDING', `This post is ${post.status.replace('_', ' ')}, not waiting for approval.`);
      if (post.version !== version) {
        throw new ApiError(409, 'VERSION_CONFLICT', `The post was changed after you read it (you approved version ${version}; it is now version ${post.version}). Read it again and approve what it says now.`,
          [{ field: 'body.version', message: `current version is ${post.version}` }]);
      }
      let spec: ScheduleSpec;
      const past = post.publishAt && post.publishAt.getTime() < this.now().getTime();
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
      const { post } = await this.lockPost(tx, workspaceId, postId);
      if (post.status !== 'pending_approval') throw new ApiError(409, 'NOT_PENDING', `This post is ${post.status.replace('_', ' ')}, not waiting for approval.`);
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
        throw new ApiError(409, 'ACCOUNT_NEEDS_RECONNECT', `Reconnect ${inactive.map((a) => `${a.provider} ${a.username}`).join(', ')} first; its posts would fail again.`);
      }
      const now = this.now();
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

  private async lockPost(tx: DbOrTx, workspaceId: string, postId: string): Promise<{ post: Post; targets: Target[] }> {
    const [post] = await tx.select().from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId))).for('update');
    if (!post) throw notFound();
    const targets = await tx.select().from(postTargets).where(eq(postTargets.postId, postId)).orderBy(asc(postTargets.occurrence)).for('update');
    return { post, targets };
  }

  /** The account's weekly posting slots and its next free ones. */
  async slots(accountId: string, next = 5) {
    const s = await getSchedule(this.d.db, accountId);
    const free = await nextFreeSlots(this.d.db, accountId, this.now(), next);
    return { timeZone: s?.timeZone ?? 'UTC', slots: s?.slots ?? [], next: free.map((x) => x.toISOString()) };
  }

  async setSlots(workspaceId: string, accountId: string, timeZone: string, slots: Slot[], actor: Actor) {
    await this.d.db.transaction(async (tx) => {
      await putSchedule(tx, workspaceId, accountId, timeZone, slots);
      await audit(tx, { action: 'slots.updated', workspaceId, targetType: 'social_account', targetId: accountId, details: { timeZone, slots: slots.length }, ...actor });
    });
  }

  /** Targets queued on an account, in slot order, with their post's text. */
  async queueOf(workspaceId: string, accountId: string) {
    return this.d.db.select({ target: postTargets, text: posts.text }).from(postTargets).innerJoin(posts, eq(posts.id, postTargets.postId))
      .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.accountId, accountId), eq(postTargets.queued, true), eq(postTargets.state, 'scheduled')))
      .orderBy(asc(postTargets.publishAt));
  }

  /** A person checked the account after an unknown outcome: it was published (with its link), or it was not. */
  async resolveUnknown(workspaceId: string, postId: string, targetId: string, r: { outcome: 'published' | 'failed'; url?: string; remoteId?: string }, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const [t] = await tx.select().from(postTargets).where(and(eq(postTargets.id, targetId), eq(postTargets.postId, postId), eq(postTargets.workspaceId, workspaceId))).for('update');
      if (!t) throw new ApiError(404, 'NOT_FOUND', 'No such target of this post.');
      if (t.state !== 'unknown') throw new ApiError(409, 'NOT_UNKNOWN', `This target is ${t.state}; only an unknown outcome can be settled by hand.`);
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

  /** Puts the account's queued targets in this order, keeping the set of slot times they hold. */
  async reorderQueue(workspaceId: string, accountId: string, order: string[], actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const rows = await tx.select().from(postTargets).where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.accountId, accountId), eq(postTargets.queued, true), eq(postTargets.state, 'scheduled')))
        .orderBy(asc(postTargets.publishAt)).for('update');
      const ids = new Set(rows.map((r) => r.id));
      if (order.length !== rows.length || order.some((id) => !ids.has(id)) || new Set(order).size !== order.length) {
        throw new ApiError(400, 'VALIDATION_FAILED', `Give every queued target of this account exactly once (${rows.length} are queued).`, [{ field: 'body.targetIds', message: 'must be a permutation of the queue' }]);
      }
      const times = rows.map((r) => r.publishAt!);
      for (const [i, id] of order.entries()) {
        await tx.update(postTargets).set({ publishAt: times[i]!, nextAttemptAt: null, updatedAt: sql`now()` }).where(eq(postTargets.id, id));
        await enqueue(tx, id, times[i]!);
      }
      await audit(tx, { action: 'queue.reordered', workspaceId, targetType: 'social_account', targetId: accountId, ...actor });
    });
  }

  /** Targets whose publish time is due but which are still scheduled (for the lateness figures). */
  async dueScheduled(before: Date) {
    return this.d.db.select({ n: sql<number>`count(*)::int` }).from(postTargets).where(and(eq(postTargets.state, 'scheduled'), lte(postTargets.publishAt, before)));
  }
}

function assertNoProblems(problems: Problem[]): void {
  if (problems.length) {
    throw new ApiError(422, 'POST_INVALID', problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.message).join(' ')}`, problems);
  }
}

function maxOccurrence(targets: Target[], accountId: string): number {
  return Math.max(...targets.filter((t) => t.accountId === accountId).map((t) => t.occurrence));
}

function variantOf(t: TargetInput): Variant {
  return {
    ...(t.text !== undefined ? { text: t.text } : {}),
    ...(t.mediaIds !== undefined ? { mediaIds: t.mediaIds } : {}),
    ...(t.thread !== undefined && t.thread.length ? { thread: t.thread } : {}),
    ...(t.firstComment !== undefined ? { firstComment: t.firstComment } : {}),
    ...(t.options !== undefined ? { options: t.options } : {}),
  };
}

/** The target's one publishing job, added or moved to `runAt` (job key = target id). */
export async function enqueue(db: DbOrTx, targetId: string, runAt: Date): Promise<void> {
  await addJob(db, PUBLISH_TASK, { targetId }, { jobKey: `publish:${targetId}`, runAt, maxAttempts: 10 });
}

export async function removeJob(db: DbOrTx, targetId: string): Promise<void> {
  await db.execute(sql`select graphile_worker.remove_job(${`publish:${targetId}`})`);
}

/** The status a person reads for a post: where its targets are, taken together. */
export function aggregateStatus(post: Post, targets: Target[]): string {
  if (post.status !== 'scheduled') return post.status;
  // A recurring post is judged by each account's latest occurrence.
  const live = targets.filter((t) => t.state !== 'cancelled' && t.state !== 'draft' && t.occurrence === maxOccurrence(targets, t.accountId));
  const has = (s: TargetState) => live.some((t) => t.state === s);
  if (has('publishing')) return 'publishing';
  if (live.every((t) => t.state === 'published')) return 'published';
  if (has('scheduled')) return has('published') || has('failed') || has('unknown') ? 'partially_published' : 'scheduled';
  if (has('published')) return 'partially_published';
  if (has('unknown')) return 'unknown';
  return 'failed';
}
