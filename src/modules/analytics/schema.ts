import { bigint, index, pgTable, timestamp, uuid, bigserial } from 'drizzle-orm/pg-core';
import { postTargets } from '../posts/schema.ts';

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
