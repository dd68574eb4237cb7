// Finding a post again after an unknown outcome (docs/NETWORKS.md, Network facts: X). X has no idempotency
// key and no client field that comes back on a post, and the text must go out exactly as the user wrote it
// (no invisible marker). So what was sent is written down per account and marker before sending
// (attempts.ts), and the post is looked for on the account's own timeline (GET /2/users/{id}/tweets:
// https://docs.x.com/x-api/users/get-posts): the same text, compared after undoing what X does to text (t.co
// links, the trailing media link, HTML entities), created inside the window. X refuses an identical text from
// the same account as a duplicate, so at most one post can match. Only a marker with no record at all makes
// findByMarker say the outcome cannot be known (unknown_outcome).
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, postUrl, type XApi } from './api.ts';
import type { Attempt, Attempts } from './attempts.ts';

/** Clock difference allowed between AllIN and X when comparing created_at with the send time. */
const CLOCK_SKEW_MS = 2 * 60_000;
const TIMELINE_PAGES = 5;

interface XTweet {
  id: string;
  text: string;
  created_at?: string;
  referenced_tweets?: { type: string; id: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); // X documents YYYY-MM-DDTHH:mm:ssZ

/**
 * The text as X gives it back compared with the text as sent: X wraps every link (also bare domains) in
 * t.co, appends a t.co link for attached media, and escapes &, < and > as HTML entities. Links are masked
 * on both sides and trailing links dropped, so a post matches whatever X did to its links.
 */
export function comparableText(text: string, fromX: boolean): string {
  let s = text.normalize('NFC').replace(/\r\n?/g, '\n');
  if (fromX) s = s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  // Each link becomes U+FFFC (object replacement character), which a written post does not contain.
  s = s.replace(/\bhttps?:\/\/\S+|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}(?:\/\S*)?/gi, '\uFFFC');
  return s.replace(/(?:\s*\uFFFC)+\s*$/, '').trim();
}

export async function findByMarker(api: XApi, attempts: Attempts, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const a = await attempts.get(account.externalId, marker);
  if (!a) {
    throw new ProviderError('unknown_outcome', 'x: there is no record of what was sent under the marker, and X has no client key to search by', { provider: PROVIDER, reason: 'no_record_of_marker' });
  }
  return search(api, account, a, since);
}

/** The post sent under an attempt, looked for on the account's own timeline. */
export async function search(api: XApi, account: AccountRef, a: Attempt & { firstSentAt: number }, since: Date): Promise<PublishedPost | null> {
  const from = Math.min(since.getTime(), a.firstSentAt) - CLOCK_SKEW_MS;
  const want = comparableText(a.text, false);
  const hits: XTweet[] = [];
  let token: string | undefined;
  for (let page = 0; page < TIMELINE_PAGES; page++) {
    // Replies are kept (a thread part is a reply); reposts cannot carry our text.
    const q = new URLSearchParams({ max_results: '100', exclude: 'retweets', 'tweet.fields': 'created_at,referenced_tweets', start_time: iso(from) });
    if (token) q.set('pagination_token', token);
    const res = await api.call({
      method: 'GET', url: `${api.base}/2/users/${encodeURIComponent(account.externalId)}/tweets?${q}`, operation: 'find_post', headers: api.bearer(account.tokens),
    });
    const body = api.read<{ data?: XTweet[]; meta?: { next_token?: string } }>(res, 'find_post');
    for (const t of body.data ?? []) {
      if (typeof t?.text !== 'string' || comparableText(t.text, true) !== want) continue;
      if (a.replyTo && !t.referenced_tweets?.some((r) => r.type === 'replied_to' && r.id === a.replyTo)) continue;
      if (t.created_at && Date.parse(t.created_at) < from) continue;
      hits.push(t);
    }
    token = body.meta?.next_token;
    if (!token) break;
  }
  // The earliest match is the first accepted attempt.
  hits.sort((x, y) => Date.parse(x.created_at ?? '') - Date.parse(y.created_at ?? ''));
  const hit = hits[0];
  return hit ? { remoteId: hit.id, url: postUrl(account.username, hit.id) } : null;
}
