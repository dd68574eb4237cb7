// What a network pushes (Meta webhooks), stored the way a polled page is: the same InboxIngest.store, so a
// comment that arrives by push and again by the next poll collapses on the network's id into one message; the
// same live updates and metrics. Polling goes on as the safety net (a lost push is read by the next sweep).
// A pushed identity may be connected to several workspaces: each active account gets the items. The route
// (routes/meta-webhooks.ts) has checked the signature before anything comes here.
// A push that only names what happened (Instagram's mentions: ids, no text) is read with the account's token in
// a resolve_inbox_push job, added in the push's transaction, so Meta's callback is answered at once and a 429 or
// an outage of the network is waited out by the job (taking the account's read budget like a polled page).
import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { NetworkBudgets } from '../../infra/network-budget.ts';
import { addJob } from '../../infra/queue/add-job.ts';
import { ProviderError, type InboxItem, type ProviderId, type PushedItems } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { socialAccounts, type AccountService } from '../accounts/index.ts';
import { inboxCollectionCursors } from './schema.ts';
import type { InboxIngest } from './ingest.ts';
import { newsSince } from './events.ts';
import { countCreated, liveEvents } from './collect.ts';
import type { InboxLive } from './live.ts';

export const RESOLVE_INBOX_PUSH_TASK = 'resolve_inbox_push';
/** Runs of a lookup that failed in a way worth trying again (network errors; a 429 is waited out separately). */
const RESOLVE_MAX_ATTEMPTS = 8;
/** Waits for a 429 or a spent read budget, at most, before the references are given up (polling may still bring them). */
const RESOLVE_MAX_WAITS = 8;

export interface PushOutcome {
  /** Accounts the items were stored for. */
  accounts: number;
  /** Messages stored for the first time. */
  created: number;
}

type Account = typeof socialAccounts.$inferSelect;

interface ResolvePayload { accountId: string; provider: string; source: string; refs: string[]; waits?: number }

export class InboxPush {
  constructor(private readonly d: {
    db: Db; accounts: AccountService; ingest: InboxIngest; metrics: Metrics; log: Logger; registry: ProviderRegistry; budgets: NetworkBudgets; live?: InboxLive;
  }) {}

  async receive(provider: string, pushed: PushedItems[]): Promise<PushOutcome> {
    const out: PushOutcome = { accounts: 0, created: 0 };
    for (const p of pushed) {
      for (const account of await this.d.accounts.activeByIdentity(provider, p.externalId)) {
        const created = await this.store(account, provider, p.source, p.items, async (tx) => {
          if (p.lookups && p.lookups.length > 0) await enqueueResolve(tx, { accountId: account.id, provider, source: p.source, refs: p.lookups }, new Date());
        });
        out.accounts++;
        out.created += created;
      }
    }
    if (out.accounts === 0 && pushed.length > 0) this.d.log.info({ provider, identities: pushed.length }, 'a pushed event names no active account here; ignored');
    return out;
  }

  /**
   * One resolve_inbox_push job: the references a push named, read with the account's token and stored. A 429
   * or a spent budget adds the job again for when the network allows; a refusal (the object gone, comments
   * turned off, a missing permission) ends it; anything else is thrown for the queue to try again.
   */
  async resolve(job: ResolvePayload): Promise<void> {
    const { db, registry, log } = this.d;
    const webhook = registry.isEnabled(job.provider) ? registry.get(job.provider as ProviderId).webhook : undefined;
    const [account] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, job.accountId));
    if (!webhook?.lookup || !account || account.status !== 'active') return;
    const later = async (ms: number) => {
      const waits = (job.waits ?? 0) + 1;
      if (waits > RESOLVE_MAX_WAITS) {
        log.warn({ provider: job.provider, accountId: job.accountId, refs: job.refs.length }, 'pushed references not read after waiting the network out; given up');
        return;
      }
      await enqueueResolve(db, { ...job, waits }, new Date(Date.now() + ms));
    };
    const budget = await this.d.budgets.take(job.provider, job.accountId);
    if (!budget.ok) return later(budget.retryAfterMs);
    let items: InboxItem[];
    try {
      items = await this.d.accounts.withAccountRow(account, (ref) => webhook.lookup!(ref, job.refs));
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'rate_limited') return later(Math.max(1000, err.details.retryAfterMs ?? 60_000));
      if (err instanceof ProviderError && (err.kind === 'permanent' || err.kind === 'auth_expired')) {
        log.warn({ provider: job.provider, accountId: job.accountId, kind: err.kind, reason: err.details.reason }, 'pushed references refused by the network; not stored');
        return;
      }
      throw err;
    }
    await this.store(account, job.provider, job.source, items);
  }

  /** Items of one account, stored in one transaction as a polled page (`also` runs in it); how many were new. */
  private async store(account: Account, provider: string, source: string, items: InboxItem[], also?: (tx: DbOrTx) => Promise<void>): Promise<number> {
    const receivedAt = new Date();
    const result = await this.d.db.transaction(async (tx) => {
      // Messages from before AllIN began collecting this source are history, as for a polled page.
      const [cur] = await tx.select({ createdAt: inboxCollectionCursors.createdAt }).from(inboxCollectionCursors)
        .where(and(eq(inboxCollectionCursors.accountId, account.id), eq(inboxCollectionCursors.source, source)));
      const r = await this.d.ingest.store(tx, account, items, receivedAt, { eventsSince: newsSince(cur?.createdAt ?? receivedAt, account.connectedAt) });
      await also?.(tx);
      return r;
    });
    this.d.live?.publish(account.workspaceId, liveEvents(account.id, result));
    countCreated(this.d.metrics, provider, result, receivedAt);
    return result.created.length;
  }
}

async function enqueueResolve(db: DbOrTx, payload: ResolvePayload, runAt: Date): Promise<void> {
  await addJob(db, RESOLVE_INBOX_PUSH_TASK, { ...payload }, { runAt, maxAttempts: RESOLVE_MAX_ATTEMPTS });
}

/** The resolve_inbox_push task. */
export function resolveInboxPushTask(push: InboxPush) {
  return async (payload: unknown): Promise<void> => {
    const p = payload as Partial<ResolvePayload> | null;
    if (typeof p?.accountId !== 'string' || typeof p.provider !== 'string' || typeof p.source !== 'string' || !Array.isArray(p.refs)) return;
    await push.resolve({ accountId: p.accountId, provider: p.provider, source: p.source, refs: p.refs.filter((r): r is string => typeof r === 'string'), ...(typeof p.waits === 'number' ? { waits: p.waits } : {}) });
  };
}
