// `allin keys rotate`: after putting a new key first in ENCRYPTION_KEYS (and keeping the old ones after
// it), re-encrypts every secret stored encrypted under the new key. Then the old keys can go.
// ROTATIONS names every encrypted column (the `_enc` ones) with the step that re-encrypts it; a test
// walks the schema and fails when a column is missing here, so a new one cannot be forgotten.
import type { Config } from '../config.ts';
import { parseEncryptionKeys } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import { withDatabase } from '../infra/db/connect.ts';
import { databaseTarget } from '../dev-secrets.ts';
import { applyMigrations } from '../infra/db/migrate.ts';
import { createDb, type Db } from '../infra/db/client.ts';
import { TokenCipher } from '../infra/crypto/token-cipher.ts';
import { MemoryStore } from '../infra/stores/memory.ts';
import { createMetrics } from '../infra/metrics.ts';
import { createInvalidationBus } from '../infra/stores/invalidation.ts';
import { buildServices, type Services } from '../services.ts';
import { rotateMastodonAppSecrets } from '../modules/accounts/mastodon-apps.ts';

export interface Rotation {
  /** What is re-encrypted, for the report. */
  what: string;
  /** The encrypted columns this step covers, as table.column. */
  columns: readonly string[];
  run(ctx: { services: Services; db: Db; cipher: TokenCipher }): Promise<{ rotated: number; unreadable: number }>;
  /** Said when some rows could not be decrypted with any configured key. */
  unreadable: string;
}

export const ROTATIONS: readonly Rotation[] = [
  {
    what: 'social account tokens', columns: ['social_accounts.access_token_enc', 'social_accounts.refresh_token_enc'],
    run: ({ services }) => services.accounts.rotateKeys(),
    unreadable: 'account(s) could not be decrypted with any configured key and now need reconnecting',
  },
  {
    what: 'webhook signing secrets', columns: ['webhooks.secret_enc'],
    run: ({ services }) => services.webhooks.rotateKeys(),
    unreadable: 'webhook secret(s) could not be decrypted with any configured key: rotate their secrets (POST …/rotate-secret)',
  },
  {
    what: 'authenticator app secrets', columns: ['totp_factors.secret_enc'],
    run: ({ services }) => services.secondFactor.rotateKeys(),
    unreadable: 'authenticator secret(s) could not be decrypted with any configured key: their users must set up their authenticator app again (after removing it with a recovery code)',
  },
  {
    what: 'Mastodon app client secrets', columns: ['mastodon_apps.client_secret_enc'],
    run: ({ db, cipher }) => rotateMastodonAppSecrets(db, cipher),
    unreadable: 'Mastodon app secret(s) could not be decrypted with any configured key and were left as they are: put back the key they were encrypted with',
  },
  {
    what: 'assistant model provider keys', columns: ['assistant_settings.api_key_enc'],
    run: ({ services }) => services.assistantSettings.rotateKeys(),
    unreadable: 'assistant key(s) could not be decrypted with any configured key: the workspace\'s admins set the key again (PUT …/assistant/settings)',
  },
  {
    what: 'single sign-on client secrets', columns: ['sso_connections.client_secret_enc'],
    run: ({ services }) => services.sso.rotateKeys(),
    unreadable: 'SSO client secret(s) could not be decrypted with any configured key: the workspace\'s owners or admins set the secret again (PUT …/sso)',
  },
];

export async function keysCommand(args: string[], config: Config, log: Logger): Promise<number> {
  if (args[0] !== 'rotate') {
    console.error('Usage: allin keys rotate   (re-encrypts every stored secret under the first key of ENCRYPTION_KEYS)');
    return 64;
  }
  return withDatabase(databaseTarget(config), log, async (pool) => {
    await applyMigrations(pool, log);
    const store = new MemoryStore();
    try {
      const db = createDb(pool);
      const cipher = new TokenCipher(parseEncryptionKeys(config.ENCRYPTION_KEYS!).keys);
      const services = buildServices(config, db, store, log, createMetrics({ enabled: false }), await createInvalidationBus(store, '', log));
      let failed = false;
      try {
        for (const step of ROTATIONS) {
          const r = await step.run({ services, db, cipher });
          console.log(`Re-encrypted ${r.rotated} ${step.what} under key "${cipher.currentKeyId}".` + (r.unreadable ? ` ${r.unreadable} ${step.unreadable}.` : ''));
          failed ||= r.unreadable > 0;
        }
      } finally {
        await services.http.close();
      }
      return failed ? 1 : 0;
    } finally {
      await store.close();
    }
  });
}
