import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';

export const ACCOUNT_STATUSES = ['active', 'needs_reconnect', 'disconnected'] as const;

/**
 * A social network account connected to a workspace. Tokens are encrypted (TokenCipher, keyed by this
 * row's id). Disconnecting clears the tokens and keeps the row, so published history stays attached.
 */
export const socialAccounts = pgTable('social_accounts', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  /** The server of the user's choosing (Mastodon instance, Bluesky PDS); '' for central networks. */
  host: text('host').notNull().default(''),
  externalId: text('external_id').notNull(),
  kind: text('kind', { enum: ['person', 'page', 'organization'] }).notNull(),
  username: text('username').notNull(),
  displayName: text('display_name').notNull(),
  avatarUrl: text('avatar_url'),
  profileUrl: text('profile_url'),
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  accessTokenEnc: text('access_token_enc'),
  refreshTokenEnc: text('refresh_token_enc'),
  tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true }),
  refreshExpiresAt: timestamp('refresh_expires_at', { withTimezone: true }),
  scope: text('scope').array().notNull().default(sql`'{}'::text[]`),
  status: text('status', { enum: ACCOUNT_STATUSES }).notNull().default('active'),
  statusReason: text('status_reason'),
  connectedBy: uuid('connected_by').references(() => users.id, { onDelete: 'set null' }),
  connectedAt: timestamp('connected_at', { withTimezone: true }).notNull().defaultNow(),
  lastRefreshedAt: timestamp('last_refreshed_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  // Connecting the same network account to one workspace twice is the same account.
  uniqueIndex('social_accounts_identity_key').on(t.workspaceId, t.provider, t.host, t.externalId),
  index('social_accounts_refresh_idx').on(t.tokenExpiresAt).where(sql`status = 'active'`),
  // The accounts list: by network, then name.
  index('social_accounts_list_idx').on(t.workspaceId, t.provider, t.username, t.id),
  // A network identity in every workspace, for what the network pushes about it (Meta webhooks).
  index('social_accounts_network_identity_idx').on(t.provider, t.externalId, t.id),
]);

/** Mastodon apps AllIN registered, one per instance, kept (the secret encrypted) so it registers once. */
export const mastodonApps = pgTable('mastodon_apps', {
  host: text('host').primaryKey(),
  clientId: text('client_id').notNull(),
  clientSecretEnc: text('client_secret_enc').notNull(),
  redirectUri: text('redirect_uri').notNull(),
  scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
