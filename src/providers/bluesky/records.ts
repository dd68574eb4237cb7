// How AllIN names a Bluesky post and finds it again: the remote id (a strong reference, at-uri and cid),
// the time inside a TID record key, and the marker hash carried in an extra field of the post record.
// Documentation: https://atproto.com/specs/at-uri-scheme, https://atproto.com/specs/record-key (TID),
// https://atproto.com/specs/lexicon (open data objects).
import { createHash } from 'node:crypto';
import { ProviderError } from '../types.ts';

const PROVIDER = 'bluesky';

/** The collection (lexicon NSID) of a post record. */
export const POST = 'app.bsky.feed.post';

/**
 * Extra field on AllIN's post records holding a hash of the publish marker, so that a post whose
 * creation got no answer can be found again with listRecords. Lexicon data objects are open: fields a
 * schema does not name are ignored by validators (atproto.com/specs/lexicon), as other clients'
 * extension fields are. A hash rather than the marker, so nothing internal is published.
 */
export const MARKER_FIELD = 'allinMarker';

/** A strong reference to a record: what a reply needs of its parent and root. */
export interface StrongRef { uri: string; cid: string }

/** remoteId = "<at-uri>|<cid>": a later reply needs both. */
export function toRemoteId(ref: StrongRef): string {
  return `${ref.uri}|${ref.cid}`;
}

export function parseRemoteId(remoteId: string): StrongRef & { did: string; collection: string; rkey: string } {
  const ref = parsePostId(remoteId);
  if (!ref.cid) throw new ProviderError('permanent', `bluesky: "${remoteId.slice(0, 200)}" is not a post reference (at-uri|cid)`, { provider: PROVIDER, reason: 'invalid_remote_id' });
  return ref;
}

/**
 * A post's id as publishing stores it (at-uri|cid) or as the inbox does (the at-uri alone: a collected
 * message's id, docs/NETWORKS.md); `cid` is empty for the latter.
 */
export function parsePostId(remoteId: string): StrongRef & { did: string; collection: string; rkey: string } {
  const [uri = '', cid = ''] = remoteId.split('|');
  const m = /^at:\/\/(did:[a-z]+:[a-zA-Z0-9._:%-]+)\/([a-zA-Z0-9.-]+)\/([a-zA-Z0-9._~:-]{1,512})$/.exec(uri);
  if (!m) throw new ProviderError('permanent', `bluesky: "${remoteId.slice(0, 200)}" is not a post reference (at-uri|cid)`, { provider: PROVIDER, reason: 'invalid_remote_id' });
  return { uri, cid, did: m[1]!, collection: m[2]!, rkey: m[3]! };
}

/** A TID record key's time (53-bit microseconds since the epoch, then 10 bits of clock id), or null. */
export function tidTime(rkey: string): number | null {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz';
  if (!/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/.test(rkey)) return null;
  let v = 0n;
  for (const c of rkey) v = v * 32n + BigInt(alphabet.indexOf(c));
  return Number((v >> 10n) / 1000n);
}

/** What MARKER_FIELD holds for a marker: 22 characters of its SHA-256, so the marker itself is not published. */
export function markerHash(marker: string): string {
  return createHash('sha256').update(marker).digest('base64url').slice(0, 22);
}
