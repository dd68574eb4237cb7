// `npm run bench -- calendar`: GET …/calendar on `allin seed` data, the largest workspace against the 20-post
// one in the same run: a week and a month as the web app asks for them (this week, Monday to Sunday; this
// month, from the Monday of its first week to the Sunday of its last), and a week of one account. Each case:
// autocannon, 10 connections for 8 s (--connections, --seconds), every response time in an HdrHistogram;
// P50/P95/P99, requests per second, and the largest workspace's figures as a ratio of the 20-post one's.
//
// Without --url it makes a database of its own on TEST_POSTGRES_URL's server (default 127.0.0.1:5432), fills
// it with `allin seed --scale S` (--scale, default 0.14: ~42,000 targets in the largest workspace, ~400 a
// week and ~1,750 a month, as one year of 21,000; 0.4 gives a month of ~5,000; 1, 300,000 targets and a
// month of ~12,000), starts `allin serve` on it (Redis: TEST_REDIS_URL, default 127.0.0.1:6379), and drops
// it at the end (--keep keeps it, to EXPLAIN by hand). With --url it measures a running AllIN whose database `allin seed` filled (--password if the seed
// was given one). --week-per-day / --month-per-day set perDay (100 and 5); --per-day=off sends none, for a
// server from before perDay existed. Beside the latencies, the CPU time per request of the API process and of
// its PostgreSQL backends (when on this machine; with --url, give --pid and DATABASE_URL), which the machine's
// other load disturbs far less.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { DateTime } from 'luxon';
import pg from 'pg';
import { createScratchDatabase, type ScratchDatabase } from '../src/infra/db/scratch-database.ts';
import { newHistogram, recordMs } from '../src/loadtest/stats.ts';
import { BASELINE_WORKSPACE_NAME, DEFAULT_SEED_PASSWORD, LARGEST_WORKSPACE_NAME, SEED_OWNER_EMAIL } from '../src/seed/plan.ts';
import { ALLIN_BIN, ROOT, fmt, startServer, type ServerProcess } from './lib.ts';

interface Options {
  seconds: number;
  connections: number;
  scale: number;
  url?: string;
  password: string;
  weekPerDay?: number;
  monthPerDay?: number;
  keep: boolean;
  /** With --url: the API process's pid, for its CPU time (DATABASE_URL, when set, for its backends'). */
  pid?: number;
}

function options(args: string[]): Options {
  const get = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const perDayOff = get('per-day') === 'off';
  return {
    seconds: Number(get('seconds') ?? 8),
    connections: Number(get('connections') ?? 10),
    scale: Number(get('scale') ?? 0.14),
    url: get('url'),
    password: get('password') ?? process.env.ALLIN_SEED_PASSWORD ?? DEFAULT_SEED_PASSWORD,
    weekPerDay: perDayOff ? undefined : Number(get('week-per-day') ?? 100),
    monthPerDay: perDayOff ? undefined : Number(get('month-per-day') ?? 5),
    keep: args.includes('--keep'),
    pid: get('pid') ? Number(get('pid')) : undefined,
  };
}

/** The ranges the web app's calendar asks for on `today` (web/src/pages/calendar.tsx). */
function ranges(today: DateTime): { week: [string, string]; month: [string, string] } {
  const monday = (d: DateTime) => d.minus({ days: d.weekday - 1 });
  const week = monday(today);
  const first = today.startOf('month');
  const last = today.endOf('month').startOf('day');
  return {
    week: [week.toISODate()!, week.plus({ days: 6 }).toISODate()!],
    month: [monday(first).toISODate()!, monday(last).plus({ days: 6 }).toISODate()!],
  };
}

function run(cmd: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd.join(' ')} exited with ${code}:\n${err.slice(-2000)}`))));
  });
}

async function api<T>(base: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: init.body ? 'POST' : 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

interface Figures {
  p50: number; p95: number; p99: number; rps: number; errors: number; non2xx: number; items: number; targets: number; bytes: number;
  /** CPU time per request of the API process and of its PostgreSQL backends, in ms (when they are on this machine). */
  apiCpu?: number; dbCpu?: number;
}

/** CPU time (user + system, ms) a process has used, all threads (Linux /proc; NaN elsewhere or once it exited). */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks, 100 a second
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU use of what serves the requests, which a busy machine disturbs far less than latencies: the API process
 * (its pid), and the backends of its pool (pg_stat_activity, application_name allin-…, this database).
 */
class CpuMeter {
  constructor(private readonly apiPid: number | undefined, private readonly db: pg.Client | undefined) {}

  async sample(): Promise<{ api: number; db: Map<number, number> }> {
    const db = new Map<number, number>();
    if (this.db) {
      const r = await this.db.query<{ pid: number }>("select pid from pg_stat_activity where datname = current_database() and application_name like 'allin-%'");
      for (const { pid } of r.rows) db.set(pid, cpuMs(pid));
    }
    return { api: this.apiPid ? cpuMs(this.apiPid) : Number.NaN, db };
  }

  static perRequest(a: { api: number; db: Map<number, number> }, b: { api: number; db: Map<number, number> }, requests: number): { apiCpu?: number; dbCpu?: number } {
    let db = 0;
    for (const [pid, ms] of b.db) db += ms - (a.db.get(pid) ?? ms); // backends that came or went meanwhile: partly missed
    return {
      apiCpu: Number.isFinite(b.api - a.api) ? (b.api - a.api) / requests : undefined,
      dbCpu: b.db.size > 0 ? db / requests : undefined,
    };
  }
}

async function measure(url: string, token: string, o: Options, meter: CpuMeter): Promise<Figures> {
  // What one answer holds: the items listed, the targets in the range (the days' totals, when given), its size.
  const probe = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await probe.text();
  if (!probe.ok) throw new Error(`${url}: ${probe.status} ${body.slice(0, 300)}`);
  const days = (JSON.parse(body) as { days: { total?: number; targets: unknown[] }[] }).days;
  const h = newHistogram();
  const before = await meter.sample();
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections: o.connections, duration: o.seconds, headers: { authorization: `Bearer ${token}` } },
      (err, result) => (err ? reject(err as Error) : resolve(result)));
    instance.on('response', (_client, _status, _bytes, ms) => recordMs(h, ms));
  });
  const cpu = CpuMeter.perRequest(before, await meter.sample(), r.requests.total);
  return {
    ...cpu,
    p50: h.getValueAtPercentile(50) / 1000, p95: h.getValueAtPercentile(95) / 1000, p99: h.getValueAtPercentile(99) / 1000,
    rps: r.requests.average, errors: r.errors + r.timeouts, non2xx: r.non2xx,
    items: days.reduce((n, d) => n + d.targets.length, 0), targets: days.reduce((n, d) => n + (d.total ?? d.targets.length), 0), bytes: body.length,
  };
}

export async function benchCalendar(args: string[]): Promise<void> {
  const o = options(args);
  let db: ScratchDatabase | undefined;
  let server: ServerProcess | undefined;
  let home: string | undefined;
  let client: pg.Client | undefined;
  try {
    let base = o.url;
    if (!base) {
      db = await createScratchDatabase(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'allin_bench_calendar');
      home = mkdtempSync(join(tmpdir(), 'allin-bench-calendar-'));
      // An API process alone (no job runner publishing what comes due meanwhile). The API's per-user limit
      // (1,200 a minute) would answer most of the load 429.
      const env = {
        DATABASE_URL: db.url, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: `${db.url.replace(/^.*\//, '')}:`,
        ALLIN_HOME: home, LOG_LEVEL: 'warn', LIMIT_API_USER: '100000000/60', PORT: '0',
      };
      console.log(`seeding ${db.url.replace(/^.*\//, '')} with allin seed --scale ${o.scale} …`);
      const started = Date.now();
      await run([ALLIN_BIN, 'seed', '--scale', String(o.scale), '--json'], env);
      console.log(`  seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      server = await startServer([ALLIN_BIN, 'serve'], { ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, 300_000);
      base = server.url;
    }
    const dbUrl = db?.url ?? (o.url ? process.env.DATABASE_URL : undefined);
    if (dbUrl) {
      client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
    }
    const meter = new CpuMeter(server?.child.pid ?? o.pid, client);
    const { accessToken: token } = await api<{ accessToken: string }>(base, '/api/auth/login', { body: { email: SEED_OWNER_EMAIL, password: o.password } });
    const workspaces = (await api<{ workspaces: { id: string; name: string }[] }>(base, '/api/workspaces', { token })).workspaces;
    const find = (name: string) => {
      const w = workspaces.find((x) => x.name === name);
      if (!w) throw new Error(`no workspace "${name}": is this a database \`allin seed\` filled?`);
      return w.id;
    };
    const zone = 'Europe/Berlin'; // both compared workspaces' zone in the seed
    const { week, month } = ranges(DateTime.now().setZone(zone));
    const cases: { name: string; query: (accountId: string) => string }[] = [
      { name: `week ${week[0]}…${week[1]}${o.weekPerDay ? `, perDay ${o.weekPerDay}` : ''}`, query: () => `from=${week[0]}&to=${week[1]}${o.weekPerDay ? `&perDay=${o.weekPerDay}` : ''}` },
      { name: `month ${month[0]}…${month[1]}${o.monthPerDay ? `, perDay ${o.monthPerDay}` : ''}`, query: () => `from=${month[0]}&to=${month[1]}${o.monthPerDay ? `&perDay=${o.monthPerDay}` : ''}` },
      { name: 'week, one account', query: (a) => `from=${week[0]}&to=${week[1]}&accountId=${a}${o.weekPerDay ? `&perDay=${o.weekPerDay}` : ''}` },
    ];
    console.log(`\n${o.connections} connections, ${o.seconds} s each, time zone ${zone}${o.url ? `, ${o.url}` : ''}\n`);
    console.log('| request | workspace | targets in range | listed | bytes | P50 ms | P95 ms | P99 ms | req/s | errors | CPU ms/req API, DB |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    const ratios: string[] = [];
    for (const c of cases) {
      const results: Figures[] = [];
      for (const name of [BASELINE_WORKSPACE_NAME, LARGEST_WORKSPACE_NAME]) {
        const ws = find(name);
        const accounts = (await api<{ accounts: { id: string }[] }>(base, `/api/workspaces/${ws}/accounts`, { token })).accounts;
        const f = await measure(`${base}/api/workspaces/${ws}/calendar?timeZone=${encodeURIComponent(zone)}&${c.query(accounts[0]!.id)}`, token, o, meter);
        results.push(f);
        console.log(`| ${c.name} | ${name} | ${fmt(f.targets)} | ${fmt(f.items)} | ${fmt(f.bytes)} | ${fmt(f.p50, 1)} | ${fmt(f.p95, 1)} | ${fmt(f.p99, 1)} | ${fmt(f.rps)} | ${f.errors + f.non2xx} | ${f.apiCpu === undefined ? '–' : fmt(f.apiCpu, 2)}, ${f.dbCpu === undefined ? '–' : fmt(f.dbCpu, 2)} |`);
      }
      const [small, big] = results as [Figures, Figures];
      const cpu = big.apiCpu !== undefined && small.apiCpu ? `, API CPU/req ${fmt(big.apiCpu / small.apiCpu, 2)}×` : '';
      const dbCpu = big.dbCpu !== undefined && small.dbCpu ? `, DB CPU/req ${fmt(big.dbCpu / small.dbCpu, 2)}×` : '';
      ratios.push(`${c.name}: P95 ${fmt(big.p95 / small.p95, 2)}×, req/s ${fmt(big.rps / small.rps, 2)}×${cpu}${dbCpu} (largest / 20-post)`);
    }
    console.log(`\n${ratios.join('\n')}`);
    console.log('Goals: P95 ≤ 50 ms for a week, ≤ 150 ms for a month, at most 2× the 20-post workspace\'s.');
  } finally {
    await client?.end();
    await server?.stop();
    if (db && !o.keep) await db.drop();
    else if (db) console.log(`kept the database: ${db.url}`);
    if (home) rmSync(home, { recursive: true, force: true });
  }
}
