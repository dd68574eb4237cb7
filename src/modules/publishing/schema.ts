import { index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The send journal (src/providers/send-journal.ts): what an adapter without an idempotency key sent under
 * each marker, written before the request goes out, so any worker can reconcile an unknown outcome after a
 * crash. `key` is the account's external id and the marker; `first_sent_at` is kept when a marker is sent
 * again. Rows untouched for 30 days are pruned by the prune_send_journal task.
 */
export const providerSendJournal = pgTable('provider_send_journal', {
  provider: text('provider').notNull(),
  key: text('key').notNull(),
  value: jsonb('value').$type<Record<string, unknown>>().notNull(),
  firstSentAt: timestamp('first_sent_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.provider, t.key] }), index('provider_send_journal_updated_idx').on(t.updatedAt)]);
