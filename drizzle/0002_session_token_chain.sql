-- Refresh tokens now live in their session row (current hash and the last few replaced ones): one
-- row lock and one update per refresh instead of three writes. Sessions from before cannot carry
-- over (their tokens were in refresh_tokens): their users sign in once more.
DELETE FROM "sessions";--> statement-breakpoint
DROP TABLE "refresh_tokens" CASCADE;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "refresh_hash" "bytea" NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "previous_hashes" "bytea"[] DEFAULT '{}'::bytea[] NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "rotated_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_refresh_hash_key" ON "sessions" USING btree ("refresh_hash");
--> statement-breakpoint
CREATE INDEX "sessions_previous_hashes_idx" ON "sessions" USING gin ("previous_hashes");
