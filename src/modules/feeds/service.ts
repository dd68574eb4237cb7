// Feeds to posts: a workspace's RSS, Atom and JSON Feed sources, each with a rule (new items become drafts,
// or posts in each chosen account's queue) and a template. A job fetches the feeds whose time has come;
// each new item is remembered and made into its post in one transaction, so a crash or a second worker never
// makes a second post of it. Items already in a feed when it is added are remembered, not posted.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import type { Logger } from '../../infra/logger.ts';
import { Conflict, DomainError, Invalid, NotFound, UnprocessableContent } from '../../domain/errors.ts';
import { socialAccounts } from '../accounts/index.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import type { PostsService } from '../posts/index.ts';
import { feedItems, feeds, type FeedItemState, type FeedMode } from './schema.ts';
import { FeedFetchError, type FeedFetcher } from './fetch.ts';
import type { FeedItem, ParsedFeed } from './parse.ts';
import { checkTemplate, DEFAULT_TEMPLATE, render } from './template.ts';

export type Feed = typeof feeds.$inferSelect;
export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type FeedItemRow = typeof feedItems.$inferSelect;

export interface FeedsOptions {
  /** Most feeds one workspace may have. */
  maxPerWorkspace: number;
  /** Most new items of one fetch made into posts; the rest wait for the next fetch. */
  maxNewPerFetch: number;
  /** Longest wait after repeated failures, in minutes. */
  maxBackoffMinutes: number;
  /** Feeds fetched by one run of the job. */
  batch: number;
  /** Feeds of one run fetched at once. */
  parallel: number;
}

export interface FeedsDeps {
  db: Db;
  posts: Pick<PostsService, 'writer' | 'scheduling'>;
  fetcher: FeedFetcher;
  log: Logger;
  /** Whether this member may schedule without approval (posts.approve). */
  mayApprove(workspaceId: string, userId: string): Promise<boolean>;
  now?: () => Date;
  options?: Partial<FeedsOptions>;
}

export interface FeedInput {
  url: string;
  mode: FeedMode;
  accountIds: string[];
  template?: string | undefined;
  intervalMinutes?: number | undefined;
}

export interface FeedChange {
  mode?: FeedMode | undefined;
  accountIds?: string[] | undefined;
  template?: string | undefined;
  intervalMinutes?: number | undefined;
  paused?: boolean | undefined;
}

export const MIN_INTERVAL_MINUTES = 15;
export const MAX_INTERVAL_MINUTES = 1440;
export const DEFAULT_INTERVAL_MINUTES = 60;
export const MAX_FEED_ACCOUNTS = 20;
const DEFAULTS: FeedsOptions = { maxPerWorkspace: 100, maxNewPerFetch: 5, maxBackoffMinutes: 24 * 60, batch: 20, parallel: 4 };

export const FETCH_FEEDS_TASK = 'fetch_feeds';

const feedList = keyset('feeds', { createdAt: [feeds.createdAt, 'time'], id: [feeds.id, 'uuid'] }, 'desc');
const itemList = keyset('feed-items', { createdAt: [feedItems.createdAt, 'time'], id: [feedItems.id, 'uuid'] }, 'desc');

const notFound = () => new NotFound('NOT_FOUND', 'No such feed in this workspace.');

export class FeedService {
  private readonly o: FeedsOptions;
  private readonly now: () => Date;

  constructor(private readonly d: FeedsDeps) {
    this.o = { ...DEFAULTS, ...d.options };
    this.now = d.now ?? (() => new Date());
  }

  async list(workspaceId: string, page: PageRequest): Promise<{ items: Feed[]; nextCursor: string | null }> {
    const rows = await this.d.db.select({ row: feeds, ...feedList.fields }).from(feeds)
      .where(and(eq(feeds.workspaceId, workspaceId), feedList.startAfter(page))).orderBy(...feedList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = feedList.page(rows, page.limit);
    return { items: items.map((r) => r.row), nextCursor };
  }

  async get(workspaceId: string, feedId: string, db: DbOrTx = this.d.db): Promise<Feed> {
    const [row] = await db.select().from(feeds).where(and(eq(feeds.id, feedId), eq(feeds.workspaceId, workspaceId)));
    if (!row) throw notFound();
    return row;
  }

  async items(workspaceId: string, feedId: string, page: PageRequest): Promise<{ items: FeedItemRow[]; nextCursor: string | null }> {
    await this.get(workspaceId, feedId);
    const rows = await this.d.db.select({ row: feedItems, ...itemList.fields }).from(feedItems)
      .where(and(eq(feedItems.feedId, feedId), itemList.startAfter(page))).orderBy(...itemList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = itemList.page(rows, page.limit);
    return { items: items.map((r) => r.row), nextCursor };
  }

  /**
   * Adds a feed after reading it once: an address that gives no feed is refused with the reason (422), and
   * the items it holds now are remembered so that only later ones become posts.
   */
  async create(workspaceId: string, userId: string | null, input: FeedInput, actor: Actor): Promise<Feed> {
    const url = checkUrl(input.url);
    const template = checkTemplate(input.template ?? DEFAULT_TEMPLATE);
    const intervalMinutes = input.intervalMinutes ?? DEFAULT_INTERVAL_MINUTES;
    await this.checkAccounts(workspaceId, input.accountIds);
    const [{ n }] = (await this.d.db.execute<{ n: number }>(sql`select count(*)::int as n from feeds where workspace_id = ${workspaceId}`)).rows as [{ n: number }];
    if (n >= this.o.maxPerWorkspace) throw new Conflict('TOO_MANY_FEEDS', `A workspace has at most ${this.o.maxPerWorkspace} feeds; delete one first.`);
    let got;
    try {
      got = await this.d.fetcher.fetch(url);
    } catch (err) {
      if (err instanceof FeedFetchError) throw new UnprocessableContent('FEED_UNREADABLE', `${url}: ${err.message}.`, [{ field: 'body.url', message: err.message }]);
      throw err;
    }
    if (!got.changed) throw new UnprocessableContent('FEED_UNREADABLE', `${url}: the server answered 304 Not Modified to a first request.`, [{ field: 'body.url', message: '304 without a conditional request' }]);
    const now = this.now();
    return this.d.db.transaction(async (tx) => {
      const [feed] = await tx.insert(feeds).values({
        id: randomUUID(), workspaceId, createdBy: userId, url, title: got.feed.title, mode: input.mode, accountIds: input.accountIds, template, intervalMinutes,
        etag: got.etag, lastModified: got.lastModified, lastFetchedAt: now, lastSuccessAt: now, nextFetchAt: new Date(now.getTime() + intervalMinutes * 60_000),
      }).returning();
      await this.remember(tx, feed!.id, got.feed.items, 'seen');
      await audit(tx, { action: 'feed.created', workspaceId, targetType: 'feed', targetId: feed!.id, details: { host: new URL(url).host, mode: input.mode, accounts: input.accountIds.length }, ...actor });
      return feed!;
    });
  }

  async update(workspaceId: string, feedId: string, change: FeedChange, actor: Actor): Promise<Feed> {
    const set: Partial<typeof feeds.$inferInsert> = { updatedAt: this.now() };
    if (change.mode !== undefined) set.mode = change.mode;
    if (change.template !== undefined) set.template = checkTemplate(change.template);
    if (change.accountIds !== undefined) {
      await this.checkAccounts(workspaceId, change.accountIds);
      set.accountIds = change.accountIds;
    }
    if (change.intervalMinutes !== undefined) set.intervalMinutes = change.intervalMinutes;
    if (change.paused !== undefined) set.pausedAt = change.paused ? this.now() : null;
    return this.d.db.transaction(async (tx) => {
      const [row] = await tx.update(feeds).set(set).where(and(eq(feeds.id, feedId), eq(feeds.workspaceId, workspaceId))).returning();
      if (!row) throw notFound();
      await audit(tx, { action: 'feed.updated', workspaceId, targetType: 'feed', targetId: feedId, details: { fields: Object.keys(change).filter((k) => change[k as keyof FeedChange] !== undefined) }, ...actor });
      return row;
    });
  }

  /** Deletes the feed and its memory of items; the posts it made stay. */
  async remove(workspaceId: string, feedId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const gone = await tx.delete(feeds).where(and(eq(feeds.id, feedId), eq(feeds.workspaceId, workspaceId))).returning({ id: feeds.id });
      if (gone.length === 0) throw notFound();
      await audit(tx, { action: 'feed.deleted', workspaceId, targetType: 'feed', targetId: feedId, ...actor });
    });
  }

  /** Fetches one feed now (the "fetch now" button); what its new items became. */
  async fetchNow(workspaceId: string, feedId: string): Promise<{ feed: Feed; made: FeedItemRow[] }> {
    const feed = await this.get(workspaceId, feedId);
    const made = await this.fetchOne(feed);
    return { feed: await this.get(workspaceId, feedId), made };
  }

  /**
   * The job: claims the active feeds whose time has come (their next time moved on at once, so another
   * worker skips them) and fetches each. Returns how many were fetched.
   */
  async fetchDue(): Promise<number> {
    // Batches until none is due, within about a minute (the job runs every minute).
    const started = Date.now();
    let total = 0;
    for (;;) {
      const n = await this.fetchDueBatch();
      total += n;
      if (n < this.o.batch || Date.now() - started > 50_000) return total;
    }
  }

  private async fetchDueBatch(): Promise<number> {
    const now = this.now();
    const due = await this.d.db.transaction(async (tx) => {
      const rows = await tx.select().from(feeds).where(and(isNull(feeds.pausedAt), lte(feeds.nextFetchAt, now)))
        .orderBy(feeds.nextFetchAt).limit(this.o.batch).for('update', { skipLocked: true });
      for (const f of rows) {
        await tx.update(feeds).set({ nextFetchAt: new Date(now.getTime() + f.intervalMinutes * 60_000) }).where(eq(feeds.id, f.id));
      }
      return rows;
    });
    // A few at a time: one slow host (up to the fetch deadline) does not hold up the others.
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(this.o.parallel, due.length) }, async () => {
      while (next < due.length) {
        const feed = due[next++]!;
        try {
          await this.fetchOne(feed);
        } catch (err) {
          this.d.log.error({ err, feedId: feed.id }, 'feed fetch failed');
        }
      }
    }));
    return due.length;
  }

  /** Fetches one feed and makes its new items into posts; failures are recorded on the feed, with a longer wait each time. */
  private async fetchOne(feed: Feed): Promise<FeedItemRow[]> {
    const started = this.now();
    let got;
    try {
      got = await this.d.fetcher.fetch(feed.url, { etag: feed.etag, lastModified: feed.lastModified });
    } catch (err) {
      if (!(err instanceof FeedFetchError)) throw err;
      const errors = feed.errorCount + 1;
      const waitMinutes = Math.min(feed.intervalMinutes * 2 ** Math.min(errors, 10), this.o.maxBackoffMinutes);
      await this.d.db.update(feeds).set({ lastFetchedAt: started, lastError: err.message, errorCount: errors, nextFetchAt: new Date(started.getTime() + waitMinutes * 60_000) })
        .where(eq(feeds.id, feed.id));
      this.d.log.info({ feedId: feed.id, host: hostOf(feed.url), errors, waitMinutes, why: err.message }, 'feed could not be read; fetched again later');
      return [];
    }
    const { made, more } = got.changed ? await this.takeNew(feed, got.feed) : { made: [], more: false };
    await this.d.db.update(feeds).set({
      lastFetchedAt: started, lastSuccessAt: started, lastError: null, errorCount: 0, nextFetchAt: new Date(started.getTime() + feed.intervalMinutes * 60_000),
      // With new items still owed, the validators are forgotten: a 304 next time would hide them.
      ...(got.changed ? { etag: more ? null : got.etag, lastModified: more ? null : got.lastModified, title: got.feed.title ?? feed.title } : {}),
    }).where(eq(feeds.id, feed.id));
    // Submitting for approval is a transaction of the posts module's own, after the post exists: a crash
    // in between leaves a draft (never a second post), which the feed's items list shows as such.
    for (const item of made.filter((m) => m.state === 'submitted')) {
      try {
        await this.d.posts.scheduling.submit(feed.workspaceId, item.postId!, { mode: 'queue' }, null, feed.createdBy, { actorUserId: feed.createdBy, actorApiKeyId: null, ip: null, userAgent: null });
      } catch (err) {
        const reason = err instanceof DomainError ? err.message : 'could not be submitted for approval';
        await this.d.db.update(feedItems).set({ state: 'draft', reason }).where(eq(feedItems.id, item.id));
        item.state = 'draft';
        item.reason = reason;
      }
    }
    return made;
  }

  /**
   * Under the feed's row lock: the items not seen before, oldest first and at most maxNewPerFetch, each
   * remembered and made into its post in one transaction (a savepoint per post, so one refused post is
   * recorded with its reason and does not undo the others).
   */
  private async takeNew(feed: Feed, parsed: ParsedFeed): Promise<{ made: FeedItemRow[]; more: boolean }> {
    // Read before the transaction: the role lookup takes a connection of its own, and one taken while holding
    // another can starve a busy pool.
    const queueDirectly = await this.mayQueueDirectly(feed);
    return this.d.db.transaction(async (tx) => {
      const [current] = await tx.select().from(feeds).where(eq(feeds.id, feed.id)).for('update');
      if (!current) return { made: [], more: false };
      const known = await this.known(tx, feed.id, parsed.items);
      const fresh = parsed.items.filter((i) => !known.keys.has(i.key) && !(i.link && known.links.has(i.link)))
        .sort((a, b) => (a.publishedAt?.getTime() ?? 0) - (b.publishedAt?.getTime() ?? 0));
      const unique = fresh.filter((i, n) => fresh.findIndex((j) => j.key === i.key || (i.link !== null && j.link === i.link)) === n);
      const made: FeedItemRow[] = [];
      for (const item of unique.slice(0, this.o.maxNewPerFetch)) {
        made.push(await this.makePost(tx, current, parsed.title ?? current.title, item, current.mode === 'queue' && queueDirectly));
      }
      return { made, more: unique.length > this.o.maxNewPerFetch };
    });
  }

  private async mayQueueDirectly(feed: Feed): Promise<boolean> {
    if (!(await this.d.posts.scheduling.requiresApproval(feed.workspaceId))) return true;
    return feed.createdBy !== null && this.d.mayApprove(feed.workspaceId, feed.createdBy);
  }

  private async makePost(tx: DbOrTx, feed: Feed, feedTitle: string | null, item: FeedItem, queueDirectly: boolean): Promise<FeedItemRow> {
    const input = { text: render(feed.template, item, feedTitle), targets: feed.accountIds.map((accountId) => ({ accountId })) };
    const actor = { actorUserId: feed.createdBy, actorApiKeyId: null, ip: null, userAgent: null };
    const make = async (schedule: boolean) => (tx as Db).transaction(async (sp) => (await this.d.posts.writer.createIn(sp, feed.workspaceId, feed.createdBy, input, actor,
      schedule ? { spec: { mode: 'queue' }, recurrence: null } : undefined)).id);
    let state: FeedItemState;
    let postId: string | null = null;
    let reason: string | null = null;
    if (feed.mode === 'queue' && queueDirectly) {
      try {
        postId = await make(true);
        state = 'scheduled';
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        reason = `not queued: ${err.message}`;
      }
    }
    if (!postId) {
      try {
        postId = await make(false);
        state = feed.mode === 'queue' && !queueDirectly && !reason ? 'submitted' : 'draft';
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        reason = err.message;
        state = 'failed';
      }
    }
    const [row] = await tx.insert(feedItems).values({
      id: randomUUID(), feedId: feed.id, key: item.key, link: item.link, title: item.title || null, publishedAt: item.publishedAt, state: state!, postId, reason,
    }).returning();
    return row!;
  }

  /** Remembers items without posting them (a feed just added). */
  private async remember(tx: DbOrTx, feedId: string, items: FeedItem[], state: FeedItemState): Promise<void> {
    if (items.length === 0) return;
    await tx.insert(feedItems).values(items.map((i) => ({ id: randomUUID(), feedId, key: i.key, link: i.link, title: i.title || null, publishedAt: i.publishedAt, state })))
      .onConflictDoNothing();
  }

  private async known(tx: DbOrTx, feedId: string, items: FeedItem[]): Promise<{ keys: Set<string>; links: Set<string> }> {
    const keys = items.map((i) => i.key);
    const links = items.map((i) => i.link).filter((l): l is string => l !== null);
    const byKey = keys.length ? await tx.select({ key: feedItems.key }).from(feedItems).where(and(eq(feedItems.feedId, feedId), inArray(feedItems.key, keys))) : [];
    const byLink = links.length ? await tx.select({ link: feedItems.link }).from(feedItems).where(and(eq(feedItems.feedId, feedId), inArray(feedItems.link, links))) : [];
    return { keys: new Set(byKey.map((r) => r.key)), links: new Set(byLink.map((r) => r.link!)) };
  }

  private async checkAccounts(workspaceId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) throw new Invalid('VALIDATION_FAILED', 'Choose at least one account for the feed\'s posts.', [{ field: 'body.accountIds', message: 'empty' }]);
    const unique = [...new Set(ids)];
    const found = await this.d.db.select({ id: socialAccounts.id }).from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, unique)));
    const missing = unique.filter((id) => !found.some((f) => f.id === id));
    if (missing.length > 0) throw new Invalid('VALIDATION_FAILED', `No account ${missing[0]} in this workspace.`, [{ field: 'body.accountIds', message: `unknown account ${missing[0]}` }]);
  }
}

function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new Invalid('VALIDATION_FAILED', `"${raw}" is not a URL; give the feed's full address, like https://example.com/feed.xml.`, [{ field: 'body.url', message: 'not a URL' }]);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Invalid('VALIDATION_FAILED', 'A feed\'s address starts with https:// or http://.', [{ field: 'body.url', message: 'not http(s)' }]);
  if (u.username || u.password) throw new Invalid('VALIDATION_FAILED', 'A feed\'s address must not carry a user name or password.', [{ field: 'body.url', message: 'credentials in URL' }]);
  return u.toString();
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
};
