// Writing posts: a draft with a base text and per-account variants (scheduled in the same transaction when
// asked), an edit of a post that has not started publishing, and deletion. Content is validated by each
// network's rules (validation.ts); scheduling itself is scheduling.ts's.
import { randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { Conflict, Forbidden, Invalid } from '../../domain/errors.ts';
import { audit } from '../audit/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { posts, postTargets, type Recurrence, type TargetState } from './schema.ts';
import { EDITABLE, variantOf, type Actor, type Editor, type PostInput, type ScheduleSpec } from './model.ts';
import { enqueue, removeJob } from './jobs.ts';
import { lockPost } from './read.ts';
import { assertNoProblems, type PostValidator } from './validation.ts';
import type { PostScheduling } from './scheduling.ts';
import type { PostQueue } from './queue.ts';

export interface WriteDeps {
  db: Db;
  validator: PostValidator;
  scheduling: PostScheduling;
  queue: PostQueue;
  now: () => Date;
}

export class PostWriter {
  constructor(private readonly d: WriteDeps) {}

  /**
   * A new draft, scheduled in the same transaction when `schedule` is given (one validation, one
   * transaction: a post is either saved and scheduled, or not saved at all).
   */
  async create(workspaceId: string, userId: string | null, input: PostInput, actor: Actor, schedule?: { spec: ScheduleSpec; recurrence: Recurrence | null }): Promise<string> {
    return (await this.d.db.transaction((tx) => this.createIn(tx, workspaceId, userId, input, actor, schedule))).id;
  }

  /** `create` in the caller's transaction: the new post's id, and its time when it was scheduled. */
  async createIn(tx: DbOrTx, workspaceId: string, userId: string | null, input: PostInput, actor: Actor, schedule?: { spec: ScheduleSpec; recurrence: Recurrence | null }): Promise<{ id: string; publishAt: Date | null }> {
    if (input.targets.length === 0) throw new Invalid('VALIDATION_FAILED', 'Choose at least one account to post to.', [{ field: 'body.targets', message: 'empty' }]);
    const id = randomUUID();
    // Unknown accounts and media are refused even for drafts; rule problems only when scheduling.
    const { problems, accounts } = await this.d.validator.validate(workspaceId, input, tx);
    if (schedule) assertNoProblems(problems);
    const [post] = await tx.insert(posts).values({ id, workspaceId, createdBy: userId, text: input.text, mediaIds: input.mediaIds ?? [] }).returning();
    const targets = await tx.insert(postTargets).values(input.targets.map((t) => ({
      id: randomUUID(), postId: id, workspaceId, accountId: t.accountId, provider: accounts.find((a) => a.id === t.accountId)!.provider, variant: variantOf(t),
    }))).returning();
    await audit(tx, { action: 'post.created', workspaceId, targetType: 'post', targetId: id, details: { targets: input.targets.length, ...(schedule ? { scheduled: schedule.spec.mode } : {}) }, ...actor });
    const publishAt = schedule ? await this.d.scheduling.scheduleLocked(tx, post!, targets, schedule.spec, schedule.recurrence, accounts) : null;
    return { id, publishAt };
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
      const { post, targets } = await lockPost(tx, workspaceId, postId);
      if (expectedVersion !== undefined && expectedVersion !== post.version) {
        throw new Conflict('VERSION_CONFLICT', `The post changed since you loaded it (version ${post.version}, yours ${expectedVersion}); reload it and apply your change again.`);
      }
      if (!editor.mayApprove && post.status === 'scheduled' && await this.d.scheduling.requiresApproval(workspaceId, tx)) {
        throw new Forbidden('APPROVAL_REQUIRED', 'This post was approved and is scheduled; a change needs approval again: unschedule it, edit it, and submit it.');
      }
      const resubmitted = !editor.mayApprove && post.status === 'pending_approval';
      const live = targets.filter((t) => !EDITABLE.includes(t.state));
      if (live.length) throw new Conflict('POST_PUBLISHING', 'This post has started publishing or is published; it cannot be edited. Duplicate it to post again.');
      if (input.targets.length === 0) throw new Invalid('VALIDATION_FAILED', 'Choose at least one account to post to.', [{ field: 'body.targets', message: 'empty' }]);
      if (post.status === 'scheduled' || post.status === 'pending_approval') await this.d.validator.assertValid(workspaceId, input, tx);
      else await this.d.validator.validate(workspaceId, input, tx);
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
            if (post.scheduleMode === 'queue') await this.d.queue.place(tx, [row!]);
            else await enqueue(tx, row!.id, post.publishAt ?? this.d.now());
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
      const { targets } = await lockPost(tx, workspaceId, postId);
      if (targets.some((t) => t.state === 'publishing')) throw new Conflict('POST_PUBLISHING', 'This post is being published right now; wait for it to finish, then delete it.');
      for (const t of targets) await removeJob(tx, t.id);
      await tx.delete(posts).where(eq(posts.id, postId));
      await audit(tx, { action: 'post.deleted', workspaceId, targetType: 'post', targetId: postId, details: { published: targets.filter((t) => t.state === 'published').length }, ...actor });
    });
  }
}
