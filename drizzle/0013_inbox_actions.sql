ALTER TABLE "inbox_messages" ADD COLUMN "liked" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD COLUMN "kind" text DEFAULT 'reply' NOT NULL;
