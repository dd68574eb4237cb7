// What Meta pushes about a Page's comments and mentions: a Page webhook (`object: "page"`) whose entries carry `changes` of
// the `feed` field; a comment change has `item: "comment"`, a `verb` (add, edited, hide, unhide, remove),
// `comment_id`, `post_id`, `parent_id` (the post, or the comment answered), `from`, `message` and
// `created_time` (Unix seconds). Each becomes the InboxItem polling would give for the same comment, so a comment
// that arrives both ways is one message. Documentation:
//   https://developers.facebook.com/docs/graph-api/webhooks/getting-started  (the envelope: object, entry[].id, time, changes[].field, value)
//   https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed (the feed field's values: UNCONFIRMED, not
//                                        found in Meta's pages as read; taken from Meta's sample payloads as clients quote them)
// The `mention` field (the Page @mentioned in a post or a comment) carries `item` (post or comment), `verb`, `post_id`,
// `comment_id` for a comment, `message`, `sender_id`, `sender_name` and `created_time`: UNCONFIRMED, from clients'
// copies of Meta's samples, not from Meta's pages as read. A comment mention under the Page's own post (the post id
// starts with the Page's id) is a comment there; elsewhere it is a mention whose conversation is the post. Neither a
// pushed post nor a pushed comment says whether its author is a Page, so neither is answerable from AllIN (a Page's
// post is made answerable by the `/tagged` poll, which names Pages as authors).
import type { InboxItem, PushedItems } from '../types.ts';
import { COMMENTS } from './inbox.ts';
import { MENTIONS } from './mentions.ts';

interface FeedValue {
  item?: unknown; verb?: unknown; comment_id?: unknown; post_id?: unknown; parent_id?: unknown; message?: unknown;
  created_time?: unknown; from?: { id?: unknown; name?: unknown }; is_hidden?: unknown; sender_id?: unknown; sender_name?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const seconds = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/** The comment changes and mentions of a Page webhook, per Page and source; anything else in it (posts, reactions, other fields) is left out. */
export function parsePageFeed(body: unknown): PushedItems[] {
  const b = body as { object?: unknown; entry?: unknown } | null;
  if (!b || b.object !== 'page' || !Array.isArray(b.entry)) return [];
  const out: PushedItems[] = [];
  for (const e of b.entry as { id?: unknown; time?: unknown; changes?: unknown }[]) {
    const pageId = str(e?.id);
    if (!pageId || !Array.isArray(e.changes)) continue;
    const items: InboxItem[] = [];
    const mentions: InboxItem[] = [];
    for (const c of e.changes as { field?: unknown; value?: FeedValue }[]) {
      if (c?.field === 'mention' && c.value) {
        const item = mentionItem(pageId, c.value, seconds(e.time));
        if (item) (item.kind === 'comment' ? items : mentions).push(item);
        continue;
      }
      if (c?.field !== 'feed' || !c.value || c.value.item !== 'comment') continue;
      const item = toItem(c.value, seconds(e.time));
      if (item) items.push(item);
    }
    if (items.length > 0) out.push({ externalId: pageId, source: COMMENTS, items });
    if (mentions.length > 0) out.push({ externalId: pageId, source: MENTIONS, items: mentions });
  }
  return out;
}

function toItem(v: FeedValue, entryTime: number | undefined): InboxItem | null {
  const id = str(v.comment_id);
  const postId = str(v.post_id);
  const verb = str(v.verb);
  const at = seconds(v.created_time) ?? entryTime;
  if (!id || !postId || !verb || at === undefined) return null;
  if (!['add', 'edited', 'edit', 'hide', 'unhide', 'remove'].includes(verb)) return null;
  const parent = str(v.parent_id);
  const from = str(v.from?.id);
  const name = str(v.from?.name);
  return {
    remoteId: id, kind: 'comment', rootRemoteId: postId, ...(parent && parent !== postId ? { parentRemoteId: parent } : {}),
    author: from ? { remoteId: from, handle: name ?? from, ...(name ? { name } : {}) } : { remoteId: 'unknown', handle: 'Facebook user' },
    text: verb === 'remove' ? '' : typeof v.message === 'string' ? v.message : '',
    createdAt: new Date(at * 1000),
    ...(verb === 'remove' ? { deleted: true } : {}),
    ...(verb === 'hide' || v.is_hidden === true ? { hidden: true } : verb === 'unhide' || v.is_hidden === false ? { hidden: false } : {}),
  };
}

/** A `mention` change: the post or comment that @mentions the Page (a comment under the Page's own post is a comment there). */
function mentionItem(pageId: string, v: FeedValue, entryTime: number | undefined): InboxItem | null {
  const postId = str(v.post_id);
  const commentId = v.item === 'comment' ? str(v.comment_id) : undefined;
  const verb = str(v.verb) ?? 'add';
  const at = seconds(v.created_time) ?? entryTime;
  if (!postId || at === undefined || (v.item !== 'post' && !commentId) || !['add', 'edited', 'edit', 'remove'].includes(verb)) return null;
  const from = str(v.sender_id);
  const name = str(v.sender_name);
  const ownPost = postId.startsWith(`${pageId}_`);
  return {
    remoteId: commentId ?? postId, kind: ownPost && commentId ? 'comment' : 'mention', rootRemoteId: postId,
    author: from ? { remoteId: from, handle: name ?? from, ...(name ? { name } : {}) } : { remoteId: 'unknown', handle: 'Facebook user' },
    text: verb === 'remove' ? '' : typeof v.message === 'string' ? v.message : '',
    createdAt: new Date(at * 1000),
    ...(verb === 'remove' ? { deleted: true } : {}),
    ...(ownPost && commentId ? {} : { answerable: false }),
  };
}
