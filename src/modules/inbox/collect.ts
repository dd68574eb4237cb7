// Collecting one source of one account (the collect_inbox job, one per row of inbox_collection_cursors):
// 1. The run wins the row with a conditional UPDATE (due, and not held by a live run): a lease and a holder
//    id that fences every later write, so a run that stalled past its lease cannot move the cursor back.
// 2. Page by page, each page taken from the account's read budget on the network (NetworkBudgets, shared
//    by every worker): the items and the cursor after them are written in one transaction, so a crash or an
//    error between pages keeps what was stored and the next run carries on after it (duplicates collapse on
//    the network's id either way).
// 3. A 429, a network error or a refusal ends the run: the next one waits the backoff of infra/retry.ts
//    (growing with the failures in a row, never sooner than the network's Retry-After). A token the network
//    refuses is refreshed once by AccountService.withAccount; still refused, the account needs reconnecting
//    and collection stops until it is reconnected.
// 4. The run ends by giving the row back with the time of the next poll and adding the job for it, in one
//    transaction. The scheduler (schedule.ts) adds any job that is missing.
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { NetworkBudgets } from '../../infra/network-budget.ts';
import { backoffDelay, type Backoff } from '../../infra/retry.ts';
import { DomainError } from '../../domain/errors.ts';
import { ProviderError, type InboxPage, type ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { socialAccounts, type AccountService } from '../accounts/index.ts';
import { inboxCollectionCursors } from './schema.ts';
import type { InboxIngest, IngestResult } from './ingest.ts';
import { newsSince } from './events.ts';
import { enqueueCollection } from './jobs.ts';
import type { InboxLive, LiveEvent } from './live.ts';

export interface CollectOptions {
  /** Between two polls of a source that is caught up. */
  pollIntervalMs: number;
  /** Pages one run reads at most; with more waiting, the next run follows at once. */
  pagesPerRun: number;
  /** The longest backoff after failures. */
  backoffMaxMs: number;
  /** How long a run holds its row without writing (each page renews it). */
  leaseMs: number;
}

export type CollectOutcome = 'collected' | 'rate_limited' | 'over_budget' | 'failed' | 'skipped';

type Cursor = typeof inboxCollectionCursors.$inferSelect;
type Account = typeof socialAccounts.$inferSelect;

/** Refusals that asking again soon cannot change: a missing scope, an access level (API tier) without the source. */
const REFUSED_FOR_GOOD = new Set(['missing_scope', 'access_level']);

/** A Retry-After longer than a day is taken as a day. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

class LeaseLost extends Error {}

export class InboxCollector {
  constructor(private readonly d: {
    db: Db;
    registry: ProviderRegistry;
    accounts: AccountService;
    budgets: NetworkBudgets;
    ingest: InboxIngest;
    metrics: Metrics;
    log: Logger;
    options: CollectOptions;
    live?: InboxLive;
  }) {}

  /** The backoff after the n-th failure in a row: from half a poll interval, doubling, jittered, capped. */
  backoff(): Backoff {
    const o = this.d.options;
    return { baseMs: Math.max(1000, Math.floor(o.pollIntervalMs / 2)), capMs: o.backoffMaxMs, jitter: 'equal', maxRetryAfterMs: MAX_RETRY_AFTER_MS };
  }

  /** The collect_inbox job. */
  async run(accountId: string, source: string): Promise<CollectOutcome> {
    const holder = randomBytes(6).toString('hex');
    const row = await this.claim(accountId, source, holder);
    if (!row) return 'skipped';
    const outcome = await this.collect(row, holder).catch(async (err: unknown) => {
      if (err instanceof LeaseLost) {
        this.d.log.warn({ accountId, source }, 'an inbox collection lost its lease; the run that took over carries on');
        return 'skipped' as const;
      }
      throw err; // a bug or the database: the job is retried, the lease runs out, the scheduler hands the row on
    });
    this.d.metrics.inboxCollections.labels(row.provider, outcome).inc();
    return outcome;
  }

  /** Wins the row: due, and free or held by a run whose lease ran out. One statement. */
  private async claim(accountId: string, source: string, holder: string): Promise<Cursor | null> {
    const [row] = await this.d.db.update(inboxCollectionCursors)
      .set({ holder, leaseUntil: sql`now() + (${this.d.options.leaseMs} * interval '1 millisecond')`, lastPolledAt: sql`now()` })
      .where(and(eq(inboxCollectionCursors.accountId, accountId), eq(inboxCollectionCursors.source, source),
        sql`${inboxCollectionCursors.nextPollAt} <= now() + interval '2 seconds'`,
        sql`(${inboxCollectionCursors.leaseUntil} is null or ${inboxCollectionCursors.leaseUntil} < now())`))
      .returning();
    return row ?? null;
  }

  private async collect(row: Cursor, holder: string): Promise<CollectOutcome> {
    const { db, registry } = this.d;
    const [account] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, row.accountId));
    const provider = registry.isEnabled(row.provider) ? registry.get(row.provider as ProviderId) : undefined;
    const inbox = provider?.meta.inbox;
    const offered = provider?.collectInbox && inbox?.sources.some((s) => s.id === row.source)
      && (!inbox.accountKinds || (account !== undefined && inbox.accountKinds.includes(account.kind)));
    if (!account || account.status !== 'active' || !offered) {
      // Not collected while the account is not active or the network no longer offers the source; the
      // scheduler starts again when that changes.
      await this.release(row, holder, { nextPollAt: new Date(Date.now() + this.d.options.pollIntervalMs) }, false);
      return 'skipped';
    }
    let cursor = row.cursor;
    for (let pages = 0; pages < this.d.options.pagesPerRun; pages++) {
      const budget = await this.d.budgets.take(row.provider, row.accountId);
      if (!budget.ok) {
        await this.release(row, holder, { nextPollAt: new Date(Date.now() + budget.retryAfterMs), backoffUntil: new Date(Date.now() + budget.retryAfterMs) });
        return 'over_budget';
      }
      let page: InboxPage;
      try {
        page = await this.d.accounts.withAccount(row.accountId, (ref) => provider.collectInbox!(ref, { source: row.source, cursor }));
      } catch (err) {
        return this.failed(row, holder, account, err);
      }
      await this.store(row, holder, account, page);
      cursor = page.cursor;
      if (!page.more) {
        await this.release(row, holder, { nextPollAt: new Date(Date.now() + this.d.options.pollIntervalMs), success: true });
        return 'collected';
      }
    }
    // More is waiting: the next run follows at once (other jobs get their turn in between).
    await this.release(row, holder, { nextPollAt: new Date(), success: true });
    return 'collected';
  }

  /** A page and the cursor after it, in one transaction, while this run holds the row. */
  private async store(row: Cursor, holder: string, account: Account, page: InboxPage): Promise<void> {
    const receivedAt = new Date();
    const result = await this.d.db.transaction(async (tx) => {
      const held = await tx.update(inboxCollectionCursors).set({
        cursor: page.cursor, leaseUntil: sql`now() + (${this.d.options.leaseMs} * interval '1 millisecond')`,
      }).where(this.heldBy(row, holder)).returning({ source: inboxCollectionCursors.source });
      if (held.length === 0) throw new LeaseLost();
      // Messages written on the network before AllIN began collecting the source are its history: no events.
      return this.d.ingest.store(tx, account, page.items, receivedAt, { eventsSince: newsSince(row.createdAt, account.connectedAt) });
    });
    this.d.live?.publish(account.workspaceId, liveEvents(account.id, result));
    countCreated(this.d.metrics, row.provider, result, receivedAt);
  }

  /** A call that failed: counted, written on the row, and the next run put off by the backoff. */
  private async failed(row: Cursor, holder: string, account: Account, err: unknown): Promise<CollectOutcome> {
    const e = asProviderError(err, row.provider);
    this.d.metrics.inboxCollectionErrors.labels(row.provider, e.kind).inc();
    const failures = row.failures + 1;
    // A token without the scope the inbox needs, or an API access level that does not include the source (X's
    // tiers): only reconnecting the account or a change of plan helps, and publishing goes on meanwhile, so the
    // source is asked again only at the longest backoff (it picks up the change then).
    const wait = REFUSED_FOR_GOOD.has(e.details.reason ?? '') ? this.d.options.backoffMaxMs : backoffDelay(this.backoff(), failures, { retryAfterMs: e.details.retryAfterMs });
    const at = new Date(Date.now() + wait);
    // An account the network refuses has been marked needs_reconnect by withAccount: no job until it is reconnected.
    const again = e.kind !== 'auth_expired';
    await this.release(row, holder, { nextPollAt: at, backoffUntil: at, error: e.message, failures }, again);
    this.d.log.info({ accountId: row.accountId, provider: row.provider, source: row.source, kind: e.kind, failures, retryInMs: wait, username: account.username },
      'inbox collection failed; trying again later');
    return e.kind === 'rate_limited' ? 'rate_limited' : 'failed';
  }

  private heldBy(row: Cursor, holder: string) {
    return and(eq(inboxCollectionCursors.accountId, row.accountId), eq(inboxCollectionCursors.source, row.source), eq(inboxCollectionCursors.holder, holder));
  }

  /** Gives the row back with its next poll, and adds the job for it (unless `again` is false), in one transaction. */
  private async release(row: Cursor, holder: string, next: { nextPollAt: Date; backoffUntil?: Date; success?: boolean; error?: string; failures?: number }, again = true): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const held = await tx.update(inboxCollectionCursors).set({
        holder: null, leaseUntil: null, nextPollAt: next.nextPollAt, backoffUntil: next.backoffUntil ?? null,
        ...(next.success ? { lastSuccessAt: sql`now()`, failures: 0, lastError: null } : {}),
        ...(next.error !== undefined ? { lastError: next.error.slice(0, 500), lastErrorAt: sql`now()`, failures: next.failures ?? row.failures + 1 } : {}),
      }).where(this.heldBy(row, holder)).returning({ source: inboxCollectionCursors.source });
      if (held.length === 0) throw new LeaseLost();
      if (again) await enqueueCollection(tx, row.accountId, row.source, next.nextPollAt);
    });
  }
}

/** Messages stored for the first time, counted, and the lag of the inbound ones (from their creation on the network to their arrival here). */
export function countCreated(metrics: Metrics, provider: string, result: IngestResult, receivedAt: Date): void {
  for (const m of result.created) {
    metrics.inboxMessages.labels(provider, m.direction).inc();
    if (m.direction === 'inbound') metrics.inboxCollectionLag.labels(provider).observe(Math.max(0, receivedAt.getTime() - m.createdOnNetwork.getTime()) / 1000);
  }
}

/** What the open Inbox screens are told of a stored page: new messages per conversation, and conversations whose messages changed. */
export function liveEvents(accountId: string, result: IngestResult): LiveEvent[] {
  const created = new Map<string, { ids: string[]; inbound: number }>();
  for (const m of result.created) {
    const c = created.get(m.conversationId) ?? { ids: [], inbound: 0 };
    c.ids.push(m.id);
    if (m.direction === 'inbound') c.inbound++;
    created.set(m.conversationId, c);
  }
  return [
    ...[...created].map(([conversationId, c]): LiveEvent => ({ type: 'message.created', conversationId, accountId, messageIds: c.ids, inbound: c.inbound })),
    ...result.conversations.filter((id) => !created.has(id)).map((conversationId): LiveEvent => ({ type: 'conversation.changed', conversationId, changes: ['messages'] })),
  ];
}

function asProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  // Refused before any call (the account was disconnected meanwhile).
  if (err instanceof DomainError) return new ProviderError('auth_expired', err.message, { provider, reason: err.code });
  return new ProviderError('transient', `${provider}: ${err instanceof Error ? err.message : String(err)}`, { provider });
}
