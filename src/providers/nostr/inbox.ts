// Collecting a Nostr account's inbox (source "mentions"): kind-1 notes from others that carry the account's
// public key in a "p" tag, which is how replies to its notes and mentions of it are addressed (NIP-10: a
// reply names the people of the thread; NIP-27 mentions add a "p" tag). Asked of every relay of the account
// with REQ {"kinds": [1], "#p": [<key>], "since": <cursor>, "limit": 100} (NIP-01). A relay answers the newest
// events first, up to the limit: when one relay's answer is full, the sweep goes on below the oldest event
// it gave (`until`), page by page, and the cursor moves past the sweep only once no relay had more. `since`
// includes its second, so the boundary is read twice rather than skipped; the same event from two relays or
// two pages is one message. Where a note sits: NIP-10's marked "e" tags (root, reply; the older positional
// form too); it is a comment when the thread's root is the account's own note, else a mention.
// (https://github.com/nostr-protocol/nips/blob/master/01.md, https://github.com/nostr-protocol/nips/blob/master/10.md)
import type { Event } from 'nostr-tools/pure';
import { neventEncode, npubEncode } from 'nostr-tools/nip19';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest } from '../types.ts';
import { PROVIDER } from './errors.ts';
import { relaysOf } from './keys.ts';
import type { Relays } from './relays.ts';

export const MENTIONS = 'mentions';
/** Events asked of each relay per page. */
export const INBOX_PAGE = 100;

/** `after`: the newest second of the last finished sweep; while one runs, `until` (its next page's top) and `top`. */
interface Cursor { after: number; until?: number; top: number }

const isId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/** NIP-10: the thread's root and the event answered (marked tags, else the deprecated positional ones). */
export function threadOf(e: Event): { root?: string; rootAuthor?: string; parent?: string } {
  const tags = e.tags.filter((t) => t[0] === 'e' && isId(t[1]));
  if (tags.length === 0) return {};
  const marked = tags.some((t) => t[3] === 'root' || t[3] === 'reply');
  const root = marked ? tags.find((t) => t[3] === 'root') ?? tags.find((t) => t[3] === 'reply') : tags[0];
  const reply = marked ? tags.find((t) => t[3] === 'reply') ?? root : tags[tags.length - 1];
  return { root: root![1]!, ...(isId(root![4]) ? { rootAuthor: root![4] } : {}), parent: reply![1]! };
}

export async function collectNostrInbox(relays: Relays, account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
  if (req.source !== MENTIONS) throw new ProviderError('permanent', `Nostr: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
  const me = account.externalId;
  const list = relaysOf(account.data);
  let cursor: Cursor | null = null;
  if (req.cursor) {
    try {
      const c = JSON.parse(req.cursor) as Cursor;
      if (typeof c.after === 'number' && typeof c.top === 'number') cursor = c;
    } catch { /* an unreadable cursor starts again from the newest page */ }
  }
  const { events, fullFloor } = await relays.query(list, [{
    kinds: [1], '#p': [me], limit: INBOX_PAGE, ...(cursor ? { since: cursor.after } : {}), ...(cursor?.until !== undefined ? { until: cursor.until } : {}),
  }], 'REQ_inbox', INBOX_PAGE);
  const theirs = events.filter((e) => e.kind === 1 && e.pubkey !== me && e.tags.some((t) => t[0] === 'p' && t[1] === me));

  // The roots named without their author are read once, to tell a comment under the account's note from a mention.
  const threads = new Map(theirs.map((e) => [e.id, threadOf(e)]));
  const unknownRoots = [...new Set([...threads.values()].filter((t) => t.root && !t.rootAuthor).map((t) => t.root!))];
  const roots = new Map<string, Event>();
  if (unknownRoots.length > 0) {
    const found = await relays.query(list, [{ ids: unknownRoots.slice(0, INBOX_PAGE), limit: INBOX_PAGE }], 'REQ_inbox_roots');
    for (const r of found.events) roots.set(r.id, r);
  }

  const items: InboxItem[] = theirs.map((e) => {
    const t = threads.get(e.id)!;
    const rootEvent = t.root ? roots.get(t.root) : undefined;
    const rootAuthor = t.rootAuthor ?? rootEvent?.pubkey;
    return {
      remoteId: e.id,
      kind: t.root && rootAuthor === me ? 'comment' : 'mention',
      rootRemoteId: t.root ?? e.id,
      ...(t.parent && t.parent !== t.root ? { parentRemoteId: t.parent } : {}),
      author: { remoteId: e.pubkey, handle: npubEncode(e.pubkey) },
      text: e.content,
      url: `nostr:${neventEncode({ id: e.id, author: e.pubkey, relays: list.slice(0, 2) })}`,
      createdAt: new Date(e.created_at * 1000),
      ...(t.root ? {
        root: {
          remoteId: t.root, ...(rootAuthor ? { authorRemoteId: rootAuthor, authorHandle: npubEncode(rootAuthor) } : {}),
          ...(rootEvent ? { text: rootEvent.content, createdAt: new Date(rootEvent.created_at * 1000) } : {}),
        },
      } : {}),
    } satisfies InboxItem;
  }).reverse();

  const top = Math.max(cursor?.top ?? cursor?.after ?? 0, ...events.map((e) => e.created_at));
  // A first read takes the newest page. A sweep goes on below where a full relay stopped, that second included
  // (read twice rather than skipped), and always lower than the page before, so it ends.
  let more = false;
  let until: number | undefined;
  if (cursor !== null && fullFloor !== undefined) {
    until = cursor.until !== undefined && fullFloor >= cursor.until ? cursor.until - 1 : fullFloor;
    more = until >= cursor.after;
  }
  const next: Cursor = more ? { after: cursor!.after, until: until!, top } : { after: top, top };
  return { items, cursor: JSON.stringify(next), more };
}
