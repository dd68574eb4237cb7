// Engagement figures of published posts: a periodic job collects likes, reposts, replies and impressions
// per published target from the networks whose adapters offer `metrics()`, stores one row per collection
// (post_metrics), and the API serves per-post and per-account aggregates through a short cache.
//
// Schedule. A target is collected at fixed ages after it was published, by default +1 h, +6 h, +24 h,
// +3 d, +7 d and +30 d, then never again: engagement moves fast at first and hardly at all after a month.
// It is due when its latest collection is older than the checkpoint it has reached; a run that missed a
// checkpoint (workers down, network busy) collects once for the latest one, not once per missed one.
// A target that was never collected and is older than the last checkpoint plus HORIZON is left alone.
//
// Errors. rate_limited, transient and unknown answers skip the target for this run (the next run tries
// again; a rate-limited account is skipped for the rest of the run); an account that is not active is not
// picked at all; auth_expired is handled by AccountService.withAccount (one refresh, then the account
// needs reconnecting). A `permanent` refusal (the post was deleted, the figures are not ours to read)
// stops collection for good: without a column for it, a marker row with all four figures -1 is stored
// (networks never report negative counts, and adapters' negative figures are dropped); readers skip
// such rows, and the schedule never picks a target whose latest row is one. A successful answer with no
// figures at all (LinkedIn before it has statistics) is stored as all null: a collection for the
// schedule, nothing for the readers.
//
// Tables. This module owns post_metrics. It reads (never writes) the posts module's posts and
// post_targets and the accounts module's social_accounts (status), to pick due targets and to build
// aggregates in one query each instead of one service call per target.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { LRUCache } from 'lru-cache';
import { TtlCache } from '../../infra/cache.ts';
import type { InvalidationBus } from '../../infra/stores/invalidation.ts';
import { Invalid, NotFound } from '../../domain/errors.ts';
import { ProviderError, type ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { AccountService } from '../accounts/index.ts';
import { posts, postTargets } from '../posts/schema.ts';
import { DateTime as Luxon } from 'luxon';
import { assertZone, dayIn, startOfDay } from '../../shared/time.ts';
import { postMetrics } from './schema.ts';

export const COLLECT_POST_METRICS_TASK = 'collect_post_metrics';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Ages after publishing at which figures are collected. */
export const DEFAULT_METRICS_SCHEDULE_MS = [HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, 30 * DAY];
/** A target never collected by the last checkpoint plus this is not collected any more. */
const HORIZON_MS = 7 * DAY;
const POST_TOPIC = 'post_metrics';
const ACCOUNT_TOPIC = 'account_metrics';

export interface AnalyticsOptions {
  /** Ages (ms after publishing) at which to collect, ascending. */
  scheduleMs: number[];
  /** Provider calls in flight at once, per process. */
  concurrency: number;
  /** How long aggregates are cached. */
  cacheTtlMs: number;
  /** Targets one run of the job collects at most. */
  batch: number;
}

export interface AnalyticsDeps {
  db: Db;
  accounts: AccountService;
  registry: ProviderRegistry;
  metrics: Metrics;
  log: Logger;
  /** Cross-process invalidation of the cached aggregates (the worker collects, the API serves). */
  bus?: InvalidationBus;
  clock?: () => Date;
  options?: Partial<AnalyticsOptions>;
}

export type Figures = { likes: number | null; reposts: number | null; replies: number | null; impressions: number | null };
const FIELDS = ['likes', 'reposts', 'replies', 'impressions'] as const;
type Field = (typeof FIELDS)[number];

export type CollectionState = 'not_offered' | 'pending' | 'collecting' | 'done' | 'stopped';

export interface TargetMetrics {
  targetId: string;
  accountId: string;
  provider: string;
  occurrence: number;
  publishedAt: string;
  url: string | null;
  collection: CollectionState;
  /** When the next collection is due (it may be in the past: the next run picks it up); null when none. */
  nextCollectionAt: string | null;
  latest: (Figures & { collectedAt: string }) | null;
  series: (Figures & { collectedAt: string })[];
}

export interface PostMetricsView {
  postId: string;
  totals: Figures;
  targets: TargetMetrics[];
  generatedAt: string;
}

export interface AccountMetricsView {
  accountId: string;
  provider: string;
  from: string;
  to: string;
  timeZone: string;
  /** Posts (published targets of this account) published in the range. */
  posts: number;
  /** Of those, how many have figures. */
  postsWithMetrics: number;
  totals: Figures;
  /** Per post that has the figure, two decimals. */
  averages: Figures;
  days: ({ date: string; posts: number } & Figures)[];
  generatedAt: string;
}

export interface CollectResult {
  due: number;
  collected: number;
  stopped: number;
  skipped: number;
}

interface DueTarget {
  id: string;
  postId: string;
  workspaceId: string;
  accountId: string;
  provider: string;
  remoteId: string;
}

const emptyFigures = (): Figures => ({ likes: null, reposts: null, replies: null, impressions: null });
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
/** The figures of the marker row that stops collection of a target (see the top of this file). */
const STOPPED = -1;
const stoppedFigures = (): Figures => ({ likes: STOPPED, reposts: STOPPED, replies: STOPPED, impressions: STOPPED });
const isStopped = (f: Figures) => FIELDS.every((k) => f[k] === STOPPED);
const hasFigures = (f: Figures) => !isStopped(f) && FIELDS.some((k) => f[k] !== null);
/** A count as stored: a number of at least 0, or null. */
const count = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : null);
const STOPPED_SQL = `(m.likes = ${STOPPED} and m.reposts = ${STOPPED} and m.replies = ${STOPPED} and m.impressions = ${STOPPED})`;
/** SQL: this post_metrics row (alias m) is the stop marker. */
const IS_STOPPED = sql.raw(STOPPED_SQL);
/** SQL: this post_metrics row (alias m) carries figures (it is neither the marker nor an empty answer). */
const HAS_FIGURES = sql.raw(`(not coalesce(${STOPPED_SQL}, false) and (m.likes is not null or m.reposts is not null or m.replies is not null or m.impressions is not null))`);

/** Adds `f` into `acc`, field by field; a field nobody reported stays null. */
function addInto(acc: Figures, f: Figures): void {
  for (const k of FIELDS) if (f[k] !== null) acc[k] = (acc[k] ?? 0) + f[k]!;
}

export class AnalyticsService {
  private readonly now: () => Date;
  private readonly opts: AnalyticsOptions;
  private readonly postCache: TtlCache<PostMetricsView>;
  private readonly accountCache: TtlCache<AccountMetricsView>;
  /**
   * An account's generation, in the keys of its cached aggregates (any range), so one change drops them
   * all: a change gives the account a new number from `genCounter`. Bounded: an account let go here
   * reads `genFloor`, which moves past every number handed out whenever one is let go, so no account can
   * fall back to a number its older entries were stored under.
   */
  private readonly accountGen = new LRUCache<string, number>({
    max: 10_000,
    dispose: (_gen, _account, reason) => { if (reason === 'evict') this.genFloor = ++this.genCounter; },
  });
  private genCounter = 0;
  private genFloor = 0;

  constructor(private readonly d: AnalyticsDeps) {
    this.now = d.clock ?? (() => new Date());
    this.opts = { scheduleMs: DEFAULT_METRICS_SCHEDULE_MS, concurrency: 4, cacheTtlMs: 60_000, batch: 200, ...d.options };
    if (this.opts.scheduleMs.length === 0 || this.opts.scheduleMs.some((v, i, a) => v <= 0 || (i > 0 && v <= a[i - 1]!))) {
      throw new Error('analytics: the collection schedule must be positive ages in ascending order');
    }
    const clockMs = () => this.now().getTime();
    this.postCache = new TtlCache('post_metrics', this.opts.cacheTtlMs, d.metrics, clockMs);
    this.accountCache = new TtlCache('account_metrics', this.opts.cacheTtlMs, d.metrics, clockMs);
    d.bus?.on(POST_TOPIC, (key) => this.postCache.invalidate(key));
    d.bus?.on(ACCOUNT_TOPIC, (accountId) => this.bumpAccount(accountId));
  }

  /** Networks enabled here whose adapter can read figures. */
  private offering(): ProviderId[] {
    return this.d.registry.enabled().filter((id) => typeof this.d.registry.get(id).metrics === 'function');
  }

  private offers(provider: string): boolean {
    return this.d.registry.isEnabled(provider) && typeof this.d.registry.get(provider).metrics === 'function';
  }

  // ---------- collecting ----------

  /** Published targets due for a collection, the longest-due first, at most `limit`. */
  async dueTargets(limit: number): Promise<DueTarget[]> {
    const providers = this.offering();
    if (providers.length === 0 || limit <= 0) return [];
    const now = this.now();
    const secs = this.opts.scheduleMs.map((ms) => Math.round(ms / 1000));
    const first = new Date(now.getTime() - this.opts.scheduleMs[0]!);
    const horizon = new Date(now.getTime() - this.opts.scheduleMs.at(-1)! - HORIZON_MS);
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select t.id, t.post_id, t.workspace_id, t.account_id, t.provider, t.remote_id
      from post_targets t
      join social_accounts a on a.id = t.account_id and a.status = 'active'
      cross join lateral (
        select max(s) as cp from unnest(array[${sql.join(secs.map((s) => sql`${s}`), sql`, `)}]::int[]) s
        where t.published_at + s * interval '1 second' <= ${now}::timestamptz
      ) c
      left join lateral (
        select m.collected_at, coalesce(${IS_STOPPED}, false) as stopped
        from post_metrics m where m.target_id = t.id order by m.collected_at desc, m.id desc limit 1
      ) last on true
      where t.state = 'published' and t.remote_id is not null
        and t.provider in ${providers}
        and t.published_at <= ${first}::timestamptz
        and (last.collected_at is not null or t.published_at > ${horizon}::timestamptz)
        and (last.collected_at is null or (not last.stopped and last.collected_at < t.published_at + c.cp * interval '1 second'))
      order by t.published_at + c.cp * interval '1 second', t.id
      limit ${limit}`);
    return res.rows.map((r) => ({
      id: String(r.id), postId: String(r.post_id), workspaceId: String(r.workspace_id), accountId: String(r.account_id),
      provider: String(r.provider), remoteId: String(r.remote_id),
    }));
  }

  /** The collect_post_metrics job: collects the due targets, a few provider calls at a time. */
  async collectDue(limit = this.opts.batch): Promise<CollectResult> {
    const due = await this.dueTargets(limit);
    const result: CollectResult = { due: due.length, collected: 0, stopped: 0, skipped: 0 };
    const rateLimited = new Set<string>();
    const touchedPosts = new Set<string>();
    const touchedAccounts = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const target = due[next++]!;
        if (rateLimited.has(target.accountId)) {
          result.skipped++;
          continue;
        }
        const outcome = await this.collectOne(target);
        if (outcome === 'rate_limited') rateLimited.add(target.accountId);
        if (outcome === 'collected' || outcome === 'stopped') {
          result[outcome]++;
          touchedPosts.add(`${target.workspaceId}:${target.postId}`);
          touchedAccounts.add(target.accountId);
        } else {
          result.skipped++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, due.length) }, worker));
    await this.invalidate([...touchedPosts], [...touchedAccounts]);
    return result;
  }

  private async collectOne(target: DueTarget): Promise<'collected' | 'stopped' | 'rate_limited' | 'skipped'> {
    const provider = this.d.registry.get(target.provider as ProviderId);
    const log = { targetId: target.id, accountId: target.accountId, provider: target.provider };
    let figures: Figures;
    try {
      const m = await this.d.accounts.withAccount(target.accountId, (ref) => provider.metrics!(ref, target.remoteId));
      figures = { likes: count(m.likes), reposts: count(m.reposts), replies: count(m.replies), impressions: count(m.impressions) };
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'permanent') {
        // The network will not give figures for this post again (deleted, or not readable): stop.
        await this.store(target, stoppedFigures());
        this.d.log.info({ ...log, reason: err.details.reason, status: err.details.status }, 'the network refused the figures of a post; collection stops for it');
        return 'stopped';
      }
      if (err instanceof ProviderError && err.kind === 'rate_limited') {
        this.d.log.info({ ...log, retryAfterMs: err.details.retryAfterMs }, 'rate limited while collecting figures; the next run tries again');
        return 'rate_limited';
      }
      this.d.log.warn({ ...log, err: (err as Error).message, kind: err instanceof ProviderError ? err.kind : undefined }, 'collecting the figures of a post failed; the next run tries again');
      return 'skipped';
    }
    await this.store(target, figures);
    return 'collected';
  }

  private async store(target: DueTarget, f: Figures): Promise<void> {
    await this.d.db.insert(postMetrics).values({ targetId: target.id, accountId: target.accountId, ...f, collectedAt: this.now() });
  }

  /** Drops cached aggregates of these posts ("workspaceId:postId") and accounts, in every process. */
  private async invalidate(postKeys: string[], accountIds: string[]): Promise<void> {
    if (this.d.bus) {
      await this.d.bus.publish(POST_TOPIC, postKeys);
      await this.d.bus.publish(ACCOUNT_TOPIC, accountIds);
      return;
    }
    for (const k of postKeys) this.postCache.invalidate(k);
    for (const a of accountIds) this.bumpAccount(a);
  }

  private bumpAccount(accountId: string): void {
    this.accountGen.set(accountId, ++this.genCounter);
  }

  // ---------- reading ----------

  /** Per published target of the post: latest figures, the series, where its collection is; and totals. */
  async forPost(workspaceId: string, postId: string): Promise<{ value: PostMetricsView; cached: boolean }> {
    return this.postCache.get(`${workspaceId}:${postId}`, () => this.loadPost(workspaceId, postId));
  }

  private async loadPost(workspaceId: string, postId: string): Promise<PostMetricsView> {
    const [post] = await this.d.db.select({ id: posts.id }).from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId)));
    if (!post) throw new NotFound('NOT_FOUND', 'No such post in this workspace.');
    const targets = await this.d.db.select().from(postTargets)
      .where(and(eq(postTargets.postId, postId), eq(postTargets.state, 'published')))
      .orderBy(asc(postTargets.occurrence), asc(postTargets.createdAt), asc(postTargets.id));
    const rows = targets.length
      ? await this.d.db.select().from(postMetrics).where(inArray(postMetrics.targetId, targets.map((t) => t.id)))
        .orderBy(asc(postMetrics.collectedAt), asc(postMetrics.id)).limit(20_000)
      : [];
    const now = this.now();
    const totals = emptyFigures();
    const byTarget = new Map<string, typeof rows>();
    for (const r of rows) {
      const list = byTarget.get(r.targetId);
      if (list) list.push(r);
      else byTarget.set(r.targetId, [r]);
    }
    const out: TargetMetrics[] = targets.map((t) => {
      const mine = byTarget.get(t.id) ?? [];
      const series = mine
        .map((r) => ({ likes: r.likes, reposts: r.reposts, replies: r.replies, impressions: r.impressions, collectedAt: r.collectedAt.toISOString() }))
        .filter((r) => hasFigures(r));
      const latest = series.at(-1) ?? null;
      if (latest) addInto(totals, latest);
      const lastRow = mine.at(-1);
      const { collection, nextCollectionAt } = this.collectionOf(t.provider, t.publishedAt, lastRow ? { at: lastRow.collectedAt, stopped: isStopped(lastRow) } : null, now);
      return {
        targetId: t.id, accountId: t.accountId, provider: t.provider, occurrence: t.occurrence,
        publishedAt: (t.publishedAt ?? t.updatedAt).toISOString(), url: t.remoteUrl, collection, nextCollectionAt, latest, series,
      };
    });
    return { postId, totals, targets: out, generatedAt: now.toISOString() };
  }

  /** Where a target is in the schedule, by the same rule as dueTargets. */
  private collectionOf(provider: string, publishedAt: Date | null, last: { at: Date; stopped: boolean } | null, now: Date): { collection: CollectionState; nextCollectionAt: string | null } {
    if (!this.offers(provider) || !publishedAt) return { collection: 'not_offered', nextCollectionAt: null };
    if (last?.stopped) return { collection: 'stopped', nextCollectionAt: null };
    const checkpoints = this.opts.scheduleMs.map((ms) => publishedAt.getTime() + ms);
    const reached = checkpoints.filter((c) => c <= now.getTime()).at(-1);
    const state: CollectionState = last ? 'collecting' : 'pending';
    if (!last && now.getTime() - publishedAt.getTime() > this.opts.scheduleMs.at(-1)! + HORIZON_MS) return { collection: 'done', nextCollectionAt: null };
    // Due now: the latest checkpoint reached is not covered by a collection.
    if (reached !== undefined && (!last || last.at.getTime() < reached)) return { collection: state, nextCollectionAt: new Date(reached).toISOString() };
    const upcoming = checkpoints.find((c) => c > now.getTime());
    return upcoming === undefined ? { collection: 'done', nextCollectionAt: null } : { collection: state, nextCollectionAt: new Date(upcoming).toISOString() };
  }

  /**
   * Figures of the account's posts published in [from, to] (calendar days in `timeZone`): the latest
   * figures of each, summed, averaged per post, and per day of publishing.
   */
  async forAccount(workspaceId: string, accountId: string, range: MetricsRange): Promise<{ value: AccountMetricsView; cached: boolean }> {
    const gen = this.accountGen.get(accountId) ?? this.genFloor;
    const key = `${workspaceId}:${accountId}:${gen}:${range.from}:${range.to}:${range.timeZone}`;
    return this.accountCache.get(key, () => this.loadAccount(workspaceId, accountId, range));
  }

  private async loadAccount(workspaceId: string, accountId: string, range: MetricsRange): Promise<AccountMetricsView> {
    const account = await this.d.accounts.get(workspaceId, accountId);
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select t.id, t.published_at, m.likes, m.reposts, m.replies, m.impressions, m.target_id is not null as has_metrics
      from post_targets t
      left join lateral (
        select m.target_id, m.likes, m.reposts, m.replies, m.impressions from post_metrics m
        where m.target_id = t.id and ${HAS_FIGURES} order by m.collected_at desc, m.id desc limit 1
      ) m on true
      where t.workspace_id = ${workspaceId} and t.account_id = ${accountId} and t.state = 'published'
        and t.published_at >= ${range.start}::timestamptz and t.published_at < ${range.end}::timestamptz`);
    const days = new Map(range.days.map((date) => [date, { date, posts: 0, ...emptyFigures() }]));
    const totals = emptyFigures();
    const reporting: Record<Field, number> = { likes: 0, reposts: 0, replies: 0, impressions: 0 };
    let withMetrics = 0;
    for (const r of res.rows) {
      const f: Figures = { likes: num(r.likes), reposts: num(r.reposts), replies: num(r.replies), impressions: num(r.impressions) };
      const day = days.get(dayIn(new Date(r.published_at as string | Date), range.timeZone));
      if (day) {
        day.posts++;
        addInto(day, f);
      }
      if (r.has_metrics) withMetrics++;
      addInto(totals, f);
      for (const k of FIELDS) if (f[k] !== null) reporting[k]++;
    }
    const averages = emptyFigures();
    for (const k of FIELDS) if (reporting[k] > 0) averages[k] = Math.round((totals[k]! / reporting[k]) * 100) / 100;
    return {
      accountId, provider: account.provider, from: range.from, to: range.to, timeZone: range.timeZone,
      posts: res.rows.length, postsWithMetrics: withMetrics, totals, averages, days: [...days.values()], generatedAt: this.now().toISOString(),
    };
  }
}

/** Calendar days [from, to] in an IANA zone, as the account aggregates take them. */
export interface MetricsRange {
  from: string;
  to: string;
  timeZone: string;
  /** First instant of `from` and of the day after `to`, in the zone. */
  start: Date;
  end: Date;
  days: string[];
}

export const MAX_RANGE_DAYS = 366;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks and completes a range of days: the zone defaults to UTC, `to` to today in the zone, `from` to 29
 * days before `to` (30 days in all). Refuses, with the field named, a zone that is not IANA, a day that
 * does not exist, `to` before `from`, and more than `maxDays` (MAX_RANGE_DAYS) days.
 */
export function metricsRange(q: { from?: string | undefined; to?: string | undefined; timeZone?: string | undefined }, now: Date, maxDays = MAX_RANGE_DAYS): MetricsRange {
  const timeZone = q.timeZone ?? 'UTC';
  assertZone(timeZone, 'querystring.timeZone');
  const day = (value: string, field: string) => {
    const dt = Luxon.fromISO(value, { zone: 'utc' });
    if (!DAY_RE.test(value) || !dt.isValid) throw new Invalid('VALIDATION_FAILED', `${field}: "${value}" is not a day like 2027-06-01.`, [{ field, message: 'not YYYY-MM-DD' }]);
    return dt;
  };
  const to = day(q.to ?? dayIn(now, timeZone), 'querystring.to');
  const from = q.from !== undefined ? day(q.from, 'querystring.from') : to.minus({ days: 29 });
  const span = Math.round(to.diff(from, 'days').days) + 1;
  if (span < 1) throw new Invalid('VALIDATION_FAILED', `to (${to.toISODate()}) is before from (${from.toISODate()}).`, [{ field: 'querystring.to', message: 'before from' }]);
  if (span > maxDays) throw new Invalid('VALIDATION_FAILED', `The range is ${span} days; ask for at most ${maxDays}.`, [{ field: 'querystring.from', message: 'range too long' }]);
  const days = Array.from({ length: span }, (_, i) => from.plus({ days: i }).toFormat('yyyy-MM-dd'));
  return {
    from: days[0]!, to: days.at(-1)!, timeZone, days,
    start: startOfDay(days[0]!, timeZone), end: startOfDay(to.plus({ days: 1 }).toFormat('yyyy-MM-dd'), timeZone),
  };
}

/** The collect_post_metrics task: one bounded run over the due targets. */
export function collectPostMetricsTask(service: AnalyticsService, log: Logger) {
  return async (payload: unknown): Promise<void> => {
    const asked = (payload as { limit?: unknown } | null)?.limit;
    const limit = typeof asked === 'number' && Number.isInteger(asked) && asked > 0 ? Math.min(asked, 10_000) : undefined;
    const r = await service.collectDue(limit);
    if (r.due > 0) log.info(r, 'post metrics collected');
  };
}
