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
import type { Provider, ProviderDeps, ProviderMetadata } from './types.ts';
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
  };
}
