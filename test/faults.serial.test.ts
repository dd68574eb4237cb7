// Faults under a steady load, with real `allin serve` and `allin worker` processes: a journey of requests
// (sign in, read, write a post that publishes now, refresh, sign out) runs at a fixed rate while
// (a) PostgreSQL is stopped for 10 s and started again: a private cluster of this test (initdb/pg_ctl from
//     the machine's PostgreSQL binaries, on a free port), never the machine's shared server;
// (b) one of three `serve` processes is killed with SIGKILL while a request is in flight on it.
// Afterwards: every request was answered 2xx or a deliberate 503/429 with Retry-After within its client
// deadline (a GET whose connection died is retried on the next process, as a load balancer does; a POST
// whose answer was lost is counted and must then exist once or not at all); every post accepted (201) is
// published exactly once, counted on the network simulator's side; /api/health named the failing
// dependency while it was down; and the matching alert fires in a `promtool test rules` unit test whose
// input series are the /metrics the processes exported during the run, scraped every second. Promtool's
// series have a fixed interval: each scrape round is placed 15 s after the one before (Prometheus' usual
// scrape interval), so the shipped rules, unchanged, see the outage 15 times as long as it lasted.
// Everything is bounded by deadlines and counts; nothing asserts on how long anything took (the `#` lines
// print how far each test got and when, for the run's log). Fixes this file found: the worker no longer
// shuts down when PostgreSQL stops under a running publish (src/main.ts), and a publish run that could not
// record its outcome is taken back by its own process once the database returns, not after its lease.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { Target, jsonOf, type Req, type Res } from '../src/loadtest/http.ts';
import { provisionUsers } from '../src/loadtest/users.ts';
import { markerOf } from '../src/modules/publishing/service.ts';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { spawnAllin, isReady, type AllinProcess } from './support/process.ts';
import { connectSandbox, eventually, simKnobs, type ApiBase } from './support/social.ts';
import { apiCaller, type Json } from './support/http.ts';
import { RULE_FILES } from './support/promql.ts';

/** Seconds between two scrape rounds in the promtool series (see the header). */
const PROMTOOL_INTERVAL_S = 15;
/** Every request's client deadline: headers and body within this, or it counts as a hang. */
const CLIENT_DEADLINE_MS = 20_000;

let sim: Simulator;
const procs = new Set<AllinProcess>();
const cleanups: (() => Promise<void>)[] = [];

const freePort = () => new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => res(p));
  });
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else res(`${stdout}${stderr}`);
    });
  });
}

before(async () => {
  sim = await startSimulator();
  // Any resend without a reconciliation would show as a second post with the same marker.
  await simKnobs(sim.url, 'sandbox', { ignoreIdempotencyKey: true });
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all([...procs].map((p) => p.exited));
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await sim?.stop();
});

// ------------------------------------------------------------------------------ a private PostgreSQL

/** A PostgreSQL cluster of this test only, in a temp folder, run as the postgres user when we are root. */
class PrivateCluster {
  readonly bin: string;
  readonly dir: string;
  readonly data: string;
  constructor(readonly port: number) {
    const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
    assert.ok(version, 'no PostgreSQL binaries under /usr/lib/postgresql (Debian\'s postgresql package)');
    this.bin = `/usr/lib/postgresql/${version}/bin`;
    this.dir = mkdtempSync(join(tmpdir(), 'allin-faults-pg-'));
    chmodSync(this.dir, 0o755);
    this.data = join(this.dir, 'data');
  }

  private pgctl(args: string[]): Promise<string> {
    const cmd = join(this.bin, args[0]!);
    return userInfo().uid === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args.slice(1)]) : run(cmd, args.slice(1));
  }

  async init(): Promise<void> {
    mkdirSync(this.data, { mode: 0o700 });
    if (userInfo().uid === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).trim());
      chownSync(this.data, uid, gid);
      chownSync(this.dir, uid, gid);
    }
    await this.pgctl(['initdb', '-D', this.data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  }

  start(): Promise<string> {
    return this.pgctl(['pg_ctl', '-D', this.data, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start',
      '-o', `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=100`]);
  }

  stop(): Promise<string> {
    return this.pgctl(['pg_ctl', '-D', this.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async sql(text: string): Promise<void> {
    const c = new pg.Client({ connectionString: this.url('postgres') });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  }

  async remove(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------ processes

function baseEnv(databaseUrl: string, name: string): Record<string, string> {
  return {
    NODE_ENV: 'test', DATABASE_URL: databaseUrl, REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: `${testRedisPrefix()}${name}${randomBytes(3).toString('hex')}:`,
    AUTH_SECRET: `faults-test-secret-${randomBytes(24).toString('hex')}`, ENCRYPTION_KEYS: `f1:${randomBytes(32).toString('base64')}`,
    PUBLIC_URL: 'http://allin.faults.test', SIMULATOR_URL: sim.url, SANDBOX: 'on', SHUTDOWN_TIMEOUT_MS: '3000',
  };
}

async function startAllin(args: string[], env: Record<string, string>): Promise<{ p: AllinProcess; url: string }> {
  const p = spawnAllin(args, env);
  procs.add(p);
  void p.exited.then(() => procs.delete(p));
  const ready = await p.waitFor(isReady, 300_000);
  return { p, url: String(ready.url) };
}

async function stopAll(list: AllinProcess[]): Promise<void> {
  for (const p of list) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGTERM');
  await Promise.all(list.map((p) => p.exited));
}

interface Place { email: string; password: string; workspaceId: string; accountId: string }

/**
 * Users made as `allin loadtest` makes them on a non-production server (sign-up, then the verification link
 * from the development mail route: no process to start per user), each with a workspace and a connected
 * Sandbox account.
 */
async function places(api: ApiBase, n: number, tag: string): Promise<Place[]> {
  const target = new Target(api.url, { connections: 2, timeoutMs: CLIENT_DEADLINE_MS });
  try {
    const { users } = await provisionUsers(target, n, { method: 'api', runId: `faults-${tag}-${randomBytes(3).toString('hex')}`, log: () => undefined });
    return await Promise.all(users.map(async ({ email, password }, i) => {
      const login = await api.call('POST', '/api/auth/login', { body: { email, password } });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const token = login.body.accessToken as string;
      const ws = await api.call('POST', '/api/workspaces', { token, body: { name: `Faults ${tag} ${i}` } });
      assert.equal(ws.status, 201, JSON.stringify(ws.body));
      const accountId = await connectSandbox(api, token, ws.body.id, `faults-${tag}-${i}-${randomBytes(3).toString('hex')}`);
      return { email, password, workspaceId: ws.body.id as string, accountId };
    }));
  } finally {
    await target.destroy();
  }
}

// ------------------------------------------------------------------------------ the load

/** A request's final answer; `failed`: the processes whose connection failed before it (or as its answer). */
interface Answer { step: string; method: string; base: string; status: string; retryAfter: string | undefined; tries: number; failed: { base: string; status: string }[] }
interface Written { text: string; place: Place; postId?: string; status: string }

const isHttp = (status: string) => /^\d{3}$/.test(status);
/** A connection that was refused never carried the request: sending it to the next process is always safe. */
const notSent = (status: string) => status === 'ECONNREFUSED';

/**
 * The journey of `allin loadtest journey` (src/loadtest/runner.ts), on its HTTP client (src/loadtest/http.ts,
 * with a client deadline on every request and no Retry-After waits, so every answer is seen), at a fixed
 * rate of journeys, spread round-robin over the API processes. Its post is scheduled to publish now.
 */
class Load {
  readonly answers: Answer[] = [];
  readonly written: Written[] = [];
  /** Called as a request is handed to a process (before its answer). */
  onSend: ((base: string, req: Req) => void) | undefined;
  readonly inflight = new Map<string, number>();
  private readonly targets: Target[];
  private next = 0;
  private running = true;
  private loops: Promise<void>[] = [];
  private seq = 0;

  constructor(bases: string[], private readonly places: Place[], private readonly tag: string, journeysPerSecond: number) {
    this.targets = bases.map((b) => new Target(b, { connections: 8, timeoutMs: CLIENT_DEADLINE_MS, retry: false }));
    const gap = 1000 / journeysPerSecond;
    let nextAt = performance.now();
    const pace = async () => {
      const now = performance.now();
      const at = Math.max(now, nextAt);
      nextAt = at + gap;
      if (at > now) await sleep(at - now);
    };
    this.loops = places.map(async (place) => {
      while (this.running) {
        await pace();
        if (!this.running) break;
        await this.journey(place);
      }
    });
  }

  count(): number {
    return this.answers.length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.targets.map((t) => t.destroy()));
  }

  /** One request, to the next process in turn; a GET (or a request never sent) goes on to the next one. */
  private async send(step: string, req: Req): Promise<Res> {
    let r: Res = { status: 'not sent', text: '', headers: {} };
    let tries = 0;
    let base = '';
    const failed: Answer['failed'] = [];
    for (let i = 0; i < this.targets.length; i++) {
      const target = this.targets[this.next++ % this.targets.length]!;
      base = target.base.origin;
      tries++;
      this.inflight.set(base, (this.inflight.get(base) ?? 0) + 1);
      try {
        const sending = target.send(req, true);
        this.onSend?.(base, req);
        r = await sending;
      } finally {
        this.inflight.set(base, this.inflight.get(base)! - 1);
      }
      if (!isHttp(r.status)) failed.push({ base, status: r.status });
      if (isHttp(r.status) || !(req.method === 'GET' || notSent(r.status))) break;
    }
    const ra = r.headers['retry-after'];
    this.answers.push({ step, method: req.method, base, status: r.status, retryAfter: Array.isArray(ra) ? ra[0] : ra, tries, failed });
    return r;
  }

  private async journey(place: Place): Promise<void> {
    const n = this.seq++;
    const ws = `/api/workspaces/${place.workspaceId}`;
    const login = await this.send('login', { method: 'POST', path: '/api/auth/login', body: { email: place.email, password: place.password } });
    const tokens = login.status === '200' ? jsonOf<{ accessToken: string; refreshToken: string }>(login) : undefined;
    if (!tokens) return;
    let auth = { authorization: `Bearer ${tokens.accessToken}` };
    for (const [step, path] of [['me', '/api/auth/me'], ['accounts', `${ws}/accounts`], ['posts', `${ws}/posts?limit=5`]] as const) {
      if ((await this.send(step, { method: 'GET', path, headers: auth })).status !== '200') return;
    }
    const text = `faults ${this.tag} ${n} ${randomBytes(4).toString('hex')}`;
    const created = await this.send('create post', { method: 'POST', path: `${ws}/posts`, headers: auth, body: { text, targets: [{ accountId: place.accountId }], schedule: { now: true } } });
    const postId = created.status === '201' ? jsonOf<{ id: string }>(created)?.id : undefined;
    this.written.push({ text, place, status: created.status, ...(postId ? { postId } : {}) });
    if (postId && (await this.send('read post', { method: 'GET', path: `${ws}/posts/${postId}`, headers: auth })).status !== '200') return;
    const refreshed = await this.send('refresh', { method: 'POST', path: '/api/auth/refresh', body: { refreshToken: tokens.refreshToken } });
    const fresh = refreshed.status === '200' ? jsonOf<{ accessToken: string }>(refreshed)?.accessToken : undefined;
    if (!fresh) return;
    auth = { authorization: `Bearer ${fresh}` };
    await this.send('logout', { method: 'POST', path: '/api/auth/logout', headers: auth, body: {} });
  }
}

/** Answers that are neither 2xx nor a deliberate 503/429 with Retry-After (lost POST answers are judged apart). */
function badAnswers(load: Load): Answer[] {
  return load.answers.filter((a) => {
    if (/^2\d\d$/.test(a.status)) return false;
    if ((a.status === '503' || a.status === '429') && a.retryAfter && Number(a.retryAfter) > 0) return false;
    return isHttp(a.status) || a.method === 'GET' || notSent(a.status);
  });
}

/** A call answered at last: a 429 or 503 (the run's own load used the limits, or a process is recovering) is waited out. */
async function patiently(api: ApiBase, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  return eventually(async () => {
    const r = await api.call(method, path, opts);
    if (r.status !== 429 && r.status !== 503) return r;
    await sleep(Math.min(10, Math.max(1, Number(r.headers.get('retry-after')) || 1)) * 1000);
    return undefined;
  }, 120_000, `${method} ${path} to be answered`, 0);
}

/** Every post of a workspace, page by page. */
async function allPosts(api: ApiBase, place: Place, token: string): Promise<Json[]> {
  const all: Json[] = [];
  for (let cursor: string | null = null, pages = 0; pages < 50; pages++) {
    const r = await patiently(api, 'GET', `/api/workspaces/${place.workspaceId}/posts?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    all.push(...r.body.posts);
    cursor = r.body.next;
    if (!cursor) return all;
  }
  throw new Error('more than 50 pages of posts');
}

/**
 * Every post the load wrote, checked through the API and on the network: a 201 exists once and is published
 * exactly once; a POST whose answer was lost exists once (and is then published once) or not at all; a
 * refused one (an HTTP error) does not exist. Waits (polling the list once a second) until no target of
 * the load's posts is still scheduled or publishing.
 */
async function checkPosts(api: ApiBase, load: Load, workers: AllinProcess[]): Promise<{ accepted: number; lost: number; lostKept: number }> {
  const byPlace = new Map<Place, Written[]>();
  for (const w of load.written) byPlace.set(w.place, [...(byPlace.get(w.place) ?? []), w]);
  let lost = 0;
  let lostKept = 0;
  const onNetwork = () => {
    const m = new Map<string, string[]>();
    for (const p of sim.state('sandbox').posts) m.set(p.key ?? '', [...(m.get(p.key ?? '') ?? []), p.id]);
    return m;
  };
  for (const [place, written] of byPlace) {
    const login = await patiently(api, 'POST', '/api/auth/login', { body: { email: place.email, password: place.password } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const token = login.body.accessToken as string;
    const texts = new Set(written.map((w) => w.text));
    let pending: Json[] = [];
    const all = await eventually(async () => {
      const posts = await allPosts(api, place, token);
      pending = posts.filter((p) => texts.has(p.text)).flatMap((p) => p.targets).filter((t: Json) => t.state === 'scheduled' || t.state === 'publishing');
      return pending.length === 0 && posts;
    }, 180_000, `every post of ${place.email} to be published`, 1000).catch((err: Error) => {
      const problems = workers.flatMap((w) => w.lines.filter((l) => Number(l.level) >= 40 || !l.level)).slice(-20);
      throw new Error(`${err.message}; still pending: ${JSON.stringify(pending).slice(0, 3000)}; the workers' warnings: ${JSON.stringify(problems)} ${workers.map((w) => w.stderr().slice(-2000)).join('')}`);
    });
    const network = onNetwork();
    for (const w of written) {
      const found = all.filter((p) => p.text === w.text);
      let post: Json | undefined;
      if (w.status === '201') {
        assert.equal(found.length, 1, `accepted post "${w.text}" exists once`);
        assert.equal(found[0].id, w.postId);
        post = found[0];
      } else if (isHttp(w.status)) {
        assert.equal(found.length, 0, `post "${w.text}" refused with ${w.status} does not exist`);
      } else {
        lost++;
        assert.ok(found.length <= 1, `post "${w.text}" whose answer was lost (${w.status}) exists ${found.length} times`);
        if (found.length === 1) {
          lostKept++;
          post = found[0];
        }
      }
      // Published, and on the network once under its marker.
      for (const t of post?.targets ?? []) {
        assert.equal(t.state, 'published', `target ${t.id}: ${JSON.stringify(t.error)}`);
        assert.deepEqual(network.get(markerOf(t.id, 0)), [t.remoteId], `target ${t.id} is on the network exactly once`);
      }
    }
  }
  return { accepted: load.written.filter((w) => w.status === '201').length, lost, lostKept };
}

// ------------------------------------------------------------------------------ metrics and promtool

interface Scraped { job: string; instance: string; url: string }
/** One scrape round: per series (`name{labels}` with job and instance), its value; `up` as Prometheus makes it. */
type Round = Map<string, number>;

const KEPT = /^(allin_dependency_up|allin_http_requests_total)\{/;

function withLabels(line: string, job: string, instance: string): [string, number] | undefined {
  const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
  if (!m) return undefined;
  const labels = [m[2], `job="${job}"`, `instance="${instance}"`].filter(Boolean).join(', ');
  return [`${m[1]}{${labels}}`, Number(m[3])];
}

/** Scrapes every process's /metrics once a second (each with a deadline) until stopped. */
class Scraper {
  readonly rounds: Round[] = [];
  private running = true;
  private readonly done: Promise<void>;
  constructor(private readonly scraped: Scraped[]) {
    this.done = (async () => {
      while (this.running) {
        const round: Round = new Map();
        const started = performance.now();
        await Promise.all(this.scraped.map(async (s) => {
          let text: string | undefined;
          try {
            const r = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
            if (r.status === 200) text = await r.text();
          } catch {
            // not answered within the scrape timeout: up 0, as in Prometheus
          }
          round.set(`up{job="${s.job}", instance="${s.instance}"}`, text === undefined ? 0 : 1);
          for (const line of text?.split('\n') ?? []) {
            if (!KEPT.test(line)) continue;
            const kv = withLabels(line, s.job, s.instance);
            if (kv) round.set(kv[0], kv[1]);
          }
        }));
        this.rounds.push(round);
        await sleep(Math.max(0, 1000 - (performance.now() - started)));
      }
    })();
  }
  async stop(): Promise<Round[]> {
    this.running = false;
    await this.done;
    return this.rounds;
  }
  /** Index of the round being taken now. */
  now(): number {
    return this.rounds.length;
  }
}

/** The shipped rule's annotations for an alert with these labels ({{ $labels.x }} filled in), which promtool compares too. */
function annotationsOf(alertname: string, labels: Record<string, string>): Record<string, string> {
  for (const file of RULE_FILES) {
    const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
    const rule = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === alertname);
    if (rule) {
      return Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, v.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '')]));
    }
  }
  throw new Error(`no alert rule named ${alertname}`);
}

/** `promtool test rules` over the shipped rules, with the rounds as input series; fails on a missed expectation. */
async function promtool(rounds: Round[], alerts: { at: number; alertname: string; exp: Record<string, string>[] }[]): Promise<string> {
  const keys = [...new Set(rounds.flatMap((r) => [...r.keys()]))].sort();
  const tmp = mkdtempSync(join(tmpdir(), 'allin-faults-promtool-'));
  try {
    const file = join(tmp, 'faults.test.yml');
    writeFileSync(file, stringify({
      rule_files: RULE_FILES,
      evaluation_interval: `${PROMTOOL_INTERVAL_S}s`,
      tests: [{
        interval: `${PROMTOOL_INTERVAL_S}s`,
        input_series: keys.map((series) => ({ series, values: rounds.map((r) => (r.has(series) ? String(r.get(series)) : '_')).join(' ') })),
        alert_rule_test: alerts.map((a) => ({
          eval_time: `${a.at * PROMTOOL_INTERVAL_S}s`, alertname: a.alertname, exp_alerts: a.exp.map((labels) => ({ exp_labels: labels, exp_annotations: annotationsOf(a.alertname, labels) })),
        })),
      }],
    }));
    return await run('promtool', ['test', 'rules', file]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The first and last rounds (indexes) in which `series` was 0, in its longest run of zeros. */
function zeros(rounds: Round[], series: string): { first: number; last: number } | undefined {
  let best: { first: number; last: number } | undefined;
  let first = -1;
  rounds.forEach((r, i) => {
    if (r.get(series) === 0) {
      if (first < 0) first = i;
      if (!best || i - first > best.last - best.first) best = { first, last: i };
    } else first = -1;
  });
  return best;
}

/** Prints how far a test got and when (a diagnostic for the run's log; nothing is asserted on it). */
function phases(tag: string): (what: string) => void {
  const t0 = performance.now();
  return (what) => console.log(`# ${tag} ${what} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// ------------------------------------------------------------------------------ (a) PostgreSQL down

test('PostgreSQL stopped for 10 s under serve and worker: answers are 2xx or 503 with Retry-After, nothing accepted is lost, the alert fires', { timeout: 600_000 }, async () => {
  const phase = phases('(a)');
  const cluster = new PrivateCluster(await freePort());
  cleanups.push(() => cluster.remove());
  await cluster.init();
  await cluster.start();
  await cluster.sql('create database allin');
  const env = baseEnv(cluster.url('allin'), 'faults-pg');
  const workerPort = await freePort();
  const [serve, worker] = await Promise.all([
    startAllin(['serve'], { ...env, PORT: '0' }),
    startAllin(['worker'], { ...env, WORKER_PORT: String(workerPort) }),
  ]);
  const api: ApiBase = { url: serve.url, call: apiCaller(serve.url) };
  const users = await places(api, 2, 'pg');
  phase('processes ready, places made');

  const scraper = new Scraper([
    { job: 'allin-api', instance: new URL(serve.url).host, url: serve.url },
    { job: 'allin-worker', instance: new URL(worker.url).host, url: worker.url },
  ]);
  const load = new Load([serve.url], users, 'pg', 1.5);
  await eventually(async () => load.written.filter((w) => w.status === '201').length >= 3, 60_000, 'posts accepted before the fault');
  phase('load running');

  // --- PostgreSQL stopped for 10 s; /api/health polled meanwhile on both processes.
  const answeredBefore = load.count();
  await cluster.stop();
  const stoppedAt = scraper.now();
  const seenHealth: { who: string; status: number; body: Json }[] = [];
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    for (const [who, { url, p }] of [['serve', serve], ['worker', worker]] as const) {
      const r = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(CLIENT_DEADLINE_MS) }).catch((err: Error) => {
        throw new Error(`${who} did not answer /api/health while PostgreSQL was down (${err.message}; exit ${p.child.exitCode ?? p.child.signalCode}): ${JSON.stringify(p.lines.filter((l) => Number(l.level) >= 50 || !l.level).slice(0, 5))} ${p.stderr().slice(0, 3000)}`);
      });
      seenHealth.push({ who, status: r.status, body: await r.json() });
    }
    await sleep(250);
  }
  const answeredDuring = load.count() - answeredBefore;
  phase('outage over');
  await cluster.start();
  const startedAt = scraper.now();

  // --- Recovery: both processes ready again, and the load goes on being served.
  for (const url of [serve.url, worker.url]) {
    await eventually(async () => {
      const r = await fetch(`${url}/api/health`);
      const body = await r.json() as Json;
      return r.status === 200 && body.checks.database?.status === 'pass';
    }, 60_000, `${url} to pass readiness with PostgreSQL back`);
  }
  const writtenBefore = load.written.length;
  await eventually(async () => load.written.slice(writtenBefore).filter((w) => w.status === '201').length >= 3, 60_000, 'posts accepted again after the fault');
  await sleep(3000); // a few more scrape rounds with the database passing
  await load.stop();
  const rounds = await scraper.stop();
  phase('load stopped');

  console.log(`# (a) rounds: stopped ${stoppedAt}, started ${startedAt}, ${rounds.length} in all; health: ${JSON.stringify(seenHealth.map((h) => `${h.who} ${h.status} ${h.body.checks?.database?.status}`))}`);
  // Every request answered: 2xx, or a deliberate 503/429 with Retry-After; none hung past its deadline.
  assert.ok(answeredDuring > 0, 'the load ran while PostgreSQL was down');
  const statuses = Object.fromEntries([...new Set(load.answers.map((a) => a.status))].map((s) => [s, load.answers.filter((a) => a.status === s).length]));
  console.log(`# (a) ${load.answers.length} requests: ${JSON.stringify(statuses)}; ${load.written.length} posts written`);
  assert.deepEqual(badAnswers(load), [], 'every answer 2xx, or 503/429 with Retry-After');
  assert.ok(load.answers.some((a) => a.status === '503'), 'requests that needed the database were refused with 503 while it was down');
  assert.deepEqual(load.answers.filter((a) => !isHttp(a.status)), [], 'one process, never killed: every request was answered');

  // /api/health named the database while it was down, on both processes.
  for (const who of ['serve', 'worker']) {
    const down = seenHealth.filter((h) => h.who === who && h.status === 503 && h.body.checks?.database?.status === 'fail');
    assert.ok(down.length > 0, `${who}'s /api/health named the database: ${JSON.stringify(seenHealth.filter((h) => h.who === who).slice(-2))}`);
  }

  // Every post accepted before or during the fault published exactly once.
  const posts = await checkPosts(api, load, [worker.p]);
  assert.ok(posts.accepted >= 6, `${posts.accepted} posts accepted`);
  assert.equal(posts.lost, 0, 'no answer was lost');
  phase('posts checked');

  // The alert, from the series this run exported: the database unreachable on both processes, not before.
  const series = (job: string, instance: string) => `allin_dependency_up{dependency="database", job="${job}", instance="${instance}"}`;
  const apiInstance = new URL(serve.url).host;
  const workerInstance = new URL(worker.url).host;
  const apiDown = zeros(rounds, series('allin-api', apiInstance));
  assert.ok(apiDown && apiDown.first >= stoppedAt - 1 && apiDown.last <= startedAt + 30, `the scrapes saw the database down on the API: ${JSON.stringify(apiDown)} (stopped in round ${stoppedAt}, started in ${startedAt})`);
  const span = apiDown.last - apiDown.first;
  assert.ok(span * PROMTOOL_INTERVAL_S >= 60, `the outage was scraped ${span + 1} times, too few to outlast the alert's 1 m (at ${PROMTOOL_INTERVAL_S} s a round)`);
  // The alert fires once a series has been 0 for its `for:` (1 m) and still is: at the last round of the API's
  // outage; the worker's too when its own run of zeros covers that minute.
  const forRounds = Math.ceil(60 / PROMTOOL_INTERVAL_S);
  const workerDown = zeros(rounds, series('allin-worker', workerInstance));
  const workerFires = !!workerDown && workerDown.first <= apiDown.last - forRounds && workerDown.last >= apiDown.last;
  await promtool(rounds, [
    { at: Math.max(0, apiDown.first - 1), alertname: 'AllinDatabaseUnreachable', exp: [] },
    { at: apiDown.last, alertname: 'AllinDatabaseUnreachable', exp: [
      { severity: 'critical', job: 'allin-api', instance: apiInstance },
      ...(workerFires ? [{ severity: 'critical', job: 'allin-worker', instance: workerInstance }] : []),
    ] },
    { at: rounds.length - 1, alertname: 'AllinDatabaseUnreachable', exp: [] },
    // Redis was up throughout.
    { at: apiDown.last, alertname: 'AllinRedisUnreachable', exp: [] },
  ]);
  phase('promtool passed');

  await stopAll([serve.p, worker.p]);
});

// ------------------------------------------------------------------------------ (b) a serve process killed

test('one of three serve processes killed with SIGKILL mid-request: only its connections fail, nothing accepted is lost, the alert fires', { timeout: 600_000 }, async () => {
  const phase = phases('(b)');
  const db = await createTempDatabase();
  cleanups.push(() => db.drop());
  const env = baseEnv(db.url, 'faults-kill');
  const [a, b, c, worker] = await Promise.all([
    startAllin(['serve'], { ...env, PORT: '0' }),
    startAllin(['serve'], { ...env, PORT: '0' }),
    startAllin(['serve'], { ...env, PORT: '0' }),
    startAllin(['worker'], { ...env, WORKER_PORT: String(await freePort()) }),
  ]);
  const api: ApiBase = { url: a.url, call: apiCaller(a.url) };
  const users = await places(api, 3, 'kill');
  phase('processes ready, places made');

  const instance = (url: string) => new URL(url).host;
  const scraper = new Scraper([a, b, c].map((s) => ({ job: 'allin-api', instance: instance(s.url), url: s.url })));
  const load = new Load([a.url, b.url, c.url], users, 'kill', 2);
  await eventually(async () => load.written.filter((w) => w.status === '201').length >= 3, 60_000, 'posts accepted before the fault');
  phase('load running');

  // The victim dies as a post is handed to it: the request is in flight, its answer never comes.
  const victim = b;
  const victimBase = new URL(victim.url).origin;
  let killedAt = -1;
  let inflightAtKill = 0;
  load.onSend = (base, req) => {
    if (killedAt >= 0 || base !== victimBase || req.method !== 'POST' || !req.path.endsWith('/posts')) return;
    killedAt = scraper.now();
    setImmediate(() => {
      inflightAtKill = load.inflight.get(victimBase) ?? 0;
      victim.p.kill('SIGKILL');
    });
  };
  const died = await victim.p.exited;
  assert.equal(died.signal, 'SIGKILL');
  const answeredAtKill = load.count();
  phase('victim killed');

  // The survivors go on: posts are accepted after the kill, and the scrapes outlast the alert's `for:`.
  const writtenAtKill = load.written.length;
  await eventually(async () => load.written.slice(writtenAtKill).filter((w) => w.status === '201').length >= 3, 60_000, 'posts accepted after the kill');
  const forRounds = Math.ceil(120 / PROMTOOL_INTERVAL_S);
  await eventually(() => scraper.now() >= killedAt + forRounds + 3, 120_000, 'scrapes past the alert\'s 2 m after the kill');
  await load.stop();
  const rounds = await scraper.stop();
  phase('load stopped');

  const statuses = Object.fromEntries([...new Set(load.answers.map((a) => a.status))].map((s) => [s, load.answers.filter((a) => a.status === s).length]));
  const connectionFailures = load.answers.flatMap((a) => a.failed);
  console.log(`# (b) ${load.answers.length} requests: ${JSON.stringify(statuses)}; ${load.written.length} posts written; ${inflightAtKill} in flight on the victim at the kill; connection failures: ${JSON.stringify(connectionFailures.map((f) => f.status))}`);
  assert.ok(inflightAtKill > 0, 'a request was in flight on the victim when it was killed');
  assert.ok(load.count() > answeredAtKill, 'the load ran on after the kill');
  // No 5xx from the living processes (a deliberate 503/429 with Retry-After aside), no hang, no GET lost.
  assert.deepEqual(badAnswers(load), [], 'every answer 2xx, or 503/429 with Retry-After');
  assert.deepEqual(load.answers.filter((a) => a.status === '500' || a.status === '502' || a.status === '504'), []);
  // Requests that reached the dead process failed at the connection level only, and only there.
  assert.ok(connectionFailures.length > 0, 'requests reached the killed process');
  assert.deepEqual(connectionFailures.filter((f) => f.base !== victimBase || isHttp(f.status) || f.status === 'timeout'), [], 'connection failures only on the killed process');

  // Every post answered 201 exists once and is published once; one whose answer was lost, once or not at all.
  const posts = await checkPosts(api, load, [worker.p]);
  console.log(`# (b) ${posts.accepted} posts accepted; ${posts.lost} answers lost with the victim, ${posts.lostKept} of those posts kept (and published once)`);
  assert.ok(posts.accepted >= 6, `${posts.accepted} posts accepted`);
  phase('posts checked');

  // The alert: the victim's target down for 2 m (at 15 s a round), the API as a whole never down.
  const up = `up{job="allin-api", instance="${instance(victim.url)}"}`;
  const down = zeros(rounds, up);
  assert.ok(down && down.first >= killedAt && down.last === rounds.length - 1, `the scrapes saw the victim down from the kill on: ${JSON.stringify(down)} (killed in round ${killedAt})`);
  assert.ok(down.last - down.first >= forRounds, `the victim was scraped down ${down.last - down.first + 1} times, too few to outlast the alert's 2 m`);
  await promtool(rounds, [
    { at: Math.max(0, down.first - 1), alertname: 'AllinTargetDown', exp: [] },
    { at: down.last, alertname: 'AllinTargetDown', exp: [{ severity: 'critical', job: 'allin-api', instance: instance(victim.url) }] },
    { at: down.last, alertname: 'AllinApiDown', exp: [] },
  ]);
  phase('promtool passed');

  await stopAll([a.p, c.p, worker.p]);
});
