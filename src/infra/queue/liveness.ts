// What a dead job runner held comes back in seconds, not in graphile-worker's four hours.
//
// graphile-worker locks a job (and a named queue) with its pool's id when it fetches it, and only unlocks
// a job whose runner vanished after four hours. A runner killed mid-job, or holding a batch of fetched
// jobs (WORKER_LOCAL_QUEUE_SIZE), would leave them, and a named queue such as post_metrics, stuck that long.
// So each runner registers its pool id in queue_runners and holds a session advisory lock keyed by it, on a
// connection of its own, for as long as its process lives: PostgreSQL drops the lock the moment that
// connection closes, which a killed process's does. A sweep tries each registered runner's lock: getting it
// means the runner is gone, and its jobs and queues are unlocked in the same transaction. No clock decides
// it, so a runner that is merely slow (a long pause, a loaded machine) is never taken for dead. A runner of
// an older release registers nothing, and the sweep leaves its jobs alone.
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { backoffDelay } from '../retry.ts';

/** The advisory locks' first key: "ALLN". The second is hashtext(pool id). */
export const RUNNER_LOCK_CLASS = 0x414c4c4e;

export interface RunnerLiveness {
  /** Ends the hold and the registration (a graceful stop, after graphile-worker handed its jobs back). */
  release(): Promise<void>;
}

/**
 * Holds the runner's lock and registers it. A lost connection is made again and the lock taken again;
 * between the two a sweep may take this runner for dead and hand its jobs to others (the publishing
 * path is fenced by leases, so a target is still sent once).
 */
export async function holdRunnerLiveness(pool: pg.Pool, poolId: string, workerId: string, log: Logger): Promise<RunnerLiveness> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry = 0;
  let timer: NodeJS.Timeout | undefined;

  const acquire = async (): Promise<void> => {
    // Outside the pool: a connection held for the process's life would count as busy in the pool's
    // figures and leave a small pool one short.
    const { connectionString, application_name: name } = pool.options;
    const c = new pg.Client({ connectionString, application_name: `${name ?? 'allin'}-liveness` });
    const drop = () => void c.end().catch(() => undefined);
    c.on('error', (err) => {
      log.warn({ err: err.message }, 'the job runner\'s liveness connection broke; taking the lock again');
      drop();
      if (client !== c) return;
      client = null;
      schedule();
    });
    try {
      await c.connect();
      const got = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [RUNNER_LOCK_CLASS, poolId]);
      if (!got.rows[0]!.ok) {
        // Another live runner's pool id hashes to the same key: this one then goes unregistered (its jobs
        // fall back to graphile-worker's own four hours) rather than being taken for the other.
        drop();
        log.warn({ poolId }, 'the job runner\'s liveness lock is held by another runner; its jobs will not be released early if it dies');
        return;
      }
      await c.query('insert into queue_runners (pool_id, worker_id) values ($1, $2) on conflict (pool_id) do nothing', [poolId, workerId]);
      if (stopped) throw new Error('the job runner stopped');
    } catch (err) {
      drop();
      throw err;
    }
    client = c;
    retry = 0;
  };
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      acquire().catch((err: unknown) => {
        if (stopped) return;
        log.warn({ err: (err as Error).message }, 'could not take the job runner\'s liveness lock; trying again');
        schedule();
      });
    }, backoffDelay({ baseMs: 500, capMs: 10_000, jitter: 'full' }, ++retry));
    timer.unref();
  };

  await acquire();
  return {
    async release() {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      if (!c) return;
      // graphile-worker has stopped: nothing of this runner runs any more, so a job it fetched and did not
      // hand back (its local queue's return is not awaited by stop) is unlocked now rather than left to a
      // sweep. The row goes last: while it exists, the lock says this runner is alive.
      await c.query('select graphile_worker.force_unlock_workers(array[$1::text])', [poolId]).catch(() => undefined);
      await c.query('delete from queue_runners where pool_id = $1', [poolId]).catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/**
 * Unlocks the jobs and queues of every registered runner whose lock is free (its process is gone) and
 * forgets it; returns their pool ids. One statement: the lock taken in it is held until it ends, so a
 * runner cannot be registered again under it meanwhile.
 */
export async function releaseDeadRunners(pool: pg.Pool): Promise<string[]> {
  const r = await pool.query<{ ids: string[] }>(`
    with dead as (
      select pool_id from queue_runners where pg_try_advisory_xact_lock($1, hashtext(pool_id))),
    gone as (
      delete from queue_runners r using dead where r.pool_id = dead.pool_id returning r.pool_id),
    unlocked as (
      select graphile_worker.force_unlock_workers(array(select pool_id from gone)))
    select array(select pool_id from gone) as ids from unlocked`, [RUNNER_LOCK_CLASS]);
  return r.rows[0]?.ids ?? [];
}
