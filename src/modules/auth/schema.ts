import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, pgTable, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

export const users = pgTable('users', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  /** Stored trimmed and lower-cased; unique. */
  email: text('email').notNull(),
  name: text('name').notNull(),
  passwordHash: text('password_hash').notNull(),
  emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
  passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }),
  /** The IANA zone this user reads times in; null: the workspace's. */
  timeZone: text('time_zone'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('users_email_key').on(t.email)]);

/**
 * A login: lives until expires_at unless revoked. The refresh token rotates on every use; the session
 * keeps the SHA-256 hash of the current one and of the last few it replaced, so a replaced token that
 * comes back (outside the grace window) is recognised as leaked and the session is revoked.
 */
export const sessions = pgTable('sessions', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  refreshHash: bytea('refresh_hash').notNull(),
  previousHashes: bytea('previous_hashes').array().notNull().default(sql`'{}'::bytea[]`),
  rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  rememberMe: boolean('remember_me').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
  ip: text('ip'),
  userAgent: text('user_agent'),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  revokeReason: text('revoke_reason'),
  /** How the user proved who they are (RFC 8176 values: pwd, otp; and recovery for a recovery code). */
  amr: text('amr').array().notNull().default(sql`'{pwd}'::text[]`),
  /** When this session last proved a second factor (sign-in or step-up); sensitive changes need a recent one. */
  secondFactorAt: timestamp('second_factor_at', { withTimezone: true }),
}, (t) => [
  index('sessions_user_idx').on(t.userId),
  // A user's live sessions, newest sign-in first.
  index('sessions_live_idx').on(t.userId, t.createdAt, t.id).where(sql`revoked_at is null`),
  uniqueIndex('sessions_refresh_hash_key').on(t.refreshHash),
  index('sessions_previous_hashes_idx').using('gin', t.previousHashes),
]);

/** Single-use tokens sent by mail: email verification and password reset. */
export const oneTimeTokens = pgTable('one_time_tokens', {
  tokenHash: bytea('token_hash').primaryKey(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  purpose: text('purpose', { enum: ['verify_email', 'reset_password'] }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
}, (t) => [index('one_time_tokens_user_idx').on(t.userId, t.purpose)]);

/**
 * A user's authenticator app (TOTP, RFC 6238): one per user. The shared secret is encrypted like social
 * tokens (TokenCipher, bound to the user). Unconfirmed until the first code is entered. The last time step
 * accepted is kept so that a code works once, even within its window of drift.
 */
export const totpFactors = pgTable('totp_factors', {
  userId: uuid('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  secretEnc: text('secret_enc').notNull(),
  confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  lastUsedStep: bigint('last_used_step', { mode: 'number' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Single-use recovery codes, stored as SHA-256 hashes (each is 60 random bits, shown once). */
export const recoveryCodes = pgTable('recovery_codes', {
  codeHash: bytea('code_hash').primaryKey(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  usedAt: timestamp('used_at', { withTimezone: true }),
}, (t) => [index('recovery_codes_user_idx').on(t.userId)]);

/**
 * The step between a correct password and a session for a user with a second factor: a short-lived,
 * single-use token (stored as its SHA-256 hash) that only the second-factor route accepts.
 */
export const signInChallenges = pgTable('sign_in_challenges', {
  tokenHash: bytea('token_hash').primaryKey(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  rememberMe: boolean('remember_me').notNull().default(false),
  /** Wrong codes given with it; past a few the challenge is spent (the account's limits count them too). */
  failures: integer('failures').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
}, (t) => [index('sign_in_challenges_user_idx').on(t.userId)]);

/**
 * A user's passkeys (WebAuthn credentials), several per user. The public key is stored as the COSE key the
 * authenticator gave at registration; the signature counter is kept so that a counter going back (a cloned
 * authenticator) is refused. The credential id is unique across users: it is how a usernameless sign-in
 * finds its account.
 */
export const passkeys = pgTable('passkeys', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  /** base64url, as WebAuthn's JSON encodings carry it. */
  credentialId: text('credential_id').notNull(),
  publicKey: bytea('public_key').notNull(),
  counter: bigint('counter', { mode: 'number' }).notNull().default(0),
  transports: text('transports').array().notNull().default(sql`'{}'::text[]`),
  /** singleDevice (bound to one authenticator) or multiDevice (synced, backup eligible). */
  deviceType: text('device_type', { enum: ['singleDevice', 'multiDevice'] }).notNull(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
}, (t) => [
  uniqueIndex('passkeys_credential_id_key').on(t.credentialId),
  // A user's passkeys in the order they were added.
  index('passkeys_user_idx').on(t.userId, t.createdAt, t.id),
]);
