// Collecting a Lemmy account's inbox: replies to its posts and comments (GET /api/v3/user/replies, source
// "replies") and comments that mention it (GET /api/v3/user/mention, source "mentions"), both with
// sort=New, unread_only=false and page numbers (https://join-lemmy.org/api/classes/LemmyHttp.html#getReplies,
// #getPersonMentions). Pages come newest first, so a sweep reads back from page 1 to the newest item of the
// previous sweep (the cursor), then starts from there next time; a first read takes the newest page only.
// Nothing is marked read: AllIN never calls mark_as_read, which would clear the person's own unread count.
import { ProviderError, type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest } from '../types.ts';
import { lemmyDate, PROVIDER, requireHost, type LemmyApi } from './api.ts';
import { commentRef, parentOf, postRef } from './posts.ts';

export const REPLIES = 'replies';
export const MENTIONS = 'mentions';
const PAGE_SIZE = 50;

interface Person { id?: unknown; name?: unknown; display_name?: unknown; avatar?: unknown; actor_id?: unknown }
interface View {
  comment_reply?: { id?: unknown }; person_mention?: { id?: unknown };
  comment?: { id?: unknown; content?: unknown; ap_id?: unknown; path?: unknown; published?: unknown; updated?: unknown; deleted?: unknown; removed?: unknown; language_id?: unknown };
  creator?: Person;
  post?: { id?: unknown; name?: unknown; ap_id?: unknown; creator_id?: unknown; published?: unknown };
}

/** Where a sweep is: the newest id of the last finished sweep, and while one runs, its page and newest id. */
interface Cursor { after: number; page?: number; top?: number }

const handleOf = (p: Person): string => {
  const name = typeof p.name === 'string' ? p.name : '';
  try {
    return typeof p.actor_id === 'string' ? `${name}@${new URL(p.actor_id).host}` : name;
  } catch {
    return name;
  }
};

export async function collectLemmyInbox(api: LemmyApi, account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
  if (req.source !== REPLIES && req.source !== MENTIONS) throw new ProviderError('permanent', `Lemmy: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
  const host = requireHost(account.host);
  let cursor: Cursor | null = null;
  if (req.cursor) {
    try {
      const c = JSON.parse(req.cursor) as Cursor;
      if (typeof c.after === 'number') cursor = c;
    } catch { /* an unreadable cursor starts again from the newest page */ }
  }
  const page = cursor?.page ?? 1;
  const path = req.source === REPLIES ? 'user/replies' : 'user/mention';
  const q = new URLSearchParams({ sort: 'New', page: String(page), limit: String(PAGE_SIZE), unread_only: 'false' });
  const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v3/${path}?${q.toString()}`, operation: req.source === REPLIES ? 'getReplies' : 'getPersonMentions', headers: api.bearer(account.tokens) });
  const body = api.read<{ replies?: View[]; mentions?: View[] }>(res, path);
  const list = (req.source === REPLIES ? body.replies : body.mentions) ?? [];
  if (!Array.isArray(list)) throw new ProviderError('transient', `Lemmy: ${path} answered without a list`, { provider: PROVIDER, reason: 'malformed_response' });

  const items: InboxItem[] = [];
  let top = cursor?.top ?? cursor?.after ?? 0;
  let reachedOld = false;
  for (const v of list) {
    const id = req.source === REPLIES ? v.comment_reply?.id : v.person_mention?.id;
    const c = v.comment;
    const post = v.post;
    if (typeof id !== 'number' || !c || typeof c.id !== 'number' || !post || typeof post.id !== 'number') continue;
    if (cursor && id <= cursor.after) { reachedOld = true; continue; }
    top = Math.max(top, id);
    const parent = parentOf(c.path);
    const deleted = c.deleted === true || c.removed === true;
    const createdAt = lemmyDate(c.published) ?? new Date(0);
    const edited = lemmyDate(c.updated);
    const creator = v.creator ?? {};
    items.push({
      remoteId: commentRef(post.id, c.id), kind: req.source === REPLIES ? 'comment' : 'mention', rootRemoteId: postRef(post.id),
      ...(parent !== undefined ? { parentRemoteId: commentRef(post.id, parent) } : {}),
      author: {
        remoteId: String(creator.id ?? ''), handle: handleOf(creator),
        ...(typeof creator.display_name === 'string' && creator.display_name ? { name: creator.display_name } : {}),
        ...(typeof creator.avatar === 'string' && creator.avatar.startsWith('https://') ? { avatarUrl: creator.avatar } : {}),
      },
      text: deleted ? '' : typeof c.content === 'string' ? c.content : '',
      ...(typeof c.ap_id === 'string' ? { url: c.ap_id } : {}), createdAt, ...(edited ? { editedAt: edited } : {}), ...(deleted ? { deleted: true } : {}),
      root: {
        remoteId: postRef(post.id), ...(typeof post.ap_id === 'string' ? { url: post.ap_id } : {}), ...(typeof post.name === 'string' ? { text: post.name } : {}),
        ...(post.creator_id !== undefined ? { authorRemoteId: String(post.creator_id) } : {}), ...(lemmyDate(post.published) ? { createdAt: lemmyDate(post.published)! } : {}),
      },
    });
  }
  // A first read takes the newest page; a later sweep goes on while every item of a full page is new.
  const more = cursor !== null && !reachedOld && list.length >= PAGE_SIZE;
  const next: Cursor = more ? { after: cursor!.after, page: page + 1, top } : { after: top };
  return { items: items.reverse(), cursor: JSON.stringify(next), more };
}
