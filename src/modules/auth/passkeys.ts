// Passkeys (WebAuthn): the ceremonies, checked by @simplewebauthn/server, and the stored credentials.
// - Each challenge is single-use and short-lived: kept in the shared store under a key naming who asked
//   (the session, the sign-in challenge token, or the anonymous ceremony token), and taken with getDel
//   before anything is checked, so an assertion or attestation is answered once whatever its outcome.
// - The relying party is PUBLIC_URL: its host is the RP ID, its origin the only origin accepted.
// - The signature counter is checked here (after the signature): a counter that does not move forward
//   where the authenticator keeps one is a cloned authenticator, refused and audited. Authenticators that
//   keep no counter (synced passkeys answer 0 every time) are allowed to stay at 0.
import { randomBytes } from 'node:crypto';
import { and, asc, eq, or, sql } from 'drizzle-orm';
import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type AuthenticatorTransportFuture, type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON, type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { audit, type RequestContext } from '../audit/index.ts';
import { passkeys } from './schema.ts';
import { sha256 } from './tokens.ts';

/** How long a ceremony (the browser's prompt and the person's touch) may take. */
export const PASSKEY_CHALLENGE_TTL_MS = 2 * 60_000;
/** A bound on a user's passkeys: the list is shown whole, and excludeCredentials carries them all. */
export const MAX_PASSKEYS = 20;

/**
 * The RFC 8176 method a passkey proves. WebAuthn is proof of possession of a key, which RFC 8176 names
 * by where the key lives: "hwk" for a hardware-secured key, "swk" for a software-secured one. A credential
 * that is backup eligible (multiDevice) is synced between devices by its provider, so it is not bound to
 * one piece of hardware: "swk". A single-device credential stays in its authenticator: "hwk".
 */
export type PasskeyMethod = 'hwk' | 'swk';
const methodOf = (deviceType: 'singleDevice' | 'multiDevice'): PasskeyMethod => (deviceType === 'multiDevice' ? 'swk' : 'hwk');

/** Who a challenge is bound to: the key it is stored under. */
export type CeremonyBinding =
  | { kind: 'register'; sessionId: string }
  | { kind: 'step-up'; sessionId: string }
  | { kind: 'second-factor'; challengeToken: string }
  | { kind: 'sign-in'; ceremonyToken: string };

const keyOf = (b: CeremonyBinding): string => {
  switch (b.kind) {
    case 'register': return `webauthn:register:${b.sessionId}`;
    case 'step-up': return `webauthn:step-up:${b.sessionId}`;
    // The tokens are secrets: the store holds their hashes.
    case 'second-factor': return `webauthn:second-factor:${sha256(b.challengeToken).toString('base64url')}`;
    case 'sign-in': return `webauthn:sign-in:${sha256(b.ceremonyToken).toString('base64url')}`;
  }
};

/** The result of an assertion: whose credential, and what it proved; or why it was refused. */
export type AssertionResult =
  | { ok: true; userId: string; passkeyId: string; method: PasskeyMethod }
  | { ok: false; userId: string | null; reason: 'expired_challenge' | 'unknown_credential' | 'bad_signature' | 'counter_regressed' };

export class PasskeyService {
  private readonly rpId: string;
  private readonly origin: string;

  constructor(private readonly d: { db: Db; store: KeyValueStore; publicUrl: string; rpName: string }) {
    const url = new URL(d.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  async count(userId: string, db: DbOrTx = this.d.db): Promise<number> {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(passkeys).where(eq(passkeys.userId, userId));
    return row?.n ?? 0;
  }

  /** A user's passkeys, oldest first (at most MAX_PASSKEYS). */
  async list(userId: string) {
    return this.d.db.select({ id: passkeys.id, name: passkeys.name, createdAt: passkeys.createdAt, lastUsedAt: passkeys.lastUsedAt, deviceType: passkeys.deviceType })
      .from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id));
  }

  /** Options for navigator.credentials.create(), its challenge bound to the session that asked. */
  async registrationOptions(user: { id: string; email: string; name: string }, sessionId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.d.db.select({ credentialId: passkeys.credentialId, transports: passkeys.transports }).from(passkeys).where(eq(passkeys.userId, user.id));
    if (existing.length >= MAX_PASSKEYS) {
      throw new Conflict('TOO_MANY_PASSKEYS', `You have ${MAX_PASSKEYS} passkeys, the most an account may have: remove one you no longer use first.`);
    }
    const options = await generateRegistrationOptions({
      rpName: this.d.rpName, rpID: this.rpId, userName: user.email, userDisplayName: user.name,
      // The user handle authenticators keep: the account's id, no personal data (WebAuthn §14.6.1).
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      timeout: PASSKEY_CHALLENGE_TTL_MS,
      excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
      // Discoverable where the authenticator can, so the passkey also signs in without an email.
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.d.store.set(keyOf({ kind: 'register', sessionId }), JSON.stringify({ challenge: options.challenge, userId: user.id }), PASSKEY_CHALLENGE_TTL_MS);
    return options;
  }

  /**
   * Checks the authenticator's answer to the session's registration challenge and stores the credential.
   * Runs in the caller's transaction (the first factor of an account changes more than this row).
   */
  async register(userId: string, sessionId: string, response: RegistrationResponseJSON, name: string, tx: DbOrTx): Promise<{ id: string; method: PasskeyMethod }> {
    const raw = await this.d.store.getDel(keyOf({ kind: 'register', sessionId }));
    const pending = raw ? (JSON.parse(raw) as { challenge: string; userId: string }) : null;
    if (!pending || pending.userId !== userId) {
      throw new Invalid('PASSKEY_CHALLENGE_EXPIRED', 'This passkey prompt has expired or was already answered: start adding the passkey again.');
    }
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response, expectedChallenge: pending.challenge, expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: false,
      });
    } catch (err) {
      throw refusedRegistration((err as Error).message);
    }
    if (!verified.verified) throw refusedRegistration('it could not be verified');
    const { credential, credentialDeviceType } = verified.registrationInfo;
    const rows = await tx.insert(passkeys).values({
      userId, credentialId: credential.id, publicKey: Buffer.from(credential.publicKey), counter: credential.counter,
      transports: credential.transports ?? [], deviceType: credentialDeviceType, name,
    }).onConflictDoNothing().returning({ id: passkeys.id });
    if (!rows[0]) throw new Conflict('PASSKEY_EXISTS', 'This passkey is already registered.');
    return { id: rows[0].id, method: methodOf(credentialDeviceType) };
  }

  /**
   * Options for navigator.credentials.get(). With a user, only their credentials are allowed (the
   * second factor, step-up); without, any discoverable one (sign-in with a passkey alone), and the user
   * must be verified by the authenticator (a PIN or biometric), since nothing else is asked.
   */
  async authenticationOptions(binding: CeremonyBinding, userId: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = userId
      ? await this.d.db.select({ credentialId: passkeys.credentialId, transports: passkeys.transports }).from(passkeys).where(eq(passkeys.userId, userId))
      : [];
    if (userId && allow.length === 0) throw new Conflict('NO_PASSKEY', 'You have no passkey: use your authenticator app or a recovery code.');
    const options = await generateAuthenticationOptions({
      rpID: this.rpId, timeout: PASSKEY_CHALLENGE_TTL_MS,
      allowCredentials: allow.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
      userVerification: userId ? 'preferred' : 'required',
    });
    await this.d.store.set(keyOf(binding), options.challenge, PASSKEY_CHALLENGE_TTL_MS);
    return options;
  }

  /** A new anonymous ceremony for signing in with a passkey alone: the token binds the answer to this asker. */
  async signInOptions(): Promise<{ ceremonyToken: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const ceremonyToken = `pkc_${randomBytes(32).toString('base64url')}`;
    return { ceremonyToken, options: await this.authenticationOptions({ kind: 'sign-in', ceremonyToken }, null) };
  }

  /** Whose credential an assertion names, to count a failure against that account before checking it. */
  async ownerOf(response: AuthenticationResponseJSON): Promise<string | null> {
    const [row] = await this.d.db.select({ userId: passkeys.userId }).from(passkeys).where(eq(passkeys.credentialId, response.id));
    return row?.userId ?? null;
  }

  /**
   * Checks an assertion against the challenge of `binding` (spent whatever the outcome). With a user, the
   * credential must be theirs. On success the counter and last use are recorded.
   */
  async verifyAssertion(binding: CeremonyBinding, response: AuthenticationResponseJSON, userId: string | null, ctx: RequestContext): Promise<AssertionResult> {
    const challenge = await this.d.store.getDel(keyOf(binding));
    const [cred] = await this.d.db.select().from(passkeys)
      .where(userId ? and(eq(passkeys.credentialId, response.id), eq(passkeys.userId, userId)) : eq(passkeys.credentialId, response.id));
    if (!challenge) return { ok: false, userId: cred?.userId ?? userId, reason: 'expired_challenge' };
    if (!cred) return { ok: false, userId, reason: 'unknown_credential' };
    let info;
    try {
      const r = await verifyAuthenticationResponse({
        response, expectedChallenge: challenge, expectedOrigin: this.origin, expectedRPID: this.rpId,
        // The counter is compared below, after the signature, so that only a genuine assertion is taken for a clone.
        credential: { id: cred.credentialId, publicKey: new Uint8Array(cred.publicKey), counter: 0, transports: cred.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: binding.kind === 'sign-in',
      });
      if (!r.verified) return { ok: false, userId: cred.userId, reason: 'bad_signature' };
      info = r.authenticationInfo;
    } catch {
      // Wrong origin, RP ID, challenge, type, flags or signature: the library says which; the answer need not.
      return { ok: false, userId: cred.userId, reason: 'bad_signature' };
    }
    const next = info.newCounter;
    // One conditional UPDATE: of two assertions racing with one counter value, one passes.
    const moved = await this.d.db.update(passkeys).set({ counter: next, lastUsedAt: sql`now()` })
      .where(and(eq(passkeys.id, cred.id), or(sql`${passkeys.counter} < ${next}`, and(eq(passkeys.counter, 0), sql`${next} = 0`))))
      .returning({ id: passkeys.id });
    if (moved.length === 0) {
      await audit(this.d.db, {
        action: 'auth.passkey_counter_regressed', actorUserId: cred.userId, targetType: 'passkey', targetId: cred.id,
        details: { storedCounter: cred.counter, presentedCounter: next }, ...ctx,
      });
      return { ok: false, userId: cred.userId, reason: 'counter_regressed' };
    }
    return { ok: true, userId: cred.userId, passkeyId: cred.id, method: methodOf(cred.deviceType) };
  }

  /** Removes one of the user's passkeys: another user's is "not found". Returns its name. */
  async remove(userId: string, passkeyId: string, tx: DbOrTx): Promise<string> {
    const rows = await tx.delete(passkeys).where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, userId))).returning({ name: passkeys.name });
    if (!rows[0]) throw new NotFound('NOT_FOUND', 'No such passkey.');
    return rows[0].name;
  }
}

const refusedRegistration = (why: string) => new Invalid('PASSKEY_REFUSED', `The passkey was not accepted: ${why}. Try again from this site's address.`);
