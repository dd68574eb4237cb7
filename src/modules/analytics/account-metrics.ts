// Daily figures of connected accounts (docs/ANALYTICS.md, Account metrics): followers, following and posts,
// and the insights a network gives (reach, impressions, profile views, engagement), one row per account per
// UTC day in account_snapshots; a figure the network does not give stays null.
//
// Schedule. Each account is collected once a day at its own second of the UTC day (a hash of its id), so
// a workspace's accounts, and all of AllIN's, spread over the day instead of meeting at midnight. An account
// new to collection (just connected) is due at once, and that first collection asks for all the history the
// network keeps (meta.accountMetrics.historyDays; none for most networks). Later ones ask again for the last
// few days, so a network's correction of a past day replaces what was stored.
//
// Budget. Every call is taken from the account's allowance on its network (infra/network-budget.ts, shared
// by every worker), as publishing and the inbox do; over budget, the account comes back when it is free.
//
// Errors. A `permanent` answer is the network refusing the account's figures (a missing scope, an account
// type without them): written on the account's collection row with a reason a person can act on, and not
// asked again until the account is reconnected. A refusal of the insights alone keeps the counts coming
// and stops asking for the insights, likewise until a reconnection. rate_limited and transient answers
// come back after a backoff; auth_expired is AccountService.withAccount's (one refresh, then the account
// needs reconnecting, and inactive accounts are not collected).
//
// Tables. This module owns account_snapshots and account_metrics_collection; it reads the accounts
// module's social_accounts (status, connected_at) to know which accounts to collect.
import { createHash } from 'node:crypto';
import { and, asc, eq, gt, gte, lte, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { NetworkBudgets } from '../../infra/network-budget.ts';
import { backoffDelay, type Backoff } from '../../infra/retry.ts';
import { ProviderError, ACCOUNT_METRIC_FIELDS, type AccountFigures, type AccountMetricField, type ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { AccountService } from '../accounts/index.ts';
import { accountMetricsCollection, accountSnapshots } from './schema.ts';

export const COLLECT_ACCOUNT_METRICS_TASK = 'collect_account_metrics';

/**
 * Calls each account may make per window on each network for its own figures, "points/seconds". One
 * collection is one or two calls a day; the budget keeps a backlog (workers down for a day, a burst of
 * reconnections) from spending what publishing and the inbox share on the same account.
 */
export const ACCOUNT_METRICS_BUDGETS: Record<string, string> = {
  sandbox: '10/300',
  mastodon: '10/300', // of the 300 calls per 5 minutes per account (https://docs.joinmastodon.org/api/rate-limits/)
  bluesky: '10/300', // of the 3,000 requests per 5 minutes per IP (https://docs.bsky.app/docs/advanced-guides/rate-limits)
  telegram: '10/300', // the Bot API publishes no limit for reads; one call a day per chat, kept small all the same
  x: '5/900', // GET /2/users/me: a few of its per-user 15-minute window (the exact number depends on the access tier)
};

const MINUTE = 60_000;
const DAY = 86_400_000;
/** How long a run holds an account it claimed before another may take it. */
const LEASE_MS = 15 * MINUTE;
/** Past days asked again at each collection, for a network's late corrections. */
const REREAD_DAYS = 2;
const BACKOFF: Backoff = { baseMs: 5 * MINUTE, capMs: 6 * 60 * MINUTE, jitter: 'equal', maxRetryAfterMs: DAY };

export type Snapshot = { day: string; collectedAt: string } & Record<AccountMetricField, number | null>;

export interface CollectionStatus {
  accountId: string;
  provider: string;
  /** collected; refused (the network refuses the account's figures: see reason); not_offered (AllIN reads none from this network). */
  state: 'collected' | 'refused' | 'not_offered';
  reason: string | null;
  /** The insights alone are refused (the counts still come): why. */
  insightsRefused: string | null;
  fields: AccountMetricField[];
  historyDays: number;
  lastSuccessAt: string | null;
  nextAt: string | null;
  lastError: string | null;
}

export interface AccountCollectResult {
  due: number;
  collected: number;
  refused: number;
  deferred: number;
  failed: number;
}

type Row = typeof accountMetricsCollection.$inferSelect;

export const utcDay = (at: Date | number): string => new Date(at).toISOString().slice(0, 10);
const addDays = (day: string, n: number): string => utcDay(Date.parse(`${day}T00:00:00Z`) + n * DAY);

/** The account's second of the UTC day, the same on every run and every worker. */
export function slotOf(accountId: string): number {
  return createHash('sha256').update(accountId).digest().readUInt32BE(0) % 86_400;
}

/** The next time at the account's slot strictly after `now`. */
export function nextSlot(accountId: string, now: Date): Date {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const at = start + slotOf(accountId) * 1000;
  return new Date(at > now.getTime() ? at : at + DAY);
}

/** A stored figure: a count of at least 0, or null. */
const stored = (f: AccountFigures, k: AccountMetricField): number | null => {
  const v = f[k];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
};

export class AccountMetricsService {
  private readonly now: () => Date;

  constructor(private readonly d: {
    db: Db;
    registry: ProviderRegistry;
    accounts: AccountService;
    budgets: NetworkBudgets;
    log: Logger;
    clock?: () => Date;
    /** Accounts one run collects at most, and how many at once. */
    batch?: number;
    concurrency?: number;
  }) {
    this.now = d.clock ?? (() => new Date());
  }

  /** Networks enabled here whose adapter reads account figures. */
  offering(): ProviderId[] {
    return this.d.registry.enabled().filter((id) => {
      const p = this.d.registry.get(id);
      return typeof p.accountMetrics === 'function' && (p.meta.accountMetrics?.fields.length ?? 0) > 0;
    });
  }

  // ---------- collecting ----------

  /**
   * A collection row for every active account of a network that offers figures (due at once: the backfill),
   * and a refusal lifted for every account reconnected since it was refused.
   */
  async ensure(): Promise<number> {
    const providers = this.offering();
    if (providers.length === 0) return 0;
    const now = this.now();
    const added = await this.d.db.execute(sql`
      insert into account_metrics_collection (account_id, workspace_id, provider, next_at)
      select a.id, a.workspace_id, a.provider, ${now}::timestamptz from social_accounts a
      where a.status = 'active' and a.provider in ${providers}
        and not exists (select 1 from account_metrics_collection c where c.account_id = a.id)
      on conflict do nothing`);
    await this.d.db.execute(sql`
      update account_metrics_collection c set
        refused_at = case when c.refused_at < a.connected_at then null else c.refused_at end,
        refused_reason = case when c.refused_at < a.connected_at then null else c.refused_reason end,
        insights_refused_at = case when c.insights_refused_at < a.connected_at then null else c.insights_refused_at end,
        insights_refused_reason = case when c.insights_refused_at < a.connected_at then null else c.insights_refused_reason end,
        next_at = ${now}::timestamptz
      from social_accounts a
      where a.id = c.account_id and (c.refused_at < a.connected_at or c.insights_refused_at < a.connected_at)`);
    return added.rowCount ?? 0;
  }

  /** Wins up to `limit` due accounts: each is pushed a lease ahead in one statement, so no other run takes it meanwhile. */
  private async claim(limit: number): Promise<Row[]> {
    const providers = this.offering();
    if (providers.length === 0 || limit <= 0) return [];
    const now = this.now();
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      update account_metrics_collection c set next_at = ${new Date(now.getTime() + LEASE_MS)}::timestamptz
      where c.account_id in (
        select c2.account_id from account_metrics_collection c2
        join social_accounts a on a.id = c2.account_id and a.status = 'active'
        where c2.next_at <= ${now}::timestamptz and c2.refused_at is null and c2.provider in ${providers}
        order by c2.next_at limit ${limit}
        for update of c2 skip locked)
      returning c.account_id`);
    const ids = res.rows.map((r) => String(r.account_id));
    if (ids.length === 0) return [];
    return this.d.db.select().from(accountMetricsCollection).where(sql`${accountMetricsCollection.accountId} in ${ids}`);
  }

  /** The collect_account_metrics job: new accounts added, then the due ones collected, a few at a time. */
  async collectDue(limit = this.d.batch ?? 200): Promise<AccountCollectResult> {
    await this.ensure();
    const due = await this.claim(limit);
    const result: AccountCollectResult = { due: due.length, collected: 0, refused: 0, deferred: 0, failed: 0 };
    let next = 0;
    const worker = async () => {
      while (next < due.length) result[await this.collectOne(due[next++]!)]++;
    };
    await Promise.all(Array.from({ length: Math.min(this.d.concurrency ?? 4, due.length) }, worker));
    return result;
  }

  private async collectOne(row: Row): Promise<'collected' | 'refused' | 'deferred' | 'failed'> {
    const provider = this.d.registry.get(row.provider as ProviderId);
    const cap = provider.meta.accountMetrics!;
    const now = this.now();
    const log = { accountId: row.accountId, provider: row.provider };
    const budget = await this.d.budgets.take(row.provider, row.accountId);
    if (!budget.ok) {
      await this.update(row.accountId, { nextAt: new Date(now.getTime() + budget.retryAfterMs) });
      return 'deferred';
    }
    const today = utcDay(now);
    // Networks with history: from the oldest day they keep (the first time), else from a few days back.
    const since = cap.historyDays > 0
      ? (row.daysThrough ? [addDays(row.daysThrough, -REREAD_DAYS), addDays(today, -cap.historyDays)].sort().at(-1)! : addDays(today, -cap.historyDays))
      : undefined;
    let answer;
    try {
      answer = await this.d.accounts.withAccount(row.accountId, (ref) => provider.accountMetrics!(ref, { ...(since ? { since } : {}), insights: row.insightsRefusedAt === null }));
    } catch (err) {
      return this.failed(row, err, now);
    }
    const declared = new Set(cap.fields);
    const only = (f: AccountFigures): AccountFigures => Object.fromEntries(Object.entries(f).filter(([k]) => declared.has(k as AccountMetricField)));
    const days = answer.days.filter((d) => d.date < today && (!since || d.date >= since));
    await this.d.db.transaction(async (tx) => {
      for (const d of days) await this.upsert(tx, row, d.date, only(d.figures), now);
      await this.upsert(tx, row, today, only(answer.now), now);
      const through = days.map((d) => d.date).sort().at(-1);
      await tx.update(accountMetricsCollection).set({
        nextAt: nextSlot(row.accountId, now), lastSuccessAt: now, failures: 0, lastError: null,
        ...(through && (!row.daysThrough || through > row.daysThrough) ? { daysThrough: through } : {}),
        ...(answer.insightsRefused ? { insightsRefusedAt: now, insightsRefusedReason: answer.insightsRefused.slice(0, 500) } : {}),
      }).where(eq(accountMetricsCollection.accountId, row.accountId));
    });
    if (answer.insightsRefused) this.d.log.info({ ...log, reason: answer.insightsRefused }, 'the network refused the insights of an account; only its counts are collected until it is reconnected');
    return 'collected';
  }

  /** A day's figures: those given replace what was stored for the day, the rest are kept. */
  private async upsert(tx: Parameters<Parameters<Db['transaction']>[0]>[0], row: Row, day: string, f: AccountFigures, at: Date): Promise<void> {
    const values = Object.fromEntries(ACCOUNT_METRIC_FIELDS.map((k) => [k, stored(f, k)])) as Record<AccountMetricField, number | null>;
    if (ACCOUNT_METRIC_FIELDS.every((k) => values[k] === null)) return;
    const t = accountSnapshots;
    await tx.insert(t).values({ accountId: row.accountId, workspaceId: row.workspaceId, provider: row.provider, day, ...values, collectedAt: at })
      .onConflictDoUpdate({
        target: [t.accountId, t.day],
        set: {
          followers: sql`coalesce(excluded.followers, ${t.followers})`, following: sql`coalesce(excluded.following, ${t.following})`,
          posts: sql`coalesce(excluded.posts, ${t.posts})`, reach: sql`coalesce(excluded.reach, ${t.reach})`,
          impressions: sql`coalesce(excluded.impressions, ${t.impressions})`, profileViews: sql`coalesce(excluded.profile_views, ${t.profileViews})`,
          engagement: sql`coalesce(excluded.engagement, ${t.engagement})`, collectedAt: sql`excluded.collected_at`,
        },
      });
  }

  private async failed(row: Row, err: unknown, now: Date): Promise<'refused' | 'deferred' | 'failed'> {
    const e = err instanceof ProviderError ? err : null;
    const log = { accountId: row.accountId, provider: row.provider, kind: e?.kind, status: e?.details.status };
    const message = (err as Error)?.message ?? String(err);
    if (e?.kind === 'permanent') {
      const name = this.d.registry.get(row.provider as ProviderId).meta.displayName;
      const reason = `${name} refused this account's figures (${e.details.reason ?? e.message}). AllIN asks again once the account is reconnected.`;
      await this.update(row.accountId, { refusedAt: now, refusedReason: reason.slice(0, 500), lastError: message.slice(0, 500), lastErrorAt: now });
      this.d.log.info({ ...log, reason: e.details.reason }, 'the network refused the figures of an account; not asked again until it is reconnected');
      return 'refused';
    }
    const failures = row.failures + 1;
    const wait = e?.kind === 'auth_expired' ? DAY : backoffDelay(BACKOFF, failures, { retryAfterMs: e?.details.retryAfterMs });
    await this.update(row.accountId, { nextAt: new Date(now.getTime() + wait), failures, lastError: message.slice(0, 500), lastErrorAt: now });
    this.d.log.warn({ ...log, failures, retryInMs: wait, err: message }, 'collecting the figures of an account failed; trying again later');
    return e?.kind === 'rate_limited' ? 'deferred' : 'failed';
  }

  private async update(accountId: string, set: Partial<Row>): Promise<void> {
    await this.d.db.update(accountMetricsCollection).set(set).where(eq(accountMetricsCollection.accountId, accountId));
  }

  // ---------- reading ----------

  /** The account's days in [from, to] (UTC days), oldest first, a page at a time after `after`. */
  async snapshots(workspaceId: string, accountId: string, q: { from: string; to: string; limit: number; after?: string }): Promise<{ items: Snapshot[]; nextAfter: string | null }> {
    await this.d.accounts.get(workspaceId, accountId); // NotFound for an account of another workspace; its rows are then its workspace's
    const t = accountSnapshots;
    const rows = await this.d.db.select().from(t)
      .where(and(eq(t.accountId, accountId), gte(t.day, q.from), lte(t.day, q.to), q.after ? gt(t.day, q.after) : undefined))
      .orderBy(asc(t.day)).limit(q.limit + 1);
    const page = rows.slice(0, q.limit).map((r): Snapshot => ({
      day: r.day, collectedAt: r.collectedAt.toISOString(),
      followers: r.followers, following: r.following, posts: r.posts, reach: r.reach, impressions: r.impressions, profileViews: r.profileViews, engagement: r.engagement,
    }));
    return { items: page, nextAfter: rows.length > q.limit ? page.at(-1)!.day : null };
  }

  /** How collecting the account's figures stands. */
  async status(workspaceId: string, accountId: string): Promise<CollectionStatus> {
    const account = await this.d.accounts.get(workspaceId, accountId);
    const cap = this.offering().includes(account.provider as ProviderId) ? this.d.registry.get(account.provider as ProviderId).meta.accountMetrics! : undefined;
    const [row] = await this.d.db.select().from(accountMetricsCollection).where(eq(accountMetricsCollection.accountId, accountId));
    const base = { accountId, provider: account.provider, fields: cap?.fields ?? [], historyDays: cap?.historyDays ?? 0 };
    if (!cap) return { ...base, state: 'not_offered', reason: `AllIN reads no account figures from ${account.provider} (docs/ANALYTICS.md).`, insightsRefused: null, lastSuccessAt: null, nextAt: null, lastError: null };
    return {
      ...base, state: row?.refusedAt ? 'refused' : 'collected', reason: row?.refusedReason ?? null, insightsRefused: row?.insightsRefusedReason ?? null,
      lastSuccessAt: row?.lastSuccessAt?.toISOString() ?? null, nextAt: row && !row.refusedAt ? row.nextAt.toISOString() : null, lastError: row?.lastError ?? null,
    };
  }
}

/** The collect_account_metrics task: one bounded run over the due accounts. */
export function collectAccountMetricsTask(service: AccountMetricsService, log: Logger) {
  return async (): Promise<void> => {
    const r = await service.collectDue();
    if (r.due > 0) log.info(r, 'account metrics collected');
  };
}
