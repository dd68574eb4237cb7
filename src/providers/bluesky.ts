// Bluesky (AT Protocol). Documentation: https://docs.bsky.app/docs/advanced-guides/posts (posts,
// facets, images, replies, website card embeds), https://docs.bsky.app/docs/api/com-atproto-server-create-session (sessions),
// https://atproto.com/specs/xrpc, https://atproto.com/specs/did (PDS discovery),
// https://docs.bsky.app/docs/advanced-guides/rate-limits. The facts used here, each with its page, are in
// docs/NETWORKS.md (Network facts: Bluesky, and How text is counted).
//
// XRPC is spoken directly over AllIN's HttpClient rather than through @atproto/api: its current
// releases require Node ≥ 22 (AllIN runs on Node 20), and it would send requests with its own fetch,
// past the HttpClient's timeouts, metrics and private-address guard.
//
// This file is the network's entry point: its metadata, the public types and helpers other code uses, and
// createBluesky, which puts the parts in bluesky/ together. Each part does one job:
//   hosts.ts       the configured servers (entryway, PLC directory, AppView, web) and server addresses as typed
//   xrpc.ts        XRPC calls and their error mapping
//   identity.ts    handles, DIDs and finding an account's PDS
//   session.ts     sign-in with an app password, session refresh and ending, session tokens
//   identities.ts  the account a session belongs to
//   facets.ts      rich text: links, mentions and hashtags as byte ranges
//   media.ts       image checks and blob uploads
//   posts.ts       publishing a post record, its counts, its deletion
//   records.ts     remote ids (at-uri|cid), TIDs and the marker field
//   reconcile.ts   finding a post again after an unknown outcome, by its marker
//   inbox.ts       collecting notifications (mentions, replies, quotes) and the reply trees under its posts
//   profile.ts     the account's own counts (followers, follows, posts)
//   actions.ts     liking, hiding (the root's threadgate) and deleting from the inbox, and reading that state back
// Answering from the inbox is a post whose reply refs name the thread's root and the parent
// (https://docs.bsky.app/docs/advanced-guides/posts#replies): `reply` publishes one under the parent (a
// collected message's id, its at-uri, whose cid is read with the record), the root read from the parent's
// own record, and `findReply` finds it by its marker. Both answer with the reply's at-uri, the id collected
// messages have, so the copy the next collection brings collapses with it.
import { blueskyActions } from './bluesky/actions.ts';
import { blueskyHosts } from './bluesky/hosts.ts';
import { blueskyIdentities } from './bluesky/identities.ts';
import { blueskyIdentity } from './bluesky/identity.ts';
import { MAX_IMAGE_BYTES } from './bluesky/media.ts';
import { blueskyPosts } from './bluesky/posts.ts';
import { NOTIFICATIONS, POSTS_PER_SWEEP, THREADS, blueskyInbox } from './bluesky/inbox.ts';
import { findByMarker } from './bluesky/reconcile.ts';
import { profileCounts } from './bluesky/profile.ts';
import { blueskySessions } from './bluesky/session.ts';
import { xrpcClient } from './bluesky/xrpc.ts';
import type { AccountRef, Provider, ProviderDeps, ProviderMetadata, PublishedPost } from './types.ts';

export { detectFacets, isHandle, type DetectedFacet, type Facet, type FacetFeature } from './bluesky/facets.ts';
export { MARKER_FIELD, markerHash, parseRemoteId, tidTime, toRemoteId, type StrongRef } from './bluesky/records.ts';

const meta: ProviderMetadata = {
  id: 'bluesky',
  displayName: 'Bluesky',
  docsUrl: 'https://docs.bsky.app/docs/advanced-guides/posts',
  connect: 'app_password',
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: true,
  limits: {
    // 300 graphemes and also 3,000 UTF-8 bytes (checked by publish; see blueskyTextProblem).
    textCounting: 'graphemes', maxTextLength: 300, threads: true, firstComment: true,
    media: {
      // Video goes through a separate video service this adapter does not use.
      maxCount: 4, imageTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'], videoTypes: [],
      maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: 0, mixing: false, required: false,
    },
  },
  inbox: {
    sources: [{
      id: NOTIFICATIONS, collects: ['comments', 'replies', 'mentions'],
      description: 'app.bsky.notification.listNotifications (https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications), reasons mention, reply and quote: '
        + 'posts that mention the account, reply to it or quote it, read newest first back to the last one read, pages of 50. Nothing is marked seen in the Bluesky app. '
        + 'Bluesky posts cannot be edited; a deletion after collection is seen only in a reply tree (threads).',
    }, {
      id: THREADS, collects: ['comments', 'replies'],
      description: `app.bsky.feed.getPostThread (https://docs.bsky.app/docs/api/app-bsky-feed-get-post-thread): the whole reply tree under each of the account's ${POSTS_PER_SWEEP} newest posts that have replies `
        + '(app.bsky.feed.getAuthorFeed), one post per call, replies to others included. A deleted reply that has replies under it is marked deleted; replies from accounts with a block either way are not shown by Bluesky.',
    }],
    // Likes are like records; hiding is the threadgate of the account's own post; only its own posts can be deleted (bluesky/actions.ts).
    actions: ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete'],
    deletes: 'own',
  },
  accountMetrics: { fields: ['followers', 'following', 'posts'], historyDays: 0, docs: 'https://docs.bsky.app/docs/api/app-bsky-actor-get-profile' },
};

export interface BlueskyProvider extends Provider {
  /** Deletes a post; a post that is already gone counts as deleted (deleteRecord is idempotent). */
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

export function createBluesky(deps: ProviderDeps): BlueskyProvider {
  const hosts = blueskyHosts(deps);
  const x = xrpcClient(deps.http, hosts.trusted);
  const identity = blueskyIdentity(x, hosts);
  const sessions = blueskySessions(x, hosts, identity);
  const posts = blueskyPosts(x, hosts, identity, meta.limits.media, deps.linkCards);
  const inbox = blueskyInbox(x, hosts);
  const actions = blueskyActions(x, hosts);
  /** A reply is named as collected messages are: by its at-uri. */
  const asMessage = (p: PublishedPost): PublishedPost => ({ ...p, remoteId: p.remoteId.split('|')[0]! });

  return {
    meta,
    signIn: (identifier, password, host) => sessions.signIn(identifier, password, host),
    refresh: (account) => sessions.refresh(account),
    revoke: (account) => sessions.revoke(account),
    identities: (tokens, host) => blueskyIdentities(x, hosts, identity, tokens, host),
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker, since) => findByMarker(x, hosts, account, marker, since),
    collectInbox: (account, req) => inbox.collect(account, req),
    reply: async (account, req) => asMessage(await posts.publish(account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker })),
    findReply: async (account, req) => {
      const found = await findByMarker(x, hosts, account, req.marker, req.since);
      return found ? asMessage(found) : null;
    },
    like: (account, req) => actions.like(account, req),
    unlike: (account, req) => actions.unlike(account, req),
    hide: (account, req) => actions.hide(account, req),
    unhide: (account, req) => actions.unhide(account, req),
    delete: (account, req) => actions.delete(account, req),
    messageState: (account, req) => actions.state(account, req),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    accountMetrics: (account) => profileCounts(x, hosts, account),
    deletePost: (account, remoteId) => posts.deletePost(account, remoteId),
  };
}
