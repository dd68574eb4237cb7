// Second factor: an authenticator app (TOTP) and passkeys (WebAuthn, passkeys.ts), with ten single-use
// recovery codes, the sign-in challenge that stands between a correct password and a session, and the
// step-up that sensitive changes ask for. Either kind of factor makes the account "enrolled".
// - Every code checked counts against the account's failed sign-in limits when wrong (AttemptLimits), in
//   the account's line, exactly like a password.
// - A code works once: the step it matched is stored, and a code of that step or an earlier one is refused
//   (RFC 6238 §5.2), by one conditional UPDATE, so two requests racing with one code cannot both pass.
// - The shared secret is encrypted at rest with the token cipher, bound to its user.
// - Time comes from the injected clock (`now`), so tests move it instead of waiting.
import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import { Conflict, Forbidden, Invalid, Unauthenticated } from '../../domain/errors.ts';
import { audit, type RequestContext } from '../audit/index.ts';
import type { AttemptLimits } from './attempt-limits.ts';
import type { PasswordHasher } from './passwords.ts';
import { passkeys, recoveryCodes, sessions, signInChallenges, totpFactors, users } from './schema.ts';
import type { AssertionResult, CeremonyBinding, PasskeyMethod, PasskeyService } from './passkeys.ts';
import type { SessionService } from './sessions.ts';
import { matchStep, newTotpSecret, normaliseCode, otpauthUri, qrCodeSvg } from './totp.ts';
import { newSecret, sha256 } from './tokens.ts';

export const RECOVERY_CODE_COUNT = 10;
/** How long a proven second factor lets a session make sensitive changes. */
export const STEP_UP_WINDOW_MS = 5 * 60_000;
/** How long the step between password and code may take. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Wrong codes one challenge takes before it is spent (the account's limits count them as well). */
const CHALLENGE_MAX_FAILURES = 5;
/** 32 letters and digits without the look-alikes (0/o, 1/l): 5 bits a character, 60 bits a code. */
const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const RECOVERY_LENGTH = 12;

/** What proves the second factor: a code from the authenticator app, a passkey's assertion, or one of the recovery codes. */
export interface Proof {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  passkey?: AuthenticationResponseJSON | undefined;
}

/** RFC 8176 names where it has one (`otp`, and `hwk`/`swk` for a passkey: see passkeys.ts); `recovery` for a recovery code. */
export type FactorMethod = 'otp' | 'recovery' | PasskeyMethod;

/** Whether the user has a factor: a confirmed authenticator app or a passkey. */
export const hasFactorSql = (userId: SQL | string) => sql`(exists (select 1 from ${totpFactors} where ${totpFactors.userId} = ${userId} and ${totpFactors.confirmedAt} is not null)
  or exists (select 1 from ${passkeys} where ${passkeys.userId} = ${userId}))`;

const secretRow = (userId: string) => `totp:${userId}`;

const stepUpRequired = () => new Forbidden('STEP_UP_REQUIRED',
  'This change needs a fresh second factor: confirm with a passkey or a code from your authenticator app (POST /api/auth/step-up), then try again within 5 minutes.');

export function newRecoveryCode(): string {
  const bytes = randomBytes(RECOVERY_LENGTH);
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

const normaliseRecovery = (code: string) => code.toLowerCase().replace(/[^a-z0-9]/g, '');

export class SecondFactorService {
  constructor(private readonly d: {
    db: Db;
    cipher: TokenCipher;
    hasher: PasswordHasher;
    attempts: AttemptLimits;
    sessions: SessionService;
    passkeys: PasskeyService;
    /** The name authenticator apps show beside the account. */
    issuer: string;
    now: () => number;
  }) {}

  /** Whether the user has a confirmed second factor (then a password alone never signs them in). */
  async enrolled(userId: string, db: DbOrTx = this.d.db): Promise<boolean> {
    const res = await db.execute<{ enrolled: boolean }>(sql`select ${hasFactorSql(userId)} as enrolled`);
    return res.rows[0]?.enrolled === true;
  }

  async status(userId: string, sessionId: string) {
    const [factor] = await this.d.db.select({ confirmedAt: totpFactors.confirmedAt }).from(totpFactors).where(eq(totpFactors.userId, userId));
    const [{ left } = { left: 0 }] = await this.d.db.select({ left: sql<number>`count(*)::int` }).from(recoveryCodes)
      .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
    const [session] = await this.d.db.select({ at: sessions.secondFactorAt, amr: sessions.amr }).from(sessions).where(eq(sessions.id, sessionId));
    const validUntil = session?.at ? new Date(session.at.getTime() + STEP_UP_WINDOW_MS) : null;
    const passkeyCount = await this.d.passkeys.count(userId);
    return {
      totp: factor?.confirmedAt ? { confirmedAt: factor.confirmedAt } : null,
      enrolmentPending: factor !== undefined && !factor.confirmedAt,
      passkeys: passkeyCount,
      recoveryCodesLeft: factor?.confirmedAt || passkeyCount > 0 ? left : 0,
      stepUpValidUntil: validUntil && validUntil.getTime() > Date.now() ? validUntil : null,
      sessionAmr: session?.amr ?? [],
    };
  }

  /** Refuses (403 STEP_UP_REQUIRED) a sensitive change from a session that has not proven the factor lately. */
  async assertFresh(userId: string, sessionId: string): Promise<void> {
    const res = await this.d.db.execute<{ enrolled: boolean; fresh: boolean | null }>(sql`
      select ${hasFactorSql(userId)} as enrolled,
             (select second_factor_at > now() - make_interval(secs => ${STEP_UP_WINDOW_MS / 1000}) from ${sessions} where id = ${sessionId}) as fresh`);
    const row = res.rows[0]!;
    if (row.enrolled && row.fresh !== true) throw stepUpRequired();
  }

  /**
   * A new (unconfirmed) authenticator secret, replacing an earlier unconfirmed one. The caller has checked
   * the password: a stolen session alone must not be able to bind the account to someone else's phone.
   */
  async startEnrolment(user: { id: string; email: string }, ctx: RequestContext) {
    const [app] = await this.d.db.select({ userId: totpFactors.userId }).from(totpFactors).where(and(eq(totpFactors.userId, user.id), isNotNull(totpFactors.confirmedAt)));
    if (app) {
      throw new Conflict('SECOND_FACTOR_EXISTS', 'You already have an authenticator app. To use another one, remove it first (that needs a fresh code).');
    }
    const secret = newTotpSecret();
    const secretEnc = this.d.cipher.encrypt(secret, secretRow(user.id));
    await this.d.db.insert(totpFactors).values({ userId: user.id, secretEnc })
      .onConflictDoUpdate({ target: totpFactors.userId, set: { secretEnc, lastUsedStep: null, createdAt: sql`now()` }, where: isNull(totpFactors.confirmedAt) });
    await audit(this.d.db, { action: 'auth.second_factor_enrolment_started', actorUserId: user.id, details: { method: 'totp' }, ...ctx });
    const uri = otpauthUri(secret, this.d.issuer, user.email);
    return { secret, otpauthUri: uri, qrCodeSvg: qrCodeSvg(uri) };
  }

  /**
   * The first code from the app confirms the enrolment. The session that confirmed counts as having proven
   * the factor; the account's other sessions (signed in with a password alone) are ended. Returns the
   * recovery codes, shown this once.
   */
  async confirmEnrolment(user: { id: string; email: string }, sessionId: string, code: string, ctx: RequestContext): Promise<{ recoveryCodes: string[] }> {
    const ok = await this.underLimits(user, ctx, () => this.checkTotp(user.id, code, 'pending'));
    if (!ok) {
      await audit(this.d.db, { action: 'auth.second_factor_failed', actorUserId: user.id, details: { method: 'otp', during: 'enrolment' }, ...ctx });
      throw new Invalid('INVALID_CODE', 'That code is not right. Enter the 6-digit code your authenticator app shows now.', [{ field: 'body.code', message: 'is not right' }]);
    }
    const codes = await this.d.db.transaction(async (tx) => {
      const confirmed = await tx.update(totpFactors).set({ confirmedAt: sql`now()` })
        .where(and(eq(totpFactors.userId, user.id), isNull(totpFactors.confirmedAt))).returning({ userId: totpFactors.userId });
      if (confirmed.length === 0) throw new Conflict('SECOND_FACTOR_EXISTS', 'This authenticator app is already confirmed.');
      const fresh = await this.replaceRecoveryCodes(tx, user.id);
      await this.d.sessions.markSecondFactor(sessionId, 'otp', tx);
      const ended = await this.d.sessions.revokeAll(user.id, 'second_factor_enrolled', sessionId, tx);
      await audit(tx, { action: 'auth.second_factor_enrolled', actorUserId: user.id, details: { method: 'totp', otherSessionsEnded: ended }, ...ctx });
      return fresh;
    });
    return { recoveryCodes: codes };
  }

  /**
   * Removes the authenticator app; the recovery codes go with the last factor (the caller has checked a
   * fresh second factor).
   */
  async remove(userId: string, ctx: RequestContext): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const removed = await tx.delete(totpFactors).where(eq(totpFactors.userId, userId)).returning({ confirmedAt: totpFactors.confirmedAt });
      await this.dropRecoveryCodesWithLastFactor(tx, userId);
      if (removed[0]?.confirmedAt) await audit(tx, { action: 'auth.second_factor_removed', actorUserId: userId, details: { method: 'totp' }, ...ctx });
    });
  }

  private async dropRecoveryCodesWithLastFactor(tx: DbOrTx, userId: string): Promise<void> {
    if (!(await this.enrolled(userId, tx))) await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  }

  /**
   * Adds a passkey from the authenticator's answer to this session's registration challenge. The first
   * factor of an account is handled like a confirmed authenticator app: this session counts as having
   * proven it, the account's other sessions (signed in with a password alone) are ended, and the recovery
   * codes are answered, shown this once.
   */
  async addPasskey(userId: string, sessionId: string, response: RegistrationResponseJSON, name: string, ctx: RequestContext): Promise<{ id: string; recoveryCodes: string[] | null }> {
    return this.d.db.transaction(async (tx) => {
      // Serialises a user's factor changes, so two first passkeys cannot both count as the first.
      await tx.execute(sql`select 1 from ${users} where ${users.id} = ${userId} for update`);
      const first = !(await this.enrolled(userId, tx));
      const added = await this.d.passkeys.register(userId, sessionId, response, name, tx);
      let codes: string[] | null = null;
      let ended = 0;
      if (first) {
        codes = await this.replaceRecoveryCodes(tx, userId);
        await this.d.sessions.markSecondFactor(sessionId, added.method, tx);
        ended = await this.d.sessions.revokeAll(userId, 'second_factor_enrolled', sessionId, tx);
      }
      await audit(tx, {
        action: 'auth.passkey_added', actorUserId: userId, targetType: 'passkey', targetId: added.id,
        details: { name, method: added.method, firstFactor: first, ...(first ? { otherSessionsEnded: ended } : {}) }, ...ctx,
      });
      return { id: added.id, recoveryCodes: codes };
    });
  }

  /** Removes one of the user's passkeys (404 for another's); the caller has checked a fresh second factor. */
  async removePasskey(userId: string, passkeyId: string, ctx: RequestContext): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const name = await this.d.passkeys.remove(userId, passkeyId, tx);
      await this.dropRecoveryCodesWithLastFactor(tx, userId);
      await audit(tx, { action: 'auth.passkey_removed', actorUserId: userId, targetType: 'passkey', targetId: passkeyId, details: { name }, ...ctx });
    });
  }

  /** Options for the passkey at the code step of a sign-in, bound to that step's challenge token. */
  async secondFactorPasskeyOptions(token: string) {
    const [found] = await this.d.db.select({ userId: signInChallenges.userId }).from(signInChallenges).where(this.liveChallenge(sha256(token)));
    if (!found) throw invalidChallenge();
    return this.d.passkeys.authenticationOptions({ kind: 'second-factor', challengeToken: token }, found.userId);
  }

  /**
   * Sign-in with a passkey alone (usernameless): the credential names the account. A failure counts
   * against that account's limits like a wrong password.
   */
  async passkeySignIn(ceremonyToken: string, response: AuthenticationResponseJSON, ctx: RequestContext): Promise<{ userId: string; method: PasskeyMethod; counters: ReturnType<AttemptLimits['counters']> }> {
    const ownerId = await this.d.passkeys.ownerOf(response);
    const [owner] = ownerId ? await this.d.db.select({ id: users.id, email: users.email }).from(users).where(eq(users.id, ownerId)) : [];
    const binding: CeremonyBinding = { kind: 'sign-in', ceremonyToken };
    let result: AssertionResult | undefined;
    if (owner) {
      await this.underLimits(owner, ctx, async () => {
        result = await this.d.passkeys.verifyAssertion(binding, response, null, ctx);
        return result.ok;
      });
    } else {
      // Spend the challenge all the same.
      result = await this.d.passkeys.verifyAssertion(binding, response, null, ctx);
    }
    if (!owner || !result?.ok) {
      await audit(this.d.db, { action: 'auth.passkey_sign_in_failed', actorUserId: owner?.id ?? null, details: { reason: result && !result.ok ? result.reason : 'unknown_credential' }, ...ctx });
      throw new Unauthenticated('INVALID_PASSKEY', 'That passkey was not accepted: the prompt may have expired, or the passkey is not registered here. Try again, or sign in with your password.');
    }
    return { userId: owner.id, method: result.method, counters: this.d.attempts.counters(owner.email, ctx.ip ?? 'unknown') };
  }

  /** Ten new recovery codes; the old ones stop working. */
  async regenerateRecoveryCodes(userId: string, ctx: RequestContext): Promise<string[]> {
    return this.d.db.transaction(async (tx) => {
      if (!(await this.enrolled(userId, tx))) {
        throw new Conflict('NO_SECOND_FACTOR', 'Recovery codes come with a second factor: add a passkey or set up an authenticator app first.');
      }
      const codes = await this.replaceRecoveryCodes(tx, userId);
      await audit(tx, { action: 'auth.recovery_codes_regenerated', actorUserId: userId, ...ctx });
      return codes;
    });
  }

  private async replaceRecoveryCodes(tx: DbOrTx, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    await tx.insert(recoveryCodes).values(codes.map((c) => ({ userId, codeHash: sha256(normaliseRecovery(c)) })));
    return codes;
  }

  /**
   * Checks a proof of the user's confirmed factor under the account's failed sign-in limits (429 past
   * them). Resolves with the method that matched, or null when it did not.
   */
  async verify(user: { id: string; email: string }, proof: Proof, ctx: RequestContext, binding: CeremonyBinding): Promise<FactorMethod | null> {
    let method: FactorMethod | null = null;
    let reason: string | undefined;
    const ok = await this.underLimits(user, ctx, async () => {
      if (proof.code !== undefined) method = (await this.checkTotp(user.id, proof.code, 'confirmed')) ? 'otp' : null;
      else if (proof.recoveryCode !== undefined) method = (await this.useRecoveryCode(user.id, proof.recoveryCode)) ? 'recovery' : null;
      else if (proof.passkey !== undefined) {
        const r = await this.d.passkeys.verifyAssertion(binding, proof.passkey, user.id, ctx);
        method = r.ok ? r.method : null;
        if (!r.ok) reason = r.reason;
      }
      return method !== null;
    });
    if (!ok) {
      await audit(this.d.db, { action: 'auth.second_factor_failed', actorUserId: user.id, details: { method: proofMethod(proof), ...(reason ? { reason } : {}) }, ...ctx });
      return null;
    }
    return method;
  }

  /** Step-up: the session proves the factor again, for the sensitive changes of the next 5 minutes. */
  async stepUp(user: { id: string; email: string }, sessionId: string, proof: Proof, ctx: RequestContext): Promise<Date> {
    if (!(await this.enrolled(user.id))) throw new Conflict('NO_SECOND_FACTOR', 'You have no second factor to confirm: add a passkey or set up an authenticator app first.');
    const method = await this.verify(user, proof, ctx, { kind: 'step-up', sessionId });
    if (!method) throw wrongProof(proof);
    const at = await this.d.sessions.markSecondFactor(sessionId, method);
    await audit(this.d.db, { action: 'auth.step_up', actorUserId: user.id, targetType: 'session', targetId: sessionId, details: { method }, ...ctx });
    return new Date(at.getTime() + STEP_UP_WINDOW_MS);
  }

  /** The token a correct password earns a user with a second factor: it buys one try at the code step, nothing else. */
  async createChallenge(userId: string, rememberMe: boolean): Promise<{ token: string; expiresAt: Date }> {
    const token = newSecret('sfc');
    // Spent and expired challenges of the user go as a new one comes: the table holds a few rows per user.
    await this.d.db.delete(signInChallenges)
      .where(and(eq(signInChallenges.userId, userId), or(isNotNull(signInChallenges.usedAt), lt(signInChallenges.expiresAt, sql`now()`))));
    const [row] = await this.d.db.insert(signInChallenges).values({
      tokenHash: sha256(token), userId, rememberMe, expiresAt: sql`now() + make_interval(secs => ${CHALLENGE_TTL_MS / 1000})`,
    }).returning({ expiresAt: signInChallenges.expiresAt });
    return { token, expiresAt: row!.expiresAt };
  }

  /**
   * The code step of a sign-in: the challenge and a proof. Spends the challenge on success; a wrong proof
   * counts against the account (and the challenge, which stops after a few).
   */
  async redeemChallenge(token: string, proof: Proof, ctx: RequestContext): Promise<{ userId: string; rememberMe: boolean; method: FactorMethod; counters: ReturnType<AttemptLimits['counters']> }> {
    const hash = sha256(token);
    const live = this.liveChallenge(hash);
    const [found] = await this.d.db.select({ userId: users.id, email: users.email, rememberMe: signInChallenges.rememberMe })
      .from(signInChallenges).innerJoin(users, eq(users.id, signInChallenges.userId)).where(live);
    if (!found) throw invalidChallenge();
    const user = { id: found.userId, email: found.email };
    const method = await this.verify(user, proof, ctx, { kind: 'second-factor', challengeToken: token });
    if (!method) {
      await this.d.db.update(signInChallenges).set({ failures: sql`${signInChallenges.failures} + 1` }).where(eq(signInChallenges.tokenHash, hash));
      throw wrongProof(proof, true);
    }
    const spent = await this.d.db.update(signInChallenges).set({ usedAt: sql`now()` }).where(live).returning({ userId: signInChallenges.userId });
    if (spent.length === 0) throw invalidChallenge();
    return { userId: user.id, rememberMe: found.rememberMe, method, counters: this.d.attempts.counters(user.email, ctx.ip ?? 'unknown') };
  }

  private liveChallenge(hash: Buffer) {
    return and(eq(signInChallenges.tokenHash, hash), isNull(signInChallenges.usedAt), gt(signInChallenges.expiresAt, sql`now()`),
      lt(signInChallenges.failures, CHALLENGE_MAX_FAILURES));
  }

  private async underLimits(user: { id: string; email: string }, ctx: RequestContext, check: () => Promise<boolean>): Promise<boolean> {
    const counters = this.d.attempts.counters(user.email, ctx.ip ?? 'unknown');
    const { ok } = await this.d.hasher.forAccount(user.email, () => this.d.attempts.check(counters, 'Too many wrong codes for this account.', check));
    return ok;
  }

  /** Matches the code and records its step in one conditional UPDATE: a step at or before the last used one is a replay. */
  private async checkTotp(userId: string, input: string, state: 'pending' | 'confirmed'): Promise<boolean> {
    const code = normaliseCode(input);
    if (!code) return false;
    const stateIs = state === 'pending' ? isNull(totpFactors.confirmedAt) : isNotNull(totpFactors.confirmedAt);
    const [factor] = await this.d.db.select({ secretEnc: totpFactors.secretEnc }).from(totpFactors).where(and(eq(totpFactors.userId, userId), stateIs));
    if (!factor) return false;
    const step = matchStep(this.d.cipher.decrypt(factor.secretEnc, secretRow(userId)), code, this.d.now());
    if (step === null) return false;
    const taken = await this.d.db.update(totpFactors).set({ lastUsedStep: step })
      .where(and(eq(totpFactors.userId, userId), stateIs, or(isNull(totpFactors.lastUsedStep), lt(totpFactors.lastUsedStep, step))))
      .returning({ userId: totpFactors.userId });
    return taken.length === 1;
  }

  private async useRecoveryCode(userId: string, input: string): Promise<boolean> {
    const code = normaliseRecovery(input);
    if (code.length !== RECOVERY_LENGTH) return false;
    const used = await this.d.db.update(recoveryCodes).set({ usedAt: sql`now()` })
      .where(and(eq(recoveryCodes.codeHash, sha256(code)), eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
      .returning({ userId: recoveryCodes.userId });
    return used.length === 1;
  }

  /** For `allin keys rotate`: authenticator secrets re-encrypted under the current key. */
  async rotateKeys(): Promise<{ rotated: number; unreadable: number }> {
    const rows = await this.d.db.select({ userId: totpFactors.userId, secretEnc: totpFactors.secretEnc }).from(totpFactors);
    let rotated = 0;
    let unreadable = 0;
    for (const r of rows) {
      if (!this.d.cipher.isStale(r.secretEnc)) continue;
      let secret: string;
      try {
        secret = this.d.cipher.decrypt(r.secretEnc, secretRow(r.userId));
      } catch {
        unreadable++;
        continue;
      }
      await this.d.db.update(totpFactors).set({ secretEnc: this.d.cipher.encrypt(secret, secretRow(r.userId)) })
        .where(and(eq(totpFactors.userId, r.userId), eq(totpFactors.secretEnc, r.secretEnc)));
      rotated++;
    }
    return { rotated, unreadable };
  }
}

const invalidChallenge = () => new Unauthenticated('INVALID_CHALLENGE', 'This sign-in step has expired or was already used: sign in again with your password.');

const proofMethod = (proof: Proof) => (proof.code !== undefined ? 'otp' : proof.passkey !== undefined ? 'passkey' : 'recovery');

function wrongProof(proof: Proof, signIn = false) {
  const field = proof.code !== undefined ? 'body.code' : proof.passkey !== undefined ? 'body.passkey' : 'body.recoveryCode';
  const code = proof.passkey !== undefined ? 'INVALID_PASSKEY' : 'INVALID_CODE';
  const message = proof.code !== undefined
    ? 'That code is not right, or was already used. Enter the code your authenticator app shows now.'
    : proof.passkey !== undefined
      ? 'That passkey was not accepted: the prompt may have expired or been answered already, or it is not one of your passkeys. Ask for a new prompt and try again.'
      : 'That recovery code is not right, or was already used.';
  return signIn ? new Unauthenticated(code, message, 'invalid', [{ field, message: 'is not right' }])
    : new Invalid(code, message, [{ field, message: 'is not right' }]);
}
