// Connecting a Nostr identity: a secret key (nsec1… as NIP-19 encodes it, or 64 hex characters, NIP-01)
// and the relays to publish to (wss:// URLs, NIP-01; the user's own choice, so every relay host goes
// through the private-address guard). The key is the account's secret: it is kept as the account's access
// token, encrypted at rest like every token, and never leaves this process (events carry the public key and
// a signature only). (https://github.com/nostr-protocol/nips/blob/master/01.md,
// https://github.com/nostr-protocol/nips/blob/master/19.md)
import { getPublicKey } from 'nostr-tools/pure';
import { decode, npubEncode } from 'nostr-tools/nip19';
import { bytesToHex, hexToBytes } from 'nostr-tools/utils';
import { ProviderError } from '../types.ts';
import { PROVIDER } from './errors.ts';

/** How many relays one account publishes to: each is a connection per publish. */
export const MAX_RELAYS = 8;

const refuse = (why: string, reason: string) => new ProviderError('permanent', `Nostr: ${why}`, { provider: PROVIDER, reason });

/** The secret key as 64 hex characters, from an nsec1… or a hex key. Never quotes what was typed. */
export function parseSecretKey(input: string): string {
  const s = input.trim();
  if (/^[0-9a-f]{64}$/i.test(s)) {
    const hex = s.toLowerCase();
    publicKeyOf(hex);
    return hex;
  }
  if (s.startsWith('nsec1')) {
    let decoded;
    try {
      decoded = decode(s);
    } catch {
      throw new ProviderError('auth_expired', 'Nostr: this nsec1… key is not valid (a character is wrong or missing)', { provider: PROVIDER, reason: 'bad_secret_key' });
    }
    if (decoded.type === 'nsec') return bytesToHex(decoded.data);
  }
  if (s.startsWith('npub1')) throw new ProviderError('auth_expired', 'Nostr: this is a public key (npub1…); publishing needs the secret key (nsec1…)', { provider: PROVIDER, reason: 'public_key_given' });
  throw new ProviderError('auth_expired', 'Nostr: this is not a secret key (nsec1… or 64 hex characters)', { provider: PROVIDER, reason: 'bad_secret_key' });
}

/** The x-only public key (hex) of a secret key; throws auth_expired for a value that is not a valid key. */
export function publicKeyOf(secretHex: string): string {
  try {
    return getPublicKey(hexToBytes(secretHex));
  } catch {
    throw new ProviderError('auth_expired', 'Nostr: the stored secret key is not a valid key', { provider: PROVIDER, reason: 'bad_secret_key' });
  }
}

export const npubOf = (pubkey: string): string => npubEncode(pubkey);

/**
 * The relays as typed (separated by spaces, commas or new lines): wss:// URLs (ws:// only when the
 * operator allows private hosts, for development), without user, query or fragment, each once.
 */
export function parseRelays(input: string, allowPlain = false): string[] {
  const parts = input.split(/[\s,]+/).map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw refuse('name at least one relay (wss://relay.example.com)', 'no_relays');
  const out: string[] = [];
  for (const p of parts) {
    let u: URL;
    try {
      u = new URL(/^[a-z]+:\/\//i.test(p) ? p : `wss://${p}`);
    } catch {
      throw refuse(`"${p.slice(0, 80)}" is not a relay address (wss://relay.example.com)`, 'bad_relay');
    }
    if (u.protocol !== 'wss:' && !(allowPlain && u.protocol === 'ws:')) throw refuse(`${u.host || p.slice(0, 80)}: a relay is reached over wss://`, 'bad_relay');
    if (u.username || u.password || u.search || u.hash) throw refuse(`${u.host}: a relay address has no user, query or fragment`, 'bad_relay');
    const norm = `${u.protocol}//${u.host.toLowerCase()}${u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '')}`;
    if (!out.includes(norm)) out.push(norm);
  }
  if (out.length > MAX_RELAYS) throw refuse(`name at most ${MAX_RELAYS} relays; this names ${out.length}`, 'too_many_relays');
  return out;
}

/** The relays stored with an account. */
export function relaysOf(data: Record<string, unknown>): string[] {
  const r = data.relays;
  if (!Array.isArray(r) || r.length === 0 || !r.every((x) => typeof x === 'string')) throw refuse('this account has no relays; reconnect it with its relays', 'no_relays');
  return r as string[];
}
