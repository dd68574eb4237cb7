import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';
import { bytea, users } from '../auth/schema.ts';
import { ROLES, workspaces } from '../workspaces/schema.ts';

/**
 * A workspace's OpenID Connect identity provider: one per workspace. The client secret is encrypted like
 * social tokens (TokenCipher, bound to the workspace id) and never returned by the API.
 */
export const ssoConnections = pgTable('sso_connections', {
  workspaceId: uuid('workspace_id').primaryKey().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** The issuer identifier; its /.well-known/openid-configuration is read at each sign-in. */
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  clientSecretEnc: text('client_secret_enc').notNull(),
  /** The role a person signing in for the first time gets (just-in-time membership). */
  defaultRole: text('default_role', { enum: ROLES }).notNull().default('editor'),
  /** People of the workspace's verified domains sign in only through this provider. */
  ssoOnly: boolean('sso_only').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * An email domain a workspace claims. It counts only once verified (a DNS TXT record, or a mailed link to an
 * admin address of the domain); a verified domain belongs to one workspace only.
 */
export const ssoDomains = pgTable('sso_domains', {
  id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  /** Lower-case, without a trailing dot. */
  domain: text('domain').notNull(),
  /** The value of the TXT record that proves the domain (public: it is meant to be published). */
  txtToken: text('txt_token').notNull(),
  /** The mailed link's token, as its SHA-256 hash; single use. */
  mailTokenHash: bytea('mail_token_hash'),
  mailTokenExpiresAt: timestamp('mail_token_expires_at', { withTimezone: true }),
  verifiedAt: timestamp('verified_at', { withTimezone: true }),
  verifiedBy: text('verified_by', { enum: ['dns', 'mail'] }),
  claimedBy: uuid('claimed_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('sso_domains_workspace_domain_key').on(t.workspaceId, t.domain),
  // A verified domain belongs to one workspace: sign-in finds the workspace by it.
  uniqueIndex('sso_domains_verified_key').on(t.domain).where(sql`verified_at is not null`),
  // A workspace's domains in the order they were claimed.
  index('sso_domains_workspace_idx').on(t.workspaceId, t.createdAt, t.id),
  uniqueIndex('sso_domains_mail_token_key').on(t.mailTokenHash),
]);
