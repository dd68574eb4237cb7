// The inbox's jobs: one collect_inbox job per account and source (job key inbox:<account>:<source>), added
// for the time of the row's next poll by the run that ends, or by the scheduler when one is missing.
import type { DbOrTx } from '../../infra/db/client.ts';
import { addJob } from '../../infra/queue/add-job.ts';

export const COLLECT_INBOX_TASK = 'collect_inbox';

export const collectionJobKey = (accountId: string, source: string) => `inbox:${accountId}:${source}`;

export async function enqueueCollection(db: DbOrTx, accountId: string, source: string, runAt: Date): Promise<void> {
  // Failures are the run's to schedule (backoff on the row); the queue's retries cover only a run that crashed.
  await addJob(db, COLLECT_INBOX_TASK, { accountId, source }, { jobKey: collectionJobKey(accountId, source), runAt, maxAttempts: 3 });
}

export const SEND_INBOX_REPLY_TASK = 'send_inbox_reply';
/** How many times the queue runs a reply's job that crashed (network errors are rescheduled by the job itself). */
const REPLY_JOB_MAX_ATTEMPTS = 10;

/** A reply's one sending job (job key inbox-reply:<id>), added in the transaction that queues the reply. */
export async function enqueueReply(db: DbOrTx, replyId: string, runAt: Date): Promise<void> {
  await addJob(db, SEND_INBOX_REPLY_TASK, { replyId }, { jobKey: `inbox-reply:${replyId}`, runAt, maxAttempts: REPLY_JOB_MAX_ATTEMPTS });
}
