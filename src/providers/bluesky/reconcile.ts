// Finding a post again after an unknown outcome, by its marker: AllIN's post records carry a hash of the
// publish marker (records.ts), and the account's records are listed newest first on its PDS
// (com.atproto.repo.listRecords: https://docs.bsky.app/docs/api/com-atproto-repo-list-records) until one
// carries the hash or the records are older than the attempt (record keys are TIDs that hold their
// creation time: https://atproto.com/specs/tid).
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import { MARKER_FIELD, POST, markerHash, parseRemoteId, tidTime, toRemoteId } from './records.ts';
import type { RecordAnswer, Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';
/** Record keys are TIDs made from the PDS's clock: allow for skew against ours. */
const CLOCK_SKEW_MS = 10 * 60_000;
const MAX_PAGES = 20;

export async function findByMarker(x: Xrpc, hosts: BlueskyHosts, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const want = markerHash(marker);
  const pds = hosts.pdsFor(account);
  const oldest = since.getTime() - CLOCK_SKEW_MS;
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await x.xrpcCall({
      method: 'GET', base: pds, nsid: 'com.atproto.repo.listRecords', what: 'find_post',
      query: { repo: account.externalId, collection: POST, limit: '100', cursor },
    });
    const body = x.read<{ records?: RecordAnswer[]; cursor?: unknown }>(res, 'find_post');
    const records = Array.isArray(body.records) ? body.records : [];
    for (const r of records) {
      if (typeof r.uri !== 'string' || typeof r.cid !== 'string') continue;
      if (r.value?.[MARKER_FIELD] === want) {
        const ref = parseRemoteId(toRemoteId({ uri: r.uri, cid: r.cid }));
        return { remoteId: toRemoteId(ref), url: hosts.postUrl(ref.did, ref.rkey) };
      }
      const rkey = r.uri.slice(r.uri.lastIndexOf('/') + 1);
      const at = tidTime(rkey) ?? Date.parse(String(r.value?.createdAt ?? ''));
      if (at < oldest) return null; // newest first: everything further is older than the attempt
    }
    if (records.length === 0 || typeof body.cursor !== 'string' || !body.cursor) return null;
    cursor = body.cursor;
  }
  throw new ProviderError('permanent', 'bluesky: over 2,000 posts since the attempt; whether this one was published cannot be told', { provider: PROVIDER, reason: 'cannot_reconcile' });
}
