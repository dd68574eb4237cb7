-- The analytics triggers cost a target that is not published nothing: a post_performance row and a rollup
-- share exist only for a published target, so a change between other states (scheduled, publishing, back
-- to scheduled: three or four per target while it is published, and every target a bulk upload inserts)
-- has nothing to keep. Measured with pg_stat_statements, the sync ran about four times per published
-- target at about 1.2 ms each, mostly planning: a LANGUAGE sql function is planned again on every call
-- (its INSERT … ON CONFLICT weighs post_performance's sixteen indexes each time). As plpgsql, the three
-- functions keep their plans for the connection.
CREATE OR REPLACE FUNCTION analytics_performance_sync(p_target uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
    impressions = excluded.impressions, engagement = excluded.engagement, rate_ppm = excluded.rate_ppm;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_rollup_add(p_account uuid, p_workspace uuid, p_provider text, p_at timestamptz,
  p_likes bigint, p_reposts bigint, p_replies bigint, p_impressions bigint, p_posts integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_post_rollups AS r (account_id, bucket, workspace_id, provider, posts, likes, likes_n, reposts, reposts_n, replies, replies_n, impressions, impressions_n)
  VALUES (p_account, date_bin('15 minutes', p_at, timestamptz '2000-01-01 00:00:00+00'), p_workspace, p_provider, p_posts,
    coalesce(p_likes, 0), (p_likes IS NOT NULL)::int, coalesce(p_reposts, 0), (p_reposts IS NOT NULL)::int,
    coalesce(p_replies, 0), (p_replies IS NOT NULL)::int, coalesce(p_impressions, 0), (p_impressions IS NOT NULL)::int)
  ON CONFLICT (account_id, bucket) DO UPDATE SET posts = r.posts + excluded.posts,
    likes = r.likes + excluded.likes, likes_n = r.likes_n + excluded.likes_n,
    reposts = r.reposts + excluded.reposts, reposts_n = r.reposts_n + excluded.reposts_n,
    replies = r.replies + excluded.replies, replies_n = r.replies_n + excluded.replies_n,
    impressions = r.impressions + excluded.impressions, impressions_n = r.impressions_n + excluded.impressions_n;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_rollup_remove(p_account uuid, p_at timestamptz,
  p_likes bigint, p_reposts bigint, p_replies bigint, p_impressions bigint, p_posts integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE account_post_rollups SET posts = posts - p_posts,
    likes = likes - coalesce(p_likes, 0), likes_n = likes_n - (p_likes IS NOT NULL)::int,
    reposts = reposts - coalesce(p_reposts, 0), reposts_n = reposts_n - (p_reposts IS NOT NULL)::int,
    replies = replies - coalesce(p_replies, 0), replies_n = replies_n - (p_replies IS NOT NULL)::int,
    impressions = impressions - coalesce(p_impressions, 0), impressions_n = impressions_n - (p_impressions IS NOT NULL)::int
  WHERE account_id = p_account AND bucket = date_bin('15 minutes', p_at, timestamptz '2000-01-01 00:00:00+00');
END $$;
--> statement-breakpoint
-- As in 0021, returning at once when the target neither was nor is published (an INSERT or UPDATE; a
-- deleted target still has its latest figures removed).
CREATE OR REPLACE FUNCTION analytics_post_targets_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE m post_metrics_latest%ROWTYPE;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.state = NEW.state AND OLD.published_at IS NOT DISTINCT FROM NEW.published_at AND OLD.account_id = NEW.account_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.state <> 'published' AND (TG_OP = 'INSERT' OR OLD.state <> 'published') THEN
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
