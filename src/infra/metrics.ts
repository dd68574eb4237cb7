// Every Prometheus family AllIN exports is declared here, with the names the previous AllIN backend
// exported (`allin_` prefix), so queries and dashboards written for it keep working. One registry per process, created by the runtime and passed in: nothing here
// registers on import. Families are moved by the code that does the work (HTTP hooks, the pg client,
// the stores' cache, the job runner, the outbound HTTP client); gauges that describe shared state are
// read at scrape time through collectors attached by their owners.
import client from 'prom-client';
import { HotHistogram, DerivedCounter } from './hot-histogram.ts';

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Collector = () => Promise<void> | void;

export interface Metrics {
  registry: client.Registry;
  enabled: boolean;
  httpDuration: HotHistogram<'method' | 'route' | 'status_code'>;
  httpRequests: DerivedCounter;
  activeConnections: client.Gauge;
  cacheHits: client.Counter<'cache_type'>;
  cacheMisses: client.Counter<'cache_type'>;
  cacheInvalidationFailures: client.Counter<'topic'>;
  dbDuration: HotHistogram<'operation' | 'table' | 'status'>;
  dbQueries: DerivedCounter;
  dbPool: client.Gauge<'state'>;
  oauthOperations: client.Counter<'provider' | 'operation' | 'status'>;
  socialApiCalls: client.Counter<'provider' | 'operation' | 'status'>;
  socialApiDuration: client.Histogram<'provider' | 'operation'>;
  webhookDeliveries: client.Counter<'event' | 'outcome'>;
  loadShed: client.Counter<'reason'>;
  publishOutcomes: client.Counter<'provider' | 'outcome'>;
  publishDuration: client.Histogram<'provider'>;
  publishLateness: client.Histogram<'provider'>;
  jobsWaiting: client.Gauge;
  jobsRunning: client.Gauge;
  jobsFailed: client.Gauge;
  jobsOldestWaitingAge: client.Gauge;
  jobsCompleted: client.Counter<'task' | 'status'>;
  jobDuration: client.Histogram<'task'>;
  workerHeartbeat: client.Gauge;
  dependencyUp: client.Gauge<'dependency'>;
  socialAccounts: client.Gauge<'provider' | 'status'>;
  inboxCollectionLag: client.Histogram<'provider'>;
  inboxMessages: client.Counter<'provider' | 'direction'>;
  inboxCollections: client.Counter<'provider' | 'outcome'>;
  inboxCollectionErrors: client.Counter<'provider' | 'kind'>;
  inboxReplies: client.Counter<'provider' | 'outcome'>;
  inboxActions: client.Counter<'provider' | 'action' | 'outcome'>;
  inboxBacklog: client.Gauge<'provider'>;
  inboxBacklogAge: client.Gauge<'provider'>;
  inboxStreams: client.Gauge;
  inboxStreamsRefused: client.Counter<'reason'>;
  livePublishFailures: client.Counter;
  aiRequests: client.Counter<'provider' | 'feature' | 'outcome'>;
  aiTokens: client.Counter<'provider' | 'feature' | 'kind'>;
  aiDuration: client.Histogram<'provider' | 'feature'>;
  aiErrors: client.Counter<'provider' | 'reason'>;
  /** Registers work to run before each scrape (reading pool sizes, queue depth, readiness). */
  onCollect(fn: Collector): void;
  /** The exposition text, after running the collectors. */
  render(): Promise<string>;
}

export function createMetrics(opts: { enabled: boolean; defaultLabels?: Record<string, string> }): Metrics {
  const registry = new client.Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  const registers = [registry];
  const collectors: Collector[] = [];

  client.collectDefaultMetrics({ register: registry, prefix: 'allin_', eventLoopMonitoringPrecision: 10 });

  const httpDuration = new HotHistogram('allin_http_request_duration_seconds', 'HTTP request duration in seconds, by route template.',
    ['method', 'route', 'status_code'], LATENCY_BUCKETS, registry);
  const dbDuration = new HotHistogram('allin_db_query_duration_seconds', 'PostgreSQL query duration in seconds.',
    ['operation', 'table', 'status'], LATENCY_BUCKETS, registry);

  const m: Metrics = {
    registry,
    enabled: opts.enabled,
    httpDuration,
    httpRequests: new DerivedCounter('allin_http_requests_total', 'HTTP requests answered, by route template and status.', httpDuration, registry),
    activeConnections: new client.Gauge({ name: 'allin_active_connections', help: 'Open client TCP connections.', registers }),
    cacheHits: new client.Counter({ name: 'allin_cache_hits_total', help: 'Cache lookups that found a value.', labelNames: ['cache_type'], registers }),
    cacheMisses: new client.Counter({ name: 'allin_cache_misses_total', help: 'Cache lookups that did not.', labelNames: ['cache_type'], registers }),
    cacheInvalidationFailures: new client.Counter({
      name: 'allin_cache_invalidation_failures_total', help: 'Cache invalidation messages that could not be published to the other processes, by topic.',
      labelNames: ['topic'], registers,
    }),
    dbDuration,
    dbQueries: new DerivedCounter('allin_db_queries_total', 'PostgreSQL queries run.', dbDuration, registry),
    dbPool: new client.Gauge({ name: 'allin_db_pool_connections', help: 'Database pool connections by state (total, idle, waiting clients, max).', labelNames: ['state'], registers }),
    oauthOperations: new client.Counter({
      name: 'allin_oauth_operations_total', help: 'OAuth operations with social networks (authorize, exchange, refresh, revoke).',
      labelNames: ['provider', 'operation', 'status'], registers,
    }),
    socialApiCalls: new client.Counter({
      name: 'allin_social_api_calls_total', help: 'Calls to social network APIs, by outcome.',
      labelNames: ['provider', 'operation', 'status'], registers,
    }),
    socialApiDuration: new client.Histogram({
      name: 'allin_social_api_duration_seconds', help: 'Duration of calls to social network APIs.',
      labelNames: ['provider', 'operation'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    }),
    webhookDeliveries: new client.Counter({
      name: 'allin_webhook_deliveries_total', help: 'Webhook delivery tries, by event and outcome (delivered, retry, failed).',
      labelNames: ['event', 'outcome'], registers,
    }),
    loadShed: new client.Counter({ name: 'allin_load_shed_total', help: 'Requests answered 503 at once because the process was overloaded, by reason (event_loop_delay, heap, hashing: password hashing at capacity).', labelNames: ['reason'], registers }),
    publishOutcomes: new client.Counter({
      name: 'allin_publish_total', help: 'Publishing runs of targets, by network and outcome (published, failed, unknown, retry, deferred, skipped, lost_lease).',
      labelNames: ['provider', 'outcome'], registers,
    }),
    publishDuration: new client.Histogram({
      name: 'allin_publish_duration_seconds', help: 'Time a worker spent publishing a target (all its parts).',
      labelNames: ['provider'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
    publishLateness: new client.Histogram({
      name: 'allin_publish_lateness_seconds', help: 'How long after its scheduled time a target was published.',
      labelNames: ['provider'], buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900], registers,
    }),
    jobsWaiting: new client.Gauge({ name: 'allin_jobs_waiting', help: 'Jobs due now and not yet taken by a worker.', registers }),
    jobsRunning: new client.Gauge({ name: 'allin_jobs_running', help: 'Jobs locked by a worker.', registers }),
    jobsFailed: new client.Gauge({ name: 'allin_jobs_failed', help: 'Jobs that used up their attempts.', registers }),
    jobsOldestWaitingAge: new client.Gauge({ name: 'allin_jobs_oldest_waiting_age_seconds', help: 'Age of the oldest due job not yet taken (queue lag).', registers }),
    jobsCompleted: new client.Counter({ name: 'allin_jobs_completed_total', help: 'Jobs run by this process, by task and outcome.', labelNames: ['task', 'status'], registers }),
    jobDuration: new client.Histogram({ name: 'allin_job_duration_seconds', help: 'Job run time by task.', labelNames: ['task'], buckets: LATENCY_BUCKETS, registers }),
    workerHeartbeat: new client.Gauge({ name: 'allin_worker_heartbeat_timestamp_seconds', help: 'Unix time of the last heartbeat job this process ran.', registers }),
    dependencyUp: new client.Gauge({ name: 'allin_dependency_up', help: '1 when the dependency passed its last readiness check.', labelNames: ['dependency'], registers }),
    socialAccounts: new client.Gauge({
      name: 'allin_social_accounts', help: 'Connected social accounts by network and status (active, needs_reconnect, disconnected), read from the database at scrape time.',
      labelNames: ['provider', 'status'], registers,
    }),
    inboxCollectionLag: new client.Histogram({
      name: 'allin_inbox_collection_lag_seconds', help: 'From a comment\'s or mention\'s creation on the network to its arrival in the inbox, by network (first arrival only).',
      labelNames: ['provider'], buckets: [1, 2, 5, 10, 15, 30, 60, 90, 120, 300, 600, 1800, 3600, 21600, 86400], registers,
    }),
    inboxMessages: new client.Counter({
      name: 'allin_inbox_messages_total', help: 'Messages collected into the inbox for the first time, by network and direction (inbound, outbound: the account\'s own).',
      labelNames: ['provider', 'direction'], registers,
    }),
    inboxCollections: new client.Counter({
      name: 'allin_inbox_collections_total', help: 'Inbox collection runs (one account, one source), by network and outcome (collected, rate_limited, failed, over_budget, skipped).',
      labelNames: ['provider', 'outcome'], registers,
    }),
    inboxCollectionErrors: new client.Counter({
      name: 'allin_inbox_collection_errors_total', help: 'Calls of an inbox collection the network refused or did not answer, by network and kind (rate_limited, transient, permanent, auth_expired, unknown_outcome).',
      labelNames: ['provider', 'kind'], registers,
    }),
    inboxReplies: new client.Counter({
      name: 'allin_inbox_replies_total', help: 'Runs of a reply\'s sending job, by network and outcome (published, failed, unknown, retry, lost_lease, skipped).',
      labelNames: ['provider', 'outcome'], registers,
    }),
    inboxStreams: new client.Gauge({ name: 'allin_inbox_streams', help: 'Inbox live-update streams (Server-Sent Events) open on this process.', registers }),
    inboxStreamsRefused: new client.Counter({
      name: 'allin_inbox_streams_refused_total', help: 'Inbox live-update streams refused, by reason (capacity: the process has INBOX_STREAMS_MAX open; caller: that caller has its most open here; unavailable: Redis could not be listened to).',
      labelNames: ['reason'], registers,
    }),
    aiRequests: new client.Counter({
      name: 'allin_ai_requests_total', help: 'Assistant requests to a model provider, by feature and outcome (ok, flagged, error, budget_exhausted).',
      labelNames: ['provider', 'feature', 'outcome'], registers,
    }),
    aiTokens: new client.Counter({
      name: 'allin_ai_tokens_total', help: 'Tokens a model provider counted for the assistant, by kind (input, output).',
      labelNames: ['provider', 'feature', 'kind'], registers,
    }),
    aiDuration: new client.Histogram({
      name: 'allin_ai_request_duration_seconds', help: 'Duration of an assistant request to a model provider, its retries included.',
      labelNames: ['provider', 'feature'], buckets: [0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120], registers,
    }),
    aiErrors: new client.Counter({
      name: 'allin_ai_errors_total', help: 'Calls to a model provider that failed, by reason (rate_limited, unavailable, auth, refused, malformed, timeout, blocked_host, too_large, network).',
      labelNames: ['provider', 'reason'], registers,
    }),
    livePublishFailures: new client.Counter({ name: 'allin_live_publish_failures_total', help: 'Live updates that could not be sent to the other processes (Redis unreachable); their listeners are told to read again once it is back.', registers }),
    inboxActions: new client.Counter({
      name: 'allin_inbox_actions_total', help: 'Runs of the sending job of an action on a message (like, unlike, hide, unhide, delete), by network, action and outcome (done, failed, unknown, retry, lost_lease, skipped).',
      labelNames: ['provider', 'action', 'outcome'], registers,
    }),
    inboxBacklog: new client.Gauge({
      name: 'allin_inbox_backlog', help: 'Inbox collections (account and source) due and not running, by network, read from the database at scrape time (use max).',
      labelNames: ['provider'], registers,
    }),
    inboxBacklogAge: new client.Gauge({
      name: 'allin_inbox_backlog_oldest_seconds', help: 'How long the most overdue inbox collection has waited, by network (0: none waiting), read at scrape time (use max).',
      labelNames: ['provider'], registers,
    }),
    onCollect(fn) {
      collectors.push(fn);
    },
    async render() {
      await Promise.allSettled(collectors.map((fn) => fn()));
      return registry.metrics();
    },
  };
  return m;
}
