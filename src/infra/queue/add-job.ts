// Adds a graphile-worker job with SQL, inside the caller's transaction when given one: the job exists
// if and only if the rows that need it were committed (no dual write, no lost work).
import { sql, type SQL } from 'drizzle-orm';
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

export interface JobSpec {
  payload: Record<string, unknown>;
  runAt?: Date;
  jobKey?: string;
}

/**
 * Many jobs of one task at once (graphile-worker's add_jobs; a job whose key exists is replaced, as addJob
 * does), as a set-returning expression for a caller that writes the rows needing the jobs in the same
 * statement: `select count(*) from ${addJobsSql(…)}` (it runs only when selected from).
 */
export function addJobsSql(task: string, jobs: JobSpec[], opts: { maxAttempts?: number } = {}): SQL {
  const specs = JSON.stringify(jobs.map((j) => ({ payload: j.payload, run_at: j.runAt ?? null, job_key: j.jobKey ?? null })));
  return sql`graphile_worker.add_jobs(array(
    select row(${task}::text, j.payload, null, j.run_at, ${opts.maxAttempts ?? null}::int, j.job_key, null, null)::graphile_worker.job_spec
      from json_to_recordset(${specs}::json) as j(payload json, run_at timestamptz, job_key text)))`;
}
