// The job runner: graphile-worker on the application's own PostgreSQL pool. Jobs are added with SQL in
// the same transaction as the rows that need them (see add-job.ts); this file runs them, counts them,
// and keeps a heartbeat job going that proves the runner takes work (readiness reads it).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { EventEmitter } from 'node:events';
import { run, type Runner, type Task, type TaskList, type WorkerEvents } from 'graphile-worker';
import type { Metrics } from '../metrics.ts';
import type { Logger } from '../logger.ts';
import { graphileLogger } from './graphile-logger.ts';
import { holdRunnerLiveness, releaseDeadRunners } from './liveness.ts';

export const HEARTBEAT_TASK = 'heartbeat';

export interface JobRunner {
  workerId: string;
  /** False once the runner has stopped or crashed. */
  isRunning(): boolean;
  /**
   * Why this runner is not taking work, or null when it is: it must be running and either busy with
   * jobs or have asked the queue for work recently (graphile-worker polls while idle).
   */
  problem(): string | null;
  /** Resolves once the runner has asked the queue for work successfully (or rejects after timeoutMs). */
  waitUntilPolling(timeoutMs: number): Promise<void>;
  /**
   * Takes `beatAt`, a heartbeat the queue ran since this runner asked for one (perhaps another runner's),
   * as this runner's own last beat: readiness then does not hang on that other runner staying up.
   */
  vouch(beatAt: Date): Promise<void>;
  /** Hands the jobs and queues of runners whose processes are gone back to the queue (see liveness.ts); their pool ids. */
  releaseDeadRunners(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface RunnerOptions {
  pool: pg.Pool;
  log: Logger;
  metrics: Metrics;
  concurrency: number;
  pollInterval: number;
  heartbeatIntervalSeconds: number;
  /** How long running jobs get to finish at shutdown before they are handed back to the queue. */
  shutdownTimeoutMs: number;
  tasks?: TaskList;
  /** graphile-worker crontab lines for periodic tasks (one coordinated run per minute across runners). */
  crontab?: string;
  /** Jobs fetched (and locked) per round trip; 0 or 1: one at a time. */
  localQueueSize?: number;
  /** Completions gathered for this long into one statement; -1: each on its own. */
  completeBatchMs?: number;
}

export async function startJobRunner(opts: RunnerOptions): Promise<JobRunner> {
  const { pool, log, metrics } = opts;
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const startedAt = new Date();
  let lastPoll = 0;
  let activeJobs = 0;
  const pollWaiters = new Set<() => void>();
  const polled = () => {
    lastPoll = Date.now();
    for (const w of pollWaiters) w();
  };

  const heartbeat: Task = async (_payload, helpers) => {
    await helpers.query(
      `insert into worker_heartbeats (worker_id, hostname, started_at, beat_at) values ($1, $2, $3, now())
       on conflict (worker_id) do update set beat_at = excluded.beat_at`,
      [workerId, hostname(), startedAt],
    );
    metrics.workerHeartbeat.set(Date.now() / 1000);
  };

  const taskList: TaskList = { ...opts.tasks, [HEARTBEAT_TASK]: heartbeat };
  // Our own emitter, so that the pool's creation (and its id, which locks its jobs) is seen.
  const events = new EventEmitter() as WorkerEvents;
  let poolId: string | undefined;
  events.on('pool:create', ({ workerPool }) => { poolId = workerPool.id; });
  const runner: Runner = await run({
    events,
    pgPool: pool,
    taskList,
    concurrency: opts.concurrency,
    pollInterval: opts.pollInterval,
    noHandleSignals: true,
    crontab: opts.crontab ?? '', // never a crontab file: periodic work is declared in code
    logger: graphileLogger(log),
    gracefulShutdownAbortTimeout: opts.shutdownTimeoutMs,
    // Batching: fewer get_job and complete_job transactions, each of which waits for a WAL flush.
    preset: {
      worker: {
        ...(opts.localQueueSize && opts.localQueueSize > 1 ? { localQueue: { size: opts.localQueueSize } } : {}),
        ...(opts.completeBatchMs !== undefined && opts.completeBatchMs >= 0 ? { completeJobBatchDelay: opts.completeBatchMs, failJobBatchDelay: opts.completeBatchMs } : {}),
      },
    },
  });

  // Idle runners poll every pollInterval; a few missed polls mean the runner is stuck.
  const staleAfterMs = Math.max(5000, opts.pollInterval * 5);
  const started = new Map<string, bigint>();
  runner.events.on('worker:getJob:empty', polled);
  // With a local queue the pool, not each worker, asks the database for jobs.
  runner.events.on('localQueue:getJobs:complete', polled);
  runner.events.on('job:start', ({ job }) => {
    activeJobs++;
    polled();
    started.set(job.id, process.hrtime.bigint());
  });
  runner.events.on('job:complete', ({ job, error }) => {
    activeJobs = Math.max(0, activeJobs - 1);
    polled();
    const t0 = started.get(job.id);
    started.delete(job.id);
    metrics.jobsCompleted.labels(job.task_identifier, error ? 'error' : 'success').inc();
    if (t0 !== undefined) metrics.jobDuration.labels(job.task_identifier).observe(Number(process.hrtime.bigint() - t0) / 1e9);
  });

  if (!poolId) throw new Error('graphile-worker started without announcing its worker pool');
  const liveness = await holdRunnerLiveness(pool, poolId, workerId, log).catch(async (err: unknown) => {
    await runner.stop().catch(() => undefined);
    throw err;
  });

  let running = true;
  runner.promise.then(
    () => { running = false; },
    (err: unknown) => {
      running = false;
      log.error({ err }, 'job runner stopped with an error');
    },
  );

  // Each runner asks for a beat every interval. The job key makes the asks of several runners one job
  // ("preserve_run_at": a beat already waiting is left alone), and a failed beat does not end the chain.
  const requestBeat = () => pool.query(
    `select graphile_worker.add_job($1, '{}'::json, job_key := $1, max_attempts := 1, job_key_mode := 'preserve_run_at')`,
    [HEARTBEAT_TASK],
  );
  await requestBeat();
  const beatTimer = setInterval(() => {
    requestBeat().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not schedule the heartbeat job'));
  }, opts.heartbeatIntervalSeconds * 1000);
  beatTimer.unref();
  log.info({ workerId, concurrency: opts.concurrency }, 'job runner started');

  return {
    workerId,
    isRunning: () => running,
    problem() {
      if (!running) return 'the job runner of this process has stopped';
      const quietFor = Date.now() - lastPoll;
      if (activeJobs === 0 && quietFor > staleAfterMs) return `the job runner has not asked for work for ${Math.round(quietFor / 1000)} s`;
      return null;
    },
    waitUntilPolling(timeoutMs) {
      if (lastPoll > 0) return Promise.resolve();
      return new Promise((res, rej) => {
        const done = () => {
          clearTimeout(timer);
          pollWaiters.delete(done);
          res();
        };
        const timer = setTimeout(() => {
          pollWaiters.delete(done);
          rej(new Error(`the job runner did not reach the queue within ${timeoutMs} ms`));
        }, timeoutMs);
        pollWaiters.add(done);
      });
    },
    async vouch(beatAt) {
      await pool.query(
        `insert into worker_heartbeats (worker_id, hostname, started_at, beat_at) values ($1, $2, $3, $4)
         on conflict (worker_id) do update set beat_at = greatest(worker_heartbeats.beat_at, excluded.beat_at)`,
        [workerId, hostname(), startedAt, beatAt],
      );
    },
    releaseDeadRunners: () => releaseDeadRunners(pool),
    async stop() {
      clearInterval(beatTimer);
      if (!running) {
        await liveness.release();
        return;
      }
      // graphile-worker stops taking jobs, waits for running ones, and after the abort timeout releases
      // what is left so another worker picks it up: nothing is lost.
      await runner.stop();
      running = false;
      await liveness.release();
      await pool.query('delete from worker_heartbeats where worker_id = $1', [workerId]).catch(() => undefined);
      log.info({ workerId }, 'job runner stopped');
    },
  };
}

/** Queue depth gauges, read from graphile-worker's table at scrape time. */
export function collectQueueMetrics(pool: pg.Pool, metrics: Metrics): void {
  metrics.onCollect(async () => {
    const res = await pool.query<{ waiting: string; running: string; failed: string; oldest: string | null }>(`
      select count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now()) as waiting,
             count(*) filter (where locked_at is not null) as running,
             count(*) filter (where attempts >= max_attempts) as failed,
             extract(epoch from now() - min(run_at) filter (where locked_at is null and attempts < max_attempts and run_at <= now())) as oldest
        from graphile_worker._private_jobs`);
    const row = res.rows[0];
    if (!row) return;
    metrics.jobsWaiting.set(Number(row.waiting));
    metrics.jobsRunning.set(Number(row.running));
    metrics.jobsFailed.set(Number(row.failed));
    metrics.jobsOldestWaitingAge.set(row.oldest === null ? 0 : Number(row.oldest));
  });
}
