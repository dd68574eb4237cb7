// Post performance: the post table (every published target of a period with its latest figures, engagement
// and engagement rate, sorted by any of them and keyset-paged on an index per sort), one post's figures per
// target with their growth curve and against its account's own median, and the top and bottom posts of a
// period. Read from post_performance, one row per published target kept by the database triggers that keep
// the rollups (drizzle/0021_post_performance.sql); docs/ANALYTICS.md, *Post performance*, says what each
// figure is and which network gives the rate's denominator.
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { keyset, type Keyset, type KeyKind, type PageRequest } from '../../infra/db/keyset.ts';
import { NotFound } from '../../domain/errors.ts';
import { labels, postLabels, postMetrics, postPerformance as pp } from './schema.ts';
import { posts, postTargets } from '../posts/schema.ts';
import { socialAccounts } from '../accounts/index.ts';
import type { MetricsRange } from './service.ts';

export const POST_SORTS = ['publishedAt', 'engagement', 'engagementRate', 'likes', 'reposts', 'replies', 'impressions'] as const;
export type PostSort = (typeof POST_SORTS)[number];
export type SortOrder = 'asc' | 'desc';

/** The days before a post (or a period's end) whose posts make its account's median. */
export const MEDIAN_WINDOW_DAYS = 90;
const DAY_MS = 86_400_000;

// Each sort key as its index has it (a missing figure as -1: lowest, and no null in a keyset).
const SORT_COLUMN: Record<PostSort, readonly [SQL | typeof pp.publishedAt, KeyKind]> = {
  publishedAt: [pp.publishedAt, 'time'],
  engagement: [sql`coalesce(${pp.engagement}, -1)`, 'int'],
  engagementRate: [sql`coalesce(${pp.ratePpm}, -1)`, 'int'],
  likes: [sql`coalesce(${pp.likes}, -1)`, 'int'],
  reposts: [sql`coalesce(${pp.reposts}, -1)`, 'int'],
  replies: [sql`coalesce(${pp.replies}, -1)`, 'int'],
  impressions: [sql`coalesce(${pp.impressions}, -1)`, 'int'],
};
const lists = new Map<string, Keyset<{ key: readonly [SQL | typeof pp.publishedAt, KeyKind]; id: readonly [typeof pp.targetId, 'uuid'] }>>();
/** The keyset of the post table in one sort and order (each its own cursor name: a cursor of another sort is refused). */
export function postTableList(sort: PostSort, order: SortOrder) {
  const name = `post_table_${sort}_${order}`;
  let list = lists.get(name);
  if (!list) {
    list = keyset(name, { key: SORT_COLUMN[sort], id: [pp.targetId, 'uuid'] as const }, order);
    lists.set(name, list);
  }
  return list;
}

export interface PostFigures {
  likes: number | null;
  reposts: number | null;
  replies: number | null;
  impressions: number | null;
  /** likes + reposts + replies as reported; null when none is. */
  engagement: number | null;
  /** engagement / impressions, as a fraction (0.0123 = 1.23 %), six decimals; null without impressions. */
  engagementRate: number | null;
}

export interface PostRow extends PostFigures {
  targetId: string;
  postId: string;
  accountId: string;
  provider: string;
  username: string;
  publishedAt: string;
  collectedAt: string | null;
  url: string | null;
  /** The post's text (the target's variant's when it has one), at most 280 characters. */
  text: string;
  labels: { id: string; name: string }[];
}

export interface AccountMedian {
  /** Posts of the account in the window that report engagement. */
  posts: number;
  engagement: number | null;
  engagementRate: number | null;
}

export interface PostTableQuery {
  range: MetricsRange;
  /** One account's posts (each sort has its index per account too). */
  accountId?: string | undefined;
  labelId?: string | undefined;
  /** Only posts that report engagement. */
  reported?: boolean | undefined;
  sort: PostSort;
  order: SortOrder;
}

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const rate = (ppm: unknown): number | null => (ppm === null || ppm === undefined ? null : Number(ppm) / 1_000_000);
const figuresOf = (r: Record<string, unknown>): PostFigures => ({
  likes: n(r.likes), reposts: n(r.reposts), replies: n(r.replies), impressions: n(r.impressions), engagement: n(r.engagement), engagementRate: rate(r.rate_ppm ?? r.ratePpm),
});

export class PostPerformance {
  constructor(private readonly d: { db: Db }) {}

  private filters(workspaceId: string, q: Omit<PostTableQuery, 'sort' | 'order'>): SQL {
    return and(
      // One account (checked to be the workspace's by assertQuery) is read on its own index alone.
      q.accountId ? eq(pp.accountId, q.accountId) : eq(pp.workspaceId, workspaceId),
      sql`${pp.publishedAt} >= ${q.range.start.toISOString()}::timestamptz`, sql`${pp.publishedAt} < ${q.range.end.toISOString()}::timestamptz`,
      // Written as the engagement index's expression, so the top and bottom reads stay a range on it.
      q.reported ? sql`coalesce(${pp.engagement}, -1) >= 0` : undefined,
      q.labelId ? sql`exists (select 1 from ${postLabels} where ${postLabels.postId} = ${pp.postId} and ${postLabels.labelId} = ${q.labelId})` : undefined,
    )!;
  }

  /** Checks that the label named is the workspace's (404 otherwise). */
  async assertLabel(workspaceId: string, labelId: string): Promise<void> {
    const [row] = await this.d.db.select({ id: labels.id }).from(labels).where(and(eq(labels.id, labelId), eq(labels.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such label in this workspace.');
  }

  /** Checks that the accounts named are the workspace's (404 naming those that are not). */
  async assertAccounts(workspaceId: string, accountIds: string[]): Promise<void> {
    if (accountIds.length === 0) return;
    const found = await this.d.db.select({ id: socialAccounts.id }).from(socialAccounts)
      .where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, accountIds)));
    const missing = accountIds.filter((id) => !found.some((f) => f.id === id));
    if (missing.length > 0) throw new NotFound('NOT_FOUND', `No such account in this workspace: ${missing.join(', ')}.`);
  }

  /** Checks the label and accounts a query names (404 for another workspace's). */
  async assertQuery(workspaceId: string, q: Omit<PostTableQuery, 'sort' | 'order'>): Promise<void> {
    if (q.labelId) await this.assertLabel(workspaceId, q.labelId);
    if (q.accountId) await this.assertAccounts(workspaceId, [q.accountId]);
  }

  /** A page of the post table. */
  async table(workspaceId: string, q: PostTableQuery, page: PageRequest, checked = false): Promise<{ items: PostRow[]; nextCursor: string | null }> {
    if (!checked) await this.assertQuery(workspaceId, q);
    const list = postTableList(q.sort, q.order);
    const rows = await this.d.db.select({
      targetId: pp.targetId, postId: pp.postId, accountId: pp.accountId, provider: pp.provider, publishedAt: pp.publishedAt, collectedAt: pp.collectedAt,
      likes: pp.likes, reposts: pp.reposts, replies: pp.replies, impressions: pp.impressions, engagement: pp.engagement, ratePpm: pp.ratePpm,
      username: socialAccounts.username, url: postTargets.remoteUrl,
      text: sql<string>`left(coalesce(${postTargets.variant}->>'text', ${posts.text}), 280)`,
      ...list.fields,
    }).from(pp)
      .innerJoin(postTargets, eq(postTargets.id, pp.targetId))
      .innerJoin(posts, eq(posts.id, pp.postId))
      .innerJoin(socialAccounts, eq(socialAccounts.id, pp.accountId))
      .where(and(this.filters(workspaceId, q), list.startAfter(page)))
      .orderBy(...list.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = list.page(rows, page.limit);
    const labelsOf = await this.labelsOf(workspaceId, [...new Set(items.map((r) => r.postId))]);
    return { items: items.map((r) => this.present(r, labelsOf)), nextCursor };
  }

  /** Every row of the post table in its order, a page at a time (for the CSV export). */
  async *allRows(workspaceId: string, q: PostTableQuery, pageSize = 500): AsyncGenerator<PostRow> {
    let cursor: string | undefined;
    do {
      const page = await this.table(workspaceId, q, { limit: pageSize, cursor }, true);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  private async labelsOf(workspaceId: string, postIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
    const out = new Map<string, { id: string; name: string }[]>();
    if (postIds.length === 0) return out;
    const rows = await this.d.db.select({ postId: postLabels.postId, id: labels.id, name: labels.name }).from(postLabels)
      .innerJoin(labels, eq(labels.id, postLabels.labelId))
      .where(and(inArray(postLabels.postId, postIds), eq(postLabels.workspaceId, workspaceId))).orderBy(asc(labels.name), asc(labels.id));
    for (const r of rows) {
      const list = out.get(r.postId);
      if (list) list.push({ id: r.id, name: r.name });
      else out.set(r.postId, [{ id: r.id, name: r.name }]);
    }
    return out;
  }

  /**
   * The best (or worst) posts of a period by engagement, among those that report it: of the whole workspace
   * (one read along the engagement index), or of a set of its accounts (each account's few along its own
   * index, the handful merged here).
   */
  async extremes(workspaceId: string, q: { range: MetricsRange; accountIds?: string[] | undefined }, which: 'top' | 'bottom', limit: number): Promise<PostRow[]> {
    const order: SortOrder = which === 'top' ? 'desc' : 'asc';
    if (!q.accountIds) return (await this.table(workspaceId, { range: q.range, reported: true, sort: 'engagement', order }, { limit }, true)).items;
    if (q.accountIds.length === 0) return [];
    const dir = sql.raw(order);
    const ids = sql`array[${sql.join(q.accountIds.map((id) => sql`${id}::uuid`), sql`, `)}]`;
    const res = await this.d.db.execute<{ target_id: string; k: string }>(sql`
      select x.target_id, x.k from unnest(${ids}) as a(id) cross join lateral (
        select p.target_id, coalesce(p.engagement, -1) as k from post_performance p
        where p.account_id = a.id and coalesce(p.engagement, -1) >= 0
          and p.published_at >= ${q.range.start.toISOString()}::timestamptz and p.published_at < ${q.range.end.toISOString()}::timestamptz
        order by coalesce(p.engagement, -1) ${dir}, p.target_id ${dir} limit ${limit}) x`);
    const sign = order === 'desc' ? -1 : 1;
    const picked = res.rows
      .sort((a, b) => sign * (Number(a.k) - Number(b.k)) || sign * (a.target_id < b.target_id ? -1 : a.target_id > b.target_id ? 1 : 0))
      .slice(0, limit).map((r) => r.target_id);
    return this.byTargets(workspaceId, picked);
  }

  private async byTargets(workspaceId: string, targetIds: string[]): Promise<PostRow[]> {
    if (targetIds.length === 0) return [];
    const rows = await this.d.db.select({
      targetId: pp.targetId, postId: pp.postId, accountId: pp.accountId, provider: pp.provider, publishedAt: pp.publishedAt, collectedAt: pp.collectedAt,
      likes: pp.likes, reposts: pp.reposts, replies: pp.replies, impressions: pp.impressions, engagement: pp.engagement, ratePpm: pp.ratePpm,
      username: socialAccounts.username, url: postTargets.remoteUrl,
      text: sql<string>`left(coalesce(${postTargets.variant}->>'text', ${posts.text}), 280)`,
    }).from(pp)
      .innerJoin(postTargets, eq(postTargets.id, pp.targetId))
      .innerJoin(posts, eq(posts.id, pp.postId))
      .innerJoin(socialAccounts, eq(socialAccounts.id, pp.accountId))
      .where(and(eq(pp.workspaceId, workspaceId), inArray(pp.targetId, targetIds)));
    const labelsOf = await this.labelsOf(workspaceId, [...new Set(rows.map((r) => r.postId))]);
    const at = new Map(targetIds.map((id, i) => [id, i]));
    return rows.sort((a, b) => at.get(a.targetId)! - at.get(b.targetId)!).map((r) => this.present(r, labelsOf));
  }

  private present(r: Record<string, unknown> & { targetId: string; postId: string; accountId: string; provider: string; username: string; publishedAt: Date; collectedAt: Date | null; url: string | null; text: string | null }, labelsOf: Map<string, { id: string; name: string }[]>): PostRow {
    return {
      targetId: r.targetId, postId: r.postId, accountId: r.accountId, provider: r.provider, username: r.username,
      publishedAt: r.publishedAt.toISOString(), collectedAt: r.collectedAt ? r.collectedAt.toISOString() : null, url: r.url, text: r.text ?? '',
      ...figuresOf(r), labels: labelsOf.get(r.postId) ?? [],
    };
  }

  /**
   * The median engagement and engagement rate of an account's posts published in [from, to), among those
   * that report it (percentile_cont: the mean of the two middle ones for an even count).
   */
  async accountMedians(accountIds: string[], from: Date, to: Date, exceptTarget?: string): Promise<Map<string, AccountMedian>> {
    const out = new Map<string, AccountMedian>();
    if (accountIds.length === 0) return out;
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select ${pp.accountId} as account_id, count(${pp.engagement})::int as posts,
        percentile_cont(0.5) within group (order by ${pp.engagement}) as engagement,
        percentile_cont(0.5) within group (order by ${pp.ratePpm}) as rate_ppm
      from ${pp}
      where ${inArray(pp.accountId, accountIds)} and ${pp.publishedAt} >= ${from.toISOString()}::timestamptz and ${pp.publishedAt} < ${to.toISOString()}::timestamptz
        and ${pp.engagement} is not null ${exceptTarget ? sql`and ${pp.targetId} <> ${exceptTarget}` : sql``}
      group by 1`);
    for (const r of res.rows) {
      const ppm = n(r.rate_ppm);
      out.set(String(r.account_id), { posts: Number(r.posts), engagement: n(r.engagement), engagementRate: ppm === null ? null : Math.round(ppm) / 1_000_000 });
    }
    return out;
  }

  /**
   * One post's performance: per published target its latest figures, its growth curve (every collection
   * with its age), and its engagement against the median of its account's posts published in the
   * MEDIAN_WINDOW_DAYS before it.
   */
  async forPost(workspaceId: string, postId: string) {
    const [post] = await this.d.db.select({ id: posts.id }).from(posts).where(and(eq(posts.id, postId), eq(posts.workspaceId, workspaceId)));
    if (!post) throw new NotFound('NOT_FOUND', 'No such post in this workspace.');
    const rows = await this.d.db.select().from(pp).where(and(eq(pp.postId, postId), eq(pp.workspaceId, workspaceId))).orderBy(asc(pp.publishedAt), asc(pp.targetId));
    const series = rows.length
      ? await this.d.db.select().from(postMetrics).where(inArray(postMetrics.targetId, rows.map((r) => r.targetId)))
        .orderBy(asc(postMetrics.collectedAt), asc(postMetrics.id)).limit(20_000)
      : [];
    const labelsOf = await this.labelsOf(workspaceId, [postId]);
    const targets = [];
    for (const r of rows) {
      const medians = await this.accountMedians([r.accountId], new Date(r.publishedAt.getTime() - MEDIAN_WINDOW_DAYS * DAY_MS), r.publishedAt, r.targetId);
      const median = medians.get(r.accountId) ?? { posts: 0, engagement: null, engagementRate: null };
      const f = figuresOf(r as unknown as Record<string, unknown>);
      const curve = series.filter((m) => m.targetId === r.targetId)
        .filter((m) => !(m.likes === -1 && m.reposts === -1 && m.replies === -1 && m.impressions === -1))
        .filter((m) => m.likes !== null || m.reposts !== null || m.replies !== null || m.impressions !== null)
        .map((m) => {
          const engagement = m.likes === null && m.reposts === null && m.replies === null ? null : (m.likes ?? 0) + (m.reposts ?? 0) + (m.replies ?? 0);
          return {
            collectedAt: m.collectedAt.toISOString(), ageHours: Math.round(((m.collectedAt.getTime() - r.publishedAt.getTime()) / 3_600_000) * 100) / 100,
            likes: m.likes, reposts: m.reposts, replies: m.replies, impressions: m.impressions, engagement,
          };
        });
      targets.push({
        targetId: r.targetId, accountId: r.accountId, provider: r.provider, publishedAt: r.publishedAt.toISOString(),
        collectedAt: r.collectedAt ? r.collectedAt.toISOString() : null, latest: f, curve,
        accountMedian: {
          ...median, windowDays: MEDIAN_WINDOW_DAYS,
          engagementRatio: f.engagement !== null && median.engagement ? Math.round((f.engagement / median.engagement) * 100) / 100 : null,
          engagementDiff: f.engagement !== null && median.engagement !== null ? f.engagement - median.engagement : null,
        },
      });
    }
    return { postId, labels: labelsOf.get(postId) ?? [], targets };
  }
}
