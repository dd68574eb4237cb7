-- The inbox list filtered by the assistant's classification (src/modules/inbox/read.ts): by intent, and urgent only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_conversations_intent_idx" ON "inbox_conversations" USING btree ("workspace_id","ai_intent","last_message_at","id") WHERE ai_intent is not null;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_conversations_urgent_idx" ON "inbox_conversations" USING btree ("workspace_id","last_message_at","id") WHERE ai_urgency = 'high';
