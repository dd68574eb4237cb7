// Reading posts: one with its targets and attempts, a keyset-paged list, and the row locks every change
// of a post takes first (the post, then its targets, in that order, so two changes never deadlock).
import { and, asc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { posts, postTargets, publishAttempts, type PostStatus } from './schema.ts';
import { notFound, type Post, type Target } from './model.ts';

const postList = keyset('posts', { createdAt: [posts.createdAt, 'time'], id: [posts.id, 'uuid'] }, 'desc');

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

  /**
   * Newest first, a page at a time (`cursor` is the previous page's nextCursor); `before` keeps only posts
   * created before an instant. Served by posts_list_idx, or posts_status_list_idx with a status.
   */
  async list(workspaceId: string, opts: PageRequest & { status?: PostStatus | undefined; before?: string | undefined }) {
    const rows = await this.d.db.select({ post: posts, cursorKey: postList.fields.cursorKey }).from(posts).where(and(
      eq(posts.workspaceId, workspaceId),
      opts.status ? eq(posts.status, opts.status) : undefined,
      // As given (not through a Date, which would round it to the millisecond).
      opts.before ? lt(posts.createdAt, sql`${opts.before}::timestamptz`) : undefined,
      postList.startAfter(opts),
    )).orderBy(...postList.orderBy).limit(opts.limit + 1);
    const { items, nextCursor } = postList.page(rows, opts.limit);
    const targets = items.length ? await this.d.db.select().from(postTargets).where(inArray(postTargets.postId, items.map((r) => r.post.id))).orderBy(asc(postTargets.occurrence)) : [];
    const byPost = new Map<string, Target[]>();
    for (const t of targets) {
      const list = byPost.get(t.postId);
      if (list) list.push(t);
      else byPost.set(t.postId, [t]);
    }
    return { items: items.map(({ post }) => ({ post, targets: byPost.get(post.id) ?? [] })), nextCursor };
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
