// Answering a status from the inbox (https://docs.joinmastodon.org/methods/statuses/#create): a reply is a
// status with `in_reply_to_id`, published under the same Idempotency-Key rule as every status AllIN sends
// (idempotency.ts), and found again after an unknown outcome the same way (reconcile.ts: within the key's hour
// the key is replayed; after it, the account's own statuses decide). The text goes as the member wrote it:
// Mastodon does not add the author's @mention itself, so a reply meant to notify names them in its text.
import type { AccountRef, FindReplyRequest, PublishedPost, ReplyRequest } from '../types.ts';
import type { MastodonApi } from './api.ts';
import { findByMarker } from './reconcile.ts';
import { publishStatus } from './statuses.ts';

export function publishReply(api: MastodonApi, account: AccountRef, host: string, req: ReplyRequest): Promise<PublishedPost> {
  // The status's visibility is the account's default, as for a post (statusOptions sends none).
  return publishStatus(api, account, host, { text: req.text, media: [], replyTo: req.parentRemoteId, marker: req.marker });
}

export function findReply(api: MastodonApi, account: AccountRef, host: string, req: FindReplyRequest): Promise<PublishedPost | null> {
  return findByMarker(api, account, host, req.marker, req.since);
}
