import { bigint, bigserial, boolean, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

/**
 * A workspace's model provider and brand voice, set by its admins. The key is encrypted at rest (TokenCipher,
 * keyed by the workspace id) and never leaves the server. No row: the assistant is off.
 */
export const assistantSettings = pgTable('assistant_settings', {
  workspaceId: uuid('workspace_id').primaryKey().references(() => workspaces.id, { onDelete: 'cascade' }),
  provider: text('provider', { enum: ['openai', 'anthropic'] }).notNull(),
  baseUrl: text('base_url').notNull(),
  model: text('model').notNull(),
  /** Null when the server needs none (a local model server). */
  apiKeyEnc: text('api_key_enc'),
  /** Tokens (input and output) the workspace may use per calendar month (UTC). */
  monthlyTokenBudget: integer('monthly_token_budget').notNull(),
  voiceNotes: text('voice_notes').notNull().default(''),
  /** The admin says the model can see images (alt text suggestions are refused otherwise). */
  vision: boolean('vision').notNull().default(false),
  examplePosts: jsonb('example_posts').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One request to the model provider: who, which feature, which model, the tokens counted. Never the content. */
export const assistantUsage = pgTable('assistant_usage', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
  apiKeyId: uuid('api_key_id'),
  feature: text('feature').notNull(),
  provider: text('provider').notNull(),
  model: text('model').notNull(),
  inputTokens: integer('input_tokens').notNull(),
  outputTokens: integer('output_tokens').notNull(),
  /** ok, flagged (a suggestion still breaks a network rule), error. */
  outcome: text('outcome').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // The month's total (the budget) and its breakdown read a range of one workspace's rows.
  index('assistant_usage_workspace_time_idx').on(t.workspaceId, t.createdAt),
]);

/**
 * A workspace's tokens for one UTC month: `used` as the providers counted them, `reserved` for calls in flight.
 * A call reserves its estimate with one conditional upsert on this row (service.ts, reserve), so two requests
 * at the same moment cannot both take the month's last token: the second waits on the row and sees the first's
 * reservation. The call then settles: its reservation off, its real tokens on.
 */
export const assistantBudget = pgTable('assistant_budget', {
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** The month's first day (UTC). */
  month: date('month', { mode: 'string' }).notNull(),
  used: bigint('used', { mode: 'number' }).notNull().default(0),
  reserved: bigint('reserved', { mode: 'number' }).notNull().default(0),
}, (t) => [primaryKey({ columns: [t.workspaceId, t.month] })]);
