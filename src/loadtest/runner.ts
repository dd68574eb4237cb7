// Runs one scenario against a base URL and returns its report.
// - Closed model (baseline, scaled, stress, journey): each virtual user sends a request, waits for the
//   answer, thinks, and goes on; latency is from send to the end of the answer.
// - Open model (open): requests are due at a constant rate whatever the server does; latency is from the
//   intended send time, so a request that had to wait for a free slot (or for the generator) carries that
//   wait (no coordinated omission), and sends later than --late-ms are counted.
// Sessions for the session endpoints are made before the measured part starts; user creation and the
// journey's set-up (workspace, Sandbox account) are not measured either.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Target, jsonOf, type Req, type Res } from './http.ts';
import { Recorder, Tally, distribution, encodeHistogram, summarize, round, type LatencySummary } from './stats.ts';
import { Sampler, serverFigures, resourceSignals, type Point, type ResourceSignal, type ServerFigures } from './server-metrics.ts';
import { ENDPOINTS, DESCRIPTIONS, shapeOf, usersNeeded, plan, pick, rng, type EndpointKey, type LoadOptions } from './scenarios.ts';
import { provisionUsers, isLoopback, SetupError, type Credentials } from './users.ts';
import { machineInfo, REPORT_SCHEMA, type Report, type StepFigures } from './report.ts';
import { VERSION } from '../version.ts';
import { runAgency, agencyRoutes, agencyUsers, findPlaces, type AgencyReport } from './agency.ts';

export interface RunHooks {
  /** Progress lines (user creation, stress steps). */
  log?: (line: string) => void;
  /** Called about four times a second with the fraction done and a few words. */
  progress?: (fraction: number, text: string) => void;
}

interface Ctx {
  o: LoadOptions;
  target: Target;
  random: () => number;
  users: Credentials[];
  sessions: Sessions;
  sinks: Recorder[];
  runId: string;
}

/** One access token per user, shared by that user's virtual users, made outside the measured requests. */
class Sessions {
  private readonly tokens = new Map<number, { token: string; at: number }>();
  private readonly pending = new Map<number, Promise<string | undefined>>();
  constructor(private readonly target: Target, private readonly users: Credentials[]) {}

  async token(u: number): Promise<string | undefined> {
    const t = this.tokens.get(u);
    if (t && performance.now() - t.at < 10 * 60_000) return t.token; // access tokens live 15 minutes
    let p = this.pending.get(u);
    if (!p) {
      p = this.login(u).finally(() => this.pending.delete(u));
      this.pending.set(u, p);
    }
    return p;
  }

  invalidate(u: number): void {
    this.tokens.delete(u);
  }

  private async login(u: number): Promise<string | undefined> {
    const user = this.users[u]!;
    const r = await this.target.send({ method: 'POST', path: '/api/auth/login', body: { email: user.email, password: user.password } });
    const token = jsonOf<{ accessToken: string }>(r)?.accessToken;
    if (token) this.tokens.set(u, { token, at: performance.now() });
    return token;
  }
}

function record(ctx: Ctx, endpoint: string, status: string, start: number, end: number, latency: number | undefined): void {
  for (const s of ctx.sinks) s.record(endpoint, status, start, end, latency);
}

/** One measured request. */
async function timed(ctx: Ctx, endpoint: string, req: Req, readBody = false): Promise<Res> {
  const t0 = performance.now();
  const r = await ctx.target.send(req, readBody);
  const t1 = performance.now();
  record(ctx, endpoint, r.status, t0, t1, t1 - t0);
  return r;
}

async function requestFor(ctx: Ctx, key: EndpointKey, u: number): Promise<Req> {
  const ep = ENDPOINTS[key];
  const req: Req = { method: ep.method, path: ep.path };
  if (ep.auth === 'password') req.body = { email: ctx.users[u]!.email, password: ctx.users[u]!.password };
  if (ep.auth === 'session') {
    const token = await ctx.sessions.token(u);
    req.headers = { authorization: `Bearer ${token ?? 'none'}` };
  }
  return req;
}

async function hit(ctx: Ctx, key: EndpointKey, u: number): Promise<void> {
  const r = await timed(ctx, ENDPOINTS[key].name, await requestFor(ctx, key, u));
  if (r.status === '401' && ENDPOINTS[key].auth === 'session') ctx.sessions.invalidate(u);
}

const userOf = (ctx: Ctx, i: number) => (ctx.users.length ? i % ctx.users.length : 0);

const think = (ctx: Ctx) => {
  const [a, b] = ctx.o.thinkMs;
  if (b <= 0) return Promise.resolve();
  return sleep(a + ctx.random() * (b - a));
};

// ------------------------------------------------------------------------------------ closed model

async function runClosed(ctx: Ctx, progress: Progress): Promise<void> {
  const o = ctx.o;
  const tickets = o.requests !== null ? plan(o.mix, o.requests, ctx.random) : null;
  let next = 0;
  const start = performance.now();
  const deadline = tickets ? Infinity : start + (o.durationSeconds ?? 30) * 1000;
  progress.set(() => (tickets ? [next / tickets.length, `${next}/${tickets.length} requests`] : [(performance.now() - start) / (deadline - start), `${Math.round((performance.now() - start) / 1000)} s`]));
  await Promise.all(Array.from({ length: o.vus }, async (_, i) => {
    if (o.rampUpSeconds > 0) await sleep((o.rampUpSeconds * 1000 * i) / o.vus);
    for (;;) {
      let key: EndpointKey;
      if (tickets) {
        if (next >= tickets.length) return;
        key = tickets[next++]!;
      } else {
        if (performance.now() >= deadline) return;
        key = pick(o.mix, ctx.random);
      }
      await hit(ctx, key, userOf(ctx, i));
      await think(ctx);
    }
  }));
}

// ------------------------------------------------------------------------------------ stress

async function runStress(ctx: Ctx, progress: Progress, sampler: Sampler | undefined, origin: number, log: (l: string) => void): Promise<NonNullable<Report['stress']>> {
  const o = ctx.o;
  const overall = ctx.sinks[0]!;
  let active = 0;
  let stop = false;
  let stepIndex = 0;
  let stepStart = performance.now();
  const vus: Promise<void>[] = [];
  const steps: StepFigures[] = [];
  let stopReason: string | null = null;
  progress.set(() => [(stepIndex + Math.min(1, (performance.now() - stepStart) / (o.stepSeconds * 1000))) / o.steps.length, `step ${stepIndex + 1}/${o.steps.length}: ${active} VUs`]);

  const loop = async (i: number, delay: number) => {
    await sleep(delay);
    while (!stop && i < active) {
      await hit(ctx, pick(o.mix, ctx.random), userOf(ctx, i));
      await think(ctx);
    }
  };

  for (stepIndex = 0; stepIndex < o.steps.length; stepIndex++) {
    const target = o.steps[stepIndex]!;
    stepStart = performance.now();
    const rec = new Recorder(stepStart);
    ctx.sinks = [overall, rec];
    const before = active;
    active = Math.max(active, target);
    // New users join over the first second of the step (or a quarter of it), not all in one instant.
    const spread = Math.min(1000, (o.stepSeconds * 1000) / 4);
    for (let i = before; i < active; i++) vus.push(loop(i, ((i - before) / Math.max(1, active - before)) * spread));
    await sleep(o.stepSeconds * 1000);
    await sampler?.takeNow();
    const stepEnd = performance.now();
    const total = rec.totalFigures();
    const server: ServerFigures = sampler && !sampler.failure ? serverFigures(sampler.between(stepStart, stepEnd)) : { available: false, reason: sampler?.failure ?? 'metrics off', scrapes: 0 };
    const errorRate = total.requests === 0 ? 1 : 1 - total.successRate;
    const failed = errorRate > o.maxErrorRate
      ? `error rate ${(errorRate * 100).toFixed(2)}% > ${(o.maxErrorRate * 100).toFixed(2)}%`
      : total.latency.p95 > o.maxP95Ms ? `p95 ${total.latency.p95.toFixed(0)} ms > ${o.maxP95Ms} ms` : null;
    steps.push({
      vus: active, seconds: round((stepEnd - stepStart) / 1000, 2), requests: total.requests, successRate: total.successRate, errorRate: round(errorRate, 6),
      achievedRate: round(total.ok / ((stepEnd - stepStart) / 1000), 2), latency: total.latency, statuses: total.statuses, server, failed,
      startedAtSeconds: round((stepStart - origin) / 1000, 2),
      endpoints: rec.endpointFigures().map((e) => ({ name: e.name, requests: e.requests, successRate: e.successRate, p95: e.latency.p95, p99: e.latency.p99 })),
    });
    log(`  step ${active} VUs: ${total.requests} requests, ${(total.successRate * 100).toFixed(2)}% ok, ${(total.ok / ((stepEnd - stepStart) / 1000)).toFixed(1)}/s, p95 ${total.latency.p95.toFixed(1)} ms${failed ? ` — ${failed}` : ''}`);
    if (failed) {
      stopReason = `at ${active} virtual users: ${failed}`;
      break;
    }
  }
  stop = true;
  await Promise.all(vus);
  if (stepIndex >= o.steps.length) stepIndex = o.steps.length - 1;

  // The knee: the last passing step whose throughput grew at least half as fast as its users did.
  let knee: NonNullable<Report['stress']>['knee'] = null;
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k]!;
    if (s.failed) break;
    if (k > 0) {
      const p = steps[k - 1]!;
      const growthRate = p.achievedRate > 0 ? s.achievedRate / p.achievedRate - 1 : 0;
      const growthUsers = s.vus / p.vus - 1;
      if (growthRate < 0.5 * growthUsers) break;
    }
    knee = { vus: s.vus, achievedRate: s.achievedRate, p95: s.latency.p95, p99: s.latency.p99, note: 'the last step within the limits whose throughput grew at least half as fast as its virtual users' };
  }

  const points: Point[] = sampler?.points ?? [];
  const clientSeconds = [...overall.seconds].map(([t, tally]) => ({ t, statuses: tally.statusObject() }));
  // CPU counts as given out when the server's process used 90 % of this machine's cores, and only when
  // it runs here (a loopback URL): of a remote server we do not know the cores.
  const cpuLimit = isLoopback(ctx.target.base) ? 0.9 * os.cpus().length : Infinity;
  const signals = [...resourceSignals(points, origin, clientSeconds, { eventLoopLagMs: 100, cpuCores: cpuLimit }), ...slowEndpoints(steps)]
    .sort((a, b) => a.firstSeenAtSeconds - b.firstSeenAtSeconds);
  const rss = points.map((p) => p.rssBytes).filter((x): x is number => x !== undefined);
  return { steps, stopReason, knee, firstFailingResource: signals[0] ?? null, signals, peakRssBytes: rss.length ? Math.max(...rss) : null };
}

/**
 * An endpoint that slowed down as users were added while others did not points at the resource behind it:
 * its first step with a P95 above three times its best P95 in the steps before (and above 50 ms).
 */
export function slowEndpoints(steps: StepFigures[]): ResourceSignal[] {
  const out: ResourceSignal[] = [];
  const names = [...new Set(steps.flatMap((s) => s.endpoints.map((e) => e.name)))];
  for (const name of names) {
    let best: { p95: number; vus: number } | undefined;
    for (const st of steps) {
      const e = st.endpoints.find((x) => x.name === name);
      if (!e) continue;
      if (best && e.p95 > Math.max(50, 3 * best.p95)) {
        const others = st.endpoints.filter((x) => x.name !== name).map((x) => `${x.name} ${x.p95.toFixed(1)} ms`).join(', ');
        const hashing = name === 'POST /api/auth/login' || name === 'POST /api/auth/register';
        out.push({
          resource: hashing ? 'password hashing' : `${name} latency`,
          detail: `${name} p95 ${e.p95.toFixed(1)} ms at ${st.vus} virtual users (${best.p95.toFixed(1)} ms at ${best.vus})${others ? `, while ${others}` : ''}${hashing ? ': sign-ins queue for a hashing slot (HASH_CONCURRENCY; 503 past HASH_MAX_WAIT_MS of queued work)' : ''}`,
          firstSeenAtSeconds: st.startedAtSeconds,
        });
        break;
      }
      if (!best || e.p95 < best.p95) best = { p95: e.p95, vus: st.vus };
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ open model

async function runOpen(ctx: Ctx, progress: Progress): Promise<NonNullable<Report['open']>> {
  const o = ctx.o;
  const rate = o.rate ?? 100;
  const total = Math.max(1, Math.round(rate * (o.durationSeconds ?? 20)));
  const keys = plan(o.mix, total, ctx.random);
  const interval = 1000 / rate;
  const uncorrected = new Tally();
  let inflight = 0;
  let sent = 0;
  let late = 0;
  let maxLate = 0;
  let notSent = 0;
  let scheduled = 0;
  const backlog: { i: number; intended: number }[] = [];
  const origin = performance.now() + 20;
  let drainDeadline = Infinity;
  let settle: () => void = () => {};
  const settled = new Promise<void>((res) => (settle = res));
  progress.set(() => [Math.min(1, scheduled / total), `${sent}/${total} sent, ${late} late, ${inflight} in flight`]);

  const maybeDone = () => {
    if (scheduled === total && inflight === 0 && backlog.length === 0) settle();
  };
  const send = (i: number, intended: number) => {
    inflight++;
    sent++;
    const at = performance.now();
    const lateBy = at - intended;
    if (lateBy > o.lateMs) late++;
    if (lateBy > maxLate) maxLate = lateBy;
    void (async () => {
      const key = keys[i]!;
      const u = userOf(ctx, i);
      const req = await requestFor(ctx, key, u);
      const r = await ctx.target.send(req, false);
      const end = performance.now();
      record(ctx, ENDPOINTS[key].name, r.status, intended, end, end - intended);
      uncorrected.add(r.status, end - at);
      if (r.status === '401' && ENDPOINTS[key].auth === 'session') ctx.sessions.invalidate(u);
    })().finally(() => {
      inflight--;
      while (inflight < o.maxInflight && backlog.length > 0) {
        const b = backlog.shift()!;
        if (performance.now() > drainDeadline) {
          notSent++;
          record(ctx, ENDPOINTS[keys[b.i]!].name, 'not_sent', b.intended, performance.now(), undefined);
        } else send(b.i, b.intended);
      }
      maybeDone();
    });
  };
  const tick = () => {
    const now = performance.now();
    while (scheduled < total && origin + scheduled * interval <= now) {
      const intended = origin + scheduled * interval;
      if (inflight < o.maxInflight) send(scheduled, intended);
      else backlog.push({ i: scheduled, intended });
      scheduled++;
    }
    if (scheduled < total) setTimeout(tick, Math.max(0, origin + scheduled * interval - performance.now()));
    else {
      drainDeadline = performance.now() + o.timeoutMs;
      maybeDone();
    }
  };
  setTimeout(tick, Math.max(0, origin - performance.now()));
  await settled;
  return {
    rate, intended: total, sent, late, notSent, lateMs: o.lateMs, maxLateMs: round(Math.max(0, maxLate), 3), uncorrectedLatency: summarize(uncorrected.hist),
  };
}

// ------------------------------------------------------------------------------------ journey

interface Place {
  workspaceId: string;
  accountId: string;
}

/** Each user's workspace and Sandbox account, made before the run (not measured). */
async function prepareJourneys(ctx: Ctx, log: (l: string) => void): Promise<Place[]> {
  const places: Place[] = [];
  for (let u = 0; u < ctx.users.length; u++) {
    const user = ctx.users[u]!;
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await ctx.target.send({ method, path, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body } : {}) });
      return { r, body: jsonOf<Record<string, unknown>>(r) };
    };
    const login = await ctx.target.send({ method: 'POST', path: '/api/auth/login', body: { email: user.email, password: user.password } });
    const token = jsonOf<{ accessToken: string }>(login)?.accessToken;
    if (!token) throw new SetupError(`journey set-up: signing in as ${user.email} answered ${login.status}`);
    const list = await call('GET', '/api/workspaces', token);
    const existing = (list.body?.workspaces as { id: string; role: string }[] | undefined)?.find((w) => w.role === 'owner' || w.role === 'admin');
    let workspaceId = existing?.id;
    if (!workspaceId) {
      const made = await call('POST', '/api/workspaces', token, { name: `Load test ${ctx.runId}` });
      workspaceId = made.body?.id as string | undefined;
      if (!workspaceId) throw new SetupError(`journey set-up: POST /api/workspaces answered ${made.r.status} ${made.r.text.slice(0, 200)}`);
    }
    const accounts = await call('GET', `/api/workspaces/${workspaceId}/accounts`, token);
    let accountId = (accounts.body?.accounts as { id: string; status?: string }[] | undefined)?.find((a) => !a.status || a.status === 'active')?.id;
    if (!accountId) accountId = await connectSandbox(ctx, token, workspaceId, `loadtest-${ctx.runId}-${u}`);
    await ctx.target.send({ method: 'POST', path: '/api/auth/logout', headers: { authorization: `Bearer ${token}` }, body: {} });
    places.push({ workspaceId, accountId });
  }
  log(`journey set-up: ${places.length} workspace${places.length === 1 ? '' : 's'} with a Sandbox account`);
  return places;
}

/** Connects a Sandbox account through the real OAuth round trip (as a browser would). */
async function connectSandbox(ctx: Ctx, token: string, workspaceId: string, simUser: string): Promise<string> {
  const nets = jsonOf<{ networks: { id: string }[] }>(await ctx.target.send({ method: 'GET', path: '/api/networks', headers: { authorization: `Bearer ${token}` } }));
  if (!nets?.networks.some((n) => n.id === 'sandbox')) {
    throw new SetupError('the journey needs a connected social account: this server does not offer the Sandbox network (SANDBOX=on, not in production) and the user has none; connect one first or use --user with a user that has one');
  }
  const start = await ctx.target.send({ method: 'POST', path: `/api/workspaces/${workspaceId}/accounts/connect`, headers: { authorization: `Bearer ${token}` }, body: { provider: 'sandbox' } });
  const authorizationUrl = jsonOf<{ authorizationUrl: string }>(start)?.authorizationUrl;
  const setCookie = start.headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];
  if (!authorizationUrl || !cookie) throw new SetupError(`connecting Sandbox: ${start.status} ${start.text.slice(0, 200)}`);
  const consent = await fetch(`${authorizationUrl}&login_hint=${encodeURIComponent(simUser)}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location') ?? '', authorizationUrl);
  const done = await fetch(ctx.target.url(`${back.pathname}${back.search}`), { redirect: 'manual', headers: { cookie } });
  const landed = new URL(done.headers.get('location') ?? '', ctx.target.base);
  const id = landed.searchParams.get('accounts')?.split(',')[0];
  if (landed.searchParams.get('connected') !== 'sandbox' || !id) throw new SetupError(`connecting Sandbox ended at ${landed.pathname}${landed.search}`);
  return id;
}

/** A token bucket: at most `perSecond` takes a second (no burst beyond one). */
function pacer(perSecond: number): () => Promise<void> {
  let nextAt = performance.now();
  const gap = 1000 / perSecond;
  return async () => {
    const now = performance.now();
    const at = Math.max(now, nextAt);
    nextAt = at + gap;
    if (at > now) await sleep(at - now);
  };
}

async function runJourneys(ctx: Ctx, progress: Progress, places: Place[]): Promise<NonNullable<Report['journey']>> {
  const o = ctx.o;
  const journeys = new Tally();
  const total = o.vus * o.iterations;
  progress.set(() => [journeys.count / total, `${journeys.count}/${total} journeys`]);
  // Each journey makes one refresh, which is limited per IP with the anonymous routes (LIMIT_API_IP), and
  // seven calls limited per user (LIMIT_API_USER): journeys start at most at 80 % of what both allow,
  // so the scenario is never throttled by design.
  const perIp = (o.ipLimit.count / o.ipLimit.seconds) * 0.8;
  const perUsers = ((o.userLimit.count / o.userLimit.seconds) * 0.8 * Math.max(1, ctx.users.length)) / 7;
  const pace = pacer(Math.max(0.1, Math.min(perIp, perUsers)));
  let seq = 0;
  await Promise.all(Array.from({ length: o.vus }, async (_, i) => {
    if (o.rampUpSeconds > 0) await sleep((o.rampUpSeconds * 1000 * i) / o.vus);
    const u = i % ctx.users.length;
    for (let it = 0; it < o.iterations; it++) {
      await pace();
      const t0 = performance.now();
      const ok = await journey(ctx, ctx.users[u]!, places[u]!, seq++);
      journeys.add(ok ? 'completed' : 'failed', performance.now() - t0);
    }
  }));
  return { journeys: journeys.count, completed: journeys.statuses.get('completed') ?? 0, failed: journeys.statuses.get('failed') ?? 0, latency: summarize(journeys.hist) };
}

async function journey(ctx: Ctx, user: Credentials, place: Place, n: number): Promise<boolean> {
  const ws = `/api/workspaces/${place.workspaceId}`;
  let ok = true;
  const step = async (name: string, req: Req, expect: string) => {
    const r = await timed(ctx, name, req, true);
    if (r.status !== expect) ok = false;
    return r;
  };
  const login = await step('POST /api/auth/login', { method: 'POST', path: '/api/auth/login', body: { email: user.email, password: user.password } }, '200');
  const tokens = jsonOf<{ accessToken: string; refreshToken: string }>(login);
  if (!tokens) return false;
  let auth = { authorization: `Bearer ${tokens.accessToken}` };
  await think(ctx);
  await step('GET /api/auth/me', { method: 'GET', path: '/api/auth/me', headers: auth }, '200');
  await think(ctx);
  await step('GET /api/workspaces/:id/accounts', { method: 'GET', path: `${ws}/accounts`, headers: auth }, '200');
  await think(ctx);
  const today = new Date();
  const from = today.toISOString().slice(0, 10);
  const to = new Date(today.getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
  await step('GET /api/workspaces/:id/calendar', { method: 'GET', path: `${ws}/calendar?from=${from}&to=${to}&timeZone=UTC`, headers: auth }, '200');
  await think(ctx);
  const created = await step('POST /api/workspaces/:id/posts', {
    method: 'POST', path: `${ws}/posts`, headers: auth, body: { text: `Load test ${ctx.runId} journey ${n}: a draft written by allin loadtest.`, targets: [{ accountId: place.accountId }] },
  }, '201');
  const postId = jsonOf<{ id: string }>(created)?.id;
  if (postId) {
    await think(ctx);
    const at = new Date(Date.now() + 7 * 86_400_000 + Math.floor(ctx.random() * 86_400_000)).toISOString();
    await step('POST /api/workspaces/:id/posts/:id/schedule', { method: 'POST', path: `${ws}/posts/${postId}/schedule`, headers: auth, body: { at } }, '200');
  }
  await think(ctx);
  const refreshed = await step('POST /api/auth/refresh', { method: 'POST', path: '/api/auth/refresh', body: { refreshToken: tokens.refreshToken } }, '200');
  const fresh = jsonOf<{ accessToken: string }>(refreshed)?.accessToken;
  if (fresh) auth = { authorization: `Bearer ${fresh}` };
  if (postId && !ctx.o.keepPosts) {
    await think(ctx);
    await step('DELETE /api/workspaces/:id/posts/:id', { method: 'DELETE', path: `${ws}/posts/${postId}`, headers: auth }, '204');
  }
  await think(ctx);
  await step('POST /api/auth/logout', { method: 'POST', path: '/api/auth/logout', headers: auth, body: {} }, '200');
  return ok;
}

// ------------------------------------------------------------------------------------ the run

class Progress {
  private fn: (() => [number, string]) | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly cb: RunHooks['progress']) {}
  set(fn: () => [number, string]): void {
    this.fn = fn;
    if (this.cb && !this.timer) {
      this.timer = setInterval(() => {
        if (this.fn) {
          const [f, t] = this.fn();
          this.cb!(Math.max(0, Math.min(1, f)), t);
        }
      }, 250);
      this.timer.unref();
    }
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export function connectionsFor(o: LoadOptions): number {
  if (o.scenario === 'open') return o.maxInflight + 4;
  if (o.scenario === 'stress') return Math.max(...o.steps) + 4;
  return o.vus + 4;
}

export async function runLoadtest(o: LoadOptions, hooks: RunHooks = {}): Promise<Report> {
  const log = hooks.log ?? (() => {});
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  // The agency scenario measures queries: a 429 there is a limit set too low for it, shown as such, not waited out.
  const target = new Target(o.url, { connections: connectionsFor(o), timeoutMs: o.timeoutMs, ...(o.scenario === 'agency' ? { retry: false as const } : {}) });
  const warnings: string[] = [];
  try {
    const alive = await target.send({ method: 'GET', path: '/health' });
    if (alive.status !== '200') throw new SetupError(`${target.url('/health')} answered ${alive.status}: is AllIN running there?`);

    // Users: only for mixes that sign in, and for the journey (the agency scenario signs in as seeded members).
    const needsUsers = o.scenario === 'journey' || Object.keys(o.mix).some((k) => ENDPOINTS[k as EndpointKey].auth !== 'none' && (o.mix[k as EndpointKey] ?? 0) > 0);
    const setupStart = performance.now();
    let users: Credentials[] = [];
    let createdVia: Report['users']['createdVia'] = 'none';
    if (o.scenario === 'agency') {
      users = agencyUsers(o.existingUsers);
      createdVia = 'given';
    } else if (needsUsers) {
      const n = o.users ?? usersNeeded(o);
      if (o.users !== null && o.existingUsers.length === 0 && o.users < usersNeeded(o)) {
        warnings.push(`--users ${o.users} is fewer than the ${usersNeeded(o)} this load needs to stay within the per-user limit (${o.userLimit.count}/${o.userLimit.seconds} s): expect 429s`);
      }
      const made = await provisionUsers(target, n, { method: o.createUsers, existing: o.existingUsers, runId, log });
      users = made.users;
      createdVia = made.method;
    }
    const ctx: Ctx = { o, target, random: rng(o.seed), users, sessions: new Sessions(target, users), sinks: [], runId };
    if (o.scenario !== 'journey' && Object.keys(o.mix).some((k) => ENDPOINTS[k as EndpointKey].auth === 'session')) {
      const tokens = await Promise.all(users.map((_, u) => ctx.sessions.token(u)));
      if (tokens.some((t) => !t)) throw new SetupError('could not sign in the users for the session endpoints');
    }
    const places = o.scenario === 'journey' ? await prepareJourneys(ctx, log) : [];
    let agencyPlaces: Awaited<ReturnType<typeof findPlaces>> | undefined;
    if (o.scenario === 'agency') {
      const tokens = await Promise.all(users.map((_, u) => ctx.sessions.token(u)));
      if (tokens.some((t) => !t)) {
        throw new SetupError(`could not sign in as ${users.map((u) => u.email).join(', ')}: seed the database with \`allin seed\` (its members' password is printed there), or give --user with ALLIN_LOADTEST_PASSWORD`);
      }
      agencyPlaces = await findPlaces(target, tokens[0]!, { largest: o.workspaceId, baseline: o.baselineWorkspaceId });
    }
    const setupSeconds = (performance.now() - setupStart) / 1000;

    const sampler = o.metrics ? new Sampler(target.url('/metrics'), o.metricsToken) : undefined;
    if (sampler && !(await sampler.start())) warnings.push(`server figures not read: ${sampler.failure}`);

    const progress = new Progress(hooks.progress);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const startedAt = new Date();
    const origin = performance.now();
    const overall = new Recorder(origin);
    ctx.sinks = [overall];

    let open: Report['open'];
    let stress: Report['stress'];
    let journey: Report['journey'];
    let agency: AgencyReport | undefined;
    try {
      switch (o.scenario) {
        case 'agency':
          agency = await runAgency({
            target, places: agencyPlaces!, vus: o.vus, phaseSeconds: o.stepSeconds, random: ctx.random,
            ...(o.routes ? { routes: agencyRoutes().filter((r) => o.routes!.some((w) => r.name.toLowerCase().includes(w))) } : {}),
            token: (i) => ctx.sessions.token(userOf(ctx, i)),
            record: (endpoint, status, start, end) => overall.record(endpoint, status, start, end, end - start),
            ...(sampler && !sampler.failure ? { sampler } : {}), log,
            ...(hooks.progress ? { progress: hooks.progress } : {}),
          });
          break;
        case 'open':
          open = await runOpen(ctx, progress);
          break;
        case 'stress':
          stress = await runStress(ctx, progress, sampler, origin, log);
          break;
        case 'journey':
          journey = await runJourneys(ctx, progress, places);
          break;
        default:
          await runClosed(ctx, progress);
      }
    } finally {
      progress.stop();
      loop.disable();
    }
    const wall = (performance.now() - origin) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await sampler?.stop();
    const finishedAt = new Date();

    const total = overall.totalFigures();
    const elapsed = overall.elapsedSeconds() || wall;
    const generator = {
      cpuCores: round((cpu.user + cpu.system) / 1e6 / wall, 3),
      // The monitor's samples include its own 10 ms interval: what is above it is delay.
      eventLoopDelayP99Ms: round(Math.max(0, loop.percentile(99) / 1e6 - 10), 3),
      busy: false,
    };
    generator.busy = generator.cpuCores > 0.8 || generator.eventLoopDelayP99Ms > 50;
    if (generator.busy) {
      warnings.push(`the load generator itself was busy (${generator.cpuCores} cores, event-loop delay p99 ${generator.eventLoopDelayP99Ms} ms): its latencies include its own delays; cross-check with wrk or autocannon, or run it on another machine`);
    }
    if (agency && (total.statuses['429'] ?? 0) > 0) {
      warnings.push(`${total.statuses['429']} answers were 429: the server's LIMIT_API_USER throttled the signed-in user; this scenario measures the queries, so start the server with LIMIT_API_USER=1000000/60 for it`);
    } else if ((total.statuses['429'] ?? 0) > 0) warnings.push(`${total.statuses['429']} answers were 429: a limit was reached (see --user-limit, --ip-limit, --users)`);
    // Retried answers are not in the statuses (a request counts once, with its final answer): say them here.
    for (const [status, n] of target.retried) warnings.push(`${n} answers were ${status} with Retry-After and were waited out and sent again; those requests count once, with their final answer and the wait in their latency`);
    if (open && open.late > 0) warnings.push(`${open.late} of ${open.intended} requests could not be sent on time (more than ${open.lateMs} ms late): the server (or the generator) could not keep up with ${open.rate}/s`);

    const distributions: Report['distribution'] = { all: distribution(overall.total.hist) };
    for (const [name, t] of overall.endpoints) distributions[name] = distribution(t.hist);
    const server: ServerFigures = sampler && !sampler.failure ? serverFigures(sampler.points) : { available: false, reason: sampler?.failure ?? 'not read (--no-metrics)', scrapes: 0 };
    const requestsStarted = total.requests - (total.statuses.not_sent ?? 0);

    const { url: _url, metricsToken: _token, existingUsers, ...rest } = o;
    const report: Report = {
      schema: REPORT_SCHEMA,
      tool: { name: 'allin loadtest', version: VERSION },
      scenario: o.scenario,
      description: DESCRIPTIONS[o.scenario],
      shape: shapeOf(o),
      target: target.base.toString(),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: round(wall, 3),
      options: { ...rest, existingUsers: existingUsers.length },
      machine: machineInfo(),
      users: { count: users.length, createdVia, setupSeconds: round(setupSeconds, 2) },
      summary: {
        requests: total.requests, ok: total.ok, failed: total.requests - total.ok, successRate: total.successRate,
        offeredRate: open ? open.rate : round(requestsStarted / elapsed, 2),
        achievedRate: round(total.ok / elapsed, 2), throughput: round(requestsStarted / elapsed, 2),
        latency: total.latency, statuses: total.statuses, histogram: encodeHistogram(overall.total.hist),
      },
      endpoints: overall.endpointFigures(),
      timeline: overall.timeline(),
      distribution: distributions,
      server,
      generator,
      ...(open ? { open } : {}),
      ...(stress ? { stress } : {}),
      ...(journey ? { journey } : {}),
      ...(agency ? { agency } : {}),
      warnings,
    };
    return report;
  } finally {
    await target.destroy();
  }
}

export type { LatencySummary };
