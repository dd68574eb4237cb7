#!/usr/bin/env node
// `npm test`: gives this run its own fresh PostgreSQL database and Redis key prefix on the machine's
// servers (TEST_POSTGRES_URL, TEST_REDIS_URL; defaults 127.0.0.1:5432 and :6379), runs every
// test/**/*.test.ts with node's test runner, then drops them. Arguments narrow the files:
// `npm test -- config stores` runs the files whose path contains "config" or "stores".
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

const root = fileURLToPath(new URL('..', import.meta.url));
const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const dbName = `allin_test_${runId}`;
const redisPrefix = `allin-test-${runId}:`;

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = readdirSync(join(root, 'test'), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
  .map((f) => join('test', f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`No test file matches ${filters.join(', ')}`);
  process.exit(1);
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

try {
  await admin(`create database "${dbName}"`);
} catch (err) {
  console.error(`Cannot create the test database on ${adminUrl.replace(/:[^:@/]+@/, ':***@')}: ${err.message}\n` +
    'The tests need a PostgreSQL server (and Redis at ' + redisUrl + '); .ci/run starts both.');
  process.exit(1);
}

const env = {
  ...process.env,
  ALLIN_TEST_DATABASE_URL: withDatabase(adminUrl, dbName),
  ALLIN_TEST_ADMIN_URL: adminUrl,
  ALLIN_TEST_REDIS_URL: redisUrl,
  ALLIN_TEST_REDIS_PREFIX: redisPrefix,
  ALLIN_TEST_RUN_ID: runId,
  NODE_ENV: 'test',
};
delete env.DATABASE_URL;
delete env.REDIS_URL;

// Timing-sensitive files (*.serial.test.ts) run after the others, alone, so their measurements do not
// share the CPU with other files.
const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
console.log(`test run ${runId}: ${files.length} files (${serial.length} run alone at the end), database ${dbName}, node ${process.version}`);
const totals = { pass: 0, fail: 0, skipped: 0 };
const run = (list, concurrency) => new Promise((res) => {
  if (list.length === 0) return res(0);
  const child = spawn(process.execPath, [
    '--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...passThrough,
    ...list.map((f) => relative(root, join(root, f))),
  ], { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] });
  // Pass the report through, and add up its closing counts for one summary line over both runs.
  let tail = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  });
  child.on('exit', (c, sig) => {
    for (const key of Object.keys(totals)) {
      const m = new RegExp(`ℹ ${key} (\\d+)`).exec(tail);
      if (m) totals[key] += Number(m[1]);
    }
    res(c ?? (sig ? 1 : 0));
  });
});
const code = Math.max(await run(parallel, 3), await run(serial, 1));
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);

try {
  // The run's database and any extra ones its tests made (named after it).
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const { rows } = await client.query('select datname from pg_database where datname like $1', [`${dbName}%`]);
  for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  await client.end();
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
} catch (err) {
  console.error(`cleanup after the test run failed: ${err.message}`);
}
process.exit(code);
