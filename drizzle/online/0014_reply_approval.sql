-- The workspace's replies waiting for approval, oldest first (src/modules/inbox/replies.ts, the approvers' list).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_replies_pending_approval_idx" ON "inbox_replies" USING btree ("workspace_id","created_at","id") WHERE state = 'pending_approval';
