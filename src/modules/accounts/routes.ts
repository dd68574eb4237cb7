// Social accounts: the networks on offer, connect (OAuth redirect, handle + app password, chat + bot token, or a webhook URL), the
// public OAuth callback, list, disconnect. Tokens never appear in any answer.
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import { userOf } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { auditActor } from '../workspaces/index.ts';
import { Uuid, WorkspaceParams, errors } from '../workspaces/index.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { MESSAGE_ACTIONS } from '../../providers/types.ts';
import { STATE_TTL_MS, publicAccount, type AccountService } from './service.ts';
import { describeNetworks } from './networks.ts';

export interface AccountRouteDeps {
  accounts: AccountService;
  registry: ProviderRegistry;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  secureCookies: boolean;
}

const cookieFor = (state: string) => `allin_connect_${createHash('sha256').update(state).digest('hex').slice(0, 16)}`;

const AccountSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  provider: Type.String(),
  host: Type.Union([Type.String(), Type.Null()]),
  externalId: Type.String(),
  kind: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  profileUrl: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: 'active, needs_reconnect or disconnected' }),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  tokenExpiresAt: Type.Union([Type.String(), Type.Null()]),
  connectedAt: Type.String(),
  lastRefreshedAt: Type.Union([Type.String(), Type.Null()]),
  limits: Type.Union([Type.Unknown(), Type.Null()], { description: 'The account\'s own text and media limits when they differ from the network\'s (a Mastodon instance\'s); null otherwise' }),
});

const Network = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  connect: Type.String({ description: 'oauth2 (redirect), app_password (handle and app password), bot_token (chat and bot token), webhook_url (a webhook URL as the password) secret_key (relays as the identifier, a secret key as the password) or login (an instance as the host, a username and a password); all but oauth2 through …/accounts/credentials' }),
  userSuppliedHost: Type.Boolean({ description: 'The user names their server (a Mastodon instance)' }),
  docsUrl: Type.String(),
  limits: Type.Unknown({ description: 'How text is counted and the media each post may carry' }),
  capabilities: Type.Object({
    metrics: Type.Boolean({ description: 'AllIN collects figures (likes, replies, views) of published posts; false where the network gives none (Telegram bots, Discord webhooks)' }),
    inbox: Type.Boolean({ description: 'AllIN collects comments, replies or mentions into the inbox (docs/INBOX.md)' }),
    messageActions: Type.Array(Type.Enum([...MESSAGE_ACTIONS]), {
      description: 'What AllIN can do to a collected message on this network (POST …/inbox/messages/{id}/{action}); empty: the inbox only reads and answers. '
        + 'hide and unhide apply to others\' replies under the account\'s own posts; delete as messageDeletes says',
    }),
    messageDeletes: Type.Union([Type.Enum(['own', 'own_and_comments']), Type.Null()], {
      description: 'Whose messages delete removes: own (the account\'s own), own_and_comments (also others\' comments under its own posts); null without delete',
    }),
    inboxAccountKinds: Type.Union([Type.Array(Type.Enum(['person', 'page', 'organization'])), Type.Null()], {
      description: 'The kinds of account whose inbox is collected (LinkedIn: organization Pages only); null: every kind',
    }),
    inboxNotCollected: Type.Union([Type.String(), Type.Null()], { description: 'What the inbox does not collect from this network, and why, for people' }),
  }),
});

/** The networks on offer and the public OAuth callback: outside any workspace. */
export const networkRoutes: FastifyPluginAsyncTypebox<AccountRouteDeps> = async (app, d) => {
  const tags = ['accounts'];

  app.get('/api/networks', {
    preHandler: d.guards.any,
    schema: { tags, summary: 'The social networks this AllIN offers, with their text and media rules', response: { 200: Type.Object({ networks: Type.Array(Network) }), ...errors(401) } },
  }, async () => ({ networks: describeNetworks(d.registry) }));
  app.get('/api/connect/:provider/callback', {
    schema: {
      tags, summary: 'Where a network sends the browser back after consent (redirects to the app)',
      params: Type.Object({ provider: Type.String({ maxLength: 32 }) }),
      querystring: Type.Object({
        code: Type.Optional(Type.String({ maxLength: 2048 })), state: Type.Optional(Type.String({ maxLength: 512 })),
        error: Type.Optional(Type.String({ maxLength: 256 })), error_description: Type.Optional(Type.String({ maxLength: 2048 })),
      }, { additionalProperties: true }),
      // A malformed query (an over-long code or state) is refused before the flow is read: 400 in the error shape.
      response: { 302: Type.Null(), ...errors(400) },
    },
  }, async (req, reply) => {
    const state = req.query.state;
    const name = state ? cookieFor(state) : undefined;
    const nonce = name ? req.cookies[name] : undefined;
    if (name) reply.clearCookie(name, { path: '/api/connect' });
    const to = await d.accounts.completeConnect(req.params.provider, {
      ...(req.query.code ? { code: req.query.code } : {}), ...(state ? { state } : {}), ...(req.query.error ? { error: req.query.error } : {}),
    }, nonce);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    return reply.redirect(to, 302);
  });
};

/** Under /api/workspaces/:workspaceId (registered in the workspace scope, see workspaces/scope.ts). */
export const accountRoutes: FastifyPluginAsyncTypebox<AccountRouteDeps> = async (app, d) => {
  const tags = ['accounts'];
  const AccountParams = Type.Object({ workspaceId: Uuid('Workspace id'), accountId: Uuid('Social account id') });

  app.get('/accounts', {
    preHandler: [d.guards.any, d.workspaceAccess('accounts.read')],
    schema: {
      tags, summary: 'Connected accounts, by network then name, a page at a time', params: WorkspaceParams,
      querystring: Type.Object(pageQuery('accounts', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ accounts: Type.Array(AccountSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.accounts.list(req.params.workspaceId, req.query);
    return { accounts: items.map(publicAccount), nextCursor };
  });
  app.get('/accounts/:accountId', {
    preHandler: [d.guards.any, d.workspaceAccess('accounts.read')],
    schema: { tags, summary: 'One connected account', params: AccountParams, response: { 200: AccountSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => publicAccount(await d.accounts.get(req.params.workspaceId, req.params.accountId)));
  app.post('/accounts/connect', {
    preHandler: [d.guards.user, d.workspaceAccess('accounts.manage')],
    schema: {
      tags, summary: 'Start connecting (or reconnecting) an account: returns the network page to send the browser to',
      description: 'The browser that follows authorizationUrl must be the one that made this call (a cookie binds the two); the network sends it back to /api/connect/{network}/callback, which redirects to the app with connected= or connect_error=.',
      params: WorkspaceParams,
      body: Type.Object({
        provider: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z]+$' }),
        host: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Your server, for networks with many (Mastodon)' })),
        accountId: Type.Optional(Uuid('Reconnect this account (keeps its id and history)')),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ authorizationUrl: Type.String(), expiresInSeconds: Type.Integer() }), ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => {
    const { userId } = userOf(req);
    const { authorizationUrl, nonce } = await d.accounts.startConnect(userId, req.params.workspaceId, req.body.provider, {
      ...(req.body.host ? { host: req.body.host } : {}), ...(req.body.accountId ? { reconnectAccountId: req.body.accountId } : {}),
    });
    const state = new URL(authorizationUrl).searchParams.get('state') ?? '';
    // SameSite=Lax: the network sends the browser back with a top-level GET from its own site.
    reply.setCookie(cookieFor(state), nonce, { httpOnly: true, secure: d.secureCookies, sameSite: 'lax', path: '/api/connect', maxAge: STATE_TTL_MS / 1000 });
    reply.header('cache-control', 'no-store');
    return { authorizationUrl, expiresInSeconds: STATE_TTL_MS / 1000 };
  });
  app.post('/accounts/credentials', {
    preHandler: [d.guards.user, d.workspaceAccess('accounts.manage')],
    schema: {
      tags, summary: 'Connect an account with a handle and an app password (Bluesky), a chat and a bot token (Telegram), a webhook URL (Discord), relays and a secret key (Nostr), or an instance, username and password (Lemmy)',
      params: WorkspaceParams,
      body: Type.Object({
        provider: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z]+$' }),
        identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Handle or email; Telegram: the chat (@channel, t.me link or numeric id); Nostr: the relays (wss://…, up to 8, separated by spaces or commas) and optionally one Blossom media server (https://…); Lemmy: the username or email. Required except for Discord' })),
        password: Type.String({ minLength: 1, maxLength: 300, description: 'An app password, not the account password; Telegram: the bot token from @BotFather; Discord: the channel\'s webhook URL (https://discord.com/api/webhooks/…); Nostr: the secret key (nsec1… or 64 hex characters), stored encrypted; Lemmy: the account\'s password, used once to log in and not stored' }),
        host: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'The server: a Bluesky PDS, or a Lemmy instance (required for Lemmy), e.g. lemmy.world' })),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ accounts: Type.Array(AccountSchema) }), ...errors(400, 401, 403, 404, 503) },
    },
  }, async (req, reply) => {
    const { userId } = userOf(req);
    const accounts = await d.accounts.connectWithCredentials(userId, req.params.workspaceId, req.body.provider, req.body.identifier, req.body.password, req.body.host, auditActor(req));
    reply.status(201);
    return { accounts };
  });
  app.delete('/accounts/:accountId', {
    preHandler: [d.guards.any, d.workspaceAccess('accounts.manage')],
    schema: { tags, summary: 'Disconnect: revoke at the network where it can, delete the tokens, keep the history', params: AccountParams,
      response: { 200: Type.Object({ disconnected: Type.Literal(true), revokedAtNetwork: Type.Boolean() }), ...errors(400, 401, 403, 404) } },
  }, async (req) => ({ disconnected: true as const, ...(await d.accounts.disconnect(req.params.workspaceId, req.params.accountId, auditActor(req))) }));
};
