// A Threads profile's inbox: the replies (at every depth) under its recent posts, collected by polling, and
// hiding a top-level reply. Documentation:
//   https://developers.facebook.com/documentation/threads/reference/reply-management  (GET /{threads-media-id}/replies:
//     top-level replies; GET /{threads-media-id}/conversation: "a paginated and flattened list of all top-level and nested
//     replies"; `reverse` "Sorts replies in reverse chronological order. Values: true (default), false"; fields replied_to,
//     root_post, hide_status, is_reply_owned_by_me, username, text, timestamp, permalink)
//   https://developers.facebook.com/documentation/threads/reply-management  (POST /{threads-reply-id}/manage_reply hide=true|false:
//     top-level replies only, which hides or shows their nested replies too)
// One source ("replies") sweeps the profile's posts of the last RECENT_DAYS, newest first, a few per page, and
// reads each post's conversation newest first down to the previous sweep's start less an overlap. Threads gives
// a reply's author as a username only (no user id): the username is the author's id here, and the profile's
// own replies (is_reply_owned_by_me) carry the profile's id, so they are stored as its own.
import { type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState } from '../types.ts';
import { malformed } from '../errors.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { isGone, parseSweepCursor, type Paged, type SweepCursor } from '../meta-graph/sweep.ts';

export const REPLIES = 'replies';
export const RECENT_DAYS = 14;
const POSTS_PER_PAGE = 10;
const REPLIES_PER_READ = 100;
const MAX_READS_PER_POST = 10;
const OVERLAP_SECONDS = 3600;
const REPLY_FIELDS = 'id,text,username,permalink,timestamp,replied_to,root_post,hide_status,is_reply_owned_by_me';

interface GPost { id?: unknown; text?: unknown; permalink?: unknown; timestamp?: unknown }
interface GReply {
  id?: unknown; text?: unknown; username?: unknown; permalink?: unknown; timestamp?: unknown; hide_status?: unknown; is_reply_owned_by_me?: unknown;
  replied_to?: { id?: unknown }; root_post?: { id?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const nextAfter = (r: Paged<unknown>): string | undefined => (r.paging?.next ? str(r.paging.cursors?.after) : undefined);



export async function collectReplies(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== REPLIES) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  const token = account.tokens.accessToken;
  const cur = parseSweepCursor(req.cursor);
  const sweepStart = cur.s ?? Math.floor(now / 1000);
  const posts = await g.get<Paged<GPost>>('inbox', `${account.externalId}/threads`, token, {
    fields: 'id,text,permalink,timestamp', since: sweepStart - RECENT_DAYS * 86_400, limit: POSTS_PER_PAGE, ...(cur.a ? { after: cur.a } : {}),
  });
  const readDownTo = cur.w > 0 ? (cur.w - OVERLAP_SECONDS) * 1000 : 0;
  const items: InboxItem[] = [];
  for (const p of dataOf(g.provider, 'inbox', posts)) {
    const postId = need(g.provider, 'inbox', false, p.id);
    const at = parseGraphTime(p.timestamp);
    const root = {
      remoteId: postId, authorRemoteId: account.externalId, authorHandle: account.username,
      ...(str(p.permalink) ? { url: str(p.permalink)! } : {}), ...(typeof p.text === 'string' ? { text: p.text } : {}),
      ...(Number.isFinite(at) ? { createdAt: new Date(at) } : {}),
    };
    let after: string | undefined;
    for (let read = 0; read < MAX_READS_PER_POST; read++) {
      const r = await g.get<Paged<GReply>>('inbox_replies', `${postId}/conversation`, token, { fields: REPLY_FIELDS, reverse: true, limit: REPLIES_PER_READ, ...(after ? { after } : {}) });
      let older = false;
      for (const x of dataOf(g.provider, 'inbox_replies', r)) {
        const item = toItem(g.provider, account, x, postId, root);
        if (item.createdAt.getTime() < readDownTo) {
          older = true;
          break;
        }
        items.push(item);
      }
      after = nextAfter(r);
      if (older || !after) break;
    }
  }
  items.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const a = nextAfter(posts);
  if (a) return { items, cursor: JSON.stringify({ w: cur.w, s: sweepStart, a } satisfies SweepCursor), more: true };
  return { items, cursor: JSON.stringify({ w: sweepStart } satisfies SweepCursor), more: false };
}

function toItem(provider: string, account: AccountRef, x: GReply, postId: string, root: InboxItem['root']): InboxItem {
  const id = need(provider, 'inbox_replies', false, x.id);
  const created = parseGraphTime(x.timestamp);
  if (!Number.isFinite(created)) throw malformed(provider, 'inbox_replies', false);
  const parent = str(x.replied_to?.id);
  const username = str(x.username);
  const mine = x.is_reply_owned_by_me === true;
  return {
    remoteId: id, kind: 'comment', rootRemoteId: str(x.root_post?.id) ?? postId, ...(parent && parent !== postId ? { parentRemoteId: parent } : {}),
    author: mine ? { remoteId: account.externalId, handle: account.username } : { remoteId: username ?? 'unknown', handle: username ?? 'Threads user' },
    text: typeof x.text === 'string' ? x.text : '', ...(str(x.permalink) ? { url: str(x.permalink)! } : {}),
    createdAt: new Date(created), hidden: x.hide_status === 'HIDDEN', ...(root ? { root } : {}),
  };
}

/** Hides or shows a top-level reply (and what is nested under it): POST /{threads-reply-id}/manage_reply. */
export async function setHidden(g: GraphApi, account: AccountRef, req: MessageActionRequest, hidden: boolean): Promise<void> {
  await g.call({ operation: hidden ? 'hide' : 'unhide', method: 'POST', url: g.url(`${req.remoteId}/manage_reply`), token: account.tokens.accessToken, params: { hide: hidden }, creates: true });
}

/** The reply as the profile sees it: GET /{threads-media-id}?fields=id,hide_status (HIDDEN: hidden). */
export async function replyState(g: GraphApi, account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
  try {
    const r = await g.get<{ id?: unknown; hide_status?: unknown }>('reply_state', req.remoteId, account.tokens.accessToken, { fields: 'id,hide_status' });
    need(g.provider, 'reply_state', false, r.id);
    return { deleted: false, ...(typeof r.hide_status === 'string' ? { hidden: r.hide_status === 'HIDDEN' } : {}) };
  } catch (err) {
    if (isGone(err)) return { deleted: true };
    throw err;
  }
}
