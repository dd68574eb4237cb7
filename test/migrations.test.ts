// Online migrations (drizzle/online/): index builds that run outside the migration transaction, with
// CREATE INDEX CONCURRENTLY, after the transactional ones. Against a folder of the test's own, and then the
// repository's real drizzle/ folder for coherence with drizzle-kit's snapshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations, pendingMigrations, MIGRATIONS_FOLDER } from '../src/infra/db/migrate.ts';
import { readOnlineMigrations } from '../src/infra/db/online-migrations.ts';
import { createPool } from '../src/infra/db/pool.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { quietLogger, capturingLogger, createTempDatabase } from './support/env.ts';
import { eventually } from './support/eventually.ts';

let folder: string;
before(() => {
  folder = mkdtempSync(join(tmpdir(), 'allin-online-'));
  mkdirSync(join(folder, 'meta'));
  mkdirSync(join(folder, 'online'));
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({
    version: '7', dialect: 'postgresql',
    entries: [
      { idx: 0, version: '7', when: 1_700_000_000_000, tag: '0000_items', breakpoints: true },
      { idx: 1, version: '7', when: 1_700_000_001_000, tag: '0001_items_v', breakpoints: true },
    ],
  }));
  writeFileSync(join(folder, '0000_items.sql'),
    'CREATE TABLE "items" ("id" integer PRIMARY KEY, "v" integer NOT NULL);--> statement-breakpoint\n' +
    'INSERT INTO "items" SELECT g, g % 997 FROM generate_series(1, 50000) g;');
  // What a migration looks like once its only statement moved to drizzle/online/.
  writeFileSync(join(folder, '0001_items_v.sql'), '-- "items_v_idx" is built online: drizzle/online/0001_items_v.sql\n');
  writeFileSync(join(folder, 'online', '0001_items_v.sql'),
    '-- the calendar reads items by v\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_v_idx" ON "items" USING btree ("v");');
});
after(() => rmSync(folder, { recursive: true, force: true }));

const poolFor = (url: string) => createPool({ connectionString: url, max: 3, metrics: createMetrics({ enabled: false }), log: quietLogger(), applicationName: 'test' });

async function indexState(pool: pg.Pool, name: string): Promise<{ valid: boolean } | null> {
  const r = await pool.query<{ valid: boolean }>('select indisvalid and indisready as valid from pg_index where indexrelid = to_regclass($1)', [name]);
  return r.rows[0] ?? null;
}

test('an online index is built outside the transaction, recorded, and not built again', async () => {
  const db = await createTempDatabase();
  const pool = poolFor(db.url);
  try {
    const first = await applyMigrations(pool, quietLogger(), { migrationsFolder: folder });
    assert.deepEqual(first, { applied: 3, total: 3 });
    assert.deepEqual(await indexState(pool, 'items_v_idx'), { valid: true });
    assert.equal(await pendingMigrations(pool, { migrationsFolder: folder }), 0);
    const { log, lines } = capturingLogger('info');
    assert.deepEqual(await applyMigrations(pool, log, { migrationsFolder: folder }), { applied: 0, total: 3 });
    assert.ok(!lines().some((l) => l.msg === 'index built online'), 'nothing rebuilt on the second run');
  } finally {
    await pool.end();
    await db.drop();
  }
});

test('five processes migrating at once: each online index is built once, nobody deadlocks', async () => {
  const db = await createTempDatabase();
  const pools = Array.from({ length: 5 }, () => poolFor(db.url));
  try {
    const results = await Promise.all(pools.map((p) => applyMigrations(p, quietLogger(), { migrationsFolder: folder })));
    assert.equal(results.reduce((n, r) => n + r.applied, 0), 3);
    assert.deepEqual(await indexState(pools[0]!, 'items_v_idx'), { valid: true });
    assert.equal(await pendingMigrations(pools[0]!, { migrationsFolder: folder }), 0);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  }
});

test('an index left INVALID by a build that died half-way is dropped and built again', async () => {
  const db = await createTempDatabase();
  const pool = poolFor(db.url);
  const writer = new pg.Client({ connectionString: db.url });
  const builder = new pg.Client({ connectionString: db.url });
  try {
    await applyMigrations(pool, quietLogger(), { migrationsFolder: folder });
    await pool.query('drop index items_v_idx');
    await pool.query("delete from drizzle.__allin_online_migrations where tag = '0001_items_v'");
    // A crash mid-build: the build registers its index, then waits for an open write transaction; killed then.
    await writer.connect();
    await builder.connect();
    builder.on('error', () => {}); // it is killed on purpose
    await writer.query('begin');
    await writer.query('insert into items values (0, 0)');
    const builderPid = (await builder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const building = builder.query('create index concurrently items_v_idx on items (v)').catch((e: unknown) => e);
    await eventually(() => indexState(pool, 'items_v_idx'), 20_000, 'the build to register its index');
    await pool.query('select pg_terminate_backend($1)', [builderPid]);
    assert.ok(await building instanceof Error);
    await writer.query('rollback');
    assert.deepEqual(await indexState(pool, 'items_v_idx'), { valid: false }, 'the crash left an invalid index');

    const { log, lines } = capturingLogger('info');
    assert.deepEqual(await applyMigrations(pool, log, { migrationsFolder: folder }), { applied: 1, total: 3 });
    assert.deepEqual(await indexState(pool, 'items_v_idx'), { valid: true });
    assert.ok(lines().some((l) => l.msg === 'rebuilding an index that an interrupted build left invalid' && l.index === 'items_v_idx'));
  } finally {
    await writer.end().catch(() => {});
    await builder.end().catch(() => {});
    await pool.end();
    await db.drop();
  }
});

test('an online file must be an idempotent concurrent index statement named after a journal migration', () => {
  const bad = mkdtempSync(join(tmpdir(), 'allin-online-bad-'));
  try {
    mkdirSync(join(bad, 'online'));
    writeFileSync(join(bad, 'online', '0001_items_v.sql'), 'CREATE INDEX "items_v_idx" ON "items" ("v");');
    assert.throws(() => readOnlineMigrations(bad, ['0000_items', '0001_items_v']), /CREATE \[UNIQUE\] INDEX CONCURRENTLY IF NOT EXISTS/);
    writeFileSync(join(bad, 'online', '0001_items_v.sql'), 'CREATE INDEX CONCURRENTLY "items_v_idx" ON "items" ("v");');
    assert.throws(() => readOnlineMigrations(bad, ['0000_items', '0001_items_v']), /IF NOT EXISTS/);
    writeFileSync(join(bad, 'online', '0001_items_v.sql'), 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "a" ON "items" ("v"); DROP TABLE items');
    assert.throws(() => readOnlineMigrations(bad, ['0000_items', '0001_items_v']), /one per statement/);
    writeFileSync(join(bad, 'online', '0001_items_v.sql'), 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "a" ON "items" ("v");');
    assert.throws(() => readOnlineMigrations(bad, ['0000_items', '0002_other']), /no migration named 0001_items_v/);
    const ok = readOnlineMigrations(bad, ['0000_items', '0001_items_v']);
    assert.deepEqual(ok[0]!.statements.map((s) => [s.kind, s.index]), [['create', 'a']]);
    writeFileSync(join(bad, 'online', '0001_items_v.sql'), 'DROP INDEX CONCURRENTLY IF EXISTS "a";');
    assert.deepEqual(readOnlineMigrations(bad, ['0001_items_v'])[0]!.statements.map((s) => [s.kind, s.index]), [['drop', 'a']]);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

// The repository's own folder: drizzle-kit's latest snapshot is the schema the database must have, so
// every index it declares exists and is valid once migrated, and every online index is one it declares
// (otherwise the next `npm run db:generate` would not know it and could emit it again, or never drop it).
test('drizzle/: every index of the latest snapshot exists and is valid; online indexes are declared there', async () => {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { idx: number; tag: string }[] };
  const last = journal.entries.at(-1)!;
  const snapshot = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', `${String(last.idx).padStart(4, '0')}_snapshot.json`), 'utf8')) as
    { tables: Record<string, { indexes: Record<string, unknown> }> };
  const declared = new Set(Object.values(snapshot.tables).flatMap((t) => Object.keys(t.indexes)));
  const online = readOnlineMigrations(MIGRATIONS_FOLDER, journal.entries.map((e) => e.tag));
  for (const m of online) {
    for (const s of m.statements) {
      if (s.kind === 'create') assert.ok(declared.has(s.index), `drizzle/online/${m.tag}.sql builds ${s.index}, which src/db-schema.ts does not declare`);
      else assert.ok(!declared.has(s.index), `drizzle/online/${m.tag}.sql drops ${s.index}, which src/db-schema.ts still declares`);
    }
  }
  const db = await createTempDatabase();
  const pool = poolFor(db.url);
  try {
    await applyMigrations(pool, quietLogger());
    for (const name of declared) assert.deepEqual(await indexState(pool, name), { valid: true }, `index ${name}`);
  } finally {
    await pool.end();
    await db.drop();
  }
});

// Indexes on tables that already exist are built online from here on: a plain CREATE INDEX in a transactional
// migration holds a lock that stops every write to the table for as long as the build takes.
const LAST_MIGRATION_BEFORE_ONLINE = 8;
test('drizzle/: later migrations build indexes on existing tables online, not in the transaction', () => {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { idx: number; tag: string }[] };
  assert.ok(readdirSync(MIGRATIONS_FOLDER).length > 0);
  for (const e of journal.entries.filter((x) => x.idx > LAST_MIGRATION_BEFORE_ONLINE)) {
    const text = readFileSync(join(MIGRATIONS_FOLDER, `${e.tag}.sql`), 'utf8');
    const created = new Set([...text.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"([^"]+)"/gi)].map((m) => m[1]));
    for (const m of text.matchAll(/CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?"([^"]+)" ON "([^"]+)"/gi)) {
      assert.ok(created.has(m[2]), `drizzle/${e.tag}.sql builds ${m[1]} on the existing table ${m[2]} inside the migration ` +
        `transaction; move it to drizzle/online/${e.tag}.sql as CREATE INDEX CONCURRENTLY IF NOT EXISTS (docs/DATABASE.md)`);
    }
  }
});
