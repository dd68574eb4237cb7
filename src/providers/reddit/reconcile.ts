// Finding a Reddit post or comment again after an unknown outcome, and an image post after it was submitted (its
// answer names no post: Reddit makes it once the image is processed, UNCONFIRMED how long). Reddit has no
// idempotency key, so what is sent is written in the send journal first, and the account's own newest submissions
// (GET /user/{username}/submitted, sort=new) or comments (GET /user/{username}/comments) are read back
// (https://www.reddit.com/dev/api#GET_user_{username}_{where}), matched by subreddit and title (or parent and text),
// made since the first send. A listing holds the newest 100 a page; pages are read until they are older than the
// send; past 3 pages the outcome is not decided (unknown_outcome), never "not found".
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import type { RedditApi } from './api.ts';
import { PROVIDER } from './errors.ts';

export interface SentThing {
  kind: 'post' | 'comment';
  subreddit?: string;
  title?: string;
  /** The comment's parent's fullname (t3_… or t1_…). */
  parent?: string;
  text?: string;
}

interface Child { kind?: string; data?: { name?: string; subreddit?: string; title?: string; parent_id?: string; body?: string; created_utc?: number; permalink?: string } }

const SKEW_MS = 2 * 60_000;
const PAGES = 3;

export const permalink = (p: string | undefined): string | undefined => (p && p.startsWith('/') ? `https://www.reddit.com${p}` : undefined);

/** The thing sent (by what was recorded), made since `from` (ms); null when the listing was read past `from` without it. */
export async function searchOwn(api: RedditApi, account: AccountRef, sent: SentThing, from: number): Promise<PublishedPost | null> {
  const user = encodeURIComponent(typeof account.data.name === 'string' ? account.data.name : account.username);
  const where = sent.kind === 'post' ? 'submitted' : 'comments';
  let after = '';
  for (let page = 0; page < PAGES; page++) {
    const { body } = await api.get<{ data?: { children?: Child[]; after?: string | null } }>(account.tokens.accessToken,
      `/user/${user}/${where}?sort=new&limit=100&raw_json=1${after ? `&after=${encodeURIComponent(after)}` : ''}`, 'find_post');
    const children = body.data?.children ?? [];
    for (const c of children) {
      const d = c.data ?? {};
      if ((d.created_utc ?? 0) * 1000 < from) continue;
      const hit = sent.kind === 'post'
        ? d.subreddit?.toLowerCase() === sent.subreddit?.toLowerCase() && d.title === sent.title
        : d.parent_id === sent.parent && d.body === sent.text;
      if (hit && d.name) {
        const url = permalink(d.permalink);
        return { remoteId: d.name, ...(url ? { url } : {}) };
      }
    }
    after = body.data?.after ?? '';
    const oldest = children.at(-1)?.data?.created_utc;
    if (!after || children.length === 0 || (oldest !== undefined && oldest * 1000 < from)) return null;
  }
  throw new ProviderError('unknown_outcome', `Reddit: the account made more than ${PAGES * 100} ${where === 'submitted' ? 'posts' : 'comments'} since the send; the outcome cannot be established`, { provider: PROVIDER, reason: 'cannot_reconcile' });
}

export async function findByMarker(api: RedditApi, sent: SentPosts<SentThing>, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const record = await sent.get(account.externalId, marker);
  if (!record) return null;
  return searchOwn(api, account, record, Math.min(since.getTime(), record.firstSentAt) - SKEW_MS);
}
