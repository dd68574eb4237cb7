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
