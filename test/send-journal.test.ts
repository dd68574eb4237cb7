// The send journal in PostgreSQL (provider_send_journal): put/get, the first send time kept when a marker is
// written again, values as JSON, shared by separate journal objects (separate processes), pruning, and the
// app's wiring: an X publish whose answer never came, made through one set of services, is found by the
// services of a "restarted" process over the same database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { testConfig, quietLogger, testDatabaseUrl } from './support/env.ts';
import { createPool } from '../src/infra/db/pool.ts';
import { applyMigrations } from '../src/infra/db/migrate.ts';
import { createDb, type Db } from '../src/infra/db/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { MemoryStore } from '../src/infra/stores/memory.ts';
import { createInvalidationBus } from '../src/infra/stores/invalidation.ts';
import { buildServices, type Services } from '../src/services.ts';
import { databaseSendJournal, PRUNE_SEND_JOURNAL_TASK } from '../src/modules/publishing/send-journal.ts';
import { sendKey } from '../src/providers/send-journal.ts';
import { ProviderError, type AccountRef } from '../src/providers/types.ts';
import { harness, authorize, REDIRECT, type Harness } from './providers/harness.ts';

let pool: pg.Pool;
let db: Db;
let h: Harness;
const built: Services[] = [];
// Provider names of this file only, so that other files' rows never meet these assertions.
const P = `test-${randomBytes(4).toString('hex')}`;

before(async () => {
  pool = createPool({ connectionString: testDatabaseUrl(), max: 4, metrics: createMetrics({ enabled: false }), log: quietLogger(), applicationName: 'test' });
  await applyMigrations(pool, quietLogger());
  db = createDb(pool);
  h = await harness();
});
after(async () => {
  for (const s of built) await s.http.close();
  await h.stop();
  await pool.end();
});

test('put and get: JSON values, per network and key; a missing key is undefined', async () => {
  const j = databaseSendJournal(db);
  const key = sendKey('urn:li:organization:42', 'allin-0d9b-0');
  const put = await j.put(P, key, { text: 'Hello "world" ✨\n', replyTo: '17', at: new Date(Date.UTC(2027, 0, 2)) });
  assert.deepEqual(put.value, { text: 'Hello "world" ✨\n', replyTo: '17', at: '2027-01-02T00:00:00.000Z' }, 'a Date is stored as its ISO string');
  assert.ok(Math.abs(put.firstSentAt - Date.now()) < 60_000);
  assert.deepEqual(await j.get(P, key), put);
  assert.equal(await j.get(`${P}-other`, key), undefined);
  assert.equal(await j.get(P, sendKey('urn:li:organization:43', 'allin-0d9b-0')), undefined);
});

test('a key written again keeps its first send time (also from another journal object), and its new value', async () => {
  const key = sendKey('1001', 'allin-retried-0');
  const first = await databaseSendJournal(db).put(P, key, { text: 'try 1' });
  await sleep(20); // let the clock move, so a send time written again would differ: no event to await
  // Another process's journal: the same table.
  const other = databaseSendJournal(db);
  const again = await other.put(P, key, { text: 'try 1', containerId: 'c-2' });
  assert.equal(again.firstSentAt, first.firstSentAt);
  assert.deepEqual(again.value, { text: 'try 1', containerId: 'c-2' });
  assert.deepEqual(await databaseSendJournal(db).get(P, key), again);
  const row = await db.execute<{ first: Date; updated: Date }>(sql`select first_sent_at as first, updated_at as updated from provider_send_journal where provider = ${P} and key = ${key}`);
  assert.ok(new Date(row.rows[0]!.updated).getTime() > new Date(row.rows[0]!.first).getTime(), 'updated_at moves, first_sent_at stays');
});

test('prune: rows untouched for 30 days go, the others stay', async () => {
  const j = databaseSendJournal(db);
  const old = sendKey('1002', 'allin-old-0');
  const recent = sendKey('1002', 'allin-recent-0');
  await j.put(P, old, { text: 'long ago' });
  await j.put(P, recent, { text: 'just now' });
  await db.execute(sql`update provider_send_journal set first_sent_at = now() - interval '31 days', updated_at = now() - interval '31 days' where provider = ${P} and key = ${old}`);
  assert.ok((await j.prune()) >= 1);
  assert.equal(await j.get(P, old), undefined);
  assert.deepEqual((await j.get(P, recent))!.value, { text: 'just now' });
});

test('the app wires it: an X publish lost by one process is found by the next one over the same database; the prune task is registered', async () => {
  const app = { clientId: `allin-x-${P}`, clientSecret: 'x-journal-secret' };
  h.sim.state('x').apps.set(app.clientId, { ...app, redirectUris: [REDIRECT], name: 'AllIN' });
  const metrics = createMetrics({ enabled: false });
  const store = new MemoryStore();
  const processOf = async () => {
    const config = testConfig({
      X_CLIENT_ID: app.clientId, X_CLIENT_SECRET: app.clientSecret, X_API_URL: h.sim.base('x'), X_AUTH_URL: h.sim.base('x'), SOCIAL_API_TIMEOUT_MS: '1500',
    });
    const s = buildServices(config, db, store, quietLogger(), metrics, await createInvalidationBus(store, '', quietLogger()));
    built.push(s);
    return s;
  };
  const first = await processOf();
  assert.equal(typeof first.tasks[PRUNE_SEND_JOURNAL_TASK], 'function');
  const x1 = first.registry.get('x');
  const { tokens } = await authorize(x1, { loginHint: `journal-${P}` });
  const [id] = await x1.identities(tokens);
  const account: AccountRef = { externalId: id!.externalId, username: id!.username, tokens, data: {} };
  const text = `Lost in one process, found by the next ${P}`;
  const marker = `allin-${P}-0`;
  h.sim.state('x').knobs.acceptThenHangNext = 1;
  await assert.rejects(x1.publish(account, { text, media: [], marker }), (e) => e instanceof ProviderError && e.kind === 'unknown_outcome');
  const stored = h.sim.state('x').posts.filter((p) => p.text === text);
  assert.equal(stored.length, 1);
  const row = await db.execute<{ value: unknown }>(sql`select value from provider_send_journal where provider = 'x' and key = ${sendKey(account.externalId, marker)}`);
  assert.deepEqual(row.rows[0]!.value, { text }, 'written down before the request went out');

  const restarted = await processOf();
  const found = await restarted.registry.get('x').findByMarker(account, marker, new Date(Date.now() - 60_000));
  assert.equal(found!.remoteId, stored[0]!.id);
});
