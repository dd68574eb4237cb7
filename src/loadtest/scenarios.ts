// The named scenarios of `allin loadtest`, their default shapes, and the endpoints a mix can name.
// baseline and scaled are the load tests of the previous AllIN backend, the one this project replaces
// (its week-3 load-testing report, summarised in docs/PERFORMANCE.md): the same users, requests, mix,
// ramp-up and think time, so the figures can be set side by side.
import type { CreateUsers } from './users.ts';

export const SCENARIOS = ['baseline', 'scaled', 'stress', 'journey', 'open', 'agency'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Endpoints a mix can name. `login` signs in with a user's password; `me`/`workspaces` use a session. */
export const ENDPOINTS = {
  health: { name: 'GET /health', method: 'GET', path: '/health', auth: 'none' },
  ready: { name: 'GET /api/health', method: 'GET', path: '/api/health', auth: 'none' },
  login: { name: 'POST /api/auth/login', method: 'POST', path: '/api/auth/login', auth: 'password' },
  me: { name: 'GET /api/auth/me', method: 'GET', path: '/api/auth/me', auth: 'session' },
  workspaces: { name: 'GET /api/workspaces', method: 'GET', path: '/api/workspaces', auth: 'session' },
} as const;
export type EndpointKey = keyof typeof ENDPOINTS;

export interface Rate {
  count: number;
  seconds: number;
}

export interface LoadOptions {
  scenario: ScenarioName;
  url: string;
  /** Virtual users (closed model): each sends a request, waits for the answer, thinks, and so on. */
  vus: number;
  /** Total requests shared by all virtual users (baseline, scaled); null: run for `durationSeconds`. */
  requests: number | null;
  durationSeconds: number | null;
  rampUpSeconds: number;
  /** Think time between a user's requests, uniform in [min, max] milliseconds. */
  thinkMs: [number, number];
  /** Endpoint → share in percent. */
  mix: Partial<Record<EndpointKey, number>>;
  /** open: arrivals per second. */
  rate: number | null;
  /** open: requests in flight at most; arrivals beyond wait (and count as late). */
  maxInflight: number;
  /** open: a request sent more than this after its intended time counts as late. */
  lateMs: number;
  /** stress: virtual users per step. */
  steps: number[];
  stepSeconds: number;
  /** stress: stop after a step whose error rate (0–1) or P95 (ms) is above these. */
  maxErrorRate: number;
  maxP95Ms: number;
  /** journey: journeys per virtual user. */
  iterations: number;
  /** agency: the largest and the 20-post workspace (null: found by the names `allin seed` gives them). */
  workspaceId: string | null;
  baselineWorkspaceId: string | null;
  /** agency: only the routes whose name contains one of these (lower case); null: every route. */
  routes: string[] | null;
  keepPosts: boolean;
  /** Users to create; null: as many as the per-user limit needs. */
  users: number | null;
  createUsers: CreateUsers;
  existingUsers: string[];
  /** The server's LIMIT_API_USER and LIMIT_API_IP, to size the user pool and pace journeys. */
  userLimit: Rate;
  ipLimit: Rate;
  timeoutMs: number;
  metrics: boolean;
  metricsToken: string | undefined;
  seed: number;
  short: boolean;
}

export const DESCRIPTIONS: Record<ScenarioName, string> = {
  baseline: "the seed's baseline: 5 virtual users, 100 requests, 60% GET /health and 40% POST /api/auth/login, no think time",
  scaled: "the seed's scaled test: 50 virtual users, 1,000 requests (same mix), 10 s ramp-up, 100–1,000 ms think time",
  stress: 'steps of more and more virtual users (think time as scaled) until the error rate or P95 passes its limit: throughput and latency per step, the knee and the first resource to give out',
  journey: 'a realistic user: sign in, read the account and its workspace\'s accounts and calendar, write a draft, schedule it, refresh the token, delete the post, sign out',
  open: 'an open model: a constant arrival rate for a duration, latency measured from each request\'s intended send time (corrected for coordinated omission), late sends counted',
  agency: 'the list and calendar routes of `allin seed`\'s largest workspace and of its 20-post workspace in the same run, route by route, each against the goals at agency scale (P95 ≤ 50 ms for a page or a week, ≤ 150 ms for a month, at most 2× the 20-post workspace\'s) and the server\'s memory',
};

const SEED_MIX = { health: 60, login: 40 };

export function defaults(scenario: ScenarioName, short: boolean): Omit<LoadOptions, 'url' | 'metricsToken'> {
  const base = {
    scenario, vus: 5, requests: null as number | null, durationSeconds: null as number | null, rampUpSeconds: 0, thinkMs: [0, 0] as [number, number],
    mix: { ...SEED_MIX } as Partial<Record<EndpointKey, number>>, rate: null as number | null, maxInflight: 256, lateMs: 10,
    steps: [] as number[], stepSeconds: 10, maxErrorRate: 0.05, maxP95Ms: 1000, iterations: 4, keepPosts: false,
    workspaceId: null as string | null, baselineWorkspaceId: null as string | null, routes: null as string[] | null,
    users: null as number | null, createUsers: 'auto' as CreateUsers, existingUsers: [] as string[],
    userLimit: { count: 1200, seconds: 60 }, ipLimit: { count: 300, seconds: 60 },
    timeoutMs: 10_000, metrics: true, seed: 1, short,
  };
  switch (scenario) {
    case 'baseline':
      return { ...base, vus: 5, requests: 100 };
    case 'scaled':
      return short
        ? { ...base, vus: 50, requests: 500, rampUpSeconds: 5, thinkMs: [100, 1000] } // the same users, half as long
        : { ...base, vus: 50, requests: 1000, rampUpSeconds: 10, thinkMs: [100, 1000] };
    case 'stress':
      return short
        ? { ...base, steps: [10, 50, 100, 250], stepSeconds: 5, thinkMs: [100, 1000] }
        : { ...base, steps: [10, 50, 100, 250, 500, 1000], stepSeconds: 10, thinkMs: [100, 1000] };
    case 'journey':
      return { ...base, vus: 5, iterations: short ? 2 : 4, thinkMs: [100, 500], mix: {} };
    case 'open':
      return { ...base, rate: 100, durationSeconds: short ? 10 : 20 };
    case 'agency':
      // 10 concurrent clients, as the issue measures; stepSeconds is each route's phase on each workspace.
      return { ...base, vus: 10, stepSeconds: short ? 2 : 5, mix: {} };
  }
}

/** How an option set reads in one line (reports, compare). */
export function shapeOf(o: LoadOptions): string {
  const think = o.thinkMs[1] > 0 ? `, think ${o.thinkMs[0]}–${o.thinkMs[1]} ms` : '';
  const mix = Object.entries(o.mix).map(([k, v]) => `${k} ${v}%`).join(', ');
  switch (o.scenario) {
    case 'open':
      return `${o.rate}/s for ${o.durationSeconds} s, at most ${o.maxInflight} in flight, late after ${o.lateMs} ms; mix ${mix}`;
    case 'stress':
      return `steps ${o.steps.join(', ')} virtual users, ${o.stepSeconds} s each${think}; stop past ${Math.round(o.maxErrorRate * 1000) / 10}% errors or P95 ${o.maxP95Ms} ms; mix ${mix}`;
    case 'journey':
      return `${o.vus} virtual users × ${o.iterations} journeys${think}`;
    case 'agency':
      return `${o.vus} virtual users, no think time, ${o.stepSeconds} s per route on each workspace`;
    default:
      return `${o.vus} virtual users, ${o.requests !== null ? `${o.requests} requests` : `${o.durationSeconds} s`}${o.rampUpSeconds ? `, ramp-up ${o.rampUpSeconds} s` : ''}${think}; mix ${mix}`;
  }
}

/** Users needed so that no user passes `userLimit` (with half of it to spare), for the session endpoints. */
export function usersNeeded(o: LoadOptions): number {
  if (o.scenario === 'journey') return o.vus;
  if (o.scenario === 'agency') return 1;
  const total = Object.values(o.mix).reduce((a, b) => a + (b ?? 0), 0) || 1;
  const sessionShare = Object.entries(o.mix).filter(([k]) => ENDPOINTS[k as EndpointKey].auth === 'session').reduce((a, [, v]) => a + (v ?? 0), 0) / total;
  if (sessionShare === 0) return 1;
  const perUser = (o.userLimit.count / o.userLimit.seconds) * 0.5;
  let rate: number;
  if (o.scenario === 'open') rate = o.rate ?? 0;
  else {
    const vus = o.scenario === 'stress' ? Math.max(...o.steps) : o.vus;
    const think = (o.thinkMs[0] + o.thinkMs[1]) / 2;
    // Without think time a user's rate is bounded only by the server: assume 2 ms a request.
    rate = vus * (1000 / Math.max(2, think));
  }
  return Math.max(1, Math.ceil((rate * sessionShare) / perUser));
}

/** Seeded random numbers (mulberry32), so a run's mix and think times can be repeated. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exactly `n` endpoint keys in the mix's proportions (largest remainders), shuffled. */
export function plan(mix: Partial<Record<EndpointKey, number>>, n: number, random: () => number): EndpointKey[] {
  const entries = Object.entries(mix).filter(([, v]) => (v ?? 0) > 0) as [EndpointKey, number][];
  const total = entries.reduce((a, [, v]) => a + v, 0);
  const exact = entries.map(([k, v]) => ({ k, x: (v / total) * n }));
  const counts = exact.map((e) => ({ k: e.k, c: Math.floor(e.x), r: e.x - Math.floor(e.x) }));
  let left = n - counts.reduce((a, c) => a + c.c, 0);
  for (const c of [...counts].sort((a, b) => b.r - a.r)) {
    if (left-- <= 0) break;
    c.c++;
  }
  const out: EndpointKey[] = counts.flatMap((c) => Array<EndpointKey>(c.c).fill(c.k));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One endpoint drawn by the mix's weights. */
export function pick(mix: Partial<Record<EndpointKey, number>>, random: () => number): EndpointKey {
  const entries = Object.entries(mix).filter(([, v]) => (v ?? 0) > 0) as [EndpointKey, number][];
  const total = entries.reduce((a, [, v]) => a + v, 0);
  let x = random() * total;
  for (const [k, v] of entries) {
    x -= v;
    if (x < 0) return k;
  }
  return entries.at(-1)![0];
}
