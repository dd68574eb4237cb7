CREATE TABLE "account_post_rollups" (
	"account_id" uuid NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"workspace_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"posts" integer DEFAULT 0 NOT NULL,
	"likes" bigint DEFAULT 0 NOT NULL,
	"likes_n" integer DEFAULT 0 NOT NULL,
	"reposts" bigint DEFAULT 0 NOT NULL,
	"reposts_n" integer DEFAULT 0 NOT NULL,
	"replies" bigint DEFAULT 0 NOT NULL,
	"replies_n" integer DEFAULT 0 NOT NULL,
	"impressions" bigint DEFAULT 0 NOT NULL,
	"impressions_n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "account_post_rollups_account_id_bucket_pk" PRIMARY KEY("account_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "post_metrics_latest" (
	"target_id" uuid PRIMARY KEY NOT NULL,
	"row_id" bigint,
	"collected_at" timestamp with time zone,
	"likes" bigint,
	"reposts" bigint,
	"replies" bigint,
	"impressions" bigint
);
--> statement-breakpoint
ALTER TABLE "account_post_rollups" ADD CONSTRAINT "account_post_rollups_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
-- Keeping the rollups in the transaction that changes what they sum (src/modules/analytics/schema.ts).
-- A published target contributes one post and its latest figures to the quarter hour it was published in.
CREATE FUNCTION analytics_rollup_add(p_account uuid, p_workspace uuid, p_provider text, p_at timestamptz,
  p_likes bigint, p_reposts bigint, p_replies bigint, p_impressions bigint, p_posts integer) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO account_post_rollups AS r (account_id, bucket, workspace_id, provider, posts, likes, likes_n, reposts, reposts_n, replies, replies_n, impressions, impressions_n)
  VALUES (p_account, date_bin('15 minutes', p_at, timestamptz '2000-01-01 00:00:00+00'), p_workspace, p_provider, p_posts,
    coalesce(p_likes, 0), (p_likes IS NOT NULL)::int, coalesce(p_reposts, 0), (p_reposts IS NOT NULL)::int,
    coalesce(p_replies, 0), (p_replies IS NOT NULL)::int, coalesce(p_impressions, 0), (p_impressions IS NOT NULL)::int)
  ON CONFLICT (account_id, bucket) DO UPDATE SET posts = r.posts + excluded.posts,
    likes = r.likes + excluded.likes, likes_n = r.likes_n + excluded.likes_n,
    reposts = r.reposts + excluded.reposts, reposts_n = r.reposts_n + excluded.reposts_n,
    replies = r.replies + excluded.replies, replies_n = r.replies_n + excluded.replies_n,
    impressions = r.impressions + excluded.impressions, impressions_n = r.impressions_n + excluded.impressions_n
$$;
--> statement-breakpoint
-- The opposite of analytics_rollup_add, as an UPDATE only: the bucket exists (it was added to), and a row an
-- account's deletion is removing at the same time is no row to insert again.
CREATE FUNCTION analytics_rollup_remove(p_account uuid, p_at timestamptz,
  p_likes bigint, p_reposts bigint, p_replies bigint, p_impressions bigint, p_posts integer) RETURNS void
LANGUAGE sql AS $$
  UPDATE account_post_rollups SET posts = posts - p_posts,
    likes = likes - coalesce(p_likes, 0), likes_n = likes_n - (p_likes IS NOT NULL)::int,
    reposts = reposts - coalesce(p_reposts, 0), reposts_n = reposts_n - (p_reposts IS NOT NULL)::int,
    replies = replies - coalesce(p_replies, 0), replies_n = replies_n - (p_replies IS NOT NULL)::int,
    impressions = impressions - coalesce(p_impressions, 0), impressions_n = impressions_n - (p_impressions IS NOT NULL)::int
  WHERE account_id = p_account AND bucket = date_bin('15 minutes', p_at, timestamptz '2000-01-01 00:00:00+00')
$$;
--> statement-breakpoint
CREATE FUNCTION analytics_post_targets_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
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
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER analytics_post_targets_rollup AFTER INSERT OR UPDATE OF state, published_at, account_id OR DELETE ON post_targets
  FOR EACH ROW EXECUTE FUNCTION analytics_post_targets_rollup();
--> statement-breakpoint
-- A new post_metrics row with figures replaces the target's latest when it is newer (collected_at, then id);
-- a late one (collected before the latest) and the stop marker (all -1) or an empty answer change nothing.
CREATE FUNCTION analytics_post_metrics_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE m post_metrics_latest%ROWTYPE; t post_targets%ROWTYPE;
BEGIN
  IF (NEW.likes = -1 AND NEW.reposts = -1 AND NEW.replies = -1 AND NEW.impressions = -1)
     OR (NEW.likes IS NULL AND NEW.reposts IS NULL AND NEW.replies IS NULL AND NEW.impressions IS NULL) THEN
    RETURN NULL;
  END IF;
  -- The target's row first (a share lock: its state cannot change under us), then its latest figures, locked.
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
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER analytics_post_metrics_rollup AFTER INSERT ON post_metrics FOR EACH ROW EXECUTE FUNCTION analytics_post_metrics_rollup();
--> statement-breakpoint
-- What was there before the triggers: each target's latest figures, then the published targets summed.
INSERT INTO post_metrics_latest (target_id, row_id, collected_at, likes, reposts, replies, impressions)
SELECT DISTINCT ON (m.target_id) m.target_id, m.id, m.collected_at, m.likes, m.reposts, m.replies, m.impressions
FROM post_metrics m
WHERE NOT (coalesce(m.likes = -1 AND m.reposts = -1 AND m.replies = -1 AND m.impressions = -1, false))
  AND (m.likes IS NOT NULL OR m.reposts IS NOT NULL OR m.replies IS NOT NULL OR m.impressions IS NOT NULL)
ORDER BY m.target_id, m.collected_at DESC, m.id DESC;
--> statement-breakpoint
INSERT INTO account_post_rollups (account_id, bucket, workspace_id, provider, posts, likes, likes_n, reposts, reposts_n, replies, replies_n, impressions, impressions_n)
SELECT t.account_id, date_bin('15 minutes', t.published_at, timestamptz '2000-01-01 00:00:00+00'), t.workspace_id, t.provider, count(*),
  coalesce(sum(l.likes), 0), count(l.likes), coalesce(sum(l.reposts), 0), count(l.reposts),
  coalesce(sum(l.replies), 0), count(l.replies), coalesce(sum(l.impressions), 0), count(l.impressions)
FROM post_targets t LEFT JOIN post_metrics_latest l ON l.target_id = t.id
WHERE t.state = 'published' AND t.published_at IS NOT NULL
GROUP BY 1, 2, 3, 4;
