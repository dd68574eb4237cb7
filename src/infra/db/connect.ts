// Database access for one-shot commands (`allin migrate`, `allin users`, `allin mail`, load tests):
// DATABASE_URL when set, otherwise the embedded PostgreSQL of the AllIN running beside them (or one
// started for the command's own duration).
import type pg from 'pg';
import type { Config } from '../../config.ts';
import { loadDevSecrets } from '../../dev-secrets.ts';
import type { Logger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { retry } from '../retry.ts';
import { createPool } from './pool.ts';
import { startEmbeddedPostgres } from './embedded.ts';

export async function withDatabase<T>(config: Config, log: Logger, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const embedded = config.DATABASE_URL ? undefined : await startEmbeddedPostgres({
    home: config.ALLIN_HOME, password: loadDevSecrets(config.ALLIN_HOME).EMBEDDED_DATABASE_PASSWORD, log, role: 'guest',
  });
  try {
    const pool = createPool({
      connectionString: config.DATABASE_URL ?? embedded!.url, max: 2, metrics: createMetrics({ enabled: false }), log,
      applicationName: 'allin-cli',
    });
    try {
      await retry(() => pool.query('select 1'), {
        what: 'PostgreSQL', attempts: config.STARTUP_MAX_ATTEMPTS, maxDelayMs: config.STARTUP_RETRY_MAX_DELAY_MS, log,
      });
      return await fn(pool);
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.stop();
  }
}
