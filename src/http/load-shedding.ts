// Load shedding: when the event loop keeps lagging or the heap nears its limit, API requests are answered 503
// with Retry-After at once, before the process falls over, while /health, /api/health and /metrics
// keep answering (an orchestrator and Prometheus must still see the process). The state is sampled on
// a timer, so a request pays one boolean read. Written here rather than taken from
// @fastify/under-pressure, which reads request.routeOptions on every request: that getter alone cost
// about 15 % of /health throughput when we measured it (bench/README.md).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../infra/metrics.ts';

export interface SheddingOptions {
  /** Mean event-loop delay over a sample window above which requests are shed; 0: never. */
  maxEventLoopDelayMs: number;
  /** Share of the V8 heap limit in use above which requests are shed; 0: never. */
  maxHeapUsedRatio: number;
  retryAfterSeconds: number;
  sampleIntervalMs?: number;
}

const EXEMPT = ['/health', '/api/health', '/metrics'];

export function registerLoadShedding(app: FastifyInstance, metrics: Metrics, opts: SheddingOptions): void {
  if (opts.maxEventLoopDelayMs <= 0 && opts.maxHeapUsedRatio <= 0) return;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const heapLimit = getHeapStatistics().heap_size_limit;
  type Reason = 'event_loop_delay' | 'heap' | null;
  let reason: Reason = null;
  let previous: Reason = null;
  // Overload is what lasts: a reason seen in two samples in a row. One stall (a big synchronous module
  // load at start, a long garbage collection) is not shed for.
  const sample = () => {
    const lagMs = delay.mean / 1e6;
    delay.reset();
    const heapRatio = process.memoryUsage().heapUsed / heapLimit;
    const now: Reason = opts.maxEventLoopDelayMs > 0 && lagMs > opts.maxEventLoopDelayMs ? 'event_loop_delay'
      : opts.maxHeapUsedRatio > 0 && heapRatio > opts.maxHeapUsedRatio ? 'heap' : null;
    reason = now !== null && now === previous ? now : null;
    previous = now;
  };
  const timer = setInterval(sample, opts.sampleIntervalMs ?? 500);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    delay.disable();
  });
  const retryAfter = String(opts.retryAfterSeconds);
  // A callback hook, not an async one: no promise per request when all is well.
  app.addHook('onRequest', (request, reply, done) => {
    if (reason === null) return done();
    const path = request.url.split('?', 1)[0]!;
    if (EXEMPT.includes(path)) return done();
    metrics.loadShed.labels(reason).inc();
    reply.header('retry-after', retryAfter);
    reply.status(503).send({
      statusCode: 503, code: 'OVERLOADED',
      message: `This server is overloaded (${reason === 'heap' ? 'memory' : 'event loop lag'}); try again in ${retryAfter} s.`,
      requestId: String(request.id),
    });
  });
}
