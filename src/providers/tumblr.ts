// Tumblr, through the Tumblr API v2 with OAuth 2.0 and the Neue Post Format. Documentation (the facts used, each with
// its page and status, are in docs/NETWORKS.md, Network facts: Tumblr):
//   API reference           https://www.tumblr.com/docs/en/api/v2 (source: https://github.com/tumblr/docs/blob/master/api.md)
//   OAuth 2.0               https://www.tumblr.com/docs/en/api/v2#oauth2-authorization
//   Create a post (NPF)     https://www.tumblr.com/docs/en/api/v2#posts---createreblog-a-post-neue-post-format
//   NPF specification       https://www.tumblr.com/docs/npf (source: https://github.com/tumblr/docs/blob/master/npf-spec.md)
//   Rate limits             https://www.tumblr.com/docs/en/api/v2#rate-limits
//
// An AllIN account is one Tumblr user; each post names the blog it goes to (the `blog` option, else the user's primary
// blog). Why not a blog per account: a user's blogs share one grant whose refresh token rotates at every refresh, so
// several accounts holding it would kill each other's refresh token; and Tumblr's daily posting limit (250) is per
// user, which is what AllIN's posting budget counts.
//
// This file is the network's entry point: its metadata and createTumblr, which puts the parts in tumblr/ together:
//   api.ts         API calls (Bearer token, {meta, response} answers) and Tumblr's errors as ProviderError kinds
//   oauth.ts       authorisation URL, code exchange and refresh (client id and secret in the body, rotating refresh tokens)
//   options.ts     blog, state, publishOn, tags, link, quote; text and media rules (pure: the web app runs it too)
//   posts.ts       the blog, NPF content blocks, the multipart upload, figures
//   reconcile.ts   the send journal and the blog's posts of the state sent, matched by what was sent
import { tumblrApi, TUMBLR_API_URL } from './tumblr/api.ts';
import { tumblrOAuth } from './tumblr/oauth.ts';
import { IMAGE_TYPES, MAX_IMAGE_BYTES, MAX_IMAGES, MAX_TEXT, MAX_VIDEO_BYTES, MAX_VIDEO_SECONDS, VIDEO_TYPES } from './tumblr/options.ts';
import { tumblrPosts, userInfo } from './tumblr/posts.ts';
import { findByMarker, type SentTumblrPost } from './tumblr/reconcile.ts';
import { SentPosts } from './sent-posts.ts';
import { ProviderError, type ConnectedIdentity, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { TUMBLR_SCOPES } from './tumblr/oauth.ts';
export { tumblrOptionProblems, tumblrTextProblems, tumblrMediaProblems, tumblrEmptyProblems, TUMBLR_OPTION_KEYS, TUMBLR_STATES, type TumblrOptions } from './tumblr/options.ts';

const meta: ProviderMetadata = {
  id: 'tumblr',
  displayName: 'Tumblr',
  docsUrl: 'https://www.tumblr.com/docs/en/api/v2#posts---createreblog-a-post-neue-post-format',
  connect: 'oauth2',
  // The refresh grant answers "a new OAuth2 access token and refresh token".
  refreshTokenRotates: true,
  // The reference documents no revocation endpoint.
  supportsRevocation: false,
  userSuppliedHost: false,
  limits: {
    textCounting: 'unicode', maxTextLength: MAX_TEXT, threads: false, firstComment: false,
    media: {
      maxCount: MAX_IMAGES + 1, imageTypes: IMAGE_TYPES, videoTypes: VIDEO_TYPES, maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: MAX_VIDEO_BYTES,
      maxVideoSeconds: MAX_VIDEO_SECONDS, mixing: true, required: false,
    },
  },
  accountMetrics: { fields: ['followers', 'following', 'posts'], historyDays: 0, docs: 'https://www.tumblr.com/docs/en/api/v2#followers--retrieve-a-blogs-followers' },
};

export function createTumblr(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('tumblr: TUMBLR_CLIENT_ID and TUMBLR_CLIENT_SECRET are required');
  const urls = deps.settings.baseUrls;
  const api = tumblrApi(deps.http, urls.api ?? TUMBLR_API_URL);
  const oauth = tumblrOAuth(api, urls.auth ?? 'https://www.tumblr.com', { clientId, clientSecret });
  const sent = new SentPosts<SentTumblrPost>('tumblr', deps.journal);
  const posts = tumblrPosts(api, sent);
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    async identities(tokens): Promise<ConnectedIdentity[]> {
      // https://www.tumblr.com/docs/en/api/v2#userinfo--get-a-users-information
      const user = await userInfo(api, tokens.accessToken, 'profile');
      const primary = user.blogs.find((b) => b.primary) ?? user.blogs[0];
      if (!primary) throw new ProviderError('permanent', 'Tumblr: the user has no blog to post to; make one on Tumblr first', { provider: 'tumblr', reason: 'no_blog' });
      const url = primary.url && /^https:\/\//.test(primary.url) ? primary.url : `https://${primary.name}.tumblr.com/`;
      return [{
        externalId: primary.uuid ?? primary.name, kind: 'person', username: user.name, displayName: primary.title || user.name, profileUrl: url,
        avatarUrl: `https://api.tumblr.com/v2/blog/${encodeURIComponent(primary.name)}/avatar/128`,
        data: { primaryBlog: primary.name, blogs: user.blogs.map((b) => b.name).slice(0, 50) },
      }];
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, sent, account, marker, since),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account) => posts.accountMetrics(account),
  };
}
