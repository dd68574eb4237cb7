import { sql } from 'drizzle-orm';
import { bigint, bigserial, date, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { posts, postTargets } from '../posts/schema.ts';
import { workspaces } from '../workspaces/schema.ts';
import { socialAccounts } from '../accounts/index.ts';

/** Engagement figures of a published target, one row per collection, so they can be shown over time. */
export const postMetrics = pgTable('post_metrics', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  targetId: uuid('target_id').notNull().references(() => postTargets.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull(),
  likes: bigint('likes', { mode: 'number' }),
  reposts: bigint('reposts', { mode: 'number' }),
  replies: bigint('replies', { mode: 'number' }),
  impressions: bigint('impressions', { mode: 'number' }),
  collectedAt: timestamp('collected_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // A target's series in order, and its latest figures (collected_at then id: the order the reads use).
  index('post_metrics_target_series_idx').on(t.targetId, t.collectedAt, t.id),
  index('post_metrics_account_idx').on(t.accountId, t.collectedAt),
]);

/**
 * An account's figures for one UTC day: the counts as of the day's last collection (followers, following,
 * posts) and the day's insights where the network gives them (reach, impressions, profile views,
 * engagement). A figure the network does not give is null, never 0. A later answer for the same day (the
 * day's next collection, a network correcting a past day) replaces the figures it gives and keeps the rest.
 */
export const accountSnapshots = pgTable('account_snapshots', {
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull(),
  provider: text('provider').notNull(),
  day: date('day', { mode: 'string' }).notNull(),
  followers: bigint('followers', { mode: 'number' }),
  following: bigint('following', { mode: 'number' }),
  posts: bigint('posts', { mode: 'number' }),
  reach: bigint('reach', { mode: 'number' }),
  impressions: bigint('impressions', { mode: 'number' }),
  profileViews: bigint('profile_views', { mode: 'number' }),
  engagement: bigint('engagement', { mode: 'number' }),
  collectedAt: timestamp('collected_at', { withTimezone: true }).notNull(),
}, (t) => [
  // An account's days in order (range reads and their keyset pages).
  primaryKey({ columns: [t.accountId, t.day] }),
]);

/**
 * Where collecting an account's figures stands: when it is next due, what went wrong last, and a refusal by
 * the network (all figures, or only the insights) with its reason, kept until the account is reconnected.
 */
export const accountMetricsCollection = pgTable('account_metrics_collection', {
  accountId: uuid('account_id').primaryKey().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull(),
  provider: text('provider').notNull(),
  nextAt: timestamp('next_at', { withTimezone: true }).notNull().defaultNow(),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  /** The last past day whose daily figures are stored: the next collection asks from the day after. */
  daysThrough: date('days_through', { mode: 'string' }),
  failures: integer('failures').notNull().default(0),
  lastError: text('last_error'),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
  refusedAt: timestamp('refused_at', { withTimezone: true }),
  refusedReason: text('refused_reason'),
  insightsRefusedAt: timestamp('insights_refused_at', { withTimezone: true }),
  insightsRefusedReason: text('insights_refused_reason'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index('account_metrics_collection_due_idx').on(t.nextAt),
]);

/**
 * The latest figures of each target (its latest post_metrics row that carries figures), kept by the
 * database trigger that also keeps account_post_rollups, so a late row (collected before the latest) changes
 * nothing and a correction replaces the figures it corrects. No foreign key: the trigger on post_targets
 * removes a target's row itself, after taking its figures out of the rollups.
 */
export const postMetricsLatest = pgTable('post_metrics_latest', {
  targetId: uuid('target_id').primaryKey(),
  rowId: bigint('row_id', { mode: 'number' }),
  collectedAt: timestamp('collected_at', { withTimezone: true }),
  likes: bigint('likes', { mode: 'number' }),
  reposts: bigint('reposts', { mode: 'number' }),
  replies: bigint('replies', { mode: 'number' }),
  impressions: bigint('impressions', { mode: 'number' }),
});

/**
 * Published posts of an account and their latest figures, summed per quarter hour of publishing (UTC). Every
 * IANA zone's offset is a whole number of quarter hours, so a day in any zone, 23- and 25-hour days
 * included, is exactly a run of these buckets. Each figure has its sum and how many posts report it (a sum
 * over no reporting post is null, not 0). Kept by database triggers on post_targets and post_metrics, in the
 * transaction that changes them (drizzle/0017_post_rollups.sql).
 */
export const accountPostRollups = pgTable('account_post_rollups', {
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  bucket: timestamp('bucket', { withTimezone: true }).notNull(),
  workspaceId: uuid('workspace_id').notNull(),
  provider: text('provider').notNull(),
  posts: integer('posts').notNull().default(0),
  likes: bigint('likes', { mode: 'number' }).notNull().default(0),
  likesN: integer('likes_n').notNull().default(0),
  reposts: bigint('reposts', { mode: 'number' }).notNull().default(0),
  repostsN: integer('reposts_n').notNull().default(0),
  replies: bigint('replies', { mode: 'number' }).notNull().default(0),
  repliesN: integer('replies_n').notNull().default(0),
  impressions: bigint('impressions', { mode: 'number' }).notNull().default(0),
  impressionsN: integer('impressions_n').notNull().default(0),
}, (t) => [
  // An account's buckets over a period; the overview reads a set of accounts' periods.
  primaryKey({ columns: [t.accountId, t.bucket] }),
]);

/** A workspace's labels (campaigns, tags): a post carries any number of them, and results group by them. */
export const labels = pgTable('labels', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  /** #rrggbb, lower case. */
  color: text('color').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // One name per workspace (whatever its case); the list pages by name then id.
  uniqueIndex('labels_name_key').on(t.workspaceId, sql`lower(${t.name})`),
  index('labels_list_idx').on(t.workspaceId, t.name, t.id),
]);

/** Which labels a post carries. */
export const postLabels = pgTable('post_labels', {
  postId: uuid('post_id').notNull().references(() => posts.id, { onDelete: 'cascade' }),
  labelId: uuid('label_id').notNull().references(() => labels.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull(),
}, (t) => [
  primaryKey({ columns: [t.postId, t.labelId] }),
  // A label's posts (grouping by label, the post table filtered by a label).
  index('post_labels_label_idx').on(t.labelId, t.postId),
]);

/**
 * One row per published target with its latest figures, engagement and engagement rate: the post table,
 * its sorts and the best-time heatmap read it. Kept by the same triggers as account_post_rollups
 * (drizzle/0021_post_performance.sql). engagement = likes + reposts + replies as reported (null when none
 * is); rate_ppm = engagement per million impressions (null without impressions). Sort keys are indexed as
 * coalesce(x, -1), so a post without the figure sorts lowest and keyset paging sees no nulls.
 */
export const postPerformance = pgTable('post_performance', {
  targetId: uuid('target_id').primaryKey(),
  postId: uuid('post_id').notNull(),
  workspaceId: uuid('workspace_id').notNull(),
  accountId: uuid('account_id').notNull(),
  provider: text('provider').notNull(),
  publishedAt: timestamp('published_at', { withTimezone: true }).notNull(),
  collectedAt: timestamp('collected_at', { withTimezone: true }),
  likes: bigint('likes', { mode: 'number' }),
  reposts: bigint('reposts', { mode: 'number' }),
  replies: bigint('replies', { mode: 'number' }),
  impressions: bigint('impressions', { mode: 'number' }),
  engagement: bigint('engagement', { mode: 'number' }),
  ratePpm: bigint('rate_ppm', { mode: 'number' }),
}, (t) => [
  index('post_performance_published_idx').on(t.workspaceId, t.publishedAt, t.targetId),
  index('post_performance_engagement_idx').on(t.workspaceId, sql`coalesce(engagement, -1)`, t.targetId),
  index('post_performance_likes_idx').on(t.workspaceId, sql`coalesce(likes, -1)`, t.targetId),
  index('post_performance_reposts_idx').on(t.workspaceId, sql`coalesce(reposts, -1)`, t.targetId),
  index('post_performance_replies_idx').on(t.workspaceId, sql`coalesce(replies, -1)`, t.targetId),
  index('post_performance_impressions_idx').on(t.workspaceId, sql`coalesce(impressions, -1)`, t.targetId),
  index('post_performance_rate_idx').on(t.workspaceId, sql`coalesce(rate_ppm, -1)`, t.targetId),
  // The same sorts within one account; by date, engagement rides along for the median's and the heatmap's
  // index-only reads of an account's window.
  index('post_performance_account_published_idx').on(t.accountId, t.publishedAt, t.targetId, t.engagement),
  index('post_performance_account_engagement_idx').on(t.accountId, sql`coalesce(engagement, -1)`, t.targetId),
  index('post_performance_account_likes_idx').on(t.accountId, sql`coalesce(likes, -1)`, t.targetId),
  index('post_performance_account_reposts_idx').on(t.accountId, sql`coalesce(reposts, -1)`, t.targetId),
  index('post_performance_account_replies_idx').on(t.accountId, sql`coalesce(replies, -1)`, t.targetId),
  index('post_performance_account_impressions_idx').on(t.accountId, sql`coalesce(impressions, -1)`, t.targetId),
  index('post_performance_account_rate_idx').on(t.accountId, sql`coalesce(rate_ppm, -1)`, t.targetId),
]);

/**
 * A workspace's scheduled report: the report of the last complete week (Monday to Sunday) or calendar month
 * in `timeZone`, for its accounts (all of them when `accountIds` is null), mailed to `recipients`.
 */
export const reportSchedules = pgTable('analytics_report_schedules', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  cadence: text('cadence', { enum: ['weekly', 'monthly'] }).notNull(),
  timeZone: text('time_zone').notNull(),
  recipients: text('recipients').array().notNull(),
  accountIds: uuid('account_ids').array(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('analytics_report_schedules_workspace_idx').on(t.workspaceId, t.createdAt, t.id)]);

/**
 * One row per schedule and period mailed: inserted in the same transaction as the period's mails, so a
 * period is mailed once whatever the number of workers and restarts (the primary key refuses a second).
 */
export const reportDeliveries = pgTable('analytics_report_deliveries', {
  scheduleId: uuid('schedule_id').notNull().references(() => reportSchedules.id, { onDelete: 'cascade' }),
  periodFrom: date('period_from', { mode: 'string' }).notNull(),
  periodTo: date('period_to', { mode: 'string' }).notNull(),
  mailedAt: timestamp('mailed_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.scheduleId, t.periodFrom] })]);
