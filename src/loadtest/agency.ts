// The `agency` scenario: the list and calendar routes read the way a team at an agency reads them (the
// calendar as the web app asks it, every list a page at a time by its cursor), against the largest workspace of `allin seed` and its 20-post workspace in the same run. Each route is
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

export const GOALS = { pageP95Ms: 50, monthP95Ms: 150, inboxListP95Ms: 25, conversationP95Ms: 15, maxP95Ratio: 2, rssBytes: 300 * 1024 * 1024 } as const;

/** A workspace as the scenario reads it: what its routes need (ids found before the run). */
export interface Place {
  label: 'largest' | '20 posts';
  id: string;
  name: string;
  timeZone: string;
  accounts: string[];
  webhooks: string[];
  /**
   * The day with the most targets among the months the scenario reads, and the cursor of its second page: the
   * first page's nextCursor, or (a day of 50 or fewer, as in the 20-post workspace) the cursor after its first
   * target, so that both workspaces ask the same thing: a day after a cursor.
   */
  busiestDay: { date: string; total: number; cursor: string };
  /** The inbox's labels, and conversations to open (the newest, as a team opens them). */
  inboxLabels: string[];
  conversations: string[];
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
function paged(name: string, first: (p: Place, random: () => number) => string, next: (path: string, cursor: string) => string, cursorOf: (body: Record<string, unknown>) => string | null | undefined, goalP95Ms: number = GOALS.pageP95Ms): Route {
  return {
    name, goalP95Ms,
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

/** The calendar as the web app asks it (web/src/pages/calendar.tsx): a month lists 4 a day, a week 12, a day 50 a page. */
export const CALENDAR_PER_DAY = { month: 4, week: 12, dayPage: 50 } as const;
/** Every list is read a page of this many at a time (deliveries: 20, the web app's page), following nextCursor. */
const LIMIT = 50;

const next = (b: Record<string, unknown>) => b.nextCursor as string | null | undefined;
const withCursor = (path: string, c: string) => withParam(path, 'cursor', c);
const zoneOf = (p: Place) => `timeZone=${encodeURIComponent(p.timeZone)}`;
const dayPath = (p: Place, day: string) => `${ws(p)}/calendar?from=${day}&to=${day}&${zoneOf(p)}&perDay=${CALENDAR_PER_DAY.dayPage}`;

/**
 * The routes, in the order they run. Days are picked around today, where a team looks. Each name says what it
 * asks (the printed table's first column), so a figure is read against the request that made it.
 */
export function agencyRoutes(today = new Date()): Route[] {
  const monday = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - ((today.getUTCDay() + 6) % 7)));
  const { month, week, dayPage } = CALENDAR_PER_DAY;
  return [
    {
      name: `calendar, a month (perDay=${month})`, goalP95Ms: GOALS.monthP95Ms,
      request(p, _c, random) {
        const { from, to } = monthAround(today, Math.floor(random() * 13) - 6); // six months back to six ahead
        return { method: 'GET', path: `${ws(p)}/calendar?from=${from}&to=${to}&${zoneOf(p)}&perDay=${month}` };
      },
    },
    {
      name: `calendar, a week (perDay=${week})`, goalP95Ms: GOALS.pageP95Ms,
      request(p, _c, random) {
        // One of the 26 weeks before this one or the 26 after it.
        const from = new Date(monday.getTime() + (Math.floor(random() * 53) - 26) * 7 * DAY);
        return { method: 'GET', path: `${ws(p)}/calendar?from=${ymd(from)}&to=${ymd(new Date(from.getTime() + 6 * DAY))}&${zoneOf(p)}&perDay=${week}` };
      },
    },
    {
      // The day view "+N more" leads to: from = to = the day, its first page.
      name: `calendar, the busiest day, first page (perDay=${dayPage})`, goalP95Ms: GOALS.pageP95Ms,
      request: (p) => ({ method: 'GET', path: dayPath(p, p.busiestDay.date) }),
    },
    {
      // Its "Load more": the same day after the cursor the first page gave.
      name: `calendar, the busiest day, next page (perDay=${dayPage}, cursor=nextCursor)`, goalP95Ms: GOALS.pageP95Ms,
      request: (p) => ({ method: 'GET', path: withCursor(dayPath(p, p.busiestDay.date), p.busiestDay.cursor) }),
    },
    paged(`posts, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/posts?limit=${LIMIT}`, withCursor, next),
    paged(`posts by status, page after page (limit=${LIMIT}, status=scheduled|draft|pending_approval)`,
      (p, random) => `${ws(p)}/posts?limit=${LIMIT}&status=${pick(['scheduled', 'draft', 'pending_approval'], random)}`, withCursor, next),
    paged(`posts created before a day of the past year, page after page (limit=${LIMIT}, before)`,
      (p, random) => `${ws(p)}/posts?limit=${LIMIT}&before=${encodeURIComponent(new Date(today.getTime() - Math.floor(random() * 365) * DAY).toISOString())}`, withCursor, next),
    paged(`approvals, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/approvals?limit=${LIMIT}`, withCursor, next),
    paged(`an account's queue, page after page (limit=${LIMIT})`, (p, random) => `${ws(p)}/accounts/${pick(p.accounts, random)}/queue?limit=${LIMIT}`, withCursor, next),
    paged(`media, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/media?limit=${LIMIT}`, withCursor, next),
    paged(`audit log, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/audit?limit=${LIMIT}`, withCursor, next),
    paged('webhook deliveries, page after page (limit=20, 30% status=failed)',
      (p, random) => `${ws(p)}/webhooks/${pick(p.webhooks, random)}/deliveries?limit=20${random() < 0.3 ? '&status=failed' : ''}`, withCursor, next),
    paged(`API keys, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/api-keys?limit=${LIMIT}`, withCursor, next),
    paged(`members, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/members?limit=${LIMIT}`, withCursor, next),
    paged(`accounts, page after page (limit=${LIMIT})`, (p) => `${ws(p)}/accounts?limit=${LIMIT}`, withCursor, next),
    // The inbox (goals: 25 ms for a list with filters or a search, 15 ms to open a conversation; docs/PERFORMANCE.md).
    paged(`inbox, page after page (limit=${INBOX_LIMIT})`, (p) => `${ws(p)}/inbox/conversations?limit=${INBOX_LIMIT}`, withCursor, next, GOALS.inboxListP95Ms),
    paged(`inbox filtered, page after page (limit=${INBOX_LIMIT}, one of state, assignee, question, unread, account, label)`,
      (p, random) => `${ws(p)}/inbox/conversations?limit=${INBOX_LIMIT}&${inboxFilter(p, random)}`, withCursor, next, GOALS.inboxListP95Ms),
    paged(`inbox search, page after page (limit=${INBOX_LIMIT}, q=a word people write)`,
      (p, random) => `${ws(p)}/inbox/conversations?limit=${INBOX_LIMIT}&q=${encodeURIComponent(pick(INBOX_WORDS, random))}`, withCursor, next, GOALS.inboxListP95Ms),
    {
      name: 'inbox, a conversation opened (its post, notes, messages and replies)', goalP95Ms: GOALS.conversationP95Ms,
      request: (p, _c, random) => ({ method: 'GET', path: `${ws(p)}/inbox/conversations/${pick(p.conversations, random)}` }),
    },
  ];
}

/** The inbox list as the web app pages it. */
const INBOX_LIMIT = 25;
/** Words the seeded comments carry (src/seed/texts.ts), as a team searches for them. */
const INBOX_WORDS = ['refund', 'order', 'tickets', 'Berlin', 'shipping', 'crashing', 'discount', '"link in your bio"'] as const;

function inboxFilter(p: Place, random: () => number): string {
  switch (Math.floor(random() * 6)) {
    case 0: return `state=${pick(['open', 'assigned', 'done'], random)}`;
    case 1: return `assignee=${pick(['me', 'none'], random)}`;
    case 2: return 'question=true';
    case 3: return 'unread=true';
    case 4: return `accountId=${pick(p.accounts, random)}`;
    default: return p.inboxLabels.length ? `labelId=${pick(p.inboxLabels, random)}` : 'state=open';
  }
}

/** The first and last day (YYYY-MM-DD) of the month `offset` months from today's. */
function monthAround(today: Date, offset: number): { from: string; to: string } {
  return {
    from: ymd(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + offset, 1))),
    to: ymd(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + offset + 1, 0))),
  };
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

/** A compared workspace in the report, with the day its day-view routes read. */
export interface ReportedPlace { id: string; name: string; busiestDay?: { date: string; total: number } }

export interface AgencyReport {
  workspaces: { largest: ReportedPlace; baseline: ReportedPlace };
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
export async function findPlaces(target: Target, token: string, ids: { largest: string | null; baseline: string | null }, today = new Date()): Promise<[Place, Place]> {
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
  /** Every page of a list, following nextCursor. */
  const all = async <T>(path: string, key: string): Promise<T[]> => {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const body: Record<string, unknown> = await get(cursor ? withCursor(path, cursor) : path);
      out.push(...(body[key] as T[]));
      cursor = (body.nextCursor as string | null | undefined) ?? null;
    } while (cursor);
    return out;
  };
  type Day = { date: string; total: number; nextCursor: string | null };
  const busiest = async (w: { id: string; name: string }, zone: string): Promise<Place['busiestDay']> => {
    const base = `/api/workspaces/${w.id}/calendar`;
    let best: Day | undefined;
    for (let m = -6; m <= 6; m++) {
      const { from, to } = monthAround(today, m);
      const { days } = await get<{ days: Day[] }>(`${base}?from=${from}&to=${to}&timeZone=${encodeURIComponent(zone)}&perDay=1`);
      for (const d of days) if (!best || d.total > best.total) best = d;
    }
    if (!best || best.total < 2) throw new SetupError(`agency set-up: no day of "${w.name}" from six months back to six ahead has two targets, so there is no day's next page to read`);
    const day = `${base}?from=${best.date}&to=${best.date}&timeZone=${encodeURIComponent(zone)}`;
    const first = (await get<{ days: Day[] }>(`${day}&perDay=${CALENDAR_PER_DAY.dayPage}`)).days[0]!;
    const cursor = first.nextCursor ?? (await get<{ days: Day[] }>(`${day}&perDay=1`)).days[0]!.nextCursor;
    if (!cursor) throw new SetupError(`agency set-up: the calendar of "${w.name}" gave no nextCursor for ${best.date}, which has ${best.total} targets`);
    return { date: best.date, total: best.total, cursor };
  };
  const describe = async (w: { id: string; name: string }, label: Place['label']): Promise<Place> => {
    const detail = await get<{ settings: { timeZone: string } }>(`/api/workspaces/${w.id}`);
    const accounts = await all<{ id: string }>(`/api/workspaces/${w.id}/accounts?limit=200`, 'accounts');
    const { webhooks } = await get<{ webhooks: { id: string }[] }>(`/api/workspaces/${w.id}/webhooks`);
    if (accounts.length === 0) throw new SetupError(`agency set-up: "${w.name}" has no social accounts, so there is no queue to read`);
    if (webhooks.length === 0) throw new SetupError(`agency set-up: "${w.name}" has no webhooks, so there is no delivery log to read`);
    const zone = detail.settings.timeZone;
    const { labels } = await get<{ labels: { id: string }[] }>(`/api/workspaces/${w.id}/inbox/labels?limit=100`);
    const { conversations } = await get<{ conversations: { id: string }[] }>(`/api/workspaces/${w.id}/inbox/conversations?limit=100`);
    if (conversations.length === 0) throw new SetupError(`agency set-up: "${w.name}" has no inbox conversations to open: seed the database with this version of allin seed`);
    return {
      label, id: w.id, name: w.name, timeZone: zone, accounts: accounts.map((a) => a.id), webhooks: webhooks.map((h) => h.id), busiestDay: await busiest(w, zone),
      inboxLabels: labels.map((l) => l.id), conversations: conversations.map((c) => c.id),
    };
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

const reported = (p: Place): ReportedPlace => ({ id: p.id, name: p.name, busiestDay: { date: p.busiestDay.date, total: p.busiestDay.total } });

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
    workspaces: { largest: reported(d.places[0]), baseline: reported(d.places[1]) },
    vus: d.vus, phaseSeconds: d.phaseSeconds, goals: GOALS, routes: out,
    rss: {
      largestMaxBytes: largestRss, baselineMaxBytes: rssIn('20 posts'),
      verdict: largestRss === null ? 'not read (/metrics)' : largestRss < GOALS.rssBytes ? 'ok' : `${Math.round(largestRss / 1024 / 1024)} MiB ≥ 300 MiB`,
    },
  };
}
