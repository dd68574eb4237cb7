import { sql } from 'drizzle-orm';
import { customType, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** Every mail AllIN sends, written in the same transaction as what caused it; a job delivers it. */
export const mailOutbox = pgTable('mail_outbox', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  to: text('to_address').notNull(),
  subject: text('subject').notNull(),
  text: text('text_body').notNull(),
  /** An HTML alternative to the text (a report); most mails are text only. */
  html: text('html_body'),
  template: text('template').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
}, (t) => [index('mail_outbox_created_idx').on(t.createdAt)]);

/** Files sent with a mail (a report's PDF), kept with it until the mail goes. */
export const mailAttachments = pgTable('mail_attachments', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  mailId: uuid('mail_id').notNull().references(() => mailOutbox.id, { onDelete: 'cascade' }),
  filename: text('filename').notNull(),
  contentType: text('content_type').notNull(),
  content: bytea('content').notNull(),
}, (t) => [index('mail_attachments_mail_idx').on(t.mailId)]);
