import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

const at = (name: string) => timestamp(name, { withTimezone: true });
/** The owner of workspace-wide items in the unique name index (a personal item's owner is a user id). */
const SHARED = sql`'00000000-0000-0000-0000-000000000000'::uuid`;

/**
 * Reusable post content: text with {{fields}} filled in when it is used, per-network texts, and media from
 * the library. owner_id null: the workspace's, seen by every member; set: that member's own (personal).
 */
export const postTemplates = pgTable('post_templates', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  text: text('text').notNull(),
  /** Per-network text replacing `text` for that network: { [providerId]: text }. */
  variants: jsonb('variants').$type<Record<string, string>>().notNull().default({}),
  mediaIds: uuid('media_ids').array().notNull().default(sql`'{}'::uuid[]`),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
}, (t) => [
  // Serves the list (workspace, then by name) and keeps names unique per owner whatever their case.
  uniqueIndex('post_templates_name_key').on(t.workspaceId, sql`coalesce(${t.ownerId}, ${SHARED})`, sql`lower(${t.name})`),
  index('post_templates_list_idx').on(t.workspaceId, sql`lower(${t.name})`, t.id),
  // "Which templates use this file" (the media library's in-use check).
  index('post_templates_media_ids_idx').using('gin', t.mediaIds),
]);

/** A named set of hashtags inserted together in the composer; owner_id as for templates. */
export const hashtagGroups = pgTable('hashtag_groups', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  hashtags: text('hashtags').array().notNull(),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('hashtag_groups_name_key').on(t.workspaceId, sql`coalesce(${t.ownerId}, ${SHARED})`, sql`lower(${t.name})`),
  index('hashtag_groups_list_idx').on(t.workspaceId, sql`lower(${t.name})`, t.id),
]);
