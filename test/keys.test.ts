// `allin keys rotate` re-encrypts every encrypted column: the schema (Drizzle's tables and the migrated
// database) is walked for them, so a new one cannot be left out of the command; and end to end, a
// Mastodon app secret (and every other stored secret) ends up under the new key and still decrypts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { is } from 'drizzle-orm';
import { PgTable, getTableConfig } from 'drizzle-orm/pg-core';
import * as schema from '../src/db-schema.ts';
import { applyMigrations } from '../src/infra/db/migrate.ts';
import { createDb, type Db } from '../src/infra/db/client.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { parseEncryptionKeys } from '../src/config.ts';
import { databaseAppStore } from '../src/modules/accounts/mastodon-apps.ts';
import { keysCommand, ROTATIONS } from '../src/cli/keys.ts';
import { createTempDatabase, quietLogger, testConfig } from './support/env.ts';

const covered = new Set(ROTATIONS.flatMap((r) => r.columns));
const encrypted = (column: string) => column.endsWith('_enc');

let temp: Awaited<ReturnType<typeof createTempDatabase>>;
let pool: pg.Pool;
let db: Db;

before(async () => {
  temp = await createTempDatabase();
  pool = new pg.Pool({ connectionString: temp.url, max: 2 });
  pool.on('error', () => undefined); // a connection dropped between tests is the next query's to report
  await applyMigrations(pool, quietLogger());
  db = createDb(pool);
});
after(async () => {
  await pool.end();
  await temp.drop();
});

test('every encrypted column of the Drizzle schema is one that keys rotate re-encrypts', () => {
  const inSchema = Object.values(schema).filter((v) => is(v, PgTable))
    .flatMap((table) => { const c = getTableConfig(table as PgTable); return c.columns.map((col) => `${c.name}.${col.name}`); })
    .filter((name) => encrypted(name));
  assert.ok(inSchema.includes('social_accounts.access_token_enc'), 'the walk finds encrypted columns');
  const missing = inSchema.filter((c) => !covered.has(c));
  assert.deepEqual(missing, [], `keys rotate does not re-encrypt ${missing.join(', ')}: add it to ROTATIONS in src/cli/keys.ts`);
  const stale = [...covered].filter((c) => !inSchema.includes(c));
  assert.deepEqual(stale, [], `ROTATIONS names columns the schema does not have: ${stale.join(', ')}`);
});

test('every encrypted column of the migrated database is one that keys rotate re-encrypts', async () => {
  const { rows } = await pool.query<{ name: string }>(
    "select table_name || '.' || column_name as name from information_schema.columns where table_schema = 'public' and column_name like '%\\_enc' order by 1",
  );
  assert.ok(rows.length >= 4, `found ${rows.map((r) => r.name).join(', ')}`);
  const missing = rows.map((r) => r.name).filter((c) => !covered.has(c));
  assert.deepEqual(missing, [], `keys rotate does not re-encrypt ${missing.join(', ')}: add it to ROTATIONS in src/cli/keys.ts`);
});

test('keys rotate: a Mastodon app secret, account tokens and a webhook secret move to the new key and still decrypt', async () => {
  const k1 = `k1:${randomBytes(32).toString('base64')}`;
  const k2 = `k2:${randomBytes(32).toString('base64')}`;
  const oldCipher = new TokenCipher(parseEncryptionKeys(k1).keys);
  const newOnly = new TokenCipher(parseEncryptionKeys(k2).keys);

  const workspace = randomUUID();
  await pool.query('insert into workspaces (id, name) values ($1, $2)', [workspace, 'Keys']);
  const account = randomUUID();
  await pool.query(
    `insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name, access_token_enc, refresh_token_enc)
     values ($1, $2, 'sandbox', 'ext-1', 'person', 'keys', 'Keys', $3, $4)`,
    [account, workspace, oldCipher.encrypt('access-token', account), oldCipher.encrypt('refresh-token', account)],
  );
  const webhook = randomUUID();
  await pool.query('insert into webhooks (id, workspace_id, url, secret_enc) values ($1, $2, $3, $4)',
    [webhook, workspace, 'https://hooks.example.com/in', oldCipher.encrypt('whsec_signing', webhook)]);
  const host = 'mastodon.example';
  await databaseAppStore(db, oldCipher).put(host, {
    clientId: 'client-id', clientSecret: 'mastodon-client-secret', redirectUri: 'https://allin.example.com/cb', scopes: ['profile'], registeredAt: new Date().toISOString(),
  });
  const before = (await pool.query('select client_secret_enc from mastodon_apps where host = $1', [host])).rows[0].client_secret_enc as string;
  assert.match(before, /^v1\.k1\./);

  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { printed.push(args.join(' ')); };
  let code: number;
  try {
    code = await keysCommand(['rotate'], testConfig({ DATABASE_URL: temp.url, ENCRYPTION_KEYS: `${k2},${k1}` }), quietLogger());
  } finally {
    console.log = log;
  }
  assert.equal(code, 0, printed.join('\n'));
  assert.match(printed.join('\n'), /Re-encrypted 1 Mastodon app client secrets under key "k2"/);

  const after = (await pool.query('select client_secret_enc from mastodon_apps where host = $1', [host])).rows[0].client_secret_enc as string;
  assert.match(after, /^v1\.k2\./);
  assert.equal((await databaseAppStore(db, newOnly).get(host))!.clientSecret, 'mastodon-client-secret');
  const acc = (await pool.query('select access_token_enc, refresh_token_enc from social_accounts where id = $1', [account])).rows[0];
  assert.equal(newOnly.decrypt(acc.access_token_enc, account), 'access-token');
  assert.equal(newOnly.decrypt(acc.refresh_token_enc, account), 'refresh-token');
  const hook = (await pool.query('select secret_enc from webhooks where id = $1', [webhook])).rows[0];
  assert.equal(newOnly.decrypt(hook.secret_enc, webhook), 'whsec_signing');

  // Whatever a column is called: no value anywhere in the database is still under the old key, and
  // ciphertexts live only in columns the command covers.
  const { rows: columns } = await pool.query<{ t: string; c: string }>(
    "select table_name as t, column_name as c from information_schema.columns where table_schema = 'public' and data_type in ('text', 'character varying')",
  );
  for (const { t, c } of columns) {
    const q = (prefix: string) => pool.query(`select count(*)::int as n from "${t}" where "${c}" like $1`, [`${prefix}%`]);
    assert.equal((await q('v1.k1.')).rows[0].n, 0, `${t}.${c} still holds values under the old key`);
    if (!covered.has(`${t}.${c}`)) assert.equal((await q('v1.k2.')).rows[0].n, 0, `${t}.${c} holds ciphertexts but keys rotate does not cover it`);
  }
});
