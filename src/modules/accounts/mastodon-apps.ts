// Mastodon app registrations, kept in PostgreSQL: AllIN registers itself with an instance once, on
// the first connect there, and every process reuses it. The client secret is encrypted like the tokens.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import type { MastodonApp, MastodonAppStore } from '../../providers/mastodon.ts';
import { mastodonApps } from './schema.ts';

const rowKey = (host: string) => `mastodon-app:${host}`;

export function databaseAppStore(db: Db, cipher: TokenCipher): MastodonAppStore {
  return {
    async get(host) {
      const [row] = await db.select().from(mastodonApps).where(eq(mastodonApps.host, host));
      if (!row) return null;
      return {
        clientId: row.clientId, clientSecret: cipher.decrypt(row.clientSecretEnc, rowKey(host)), redirectUri: row.redirectUri,
        scopes: row.scopes, registeredAt: row.createdAt.toISOString(),
      } satisfies MastodonApp;
    },
    async put(host, app) {
      const values = { clientId: app.clientId, clientSecretEnc: cipher.encrypt(app.clientSecret, rowKey(host)), redirectUri: app.redirectUri, scopes: app.scopes };
      await db.insert(mastodonApps).values({ host, ...values }).onConflictDoUpdate({ target: mastodonApps.host, set: values });
    },
  };
}

/**
 * `allin keys rotate`: re-encrypts every client secret stored under an older key. A secret no configured
 * key can decrypt is left as it is and counted: registering afresh would leave the tokens that app issued
 * unrevocable, so the operator restores the old key instead.
 */
export async function rotateMastodonAppSecrets(db: Db, cipher: TokenCipher): Promise<{ rotated: number; unreadable: number }> {
  let rotated = 0;
  let unreadable = 0;
  for (const row of await db.select({ host: mastodonApps.host, clientSecretEnc: mastodonApps.clientSecretEnc }).from(mastodonApps)) {
    if (!cipher.isStale(row.clientSecretEnc)) continue;
    let again: string;
    try {
      again = cipher.encrypt(cipher.decrypt(row.clientSecretEnc, rowKey(row.host)), rowKey(row.host));
    } catch {
      unreadable++;
      continue;
    }
    // Only if nobody registered again meanwhile (that row is already under the current key).
    await db.update(mastodonApps).set({ clientSecretEnc: again }).where(and(eq(mastodonApps.host, row.host), eq(mastodonApps.clientSecretEnc, row.clientSecretEnc)));
    rotated++;
  }
  return { rotated, unreadable };
}
