// The media library's folders and tags, per workspace. A folder holds files (one level); a tag is a name
// any number of files carry. Names are unique in a workspace whatever their case ("Summer" and "summer"
// are one tag), lists are by name, a page at a time. A file's tags are set by name (missing tags are
// made), which is what a person types; a tag or folder of another workspace is "not found", like one that
// does not exist.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { media, mediaFolders, mediaTagLinks, mediaTags } from './schema.ts';

export type MediaFolder = typeof mediaFolders.$inferSelect;
export type MediaTag = typeof mediaTags.$inferSelect;

export const LABEL_MAX = 100;
/** Tags one file may carry. */
export const TAGS_MAX = 30;

const folderList = keyset('media-folders', { name: [mediaFolders.name, 'text'], id: [mediaFolders.id, 'uuid'] }, 'asc');
const tagList = keyset('media-tags', { name: [mediaTags.name, 'text'], id: [mediaTags.id, 'uuid'] }, 'asc');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A folder or tag name as stored: trimmed, 1 to 100 characters, no control characters. */
export function cleanLabel(value: string, field: string): string {
  const text = value.trim();
  if (text === '') throw new Invalid('VALIDATION_FAILED', `${field} must not be blank`, [{ field, message: 'must not be blank' }]);
  if (/\p{Cc}/u.test(text)) throw new Invalid('VALIDATION_FAILED', `${field} must not contain control characters (line breaks, tabs, NUL…)`, [{ field, message: 'must not contain control characters' }]);
  if ([...text].length > LABEL_MAX) throw new Invalid('VALIDATION_FAILED', `${field} is longer than ${LABEL_MAX} characters`, [{ field, message: `must be at most ${LABEL_MAX} characters` }]);
  return text;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === '23505' || (err as { cause?: { code?: string } })?.cause?.code === '23505';

export class MediaLibrary {
  constructor(private readonly db: Db) {}

  // ---------- folders ----------

  async folders(workspaceId: string, page: PageRequest): Promise<{ items: MediaFolder[]; nextCursor: string | null }> {
    const rows = await this.db.select({ folder: mediaFolders, cursorKey: folderList.fields.cursorKey }).from(mediaFolders)
      .where(and(eq(mediaFolders.workspaceId, workspaceId), folderList.startAfter(page)))
      .orderBy(...folderList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = folderList.page(rows, page.limit);
    return { items: items.map((r) => r.folder), nextCursor };
  }

  async folder(workspaceId: string, id: string, db: DbOrTx = this.db, field?: string): Promise<MediaFolder> {
    const [row] = UUID.test(id) ? await db.select().from(mediaFolders).where(and(eq(mediaFolders.id, id.toLowerCase()), eq(mediaFolders.workspaceId, workspaceId))) : [];
    if (!row) {
      if (field) throw new Invalid('UNKNOWN_FOLDER', `${field}: no folder "${id}" in this workspace; list them with GET …/media-folders, or create it first.`, [{ field, message: 'unknown folder' }]);
      throw new NotFound('NOT_FOUND', 'This folder does not exist in this workspace.');
    }
    return row;
  }

  async createFolder(workspaceId: string, name: string): Promise<MediaFolder> {
    const clean = cleanLabel(name, 'name');
    try {
      return (await this.db.insert(mediaFolders).values({ id: randomUUID(), workspaceId, name: clean }).returning())[0]!;
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('FOLDER_EXISTS', `A folder named "${clean}" already exists in this workspace (names are compared ignoring case); pick another name.`);
      throw err;
    }
  }

  async renameFolder(workspaceId: string, id: string, name: string): Promise<MediaFolder> {
    const clean = cleanLabel(name, 'name');
    await this.folder(workspaceId, id);
    try {
      const [row] = await this.db.update(mediaFolders).set({ name: clean }).where(and(eq(mediaFolders.id, id.toLowerCase()), eq(mediaFolders.workspaceId, workspaceId))).returning();
      if (!row) throw new NotFound('NOT_FOUND', 'This folder does not exist in this workspace.');
      return row;
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('FOLDER_EXISTS', `A folder named "${clean}" already exists in this workspace (names are compared ignoring case); pick another name.`);
      throw err;
    }
  }

  /** Deletes an empty folder; one that holds files is refused (409), so that nothing is moved or lost unasked. */
  async deleteFolder(workspaceId: string, id: string): Promise<void> {
    const folder = await this.folder(workspaceId, id);
    await this.db.transaction(async (tx) => {
      // Locked first: an upload into it (which reads it FOR SHARE) either committed before, and is counted, or waits and then fails.
      await tx.select({ id: mediaFolders.id }).from(mediaFolders).where(eq(mediaFolders.id, folder.id)).for('update');
      const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(media).where(and(eq(media.workspaceId, workspaceId), eq(media.folderId, folder.id)));
      if ((held?.n ?? 0) > 0) {
        throw new Conflict('FOLDER_NOT_EMPTY', `The folder "${folder.name}" holds ${held!.n} file${held!.n === 1 ? '' : 's'}: move ${held!.n === 1 ? 'it' : 'them'} to another folder (PATCH …/media/{id} {"folderId": …}) or delete ${held!.n === 1 ? 'it' : 'them'} first.`, { files: held!.n });
      }
      await tx.delete(mediaFolders).where(eq(mediaFolders.id, folder.id));
    });
  }

  // ---------- tags ----------

  async tags(workspaceId: string, page: PageRequest): Promise<{ items: MediaTag[]; nextCursor: string | null }> {
    const rows = await this.db.select({ tag: mediaTags, cursorKey: tagList.fields.cursorKey }).from(mediaTags)
      .where(and(eq(mediaTags.workspaceId, workspaceId), tagList.startAfter(page)))
      .orderBy(...tagList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = tagList.page(rows, page.limit);
    return { items: items.map((r) => r.tag), nextCursor };
  }

  async tag(workspaceId: string, id: string): Promise<MediaTag> {
    const [row] = UUID.test(id) ? await this.db.select().from(mediaTags).where(and(eq(mediaTags.id, id.toLowerCase()), eq(mediaTags.workspaceId, workspaceId))) : [];
    if (!row) throw new NotFound('NOT_FOUND', 'This tag does not exist in this workspace.');
    return row;
  }

  /** The tag of this name (any case) in the workspace, or null. */
  async tagNamed(workspaceId: string, name: string): Promise<MediaTag | null> {
    const [row] = await this.db.select().from(mediaTags).where(and(eq(mediaTags.workspaceId, workspaceId), sql`lower(${mediaTags.name}) = lower(${name.trim()})`));
    return row ?? null;
  }

  async createTag(workspaceId: string, name: string): Promise<MediaTag> {
    const clean = cleanLabel(name, 'name');
    const [row] = await this.ensureTags(this.db, workspaceId, [clean]);
    return row!;
  }

  async renameTag(workspaceId: string, id: string, name: string): Promise<MediaTag> {
    const clean = cleanLabel(name, 'name');
    await this.tag(workspaceId, id);
    try {
      const [row] = await this.db.update(mediaTags).set({ name: clean }).where(and(eq(mediaTags.id, id.toLowerCase()), eq(mediaTags.workspaceId, workspaceId))).returning();
      if (!row) throw new NotFound('NOT_FOUND', 'This tag does not exist in this workspace.');
      return row;
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('TAG_EXISTS', `A tag named "${clean}" already exists in this workspace (names are compared ignoring case); pick another name.`);
      throw err;
    }
  }

  /** Deletes a tag; the files that carried it stay, without it. */
  async deleteTag(workspaceId: string, id: string): Promise<void> {
    const tag = await this.tag(workspaceId, id);
    await this.db.delete(mediaTags).where(eq(mediaTags.id, tag.id));
  }

  /** The tags of these names in the workspace, made when missing (in the order given, duplicates once). */
  async ensureTags(db: DbOrTx, workspaceId: string, names: string[]): Promise<MediaTag[]> {
    const byLower = new Map<string, string>();
    for (const n of names) if (!byLower.has(n.toLowerCase())) byLower.set(n.toLowerCase(), n);
    if (byLower.size === 0) return [];
    await db.insert(mediaTags).values([...byLower.values()].map((name) => ({ id: randomUUID(), workspaceId, name })))
      .onConflictDoNothing();
    const rows = await db.select().from(mediaTags).where(and(eq(mediaTags.workspaceId, workspaceId), inArray(sql`lower(${mediaTags.name})`, [...byLower.keys()])));
    const found = new Map(rows.map((r) => [r.name.toLowerCase(), r]));
    return [...byLower.keys()].map((k) => found.get(k)!);
  }

  /** Replaces a file's tags (the file's row is the caller's, already checked to be in the workspace). */
  async setTags(tx: DbOrTx, workspaceId: string, file: { id: string; createdAt: Date }, names: string[]): Promise<void> {
    const clean = names.map((n, i) => cleanLabel(n, `tags[${i}]`));
    const unique = new Set(clean.map((n) => n.toLowerCase()));
    if (unique.size > TAGS_MAX) throw new Invalid('VALIDATION_FAILED', `A file carries at most ${TAGS_MAX} tags; this asks for ${unique.size}.`, [{ field: 'tags', message: `at most ${TAGS_MAX}` }]);
    const tags = await this.ensureTags(tx, workspaceId, clean);
    await tx.delete(mediaTagLinks).where(eq(mediaTagLinks.mediaId, file.id));
    if (tags.length) await tx.insert(mediaTagLinks).values(tags.map((t) => ({ mediaId: file.id, tagId: t.id, createdAt: file.createdAt })));
  }

  /** Each file's tag names, by name. */
  async tagsOf(ids: string[], db: DbOrTx = this.db): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(ids.map((i) => [i, []]));
    if (ids.length === 0) return out;
    // Each name by its tag's primary key (a subquery per link): a join may instead walk every tag of the
    // installation in id order, which the planner picks at times on small tables.
    const rows = await db.select({ mediaId: mediaTagLinks.mediaId, name: sql<string | null>`(select t.name from media_tags t where t.id = ${mediaTagLinks.tagId})` })
      .from(mediaTagLinks).where(inArray(mediaTagLinks.mediaId, ids));
    for (const r of rows) if (r.name !== null) out.get(r.mediaId)?.push(r.name);
    for (const list of out.values()) list.sort((a, b) => a.localeCompare(b));
    return out;
  }
}
