import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uuid, boolean } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

export const WEBHOOK_EVENTS = ['post.published', 'post.failed', 'post.unknown', 'account.needs_reconnect', 'inbox.message.created', 'inbox.conversation.assigned', 'inbox.reply.published', 'inbox.reply.failed', 'inbox.reply.unknown', 'inbox.action.done', 'inbox.action.failed', 'inbox.action.unknown'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A workspace's endpoint for events. The signing secret is encrypted at rest (TokenCipher, keyed by id). */
export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  description: text('description'),
  events: text('events').array().notNull().default(sql`'{}'::text[]`),
  secretEnc: text('secret_enc').notNull(),
  active: boolean('active').notNull().default(true),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('webhooks_workspace_idx').on(t.workspaceId)]);

/** One event for one webhook, and how delivering it went (the delivery log). */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: uuid('id').primaryKey(),
  webhookId: uuid('webhook_id').notNull().references(() => webhooks.id, { onDelete: 'cascade' }),
  event: text('event').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  /** pending, delivered, failed (gave up). */
  status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  lastStatusCode: integer('last_status_code'),
  lastError: text('last_error'),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
}, (t) => [
  // The delivery log, newest first, without and with a status.
  index('webhook_deliveries_list_idx').on(t.webhookId, t.createdAt, t.id),
  index('webhook_deliveries_status_idx').on(t.webhookId, t.status, t.createdAt, t.id),
]);

/** Every try of a delivery (time, status code, duration, error). */
export const webhookAttempts = pgTable('webhook_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  deliveryId: uuid('delivery_id').notNull().references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  statusCode: integer('status_code'),
  durationMs: integer('duration_ms'),
  error: text('error'),
}, (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId)]);
