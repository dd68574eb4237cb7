// The pg pool every module shares. Queries are timed by an instrumented client class, so every query
// (Drizzle's, graphile-worker's, raw SQL) moves allin_db_query_duration_seconds and allin_db_queries_total,
// labelled with its operation and main table, parsed once per distinct SQL text.
import pg from 'pg';
import type { Metrics } from '../metrics.ts';
import type { Series } from '../hot-histogram.ts';
import type { Logger } from '../logger.ts';

const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback', 'savepoint',
  'release', 'create', 'alter', 'drop', 'truncate', 'listen', 'unlisten', 'notify', 'set', 'show', 'lock', 'copy', 'do',
  'call', 'explain', 'analyze', 'vacuum', 'grant', 'revoke', 'comment', 'reset', 'deallocate', 'prepare', 'execute']);

const parsed = new Map<string, { operation: string; table: string }>();

const MAX_PARSED = 2000;

/** Operation and main table of a SQL statement, for metric labels (bounded: unknown shapes become "other"). */
export function describeSql(text: string): { operation: string; table: string } {
  const hit = parsed.get(text);
  if (hit) return hit;
  const head = text.replace(/--[^\n]*\n/g, ' ').trimStart();
  const first = /^[a-z]+/i.exec(head)?.[0]?.toLowerCase() ?? 'other';
  const operation = OPERATIONS.has(first) ? first : 'other';
  let table = 'none';
  const re = operation === 'insert' ? /\binto\s+((?:"?[\w$]+"?\.)?"?[\w$]+"?)/i
    : operation === 'update' ? /^update\s+(?:only\s+)?((?:"?[\w$]+"?\.)?"?[\w$]+"?)/i
      : operation === 'delete' ? /\bfrom\s+((?:"?[\w$]+"?\.)?"?[\w$]+"?)/i
        : operation === 'select' || operation === 'with' ? /\bfrom\s+((?:"?[\w$]+"?\.)?"?[\w$]+"?)/i
          : null;
  const m = re?.exec(head);
  if (m?.[1]) table = m[1].replaceAll('"', '').toLowerCase().slice(0, 64);
  const result = { operation, table };
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(text, result);
  return result;
}

type QueryFn = (...args: unknown[]) => unknown;

export interface PoolOptions {
  connectionString: string;
  max: number;
  metrics: Metrics;
  log: Logger;
  applicationName: string;
  /** Hears every statement sent (text and parameters) before it runs: the query-plan test reads them. */
  onQuery?: (text: string, values: unknown[] | undefined) => void;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const { metrics, onQuery } = opts;
  const series = new Map<string, Series>();
  const observe = (text: string, started: bigint, ok: boolean) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const key = ok ? text : `\u0000${text}`;
    let s = series.get(key);
    if (!s) {
      const { operation, table } = describeSql(text);
      s = metrics.dbDuration.series({ operation, table, status: ok ? 'ok' : 'error' });
      if (series.size >= 2000) series.clear();
      series.set(key, s);
    }
    s.observe(seconds);
  };

  class InstrumentedClient extends pg.Client {
    override query(...args: unknown[]): never {
      const original = pg.Client.prototype.query as unknown as QueryFn;
      const first = args[0] as string | { text?: string; submit?: unknown } | undefined;
      // Cursors and other submittables stream on their own schedule: pass them through untimed.
      if (first && typeof first === 'object' && typeof first.submit === 'function') return original.apply(this, args) as never;
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      if (onQuery) onQuery(text, (typeof first === 'object' ? (first as { values?: unknown[] }).values : undefined) ?? (Array.isArray(args[1]) ? args[1] as unknown[] : undefined));
      const started = process.hrtime.bigint();
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (err: unknown, res: unknown) => {
          observe(text, started, !err);
          (last as (e: unknown, r: unknown) => void)(err, res);
        };
        return original.apply(this, args) as never;
      }
      const result = original.apply(this, args) as Promise<unknown>;
      result.then(() => observe(text, started, true), () => observe(text, started, false));
      return result as never;
    }
  }

  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max,
    Client: InstrumentedClient as unknown as typeof pg.Client,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  const warn = (err: Error) => {
    if (!pool.ending) opts.log.warn({ err: err.message }, 'database connection failed');
  };
  pool.on('error', warn);
  // A checked-out client can also lose its connection between queries (graphile-worker's LISTEN client).
  pool.on('connect', (c) => c.on('error', warn));
  metrics.onCollect(() => {
    metrics.dbPool.labels('total').set(pool.totalCount);
    metrics.dbPool.labels('idle').set(pool.idleCount);
    metrics.dbPool.labels('waiting').set(pool.waitingCount);
    metrics.dbPool.labels('max').set(opts.max);
  });
  return pool;
}
