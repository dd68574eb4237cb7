// Reddit, through its OAuth API as a "web app". Documentation (the facts used, each with its page and status, are in
// docs/NETWORKS.md, Network facts: Reddit):
//   API reference     https://www.reddit.com/dev/api
//   OAuth2            https://github.com/reddit-archive/reddit/wiki/OAuth2
//   Data API rules    https://support.reddithelp.com/hc/en-us/articles/16160319875092-Reddit-Data-API-Wiki
//                     (User-Agent, the X-Ratelimit-* headers, 100 queries a minute per OAuth client id)
//
// An AllIN account is one Reddit user. Each post names its subreddit and title (options), and takes a link, one
// image, a flair, NSFW and spoiler; a first comment and thread parts are comments.
//
// This file is the network's entry point: its metadata and createReddit, which puts the parts in reddit/ together:
//   api.ts         calls to oauth.reddit.com (bearer token, User-Agent, forms with api_type=json), rate-limit headroom
//   errors.ts      HTTP errors, json.errors refusals and RATELIMIT as ProviderError kinds
//   oauth.ts       authorisation URL (duration=permanent), code exchange, refresh, revoke_token
//   options.ts     subreddit, title, url, flair, NSFW, spoiler (pure: the web app runs it too)
//   media.ts       the image upload (media asset lease, UNCONFIRMED flow)
//   posts.ts       requirements and flairs before posting, submit, comments, figures
//   reconcile.ts   the send journal and the account's own posts and comments, read back
import { redditApi, REDDIT_API_URL } from './reddit/api.ts';
import { IMAGE_TYPES, MAX_IMAGE_BYTES } from './reddit/media.ts';
import { redditOAuth } from './reddit/oauth.ts';
import { redditPosts } from './reddit/posts.ts';
import { findByMarker, type SentThing } from './reddit/reconcile.ts';
import { SentPosts } from './sent-posts.ts';
import { ProviderError, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { REDDIT_SCOPES } from './reddit/oauth.ts';
export { redditOptionProblems, REDDIT_OPTION_KEYS, type RedditOptions } from './reddit/options.ts';
export { resetWaitMs, waitInWords } from './reddit/errors.ts';

const meta: ProviderMetadata = {
  id: 'reddit',
  displayName: 'Reddit',
  docsUrl: 'https://www.reddit.com/dev/api#POST_api_submit',
  connect: 'oauth2',
  // The refresh token is kept and used again (UNCONFIRMED whether Reddit now sends a new one; one sent is kept).
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // A self post's text: 40,000 characters (UNCONFIRMED, Reddit's own limit); UTF-16 units never under-count.
    textCounting: 'utf16', maxTextLength: 40_000, threads: true, firstComment: true,
    media: { maxCount: 1, imageTypes: IMAGE_TYPES, videoTypes: [], maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: 0, mixing: false, required: false },
  },
  accountMetrics: { fields: ['followers'], historyDays: 0, docs: 'https://www.reddit.com/dev/api#GET_api_v1_me' },
};

export function createReddit(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId || !clientSecret) throw new Error('reddit: REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are required');
  // Reddit's form: <platform>:<app id>:<version> (by /u/<user>); the operator names the contact user.
  const userAgent = deps.settings.baseUrls.userAgent ?? `web:${clientId}:1.0 (AllIN)`;
  const api = redditApi(deps.http, deps.settings.baseUrls.api ?? REDDIT_API_URL, userAgent);
  const oauth = redditOAuth(api, deps.settings.baseUrls.auth ?? 'https://www.reddit.com', clientId, clientSecret, userAgent);
  const sent = new SentPosts<SentThing>('reddit', deps.journal);
  const posts = redditPosts(api, meta.limits, sent);
  return {
    meta,
    authorizationUrl: async (req) => oauth.authorizationUrl(req),
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    async identities(tokens) {
      const { body: me } = await api.get<{ id?: string; name?: string; icon_img?: string; subreddit?: { title?: string; display_name_prefixed?: string } }>(tokens.accessToken, '/api/v1/me?raw_json=1', 'profile');
      if (!me.id || !me.name) throw new ProviderError('transient', 'Reddit: /api/v1/me answered without the user', { provider: 'reddit', reason: 'malformed_response' });
      return [{
        externalId: `t2_${me.id}`, kind: 'person', username: `u/${me.name}`, displayName: me.subreddit?.title || me.name,
        profileUrl: `https://www.reddit.com/user/${encodeURIComponent(me.name)}`,
        ...(me.icon_img && /^https:\/\//.test(me.icon_img) ? { avatarUrl: me.icon_img } : {}),
        data: { name: me.name },
      }];
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(api, sent, account, marker, since),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account) => posts.accountMetrics(account),
  };
}
