// Publishing benchmarks, printed as figures, not pass/fail:
// - burst: 10,000 targets due in the same minute, the network answering in 20 ms: time from the due
//   instant until all are published (goal ≤ 60 s), duplicates (goal 0) and lost targets (goal 0);
// - steady: 1,000 targets a minute spread evenly: lateness (published − scheduled) P50, P99 and max
//   (goal: P99 ≤ 2 s).
// AllIN runs as `allin start` (API and worker) plus one `allin worker`, on DATABASE_URL/REDIS_URL when
// set (else the embedded database); the Sandbox network is a simulator in this process, so it counts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator } from '../tools/provider-sim/server.ts';
import { startServer, fmt, ALLIN_BIN, ROOT, type ServerProcess } from './lib.ts';

const arg = (args: string[], name: string, dflt: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

export async function benchPublish(args: string[]): Promise<void> {
  const burst = arg(args, 'targets', 10_000);
  const perMinute = arg(args, 'per-minute', 1_000);
  const accountsCount = 20;
  const sim = await startSimulator();
  await fetch(`${sim.url}/_sim/sandbox/knobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 20 }) });
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = `Bench-${randomBytes(9).toString('base64url')}-lantern`;
  const env = {
    LOG_FORMAT: 'json', LOG_LEVEL: 'warn', SIMULATOR_URL: sim.url, SANDBOX: 'on', LIMIT_API_USER: '100000000/60', LIMIT_API_IP: '100000000/60',
    WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '32', PUBLISH_CONCURRENCY_PER_NETWORK: process.env.PUBLISH_CONCURRENCY_PER_NETWORK ?? '32',
  };
  console.log(`publish bench: Sandbox network with 20 ms latency, ${accountsCount} accounts, WORKER_CONCURRENCY=${env.WORKER_CONCURRENCY}, PUBLISH_CONCURRENCY_PER_NETWORK=${env.PUBLISH_CONCURRENCY_PER_NETWORK}, processes: allin start + allin worker`);
  await new Promise<string>((res, rej) => execFile(process.execPath, [ALLIN_BIN, 'users', 'create', '--email', email, '--password', password, '--json'],
    { cwd: ROOT, env: { ...process.env, ...env } }, (err, out, errOut) => (err ? rej(new Error(errOut || err.message)) : res(out))));
  const servers: ServerProcess[] = [];
  try {
    const api = await startServer([ALLIN_BIN, 'start'], { ...env, PORT: '0', LOG_LEVEL: 'info' });
    servers.push(api);
    // The worker serves /health on a port of its own, which is how startServer sees it is ready.
    // --profile=DIR: the worker writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    const profile = args.find((a) => a.startsWith('--profile='))?.split('=')[1];
    servers.push(await startServer([...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), ALLIN_BIN, 'worker'], { ...env, WORKER_PORT: String(20_000 + Math.floor(Math.random() * 20_000)), LOG_LEVEL: 'info' }));
    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(`${api.url}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await r.text();
      return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
    };
    const token = (await call('POST', '/api/auth/login', undefined, { email, password })).body.accessToken as string;
    const ws = (await call('POST', '/api/workspaces', token, { name: 'Bench' })).body.id as string;
    const accounts: string[] = [];
    for (let i = 0; i < accountsCount; i++) {
      const start = await call('POST', `/api/workspaces/${ws}/accounts/connect`, token, { provider: 'sandbox' });
      const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
      const consent = await fetch(`${start.body.authorizationUrl}&login_hint=bench-${i}`, { redirect: 'manual' });
      const back = new URL(consent.headers.get('location')!);
      const done = await fetch(`${api.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
      accounts.push(new URL(done.headers.get('location')!).searchParams.get('accounts')!.split(',')[0]!);
    }
    /** Creates posts (one target per account) at the given instants, 16 requests at a time. */
    const create = async (tag: string, times: Date[]) => {
      const bodies = times.map((at, i) => ({ text: `${tag} ${i}`, targets: [{ accountId: accounts[i % accounts.length]! }], schedule: { at: at.toISOString() } }));
      for (let i = 0; i < bodies.length; i += 16) {
        const rs = await Promise.all(bodies.slice(i, i + 16).map((b) => call('POST', `/api/workspaces/${ws}/posts`, token, b)));
        for (const r of rs) if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const onNetwork = (tag: string) => sim.state('sandbox').posts.filter((p) => p.text.startsWith(`${tag} `));

    // Burst: every target due at one instant, far enough ahead for all of them to be created first.
    const createStart = Date.now();
    const due = new Date(Date.now() + Math.max(30_000, burst * 8));
    await create('burst', Array.from({ length: burst }, () => due));
    console.log(`  created ${fmt(burst)} targets in ${fmt((Date.now() - createStart) / 1000, 1)} s, all due at ${due.toISOString()}`);
    await sleep(Math.max(0, due.getTime() - Date.now()));
    let last = 0;
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const n = new Set(onNetwork('burst').map((p) => p.key)).size;
      if (n >= burst) break;
      if (n !== last) last = n;
      await sleep(100);
    }
    const allOut = (Date.now() - due.getTime()) / 1000;
    await sleep(2000); // anything late (a duplicate) would show now
    const posts = onNetwork('burst');
    const keys = new Map<string, number>();
    for (const p of posts) keys.set(p.key ?? '', (keys.get(p.key ?? '') ?? 0) + 1);
    const duplicates = [...keys.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const lost = burst - keys.size;
    console.log(`  burst:  ${fmt(burst)} targets due at once → all published ${fmt(allOut, 1)} s after the due time (goal ≤ 60 s), ${fmt(burst / allOut)} per second; duplicates ${duplicates} (goal 0), lost ${lost} (goal 0)`);

    // Steady: perMinute targets spread evenly over a minute, starting shortly after they are created.
    const gap = 60_000 / perMinute;
    const first = Date.now() + Math.max(15_000, perMinute * 8);
    await create('steady', Array.from({ length: perMinute }, (_, i) => new Date(first + i * gap)));
    await sleep(Math.max(0, first + 60_000 - Date.now()));
    const steadyDeadline = Date.now() + 120_000;
    while (Date.now() < steadyDeadline && new Set(onNetwork('steady').map((p) => p.key)).size < perMinute) await sleep(200);
    const lateness: number[] = [];
    // Everything the network holds is also recorded as published a moment later: wait for that.
    await sleep(2000);
    let cursor: string | null = null;
    for (;;) {
      const page = await call('GET', `/api/workspaces/${ws}/posts?limit=200${cursor ? `&cursor=${cursor}` : ''}`, token);
      const list = page.body.posts as { text: string; createdAt: string; targets: { publishAt: string; publishedAt: string | null }[] }[];
      for (const p of list) {
        if (!p.text.startsWith('steady ')) continue;
        const t = p.targets[0]!;
        if (t.publishedAt) lateness.push((Date.parse(t.publishedAt) - Date.parse(t.publishAt)) / 1000);
      }
      cursor = page.body.next as string | null;
      if (!cursor) break;
    }
    console.log(`  steady: ${fmt(perMinute)} targets over a minute → lateness p50 ${fmt(pct(lateness, 50), 3)} s, p99 ${fmt(pct(lateness, 99), 3)} s (goal ≤ 2 s), max ${fmt(Math.max(...lateness), 3)} s; published ${lateness.length}/${perMinute}`);
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await sim.stop();
  }
}
