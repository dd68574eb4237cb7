// A scheduled target's one publishing job (graphile-worker, job key = target id). It is added, moved or
// removed in the transaction that changes the target, so a committed schedule always has its job and a
// rolled-back one never does.
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import { addJob, addJobsSql } from '../../infra/queue/add-job.ts';

export const PUBLISH_TASK = 'publish_target';
/** A target's job key is this and the target's id (`allin seed` builds it in SQL, for many targets at once). */
export const PUBLISH_JOB_KEY_PREFIX = 'publish:';
/** How many times the queue runs a publishing job that crashed (a network error is rescheduled by the job itself). */
export const PUBLISH_JOB_MAX_ATTEMPTS = 10;

/** The target's one publishing job, added or moved to `runAt` (job key = target id). */
export async function enqueue(db: DbOrTx, targetId: string, runAt: Date): Promise<void> {
  await addJob(db, PUBLISH_TASK, { targetId }, { jobKey: `${PUBLISH_JOB_KEY_PREFIX}${targetId}`, runAt, maxAttempts: PUBLISH_JOB_MAX_ATTEMPTS });
}

/** `enqueue` for many targets, as an expression of the caller's one statement (see addJobsSql). */
export function enqueueManySql(targets: { id: string; runAt: Date }[]): SQL {
  return addJobsSql(PUBLISH_TASK, targets.map((t) => ({ payload: { targetId: t.id }, runAt: t.runAt, jobKey: `${PUBLISH_JOB_KEY_PREFIX}${t.id}` })), { maxAttempts: PUBLISH_JOB_MAX_ATTEMPTS });
}

export async function removeJob(db: DbOrTx, targetId: string): Promise<void> {
  await db.execute(sql`select graphile_worker.remove_job(${`${PUBLISH_JOB_KEY_PREFIX}${targetId}`})`);
}
