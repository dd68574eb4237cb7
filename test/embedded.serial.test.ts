// The embedded PostgreSQL of `npm start`, with real processes in a folder of their own (never the
// checkout's .allin): two `npm start` share it and the last one out stops it; killed with SIGKILL under
// a running AllIN it is started again and AllIN recovers; a data folder whose password no longer matches
// secrets.json (ALLIN_HOME deleted while the data lived on) starts with its data, not ten refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { spawnAllin, isReady, type AllinProcess } from './support/process.ts';
import { eventually } from './support/social.ts';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const runtimeOf = (home: string) => JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as { port: number; serverPid: number };
const passwordOf = (home: string) => (JSON.parse(readFileSync(join(home, 'secrets.json'), 'utf8')) as { EMBEDDED_DATABASE_PASSWORD: string }).EMBEDDED_DATABASE_PASSWORD;

/** A folder the postgres user can enter (the server runs as that user when we are root). */
function openHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'allin-embedded-'));
  chmodSync(dir, 0o755);
  return join(dir, '.allin');
}

async function sql(home: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port: runtimeOf(home).port, user: 'allin', password: passwordOf(home), database: 'allin' });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Readiness answered from a fresh check (not the short cache), with the database passing. */
async function databaseReady(url: string): Promise<boolean> {
  const r = await fetch(`${url}/api/health`).catch(() => undefined);
  if (!r) return false;
  const body = await r.json() as { cached: boolean; status: string; checks: { database?: { status: string } } };
  return !body.cached && r.status === 200 && body.checks.database?.status === 'pass';
}

async function stop(p: AllinProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.kill('SIGTERM');
  assert.equal((await p.exited).code, 0, p.stderr());
}

test('two npm start in one folder: stopping the first leaves the second its database; the last one out stops it', async () => {
  const home = openHome();
  const env = { ALLIN_HOME: home, PORT: '0' };
  const first = spawnAllin(['start'], env);
  let second: AllinProcess | undefined;
  try {
    await first.waitFor(isReady, 120_000);
    second = spawnAllin(['start'], env);
    const ready = await second.waitFor(isReady, 120_000);
    assert.ok(second.lines.some((l) => l.msg === 'using the embedded PostgreSQL of the running AllIN'), 'the second shares the running server');
    const { serverPid } = runtimeOf(home);
    await sql(home, "create table shared_note (note text); insert into shared_note values ('still here')");

    await stop(first);
    assert.ok(alive(serverPid), 'the server still runs for the second process');
    await eventually(() => databaseReady(String(ready.url)), 30_000, 'the second process to pass a fresh readiness check');
    assert.ok(first.lines.some((l) => String(l.msg).includes('left running for the other AllIN')), 'the first says it left the server to the second');
    assert.deepEqual((await sql(home, 'select note from shared_note')).rows, [{ note: 'still here' }]);
    // The API itself still reaches the database: a sign-up is a write.
    const signup = await fetch(`${ready.url}/api/auth/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `survivor-${randomBytes(3).toString('hex')}@example.com`, password: `Quiet-${randomBytes(6).toString('base64url')}-harbour-lantern`, name: 'Survivor' }),
    });
    assert.ok(signup.status < 300, `sign-up after the first process stopped answered ${signup.status}: ${await signup.text()}`);

    await stop(second);
    assert.equal(alive(serverPid), false, 'the last one out stopped the server');
    assert.equal(existsSync(join(home, 'runtime.json')), false);
  } finally {
    if (first.child.exitCode === null) first.kill('SIGKILL');
    if (second && second.child.exitCode === null) second.kill('SIGKILL');
    rmSync(join(home, '..'), { recursive: true, force: true });
  }
});

test('the embedded PostgreSQL killed with SIGKILL under npm start is started again, with its data', async () => {
  const home = openHome();
  const p = spawnAllin(['start'], { ALLIN_HOME: home, PORT: '0' });
  try {
    const ready = await p.waitFor(isReady, 120_000);
    await sql(home, "create table crash_note (note text); insert into crash_note values ('survives a crash')");
    const before = runtimeOf(home);
    process.kill(before.serverPid, 'SIGKILL');
    await p.waitFor((l) => String(l.msg).includes('is gone (killed or crashed)'), 30_000);
    await p.waitFor((l) => l.msg === 'embedded PostgreSQL started again', 120_000);
    await eventually(() => databaseReady(String(ready.url)), 60_000, 'AllIN to pass readiness on the restarted database');
    const after = runtimeOf(home);
    assert.notEqual(after.serverPid, before.serverPid);
    assert.equal(after.port, before.port, 'started again on the port the pool connects to');
    assert.deepEqual((await sql(home, 'select note from crash_note')).rows, [{ note: 'survives a crash' }]);
    await stop(p);
    assert.equal(alive(after.serverPid), false);
  } finally {
    if (p.child.exitCode === null) p.kill('SIGKILL');
    rmSync(join(home, '..'), { recursive: true, force: true });
  }
});

test('a data folder whose password is no longer the one in secrets.json starts with its data', async () => {
  const home = openHome();
  const env = { ALLIN_HOME: home, PORT: '0' };
  try {
    const p = spawnAllin(['start'], env);
    let ready: Record<string, unknown>;
    try {
      ready = await p.waitFor(isReady, 120_000);
      await sql(home, "create table kept (note text); insert into kept values ('not lost')");

      // New secrets beside the old data, as when the folder's secrets were regenerated.
      const secrets = JSON.parse(readFileSync(join(home, 'secrets.json'), 'utf8')) as Record<string, string>;
      writeFileSync(join(home, 'secrets.json'), JSON.stringify({ ...secrets, EMBEDDED_DATABASE_PASSWORD: randomBytes(24).toString('base64url') }), { mode: 0o600 });

      // While the server runs for a process holding the old password, a new start cannot change it
      // under that process: it refuses in one line, naming the process, and the running one is untouched.
      const refused = spawnAllin(['start'], env);
      const { code } = await refused.exited;
      assert.notEqual(code, 0);
      const fatal = refused.lines.find((l) => l.level === 60);
      assert.ok(fatal, JSON.stringify(refused.lines.slice(-5)));
      assert.match(String(fatal.msg), new RegExp(`refuses the password in .*secrets\\.json: AllIN process ${p.child.pid} runs it with other secrets\\. Stop it, then start again\\.`));
      assert.equal(refused.lines.filter((l) => l.level === 40 && String(l.msg).includes('not reachable')).length, 0, 'no retries of a refusal');
      await eventually(() => databaseReady(String(ready.url)), 30_000, 'the running process to keep its database');
    } finally {
      await stop(p);
    }

    const again = spawnAllin(['start'], env);
    try {
      await again.waitFor(isReady, 120_000);
      assert.ok(again.lines.some((l) => String(l.msg).includes('refused the password in secrets.json')), 'it says what happened');
      assert.deepEqual((await sql(home, 'select note from kept')).rows, [{ note: 'not lost' }]);
    } finally {
      await stop(again);
    }
  } finally {
    rmSync(join(home, '..'), { recursive: true, force: true });
  }
});

test('as root, deleting ALLIN_HOME while the data lives in /var/lib/allin: the next start keeps the data', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'allin-private-')); // 0700: the postgres user cannot enter
  const home = join(dir, '.allin');
  const env = { ALLIN_HOME: home, PORT: '0' };
  let base: string | undefined;
  try {
    const p = spawnAllin(['start'], env);
    await p.waitFor(isReady, 120_000);
    base = join('/var/lib/allin', createHash('sha256').update(realpathSync(home)).digest('hex').slice(0, 16));
    assert.ok(existsSync(join(base, 'postgres', 'PG_VERSION')));
    await sql(home, "create table kept (note text); insert into kept values ('outlives .allin')");
    await stop(p);

    rmSync(home, { recursive: true, force: true });
    const again = spawnAllin(['start'], env);
    try {
      await again.waitFor(isReady, 120_000);
      assert.ok(again.lines.some((l) => String(l.msg).includes('refused the password in secrets.json')));
      assert.deepEqual((await sql(home, 'select note from kept')).rows, [{ note: 'outlives .allin' }]);
    } finally {
      await stop(again);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (base) rmSync(base, { recursive: true, force: true });
  }
});
