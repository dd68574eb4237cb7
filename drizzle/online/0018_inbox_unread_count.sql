-- The caller's unread count per workspace (src/modules/inbox/read.ts, unreadCount): conversations that ever had an
-- inbound message, in id order with their count, each looked up in the member's read state of that workspace.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_conversations_unread_idx" ON "inbox_conversations" USING btree ("workspace_id","id","inbound_seq") WHERE inbound_seq > 0;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_read_state_workspace_idx" ON "inbox_read_state" USING btree ("user_id","workspace_id","conversation_id","seen_inbound_seq");
