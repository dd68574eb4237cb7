CREATE TABLE "feed_items" (
	"id" uuid PRIMARY KEY NOT NULL,
	"feed_id" uuid NOT NULL,
	"key" text NOT NULL,
	"link" text,
	"title" text,
	"published_at" timestamp with time zone,
	"state" text NOT NULL,
	"post_id" uuid,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feeds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"created_by" uuid,
	"url" text NOT NULL,
	"title" text,
	"mode" text NOT NULL,
	"account_ids" uuid[] NOT NULL,
	"template" text NOT NULL,
	"interval_minutes" integer NOT NULL,
	"paused_at" timestamp with time zone,
	"etag" text,
	"last_modified" text,
	"next_fetch_at" timestamp with time zone NOT NULL,
	"last_fetched_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"error_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "feed_items" ADD CONSTRAINT "feed_items_feed_id_feeds_id_fk" FOREIGN KEY ("feed_id") REFERENCES "public"."feeds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feed_items" ADD CONSTRAINT "feed_items_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "public"."posts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feeds" ADD CONSTRAINT "feeds_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feeds" ADD CONSTRAINT "feeds_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "feed_items_key_key" ON "feed_items" USING btree ("feed_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "feed_items_link_key" ON "feed_items" USING btree ("feed_id","link") WHERE link is not null;--> statement-breakpoint
CREATE INDEX "feed_items_list_idx" ON "feed_items" USING btree ("feed_id","created_at","id");--> statement-breakpoint
CREATE INDEX "feed_items_post_idx" ON "feed_items" USING btree ("post_id") WHERE post_id is not null;--> statement-breakpoint
CREATE INDEX "feeds_list_idx" ON "feeds" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "feeds_due_idx" ON "feeds" USING btree ("next_fetch_at") WHERE paused_at is null;