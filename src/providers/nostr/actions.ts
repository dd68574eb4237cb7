// Acting on a collected note from the inbox, as events the account signs (NIPs at
// https://github.com/nostr-protocol/nips):
//   like       a reaction, kind 7 with content "+", an "e" tag on the note (its relay and author), a "p" tag
//              on its author and a "k" tag with its kind (NIP-25); not sent when the account's "+" reaction
//              to the note is already on its relays, so asking twice makes one like
//   unlike     a deletion request, kind 5, naming the account's reactions to the note by "e" tags and "k" 7
//              (NIP-09); relays SHOULD stop serving what it names
//   delete     a deletion request for the account's own note (kind 5, "e" and "k" 1); someone else's note
//              cannot be deleted
//   state      read back from the account's relays: the note (absent, or named by its author's deletion
//              request: deleted), and the account's "+" reactions not named by its own deletion requests
// Each event is signed once per action and kept in the send journal under the action's marker, so a try
// after a lost answer sends the very same event, which a relay keeps once (as publishing does: posts.ts).
import { finalizeEvent, type Event } from 'nostr-tools/pure';
import { hexToBytes } from 'nostr-tools/utils';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type MessageActionRequest, type MessageState } from '../types.ts';
import { combine, PROVIDER } from './errors.ts';
import { relaysOf } from './keys.ts';
import type { SentNote } from './posts.ts';
import type { Relays } from './relays.ts';

const refuse = (why: string, reason: string) => new ProviderError('permanent', `Nostr: ${why}`, { provider: PROVIDER, reason });
const isId = (s: string) => /^[0-9a-f]{64}$/.test(s);
/** NIP-25: "+" or an empty content is a like. */
const isLike = (e: Event) => e.kind === 7 && (e.content === '+' || e.content === '');
const names = (e: Event, id: string) => e.tags.some((t) => t[0] === 'e' && t[1] === id);

export function nostrActions(relays: Relays, sent: SentPosts<SentNote>) {
  /** The note the action is on (null: on none of the account's relays). */
  const noteOf = async (list: string[], id: string): Promise<Event | null> => {
    if (!isId(id)) throw refuse(`"${id.slice(0, 70)}" is not an event id`, 'bad_id');
    const { events } = await relays.query(list, [{ ids: [id], limit: 1 }], 'REQ_note');
    return events.find((e) => e.id === id) ?? null;
  };
  /** The account's likes of the note that its own deletion requests have not taken back. */
  const likesOf = async (account: AccountRef, list: string[], id: string): Promise<Event[]> => {
    const me = account.externalId;
    const { events } = await relays.query(list, [{ kinds: [7], authors: [me], '#e': [id], limit: 50 }], 'REQ_reactions');
    const likes = events.filter((e) => e.pubkey === me && isLike(e) && names(e, id));
    if (likes.length === 0) return [];
    const { events: deletions } = await relays.query(list, [{ kinds: [5], authors: [me], '#e': likes.map((l) => l.id), limit: 50 }], 'REQ_deletions');
    return likes.filter((l) => !deletions.some((d) => d.pubkey === me && names(d, l.id)));
  };
  /** Signs the action's event once (kept under its marker) and sends it; one relay's yes is enough. */
  const send = async (account: AccountRef, list: string[], marker: string, make: () => Omit<Event, 'id' | 'sig' | 'pubkey'>, what: string): Promise<void> => {
    let event = (await sent.get(account.externalId, marker))?.event;
    if (!event) {
      event = finalizeEvent(make(), hexToBytes(account.tokens.accessToken));
      await sent.record(account.externalId, marker, { event });
    }
    const failure = combine(await relays.publish(list, event), what);
    if (failure) throw failure;
  };
  const now = () => Math.floor(Date.now() / 1000);

  return {
    async like(account: AccountRef, req: MessageActionRequest): Promise<void> {
      const list = relaysOf(account.data);
      if (!(await sent.get(account.externalId, req.marker)) && (await likesOf(account, list, req.remoteId)).length > 0) return;
      const note = await noteOf(list, req.remoteId);
      if (!note) throw refuse('the note is on none of this account\'s relays (deleted?)', 'deleted');
      await send(account, list, req.marker, () => ({
        kind: 7, created_at: now(), content: '+',
        tags: [['e', note.id, list[0]!, note.pubkey], ['p', note.pubkey], ['k', String(note.kind)]],
      }), 'the like');
    },

    async unlike(account: AccountRef, req: MessageActionRequest): Promise<void> {
      const list = relaysOf(account.data);
      const journaled = await sent.get(account.externalId, req.marker);
      const likes = journaled ? [] : await likesOf(account, list, req.remoteId);
      if (!journaled && likes.length === 0) return;
      await send(account, list, req.marker, () => ({
        kind: 5, created_at: now(), content: '', tags: [...likes.map((l) => ['e', l.id]), ['k', '7']],
      }), 'taking the like back');
    },

    async delete(account: AccountRef, req: MessageActionRequest): Promise<void> {
      const list = relaysOf(account.data);
      const journaled = await sent.get(account.externalId, req.marker);
      if (!journaled) {
        const note = await noteOf(list, req.remoteId);
        if (!note) return; // gone already
        if (note.pubkey !== account.externalId) throw refuse('only the account\'s own notes can be deleted', 'not_own_post');
      }
      await send(account, list, req.marker, () => ({ kind: 5, created_at: now(), content: '', tags: [['e', req.remoteId], ['k', '1']] }), 'the deletion');
    },

    async state(account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
      const list = relaysOf(account.data);
      const note = await noteOf(list, req.remoteId);
      if (!note) return { deleted: true };
      const { events } = await relays.query(list, [{ kinds: [5], authors: [note.pubkey], '#e': [note.id], limit: 10 }], 'REQ_deletions');
      if (events.some((d) => d.pubkey === note.pubkey && names(d, note.id))) return { deleted: true };
      return { deleted: false, likedByMe: (await likesOf(account, list, note.id)).length > 0 };
    },
  };
}
