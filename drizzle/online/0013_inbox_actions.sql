-- The action still waiting or sending on a message (src/modules/inbox/actions.ts allows one at a time).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_replies_pending_action_idx" ON "inbox_replies" USING btree ("message_id") WHERE kind <> 'reply' and state in ('queued', 'sending');
