// Lemmy, any instance, through its HTTP API v3. Documentation: https://join-lemmy.org/api/ (the LemmyHttp
// reference generated from lemmy-js-client: login, getSite, getCommunity, createPost, createComment, getPost,
// getComment, getPersonDetails, getReplies, getPersonMentions, logout, uploadImage) and
// https://join-lemmy.org/docs/contributors/04-api.html. The facts used here, each with its page and status,
// are in docs/NETWORKS.md (Network facts: Lemmy).
//
// A Lemmy "account" in AllIN is a person on an instance the user names (connect: login): the instance,
// the username and the password go to POST /api/v3/user/login once; only the JWT it answers is kept,
// encrypted like every token (the password is not stored). The instance is a host the user typed: every
// call goes through the private-address guard, the deadline and the size caps (`userSuppliedHost`).
//
// This file is the network's entry point: its metadata and createLemmy, which puts the parts together:
//   api.ts       the instance's base URL, the bearer JWT, Lemmy's {error} codes as ProviderError kinds
//   session.ts   login, the person (getSite), the check that stands for refresh, logout
//   options.ts   community, title, url, nsfw, checked on save and before sending
//   posts.ts     posts to a community, comments (first comment, thread parts), reconciliation, metrics
//   inbox.ts     replies and mentions
//   actions.ts   upvoting, taking the vote back and deleting its own comments from the inbox
// Answering from the inbox is a comment under the collected one (posts.ts, as thread parts are), found again
// after an unknown outcome as publishing finds one: what was sent, among the person's newest comments.
import { SentPosts } from './sent-posts.ts';
import { lemmyApi, PROVIDER } from './lemmy/api.ts';
import { lemmyActions } from './lemmy/actions.ts';
import { collectLemmyInbox, MENTIONS, REPLIES } from './lemmy/inbox.ts';
import { lemmyPosts, type SentLemmy } from './lemmy/posts.ts';
import { lemmySession } from './lemmy/session.ts';
import { ProviderError, type Provider, type ProviderDeps, type ProviderMetadata } from './types.ts';

export { lemmyOptionProblems, LEMMY_OPTION_KEYS } from './lemmy/options.ts';

const meta: ProviderMetadata = {
  id: 'lemmy',
  displayName: 'Lemmy',
  docsUrl: 'https://join-lemmy.org/api/',
  connect: 'login',
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: true,
  limits: {
    // Lemmy's own bounds are in its server code, not its API reference (UNCONFIRMED): 10,000 is the safe side.
    textCounting: 'unicode', maxTextLength: 10_000, threads: true, firstComment: true,
    media: {
      maxCount: 10, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: [],
      maxImageBytes: 10 * 1024 * 1024, maxVideoBytes: 0, mixing: false, required: false,
    },
  },
  inbox: {
    sources: [
      { id: REPLIES, collects: ['comments', 'replies'], description: 'Replies to the account\'s posts and comments (GET /api/v3/user/replies, https://join-lemmy.org/api/classes/LemmyHttp.html#getReplies), newest first, 50 a page' },
      { id: MENTIONS, collects: ['mentions'], description: 'Comments that mention the account (GET /api/v3/user/mention, https://join-lemmy.org/api/classes/LemmyHttp.html#getPersonMentions), newest first, 50 a page' },
    ],
    // A like is an upvote; only the account's own comments can be deleted; nothing can be hidden (lemmy/actions.ts).
    actions: ['reply', 'like', 'unlike', 'delete'],
    deletes: 'own',
  },
};

export function createLemmy(deps: ProviderDeps): Provider {
  const api = lemmyApi(deps);
  const session = lemmySession(api);
  const posts = lemmyPosts(api, meta.limits, new SentPosts<SentLemmy>(PROVIDER, deps.journal));
  const actions = lemmyActions(api);
  return {
    meta,
    signIn: (identifier, password, host) => session.signIn(identifier, password, host),
    refresh: (account) => session.refresh(account),
    revoke: (account) => session.revoke(account),
    identities: async () => {
      throw new ProviderError('permanent', 'Lemmy: the person is named at sign-in', { provider: PROVIDER, reason: 'sign_in_names_the_person' });
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker) => posts.findByMarker(account, marker),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    collectInbox: (account, req) => collectLemmyInbox(api, account, req),
    reply: (account, req) => posts.publish(account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker }),
    findReply: (account, req) => posts.findByMarker(account, req.marker),
    like: (account, req) => actions.like(account, req),
    unlike: (account, req) => actions.unlike(account, req),
    delete: (account, req) => actions.delete(account, req),
    messageState: (account, req) => actions.state(account, req),
  };
}
