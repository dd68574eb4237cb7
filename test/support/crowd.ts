// Rows of other people in every table that grows with use, written straight in SQL (seconds, not the
// minutes the API would take): a crowd workspace with posts, targets, attempts, metrics, media, webhook
// deliveries, keys, invitations and members, and the users and sessions behind them. A test's own
// workspace is then a small part of each table, as on a real installation, and a plan that reads a whole
// table (or a whole workspace) to answer a page shows it. ANALYZEd at the end so the planner knows.
import type pg from 'pg';

export async function crowd(pool: pg.Pool, scale = 20_000): Promise<void> {
  const n = scale;
  const users = Math.max(100, Math.floor(n / 10));
  await pool.query(`
    create temporary table crowd_ids as select gen_random_uuid() as ws, gen_random_uuid() as account, gen_random_uuid() as hook;

    insert into users (email, name, password_hash)
      select 'crowd-' || i || '@crowd.example', 'Crowd ' || i, 'x' from generate_series(1, ${users}) i;
    insert into workspaces (id, name) select ws, 'Crowd' from crowd_ids;
    insert into workspaces (name) select 'Crowd ' || i from generate_series(1, ${users}) i;
    insert into memberships (workspace_id, user_id, role)
      select c.ws, u.id, 'editor' from crowd_ids c, users u where u.email like 'crowd-%';
    insert into memberships (workspace_id, user_id, role)
      select w.id, u.id, 'owner' from users u join workspaces w on w.name = 'Crowd ' || substr(u.email, 7, strpos(u.email, '@') - 7) where u.email like 'crowd-%';
    insert into sessions (user_id, refresh_hash, expires_at, created_at, revoked_at)
      select u.id, sha256(convert_to(u.id::text || s, 'UTF8')), now() + interval '30 days', now() - s * interval '1 hour',
             case when s % 2 = 0 then now() end
        from users u, generate_series(1, 4) s where u.email like 'crowd-%';
    insert into invitations (workspace_id, email, role, token_hash, expires_at)
      select c.ws, 'invite-' || i || '@crowd.example', 'viewer', sha256(convert_to('crowd-invite-' || i, 'UTF8')), now() + interval '7 days'
        from crowd_ids c, generate_series(1, ${Math.floor(n / 10)}) i;
    insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
      select account, ws, 'sandbox', 'crowd', 'person', 'crowd', 'Crowd' from crowd_ids;
    insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
      select gen_random_uuid(), ws, 'sandbox', 'crowd-' || i, 'person', 'crowd' || i, 'Crowd ' || i from crowd_ids, generate_series(1, 200) i;

    insert into posts (id, workspace_id, text, status, created_at)
      select gen_random_uuid(), c.ws, 'crowd post ' || i, (array['draft', 'pending_approval', 'scheduled'])[1 + i % 3],
             now() - i * interval '1 minute'
        from crowd_ids c, generate_series(1, ${n}) i;
    insert into post_targets (id, post_id, workspace_id, account_id, provider, occurrence, state, publish_at, queued)
      select gen_random_uuid(), p.id, p.workspace_id, c.account, 'sandbox', o,
             (array['draft', 'scheduled', 'published', 'failed'])[1 + o % 4], p.created_at + interval '1 day', o % 4 = 1
        from posts p, crowd_ids c, generate_series(0, 1) o where p.workspace_id = c.ws;
    insert into publish_attempts (target_id, part, marker, outcome)
      select t.id, 0, 'crowd', 'published' from post_targets t, crowd_ids c where t.workspace_id = c.ws;
    insert into post_metrics (target_id, account_id, likes)
      select t.id, t.account_id, 1 from post_targets t, crowd_ids c where t.workspace_id = c.ws;

    insert into media (id, workspace_id, storage_key, file_name, mime_type, bytes, sha256, created_at)
      select gen_random_uuid(), c.ws, 'crowd/' || i, 'crowd.png', 'image/png', 100, 'x', now() - i * interval '1 minute'
        from crowd_ids c, generate_series(1, ${Math.floor(n / 2)}) i;
    insert into media_folders (id, workspace_id, name) select gen_random_uuid(), c.ws, 'crowd ' || i from crowd_ids c, generate_series(1, ${Math.floor(n / 10)}) i;
    insert into media_tags (id, workspace_id, name) select gen_random_uuid(), c.ws, 'crowd ' || i from crowd_ids c, generate_series(1, ${Math.floor(n / 10)}) i;
    insert into media_tag_links (media_id, tag_id, created_at)
      select m.id, g.id, m.created_at from media m, crowd_ids c, lateral (select id from media_tags g where g.workspace_id = c.ws limit 2) g where m.workspace_id = c.ws;
    update posts p set media_ids = array[(select m.id from media m, crowd_ids c where m.workspace_id = c.ws limit 1)] from crowd_ids c where p.workspace_id = c.ws;
    insert into audit_log (workspace_id, actor_user_id, action)
      select c.ws, null, 'crowd.event' from crowd_ids c, generate_series(1, ${n * 2}) i;
    insert into webhooks (id, workspace_id, url, secret_enc) select hook, ws, 'https://crowd.example/hook', 'x' from crowd_ids;
    insert into webhook_deliveries (id, webhook_id, event, payload, status, created_at)
      select gen_random_uuid(), c.hook, 'post.published', '{}', (array['pending', 'delivered', 'failed'])[1 + i % 3], now() - i * interval '1 minute'
        from crowd_ids c, generate_series(1, ${n}) i;
    insert into webhook_attempts (delivery_id, status_code) select d.id, 200 from webhook_deliveries d, crowd_ids c where d.webhook_id = c.hook;
    insert into api_keys (workspace_id, name, prefix, secret_hash, scopes, revoked_at)
      select c.ws, 'crowd ' || i, 'crowd' || i, sha256(convert_to('crowd-key-' || i, 'UTF8')), '{read}', now()
        from crowd_ids c, generate_series(1, ${Math.floor(n / 10)}) i;
    insert into mail_outbox (to_address, subject, text_body, template)
      select 'crowd-' || i || '@crowd.example', 'crowd', 'crowd', 'crowd' from generate_series(1, ${Math.floor(n / 10)}) i;
    insert into links (id, workspace_id, network, code, url, url_hash, destination, created_at)
      select gen_random_uuid(), c.ws, 'sandbox', 'c' || lpad(i::text, 7, '0'), 'https://crowd.example.com/' || i, sha256(convert_to('crowd-link-' || i, 'UTF8')),
             'https://crowd.example.com/' || i || '?utm_source=sandbox', now() - i * interval '1 minute'
        from crowd_ids c, generate_series(1, ${Math.floor(n / 4)}) i;
    insert into link_clicks (link_id, day, workspace_id, network, clicks, bot_clicks)
      select l.id, current_date - d, l.workspace_id, l.network, 3, 1 from links l, crowd_ids c, generate_series(0, 3) d where l.workspace_id = c.ws;
    drop table crowd_ids;
  `);
  await pool.query('analyze');
}
