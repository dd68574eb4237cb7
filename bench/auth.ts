// Identity benchmarks (issue 3), printed as figures and ratios from one run:
// - login throughput against raw argon2id verify throughput (goal ≥ 0.85);
// - refresh and GET /api/auth/me P99 at 50 concurrent clients (goal ≤ 10 ms).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, fmt, ALLIN_BIN, ROOT, HAVE_WRK, runWrk, type LoadResult } from './lib.ts';

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

/** N closed-loop clients for `seconds`, each running `step` with its own state. */
async function closedLoop<S>(clients: number, seconds: number, init: (i: number) => Promise<S>, step: (s: S) => Promise<number>): Promise<Run> {
  const states = await Promise.all(Array.from({ length: clients }, (_, i) => init(i)));
  const latencies: number[] = [];
  const errors = new Map<number, number>();
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(states.map(async (s) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await step(s);
      latencies.push(performance.now() - t0);
      if (status !== 200) errors.set(status, (errors.get(status) ?? 0) + 1);
    }
  }));
  return { count: latencies.length, errors, latencies, seconds };
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
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = `Bench-${randomBytes(9).toString('base64url')}-lantern`;
  console.log(`auth bench: ${seconds} s per measurement; user ${email} (created for this run)`);

  const created = await new Promise<string>((res, rej) => execFile(process.execPath, [ALLIN_BIN, 'users', 'create', '--email', email, '--password', password, '--json'],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' } }, (err, out, errOut) => (err ? rej(new Error(errOut || err.message)) : res(out))));
  if (!created.includes('"id"')) throw new Error(`could not create the bench user: ${created}`);

  const raw = await new Promise<{ verifiesPerSecond: number; concurrency: number }>((res, rej) =>
    execFile(process.execPath, [`${ROOT}bench/servers/argon2-verify.js`, String(seconds)], { cwd: ROOT }, (err, out) => (err ? rej(err) : res(JSON.parse(out)))));

  // Limits stay at their defaults: only failed logins count, and this benchmark never fails one.
  const server = await startServer([ALLIN_BIN, 'start'], { PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', LIMIT_API_USER: '100000000/60', LIMIT_API_IP: '100000000/60' });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const base = new URL(server.url);
    const at = (p: string) => new URL(p, base);
    const login = () => call(agent, at('/api/auth/login'), 'POST', { email, password });
    for (let i = 0; i < 10; i++) await login(); // warm-up

    const logins = await closedLoop(raw.concurrency * 4, seconds, async () => null, async () => (await login()).status);

    const session = async () => JSON.parse((await login()).body) as { accessToken: string; refreshToken: string };
    let meP99: number;
    let refreshP99: number;
    let meLine: string;
    let refreshLine: string;
    if (HAVE_WRK) {
      // wrk: a C load generator, so the client's own CPU does not inflate the server's latency.
      const { accessToken } = await session();
      const me = await runWrk(at('/api/auth/me').toString(), { connections: 50, seconds, extra: ['-H', `Authorization: Bearer ${accessToken}`] });
      const dir = mkdtempSync(join(tmpdir(), 'allin-bench-'));
      const tokens = [];
      for (let i = 0; i < 200; i++) tokens.push((await session()).refreshToken);
      writeFileSync(join(dir, 'tokens'), tokens.join('\n'));
      const refresh = await runWrk(at('/').toString(), { connections: 50, seconds, extra: ['-s', `${ROOT}bench/wrk/refresh.lua`], scriptArgs: [join(dir, 'tokens')] });
      const line = (name: string, r: LoadResult) =>
        `  ${name.padEnd(26)} ${fmt(r.rps).padStart(8)} req/s   p50 ${fmt(r.p50, 2).padStart(6)} ms   p99 ${fmt(r.p99, 2).padStart(6)} ms${r.non2xx || r.errors ? `   non-2xx ${r.non2xx}, errors ${r.errors}` : ''}`;
      meLine = line('GET /api/auth/me (wrk, 50)', me);
      refreshLine = line('POST /api/auth/refresh (wrk, 50)', refresh);
      meP99 = me.p99;
      refreshP99 = refresh.p99;
    } else {
      const me = await closedLoop(50, seconds, session, async (s) =>
        (await call(agent, at('/api/auth/me'), 'GET', undefined, { authorization: `Bearer ${s.accessToken}` })).status);
      const refresh = await closedLoop(50, seconds, session, async (s) => {
        const r = await call(agent, at('/api/auth/refresh'), 'POST', { refreshToken: s.refreshToken });
        if (r.status === 200) s.refreshToken = (JSON.parse(r.body) as { refreshToken: string }).refreshToken;
        return r.status;
      });
      meLine = describe('GET /api/auth/me (50)', me);
      refreshLine = describe('POST /api/auth/refresh (50)', refresh);
      meP99 = pct(me.latencies, 99);
      refreshP99 = pct(refresh.latencies, 99);
    }

    const loginRate = logins.count / seconds;
    console.log('\n  measurement                   throughput        latency');
    console.log(`  ${'raw argon2id verify'.padEnd(26)} ${fmt(raw.verifiesPerSecond).padStart(8)} /s      (${raw.concurrency} at a time)`);
    console.log(describe(`POST /api/auth/login (${raw.concurrency * 4} clients)`, logins));
    console.log(meLine);
    console.log(refreshLine);
    console.log(`\n  login / raw argon2id:  ${fmt(loginRate / raw.verifiesPerSecond, 2)}   (goal ≥ 0.85)`);
    console.log(`  /me p99:               ${fmt(meP99, 2)} ms   (goal ≤ 10 ms)`);
    console.log(`  refresh p99:           ${fmt(refreshP99, 2)} ms   (goal ≤ 10 ms)`);
  } finally {
    agent.destroy();
    await server.stop();
  }
}
