// What Meta pushes about a Page's comments: a Page webhook (`object: "page"`) whose entries carry `changes` of
// the `feed` field; a comment change has `item: "comment"`, a `verb` (add, edited, hide, unhide, remove),
// `comment_id`, `post_id`, `parent_id` (the post, or the comment answered), `from`, `message` and
// `created_time` (Unix seconds). Each becomes the InboxItem polling would give for the same comment, so a comment
// that arrives both ways is one message. Documentation:
//   https://developers.facebook.com/docs/graph-api/webhooks/getting-started  (the envelope: object, entry[].id, time, changes[].field, value)
//   https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed (the feed field's values: UNCONFIRMED, not
//                                        found in Meta's pages as read; taken from Meta's sample payloads as clients quote them)
import type { InboxItem, PushedItems } from '../types.ts';
import { COMMENTS } from './inbox.ts';

interface FeedValue {
  item?: unknown; verb?: unknown; comment_id?: unknown; post_id?: unknown; parent_id?: unknown; message?: unknown;
  created_time?: unknown; from?: { id?: unknown; name?: unknown }; is_hidden?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const seconds = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/** The comment changes of a Page webhook, per Page; anything else in it (posts, reactions, other fields) is left out. */
export function parsePageFeed(body: unknown): PushedItems[] {
  const b = body as { object?: unknown; entry?: unknown } | null;
  if (!b || b.object !== 'page' || !Array.isArray(b.entry)) return [];
  const out: PushedItems[] = [];
  for (const e of b.entry as { id?: unknown; time?: unknown; changes?: unknown }[]) {
    const pageId = str(e?.id);
    if (!pageId || !Array.isArray(e.changes)) continue;
    const items: InboxItem[] = [];
    for (const c of e.changes as { field?: unknown; value?: FeedValue }[]) {
      if (c?.field !== 'feed' || !c.value || c.value.item !== 'comment') continue;
      const item = toItem(c.value, seconds(e.time));
      if (item) items.push(item);
    }
    if (items.length > 0) out.push({ externalId: pageId, source: COMMENTS, items });
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
