// Mentions of an Instagram professional account: media whose caption @mentions it, comments that @mention it,
// and media it is tagged in, as conversations of kind mention. Meta documents no list of @mentions to poll:
//   https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/mentions
//     GET /{ig-user-id}/tags (media the account is tagged in), GET /{ig-user-id}?fields=mentioned_comment,
//     GET /{ig-user-id}?fields=mentioned_media (data about one comment or medium, named by id), and the `mentions`
//     webhook field: "Subscribe to the mentions field to receive Instagram Webhooks notifications whenever an
//     Instagram user mentions an Instagram Business or Creator Account".
//   https://developers.facebook.com/docs/graph-api/reference/shadow-ig-user/tags/ ("Instagram businesses can use this
//     edge to see media that they are tagged in")
//   https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/mentioned_comment
//   https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/mentioned_media
//     ("The ID is included in the Webhook notification payload"; IG Comment / IG Media fields by field expansion)
//   https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment ("requests
//     cannot be performed on comments discovered through the Mentions API unless the request is made by the comment's
//     owner. Use the Mentioned Comment node instead.")
// So: source "mentions" polls the tagged media (newest first, back to where the previous sweep read, less an hour);
// @mentions come only by webhook, whose value names the medium (`media_id`) and, for a comment, the comment
// (`comment_id`): UNCONFIRMED, Meta's pages as read show no sample of the mentions payload. They are read through
// mentioned_media / mentioned_comment with the account's token (InboxWebhook.lookup, in a job). A medium both
// tagged and mentioned is one message (its id). These reference pages are written for the Instagram API with
// Facebook Login (graph.facebook.com); that graph.instagram.com answers them for Instagram Login is UNCONFIRMED
// (its overview lists "Mentions – Identify media where they have been @mentioned by other Instagram users").
// Answering: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/mentions
//   POST /{ig-user-id}/mentions with media_id (a caption that @mentions the account) and comment_id (a comment that
//   does), and message; "Commenting on photos in which you were tagged is not supported", so a tagged medium is
//   collected as not answerable (a caption @mention pushed for the same medium makes it answerable). The answer
//   carries no marker and Graph lists no way to read someone else's comment thread back: a try whose answer was
//   lost ends unknown (nothing recorded as sent: not sent).
import { malformed } from '../errors.ts';
import type { AccountRef, FindReplyRequest, InboxItem, InboxPage, InboxPageRequest, PublishedPost, PushedItems, ReplyRequest } from '../types.ts';
import type { PublishAttempts } from '../meta-graph/reconcile.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { isGone, newestFirstPage, type Paged } from '../meta-graph/sweep.ts';
import { ProviderError } from '../types.ts';

export const MENTIONS = 'mentions';
const MEDIA_PER_PAGE = 25;
const OVERLAP_SECONDS = 3600;
/** A first sweep reads tagged media of this many days back. */
const FIRST_SWEEP_DAYS = 14;
const MEDIA_FIELDS = 'id,caption,timestamp,username,permalink';
const COMMENT_FIELDS = `id,text,timestamp,username,media{${MEDIA_FIELDS}}`;

interface GMedia { id?: unknown; caption?: unknown; timestamp?: unknown; username?: unknown; permalink?: unknown }
interface GComment { id?: unknown; text?: unknown; timestamp?: unknown; username?: unknown; media?: GMedia }
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** A medium of someone else that names or tags the account: a mention that is its own root. */
function mediaItem(provider: string, m: GMedia): InboxItem {
  const id = need(provider, 'inbox_mentions', false, m.id);
  const at = parseGraphTime(m.timestamp);
  if (!Number.isFinite(at)) throw malformed(provider, 'inbox_mentions', false);
  const handle = str(m.username);
  return {
    remoteId: id, kind: 'mention', rootRemoteId: id,
    author: { remoteId: handle ?? 'unknown', handle: handle ?? 'Instagram user' },
    text: typeof m.caption === 'string' ? m.caption : '', createdAt: new Date(at), ...(str(m.permalink) ? { url: str(m.permalink)! } : {}),
  };
}

/** One page of the tagged media, newest first, down to where the previous sweep read less an hour. */
export async function collectTagged(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== MENTIONS) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  return newestFirstPage(req.cursor, { now, firstDays: FIRST_SWEEP_DAYS, overlapSeconds: OVERLAP_SECONDS }, async (after) => {
    const r = await g.get<Paged<GMedia>>('inbox_mentions', `${account.externalId}/tags`, account.tokens.accessToken, {
      fields: MEDIA_FIELDS, limit: MEDIA_PER_PAGE, ...(after ? { after } : {}),
    });
    // Tagged only, as far as this source tells: not answerable until a caption @mention of it is pushed.
    return { items: dataOf(g.provider, 'inbox_mentions', r).map((m) => ({ ...mediaItem(g.provider, m), answerable: false })), after: r.paging?.next ? str(r.paging.cursors?.after) : undefined };
  });
}

/** The `mentions` changes of an Instagram webhook, per account: references for `lookupMentions`. */
export function parseMentions(body: unknown): PushedItems[] {
  const b = body as { object?: unknown; entry?: unknown } | null;
  if (!b || b.object !== 'instagram' || !Array.isArray(b.entry)) return [];
  const out: PushedItems[] = [];
  for (const e of b.entry as { id?: unknown; changes?: unknown }[]) {
    const igId = str(e?.id);
    if (!igId || !Array.isArray(e.changes)) continue;
    const lookups: string[] = [];
    for (const c of e.changes as { field?: unknown; value?: { media_id?: unknown; comment_id?: unknown } }[]) {
      if (c?.field !== 'mentions' || !c.value) continue;
      const comment = str(c.value.comment_id);
      const media = str(c.value.media_id);
      if (comment) lookups.push(`comment:${comment}`);
      else if (media) lookups.push(`media:${media}`);
    }
    if (lookups.length > 0) out.push({ externalId: igId, source: MENTIONS, items: [], lookups: [...new Set(lookups)] });
  }
  return out;
}

/**
 * Reads pushed mentions as the account sees them: a medium through mentioned_media, a comment through
 * mentioned_comment (with its medium expanded, the conversation's root). One that is gone, or that Graph refuses
 * (comments turned off on the medium), is left out; a 429, an expired token or an outage fails the whole read.
 */
export async function lookupMentions(g: GraphApi, account: AccountRef, refs: string[]): Promise<InboxItem[]> {
  const items: InboxItem[] = [];
  const token = account.tokens.accessToken;
  for (const ref of refs) {
    const [kind, id] = [ref.slice(0, ref.indexOf(':')), ref.slice(ref.indexOf(':') + 1)];
    if (!/^[0-9A-Za-z_]+$/.test(id)) continue;
    try {
      if (kind === 'media') {
        const r = await g.get<{ mentioned_media?: GMedia }>('inbox_mentions', account.externalId, token, { fields: `mentioned_media.media_id(${id}){${MEDIA_FIELDS}}` });
        if (r.mentioned_media) items.push({ ...mediaItem(g.provider, r.mentioned_media), answerable: true });
      } else if (kind === 'comment') {
        const r = await g.get<{ mentioned_comment?: GComment }>('inbox_mentions', account.externalId, token, { fields: `mentioned_comment.comment_id(${id}){${COMMENT_FIELDS}}` });
        const c = r.mentioned_comment;
        if (c) items.push(commentItem(g.provider, c));
      }
    } catch (err) {
      if (isGone(err) || (err instanceof ProviderError && err.kind === 'permanent')) continue;
      throw err;
    }
  }
  return items;
}

function commentItem(provider: string, c: GComment): InboxItem {
  const id = need(provider, 'inbox_mentions', false, c.id);
  const mediaId = need(provider, 'inbox_mentions', false, c.media?.id);
  const at = parseGraphTime(c.timestamp);
  if (!Number.isFinite(at)) throw malformed(provider, 'inbox_mentions', false);
  const handle = str(c.username);
  const m = c.media!;
  const mAt = parseGraphTime(m.timestamp);
  return {
    remoteId: id, kind: 'mention', rootRemoteId: mediaId,
    author: { remoteId: handle ?? 'unknown', handle: handle ?? 'Instagram user' },
    text: typeof c.text === 'string' ? c.text : '', createdAt: new Date(at),
    root: {
      remoteId: mediaId, ...(str(m.permalink) ? { url: str(m.permalink)! } : {}), ...(typeof m.caption === 'string' ? { text: m.caption } : {}),
      ...(str(m.username) ? { authorHandle: str(m.username)! } : {}), ...(Number.isFinite(mAt) ? { createdAt: new Date(mAt) } : {}),
    },
  };
}

/**
 * Answers a mention: a comment on the medium whose caption @mentions the account, or a reply under the comment
 * that does (POST /{ig-user-id}/mentions). What is sent is recorded first, as for every Meta reply.
 */
export async function replyToMention(g: GraphApi, attempts: PublishAttempts, account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
  await attempts.record(account.externalId, req.marker, { text: req.text, replyTo: req.parentRemoteId });
  const comment = req.parentRemoteId !== req.rootRemoteId ? { comment_id: req.parentRemoteId } : {};
  const r = await g.post<{ id?: unknown }>('reply', `${account.externalId}/mentions`, account.tokens.accessToken, { media_id: req.rootRemoteId, ...comment, message: req.text }, true);
  return { remoteId: need(g.provider, 'reply', true, r.id) };
}

/** After a lost answer: nothing recorded means nothing was sent; otherwise Graph cannot show it, so the outcome is unknown. */
export async function findMentionReply(attempts: PublishAttempts, account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
  if (!await attempts.get(account.externalId, req.marker)) return null;
  throw new ProviderError('permanent', 'instagram: an answer to a mention cannot be read back (Graph lists no comments of someone else\'s medium to the account)',
    { provider: 'instagram', reason: 'cannot_read_back' });
}
