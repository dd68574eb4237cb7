// Finding a Tumblr post again after a create whose outcome is unknown (POST /v2/blog/{blog}/posts sent, no answer).
// Tumblr takes no idempotency key and an NPF post has no field a hidden marker could live in (text, tags, slug and
// link are all shown), so the post is matched by exactly what was sent. The rule, in order:
// 1. The send journal holds what was sent under the marker: the blog (resolved), the state, the text blocks, the tags,
//    the link, and how many images and videos. Nothing recorded: nothing was sent.
// 2. The blog's posts of that state are read: published and private ones from GET /v2/blog/{blog}/posts?npf=true
//    (newest first by publish time; private posts listed to their owner: UNCONFIRMED), 3 pages of 20, for one published
//    since two minutes before the first send; queued ones from GET …/posts/queue and drafts from GET …/posts/draft
//    (npf=true on those two: UNCONFIRMED), up to 50 and 10 pages (a queue holds at most 1,000 posts).
//    https://www.tumblr.com/docs/en/api/v2#posts--retrieve-published-posts, #postsqueue--retrieve-queued-posts,
//    #postsdraft--retrieve-draft-posts
// 3. A post matches when its text blocks hold the same texts, its tags are the same (case not minded), and it has the
//    same link and as many image and video blocks. Two identical posts sent within minutes cannot be told apart; the
//    newest is taken. Past the pages read without a match or the end of the list, the outcome stays unknown.
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, type TumblrApi } from './api.ts';
import type { TumblrState } from './options.ts';

export interface SentTumblrPost {
  /** The blog as the options named it ('' for the primary blog), to tell whether a retry names the same one. */
  blogQuery: string;
  /** The blog's identifier (its uuid when Tumblr gave one, else its name) and name. */
  blog: string;
  blogName: string;
  state: TumblrState;
  texts: string[];
  tags: string[];
  link: string;
  images: number;
  videos: number;
}

const SKEW_MS = 2 * 60_000;
const PAGE = 20;

export const postUrl = (blogName: string, id: string) => `https://www.tumblr.com/${encodeURIComponent(blogName)}/${id}`;
export const remoteIdOf = (blog: string, id: string) => `${blog}/${id}`;

interface Block { type?: unknown; text?: unknown; url?: unknown }
export interface ListedPost { id?: unknown; id_string?: unknown; timestamp?: unknown; tags?: unknown; content?: Block[] }

const norm = (tags: unknown) => (Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string').map((t) => t.toLowerCase()).sort() : []);

export function sameAsSent(p: ListedPost, rec: SentTumblrPost): boolean {
  const blocks = Array.isArray(p.content) ? p.content : [];
  const texts = blocks.filter((b) => b.type === 'text').map((b) => (typeof b.text === 'string' ? b.text : ''));
  const link = blocks.find((b) => b.type === 'link');
  return JSON.stringify(texts) === JSON.stringify(rec.texts)
    && JSON.stringify(norm(p.tags)) === JSON.stringify(norm(rec.tags))
    && (typeof link?.url === 'string' ? link.url : '') === rec.link
    && blocks.filter((b) => b.type === 'image').length === rec.images
    && blocks.filter((b) => b.type === 'video').length === rec.videos;
}

const idOf = (p: ListedPost) => (typeof p.id_string === 'string' ? p.id_string : typeof p.id === 'string' ? p.id : typeof p.id === 'number' ? String(p.id) : undefined);

export async function findByMarker(api: TumblrApi, sent: SentPosts<SentTumblrPost>, account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
  const rec = await sent.get(account.externalId, marker);
  if (!rec) return null;
  const token = account.tokens.accessToken;
  const blog = encodeURIComponent(rec.blog);
  const found = (p: ListedPost): PublishedPost => {
    const id = idOf(p)!;
    return { remoteId: remoteIdOf(rec.blog, id), ...(rec.state === 'published' || rec.state === 'private' ? { url: postUrl(rec.blogName, id) } : {}) };
  };
  if (rec.state === 'published' || rec.state === 'private') {
    const from = (Math.min(since.getTime(), rec.firstSentAt) - SKEW_MS) / 1000;
    for (let page = 0; page < 3; page++) {
      const body = await api.get<{ posts?: ListedPost[] }>(token, `/blog/${blog}/posts?npf=true&limit=${PAGE}&offset=${page * PAGE}`, 'find_post');
      const posts = body.posts ?? [];
      for (const p of posts) if (idOf(p) && typeof p.timestamp === 'number' && p.timestamp >= from && sameAsSent(p, rec)) return found(p);
      const oldest = posts.at(-1)?.timestamp;
      if (posts.length < PAGE || (typeof oldest === 'number' && oldest < from)) return null;
    }
  } else if (rec.state === 'queue') {
    // The newest queued post goes to the end of the queue: the whole queue is read and the last match taken.
    let last: ListedPost | undefined;
    for (let page = 0; page < 50; page++) {
      const body = await api.get<{ posts?: ListedPost[] }>(token, `/blog/${blog}/posts/queue?npf=true&limit=${PAGE}&offset=${page * PAGE}`, 'find_post');
      const posts = body.posts ?? [];
      last = posts.filter((p) => idOf(p) && sameAsSent(p, rec)).at(-1) ?? last;
      if (posts.length < PAGE) return last ? found(last) : null;
    }
  } else {
    let before = '';
    for (let page = 0; page < 10; page++) {
      const body = await api.get<{ posts?: ListedPost[] }>(token, `/blog/${blog}/posts/draft?npf=true${before ? `&before_id=${before}` : ''}`, 'find_post');
      const posts = body.posts ?? [];
      const hit = posts.find((p) => idOf(p) && sameAsSent(p, rec));
      if (hit) return found(hit);
      const last = posts.at(-1);
      if (posts.length === 0 || !last || !idOf(last)) return null;
      before = idOf(last)!;
    }
  }
  throw new ProviderError('unknown_outcome', `Tumblr: the blog has more ${rec.state} posts than AllIN reads to reconcile; the outcome cannot be established`, { provider: PROVIDER, reason: 'cannot_reconcile' });
}
