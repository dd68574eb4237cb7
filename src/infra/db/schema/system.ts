import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per job-runner process: the last time its heartbeat job ran. Feeds readiness. */
export const workerHeartbeats = pgTable('worker_heartbeats', {
  workerId: text('worker_id').primaryKey(),
  hostname: text('hostname').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  beatAt: timestamp('beat_at', { withTimezone: true }).notNull(),
});
