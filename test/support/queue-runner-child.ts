// A job runner in a process of its own, for the tests that kill one. Its task `hang` never ends, so every
// job it takes stays locked by it; it prints its graphile-worker pool id once it asks the queue for work.
import { createPool } from '../../src/infra/db/pool.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { startJobRunner } from '../../src/infra/queue/runner.ts';
import { quietLogger } from './env.ts';

const log = quietLogger();
const pool = createPool({ connectionString: process.env.DATABASE_URL!, max: 4, metrics: createMetrics({ enabled: false }), log, applicationName: 'queue-runner-child' });
const runner = await startJobRunner({
  pool, log, metrics: createMetrics({ enabled: false }), concurrency: 1, pollInterval: 100, heartbeatIntervalSeconds: 60,
  shutdownTimeoutMs: 1000, localQueueSize: Number(process.env.LOCAL_QUEUE_SIZE ?? 1), tasks: { hang: () => new Promise<void>(() => undefined) },
});
await runner.waitUntilPolling(15_000);
console.log(JSON.stringify({ ready: runner.workerId }));
