// Pinterest, through the Pinterest API v5 with OAuth 2.0. Documentation (the facts used, each with its page and status,
// are in docs/NETWORKS.md, Network facts: Pinterest):
//   Authentication          https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/
//   Create Pin              https://developers.pinterest.com/docs/api/v5/pins-create
//   Video Pins              https://developers.pinterest.com/docs/api-features/creating-boards-and-pins/#creating-video-pins
//   Media uploads           https://developers.pinterest.com/docs/api/v5/media-create, …/media-get
//   Boards, sections        https://developers.pinterest.com/docs/api/v5/boards-list, …/board_sections-list, …/boards-list_pins
//   User account            https://developers.pinterest.com/docs/api/v5/user_account-get, …/user_account-analytics
//   Rate limits             https://developers.pinterest.com/docs/reference/rate-limits/
//   OpenAPI description     https://github.com/pinterest/api-description (v5/openapi.yaml: fields, lengths, enums)
//
// An AllIN account is one Pinterest user account. A post is one Pin on the board (and section) its options name: an
// image, a carousel of 2 to 5 images, or a video with an optional cover image; the text is the description, the
// options carry the board, section, title, link and alt text.
//
// This file is the network's entry point: its metadata and createPinterest, which puts the parts in pinterest/ together:
//   api.ts         API calls (Bearer token, JSON answers) and Pinterest's {code, message} errors as ProviderError kinds
//   oauth.ts       authorisation URL, code exchange and refresh (HTTP Basic, rotating refresh tokens)
//   options.ts     board, section, title, link, altText; media rules (pure: the web app runs it too)
//   posts.ts       board lookup, image / carousel / video Pins, the video upload and its processing, figures
//   reconcile.ts   the send journal, the upload's status, the board's Pins matched by what was sent
import { pinterestApi, PINTEREST_API_URL } from './pinterest/api.ts';
import { pinterestOAuth } from './pinterest/oauth.ts';
import { IMAGE_TYPES, MAX_CAROUSEL, MAX_DESCRIPTION, MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, MAX_VIDEO_SECONDS, MIN_VIDEO_SECONDS, VIDEO_TYPES } from './pinterest/options.ts';
import { pinterestPosts, VIDEO_POLL } from './pinterest/posts.ts';
import { findByMarker, type SentPin } from './pinterest/reconcile.ts';
import { SentPosts } from './sent-posts.ts';
import { ProviderError, type ConnectedIdentity, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { PINTEREST_SCOPES } from './pinterest/oauth.ts';
export { pinterestOptionProblems, pinterestDescriptionProblems, pinterestMediaProblems, PINTEREST_OPTION_KEYS, type PinterestOptions } from './pinterest/options.ts';

const meta: ProviderMetadata = {
  id: 'pinterest',
  displayName: 'Pinterest',
  docsUrl: 'https://developers.pinterest.com/docs/api/v5/pins-create',
  connect: 'oauth2',
  // Continuous refresh: every refresh answers a new refresh token.
  refreshTokenRotates: true,
  // POST /v5/oauth/token/revoke takes system users' tokens only.
  supportsRevocation: false,
  userSuppliedHost: false,
  limits: {
    textCounting: 'unicode', maxTextLength: MAX_DESCRIPTION, threads: false, firstComment: false,
    media: {
      maxCount: MAX_CAROUSEL, imageTypes: IMAGE_TYPES, videoTypes: VIDEO_TYPES, maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: MAX_VIDEO_BYTES,
      minVideoSeconds: MIN_VIDEO_SECONDS, maxVideoSeconds: MAX_VIDEO_SECONDS, mixing: true, required: true,
    },
  },
  accountMetrics: { fields: ['followers', 'following', 'posts', 'impressions', 'engagement'], historyDays: 90, docs: 'https://developers.pinterest.com/docs/api/v5/user_account-analytics' },
};

export function createPinterest(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('pinterest: PINTEREST_APP_ID and PINTEREST_APP_SECRET are required');
  const urls = deps.settings.baseUrls;
  const api = pinterestApi(deps.http, urls.api ?? PINTEREST_API_URL);
  const oauth = pinterestOAuth(api, urls.auth ?? 'https://www.pinterest.com', { clientId, clientSecret });
  const sent = new SentPosts<SentPin>('pinterest', deps.journal);
  const posts = pinterestPosts(api, sent, VIDEO_POLL);
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    async identities(tokens): Promise<ConnectedIdentity[]> {
      // https://developers.pinterest.com/docs/api/v5/user_account-get
      const me = await api.get<{ id?: unknown; username?: unknown; business_name?: unknown; profile_image?: unknown; account_type?: unknown }>(tokens.accessToken, '/user_account', 'profile');
      if (typeof me.username !== 'string' || me.username === '') throw new ProviderError('transient', 'Pinterest: the user account answered without a username', { provider: 'pinterest', reason: 'malformed_response' });
      const avatar = typeof me.profile_image === 'string' && /^https:\/\//.test(me.profile_image) ? me.profile_image : undefined;
      return [{
        externalId: typeof me.id === 'string' && me.id !== '' ? me.id : me.username, kind: me.account_type === 'BUSINESS' ? 'organization' : 'person',
        username: me.username, displayName: typeof me.business_name === 'string' && me.business_name ? me.business_name : me.username,
        profileUrl: `https://www.pinterest.com/${encodeURIComponent(me.username)}/`, ...(avatar ? { avatarUrl: avatar } : {}),
        data: { ...(typeof me.account_type === 'string' ? { accountType: me.account_type } : {}) },
      }];
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, posts.mediaStatus, sent, account, marker, since),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account, req) => posts.accountMetrics(account, req),
  };
}
