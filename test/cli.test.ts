// The real `allin` command in child processes: configuration errors, refusals, signals, and the
// zero-set-up path on an embedded PostgreSQL.
import { json } from './support/http.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { spawnAllin, isReady } from './support/process.ts';
import { testDatabaseUrl, testRedisUrl, testRedisPrefix } from './support/env.ts';

const shared = () => ({ DATABASE_URL: testDatabaseUrl(), REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: testRedisPrefix(), PORT: '0' });

test('NODE_ENV=production allin serve without secrets exits non-zero naming each missing variable', async () => {
  const p = spawnAllin(['serve'], { NODE_ENV: 'production', ...shared() });
  const { code } = await p.exited;
  assert.equal(code, 78);
  assert.match(p.stderr(), /AUTH_SECRET: required in production/);
  assert.match(p.stderr(), /ENCRYPTION_KEYS: required in production/);
});

test('a bad variable stops the process before anything starts, naming it', async () => {
  const p = spawnAllin(['start'], { PORT: 'http', LOG_LEVEL: 'chatty' });
  const { code } = await p.exited;
  assert.equal(code, 78);
  assert.match(p.stderr(), /PORT:/);
  assert.match(p.stderr(), /LOG_LEVEL:/);
});

test('allin serve without DATABASE_URL and REDIS_URL refuses, saying why', async () => {
  const p = spawnAllin(['serve'], { PORT: '0' });
  const { code } = await p.exited;
  assert.equal(code, 1);
  const line = p.lines.find((l) => l.level === 60);
  assert.match(String(line?.msg), /needs DATABASE_URL and REDIS_URL/);
});

test('an unknown command prints the usage and exits 64', async () => {
  const p = spawnAllin(['fly'], {});
  assert.equal((await p.exited).code, 64);
  assert.match(p.stderr(), /unknown command "fly"/);
});

test('SIGTERM shuts down cleanly; a second signal exits at once', async () => {
  const clean = spawnAllin(['serve'], shared());
  await clean.waitFor(isReady);
  clean.kill('SIGTERM');
  assert.deepEqual(await clean.exited, { code: 0, signal: null });
  assert.ok(clean.lines.some((l) => l.msg === 'stopped'));

  const stuck = spawnAllin(['serve'], { ...shared(), SHUTDOWN_TIMEOUT_MS: '60000' });
  const ready = await stuck.waitFor(isReady);
  const url = new URL(String(ready.url));
  // A request whose headers never finish keeps the server draining until the deadline.
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((res) => socket.once('connect', () => res()));
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  // The child gives no sign that it has read the partial headers; a pause lets them arrive first.
  await sleep(200);
  stuck.kill('SIGTERM');
  await stuck.waitFor((l) => l.msg === 'shutting down');
  // A fixed wait: what is checked is that the process does not exit, and an absence has no event.
  await sleep(300);
  assert.equal(stuck.child.exitCode, null, 'still draining after the first signal');
  const t0 = Date.now();
  stuck.kill('SIGTERM');
  const { code } = await stuck.exited;
  assert.equal(code, 130);
  assert.ok(Date.now() - t0 < 3000);
  socket.destroy();
});

test('zero set-up: embedded PostgreSQL, memory stores, a second terminal, restart with data intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'allin-embedded-'));
  chmodSync(dir, 0o755); // the server runs as the postgres user when we are root
  const home = join(dir, '.allin');
  const env = { ALLIN_HOME: home, PORT: '0' };

  const first = spawnAllin(['start'], env);
  try {
    const ready = await first.waitFor(isReady, 120_000);
    assert.match(String(ready.database), /^embedded/);
    assert.equal(ready.stores, 'memory');
    const health = await json(await fetch(`${ready.url}/api/health`));
    assert.equal(health.status, 'pass');

    // A second terminal: another command reaches the same embedded database.
    const migrate = spawnAllin(['migrate'], env);
    assert.equal((await migrate.exited).code, 0, migrate.stderr());
    assert.ok(migrate.lines.some((l) => String(l.text ?? '').startsWith('Database is up to date')));
    assert.ok(migrate.lines.some((l) => l.owned === false), 'it borrowed the running server');

    const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as { port: number; serverPid: number };
    const secrets = JSON.parse(readFileSync(join(home, 'secrets.json'), 'utf8')) as { EMBEDDED_DATABASE_PASSWORD: string };
    const client = new pg.Client({ host: '127.0.0.1', port: runtime.port, user: 'allin', password: secrets.EMBEDDED_DATABASE_PASSWORD, database: 'allin' });
    await client.connect();
    await client.query('create table survivor (note text)');
    await client.query("insert into survivor values ('kept across restarts')");
    await client.end();

    first.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    assert.equal(existsSync(`/proc/${runtime.serverPid}`) && !readFileSync(`/proc/${runtime.serverPid}/stat`, 'utf8').includes(') Z'), false, 'postgres stopped');

    const second = spawnAllin(['start'], env);
    try {
      await second.waitFor(isReady, 60_000);
      const rt = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as { port: number };
      const c2 = new pg.Client({ host: '127.0.0.1', port: rt.port, user: 'allin', password: secrets.EMBEDDED_DATABASE_PASSWORD, database: 'allin' });
      await c2.connect();
      const { rows } = await c2.query('select note from survivor');
      await c2.end();
      assert.deepEqual(rows, [{ note: 'kept across restarts' }]);
    } finally {
      second.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
    }
  } finally {
    if (first.child.exitCode === null) first.kill('SIGKILL');
  }
});

test('as root with ALLIN_HOME where the postgres user cannot enter, the database lives in /var/lib/allin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'allin-private-')); // 0700, like a CI checkout
  const home = join(dir, '.allin');
  const p = spawnAllin(['start'], { ALLIN_HOME: home, PORT: '0' });
  try {
    const ready = await p.waitFor(isReady, 120_000);
    assert.equal((await fetch(`${ready.url}/api/health`)).status, 200);
    const moved = p.lines.find((l) => String(l.msg).includes('lives in /var/lib/allin'));
    if (process.getuid?.() === 0) {
      assert.ok(moved, 'root cannot hand a 0700 folder to the postgres user: the data moves');
      assert.ok(existsSync(join(String(moved.base), 'postgres', 'PG_VERSION')));
    } else {
      assert.equal(moved, undefined, 'as an ordinary user the data stays in ALLIN_HOME');
      assert.ok(existsSync(join(home, 'postgres', 'PG_VERSION')));
    }
    p.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
    if (moved) rmSync(String(moved.base), { recursive: true, force: true });
  } finally {
    if (p.child.exitCode === null) p.kill('SIGKILL');
  }
});
