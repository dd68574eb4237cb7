// `allin users create --email … --password … [--name …]`: a verified user, for operators and load tests.
// It never invents a password: one must be given (or read from ALLIN_USER_PASSWORD).
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import { withDatabase } from '../infra/db/connect.ts';
import { databaseTarget } from '../dev-secrets.ts';
import { applyMigrations } from '../infra/db/migrate.ts';
import { createDb } from '../infra/db/client.ts';
import { MemoryStore } from '../infra/stores/memory.ts';
import { buildServices } from '../services.ts';
import { createMetrics } from '../infra/metrics.ts';
import { createInvalidationBus } from '../infra/stores/invalidation.ts';
import { DomainError } from '../domain/errors.ts';

const USAGE = 'Usage: allin users create --email EMAIL --password PASSWORD [--name NAME] [--json]';

export async function usersCommand(args: string[], config: Config, log: Logger): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'create') {
    console.error(USAGE);
    return 64;
  }
  const { values } = parseArgs({
    args: rest, options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
  });
  const password = values.password ?? process.env.ALLIN_USER_PASSWORD;
  if (!values.email || !password) {
    console.error(`${USAGE}\n(--email and --password are required; the password may also come from ALLIN_USER_PASSWORD)`);
    return 64;
  }
  return withDatabase(databaseTarget(config), log, async (pool) => {
    await applyMigrations(pool, log);
    const store = new MemoryStore();
    try {
      const services = buildServices(config, createDb(pool), store, log, createMetrics({ enabled: false }), await createInvalidationBus(store, config.REDIS_KEY_PREFIX, log));
      const r = await services.auth.createVerifiedUser({ email: values.email!, password, name: values.name ?? values.email!.split('@')[0]! });
      if (values.json) console.log(JSON.stringify({ id: r.id, email: values.email!.trim().toLowerCase(), created: r.created }));
      else console.log(r.created ? `Created verified user ${values.email} (${r.id}).` : `User ${values.email} already exists (${r.id}); nothing changed.`);
      return 0;
    } catch (err) {
      if (err instanceof DomainError) {
        console.error(`allin users create: ${err.message}`);
        return 65;
      }
      throw err;
    } finally {
      await store.close();
    }
  });
}
