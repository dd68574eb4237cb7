// Publishing a note (kind 1, NIP-01) exactly once. A Nostr event's id is the sha256 of its own content
// (pubkey, created_at, kind, tags, content), fixed before anything is sent, and relays keep one copy of an
// id ("duplicate:" when they already have it). So the event is built and signed once per marker and
// written in the send journal before it leaves; every later try under that marker sends the very same
// event, never a new one: a retry cannot make a second note, whatever happened to the first try.
// - media: uploaded to the account's Blossom server, linked in the text and described by NIP-92 imeta tags;
// - replies (thread parts): NIP-10 marked "e" tags (root, reply) and the "p" tags of everyone in the thread,
//   read from the parent event itself;
// - hashtags: a "t" tag per #tag (NIP-24); a content warning (NIP-36) as an option;
// - metrics: reactions (kind 7, NIP-25; "-" is a dislike and not counted), reposts (kind 6 and 16, NIP-18)
//   and replies (kind 1 with an "e" tag on the note), counted from what the relays hold, each event once.
// (NIPs 01, 10, 18, 24, 25, 36 and 92 at https://github.com/nostr-protocol/nips)
import { finalizeEvent, type Event } from 'nostr-tools/pure';
import { neventEncode } from 'nostr-tools/nip19';
import { hexToBytes } from 'nostr-tools/utils';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { countText } from '../text.ts';
import { ProviderError, type AccountRef, type PostMetrics, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import { combine, PROVIDER } from './errors.ts';
import { relaysOf } from './keys.ts';
import { blossom, checkMedia, imetaTag } from './media.ts';
import { nostrOptionProblems, readNostrOptions } from './options.ts';
import { MAX_EVENTS_PER_QUERY, type Relays } from './relays.ts';
import type { HttpClient } from '../../infra/http/client.ts';

/** What the journal keeps under a marker: the signed event itself, sent again as it is by every retry. */
export interface SentNote { event: Event }

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Nostr: ${why}`, { provider: PROVIDER, reason });
const isId = (s: string) => /^[0-9a-f]{64}$/.test(s);

/** A NIP-21 link to the note (nostr:nevent1…), naming two of the relays it went to. */
export const noteUrl = (event: Event, relays: string[]): string => `nostr:${neventEncode({ id: event.id, author: event.pubkey, relays: relays.slice(0, 2) })}`;

function hashtags(text: string): string[][] {
  const seen = new Set<string>();
  for (const m of text.matchAll(/(?:^|\s)#([\p{L}\p{N}_]{1,64})/gu)) seen.add(m[1]!.toLowerCase());
  return [...seen].map((t) => ['t', t]);
}

/** NIP-10: the root of the parent's thread (its own "root" e tag, or the parent itself), and who is in it. */
function replyTags(parent: Event, relay: string): string[][] {
  const rootTag = parent.tags.find((t) => t[0] === 'e' && t[3] === 'root' && typeof t[1] === 'string' && isId(t[1]));
  const tags: string[][] = rootTag
    ? [['e', rootTag[1]!, rootTag[2] ?? '', 'root', ...(rootTag[4] ? [rootTag[4]] : [])], ['e', parent.id, relay, 'reply', parent.pubkey]]
    : [['e', parent.id, relay, 'root', parent.pubkey]];
  const people = new Set<string>([parent.pubkey]);
  for (const t of parent.tags) if (t[0] === 'p' && typeof t[1] === 'string' && isId(t[1])) people.add(t[1]);
  return [...tags, ...[...people].map((p) => ['p', p])];
}

export function nostrPosts(http: HttpClient, relays: Relays, limits: ProviderLimits, sent: SentPosts<SentNote>) {
  const media = blossom(http);

  /** A new signed note for the request: media uploaded first, the parent read for a reply. */
  async function build(account: AccountRef, post: PublishRequest, accountRelays: string[]): Promise<Event> {
    const problems = nostrOptionProblems(post.options);
    if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
    const options = readNostrOptions(post.options);
    const length = countText(limits.textCounting, post.text);
    if (length > limits.maxTextLength) throw refuse(`the note is ${length} characters; AllIN sends at most ${limits.maxTextLength} (relays set their own limits too)`);
    if (post.text.trim() === '' && post.media.length === 0) throw refuse('the note is empty');
    const mediaServer = typeof account.data.mediaServer === 'string' ? account.data.mediaServer : undefined;
    checkMedia(post.media, limits.media, mediaServer);
    const tags: string[][] = [];
    if (post.replyTo !== undefined) {
      if (!isId(post.replyTo)) throw refuse(`"${post.replyTo.slice(0, 70)}" is not an event id to reply to`);
      const { events } = await relays.query(accountRelays, [{ ids: [post.replyTo], limit: 1 }], 'REQ_parent');
      const parent = events.find((e) => e.id === post.replyTo);
      if (!parent) throw refuse(`the note ${post.replyTo.slice(0, 12)}… to reply to is on none of this account's relays`, 'parent_not_found');
      tags.push(...replyTags(parent, accountRelays[0]!));
    }
    const urls: string[] = [];
    for (const m of post.media) {
      const blob = await media.upload(mediaServer!, account.tokens.accessToken, m);
      urls.push(blob.url);
      tags.push(imetaTag(blob, m));
    }
    tags.push(...hashtags(post.text));
    if (options.contentWarning !== undefined) tags.push(['content-warning', options.contentWarning]);
    const content = [post.text, ...urls].filter((s) => s !== '').join('\n');
    return finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags, content }, hexToBytes(account.tokens.accessToken));
  }

  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const accountRelays = relaysOf(account.data);
      // The same marker is the same event: a try after a lost answer sends what the first try signed.
      let event = (await sent.get(account.externalId, post.marker))?.event;
      if (!event) {
        event = await build(account, post, accountRelays);
        await sent.record(account.externalId, post.marker, { event });
      }
      const verdicts = await relays.publish(accountRelays, event);
      const failure = combine(verdicts, 'the note');
      if (failure) throw failure;
      return { remoteId: event.id, url: noteUrl(event, accountRelays) };
    },

    /**
     * After an unknown outcome: no journal entry means nothing was ever sent. An entry names the event id;
     * a relay that holds it proves it published. When none does, the note is absent, and that answer is
     * safe even if a relay stores it later: the retry sends the same event, which a relay keeps once.
     */
    async findByMarker(account: AccountRef, marker: string): Promise<PublishedPost | null> {
      const record = await sent.get(account.externalId, marker);
      if (!record) return null;
      const accountRelays = relaysOf(account.data);
      const { events } = await relays.query(accountRelays, [{ ids: [record.event.id], limit: 1 }], 'REQ_reconcile');
      return events.some((e) => e.id === record.event.id) ? { remoteId: record.event.id, url: noteUrl(record.event, accountRelays) } : null;
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      if (!isId(remoteId)) throw refuse(`"${remoteId.slice(0, 70)}" is not an event id`, 'bad_id');
      const limit = MAX_EVENTS_PER_QUERY;
      const { events } = await relays.query(relaysOf(account.data), [
        { kinds: [7], '#e': [remoteId], limit }, { kinds: [6, 16], '#e': [remoteId], limit }, { kinds: [1], '#e': [remoteId], limit },
      ], 'REQ_metrics');
      const on = (e: Event) => e.tags.some((t) => t[0] === 'e' && t[1] === remoteId);
      const about = events.filter(on);
      return postMetrics({
        likes: about.filter((e) => e.kind === 7 && e.content !== '-').length,
        reposts: about.filter((e) => e.kind === 6 || e.kind === 16).length,
        replies: about.filter((e) => e.kind === 1).length,
      });
    },
  };
}
