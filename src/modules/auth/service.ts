// Accounts: registration with email verification, login, refresh, logout, password change and reset,
// account deletion. No answer reveals whether an email has an account: registering a taken email
// answers like a new one (and mails the owner), a login with an unknown email fails with the same
// message and takes the same time as a wrong password, and a reset request answers the same either way.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import { Forbidden, Invalid, NotFound, Unauthenticated } from '../../domain/errors.ts';
import { consume, tooMany, type Limiter } from '../../infra/rate-limit.ts';
import type { AttemptLimits } from './attempt-limits.ts';
import type { Proof, SecondFactorService } from './second-factor.ts';
import type { PasskeyService } from './passkeys.ts';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { audit, type RequestContext } from '../audit/index.ts';
import { queueMail, templates } from '../mail/index.ts';
import { oneTimeTokens, users } from './schema.ts';
import { passwordProblem, type PasswordHasher, type VerifyResult } from './passwords.ts';
import { RefreshError, type SessionService } from './sessions.ts';
import { newSecret, sha256, type TokenService } from './tokens.ts';
import { TtlCache } from '../../infra/cache.ts';
import { isValidZone } from '../../shared/time.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { InvalidationBus } from '../../infra/stores/invalidation.ts';
import { Overloaded } from '../../infra/semaphore.ts';

export interface AuthLimits {
  loginAccountIp: Limiter;
  loginIp: Limiter;
  loginAccount: Limiter;
  register: Limiter;
  passwordReset: Limiter;
}

export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  sessionId: string;
  sessionExpiresAt: Date;
}

const VERIFY_TTL_MS = 24 * 3600_000;
const RESET_TTL_MS = 3600_000;

/** A correct password of a user with a second factor: no session yet, only the token for the code step. */
export interface SecondFactorChallenge {
  secondFactorRequired: true;
  challengeToken: string;
  challengeExpiresAt: Date;
  methods: ('totp' | 'passkey' | 'recovery_code')[];
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const INVALID_CREDENTIALS = () => new Unauthenticated('INVALID_CREDENTIALS', 'The email or password is incorrect.');
const INVALID_RESET_TOKEN = () => new Invalid('INVALID_TOKEN', 'This reset link is invalid, used or expired. Ask for a new one.');

const ME_TOPIC = 'me';
const ME_TTL_MS = 30_000;

type MeResult = { id: string; email: string; name: string; timeZone: string | null; emailVerified: boolean; createdAt: Date; workspaces: { id: string; name: string; role: string }[] };

export class AuthService {
  private readonly meCache: TtlCache<MeResult>;
  /** Sign-in's lookup as a named prepared statement: parsed and planned once per connection. */
  private readonly userByEmail;

  constructor(private readonly d: {
    db: Db;
    hasher: PasswordHasher;
    sessions: SessionService;
    tokens: TokenService;
    limits: AuthLimits;
    attempts: AttemptLimits;
    secondFactor: SecondFactorService;
    passkeys: PasskeyService;
    /** The workspaces module builds on auth, so what account deletion needs of it is passed in. */
    workspaces: { releaseForAccountDeletion(tx: DbOrTx, userId: string): Promise<void> };
    /**
     * The sso module builds on auth, so its policy is passed in: the name of the workspace whose verified
     * domain includes this email and that signs its people in only through its identity provider, or null.
     */
    ssoOnly?: (email: string) => Promise<string | null>;
    publicUrl: string;
    log: Logger;
    metrics: Metrics;
    bus: InvalidationBus;
  }) {
    this.meCache = new TtlCache<MeResult>('me', ME_TTL_MS, d.metrics);
    // With the user's second factors: sign-in stays one read before the hash.
    this.userByEmail = d.db.select({
      user: users,
      // Qualified by hand: drizzle writes bare column names here, and a bare "id" inside a subquery of a
      // table with an id column of its own would be that table's.
      totp: sql<boolean>`exists (select 1 from totp_factors f where f.user_id = users.id and f.confirmed_at is not null)`,
      passkey: sql<boolean>`exists (select 1 from passkeys p where p.user_id = users.id)`,
      recovery: sql<boolean>`exists (select 1 from recovery_codes r where r.user_id = users.id and r.used_at is null)`,
    }).from(users).where(eq(users.email, sql.placeholder('email'))).prepare('auth_user_by_email_v3');
    d.bus.on(ME_TOPIC, (userId) => this.meCache.invalidate(userId));
  }

  private link(path: string, token: string): string {
    return `${this.d.publicUrl}${path}#token=${encodeURIComponent(token)}`;
  }

  private assertPassword(password: string, field: string, context: string[]): void {
    const problem = passwordProblem(password, context);
    if (problem) throw new Invalid('WEAK_PASSWORD', `${field} ${problem}.`, [{ field: `body.${field}`, message: problem }]);
  }

  private async newOneTimeToken(db: DbOrTx, userId: string, purpose: 'verify_email' | 'reset_password', ttlMs: number): Promise<string> {
    const token = newSecret(purpose === 'verify_email' ? 've' : 'pr');
    // One live token per purpose: asking again invalidates the previous link.
    await db.update(oneTimeTokens).set({ usedAt: sql`now()` })
      .where(and(eq(oneTimeTokens.userId, userId), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt)));
    await db.insert(oneTimeTokens).values({ tokenHash: sha256(token), userId, purpose, expiresAt: new Date(Date.now() + ttlMs) });
    return token;
  }

  /** Marks a one-time token used and returns its user, atomically: a token works once. */
  private async useOneTimeToken(db: DbOrTx, token: string, purpose: 'verify_email' | 'reset_password'): Promise<string | null> {
    const rows = await db.update(oneTimeTokens).set({ usedAt: sql`now()` })
      .where(and(eq(oneTimeTokens.tokenHash, sha256(token)), eq(oneTimeTokens.purpose, purpose), isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, sql`now()`)))
      .returning({ userId: oneTimeTokens.userId });
    return rows[0]?.userId ?? null;
  }

  private async limit(l: Limiter, key: string, message: string): Promise<void> {
    const r = await consume(l, key);
    if (!r.ok) throw tooMany(l, r.res, message);
  }

  async register(input: { email: string; password: string; name: string }, ctx: RequestContext): Promise<void> {
    await this.limit(this.d.limits.register, ctx.ip ?? 'unknown', 'Too many sign-ups from this address.');
    const email = normaliseEmail(input.email);
    const name = input.name.trim();
    this.assertPassword(input.password, 'password', [email, name]);
    // Hash in both branches: a taken email must take as long as a new one.
    let passwordHash: string;
    try {
      passwordHash = await this.d.hasher.hash(input.password);
    } catch (err) {
      // Shed for capacity: nothing was done, so the sign-up does not count against the address.
      if (err instanceof Overloaded) await this.d.limits.register.impl.reward(ctx.ip ?? 'unknown', 1).catch(() => undefined);
      throw err;
    }
    await this.d.db.transaction(async (tx) => {
      const inserted = await tx.insert(users).values({ email, name, passwordHash }).onConflictDoNothing().returning({ id: users.id });
      if (inserted[0]) {
        const token = await this.newOneTimeToken(tx, inserted[0].id, 'verify_email', VERIFY_TTL_MS);
        await queueMail(tx, email, templates.verifyEmail(name, this.link('/verify-email', token)));
        await audit(tx, { action: 'user.registered', actorUserId: inserted[0].id, ...ctx });
      } else {
        const [owner] = await tx.select({ id: users.id, name: users.name }).from(users).where(eq(users.email, email));
        await queueMail(tx, email, templates.alreadyRegistered(owner?.name ?? 'there', `${this.d.publicUrl}/sign-in`, `${this.d.publicUrl}/forgot-password`));
        await audit(tx, { action: 'user.register_attempt_existing', actorUserId: owner?.id ?? null, ...ctx });
      }
    });
  }

  async verifyEmail(token: string, ctx: RequestContext): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const userId = await this.useOneTimeToken(tx, token, 'verify_email');
      if (!userId) throw new Invalid('INVALID_TOKEN', 'This verification link is invalid, used or expired. Ask for a new one.');
      await tx.update(users).set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()` }).where(eq(users.id, userId));
      await audit(tx, { action: 'user.email_verified', actorUserId: userId, ...ctx });
      return userId;
    }).then((userId) => this.invalidateMe([userId]));
  }

  async resendVerification(emailInput: string, ctx: RequestContext): Promise<void> {
    await this.limit(this.d.limits.passwordReset, ctx.ip ?? 'unknown', 'Too many mails requested from this address.');
    const email = normaliseEmail(emailInput);
    await this.d.db.transaction(async (tx) => {
      const [user] = await tx.select().from(users).where(eq(users.email, email));
      if (!user || user.emailVerifiedAt) return;
      const token = await this.newOneTimeToken(tx, user.id, 'verify_email', VERIFY_TTL_MS);
      await queueMail(tx, email, templates.verifyEmail(user.name, this.link('/verify-email', token)));
    });
  }

  async login(input: { email: string; password: string; rememberMe?: boolean }, ctx: RequestContext): Promise<(IssuedTokens & { userId: string }) | SecondFactorChallenge> {
    const email = normaliseEmail(input.email);
    await this.assertNotSsoOnly(email);
    const ip = ctx.ip ?? 'unknown';
    const counters = this.d.attempts.counters(email, ip);
    const methods: SecondFactorChallenge['methods'] = [];
    const { user, verified, counted } = await this.d.hasher.forAccount(email, async () => {
      const [row] = await this.userByEmail.execute({ email });
      const found = row?.user;
      if (row?.totp) methods.push('totp');
      if (row?.passkey) methods.push('passkey');
      if (row?.totp || row?.passkey || row?.recovery) methods.push('recovery_code');
      let result: VerifyResult | null = null;
      const checked = await this.d.attempts.check(counters, 'Too many failed sign-in attempts.', async () => {
        if (found) result = await this.d.hasher.verify(found.passwordHash, input.password);
        else await this.d.hasher.verifyDummy(input.password);
        return result?.ok === true;
      });
      return { user: found, verified: result as VerifyResult | null, counted: checked.counted };
    });
    if (!user || !verified?.ok) {
      await audit(this.d.db, { action: 'auth.login_failed', actorUserId: user?.id ?? null, ...ctx, details: { reason: 'bad_credentials' } });
      throw INVALID_CREDENTIALS();
    }
    if (!user.emailVerifiedAt) {
      throw new Forbidden('EMAIL_NOT_VERIFIED', 'Confirm your email address first: follow the link we mailed you, or ask for a new one.');
    }
    if (verified.needsRehash) {
      // A bcrypt hash imported from the previous AllIN backend, or older argon2 parameters: upgrade it now.
      const upgraded = await this.d.hasher.hash(input.password);
      await this.d.db.update(users).set({ passwordHash: upgraded, updatedAt: sql`now()` }).where(eq(users.id, user.id));
    }
    if (methods.includes('totp') || methods.includes('passkey')) {
      // No session on a password alone, and earlier failures stay counted until the code step succeeds:
      // a known password must not reset the allowance for guessing codes.
      const challenge = await this.d.secondFactor.createChallenge(user.id, input.rememberMe === true);
      await audit(this.d.db, { action: 'auth.second_factor_challenged', actorUserId: user.id, ...ctx });
      return { secondFactorRequired: true, challengeToken: challenge.token, challengeExpiresAt: challenge.expiresAt, methods };
    }
    // A success forgives this account's earlier failures from this address.
    if (counted > 0) await this.d.attempts.forgive(counters);
    return this.openSession(user.id, input.rememberMe === true, ctx, ['pwd']);
  }

  /** The code step of a sign-in: the challenge from the password step and a code (or a recovery code). */
  async completeSecondFactor(challengeToken: string, proof: Proof, ctx: RequestContext): Promise<IssuedTokens & { userId: string }> {
    const r = await this.d.secondFactor.redeemChallenge(challengeToken, proof, ctx);
    // The workspace may have turned on SSO only between the password step and this one.
    await this.assertNotSsoOnly((await this.userById(r.userId)).email);
    await this.d.attempts.forgive(r.counters);
    return this.openSession(r.userId, r.rememberMe, ctx, ['pwd', r.method]);
  }

  /** Sign-in with a passkey alone: the ceremony token from the options and the authenticator's assertion. */
  async passkeySignIn(ceremonyToken: string, response: AuthenticationResponseJSON, rememberMe: boolean, ctx: RequestContext): Promise<IssuedTokens & { userId: string }> {
    const r = await this.d.secondFactor.passkeySignIn(ceremonyToken, response, ctx);
    const [user] = await this.d.db.select({ verified: users.emailVerifiedAt, email: users.email }).from(users).where(eq(users.id, r.userId));
    if (user) await this.assertNotSsoOnly(user.email);
    if (!user?.verified) throw new Forbidden('EMAIL_NOT_VERIFIED', 'Confirm your email address first: follow the link we mailed you, or ask for a new one.');
    await this.d.attempts.forgive(r.counters);
    // The authenticator verified the person (PIN or biometric, required for this sign-in) as well as
    // holding the key: two factors in one gesture, so RFC 8176's "mfa" beside the key's method.
    return this.openSession(r.userId, rememberMe, ctx, [r.method, 'mfa']);
  }

  /** Options to add a passkey. The password is asked again (counted like a sign-in), and with a factor already, a fresh step-up. */
  async passkeyRegistrationOptions(userId: string, sessionId: string, password: string, ctx: RequestContext) {
    const user = await this.userById(userId);
    await this.d.secondFactor.assertFresh(userId, sessionId);
    if (!(await this.confirmPassword(user, password, ctx))) {
      throw new Invalid('WRONG_PASSWORD', 'The password is incorrect.', [{ field: 'body.password', message: 'is incorrect' }]);
    }
    return this.d.passkeys.registrationOptions(user, sessionId);
  }

  async addPasskey(userId: string, sessionId: string, response: RegistrationResponseJSON, name: string, ctx: RequestContext) {
    return this.d.secondFactor.addPasskey(userId, sessionId, response, name, ctx);
  }

  /** Removing a passkey needs a fresh second factor (step-up), like removing the authenticator app. */
  async removePasskey(userId: string, sessionId: string, passkeyId: string, ctx: RequestContext): Promise<void> {
    await this.d.secondFactor.assertFresh(userId, sessionId);
    await this.d.secondFactor.removePasskey(userId, passkeyId, ctx);
  }

  /** Password and passkey sign-in are refused for the people of a workspace that signs them in through SSO only. */
  private async assertNotSsoOnly(email: string): Promise<void> {
    const workspace = await this.d.ssoOnly?.(email);
    if (workspace) {
      throw new Forbidden('SSO_REQUIRED', `${email.slice(email.lastIndexOf('@') + 1)} signs in through single sign-on only (workspace "${workspace}"): use "Sign in with SSO" with this email address.`,
        { sso: true });
    }
  }

  /**
   * The user an identity provider vouched for (email verified there): found by email, or created without a
   * usable password. An account registered with this address but never confirmed gets a new random password
   * hash: whoever registered it without owning the address must not keep a password to it.
   */
  async ssoUser(tx: DbOrTx, input: { email: string; name: string; unusableHash: () => Promise<string> }): Promise<{ id: string; created: boolean }> {
    const email = normaliseEmail(input.email);
    const [existing] = await tx.select({ id: users.id, verified: users.emailVerifiedAt }).from(users).where(eq(users.email, email));
    if (existing) {
      if (!existing.verified) {
        await tx.update(users).set({ emailVerifiedAt: sql`now()`, passwordHash: await input.unusableHash(), updatedAt: sql`now()` }).where(eq(users.id, existing.id));
      }
      return { id: existing.id, created: false };
    }
    const name = input.name.trim().slice(0, 100) || email.slice(0, email.indexOf('@'));
    const [row] = await tx.insert(users).values({ email, name, passwordHash: await input.unusableHash(), emailVerifiedAt: sql`now()` })
      .onConflictDoNothing().returning({ id: users.id });
    if (row) return { id: row.id, created: true };
    const [raced] = await tx.select({ id: users.id }).from(users).where(eq(users.email, email));
    return { id: raced!.id, created: false };
  }

  /** Whether this email has a confirmed account (single sign-on then needs no new password hash). */
  async hasVerifiedAccount(email: string): Promise<boolean> {
    const [row] = await this.d.db.select({ verified: users.emailVerifiedAt }).from(users).where(eq(users.email, normaliseEmail(email)));
    return row?.verified != null;
  }

  /** A hash of a random secret nobody knows: the password of an account made by single sign-on. */
  unusablePasswordHash(): Promise<string> {
    return this.d.hasher.hash(newSecret('nopw'));
  }

  /** A session after single sign-on: `amr` names sso and what the identity provider said it checked. */
  async openSsoSession(userId: string, amr: string[], ctx: RequestContext): Promise<IssuedTokens & { userId: string }> {
    await this.invalidateMe([userId]);
    // The identity provider's methods are its own claims, not a second factor of ours: step-up stays ours.
    const issued = await this.d.sessions.open(userId, false, ctx, amr, false);
    const access = await this.d.tokens.issueAccess({ userId, sessionId: issued.sessionId });
    return {
      userId, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
      refreshToken: issued.refreshToken, sessionId: issued.sessionId, sessionExpiresAt: issued.expiresAt,
    };
  }

  private async openSession(userId: string, rememberMe: boolean, ctx: RequestContext, amr: string[]): Promise<IssuedTokens & { userId: string }> {
    // The session and its audit entry in one statement: atomic, and one round trip.
    const issued = await this.d.sessions.open(userId, rememberMe, ctx, amr);
    const access = await this.d.tokens.issueAccess({ userId, sessionId: issued.sessionId });
    return {
      userId, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
      refreshToken: issued.refreshToken, sessionId: issued.sessionId, sessionExpiresAt: issued.expiresAt,
    };
  }

  /** Starts setting up an authenticator app; the password is asked again (counted like a sign-in). */
  async startTotpEnrolment(userId: string, sessionId: string, password: string, ctx: RequestContext) {
    const user = await this.userById(userId);
    // With a passkey already, adding a factor needs a fresh one: a session and a password must not be
    // enough to add a factor of someone else's and then sign in with it.
    await this.d.secondFactor.assertFresh(userId, sessionId);
    if (!(await this.confirmPassword(user, password, ctx))) {
      throw new Invalid('WRONG_PASSWORD', 'The password is incorrect.', [{ field: 'body.password', message: 'is incorrect' }]);
    }
    return this.d.secondFactor.startEnrolment(user, ctx);
  }

  async confirmTotpEnrolment(userId: string, sessionId: string, code: string, ctx: RequestContext) {
    return this.d.secondFactor.confirmEnrolment(await this.userById(userId), sessionId, code, ctx);
  }

  /** Removing the factor needs a fresh one (step-up), so a stolen session alone cannot take it away. */
  async removeSecondFactor(userId: string, sessionId: string, ctx: RequestContext): Promise<void> {
    await this.d.secondFactor.assertFresh(userId, sessionId);
    await this.d.secondFactor.remove(userId, ctx);
  }

  async regenerateRecoveryCodes(userId: string, sessionId: string, ctx: RequestContext): Promise<string[]> {
    await this.d.secondFactor.assertFresh(userId, sessionId);
    return this.d.secondFactor.regenerateRecoveryCodes(userId, ctx);
  }

  async stepUp(userId: string, sessionId: string, proof: Proof, ctx: RequestContext): Promise<Date> {
    return this.d.secondFactor.stepUp(await this.userById(userId), sessionId, proof, ctx);
  }

  private async userById(userId: string) {
    const [user] = await this.d.db.select().from(users).where(eq(users.id, userId));
    if (!user) throw new Unauthenticated('INVALID_TOKEN', 'This account no longer exists.');
    return user;
  }

  async refresh(token: string, ctx: RequestContext): Promise<IssuedTokens & { userId: string }> {
    try {
      const r = await this.d.sessions.refresh(token);
      const access = await this.d.tokens.issueAccess({ userId: r.userId, sessionId: r.sessionId });
      return {
        userId: r.userId, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
        refreshToken: r.refreshToken, sessionId: r.sessionId, sessionExpiresAt: r.expiresAt,
      };
    } catch (err) {
      if (!(err instanceof RefreshError)) throw err;
      if (err.code === 'REFRESH_TOKEN_REUSED') {
        await audit(this.d.db, { action: 'auth.refresh_reuse_detected', actorUserId: err.userId ?? null, targetType: 'session', targetId: err.sessionId, ...ctx });
      }
      throw new Unauthenticated(err.code, err.message);
    }
  }

  async logout(userId: string, sessionId: string, scope: 'session' | 'others' | 'all', ctx: RequestContext): Promise<number> {
    let n: number;
    if (scope === 'session') {
      await this.d.sessions.revoke(sessionId, 'logout');
      n = 1;
    } else {
      n = await this.d.sessions.revokeAll(userId, scope === 'all' ? 'logout_all' : 'logout_other', scope === 'others' ? sessionId : undefined);
    }
    await audit(this.d.db, { action: 'auth.logout', actorUserId: userId, targetType: 'session', targetId: sessionId, details: { scope, revoked: n }, ...ctx });
    return n;
  }

  async revokeSession(userId: string, targetSessionId: string, ctx: RequestContext): Promise<void> {
    const s = await this.d.sessions.find(targetSessionId);
    if (!s || s.userId !== userId || s.revokedAt) throw new NotFound('NOT_FOUND', 'No such active session.');
    await this.d.sessions.revoke(targetSessionId, 'revoked_by_user');
    await audit(this.d.db, { action: 'auth.session_revoked', actorUserId: userId, targetType: 'session', targetId: targetSessionId, ...ctx });
  }

  /**
   * The user and their workspaces: the hottest authenticated read, so it is cached per user (hits and
   * misses counted as cache_type="me") and dropped, in every process, when the user or one of their
   * memberships changes (`invalidateMe`).
   */
  async me(userId: string) {
    return (await this.meCache.get(userId, () => this.loadMe(userId))).value;
  }

  async invalidateMe(userIds: string[]): Promise<void> {
    await this.d.bus.publish(ME_TOPIC, userIds);
  }

  /** In one round trip. */
  private async loadMe(userId: string) {
    const res = await this.d.db.execute<{ id: string; email: string; name: string; time_zone: string | null; email_verified_at: Date | null; created_at: Date;
      workspaces: { id: string; name: string; role: string }[] }>(sql`
      select u.id, u.email, u.name, u.time_zone, u.email_verified_at, u.created_at,
             coalesce((select json_agg(json_build_object('id', w.id, 'name', w.name, 'role', m.role) order by w.created_at)
                         from memberships m join workspaces w on w.id = m.workspace_id where m.user_id = u.id), '[]') as workspaces
        from users u where u.id = ${userId}`);
    const user = res.rows[0];
    if (!user) throw new Unauthenticated('INVALID_TOKEN', 'This account no longer exists.');
    return {
      id: user.id, email: user.email, name: user.name, timeZone: user.time_zone, emailVerified: user.email_verified_at !== null,
      createdAt: new Date(user.created_at), workspaces: user.workspaces,
    };
  }

  /** Changes the user's own name and time zone (null: read times in the workspace's zone). */
  async updateProfile(userId: string, input: { name?: string; timeZone?: string | null }, ctx: RequestContext) {
    const set: { name?: string; timeZone?: string | null } = {};
    if (input.name !== undefined) {
      const name = input.name.trim();
      if (!name) throw new Invalid('VALIDATION_FAILED', 'name: must not be blank.', [{ field: 'body.name', message: 'must not be blank' }]);
      set.name = name;
    }
    if (input.timeZone !== undefined) {
      if (input.timeZone !== null && !isValidZone(input.timeZone)) {
        throw new Invalid('VALIDATION_FAILED', `timeZone: "${input.timeZone}" is not an IANA time zone (for example Europe/Berlin).`, [{ field: 'body.timeZone', message: 'unknown time zone' }]);
      }
      set.timeZone = input.timeZone;
    }
    if (Object.keys(set).length > 0) {
      const [row] = await this.d.db.update(users).set({ ...set, updatedAt: sql`now()` }).where(eq(users.id, userId)).returning({ id: users.id });
      if (!row) throw new Unauthenticated('INVALID_TOKEN', 'This account no longer exists.');
      await audit(this.d.db, { action: 'user.profile_updated', actorUserId: userId, targetType: 'user', targetId: userId, ...ctx, details: { fields: Object.keys(set) } });
      await this.invalidateMe([userId]);
    }
    return this.me(userId);
  }

  /**
   * A signed-in user's password, asked again before a sensitive change: a stolen access token must not
   * become an unlimited password oracle, so a wrong one counts against the same failed-login limits as
   * a sign-in, in the same line of the account.
   */
  private async confirmPassword(user: { id: string; email: string; passwordHash: string }, password: string, ctx: RequestContext): Promise<boolean> {
    const counters = this.d.attempts.counters(user.email, ctx.ip ?? 'unknown');
    const { ok } = await this.d.hasher.forAccount(user.email, () => this.d.attempts.check(counters, 'Too many wrong passwords for this account.',
      async () => (await this.d.hasher.verify(user.passwordHash, password)).ok));
    if (!ok) await audit(this.d.db, { action: 'auth.password_check_failed', actorUserId: user.id, ...ctx });
    return ok;
  }

  async changePassword(userId: string, sessionId: string, current: string, next: string, ctx: RequestContext): Promise<number> {
    const user = await this.userById(userId);
    await this.d.secondFactor.assertFresh(userId, sessionId);
    // Check the new password first: a weak choice costs no hash and no failed attempt.
    this.assertPassword(next, 'newPassword', [user.email, user.name]);
    if (!(await this.confirmPassword(user, current, ctx))) {
      throw new Invalid('WRONG_PASSWORD', 'The current password is incorrect.', [{ field: 'body.currentPassword', message: 'is incorrect' }]);
    }
    const hash = await this.d.hasher.hash(next);
    return this.d.db.transaction(async (tx) => {
      await tx.update(users).set({ passwordHash: hash, passwordChangedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(users.id, userId));
      const ended = await this.d.sessions.revokeAll(userId, 'password_changed', sessionId, tx);
      await queueMail(tx, user.email, templates.passwordChanged(user.name));
      await audit(tx, { action: 'auth.password_changed', actorUserId: userId, details: { sessionsEnded: ended }, ...ctx });
      return ended;
    });
  }

  async forgotPassword(emailInput: string, ctx: RequestContext): Promise<void> {
    await this.limit(this.d.limits.passwordReset, ctx.ip ?? 'unknown', 'Too many mails requested from this address.');
    const email = normaliseEmail(emailInput);
    await this.d.db.transaction(async (tx) => {
      const [user] = await tx.select().from(users).where(eq(users.email, email));
      if (!user) return;
      const token = await this.newOneTimeToken(tx, user.id, 'reset_password', RESET_TTL_MS);
      await queueMail(tx, email, templates.resetPassword(user.name, this.link('/reset-password', token)));
      await audit(tx, { action: 'auth.password_reset_requested', actorUserId: user.id, ...ctx });
    });
  }

  async resetPassword(token: string, next: string, ctx: RequestContext): Promise<void> {
    // The token first: a made-up or spent one must not buy a hash. Then the new password, before the
    // token is spent, so a weak choice can be corrected.
    const [pending] = await this.d.db.select({ email: users.email, name: users.name }).from(oneTimeTokens)
      .innerJoin(users, eq(users.id, oneTimeTokens.userId))
      .where(and(eq(oneTimeTokens.tokenHash, sha256(token)), eq(oneTimeTokens.purpose, 'reset_password'), isNull(oneTimeTokens.usedAt),
        gt(oneTimeTokens.expiresAt, sql`now()`)));
    if (!pending) throw INVALID_RESET_TOKEN();
    this.assertPassword(next, 'newPassword', [pending.email, pending.name]);
    const hash = await this.d.hasher.forAccount(pending.email, () => this.d.hasher.hash(next));
    await this.d.db.transaction(async (tx) => {
      // Spent atomically: of two resets racing with one token, one wins.
      const userId = await this.useOneTimeToken(tx, token, 'reset_password');
      if (!userId) throw INVALID_RESET_TOKEN();
      // Following the mailed link proves the address, too.
      await tx.update(users).set({
        passwordHash: hash, passwordChangedAt: sql`now()`, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()`,
      }).where(eq(users.id, userId));
      await this.d.sessions.revokeAll(userId, 'password_reset', undefined, tx);
      await queueMail(tx, pending.email, templates.passwordChanged(pending.name));
      await audit(tx, { action: 'auth.password_reset', actorUserId: userId, ...ctx });
      return userId;
    }).then((userId) => this.invalidateMe([userId]));
  }

  async deleteAccount(userId: string, sessionId: string, password: string, ctx: RequestContext): Promise<void> {
    const user = await this.userById(userId);
    await this.d.secondFactor.assertFresh(userId, sessionId);
    if (!(await this.confirmPassword(user, password, ctx))) {
      throw new Invalid('WRONG_PASSWORD', 'The password is incorrect.', [{ field: 'body.password', message: 'is incorrect' }]);
    }
    await this.d.db.transaction(async (tx) => {
      await this.d.workspaces.releaseForAccountDeletion(tx, userId);
      await this.d.sessions.revokeAll(userId, 'account_deleted', undefined, tx);
      await tx.delete(users).where(eq(users.id, userId));
      await audit(tx, { action: 'user.deleted', actorUserId: userId, ...ctx });
    });
    await this.invalidateMe([userId]);
  }

  /** For `allin users create`: a verified user, with the same password rules. */
  async createVerifiedUser(input: { email: string; password: string; name: string }): Promise<{ id: string; created: boolean }> {
    const email = normaliseEmail(input.email);
    this.assertPassword(input.password, 'password', [email, input.name]);
    const passwordHash = await this.d.hasher.hash(input.password);
    const rows = await this.d.db.insert(users).values({ email, name: input.name, passwordHash, emailVerifiedAt: sql`now()` })
      .onConflictDoNothing().returning({ id: users.id });
    if (rows[0]) {
      await audit(this.d.db, { action: 'user.created_by_cli', actorUserId: rows[0].id });
      return { id: rows[0].id, created: true };
    }
    const [existing] = await this.d.db.select({ id: users.id }).from(users).where(eq(users.email, email));
    return { id: existing!.id, created: false };
  }
}
