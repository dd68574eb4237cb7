// The baseline for publishing throughput: graphile-worker running a task that does nothing, at AllIN's
// worker settings (concurrency, pool size, local queue, batched completions, poll interval), in a process
// of its own. It prints {"ready":true} once it takes work, then {"done":N,"last":ms} every 100 ms.
import pg from 'pg';
import { Logger, run } from 'graphile-worker';

const env = (name, dflt) => Number(process.env[name] ?? dflt);
const concurrency = env('WORKER_CONCURRENCY', 5);
const localQueue = env('WORKER_LOCAL_QUEUE_SIZE', 0);
const completeBatch = env('WORKER_COMPLETE_BATCH_MS', -1);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: env('DATABASE_POOL_MAX', 10) });
pool.on('error', () => {}); // a dropped idle connection is replaced on the next query
let done = 0;
let last = 0;
const runner = await run({
  pgPool: pool,
  concurrency,
  pollInterval: env('WORKER_POLL_INTERVAL_MS', 1000),
  noHandleSignals: true,
  crontab: '',
  logger: new Logger(() => () => {}),
  taskList: { [process.env.RAW_TASK ?? 'bench_noop']: async () => {} },
  preset: {
    worker: {
      ...(localQueue > 1 ? { localQueue: { size: localQueue } } : {}),
      ...(completeBatch >= 0 ? { completeJobBatchDelay: completeBatch, failJobBatchDelay: completeBatch } : {}),
    },
  },
});
runner.events.on('job:complete', () => {
  done++;
  last = Date.now();
});
console.log(JSON.stringify({ ready: true }));
let said = -1;
const timer = setInterval(() => {
  if (done === said) return;
  said = done;
  console.log(JSON.stringify({ done, last }));
}, 100);
process.once('SIGTERM', async () => {
  clearInterval(timer);
  await runner.stop();
  await pool.end();
  process.exit(0);
});
