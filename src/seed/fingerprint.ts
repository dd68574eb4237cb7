// A digest of a seeded dataset's content, to check that the same seed builds the same data: per table, the
// MD5 of its rows as JSON in a fixed order, then one SHA-256 over the tables. Left out: what is random on
// purpose (the password hash's salt, encrypted tokens and secrets with their nonces, API key secrets) and
// what the job queue stamps itself (job ids, creation times).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { PUBLISH_TASK } from '../modules/posts/jobs.ts';
import { SEEDED_TABLES } from './seeder.ts';

const RANDOM_COLUMNS: Partial<Record<(typeof SEEDED_TABLES)[number], string[]>> = {
  users: ['password_hash'],
  social_accounts: ['access_token_enc', 'refresh_token_enc'],
  webhooks: ['secret_enc'],
  api_keys: ['secret_hash'],
};

export interface Fingerprint {
  digest: string;
  tables: Record<string, { rows: number; md5: string }>;
}

export async function datasetFingerprint(pool: pg.Pool): Promise<Fingerprint> {
  const tables: Fingerprint['tables'] = {};
  const sources: [string, string][] = SEEDED_TABLES.map((t) => {
    const drop = RANDOM_COLUMNS[t]?.map((c) => ` - '${c}'`).join('') ?? '';
    return [t, `select (to_jsonb(t)${drop})::text as x from ${t} t`];
  });
  sources.push(['jobs', `select json_build_array(k.identifier, j.key, j.run_at, j.payload, j.max_attempts, j.priority)::text as x
                            from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id where k.identifier = '${PUBLISH_TASK}'`]);
  for (const [name, select] of sources) {
    const r = await pool.query<{ n: string; md5: string | null }>(`select count(*) as n, md5(string_agg(x, E'\\n' order by x collate "C")) as md5 from (${select}) s`);
    tables[name] = { rows: Number(r.rows[0]!.n), md5: r.rows[0]!.md5 ?? '' };
  }
  const digest = createHash('sha256').update(JSON.stringify(tables)).digest('hex');
  return { digest, tables };
}
