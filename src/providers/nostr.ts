// Nostr, through relays speaking NIP-01 over WebSocket. Documentation: the NIPs at
// https://github.com/nostr-protocol/nips (01 events and relay messages, 10 replies, 19 nsec/npub, 21
// nostr: links, 25 reactions, 18 reposts, 36 content warnings, 92 media, 42 relay auth) and Blossom for
// media (https://github.com/hzrd149/blossom). The facts used here, each with its page and status, are in
// docs/NETWORKS.md (Network facts: Nostr).
//
// A Nostr "account" in AllIN is a key pair and the relays it publishes to: the user types the relays
// (wss:// URLs, optionally with one https:// Blossom media server) and the secret key (connect:
// secret_key). The key is kept as the account's token, encrypted at rest like every token, and used only
// to sign here; a remote signer (NIP-46) is not built. Relays and the media server are hosts the user
// chose: every connection goes through the HttpClient's private-address guard, deadline and size caps.
// No OAuth, no refresh, no revocation: a key lives until its owner stops using it.
//
// This file is the network's entry point: its metadata and createNostr, which puts the parts together:
//   keys.ts      the secret key (nsec or hex), the public key, the relay list
//   relays.ts    EVENT and REQ conversations with relays, events verified before they are believed
//   errors.ts    OK/CLOSED refusal prefixes as ProviderError kinds; one event's outcome over many relays
//   media.ts     Blossom uploads and NIP-92 imeta tags
//   options.ts   the target's options (a content warning)
//   posts.ts     notes, replies, exactly once by the event id; reconciliation; metrics
//   inbox.ts     replies and mentions: notes that tag the account's key, read from its relays
//   actions.ts   liking (NIP-25), taking it back and deleting its own notes (NIP-09) from the inbox
// Answering from the inbox is a reply note (posts.ts, NIP-10), exactly once by its event id, found again by it.
import { SentPosts } from './sent-posts.ts';
import { PROVIDER } from './nostr/errors.ts';
import { npubOf, parseRelays, parseSecretKey, publicKeyOf } from './nostr/keys.ts';
import { parseMediaServer } from './nostr/media.ts';
import { nostrPosts, type SentNote } from './nostr/posts.ts';
import { nostrRelays } from './nostr/relays.ts';
import { nostrActions } from './nostr/actions.ts';
import { collectNostrInbox, MENTIONS } from './nostr/inbox.ts';
import { ProviderError, type ConnectedIdentity, type Provider, type ProviderDeps, type ProviderMetadata, type TokenSet } from './types.ts';

export { nostrOptionProblems, NOSTR_OPTION_KEYS } from './nostr/options.ts';
export { parseRelays, parseSecretKey } from './nostr/keys.ts';

const meta: ProviderMetadata = {
  id: 'nostr',
  displayName: 'Nostr',
  docsUrl: 'https://github.com/nostr-protocol/nips',
  connect: 'secret_key',
  refreshTokenRotates: false,
  // A key cannot be revoked: disconnecting forgets it.
  supportsRevocation: false,
  userSuppliedHost: true,
  limits: {
    // NIP-01 sets no length; relays may (NIP-11 max_content_length, UNCONFIRMED per relay): a safe bound.
    textCounting: 'unicode', maxTextLength: 8000, threads: true, firstComment: false,
    media: {
      maxCount: 10, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: ['video/mp4', 'video/webm'],
      // Media servers set their own sizes (UNCONFIRMED per server): AllIN's bounds.
      maxImageBytes: 20 * 1024 * 1024, maxVideoBytes: 100 * 1024 * 1024, mixing: true, required: false,
    },
  },
  inbox: {
    sources: [{
      id: MENTIONS, collects: ['comments', 'replies', 'mentions'],
      description: 'Notes that tag the account\'s key (replies to its notes, mentions), from each of its relays: REQ {"kinds":[1],"#p":[key],"since":…} (https://github.com/nostr-protocol/nips/blob/master/01.md), 100 a page per relay',
    }],
    // Reactions and deletion requests the account signs (nostr/actions.ts); nothing hides others' notes.
    actions: ['reply', 'like', 'unlike', 'delete'],
    deletes: 'own',
  },
};

interface Profile { name?: unknown; display_name?: unknown; picture?: unknown }

export function createNostr(deps: ProviderDeps): Provider {
  const plain = deps.settings.allowPlainSchemes === true;
  const relays = nostrRelays(deps.http);
  const sent = new SentPosts<SentNote>(PROVIDER, deps.journal);
  const posts = nostrPosts(deps.http, relays, meta.limits, sent);
  const actions = nostrActions(relays, sent);

  /** Every relay must answer (a typo is caught now, not at the first post); the newest profile (kind 0) names the account. */
  async function profileOf(pubkey: string, list: string[]): Promise<Profile> {
    const answers = await Promise.allSettled(list.map((r) => relays.query([r], [{ kinds: [0], authors: [pubkey], limit: 1 }], 'REQ_profile')));
    const failed = answers.map((a, i) => [a, list[i]] as const).filter(([a]) => a.status === 'rejected');
    if (failed.length > 0) {
      const [a, relay] = failed[0]!;
      const err = (a as PromiseRejectedResult).reason as unknown;
      const kind = err instanceof ProviderError && err.kind !== 'auth_expired' ? err.kind : 'transient';
      throw new ProviderError(kind, `Nostr: the relay ${relay} did not answer (${err instanceof Error ? err.message : String(err)})`,
        { provider: PROVIDER, reason: err instanceof ProviderError && err.details.reason === 'blocked_host' ? 'blocked_host' : `relay ${relay} did not answer` });
    }
    const events = answers.flatMap((a) => (a.status === 'fulfilled' ? a.value.events : [])).filter((e) => e.pubkey === pubkey && e.kind === 0);
    const newest = events.sort((a, b) => b.created_at - a.created_at)[0];
    if (!newest) return {};
    try {
      const p = JSON.parse(newest.content) as unknown;
      return p && typeof p === 'object' ? p as Profile : {};
    } catch {
      return {};
    }
  }

  return {
    meta,
    /** `identifier`: the relays (wss://…) and optionally one Blossom media server (https://…); `password`: the secret key. */
    async signIn(identifier, password): Promise<{ tokens: TokenSet; identities: ConnectedIdentity[] }> {
      const secret = parseSecretKey(password);
      const pubkey = publicKeyOf(secret);
      const words = identifier.split(/[\s,]+/).filter(Boolean);
      const servers = words.filter((w) => /^https?:\/\//i.test(w));
      if (servers.length > 1) throw new ProviderError('permanent', 'Nostr: name one media server (https://…) at most', { provider: PROVIDER, reason: 'one media server' });
      const relayList = parseRelays(words.filter((w) => !/^https?:\/\//i.test(w)).join(' '), plain);
      const mediaServer = servers[0] ? parseMediaServer(servers[0], plain) : undefined;
      const profile = await profileOf(pubkey, relayList);
      const npub = npubOf(pubkey);
      const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 100) : undefined);
      const name = str(profile.name);
      const picture = str(profile.picture);
      return {
        tokens: { accessToken: secret },
        identities: [{
          externalId: pubkey, kind: 'person', username: name ?? `${npub.slice(0, 12)}…`, displayName: str(profile.display_name) ?? name ?? npub,
          ...(picture && /^https:\/\//.test(picture) ? { avatarUrl: picture } : {}), profileUrl: `nostr:${npub}`,
          data: { relays: relayList, npub, ...(mediaServer ? { mediaServer } : {}) },
        }],
      };
    },
    // A key does not expire; "refresh" checks the stored one is still a key.
    refresh: async (account) => {
      publicKeyOf(account.tokens.accessToken);
      return account.tokens;
    },
    identities: async () => {
      throw new ProviderError('permanent', 'Nostr: the relays are named at sign-in, with the key', { provider: PROVIDER, reason: 'sign_in_names_the_relays' });
    },
    publish: (account, post) => posts.publish(account, post),
    findByMarker: (account, marker) => posts.findByMarker(account, marker),
    metrics: (account, remoteId) => posts.metrics(account, remoteId),
    collectInbox: (account, req) => collectNostrInbox(relays, account, req),
    reply: (account, req) => posts.publish(account, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker }),
    findReply: (account, req) => posts.findByMarker(account, req.marker),
    like: (account, req) => actions.like(account, req),
    unlike: (account, req) => actions.unlike(account, req),
    delete: (account, req) => actions.delete(account, req),
    messageState: (account, req) => actions.state(account, req),
  };
}
