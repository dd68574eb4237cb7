// Start-up and shutdown, in one explicit order:
//   config → database → migrations → stores → queue → HTTP
// Each dependency is awaited (and retried with backoff, named in the log) before the next step, so the
// process never listens half-initialised. Shutdown runs the same steps backwards.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Config } from './config.ts';
import { buildApp, type Role } from './app.ts';
import type { Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { createPool } from './infra/db/pool.ts';
import { applyMigrations } from './infra/db/migrate.ts';
import { startEmbeddedPostgres, EmbeddedPasswordMismatch, type EmbeddedDatabase } from './infra/db/embedded.ts';
import { loadDevSecrets } from './dev-secrets.ts';
import { retry } from './infra/retry.ts';
import type { KeyValueStore } from './infra/stores/types.ts';
import { MemoryStore } from './infra/stores/memory.ts';
import { RedisStore } from './infra/stores/redis.ts';
import { startJobRunner, collectQueueMetrics, type JobRunner } from './infra/queue/runner.ts';
import { collectAccountMetrics } from './modules/accounts/metrics.ts';
import { collectInboxMetrics } from './modules/inbox/index.ts';
import { ReadinessService, type Check } from './modules/health/readiness.ts';
import { createDb } from './infra/db/client.ts';
import { createInvalidationBus } from './infra/stores/invalidation.ts';
import { createChannels } from './infra/stores/channels.ts';
import { buildServices, REFRESH_TOKENS_TASK, type Services } from './services.ts';
import { CLEANUP_MEDIA_TASK } from './modules/media/service.ts';
import { COLLECT_POST_METRICS_TASK } from './modules/analytics/service.ts';
import { COLLECT_ACCOUNT_METRICS_TASK } from './modules/analytics/account-metrics.ts';
import { PRUNE_SEND_JOURNAL_TASK } from './modules/publishing/send-journal.ts';
import { FETCH_FEEDS_TASK } from './modules/feeds/index.ts';
import { SEND_REPORTS_TASK } from './modules/analytics/scheduled-reports.ts';
import { loadSimulator, devToolPath, SIMULATOR } from './dev-tools.ts';

export class StartupRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupRefused';
  }
}

export interface Running {
  role: Role;
  config: Config;
  app: FastifyInstance | undefined;
  /** Base URL the HTTP server listens on, when it has one. */
  url: string | undefined;
  pool: pg.Pool;
  store: KeyValueStore;
  services: Services;
  metrics: Metrics;
  runner: JobRunner | undefined;
  embedded: EmbeddedDatabase | undefined;
  /** The in-process network simulator (all-in-one mode with the Sandbox network). */
  simulatorUrl: string | undefined;
  stop(reason?: string): Promise<void>;
  /** Last resort on a second signal: stop the embedded database without waiting for anything. */
  forceStopDatabase(): void;
}

/** `serve` and `worker` are meant to run as several processes: they need shared PostgreSQL and Redis. */
export function assertSharedState(role: Role, config: Config): void {
  if (role === 'start') return;
  const missing = [!config.DATABASE_URL && 'DATABASE_URL', !config.REDIS_URL && 'REDIS_URL'].filter(Boolean);
  if (missing.length === 0) return;
  throw new StartupRefused(
    `allin ${role} needs ${missing.join(' and ')}: it runs as one of several processes, which must share one ` +
    'PostgreSQL and one Redis (rate limits, sessions and OAuth state would otherwise split between processes). ' +
    'For a single process with an embedded database and in-memory stores, run `npm start` (allin start).',
  );
}

export interface StartOptions {
  signal?: AbortSignal;
  /** Override the port (tests use 0 for a free one). */
  port?: number;
  /** Called with the app before it listens (tests add routes here). */
  extendApp?: (app: FastifyInstance) => void | Promise<void>;
  /** Hears every SQL statement the process sends, with its parameters (tests read the query plans). */
  onQuery?: (text: string, values: unknown[] | undefined) => void;
  /** The clock authenticator codes are checked against (tests move it instead of waiting). */
  now?: () => number;
  /** DNS TXT lookups for domain verification (tests answer them instead of the internet). */
  resolveTxt?: (name: string) => Promise<string[][]>;
}

export async function startRuntime(role: Role, config: Config, log: Logger, opts: StartOptions = {}): Promise<Running> {
  assertSharedState(role, config);
  const cleanups: { what: string; fn: () => Promise<void> }[] = [];
  const retryOpts = (what: string) => ({
    what, attempts: config.STARTUP_MAX_ATTEMPTS, maxDelayMs: config.STARTUP_RETRY_MAX_DELAY_MS, log, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const metrics = createMetrics({ enabled: config.METRICS_ENABLED });

  try {
    // 1. Database
    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const e = await startEmbeddedPostgres({
        home: config.ALLIN_HOME, password: loadDevSecrets(config.ALLIN_HOME).EMBEDDED_DATABASE_PASSWORD, log, role: 'owner',
      }).catch((err: unknown) => {
        // Said in one line, with what to do: retrying would only repeat the refusal.
        throw err instanceof EmbeddedPasswordMismatch ? new StartupRefused(err.message) : err;
      });
      embedded = e;
      cleanups.push({ what: 'embedded PostgreSQL', fn: () => e.stop() });
      databaseUrl = e.url;
    }
    const pool = createPool({
      connectionString: databaseUrl, max: config.DATABASE_POOL_MAX, metrics, log, applicationName: `allin-${role}`,
      ...(opts.onQuery ? { onQuery: opts.onQuery } : {}),
    });
    cleanups.push({ what: 'database pool', fn: () => pool.end() });
    await retry(() => pool.query('select 1'), retryOpts('PostgreSQL'));

    // 2. Migrations (under an advisory lock: several processes may start at once)
    await applyMigrations(pool, log);

    // 3. Stores
    let store: KeyValueStore;
    if (config.REDIS_URL) {
      const redis = new RedisStore(config.REDIS_URL, config.REDIS_KEY_PREFIX, log);
      cleanups.push({ what: 'Redis', fn: () => redis.close() });
      await retry(() => redis.connect(), retryOpts('Redis'));
      store = redis;
    } else {
      store = new MemoryStore();
      cleanups.push({ what: 'memory store', fn: () => store.close() });
    }

    const bus = await createInvalidationBus(store, config.REDIS_KEY_PREFIX, log, metrics);
    cleanups.push({ what: 'invalidation bus', fn: () => bus.close() });
    const channels = createChannels(store, config.REDIS_KEY_PREFIX, log, metrics);
    cleanups.push({ what: 'live channels', fn: () => channels.close() });
    // The Sandbox network needs its simulator: in the all-in-one process it runs in-process (loopback
    // only); separate serve/worker processes use SIMULATOR_URL (`allin sim`). The simulator is a
    // development tool, loaded through src/dev-tools.ts: an installation without it (the container image)
    // has no Sandbox network, and says so.
    let simulatorUrl: string | undefined;
    const sandboxOn = config.SANDBOX === 'on' || (config.SANDBOX === 'auto' && config.NODE_ENV !== 'production');
    if (sandboxOn && !config.SIMULATOR_URL && role === 'start') {
      const simulator = await loadSimulator();
      if (simulator) {
        const sim = await simulator.startSimulator({ port: 0, host: '127.0.0.1' });
        cleanups.push({ what: 'network simulator', fn: () => sim.stop() });
        simulatorUrl = sim.url;
        log.info({ url: sim.url }, 'Sandbox network simulator started');
      } else {
        log.warn({ missing: devToolPath(SIMULATOR) }, 'no Sandbox network: this installation has no network simulator ' +
          '(a development tool, left out of production builds); run `allin sim` in a development install and set SIMULATOR_URL, or set SANDBOX=off');
      }
    }
    const db = createDb(pool);
    const services = buildServices(config, db, store, log, metrics, bus, { channels, ...(simulatorUrl ? { simulatorUrl } : {}), ...(opts.now ? { now: opts.now } : {}), ...(opts.resolveTxt ? { resolveTxt: opts.resolveTxt } : {}) });
    cleanups.push({ what: 'outbound HTTP', fn: () => services.http.close() });
    cleanups.push({ what: 'mailer', fn: async () => services.mailer.close() });
    // After the HTTP server (cleanups run last first): the clicks its last redirects counted are written.
    cleanups.push({ what: 'link clicks', fn: () => services.linkClicks.close() });

    // 4. Queue
    let runner: JobRunner | undefined;
    if (role !== 'serve') {
      // The database's clock, as the heartbeats are written with it.
      const askedAt = (await pool.query<{ now: Date }>('select now()')).rows[0]!.now;
      const r = await startJobRunner({
        pool, log, metrics, tasks: services.tasks,
        crontab: `* * * * * ${REFRESH_TOKENS_TASK} ?max=1\n0 * * * * ${CLEANUP_MEDIA_TASK} ?max=1\n17 * * * * ${PRUNE_SEND_JOURNAL_TASK} ?max=1\n*/5 * * * * ${COLLECT_POST_METRICS_TASK} ?max=1&queue=post_metrics\n*/5 * * * * ${COLLECT_ACCOUNT_METRICS_TASK} ?max=1&queue=account_metrics\n* * * * * ${FETCH_FEEDS_TASK} ?max=1&jobKey=${FETCH_FEEDS_TASK}\n7 * * * * ${SEND_REPORTS_TASK} ?max=1&jobKey=${SEND_REPORTS_TASK}`,
        concurrency: config.WORKER_CONCURRENCY,
        localQueueSize: config.WORKER_LOCAL_QUEUE_SIZE,
        completeBatchMs: config.WORKER_COMPLETE_BATCH_MS,
        pollInterval: config.WORKER_POLL_INTERVAL_MS,
        heartbeatIntervalSeconds: config.HEARTBEAT_INTERVAL_SECONDS,
        shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      });
      runner = r;
      cleanups.push({ what: 'job runner', fn: () => r.stop() });
      await r.waitUntilPolling(15_000);
      // Ready means a heartbeat job has gone through the queue (this runner's or another's) since this
      // runner asked for one: a beat from before (a runner that stopped) proves nothing about the queue now.
      // Another runner's beat is recorded as this one's too, since that runner may stop (and delete its row)
      // before this one's own beat comes round.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const beat = await pool.query<{ at: Date | null }>('select max(beat_at) as at from worker_heartbeats where beat_at >= $1', [askedAt]);
        const at = beat.rows[0]?.at;
        if (at) {
          await r.vouch(at);
          break;
        }
        if (Date.now() > deadline) throw new Error('no heartbeat job went through the queue within 15 s');
        await new Promise((res) => setTimeout(res, 50));
      }
      // Targets a dead worker left publishing go back to the queue once their lease runs out; looked for
      // at start and then on an interval (finer than a crontab minute). Every worker may do it: the
      // target's job key makes a second sweep of the same target a no-op.
      const sweep = async () => {
        // Jobs and named queues a killed runner held, back to the queue at once (src/infra/queue/liveness.ts).
        await r.releaseDeadRunners().then(
          (gone) => { if (gone.length) log.warn({ runners: gone }, 'released the jobs of job runners whose processes are gone'); },
          (err: unknown) => log.warn({ err }, 'releasing dead job runners\' jobs failed'));
        await services.publishing.sweep().catch((err: unknown) => log.warn({ err }, 'publishing sweep failed'));
        // Replies are sent by the same machinery, so they are swept with the posts.
        await services.inbox.replySender.sweep().catch((err: unknown) => log.warn({ err }, 'reply sweep failed'));
      };
      void sweep();
      const sweeper = setInterval(sweep, config.PUBLISH_SWEEP_INTERVAL_MS);
      sweeper.unref();
      cleanups.push({ what: 'publishing sweeper', fn: async () => clearInterval(sweeper) });
      // Every account's inbox collection has its cursor and its job: at start, then on an interval.
      const scheduleInbox = () => services.inbox.scheduler.run().catch((err: unknown) => log.warn({ err }, 'inbox scheduling failed'));
      void scheduleInbox();
      const inboxScheduler = setInterval(scheduleInbox, config.INBOX_SCHEDULE_INTERVAL_MS);
      inboxScheduler.unref();
      cleanups.push({ what: 'inbox scheduler', fn: async () => clearInterval(inboxScheduler) });
    }
    collectQueueMetrics(pool, metrics);
    collectAccountMetrics(pool, metrics);
    collectInboxMetrics(pool, metrics, () => services.inbox.collectedProviders());

    // 5. HTTP
    const readiness = new ReadinessService(readinessChecks(config, pool, store, runner), metrics, config.READINESS_CACHE_MS);
    let app: FastifyInstance | undefined;
    let url: string | undefined;
    const port = opts.port ?? (role === 'worker' ? config.WORKER_PORT : config.PORT);
    if (role !== 'worker' || port !== 0 || opts.port !== undefined) {
      const a = await buildApp({ config, log, metrics, readiness, role, services });
      app = a;
      cleanups.push({ what: 'HTTP server', fn: () => closeHttp(a, config.SHUTDOWN_TIMEOUT_MS, log) });
      await opts.extendApp?.(a);
      await a.listen({ port, host: config.HOST });
      const addr = a.server.address();
      const boundPort = typeof addr === 'object' && addr ? addr.port : port;
      url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${boundPort}`;
    }
    cleanups.push({ what: 'readiness', fn: async () => readiness.markShuttingDown() });

    let stopping: Promise<void> | undefined;
    return {
      role, config, app, url, pool, store, services, metrics, runner, embedded, simulatorUrl,
      stop(reason = 'stop requested') {
        stopping ??= (async () => {
          log.info({ reason }, 'shutting down');
          await runCleanups(cleanups, log);
          log.info('stopped');
        })();
        return stopping;
      },
      forceStopDatabase() {
        if (embedded?.owned) {
          try { process.kill(embedded.serverPid, 'SIGINT'); } catch { /* already gone */ }
        }
      },
    };
  } catch (err) {
    await runCleanups(cleanups, log);
    throw err;
  }
}

async function runCleanups(cleanups: { what: string; fn: () => Promise<void> }[], log: Logger): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    try {
      await step.fn();
    } catch (err) {
      log.warn({ err: (err as Error).message, step: step.what }, 'shutdown step failed');
    }
  }
}

/**
 * Stops accepting, lets in-flight requests finish within the deadline, then cuts what is left.
 * Keep-alive connections are closed as soon as their last request is answered, so a client does not
 * hold a draining process open (it reconnects, to another instance).
 */
async function closeHttp(app: FastifyInstance, deadlineMs: number, log: Logger): Promise<void> {
  const idleSweep = setInterval(() => app.server.closeIdleConnections(), 50);
  const timer = setTimeout(() => {
    log.warn({ deadlineMs }, 'requests still running at the shutdown deadline; closing their connections');
    app.server.closeAllConnections();
  }, deadlineMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
    clearInterval(idleSweep);
  }
}

/** Seconds since any job runner last ran the heartbeat job; null when none has. */
async function lastHeartbeatAge(pool: pg.Pool): Promise<number | null> {
  const res = await pool.query<{ age: string | null }>('select extract(epoch from now() - max(beat_at)) as age from worker_heartbeats');
  const age = res.rows[0]?.age;
  return age === null || age === undefined ? null : Number(age);
}

function readinessChecks(config: Config, pool: pg.Pool, store: KeyValueStore, runner: JobRunner | undefined): Check[] {
  const freshWithin = config.HEARTBEAT_INTERVAL_SECONDS * 3;
  const checks: Check[] = [
    { name: 'database', critical: true, run: async () => { await pool.query('select 1'); } },
  ];
  // Not critical: without Redis every process keeps serving (limits in memory, revocations read from
  // PostgreSQL), so failing readiness would only make load balancers drop every process at once. The
  // check still fails (warn, allin_dependency_up 0), which names Redis and fires AllinRedisUnreachable.
  if (config.REDIS_URL) checks.push({ name: 'redis', critical: false, run: () => store.ping() });
  checks.push({
    name: 'jobs',
    // An API process stays ready when the workers are down (it can still accept and queue work);
    // the check then warns. A process that runs jobs is not ready without a working runner.
    critical: runner !== undefined,
    run: async () => {
      const local = runner?.problem();
      if (local) throw new Error(local);
      const age = await lastHeartbeatAge(pool);
      if (age === null) throw new Error('no job runner has reported a heartbeat');
      if (age > freshWithin) throw new Error(`last job runner heartbeat was ${Math.round(age)} s ago`);
      return `last heartbeat ${age.toFixed(1)} s ago`;
    },
  });
  return checks;
}
