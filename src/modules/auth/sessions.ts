// Sessions and refresh-token rotation.
// - Every login gets its own session and a fresh 256-bit refresh token, so two logins in the same
//   millisecond cannot collide. (The previous AllIN backend signed refresh tokens as JWTs with nothing
//   random in them: two logins of one user in the same second got the same token, and one failed with a 500.)
// - Refreshing rotates the token under a row lock on the session: of concurrent refreshes with one
//   token, one rotates; the others, inside the grace window, get the token it issued (parallel tabs).
// - A replaced token presented after the grace window, or any older one, means it leaked: the whole
//   session is revoked.
// - Revocation is written to PostgreSQL and to the shared store, which every API process checks on
//   each request, so access tokens of a revoked session stop working at once, not at their expiry.
//   PostgreSQL stays the authority: the store vouches for a session only after this process has seen
//   it live in the database under the store's current epoch (a marker a flushed or new store lacks) and
//   connection; otherwise, and whenever the store cannot answer, the database decides (see isRevoked).
import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import { sessions } from './schema.ts';

/** Replaced refresh-token hashes a session remembers, to recognise a leaked one. */
const KEPT_HASHES = 16;
import { newSecret, sha256, type TokenService } from './tokens.ts';
import type { RequestContext } from '../audit/index.ts';

export type RevokeReason = 'logout' | 'logout_other' | 'logout_all' | 'revoked_by_user' | 'password_changed' | 'password_reset'
  | 'refresh_reuse' | 'account_deleted' | 'second_factor_enrolled' | 'sso_required';

export class RefreshError extends Error {
  constructor(readonly code: 'INVALID_REFRESH_TOKEN' | 'REFRESH_TOKEN_REUSED' | 'SESSION_EXPIRED' | 'SESSION_REVOKED', message: string,
    readonly sessionId?: string, readonly userId?: string) {
    super(message);
    this.name = 'RefreshError';
  }
}

export interface SessionOptions {
  ttlDays: number;
  rememberTtlDays: number;
  graceSeconds: number;
}

const OPEN_SQL = `with new_session as (
    insert into sessions (id, user_id, remember_me, expires_at, refresh_hash, ip, user_agent, amr, second_factor_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8::text[], case when $9::boolean then now() end))
  insert into audit_log (action, actor_user_id, target_type, target_id, ip, user_agent, details)
  values ('auth.login', $2, 'session', $1::text, $6, $7, jsonb_build_object('amr', to_jsonb($8::text[])))`;

const ROTATE_SQL = `update sessions set refresh_hash = $1,
         previous_hashes = (array_prepend(refresh_hash, previous_hashes))[1:${KEPT_HASHES}],
         rotated_at = now(), last_used_at = now()
   where refresh_hash = $2 and revoked_at is null and expires_at > now()
   returning id, user_id, expires_at, remember_me`;

const revokedKey = (sessionId: string) => `revoked-session:${sessionId}`;
const graceKey = (hash: Buffer) => `refresh-grace:${hash.toString('hex')}`;
/**
 * The store's revocation epoch: a random value written once into an empty store. A flushed, evicted or
 * restarted store has none (or a new one), which tells every process that revocations written before
 * may be gone. It expires now and then; a new one only costs each live session one database read.
 */
const EPOCH_KEY = 'revocation-epoch';
const EPOCH_TTL_MS = 24 * 3600_000;
/** Sessions this process remembers as confirmed live; the oldest is forgotten first (and read again). */
const MAX_CONFIRMED = 100_000;

/** A user's live sessions, newest sign-in first (sessions_live_idx). */
const sessionList = keyset('sessions', { createdAt: [sessions.createdAt, 'time'], id: [sessions.id, 'uuid'] }, 'desc');

const REVOKED_SQL = 'select revoked_at is not null as revoked from sessions where id = $1';

export class SessionService {
  /** Session id → the store epoch and connection under which the database said it was live. */
  private readonly confirmed = new Map<string, { epoch: string; generation: number }>();
  /** Revocations the store did not take (unreachable), written again later: session id → until when. */
  private readonly unmarked = new Map<string, number>();
  private remarking: Promise<void> | undefined;
  private opening: Promise<string | null> | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: KeyValueStore,
    private readonly tokens: TokenService,
    private readonly opts: SessionOptions,
  ) {}

  /**
   * Opens a session for a sign-in and writes its `auth.login` audit entry in the same statement: atomic,
   * one round trip, and a named prepared statement (parsed and planned once per connection).
   */
  /** `secondFactor`: the sign-in proved a second factor of ours (default: more than one method in `amr`). */
  async open(userId: string, rememberMe: boolean, ctx: RequestContext, amr: readonly string[] = ['pwd'], secondFactor = amr.length > 1): Promise<{ sessionId: string; refreshToken: string; expiresAt: Date }> {
    const days = rememberMe ? this.opts.rememberTtlDays : this.opts.ttlDays;
    const expiresAt = new Date(Date.now() + days * 86_400_000);
    const refreshToken = newSecret('rt');
    const sessionId = randomUUID();
    await this.db.$client.query({
      name: 'auth_open_session',
      text: OPEN_SQL,
      values: [sessionId, userId, rememberMe, expiresAt, sha256(refreshToken), ctx.ip, ctx.userAgent?.slice(0, 400) ?? null, amr, secondFactor],
    });
    return { sessionId, refreshToken, expiresAt };
  }

  /**
   * Rotates a refresh token. Returns the session and the new (or, in the grace window, current) token.
   *
   * Every presenter of token h agrees on one successor T, kept (encrypted) in the shared store under h
   * for the grace window: the first to arrive puts its candidate there (set-if-absent), the others read
   * it. Then one conditional UPDATE (where refresh_hash = h) moves the session to T; whoever's UPDATE
   * finds the row already moved checks that T is the session's current token and the rotation recent.
   * The common case is one store operation and one statement; anything else (revoked, expired, an old
   * token coming back) goes through the locked path below.
   */
  async refresh(token: string): Promise<{ sessionId: string; userId: string; refreshToken: string; expiresAt: Date; rememberMe: boolean }> {
    const hash = sha256(token);
    const key = graceKey(hash);
    const candidate = newSecret('rt');
    const ttl = this.opts.graceSeconds * 1000 + 1000;
    let mine: boolean;
    let successor: string | null;
    let storeDown = false;
    try {
      mine = await this.store.setIfAbsent(key, this.tokens.sealGrace(candidate), ttl);
      const sealed = mine ? null : await this.store.get(key);
      successor = mine ? candidate : sealed ? this.tokens.openGrace(sealed) : null;
    } catch {
      // The shared store is unreachable: rotate without the grace agreement. A parallel presenter of
      // the same token is then refused (401), but not treated as a leak (see refuse).
      storeDown = true;
      mine = false;
      successor = candidate;
    }

    if (successor) {
      // A named prepared statement: PostgreSQL parses and plans it once per connection, not per refresh.
      const moved = await this.db.$client.query<{ id: string; user_id: string; expires_at: Date; remember_me: boolean }>({
        name: 'auth_rotate_refresh', text: ROTATE_SQL, values: [sha256(successor), hash],
      });
      const row = moved.rows[0];
      if (row) return { sessionId: row.id, userId: row.user_id, expiresAt: new Date(row.expires_at), rememberMe: row.remember_me, refreshToken: successor };

      // Already moved on: by a concurrent presenter of the same token (parallel tabs), recently?
      const current = await this.db.execute<{ id: string; user_id: string; expires_at: Date; remember_me: boolean }>(sql`
        select id, user_id, expires_at, remember_me from sessions
         where refresh_hash = ${sha256(successor)} and previous_hashes[1] = ${hash}
           and rotated_at > now() - make_interval(secs => ${this.opts.graceSeconds})
           and revoked_at is null and expires_at > now()`);
      const c = current.rows[0];
      if (c) return { sessionId: c.id, userId: c.user_id, expiresAt: new Date(c.expires_at), rememberMe: c.remember_me, refreshToken: successor };
      if (mine) await this.store.del(key).catch(() => undefined); // our candidate never became anyone's token
    }
    return this.refuse(hash, storeDown);
  }

  /** Why a refresh token cannot be used; revokes its session when it is a replaced one coming back. */
  private async refuse(hash: Buffer, storeDown: boolean): Promise<never> {
    const result = await this.db.transaction(async (tx) => {
      const found = await tx.execute<{
        id: string; user_id: string; refresh_hash: Buffer; previous_hashes: Buffer[]; rotated_at: Date | null; expires_at: Date; revoked_at: Date | null;
      }>(sql`select id, user_id, refresh_hash, previous_hashes, rotated_at, expires_at, revoked_at from sessions
             where refresh_hash = ${hash} or previous_hashes @> array[${hash}]::bytea[] for update`);
      const row = found.rows[0];
      if (!row) return new RefreshError('INVALID_REFRESH_TOKEN', 'This refresh token is not valid; sign in again');
      if (row.revoked_at) return new RefreshError('SESSION_REVOKED', 'This session was signed out; sign in again', row.id, row.user_id);
      if (new Date(row.expires_at).getTime() <= Date.now()) {
        return new RefreshError('SESSION_EXPIRED', 'This session has expired; sign in again', row.id, row.user_id);
      }
      if (hash.equals(row.refresh_hash)) {
        // Still current: the successor agreed on in the store expired before it was used. Nothing leaked.
        return new RefreshError('INVALID_REFRESH_TOKEN', 'This refresh could not complete; try again', row.id, row.user_id);
      }
      const justReplaced = row.previous_hashes[0]?.equals(hash) === true && row.rotated_at !== null &&
        Date.now() - new Date(row.rotated_at).getTime() <= this.opts.graceSeconds * 1000;
      if (storeDown && justReplaced) {
        return new RefreshError('INVALID_REFRESH_TOKEN', 'This refresh token was just replaced by a parallel refresh; use the new one', row.id, row.user_id);
      }
      // A replaced token came back: whoever holds it is not the session's owner, or the owner's copy leaked.
      await this.revokeIn(tx, row.id, 'refresh_reuse');
      return new RefreshError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been signed out for safety', row.id, row.user_id);
    });
    if (result.code === 'REFRESH_TOKEN_REUSED') await this.markRevoked([result.sessionId!]);
    throw result;
  }

  private async revokeIn(db: DbOrTx, sessionId: string, reason: RevokeReason): Promise<void> {
    await db.update(sessions).set({ revokedAt: sql`now()`, revokeReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  }

  /**
   * Tells every API process, through the shared store, that these sessions' access tokens are dead.
   * Never fails: the revocation is in PostgreSQL (or in the caller's transaction), which every process
   * reads while the store cannot vouch. What the store did not take is written again once it answers (see remark).
   */
  async markRevoked(sessionIds: string[]): Promise<void> {
    const ttl = (this.tokens.accessTtlSeconds + 60) * 1000;
    await Promise.all(sessionIds.map(async (id) => {
      this.confirmed.delete(id);
      try {
        await this.store.set(revokedKey(id), '1', ttl);
      } catch {
        this.unmarked.set(id, Date.now() + ttl);
      }
    }));
  }

  /**
   * Whether an access token's session was revoked, on every authenticated request. The common case is one
   * store round trip (the revocation key and the epoch together) and a map lookup. The database is read
   * when the store cannot vouch: the store is unreachable (every request, until it is back), or this
   * process has not yet seen the session live under the store's current epoch and connection (once per
   * session after a start, a flush or a reconnect). A revocation committed after that read is in the store
   * under the same epoch, or the epoch has changed and the session is read again.
   */
  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.unmarked.size > 0) void this.remark();
    let marked: string | null;
    let epoch: string | null;
    const generation = this.store.generation;
    try {
      [marked, epoch] = await this.store.getMany([revokedKey(sessionId), EPOCH_KEY]) as [string | null, string | null];
    } catch {
      return this.revokedInDb(sessionId);
    }
    if (marked !== null) return true;
    const seen = this.confirmed.get(sessionId);
    if (seen !== undefined && seen.epoch === epoch && seen.generation === generation) return false;
    epoch ??= await this.openEpoch();
    if (await this.revokedInDb(sessionId)) {
      await this.markRevoked([sessionId]); // the store had forgotten it: teach it again
      return true;
    }
    if (epoch !== null && this.store.generation === generation) {
      this.confirmed.delete(sessionId);
      if (this.confirmed.size >= MAX_CONFIRMED) this.confirmed.delete(this.confirmed.keys().next().value!);
      this.confirmed.set(sessionId, { epoch, generation });
    }
    return false;
  }

  /** A missing session (its account was deleted) counts as revoked. */
  private async revokedInDb(sessionId: string): Promise<boolean> {
    const res = await this.db.$client.query<{ revoked: boolean }>({ name: 'auth_session_revoked', text: REVOKED_SQL, values: [sessionId] });
    return res.rows[0]?.revoked ?? true;
  }

  /** Writes an epoch into a store that has none (or reads the one another process just wrote); null when it cannot. */
  private openEpoch(): Promise<string | null> {
    this.opening ??= (async () => {
      const mine = randomUUID();
      return (await this.store.setIfAbsent(EPOCH_KEY, mine, EPOCH_TTL_MS)) ? mine : await this.store.get(EPOCH_KEY);
    })().catch(() => null).finally(() => { this.opening = undefined; });
    return this.opening;
  }

  /** Writes again the revocations the store missed while it was unreachable; one attempt at a time. */
  private remark(): Promise<void> {
    this.remarking ??= (async () => {
      const now = Date.now();
      for (const [id, until] of this.unmarked) {
        if (until > now) await this.store.set(revokedKey(id), '1', until - now);
        this.unmarked.delete(id);
      }
    })().catch(() => undefined) // still unreachable: a later request tries again
      .finally(() => { this.remarking = undefined; });
    return this.remarking;
  }

  async revoke(sessionId: string, reason: RevokeReason, db: DbOrTx = this.db): Promise<void> {
    await this.revokeIn(db, sessionId, reason);
    await this.markRevoked([sessionId]);
  }

  /** Revokes the user's live sessions, except one when given. Returns how many. */
  async revokeAll(userId: string, reason: RevokeReason, except?: string, db: DbOrTx = this.db): Promise<number> {
    const conds = [eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)];
    if (except) conds.push(ne(sessions.id, except));
    const rows = await db.update(sessions).set({ revokedAt: sql`now()`, revokeReason: reason }).where(and(...conds))
      .returning({ id: sessions.id });
    await this.markRevoked(rows.map((r) => r.id));
    return rows.length;
  }

  /**
   * Ends the sessions not opened by single sign-on of every user with an address in `emailDomain`: that
   * domain's workspace now signs its people in through SSO only.
   */
  async revokeNonSso(emailDomain: string, db: DbOrTx = this.db): Promise<number> {
    const rows = await db.update(sessions).set({ revokedAt: sql`now()`, revokeReason: 'sso_required' })
      .where(and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`), sql`not ('sso' = any(${sessions.amr}))`,
        sql`${sessions.userId} in (select id from users where email like ${`%@${emailDomain.replace(/[\\%_]/g, '\\$&')}`})`))
      .returning({ id: sessions.id });
    await this.markRevoked(rows.map((r) => r.id));
    return rows.length;
  }

  /** The session proved a second factor now (sign-in code, step-up, enrolment): adds the method to its amr. */
  async markSecondFactor(sessionId: string, method: string, db: DbOrTx = this.db): Promise<Date> {
    const [row] = await db.update(sessions).set({
      secondFactorAt: sql`now()`,
      amr: sql`case when ${method} = any(${sessions.amr}) then ${sessions.amr} else array_append(${sessions.amr}, ${method}::text) end`,
    }).where(eq(sessions.id, sessionId)).returning({ at: sessions.secondFactorAt });
    return row?.at ?? new Date();
  }

  /** The user's live sessions, newest sign-in first, a page at a time. */
  async list(userId: string, page: PageRequest) {
    const rows = await this.db.select({
      id: sessions.id, createdAt: sessions.createdAt, lastUsedAt: sessions.lastUsedAt, expiresAt: sessions.expiresAt,
      ip: sessions.ip, userAgent: sessions.userAgent, rememberMe: sessions.rememberMe, amr: sessions.amr, cursorKey: sessionList.fields.cursorKey,
    }).from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`),
        sessionList.startAfter(page)))
      .orderBy(...sessionList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = sessionList.page(rows, page.limit);
    return { items: items.map(({ cursorKey: _, ...s }) => s), nextCursor };
  }

  async find(sessionId: string) {
    const [row] = await this.db.select().from(sessions).where(eq(sessions.id, sessionId));
    return row;
  }
}
