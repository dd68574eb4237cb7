import type pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';

// No schema is given to drizzle: queries name their tables (imported from the owning module), and
// nothing uses the relational `db.query.*` API that would need every module's tables here.
/** `$client` is the pool, for the few hot statements that run as named prepared statements. */
export type Db = NodePgDatabase & { $client: pg.Pool };
/** A Db or a transaction on it: services accept either, so callers can group writes. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export function createDb(pool: pg.Pool): Db {
  return drizzle(pool);
}
