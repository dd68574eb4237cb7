// Builds the seeded dataset in one transaction (all of it or none), step by step with timings, writing the
// media files beside it, then lets PostgreSQL gather statistics, as autovacuum would on a live database.
// The SQL is in dataset-sql.ts; what is built, in plan.ts.
import type pg from 'pg';
import type { TokenCipher } from '../infra/crypto/token-cipher.ts';
import type { MediaStorage } from '../modules/media/storage.ts';
import { helpersSql, FILL_CONST_SQL, FILL_WS_SQL, FILL_MEMBERS_SQL, STEPS } from './dataset-sql.ts';
import { SEED_SLOTS, type SeedPlan } from './plan.ts';
import { COMMENTS, SENTENCES, TAGS } from './texts.ts';
import { seedImages, writeMediaFiles } from './media-files.ts';
import { PUBLISH_TASK } from '../modules/posts/jobs.ts';

export interface SeedInput {
  plan: SeedPlan;
  /** "Now" for the dataset: one year of history before it, one year of schedule after it. */
  anchor: Date;
  /** The hash every seeded member signs in with (made once by the caller). */
  passwordHash: string;
  /** Encrypts the accounts' tokens and the webhooks' secrets, as the running server expects them. */
  cipher: TokenCipher;
  /** Where the media files go (the server's MEDIA_DIR). */
  storage: MediaStorage;
  /** The network simulator's base URL, for the links of published posts. */
  simulatorUrl: string;
  /** One line per finished step. */
  progress?: (line: string) => void;
}

export interface SeedResult {
  steps: { name: string; seconds: number }[];
  /** Rows per table, and jobs waiting. */
  rows: Record<string, number>;
  /** Target rows by state. */
  targetStates: Record<string, number>;
  /** The transaction (everything but statistics). */
  seconds: number;
  analyzeSeconds: number;
  databaseBytes: number;
  workspaces: { index: number; id: string; name: string; posts: number; targets: number; accounts: number; members: number }[];
}

export const SEEDED_TABLES = [
  'users', 'workspaces', 'memberships', 'social_accounts', 'posting_schedules', 'media', 'api_keys', 'webhooks', 'posts', 'post_targets',
  'publish_attempts', 'post_metrics', 'audit_log', 'webhook_deliveries', 'webhook_attempts',
  'inbox_conversations', 'inbox_messages', 'inbox_labels', 'inbox_conversation_labels', 'inbox_read_state', 'inbox_notes', 'inbox_saved_replies',
] as const;

export async function seedDatabase(pool: pg.Pool, input: SeedInput): Promise<SeedResult> {
  const { plan } = input;
  const images = seedImages();
  const steps: SeedResult['steps'] = [];
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query('begin');
    try {
      const timed = async (name: string, fn: () => Promise<unknown>) => {
        const t0 = performance.now();
        await fn();
        const seconds = (performance.now() - t0) / 1000;
        steps.push({ name, seconds });
        input.progress?.(`  ${name.padEnd(52, '.')} ${seconds.toFixed(2)} s`);
      };
      await timed('work tables', async () => {
        for (const sql of helpersSql(plan.seed, input.anchor.toISOString())) await client.query(sql);
        await client.query(FILL_CONST_SQL, [
          input.anchor.toISOString(), SENTENCES, TAGS, images.map((i) => i.bytes.length), images.map((i) => i.sha256), images.map((i) => i.width),
          images.map((i) => i.height), input.passwordHash, JSON.stringify(SEED_SLOTS), SEED_SLOTS.map((s) => s.weekday), SEED_SLOTS.map((s) => s.time),
          input.simulatorUrl.replace(/\/+$/, ''), COMMENTS,
        ]);
        await client.query(FILL_WS_SQL, [JSON.stringify(plan.workspaces.map((w) => ({
          w: w.index, name: w.name, tz: w.timeZone, require_approval: w.requireApproval, accounts: w.accounts, posts: w.posts, media: w.media,
          api_keys: w.apiKeys, webhooks: w.webhooks, inbox: w.inboxMessages,
        })))]);
        await client.query(FILL_MEMBERS_SQL, [JSON.stringify(plan.workspaces.flatMap((w) => w.members.map((m, ord) => ({ w: w.index, ord, ...m }))))]);
      });
      // The media files are written while PostgreSQL builds the rest (the file system and the database
      // work side by side); the transaction commits only once every file is there.
      let files: Promise<void> | undefined;
      for (const step of STEPS) {
        await timed(step.name, async () => {
          for (const sql of step.sql) await client.query(sql);
        });
        if (step.makesMedia) {
          const rows = await client.query<{ storage_key: string; sha256: string }>('select storage_key, sha256 from media order by storage_key');
          files = writeMediaFiles(input.storage, rows.rows.map((r) => ({ storageKey: r.storage_key, sha256: r.sha256 })), images);
          files.catch(() => undefined); // awaited below; a failure there rolls the transaction back
        }
      }
      await timed('tokens, webhook secrets, media files', async () => {
        // Encrypted here, with the server's keys, keyed by each row's id (TokenCipher): the running server reads them.
        const accounts = await client.query<{ id: string }>('select id from social_accounts order by id');
        const enc = (prefix: string, id: string) => input.cipher.encrypt(`${prefix}_${id.replaceAll('-', '')}`, id);
        await client.query(`update social_accounts s set access_token_enc = x.a, refresh_token_enc = x.r
                              from unnest($1::uuid[], $2::text[], $3::text[]) as x(id, a, r) where s.id = x.id`, [
          accounts.rows.map((r) => r.id), accounts.rows.map((r) => enc('seed_at', r.id)), accounts.rows.map((r) => enc('seed_rt', r.id)),
        ]);
        const hooks = await client.query<{ id: string }>('select id from webhooks order by id');
        await client.query(`update webhooks h set secret_enc = x.s from unnest($1::uuid[], $2::text[]) as x(id, s) where h.id = x.id`, [
          hooks.rows.map((r) => r.id), hooks.rows.map((r) => input.cipher.encrypt(`whsec_${Buffer.from(r.id).toString('base64')}`, r.id)),
        ]);
        await files;
      });
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
  const seconds = (performance.now() - started) / 1000;

  // A live database has its statistics (autovacuum); measure against one that has them too. Two tables
  // at a time (the pool's two connections: this machine's two cores).
  const a0 = performance.now();
  const queue: string[] = [...SEEDED_TABLES, 'graphile_worker._private_jobs'];
  await Promise.all([0, 1].map(async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await pool.query(`vacuum (analyze) ${t}`);
  }));
  const analyzeSeconds = (performance.now() - a0) / 1000;
  input.progress?.(`  ${'statistics (VACUUM ANALYZE)'.padEnd(52, '.')} ${analyzeSeconds.toFixed(2)} s`);

  const rows: Record<string, number> = {};
  for (const t of SEEDED_TABLES) rows[t] = Number((await pool.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]!.n);
  rows.publish_jobs = Number((await pool.query<{ n: string }>(`select count(*) as n from graphile_worker.jobs where task_identifier = $1`, [PUBLISH_TASK])).rows[0]!.n);
  const states = await pool.query<{ state: string; n: string }>('select state, count(*) as n from post_targets group by state order by state');
  const ws = await pool.query<{ id: string; name: string; posts: string; targets: string; accounts: string; members: string }>(`
    select w.id, w.name,
           (select count(*) from posts p where p.workspace_id = w.id) as posts,
           (select count(*) from post_targets t where t.workspace_id = w.id) as targets,
           (select count(*) from social_accounts a where a.workspace_id = w.id) as accounts,
           (select count(*) from memberships m where m.workspace_id = w.id) as members
      from workspaces w order by w.created_at, w.id`);
  const size = await pool.query<{ n: string }>('select pg_database_size(current_database()) as n');
  return {
    steps, rows, seconds, analyzeSeconds, databaseBytes: Number(size.rows[0]!.n),
    targetStates: Object.fromEntries(states.rows.map((r) => [r.state, Number(r.n)])),
    workspaces: ws.rows.map((r, index) => ({
      index, id: r.id, name: r.name, posts: Number(r.posts), targets: Number(r.targets), accounts: Number(r.accounts), members: Number(r.members),
    })),
  };
}
