// The `agency` scenario: the list and calendar routes read the way a team at an agency reads them, against
// the largest workspace of `allin seed` and its 20-post workspace in the same run. Each route is
// hammered by the virtual users (closed model, no think time) for one phase on each workspace, one after the
// other (the order alternates from route to route, so a drift of the machine does not favour one side), and
// reported with P50/P95/P99, throughput and the ratio of the two P95s, against the issue's goals: P95 at
// most 50 ms for a page or a week, 150 ms for a month, and at most 2× the 20-post workspace's. The server's
// resident memory is read from /metrics during the phases on the largest workspace (goal: under 300 MiB).
import type { Req, Res, Target } from './http.ts';
import { jsonOf } from './http.ts';
import { Recorder, round } from './stats.ts';
import type { Sampler } from './server-metrics.ts';
import { SetupError, type Credentials } from './users.ts';
import { BASELINE_WORKSPACE_NAME, DEFAULT_SEED_PASSWORD, LARGEST_WORKSPACE_NAME, SEED_OWNER_EMAIL } from '../seed/plan.ts';

export const GOALS = { pageP95Ms: 50, monthP95Ms: 150, maxP95Ratio: 2, rssBytes: 300 * 1024 * 1024 } as const;

/** A workspace as the scenario reads it: what its routes need (ids found before the run). */
export interface Place {
  label: 'largest' | '20 posts';
  id: string;
  name: string;
  timeZone: string;
  accounts: string[];
  webhooks: string[];
}

/** What one virtual user carries from request to request on one workspace: the cursors it follows. */
type Cursors = Record<string, string | undefined>;

interface Route {
  name: string;
  goalP95Ms: number;
  /** The next request of a user on a workspace; `random` in [0, 1). */
  request(place: Place, cursors: Cursors, random: () => number): Req;
  /** Reads the answer for the next request (a cursor); routes without it do not read bodies. */
  after?(res: Res, cursors: Cursors): void;
}

const DAY = 86_400_000;
const ymd = (d: Date) => d.toISOString().slice(0, 10);
const ws = (p: Place) => `/api/workspaces/${p.id}`;
/** Pages a user follows before starting again from the first (someone scrolling a long list). */
const MAX_DEPTH = 20;

/** Follows a list's cursor: the first page, then the next ones, back to the first after MAX_DEPTH or the end. */
function paged(name: string, first: (p: Place, random: () => number) => string, next: (path: string, cursor: string) => string, cursorOf: (body: Record<string, unknown>) => string | null | undefined): Route {
  return {
    name, goalP95Ms: GOALS.pageP95Ms,
    request(p, cursors, random) {
      const c = cursors[name];
      const depth = Number(cursors[`${name}#depth`] ?? 0);
      if (!c || depth >= MAX_DEPTH) {
        cursors[`${name}#depth`] = '1';
        const path = first(p, random);
        cursors[`${name}#path`] = path;
        return { method: 'GET', path };
      }
      cursors[`${name}#depth`] = String(depth + 1);
      return { method: 'GET', path: next(cursors[`${name}#path`]!, c) };
    },
    after(res, cursors) {
      const body = res.status === '200' ? jsonOf<Record<string, unknown>>(res) : undefined;
      cursors[name] = (body && cursorOf(body)) || undefined;
    },
  };
}

const pick = <T>(xs: readonly T[], random: () => number): T => xs[Math.floor(random() * xs.length)]!;
const withParam = (path: string, k: string, v: string) => `${path}${path.includes('?') ? '&' : '?'}${k}=${encodeURIComponent(v)}`;

/** The routes, in the order they run. Days are picked around today, where a team looks. */
export function agencyRoutes(today = new Date()): Route[] {
  const monday = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - ((today.getUTCDay() + 6) % 7)));
  return [
    {
      name: 'calendar, a week', goalP95Ms: GOALS.pageP95Ms,
      request(p, _c, random) {
        // One of the 26 weeks before this one or the 26 after it.
        const from = new Date(monday.getTime() + (Math.floor(random() * 53) - 26) * 7 * DAY);
        return { method: 'GET', path: `${ws(p)}/calendar?from=${ymd(from)}&to=${ymd(new Date(from.getTime() + 6 * DAY))}&timeZone=${encodeURIComponent(p.timeZone)}` };
      },
    },
    {
      name: 'calendar, a month', goalP95Ms: GOALS.monthP95Ms,
      request(p, _c, random) {
        const m = Math.floor(random() * 13) - 6; // six months back to six ahead
        const from = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + m, 1));
        const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + m + 1, 0));
        return { method: 'GET', path: `${ws(p)}/calendar?from=${ymd(from)}&to=${ymd(to)}&timeZone=${encodeURIComponent(p.timeZone)}` };
      },
    },
    paged('posts, page after page', (p) => `${ws(p)}/posts?limit=50`, (path, c) => withParam(path, 'cursor', c), (b) => b.next as string | null),
    paged('posts by status, page after page', (p, random) => `${ws(p)}/posts?limit=50&status=${pick(['scheduled', 'draft', 'pending_approval'], random)}`,
      (path, c) => withParam(path, 'cursor', c), (b) => b.next as string | null),
    { name: 'approvals', goalP95Ms: GOALS.pageP95Ms, request: (p) => ({ method: 'GET', path: `${ws(p)}/approvals` }) },
    {
      name: 'an account\'s queue', goalP95Ms: GOALS.pageP95Ms,
      request: (p, _c, random) => ({ method: 'GET', path: `${ws(p)}/accounts/${pick(p.accounts, random)}/queue` }),
    },
    paged('media, page after page', (p) => `${ws(p)}/media?limit=50`, (path, c) => withParam(path, 'before', c), (b) => b.next as string | null),
    paged('audit log, page after page', (p) => `${ws(p)}/audit?limit=50`, (path, c) => withParam(path, 'before', c),
      (b) => { const e = b.events as { id: number }[] | undefined; return e && e.length === 50 ? String(e.at(-1)!.id) : null; }),
    paged('webhook deliveries, page after page', (p, random) => `${ws(p)}/webhooks/${pick(p.webhooks, random)}/deliveries?limit=20${random() < 0.3 ? '&status=failed' : ''}`,
      (path, c) => withParam(path, 'before', c), (b) => b.nextBefore as string | null),
    { name: 'API keys', goalP95Ms: GOALS.pageP95Ms, request: (p) => ({ method: 'GET', path: `${ws(p)}/api-keys` }) },
  ];
}

export interface PhaseFigures {
  requests: number;
  successRate: number;
  /** Answers per second during the phase. */
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  /** Mean size of an answer (Content-Length), bytes. */
  meanBytes: number | null;
}

export interface AgencyRouteFigures {
  route: string;
  goalP95Ms: number;
  largest: PhaseFigures;
  baseline: PhaseFigures;
  /** P95 on the largest workspace over P95 on the 20-post one. */
  p95Ratio: number | null;
  /** 'ok', or what missed its goal. */
  verdict: string;
}

export interface AgencyReport {
  workspaces: { largest: { id: string; name: string }; baseline: { id: string; name: string } };
  vus: number;
  phaseSeconds: number;
  goals: typeof GOALS;
  routes: AgencyRouteFigures[];
  rss: { largestMaxBytes: number | null; baselineMaxBytes: number | null; verdict: string };
}

/** The users the scenario signs in as: --user with ALLIN_LOADTEST_PASSWORD, else the seed's owner and password. */
export function agencyUsers(existing: string[], env: NodeJS.ProcessEnv = process.env): Credentials[] {
  if (existing.length > 0) {
    const password = env.ALLIN_LOADTEST_PASSWORD;
    if (!password) throw new SetupError('--user needs the password of those users in ALLIN_LOADTEST_PASSWORD');
    return existing.map((email) => ({ email, password }));
  }
  return [{ email: SEED_OWNER_EMAIL, password: env.ALLIN_LOADTEST_PASSWORD ?? DEFAULT_SEED_PASSWORD }];
}

/** Finds the two workspaces (by id, or by the seed's names) and what their routes need. Not measured. */
export async function findPlaces(target: Target, token: string, ids: { largest: string | null; baseline: string | null }): Promise<[Place, Place]> {
  const get = async <T>(path: string): Promise<T> => {
    const r = await target.send({ method: 'GET', path, headers: { authorization: `Bearer ${token}` } });
    const body = jsonOf<T>(r);
    if (r.status !== '200' || !body) throw new SetupError(`agency set-up: GET ${path} answered ${r.status} ${r.text.slice(0, 200)}`);
    return body;
  };
  const { workspaces } = await get<{ workspaces: { id: string; name: string; role: string }[] }>('/api/workspaces');
  const find = (id: string | null, name: string, flag: string) => {
    const w = id ? workspaces.find((x) => x.id === id.toLowerCase()) : workspaces.find((x) => x.name === name);
    if (!w) {
      throw new SetupError(id
        ? `agency set-up: the signed-in user is not a member of workspace ${id} (${flag})`
        : `agency set-up: the signed-in user has no workspace named "${name}": seed the database first (allin seed), or name the workspaces with --workspace and --baseline-workspace`);
    }
    if (w.role !== 'owner' && w.role !== 'admin') throw new SetupError(`agency set-up: the signed-in user is ${w.role} of "${w.name}"; the audit log, API keys and webhooks need an owner or admin`);
    return w;
  };
  const describe = async (w: { id: string; name: string }, label: Place['label']): Promise<Place> => {
    const detail = await get<{ settings: { timeZone: string } }>(`/api/workspaces/${w.id}`);
    const { accounts } = await get<{ accounts: { id: string }[] }>(`/api/workspaces/${w.id}/accounts`);
    const { webhooks } = await get<{ webhooks: { id: string }[] }>(`/api/workspaces/${w.id}/webhooks`);
    if (accounts.length === 0) throw new SetupError(`agency set-up: "${w.name}" has no social accounts, so there is no queue to read`);
    if (webhooks.length === 0) throw new SetupError(`agency set-up: "${w.name}" has no webhooks, so there is no delivery log to read`);
    return { label, id: w.id, name: w.name, timeZone: detail.settings.timeZone, accounts: accounts.map((a) => a.id), webhooks: webhooks.map((h) => h.id) };
  };
  return [
    await describe(find(ids.largest, LARGEST_WORKSPACE_NAME, '--workspace'), 'largest'),
    await describe(find(ids.baseline, BASELINE_WORKSPACE_NAME, '--baseline-workspace'), '20 posts'),
  ];
}

export interface AgencyDeps {
  target: Target;
  places: [Place, Place];
  vus: number;
  phaseSeconds: number;
  random: () => number;
  /** The access token of virtual user `i`. */
  token(i: number): Promise<string | undefined>;
  /** Records a request in the run's overall figures. */
  record(endpoint: string, status: string, start: number, end: number): void;
  sampler?: Sampler;
  progress?: (fraction: number, text: string) => void;
  log?: (line: string) => void;
  routes?: Route[];
}

export const endpointName = (route: string, place: Place['label']) => `${route} · ${place}`;

function phaseFigures(rec: Recorder, seconds: number, bytes: number[]): PhaseFigures {
  const t = rec.totalFigures();
  return {
    requests: t.requests, successRate: t.successRate, throughput: seconds > 0 ? round(t.requests / seconds, 1) : 0,
    p50: t.latency.p50, p95: t.latency.p95, p99: t.latency.p99, max: t.latency.max, statuses: t.statuses,
    meanBytes: bytes.length ? Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length) : null,
  };
}

export function verdictOf(goalP95Ms: number, largest: PhaseFigures, ratio: number | null): string {
  const missed: string[] = [];
  if (largest.successRate < 1) missed.push(`${round((1 - largest.successRate) * 100, 2)}% failed`);
  if (largest.p95 > goalP95Ms) missed.push(`P95 ${largest.p95.toFixed(1)} ms > ${goalP95Ms} ms`);
  if (ratio !== null && ratio > GOALS.maxP95Ratio) missed.push(`P95 ${ratio.toFixed(1)}× the 20-post workspace's`);
  return missed.length ? missed.join('; ') : 'ok';
}

export async function runAgency(d: AgencyDeps): Promise<AgencyReport> {
  const routes = d.routes ?? agencyRoutes();
  const phases = routes.length * 2;
  let done = 0;
  const windows: Record<Place['label'], [number, number][]> = { largest: [], '20 posts': [] };
  const out: AgencyRouteFigures[] = [];
  for (const [i, route] of routes.entries()) {
    const order = i % 2 === 0 ? d.places : [d.places[1], d.places[0]] as const;
    const figures: Partial<Record<Place['label'], PhaseFigures>> = {};
    for (const place of order) {
      const start = performance.now();
      const rec = new Recorder(start);
      const bytes: number[] = [];
      const deadline = start + d.phaseSeconds * 1000;
      const name = endpointName(route.name, place.label);
      d.progress?.(done / phases, `${route.name} on the ${place.label} workspace`);
      await Promise.all(Array.from({ length: d.vus }, async (_, vu) => {
        const cursors: Cursors = {};
        while (performance.now() < deadline) {
          const req = route.request(place, cursors, d.random);
          req.headers = { authorization: `Bearer ${(await d.token(vu)) ?? 'none'}` };
          const t0 = performance.now();
          const res = await d.target.send(req, Boolean(route.after));
          const t1 = performance.now();
          rec.record(name, res.status, t0, t1, t1 - t0);
          d.record(name, res.status, t0, t1);
          const length = Number(res.headers['content-length']);
          if (Number.isFinite(length)) bytes.push(length);
          route.after?.(res, cursors);
        }
      }));
      await d.sampler?.takeNow();
      const end = performance.now();
      windows[place.label].push([start, end]);
      figures[place.label] = phaseFigures(rec, (end - start) / 1000, bytes);
      done++;
    }
    const largest = figures.largest!;
    const baseline = figures['20 posts']!;
    const ratio = baseline.p95 > 0 ? round(largest.p95 / baseline.p95, 2) : null;
    out.push({ route: route.name, goalP95Ms: route.goalP95Ms, largest, baseline, p95Ratio: ratio, verdict: verdictOf(route.goalP95Ms, largest, ratio) });
    d.log?.(`  ${route.name}: P95 ${largest.p95.toFixed(1)} ms on the largest workspace, ${baseline.p95.toFixed(1)} ms on the 20-post one${ratio !== null ? ` (${ratio}×)` : ''}`);
  }
  const rssIn = (label: Place['label']) => {
    const points = d.sampler?.points ?? [];
    const xs = points.filter((p) => p.rssBytes !== undefined && windows[label].some(([a, b]) => p.at >= a && p.at <= b)).map((p) => p.rssBytes!);
    return xs.length ? Math.max(...xs) : null;
  };
  const largestRss = rssIn('largest');
  return {
    workspaces: { largest: { id: d.places[0].id, name: d.places[0].name }, baseline: { id: d.places[1].id, name: d.places[1].name } },
    vus: d.vus, phaseSeconds: d.phaseSeconds, goals: GOALS, routes: out,
    rss: {
      largestMaxBytes: largestRss, baselineMaxBytes: rssIn('20 posts'),
      verdict: largestRss === null ? 'not read (/metrics)' : largestRss < GOALS.rssBytes ? 'ok' : `${Math.round(largestRss / 1024 / 1024)} MiB ≥ 300 MiB`,
    },
  };
}
