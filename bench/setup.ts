// What the benches that run AllIN against a database need: PostgreSQL (and Redis) to run on, said plainly
// when they cannot be reached, and a user with a workspace and Sandbox accounts made through the API.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { ALLIN_BIN, ROOT, cpuMsOf } from './lib.ts';

export interface Stores {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** Drops the database the bench made (nothing when it was given DATABASE_URL). */
  drop(): Promise<void>;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

/**
 * DATABASE_URL (and REDIS_URL), or a database of the bench's own on the local server (TEST_POSTGRES_URL,
 * else postgres://postgres@127.0.0.1:5432) and the local Redis. Null, after saying what is needed and
 * why (`why`), when they cannot be reached.
 */
export async function benchStores(bench: string, why: string, opts: { redis?: boolean } = {}): Promise<Stores | null> {
  const needsRedis = opts.redis ?? true;
  const redisUrl = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisPrefix = `allin-bench-${bench}-${randomBytes(3).toString('hex')}:`;
  const admin = process.env.DATABASE_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const problems: string[] = [];
  const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } catch (err) {
    problems.push(`PostgreSQL at ${redact(admin)}: ${(err as Error).message}`);
  }
  if (needsRedis) {
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
    let redisError: Error | undefined;
    r.on('error', (err: Error) => { redisError ??= err; });
    try {
      await r.connect();
      await r.ping();
    } catch (err) {
      problems.push(`Redis at ${redact(redisUrl)}: ${(redisError ?? err as Error).message}`);
    } finally {
      r.disconnect();
    }
  }
  if (problems.length) {
    await c.end().catch(() => undefined);
    const vars = needsRedis ? 'DATABASE_URL (a database the bench may write to) and REDIS_URL' : 'DATABASE_URL (a database the bench may write to)';
    console.error([
      `${bench} bench: ${why}, and could not reach`,
      ...problems.map((p) => `  ${p}`),
      `Set ${vars}, e.g.`,
      `  DATABASE_URL=postgres://postgres@127.0.0.1:5432/allin_bench${needsRedis ? ' REDIS_URL=redis://127.0.0.1:6379' : ''} npm run bench -- ${bench}`,
      `or start PostgreSQL on 127.0.0.1:5432 (user postgres)${needsRedis ? ' and Redis on 127.0.0.1:6379' : ''}, where it makes a database of its own.`,
    ].join('\n'));
    return null;
  }
  if (process.env.DATABASE_URL) {
    await c.end();
    return { databaseUrl: process.env.DATABASE_URL, redisUrl, redisPrefix, drop: async () => {} };
  }
  const name = `allin_bench_${bench}_${randomBytes(4).toString('hex')}`;
  await c.query(`create database "${name}"`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    databaseUrl: u.toString(), redisUrl, redisPrefix,
    drop: async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      try { await d.query(`drop database if exists "${name}" with (force)`); } finally { await d.end(); }
    },
  };
}

/** A verified user made with `allin users create` in the environment `env` (the database AllIN runs on). */
export async function benchUser(env: Record<string, string>): Promise<{ email: string; password: string }> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = `Bench-${randomBytes(9).toString('base64url')}-lantern`;
  await new Promise<string>((res, rej) => execFile(process.execPath, [ALLIN_BIN, 'users', 'create', '--email', email, '--password', password, '--json'],
    { cwd: ROOT, env: { ...process.env, ...env } }, (err, out, errOut) => (err ? rej(new Error(errOut || err.message)) : res(out))));
  return { email, password };
}

export type Call = (method: string, path: string, token?: string, body?: unknown) => Promise<{ status: number; headers: Headers; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Signs in, makes a workspace and connects `accounts` Sandbox accounts (the network simulator the server was given). */
export async function benchWorkspace(apiUrl: string, user: { email: string; password: string }, accounts: number): Promise<{ call: Call; token: string; ws: string; accounts: string[] }> {
  const call: Call = async (method, path, token, body) => {
    const r = await fetch(`${apiUrl}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
  };
  const token = (await call('POST', '/api/auth/login', undefined, user)).body.accessToken as string;
  const ws = (await call('POST', '/api/workspaces', token, { name: 'Bench' })).body.id as string;
  const ids: string[] = [];
  for (let i = 0; i < accounts; i++) {
    const start = await call('POST', `/api/workspaces/${ws}/accounts/connect`, token, { provider: 'sandbox' });
    const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
    const consent = await fetch(`${start.body.authorizationUrl}&login_hint=bench-${i}`, { redirect: 'manual' });
    const back = new URL(consent.headers.get('location')!);
    const done = await fetch(`${apiUrl}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
    ids.push(new URL(done.headers.get('location')!).searchParams.get('accounts')!.split(',')[0]!);
  }
  return { call, token, ws, accounts: ids };
}

/** CPU used by some processes and by the PostgreSQL backends of the bench's database, between start and stop. */
export function cpuMeter(db: pg.Client, pids: number[]) {
  const backends = async () => (await db.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()')).rows.map((r) => r.pid);
  let pg0 = 0;
  let own0 = 0;
  return {
    async start() {
      own0 = cpuMsOf(pids);
      pg0 = cpuMsOf(await backends());
    },
    /** Backends that ended meanwhile are not counted (the pools keep theirs). */
    async stop() {
      return { processes: cpuMsOf(pids) - own0, postgres: cpuMsOf(await backends()) - pg0 };
    },
  };
}
