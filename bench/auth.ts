// Identity benchmarks, printed as figures and ratios from one run:
// - login throughput against raw argon2id verify throughput (goal ≥ 0.85);
// - refresh and GET /api/auth/me P99 at 50 concurrent clients (goal ≤ 10 ms).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, fmt, ALLIN_BIN, ROOT, HAVE_WRK, runWrk, processCpu, type LoadResult } from './lib.ts';

interface Run { count: number; errors: Map<number, number>; latencies: number[]; seconds: number }

function call(agent: Agent, url: URL, method: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * N closed-loop clients for `seconds`, each running `step` with its own state; with `thinkMs`, each
 * client waits a random time in that range between its requests (a person using the app).
 */
async function closedLoop<S>(clients: number, seconds: number, init: (i: number) => Promise<S>, step: (s: S) => Promise<number>, thinkMs?: [number, number]): Promise<Run> {
  const states = await Promise.all(Array.from({ length: clients }, (_, i) => init(i)));
  const latencies: number[] = [];
  const errors = new Map<number, number>();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const trace: [number, number][] = [];
  const pause = () => new Promise((r) => setTimeout(r, thinkMs![0] + Math.random() * (thinkMs![1] - thinkMs![0])));
  await Promise.all(states.map(async (s) => {
    if (thinkMs) await pause(); // users arrive spread out, not all in the same millisecond
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await step(s);
      latencies.push(performance.now() - t0);
      if (process.env.BENCH_TRACE) trace.push([t0 - start, performance.now() - t0]);
      if (status !== 200) errors.set(status, (errors.get(status) ?? 0) + 1);
      if (thinkMs) await pause();
    }
  }));
  if (process.env.BENCH_TRACE) console.log(trace.sort((a, b) => b[1] - a[1]).slice(0, 20).map(([t, l]) => `${(t / 1000).toFixed(2)}s:${l.toFixed(1)}`).join(' '));
  return { count: latencies.length, errors, latencies, seconds };
}

function readRuntimePid(): number | null {
  try {
    const home = resolve(ROOT, process.env.ALLIN_HOME ?? '.allin');
    return (JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as { serverPid?: number }).serverPid ?? null;
  } catch {
    return null;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

function describe(name: string, r: Run): string {
  const errs = [...r.errors].map(([c, n]) => `${n}×${c}`).join(' ');
  return `  ${name.padEnd(26)} ${fmt(r.count / r.seconds).padStart(8)} req/s   p50 ${fmt(pct(r.latencies, 50), 2).padStart(6)} ms   p99 ${fmt(pct(r.latencies, 99), 2).padStart(6)} ms${errs ? `   non-200: ${errs}` : ''}`;
}

export async function benchAuth(args: string[]): Promise<void> {
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 10);
  // --only=login,refresh runs a subset (while working on one figure); the default runs all three.
  const only = new Set((args.find((a) => a.startsWith('--only='))?.split('=')[1] ?? 'login,me,refresh,me-users,refresh-users').split(','));
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = `Bench-${randomBytes(9).toString('base64url')}-lantern`;
  console.log(`auth bench: ${seconds} s per measurement; user ${email} (created for this run)`);

  const created = await new Promise<string>((res, rej) => execFile(process.execPath, [ALLIN_BIN, 'users', 'create', '--email', email, '--password', password, '--json'],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' } }, (err, out, errOut) => (err ? rej(new Error(errOut || err.message)) : res(out))));
  if (!created.includes('"id"')) throw new Error(`could not create the bench user: ${created}`);

  const rawVerify = () => new Promise<{ verifiesPerSecond: number; concurrency: number; cpuMsPerVerify: number }>((res, rej) =>
    execFile(process.execPath, [`${ROOT}bench/servers/argon2-verify.js`, String(seconds)], { cwd: ROOT }, (err, out) => (err ? rej(err) : res(JSON.parse(out)))));

  // Limits stay at their defaults: only failed logins count, and this benchmark never fails one.
  // --url= measures a server that is already running (on the same database, for the bench user).
  const url = args.find((a) => a.startsWith('--url='))?.slice('--url='.length);
  const server = url ? { url, child: undefined, stop: async () => undefined }
    : await startServer([ALLIN_BIN, 'start'], { PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', LIMIT_API_USER: '100000000/60', LIMIT_API_IP: '100000000/60' });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const lines: string[] = [];
  const verdicts: string[] = [];
  try {
    const base = new URL(server.url);
    const at = (p: string) => new URL(p, base);
    const login = () => call(agent, at('/api/auth/login'), 'POST', { email, password });
    for (let i = 0; i < 10; i++) await login(); // warm-up

    if (only.has('login')) {
      // The baseline is measured twice, before and after, so that a change in the machine's speed
      // during the run shows as a spread instead of skewing the ratio.
      const before = await rawVerify();
      const pid = server.child?.pid;
      // The embedded PostgreSQL runs detached; its postmaster's pid is in ALLIN_HOME/runtime.json.
      const pg = process.env.DATABASE_URL ? [] : [readRuntimePid()].filter((p): p is number => p !== null);
      const cpu0 = pid ? processCpu(pid, pg) : null;
      const clients = before.concurrency * 4;
      // wrk when installed: the load generator's own CPU comes out of the same two cores as the hashing.
      let logins: { count: number; ok: number; p50: number; p99: number; line: string };
      if (HAVE_WRK) {
        const dir = mkdtempSync(join(tmpdir(), 'allin-bench-'));
        writeFileSync(join(dir, 'login.json'), JSON.stringify({ email, password }), { mode: 0o600 });
        const r = await runWrk(at('/').toString(), { connections: clients, seconds, extra: ['-s', `${ROOT}bench/wrk/login.lua`], scriptArgs: [join(dir, 'login.json')] });
        rmSync(dir, { recursive: true, force: true });
        logins = { count: r.rps * seconds, ok: r.rps - r.non2xx / seconds, p50: r.p50, p99: r.p99, line: '' };
        logins.line = `  ${`POST /api/auth/login (wrk, ${clients})`.padEnd(26)} ${fmt(r.rps).padStart(8)} req/s   p50 ${fmt(r.p50, 2).padStart(6)} ms   p99 ${fmt(r.p99, 2).padStart(6)} ms${r.non2xx || r.errors ? `   non-2xx ${r.non2xx}, errors ${r.errors}` : ''}`;
      } else {
        const run = await closedLoop(clients, seconds, async () => null, async () => (await login()).status);
        const failed = [...run.errors.values()].reduce((a, b) => a + b, 0);
        logins = { count: run.count, ok: (run.count - failed) / seconds, p50: pct(run.latencies, 50), p99: pct(run.latencies, 99), line: describe(`POST /api/auth/login (${clients} clients)`, run) };
      }
      const cpu1 = pid ? processCpu(pid, pg) : null;
      const after = await rawVerify();
      const raw = (before.verifiesPerSecond + after.verifiesPerSecond) / 2;
      const ok = logins.ok;
      lines.push(`  ${'raw argon2id verify'.padEnd(26)} ${fmt(raw).padStart(8)} /s      (${before.concurrency} at a time; ${fmt(before.verifiesPerSecond)} before, ${fmt(after.verifiesPerSecond)} after)`);
      lines.push(logins.line);
      verdicts.push(`  login / raw argon2id:  ${fmt(ok / raw, 2)}   (successful logins; goal ≥ 0.85)`);
      if (cpu0 && cpu1) {
        // Where a login's CPU goes, against what one raw verification costs: the ratio above is bounded
        // by raw / (hashing + event loop + PostgreSQL) per login, since all of it shares the same cores.
        const per = (k: 'main' | 'threads' | 'children') => (cpu1[k] - cpu0[k]) / logins.count;
        const rawCpu = (before.cpuMsPerVerify + after.cpuMsPerVerify) / 2;
        const total = per('main') + per('threads') + per('children');
        lines.push(`  CPU per login: ${fmt(total, 2)} ms = hashing and other threads ${fmt(per('threads'), 2)} + event loop ${fmt(per('main'), 2)} + PostgreSQL ${fmt(per('children'), 2)}; one raw verify: ${fmt(rawCpu, 2)} ms`);
        verdicts.push(`  CPU bound on the ratio: raw verify / CPU per login = ${fmt(rawCpu / total, 2)}`);
      }
    }

    const session = async () => JSON.parse((await login()).body) as { accessToken: string; refreshToken: string };
    if (HAVE_WRK) {
      // wrk: a C load generator, so the client's own CPU does not inflate the server's latency.
      const line = (name: string, r: LoadResult) =>
        `  ${name.padEnd(26)} ${fmt(r.rps).padStart(8)} req/s   p50 ${fmt(r.p50, 2).padStart(6)} ms   p99 ${fmt(r.p99, 2).padStart(6)} ms${r.non2xx || r.errors ? `   non-2xx ${r.non2xx}, errors ${r.errors}` : ''}`;
      if (only.has('me')) {
        const { accessToken } = await session();
        const me = await runWrk(at('/api/auth/me').toString(), { connections: 50, seconds, extra: ['-H', `Authorization: Bearer ${accessToken}`] });
        lines.push(line('GET /api/auth/me (wrk, 50)', me));
        verdicts.push(`  /me p99:               ${fmt(me.p99, 2)} ms   (goal ≤ 10 ms)`);
      }
      if (only.has('refresh')) {
        const dir = mkdtempSync(join(tmpdir(), 'allin-bench-'));
        const tokens = [];
        for (let i = 0; i < 200; i++) tokens.push((await session()).refreshToken);
        writeFileSync(join(dir, 'tokens'), tokens.join('\n'));
        const refresh = await runWrk(at('/').toString(), { connections: 50, seconds, extra: ['-s', `${ROOT}bench/wrk/refresh.lua`], scriptArgs: [join(dir, 'tokens')] });
        lines.push(line('POST /api/auth/refresh (wrk, 50)', refresh));
        verdicts.push(`  refresh p99:           ${fmt(refresh.p99, 2)} ms   (goal ≤ 10 ms)`);
      }
    } else {
      if (only.has('me')) {
        const me = await closedLoop(50, seconds, session, async (s) =>
          (await call(agent, at('/api/auth/me'), 'GET', undefined, { authorization: `Bearer ${s.accessToken}` })).status);
        lines.push(describe('GET /api/auth/me (50)', me));
        verdicts.push(`  /me p99:               ${fmt(pct(me.latencies, 99), 2)} ms   (goal ≤ 10 ms)`);
      }
      if (only.has('refresh')) {
        const refresh = await closedLoop(50, seconds, session, async (s) => {
          const r = await call(agent, at('/api/auth/refresh'), 'POST', { refreshToken: s.refreshToken });
          if (r.status === 200) s.refreshToken = (JSON.parse(r.body) as { refreshToken: string }).refreshToken;
          return r.status;
        });
        lines.push(describe('POST /api/auth/refresh (50)', refresh));
        verdicts.push(`  refresh p99:           ${fmt(pct(refresh.latencies, 99), 2)} ms   (goal ≤ 10 ms)`);
      }
    }
    {
      // "50 concurrent users" as the previous AllIN backend's scaled load test modelled them (the
      // `scaled` scenario of `allin loadtest`): each waits 100-1000 ms between requests, as people do. Here
      // latency is the time to serve a request, not the time spent queueing behind 49 others.
      const think: [number, number] = [100, 1000];
      if (only.has('me-users')) {
        const me = await closedLoop(50, seconds, session, async (s) =>
          (await call(agent, at('/api/auth/me'), 'GET', undefined, { authorization: `Bearer ${s.accessToken}` })).status, think);
        lines.push(describe('GET /api/auth/me (50 users)', me));
        verdicts.push(`  /me p99, 50 users:     ${fmt(pct(me.latencies, 99), 2)} ms   (goal ≤ 10 ms)`);
      }
      if (only.has('refresh-users')) {
        const refresh = await closedLoop(50, seconds, session, async (s) => {
          const r = await call(agent, at('/api/auth/refresh'), 'POST', { refreshToken: s.refreshToken });
          if (r.status === 200) s.refreshToken = (JSON.parse(r.body) as { refreshToken: string }).refreshToken;
          return r.status;
        }, think);
        lines.push(describe('POST /api/auth/refresh (50 users)', refresh));
        verdicts.push(`  refresh p99, 50 users: ${fmt(pct(refresh.latencies, 99), 2)} ms   (goal ≤ 10 ms)`);
      }
    }
    console.log('\n  measurement                   throughput        latency');
    for (const l of lines) console.log(l);
    console.log('');
    for (const v of verdicts) console.log(v);
  } finally {
    agent.destroy();
    await server.stop();
  }
}
