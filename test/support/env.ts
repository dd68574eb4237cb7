// What scripts/test.js gives each run: a fresh database, a Redis key prefix, and the admin URL to make
// more databases when a test needs an empty one.
import { randomBytes } from 'node:crypto';
import { readConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/infra/logger.ts';
import { createScratchDatabase, type ScratchDatabase } from '../../src/infra/db/scratch-database.ts';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which prepares the database`);
  return v;
}

export const testDatabaseUrl = () => required('ALLIN_TEST_DATABASE_URL');
export const testRedisUrl = () => required('ALLIN_TEST_REDIS_URL');
export const testRedisPrefix = () => required('ALLIN_TEST_REDIS_PREFIX');

/** A new empty database named after this run (dropped by t.after, and by scripts/test.js at the end). */
export async function createTempDatabase(): Promise<ScratchDatabase> {
  return createScratchDatabase(required('ALLIN_TEST_ADMIN_URL'), new URL(testDatabaseUrl()).pathname.slice(1));
}

/** A config for in-process tests: the run's database and Redis, quiet logs, fast start-up retries. */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return readConfig({
    NODE_ENV: 'test',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: testRedisPrefix(),
    AUTH_SECRET: 'test-auth-secret-0123456789abcdefghijklmnopqrstuvwxyz',
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    STARTUP_MAX_ATTEMPTS: '3',
    STARTUP_RETRY_MAX_DELAY_MS: '50',
    SHUTDOWN_TIMEOUT_MS: '5000',
    WORKER_POLL_INTERVAL_MS: '100',
    READINESS_CACHE_MS: '500',
    PORT: '0',
    // Test processes run several servers and block their own event loop on purpose (timing tests);
    // load shedding is tested on its own (test/load-shedding.test.ts).
    SHED_EVENT_LOOP_DELAY_MS: '0',
    ...overrides,
  });
}

export function quietLogger(): Logger {
  return createLogger({ level: 'silent', format: 'json' });
}

/** A logger whose lines a test can read. */
export function capturingLogger(level: 'info' | 'debug' | 'warn' = 'info'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = createLogger({ level, format: 'json' }, { write: (s: string) => { out.push(s); } });
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}
