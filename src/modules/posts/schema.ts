import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';
import { socialAccounts } from '../accounts/index.ts';

/** Where a post is in its life; the per-network outcome lives on its targets. */
export const POST_STATUSES = ['draft', 'pending_approval', 'scheduled'] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

/** The target state machine of docs/PUBLISHING.md (Publishing, exactly once), plus cancelled for an unscheduled target. */
export const TARGET_STATES = ['draft', 'pending_approval', 'scheduled', 'publishing', 'published', 'failed', 'unknown', 'cancelled'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/** Repeat a post every N days, or weekly on given ISO weekdays (1 = Monday), at the same local time. */
export type Recurrence = { every: 'days'; interval: number; until?: string; count?: number } | { every: 'weeks'; interval: number; weekdays: number[]; until?: string; count?: number };

/** What one target says differently from the post; absent fields take the post's. */
export interface Variant {
  text?: string;
  mediaIds?: string[];
  /** Further parts of a thread, each a reply to the previous one. */
  thread?: { text: string; mediaIds?: string[] }[];
  firstComment?: string;
  options?: Record<string, unknown>;
}

export const posts = pgTable('posts', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  text: text('text').notNull().default(''),
  mediaIds: uuid('media_ids').array().notNull().default(sql`'{}'::uuid[]`),
  status: text('status', { enum: POST_STATUSES }).notNull().default('draft'),
  /** The instant to publish; with a local time and zone it is derived from them when scheduled. */
  publishAt: timestamp('publish_at', { withTimezone: true }),
  /** Wall-clock time (YYYY-MM-DDTHH:mm[:ss]) in scheduleZone, when the post was scheduled that way. */
  localTime: text('local_time'),
  timeZone: text('time_zone'),
  recurrence: jsonb('recurrence').$type<Recurrence>(),
  /** How the post was (or asks to be) scheduled: at an instant, at a local time, now, or in the accounts' queues. */
  scheduleMode: text('schedule_mode', { enum: ['at', 'local', 'now', 'queue'] }),
  submittedBy: uuid('submitted_by').references(() => users.id, { onDelete: 'set null' }),
  submittedAt: timestamp('submitted_at', { withTimezone: true }),
  reviewedBy: uuid('reviewed_by').references(() => users.id, { onDelete: 'set null' }),
  reviewedAt: timestamp('reviewed_at', { withTimezone: true }),
  reviewDecision: text('review_decision', { enum: ['approved', 'rejected'] }),
  reviewComment: text('review_comment'),
  version: integer('version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // The posts list, newest first, without and with a status (approvals are status = 'pending_approval').
  index('posts_list_idx').on(t.workspaceId, t.createdAt, t.id),
  index('posts_status_list_idx').on(t.workspaceId, t.status, t.createdAt, t.id),
  // Which posts use a media file (the media module's in-use.ts: "where is this used", deletion).
  index('posts_media_ids_idx').using('gin', t.mediaIds),
]);

/** A post on one account. Each occurrence of a recurring post is its own target. */
export const postTargets = pgTable('post_targets', {
  id: uuid('id').primaryKey(),
  postId: uuid('post_id').notNull().references(() => posts.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  occurrence: integer('occurrence').notNull().default(0),
  variant: jsonb('variant').$type<Variant>().notNull().default({}),
  state: text('state', { enum: TARGET_STATES }).notNull().default('draft'),
  publishAt: timestamp('publish_at', { withTimezone: true }),
  /** Put in the account's queue (a posting slot) rather than at a chosen time. */
  queued: boolean('queued').notNull().default(false),
  attempts: integer('attempts').notNull().default(0),
  /** After a retryable error: when the next try is due (publish_at keeps the time the team chose). */
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  /** While publishing: the worker holding the target, until when. Past it the sweeper reconciles. */
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  workerId: text('worker_id'),
  /** Parts already on the network (a thread resumes after the last one), and the first comment. */
  progress: jsonb('progress').$type<{ parts: { remoteId: string; url?: string }[]; comment?: { remoteId: string; url?: string } }>().notNull().default({ parts: [] }),
  remoteId: text('remote_id'),
  remoteUrl: text('remote_url'),
  publishedAt: timestamp('published_at', { withTimezone: true }),
  errorClass: text('error_class'),
  errorMessage: text('error_message'),
  networkStatus: integer('network_status'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('post_targets_occurrence_key').on(t.postId, t.accountId, t.occurrence),
  index('post_targets_calendar_idx').on(t.workspaceId, t.publishAt),
  // The calendar's (modules/posts/calendar.ts): a target's day-time is when it was published, else when it is
  // due. Keyed by that expression and id for each day's keyset order; account_id filters in the index, and
  // the two times make the day counts index-only scans (drizzle has no INCLUDE, so they are trailing keys).
  index('post_targets_calendar_at_idx')
    .on(t.workspaceId, sql`coalesce(published_at, publish_at)`, t.id, t.accountId, t.publishedAt, t.publishAt)
    .where(sql`state <> 'cancelled'`),
  index('post_targets_account_idx').on(t.accountId, t.publishAt),
  index('post_targets_lease_idx').on(t.leaseUntil).where(sql`state = 'publishing'`),
  // The inbox finds the target that published a thread's root by the network's id.
  index('post_targets_remote_idx').on(t.accountId, t.remoteId).where(sql`remote_id is not null`),
  // An account's queue in slot order (queue.ts writes the same predicate).
  index('post_targets_queue_idx').on(t.workspaceId, t.accountId, t.publishAt, t.id).where(sql`queued and state = 'scheduled'`),
  // Which targets use a media file in their variant (media/in-use.ts); allin_media_refs is declared in drizzle/0019_media_library.sql.
  index('post_targets_media_refs_idx').using('gin', sql`allin_media_refs(variant)`),
]);

/** Every call that could have created something on a network, written before it is sent. */
export const publishAttempts = pgTable('publish_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  targetId: uuid('target_id').notNull().references(() => postTargets.id, { onDelete: 'cascade' }),
  /** 0..n-1 thread parts, n the first comment. */
  part: integer('part').notNull(),
  marker: text('marker').notNull(),
  workerId: text('worker_id'),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  /** in_flight until answered: published, retry (nothing was created), failed, unknown, reconciled (found on the network), absent (reconciled: not there). */
  outcome: text('outcome', { enum: ['in_flight', 'published', 'retry', 'failed', 'unknown', 'reconciled', 'absent'] }).notNull().default('in_flight'),
  errorClass: text('error_class'),
  networkStatus: integer('network_status'),
  message: text('message'),
  remoteId: text('remote_id'),
}, (t) => [index('publish_attempts_target_idx').on(t.targetId, t.id)]);

/** An account's posting slots: a weekly schedule in the account's time zone, filled by "add to queue". */
export const postingSchedules = pgTable('posting_schedules', {
  accountId: uuid('account_id').primaryKey().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  timeZone: text('time_zone').notNull(),
  /** ISO weekday (1 = Monday) and local time HH:mm. */
  slots: jsonb('slots').$type<{ weekday: number; time: string }[]>().notNull().default([]),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
