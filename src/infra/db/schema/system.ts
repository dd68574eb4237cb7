import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per job-runner process: the last time its heartbeat job ran. Feeds readiness. */
export const workerHeartbeats = pgTable('worker_heartbeats', {
  workerId: text('worker_id').primaryKey(),
  hostname: text('hostname').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  beatAt: timestamp('beat_at', { withTimezone: true }).notNull(),
});

/**
 * One row per live job runner: the graphile-worker pool id its jobs and queues are locked by. The runner
 * holds an advisory lock for as long as its process lives (src/infra/queue/liveness.ts).
 */
export const queueRunners = pgTable('queue_runners', {
  poolId: text('pool_id').primaryKey(),
  workerId: text('worker_id').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
});
