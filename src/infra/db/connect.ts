// Database access for one-shot commands (`allin migrate`, `allin users`, `allin mail`, load tests):
// DATABASE_URL when set, otherwise the embedded PostgreSQL of the AllIN running beside them (or one
// started for the command's own duration).
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { retry } from '../retry.ts';
import { createPool } from './pool.ts';
import { startEmbeddedPostgres } from './embedded.ts';

/** Where the database is and how long to wait for it; the caller reads these from its configuration. */
export interface DatabaseTarget {
  /** DATABASE_URL; without it, the embedded PostgreSQL under `home`. */
  url: string | undefined;
  home: string;
  /** Read only when the embedded server is used, so a DATABASE_URL deployment never touches secrets.json. */
  embeddedPassword: () => string;
  attempts: number;
  maxDelayMs: number;
}

export async function withDatabase<T>(target: DatabaseTarget, log: Logger, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const embedded = target.url ? undefined : await startEmbeddedPostgres({
    home: target.home, password: target.embeddedPassword(), log, role: 'guest',
  });
  try {
    const pool = createPool({
      connectionString: target.url ?? embedded!.url, max: 2, metrics: createMetrics({ enabled: false }), log,
      applicationName: 'allin-cli',
    });
    try {
      await retry(() => pool.query('select 1'), {
        what: 'PostgreSQL', attempts: target.attempts, maxDelayMs: target.maxDelayMs, log,
      });
      return await fn(pool);
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.stop();
  }
}
