// The SQL that builds the seeded dataset, set-based: each table is one INSERT … SELECT over
// generate_series, reading work tables (seed_ws, seed_posts, seed_targets…) that live only in the seeding
// transaction. Every choice (a post's day and hour, its state, its accounts, its text) is a pure function
// of the seed and a row's number: pg_temp.r(k, salt) is a number in [0, 1) from hashint8extended (stable
// across PostgreSQL versions: hash partitioning relies on it), pg_temp.uid(kind, key) a version-4-shaped
// UUID from md5. So the same seed, scale and anchor give the same rows, ids included.
//
// What the rows must agree with (src/modules/*/schema.ts and the code that writes them):
// - a post is draft, pending_approval or scheduled; its targets say where each network stands. A scheduled
//   future target has its publish_target job (key publish:<target id>, run_at = publish_at), as
//   scheduling.ts adds it; nothing else waits for a job. The few targets left `publishing` have a lease
//   that runs out minutes after the anchor: the publishing sweeper hands them back, as after a worker crash.
// - every time is relative to the anchor ("now" when seeding): one year back, one year ahead; the past is
//   published (or failed, unknown, cancelled), the future scheduled, waiting for approval or in the queue.
// - queued targets hold distinct posting slots of their account, in slot order (queue.ts).
// - published targets have their attempt log (one row per thread part, marker allin-<target>-<part>) and
//   figures collected at the analytics schedule's ages that have passed (+1 h … +30 d), so the collector
//   finds only what a real one would; webhook deliveries are settled (no delivery waits for a job).

import { PUBLISH_JOB_KEY_PREFIX, PUBLISH_JOB_MAX_ATTEMPTS, PUBLISH_TASK } from '../modules/posts/jobs.ts';

/** Work tables and helpers; `seed` and `anchor` are checked by the caller (an integer and an ISO instant). */
export function helpersSql(seed: number, anchor: string): string[] {
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be an integer');
  if (Number.isNaN(Date.parse(anchor)) || !/^[0-9T:.Z-]+$/.test(anchor)) throw new RangeError('anchor must be an ISO instant');
  return [
    // generate_series and unanalysed work tables look expensive to the planner, which would then spend
    // seconds compiling each statement (JIT) to save milliseconds.
    `set local jit = off`,
    `create function pg_temp.r(k bigint, salt int) returns double precision language sql immutable parallel safe
       as $$ select (hashint8extended($1 * 1024 + $2, ${seed}) & 9223372036854775807)::double precision / 9223372036854775808.0 $$`,
    `create function pg_temp.ri(k bigint, salt int, n int) returns int language sql immutable parallel safe
       as $$ select least($3 - 1, floor(pg_temp.r($1, $2) * $3)::int) $$`,
    `create function pg_temp.uid(kind text, k text) returns uuid language sql immutable parallel safe
       as $$ select overlay(overlay(md5('${seed}:' || $1 || ':' || $2) placing '4' from 13 for 1) placing '8' from 17 for 1)::uuid $$`,
    `create temp table seed_const (
       anchor timestamptz not null, sentences text[] not null, tags text[] not null,
       img_bytes int[] not null, img_sha text[] not null, img_w int[] not null, img_h int[] not null,
       password_hash text not null, slots jsonb not null, slot_days int[] not null, slot_times text[] not null, sim_url text not null,
       comments text[] not null
     ) on commit drop`,
    `create temp table seed_ws (
       w int primary key, name text, tz text, require_approval boolean, accounts int, posts int, media int, api_keys int, webhooks int, inbox int,
       id uuid, post_start bigint, inbox_start bigint, owner_id uuid, writers int
     ) on commit drop`,
    `create temp table seed_members (w int, ord int, email text, name text, role text, user_id uuid) on commit drop`,
  ];
}

/** Fills seed_const ($1…$13), seed_ws (the plan's workspaces as JSON) and seed_members. */
export const FILL_CONST_SQL = `insert into seed_const values ($1::timestamptz, $2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::int[], $8, $9::jsonb, $10::int[], $11::text[], $12, $13::text[])`;
export const FILL_WS_SQL = `
  insert into seed_ws (w, name, tz, require_approval, accounts, posts, media, api_keys, webhooks, inbox, id, post_start, inbox_start)
  select x.w, x.name, x.tz, x.require_approval, x.accounts, x.posts, x.media, x.api_keys, x.webhooks, x.inbox, pg_temp.uid('workspace', x.w::text),
         coalesce(sum(x.posts) over (order by x.w rows between unbounded preceding and 1 preceding), 0),
         coalesce(sum(x.inbox) over (order by x.w rows between unbounded preceding and 1 preceding), 0)
    from json_to_recordset($1::json) as x(w int, name text, tz text, require_approval boolean, accounts int, posts int, media int, api_keys int, webhooks int, inbox int)`;
export const FILL_MEMBERS_SQL = `
  insert into seed_members (w, ord, email, name, role, user_id)
  select x.w, x.ord, x.email, x.name, x.role, pg_temp.uid('user', x.email)
    from json_to_recordset($1::json) as x(w int, ord int, email text, name text, role text)`;

export interface Step {
  /** What the step makes, for the timing lines. */
  name: string;
  sql: string[];
  /** The media rows exist after this step: their files can be written while the next steps run. */
  makesMedia?: boolean;
}

export const STEPS: Step[] = [
  {
    name: 'users, workspaces, members',
    sql: [
      `update seed_ws w set owner_id = m.user_id from seed_members m where m.w = w.w and m.role = 'owner'`,
      `create temp table seed_writers on commit drop as
         select w, (row_number() over (partition by w order by ord) - 1)::int as i, user_id, role from seed_members where role <> 'viewer'`,
      `update seed_ws w set writers = (select count(*) from seed_writers x where x.w = w.w)`,
      `insert into users (id, email, name, password_hash, email_verified_at, created_at, updated_at)
         select distinct on (m.email) m.user_id, m.email, m.name, c.password_hash, c.anchor - interval '400 days', c.anchor - interval '400 days', c.anchor - interval '400 days'
           from seed_members m, seed_const c order by m.email, m.w`,
      `insert into workspaces (id, name, settings, created_at, updated_at)
         select w.id, w.name, jsonb_build_object('requireApproval', w.require_approval, 'timeZone', w.tz),
                c.anchor - interval '400 days' + w.w * interval '1 hour', c.anchor - interval '400 days' + w.w * interval '1 hour'
           from seed_ws w, seed_const c order by w.w`,
      `insert into memberships (workspace_id, user_id, role, created_at)
         select w.id, m.user_id, m.role, c.anchor - interval '400 days' + w.w * interval '1 hour' + m.ord * interval '1 minute'
           from seed_members m join seed_ws w on w.w = m.w, seed_const c order by w.w, m.ord`,
    ],
  },
  {
    name: 'accounts, posting slots, media, API keys, webhooks',
    makesMedia: true,
    sql: [
      `create temp table seed_accounts on commit drop as
         select w.w, a, pg_temp.uid('account', w.w || ':' || a) as id, w.id as workspace_id, w.tz, w.owner_id
           from seed_ws w, generate_series(0, w.accounts - 1) a`,
      `create unique index on seed_accounts (w, a)`,
      `insert into social_accounts (id, workspace_id, provider, host, external_id, kind, username, display_name, profile_url, data,
                                    token_expires_at, scope, status, connected_by, connected_at, updated_at)
         select a.id, a.workspace_id, 'sandbox', '', 'seed-' || a.w || '-' || a.a, 'person',
                'client' || lpad(a.w::text, 2, '0') || '_brand' || lpad((a.a + 1)::text, 3, '0'),
                'Brand ' || (a.a + 1) || ' (' || w.name || ')', null, '{}'::jsonb,
                c.anchor + interval '2 hours', '{profile,posts,offline}', 'active', a.owner_id,
                c.anchor - interval '399 days' + a.a * interval '1 hour', c.anchor - interval '399 days' + a.a * interval '1 hour'
           from seed_accounts a join seed_ws w on w.w = a.w, seed_const c order by a.w, a.a`,
      `insert into posting_schedules (account_id, workspace_id, time_zone, slots, updated_at)
         select a.id, a.workspace_id, a.tz, c.slots, c.anchor - interval '399 days' + a.a * interval '1 hour'
           from seed_accounts a, seed_const c order by a.w, a.a`,
      `create temp table seed_media on commit drop as
         select w.w, m, pg_temp.uid('media', w.w || ':' || m) as id, w.id as workspace_id, w.owner_id,
                (m % cardinality(c.img_sha)) + 1 as v, c.anchor - interval '400 days' + (m::float8 / w.media) * interval '399 days' as created_at
           from seed_ws w, generate_series(0, w.media - 1) m, seed_const c`,
      `insert into media (id, workspace_id, uploaded_by, storage_key, file_name, mime_type, bytes, sha256, width, height, alt_text, created_at)
         select m.id, m.workspace_id, m.owner_id, m.workspace_id::text || '/' || m.id::text, 'image-' || lpad(m.m::text, 4, '0') || '.png', 'image/png',
                c.img_bytes[m.v], c.img_sha[m.v], c.img_w[m.v], c.img_h[m.v],
                case when pg_temp.r(m.w * 100000 + m.m, 40) < 0.6 then 'A plain ' || c.img_w[m.v] || ' by ' || c.img_h[m.v] || ' picture in the brand colour' end,
                m.created_at
           from seed_media m, seed_const c order by m.created_at, m.id`,
      `insert into api_keys (id, workspace_id, name, prefix, secret_hash, scopes, created_by, created_at, last_used_at, revoked_at)
         select pg_temp.uid('apikey', w.w || ':' || i), w.id,
                (array['Zapier', 'Reporting dashboard', 'CMS publisher', 'Data warehouse sync', 'Intern script', 'Mobile app', 'Slack bot',
                       'Newsletter tool', 'Scheduler import', 'Analytics export', 'Backup job', 'Staging'])[1 + i % 12],
                translate(encode(substr(decode(md5('apikey:' || pg_temp.uid('apikey', w.w || ':' || i)::text), 'hex'), 1, 6), 'base64'), '+/', '-_'),
                -- The secret is random and never shown: nobody can use a seeded key.
                sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')),
                case i % 3 when 0 then '{read}'::text[] when 1 then '{write}'::text[] else '{admin}'::text[] end, w.owner_id,
                c.anchor - interval '300 days' + i * interval '20 days',
                case when i % 4 <> 3 then c.anchor - (i + 1) * interval '1 hour' end,
                case when i % 4 = 3 then c.anchor - interval '300 days' + i * interval '20 days' + interval '30 days' end
           from seed_ws w, generate_series(0, w.api_keys - 1) i, seed_const c order by w.w, i`,
      `create temp table seed_webhooks on commit drop as
         select w.w, h, pg_temp.uid('webhook', w.w || ':' || h) as id, w.id as workspace_id, w.owner_id,
                case h when 0 then array['post.published', 'post.failed', 'post.unknown', 'account.needs_reconnect']
                       when 1 then array['post.failed', 'post.unknown'] else array['post.published'] end as events,
                h < 2 as active
           from seed_ws w, generate_series(0, w.webhooks - 1) h`,
      // The hosts are under .invalid (RFC 2606): a delivery a worker makes later fails at DNS, it never leaves the machine.
      `insert into webhooks (id, workspace_id, url, description, events, secret_enc, active, created_by, created_at, updated_at)
         select h.id, h.workspace_id, 'https://hooks.client' || lpad(h.w::text, 2, '0') || '.invalid/allin/' || h.h,
                (array['Everything to the data warehouse', 'Failures to the on-call channel', 'Old CRM hook (paused)'])[1 + h.h % 3],
                h.events, 'set below', h.active, h.owner_id, c.anchor - interval '390 days' + h.h * interval '1 day', c.anchor - interval '390 days' + h.h * interval '1 day'
           from seed_webhooks h, seed_const c order by h.w, h.h`,
    ],
  },
  {
    name: 'posts',
    sql: [
      `create temp table seed_posts on commit drop as
         with base as materialized (
           select w.w, w.id as workspace_id, w.tz, w.accounts, w.media as media_n, w.writers, w.require_approval, w.owner_id, k, w.post_start + k as n
             from seed_ws w, generate_series(0, w.posts - 1) k
         ), days as materialized (
           select b.*, pg_temp.r(b.n, 1) as r0,
                  date_trunc('day', c.anchor at time zone b.tz) + (pg_temp.ri(b.n, 2, 730) - 365) * interval '1 day' as d0
             from base b, seed_const c
         ), weekdays as materialized (
           -- Fewer posts at weekends: most weekend days move to a day of the week before.
           select d.*, case when extract(isodow from d.d0) >= 6 and pg_temp.r(d.n, 3) < 0.7
                            then d.d0 - (extract(isodow from d.d0)::int - 5 + pg_temp.ri(d.n, 6, 5)) * interval '1 day' else d.d0 end as d
             from days d
         ), timed as materialized (
           -- Working hours in the workspace's zone, on the quarter hour (many posts share an instant, as real ones do).
           select x.*, (x.d + (7 + pg_temp.ri(x.n, 4, 13)) * interval '1 hour' + 15 * pg_temp.ri(x.n, 5, 4) * interval '1 minute') at time zone x.tz as t0
             from weekdays x
         ), kinds as materialized (
           select t.*,
                  case when t.w = 0 and t.k = 0 then 'publishing'
                       when t.r0 < 0.04 then 'draft'
                       when t.t0 > c.anchor + interval '15 minutes' then case when t.r0 < 0.10 then 'pending' when t.r0 < 0.13 then 'queue' else 'scheduled' end
                       when t.t0 < c.anchor - interval '15 minutes' then case when t.r0 < 0.045 then 'pending' else 'done' end
                       else 'scheduled' end as kind,
                  case when t.w = 0 and t.k = 0 then c.anchor - interval '2 minutes'
                       when t.t0 between c.anchor - interval '15 minutes' and c.anchor + interval '15 minutes' then c.anchor + interval '20 minutes'
                       else t.t0 end as instant
             from timed t, seed_const c
         ), made as materialized (
           select k.*, wr.user_id as created_by, wr.role as creator_role,
                  case k.kind
                    when 'draft' then c.anchor - interval '1 minute' - pg_temp.r(k.n, 13) * interval '365 days'
                    when 'queue' then c.anchor - interval '1 minute' - pg_temp.r(k.n, 13) * interval '3 days'
                    else case when k.instant - interval '1 hour' - pg_temp.r(k.n, 12) * interval '21 days' < c.anchor - interval '1 minute'
                              then k.instant - interval '1 hour' - pg_temp.r(k.n, 12) * interval '21 days'
                              else c.anchor - interval '1 minute' - pg_temp.r(k.n, 13) * interval '14 days' end
                  end as created_at
             from kinds k join seed_writers wr on wr.w = k.w and wr.i = pg_temp.ri(k.n, 11, k.writers), seed_const c
         ), reviewed as materialized (
           -- Where approval is required an editor's post went through it; some drafts came back rejected.
           select m.*,
                  m.kind = 'pending' or (m.require_approval and m.creator_role = 'editor' and (m.kind <> 'draft' or pg_temp.r(m.n, 15) < 0.15)) as submitted,
                  case when m.kind = 'pending' or not (m.require_approval and m.creator_role = 'editor') then null
                       when m.kind = 'draft' then case when pg_temp.r(m.n, 15) < 0.15 then 'rejected' end
                       else 'approved' end as decision,
                  least(floor(extract(epoch from m.created_at - (c.anchor - interval '400 days')) / (399 * 86400.0) * m.media_n), m.media_n)::int as eligible_media
             from made m, seed_const c
         )
         select r.n, r.k, r.w, r.workspace_id, r.tz, r.accounts, r.owner_id, r.kind, r.instant, r.created_at, r.created_by,
                pg_temp.uid('post', r.n::text) as id,
                1 + (r.k % least(5, r.accounts)) as nt, pg_temp.ri(r.n, 25, r.accounts) as abase,
                case r.kind when 'draft' then 'draft' when 'pending' then 'pending_approval' else 'scheduled' end as status,
                case when r.kind in ('draft', 'queue') then null else r.instant end as publish_at,
                case when r.kind = 'draft' then null when r.kind = 'queue' then 'queue' when pg_temp.r(r.n, 16) < 0.3 then 'local' else 'at' end as schedule_mode,
                c.sentences[1 + pg_temp.ri(r.n, 17, cardinality(c.sentences))] || ' ' || c.sentences[1 + pg_temp.ri(r.n, 18, cardinality(c.sentences))]
                  || case when pg_temp.r(r.n, 19) < 0.4 then ' ' || c.sentences[1 + pg_temp.ri(r.n, 20, cardinality(c.sentences))] else '' end
                  || ' ' || c.tags[1 + pg_temp.ri(r.n, 21, cardinality(c.tags))] as text,
                case when r.eligible_media > 0 and pg_temp.r(r.n, 22) < 0.4 then array(
                  select pg_temp.uid('media', r.w || ':' || ((pg_temp.ri(r.n, 24, r.eligible_media) - i + r.eligible_media) % r.eligible_media))
                    from generate_series(0, least(r.eligible_media, 1 + pg_temp.ri(r.n, 23, 4)) - 1) i order by i)
                  else '{}'::uuid[] end as media_ids,
                case when r.submitted then r.created_by end as submitted_by,
                case when r.submitted then least(r.created_at + interval '5 minutes', c.anchor - interval '30 seconds') end as submitted_at,
                case when r.decision is not null then r.owner_id end as reviewed_by,
                case when r.decision is not null then greatest(least(r.created_at + interval '5 minutes', c.anchor - interval '30 seconds'),
                  least(r.created_at + interval '10 minutes' + pg_temp.r(r.n, 14) * interval '6 hours', r.instant - interval '1 minute', c.anchor - interval '1 minute')) end as reviewed_at,
                r.decision,
                case when r.decision = 'rejected' then 'Please shorten the text and use the new logo.' end as review_comment,
                1 + pg_temp.ri(r.n, 26, 2) + case when r.submitted then 1 else 0 end + case when r.decision is not null then 1 else 0 end
                  + case when r.kind in ('draft', 'pending') then 0 else 1 end as version
           from reviewed r, seed_const c`,
      // Work tables have no statistics until analysed (autovacuum never sees temporary tables).
      `analyze seed_posts (kind, submitted_by, decision)`,
      `insert into posts (id, workspace_id, created_by, text, media_ids, status, publish_at, local_time, time_zone, recurrence, schedule_mode,
                          submitted_by, submitted_at, reviewed_by, reviewed_at, review_decision, review_comment, version, created_at, updated_at)
         select p.id, p.workspace_id, p.created_by, p.text, p.media_ids, p.status, p.publish_at,
                case when p.schedule_mode = 'local' then to_char(p.instant at time zone p.tz, 'YYYY-MM-DD"T"HH24:MI') end,
                case when p.schedule_mode = 'local' then p.tz end, null, p.schedule_mode,
                p.submitted_by, p.submitted_at, p.reviewed_by, p.reviewed_at, p.decision, p.review_comment, p.version, p.created_at,
                greatest(p.created_at, coalesce(p.reviewed_at, p.submitted_at, p.created_at))
           from seed_posts p order by p.created_at, p.id`,
    ],
  },
  {
    name: 'post targets',
    sql: [
      `create temp table seed_targets on commit drop as
         with base as materialized (
           select p.n, p.w, p.workspace_id, p.id as post_id, p.kind, p.instant, p.created_at, p.owner_id, j, p.n * 8 + j as t, (p.abase + j) % p.accounts as a
             from seed_posts p, generate_series(0, p.nt - 1) j
         ), states as materialized (
           select b.*,
                  case b.kind
                    when 'draft' then 'draft' when 'pending' then 'pending_approval' when 'publishing' then 'publishing' when 'queue' then 'scheduled'
                    when 'scheduled' then case when pg_temp.r(b.t, 30) < 0.01 then 'cancelled' else 'scheduled' end
                    else case when pg_temp.r(b.t, 30) < 0.93 then 'published' when pg_temp.r(b.t, 30) < 0.98 then 'failed'
                              when pg_temp.r(b.t, 30) < 0.985 then 'unknown' else 'cancelled' end
                  end as state,
                  case when pg_temp.r(b.t, 31) < 0.1 then 1 + pg_temp.ri(b.t, 32, 3) else 0 end as thread_len,
                  pg_temp.r(b.t, 33) < 0.05 as has_comment
             from base b
         ), outcomes as materialized (
           select s.*,
                  case when s.state = 'failed' then pg_temp.ri(s.t, 35, 3) end as fail_kind,
                  case s.state when 'published' then case when pg_temp.r(s.t, 40) < 0.03 then 2 else 1 end
                               when 'failed' then case when pg_temp.ri(s.t, 35, 3) = 2 then 8 else 1 end
                               when 'unknown' then 1 when 'publishing' then 1 else 0 end as attempts
             from states s
         )
         select o.*, acc.id as account_id, pg_temp.uid('target', o.t::text) as id, 1 + o.thread_len + case when o.has_comment then 1 else 0 end as parts,
                case when o.state in ('draft', 'pending_approval') then null else o.instant end as publish_at,
                case o.state when 'published' then o.instant + (1 + pg_temp.r(o.t, 39) * 8 + 0.4 * o.thread_len) * interval '1 second' + (o.attempts - 1) * interval '40 seconds'
                             when 'failed' then o.instant + (2 + pg_temp.r(o.t, 39) * 30) * interval '1 second' + (o.attempts - 1) * interval '10 minutes'
                             when 'unknown' then o.instant + interval '31 seconds' end as finished_at,
                '{}'::jsonb
                  || case when pg_temp.r(o.t, 34) < 0.3 then jsonb_build_object('text', c.sentences[1 + pg_temp.ri(o.t, 36, cardinality(c.sentences))] || ' ' || c.tags[1 + pg_temp.ri(o.t, 37, cardinality(c.tags))]) else '{}'::jsonb end
                  || case when o.thread_len > 0 then jsonb_build_object('thread', (
                       select jsonb_agg(jsonb_build_object('text', (i + 1) || '/ ' || c.sentences[1 + pg_temp.ri(o.t * 4 + i, 38, cardinality(c.sentences))]) order by i)
                         from generate_series(1, o.thread_len) i)) else '{}'::jsonb end
                  || case when o.has_comment then jsonb_build_object('firstComment', 'More on our website: https://www.example.com/news') else '{}'::jsonb end as variant,
                c.sim_url || '/sandbox/p/' as url_base
           from outcomes o join seed_accounts acc on acc.w = o.w and acc.a = o.a, seed_const c`,
      // Queued targets take their account's free posting slots in order (queue.ts, nextFreeSlots).
      `create temp table seed_slots on commit drop as
         select w.w, (row_number() over (partition by w.w order by s.at) - 1)::int as idx, s.at
           from seed_ws w cross join lateral (
             select (date_trunc('week', c.anchor at time zone w.tz) + (wk * 7 + x.d - 1) * interval '1 day' + x.tm::interval) at time zone w.tz as at
               from seed_const c, generate_series(0, 60) wk, unnest(c.slot_days, c.slot_times) as x(d, tm)
           ) s, seed_const c
          where s.at > c.anchor + interval '15 minutes'`,
      `update seed_targets t set publish_at = s.at
         from (select id, w, (row_number() over (partition by account_id order by created_at, post_id) - 1)::int as idx from seed_targets where kind = 'queue') q
         join seed_slots s on s.w = q.w and s.idx = q.idx
        where t.id = q.id`,
      `analyze seed_targets (id, w, kind, state)`,
      `insert into post_targets (id, post_id, workspace_id, account_id, provider, occurrence, variant, state, publish_at, queued, attempts, next_attempt_at,
                                 lease_until, worker_id, progress, remote_id, remote_url, published_at, error_class, error_message, network_status, created_at, updated_at)
         select t.id, t.post_id, t.workspace_id, t.account_id, 'sandbox', 0, t.variant, t.state, t.publish_at, t.kind = 'queue', t.attempts, null,
                case when t.state = 'publishing' then c.anchor + interval '4 minutes' end,
                case when t.state = 'publishing' then 'seed0001:seed-worker:1' end,
                case when t.state = 'published' then jsonb_build_object('parts',
                       (select jsonb_agg(jsonb_build_object('remoteId', (t.t * 10 + i)::text, 'url', t.url_base || (t.t * 10 + i)) order by i) from generate_series(0, t.thread_len) i))
                     || case when t.has_comment then jsonb_build_object('comment', jsonb_build_object('remoteId', (t.t * 10 + t.parts - 1)::text, 'url', t.url_base || (t.t * 10 + t.parts - 1))) else '{}'::jsonb end
                     else '{"parts": []}'::jsonb end,
                case when t.state = 'published' then (t.t * 10)::text end,
                case when t.state = 'published' then t.url_base || (t.t * 10) end,
                case when t.state = 'published' then t.finished_at end,
                case when t.state = 'unknown' then 'unknown_outcome' when t.state = 'failed' then (array['permanent', 'auth_expired', 'rate_limited'])[1 + t.fail_kind] end,
                case when t.state = 'unknown' then 'sandbox: the request timed out after it was sent, and whether the post was published cannot be known (sandbox: find_post answered 503). Check the account before retrying.'
                     when t.state = 'failed' then (array['Sandbox refused the post (422): text must be 1 to 1000 characters',
                                                         'The sandbox account needs reconnecting (the network refused its token); reconnect it and retry.',
                                                         'Sandbox answered 429 Too Many Requests (gave up after 8 attempts)'])[1 + t.fail_kind] end,
                case when t.state = 'failed' then (array[422, 401, 429])[1 + t.fail_kind] end,
                t.created_at, coalesce(t.finished_at, t.created_at)
           from seed_targets t, seed_const c order by t.created_at, t.post_id, t.j`,
    ],
  },
  {
    name: 'publish attempts',
    sql: [
      `insert into publish_attempts (target_id, part, marker, worker_id, started_at, finished_at, outcome, error_class, network_status, message, remote_id)
         select t.id, g.part, 'allin-' || t.id || '-' || g.part, 'seed-worker:' || (1 + pg_temp.ri(t.t, 41, 2)), g.started_at, g.finished_at, g.outcome, g.error_class, g.network_status, g.message, g.remote_id
           from seed_targets t cross join lateral (
             select 'published' as outcome, i as part, t.finished_at - (t.parts - i) * interval '400 milliseconds' as started_at,
                    t.finished_at - (t.parts - i - 1) * interval '400 milliseconds' - interval '100 milliseconds' as finished_at,
                    null::text as error_class, null::int as network_status, null::text as message, (t.t * 10 + i)::text as remote_id
               from generate_series(0, t.parts - 1) i where t.state = 'published'
             union all
             select 'retry', 0, t.instant + interval '1 second', t.instant + interval '2 seconds', 'transient', 503, 'Sandbox answered 503 Service Unavailable', null
              where t.state = 'published' and t.attempts = 2
             union all
             select case when i < t.attempts then 'retry' else 'failed' end, 0, t.instant + (i - 1) * interval '10 minutes' + interval '1 second',
                    t.instant + (i - 1) * interval '10 minutes' + interval '2 seconds',
                    case when i < t.attempts then 'rate_limited' else (array['permanent', 'auth_expired', 'rate_limited'])[1 + t.fail_kind] end,
                    case when i < t.attempts then 429 else (array[422, 401, 429])[1 + t.fail_kind] end,
                    case when i < t.attempts then 'Sandbox answered 429 Too Many Requests' else 'Sandbox refused the request' end, null
               from generate_series(1, t.attempts) i where t.state = 'failed'
             union all
             select 'unknown', 0, t.instant + interval '1 second', t.finished_at, 'unknown_outcome', null, 'sandbox: the request timed out after it was sent', null
              where t.state = 'unknown'
             union all
             select 'in_flight', 0, (select anchor from seed_const) - interval '1 minute', null, null, null, null, null
              where t.state = 'publishing'
           ) g
          order by g.started_at, t.id, g.part`,
    ],
  },
  {
    name: 'post metrics',
    sql: [
      // One collection at each age of the analytics schedule that has passed (+1 h, +6 h, +1 d, +3 d, +7 d, +30 d).
      `insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at)
         select t.id, t.account_id, round(b.base * x.f)::bigint, round(b.base / 5.0 * x.f)::bigint, round(b.base / 8.0 * x.f)::bigint,
                round((b.base * 40 + 50) * x.f)::bigint, t.finished_at + x.hours * interval '1 hour' + interval '7 seconds'
           from seed_targets t cross join lateral (select pg_temp.ri(t.t, 42, 120) as base) b
           cross join unnest(array[1, 6, 24, 72, 168, 720], array[0.3, 0.6, 0.85, 0.95, 0.98, 1.0]) as x(hours, f), seed_const c
          where t.state = 'published' and t.finished_at + x.hours * interval '1 hour' + interval '7 seconds' <= c.anchor
          order by 7, t.id`,
    ],
  },
  {
    // Comments on the accounts' posts (most on posts published through AllIN, the newest first, some on other
    // posts of the account), mentions, and the team's answers, up to a week after each post; conversations
    // older than a week mostly done, the recent ones open or assigned; labels, notes, the owner's read state.
    name: 'inbox',
    sql: [
      // Conversations of 1 to 11 messages (mentions 1 to 2), as many as fill the workspace's share; the
      // sizes are drawn for `inbox` of them (a sure upper bound), and those past the share dropped.
      `create temp table seed_conv on commit drop as
         with drawn as materialized (
           select w.w, w.id as workspace_id, w.accounts, w.inbox, w.owner_id, w.writers, c, w.inbox_start + c as n,
                  case when pg_temp.r(w.inbox_start + c, 60) < 0.2 then 'mention' else 'post_thread' end as kind
             from seed_ws w, generate_series(0, w.inbox - 1) c where w.inbox > 0
         ), sized as materialized (
           select d.*, case when d.kind = 'mention' then 1 + pg_temp.ri(d.n, 61, 2) else 1 + pg_temp.ri(d.n, 61, 11) end as size0
             from drawn d
         ), placed as materialized (
           select s.*, (coalesce(sum(s.size0) over (partition by s.w order by s.c rows between unbounded preceding and 1 preceding), 0))::int as first
             from sized s
         )
         select p.w, p.workspace_id, p.owner_id, p.writers, p.c, p.n, p.kind, p.first, least(p.size0, p.inbox - p.first) as size,
                pg_temp.uid('conversation', p.n::text) as id,
                (row_number() over (partition by p.w, p.kind order by p.c) - 1)::int as j, pg_temp.ri(p.n, 62, p.accounts) as a
           from placed p where p.first < p.inbox`,
      `create temp table seed_pub on commit drop as
         select t.w, t.id as target_id, t.account_id, t.finished_at, t.url_base, (t.t * 10)::text as remote_id, p.text,
                (row_number() over (partition by t.w order by t.finished_at desc, t.id) - 1)::int as j
           from seed_targets t join seed_posts p on p.id = t.post_id where t.state = 'published'`,
      `create unique index on seed_pub (w, j)`,
      `analyze seed_conv`,
      `create temp table seed_roots on commit drop as
         select cv.*, coalesce(pb.account_id, acc.id) as account_id, acc_row.username as account_handle, pb.target_id,
                coalesce(pb.remote_id, case when cv.kind = 'mention' then 'seed-mention-' else 'seed-post-' end || cv.n) as root_remote_id,
                coalesce(pb.url_base || pb.remote_id, c.sim_url || '/sandbox/p/seed-' || cv.n) as root_url,
                coalesce(pb.text, case when cv.kind = 'mention' then '@' || acc_row.username || ' ' else '' end
                  || c.sentences[1 + pg_temp.ri(cv.n, 63, cardinality(c.sentences))]) as root_text,
                case when cv.kind = 'mention' then 'fan_' || pg_temp.ri(cv.n, 64, 20000) else acc_row.username end as root_author,
                coalesce(pb.finished_at, c.anchor - interval '10 minutes' - power(pg_temp.r(cv.n, 65), 2) * interval '365 days') as root_at
           from seed_conv cv
           join seed_accounts acc on acc.w = cv.w and acc.a = cv.a
           left join seed_pub pb on cv.kind = 'post_thread' and pb.w = cv.w and pb.j = cv.j
           join social_accounts acc_row on acc_row.id = coalesce(pb.account_id, acc.id), seed_const c`,
      `create temp table seed_imsgs on commit drop as
         with m as materialized (
           select r.id as conversation_id, r.workspace_id, r.account_id, r.account_handle, i,
                  (select inbox_start from seed_ws where w = r.w) + r.first + i as n,
                  r.root_at + least(c.anchor - r.root_at, interval '7 days') * ((i + pg_temp.r(r.n * 16 + i, 66)) / r.size) as at,
                  i > 0 and pg_temp.r(r.n * 16 + i, 67) < 0.2 as outbound
             from seed_roots r cross join generate_series(0, r.size - 1) i, seed_const c
         )
         select pg_temp.uid('inbox-message', m.n::text) as id, m.workspace_id, m.account_id, m.conversation_id, 'seed-m-' || m.n as remote_id,
                case when m.i > 0 and pg_temp.r(m.n, 68) < 0.5 then 'seed-m-' || (m.n - 1) end as parent_remote_id,
                c.sim_url || '/sandbox/c/seed-m-' || m.n as url,
                case when m.outbound then 'seed-account-' || m.account_id else 'fan-' || pg_temp.ri(m.n, 69, 20000) end as author_remote_id,
                case when m.outbound then m.account_handle else 'fan_' || pg_temp.ri(m.n, 69, 20000) end as author_handle,
                case when m.outbound then null else 'Fan ' || pg_temp.ri(m.n, 69, 20000) end as author_name,
                case when not m.outbound and pg_temp.r(m.n, 76) < 0.01 then '' -- deleted on the network since it was collected
                     when m.outbound then c.comments[21 + pg_temp.ri(m.n, 70, 4)]
                     else c.comments[1 + pg_temp.ri(m.n, 70, 20)] || case when pg_temp.r(m.n, 71) < 0.3 then ' ' || c.comments[1 + pg_temp.ri(m.n, 72, 20)] else '' end end as text,
                case when pg_temp.r(m.n, 73) < 0.9 then 'en' end as language,
                case when m.outbound then 'outbound' else 'inbound' end as direction,
                m.at as created_on_network, m.at + interval '20 seconds' + pg_temp.r(m.n, 74) * interval '5 minutes' as received_at,
                case when pg_temp.r(m.n, 75) < 0.02 then m.at + interval '5 minutes' end as edited_at, pg_temp.r(m.n, 75) < 0.02 as edited,
                not m.outbound and pg_temp.r(m.n, 76) < 0.01 as deleted, not m.outbound and pg_temp.r(m.n, 76) between 0.01 and 0.015 as hidden, m.n
           from m, seed_const c`,
      // What the ingest keeps on each conversation (ingest.ts), from its messages; the deleted ones were deleted after they arrived.
      `create temp table seed_conv_sums on commit drop as
         select conversation_id, (count(*) filter (where not deleted))::int as messages, max(created_on_network) as last_at,
                max(created_on_network) filter (where direction = 'inbound') as last_inbound_at,
                (count(*) filter (where direction = 'inbound'))::int as inbound,
                coalesce(bool_or(direction = 'inbound' and not deleted and text like '%?%'), false) as question
           from seed_imsgs group by conversation_id`,
      `insert into inbox_conversations (id, workspace_id, account_id, provider, kind, root_remote_id, root_url, root_text, root_author_handle, root_created_at,
                                        target_id, state, assignee_id, has_question, message_count, last_message_at, last_inbound_at, inbound_seq, created_at, updated_at)
         select r.id, r.workspace_id, r.account_id, 'sandbox', r.kind, r.root_remote_id, r.root_url, r.root_text, r.root_author, r.root_at, r.target_id,
                x.state, case when x.state = 'assigned' or (x.state = 'done' and pg_temp.r(r.n, 78) < 0.5) then wr.user_id end,
                s.question, s.messages, s.last_at, s.last_inbound_at, s.inbound, r.root_at + interval '1 minute', s.last_at + interval '1 minute'
           from seed_roots r join seed_conv_sums s on s.conversation_id = r.id
           join seed_writers wr on wr.w = r.w and wr.i = pg_temp.ri(r.n, 79, r.writers)
           cross join lateral (select case when s.last_at < (select anchor from seed_const) - interval '7 days' then case when pg_temp.r(r.n, 77) < 0.85 then 'done' else 'open' end
                                           else case when pg_temp.r(r.n, 77) < 0.55 then 'open' when pg_temp.r(r.n, 77) < 0.85 then 'assigned' else 'done' end
                                      end as state) x
          order by r.root_at, r.id`,
      `insert into inbox_messages (id, workspace_id, account_id, conversation_id, provider, remote_id, parent_remote_id, url, author_remote_id,
                                   author_handle, author_name, text, language, direction, created_on_network, received_at, edited_at, edited, deleted, hidden)
         select id, workspace_id, account_id, conversation_id, 'sandbox', remote_id, parent_remote_id, url, author_remote_id,
                author_handle, author_name, text, language, direction, created_on_network, received_at, edited_at, edited, deleted, hidden
           from seed_imsgs order by created_on_network, n`,
      `create temp table seed_ilabels on commit drop as
         select w.w, w.id as workspace_id, l, pg_temp.uid('inbox-label', w.w || ':' || l) as id,
                (array['Question', 'Complaint', 'Praise', 'Sales lead', 'Urgent', 'Spam'])[l + 1] as name,
                (array['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#6b7280'])[l + 1] as color
           from seed_ws w, generate_series(0, 5) l where w.inbox > 0`,
      `insert into inbox_labels (id, workspace_id, name, color, created_at, updated_at)
         select l.id, l.workspace_id, l.name, l.color, c.anchor - interval '390 days' + l.l * interval '1 hour', c.anchor - interval '390 days' + l.l * interval '1 hour'
           from seed_ilabels l, seed_const c order by l.w, l.l`,
      // A quarter of the conversations carry a label, some two.
      `insert into inbox_conversation_labels (conversation_id, label_id, workspace_id, last_message_at)
         select distinct on (ic.id, l.id) ic.id, l.id, ic.workspace_id, ic.last_message_at
           from seed_roots r join inbox_conversations ic on ic.id = r.id
           cross join lateral (select pg_temp.ri(r.n, 81, 6) as l where pg_temp.r(r.n, 80) < 0.25
                               union all select pg_temp.ri(r.n, 83, 6) where pg_temp.r(r.n, 82) < 0.05) pick
           join seed_ilabels l on l.w = r.w and l.l = pick.l
          order by ic.id, l.id`,
      // The owner has read what is done.
      `insert into inbox_read_state (user_id, conversation_id, workspace_id, seen_inbound_seq, read_at)
         select w.owner_id, ic.id, ic.workspace_id, ic.inbound_seq, least(ic.last_message_at + interval '1 hour', c.anchor - interval '1 minute')
           from inbox_conversations ic join seed_ws w on w.id = ic.workspace_id, seed_const c
          where ic.state = 'done' order by ic.id`,
      `insert into inbox_notes (id, workspace_id, conversation_id, author_id, text, created_at)
         select pg_temp.uid('inbox-note', r.n::text), r.workspace_id, r.id, wr.user_id,
                (array['Passed to the support team, ticket opened.', 'Customer is a partner, answer with care.', 'Asked the product team, waiting.',
                       'Duplicate of the email thread, answered there.'])[1 + pg_temp.ri(r.n, 85, 4)],
                least(s.last_at + interval '30 minutes', c.anchor - interval '1 minute')
           from seed_roots r join seed_conv_sums s on s.conversation_id = r.id
           join seed_writers wr on wr.w = r.w and wr.i = pg_temp.ri(r.n, 86, r.writers), seed_const c
          where pg_temp.r(r.n, 84) < 0.04 order by 6, 1`,
      `insert into inbox_saved_replies (id, workspace_id, name, text, created_by, created_at, updated_at)
         select pg_temp.uid('inbox-saved-reply', w.w || ':' || k), w.id, x.name, x.text, w.owner_id,
                c.anchor - interval '380 days' + k * interval '1 day', c.anchor - interval '380 days' + k * interval '1 day'
           from seed_ws w cross join lateral unnest(
             array['Thanks', 'Order help', 'Shipping', 'Refunds', 'Bug report', 'Opening hours'],
             array['Thank you, {author}!', 'Sorry about that, {author}: please send us your order number in a direct message and we will sort it out today.',
                   'We ship worldwide; delivery is free over 50 euros.', 'Refunds take 3 to 5 working days once the parcel is back with us.',
                   'Thanks for the report, {author}: our team is on it.', 'Our stores are open Monday to Saturday, 9 to 19.']
           ) with ordinality as x(name, text, k), seed_const c
          where w.inbox > 0 order by w.w, k`,
    ],
  },
  {
    name: 'publishing jobs',
    sql: [
      // What scheduling.ts's enqueue() adds for each scheduled target, in one call (graphile-worker's add_jobs).
      `select count(*) from graphile_worker.add_jobs(array(
         select row('${PUBLISH_TASK}', json_build_object('targetId', t.id), null::text, t.publish_at, ${PUBLISH_JOB_MAX_ATTEMPTS}::smallint, '${PUBLISH_JOB_KEY_PREFIX}' || t.id, null::smallint, null::text[])::graphile_worker.job_spec
           from post_targets t where t.state = 'scheduled' order by t.publish_at, t.id))`,
    ],
  },
  {
    name: 'audit log',
    sql: [
      `insert into audit_log (workspace_id, actor_user_id, action, target_type, target_id, ip, user_agent, details, created_at)
         select e.workspace_id, e.actor, e.action, e.target_type, e.target_id,
                case when e.actor is not null then '198.51.100.' || (1 + abs(hashtext(e.actor::text)) % 200) end,
                case when e.actor is not null then 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15' end,
                e.details, e.at
           from (
             select w.id as workspace_id, w.owner_id as actor, 'workspace.created' as action, 'workspace' as target_type, w.id::text as target_id,
                    jsonb_build_object('name', w.name) as details, c.anchor - interval '400 days' + w.w * interval '1 hour' as at, 0 as ord
               from seed_ws w, seed_const c
             union all
             select a.workspace_id, a.owner_id, 'account.connected', 'social_account', a.id::text, jsonb_build_object('provider', 'sandbox', 'username', s.username),
                    s.connected_at, 1
               from seed_accounts a join social_accounts s on s.id = a.id
             union all
             select k.workspace_id, k.created_by, 'apikey.created', 'api_key', k.id::text, jsonb_build_object('name', k.name, 'prefix', k.prefix, 'scopes', k.scopes), k.created_at, 2
               from api_keys k
             union all
             select k.workspace_id, k.created_by, 'apikey.revoked', 'api_key', k.id::text, jsonb_build_object('name', k.name, 'prefix', k.prefix), k.revoked_at, 3
               from api_keys k where k.revoked_at is not null
             union all
             select h.workspace_id, h.created_by, 'webhook.created', 'webhook', h.id::text, jsonb_build_object('url', h.url, 'events', h.events), h.created_at, 4
               from webhooks h
             union all
             select p.workspace_id, p.created_by, 'post.created', 'post', p.id::text,
                    jsonb_build_object('targets', p.nt) || case when p.kind in ('scheduled', 'done', 'publishing', 'queue') and p.submitted_by is null
                      then jsonb_build_object('scheduled', case when p.kind = 'queue' then 'queue' else p.schedule_mode end) else '{}'::jsonb end,
                    p.created_at, 5
               from seed_posts p
             union all
             select p.workspace_id, p.submitted_by, 'post.submitted', 'post', p.id::text, '{}'::jsonb, p.submitted_at, 6
               from seed_posts p where p.submitted_by is not null
             union all
             select p.workspace_id, p.reviewed_by, 'post.' || p.decision, 'post', p.id::text,
                    case when p.decision = 'approved' then jsonb_build_object('mode', case when p.kind = 'queue' then 'queue' else p.schedule_mode end, 'version', p.version - 1)
                         else jsonb_build_object('comment', p.review_comment) end,
                    p.reviewed_at, 7
               from seed_posts p where p.decision is not null
             union all
             select t.workspace_id, null, 'post.' || t.state, 'post_target', t.id::text,
                    jsonb_build_object('provider', 'sandbox', 'error', left(pt.error_message, 300)), t.finished_at, 8
               from seed_targets t join post_targets pt on pt.id = t.id where t.state in ('failed', 'unknown')
           ) e, seed_const c
          order by e.at, e.ord, e.target_id`,
    ],
  },
  {
    name: 'webhook deliveries',
    sql: [
      `create temp table seed_deliveries on commit drop as
         select pg_temp.uid('delivery', t.t || ':' || h.h) as id, h.id as webhook_id, 'post.' || t.state as event, t.t * 4 + h.h as key, t.finished_at as at,
                jsonb_build_object('id', 'msg_' || replace(pg_temp.uid('message', t.t || ':' || h.h)::text, '-', ''), 'type', 'post.' || t.state,
                  'timestamp', to_char(t.finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'data', jsonb_build_object('postId', t.post_id, 'targetId', t.id, 'accountId', t.account_id, 'provider', 'sandbox', 'state', t.state)
                    || case when t.state = 'published' then jsonb_build_object('remoteId', (t.t * 10)::text, 'url', t.url_base || (t.t * 10)) else '{}'::jsonb end) as payload,
                case when pg_temp.r(t.t * 4 + h.h, 50) < 0.97 then 'delivered' else 'failed' end as status,
                case when pg_temp.r(t.t * 4 + h.h, 50) >= 0.97 then 8 when pg_temp.r(t.t * 4 + h.h, 51) < 0.05 then 2 else 1 end as attempts
           from seed_targets t join seed_webhooks h on h.w = t.w and h.active and ('post.' || t.state) = any(h.events)
          where t.state in ('published', 'failed', 'unknown')`,
      `insert into webhook_deliveries (id, webhook_id, event, payload, status, attempts, last_status_code, last_error, next_attempt_at, created_at, delivered_at)
         select d.id, d.webhook_id, d.event, d.payload, d.status, d.attempts,
                case when d.status = 'delivered' then 200 else 500 end,
                case when d.status = 'failed' then 'the receiver answered 500' end, null, d.at,
                case when d.status = 'delivered' then d.at + (d.attempts - 1) * interval '30 seconds' + interval '180 milliseconds' end
           from seed_deliveries d order by d.at, d.id`,
      `insert into webhook_attempts (delivery_id, at, status_code, duration_ms, error)
         select d.id, d.at + (i - 1) * interval '30 seconds' * power(2, i - 1) + interval '150 milliseconds',
                case when d.status = 'delivered' and i = d.attempts then 200 else case when i % 2 = 0 then 503 else 500 end end,
                40 + pg_temp.ri(d.key * 8 + i, 52, 300),
                case when d.status = 'delivered' and i = d.attempts then null else 'the receiver answered ' || case when i % 2 = 0 then 503 else 500 end end
           from seed_deliveries d, generate_series(1, d.attempts) i order by 2, d.id`,
    ],
  },
];
