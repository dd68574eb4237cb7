CREATE TABLE "inbox_replies" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"message_id" uuid,
	"parent_remote_id" text NOT NULL,
	"root_remote_id" text NOT NULL,
	"author_id" uuid,
	"text" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"worker_id" text,
	"lease_until" timestamp with time zone,
	"remote_id" text,
	"remote_url" text,
	"error_class" text,
	"error_message" text,
	"network_status" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "inbox_reply_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"reply_id" uuid NOT NULL,
	"marker" text NOT NULL,
	"worker_id" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text DEFAULT 'in_flight' NOT NULL,
	"error_class" text,
	"network_status" integer,
	"message" text,
	"remote_id" text
);
--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_conversation_id_inbox_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."inbox_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_message_id_inbox_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."inbox_messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_replies" ADD CONSTRAINT "inbox_replies_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_reply_attempts" ADD CONSTRAINT "inbox_reply_attempts_reply_id_inbox_replies_id_fk" FOREIGN KEY ("reply_id") REFERENCES "public"."inbox_replies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbox_replies_conversation_idx" ON "inbox_replies" USING btree ("conversation_id","created_at","id");--> statement-breakpoint
CREATE INDEX "inbox_replies_sending_idx" ON "inbox_replies" USING btree ("lease_until") WHERE state = 'sending';--> statement-breakpoint
CREATE INDEX "inbox_reply_attempts_reply_idx" ON "inbox_reply_attempts" USING btree ("reply_id","id");