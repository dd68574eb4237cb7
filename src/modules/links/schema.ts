import { bigint, boolean, date, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { bytea } from '../auth/schema.ts';
import { posts } from '../posts/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

export const CAMPAIGN_MODES = ['label', 'fixed', 'none'] as const;
export type CampaignMode = (typeof CAMPAIGN_MODES)[number];

/** A workspace's link rules; no row means shortening off and the default UTM rules. */
export const linkSettings = pgTable('link_settings', {
  workspaceId: uuid('workspace_id').primaryKey().references(() => workspaces.id, { onDelete: 'cascade' }),
  shorten: boolean('shorten').notNull().default(false),
  /** utm_source per network id, where it is not the network id itself. */
  utmSources: jsonb('utm_sources').$type<Record<string, string>>().notNull().default({}),
  utmMedium: text('utm_medium').notNull().default('social'),
  /** label: the post's first label by name (else utm_campaign, if set); fixed: utm_campaign; none: no utm_campaign. */
  campaignMode: text('campaign_mode', { enum: CAMPAIGN_MODES }).notNull().default('label'),
  utmCampaign: text('utm_campaign'),
  /** A template with {network} and {post}; null: no utm_content. */
  utmContent: text('utm_content'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A short link `/l/{code}`: one per post, network and URL as written, so clicks count per network. The
 * destination (the URL with the UTM parameters of the rules at publish time) is fixed once made: a link
 * already on a network keeps going where it went. A deleted post leaves its links working.
 */
export const links = pgTable('links', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  postId: uuid('post_id').references(() => posts.id, { onDelete: 'set null' }),
  network: text('network').notNull(),
  code: text('code').notNull(),
  url: text('url').notNull(),
  /** SHA-256 of url: the unique key (a URL may be longer than a btree entry allows). */
  urlHash: bytea('url_hash').notNull(),
  destination: text('destination').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('links_code_key').on(t.code),
  uniqueIndex('links_post_network_url_key').on(t.postId, t.network, t.urlHash),
  // The workspace's links, newest first: all of them, or one post's.
  index('links_list_idx').on(t.workspaceId, t.createdAt, t.id),
  index('links_post_list_idx').on(t.workspaceId, t.postId, t.createdAt, t.id),
]);

/**
 * Clicks of a link on one UTC day, people and bots (link-preview fetchers, crawlers) apart. Counters only:
 * nothing of the person who clicked (no address, no user agent, no hash of them) is stored anywhere.
 */
export const linkClicks = pgTable('link_clicks', {
  linkId: uuid('link_id').notNull().references(() => links.id, { onDelete: 'cascade' }),
  day: date('day', { mode: 'string' }).notNull(),
  workspaceId: uuid('workspace_id').notNull(),
  network: text('network').notNull(),
  clicks: bigint('clicks', { mode: 'number' }).notNull().default(0),
  botClicks: bigint('bot_clicks', { mode: 'number' }).notNull().default(0),
}, (t) => [
  primaryKey({ columns: [t.linkId, t.day] }),
  // A workspace's clicks over a range of days (the analytics read).
  index('link_clicks_workspace_day_idx').on(t.workspaceId, t.day, t.network),
]);
