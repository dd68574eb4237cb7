// An Instagram professional account's inbox: the comments under its recent media and the replies to them,
// collected by polling, and what the account can do to one (reply, hide, delete; the API has no like of a
// comment). Documentation:
//   https://developers.facebook.com/docs/instagram-api/guides/comment-moderation  (the endpoints: GET /{ig-media-id}/comments,
//     GET|POST /{ig-comment-id}/replies, POST /{ig-comment-id} to hide, DELETE /{ig-comment-id})
//   https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments
//   https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment
//   https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies ("You can only
//     reply to top-level comments; replies to a reply will be added to the top-level comment. You cannot reply to hidden comments.")
//   https://developers.facebook.com/docs/graph-api/changelog/ooc-changes/oct-20-2021 (`from` and `parent_id` on IG Comments)
// Like Facebook's (facebook/inbox.ts), one source ("comments") sweeps the account's media of the last RECENT_DAYS,
// newest first, a few media per page, and reads each one's comments with their replies (the `replies` edge
// expanded, followed when it has more pages), keeping those created since the previous sweep less an overlap,
// so a comment edited or hidden shortly after it was read is read again. Deleted comments are not listed.
import { malformed } from '../errors.ts';
import { type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState } from '../types.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { isGone, parseSweepCursor, type Paged, type SweepCursor } from '../meta-graph/sweep.ts';

export const COMMENTS = 'comments';
/** How far back the account's media are swept for comments. */
export const RECENT_DAYS = 14;
const MEDIA_PER_PAGE = 10;
const COMMENTS_PER_READ = 50;
/** Reads of one medium's comments (and of one comment's further replies) per page at most. */
const MAX_READS = 10;
const OVERLAP_SECONDS = 3600;
const REPLY_FIELDS = 'id,text,timestamp,from,username,hidden,parent_id';
const COMMENT_FIELDS = `${REPLY_FIELDS},replies{${REPLY_FIELDS}}`;

interface GMedia { id?: unknown; caption?: unknown; permalink?: unknown; timestamp?: unknown }
interface GComment {
  id?: unknown; text?: unknown; timestamp?: unknown; username?: unknown; hidden?: unknown; parent_id?: unknown;
  from?: { id?: unknown; username?: unknown }; replies?: Paged<GComment>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const nextAfter = (r: Paged<unknown> | undefined): string | undefined => (r?.paging?.next ? str(r.paging.cursors?.after) : undefined);



export async function collectComments(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== COMMENTS) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  const token = account.tokens.accessToken;
  const cur = parseSweepCursor(req.cursor);
  const sweepStart = cur.s ?? Math.floor(now / 1000);
  const oldestMedia = (sweepStart - RECENT_DAYS * 86_400) * 1000;
  const readDownTo = cur.w > 0 ? (cur.w - OVERLAP_SECONDS) * 1000 : 0;
  // The account's media, newest first (the ig-user/media edge), a page of them per call.
  const media = await g.get<Paged<GMedia>>('inbox', `${account.externalId}/media`, token, {
    fields: 'id,caption,permalink,timestamp', limit: MEDIA_PER_PAGE, ...(cur.a ? { after: cur.a } : {}),
  });
  const items: InboxItem[] = [];
  let reachedOld = false;
  for (const m of dataOf(g.provider, 'inbox', media)) {
    const mediaId = need(g.provider, 'inbox', false, m.id);
    const at = parseGraphTime(m.timestamp);
    if (Number.isFinite(at) && at < oldestMedia) {
      reachedOld = true;
      break;
    }
    const root = {
      remoteId: mediaId, authorRemoteId: account.externalId, authorHandle: account.username,
      ...(str(m.permalink) ? { url: str(m.permalink)! } : {}), ...(typeof m.caption === 'string' ? { text: m.caption } : {}),
      ...(Number.isFinite(at) ? { createdAt: new Date(at) } : {}),
    };
    const keep = (c: GComment, parent?: string) => {
      const item = toItem(g.provider, c, mediaId, root, parent);
      if (item.createdAt.getTime() >= readDownTo) items.push(item);
    };
    let after: string | undefined;
    for (let read = 0; read < MAX_READS; read++) {
      const r = await g.get<Paged<GComment>>('inbox_comments', `${mediaId}/comments`, token, { fields: COMMENT_FIELDS, limit: COMMENTS_PER_READ, ...(after ? { after } : {}) });
      for (const c of dataOf(g.provider, 'inbox_comments', r)) {
        keep(c);
        const top = need(g.provider, 'inbox_comments', false, c.id);
        for (const x of c.replies?.data ?? []) keep(x, top);
        // More replies than the expansion gave: the comment's own replies edge, page after page.
        let more = nextAfter(c.replies);
        for (let rr = 0; more && rr < MAX_READS; rr++) {
          const rp = await g.get<Paged<GComment>>('inbox_comments', `${top}/replies`, token, { fields: REPLY_FIELDS, limit: COMMENTS_PER_READ, after: more });
          for (const x of dataOf(g.provider, 'inbox_comments', rp)) keep(x, top);
          more = nextAfter(rp);
        }
      }
      after = nextAfter(r);
      if (!after) break;
    }
  }
  items.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const a = reachedOld ? undefined : nextAfter(media);
  if (a) return { items, cursor: JSON.stringify({ w: cur.w, s: sweepStart, a } satisfies SweepCursor), more: true };
  return { items, cursor: JSON.stringify({ w: sweepStart } satisfies SweepCursor), more: false };
}

function toItem(provider: string, c: GComment, mediaId: string, root: InboxItem['root'], topLevel?: string): InboxItem {
  const id = need(provider, 'inbox_comments', false, c.id);
  const created = parseGraphTime(c.timestamp);
  if (!Number.isFinite(created)) throw malformed(provider, 'inbox_comments', false);
  const parent = str(c.parent_id) ?? topLevel;
  const from = str(c.from?.id);
  const handle = str(c.from?.username) ?? str(c.username);
  return {
    remoteId: id, kind: 'comment', rootRemoteId: mediaId, ...(parent && parent !== mediaId ? { parentRemoteId: parent } : {}),
    author: { remoteId: from ?? handle ?? 'unknown', handle: handle ?? from ?? 'Instagram user' },
    text: typeof c.text === 'string' ? c.text : '',
    createdAt: new Date(created), hidden: c.hidden === true, ...(root ? { root } : {}),
  };
}

/**
 * The top-level comment a reply goes under: replies to a reply are added to the top-level comment (IG Comment
 * Replies), so AllIN posts there itself and knows where to look for the reply after an unknown outcome.
 */
export async function topLevelOf(g: GraphApi, account: AccountRef, commentId: string): Promise<string> {
  const c = await g.get<{ id?: unknown; parent_id?: unknown }>('reply', commentId, account.tokens.accessToken, { fields: 'id,parent_id' });
  need(g.provider, 'reply', false, c.id);
  return str(c.parent_id) ?? commentId;
}

/** Hides or shows a comment on the account's media: POST /{ig-comment-id}?hide=true|false. */
export async function setHidden(g: GraphApi, account: AccountRef, req: MessageActionRequest, hidden: boolean): Promise<void> {
  await g.call({ operation: hidden ? 'hide' : 'unhide', method: 'POST', url: g.url(req.remoteId), token: account.tokens.accessToken, params: { hide: hidden }, creates: true });
}

/** Deletes a comment (anyone's on the account's media, or the account's own): DELETE /{ig-comment-id}; one already gone counts as deleted. */
export async function deleteComment(g: GraphApi, account: AccountRef, req: MessageActionRequest): Promise<void> {
  try {
    await g.call({ operation: 'delete_comment', method: 'DELETE', url: g.url(req.remoteId), token: account.tokens.accessToken, creates: true });
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** The comment as the account sees it: GET /{ig-comment-id}?fields=id,hidden. */
export async function commentState(g: GraphApi, account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
  try {
    const c = await g.get<{ id?: unknown; hidden?: unknown }>('comment_state', req.remoteId, account.tokens.accessToken, { fields: 'id,hidden' });
    need(g.provider, 'comment_state', false, c.id);
    return { deleted: false, ...(typeof c.hidden === 'boolean' ? { hidden: c.hidden } : {}) };
  } catch (err) {
    if (isGone(err)) return { deleted: true };
    throw err;
  }
}
