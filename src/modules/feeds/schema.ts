import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';
import { posts } from '../posts/schema.ts';

/** What a feed's new items become: drafts, or posts placed in each account's queue. */
export const FEED_MODES = ['draft', 'queue'] as const;
export type FeedMode = (typeof FEED_MODES)[number];

/**
 * An RSS, Atom or JSON Feed source of a workspace and its rule. Fetched every interval_minutes (next_fetch_at),
 * conditionally (etag, last_modified); a failing feed waits longer after each failure (error_count) and says
 * why (last_error). Items present when it was added are remembered, not posted (initialized_at).
 */
export const feeds = pgTable('feeds', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  url: text('url').notNull(),
  title: text('title'),
  mode: text('mode', { enum: FEED_MODES }).notNull(),
  accountIds: uuid('account_ids').array().notNull(),
  template: text('template').notNull(),
  intervalMinutes: integer('interval_minutes').notNull(),
  pausedAt: timestamp('paused_at', { withTimezone: true }),
  etag: text('etag'),
  lastModified: text('last_modified'),
  nextFetchAt: timestamp('next_fetch_at', { withTimezone: true }).notNull(),
  lastFetchedAt: timestamp('last_fetched_at', { withTimezone: true }),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  lastError: text('last_error'),
  errorCount: integer('error_count').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index('feeds_list_idx').on(t.workspaceId, t.createdAt, t.id),
  // The fetch job's work list: the active feeds whose time has come.
  index('feeds_due_idx').on(t.nextFetchAt).where(sql`paused_at is null`),
]);

/** What became of a feed item: remembered when the feed was added, made into a post (as a draft or scheduled), or refused. */
export const FEED_ITEM_STATES = ['seen', 'draft', 'scheduled', 'submitted', 'failed'] as const;
export type FeedItemState = (typeof FEED_ITEM_STATES)[number];

/**
 * An item a feed has shown, once: `key` is its id (guid, Atom id, JSON Feed id), else its link, else a hash of its
 * title and date; an item whose link is one already seen is the same item under a new id (both unique per feed).
 */
export const feedItems = pgTable('feed_items', {
  id: uuid('id').primaryKey(),
  feedId: uuid('feed_id').notNull().references(() => feeds.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  link: text('link'),
  title: text('title'),
  publishedAt: timestamp('published_at', { withTimezone: true }),
  state: text('state', { enum: FEED_ITEM_STATES }).notNull(),
  /** The post made from it; null when none was (seen, failed) or the post was deleted since. */
  postId: uuid('post_id').references(() => posts.id, { onDelete: 'set null' }),
  /** Why it is a draft instead of scheduled, or why no post was made. */
  reason: text('reason'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('feed_items_key_key').on(t.feedId, t.key),
  uniqueIndex('feed_items_link_key').on(t.feedId, t.link).where(sql`link is not null`),
  index('feed_items_list_idx').on(t.feedId, t.createdAt, t.id),
  // Deleting a post clears its link here without a scan.
  index('feed_items_post_idx').on(t.postId).where(sql`post_id is not null`),
]);
