// X (Twitter) API v2 adapter.
// Documentation (the facts used, each with its page, are in docs/NETWORKS.md, Network facts: X):
//   OAuth 2.0 + PKCE   https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
//                      https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
//   Profile            https://docs.x.com/x-api/users/get-my-user
//   Create post        https://docs.x.com/x-api/posts/create-post
//   Media upload       https://docs.x.com/x-api/media/introduction
//                      https://docs.x.com/x-api/media/quickstart/media-upload-chunked
//   User posts         https://docs.x.com/x-api/users/get-posts  (GET /2/users/{id}/tweets, for reconciliation)
//   Post lookup        https://docs.x.com/x-api/posts/get-post-by-id  (public_metrics)
//   Mentions           https://docs.x.com/x-api/posts/timelines/quickstart/user-mention-quickstart
//   Conversations      https://developer.x.com/en/docs/x-api/conversation-id  (recent search by conversation_id)
//   Likes              https://docs.x.com/x-api/posts/likes/quickstart/manage-likes
//   Hide replies       https://docs.x.com/x-api/posts/hide-replies/introduction
//   Access levels      https://docs.x.com/x-api/getting-started/about-x-api
//   Errors and limits  https://docs.x.com/x-api/fundamentals/response-codes-and-errors
//                      https://docs.x.com/x-api/fundamentals/rate-limits
//
// Finding a post again after an unknown outcome: X has no idempotency key and the text goes out exactly as
// written, so the adapter writes down what it sends under each marker in the send journal before sending,
// and matches the account's own timeline against it (x/reconcile.ts says how).
//
// This file is the network's entry point: its metadata and createX, which puts the parts in x/ together.
// Each part does one job:
//   api.ts          calls to the X API (base URL, bearer) and the post link
//   errors.ts       X's error answers as ProviderError kinds (rate-limit windows, duplicates, refused replies)
//   oauth.ts        authorisation URL (PKCE), code exchange, refresh, revocation
//   identities.ts   the user the token belongs to
//   media.ts        image, GIF and video uploads, and the wait while X processes them
//   posts.ts        publishing a post or a reply, and a post's counts
//   attempts.ts     what was sent under each marker (the send journal)
//   reconcile.ts    finding a post again after an unknown outcome
//   account.ts      the account's own counts (followers, following, posts)
//   inbox.ts        mentions and replies for the inbox; liking, hiding and deleting
import type { Provider, ProviderDeps, ProviderMetadata } from './types.ts';
import { MENTIONS, RECENT_DAYS, REPLIES, collectX, deletePost, postState, setHidden, setLike } from './x/inbox.ts';
import { xApi } from './x/api.ts';
import { accountCounts } from './x/account.ts';
import { xAttempts } from './x/attempts.ts';
import { xIdentities } from './x/identities.ts';
import { xOAuth } from './x/oauth.ts';
import { postFigures, publishPost } from './x/posts.ts';
import { findByMarker } from './x/reconcile.ts';

export { xError, xRetryAfterMs } from './x/errors.ts';
export { X_SCOPES } from './x/oauth.ts';
export { comparableText } from './x/reconcile.ts';

const MB = 1024 * 1024;

const meta: ProviderMetadata = {
  id: 'x',
  displayName: 'X',
  docsUrl: 'https://docs.x.com/x-api/posts/create-post',
  connect: 'oauth2',
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // twitter-text v3 weighted length; 25,000 for Premium is third-party only (UNCONFIRMED), so 280.
    textCounting: 'twitter', maxTextLength: 280, threads: true, firstComment: true,
    media: {
      // Up to 4 images, or 1 GIF, or 1 video. Animated GIFs may reach 15 MB; 5 MB is the still-image cap.
      maxCount: 4, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: 5 * MB, maxVideoBytes: 512 * MB, maxVideoSeconds: 140, mixing: false, required: false,
    },
  },
  inbox: {
    sources: [
      {
        id: MENTIONS, collects: ['mentions', 'replies'],
        description: 'GET /2/users/{id}/mentions (https://docs.x.com/x-api/posts/timelines/quickstart/user-mention-quickstart): posts that mention the account, replies to it included; '
          + 'polled with since_id, the most recent 800 at most; needs an access level that reads timelines.',
      },
      {
        id: REPLIES, collects: ['replies'],
        description: `GET /2/users/{id}/tweets of the last ${RECENT_DAYS} days, then GET /2/tweets/search/recent?query=conversation_id:… (https://developer.x.com/en/docs/x-api/conversation-id): `
          + 'every reply in the conversations the account\'s posts started, also those that do not name it; recent search needs Basic access or higher.',
      },
    ],
    // Likes (like.write), hiding replies under its own posts (tweet.moderate.write), deleting its own posts.
    actions: ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete'],
    deletes: 'own',
    notCollected: 'replies older than 7 days (recent search\'s window) and mentions past the newest 800; deletions after collection; whether a reply is hidden (not readable); '
      + 'anything at all on an access level without timelines or search (the source then says which level X requires).',
  },
  accountMetrics: { fields: ['followers', 'following', 'posts'], historyDays: 0, docs: 'https://docs.x.com/x-api/users/get-my-user' },
};

export function createX(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  if (!clientId) throw new Error('x: X_CLIENT_ID is required');
  const api = xApi(deps);
  const oauth = xOAuth(deps, api, clientId, clientSecret);
  const attempts = xAttempts(deps.journal);

  return {
    meta,
    async authorizationUrl(req) {
      return oauth.authorizationUrl(req);
    },
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    identities: (tokens) => xIdentities(api, tokens),
    publish: (account, post) => publishPost(api, attempts, account, post),
    findByMarker: (account, marker, since) => findByMarker(api, attempts, account, marker, since),
    metrics: (account, remoteId) => postFigures(api, account, remoteId),
    accountMetrics: (account) => accountCounts(api, account),
    collectInbox: (account, req) => collectX(api, account, req),
    // A reply is a post answering the message, sent and reconciled as every X post (send journal, own timeline).
    reply: (account, req) => publishPost(api, attempts, account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker }),
    findReply: (account, req) => findByMarker(api, attempts, account, req.marker, req.since),
    like: (account, req) => setLike(api, account, req, true),
    unlike: (account, req) => setLike(api, account, req, false),
    hide: (account, req) => setHidden(api, account, req, true),
    unhide: (account, req) => setHidden(api, account, req, false),
    delete: (account, req) => deletePost(api, account, req),
    messageState: (account, req) => postState(api, account, req),
  };
}
