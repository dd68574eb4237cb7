CREATE TABLE "labels" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"color" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "post_labels" (
	"post_id" uuid NOT NULL,
	"label_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	CONSTRAINT "post_labels_post_id_label_id_pk" PRIMARY KEY("post_id","label_id")
);
--> statement-breakpoint
CREATE TABLE "post_performance" (
	"target_id" uuid PRIMARY KEY NOT NULL,
	"post_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"published_at" timestamp with time zone NOT NULL,
	"collected_at" timestamp with time zone,
	"likes" bigint,
	"reposts" bigint,
	"replies" bigint,
	"impressions" bigint,
	"engagement" bigint,
	"rate_ppm" bigint
);
--> statement-breakpoint
ALTER TABLE "labels" ADD CONSTRAINT "labels_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "post_labels" ADD CONSTRAINT "post_labels_post_id_posts_id_fk" FOREIGN KEY ("post_id") REFERENCES "public"."posts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "post_labels" ADD CONSTRAINT "post_labels_label_id_labels_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."labels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "labels_name_key" ON "labels" USING btree ("workspace_id",lower("name"));--> statement-breakpoint
CREATE INDEX "labels_list_idx" ON "labels" USING btree ("workspace_id","name","id");--> statement-breakpoint
CREATE INDEX "post_labels_label_idx" ON "post_labels" USING btree ("label_id","post_id");--> statement-breakpoint
CREATE INDEX "post_performance_published_idx" ON "post_performance" USING btree ("workspace_id","published_at","target_id");--> statement-breakpoint
CREATE INDEX "post_performance_engagement_idx" ON "post_performance" USING btree ("workspace_id",coalesce(engagement, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_likes_idx" ON "post_performance" USING btree ("workspace_id",coalesce(likes, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_reposts_idx" ON "post_performance" USING btree ("workspace_id",coalesce(reposts, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_replies_idx" ON "post_performance" USING btree ("workspace_id",coalesce(replies, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_impressions_idx" ON "post_performance" USING btree ("workspace_id",coalesce(impressions, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_rate_idx" ON "post_performance" USING btree ("workspace_id",coalesce(rate_ppm, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_published_idx" ON "post_performance" USING btree ("account_id","published_at","target_id","engagement");--> statement-breakpoint
CREATE INDEX "post_performance_account_engagement_idx" ON "post_performance" USING btree ("account_id",coalesce(engagement, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_likes_idx" ON "post_performance" USING btree ("account_id",coalesce(likes, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_reposts_idx" ON "post_performance" USING btree ("account_id",coalesce(reposts, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_replies_idx" ON "post_performance" USING btree ("account_id",coalesce(replies, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_impressions_idx" ON "post_performance" USING btree ("account_id",coalesce(impressions, -1),"target_id");--> statement-breakpoint
CREATE INDEX "post_performance_account_rate_idx" ON "post_performance" USING btree ("account_id",coalesce(rate_ppm, -1),"target_id");--> statement-breakpoint
-- post_performance holds each published target with its latest figures (src/modules/analytics/schema.ts);
-- it is brought in line with post_targets and post_metrics_latest by the triggers that keep the rollups.
CREATE FUNCTION analytics_performance_sync(p_target uuid) RETURNS void LANGUAGE sql AS $$
  DELETE FROM post_performance p WHERE p.target_id = p_target
    AND NOT EXISTS (SELECT 1 FROM post_targets t WHERE t.id = p_target AND t.state = 'published' AND t.published_at IS NOT NULL);
  INSERT INTO post_performance AS p (target_id, post_id, workspace_id, account_id, provider, published_at, collected_at,
    likes, reposts, replies, impressions, engagement, rate_ppm)
  SELECT t.id, t.post_id, t.workspace_id, t.account_id, t.provider, t.published_at, l.collected_at, l.likes, l.reposts, l.replies, l.impressions, e.engagement,
    CASE WHEN e.engagement IS NOT NULL AND l.impressions > 0 THEN round(e.engagement * 1000000.0 / l.impressions)::bigint END
  FROM post_targets t LEFT JOIN post_metrics_latest l ON l.target_id = t.id
  CROSS JOIN LATERAL (SELECT CASE WHEN l.likes IS NULL AND l.reposts IS NULL AND l.replies IS NULL THEN NULL
    ELSE coalesce(l.likes, 0) + coalesce(l.reposts, 0) + coalesce(l.replies, 0) END AS engagement) e
  WHERE t.id = p_target AND t.state = 'published' AND t.published_at IS NOT NULL
  ON CONFLICT (target_id) DO UPDATE SET account_id = excluded.account_id, provider = excluded.provider, published_at = excluded.published_at,
    collected_at = excluded.collected_at, likes = excluded.likes, reposts = excluded.reposts, replies = excluded.replies,
    impressions = excluded.impressions, engagement = excluded.engagement, rate_ppm = excluded.rate_ppm
$$;
--> statement-breakpoint
-- As in 0017, with post_performance kept too.
CREATE OR REPLACE FUNCTION analytics_post_targets_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE m post_metrics_latest%ROWTYPE;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.published_at IS NOT DISTINCT FROM NEW.published_at AND OLD.account_id = NEW.account_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'published' AND OLD.published_at IS NOT NULL THEN
    SELECT * INTO m FROM post_metrics_latest WHERE target_id = OLD.id;
    PERFORM analytics_rollup_remove(OLD.account_id, OLD.published_at, m.likes, m.reposts, m.replies, m.impressions, 1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'published' AND NEW.published_at IS NOT NULL THEN
    SELECT * INTO m FROM post_metrics_latest WHERE target_id = NEW.id;
    PERFORM analytics_rollup_add(NEW.account_id, NEW.workspace_id, NEW.provider, NEW.published_at, m.likes, m.reposts, m.replies, m.impressions, 1);
  END IF;
  IF TG_OP = 'DELETE' THEN
    DELETE FROM post_metrics_latest WHERE target_id = OLD.id;
    DELETE FROM post_performance WHERE target_id = OLD.id;
  ELSE
    PERFORM analytics_performance_sync(NEW.id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_post_metrics_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE m post_metrics_latest%ROWTYPE; t post_targets%ROWTYPE;
BEGIN
  IF (NEW.likes = -1 AND NEW.reposts = -1 AND NEW.replies = -1 AND NEW.impressions = -1)
     OR (NEW.likes IS NULL AND NEW.reposts IS NULL AND NEW.replies IS NULL AND NEW.impressions IS NULL) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO t FROM post_targets WHERE id = NEW.target_id FOR SHARE;
  INSERT INTO post_metrics_latest (target_id) VALUES (NEW.target_id) ON CONFLICT DO NOTHING;
  SELECT * INTO m FROM post_metrics_latest WHERE target_id = NEW.target_id FOR UPDATE;
  IF m.collected_at IS NOT NULL AND (m.collected_at, m.row_id) >= (NEW.collected_at, NEW.id) THEN
    RETURN NULL;
  END IF;
  IF t.state = 'published' AND t.published_at IS NOT NULL THEN
    IF m.collected_at IS NOT NULL THEN
      PERFORM analytics_rollup_remove(t.account_id, t.published_at, m.likes, m.reposts, m.replies, m.impressions, 0);
    END IF;
    PERFORM analytics_rollup_add(t.account_id, t.workspace_id, t.provider, t.published_at, NEW.likes, NEW.reposts, NEW.replies, NEW.impressions, 0);
  END IF;
  UPDATE post_metrics_latest SET row_id = NEW.id, collected_at = NEW.collected_at, likes = NEW.likes, reposts = NEW.reposts,
    replies = NEW.replies, impressions = NEW.impressions WHERE target_id = NEW.target_id;
  PERFORM analytics_performance_sync(NEW.target_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
-- The published targets there already.
INSERT INTO post_performance (target_id, post_id, workspace_id, account_id, provider, published_at, collected_at,
  likes, reposts, replies, impressions, engagement, rate_ppm)
SELECT t.id, t.post_id, t.workspace_id, t.account_id, t.provider, t.published_at, l.collected_at, l.likes, l.reposts, l.replies, l.impressions, e.engagement,
  CASE WHEN e.engagement IS NOT NULL AND l.impressions > 0 THEN round(e.engagement * 1000000.0 / l.impressions)::bigint END
FROM post_targets t LEFT JOIN post_metrics_latest l ON l.target_id = t.id
CROSS JOIN LATERAL (SELECT CASE WHEN l.likes IS NULL AND l.reposts IS NULL AND l.replies IS NULL THEN NULL
  ELSE coalesce(l.likes, 0) + coalesce(l.reposts, 0) + coalesce(l.replies, 0) END AS engagement) e
WHERE t.state = 'published' AND t.published_at IS NOT NULL;
