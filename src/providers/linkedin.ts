// LinkedIn adapter: members and the organisation Pages they administer.
// Documentation (the facts used, each with its page, are in docs/NETWORKS.md, Network facts: LinkedIn):
//   OAuth 2.0          https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
//   Refresh tokens     https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
//   Member profile     https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2 (GET /v2/userinfo)
//   Organisation ACLs  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role
//   Posts API          https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
//   Images / Videos    https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
//                      https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api
//   Comments           https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api
//   Reactions          https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/reactions-api
//   Little Text Format https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
//   Org share stats    https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics
//   Rate limits        https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
//
// Every /rest call carries LinkedIn-Version (pinned in LINKEDIN_VERSION, monthly, sunset after about a year)
// and X-Restli-Protocol-Version: 2.0.0. An account is an author URN: urn:li:person:{sub} for the member,
// urn:li:organization:{id} for a Page; that URN is the identity's externalId.
//
// Finding a post again after an unknown outcome: LinkedIn has no idempotency key. Before sending, the adapter
// writes down what it sends under the marker in the send journal; for a Page it then finds the post among the
// Page's posts; for a member that is not possible (a restricted scope), and LinkedIn's duplicate check is what
// makes a retry safe (linkedin/reconcile.ts says how).
//
// This file is the network's entry point: its metadata and createLinkedIn, which puts the parts in linkedin/
// together. Each part does one job:
//   api.ts          calls to LinkedIn (versioned /rest headers, upload headers) and the post link
//   errors.ts       LinkedIn's error answers as ProviderError kinds (quotas, retired version, duplicates)
//   oauth.ts        authorisation URL, code exchange, refresh, revocation
//   identities.ts   the member and the Pages the member may post as
//   media.ts        image and video uploads, and the wait until LinkedIn has processed them
//   little-text.ts  commentary in Little Text Format
//   posts.ts        publishing a post or a comment, and a Page post's counts
//   attempts.ts     what was sent under each marker (the send journal)
//   reconcile.ts    finding a post again after an unknown outcome
//   inbox.ts        a Page's comments for the inbox; answering, liking and deleting them
import type { Provider, ProviderDeps, ProviderMetadata } from './types.ts';
import { COMMENTS, RECENT_DAYS, collectComments, commentState, deleteComment, findCommentReply, react, replyToComment } from './linkedin/inbox.ts';
import { linkedInApi } from './linkedin/api.ts';
import { linkedInAttempts } from './linkedin/attempts.ts';
import { linkedInIdentities } from './linkedin/identities.ts';
import { linkedInOAuth } from './linkedin/oauth.ts';
import { postStatistics, publishPost } from './linkedin/posts.ts';
import { findByMarker } from './linkedin/reconcile.ts';

export { duplicateOf, linkedInError, untilUtcMidnight } from './linkedin/errors.ts';
export { littleText } from './linkedin/little-text.ts';
export { LINKEDIN_SCOPES } from './linkedin/oauth.ts';

const MB = 1024 * 1024;

const meta: ProviderMetadata = {
  id: 'linkedin',
  displayName: 'LinkedIn',
  docsUrl: 'https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: false,
  inbox: {
    sources: [{
      id: COMMENTS, collects: ['comments', 'replies'],
      description: `GET /rest/posts?q=author of the last ${RECENT_DAYS} days, then GET /rest/socialActions/{post}/comments and, under a comment with replies, /rest/socialActions/{comment}/comments `
        + '(https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api): comments and replies under the Page\'s posts; polled (r_organization_social). '
        + 'Mentions of the Page elsewhere are not collected.',
    }],
    // Answered as the Page (a nested comment), liked (a LIKE reaction) and, the Page's own, deleted; LinkedIn's API hides no comment.
    actions: ['reply', 'like', 'unlike', 'delete'],
    deletes: 'own',
    accountKinds: ['organization'],
    notCollected: 'a member\'s comments (reading them needs r_member_social, which LinkedIn grants to select developers only); '
      + 'mentions of the Page in others\' posts; comments under posts older than 14 days; deletions after collection; hiding (the API has none).',
  },
  limits: {
    // 3,000 and its unit are not in LinkedIn's reference (UNCONFIRMED): UTF-16 length never under-counts.
    textCounting: 'utf16', maxTextLength: 3000, threads: false, firstComment: true,
    media: {
      // 1-20 images, or 1 video; no mixing. LinkedIn documents images only in pixels (< 36,152,320);
      // 5 MB is the cap third-party schedulers apply (UNCONFIRMED). Video: MP4, 75 KB-500 MB, 3 s-30 min.
      maxCount: 20, imageTypes: ['image/jpeg', 'image/png', 'image/gif'], videoTypes: ['video/mp4'],
      maxImageBytes: 5 * MB, maxVideoBytes: 500 * MB, maxVideoSeconds: 1800, mixing: false, required: false,
    },
  },
};

export function createLinkedIn(deps: ProviderDeps): Provider {
  const { clientId, clientSecret } = deps.settings;
  const version = deps.settings.baseUrls.version;
  if (!clientId || !clientSecret) throw new Error('linkedin: LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET are required');
  if (!version || !/^\d{6}(\.\d{2})?$/.test(version)) throw new Error('linkedin: LINKEDIN_VERSION must be YYYYMM');
  const api = linkedInApi(deps, version);
  const oauth = linkedInOAuth(deps, clientId, clientSecret);
  const attempts = linkedInAttempts(deps.journal);

  return {
    meta,
    async authorizationUrl(req) {
      return oauth.authorizationUrl(req);
    },
    exchangeCode: (req) => oauth.exchangeCode(req),
    refresh: (account) => oauth.refresh(account),
    revoke: (account) => oauth.revoke(account),
    identities: (tokens) => linkedInIdentities(api, tokens),
    publish: (account, post) => publishPost(api, attempts, account, post),
    findByMarker: (account, marker, since) => findByMarker(api, attempts, account, marker, since),
    metrics: (account, remoteId) => postStatistics(api, account, remoteId),
    collectInbox: (account, req) => collectComments(api, account, req),
    reply: (account, req) => replyToComment(api, attempts, account, req),
    findReply: (account, req) => findCommentReply(api, attempts, account, req),
    like: (account, req) => react(api, account, req, true),
    unlike: (account, req) => react(api, account, req, false),
    delete: (account, req) => deleteComment(api, account, req),
    messageState: (account, req) => commentState(api, account, req),
  };
}
