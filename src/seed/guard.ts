// Whether a database may be seeded: `allin seed` writes only into a database with no users, workspaces,
// accounts or posts, unless told to empty it first (--force), and never empties a production one.
import type pg from 'pg';

export interface Contents {
  users: number;
  workspaces: number;
  accounts: number;
  posts: number;
}

export const isEmpty = (c: Contents) => c.users + c.workspaces + c.accounts + c.posts === 0;

export function describeContents(c: Contents): string {
  const parts = [[c.users, 'user'], [c.workspaces, 'workspace'], [c.accounts, 'social account'], [c.posts, 'post']] as const;
  return parts.filter(([n]) => n > 0).map(([n, what]) => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`).join(', ');
}

/** What the (migrated) database holds of the things a person made. Exact counts up to 1,000 are enough to describe it. */
export async function databaseContents(pool: pg.Pool): Promise<Contents> {
  const count = async (table: string) => Number((await pool.query<{ n: string }>(`select count(*) as n from (select 1 from ${table} limit 1000) s`)).rows[0]!.n);
  return { users: await count('users'), workspaces: await count('workspaces'), accounts: await count('social_accounts'), posts: await count('posts') };
}

/**
 * Empties every table of AllIN's schema and its job queue (for --force). Takes each table's strongest lock:
 * it waits for running AllIN processes' transactions, and they for it.
 */
export async function emptyDatabase(pool: pg.Pool): Promise<void> {
  const tables = await pool.query<{ name: string }>(`select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() order by 1`);
  if (tables.rows.length === 0) return;
  await pool.query(`truncate ${tables.rows.map((t) => t.name).join(', ')}, graphile_worker._private_jobs restart identity cascade`);
}
