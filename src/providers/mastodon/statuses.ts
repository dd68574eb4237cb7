// Statuses (https://docs.joinmastodon.org/methods/statuses/): publishing one with its media, replies and the
// options Mastodon knows, under an Idempotency-Key (idempotency.ts; reconcile.ts says how the key finds a status
// again); its counts (https://docs.joinmastodon.org/entities/Status/) and its deletion
// (https://docs.joinmastodon.org/methods/statuses/#delete).
import { malformed } from '../errors.ts';
import { postMetrics } from '../post-metrics.ts';
import { ProviderError, type AccountRef, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import { uploadMedia } from './media.ts';
import { idempotencyKey } from './idempotency.ts';

/** The fields of a Status AllIN reads. */
export interface Status {
  id?: unknown; url?: unknown; uri?: unknown; created_at?: unknown;
  favourites_count?: unknown; reblogs_count?: unknown; replies_count?: unknown;
  application?: { name?: unknown } | null;
}

export function toPublished(s: Status, what: string): PublishedPost {
  if (typeof s.id !== 'string' || !s.id) throw malformed(PROVIDER, what, true);
  const url = typeof s.url === 'string' ? s.url : typeof s.uri === 'string' ? s.uri : undefined;
  return { remoteId: s.id, ...(url ? { url } : {}) };
}

/** Only options Mastodon knows, with the right types; anything else would be an error at the server. */
export function statusOptions(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!o) return out;
  if (typeof o.visibility === 'string' && ['public', 'unlisted', 'private', 'direct'].includes(o.visibility)) out.visibility = o.visibility;
  if (typeof o.language === 'string' && /^[a-z]{2,3}$/i.test(o.language)) out.language = o.language.toLowerCase();
  if (typeof o.spoilerText === 'string' && o.spoilerText) out.spoiler_text = o.spoilerText;
  if (typeof o.sensitive === 'boolean') out.sensitive = o.sensitive;
  return out;
}

export async function publishStatus(api: MastodonApi, account: AccountRef, host: string, post: PublishRequest): Promise<PublishedPost> {
  const mediaIds: string[] = [];
  for (const [i, m] of post.media.entries()) mediaIds.push(await uploadMedia(api, account, host, m, i));
  const res = await api.send({
    method: 'POST', url: `${api.base(host)}/api/v1/statuses`, operation: 'publish',
    // The server remembers the key for an hour and answers a repeat with the status it created.
    headers: { ...api.bearer(account.tokens), 'idempotency-key': idempotencyKey(post.marker) },
    body: {
      status: post.text,
      ...(mediaIds.length ? { media_ids: mediaIds } : {}),
      ...(post.replyTo ? { in_reply_to_id: post.replyTo } : {}),
      ...statusOptions(post.options),
    },
  }, true);
  if (res.status === 422 && /not finished processing/i.test(res.text)) {
    throw new ProviderError('transient', 'mastodon: the media has not finished processing', { provider: PROVIDER, status: 422, reason: 'media_processing' });
  }
  if (res.status < 200 || res.status >= 300) throw api.fail('publish', res, true);
  return toPublished(api.read<Status>(res, 'publish', true), 'publish');
}

export async function statusMetrics(api: MastodonApi, account: AccountRef, host: string, remoteId: string): Promise<PostMetrics> {
  const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v1/statuses/${encodeURIComponent(remoteId)}`, operation: 'metrics', headers: api.bearer(account.tokens) });
  const s = api.read<Status>(res, 'metrics');
  // Counts are what this instance knows; interactions from other servers may lag (docs/NETWORKS.md, Network facts: Mastodon).
  return postMetrics({ likes: s.favourites_count, reposts: s.reblogs_count, replies: s.replies_count });
}

/** Deletes a status; one that is already gone counts as deleted. */
export async function deleteStatus(api: MastodonApi, account: AccountRef, host: string, remoteId: string): Promise<void> {
  const res = await api.send({ method: 'DELETE', url: `${api.base(host)}/api/v1/statuses/${encodeURIComponent(remoteId)}`, operation: 'delete_post', headers: api.bearer(account.tokens) });
  if (res.status === 404) return; // already gone: deletion is idempotent
  if (res.status < 200 || res.status >= 300) throw api.fail('delete_post', res);
}
