// Publishing as a member or a Page: a post (POST /rest/posts, commentary in Little Text Format, with its
// images or video: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api)
// or, for an answer to a post, a comment under it (LinkedIn has no threads:
// https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api); and a
// Page post's counts (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics).
import { malformed } from '../errors.ts';
import { postMetrics } from '../post-metrics.ts';
import { ProviderError, type AccountRef, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, postUrl, type LinkedInApi } from './api.ts';
import type { Attempts } from './attempts.ts';
import { duplicateOf } from './errors.ts';
import { littleText } from './little-text.ts';
import { uploadMedia } from './media.ts';

const isOrganization = (urn: string) => urn.startsWith('urn:li:organization:');

export async function publishPost(api: LinkedInApi, attempts: Attempts, account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
  const author = account.externalId;
  if (!/^urn:li:(person|organization):/.test(author)) throw new ProviderError('permanent', `linkedin: ${author} is not an author URN`, { provider: PROVIDER, reason: 'bad_author' });
  // No threads on LinkedIn: an answer to a post is a comment under it.
  if (post.replyTo) return comment(api, attempts, account, post, post.replyTo);

  const videos = post.media.filter((m) => m.mimeType.startsWith('video/'));
  if (post.media.length > 20 || (videos.length > 0 && post.media.length > 1)) {
    throw new ProviderError('permanent', 'linkedin: a post takes 1-20 images or 1 video', { provider: PROVIDER, reason: 'media_not_allowed' });
  }
  const media: { id: string; altText?: string }[] = [];
  for (const m of post.media) {
    const id = await uploadMedia(api, account.tokens, author, m);
    media.push({ id, ...(m.altText && !m.mimeType.startsWith('video/') ? { altText: m.altText } : {}) });
  }
  const content = media.length === 1 ? { content: { media: media[0] } } : media.length > 1 ? { content: { multiImage: { images: media } } } : {};
  const commentary = littleText(post.text);
  const body = {
    author, commentary, visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
    lifecycleState: 'PUBLISHED', isReshareDisabledByAuthor: false, ...content,
  };
  // Written down before the request goes out, so that a crash during it still leaves the record.
  const earlier = await attempts.get(author, post.marker);
  await attempts.record(author, post.marker, { commentary, author });
  const res = await api.send({ method: 'POST', url: `${api.base}/rest/posts`, operation: 'publish', headers: api.rest(account.tokens), body, retryUnsent: true }, true);
  // The same marker was sent before and LinkedIn names the post it duplicates: that is the earlier send.
  const dup = duplicateOf(res);
  if (dup && earlier) return { remoteId: dup, url: postUrl(dup) };
  if (res.status < 200 || res.status >= 300) throw api.fail('publish', res, true);
  // 201 with an empty body; the post URN is in x-restli-id.
  const urn = res.headers['x-restli-id'];
  if (!urn || !/^urn:li:/.test(urn)) throw malformed(PROVIDER, 'publish', true);
  return { remoteId: urn, url: postUrl(urn) };
}

/** A comment on a post (AllIN's "first comment"): plain text, not Little Text Format. */
async function comment(api: LinkedInApi, attempts: Attempts, account: AccountRef, post: PublishRequest, parent: string): Promise<PublishedPost> {
  if (post.media.length > 0) {
    throw new ProviderError('permanent', 'linkedin: a comment is text only here (media in comments is not part of the documented flow AllIN uses)', { provider: PROVIDER, reason: 'media_not_allowed' });
  }
  await attempts.record(account.externalId, post.marker, { commentary: post.text, replyTo: parent, author: account.externalId });
  const res = await api.call({
    method: 'POST', url: `${api.base}/rest/socialActions/${encodeURIComponent(parent)}/comments`, operation: 'publish', headers: api.rest(account.tokens),
    body: { actor: account.externalId, object: parent, message: { text: post.text } }, retryUnsent: true,
  }, true);
  let id = res.headers['x-restli-id'];
  if (!id && res.text) {
    const body = api.read<{ commentUrn?: string; id?: string }>(res, 'publish', true);
    id = body.commentUrn ?? body.id;
  }
  if (!id) throw malformed(PROVIDER, 'publish', true);
  return { remoteId: id, url: postUrl(parent) };
}

export async function postStatistics(api: LinkedInApi, account: AccountRef, remoteId: string): Promise<PostMetrics> {
  if (!isOrganization(account.externalId)) {
    // Member post analytics need r_member_postAnalytics, which AllIN does not request (its own product).
    throw new ProviderError('permanent', 'linkedin: statistics of a member\'s posts need the r_member_postAnalytics scope, which AllIN does not request', { provider: PROVIDER, reason: 'scope_not_granted' });
  }
  const list = remoteId.startsWith('urn:li:ugcPost:') ? 'ugcPosts' : 'shares';
  const q = `q=organizationalEntity&organizationalEntity=${encodeURIComponent(account.externalId)}&${list}=List(${encodeURIComponent(remoteId)})`;
  const res = await api.call({ method: 'GET', url: `${api.base}/rest/organizationalEntityShareStatistics?${q}`, operation: 'metrics', headers: api.rest(account.tokens) });
  const els = api.read<{ elements?: { totalShareStatistics?: Record<string, number> }[] }>(res, 'metrics').elements;
  if (!Array.isArray(els)) throw malformed(PROVIDER, 'metrics', false);
  // No element: LinkedIn has no figures for the post (yet); none are invented.
  const s = els[0]?.totalShareStatistics ?? {};
  return postMetrics({ likes: s.likeCount, replies: s.commentCount, reposts: s.shareCount, impressions: s.impressionCount });
}
