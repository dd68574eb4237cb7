// Adds a graphile-worker job with SQL, inside the caller's transaction when given one: the job exists
// if and only if the rows that need it were committed (no dual write, no lost work).
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';

export interface JobOptions {
  runAt?: Date;
  jobKey?: string;
  maxAttempts?: number;
  priority?: number;
  queueName?: string;
}

export async function addJob(db: DbOrTx, task: string, payload: Record<string, unknown>, opts: JobOptions = {}): Promise<void> {
  await db.execute(sql`select graphile_worker.add_job(
    ${task}, ${JSON.stringify(payload)}::json,
    queue_name := ${opts.queueName ?? null}::text,
    run_at := ${opts.runAt?.toISOString() ?? null}::timestamptz,
    max_attempts := ${opts.maxAttempts ?? null}::int,
    job_key := ${opts.jobKey ?? null}::text,
    priority := ${opts.priority ?? null}::int)`);
}
