// Publishing a target exactly once (docs/PUBLISHING.md, Publishing, exactly once).
//
// 1. The job wins the target with a conditional UPDATE (scheduled and due → publishing, with a lease
//    and this worker's id); a loser, or a job for a target moved elsewhere, does nothing. A target left in
//    publishing by a dead worker is won back once its lease has run out (the sweeper adds the job).
// 2. Every call that could create something on the network is first written down (publish_attempts,
//    outcome in_flight, committed) with the marker the network gets. A crash after that line leaves the
//    row in flight, and whoever takes the target next asks the network (findByMarker) before sending
//    anything again: found → it was published; absent → sending is safe; cannot tell → `unknown`.
// 3. Errors that prove nothing was created (429, 5xx before acceptance, refused connections) go back to
//    scheduled with exponential backoff and jitter, never sooner than Retry-After. A timeout after
//    sending is reconciled at once, before any retry.
// 4. Threads publish part by part; progress is saved after each part, and a retry resumes after the last
//    published one. A first comment goes after the last part.
// 5. The lease is extended while the worker holds the target, and every write after the claim checks the
//    worker still holds it (a fence), so a worker that stalled past its lease cannot overwrite the next.
//    Each run holds the target under an id of its own, so the fence also parts two runs of one process.
// 6. An attempt has a hard ceiling (PUBLISH_ATTEMPT_MAX_SECONDS): past it the lease is no longer
//    extended and the attempt's network calls are ended (a host that answers a byte a second cannot keep
//    a worker, or the target, forever); a call cut after it was sent is reconciled like any timeout.
import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { rowFromJson } from '../../infra/db/json-row.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { ProviderError, type MediaItem, type ProviderId, type PublishedPost } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { AccountService } from '../accounts/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { posts, postTargets, publishAttempts } from '../posts/schema.ts';
import { enqueue } from '../posts/index.ts';
import type { Account, Post, Target } from '../posts/index.ts';
import type { PostScheduling } from '../posts/index.ts';
import { audit } from '../audit/index.ts';
import { DomainError } from '../../domain/errors.ts';
import type { PublishLimits } from './limits.ts';
import { backoffDelay, type Backoff } from '../../infra/retry.ts';

export interface MediaSource {
  items(workspaceId: string, ids: string[]): Promise<MediaItem[]>;
}

/** Tells the team (webhooks) in the transaction that records the outcome. */
export interface PublishEvents {
  emit(tx: DbOrTx, workspaceId: string, event: 'post.published' | 'post.failed' | 'post.unknown', data: Record<string, unknown>): Promise<void>;
  /** `emit` as CTEs of the caller's one statement (see the webhooks module's EventEmitter). */
  emitInStatement(guard: string, workspaceId: string, event: 'post.published', data: Record<string, unknown>): { ctes: SQL; done: SQL };
}

/** What a target publishes once its links are shortened (the links module); the stored post keeps the URLs as written. */
export interface PublishedLinks {
  forPublish(workspaceId: string, postId: string, network: string, texts: { parts: string[]; firstComment?: string | undefined; options?: Record<string, unknown> | undefined }):
    Promise<{ parts: string[]; firstComment?: string | undefined; options?: Record<string, unknown> | undefined }>;
}

export interface PublishingOptions {
  leaseMs: number;
  /** The ceiling of one attempt: past it the lease is no longer extended and its network calls are ended. */
  attemptMaxMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface PublishingDeps {
  db: Db;
  registry: ProviderRegistry;
  accounts: AccountService;
  /** Schedules a recurring post's next occurrence once a target has finished. */
  posts: Pick<PostScheduling, 'scheduleNextOccurrence'>;
  media: MediaSource;
  limits: PublishLimits;
  /** Ends the network calls made inside `fn` when `signal` aborts (the HttpClient adapters call through). */
  outbound?: { withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> };
  events?: PublishEvents;
  links?: PublishedLinks;
  /** Tells the people behind a post that one of its targets failed or has an unknown outcome. */
  notify?: (tx: DbOrTx, target: Target, state: 'failed' | 'unknown', reason: string) => Promise<void>;
  metrics: Metrics;
  log: Logger;
  options: PublishingOptions;
}

/** A Retry-After longer than this is taken as this: a network's daily limit is the longest wait that means anything. */
export const MAX_PUBLISH_RETRY_AFTER_MS = 24 * 3_600_000;

export const publishBackoff = (o: Pick<PublishingOptions, 'backoffBaseMs' | 'backoffMaxMs'>): Backoff => ({
  baseMs: o.backoffBaseMs, capMs: o.backoffMaxMs, jitter: 'equal', maxRetryAfterMs: MAX_PUBLISH_RETRY_AFTER_MS,
});

type Outcome = 'published' | 'failed' | 'unknown' | 'retry' | 'deferred' | 'lost_lease' | 'skipped';

/** What publish() has read about a target, for send(). */
interface SendWork {
  post: Post;
  account: typeof socialAccounts.$inferSelect;
  provider: ReturnType<ProviderRegistry['get']>;
  parts: { text: string; mediaIds: string[] }[];
  /** The first comment and network options as published (links shortened). */
  firstComment: string | undefined;
  options: Record<string, unknown> | undefined;
  commentPart: number;
  progress: Target['progress'];
  /** The first part's attempt, when the claim wrote it down. */
  firstAttempt: Claimed['firstAttempt'];
}

/** The marker the network gets with a part (idempotency key, record field, or what is looked for). */
export const markerOf = (targetId: string, part: number) => `allin-${targetId}-${part}`;

class LeaseLost extends Error {}

/** Runs of this process that ended in an error while holding their target, kept at most (the oldest go). */
const MAX_ABANDONED = 10_000;

/** A target this run has won, with its post and account, and its first part's attempt when the claim wrote it. */
interface Claimed {
  target: Target;
  post: Post | null;
  account: Account | null;
  firstAttempt: { id: number; startedAt: Date } | null;
}

const CLAIM_SQL = `
  with claimed as (
    update post_targets set state = 'publishing', worker_id = $2::text, lease_until = now() + ($3::float8 * interval '1 millisecond'),
           attempts = attempts + 1, updated_at = now()
     where id = $1::uuid and (
           (state = 'scheduled' and coalesce(next_attempt_at, publish_at) <= now() + interval '2 seconds')
        or (state = 'publishing' and (lease_until < now() or worker_id = $6::text)))
    returning *),
  context as (
    select c.id, to_jsonb(c) as t, to_jsonb(p) as p, to_jsonb(a) as a,
           c.attempts = 1 and a.status = 'active' and jsonb_array_length(c.progress->'parts') = 0 and c.progress->'comment' is null as fresh
      from claimed c left join posts p on p.id = c.post_id left join social_accounts a on a.id = c.account_id),
  first_attempt as (
    insert into publish_attempts (target_id, part, marker, worker_id)
    select id, 0, $5::text, $4::text from context
     where fresh and not exists (select 1 from publish_attempts o where o.target_id = context.id and o.outcome = 'in_flight')
    returning id, started_at)
  select context.t, context.p, context.a, f.id as attempt_id, f.started_at as attempt_started_at from context left join first_attempt f on true`;

export class PublishingService {
  /**
   * By target: the hold of a run of this process that ended in an error (the database went away while
   * it recorded the outcome, say) and so could not hand the target back. The run is over, so this
   * process takes the target back at once rather than after the lease (see claim and sweep).
   */
  private readonly abandoned = new Map<string, string>();

  constructor(private readonly d: PublishingDeps) {}

  /** The publish_target job. */
  async run(targetId: string, workerId: string): Promise<Outcome> {
    const holder = `${randomBytes(4).toString('hex')}:${workerId}`;
    const claimed = await this.claim(targetId, holder, workerId, this.abandoned.get(targetId));
    this.abandoned.delete(targetId);
    if (!claimed) return 'skipped';
    const { target } = claimed;
    const stopLease = this.keepLease(targetId, holder);
    const ceiling = new AbortController();
    const ceilingMs = this.d.options.attemptMaxMs;
    const ceilingTimer = setTimeout(() => {
      // The lease now runs out on its own unless this run records an outcome first; the calls it is
      // waiting on end at once, and one cut after it was sent makes the target reconcile.
      stopLease();
      ceiling.abort(new Error(`the publish attempt ran past its ceiling of ${ceilingMs / 1000} s`));
      this.d.log.warn({ targetId, ceilingMs }, 'a publish attempt reached its ceiling; its network calls are ended and the target is reconciled');
    }, ceilingMs);
    ceilingTimer.unref();
    const started = process.hrtime.bigint();
    let outcome: Outcome;
    try {
      const attempt = () => this.publish(claimed, holder, workerId);
      outcome = await (this.d.outbound ? this.d.outbound.withSignal(ceiling.signal, attempt) : attempt());
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.d.log.warn({ targetId }, 'lost the lease on a target while publishing; the next holder reconciles');
        outcome = 'lost_lease';
      } else {
        // The job is retried by the queue (or added again by the sweeper when the queue could not
        // record the failure) and this process takes the target back; another, after the lease.
        if (this.abandoned.size >= MAX_ABANDONED) this.abandoned.delete(this.abandoned.keys().next().value!);
        this.abandoned.set(targetId, holder);
        throw err;
      }
    } finally {
      clearTimeout(ceilingTimer);
      stopLease();
    }
    this.d.metrics.publishOutcomes.labels(target.provider, outcome).inc();
    // A deferral sent nothing: its few milliseconds would only dilute the time publishes take.
    if (outcome !== 'deferred') this.d.metrics.publishDuration.labels(target.provider).observe(Number(process.hrtime.bigint() - started) / 1e9);
    return outcome;
  }

  /**
   * Wins the target: due and scheduled, or publishing with a lease that ran out or still held by
   * `abandoned` (a run of this process that is over); with its post and account,
   * and on a first try (nothing sent before, nothing in flight) with the attempt of its first part written
   * down. One statement, a named prepared statement: the busiest one of a burst.
   */
  private async claim(targetId: string, holder: string, processId: string, abandoned?: string): Promise<Claimed | null> {
    const r = await this.d.db.$client.query<{ t: Record<string, unknown>; p: Record<string, unknown> | null; a: Record<string, unknown> | null; attempt_id: string | null; attempt_started_at: Date | null }>({
      name: 'publish_claim', text: CLAIM_SQL, values: [targetId, holder, this.d.options.leaseMs, processId, markerOf(targetId, 0), abandoned ?? null],
    });
    const row = r.rows[0];
    if (!row) return null;
    return {
      target: rowFromJson(postTargets, row.t),
      post: row.p ? rowFromJson(posts, row.p) : null,
      account: row.a ? rowFromJson(socialAccounts, row.a) : null,
      firstAttempt: row.attempt_id === null ? null : { id: Number(row.attempt_id), startedAt: new Date(row.attempt_started_at!) },
    };
  }

  private keepLease(targetId: string, workerId: string): () => void {
    const every = Math.max(200, Math.floor(this.d.options.leaseMs / 3));
    const timer = setInterval(() => {
      this.d.db.execute(sql`update post_targets set lease_until = now() + (${this.d.options.leaseMs} * interval '1 millisecond')
        where id = ${targetId} and state = 'publishing' and worker_id = ${workerId}`).catch((err: unknown) => this.d.log.warn({ err, targetId }, 'could not extend a publishing lease'));
    }, every);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A write that only happens while this worker still holds the target. */
  private async fenced(tx: DbOrTx, targetId: string, workerId: string): Promise<void> {
    const r = await tx.execute(sql`select 1 from post_targets where id = ${targetId} and state = 'publishing' and worker_id = ${workerId} for update`);
    if (r.rows.length === 0) throw new LeaseLost();
  }

  /** `workerId` is this run's hold on the target; `processId` names the worker process in the attempt log. */
  private async publish(claimed: Claimed, workerId: string, processId: string): Promise<Outcome> {
    const { db } = this.d;
    const { target, post, account, firstAttempt } = claimed;
    if (!post || !account) return 'skipped'; // deleted under us (cascade)
    if (account.status !== 'active') {
      return this.finish(target, workerId, 'failed', { errorClass: 'auth_expired', message: `The ${account.provider} account ${account.username} needs reconnecting (${account.status}); reconnect it and retry.` });
    }
    const provider = this.d.registry.get(account.provider as ProviderId);
    const v = target.variant;
    const written = [{ text: v.text ?? post.text, mediaIds: v.mediaIds ?? post.mediaIds }, ...(v.thread ?? []).map((p) => ({ text: p.text, mediaIds: p.mediaIds ?? [] }))];
    // Links shortened for this post and network (the same links on every try, so a retry sends the same text).
    const published = this.d.links
      ? await this.d.links.forPublish(post.workspaceId, post.id, account.provider, { parts: written.map((p) => p.text), firstComment: v.firstComment, options: v.options })
      : { parts: written.map((p) => p.text), firstComment: v.firstComment, options: v.options };
    const parts = written.map((p, i) => ({ text: published.parts[i]!, mediaIds: p.mediaIds }));
    const commentPart = v.firstComment !== undefined ? parts.length : -1;
    const progress = { parts: [...target.progress.parts], ...(target.progress.comment ? { comment: target.progress.comment } : {}) };

    // A call left in flight by a crash (or a stolen lease) is settled with the network first. Only a
    // target claimed before can have one (the claim counts attempts).
    const [open] = target.attempts <= 1 ? [] : await db.select().from(publishAttempts).where(and(eq(publishAttempts.targetId, target.id), eq(publishAttempts.outcome, 'in_flight'))).orderBy(asc(publishAttempts.id));
    if (open) {
      const settled = await this.reconcile(target, workerId, open, progress);
      if (settled !== 'absent' && settled !== 'published') return settled;
    }
    // Every part is on the network already (the one just reconciled was the last): only the end is left.
    if (progress.parts.length === parts.length && (commentPart < 0 || progress.comment)) return this.finish(target, workerId, 'published', null, progress, { post });

    // The account (or network) already publishing as much as it may: back to the queue for a later turn,
    // without spending an attempt, rather than holding a worker slot while it waits (limits.ts).
    // Nothing is sent on a deferral: the first part's attempt, written down by the claim, did not happen.
    const unwrite = async () => {
      if (firstAttempt) await db.delete(publishAttempts).where(and(eq(publishAttempts.id, firstAttempt.id), eq(publishAttempts.outcome, 'in_flight')));
    };
    const place = this.d.limits.take(account.provider, account.id);
    if (!place.ok) {
      await unwrite();
      return this.retryLater(target, workerId, place.retryAfterMs, null, false, false, 'deferred');
    }
    try {
      // Out of budget: back to scheduled without spending an attempt.
      if (progress.parts.length === 0) {
        const budget = await this.d.limits.takeBudget(account.provider, account.id);
        if (!budget.ok) {
          await unwrite();
          return await this.retryLater(target, workerId, budget.retryAfterMs, { errorClass: 'rate_limited', message: `${provider.meta.displayName} posting budget for this account is used up; waiting.` }, false);
        }
      }
      return await this.send(target, workerId, processId, { post, account, provider, parts, firstComment: published.firstComment, options: published.options, commentPart, progress, firstAttempt });
    } finally {
      place.release();
    }
  }

  /** Sends the parts not yet published, each written down first (the attempt log), and records the end. */
  private async send(target: Target, workerId: string, processId: string, w: SendWork): Promise<Outcome> {
    const { db } = this.d;
    const { post, account, provider, parts, commentPart, progress, options } = w;
    let { firstAttempt } = w;
    for (let i = progress.parts.length; i < parts.length || (i === commentPart && !progress.comment); i++) {
      const isComment = i === commentPart;
      const part = isComment ? { text: w.firstComment!, mediaIds: [] as string[] } : parts[i]!;
      const replyTo = isComment ? progress.parts[0]?.remoteId : progress.parts[i - 1]?.remoteId;
      const media = part.mediaIds.length ? await this.d.media.items(target.workspaceId, part.mediaIds) : [];
      const marker = markerOf(target.id, i);
      let written = i === 0 ? firstAttempt : null;
      firstAttempt = null;
      if (!written) {
        const inserted = await db.execute<{ id: number; started_at: Date }>(sql`
          insert into publish_attempts (target_id, part, marker, worker_id)
          select ${target.id}, ${i}, ${marker}, ${processId}
          where exists (select 1 from post_targets where id = ${target.id} and state = 'publishing' and worker_id = ${workerId})
          returning id, started_at`);
        if (inserted.rows.length === 0) throw new LeaseLost();
        written = { id: Number(inserted.rows[0]!.id), startedAt: new Date(inserted.rows[0]!.started_at) };
      }
      const attempt = { id: written.id, targetId: target.id, part: i, marker, startedAt: written.startedAt, remoteId: null } as typeof publishAttempts.$inferSelect;
      let result: PublishedPost;
      try {
        result = await this.d.accounts.withAccountRow(account, (ref) => provider.publish(ref, {
          text: part.text, media, marker, ...(replyTo ? { replyTo } : {}), ...(options ? { options } : {}),
        }));
      } catch (err) {
        const e = asProviderError(err, account.provider);
        if (e.kind === 'unknown_outcome') {
          this.d.log.warn({ targetId: target.id, part: i, reason: e.message }, 'publish outcome unknown; reconciling');
          const settled = await this.reconcile(target, workerId, attempt, progress, e);
          if (settled === 'absent') return this.retryLater(target, workerId, this.backoff(target.attempts, undefined), { errorClass: 'transient', message: `${e.message}; the network has no such post, so it is sent again` });
          if (settled !== 'published') return settled;
          continue;
        }
        await this.closeAttempt(attempt.id, e.kind === 'permanent' || e.kind === 'auth_expired' ? 'failed' : 'retry', e);
        if (e.kind === 'rate_limited' || e.kind === 'transient') {
          const wait = this.backoff(target.attempts, e.details.retryAfterMs);
          return this.retryLater(target, workerId, wait, { errorClass: e.kind, message: e.message, ...(e.details.status ? { status: e.details.status } : {}) });
        }
        const done = progress.parts.length ? ` (${progress.parts.length} of ${parts.length} parts were published; a retry continues after them)` : '';
        return this.finish(target, workerId, 'failed', { errorClass: e.kind, message: `${e.details.reason ? `${e.message}` : e.message}${done}`, ...(e.details.status ? { status: e.details.status } : {}) }, progress);
      }
      if (isComment) progress.comment = { remoteId: result.remoteId, ...(result.url ? { url: result.url } : {}) };
      else progress.parts.push({ remoteId: result.remoteId, ...(result.url ? { url: result.url } : {}) });
      const more = i + 1 < parts.length || (i + 1 === commentPart && !progress.comment);
      // The last part is recorded with the end of the target, in one transaction.
      if (!more) return this.finish(target, workerId, 'published', null, progress, { attempt: { id: attempt.id, remoteId: result.remoteId }, post });
      // The part and its attempt together, in one statement, only while this run holds the target.
      const saved = await db.execute(sql`
        with held as (
          update ${postTargets} set progress = ${JSON.stringify(progress)}::jsonb, updated_at = now()
           where id = ${target.id} and state = 'publishing' and worker_id = ${workerId} returning id),
        part_done as (
          update ${publishAttempts} set outcome = 'published', finished_at = now(), remote_id = ${result.remoteId}
           where id = ${attempt.id} and exists (select 1 from held))
        select id from held`);
      if (saved.rows.length === 0) throw new LeaseLost();
    }
    return this.finish(target, workerId, 'published', null, progress, { post });
  }

  /**
   * Settles an attempt whose answer never came: found on the network → recorded as published; absent →
   * safe to send again; the network cannot tell → the target is unknown and the team is told.
   */
  private async reconcile(target: Target, workerId: string, attempt: typeof publishAttempts.$inferSelect, progress: Target['progress'], cause?: ProviderError): Promise<'published' | 'absent' | Outcome> {
    const commentPart = 1 + (target.variant.thread?.length ?? 0);
    const already = attempt.part === commentPart && target.variant.firstComment !== undefined ? Boolean(progress.comment) : attempt.part < progress.parts.length;
    if (already) {
      await this.d.db.update(publishAttempts).set({ outcome: 'reconciled', finishedAt: sql`now()` }).where(eq(publishAttempts.id, attempt.id));
      return 'published';
    }
    const provider = this.d.registry.get(target.provider as ProviderId);
    let found: PublishedPost | null;
    try {
      found = await this.d.accounts.withAccount(target.accountId, (ref) => provider.findByMarker(ref, attempt.marker, new Date(attempt.startedAt.getTime() - 60_000)));
    } catch (err) {
      const e = asProviderError(err, target.provider);
      if ((e.kind === 'transient' || e.kind === 'rate_limited') && target.attempts < this.d.options.maxAttempts) {
        // The network cannot answer now: keep the target and ask again later (the attempt stays in flight).
        return this.retryLater(target, workerId, this.backoff(target.attempts, e.details.retryAfterMs), { errorClass: e.kind, message: `checking whether an earlier try was published: ${e.message}` }, true, true);
      }
      // Refused, or out of tries while the network still cannot say (a host that never answers): the
      // outcome is unknown, not a failure, since a retry could publish the post twice.
      await this.closeAttempt(attempt.id, 'unknown', e);
      const why = cause ? `${cause.message}, and ` : 'the worker stopped while publishing, and ';
      return this.finish(target, workerId, 'unknown', { errorClass: 'unknown_outcome', message: `${why}whether the post was published cannot be known (${e.message}). Check the account before retrying.` }, progress);
    }
    if (!found) {
      await this.d.db.update(publishAttempts).set({ outcome: 'absent', finishedAt: sql`now()`, message: cause?.message ?? 'not on the network after an interrupted try' }).where(eq(publishAttempts.id, attempt.id));
      return 'absent';
    }
    await this.d.db.transaction(async (tx) => {
      await this.fenced(tx, target.id, workerId);
      await tx.update(publishAttempts).set({ outcome: 'reconciled', finishedAt: sql`now()`, remoteId: found.remoteId }).where(eq(publishAttempts.id, attempt.id));
      if (target.variant.firstComment !== undefined && attempt.part === commentPart) progress.comment = { remoteId: found.remoteId, ...(found.url ? { url: found.url } : {}) };
      else progress.parts.push({ remoteId: found.remoteId, ...(found.url ? { url: found.url } : {}) });
      await tx.update(postTargets).set({ progress, updatedAt: sql`now()` }).where(eq(postTargets.id, target.id));
    });
    return 'published';
  }

  private async closeAttempt(id: number, outcome: 'failed' | 'retry' | 'unknown', e: ProviderError): Promise<void> {
    await this.d.db.update(publishAttempts).set({
      outcome, finishedAt: sql`now()`, errorClass: e.kind, networkStatus: e.details.status ?? null, message: e.message.slice(0, 1000),
    }).where(eq(publishAttempts.id, id));
  }

  /**
   * The wait before the next try after `attempts` tries: base·2^(n-1), capped, jittered over its upper
   * half, and never sooner than the network's Retry-After (which is believed for a day at most).
   */
  private backoff(attempts: number, retryAfterMs: number | undefined): number {
    return backoffDelay(publishBackoff(this.d.options), attempts, { retryAfterMs });
  }

  /**
   * Back to scheduled with the next try due in `waitMs`; past the attempt limit the target fails. A
   * deferral (no error: the target's turn has not come) leaves the last error as it was.
   */
  private async retryLater(target: Target, workerId: string, waitMs: number, error: { errorClass: string; message: string; status?: number } | null, countsAsAttempt = true, keepPublishing = false, outcome: 'retry' | 'deferred' = 'retry'): Promise<Outcome> {
    if (error && countsAsAttempt && target.attempts >= this.d.options.maxAttempts) {
      return this.finish(target, workerId, 'failed', { ...error, message: `${error.message} (gave up after ${target.attempts} attempts)` });
    }
    const errorColumns = error ? { errorClass: error.errorClass, errorMessage: error.message.slice(0, 1000) } : {};
    const at = new Date(Date.now() + waitMs);
    // A job for a target that keeps its lease runs just after the lease ends, so it can win it back.
    const runAt = keepPublishing ? new Date(at.getTime() + 1000) : at;
    await this.d.db.transaction(async (tx) => {
      await this.fenced(tx, target.id, workerId);
      if (keepPublishing) {
        // The target stays publishing (an attempt is unsettled); its lease runs until the next look.
        await tx.update(postTargets).set({ leaseUntil: at, workerId: null, ...errorColumns, updatedAt: sql`now()` }).where(eq(postTargets.id, target.id));
      } else {
        await tx.update(postTargets).set({
          state: 'scheduled', nextAttemptAt: at, leaseUntil: null, workerId: null, ...errorColumns, ...(error ? { networkStatus: error.status ?? null } : {}),
          ...(countsAsAttempt ? {} : { attempts: sql`${postTargets.attempts} - 1` }), updatedAt: sql`now()`,
        }).where(eq(postTargets.id, target.id));
      }
      await enqueue(tx, target.id, runAt, { ranked: false });
    });
    return outcome;
  }

  /** The end of a target: published, failed or unknown; the team is told, a recurring post goes on. */
  private async finish(target: Target, workerId: string, state: 'published' | 'failed' | 'unknown', error: { errorClass: string; message: string; status?: number } | null,
    progress = target.progress, with_: { attempt?: { id: number; remoteId: string }; post?: Post } = {}): Promise<Outcome> {
    // The common end, published and not repeating, is one statement; the rest needs a transaction.
    if (state === 'published' && with_.post && !with_.post.recurrence) return this.finishPublished(target, workerId, progress, with_.attempt);
    const first = progress.parts[0];
    await this.d.db.transaction(async (tx) => {
      // Fenced: only while this worker still holds the target.
      const [row] = await tx.update(postTargets).set({
        state, leaseUntil: null, workerId: null, nextAttemptAt: null, progress,
        remoteId: first?.remoteId ?? null, remoteUrl: first?.url ?? null,
        ...(state === 'published' ? { publishedAt: sql`now()`, errorClass: null, errorMessage: null, networkStatus: null } : { errorClass: error!.errorClass, errorMessage: error!.message.slice(0, 1000), networkStatus: error!.status ?? null }),
        updatedAt: sql`now()`,
      }).where(and(eq(postTargets.id, target.id), eq(postTargets.state, 'publishing'), eq(postTargets.workerId, workerId))).returning();
      if (!row) throw new LeaseLost();
      if (with_.attempt) await tx.update(publishAttempts).set({ outcome: 'published', finishedAt: sql`now()`, remoteId: with_.attempt.remoteId }).where(eq(publishAttempts.id, with_.attempt.id));
      if (state === 'published' && row.publishAt) this.d.metrics.publishLateness.labels(target.provider).observe(Math.max(0, (row.publishedAt!.getTime() - row.publishAt.getTime()) / 1000));
      const data = {
        postId: target.postId, targetId: target.id, accountId: target.accountId, provider: target.provider, state,
        ...(first ? { remoteId: first.remoteId, url: first.url ?? null } : {}), ...(error ? { error: { class: error.errorClass, message: error.message } } : {}),
      };
      await this.d.events?.emit(tx, target.workspaceId, `post.${state}`, data);
      if (state !== 'published') {
        await audit(tx, { action: `post.${state}`, workspaceId: target.workspaceId, targetType: 'post_target', targetId: target.id, details: { provider: target.provider, error: error?.message.slice(0, 300) } });
        await this.d.notify?.(tx, target, state, error!.message);
      }
      await this.d.posts.scheduleNextOccurrence(tx, row, with_.post);
    });
    return state;
  }

  /**
   * `finish` of a published target whose post does not repeat, as one statement: the target (fenced), its
   * last attempt, and the webhooks' deliveries with their jobs. All of it or, when this run no longer
   * holds the target, none of it.
   */
  private async finishPublished(target: Target, workerId: string, progress: Target['progress'], attempt: { id: number; remoteId: string } | undefined): Promise<Outcome> {
    const first = progress.parts[0];
    const data = { postId: target.postId, targetId: target.id, accountId: target.accountId, provider: target.provider, state: 'published', ...(first ? { remoteId: first.remoteId, url: first.url ?? null } : {}) };
    const events = this.d.events?.emitInStatement('finished', target.workspaceId, 'post.published', data);
    const r = await this.d.db.execute<{ publish_at: string | null; published_at: string }>(sql`
      with finished as (
        update ${postTargets} set state = 'published', lease_until = null, worker_id = null, next_attempt_at = null,
               progress = ${JSON.stringify(progress)}::jsonb, remote_id = ${first?.remoteId ?? null}, remote_url = ${first?.url ?? null},
               published_at = now(), error_class = null, error_message = null, network_status = null, updated_at = now()
         where id = ${target.id} and state = 'publishing' and worker_id = ${workerId}
        returning publish_at, published_at),
      attempt_done as (
        update ${publishAttempts} set outcome = 'published', finished_at = now(), remote_id = ${attempt?.remoteId ?? null}
         where id = ${attempt?.id ?? null}::bigint and exists (select 1 from finished))
      ${events?.ctes ?? sql``}
      select publish_at, published_at${events ? sql`, ${events.done} as deliveries` : sql``} from finished`);
    const row = r.rows[0];
    if (!row) throw new LeaseLost();
    if (row.publish_at) this.d.metrics.publishLateness.labels(target.provider).observe(Math.max(0, (new Date(row.published_at).getTime() - new Date(row.publish_at).getTime()) / 1000));
    return 'published';
  }

  /**
   * Work a dead worker left behind, handed back to the queue: targets still publishing after their lease,
   * and due targets whose job a dead worker had taken before it could claim them (the queue would only
   * release that job hours later). Re-adding a target's job is harmless: only one run can claim it.
   */
  async sweep(): Promise<number> {
    const lease = this.d.options.leaseMs;
    const stale = await this.d.db.execute<{ id: string }>(sql`
      select id from post_targets where state = 'publishing' and lease_until < now()
      union
      select t.id from post_targets t join graphile_worker.jobs j on j.key = 'publish:' || t.id::text
        where t.state = 'scheduled' and coalesce(t.next_attempt_at, t.publish_at) < now() - (${lease} * interval '1 millisecond')
          and j.locked_at < now() - (${lease} * interval '1 millisecond')
      limit 1000`);
    for (const t of stale.rows) await enqueue(this.d.db, t.id, new Date(), { ranked: false });
    if (stale.rows.length) this.d.log.info({ targets: stale.rows.length }, 'swept targets a dead worker left behind');
    return stale.rows.length + await this.sweepAbandoned();
  }

  /** Targets a run of this process still holds after it ended in an error: their jobs again, now. */
  private async sweepAbandoned(): Promise<number> {
    if (this.abandoned.size === 0) return 0;
    const held = await this.d.db.select({ id: postTargets.id, workerId: postTargets.workerId }).from(postTargets)
      .where(and(inArray(postTargets.id, [...this.abandoned.keys()]), eq(postTargets.state, 'publishing')));
    const still = new Set(held.filter((t) => t.workerId === this.abandoned.get(t.id)).map((t) => t.id));
    for (const id of [...this.abandoned.keys()]) if (!still.has(id)) this.abandoned.delete(id);
    for (const id of still) await enqueue(this.d.db, id, new Date(), { ranked: false });
    if (still.size) this.d.log.info({ targets: still.size }, 'handed back targets whose publish run ended in an error');
    return still.size;
  }
}

function asProviderError(err: unknown, provider: string): ProviderError {
  if (err instanceof ProviderError) return err;
  // Refused before anything was sent (the account was disconnected meanwhile).
  if (err instanceof DomainError) return new ProviderError('permanent', err.message, { provider, reason: err.code });
  // Anything else from an adapter (a bug, a refused connection to our own database) is treated as a call
  // whose outcome is unknown, so it is reconciled rather than blindly repeated.
  return new ProviderError('unknown_outcome', `${provider}: ${err instanceof Error ? err.message : String(err)}`, { provider });
}
