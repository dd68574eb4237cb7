// Collecting a Bluesky account's inbox (docs/NETWORKS.md, Network facts: Bluesky, "inbox"). Two sources:
//
// "notifications": app.bsky.notification.listNotifications
// (https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications) with reasons mention, reply and
// quote. The list runs newest first and its cursor goes to older ones, so a read is a sweep: from the newest
// page back until a notification older than the last sweep's newest (the mark), the pages between kept in the
// cursor, so a sweep cut by a 429 or a crash carries on where it stopped. Nothing is marked seen
// (app.bsky.notification.updateSeen would clear the unread badge in the person's own Bluesky app), and seenAt
// is not sent (it only changes isRead in the answer, which AllIN does not use).
//
// "threads": the reply tree under the account's newest posts. app.bsky.feed.getAuthorFeed
// (https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed, filter posts_no_replies) names them, and
// app.bsky.feed.getPostThread (https://docs.bsky.app/docs/api/app-bsky-feed-get-post-thread) reads the tree of
// each one that has replies, one post per page. A reply that was deleted while replies to it remain comes as
// notFoundPost and is collected as deleted; blockedPost (a block between the account and its author) is left
// out, with what hangs under it, since the AppView withholds it. A reply the account hid (the threadgate's
// hiddenReplies) is marked hidden; notifications do not say, so their items leave the stored state as it is.
//
// Both reach the AppView through the account's PDS with its session (app.bsky.* calls are proxied to the
// AppView: https://docs.bsky.app/docs/advanced-guides/api-directory), so an expired session is refused as on
// every call (ExpiredToken) and refreshed by the collector. A message's id is its at-uri (what duplicates
// collapse on: the cid of a record changes only if the record is rewritten); a conversation's root is the
// root's strong ref "at-uri|cid", the form publishing stores, so a thread under a post AllIN published is
// linked to it. Bluesky posts cannot be edited, so no item has editedAt; the language is the record's first
// `langs` tag.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import { POST, tidTime, toRemoteId, type StrongRef } from './records.ts';
import { xrpcBody, type Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';
export const NOTIFICATIONS = 'notifications';
export const THREADS = 'threads';
/** The notifications that are someone speaking to or about the account. */
const REASONS = ['mention', 'reply', 'quote'];
/** listNotifications' default page (its most is 100). */
const NOTIFICATIONS_PAGE = 50;
/** The newest posts of the account whose reply trees are read each sweep. */
export const POSTS_PER_SWEEP = 25;
/** Levels of replies read under a post (getPostThread's default is 6, its most 1,000). */
const THREAD_DEPTH = 12;

interface Author { did?: unknown; handle?: unknown; displayName?: unknown; avatar?: unknown }
interface PostRecord { $type?: unknown; text?: unknown; createdAt?: unknown; langs?: unknown; reply?: { root?: Ref; parent?: Ref } }
interface Ref { uri?: unknown; cid?: unknown }
interface Notification { uri?: unknown; cid?: unknown; author?: Author; reason?: unknown; record?: PostRecord; indexedAt?: unknown }
interface PostView { uri?: unknown; cid?: unknown; author?: Author; record?: PostRecord; replyCount?: unknown; indexedAt?: unknown }
interface ThreadNode { $type?: unknown; uri?: unknown; post?: PostView; replies?: ThreadNode[] }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const date = (v: unknown): Date | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? new Date(t) : undefined;
};
const didOf = (uri: string) => /^at:\/\/([^/]+)\//.exec(uri)?.[1];
const rkeyOf = (uri: string) => uri.slice(uri.lastIndexOf('/') + 1);
const strongRef = (r: Ref | undefined): StrongRef | undefined => (str(r?.uri) && str(r?.cid) ? { uri: str(r!.uri)!, cid: str(r!.cid)! } : undefined);

/**
 * Where a notifications sweep stands: the mark (the newest indexedAt of the last whole sweep, with the ids
 * indexed at that instant, already read) and, mid-sweep, where it goes on and the newest of this sweep.
 */
interface NotificationsCursor { mark: string | null; seen?: string[]; next?: string; top?: string; topSeen?: string[] }
/** Where a threads sweep stands: the posts whose trees are still to be read (absent: list the newest posts). */
interface ThreadsCursor { queue?: string[] }

function parseCursor<T>(raw: string | null): T | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' ? v as T : null;
  } catch {
    return null; // not one this adapter wrote: start over (duplicates collapse on the id)
  }
}

export interface BlueskyInbox {
  collect(account: AccountRef, req: InboxPageRequest): Promise<InboxPage>;
}

export function blueskyInbox(x: Xrpc, hosts: BlueskyHosts): BlueskyInbox {
  const get = (account: AccountRef, nsid: string, what: string, query: Record<string, string | string[] | undefined>) =>
    x.xrpcCall({ method: 'GET', base: hosts.pdsFor(account), nsid, what, token: account.tokens.accessToken, query });

  const author = (a: Author | undefined, fallbackDid: string): InboxItem['author'] => {
    const did = str(a?.did) ?? fallbackDid;
    return {
      remoteId: did, handle: str(a?.handle) ?? did,
      ...(str(a?.displayName) ? { name: str(a!.displayName)! } : {}), ...(str(a?.avatar) ? { avatarUrl: str(a!.avatar)! } : {}),
    };
  };

  const language = (r: PostRecord | undefined) => (Array.isArray(r?.langs) ? str(r!.langs[0]) : undefined);

  /** A post as an item: threaded by its record's reply refs, or the root of its own thread. */
  const itemOf = (me: string, uri: string, cid: string, a: Author | undefined, record: PostRecord | undefined, indexedAt: unknown): InboxItem | null => {
    const did = didOf(uri);
    const created = date(record?.createdAt) ?? date(indexedAt);
    if (!did || !created || typeof record?.text !== 'string') return null;
    const root = strongRef(record.reply?.root);
    const parent = strongRef(record.reply?.parent);
    const self = { uri, cid };
    const theRoot = root ?? self;
    const rootDid = didOf(theRoot.uri);
    const lang = language(record);
    const by = author(a, did);
    return {
      remoteId: uri,
      kind: rootDid === me || (parent && didOf(parent.uri) === me) ? 'comment' : 'mention',
      rootRemoteId: toRemoteId(theRoot),
      ...(parent && parent.uri !== theRoot.uri ? { parentRemoteId: parent.uri } : {}),
      author: by, text: record.text, url: hosts.postUrl(did, rkeyOf(uri)), ...(lang ? { language: lang } : {}), createdAt: created,
      root: root
        ? { remoteId: toRemoteId(root), url: hosts.postUrl(rootDid ?? did, rkeyOf(root.uri)), ...(rootDid ? { authorRemoteId: rootDid } : {}) }
        : { remoteId: toRemoteId(self), url: hosts.postUrl(did, rkeyOf(uri)), text: record.text, authorRemoteId: did, authorHandle: by.handle, createdAt: created },
    };
  };

  async function notifications(account: AccountRef, raw: string | null): Promise<InboxPage> {
    const me = account.externalId;
    const c = parseCursor<NotificationsCursor>(raw) ?? { mark: null };
    const res = await get(account, 'app.bsky.notification.listNotifications', 'inbox', { limit: String(NOTIFICATIONS_PAGE), reasons: REASONS, cursor: c.next });
    const body = x.read<{ notifications?: Notification[]; cursor?: unknown }>(res, 'inbox');
    if (!Array.isArray(body.notifications)) throw malformed(PROVIDER, 'inbox', false);
    const list = body.notifications;
    const items: InboxItem[] = [];
    let top = c.top;
    let topSeen = Array.isArray(c.topSeen) ? c.topSeen : [];
    const seen = new Set(Array.isArray(c.seen) ? c.seen : []);
    let reachedMark = false;
    for (const n of list) {
      const at = str(n.indexedAt);
      const uri = str(n.uri);
      const cid = str(n.cid);
      if (!at || !uri || !cid || !date(at)) throw malformed(PROVIDER, 'inbox', false);
      if (!top || at > top) {
        top = at;
        topSeen = [];
      }
      if (at === top && topSeen.length < 100 && !topSeen.includes(uri)) topSeen.push(uri);
      if (c.mark && at < c.mark) {
        reachedMark = true;
        continue;
      }
      // At the mark's own instant: new unless read already (others may have been indexed in the same instant).
      if (c.mark && at === c.mark && seen.has(uri)) continue;
      // An AppView that ignores `reasons` still sends likes and follows: only posts are messages.
      if (!REASONS.includes(String(n.reason)) || n.record?.$type !== POST) continue;
      const item = itemOf(me, uri, cid, n.author, n.record, at);
      if (!item) throw malformed(PROVIDER, 'inbox', false);
      items.push(item);
    }
    const next = str(body.cursor);
    // A first read (no mark) takes the newest page only: what came before AllIN is history, not news.
    const done = reachedMark || !next || list.length === 0 || c.mark === null;
    items.reverse(); // oldest first, as the other networks give them
    if (done) {
      // An account with no notification yet: everything later is new ("the beginning" as the mark).
      const moved = top !== undefined && (!c.mark || top > c.mark);
      const mark = moved ? top! : c.mark ?? new Date(0).toISOString();
      const marked = moved ? topSeen : top === c.mark ? [...new Set([...seen, ...topSeen])].slice(-100) : [...seen];
      return { items, cursor: JSON.stringify({ mark, ...(marked.length ? { seen: marked } : {}) } satisfies NotificationsCursor), more: false };
    }
    return { items, cursor: JSON.stringify({ mark: c.mark, ...(seen.size ? { seen: [...seen] } : {}), next, ...(top ? { top, topSeen } : {}) } satisfies NotificationsCursor), more: true };
  }

  async function threads(account: AccountRef, raw: string | null): Promise<InboxPage> {
    const me = account.externalId;
    const c = parseCursor<ThreadsCursor>(raw) ?? {};
    const queue = Array.isArray(c.queue) ? c.queue.filter((u): u is string => typeof u === 'string') : undefined;
    if (!queue) {
      const res = await get(account, 'app.bsky.feed.getAuthorFeed', 'inbox_posts', { actor: me, filter: 'posts_no_replies', limit: String(POSTS_PER_SWEEP) });
      const body = x.read<{ feed?: { post?: PostView; reason?: unknown }[] }>(res, 'inbox_posts');
      if (!Array.isArray(body.feed)) throw malformed(PROVIDER, 'inbox_posts', false);
      // The account's own posts with replies (a repost carries `reason` and is someone else's post).
      const withReplies = body.feed.filter((f) => !f.reason && str(f.post?.author?.did) === me && Number(f.post?.replyCount ?? 0) > 0)
        .map((f) => str(f.post?.uri)).filter((u): u is string => !!u);
      return { items: [], cursor: withReplies.length ? JSON.stringify({ queue: withReplies } satisfies ThreadsCursor) : null, more: withReplies.length > 0 };
    }
    const [uri, ...rest] = queue;
    const items = uri ? await thread(account, me, uri) : [];
    return { items, cursor: rest.length ? JSON.stringify({ queue: rest } satisfies ThreadsCursor) : null, more: rest.length > 0 };
  }

  async function thread(account: AccountRef, me: string, uri: string): Promise<InboxItem[]> {
    const res = await x.xrpcSend({
      method: 'GET', base: hosts.pdsFor(account), nsid: 'app.bsky.feed.getPostThread', what: 'inbox_thread', token: account.tokens.accessToken,
      query: { uri, depth: String(THREAD_DEPTH), parentHeight: '0' },
    });
    // The post was deleted since the feed listed it: nothing to read under it.
    if (res.status === 400 && xrpcBody(res).error === 'NotFound') return [];
    if (res.status < 200 || res.status >= 300) throw x.fail('inbox_thread', res);
    const body = x.read<{ thread?: ThreadNode; threadgate?: { record?: { hiddenReplies?: unknown } } }>(res, 'inbox_thread');
    // The thread's threadgate (getPostThread's `threadgate`, app.bsky.feed.defs#threadgateView) names the replies
    // its author hid; the tree still holds them (that they come in it is UNCONFIRMED for Bluesky's AppView).
    const gate = body.threadgate?.record?.hiddenReplies;
    const hiddenReplies = new Set(Array.isArray(gate) ? gate.filter((u): u is string => typeof u === 'string') : []);
    const top = body.thread;
    if (!top || typeof top !== 'object') throw malformed(PROVIDER, 'inbox_thread', false);
    if (top.$type !== 'app.bsky.feed.defs#threadViewPost') return []; // notFoundPost, blockedPost
    const rootPost = top.post;
    const rootUri = str(rootPost?.uri);
    const rootCid = str(rootPost?.cid);
    if (!rootUri || !rootCid) throw malformed(PROVIDER, 'inbox_thread', false);
    const rootRef = { uri: rootUri, cid: rootCid };
    const rootCreated = date(rootPost!.record?.createdAt) ?? date(rootPost!.indexedAt) ?? new Date();
    const root: InboxItem['root'] = {
      remoteId: toRemoteId(rootRef), url: hosts.postUrl(didOf(rootUri) ?? me, rkeyOf(rootUri)), text: typeof rootPost!.record?.text === 'string' ? rootPost!.record.text : '',
      authorRemoteId: str(rootPost!.author?.did) ?? didOf(rootUri) ?? me, ...(str(rootPost!.author?.handle) ? { authorHandle: str(rootPost!.author!.handle)! } : {}), createdAt: rootCreated,
    };
    const items: InboxItem[] = [];
    const walk = (node: ThreadNode, parentUri: string) => {
      for (const r of Array.isArray(node.replies) ? node.replies : []) {
        if (r.$type === 'app.bsky.feed.defs#threadViewPost') {
          const p = r.post;
          const id = str(p?.uri);
          const cid = str(p?.cid);
          if (!id || !cid) throw malformed(PROVIDER, 'inbox_thread', false);
          const item = itemOf(me, id, cid, p!.author, p!.record, p!.indexedAt);
          if (!item) throw malformed(PROVIDER, 'inbox_thread', false);
          // In the tree it was found in, whatever its record says (the tree is the AppView's own reading).
          item.kind = 'comment';
          item.hidden = hiddenReplies.has(id);
          item.rootRemoteId = root.remoteId;
          item.root = root;
          if (parentUri === rootUri) delete item.parentRemoteId;
          else item.parentRemoteId = parentUri;
          items.push(item);
          walk(r, id);
        } else if (r.$type === 'app.bsky.feed.defs#notFoundPost' && str(r.uri)) {
          // Deleted, with replies left under it: a deleted message, so those replies keep their parent.
          const id = str(r.uri)!;
          const did = didOf(id) ?? 'did:unknown';
          items.push({
            remoteId: id, kind: 'comment', rootRemoteId: root.remoteId, ...(parentUri === rootUri ? {} : { parentRemoteId: parentUri }),
            author: { remoteId: did, handle: did }, text: '', createdAt: new Date(tidTime(rkeyOf(id)) ?? rootCreated.getTime()), deleted: true, root,
          });
        }
        // blockedPost: withheld by the AppView (a block either way); left out with its replies.
      }
    };
    walk(top, rootUri);
    return items;
  }

  return {
    async collect(account, req) {
      if (req.source === NOTIFICATIONS) return notifications(account, req.cursor);
      if (req.source === THREADS) return threads(account, req.cursor);
      throw new ProviderError('permanent', `bluesky: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
    },
  };
}
