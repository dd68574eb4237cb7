// What labels and saved replies share: a name unique in the workspace whatever its case, at most so many per
// workspace, and a list paged by name.
import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Tx } from '../../infra/db/client.ts';
import { pgErrorCode } from '../../infra/db/errors.ts';
import { Conflict } from '../../domain/errors.ts';
import { cleanName } from '../workspaces/index.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

export const cleanItemName = (name: string, field = 'body.name') => cleanName(name, field);

/** Refuses a new item past `max` in the workspace; creations in one workspace are serialised by an advisory lock. */
export async function assertRoom(tx: Tx, table: PgTable, workspaceId: string, max: number, what: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${what}:${workspaceId}`}, 0))`);
  const res = await tx.execute<{ n: number }>(sql`select count(*)::int as n from ${table} where workspace_id = ${workspaceId}`);
  if ((res.rows[0]?.n ?? 0) >= max) throw new Conflict('TOO_MANY', `A workspace can have at most ${max} ${what}; delete one first.`);
}

/** Runs a write; a name already taken (the unique index on lower(name)) is a 409 saying so. */
export async function uniqueName<T>(what: string, name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (pgErrorCode(err) === '23505') throw new Conflict('NAME_TAKEN', `This workspace already has ${what} named "${name}" (names are compared without case).`);
    throw err;
  }
}

/** One page of a workspace's items by name (case-insensitive order, the unique index's). */
export async function pageByName<T>(tx: { execute: Tx['execute'] }, table: PgTable, workspaceId: string, page: { limit: number; cursor?: string }, columns: SQL,
  map: (row: Record<string, unknown>) => T): Promise<{ items: T[]; nextCursor: string | null }> {
  const after = page.cursor ? decodeCursor(page.cursor, ['string'])[0] : null;
  const res = await tx.execute<Record<string, unknown>>(sql`
    select ${columns}, lower(name) as key from ${table} where workspace_id = ${workspaceId} ${after !== null ? sql`and lower(name) > ${after}` : sql``}
     order by lower(name) limit ${page.limit + 1}`);
  const rows = res.rows.slice(0, page.limit);
  return { items: rows.map(map), nextCursor: res.rows.length > page.limit ? encodeCursor([String(rows.at(-1)!.key)]) : null };
}
