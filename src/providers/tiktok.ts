// TikTok, through Login Kit (OAuth 2.0) and the Content Posting API v2. Documentation (the facts used, each with its page
// and status, are in docs/NETWORKS.md, Network facts: TikTok):
//   Login Kit for Web        https://developers.tiktok.com/doc/login-kit-web
//   Tokens                   https://developers.tiktok.com/doc/oauth-user-access-token-management
//   Scopes                   https://developers.tiktok.com/doc/tiktok-api-scopes
//   Query creator info       https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
//   Direct post (video)      https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
//   Upload (inbox draft)     https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
//   Photo post               https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
//   Media transfer           https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
//   Post status              https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
//   Videos, user info        https://developers.tiktok.com/doc/tiktok-api-v2-video-list, …/tiktok-api-v2-video-query, …/tiktok-api-v2-get-user-info
//   Errors                   https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
//
// An AllIN account is one TikTok creator. A post is one video or 1-35 photos, published directly (privacy level and
// interaction settings in the options, checked against creator_info before each post) or sent to the creator's inbox
// as a draft. Content posted by a TikTok app that has not passed TikTok's audit is private (SELF_ONLY) only: unless
// TIKTOK_AUDITED says the audit is passed, other privacy levels are refused before sending, with that explanation.
//
// This file is the network's entry point: its metadata and createTikTok, which puts the parts in tiktok/ together:
//   api.ts         API calls (Bearer token, the {data, error: {code, message, log_id}} envelope) and its errors
//   oauth.ts       authorisation URL, code exchange, refresh and revoke (client_key and client_secret in the form)
//   options.ts     mode, privacy level, interaction and brand settings, photo title; media rules (pure: the web app runs it)
//   posts.ts       creator_info, video (chunked FILE_UPLOAD) and photo (PULL_FROM_URL) posts, the status, figures
//   reconcile.ts   the send journal, the publish's status, the creator's listed videos
import { tiktokApi, TIKTOK_API_URL } from './tiktok/api.ts';
import { tiktokOAuth } from './tiktok/oauth.ts';
import { IMAGE_TYPES, MAX_CAPTION, MAX_IMAGE_BYTES, MAX_PHOTOS, MAX_VIDEO_BYTES, MAX_VIDEO_SECONDS, VIDEO_TYPES } from './tiktok/options.ts';
import { STATUS_POLL, tiktokPosts } from './tiktok/posts.ts';
import { findByMarker, type SentTikTok } from './tiktok/reconcile.ts';
import { SentPosts } from './sent-posts.ts';
import { ProviderError, type ConnectedIdentity, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { TIKTOK_SCOPES } from './tiktok/oauth.ts';
export { tiktokOptionProblems, tiktokCaptionProblems, tiktokMediaProblems, TIKTOK_OPTION_KEYS, PRIVACY_LEVELS, type TikTokOptions } from './tiktok/options.ts';
export { chunking, CHUNK_BYTES } from './tiktok/posts.ts';

const meta: ProviderMetadata = {
  id: 'tiktok',
  displayName: 'TikTok',
  docsUrl: 'https://developers.tiktok.com/doc/content-posting-api-reference-direct-post',
  connect: 'oauth2',
  // A refresh answers a refresh token that may differ from the one sent (UNCONFIRMED whether the old one dies): serialised.
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // The caption is counted in UTF-16 code units ("runes" in TikTok's reference).
    textCounting: 'utf16', maxTextLength: MAX_CAPTION, threads: false, firstComment: false,
    media: {
      maxCount: MAX_PHOTOS, imageTypes: IMAGE_TYPES, videoTypes: VIDEO_TYPES, maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: MAX_VIDEO_BYTES,
      maxVideoSeconds: MAX_VIDEO_SECONDS, mixing: false, required: true,
    },
  },
  accountMetrics: { fields: ['followers', 'following', 'posts'], historyDays: 0, docs: 'https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info' },
};

export function createTikTok(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('tiktok: TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET are required');
  const urls = deps.settings.baseUrls;
  const api = tiktokApi(deps.http, urls.api ?? TIKTOK_API_URL);
  const oauth = tiktokOAuth(api, urls.auth ?? 'https://www.tiktok.com', { clientKey: clientId, clientSecret });
  const sent = new SentPosts<SentTikTok>('tiktok', deps.journal);
  const posts = tiktokPosts(api, sent, STATUS_POLL, urls.audited === 'true');
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    async identities(tokens): Promise<ConnectedIdentity[]> {
      // https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
      const { user: me } = await api.get<{ user?: { open_id?: unknown; username?: unknown; display_name?: unknown; avatar_url?: unknown } }>(tokens.accessToken, '/user/info/?fields=open_id,union_id,avatar_url,display_name,username', 'profile');
      if (!me || typeof me.open_id !== 'string' || me.open_id === '' || typeof me.username !== 'string' || me.username === '') {
        throw new ProviderError('transient', 'TikTok: the user info answered without an open_id or username', { provider: 'tiktok', reason: 'malformed_response' });
      }
      const avatar = typeof me.avatar_url === 'string' && /^https:\/\//.test(me.avatar_url) ? me.avatar_url : undefined;
      return [{
        externalId: me.open_id, kind: 'person', username: me.username, displayName: typeof me.display_name === 'string' && me.display_name ? me.display_name : me.username,
        profileUrl: `https://www.tiktok.com/@${encodeURIComponent(me.username)}`, ...(avatar ? { avatarUrl: avatar } : {}), data: {},
      }];
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, posts.status, sent, account, marker, since),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account) => posts.accountMetrics(account),
  };
}
