// Workspace webhooks: endpoints that receive events (post published, failed or of unknown outcome,
// account needs reconnecting), signed per the Standard Webhooks specification (docs/WEBHOOKS.md).
// - An event is written as one delivery per subscribed endpoint, with its job, in the caller's
//   transaction: a delivery exists if and only if what caused it was committed.
// - The job makes one try: 2xx is delivered; anything else is logged as an attempt and the job is
//   added again for later (a growing schedule with jitter, never sooner than a 429 or 503's Retry-After,
//   up to 12 h of it) until WEBHOOK_MAX_ATTEMPTS, then failed.
//   An HTTP failure never throws out of the job: the schedule is ours, not the queue's.
// - The signing secret is shown once (creation, rotation) and kept encrypted (TokenCipher, keyed by
//   the webhook id). It never appears in an answer after that, in a log line or in the delivery log.
// - Receivers are user-supplied hosts: private, loopback and link-local addresses are refused when the
//   webhook is saved and again when a delivery connects (the HttpClient guard), unless ALLOW_PRIVATE_HOSTS.
// - Lock order (a webhook may be deleted while it is pinged, redelivered or delivered to): the workspace
//   row, then the webhook row, then its deliveries. A writer holds the webhook FOR KEY SHARE before it
//   writes a delivery or an attempt, so a delete either waits for it or has already happened (404, or a
//   job that finds nothing), never a foreign-key violation or a deadlock.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Task } from 'graphile-worker';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import { TransportError, type HttpClient } from '../../infra/http/client.ts';
import { assertHostAllowed, isBlockedAddress } from '../../infra/http/guard.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { addJob, addJobsSql } from '../../infra/queue/add-job.ts';
import { backoffDelay, type Backoff } from '../../infra/retry.ts';
import { parseRetryAfter, RETRY_AFTER_STATUSES } from '../../infra/retry-after.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { WEBHOOK_EVENTS, webhookAttempts, webhookDeliveries, webhooks, type WebhookEvent } from './schema.ts';

export const DELIVER_WEBHOOK_TASK = 'deliver_webhook';
/** graphile-worker's own tries of a delivery job (only a job that crashed; HTTP failures reschedule themselves). */
const DELIVERY_JOB_MAX_ATTEMPTS = 5;
/** The event `ping` sends; never emitted by anything else, so no endpoint subscribes to it. */
export const TEST_EVENT = 'webhook.test';
export const MAX_WEBHOOKS_PER_WORKSPACE = 20;
const deliveryList = keyset('deliveries', { createdAt: [webhookDeliveries.createdAt, 'time'], id: [webhookDeliveries.id, 'uuid'] }, 'desc');
export const USER_AGENT = 'AllIN-Webhooks/1';
/** Retry waits, as multiples of WEBHOOK_RETRY_BASE_MS (10 s: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, then 12 h). */
export const RETRY_MULTIPLIERS = [1, 6, 30, 180, 720, 2160, 4320] as const;
/** Bytes of a receiver's answer kept for the delivery log. */
const SNIPPET_BYTES = 200;
const DESCRIPTION_MAX = 200;

type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type Webhook = typeof webhooks.$inferSelect;
export type Delivery = typeof webhookDeliveries.$inferSelect;
export type Attempt = typeof webhookAttempts.$inferSelect;

/**
 * What other modules call to tell the workspace's webhooks that something happened. Call it with the
 * transaction that makes the change: the deliveries and their jobs are committed with it or not at all.
 */
export interface EventEmitter {
  emit(db: DbOrTx, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void>;
  /**
   * `emit` of many events of one kind at once (a page of collected messages, a bulk change): one event
   * (one payload id) per item of `data`, a delivery each per subscribed webhook, written by one statement
   * and their jobs by one more, whatever the count.
   */
  emitMany(db: DbOrTx, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>[]): Promise<void>;
  /**
   * `emit` as part of the caller's one statement, for a change written by a single statement (no
   * transaction around it): CTEs to append after the caller's own (`ctes` starts with a comma), which
   * emit only when the caller's CTE named `guard` returns a row. The caller must select `done` (the number
   * of deliveries), or PostgreSQL would not run the part that adds their jobs.
   */
  emitInStatement(guard: string, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>): { ctes: SQL; done: SQL };
}

/** The JSON body every delivery carries. `id` is also the webhook-id header: the same on every retry and redelivery. */
export interface WebhookPayload {
  id: string;
  type: WebhookEvent | typeof TEST_EVENT;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookServiceConfig {
  maxAttempts: number;
  timeoutMs: number;
  retryBaseMs: number;
  allowPrivateHosts: boolean;
  /** https only (NODE_ENV=production). */
  requireHttps: boolean;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Trying again will not help: the host was refused by the private-address guard, or the secret cannot be read. */
  final: boolean;
  /** The receiver's Retry-After on a 429 or 503, in milliseconds. */
  retryAfterMs?: number;
}

/** What the API shows of a webhook: never the secret. */
export function publicWebhook(w: Webhook) {
  return {
    id: w.id, url: w.url, description: w.description, events: w.events, active: w.active, createdBy: w.createdBy,
    createdAt: w.createdAt.toISOString(), updatedAt: w.updatedAt.toISOString(),
  };
}

export function publicDelivery(d: Delivery, attempts: Attempt[] = []) {
  return {
    id: d.id, webhookId: d.webhookId, event: d.event, payload: d.payload, status: d.status, attempts: d.attempts,
    lastStatusCode: d.lastStatusCode, lastError: d.lastError, nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(), deliveredAt: d.deliveredAt?.toISOString() ?? null,
    log: attempts.map((a) => ({ at: a.at.toISOString(), statusCode: a.statusCode, durationMs: a.durationMs, error: a.error })),
  };
}

/** `whsec_` and 32 random bytes in base64, the Standard Webhooks secret format. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The webhook-signature header value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The headers of one try. The timestamp is the try's own, so each retry is signed afresh. */
export function signedHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
  };
}

/** The retry schedule: RETRY_MULTIPLIERS of the base, ±20 %; a receiver's Retry-After is believed up to the longest step. */
export const webhookBackoff = (baseMs: number): Backoff => ({
  baseMs, capMs: Infinity, steps: RETRY_MULTIPLIERS, jitter: { around: 0.2 }, maxRetryAfterMs: baseMs * RETRY_MULTIPLIERS.at(-1)!,
});

/**
 * How long to wait after the `attempt`-th failed try (1-based): the schedule with ±20 % jitter, or the
 * receiver's Retry-After (429, 503) when that is longer.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random, retryAfterMs?: number): number {
  return backoffDelay(webhookBackoff(baseMs), attempt, { random, retryAfterMs });
}

const CONTROL = /\p{Cc}/gu;
const short = (s: string, max: number) => s.replace(CONTROL, ' ').trim().slice(0, max);
const hostOf = (url: string) => new URL(url).host;
const webhookNotFound = () => new NotFound('NOT_FOUND', 'No such webhook in this workspace.');

export class WebhookService implements EventEmitter {
  private readonly now: () => Date;

  constructor(private readonly d: {
    db: Db;
    cipher: TokenCipher;
    http: HttpClient;
    log: Logger;
    config: WebhookServiceConfig;
    metrics?: Metrics;
    clock?: () => Date;
    /** Host lookup for the up-front check (tests replace it). */
    resolve?: (host: string) => Promise<string[]>;
  }) {
    this.now = d.clock ?? (() => new Date());
  }

  // --- Managing endpoints -------------------------------------------------------------------------

  /** Refuses URLs AllIN will not deliver to, with a message a person can act on. */
  async checkUrl(raw: string): Promise<string> {
    const bad = (message: string, code = 'VALIDATION_FAILED') => new Invalid(code, message, [{ field: 'body.url', message }]);
    if (!URL.canParse(raw)) throw bad('body.url must be an absolute http(s) URL');
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('body.url must start with https:// (or http://)');
    if (this.d.config.requireHttps && url.protocol !== 'https:') throw bad('body.url must use https:// in production');
    if (url.username || url.password) throw bad('body.url must not carry a user name or password; the signature authenticates AllIN');
    if (url.hash) throw bad('body.url must not have a #fragment');
    if (!this.d.config.allowPrivateHosts) {
      try {
        assertHostAllowed(url.hostname);
      } catch (err) {
        throw bad(`body.url: ${(err as Error).message}`, 'HOST_NOT_ALLOWED');
      }
      // A name that resolves to a private address now is refused now; a name that changes later is
      // caught when a delivery connects. A name that does not resolve is accepted (its deliveries fail).
      const addresses = await this.resolve(url.hostname.replace(/^\[|\]$/g, ''));
      const blocked = addresses.find((a) => isBlockedAddress(a));
      if (blocked) {
        throw bad(`body.url: ${url.hostname} resolves to ${blocked}, a private, loopback or link-local address; AllIN does not connect there`, 'HOST_NOT_ALLOWED');
      }
    }
    return url.toString();
  }

  private async resolve(host: string): Promise<string[]> {
    if (this.d.resolve) return this.d.resolve(host);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string[]>((res) => { timer = setTimeout(() => res([]), 3000); });
    try {
      return await Promise.race([lookup(host, { all: true }).then((l) => l.map((a) => a.address), () => []), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async create(workspaceId: string, input: { url: string; events: WebhookEvent[]; description?: string | null; active?: boolean }, createdBy: string | null, actor: Actor) {
    const url = await this.checkUrl(input.url);
    const events = checkEvents(input.events);
    const description = cleanDescription(input.description);
    const id = randomUUID();
    const secret = generateSecret();
    const row = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      // Serialises creations in one workspace so the limit holds under concurrency.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks:${workspaceId}`}, 0))`);
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(webhooks).where(eq(webhooks.workspaceId, workspaceId));
      if (n >= MAX_WEBHOOKS_PER_WORKSPACE) {
        throw new Conflict('TOO_MANY_WEBHOOKS', `A workspace can have at most ${MAX_WEBHOOKS_PER_WORKSPACE} webhooks; delete one first.`);
      }
      const [w] = await tx.insert(webhooks).values({
        id, workspaceId, url, description, events, secretEnc: this.d.cipher.encrypt(secret, id), active: input.active ?? true, createdBy,
      }).returning();
      await audit(tx, { action: 'webhook.created', workspaceId, targetType: 'webhook', targetId: id, details: { host: hostOf(url), events }, ...actor });
      return w!;
    });
    this.d.log.info({ webhookId: id, workspaceId, host: hostOf(url) }, 'webhook created');
    return { webhook: row, secret };
  }

  async list(workspaceId: string): Promise<Webhook[]> {
    return this.d.db.select().from(webhooks).where(eq(webhooks.workspaceId, workspaceId)).orderBy(webhooks.createdAt, webhooks.id);
  }

  async get(workspaceId: string, webhookId: string): Promise<Webhook> {
    const [w] = await this.d.db.select().from(webhooks).where(and(eq(webhooks.id, webhookId), eq(webhooks.workspaceId, workspaceId)));
    if (!w) throw webhookNotFound();
    return w;
  }

  /** The webhook, held FOR KEY SHARE until `tx` ends: it cannot be deleted meanwhile. 404 when it is gone. */
  private async hold(tx: DbOrTx, workspaceId: string, webhookId: string): Promise<Webhook> {
    const [w] = await tx.select().from(webhooks).where(and(eq(webhooks.id, webhookId), eq(webhooks.workspaceId, workspaceId))).for('key share');
    if (!w) throw webhookNotFound();
    return w;
  }

  async update(workspaceId: string, webhookId: string, patch: { url?: string; events?: WebhookEvent[]; description?: string | null; active?: boolean }, actor: Actor): Promise<Webhook> {
    await this.get(workspaceId, webhookId);
    const set: Partial<typeof webhooks.$inferInsert> = {};
    if (patch.url !== undefined) set.url = await this.checkUrl(patch.url);
    if (patch.events !== undefined) set.events = checkEvents(patch.events);
    if (patch.description !== undefined) set.description = cleanDescription(patch.description);
    if (patch.active !== undefined) set.active = patch.active;
    const changed = Object.keys(set);
    return this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [w] = await tx.update(webhooks).set({ ...set, updatedAt: sql`now()` })
        .where(and(eq(webhooks.id, webhookId), eq(webhooks.workspaceId, workspaceId))).returning();
      if (!w) throw webhookNotFound();
      await audit(tx, { action: 'webhook.updated', workspaceId, targetType: 'webhook', targetId: webhookId,
        details: { changed, host: hostOf(w.url), events: w.events, active: w.active }, ...actor });
      return w;
    });
  }

  /** Deletes the endpoint and its delivery log; pending deliveries are dropped (their jobs find nothing). */
  async delete(workspaceId: string, webhookId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      // Waits for a ping, redelivery or delivery holding the webhook; its deliveries go with it (cascade).
      const [w] = await tx.delete(webhooks).where(and(eq(webhooks.id, webhookId), eq(webhooks.workspaceId, workspaceId))).returning();
      if (!w) throw webhookNotFound();
      await audit(tx, { action: 'webhook.deleted', workspaceId, targetType: 'webhook', targetId: webhookId, details: { host: hostOf(w.url) }, ...actor });
    });
  }

  /** A new secret, effective for every try from now on (retries of older events included). Shown once. */
  async rotateSecret(workspaceId: string, webhookId: string, actor: Actor): Promise<{ webhook: Webhook; secret: string }> {
    const secret = generateSecret();
    const webhook = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [w] = await tx.update(webhooks).set({ secretEnc: this.d.cipher.encrypt(secret, webhookId), updatedAt: sql`now()` })
        .where(and(eq(webhooks.id, webhookId), eq(webhooks.workspaceId, workspaceId))).returning();
      if (!w) throw webhookNotFound();
      await audit(tx, { action: 'webhook.secret_rotated', workspaceId, targetType: 'webhook', targetId: webhookId, details: { host: hostOf(w.url) }, ...actor });
      return w;
    });
    return { webhook, secret };
  }

  // --- Events -------------------------------------------------------------------------------------

  /** One delivery (and its job) per active webhook of the workspace subscribed to `event`, in `db`'s transaction. */
  async emit(db: DbOrTx, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>): Promise<void> {
    // Outside a transaction the lock below would end before the inserts: make one.
    if (db === this.d.db) return this.d.db.transaction((tx) => this.emit(tx, workspaceId, event, data));
    // Held until the caller's transaction ends: a webhook deleted meanwhile is skipped (the lock waits
    // for the delete, then finds no row) instead of failing the caller's transaction on the foreign key.
    const targets = await db.select({ id: webhooks.id }).from(webhooks)
      .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.active, true), sql`${event} = any(${webhooks.events})`)).for('key share');
    if (targets.length === 0) return;
    const payload: WebhookPayload = { id: messageId(), type: event, timestamp: this.now().toISOString(), data };
    for (const t of targets) {
      const deliveryId = randomUUID();
      await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: t.id, event, payload: payload as unknown as Record<string, unknown> });
      await this.enqueue(db, deliveryId);
    }
  }

  async emitMany(db: DbOrTx, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>[]): Promise<void> {
    if (data.length === 0) return;
    if (db === this.d.db) return this.d.db.transaction((tx) => this.emitMany(tx, workspaceId, event, data));
    // Held as in emit: a webhook deleted meanwhile is skipped, never a foreign-key failure of the caller.
    const targets = await db.select({ id: webhooks.id }).from(webhooks)
      .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.active, true), sql`${event} = any(${webhooks.events})`)).for('key share');
    if (targets.length === 0) return;
    const timestamp = this.now().toISOString();
    const payloads: WebhookPayload[] = data.map((d) => ({ id: messageId(), type: event, timestamp, data: d }));
    // The ids are made here so the jobs can name them; the rows and the jobs go as JSON, one parameter
    // each, so the count of events never meets PostgreSQL's limit on parameters.
    const rows = payloads.flatMap((payload) => targets.map((t) => ({ id: randomUUID(), webhook_id: t.id, payload })));
    await db.execute(sql`insert into ${webhookDeliveries} (id, webhook_id, event, payload)
      select r.id, r.webhook_id, ${event}, r.payload from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id uuid, webhook_id uuid, payload jsonb)`);
    await db.execute(sql`select count(*) from ${addJobsSql(DELIVER_WEBHOOK_TASK, rows.map((r) => ({ payload: { deliveryId: r.id }, jobKey: `webhook-delivery:${r.id}` })), { maxAttempts: DELIVERY_JOB_MAX_ATTEMPTS })}`);
  }

  emitInStatement(guard: string, workspaceId: string, event: WebhookEvent, data: Record<string, unknown>): { ctes: SQL; done: SQL } {
    if (!/^[a-z_][a-z0-9_]*$/.test(guard)) throw new Error(`not a CTE name: ${guard}`);
    const g = sql.raw(guard);
    const payload: WebhookPayload = { id: messageId(), type: event, timestamp: this.now().toISOString(), data };
    // The same rows as emit: the webhooks held FOR KEY SHARE, a delivery each, and its job (as enqueue adds it).
    return {
      ctes: sql`, webhook_targets as (
          select h.id from ${webhooks} h
           where h.workspace_id = ${workspaceId} and h.active and ${event} = any(h.events) and exists (select 1 from ${g})
             for key share of h),
        webhook_new_deliveries as (
          insert into ${webhookDeliveries} (id, webhook_id, event, payload)
          select gen_random_uuid(), id, ${event}, ${JSON.stringify(payload)}::jsonb from webhook_targets returning id),
        webhook_new_jobs as (
          select graphile_worker.add_job(${DELIVER_WEBHOOK_TASK}, json_build_object('deliveryId', id), job_key := 'webhook-delivery:' || id, max_attempts := ${DELIVERY_JOB_MAX_ATTEMPTS}) as job
            from webhook_new_deliveries)`,
      done: sql`(select count(*) from webhook_new_jobs)::int`,
    };
  }

  private async enqueue(db: DbOrTx, deliveryId: string, runAt?: Date): Promise<void> {
    // The key keeps one waiting job per delivery; graphile-worker's own retries cover only a job that
    // crashed (an HTTP failure is rescheduled by the job itself).
    await addJob(db, DELIVER_WEBHOOK_TASK, { deliveryId }, { jobKey: `webhook-delivery:${deliveryId}`, maxAttempts: DELIVERY_JOB_MAX_ATTEMPTS, ...(runAt ? { runAt } : {}) });
  }

  // --- Delivering ---------------------------------------------------------------------------------

  /** One POST of a payload to a webhook's URL, signed with its current secret. Never throws for the receiver's faults. */
  async attempt(w: Webhook, payload: Record<string, unknown>): Promise<AttemptResult> {
    const body = JSON.stringify(payload);
    const id = String(payload.id);
    const timestamp = Math.floor(this.now().getTime() / 1000);
    let secret: string;
    try {
      secret = this.d.cipher.decrypt(w.secretEnc, w.id);
    } catch (err) {
      this.d.log.error({ webhookId: w.id, err: (err as Error).message }, 'a webhook secret cannot be decrypted');
      return { ok: false, statusCode: null, durationMs: 0, final: true, error: 'the signing secret cannot be decrypted with the configured keys; rotate it' };
    }
    const headers = signedHeaders(secret, id, timestamp, body);
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      const res = await this.d.http.request({
        method: 'POST', url: w.url, provider: 'webhook', operation: 'deliver', headers, body,
        timeoutMs: this.d.config.timeoutMs, userSuppliedHost: true, maxResponseBytes: SNIPPET_BYTES,
      });
      const ok = res.status >= 200 && res.status < 300;
      const snippet = short(res.text, SNIPPET_BYTES);
      const retryAfterMs = RETRY_AFTER_STATUSES.has(res.status) ? parseRetryAfter(res.headers['retry-after']) : undefined;
      return {
        ok, statusCode: res.status, durationMs: took(), final: false, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        error: ok ? null : `HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}${snippet ? `: ${snippet}` : ''}`,
      };
    } catch (err) {
      const blocked = err instanceof TransportError && err.reason === 'blocked_host';
      const reason = err instanceof TransportError ? `${err.reason}: ${err.message}` : (err as Error).message;
      return { ok: false, statusCode: null, durationMs: took(), final: blocked, error: short(reason, 300) };
    }
  }

  /**
   * The deliver_webhook job: one try of a pending delivery. Delivered on 2xx; otherwise the attempt is
   * logged and the job added again for later, or the delivery is marked failed once the attempts are
   * used up (at once when the host is refused by the address guard or the secret cannot be read).
   * Returns what happened.
   */
  async deliver(deliveryId: string): Promise<'delivered' | 'retry' | 'failed' | 'skipped'> {
    const [row] = await this.d.db.select({ delivery: webhookDeliveries, webhook: webhooks }).from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId)).where(eq(webhookDeliveries.id, deliveryId));
    if (!row || row.delivery.status !== 'pending') return 'skipped'; // deleted, or settled by an earlier run
    const { delivery, webhook } = row;
    if (!webhook.active) {
      await this.d.db.update(webhookDeliveries).set({ status: 'failed', lastError: 'the webhook was disabled before this delivery', nextAttemptAt: null })
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'pending')));
      this.count(delivery.event, 'failed');
      return 'failed';
    }
    // Claim this try: a second run of the same job (a crash, a duplicate) finds the count moved on.
    const [claimed] = await this.d.db.update(webhookDeliveries).set({ attempts: sql`${webhookDeliveries.attempts} + 1`, nextAttemptAt: null })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.attempts, delivery.attempts)))
      .returning({ attempts: webhookDeliveries.attempts });
    if (!claimed) return 'skipped';

    const r = await this.attempt(webhook, delivery.payload);
    const outcome = r.ok ? 'delivered' : r.final || claimed.attempts >= this.d.config.maxAttempts ? 'failed' : 'retry';
    const nextAt = outcome === 'retry' ? new Date(this.now().getTime() + retryDelayMs(claimed.attempts, this.d.config.retryBaseMs, Math.random, r.retryAfterMs)) : null;
    const logged = await this.d.db.transaction(async (tx) => {
      if (!await this.holdDelivery(tx, webhook.id, deliveryId)) return false;
      await tx.update(webhookDeliveries).set({
        status: outcome === 'retry' ? 'pending' : outcome, lastStatusCode: r.statusCode, lastError: r.error, nextAttemptAt: nextAt,
        ...(outcome === 'delivered' ? { deliveredAt: sql`now()` } : {}),
      }).where(eq(webhookDeliveries.id, deliveryId));
      await tx.insert(webhookAttempts).values({ deliveryId, statusCode: r.statusCode, durationMs: r.durationMs, error: r.error });
      if (nextAt) await this.enqueue(tx, deliveryId, nextAt);
      return true;
    });
    if (!logged) return 'skipped'; // the webhook was deleted during the try
    this.count(delivery.event, outcome);
    if (!r.ok) {
      this.d.log.info({ deliveryId, webhookId: webhook.id, event: delivery.event, attempt: claimed.attempts, statusCode: r.statusCode, error: r.error, outcome,
        ...(nextAt ? { retryAt: nextAt.toISOString() } : {}) }, outcome === 'retry' ? 'webhook delivery failed; retrying later' : 'webhook delivery failed; giving up');
    }
    return outcome;
  }

  /**
   * Holds the webhook (FOR KEY SHARE) and then the delivery (FOR UPDATE), in the order a delete takes
   * them. False when either was deleted meanwhile.
   */
  private async holdDelivery(tx: DbOrTx, webhookId: string, deliveryId: string): Promise<boolean> {
    const [w] = await tx.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, webhookId)).for('key share');
    if (!w) return false;
    const [d] = await tx.select({ id: webhookDeliveries.id }).from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, webhookId))).for('update');
    return d !== undefined;
  }

  private count(event: string, outcome: string): void {
    this.d.metrics?.webhookDeliveries.labels(event, outcome).inc();
  }

  /** Sends a `webhook.test` event now (even to a disabled webhook) and answers how it went; logged like any delivery. */
  async ping(workspaceId: string, webhookId: string) {
    const deliveryId = randomUUID();
    // The delivery row is written while the webhook is held; the HTTP call happens outside any transaction.
    const { w, payload } = await this.d.db.transaction(async (tx) => {
      const w = await this.hold(tx, workspaceId, webhookId);
      const payload: WebhookPayload = {
        id: messageId(), type: TEST_EVENT, timestamp: this.now().toISOString(),
        data: { webhookId: w.id, workspaceId, message: 'A test event from AllIN: your endpoint is reachable and can check the signature.' },
      };
      await tx.insert(webhookDeliveries).values({ id: deliveryId, webhookId: w.id, event: TEST_EVENT, payload: payload as unknown as Record<string, unknown>, attempts: 1 });
      return { w, payload };
    });
    const r = await this.attempt(w, payload as unknown as Record<string, unknown>);
    const logged = await this.d.db.transaction(async (tx) => {
      if (!await this.holdDelivery(tx, w.id, deliveryId)) return false;
      await tx.update(webhookDeliveries).set({ status: r.ok ? 'delivered' : 'failed', lastStatusCode: r.statusCode, lastError: r.error,
        ...(r.ok ? { deliveredAt: sql`now()` } : {}) }).where(eq(webhookDeliveries.id, deliveryId));
      await tx.insert(webhookAttempts).values({ deliveryId, statusCode: r.statusCode, durationMs: r.durationMs, error: r.error });
      return true;
    });
    this.count(TEST_EVENT, r.ok ? 'delivered' : 'failed');
    if (!logged) throw new NotFound('NOT_FOUND', 'This webhook was deleted while its test event was being sent.');
    return { deliveryId, delivered: r.ok, statusCode: r.statusCode, durationMs: r.durationMs, error: r.error };
  }

  /**
   * The delivery log of one webhook, newest first, each with its tries, a page at a time
   * (webhook_deliveries_list_idx, or webhook_deliveries_status_idx with a status). `cursor` is the previous
   * page's nextCursor; `before`, the id of its last delivery, is the older way to ask for the next page.
   */
  async deliveries(workspaceId: string, webhookId: string, opts: PageRequest & { before?: string | undefined; status?: Delivery['status'] | undefined }) {
    await this.get(workspaceId, webhookId);
    const conds: (SQL | undefined)[] = [eq(webhookDeliveries.webhookId, webhookId)];
    if (opts.status) conds.push(eq(webhookDeliveries.status, opts.status));
    if (opts.before) {
      conds.push(sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (select d.created_at, d.id from webhook_deliveries d where d.id = ${opts.before} and d.webhook_id = ${webhookId})`);
    }
    conds.push(deliveryList.startAfter(opts));
    const rows = await this.d.db.select({ delivery: webhookDeliveries, cursorKey: deliveryList.fields.cursorKey }).from(webhookDeliveries).where(and(...conds))
      .orderBy(...deliveryList.orderBy).limit(opts.limit + 1);
    const { items, nextCursor } = deliveryList.page(rows, opts.limit);
    const page = items.map((r) => r.delivery);
    const attempts = page.length === 0 ? [] : await this.d.db.select().from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, page.map((d) => d.id))).orderBy(webhookAttempts.id);
    const byDelivery = new Map<string, Attempt[]>();
    for (const a of attempts) {
      const list = byDelivery.get(a.deliveryId);
      if (list) list.push(a);
      else byDelivery.set(a.deliveryId, [a]);
    }
    return {
      deliveries: page.map((d) => ({ delivery: d, attempts: byDelivery.get(d.id) ?? [] })),
      nextCursor,
      nextBefore: nextCursor !== null ? page.at(-1)!.id : null,
    };
  }

  /**
   * Sends a settled delivery's event again, as a new delivery with a fresh retry schedule. The payload
   * (and so webhook-id) is the same, so a receiver that already processed it can recognise it.
   */
  async redeliver(workspaceId: string, webhookId: string, deliveryId: string): Promise<Delivery> {
    return this.d.db.transaction(async (tx) => {
      const w = await this.hold(tx, workspaceId, webhookId);
      if (!w.active) throw new Conflict('WEBHOOK_DISABLED', 'This webhook is disabled; enable it (PATCH active: true) before redelivering.');
      const [old] = await tx.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, w.id)));
      if (!old) throw new NotFound('NOT_FOUND', 'No such delivery for this webhook.');
      if (old.status === 'pending') throw new Conflict('DELIVERY_PENDING', 'This delivery is still being tried; wait for it to be delivered or to fail.');
      const [d] = await tx.insert(webhookDeliveries).values({ id: randomUUID(), webhookId: w.id, event: old.event, payload: old.payload }).returning();
      await this.enqueue(tx, d!.id);
      return d!;
    });
  }

  /** `allin keys rotate`: re-encrypts every secret stored under an older key. */
  async rotateKeys(): Promise<{ rotated: number; unreadable: number }> {
    let rotated = 0;
    let unreadable = 0;
    for (const w of await this.d.db.select({ id: webhooks.id, secretEnc: webhooks.secretEnc }).from(webhooks)) {
      if (!this.d.cipher.isStale(w.secretEnc)) continue;
      try {
        const again = this.d.cipher.encrypt(this.d.cipher.decrypt(w.secretEnc, w.id), w.id);
        await this.d.db.update(webhooks).set({ secretEnc: again }).where(and(eq(webhooks.id, w.id), eq(webhooks.secretEnc, w.secretEnc)));
        rotated++;
      } catch {
        unreadable++;
      }
    }
    return { rotated, unreadable };
  }
}

/** The deliver_webhook task: one try of the delivery named in the payload. */
export function deliverWebhookTask(service: WebhookService): Task {
  return async (payload) => {
    const deliveryId = (payload as { deliveryId?: unknown } | null)?.deliveryId;
    if (typeof deliveryId !== 'string') return;
    await service.deliver(deliveryId);
  };
}

/** Standard Webhooks message ids: unique per event, kept across retries. */
function messageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

function checkEvents(events: readonly string[]): WebhookEvent[] {
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) {
    throw new Invalid('VALIDATION_FAILED', `body.events: unknown event ${unknown.join(', ')}; events are ${WEBHOOK_EVENTS.join(', ')}`,
      [{ field: 'body.events', message: `unknown event ${unknown.join(', ')}` }]);
  }
  if (events.length === 0) throw new Invalid('VALIDATION_FAILED', 'body.events must name at least one event', [{ field: 'body.events', message: 'must not be empty' }]);
  return [...new Set(events)] as WebhookEvent[];
}

function cleanDescription(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const v = value.replace(CONTROL, ' ').trim();
  return v === '' ? null : v.slice(0, DESCRIPTION_MAX);
}
