// A scheduled target's one publishing job (graphile-worker, job key = target id). It is added, moved or
// removed in the transaction that changes the target, so a committed schedule always has its job and a
// rolled-back one never does.
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import { addJob } from '../../infra/queue/add-job.ts';

export const PUBLISH_TASK = 'publish_target';

/** The target's one publishing job, added or moved to `runAt` (job key = target id). */
export async function enqueue(db: DbOrTx, targetId: string, runAt: Date): Promise<void> {
  await addJob(db, PUBLISH_TASK, { targetId }, { jobKey: `publish:${targetId}`, runAt, maxAttempts: 10 });
}

export async function removeJob(db: DbOrTx, targetId: string): Promise<void> {
  await db.execute(sql`select graphile_worker.remove_job(${`publish:${targetId}`})`);
}
