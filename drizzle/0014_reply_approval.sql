ALTER TABLE "inbox_replies" ADD COLUMN "reviewed_by" uuid;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD COLUMN "reviewed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD COLUMN "review_comment" text;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_reviewed_by_users_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;