// Mastodon, any instance. API documentation: https://docs.joinmastodon.org/methods/ (apps, oauth,
// accounts, instance, statuses, media); OAuth: https://docs.joinmastodon.org/spec/oauth/; rate limits:
// https://docs.joinmastodon.org/api/rate-limits/. The facts used here, each with its page, are in
// docs/NETWORKS.md (Network facts: Mastodon).
//
// The instance is typed by the user, so every call goes through the private-address guard
// (`userSuppliedHost: true`). AllIN registers itself as an OAuth app with each instance on first use
// (POST /api/v1/apps); the registration is kept in a MastodonAppStore (the accounts module can give a
// database-backed one; the default lives in memory, so after a restart AllIN registers again).
// Tokens never expire and there is no refresh token: `refresh` only checks the token still works.
//
// This file is the network's entry point: its metadata, the public types, and createMastodon, which puts
// the parts in mastodon/ together. Each part does one job:
//   host.ts         host names as typed, normalised and checked
//   api.ts          calls to an instance (base URL, bearer, guard) and their error mapping
//   discovery.ts    the instance's OAuth metadata (PKCE, `profile` scope) and the scopes AllIN asks for
//   apps.ts         AllIN's app registration per instance, and where it is kept
//   instance.ts     the instance's limits (max characters, media types and sizes)
//   oauth.ts        authorisation URL, code exchange, revocation, token check
//   media.ts        media upload and the wait while the instance processes it
//   statuses.ts     publishing a status, its counts, its deletion
//   idempotency.ts  the Idempotency-Key sent with each status
//   reconcile.ts    finding a status again after an unknown outcome, by its marker
//   inbox.ts        collecting the account's mentions (and replies to it) for the inbox
//   content.ts      a status's HTML as plain text
//   replies.ts      answering a status from the inbox, and finding the answer again
//   paging.ts       the Link header's pages
//   account.ts      the account's own counts (followers, following, statuses)
import {
  type AccountRef, type AuthorizeRequest, type ConnectedIdentity, type ExchangeRequest, type FindReplyRequest, type MessageActionRequest, type MessageState, type InboxPage, type InboxPageRequest, type PostMetrics, type Provider,
  type ProviderDeps, type ProviderMetadata, type PublishRequest, type PublishedPost, type ReplyRequest, type TokenSet,
} from './types.ts';
import { mastodonApi } from './mastodon/api.ts';
import { memoryAppStore, mastodonApps, type MastodonApp, type MastodonAppStore } from './mastodon/apps.ts';
import { oauthDiscovery } from './mastodon/discovery.ts';
import { normalizeMastodonHost, requireHost } from './mastodon/host.ts';
import { STOCK_LIMITS, instanceInfo, mastodonLimits, type MastodonInstanceInfo } from './mastodon/instance.ts';
import { mastodonOAuth } from './mastodon/oauth.ts';
import { findByMarker } from './mastodon/reconcile.ts';
import { deleteStatus, publishStatus, statusMetrics } from './mastodon/statuses.ts';
import { findReply, publishReply } from './mastodon/replies.ts';
import { NOTIFICATIONS, collectMentions } from './mastodon/inbox.ts';
import { deleteOwnStatus, favourite, statusState } from './mastodon/actions.ts';
import { accountCounts } from './mastodon/account.ts';

export { memoryAppStore, type MastodonApp, type MastodonAppStore } from './mastodon/apps.ts';
export { normalizeMastodonHost } from './mastodon/host.ts';
export { idempotencyKey } from './mastodon/idempotency.ts';
export { mastodonLimits, type MastodonInstanceInfo } from './mastodon/instance.ts';

const meta: ProviderMetadata = {
  id: 'mastodon',
  displayName: 'Mastodon',
  docsUrl: 'https://docs.joinmastodon.org/methods/statuses/',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: true,
  // Stock defaults; identities() reads each instance's real limits (forks raise max_characters).
  limits: STOCK_LIMITS,
  inbox: {
    sources: [{
      id: NOTIFICATIONS, collects: ['comments', 'replies', 'mentions'],
      description: 'GET /api/v1/notifications?types[]=mention (https://docs.joinmastodon.org/methods/notifications/): statuses that mention the account, which include every reply to its statuses; '
        + 'replies are placed in their thread with GET /api/v1/statuses/:id/context. Pages of 40. Direct messages are left out. Edits and deletions after a status was collected are not seen (Mastodon sends no notification for them). Needs read:notifications: accounts connected before must reconnect.',
    }],
    // Favourites (write:favourites) and deleting the account's own statuses; Mastodon cannot hide others' replies (mastodon/actions.ts).
    actions: ['reply', 'like', 'unlike', 'delete'],
    deletes: 'own',
  },
  accountMetrics: { fields: ['followers', 'following', 'posts'], historyDays: 0, docs: 'https://docs.joinmastodon.org/methods/accounts/#verify_credentials' },
};

export interface MastodonProvider extends Provider {
  /** Registers AllIN with an instance and stores the result (also done by authorizationUrl when needed). */
  registerApp(host: string, redirectUri: string): Promise<MastodonApp>;
  /** The instance's limits (cached for an hour). */
  instance(host: string): Promise<MastodonInstanceInfo>;
  /** Deletes a status; one that is already gone counts as deleted. */
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

export function createMastodon(deps: ProviderDeps, appStore: MastodonAppStore = memoryAppStore()): MastodonProvider {
  const api = mastodonApi(deps);
  const discover = oauthDiscovery(api);
  const apps = mastodonApps(api, discover, appStore);
  const oauth = mastodonOAuth(api, discover, apps);
  const instance = instanceInfo(api);

  return {
    meta,
    registerApp: (host, redirectUri) => apps.register(host, redirectUri),
    instance: (host) => instance(normalizeMastodonHost(host)),

    // async: a missing or invalid host is a rejected promise, as every other failure.
    async authorizationUrl(req: AuthorizeRequest) {
      return oauth.authorizationUrl(requireHost(req.host, 'authorization'), req);
    },
    async exchangeCode(req: ExchangeRequest) {
      return oauth.exchangeCode(requireHost(req.host, 'exchange'), req);
    },
    async refresh(account: AccountRef) {
      // Mastodon tokens do not expire and cannot be refreshed: either this one still works, or the
      // account must reconnect (verify answers 401 → auth_expired).
      await oauth.verify(requireHost(account.host, 'refresh'), account.tokens);
      return account.tokens;
    },
    async revoke(account: AccountRef) {
      await oauth.revoke(requireHost(account.host, 'revoke'), account.tokens.accessToken);
    },

    async identities(tokens: TokenSet, hostInput?: string): Promise<ConnectedIdentity[]> {
      const host = requireHost(hostInput, 'identities');
      const me = await oauth.verify(host, tokens);
      const info = await instance(host);
      // The token's own account is local, so acct = username and the full handle is user@host.
      return [{
        externalId: me.id,
        kind: 'person',
        username: `${me.username}@${host}`,
        displayName: typeof me.display_name === 'string' && me.display_name ? me.display_name : me.username,
        ...(typeof me.avatar === 'string' && me.avatar ? { avatarUrl: me.avatar } : {}),
        ...(typeof me.url === 'string' && me.url ? { profileUrl: me.url } : {}),
        data: { host, accountId: me.id, instance: info, limits: mastodonLimits(info) },
      }];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      return publishStatus(api, account, requireHost(account.host, 'publish'), post);
    },
    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      return findByMarker(api, account, requireHost(account.host, 'find_post'), marker, since);
    },
    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      return statusMetrics(api, account, requireHost(account.host, 'metrics'), remoteId);
    },
    async accountMetrics(account: AccountRef) {
      return accountCounts(api, account, requireHost(account.host, 'account_metrics'));
    },
    async collectInbox(account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
      return collectMentions(api, account, requireHost(account.host, 'inbox'), req);
    },
    async reply(account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
      return publishReply(api, account, requireHost(account.host, 'reply'), req);
    },
    async findReply(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
      return findReply(api, account, requireHost(account.host, 'find_reply'), req);
    },
    async like(account: AccountRef, req: MessageActionRequest) {
      await favourite(api, account, requireHost(account.host, 'favourite'), req, true);
    },
    async unlike(account: AccountRef, req: MessageActionRequest) {
      await favourite(api, account, requireHost(account.host, 'unfavourite'), req, false);
    },
    async delete(account: AccountRef, req: MessageActionRequest) {
      await deleteOwnStatus(api, account, requireHost(account.host, 'delete_status'), req);
    },
    async messageState(account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
      return statusState(api, account, requireHost(account.host, 'status_state'), req);
    },
    async deletePost(account: AccountRef, remoteId: string) {
      await deleteStatus(api, account, requireHost(account.host, 'delete_post'), remoteId);
    },
  };
}
