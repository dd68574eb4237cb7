// Bulk upload benchmark: posts per second of rows accepted by POST …/posts/bulk (a CSV file, all rows or
// none), against a baseline measured in the same run: the same rows written straight into PostgreSQL by
// the bench with multi-row INSERTs (the posts, their targets, their jobs and audit entries, one
// transaction per file), which is what storing them costs before any parsing, checking or HTTP. Files
// are sent one after the other, as one person uploading; also a dry run (parse and check only).
// AllIN runs as `allin start` on DATABASE_URL, or on a database of the bench's own on the local server.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { localToInstant } from '../src/shared/time.ts';
import { startSimulator } from '../tools/provider-sim/server.ts';
import { startServer, fmt, median, ALLIN_BIN, type ServerProcess } from './lib.ts';
import { benchStores, benchUser, benchWorkspace, cpuMeter } from './setup.ts';

const arg = (args: string[], name: string, dflt: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const ZONE = 'Europe/Berlin';

/** File `f`'s rows: a wall-clock time in ZONE over the coming year, and a text of a usual length. */
function rowsOf(f: number, rows: number, start: Date): { time: string; text: string }[] {
  return Array.from({ length: rows }, (_, j) => {
    const n = f * rows + j;
    const day = new Date(start.getTime() + (1 + (n % 360)) * 86_400_000).toISOString().slice(0, 10);
    const time = `${day} ${String(7 + (n % 14)).padStart(2, '0')}:${String((n * 7) % 60).padStart(2, '0')}`;
    return { time, text: `Bulk ${f}-${j}: our autumn collection is in the shops from today, with "free delivery", see the link 🍂` };
  });
}

const csvOf = (rows: { time: string; text: string }[]) => `time,text\n${rows.map((r) => `${r.time},"${r.text.replaceAll('"', '""')}"`).join('\n')}`;

export async function benchBulk(args: string[]): Promise<number> {
  const files = arg(args, 'files', 60);
  const rows = arg(args, 'rows', 350);
  const accountsPerFile = arg(args, 'accounts', 1);
  const s = await benchStores('bulk', 'it runs AllIN (allin start) on PostgreSQL', { redis: false });
  if (!s) return 2;
  const sim = await startSimulator();
  const env = { DATABASE_URL: s.databaseUrl, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', SIMULATOR_URL: sim.url, SANDBOX: 'on', LIMIT_API_USER: '100000000/60', LIMIT_API_IP: '100000000/60' };
  console.log(`bulk bench: ${files} files of ${rows} rows, each row to ${accountsPerFile} account(s), sent one after the other; allin start`);
  const db = new pg.Client({ connectionString: s.databaseUrl });
  let api: ServerProcess | undefined;
  try {
    // --profile=DIR: the server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    const profile = args.find((a) => a.startsWith('--profile='))?.split('=')[1];
    api = await startServer([...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), ALLIN_BIN, 'start'], { ...env, PORT: '0', LOG_LEVEL: 'info' });
    await db.connect();
    const user = await benchUser(env);
    const { call, token, ws, accounts } = await benchWorkspace(api.url, user, accountsPerFile);
    const { rows: [me] } = await db.query<{ id: string }>('select id from users where email = $1', [user.email]);
    const providers = accounts.map(() => 'sandbox');
    const start = new Date();
    let fileNo = 0;

    interface Run { perSecond: number; cpuMs: number; pgCpuMs: number }
    /** Uploads `n` files through the API (dry run or not): posts a second, CPU per post in AllIN and PostgreSQL. */
    const upload = async (n: number, dryRun: boolean): Promise<Run> => {
      const bodies = Array.from({ length: n }, () => ({ csv: csvOf(rowsOf(fileNo++, rows, start)), accountIds: accounts, timeZone: ZONE, ...(dryRun ? { dryRun } : {}) }));
      const cpu = cpuMeter(db, [api!.child.pid!]);
      await cpu.start();
      const t0 = process.hrtime.bigint();
      for (const body of bodies) {
        const r = await call('POST', `/api/workspaces/${ws}/posts/bulk`, token, body);
        if (r.status !== (dryRun ? 200 : 201)) throw new Error(`bulk upload answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const used = await cpu.stop();
      return { perSecond: (n * rows) / seconds, cpuMs: used.processes / (n * rows), pgCpuMs: used.postgres / (n * rows) };
    };

    /** The same writes for `n` files, straight from here: multi-row INSERTs, one transaction per file. Posts a second, CPU per post in PostgreSQL. */
    const raw = async (n: number): Promise<Run> => {
      const prepared = Array.from({ length: n }, () => rowsOf(fileNo++, rows, start).map((r) => {
        const localTime = r.time.replace(' ', 'T');
        return { id: randomUUID(), text: r.text, localTime, at: localToInstant(localTime, ZONE), targets: accounts.map((a, k) => ({ id: randomUUID(), accountId: a, provider: providers[k]! })) };
      }));
      const cpu = cpuMeter(db, []);
      await cpu.start();
      const t0 = process.hrtime.bigint();
      for (const file of prepared) {
        const values = (width: number, count: number, constants = '') => Array.from({ length: count }, (_, i) => `(${Array.from({ length: width }, (__, c) => `$${i * width + c + 1}`).join(', ')}${constants})`).join(', ');
        const targets = file.flatMap((p) => p.targets.map((t) => ({ ...t, postId: p.id, at: p.at })));
        await db.query('begin');
        await db.query(`insert into posts (id, workspace_id, created_by, text, status, schedule_mode, publish_at, local_time, time_zone, version) values ${values(9, file.length, ', 2')}`,
          file.flatMap((p) => [p.id, ws, me!.id, p.text, 'scheduled', 'local', p.at, p.localTime, ZONE]));
        await db.query(`insert into post_targets (id, post_id, workspace_id, account_id, provider, state, publish_at) values ${values(7, targets.length)}`,
          targets.flatMap((t) => [t.id, t.postId, ws, t.accountId, t.provider, 'scheduled', t.at]));
        await db.query(`select count(*) from graphile_worker.add_jobs(array[${targets.map((_, i) => `row('publish_target', $${3 * i + 1}::json, null, $${3 * i + 2}::timestamptz, 10, $${3 * i + 3}::text, null, null)::graphile_worker.job_spec`).join(', ')}])`,
          targets.flatMap((t) => [JSON.stringify({ targetId: t.id }), t.at, `publish:${t.id}`]));
        await db.query(`insert into audit_log (action, workspace_id, actor_user_id, target_type, target_id, details) values ${values(6, file.length)}`,
          file.flatMap((p) => ['post.created', ws, me!.id, 'post', p.id, JSON.stringify({ targets: accounts.length, scheduled: 'local' })]));
        await db.query('commit');
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const used = await cpu.stop();
      return { perSecond: (n * rows) / seconds, cpuMs: 0, pgCpuMs: used.postgres / (n * rows) };
    };

    await upload(2, false); // warm-up: code paths compiled, connections open
    await raw(2);
    // Interleaved halves, so that the machine's mood weighs on both alike.
    const half = Math.max(1, Math.floor(files / 2));
    const ours: Run[] = [];
    const base: Run[] = [];
    const dry: Run[] = [];
    for (let round = 0; round < 2; round++) {
      base.push(await raw(half));
      ours.push(await upload(half, false));
      dry.push(await upload(Math.max(1, Math.floor(half / 2)), true));
    }
    const { rows: [count] } = await db.query<{ posts: number; targets: number; jobs: number }>(`
      select (select count(*)::int from posts where workspace_id = $1) as posts, (select count(*)::int from post_targets where workspace_id = $1) as targets,
             (select count(*)::int from graphile_worker.jobs where task_identifier = 'publish_target') as jobs`, [ws]);
    const rates = (xs: Run[]) => xs.map((r) => fmt(r.perSecond)).join(' and ');
    const cpuOf = (xs: Run[], own: boolean) => `CPU per post${own ? ` ${fmt(median(xs.map((r) => r.cpuMs)), 2)} ms in AllIN,` : ''} ${fmt(median(xs.map((r) => r.pgCpuMs)), 2)} ms in PostgreSQL`;
    console.log(`  raw multi-row INSERTs (posts, targets, jobs, audit; a transaction a file): ${rates(base)} posts a second; ${cpuOf(base, false)}`);
    console.log(`  POST …/posts/bulk:                                  ${rates(ours)} posts a second (goal ≥ 1,000); ${cpuOf(ours, true)}`);
    console.log(`  POST …/posts/bulk, dry run (parse and check only):  ${rates(dry)} posts a second; ${cpuOf(dry, true)}`);
    console.log(`  bulk upload / raw INSERTs: ${fmt(median(ours.map((r) => r.perSecond)) / median(base.map((r) => r.perSecond)), 2)}; in the database: ${fmt(count!.posts)} posts, ${fmt(count!.targets)} targets, ${fmt(count!.jobs)} publishing jobs`);
    return 0;
  } finally {
    await api?.stop();
    await db.end().catch(() => undefined);
    await sim.stop();
    await s.drop();
  }
}
