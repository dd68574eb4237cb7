// Finding a post again after an unknown outcome (docs/NETWORKS.md, Network facts: LinkedIn, "read back").
// LinkedIn has no idempotency key, so the post is matched against what attempts.ts wrote down: for a Page,
// its recent posts (q=author, sorted by last modification:
// https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api) or the comments
// under the post answered (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api),
// by text and creation time. For a member that listing needs r_member_social, which LinkedIn grants to select
// partners only, so the outcome stays unknown (unknown_outcome); what makes a retry safe there is LinkedIn's
// duplicate check (posts.ts takes the URN a 422 DUPLICATE_POST names as the earlier send's result).
import type { HttpResponse } from '../../infra/http/client.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, postUrl, type LinkedInApi } from './api.ts';
import type { Attempt, Attempts } from './attempts.ts';

const CLOCK_SKEW_MS = 2 * 60_000;
const LIST_PAGES = 4;
const LIST_COUNT = 50;

export async function findByMarker(api: LinkedInApi, attempts: Attempts, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const a = await attempts.get(account.externalId, marker);
  if (!a) {
    throw new ProviderError('unknown_outcome', 'linkedin: there is no record of what was sent under the marker, and LinkedIn has no client key to search by', { provider: PROVIDER, reason: 'no_record_of_marker' });
  }
  return search(api, account, a, since);
}

/** The post or comment sent under an attempt, looked for where the token may read. */
async function search(api: LinkedInApi, account: AccountRef, a: Attempt & { firstSentAt: number }, since: Date): Promise<PublishedPost | null> {
  const from = Math.min(since.getTime(), a.firstSentAt) - CLOCK_SKEW_MS;
  const refused = (res: HttpResponse) => new ProviderError('unknown_outcome',
    'linkedin: this token may not read the account\'s posts or comments (r_member_social is granted to select partners only), so the outcome cannot be established; a retry under the same marker is answered with the existing post if LinkedIn finds it a duplicate',
    { provider: PROVIDER, status: res.status, reason: 'cannot_read_back' });
  const get = async (url: string, headers: Record<string, string>) => {
    const res = await api.send({ method: 'GET', url, operation: 'find_post', headers });
    if (res.status === 403) throw refused(res);
    if (res.status < 200 || res.status >= 300) throw api.fail('find_post', res);
    return res;
  };
  if (a.replyTo) {
    for (let page = 0; page < LIST_PAGES; page++) {
      const res = await get(`${api.base}/rest/socialActions/${encodeURIComponent(a.replyTo)}/comments?start=${page * LIST_COUNT}&count=${LIST_COUNT}`, api.rest(account.tokens));
      const body = api.read<{ elements?: { actor?: string; commentUrn?: string; id?: string; message?: { text?: string }; created?: { time?: number } }[] }>(res, 'find_post');
      const els = body.elements ?? [];
      const hit = els.find((c) => c.actor === a.author && c.message?.text === a.commentary && (c.created?.time ?? Infinity) >= from);
      if (hit) return { remoteId: hit.commentUrn ?? hit.id ?? '', url: postUrl(a.replyTo) };
      if (els.length < LIST_COUNT) break;
    }
    return null;
  }
  for (let page = 0; page < LIST_PAGES; page++) {
    const q = `q=author&author=${encodeURIComponent(a.author)}&start=${page * LIST_COUNT}&count=${LIST_COUNT}&sortBy=LAST_MODIFIED`;
    const res = await get(`${api.base}/rest/posts?${q}`, { ...api.rest(account.tokens), 'x-restli-method': 'FINDER' });
    const els = api.read<{ elements?: { id?: string; commentary?: string; createdAt?: number; publishedAt?: number; lastModifiedAt?: number }[] }>(res, 'find_post').elements ?? [];
    const hit = els.find((p) => p.id && p.commentary === a.commentary && (p.createdAt ?? p.publishedAt ?? Infinity) >= from);
    if (hit?.id) return { remoteId: hit.id, url: postUrl(hit.id) };
    // Sorted by last modification, newest first: past the window, older pages cannot hold it.
    if (els.length < LIST_COUNT || els.every((p) => (p.lastModifiedAt ?? p.createdAt ?? 0) < from)) break;
  }
  return null;
}
