CREATE TABLE "inbox_collection_cursors" (
	"account_id" uuid NOT NULL,
	"source" text NOT NULL,
	"workspace_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"cursor" text,
	"next_poll_at" timestamp with time zone DEFAULT now() NOT NULL,
	"holder" text,
	"lease_until" timestamp with time zone,
	"last_polled_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"backoff_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_collection_cursors_account_id_source_pk" PRIMARY KEY("account_id","source")
);
--> statement-breakpoint
CREATE TABLE "inbox_conversation_labels" (
	"conversation_id" uuid NOT NULL,
	"label_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"last_message_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inbox_conversation_labels_conversation_id_label_id_pk" PRIMARY KEY("conversation_id","label_id")
);
--> statement-breakpoint
CREATE TABLE "inbox_conversations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"kind" text NOT NULL,
	"root_remote_id" text NOT NULL,
	"root_url" text,
	"root_text" text,
	"root_author_handle" text,
	"root_created_at" timestamp with time zone,
	"target_id" uuid,
	"state" text DEFAULT 'open' NOT NULL,
	"assignee_id" uuid,
	"has_question" boolean DEFAULT false NOT NULL,
	"message_count" integer DEFAULT 0 NOT NULL,
	"last_message_at" timestamp with time zone NOT NULL,
	"last_inbound_at" timestamp with time zone,
	"inbound_seq" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbox_labels" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"color" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbox_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"remote_id" text NOT NULL,
	"parent_remote_id" text,
	"url" text,
	"author_remote_id" text,
	"author_handle" text,
	"author_name" text,
	"author_avatar_url" text,
	"text" text DEFAULT '' NOT NULL,
	"language" text,
	"direction" text NOT NULL,
	"created_on_network" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"edited_at" timestamp with time zone,
	"edited" boolean DEFAULT false NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"hidden" boolean DEFAULT false NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector(case language when 'ar' then 'arabic'::regconfig when 'da' then 'danish'::regconfig when 'de' then 'german'::regconfig when 'el' then 'greek'::regconfig when 'en' then 'english'::regconfig when 'es' then 'spanish'::regconfig when 'fi' then 'finnish'::regconfig when 'fr' then 'french'::regconfig when 'ga' then 'irish'::regconfig when 'hu' then 'hungarian'::regconfig when 'id' then 'indonesian'::regconfig when 'it' then 'italian'::regconfig when 'lt' then 'lithuanian'::regconfig when 'nb' then 'norwegian'::regconfig when 'ne' then 'nepali'::regconfig when 'nl' then 'dutch'::regconfig when 'nn' then 'norwegian'::regconfig when 'no' then 'norwegian'::regconfig when 'pt' then 'portuguese'::regconfig when 'ro' then 'romanian'::regconfig when 'ru' then 'russian'::regconfig when 'sv' then 'swedish'::regconfig when 'ta' then 'tamil'::regconfig when 'tr' then 'turkish'::regconfig else 'simple'::regconfig end, coalesce(text, '')) || to_tsvector('simple'::regconfig, coalesce(text, '') || ' ' || coalesce(author_handle, '') || ' ' || coalesce(author_name, ''))) STORED
);
--> statement-breakpoint
CREATE TABLE "inbox_notes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"author_id" uuid,
	"text" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbox_read_state" (
	"user_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"seen_inbound_seq" integer NOT NULL,
	"read_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inbox_read_state_user_id_conversation_id_pk" PRIMARY KEY("user_id","conversation_id")
);
--> statement-breakpoint
CREATE TABLE "inbox_saved_replies" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"text" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inbox_collection_cursors" ADD CONSTRAINT "inbox_collection_cursors_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_collection_cursors" ADD CONSTRAINT "inbox_collection_cursors_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversation_labels" ADD CONSTRAINT "inbox_conversation_labels_conversation_id_inbox_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."inbox_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversation_labels" ADD CONSTRAINT "inbox_conversation_labels_label_id_inbox_labels_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."inbox_labels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversation_labels" ADD CONSTRAINT "inbox_conversation_labels_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD CONSTRAINT "inbox_conversations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD CONSTRAINT "inbox_conversations_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD CONSTRAINT "inbox_conversations_target_id_post_targets_id_fk" FOREIGN KEY ("target_id") REFERENCES "public"."post_targets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD CONSTRAINT "inbox_conversations_assignee_id_users_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_labels" ADD CONSTRAINT "inbox_labels_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD CONSTRAINT "inbox_messages_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD CONSTRAINT "inbox_messages_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD CONSTRAINT "inbox_messages_conversation_id_inbox_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."inbox_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_notes" ADD CONSTRAINT "inbox_notes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_notes" ADD CONSTRAINT "inbox_notes_conversation_id_inbox_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."inbox_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_notes" ADD CONSTRAINT "inbox_notes_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_read_state" ADD CONSTRAINT "inbox_read_state_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_read_state" ADD CONSTRAINT "inbox_read_state_conversation_id_inbox_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."inbox_conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_read_state" ADD CONSTRAINT "inbox_read_state_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_saved_replies" ADD CONSTRAINT "inbox_saved_replies_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_saved_replies" ADD CONSTRAINT "inbox_saved_replies_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbox_collection_cursors_due_idx" ON "inbox_collection_cursors" USING btree ("next_poll_at");--> statement-breakpoint
CREATE INDEX "inbox_conversation_labels_label_idx" ON "inbox_conversation_labels" USING btree ("label_id","last_message_at","conversation_id");--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_conversations_root_key" ON "inbox_conversations" USING btree ("account_id","root_remote_id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_recent_idx" ON "inbox_conversations" USING btree ("workspace_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_state_idx" ON "inbox_conversations" USING btree ("workspace_id","state","last_message_at","id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_assignee_idx" ON "inbox_conversations" USING btree ("workspace_id","assignee_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_account_idx" ON "inbox_conversations" USING btree ("account_id","last_message_at","id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_provider_idx" ON "inbox_conversations" USING btree ("workspace_id","provider","last_message_at","id");--> statement-breakpoint
CREATE INDEX "inbox_conversations_question_idx" ON "inbox_conversations" USING btree ("workspace_id","last_message_at","id") WHERE has_question;--> statement-breakpoint
CREATE INDEX "inbox_conversations_target_idx" ON "inbox_conversations" USING btree ("target_id") WHERE target_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_labels_name_key" ON "inbox_labels" USING btree ("workspace_id",lower("name"));--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_messages_remote_key" ON "inbox_messages" USING btree ("account_id","remote_id");--> statement-breakpoint
CREATE INDEX "inbox_messages_conversation_idx" ON "inbox_messages" USING btree ("conversation_id","created_on_network","id");--> statement-breakpoint
CREATE INDEX "inbox_messages_search_idx" ON "inbox_messages" USING gin ("search");--> statement-breakpoint
CREATE INDEX "inbox_notes_conversation_idx" ON "inbox_notes" USING btree ("conversation_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_saved_replies_name_key" ON "inbox_saved_replies" USING btree ("workspace_id",lower("name"));
-- post_targets_remote_idx is built online: drizzle/online/0009_inbox.sql