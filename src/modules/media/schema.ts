import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

/** A folder of the media library (one level: folders hold files, not folders). */
export const mediaFolders = pgTable('media_folders', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('media_folders_name_key').on(t.workspaceId, sql`lower(${t.name})`),
  index('media_folders_list_idx').on(t.workspaceId, t.name, t.id),
]);

/** What becomes of an image's thumbnail and preview: null while they are to be made (the job's work list). */
export const PREVIEW_STATES = ['ready', 'failed', 'none'] as const;
export type PreviewState = (typeof PREVIEW_STATES)[number];

/**
 * An uploaded file, kept until someone deletes it. The bytes live in the media storage (local disk by
 * default) under storage_key; the type is what the bytes say, not the name. An image's thumbnail and
 * web-sized preview are made by a job and live beside it (thumbnail_key, preview_key).
 */
export const media = pgTable('media', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  uploadedBy: uuid('uploaded_by').references(() => users.id, { onDelete: 'set null' }),
  storageKey: text('storage_key').notNull(),
  fileName: text('file_name').notNull(),
  mimeType: text('mime_type').notNull(),
  bytes: bigint('bytes', { mode: 'number' }).notNull(),
  sha256: text('sha256').notNull(),
  width: integer('width'),
  height: integer('height'),
  durationSeconds: real('duration_seconds'),
  altText: text('alt_text'),
  /** No action on delete: a folder is deleted only once empty (the service says so first). */
  folderId: uuid('folder_id').references(() => mediaFolders.id),
  previewState: text('preview_state', { enum: PREVIEW_STATES }),
  thumbnailKey: text('thumbnail_key'),
  previewKey: text('preview_key'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // The library, newest first: all of it, one folder's (or the unfiled: folder_id is null), one kind's.
  index('media_list_idx').on(t.workspaceId, t.createdAt, t.id),
  index('media_folder_list_idx').on(t.workspaceId, t.folderId, t.createdAt, t.id),
  index('media_kind_list_idx').on(t.workspaceId, sql`split_part(${t.mimeType}, '/', 1)`, t.createdAt, t.id),
  // The previews still to make, oldest first (the hourly job re-queues those whose job was lost).
  index('media_previews_due_idx').on(t.createdAt).where(sql`preview_state is null`),
]);

/** A tag of the media library; a file has any number of them. */
export const mediaTags = pgTable('media_tags', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('media_tags_name_key').on(t.workspaceId, sql`lower(${t.name})`),
  index('media_tags_list_idx').on(t.workspaceId, t.name, t.id),
]);

/** A file's tags. created_at is the file's, so that one tag's files page newest first from this index alone. */
export const mediaTagLinks = pgTable('media_tag_links', {
  mediaId: uuid('media_id').notNull().references(() => media.id, { onDelete: 'cascade' }),
  tagId: uuid('tag_id').notNull().references(() => mediaTags.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [
  primaryKey({ columns: [t.mediaId, t.tagId] }),
  index('media_tag_links_list_idx').on(t.tagId, t.createdAt, t.mediaId),
]);
