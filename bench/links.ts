// `npm run bench -- links`: the server time of `GET /l/{code}`, the short-link redirect. AllIN runs in this
// process (`allin serve`'s runtime) on a database of its own (TEST_POSTGRES_URL's server, default
// 127.0.0.1:5432; Redis: TEST_REDIS_URL) holding --links links (default 200,000) in another workspace
// beside the ones asked for. Requests go through Fastify's inject (routing, hooks, handler, reply; no
// socket), each timed alone, for:
//   - GET /health, the same pipeline with nothing to do: the floor;
//   - a code followed for the first time in this process (the cache misses: one lookup by unique index);
//   - a code followed again (the cache answers);
//   - a code that is no link (404 page; the lookup, then the cache);
// then the flush of the counters those clicks made (one upsert). P50/P95/P99 in milliseconds.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { createScratchDatabase } from '../src/infra/db/scratch-database.ts';
import { readConfig } from '../src/config.ts';
import { createLogger } from '../src/infra/logger.ts';
import { startRuntime } from '../src/runtime.ts';
import { ClickCounter } from '../src/modules/links/index.ts';
import { fmt } from './lib.ts';

function options(args: string[]) {
  const get = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return { links: Number(get('links') ?? 200_000), requests: Number(get('requests') ?? 5_000) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function timed(app: FastifyInstance, paths: string[], expect: number): Promise<number[]> {
  const ms: number[] = [];
  for (const url of paths) {
    const start = process.hrtime.bigint();
    const r = await app.inject({ method: 'GET', url, headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0' } });
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (r.statusCode !== expect) throw new Error(`${url}: ${r.statusCode}, expected ${expect}`);
  }
  return ms.sort((a, b) => a - b);
}

export async function benchLinks(args: string[]): Promise<void> {
  const o = options(args);
  const scratch = await createScratchDatabase(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'allin_bench_links');
  const config = readConfig({
    NODE_ENV: 'test', DATABASE_URL: scratch.url, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `allin-bench-links-${randomBytes(4).toString('hex')}:`, AUTH_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`, LOG_LEVEL: 'silent', PORT: '0', SHED_EVENT_LOOP_DELAY_MS: '0', SANDBOX: 'off',
  });
  const running = await startRuntime('serve', config, createLogger({ level: 'silent', format: 'json' }));
  try {
    const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    const n = o.requests;
    await pool.query(`
      insert into workspaces (id, name) values ('00000000-0000-4000-8000-000000000001', 'Bench');
      insert into links (id, workspace_id, network, code, url, url_hash, destination)
        select gen_random_uuid(), '00000000-0000-4000-8000-000000000001', 'x', 'b' || lpad(i::text, 7, '0'), 'https://shop.example.com/' || i,
               sha256(convert_to('bench-' || i, 'UTF8')), 'https://shop.example.com/' || i || '?utm_source=x&utm_medium=social'
          from generate_series(1, ${Math.max(o.links, n)}) i;
      analyze links;`);
    await pool.end();
    const app = running.app!;
    const codes = Array.from({ length: n }, (_, i) => `/l/b${String(1 + Math.floor((i * o.links) / n)).padStart(7, '0')}`);
    await timed(app, Array.from({ length: 500 }, () => '/health'), 200); // warm-up: JIT, pool connections
    const rows: [string, number[]][] = [
      ['GET /health (floor)', await timed(app, Array.from({ length: n }, () => '/health'), 200)],
      ['redirect, first follow (cache miss)', await timed(app, codes, 302)],
      ['redirect, followed again (cache hit)', await timed(app, codes, 302)],
      ['unknown code (404 page)', await timed(app, codes.map((_, i) => `/l/Z${String(i).padStart(7, '0')}`), 404)],
    ];
    // The flush on its own: a counter that holds one click on each of n links (its timer far away), written at once.
    const ids = (await running.services.db.execute<{ id: string }>(sql`select id from links order by code limit ${n}`)).rows.map((r) => r.id);
    const counter = new ClickCounter({ db: running.services.db, log: createLogger({ level: 'silent', format: 'json' }), flushMs: 3_600_000 });
    for (const id of ids) counter.count(id, false);
    const flushStart = process.hrtime.bigint();
    await counter.flush();
    const flushMs = Number(process.hrtime.bigint() - flushStart) / 1e6;
    console.log(`\nGET /l/{code} server time, ${fmt(n)} requests each, ${fmt(Math.max(o.links, n))} links in the table (ms)\n`);
    console.log(`${'case'.padEnd(40)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)}`);
    for (const [name, ms] of rows) console.log(`${name.padEnd(40)} ${fmt(pct(ms, 50), 3).padStart(7)} ${fmt(pct(ms, 95), 3).padStart(7)} ${fmt(pct(ms, 99), 3).padStart(7)}`);
    console.log(`\nflush of ${fmt(n)} counters (one click on each of ${fmt(n)} links): ${fmt(flushMs, 1)} ms, one upsert, off the request path`);
    console.log(`machine load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await running.stop();
    await scratch.drop();
  }
}
