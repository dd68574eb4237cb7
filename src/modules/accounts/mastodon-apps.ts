// Mastodon app registrations, kept in PostgreSQL: AllIN registers itself with an instance once, on
// the first connect there, and every process reuses it. The client secret is encrypted like the tokens.
import { eq } from 'drizzle-orm';
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
