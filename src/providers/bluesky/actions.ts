// Acting on a collected Bluesky post from the inbox. Every action writes a record in the account's own repository:
//   like / unlike  an app.bsky.feed.like record naming the post by a strong ref, and deleting it
//                  (https://docs.bsky.app/docs/tutorials/like-repost; lexicon app/bsky/feed/like.json)
//   hide / unhide  the reply's at-uri added to, or taken from, `hiddenReplies` of the thread's threadgate: an
//                  app.bsky.feed.threadgate record at the rkey of the root post, in the same repository, so only
//                  under the account's own posts (lexicon app/bsky/feed/threadgate.json: at most 300; `allow`
//                  absent means anyone may reply, so a threadgate made only to hide changes nobody's right to
//                  reply). Written with putRecord and swapRecord (https://docs.bsky.app/docs/api/com-atproto-repo-put-record),
//                  so a concurrent change of the threadgate in the Bluesky app is read again, not overwritten.
//   delete         the account's own post (com.atproto.repo.deleteRecord: "delete or ensure it doesn't exist")
// A like record is not idempotent (a second one is a second like), so `like` first looks for one: in the newest
// like records of the repository (the PDS is the truth, and a like written a moment ago is among them), then in
// the post's viewer.like from the AppView (an older like). messageState reads the same places back.
import { ProviderError, type AccountRef, type MessageActionRequest, type MessageState } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import { readPost } from './posts.ts';
import { parsePostId } from './records.ts';
import { xrpcBody, type RecordAnswer, type Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';
const LIKE = 'app.bsky.feed.like';
const THREADGATE = 'app.bsky.feed.threadgate';
/** The threadgate lexicon's maxLength of hiddenReplies. */
export const MAX_HIDDEN_REPLIES = 300;
/** How many of the newest like records are searched before asking the AppView (one listRecords page). */
const RECENT_LIKES = 100;

export interface BlueskyActions {
  like(account: AccountRef, req: MessageActionRequest): Promise<void>;
  unlike(account: AccountRef, req: MessageActionRequest): Promise<void>;
  hide(account: AccountRef, req: MessageActionRequest): Promise<void>;
  unhide(account: AccountRef, req: MessageActionRequest): Promise<void>;
  delete(account: AccountRef, req: MessageActionRequest): Promise<void>;
  state(account: AccountRef, req: MessageActionRequest): Promise<MessageState>;
}

type Threadgate = { cid: string; value: Record<string, unknown> } | null;

export function blueskyActions(x: Xrpc, hosts: BlueskyHosts): BlueskyActions {
  const refused = (message: string, reason: string) => new ProviderError('permanent', `bluesky: ${message}`, { provider: PROVIDER, reason });

  /** The rkey of the account's like of the post at `uri`, or null. */
  const likeOf = async (account: AccountRef, pds: string, uri: string): Promise<string | null> => {
    const res = await x.xrpcCall({
      method: 'GET', base: pds, nsid: 'com.atproto.repo.listRecords', what: 'list_likes',
      query: { repo: account.externalId, collection: LIKE, limit: String(RECENT_LIKES) },
    });
    const { records } = x.read<{ records?: { uri?: unknown; value?: { subject?: { uri?: unknown } } }[] }>(res, 'list_likes');
    const recent = (Array.isArray(records) ? records : []).find((r) => r.value?.subject?.uri === uri);
    if (recent && typeof recent.uri === 'string') return parsePostId(recent.uri).rkey;
    const view = await x.xrpcCall({ method: 'GET', base: pds, nsid: 'app.bsky.feed.getPosts', what: 'like_state', token: account.tokens.accessToken, query: { uris: [uri] } });
    const { posts } = x.read<{ posts?: { uri?: unknown; viewer?: { like?: unknown } }[] }>(view, 'like_state');
    const like = (Array.isArray(posts) ? posts : []).find((p) => p.uri === uri)?.viewer?.like;
    return typeof like === 'string' ? parsePostId(like).rkey : null;
  };

  /** The threadgate of the account's own post `root` (null when it has none). */
  const threadgateOf = async (account: AccountRef, pds: string, rootRkey: string): Promise<Threadgate> => {
    const res = await x.xrpcSend({ method: 'GET', base: pds, nsid: 'com.atproto.repo.getRecord', what: 'get_threadgate', query: { repo: account.externalId, collection: THREADGATE, rkey: rootRkey } });
    if (res.status === 400 && xrpcBody(res).error === 'RecordNotFound') return null;
    if (res.status < 200 || res.status >= 300) throw x.fail('get_threadgate', res);
    const r = x.read<RecordAnswer>(res, 'get_threadgate');
    return r.value && typeof r.value === 'object' && typeof r.cid === 'string' ? { cid: r.cid, value: r.value } : null;
  };
  const hiddenIn = (gate: Threadgate): string[] => (Array.isArray(gate?.value.hiddenReplies) ? gate.value.hiddenReplies.filter((u): u is string => typeof u === 'string') : []);

  /** The root of the message's thread, which must be the account's own post for hiding. */
  const ownRoot = (account: AccountRef, req: MessageActionRequest) => {
    const root = parsePostId(req.rootRemoteId);
    if (root.did !== account.externalId || root.collection !== 'app.bsky.feed.post') {
      throw refused('only replies under the account\'s own posts can be hidden (a threadgate belongs to the thread\'s root)', 'not_own_thread');
    }
    return root;
  };

  /** Adds or takes the reply out of the root's hiddenReplies; a threadgate changed meanwhile is read again. */
  const setHidden = async (account: AccountRef, req: MessageActionRequest, hidden: boolean): Promise<void> => {
    const pds = hosts.pdsFor(account);
    const root = ownRoot(account, req);
    const uri = parsePostId(req.remoteId).uri;
    for (let round = 0; ; round++) {
      const gate = await threadgateOf(account, pds, root.rkey);
      const now = hiddenIn(gate);
      if (now.includes(uri) === hidden) return;
      if (hidden && now.length >= MAX_HIDDEN_REPLIES) {
        throw refused(`this thread already hides ${MAX_HIDDEN_REPLIES} replies, the most Bluesky allows; show one again first`, 'hidden_replies_full');
      }
      const hiddenReplies = hidden ? [...now, uri] : now.filter((u) => u !== uri);
      const record = gate
        ? { ...gate.value, hiddenReplies }
        : { $type: THREADGATE, post: root.uri, createdAt: new Date().toISOString(), hiddenReplies };
      const res = await x.xrpcSend({
        method: 'POST', base: pds, nsid: 'com.atproto.repo.putRecord', what: hidden ? 'hide' : 'unhide', creates: true, token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: THREADGATE, rkey: root.rkey, record, swapRecord: gate ? gate.cid : null },
      });
      if (res.status >= 200 && res.status < 300) return;
      if (res.status === 400 && xrpcBody(res).error === 'InvalidSwap' && round < 2) continue;
      // A write the server may have made (5xx) is an unknown outcome; messageState settles it.
      throw x.fail(hidden ? 'hide' : 'unhide', res, true);
    }
  };

  return {
    async like(account, req) {
      const pds = hosts.pdsFor(account);
      const ref = parsePostId(req.remoteId);
      if (await likeOf(account, pds, ref.uri)) return;
      const post = await readPost(x, account, pds, ref);
      if (!post) throw refused('the post is gone', 'deleted');
      await x.xrpcCall({
        method: 'POST', base: pds, nsid: 'com.atproto.repo.createRecord', what: 'like', creates: true, token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: LIKE, record: { $type: LIKE, subject: { uri: ref.uri, cid: ref.cid || post.cid }, createdAt: new Date().toISOString() } },
      });
    },

    async unlike(account, req) {
      const pds = hosts.pdsFor(account);
      const rkey = await likeOf(account, pds, parsePostId(req.remoteId).uri);
      if (!rkey) return;
      await x.xrpcCall({
        method: 'POST', base: pds, nsid: 'com.atproto.repo.deleteRecord', what: 'unlike', token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: LIKE, rkey },
      });
    },

    hide: (account, req) => setHidden(account, req, true),
    unhide: (account, req) => setHidden(account, req, false),

    async delete(account, req) {
      const ref = parsePostId(req.remoteId);
      if (ref.did !== account.externalId) throw refused('only the account\'s own posts can be deleted', 'not_own_post');
      await x.xrpcCall({
        method: 'POST', base: hosts.pdsFor(account), nsid: 'com.atproto.repo.deleteRecord', what: 'delete', token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: ref.collection, rkey: ref.rkey },
      });
    },

    async state(account, req) {
      const pds = hosts.pdsFor(account);
      const ref = parsePostId(req.remoteId);
      if (!(await readPost(x, account, pds, ref))) return { deleted: true };
      const likedByMe = (await likeOf(account, pds, ref.uri)) !== null;
      const root = parsePostId(req.rootRemoteId);
      if (root.did !== account.externalId || root.uri === ref.uri) return { deleted: false, likedByMe };
      return { deleted: false, likedByMe, hidden: hiddenIn(await threadgateOf(account, pds, root.rkey)).includes(ref.uri) };
    },
  };
}
