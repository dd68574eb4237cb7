// Mentions of a Threads profile, and what Threads pushes (webhooks). Documentation:
//   https://developers.facebook.com/docs/threads/threads-mentions  (GET /{threads-user-id}/mentions: "a list of public
//     Threads media objects in which a Threads profile has been tagged by another Threads profile"; threads_basic and
//     threads_manage_mentions; before advanced access "only mentions made by a Threads tester on the app will be
//     returned"; `since` ≥ 1688540400 and `until`; `fields`)
//   https://developers.facebook.com/docs/threads/webhooks  (the `replies` field: "Replies on a Threads Media owned by the
//     Threads install user", a notification `{ app_id, topic, target_id, time, subscription_id, has_uid_field, values:
//     { value: { id, username, text, media_type, permalink, replied_to { id }, root_post { id, owner_id, username },
//     shortcode, timestamp }, field: "replies" } }`; "real-time reply and mention notifications"; threads_read_replies)
// Source "mentions" reads the list newest first, back to where the previous sweep read less an hour (a first sweep:
// 14 days): the order and the cursor paging (`after`, as Threads' other lists) are UNCONFIRMED, the page shows
// `since`/`until` only. A mention that replies inside the profile's own thread (its root post is the profile's) is
// a reply there, as the replies source gives it; any other is a conversation of kind mention of its own.
// Webhooks: `replies` as documented; `mentions` is named on the page but its payload is not shown: taken to carry
// the same media object (UNCONFIRMED). That `target_id` is the profile's Threads user id is UNCONFIRMED (a reply's
// root_post.owner_id is used when it is absent). A notification may come as one object or an array of them.
import { malformed } from '../errors.ts';
import type { AccountRef, InboxItem, InboxPage, InboxPageRequest, PushedItems } from '../types.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { newestFirstPage, type Paged } from '../meta-graph/sweep.ts';
import { ProviderError } from '../types.ts';
import { REPLIES } from './inbox.ts';

export const MENTIONS = 'mentions';
export const MENTIONS_SCOPE = 'threads_manage_mentions';
const PER_PAGE = 25;
const OVERLAP_SECONDS = 3600;
const FIRST_SWEEP_DAYS = 14;
const FIELDS = 'id,text,username,permalink,timestamp,is_reply,replied_to,root_post';

interface GMedia {
  id?: unknown; text?: unknown; username?: unknown; permalink?: unknown; timestamp?: unknown;
  replied_to?: { id?: unknown }; root_post?: { id?: unknown; owner_id?: unknown; username?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/**
 * A post of someone else naming the profile: a reply in the profile's own thread (as the replies source gives it),
 * or a mention that is its own conversation. `selfId`/`selfName`: the profile, whose own replies are its own.
 */
function toItem(provider: string, x: GMedia, selfId: string, selfName: string | undefined, kind: 'mention' | 'reply'): InboxItem {
  const id = need(provider, 'inbox_mentions', false, x.id);
  const at = parseGraphTime(x.timestamp);
  if (!Number.isFinite(at)) throw malformed(provider, 'inbox_mentions', false);
  const root = str(x.root_post?.id);
  const inOwnThread = root !== undefined && root !== id && str(x.root_post?.owner_id) === selfId;
  const parent = str(x.replied_to?.id);
  const username = str(x.username);
  const mine = username !== undefined && username === selfName;
  const thread = kind === 'reply' || inOwnThread;
  return {
    remoteId: id, kind: thread ? 'comment' : 'mention', rootRemoteId: thread && root ? root : id,
    ...(thread && parent && parent !== root ? { parentRemoteId: parent } : {}),
    author: mine ? { remoteId: selfId, handle: username } : { remoteId: username ?? 'unknown', handle: username ?? 'Threads user' },
    text: typeof x.text === 'string' ? x.text : '', createdAt: new Date(at), ...(str(x.permalink) ? { url: str(x.permalink)! } : {}),
  };
}

/** One page of the profile's mentions, newest first, down to where the previous sweep read less an hour. */
export async function collectMentions(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== MENTIONS) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  const refused = () => permanent(g.provider, `reconnect the Threads account to allow reading mentions (${MENTIONS_SCOPE})`, 'missing_scope');
  // Threads does not say which scopes were granted: a token from before AllIN asked for mentions is known by the
  // scopes it was asked with, and Graph's permission error (code 10) says the same of any other.
  if (account.tokens.scope && !account.tokens.scope.includes(MENTIONS_SCOPE)) throw refused();
  return newestFirstPage(req.cursor, { now, firstDays: FIRST_SWEEP_DAYS, overlapSeconds: OVERLAP_SECONDS }, async (after) => {
    let r: Paged<GMedia>;
    try {
      r = await g.get<Paged<GMedia>>('inbox_mentions', `${account.externalId}/mentions`, account.tokens.accessToken, {
        fields: FIELDS, limit: PER_PAGE, ...(after ? { after } : {}),
      });
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'permanent' && /\[code 10[\]/]/.test(err.details.reason ?? '')) throw refused();
      throw err;
    }
    const items = dataOf(g.provider, 'inbox_mentions', r).map((x) => toItem(g.provider, x, account.externalId, account.username, 'mention'));
    return { items, after: r.paging?.next ? str(r.paging.cursors?.after) : undefined };
  });
}

interface Notification { target_id?: unknown; values?: unknown }

/** The replies and mentions a Threads webhook tells of, per profile; anything else is left out. */
export function parseThreadsWebhook(body: unknown): PushedItems[] {
  const out = new Map<string, PushedItems>();
  for (const n of (Array.isArray(body) ? body : [body]) as Notification[]) {
    if (!n || typeof n !== 'object') continue;
    for (const v of (Array.isArray(n.values) ? n.values : [n.values]) as { field?: unknown; value?: GMedia }[]) {
      if (!v || (v.field !== 'replies' && v.field !== 'mentions') || !v.value) continue;
      const x = v.value;
      const profile = str(n.target_id) ?? (v.field === 'replies' ? str(x.root_post?.owner_id) : undefined);
      if (!profile || !str(x.id) || !Number.isFinite(parseGraphTime(x.timestamp))) continue;
      // The profile's own reply in its own thread: its username is the root post's, whose owner is the profile.
      const selfName = str(x.root_post?.owner_id) === profile ? str(x.root_post?.username) : undefined;
      const source = v.field === 'replies' ? REPLIES : MENTIONS;
      let item: InboxItem;
      try {
        item = toItem('threads', x, profile, selfName, v.field === 'replies' ? 'reply' : 'mention');
      } catch {
        continue;
      }
      const key = `${profile}|${source}`;
      const at = out.get(key) ?? { externalId: profile, source, items: [] };
      at.items.push(item);
      out.set(key, at);
    }
  }
  return [...out.values()];
}
