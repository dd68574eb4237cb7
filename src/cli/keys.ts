// `allin keys rotate`: after putting a new key first in ENCRYPTION_KEYS (and keeping the old ones after
// it), re-encrypts every stored social network token under the new key. Then the old keys can go.
import type { Config } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import { withDatabase } from '../infra/db/connect.ts';
import { applyMigrations } from '../infra/db/migrate.ts';
import { createDb } from '../infra/db/client.ts';
import { MemoryStore } from '../infra/stores/memory.ts';
import { createMetrics } from '../infra/metrics.ts';
import { createInvalidationBus } from '../infra/stores/invalidation.ts';
import { buildServices } from '../services.ts';

export async function keysCommand(args: string[], config: Config, log: Logger): Promise<number> {
  if (args[0] !== 'rotate') {
    console.error('Usage: allin keys rotate   (re-encrypts stored tokens under the first key of ENCRYPTION_KEYS)');
    return 64;
  }
  return withDatabase(config, log, async (pool) => {
    await applyMigrations(pool, log);
    const store = new MemoryStore();
    try {
      const services = buildServices(config, createDb(pool), store, log, createMetrics({ enabled: false }), await createInvalidationBus(store, '', log));
      const r = await services.accounts.rotateKeys();
      const w = await services.webhooks.rotateKeys();
      await services.http.close();
      console.log(`Re-encrypted the tokens of ${r.rotated} account(s) under key "${config.ENCRYPTION_KEYS!.split(':')[0]}".` +
        (r.unreadable ? ` ${r.unreadable} account(s) could not be decrypted with any configured key and now need reconnecting.` : ''));
      console.log(`Re-encrypted the signing secrets of ${w.rotated} webhook(s).` + (w.unreadable ? ` ${w.unreadable} could not be decrypted with any configured key: rotate their secrets (POST …/rotate-secret).` : ''));
      return r.unreadable || w.unreadable ? 1 : 0;
    } finally {
      await store.close();
    }
  });
}
