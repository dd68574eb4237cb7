-- The indexes every list reads, in its order and with its filters (keyset pages: src/infra/db/keyset.ts).
-- Built before the indexes they replace are dropped, so no list is ever left without one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "sessions_live_idx" ON "sessions" USING btree ("user_id","created_at","id") WHERE revoked_at is null;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "invitations_pending_idx" ON "invitations" USING btree ("workspace_id","created_at","id") WHERE accepted_at is null and revoked_at is null;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "memberships_workspace_list_idx" ON "memberships" USING btree ("workspace_id","created_at","user_id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "memberships_user_list_idx" ON "memberships" USING btree ("user_id","created_at","workspace_id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "api_keys_list_idx" ON "api_keys" USING btree ("workspace_id","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "audit_log_workspace_list_idx" ON "audit_log" USING btree ("workspace_id","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "audit_log_actor_list_idx" ON "audit_log" USING btree ("actor_user_id","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "social_accounts_list_idx" ON "social_accounts" USING btree ("workspace_id","provider","username","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "post_targets_queue_idx" ON "post_targets" USING btree ("workspace_id","account_id","publish_at","id") WHERE queued and state = 'scheduled';
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "posts_list_idx" ON "posts" USING btree ("workspace_id","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "posts_status_list_idx" ON "posts" USING btree ("workspace_id","status","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "media_list_idx" ON "media" USING btree ("workspace_id","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "webhook_deliveries_list_idx" ON "webhook_deliveries" USING btree ("webhook_id","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "webhook_deliveries_status_idx" ON "webhook_deliveries" USING btree ("webhook_id","status","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "post_metrics_target_series_idx" ON "post_metrics" USING btree ("target_id","collected_at","id");
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "memberships_user_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "api_keys_workspace_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "audit_log_workspace_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "audit_log_actor_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "posts_workspace_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "posts_review_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "media_workspace_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "webhook_deliveries_webhook_idx";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "post_metrics_target_idx";
