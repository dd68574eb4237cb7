// A job runner killed with SIGKILL: the jobs it ran and the ones it had fetched ahead (its local queue), and
// the named queue it held, go back to the queue at the next sweep of a live runner, not after graphile-worker's
// four hours; a live runner's jobs are never taken from it, however long they run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '../src/infra/db/migrate.ts';
import { createPool } from '../src/infra/db/pool.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import type { Task } from 'graphile-worker';
import { startJobRunner, type JobRunner } from '../src/infra/queue/runner.ts';
import { createTempDatabase, quietLogger } from './support/env.ts';
import { eventually } from './support/eventually.ts';

const CHILD = fileURLToPath(new URL('./support/queue-runner-child.ts', import.meta.url));
let db: { url: string; drop(): Promise<void> };
let pool: ReturnType<typeof createPool>;
before(async () => {
  db = await createTempDatabase();
  pool = createPool({ connectionString: db.url, max: 6, metrics: createMetrics({ enabled: false }), log: quietLogger(), applicationName: 'test' });
  await applyMigrations(pool, quietLogger());
});
after(async () => {
  await pool.end();
  await db.drop();
});

function startChild(localQueueSize: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, DATABASE_URL: db.url, LOCAL_QUEUE_SIZE: String(localQueueSize) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((res, rej) => {
    createInterface({ input: child.stdout! }).on('line', (l) => { if (l.includes('"ready"')) res(); });
    child.once('exit', (code) => rej(new Error(`the runner exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

// A task that runs until its runner stops (graphile-worker aborts it then).
const untilAborted: Task = (_payload, helpers) => new Promise<void>((res) => helpers.abortSignal?.addEventListener('abort', () => res(), { once: true }));

const locked = async (task: string) => (await pool.query<{ locked_by: string | null; queue_locked_by: string | null }>(`
  select j.locked_by, q.locked_by as queue_locked_by from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    left join graphile_worker._private_job_queues q on q.id = j.job_queue_id where t.identifier = $1 order by j.id`, [task])).rows;

test('SIGKILL: the jobs a runner ran and fetched ahead, and its named queue, are released by a live runner\'s sweep; a live runner keeps its own', async () => {
  // Six jobs the child takes in its first fetch: one it runs (forever), the others waiting in its local
  // queue; one of them is in a named queue, which the child then holds too.
  await pool.query(`select graphile_worker.add_job('hang', json_build_object('n', n)) from generate_series(1, 5) n`);
  await pool.query(`select graphile_worker.add_job('hang', '{}'::json, queue_name := 'metrics_like')`);
  const doomed = startChild(10);
  let live: JobRunner | undefined;
  try {
    await doomed.ready;
    await eventually(async () => (await locked('hang')).every((r) => r.locked_by !== null), 20_000, 'the child to take every job');
    const childPool = (await locked('hang'))[0]!.locked_by!;
    assert.equal((await locked('hang')).filter((r) => r.locked_by === childPool).length, 6, 'by one runner');
    assert.equal((await locked('hang')).filter((r) => r.queue_locked_by === childPool).length, 1, 'which holds the named queue');
    assert.deepEqual((await pool.query<{ pool_id: string }>('select pool_id from queue_runners')).rows.map((r) => r.pool_id), [childPool]);

    // A live runner in this process with a job that takes long: the sweep must not touch what it holds.
    live = await startJobRunner({
      pool, log: quietLogger(), metrics: createMetrics({ enabled: false }), concurrency: 2, pollInterval: 100, heartbeatIntervalSeconds: 60,
      shutdownTimeoutMs: 500, localQueueSize: 1,
      tasks: { hang: untilAborted, slow: untilAborted },
    });
    await pool.query(`select graphile_worker.add_job('slow', '{}'::json)`);
    await eventually(async () => (await locked('slow'))[0]?.locked_by, 20_000, 'the live runner to run its job');
    const livePool = (await locked('slow'))[0]!.locked_by!;
    assert.deepEqual(await live.releaseDeadRunners(), [], 'both runners alive: nothing released');
    assert.equal((await locked('hang')).filter((r) => r.locked_by === childPool).length, 6);

    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');
    // PostgreSQL ends the killed process's sessions, and so its lock, once it sees their sockets closed.
    const released = await eventually(async () => { const ids = await live!.releaseDeadRunners(); return ids.length ? ids : null; }, 20_000, 'the sweep to find the dead runner');
    assert.deepEqual(released, [childPool]);
    assert.equal((await locked('hang')).filter((r) => r.locked_by === childPool || r.queue_locked_by === childPool).length, 0, 'nothing is locked by the dead runner');
    assert.equal((await locked('slow'))[0]!.locked_by, livePool, 'the live runner\'s long job is still its own');
    assert.deepEqual((await pool.query<{ pool_id: string }>('select pool_id from queue_runners')).rows.map((r) => r.pool_id), [livePool]);
    // The live runner takes the released jobs (its task never ends either, so they stay locked, by it).
    await eventually(async () => (await locked('hang')).some((r) => r.locked_by === livePool), 20_000, 'the live runner to take the released jobs');
  } finally {
    doomed.child.kill('SIGKILL');
    await live?.stop();
  }
  assert.equal((await pool.query('select 1 from queue_runners')).rowCount, 0, 'a runner that stops gracefully unregisters');
});
