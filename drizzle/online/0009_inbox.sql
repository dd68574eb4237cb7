CREATE INDEX CONCURRENTLY IF NOT EXISTS "post_targets_remote_idx" ON "post_targets" USING btree ("account_id","remote_id") WHERE remote_id is not null;
