// Publishing a post (POST /2/tweets: https://docs.x.com/x-api/posts/create-post) with its media, as a reply
// when it answers a post (threads and first comments are replies), and a post's public counts (GET
// /2/tweets/{id}?tweet.fields=public_metrics: https://docs.x.com/x-api/posts/get-post-by-id).
import { malformed } from '../errors.ts';
import { postMetrics } from '../post-metrics.ts';
import { ProviderError, type AccountRef, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, postUrl, type XApi } from './api.ts';
import type { Attempts } from './attempts.ts';
import { isDuplicate, problemOf, xError, type XProblem } from './errors.ts';
import { mediaCategory, uploadMedia } from './media.ts';
import { search } from './reconcile.ts';

export async function publishPost(api: XApi, attempts: Attempts, account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
  const moving = post.media.filter((m) => mediaCategory(m) !== 'tweet_image');
  if (post.media.length > 4 || (moving.length > 0 && post.media.length > 1)) {
    throw new ProviderError('permanent', 'x: a post takes up to 4 images, or 1 GIF, or 1 video', { provider: PROVIDER, reason: 'media_not_allowed' });
  }
  const mediaIds: string[] = [];
  for (const m of post.media) mediaIds.push(await uploadMedia(api, account.tokens, m));
  const body = {
    text: post.text,
    ...(mediaIds.length > 0 ? { media: { media_ids: mediaIds } } : {}),
    ...(post.replyTo ? { reply: { in_reply_to_tweet_id: post.replyTo } } : {}),
  };
  // Written down before the request goes out, so that a crash during it still leaves the record.
  const earlier = await attempts.get(account.externalId, post.marker);
  const attempt = await attempts.record(account.externalId, post.marker, { text: post.text, ...(post.replyTo ? { replyTo: post.replyTo } : {}) });
  const res = await api.send({ method: 'POST', url: `${api.base}/2/tweets`, operation: 'publish', headers: api.bearer(account.tokens), body, retryUnsent: true }, true);
  // The same marker was sent before and X now calls the text a duplicate: that earlier send was accepted.
  if (res.status === 403 && earlier && isDuplicate(problemOf(res))) {
    const found = await search(api, account, attempt, new Date(attempt.firstSentAt));
    if (found) return found;
  }
  if (res.status < 200 || res.status >= 300) throw xError('publish', res, { creates: true, reply: Boolean(post.replyTo) });
  const id = api.read<{ data?: { id?: unknown } }>(res, 'publish', true).data?.id;
  if (typeof id !== 'string' || id === '') throw malformed(PROVIDER, 'publish', true);
  return { remoteId: id, url: postUrl(account.username, id) };
}

export async function postFigures(api: XApi, account: AccountRef, remoteId: string): Promise<PostMetrics> {
  const res = await api.call({
    method: 'GET', url: `${api.base}/2/tweets/${encodeURIComponent(remoteId)}?tweet.fields=public_metrics`, operation: 'metrics', headers: api.bearer(account.tokens),
  });
  const body = api.read<{ data?: { public_metrics?: Record<string, number> }; errors?: XProblem['errors'] }>(res, 'metrics');
  if (!body.data) {
    // A lookup of a deleted post answers 200 with errors[] (resource-not-found) and no data.
    const e = body.errors?.[0];
    if (e) throw new ProviderError('permanent', `x: metrics: ${e.detail ?? e.title ?? 'no such post'}`, { provider: PROVIDER, status: 200, reason: e.type?.split('/').pop() ?? 'not_found' });
    throw malformed(PROVIDER, 'metrics', false);
  }
  const m = body.data.public_metrics ?? {};
  return postMetrics({ likes: m.like_count, reposts: m.retweet_count, replies: m.reply_count, impressions: m.impression_count });
}
