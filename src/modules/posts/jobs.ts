// A scheduled target's one publishing job (graphile-worker, job key = target id). It is added, moved or
// removed in the transaction that changes the target, so a committed schedule always has its job and a
// rolled-back one never does.
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';

export const PUBLISH_TASK = 'publish_target';
/** A target's job key is this and the target's id (`allin seed` builds it in SQL, for many targets at once). */
export const PUBLISH_JOB_KEY_PREFIX = 'publish:';
/** How many times the queue runs a publishing job that crashed (a network error is rescheduled by the job itself). */
export const PUBLISH_JOB_MAX_ATTEMPTS = 10;

/**
 * Jobs due at the same instant run in the order graphile-worker finds them (priority, then run_at), which
 * for equal times is the order their rows happen to lie in: a bulk upload's jobs lie one account after
 * another, so a burst came out of the queue one account at a time and most of its runs found their
 * account at its places (limits.ts) and were sent back, each costing a claim, an update and a job added
 * and fetched again. So a job runs `rank` microseconds after its time, its rank being its place among its
 * account's targets due at that instant: the first of each account come first, then the second of each,
 * and so on. An ordering hint only (two jobs may share a rank; targets of any state are counted, so the
 * account's index on publish_at alone serves the count), counted up to RANK_CAP, so the job's time read
 * in milliseconds is still the target's.
 */
const RANK_CAP = 999;

/**
 * The target's one publishing job, added or moved to `runAt` (job key = target id), ranked among its
 * account's (see RANK_CAP). `ranked: false` for a time that is no target's publishing time (a retry, a
 * turn, a sweep), where there is no one to rank against.
 */
export async function enqueue(db: DbOrTx, targetId: string, runAt: Date, { ranked = true } = {}): Promise<void> {
  const at = runAt.toISOString();
  const rank = ranked
    ? sql` + (select count(*) from (
      select 1 from post_targets o join post_targets t on t.account_id = o.account_id
       where t.id = ${targetId}::uuid and o.publish_at = ${at}::timestamptz and o.id < t.id limit ${RANK_CAP}) r) * interval '1 microsecond'`
    : sql``;
  await db.execute(sql`select graphile_worker.add_job(${PUBLISH_TASK}, ${JSON.stringify({ targetId })}::json,
    run_at := ${at}::timestamptz${rank},
    max_attempts := ${PUBLISH_JOB_MAX_ATTEMPTS}::int,
    job_key := ${`${PUBLISH_JOB_KEY_PREFIX}${targetId}`}::text)`);
}

/**
 * `enqueue` for many targets (made in the caller's one statement, so not yet visible to it), as a
 * set-returning expression: `select count(*) from ${enqueueManySql(…)}`. Ranked as enqueue ranks: after
 * the account's targets already due at that instant, then by id.
 */
export function enqueueManySql(targets: { id: string; accountId: string; runAt: Date }[]): SQL {
  const specs = JSON.stringify(targets.map((t) => ({ id: t.id, account_id: t.accountId, run_at: t.runAt })));
  return sql`graphile_worker.add_jobs(array(
    with j as (select * from json_to_recordset(${specs}::json) as j(id uuid, account_id uuid, run_at timestamptz)),
    before_ as (
      select g.account_id, g.run_at, (select count(*) from (
        select 1 from post_targets o where o.account_id = g.account_id and o.publish_at = g.run_at limit ${RANK_CAP}) r) as n
        from (select distinct account_id, run_at from j) g)
    select row(${PUBLISH_TASK}::text, json_build_object('targetId', j.id), null,
               j.run_at + least(${RANK_CAP}, b.n + row_number() over (partition by j.account_id, j.run_at order by j.id) - 1) * interval '1 microsecond',
               ${PUBLISH_JOB_MAX_ATTEMPTS}::int, ${PUBLISH_JOB_KEY_PREFIX} || j.id::text, null, null)::graphile_worker.job_spec
      from j join before_ b on b.account_id = j.account_id and b.run_at = j.run_at))`;
}

export async function removeJob(db: DbOrTx, targetId: string): Promise<void> {
  await db.execute(sql`select graphile_worker.remove_job(${`${PUBLISH_JOB_KEY_PREFIX}${targetId}`})`);
}
