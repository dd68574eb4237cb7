// What a network pushes (Meta webhooks), stored the way a polled page is: the same InboxIngest.store, so a
// comment that arrives by push and again by the next poll collapses on the network's id into one message; the
// same live updates and metrics. Polling goes on as the safety net (a lost push is read by the next sweep).
// A pushed identity may be connected to several workspaces: each active account gets the items. The route
// (routes/meta-webhooks.ts) has checked the signature before anything comes here.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { PushedItems } from '../../providers/types.ts';
import type { AccountService } from '../accounts/index.ts';
import { inboxCollectionCursors } from './schema.ts';
import type { InboxIngest } from './ingest.ts';
import { newsSince } from './events.ts';
import { countCreated, liveEvents } from './collect.ts';
import type { InboxLive } from './live.ts';

export interface PushOutcome {
  /** Accounts the items were stored for. */
  accounts: number;
  /** Messages stored for the first time. */
  created: number;
}

export class InboxPush {
  constructor(private readonly d: { db: Db; accounts: AccountService; ingest: InboxIngest; metrics: Metrics; log: Logger; live?: InboxLive }) {}

  async receive(provider: string, pushed: PushedItems[]): Promise<PushOutcome> {
    const out: PushOutcome = { accounts: 0, created: 0 };
    for (const p of pushed) {
      for (const account of await this.d.accounts.activeByIdentity(provider, p.externalId)) {
        const receivedAt = new Date();
        const result = await this.d.db.transaction(async (tx) => {
          // Messages from before AllIN began collecting this source are history, as for a polled page.
          const [cur] = await tx.select({ createdAt: inboxCollectionCursors.createdAt }).from(inboxCollectionCursors)
            .where(and(eq(inboxCollectionCursors.accountId, account.id), eq(inboxCollectionCursors.source, p.source)));
          return this.d.ingest.store(tx, account, p.items, receivedAt, { eventsSince: newsSince(cur?.createdAt ?? receivedAt, account.connectedAt) });
        });
        this.d.live?.publish(account.workspaceId, liveEvents(account.id, result));
        countCreated(this.d.metrics, provider, result, receivedAt);
        out.accounts++;
        out.created += result.created.length;
      }
    }
    if (out.accounts === 0 && pushed.length > 0) this.d.log.info({ provider, identities: pushed.length }, 'a pushed event names no active account here; ignored');
    return out;
  }
}
