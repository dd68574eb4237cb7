// `allin serve` started two ways: from the TypeScript sources through tsx (what `node bin/allin.js` does by
// default) and from the compiled JavaScript of `npm run build` (ALLIN_RUN=dist, what the container image
// runs). Per start: time from spawning the process until GET /health answers 200 (the process listens) and
// until GET /api/health answers 200 (ready: database, Redis and migrations checked), resident memory
// (VmRSS) once ready and again after 1,000 sequential GET /api/health. Interleaved rounds, medians; a
// first start of each kind is not counted (it fills the OS file cache and tsx's compile cache). Also the CPU
// time the process used until ready, which a busy machine disturbs far less than the wall-clock times. With
// --cold, tsx is also measured with its cache off, as on the first start after a change to the sources.
// `serve` needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL when set; otherwise a database of its own
// on TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), dropped at the end, and
// TEST_REDIS_URL (default redis://127.0.0.1:6379) under a key prefix of its own.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScratchDatabase } from '../src/infra/db/scratch-database.ts';
import { ALLIN_BIN, ROOT, median, fmt } from './lib.ts';

interface Sample { health: number; ready: number; cpuReady: number; rssReady: number; rssAfter: number }

const WAYS = {
  'tsx (sources)': { ALLIN_RUN: 'src' },
  'compiled (dist)': { ALLIN_RUN: 'dist' },
  'tsx, cache off': { ALLIN_RUN: 'src', TSX_DISABLE_CACHE: '1' },
} as const satisfies Record<string, Record<string, string>>;
type Way = keyof typeof WAYS;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().once('error', rej).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** CPU time (user + system, all threads) a process has used, in ms (Linux /proc; NaN elsewhere). Unlike
 *  the wall-clock times it hardly moves with the machine's other load. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (100 per second)
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in MiB (Linux /proc; `ps` elsewhere). */
function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch { /* not Linux */ }
  return Number(spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim()) / 1024;
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url);
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Polls every 2 ms from the moment of spawning; answers milliseconds since then. */
async function firstAnswer(url: string, t0: number, exited: () => string | undefined): Promise<number> {
  for (;;) {
    if (await answers(url)) return performance.now() - t0;
    const why = exited();
    if (why) throw new Error(why);
    if (performance.now() - t0 > 120_000) throw new Error(`${url} did not answer within 120 s`);
    await sleep(2);
  }
}

async function once(env: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [ALLIN_BIN, 'serve'], {
    cwd: ROOT, env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const exited = () => (child.exitCode !== null ? `allin serve exited ${child.exitCode}: ${stderr}` : undefined);
  try {
    const [health, ready] = await Promise.all([firstAnswer(`${base}/health`, t0, exited), firstAnswer(`${base}/api/health`, t0, exited)]);
    const cpuReady = cpuMs(child.pid!);
    const rssReady = rssMiB(child.pid!);
    for (let i = 0; i < 1000; i++) {
      if (!(await answers(`${base}/api/health`))) throw new Error(`GET /api/health failed after ${i} requests`);
    }
    return { health, ready, cpuReady, rssReady, rssAfter: rssMiB(child.pid!) };
  } finally {
    const gone = new Promise((res) => child.once('exit', res));
    if (child.exitCode === null) child.kill('SIGTERM');
    await gone;
  }
}

async function database(): Promise<{ url: string; drop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, drop: async () => {} };
  return createScratchDatabase(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'allin_bench_startup');
}

export async function benchStartup(args: string[]): Promise<number> {
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
  if (!args.includes('--no-build')) {
    console.log('startup bench: npm run build (dist/ from the current sources; --no-build skips it)');
    const b = spawnSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) return 1;
  }
  const db = await database();
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `allin-bench-startup-${randomBytes(3).toString('hex')}:`,
    NODE_ENV: 'production',
    AUTH_SECRET: randomBytes(48).toString('base64'),
    ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  };
  console.log(`startup bench: allin serve, ${rounds} rounds (after one uncounted start of each), Node ${process.version}`);
  const samples: Record<Way, Sample[]> = { 'tsx (sources)': [], 'compiled (dist)': [], 'tsx, cache off': [] };
  // tsx with its cache off (as on the first start after a change) only with --cold: it adds a third of the time.
  const ways = (Object.keys(WAYS) as Way[]).filter((w) => args.includes('--cold') || w !== 'tsx, cache off');
  try {
    for (const way of ways) await once({ ...env, ...WAYS[way] }); // warm-up, and the migrations applied once
    for (let round = 1; round <= rounds; round++) {
      // Each round in another order, so no way always follows the same one.
      const order = round % 2 ? ways : [...ways].reverse();
      for (const way of order) {
        const s = await once({ ...env, ...WAYS[way] });
        samples[way].push(s);
        console.log(`  round ${round}, ${way.padEnd(16)} /health ${fmt(s.health)} ms, /api/health ${fmt(s.ready)} ms (CPU ${fmt(s.cpuReady)} ms), RSS ${fmt(s.rssReady, 1)} → ${fmt(s.rssAfter, 1)} MiB`);
      }
    }
  } finally {
    await db.drop();
  }
  const m = (way: Way, k: keyof Sample) => median(samples[way].map((s) => s[k]));
  console.log(`\n  ${'allin serve'.padEnd(18)} ${'to /health'.padStart(11)} ${'to /api/health'.padStart(15)} ${'CPU to ready'.padStart(13)} ${'RSS ready'.padStart(10)} ${'RSS +1,000 req'.padStart(15)}   (medians of ${rounds})`);
  for (const way of ways) {
    console.log(`  ${way.padEnd(18)} ${`${fmt(m(way, 'health'))} ms`.padStart(11)} ${`${fmt(m(way, 'ready'))} ms`.padStart(15)} ${`${fmt(m(way, 'cpuReady'))} ms`.padStart(13)} ` +
      `${`${fmt(m(way, 'rssReady'), 1)} MiB`.padStart(10)} ${`${fmt(m(way, 'rssAfter'), 1)} MiB`.padStart(15)}`);
  }
  const src: Way = 'tsx (sources)';
  const dist: Way = 'compiled (dist)';
  console.log(`\n  compiled / tsx: start-up to ready ${fmt(m(dist, 'ready') / m(src, 'ready'), 2)}, its CPU ${fmt(m(dist, 'cpuReady') / m(src, 'cpuReady'), 2)}, RSS ready ${fmt(m(dist, 'rssReady') / m(src, 'rssReady'), 2)}, ` +
    `RSS after 1,000 requests ${fmt(m(dist, 'rssAfter') / m(src, 'rssAfter'), 2)}`);
  return 0;
}
