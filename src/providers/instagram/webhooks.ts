// What Meta pushes about comments on an Instagram professional account's media: a webhook with
// `object: "instagram"` whose entries (`id`: the account) carry `changes` of the `comments` field; the value is the
// new comment: `id`, `text`, `from { id, username }`, `media { id, media_product_type }`, `parent_id` for a reply.
// It carries no time of its own, so the entry's `time` is taken. Each becomes the InboxItem polling gives for the
// same comment (instagram/inbox.ts), so a comment that arrives both ways is one message. Documentation:
//   https://developers.facebook.com/docs/graph-api/webhooks/getting-started          (envelope, verification, signature)
//   https://developers.facebook.com/docs/graph-api/changelog/ooc-changes/oct-20-2021 (the comments field's from, media, parent_id)
//   https://developers.facebook.com/docs/instagram-platform/webhooks                  (the comments field: UNCONFIRMED, not read)
import type { InboxItem, PushedItems } from '../types.ts';
import { COMMENTS } from './inbox.ts';

interface CommentValue { id?: unknown; text?: unknown; parent_id?: unknown; from?: { id?: unknown; username?: unknown }; media?: { id?: unknown } }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** The new comments of an Instagram webhook, per account; other fields (mentions, messages…) are left out. */
export function parseInstagramComments(body: unknown): PushedItems[] {
  const b = body as { object?: unknown; entry?: unknown } | null;
  if (!b || b.object !== 'instagram' || !Array.isArray(b.entry)) return [];
  const out: PushedItems[] = [];
  for (const e of b.entry as { id?: unknown; time?: unknown; changes?: unknown }[]) {
    const igId = str(e?.id);
    const time = typeof e?.time === 'number' && Number.isFinite(e.time) ? e.time : undefined;
    if (!igId || time === undefined || !Array.isArray(e.changes)) continue;
    const items: InboxItem[] = [];
    for (const c of e.changes as { field?: unknown; value?: CommentValue }[]) {
      const v = c?.value;
      const id = str(v?.id);
      const mediaId = str(v?.media?.id);
      if (c?.field !== 'comments' || !v || !id || !mediaId) continue;
      const parent = str(v.parent_id);
      const from = str(v.from?.id);
      const handle = str(v.from?.username);
      items.push({
        remoteId: id, kind: 'comment', rootRemoteId: mediaId, ...(parent && parent !== mediaId ? { parentRemoteId: parent } : {}),
        author: { remoteId: from ?? handle ?? 'unknown', handle: handle ?? from ?? 'Instagram user' },
        text: typeof v.text === 'string' ? v.text : '', createdAt: new Date(time * 1000),
      });
    }
    if (items.length > 0) out.push({ externalId: igId, source: COMMENTS, items });
  }
  return out;
}
