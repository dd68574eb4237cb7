// Templates and hashtag groups: a workspace's reusable content, shared with every member or kept personal.
// Both are named (unique per owner whatever the case), at most so many per workspace, listed by name a page
// at a time (the (workspace, lower(name), id) index), and written under the workspace's hold with an audit
// entry. A member sees the workspace's items and their own; another member's personal item is "not found".
import { randomUUID } from 'node:crypto';
import { and, eq, isNull, or, sql, type Column, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '../../infra/db/client.ts';
import { pgErrorCode } from '../../infra/db/errors.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { PROVIDER_IDS } from '../../providers/types.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { cleanName, holdWorkspace } from '../workspaces/index.ts';
import { FIELD_VALUE_MAX, fieldsIn, fillFields } from './fields.ts';
import { cleanHashtags } from './hashtags.ts';
import { hashtagGroups, postTemplates } from './schema.ts';

export const TEMPLATES_MAX = 1000;
export const HASHTAG_GROUPS_MAX = 500;
export const TEMPLATE_TEXT_MAX = 10_000;
export const TEMPLATE_MEDIA_MAX = 20;

export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type TemplateRow = typeof postTemplates.$inferSelect;
export type HashtagGroupRow = typeof hashtagGroups.$inferSelect;
export interface Template extends TemplateRow { fields: string[] }

export interface TemplateDeps {
  db: Db;
  /** The media library: ids not in the workspace are refused (and locked FOR SHARE inside `tx`). */
  media: { describe(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<unknown[]> };
}

/**
 * Who asks: a member (sees personal items, may own them) or an API key (`viewer` null: the workspace's
 * items only). Keys act for the workspace, never as a person.
 */
export interface Viewer { workspaceId: string; userId: string | null }

export interface TemplateInput { name: string; text: string; variants?: Record<string, string>; mediaIds?: string[]; personal?: boolean }
export interface HashtagGroupInput { name: string; hashtags: string[]; personal?: boolean }

const templateList = keyset('templates', { name: [sql`lower(${postTemplates.name})`, 'text'], id: [postTemplates.id, 'uuid'] }, 'asc');
const groupList = keyset('hashtag-groups', { name: [sql`lower(${hashtagGroups.name})`, 'text'], id: [hashtagGroups.id, 'uuid'] }, 'asc');

/** Part of a name, ignoring case: strpos, so % and _ are plain characters. */
const nameHas = (column: Column, q: string | undefined): SQL | undefined =>
  (q ? sql`strpos(lower(${column}), lower(${q})) > 0` : undefined);

const noTemplate = () => new NotFound('NOT_FOUND', 'No such template in this workspace (a personal template is seen only by the member who made it).');
const noGroup = () => new NotFound('NOT_FOUND', 'No such hashtag group in this workspace (a personal group is seen only by the member who made it).');

/** Items the viewer may see: the workspace's, and their own. */
function visible(table: typeof postTemplates | typeof hashtagGroups, v: Viewer): SQL {
  return and(eq(table.workspaceId, v.workspaceId), v.userId ? or(isNull(table.ownerId), eq(table.ownerId, v.userId)) : isNull(table.ownerId))!;
}

function ownerFor(v: Viewer, personal: boolean | undefined): string | null {
  if (!personal) return null;
  if (!v.userId) throw new Invalid('PERSONAL_NEEDS_MEMBER', 'An API key acts for the workspace and has no personal items: leave out "personal" (or set it false).', [{ field: 'body.personal', message: 'not for API keys' }]);
  return v.userId;
}

async function named<T>(what: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (pgErrorCode(err) === '23505') throw new Conflict('NAME_TAKEN', `There is already ${what} named "${name}" (names are compared without case; personal ones per member).`,
      [{ field: 'body.name', message: 'taken' }]);
    throw err;
  }
}

/** Refuses a new item past `max` in the workspace; creations in one workspace wait for each other (advisory lock). */
async function room(tx: Tx, table: typeof postTemplates | typeof hashtagGroups, workspaceId: string, max: number, what: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${what}:${workspaceId}`}, 0))`);
  const res = await tx.execute<{ n: number }>(sql`select count(*)::int as n from ${table} where workspace_id = ${workspaceId}`);
  if ((res.rows[0]?.n ?? 0) >= max) throw new Conflict('TOO_MANY', `A workspace can have at most ${max} ${what}; delete one first.`);
}

function checkText(text: string, field: string): string {
  if (text.trim() === '') throw new Invalid('VALIDATION_FAILED', `${field} must not be blank.`, [{ field, message: 'blank' }]);
  return text;
}

function checkVariants(variants: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [network, text] of Object.entries(variants)) {
    if (!(PROVIDER_IDS as readonly string[]).includes(network)) {
      throw new Invalid('UNKNOWN_NETWORK', `body.variants.${network}: no such network; the networks are ${PROVIDER_IDS.join(', ')}.`, [{ field: `body.variants.${network}`, message: 'unknown network' }]);
    }
    out[network] = checkText(text, `body.variants.${network}`);
  }
  return out;
}

const withFields = (row: TemplateRow): Template => ({
  ...row,
  fields: fieldsIn([{ field: 'body.text', text: row.text }, ...Object.entries(row.variants).map(([n, text]) => ({ field: `body.variants.${n}`, text }))]),
});

export class TemplateService {
  constructor(private readonly d: TemplateDeps) {}

  /** `q`: part of the name, ignoring case (checked on the rows the name index yields: a workspace holds at most 1,000). */
  async listTemplates(v: Viewer, page: PageRequest & { q?: string | undefined }): Promise<{ items: Template[]; nextCursor: string | null }> {
    const rows = await this.d.db.select({ row: postTemplates, ...templateList.fields }).from(postTemplates)
      .where(and(visible(postTemplates, v), nameHas(postTemplates.name, page.q), templateList.startAfter(page))).orderBy(...templateList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = templateList.page(rows, page.limit);
    return { items: items.map((r) => withFields(r.row)), nextCursor };
  }

  async getTemplate(v: Viewer, id: string, db: DbOrTx = this.d.db): Promise<Template> {
    const [row] = await db.select().from(postTemplates).where(and(eq(postTemplates.id, id), visible(postTemplates, v)));
    if (!row) throw noTemplate();
    return withFields(row);
  }

  async createTemplate(v: Viewer, input: TemplateInput, actor: Actor): Promise<Template> {
    const name = cleanName(input.name, 'body.name');
    const text = checkText(input.text, 'body.text');
    const variants = checkVariants(input.variants ?? {});
    fieldsIn([{ field: 'body.text', text }, ...Object.entries(variants).map(([n, t]) => ({ field: `body.variants.${n}`, text: t }))]);
    const mediaIds = [...new Set((input.mediaIds ?? []).map((m) => m.toLowerCase()))];
    const ownerId = ownerFor(v, input.personal);
    return named('a template', name, () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      await room(tx, postTemplates, v.workspaceId, TEMPLATES_MAX, 'templates');
      if (mediaIds.length) await this.d.media.describe(v.workspaceId, mediaIds, tx);
      const [row] = await tx.insert(postTemplates).values({ id: randomUUID(), workspaceId: v.workspaceId, ownerId, name, text, variants, mediaIds, createdBy: v.userId }).returning();
      await audit(tx, { action: 'template.created', workspaceId: v.workspaceId, targetType: 'post_template', targetId: row!.id, details: { name, personal: ownerId !== null }, ...actor });
      return withFields(row!);
    }));
  }

  async updateTemplate(v: Viewer, id: string, patch: Partial<Omit<TemplateInput, 'personal'>>, actor: Actor): Promise<Template> {
    const name = patch.name !== undefined ? cleanName(patch.name, 'body.name') : undefined;
    const text = patch.text !== undefined ? checkText(patch.text, 'body.text') : undefined;
    const variants = patch.variants !== undefined ? checkVariants(patch.variants) : undefined;
    const mediaIds = patch.mediaIds !== undefined ? [...new Set(patch.mediaIds.map((m) => m.toLowerCase()))] : undefined;
    return named('a template', name ?? '', () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      const current = await this.getTemplate(v, id, tx);
      fieldsIn([{ field: 'body.text', text: text ?? current.text }, ...Object.entries(variants ?? current.variants).map(([n, t]) => ({ field: `body.variants.${n}`, text: t }))]);
      if (mediaIds?.length) await this.d.media.describe(v.workspaceId, mediaIds, tx);
      const [row] = await tx.update(postTemplates).set({
        ...(name !== undefined ? { name } : {}), ...(text !== undefined ? { text } : {}), ...(variants !== undefined ? { variants } : {}),
        ...(mediaIds !== undefined ? { mediaIds } : {}), updatedAt: sql`now()`,
      }).where(eq(postTemplates.id, current.id)).returning();
      await audit(tx, { action: 'template.updated', workspaceId: v.workspaceId, targetType: 'post_template', targetId: id, details: { name: row!.name, changed: Object.keys(patch) }, ...actor });
      return withFields(row!);
    }));
  }

  async deleteTemplate(v: Viewer, id: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      const [row] = await tx.delete(postTemplates).where(and(eq(postTemplates.id, id), visible(postTemplates, v))).returning({ name: postTemplates.name });
      if (!row) throw noTemplate();
      await audit(tx, { action: 'template.deleted', workspaceId: v.workspaceId, targetType: 'post_template', targetId: id, details: { name: row.name }, ...actor });
    });
  }

  /**
   * The template's content with its fields filled in, ready for the composer or POST …/posts: every field
   * must be given (a missing one is refused naming them all); values are inserted as given, one line each.
   */
  async render(v: Viewer, id: string, values: Record<string, string>): Promise<{ text: string; variants: Record<string, string>; mediaIds: string[] }> {
    const t = await this.getTemplate(v, id);
    const missing = t.fields.filter((f) => !(f in values) || values[f]!.trim() === '');
    if (missing.length) {
      throw new Invalid('MISSING_FIELDS', `This template asks for ${missing.map((f) => `{{${f}}}`).join(', ')}: give ${missing.length === 1 ? 'it' : 'each'} a value in body.values.`,
        missing.map((f) => ({ field: `body.values.${f}`, message: 'missing' })));
    }
    for (const [k, val] of Object.entries(values)) {
      if (val.length > FIELD_VALUE_MAX || /[\r\n]/.test(val)) {
        throw new Invalid('VALIDATION_FAILED', `body.values.${k} must be one line of at most ${FIELD_VALUE_MAX} characters.`, [{ field: `body.values.${k}`, message: 'too long or several lines' }]);
      }
    }
    return {
      text: fillFields(t.text, values),
      variants: Object.fromEntries(Object.entries(t.variants).map(([n, text]) => [n, fillFields(text, values)])),
      mediaIds: t.mediaIds,
    };
  }

  /** `q`: part of the name, ignoring case (at most 500 groups a workspace to check). */
  async listGroups(v: Viewer, page: PageRequest & { q?: string | undefined }): Promise<{ items: HashtagGroupRow[]; nextCursor: string | null }> {
    const rows = await this.d.db.select({ row: hashtagGroups, ...groupList.fields }).from(hashtagGroups)
      .where(and(visible(hashtagGroups, v), nameHas(hashtagGroups.name, page.q), groupList.startAfter(page))).orderBy(...groupList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = groupList.page(rows, page.limit);
    return { items: items.map((r) => r.row), nextCursor };
  }

  async getGroup(v: Viewer, id: string): Promise<HashtagGroupRow> {
    const [row] = await this.d.db.select().from(hashtagGroups).where(and(eq(hashtagGroups.id, id), visible(hashtagGroups, v)));
    if (!row) throw noGroup();
    return row;
  }

  async createGroup(v: Viewer, input: HashtagGroupInput, actor: Actor): Promise<HashtagGroupRow> {
    const name = cleanName(input.name, 'body.name');
    const hashtags = cleanHashtags(input.hashtags);
    const ownerId = ownerFor(v, input.personal);
    return named('a hashtag group', name, () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      await room(tx, hashtagGroups, v.workspaceId, HASHTAG_GROUPS_MAX, 'hashtag groups');
      const [row] = await tx.insert(hashtagGroups).values({ id: randomUUID(), workspaceId: v.workspaceId, ownerId, name, hashtags, createdBy: v.userId }).returning();
      await audit(tx, { action: 'hashtag_group.created', workspaceId: v.workspaceId, targetType: 'hashtag_group', targetId: row!.id, details: { name, personal: ownerId !== null }, ...actor });
      return row!;
    }));
  }

  async updateGroup(v: Viewer, id: string, patch: { name?: string; hashtags?: string[] }, actor: Actor): Promise<HashtagGroupRow> {
    const name = patch.name !== undefined ? cleanName(patch.name, 'body.name') : undefined;
    const hashtags = patch.hashtags !== undefined ? cleanHashtags(patch.hashtags) : undefined;
    return named('a hashtag group', name ?? '', () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      const [row] = await tx.update(hashtagGroups).set({ ...(name !== undefined ? { name } : {}), ...(hashtags !== undefined ? { hashtags } : {}), updatedAt: sql`now()` })
        .where(and(eq(hashtagGroups.id, id), visible(hashtagGroups, v))).returning();
      if (!row) throw noGroup();
      await audit(tx, { action: 'hashtag_group.updated', workspaceId: v.workspaceId, targetType: 'hashtag_group', targetId: id, details: { name: row.name, changed: Object.keys(patch) }, ...actor });
      return row;
    }));
  }

  async deleteGroup(v: Viewer, id: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, v.workspaceId);
      const [row] = await tx.delete(hashtagGroups).where(and(eq(hashtagGroups.id, id), visible(hashtagGroups, v))).returning({ name: hashtagGroups.name });
      if (!row) throw noGroup();
      await audit(tx, { action: 'hashtag_group.deleted', workspaceId: v.workspaceId, targetType: 'hashtag_group', targetId: id, details: { name: row.name }, ...actor });
    });
  }
}
