-- The calendar's index (src/modules/posts/schema.ts): built without blocking writes to post_targets.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "post_targets_calendar_at_idx" ON "post_targets" USING btree ("workspace_id",coalesce(published_at, publish_at),"id","account_id","published_at","publish_at") WHERE state <> 'cancelled';
