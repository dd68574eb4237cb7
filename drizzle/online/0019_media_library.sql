CREATE INDEX CONCURRENTLY IF NOT EXISTS "post_targets_media_refs_idx" ON "post_targets" USING gin (allin_media_refs(variant));
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "posts_media_ids_idx" ON "posts" USING gin ("media_ids");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "media_folder_list_idx" ON "media" USING btree ("workspace_id","folder_id","created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "media_kind_list_idx" ON "media" USING btree ("workspace_id",split_part("mime_type", '/', 1),"created_at","id");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "media_previews_due_idx" ON "media" USING btree ("created_at") WHERE preview_state is null;
