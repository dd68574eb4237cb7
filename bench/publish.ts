// Publishing benchmarks, printed as figures and ratios, not pass/fail:
// - raw queue: graphile-worker running a task that does nothing, at AllIN's worker settings, in as many
//   processes as AllIN runs jobs in: the floor under any publishing rate on this machine, measured in
//   the same run (before and after the burst);
// - burst: 10,000 targets due at one instant, the network answering in 20 ms: time from the due instant
//   until all are on the network and until all are recorded published (goal ≤ 20 s), duplicates (goal 0)
//   and lost targets (goal 0), and the rate against the raw queue's;
// - steady: 1,000 targets a minute spread evenly: lateness (published − scheduled) P50, P99 and max
//   (goal: P99 ≤ 2 s).
// The targets are created ahead (by bulk upload, far in the future), then their due instant is moved in
// one statement to a few seconds ahead, as the product moves a schedule (the target's time and its job,
// by job key): how long creating them takes on this machine never decides when they are due.
// AllIN runs as `allin start` (API and worker) plus one `allin worker`, on PostgreSQL and Redis:
// DATABASE_URL and REDIS_URL when set, otherwise a database of its own on 127.0.0.1:5432 and the Redis
// on 127.0.0.1:6379 (or TEST_POSTGRES_URL / TEST_REDIS_URL), and it says so when it cannot reach them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startSimulator } from '../tools/provider-sim/server.ts';
import { startServer, fmt, ALLIN_BIN, ROOT, type ServerProcess } from './lib.ts';
import { benchStores, benchUser, benchWorkspace, cpuMeter } from './setup.ts';

const arg = (args: string[], name: string, dflt: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const RAW_TASK = 'bench_noop';
/** Seconds between moving the due instant and the instant itself. */
const LEAD_MS = 5_000;

interface Run { perSecond: number; cpuMs: number; pgCpuMs: number; statements?: StatementRow[] }
interface StatementRow { query: string; calls: number; rows: number; ms: number; hit: number; read: number; dirtied: number; toplevel: boolean }
type Stmts = NonNullable<Awaited<ReturnType<typeof statements>>>;

/**
 * What PostgreSQL did for the bench's database, by statement, from pg_stat_statements when the server
 * preloads it (shared_preload_libraries): figures that do not move with the machine's other load. Null
 * when it is not there.
 */
async function statements(db: pg.Client): Promise<{ reset(): Promise<void>; read(): Promise<StatementRow[]> } | null> {
  try {
    await db.query('create extension if not exists pg_stat_statements');
    await db.query('select 1 from pg_stat_statements limit 1');
  } catch {
    return null;
  }
  const dbid = Number((await db.query<{ oid: string }>('select oid from pg_database where datname = current_database()')).rows[0]!.oid);
  return {
    async reset() { await db.query('select pg_stat_statements_reset(0, $1::oid, 0)', [dbid]); },
    async read() {
      const r = await db.query<{ query: string; calls: string; rows: string; ms: number; hit: string; read: string; dirtied: string; toplevel: boolean }>(`
        select query, calls, rows, total_exec_time as ms, shared_blks_hit as hit, shared_blks_read as read, shared_blks_dirtied as dirtied, toplevel
          from pg_stat_statements where dbid = $1 and query not like '%pg_stat_statements%' order by total_exec_time desc`, [dbid]);
      return r.rows.map((x) => ({ query: x.query, calls: Number(x.calls), rows: Number(x.rows), ms: x.ms, hit: Number(x.hit), read: Number(x.read), dirtied: Number(x.dirtied), toplevel: x.toplevel }));
    },
  };
}

/**
 * One line per statement that matters, per target: calls, rows, execution time, buffers hit. Statements
 * run inside others (triggers, functions) are marked with ↳; their time is also in the statement that ran
 * them, so the totals count the client's statements only.
 */
function printStatements(rows: StatementRow[], per: number, label: string, unit: string): void {
  const total = rows.filter((r) => r.toplevel).reduce((a, r) => ({ calls: a.calls + r.calls, ms: a.ms + r.ms, hit: a.hit + r.hit + r.read }), { calls: 0, ms: 0, hit: 0 });
  console.log(`          ${label} (pg_stat_statements, per ${unit}): ${fmt(total.calls / per, 1)} statements from clients, ${fmt(total.ms / per, 2)} ms executing, ${fmt(total.hit / per)} shared buffers`);
  for (const r of rows.filter((x) => x.ms / total.ms >= 0.02 || x.calls / per >= 0.2).slice(0, 14)) {
    console.log(`            ${fmt(r.calls / per, 2).padStart(6)} calls ${fmt(r.ms / per, 3).padStart(7)} ms ${fmt((r.hit + r.read) / per, 1).padStart(7)} bufs ${fmt(r.rows / Math.max(1, r.calls), 1).padStart(6)} rows/call  ${r.toplevel ? '' : '↳ '}${r.query.replace(/\s+/g, ' ').slice(0, 110)}`);
  }
}

/**
 * graphile-worker's own rate on this machine: `jobs` no-op jobs due at one instant, run by `processes`
 * processes with the given worker settings. Jobs per second from the due instant until the last completes.
 */
async function rawQueueRate(databaseUrl: string, db: pg.Client, jobs: number, processes: number, env: Record<string, string>, stmts: Stmts | null = null): Promise<Run> {
  const children: ChildProcess[] = [];
  const done: number[] = [];
  const last: number[] = [];
  try {
    await Promise.all(Array.from({ length: processes }, (_, i) => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [`${ROOT}bench/servers/raw-queue.js`], {
        cwd: ROOT, env: { ...process.env, ...env, DATABASE_URL: databaseUrl, RAW_TASK }, stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      done[i] = 0;
      last[i] = 0;
      child.once('exit', (code) => reject(new Error(`the raw queue worker exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; done?: number; last?: number };
        if (m.ready) resolve();
        if (m.done !== undefined) {
          done[i] = m.done;
          last[i] = m.last!;
        }
      });
    })));
    const due = Date.now() + 2000;
    const cpu = cpuMeter(db, children.map((c) => c.pid!));
    await cpu.start();
    await stmts?.reset();
    await db.query(`select count(*) from graphile_worker.add_jobs(
      (select array_agg(row($1::text, '{}'::json, null, $2::timestamptz, 1, null, null, null)::graphile_worker.job_spec) from generate_series(1, $3::int)))`,
    [RAW_TASK, new Date(due), jobs]);
    const deadline = Date.now() + 120_000;
    while (done.reduce((a, b) => a + b, 0) < jobs) {
      if (Date.now() > deadline) throw new Error(`the raw queue ran ${done.reduce((a, b) => a + b, 0)} of ${jobs} jobs in 2 minutes`);
      await sleep(50);
    }
    const used = await cpu.stop();
    return { perSecond: jobs / ((Math.max(...last) - due) / 1000), cpuMs: used.processes / jobs, pgCpuMs: used.postgres / jobs, ...(stmts ? { statements: await stmts.read() } : {}) };
  } finally {
    for (const c of children) {
      c.removeAllListeners('exit');
      if (c.exitCode === null) {
        const gone = new Promise((res) => c.once('exit', res));
        c.kill('SIGTERM');
        await gone;
      }
    }
  }
}

/**
 * allin_db_queries_total of a process by "operation table", and allin_publish_total by "run outcome"
 * (published, deferred, retry…), from its /metrics.
 */
async function dbQueries(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^allin_(db_queries|publish)_total\{([^}]*)\} (\d+)/gm)) {
    const l = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = m[1] === 'publish' ? `run ${l.outcome}` : `${l.operation} ${l.table}${l.status === 'ok' ? '' : ` (${l.status})`}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

export async function benchPublish(args: string[]): Promise<number> {
  const burst = arg(args, 'targets', 10_000);
  const perMinute = arg(args, 'per-minute', 1_000);
  const accountsCount = 20;
  const s = await benchStores('publish', 'it runs AllIN as two processes (allin start + allin worker), which share PostgreSQL and Redis');
  if (!s) return 2;
  const sim = await startSimulator();
  await fetch(`${sim.url}/_sim/sandbox/knobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 20 }) });
  const worker = {
    WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '32',
    ...Object.fromEntries(['DATABASE_POOL_MAX', 'WORKER_LOCAL_QUEUE_SIZE', 'WORKER_COMPLETE_BATCH_MS', 'WORKER_POLL_INTERVAL_MS'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : []))),
  };
  const env = {
    DATABASE_URL: s.databaseUrl, REDIS_URL: s.redisUrl, REDIS_KEY_PREFIX: s.redisPrefix,
    LOG_FORMAT: 'json', LOG_LEVEL: 'warn', SIMULATOR_URL: sim.url, SANDBOX: 'on', LIMIT_API_USER: '100000000/60', LIMIT_API_IP: '100000000/60',
    PUBLISH_CONCURRENCY_PER_NETWORK: process.env.PUBLISH_CONCURRENCY_PER_NETWORK ?? '32', ...worker,
  };
  console.log(`publish bench: Sandbox network with 20 ms latency, ${accountsCount} accounts, ${Object.entries(worker).map(([k, v]) => `${k}=${v}`).join(', ')}, PUBLISH_CONCURRENCY_PER_NETWORK=${env.PUBLISH_CONCURRENCY_PER_NETWORK}, processes: allin start + allin worker`);
  const servers: ServerProcess[] = [];
  const db = new pg.Client({ connectionString: s.databaseUrl });
  try {
    // The API migrates the database; the user is made after it.
    const api = await startServer([ALLIN_BIN, 'start'], { ...env, PORT: '0', LOG_LEVEL: 'info' });
    servers.push(api);
    const user = await benchUser(env);
    // The worker serves /health on a port of its own, which is how startServer sees it is ready.
    // --profile=DIR: the worker writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    const profile = args.find((a) => a.startsWith('--profile='))?.split('=')[1];
    const workerProcess = await startServer([...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), ALLIN_BIN, 'worker'], { ...env, WORKER_PORT: String(20_000 + Math.floor(Math.random() * 20_000)), LOG_LEVEL: 'info' });
    servers.push(workerProcess);
    /** Queries both processes ran, by operation and table. */
    const queries = async () => {
      const out = new Map<string, number>();
      for (const u of [api.url, workerProcess.url]) for (const [k, n] of await dbQueries(u)) out.set(k, (out.get(k) ?? 0) + n);
      return out;
    };
    await db.connect();
    const { call, token, ws, accounts } = await benchWorkspace(api.url, user, accountsCount);
    /** `count` posts tagged `tag`, spread over the accounts (one target each), scheduled a day ahead by bulk upload. Seconds taken. */
    const create = async (tag: string, count: number): Promise<number> => {
      const t0 = Date.now();
      const later = new Date(Date.now() + 86_400_000).toISOString();
      const uploads: { accountId: string; rows: string[] }[] = [];
      for (let i = 0; i < count; i++) {
        const accountId = accounts[i % accounts.length]!;
        let u = uploads.findLast((x) => x.accountId === accountId);
        if (!u || u.rows.length >= 250) uploads.push(u = { accountId, rows: [] });
        u.rows.push(`${later},${tag} ${i}`);
      }
      for (let i = 0; i < uploads.length; i += 4) {
        const rs = await Promise.all(uploads.slice(i, i + 4).map((u) => call('POST', `/api/workspaces/${ws}/posts/bulk`, token, { csv: `time,text\n${u.rows.join('\n')}`, accountIds: [u.accountId], timeZone: 'UTC' })));
        for (const r of rs) if (r.status !== 201) throw new Error(`bulk upload failed: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      }
      return (Date.now() - t0) / 1000;
    };
    /**
     * Moves the targets of posts tagged `tag` to `first` (+ i·gapMs for the i-th), with their jobs, in one
     * statement: what rescheduling does to a target, its post and its job (job key publish:<target>).
     */
    const move = async (tag: string, first: Date, gapMs: number): Promise<{ moved: number; seconds: number }> => {
      const t0 = Date.now();
      const r = await db.query<{ n: string }>(`
        with chosen as (
          select t.id, t.post_id, $3::timestamptz + (row_number() over (order by p.created_at, t.id) - 1) * ($4::float8 * interval '1 millisecond') as at
            from post_targets t join posts p on p.id = t.post_id
           where t.workspace_id = $1 and t.state = 'scheduled' and p.text like $2),
        targets as (update post_targets t set publish_at = c.at, updated_at = now() from chosen c where t.id = c.id returning t.id, t.post_id, t.publish_at, t.account_id),
        posts_ as (update posts p set publish_at = t.publish_at, version = version + 1, updated_at = now() from targets t where p.id = t.post_id),
        -- Each job ranked among its account's due at the same instant, microseconds apart, as enqueue() ranks them (src/modules/posts/jobs.ts).
        ranked as (select id, publish_at + least(999, row_number() over (partition by account_id, publish_at order by id) - 1) * interval '1 microsecond' as run_at from targets)
        select count(*) as n from graphile_worker.add_jobs(
          (select array_agg(row('publish_target', json_build_object('targetId', id), null, run_at, 10, 'publish:' || id, null, null)::graphile_worker.job_spec) from ranked))`,
      [ws, `${tag} %`, first, gapMs]);
      return { moved: Number(r.rows[0]!.n), seconds: (Date.now() - t0) / 1000 };
    };
    const sandbox = sim.state('sandbox');
    const onNetwork = (tag: string) => sandbox.posts.filter((p) => p.text.startsWith(`${tag} `));
    const published = async (tag: string) => Number((await db.query<{ n: string }>(
      `select count(*) as n from post_targets t join posts p on p.id = t.post_id where t.workspace_id = $1 and t.state = 'published' and p.text like $2`, [ws, `${tag} %`])).rows[0]!.n);
    const rawEnv = { ...worker };
    // --statements: what PostgreSQL executed, by statement, when the server preloads pg_stat_statements.
    const stmts = args.includes('--statements') ? await statements(db) : null;
    if (args.includes('--statements') && !stmts) console.log('  (--statements: this PostgreSQL does not load pg_stat_statements; set shared_preload_libraries = pg_stat_statements to see its figures)');
    const rawBefore = await rawQueueRate(s.databaseUrl, db, burst, 2, rawEnv, stmts);
    console.log(`  raw graphile-worker (2 processes, a task that does nothing): ${fmt(burst)} jobs due at once → ${fmt(rawBefore.perSecond)} jobs a second; CPU per job ${fmt(rawBefore.cpuMs, 2)} ms in the workers, ${fmt(rawBefore.pgCpuMs, 2)} ms in PostgreSQL`);
    if (rawBefore.statements) printStatements(rawBefore.statements, burst, 'raw queue', 'job');

    // Burst: every target due at one instant.
    const created = await create('burst', burst);
    console.log(`  created ${fmt(burst)} targets by bulk upload in ${fmt(created, 1)} s (${fmt(burst / created)} a second)`);
    const before = sandbox.posts.length;
    const queriesBefore = await queries();
    const cpu = cpuMeter(db, [api.child.pid!, workerProcess.child.pid!]);
    await cpu.start();
    const due = new Date(Date.now() + LEAD_MS);
    const m = await move('burst', due, 0);
    if (m.moved !== burst) throw new Error(`moved ${m.moved} targets, not ${burst}`);
    await stmts?.reset();
    console.log(`  moved all ${fmt(m.moved)} to one due instant (${due.toISOString()}) in one statement: ${fmt(m.seconds, 2)} s${m.seconds * 1000 > LEAD_MS ? ' (after the due instant: the figures below include the overrun)' : ''}`);
    await sleep(Math.max(0, due.getTime() - Date.now()));
    const deadline = Date.now() + 300_000;
    let allOnNetwork = NaN;
    let allRecorded = NaN;
    while (Date.now() < deadline && Number.isNaN(allRecorded)) {
      if (Number.isNaN(allOnNetwork) && sandbox.posts.length - before >= burst && new Set(onNetwork('burst').map((p) => p.key)).size >= burst) allOnNetwork = (Date.now() - due.getTime()) / 1000;
      if (!Number.isNaN(allOnNetwork) && await published('burst') >= burst) allRecorded = (Date.now() - due.getTime()) / 1000;
      await sleep(100);
    }
    const used = await cpu.stop();
    const burstStatements = await stmts?.read();
    await sleep(2000); // anything late (a duplicate) would show now
    const posts = onNetwork('burst');
    const keys = new Map<string, number>();
    for (const p of posts) keys.set(p.key ?? '', (keys.get(p.key ?? '') ?? 0) + 1);
    const duplicates = [...keys.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const lost = burst - Math.min(keys.size, await published('burst'));
    const queriesAfter = await queries();
    const rawAfter = await rawQueueRate(s.databaseUrl, db, burst, 2, rawEnv);
    const raw = (rawBefore.perSecond + rawAfter.perSecond) / 2;
    console.log(`  burst:  ${fmt(burst)} targets due at once → all on the network ${fmt(allOnNetwork, 1)} s after the due instant, all recorded published after ${fmt(allRecorded, 1)} s (goal ≤ 20 s)`);
    console.log(`          ${fmt(burst / allRecorded)} a second; raw graphile-worker ${fmt(rawBefore.perSecond)} before and ${fmt(rawAfter.perSecond)} after (floor ${fmt(burst / raw, 1)} s); publishing / raw queue: ${fmt(burst / allRecorded / raw, 2)}`);
    console.log(`          duplicates ${duplicates} (goal 0), lost ${lost} (goal 0)`);
    console.log(`          CPU per target ${fmt(used.processes / burst, 2)} ms in AllIN's processes, ${fmt(used.postgres / burst, 2)} ms in PostgreSQL (raw queue per job: ${fmt((rawBefore.cpuMs + rawAfter.cpuMs) / 2, 2)} and ${fmt((rawBefore.pgCpuMs + rawAfter.pgCpuMs) / 2, 2)} ms)`);
    const perTarget = [...queriesAfter].map(([k, n]) => [k, (n - (queriesBefore.get(k) ?? 0)) / burst] as const).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
    const trips = perTarget.filter(([k]) => !k.startsWith('run '));
    const runs = perTarget.filter(([k]) => k.startsWith('run '));
    console.log(`          database round trips per target (both processes, allin_db_queries_total): ${fmt(trips.reduce((a, [, n]) => a + n, 0), 1)} = ${trips.map(([k, n]) => `${k} ${fmt(n, 1)}`).join(', ')}`);
    // A run turned away (deferred: its account at its limit) costs a claim, a job and a fetch, and publishes nothing.
    console.log(`          publishing runs per target (allin_publish_total): ${runs.map(([k, n]) => `${k.slice(4)} ${fmt(n, 2)}`).join(', ')}`);
    if (burstStatements) printStatements(burstStatements, burst, 'burst (after moving the due instant)', 'target');

    // Steady: perMinute targets spread evenly over a minute.
    if (perMinute > 0) {
      await create('steady', perMinute);
      const gap = 60_000 / perMinute;
      const first = new Date(Date.now() + LEAD_MS);
      await move('steady', first, gap);
      await sleep(Math.max(0, first.getTime() + 60_000 - Date.now()));
      const steadyDeadline = Date.now() + 120_000;
      while (Date.now() < steadyDeadline && await published('steady') < perMinute) await sleep(200);
      const lateness = (await db.query<{ s: number }>(`
        select extract(epoch from t.published_at - t.publish_at)::float8 as s from post_targets t join posts p on p.id = t.post_id
         where t.workspace_id = $1 and t.state = 'published' and p.text like 'steady %'`, [ws])).rows.map((r) => r.s);
      console.log(`  steady: ${fmt(perMinute)} targets over a minute → lateness p50 ${fmt(pct(lateness, 50), 3)} s, p99 ${fmt(pct(lateness, 99), 3)} s (goal ≤ 2 s), max ${fmt(Math.max(...lateness), 3)} s; published ${lateness.length}/${perMinute}`);
    }
    return duplicates || lost ? 1 : 0;
  } finally {
    for (const sv of servers.reverse()) await sv.stop();
    await db.end().catch(() => undefined);
    await sim.stop();
    await s.drop();
  }
}
