// Online migrations: index builds that must not lock a live table. drizzle's migrator applies every pending
// migration in one transaction, and CREATE INDEX CONCURRENTLY cannot run inside one, so such statements live
// apart, in drizzle/online/<tag>.sql, where <tag> is the drizzle migration whose snapshot declares the index.
// They run after the transactional migrations, one statement at a time outside any transaction, and are
// idempotent: IF NOT EXISTS / IF EXISTS, and an index a crash left INVALID (a concurrent build that died
// half-way leaves one, which IF NOT EXISTS would silently keep) is dropped concurrently and built again.
// docs/DATABASE.md says how to write one.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from '../logger.ts';

export const ONLINE_TABLE = 'drizzle.__allin_online_migrations';

export interface OnlineStatement {
  kind: 'create' | 'drop';
  /** The index the statement builds or drops (unqualified: the tables live in the search path's schema). */
  index: string;
  sql: string;
}

export interface OnlineMigration {
  tag: string;
  hash: string;
  statements: OnlineStatement[];
}

const CREATE = /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)\s+ON\s/i;
const DROP = /^DROP\s+INDEX\s+CONCURRENTLY\s+IF\s+EXISTS\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)\s*$/i;

/** One statement of an online file, checked: only the two idempotent, lock-free index forms are accepted. */
export function parseOnlineStatement(text: string, where: string): OnlineStatement | null {
  const sql = text.split('\n').filter((l) => !l.trim().startsWith('--')).join('\n').trim().replace(/;\s*$/, '');
  if (sql === '') return null;
  // One statement each, so that each runs alone and outside a transaction (a ';' inside a quoted literal is
  // refused too: rare in an index definition, and better refused than split wrongly).
  const create = /;\s*\S/.test(sql) ? null : CREATE.exec(sql);
  const drop = create ? null : DROP.exec(sql);
  const m = create ?? drop;
  if (!m) {
    throw new Error(`${where}: an online migration statement must be "CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name ON …" ` +
      `or "DROP INDEX CONCURRENTLY IF EXISTS name", one per statement (separate them with "--> statement-breakpoint"); ` +
      `anything else belongs in the transactional migration. Found: ${sql.slice(0, 120)}`);
  }
  const raw = m[1]!;
  const index = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
  return { kind: create ? 'create' : 'drop', index, sql };
}

/**
 * Reads drizzle/online/*.sql in the journal's order. A file whose name is not a journal tag is refused: it
 * would otherwise be silently skipped (or run in the wrong order) after a migration was renumbered.
 */
export function readOnlineMigrations(migrationsFolder: string, journalTags: readonly string[]): OnlineMigration[] {
  const dir = join(migrationsFolder, 'online');
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  const order = new Map(journalTags.map((t, i) => [t, i]));
  for (const f of files) {
    if (!order.has(f.slice(0, -4))) {
      throw new Error(`drizzle/online/${f}: no migration named ${f.slice(0, -4)} in drizzle/meta/_journal.json; ` +
        'an online file takes the name of the drizzle migration whose snapshot declares its index.');
    }
  }
  return files
    .map((f) => f.slice(0, -4))
    .sort((a, b) => order.get(a)! - order.get(b)!)
    .map((tag) => {
      const text = readFileSync(join(dir, `${tag}.sql`), 'utf8');
      const statements = text.split('--> statement-breakpoint')
        .map((s, i) => parseOnlineStatement(s, `drizzle/online/${tag}.sql, statement ${i + 1}`))
        .filter((s): s is OnlineStatement => s !== null);
      if (statements.length === 0) throw new Error(`drizzle/online/${tag}.sql has no statement`);
      return { tag, hash: createHash('sha256').update(text).digest('hex'), statements };
    });
}

async function ensureTable(client: pg.PoolClient): Promise<void> {
  await client.query('create schema if not exists drizzle');
  await client.query(`create table if not exists ${ONLINE_TABLE} (
    tag text primary key, hash text not null, applied_at timestamptz not null default now())`);
}

export async function appliedOnlineTags(client: pg.PoolClient): Promise<Set<string>> {
  const exists = await client.query<{ ok: boolean }>(`select to_regclass('${ONLINE_TABLE}') is not null as ok`);
  if (!exists.rows[0]?.ok) return new Set();
  const res = await client.query<{ tag: string }>(`select tag from ${ONLINE_TABLE}`);
  return new Set(res.rows.map((r) => r.tag));
}

/**
 * Applies the online migrations not recorded yet. The caller holds the migration lock, so no other AllIN
 * process builds the same index: an invalid index found here is a leftover, not a build in progress.
 */
export async function applyOnlineMigrations(client: pg.PoolClient, migrations: readonly OnlineMigration[], log: Logger): Promise<number> {
  if (migrations.length === 0) return 0;
  await ensureTable(client);
  const done = await appliedOnlineTags(client);
  let applied = 0;
  for (const m of migrations) {
    if (done.has(m.tag)) continue;
    for (const s of m.statements) {
      if (s.kind === 'create' && await isInvalid(client, s.index)) {
        log.warn({ index: s.index, migration: m.tag }, 'rebuilding an index that an interrupted build left invalid');
        await client.query(`drop index concurrently if exists ${quoteIdent(s.index)}`);
      }
      const started = Date.now();
      await client.query(s.sql);
      log.info({ index: s.index, migration: m.tag, ms: Date.now() - started }, s.kind === 'create' ? 'index built online' : 'index dropped online');
    }
    await client.query(`insert into ${ONLINE_TABLE} (tag, hash) values ($1, $2) on conflict (tag) do nothing`, [m.tag, m.hash]);
    applied++;
  }
  return applied;
}

async function isInvalid(client: pg.PoolClient, index: string): Promise<boolean> {
  const res = await client.query<{ valid: boolean }>(
    'select i.indisvalid and i.indisready as valid from pg_index i where i.indexrelid = to_regclass($1)', [quoteIdent(index)]);
  return res.rows.length > 0 && !res.rows[0]!.valid;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
