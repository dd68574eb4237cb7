-- The indexes on media, posts and post_targets (tables that hold data) are built online: drizzle/online/0019_media_library.sql.
-- Which media ids a post target's variant names (its own mediaIds and its thread parts'), in lower case,
-- for the GIN index post_targets_media_refs_idx that media/in-use.ts reads. JSON of another shape counts as none.
CREATE FUNCTION "allin_media_refs"("variant" jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select coalesce(array_agg(distinct lower(ref)), '{}'::text[]) from (
    select jsonb_array_elements_text(case when jsonb_typeof(variant -> 'mediaIds') = 'array' then variant -> 'mediaIds' else '[]'::jsonb end) as ref
    union all
    select jsonb_array_elements_text(case when jsonb_typeof(part -> 'mediaIds') = 'array' then part -> 'mediaIds' else '[]'::jsonb end)
      from jsonb_array_elements(case when jsonb_typeof(variant -> 'thread') = 'array' then variant -> 'thread' else '[]'::jsonb end) as part
  ) refs
$$;
--> statement-breakpoint
CREATE TABLE "media_folders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "media_tag_links" (
	"media_id" uuid NOT NULL,
	"tag_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "media_tag_links_media_id_tag_id_pk" PRIMARY KEY("media_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "media_tags" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "media" ADD COLUMN "folder_id" uuid;
--> statement-breakpoint
ALTER TABLE "media" ADD COLUMN "preview_state" text;
--> statement-breakpoint
ALTER TABLE "media" ADD COLUMN "thumbnail_key" text;
--> statement-breakpoint
ALTER TABLE "media" ADD COLUMN "preview_key" text;
--> statement-breakpoint
ALTER TABLE "media_folders" ADD CONSTRAINT "media_folders_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "media_tag_links" ADD CONSTRAINT "media_tag_links_media_id_media_id_fk" FOREIGN KEY ("media_id") REFERENCES "public"."media"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "media_tag_links" ADD CONSTRAINT "media_tag_links_tag_id_media_tags_id_fk" FOREIGN KEY ("tag_id") REFERENCES "public"."media_tags"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "media_tags" ADD CONSTRAINT "media_tags_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "media_folders_name_key" ON "media_folders" USING btree ("workspace_id",lower("name"));
--> statement-breakpoint
CREATE INDEX "media_folders_list_idx" ON "media_folders" USING btree ("workspace_id","name","id");
--> statement-breakpoint
CREATE INDEX "media_tag_links_list_idx" ON "media_tag_links" USING btree ("tag_id","created_at","media_id");
--> statement-breakpoint
CREATE UNIQUE INDEX "media_tags_name_key" ON "media_tags" USING btree ("workspace_id",lower("name"));
--> statement-breakpoint
CREATE INDEX "media_tags_list_idx" ON "media_tags" USING btree ("workspace_id","name","id");
--> statement-breakpoint
ALTER TABLE "media" ADD CONSTRAINT "media_folder_id_media_folders_id_fk" FOREIGN KEY ("folder_id") REFERENCES "public"."media_folders"("id") ON DELETE no action ON UPDATE no action;
