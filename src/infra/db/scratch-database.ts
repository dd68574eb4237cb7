// A throwaway database on a PostgreSQL server: made under a unique name beside the one `adminUrl` names,
// dropped (connections and all) by `drop()`. Tests and benchmarks use it to run AllIN on data of their own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase { url: string; drop(): Promise<void> }

export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await run(`create database "${name}"`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`drop database if exists "${name}" with (force)`) };
}
