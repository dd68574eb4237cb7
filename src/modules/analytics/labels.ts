// Labels (campaigns, tags) of a workspace: created, renamed, recoloured and deleted by those who write
// posts, listed by name a page at a time, and put on posts, so that the overview and the post table
// group and filter results by them. A label and a post are always checked to be the workspace's own.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { labels, postLabels } from './schema.ts';
import { posts } from '../posts/schema.ts';

export interface Label {
  id: string;
  name: string;
  color: string;
  createdAt: string;
  updatedAt: string;
}

/** Labels one post may carry, and one workspace may have. */
export const MAX_POST_LABELS = 20;
export const MAX_WORKSPACE_LABELS = 1000;
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const CONTROL = /\p{Cc}/u;

export const labelList = keyset('labels', { name: [labels.name, 'text'], id: [labels.id, 'uuid'] }, 'asc');

const present = (r: typeof labels.$inferSelect): Label => ({
  id: r.id, name: r.name, color: r.color, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString(),
});

function cleanLabelName(value: string, field: string): string {
  const name = value.trim();
  if (name === '') throw new Invalid('VALIDATION_FAILED', `${field} must not be blank.`, [{ field, message: 'must not be blank' }]);
  if (CONTROL.test(name)) throw new Invalid('VALIDATION_FAILED', `${field} must not contain control characters (line breaks, tabs…).`, [{ field, message: 'control characters' }]);
  return name;
}

function cleanColor(value: string, field: string): string {
  if (!COLOR_RE.test(value)) throw new Invalid('VALIDATION_FAILED', `${field}: "${value}" is not a colour like #1d9bf0.`, [{ field, message: 'not #rrggbb' }]);
  return value.toLowerCase();
}

const isUniqueViolation = (err: unknown) => (err as { code?: string; cause?: { code?: string } }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';

export class LabelService {
  constructor(private readonly d: { db: Db }) {}

  async list(workspaceId: string, page: PageRequest): Promise<{ items: Label[]; nextCursor: string | null }> {
    const after = labelList.startAfter(page);
    const rows = await this.d.db.select({ row: labels, ...labelList.fields }).from(labels)
      .where(and(eq(labels.workspaceId, workspaceId), after)).orderBy(...labelList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = labelList.page(rows, page.limit);
    return { items: items.map((r) => present(r.row)), nextCursor };
  }

  async get(workspaceId: string, labelId: string): Promise<Label> {
    const [row] = await this.d.db.select().from(labels).where(and(eq(labels.id, labelId), eq(labels.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such label in this workspace.');
    return present(row);
  }

  async create(workspaceId: string, input: { name: string; color: string }): Promise<Label> {
    const name = cleanLabelName(input.name, 'body.name');
    const color = cleanColor(input.color, 'body.color');
    const [{ n }] = (await this.d.db.execute<{ n: number }>(sql`select count(*)::int as n from labels where workspace_id = ${workspaceId}`)).rows as [{ n: number }];
    if (n >= MAX_WORKSPACE_LABELS) throw new Conflict('TOO_MANY_LABELS', `A workspace has at most ${MAX_WORKSPACE_LABELS} labels; delete some first.`);
    try {
      const [row] = await this.d.db.insert(labels).values({ id: randomUUID(), workspaceId, name, color }).returning();
      return present(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('LABEL_EXISTS', `This workspace already has a label named "${name}".`);
      throw err;
    }
  }

  async update(workspaceId: string, labelId: string, input: { name?: string | undefined; color?: string | undefined }): Promise<Label> {
    const set: Partial<typeof labels.$inferInsert> = {};
    if (input.name !== undefined) set.name = cleanLabelName(input.name, 'body.name');
    if (input.color !== undefined) set.color = cleanColor(input.color, 'body.color');
    if (Object.keys(set).length === 0) return this.get(workspaceId, labelId);
    try {
      const [row] = await this.d.db.update(labels).set({ ...set, updatedAt: sql`now()` })
        .where(and(eq(labels.id, labelId), eq(labels.workspaceId, workspaceId))).returning();
      if (!row) throw new NotFound('NOT_FOUND', 'No such label in this workspace.');
      return present(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('LABEL_EXISTS', `This workspace already has a label named "${set.name}".`);
      throw err;
    }
  }

  /** Deletes the label; the posts that carried it keep their other labels. */
  async remove(workspaceId: string, labelId: string): Promise<void> {
    const res = await this.d.db.delete(labels).where(and(eq(labels.id, labelId), eq(labels.workspaceId, workspaceId))).returning({ id: labels.id });
    if (res.length === 0) throw new NotFound('NOT_FOUND', 'No such label in this workspace.');
  }

  /** The labels a post carries, by name. */
  async ofPost(workspaceId: string, postId: string): Promise<Label[]> {
    await this.assertPost(workspaceId, postId);
    const rows = await this.d.db.select({ row: labels }).from(postLabels).innerJoin(labels, eq(labels.id, postLabels.labelId))
      .where(and(eq(postLabels.postId, postId), eq(postLabels.workspaceId, workspaceId))).orderBy(labels.name, labels.id);
    return rows.map((r) => present(r.row));
  }

  /** Replaces the labels a post carries with these (each the workspace's own), in one transaction. */
  async setForPost(workspaceId: string, postId: string, labelIds: string[]): Promise<Label[]> {
    const ids = [...new Set(labelIds.map((id) => id.toLowerCase()))];
    if (ids.length > MAX_POST_LABELS) throw new Invalid('VALIDATION_FAILED', `A post carries at most ${MAX_POST_LABELS} labels.`, [{ field: 'body.labelIds', message: 'too many' }]);
    await this.d.db.transaction(async (tx) => {
      // The post's row, locked, so that a concurrent delete of the post waits or wins cleanly.
      const post = await tx.execute(sql`select id from posts where id = ${postId} and workspace_id = ${workspaceId} for update`);
      if (post.rows.length === 0) throw new NotFound('NOT_FOUND', 'No such post in this workspace.');
      if (ids.length > 0) {
        const found = await tx.select({ id: labels.id }).from(labels).where(and(eq(labels.workspaceId, workspaceId), sql`${labels.id} in ${ids}`)).for('share');
        const missing = ids.filter((id) => !found.some((f) => f.id === id));
        if (missing.length > 0) throw new NotFound('NOT_FOUND', `No such label in this workspace: ${missing.join(', ')}.`);
      }
      await tx.delete(postLabels).where(and(eq(postLabels.postId, postId), ids.length > 0 ? sql`${postLabels.labelId} not in ${ids}` : undefined));
      if (ids.length > 0) await tx.insert(postLabels).values(ids.map((labelId) => ({ postId, labelId, workspaceId }))).onConflictDoNothing();
    });
    return this.ofPost(workspaceId, postId);
  }

  private async assertPost(workspaceId: string, postId: string): Promise<void> {
    const [row] = await this.d.db.select({ id: posts.id }).from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such post in this workspace.');
  }
}
