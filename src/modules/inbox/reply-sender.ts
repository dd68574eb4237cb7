// Sending a queued reply exactly once (docs/INBOX.md, Answering), the way publishing sends a post
// (src/modules/publishing/service.ts, whose structure this follows):
//
// 1. The job wins the reply with a conditional UPDATE (queued and due → sending, with a lease and this
//    run's id); a loser does nothing. A reply left sending by a dead worker is won back once its lease has
//    run out (sweep adds its job again).
// 2. The call that creates the reply is first written down (inbox_reply_attempts, in_flight, committed)
//    with the marker the network gets as its idempotency key. Whoever takes the reply after a crash asks
//    the network first (findReply): found → published; absent → sending is safe; cannot tell → unknown.
// 3. 429 and 5xx (nothing created) go back to queued with backoff (src/infra/retry.ts), never sooner than
//    Retry-After, up to maxAttempts; a timeout after sending is reconciled at once; a refusal fails with the
//    network's reason.
// 4. The lease is extended while the run holds the reply, and every write after the claim checks the run
//    still holds it (a fence). An attempt has a ceiling: past it its network calls are ended and it is
//    reconciled like any timeout.
// 5. Published: the reply's row, its attempt, and the reply as an outbound message of the conversation,
//    in one transaction; the collected copy later collapses with it on the network's id.
//
// An action on a message (like, unlike, hide, unhide, delete: actions.ts) is a row of the same table and goes
// the same way; what settles its unknown outcome is the message's state read back from the network
// (messageState: liked by the account, hidden, gone), and once done the message shows the new state.
import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { backoffDelay } from '../../infra/retry.ts';
import { DomainError } from '../../domain/errors.ts';
import { ProviderError, type MessageAction, type MessageState, type ProviderId, type PublishedPost } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { AccountService } from '../accounts/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { audit } from '../audit/index.ts';
import type { InboxIngest } from './ingest.ts';
import type { InboxEvents } from './events.ts';
import type { InboxLive } from './live.ts';
import { enqueueReply } from './jobs.ts';
import { inboxConversations, inboxMessages, inboxReplies, inboxReplyAttempts } from './schema.ts';
import { QUESTION_MARKS } from './language.ts';

export interface ReplySenderOptions {
  leaseMs: number;
  /** The ceiling of one attempt: past it the lease is no longer extended and its network calls are ended. */
  attemptMaxMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ReplySenderDeps {
  db: Db;
  /** Tells the team (webhooks) in the transaction that records a reply's end. */
  events?: InboxEvents;
  /** Live updates: the reply's state once it changes. */
  live?: InboxLive;
  registry: ProviderRegistry;
  accounts: AccountService;
  ingest: InboxIngest;
  /** Ends the network calls made inside `fn` when `signal` aborts (the HttpClient). */
  outbound?: { withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> };
  metrics: Metrics;
  log: Logger;
  options: ReplySenderOptions;
}

type ReplyRow = typeof inboxReplies.$inferSelect;
type AttemptRow = typeof inboxReplyAttempts.$inferSelect;
type Outcome = 'published' | 'done' | 'failed' | 'unknown' | 'retry' | 'lost_lease' | 'skipped';
interface Failure { errorClass: string; message: string; status?: number }

/** A Retry-After longer than this is taken as this (as for publishing). */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** The marker (idempotency key) a reply's network call carries: one per reply, so every try of it is the same request. */
export const replyMarkerOf = (replyId: string) => `allin-reply-${replyId}`;
/** An action's marker: the key of the one change it asks for. */
export const actionMarkerOf = (actionId: string) => `allin-action-${actionId}`;
const markerOf = (r: ReplyRow) => (r.kind === 'reply' ? replyMarkerOf(r.id) : actionMarkerOf(r.id));

/** Whether the message, as the network shows it, has what the action asked for (null: the network does not say). */
function reached(action: MessageAction, s: MessageState): boolean | null {
  switch (action) {
    case 'delete': return s.deleted;
    case 'like': return s.deleted ? false : s.likedByMe ?? null;
    case 'unlike': return s.deleted ? true : s.likedByMe === undefined ? null : !s.likedByMe;
    case 'hide': return s.deleted ? false : s.hidden ?? null;
    case 'unhide': return s.deleted ? true : s.hidden === undefined ? null : !s.hidden;
  }
}

class LeaseLost extends Error {}

const CLAIM_SQL = `
  update inbox_replies set state = 'sending', worker_id = $2::text, lease_until = now() + ($3::float8 * interval '1 millisecond'),
         attempts = attempts + 1, updated_at = now()
   where id = $1::uuid and (
         (state = 'queued' and coalesce(next_attempt_at, created_at) <= now() + interval '2 seconds')
      or (state = 'sending' and lease_until < now()))
  returning *`;

export class InboxReplySender {
  constructor(private readonly d: ReplySenderDeps) {}

  /** The send_inbox_reply job. */
  async run(replyId: string, processId: string): Promise<Outcome> {
    const holder = `${randomBytes(4).toString('hex')}:${processId}`;
    const r = await this.d.db.$client.query<Record<string, unknown>>({ text: CLAIM_SQL, values: [replyId, holder, this.d.options.leaseMs] });
    if (r.rows.length === 0) return 'skipped';
    const [reply] = await this.d.db.select().from(inboxReplies).where(and(eq(inboxReplies.id, replyId), eq(inboxReplies.workerId, holder)));
    if (!reply) return 'skipped';
    const stopLease = this.keepLease(replyId, holder);
    const ceiling = new AbortController();
    const ceilingMs = this.d.options.attemptMaxMs;
    const timer = setTimeout(() => {
      // The lease runs out on its own unless this run records an outcome first; a call cut after it was
      // sent makes the reply reconcile.
      stopLease();
      ceiling.abort(new Error(`the reply attempt ran past its ceiling of ${ceilingMs / 1000} s`));
    }, ceilingMs);
    timer.unref();
    let outcome: Outcome;
    try {
      const attempt = () => this.send(reply, holder, processId);
      outcome = await (this.d.outbound ? this.d.outbound.withSignal(ceiling.signal, attempt) : attempt());
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err; // the queue retries the job; after the lease, sweep hands the reply on
      this.d.log.warn({ replyId }, 'lost the lease on a reply while sending; the next holder reconciles');
      outcome = 'lost_lease';
    } finally {
      clearTimeout(timer);
      stopLease();
    }
    if (reply.kind === 'reply') this.d.metrics.inboxReplies.labels(reply.provider, outcome).inc();
    else this.d.metrics.inboxActions.labels(reply.provider, reply.kind, outcome).inc();
    const state = outcome === 'retry' ? 'queued' : outcome === 'published' || outcome === 'done' || outcome === 'failed' || outcome === 'unknown' ? outcome : null;
    if (state && reply.kind === 'reply') this.d.live?.publish(reply.workspaceId, [{ type: 'reply', conversationId: reply.conversationId, replyId: reply.id, state }]);
    if (state && reply.kind !== 'reply') {
      this.d.live?.publish(reply.workspaceId, [{ type: 'action', conversationId: reply.conversationId, actionId: reply.id, action: reply.kind, messageId: reply.messageId, state }]);
    }
    return outcome;
  }

  private keepLease(replyId: string, holder: string): () => void {
    const every = Math.max(200, Math.floor(this.d.options.leaseMs / 3));
    const timer = setInterval(() => {
      this.d.db.execute(sql`update inbox_replies set lease_until = now() + (${this.d.options.leaseMs} * interval '1 millisecond')
        where id = ${replyId} and state = 'sending' and worker_id = ${holder}`).catch((err: unknown) => this.d.log.warn({ err, replyId }, 'could not extend a reply\'s lease'));
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A write that only happens while this run still holds the reply. */
  private async fenced(tx: DbOrTx, replyId: string, holder: string): Promise<void> {
    const r = await tx.execute(sql`select 1 from inbox_replies where id = ${replyId} and state = 'sending' and worker_id = ${holder} for update`);
    if (r.rows.length === 0) throw new LeaseLost();
  }

  private async send(reply: ReplyRow, holder: string, processId: string): Promise<Outcome> {
    const { db } = this.d;
    const [account] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, reply.accountId));
    if (!account) return 'skipped'; // deleted under us (the reply goes with it)
    const provider = this.d.registry.get(account.provider as ProviderId);
    const kind = reply.kind;
    if (kind === 'reply' ? !provider.reply || !provider.findReply : !provider[kind] || !provider.messageState) {
      return this.finish(reply, holder, 'failed', { errorClass: 'permanent', message: `AllIN cannot ${kind === 'reply' ? 'answer' : kind} on ${provider.meta.displayName}.` });
    }
    // A call left in flight by a crash (or a stolen lease) is settled with the network first.
    const [open] = await db.select().from(inboxReplyAttempts)
      .where(and(eq(inboxReplyAttempts.replyId, reply.id), eq(inboxReplyAttempts.outcome, 'in_flight'))).orderBy(asc(inboxReplyAttempts.id)).limit(1);
    if (open) {
      const settled = await this.reconcile(reply, holder, open);
      if (settled !== 'absent') return settled;
    }
    if (account.status !== 'active') {
      return this.finish(reply, holder, 'failed', { errorClass: 'auth_expired', message: `The ${provider.meta.displayName} account ${account.username} needs reconnecting (${account.status}); reconnect it and answer again.` });
    }
    const marker = markerOf(reply);
    const mention = await this.inMention(reply);
    const inserted = await db.execute<{ id: number; started_at: Date }>(sql`
      insert into inbox_reply_attempts (reply_id, marker, worker_id)
      select ${reply.id}, ${marker}, ${processId}
       where exists (select 1 from inbox_replies where id = ${reply.id} and state = 'sending' and worker_id = ${holder})
      returning id, started_at`);
    if (inserted.rows.length === 0) throw new LeaseLost();
    const attempt = { id: Number(inserted.rows[0]!.id), replyId: reply.id, marker, startedAt: new Date(inserted.rows[0]!.started_at) } as AttemptRow;
    let result: PublishedPost | undefined;
    try {
      if (kind === 'reply') {
        result = await this.d.accounts.withAccountRow(account, (ref) => provider.reply!(ref, {
          text: reply.text, parentRemoteId: reply.parentRemoteId, rootRemoteId: reply.rootRemoteId, marker, ...(mention ? { mention } : {}),
        }));
      } else {
        await this.d.accounts.withAccountRow(account, (ref) => provider[kind]!(ref, { remoteId: reply.parentRemoteId, rootRemoteId: reply.rootRemoteId, marker, ...(mention ? { mention } : {}) }));
      }
    } catch (err) {
      const e = asProviderError(err, account.provider);
      if (e.kind === 'unknown_outcome') {
        this.d.log.warn({ replyId: reply.id, kind, reason: e.message }, 'reply or action outcome unknown; reconciling');
        const settled = await this.reconcile(reply, holder, attempt, e);
        if (settled === 'absent') {
          return this.retryLater(reply, holder, this.backoff(reply.attempts, undefined), {
            errorClass: 'transient', message: kind === 'reply' ? `${e.message}; the network has no such reply, so it is sent again` : `${e.message}; the network does not show the ${kind} done, so it is sent again`,
          });
        }
        return settled;
      }
      await this.closeAttempt(attempt.id, e.kind === 'permanent' || e.kind === 'auth_expired' ? 'failed' : 'retry', e);
      const failure = { errorClass: e.kind, message: e.message, ...(e.details.status ? { status: e.details.status } : {}) };
      if (e.kind === 'rate_limited' || e.kind === 'transient') return this.retryLater(reply, holder, this.backoff(reply.attempts, e.details.retryAfterMs), failure);
      return this.finish(reply, holder, 'failed', failure);
    }
    return this.finish(reply, holder, kind === 'reply' ? 'published' : 'done', null, { attemptId: attempt.id, outcome: 'published', ...(result ? { found: result } : {}) });
  }

  /**
   * Settles an attempt whose answer never came: found under the parent → published; absent → safe to send
   * again; the network cannot tell → the reply is unknown.
   */
  private async reconcile(reply: ReplyRow, holder: string, attempt: AttemptRow, cause?: ProviderError): Promise<'absent' | Outcome> {
    const provider = this.d.registry.get(reply.provider as ProviderId);
    const kind = reply.kind;
    let found: PublishedPost | null = null;
    let done = false;
    const mention = await this.inMention(reply);
    try {
      if (kind === 'reply') {
        found = await this.d.accounts.withAccount(reply.accountId, (ref) => provider.findReply!(ref, {
          parentRemoteId: reply.parentRemoteId, rootRemoteId: reply.rootRemoteId, marker: attempt.marker, since: new Date(attempt.startedAt.getTime() - 60_000),
          ...(mention ? { mention } : {}),
        }));
      } else {
        const state = await this.d.accounts.withAccount(reply.accountId, (ref) => provider.messageState!(ref, { remoteId: reply.parentRemoteId, rootRemoteId: reply.rootRemoteId, marker: attempt.marker, ...(mention ? { mention } : {}) }));
        const r = reached(kind, state);
        if (r === null) throw new ProviderError('permanent', `${reply.provider}: the network does not say whether the message is ${kind === 'like' || kind === 'unlike' ? 'liked' : 'hidden'}`, { provider: reply.provider, reason: 'state_unknown' });
        done = r;
      }
    } catch (err) {
      const e = asProviderError(err, reply.provider);
      if ((e.kind === 'transient' || e.kind === 'rate_limited') && reply.attempts < this.d.options.maxAttempts) {
        // The network cannot answer now: keep the reply and ask again later (the attempt stays in flight).
        return this.retryLater(reply, holder, this.backoff(reply.attempts, e.details.retryAfterMs), { errorClass: e.kind, message: `checking whether an earlier try was published: ${e.message}` }, true);
      }
      // Refused, or out of tries: a retry could answer twice, so the outcome is unknown, not a failure.
      await this.closeAttempt(attempt.id, 'unknown', e);
      const why = cause ? `${cause.message}, and ` : 'the worker stopped while sending, and ';
      const what = kind === 'reply'
        ? `whether the reply was published cannot be known (${e.message}). Check the conversation on the network before answering again.`
        : `whether the ${kind} was done cannot be known (${e.message}). Check the message on the network.`;
      return this.finish(reply, holder, 'unknown', { errorClass: 'unknown_outcome', message: `${why}${what}` });
    }
    if (kind !== 'reply') {
      if (done) return this.finish(reply, holder, 'done', null, { attemptId: attempt.id, outcome: 'reconciled' });
      await this.d.db.update(inboxReplyAttempts).set({ outcome: 'absent', finishedAt: sql`now()`, message: cause?.message ?? 'not done on the network after an interrupted try' }).where(eq(inboxReplyAttempts.id, attempt.id));
      return 'absent';
    }
    if (!found) {
      await this.d.db.update(inboxReplyAttempts).set({ outcome: 'absent', finishedAt: sql`now()`, message: cause?.message ?? 'not on the network after an interrupted try' }).where(eq(inboxReplyAttempts.id, attempt.id));
      return 'absent';
    }
    return this.finish(reply, holder, 'published', null, { attemptId: attempt.id, outcome: 'reconciled', found });
  }

  /** Whether the reply or action is in a mention conversation (someone else's thread), where some networks answer otherwise. */
  private async inMention(reply: ReplyRow): Promise<boolean> {
    const [c] = await this.d.db.select({ kind: inboxConversations.kind }).from(inboxConversations).where(eq(inboxConversations.id, reply.conversationId));
    return c?.kind === 'mention';
  }

  private async closeAttempt(id: number, outcome: 'failed' | 'retry' | 'unknown', e: ProviderError): Promise<void> {
    await this.d.db.update(inboxReplyAttempts).set({
      outcome, finishedAt: sql`now()`, errorClass: e.kind, networkStatus: e.details.status ?? null, message: e.message.slice(0, 1000),
    }).where(eq(inboxReplyAttempts.id, id));
  }

  private backoff(attempts: number, retryAfterMs: number | undefined): number {
    const o = this.d.options;
    return backoffDelay({ baseMs: o.backoffBaseMs, capMs: o.backoffMaxMs, jitter: 'equal', maxRetryAfterMs: MAX_RETRY_AFTER_MS }, attempts, { retryAfterMs });
  }

  /**
   * Back to queued with the next try in `waitMs` (or, `keepSending`, still sending with the lease running
   * until then, an attempt being unsettled); past the attempt limit the reply fails.
   */
  private async retryLater(reply: ReplyRow, holder: string, waitMs: number, error: Failure, keepSending = false): Promise<Outcome> {
    if (reply.attempts >= this.d.options.maxAttempts) {
      return this.finish(reply, holder, keepSending ? 'unknown' : 'failed', { ...error, message: `${error.message} (gave up after ${reply.attempts} attempts)` });
    }
    const at = new Date(Date.now() + waitMs);
    await this.d.db.transaction(async (tx) => {
      await this.fenced(tx, reply.id, holder);
      const errorColumns = { errorClass: error.errorClass, errorMessage: error.message.slice(0, 1000), networkStatus: error.status ?? null, updatedAt: sql`now()` };
      if (keepSending) await tx.update(inboxReplies).set({ leaseUntil: at, workerId: null, ...errorColumns }).where(eq(inboxReplies.id, reply.id));
      else await tx.update(inboxReplies).set({ state: 'queued', nextAttemptAt: at, leaseUntil: null, workerId: null, ...errorColumns }).where(eq(inboxReplies.id, reply.id));
      // A reply that keeps its lease is looked at just after the lease ends, so the job can win it back.
      await enqueueReply(tx, reply.id, keepSending ? new Date(at.getTime() + 1000) : at);
    });
    return 'retry';
  }

  /** The end of a reply, fenced: published (with its message in the conversation), failed or unknown. */
  private async finish(reply: ReplyRow, holder: string, state: 'published' | 'done' | 'failed' | 'unknown', error: Failure | null,
    sent?: { attemptId: number; outcome: 'published' | 'reconciled'; found?: PublishedPost }): Promise<Outcome> {
    await this.d.db.transaction(async (tx) => {
      await this.fenced(tx, reply.id, holder);
      const [row] = await tx.update(inboxReplies).set({
        state, leaseUntil: null, workerId: null, nextAttemptAt: null,
        ...(sent ? { remoteId: sent.found?.remoteId ?? null, remoteUrl: sent.found?.url ?? null, publishedAt: sql`now()`, errorClass: null, errorMessage: null, networkStatus: null } : {}),
        ...(error ? { errorClass: error.errorClass, errorMessage: error.message.slice(0, 1000), networkStatus: error.status ?? null } : {}),
        updatedAt: sql`now()`,
      }).where(eq(inboxReplies.id, reply.id)).returning();
      if (sent) await tx.update(inboxReplyAttempts).set({ outcome: sent.outcome, finishedAt: sql`now()`, remoteId: sent.found?.remoteId ?? null }).where(eq(inboxReplyAttempts.id, sent.attemptId));
      if (sent && reply.kind !== 'reply') await applyAction(tx, reply.kind, reply);
      if (sent?.found) {
        const [account] = await tx.select().from(socialAccounts).where(eq(socialAccounts.id, reply.accountId));
        if (account) {
          // The reply as the network now shows it, so the conversation has it before the next collection
          // (which brings the same id and collapses with it).
          await this.d.ingest.store(tx, account, [{
            remoteId: sent.found.remoteId, kind: 'comment', rootRemoteId: reply.rootRemoteId, parentRemoteId: reply.parentRemoteId,
            author: { remoteId: account.externalId, handle: account.username, ...(account.displayName ? { name: account.displayName } : {}), ...(account.avatarUrl ? { avatarUrl: account.avatarUrl } : {}) },
            text: reply.text, ...(sent.found.url ? { url: sent.found.url } : {}), createdAt: row!.publishedAt ?? new Date(),
          }], new Date());
        }
      }
      const failure = error ? { error: { class: error.errorClass, message: error.message } } : {};
      if (reply.kind === 'reply') {
        await this.d.events?.emit(tx, reply.workspaceId, `inbox.reply.${state as 'published' | 'failed' | 'unknown'}`, {
          replyId: reply.id, conversationId: reply.conversationId, messageId: reply.messageId, accountId: reply.accountId, provider: reply.provider,
          authorId: reply.authorId, state, ...(sent?.found ? { remoteId: sent.found.remoteId, url: sent.found.url ?? null } : {}), ...failure,
        });
      } else {
        await this.d.events?.emit(tx, reply.workspaceId, `inbox.action.${state as 'done' | 'failed' | 'unknown'}`, {
          actionId: reply.id, action: reply.kind, conversationId: reply.conversationId, messageId: reply.messageId, remoteId: reply.parentRemoteId,
          accountId: reply.accountId, provider: reply.provider, authorId: reply.authorId, state, ...failure,
        });
      }
      if (!sent) {
        const noun = reply.kind === 'reply' ? 'reply' : 'action';
        await audit(tx, {
          action: `inbox.${noun}.${state}`, workspaceId: reply.workspaceId, targetType: 'inbox_conversation', targetId: reply.conversationId,
          details: { [`${noun}Id`]: reply.id, ...(reply.kind !== 'reply' ? { action: reply.kind } : {}), provider: reply.provider, error: error?.message.slice(0, 300) },
        });
      }
    });
    return state;
  }

  /**
   * Work a dead worker left behind, handed back to the queue (only one run can claim each reply): replies still
   * sending after their lease, and due replies whose job a dead worker had taken before it could claim them
   * (the queue would only release that job hours later), as publishing's sweep does for targets.
   */
  async sweep(): Promise<number> {
    const lease = this.d.options.leaseMs;
    const stale = await this.d.db.execute<{ id: string }>(sql`
      select id from inbox_replies where state = 'sending' and lease_until < now()
      union
      select r.id from inbox_replies r join graphile_worker.jobs j on j.key = 'inbox-reply:' || r.id::text
        where r.state = 'queued' and coalesce(r.next_attempt_at, r.created_at) < now() - (${lease} * interval '1 millisecond')
          and j.locked_at < now() - (${lease} * interval '1 millisecond')
      limit 1000`);
    for (const r of stale.rows) await enqueueReply(this.d.db, r.id, new Date());
    if (stale.rows.length) this.d.log.info({ replies: stale.rows.length }, 'swept replies a dead worker left behind');
    return stale.rows.length;
  }
}

/**
 * What a done action changes in AllIN, in the transaction that records it: the message shows it liked,
 * hidden or deleted (a deletion also leaves the conversation's figures, as when collection brings one).
 */
async function applyAction(tx: DbOrTx, action: MessageAction, r: ReplyRow): Promise<void> {
  const where = and(eq(inboxMessages.accountId, r.accountId), eq(inboxMessages.remoteId, r.parentRemoteId));
  if (action === 'like' || action === 'unlike') {
    await tx.update(inboxMessages).set({ liked: action === 'like' }).where(where);
    return;
  }
  if (action === 'hide' || action === 'unhide') {
    await tx.update(inboxMessages).set({ hidden: action === 'hide' }).where(and(where, eq(inboxMessages.deleted, false)));
    return;
  }
  const gone = await tx.update(inboxMessages).set({ deleted: true, text: '' }).where(and(where, eq(inboxMessages.deleted, false))).returning({ conversationId: inboxMessages.conversationId });
  for (const g of gone) {
    await tx.update(inboxConversations).set({
      messageCount: sql`greatest(0, message_count - 1)`,
      hasQuestion: sql`exists (select 1 from ${inboxMessages} m where m.conversation_id = ${g.conversationId} and m.direction = 'inbound' and not m.deleted and m.text ~ ${`[${QUESTION_MARKS}]`})`,
      updatedAt: sql`now()`,
    }).where(eq(inboxConversations.id, g.conversationId));
  }
}

function asProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  // Refused before anything was sent (the account was disconnected meanwhile).
  if (err instanceof DomainError) return new ProviderError('permanent', err.message, { provider, reason: err.code });
  // Anything else from an adapter is a call whose outcome is unknown: reconciled, not blindly repeated.
  return new ProviderError('unknown_outcome', `${provider}: ${err instanceof Error ? err.message : String(err)}`, { provider });
}
