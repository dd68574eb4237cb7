// Reading posts: one with its targets and attempts, a keyset-paged list, and the row locks every change
// of a post takes first (the post, then its targets, in that order, so two changes never deadlock).
import { and, asc, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { posts, postTargets, publishAttempts, type PostStatus } from './schema.ts';
import { notFound, type Post, type Target } from './model.ts';

export class PostReader {
  constructor(private readonly d: { db: Db }) {}

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

  /** Targets whose publish time is due but which are still scheduled (for the lateness figures). */
  async dueScheduled(before: Date) {
    return this.d.db.select({ n: sql<number>`count(*)::int` }).from(postTargets).where(and(eq(postTargets.state, 'scheduled'), lte(postTargets.publishAt, before)));
  }
}

/** The post and its targets, locked FOR UPDATE in the caller's transaction. */
export async function lockPost(tx: DbOrTx, workspaceId: string, postId: string): Promise<{ post: Post; targets: Target[] }> {
  const [post] = await tx.select().from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId))).for('update');
  if (!post) throw notFound();
  const targets = await tx.select().from(postTargets).where(eq(postTargets.postId, postId)).orderBy(asc(postTargets.occurrence)).for('update');
  return { post, targets };
}
