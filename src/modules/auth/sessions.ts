// Sessions and refresh-token rotation.
// - Every login gets its own session and a fresh 256-bit refresh token (two logins in the same
//   millisecond cannot collide: the seed's race).
// - Refreshing rotates the token under a row lock on the session: of concurrent refreshes with one
//   token, one rotates; the others, inside the grace window, get the token it issued (parallel tabs).
// - A replaced token presented after the grace window, or any older one, means it leaked: the whole
//   session is revoked.
// - Revocation is written to PostgreSQL and to the shared store, which every API process checks on
//   each request, so access tokens of a revoked session stop working at once, not at their expiry.
import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import { sessions } from './schema.ts';

/** Replaced refresh-token hashes a session remembers, to recognise a leaked one. */
const KEPT_HASHES = 16;
import { newSecret, sha256, type TokenService } from './tokens.ts';
import type { RequestContext } from '../audit/service.ts';

export type RevokeReason = 'logout' | 'logout_other' | 'logout_all' | 'revoked_by_user' | 'password_changed' | 'password_reset'
  | 'refresh_reuse' | 'account_deleted';

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

const revokedKey = (sessionId: string) => `revoked-session:${sessionId}`;
const graceKey = (hash: Buffer) => `refresh-grace:${hash.toString('hex')}`;

export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly store: KeyValueStore,
    private readonly tokens: TokenService,
    private readonly opts: SessionOptions,
  ) {}

  /**
   * A new session as an INSERT statement, not yet run, with its id and refresh token: the caller runs it
   * together with what goes with it (the login's audit entry) in one statement.
   */
  prepare(userId: string, rememberMe: boolean, ctx: RequestContext): { statement: SQL; sessionId: string; refreshToken: string; expiresAt: Date } {
    const days = rememberMe ? this.opts.rememberTtlDays : this.opts.ttlDays;
    const expiresAt = new Date(Date.now() + days * 86_400_000);
    const refreshToken = newSecret('rt');
    const sessionId = randomUUID();
    const statement = this.db.insert(sessions).values({
      id: sessionId, userId, rememberMe, expiresAt, refreshHash: sha256(refreshToken), ip: ctx.ip, userAgent: ctx.userAgent?.slice(0, 400) ?? null,
    }).getSQL();
    return { statement, sessionId, refreshToken, expiresAt };
  }

  /** Rotates a refresh token. Returns the session and the new (or, in the grace window, current) token. */
  async refresh(token: string): Promise<{ sessionId: string; userId: string; refreshToken: string; expiresAt: Date; rememberMe: boolean }> {
    const hash = sha256(token);
    const result = await this.db.transaction(async (tx) => {
      // The session holding this token as current or as a recently replaced one, locked: every
      // rotation of one session is serialised, and what a waiter reads is what the winner wrote.
      const found = await tx.execute<{
        id: string; user_id: string; refresh_hash: Buffer; previous_hashes: Buffer[]; rotated_at: Date | null;
        expires_at: Date; revoked_at: Date | null; remember_me: boolean;
      }>(sql`select id, user_id, refresh_hash, previous_hashes, rotated_at, expires_at, revoked_at, remember_me
               from sessions where refresh_hash = ${hash} or previous_hashes @> array[${hash}]::bytea[]
               for update`);
      const row = found.rows[0];
      if (!row) throw new RefreshError('INVALID_REFRESH_TOKEN', 'This refresh token is not valid; sign in again');
      const base = { sessionId: row.id, userId: row.user_id, expiresAt: new Date(row.expires_at), rememberMe: row.remember_me };
      if (row.revoked_at) throw new RefreshError('SESSION_REVOKED', 'This session was signed out; sign in again', row.id, row.user_id);
      if (new Date(row.expires_at).getTime() <= Date.now()) {
        throw new RefreshError('SESSION_EXPIRED', 'This session has expired; sign in again', row.id, row.user_id);
      }

      if (hash.equals(row.refresh_hash)) {
        const refreshToken = newSecret('rt');
        await tx.update(sessions).set({
          refreshHash: sha256(refreshToken),
          previousHashes: sql`(array_prepend(${sessions.refreshHash}, ${sessions.previousHashes}))[1:${sql.raw(String(KEPT_HASHES))}]`,
          rotatedAt: sql`now()`,
          lastUsedAt: sql`now()`,
        }).where(eq(sessions.id, row.id));
        // Written before commit, so a concurrent refresh that waited on the lock finds it.
        await this.store.set(graceKey(hash), this.tokens.sealGrace(refreshToken), this.opts.graceSeconds * 1000 + 1000);
        return { kind: 'rotated' as const, ...base, refreshToken };
      }

      // Only the token replaced last is in grace, and only briefly (parallel tabs refreshing at once).
      const inGrace = row.previous_hashes[0]?.equals(hash) === true && row.rotated_at !== null &&
        Date.now() - new Date(row.rotated_at).getTime() <= this.opts.graceSeconds * 1000;
      if (inGrace) {
        const sealed = await this.store.get(graceKey(hash));
        const current = sealed ? this.tokens.openGrace(sealed) : null;
        if (current && sha256(current).equals(row.refresh_hash)) return { kind: 'grace' as const, ...base, refreshToken: current };
      }
      // A replaced token came back: whoever holds it is not the session's owner, or the owner's copy leaked.
      await this.revokeIn(tx, row.id, 'refresh_reuse');
      return { kind: 'reused' as const, ...base };
    });
    if (result.kind === 'reused') {
      await this.markRevoked([result.sessionId]);
      throw new RefreshError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been signed out for safety',
        result.sessionId, result.userId);
    }
    return result;
  }

  private async revokeIn(db: DbOrTx, sessionId: string, reason: RevokeReason): Promise<void> {
    await db.update(sessions).set({ revokedAt: sql`now()`, revokeReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  }

  /** Tells every API process, through the shared store, that these sessions' access tokens are dead. */
  async markRevoked(sessionIds: string[]): Promise<void> {
    const ttl = (this.tokens.accessTtlSeconds + 60) * 1000;
    await Promise.all(sessionIds.map((id) => this.store.set(revokedKey(id), '1', ttl)));
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.store.get(revokedKey(sessionId))) !== null;
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

  async list(userId: string) {
    return this.db.select({
      id: sessions.id, createdAt: sessions.createdAt, lastUsedAt: sessions.lastUsedAt, expiresAt: sessions.expiresAt,
      ip: sessions.ip, userAgent: sessions.userAgent, rememberMe: sessions.rememberMe,
    }).from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
      .orderBy(desc(sessions.lastUsedAt));
  }

  async find(sessionId: string) {
    const [row] = await this.db.select().from(sessions).where(eq(sessions.id, sessionId));
    return row;
  }
}
