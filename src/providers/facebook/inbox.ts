// A Facebook Page's inbox: the comments (and replies to comments) under the Page's recent posts, collected by
// polling, and what the Page can do to one. Documentation:
//   https://developers.facebook.com/docs/graph-api/reference/page-post/comments/   (filter stream|toplevel, order
//                                        chronological|reverse_chronological; comment ids need the MODERATE task)
//   https://developers.facebook.com/docs/graph-api/reference/comment/              (the Comment node)
//   https://developers.facebook.com/docs/graph-api/reference/comment/likes/        (likes of a comment)
//   https://developers.facebook.com/documentation/pages-api/comments-mentions      (commenting as the Page)
//   https://developers.facebook.com/docs/pages-api/posts                           (published_posts)
// Graph has no change feed of a Page's comments for polling, so one source ("comments") sweeps the Page's posts
// of the last RECENT_DAYS, newest first, a few posts per page, and reads each post's comments (filter=stream:
// replies too) newest first down to where the previous sweep had read, with an overlap so that a comment edited
// or hidden shortly after it was read is read again. A deleted comment is simply no longer listed (Meta's
// webhooks tell of a deletion: webhooks.ts). Comments carry no edit time (UNCONFIRMED: none on the Comment
// node's field list as read), so an edit arrives as a new text and the latest arrival wins.
import { type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState } from '../types.ts';
import { malformed } from '../errors.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { isGone, parseSweepCursor, type Paged, type SweepCursor } from '../meta-graph/sweep.ts';

export const COMMENTS = 'comments';
/** How far back the Page's posts are swept for comments. */
export const RECENT_DAYS = 14;
/** Posts per page of the sweep. */
const POSTS_PER_PAGE = 10;
/** Comments per read of one post (Graph's list limit is at most 100). */
const COMMENTS_PER_READ = 100;
/** Reads of one post's comments per page at most, so one very busy post cannot hold a job forever. */
const MAX_READS_PER_POST = 10;
/** Comments this much older than the previous sweep's start are read again (edits, hiding, late arrivals). */
const OVERLAP_SECONDS = 3600;
const COMMENT_FIELDS = 'id,message,created_time,from,parent{id},is_hidden,permalink_url';


interface GPost { id?: unknown; message?: unknown; created_time?: unknown; permalink_url?: unknown }
interface GComment {
  id?: unknown; message?: unknown; created_time?: unknown; permalink_url?: unknown; is_hidden?: unknown;
  from?: { id?: unknown; name?: unknown }; parent?: { id?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const nextAfter = (r: Paged<unknown>): string | undefined => (r.paging?.next ? str(r.paging.cursors?.after) : undefined);



export async function collectComments(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== COMMENTS) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  const pageId = account.externalId;
  const token = account.tokens.accessToken;
  const cur = parseSweepCursor(req.cursor);
  const sweepStart = cur.s ?? Math.floor(now / 1000);
  const posts = await g.get<Paged<GPost>>('inbox', `${pageId}/published_posts`, token, {
    fields: 'id,message,created_time,permalink_url', since: sweepStart - RECENT_DAYS * 86_400, limit: POSTS_PER_PAGE, ...(cur.a ? { after: cur.a } : {}),
  });
  const readDownTo = cur.w > 0 ? cur.w - OVERLAP_SECONDS : 0;
  const items: InboxItem[] = [];
  for (const p of dataOf(g.provider, 'inbox', posts)) {
    const postId = need(g.provider, 'inbox', false, p.id);
    const root = {
      remoteId: postId, authorRemoteId: pageId, authorHandle: account.username,
      ...(str(p.permalink_url) ? { url: str(p.permalink_url)! } : {}), ...(typeof p.message === 'string' ? { text: p.message } : {}),
      ...(Number.isFinite(parseGraphTime(p.created_time)) ? { createdAt: new Date(parseGraphTime(p.created_time)) } : {}),
    };
    let after: string | undefined;
    for (let read = 0; read < MAX_READS_PER_POST; read++) {
      const r = await g.get<Paged<GComment>>('inbox_comments', `${postId}/comments`, token, {
        filter: 'stream', order: 'reverse_chronological', fields: COMMENT_FIELDS, limit: COMMENTS_PER_READ, ...(after ? { after } : {}),
      });
      let older = false;
      for (const c of dataOf(g.provider, 'inbox_comments', r)) {
        const item = toItem(g.provider, c, postId, root);
        if (item.createdAt.getTime() / 1000 < readDownTo) {
          older = true;
          break;
        }
        items.push(item);
      }
      after = nextAfter(r);
      if (older || !after) break;
    }
  }
  // Oldest first, as the other sources give them (a reply then finds its parent stored before it).
  items.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const a = nextAfter(posts);
  if (a) return { items, cursor: JSON.stringify({ w: cur.w, s: sweepStart, a } satisfies SweepCursor), more: true };
  // The sweep is over: the next one reads down to this one's start (less the overlap), at the next poll.
  return { items, cursor: JSON.stringify({ w: sweepStart } satisfies SweepCursor), more: false };
}

function toItem(provider: string, c: GComment, postId: string, root: InboxItem['root']): InboxItem {
  const id = need(provider, 'inbox_comments', false, c.id);
  const created = parseGraphTime(c.created_time);
  if (!Number.isFinite(created)) throw malformed(provider, 'inbox_comments', false);
  const parent = str(c.parent?.id);
  const from = str(c.from?.id);
  return {
    remoteId: id, kind: 'comment', rootRemoteId: postId, ...(parent && parent !== postId ? { parentRemoteId: parent } : {}),
    // `from` is given to a Page token for comments on the Page's own posts (Comment node, permissions); absent,
    // the author is not known to the Page.
    author: from ? { remoteId: from, handle: str(c.from?.name) ?? from, ...(str(c.from?.name) ? { name: str(c.from?.name)! } : {}) } : { remoteId: 'unknown', handle: 'Facebook user' },
    text: typeof c.message === 'string' ? c.message : '', ...(str(c.permalink_url) ? { url: str(c.permalink_url)! } : {}),
    createdAt: new Date(created), hidden: c.is_hidden === true, ...(root ? { root } : {}),
  };
}

/** Hides or shows a comment under the Page's post: POST /{comment-id} is_hidden (Comment node, Updating). */
export async function setHidden(g: GraphApi, account: AccountRef, req: MessageActionRequest, hidden: boolean): Promise<void> {
  await g.call({ operation: hidden ? 'hide' : 'unhide', method: 'POST', url: g.url(req.remoteId), token: account.tokens.accessToken, params: { is_hidden: hidden }, creates: true });
}

/** Likes or unlikes a comment as the Page: POST or DELETE /{comment-id}/likes (Comment Likes). */
export async function setLiked(g: GraphApi, account: AccountRef, req: MessageActionRequest, liked: boolean): Promise<void> {
  await g.call({ operation: liked ? 'like' : 'unlike', method: liked ? 'POST' : 'DELETE', url: g.url(`${req.remoteId}/likes`), token: account.tokens.accessToken, creates: true });
}

/** Deletes a comment (the Page's own, or anyone's under the Page's posts): DELETE /{comment-id}. One already gone counts as deleted. */
export async function deleteComment(g: GraphApi, account: AccountRef, req: MessageActionRequest): Promise<void> {
  try {
    await g.call({ operation: 'delete_comment', method: 'DELETE', url: g.url(req.remoteId), token: account.tokens.accessToken, creates: true });
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** The comment as the Page sees it: GET /{comment-id}?fields=is_hidden,user_likes (UNCONFIRMED: user_likes on the Comment node). */
export async function commentState(g: GraphApi, account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
  try {
    const c = await g.get<{ id?: unknown; is_hidden?: unknown; user_likes?: unknown }>('comment_state', req.remoteId, account.tokens.accessToken, { fields: 'id,is_hidden,user_likes' });
    need(g.provider, 'comment_state', false, c.id);
    return { deleted: false, ...(typeof c.is_hidden === 'boolean' ? { hidden: c.is_hidden } : {}), ...(typeof c.user_likes === 'boolean' ? { likedByMe: c.user_likes } : {}) };
  } catch (err) {
    if (isGone(err)) return { deleted: true };
    throw err;
  }
}
