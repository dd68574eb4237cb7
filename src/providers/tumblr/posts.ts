// Publishing an NPF post (POST /v2/blog/{blog-identifier}/posts,
// https://www.tumblr.com/docs/en/api/v2#posts---createreblog-a-post-neue-post-format) on the blog the options name, or
// the user's primary blog (GET /v2/user/info lists the blogs the user may post to):
// - the text's paragraphs are text blocks (subtype quote when the options say the text is a quotation, then the
//   source as a plain text block); the link option is a link block; images and a video are image and video blocks
//   whose bytes travel in the same request: a multipart form whose `json` part holds the parameters and whose other
//   parts are named by each block's media `identifier` (User Uploaded Media);
// - tags (comma-separated), state (published, queue, draft, private) and publish_on (with state queue) as given.
// What is sent is written in the send journal before the post is asked for (reconcile.ts reads it).
// Figures: GET /v2/blog/{blog}/notes?id=&mode=conversation (total_likes, total_reblogs; replies counted when the
// conversation fits one page). Account figures, of the primary blog: GET /v2/blog/{blog}/followers (total_users),
// GET /v2/blog/{blog}/info (posts) and the user's following (GET /v2/user/info).
import { accountFigures } from '../account-metrics.ts';
import { malformed } from '../errors.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { ProviderError, type AccountMetricsAnswer, type AccountRef, type MediaItem, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { PROVIDER, type TumblrApi } from './api.ts';
import { readTumblrOptions, tumblrEmptyProblems, tumblrMediaProblems, tumblrOptionProblems, tumblrParagraphs, tumblrTextProblems } from './options.ts';
import { postUrl, remoteIdOf, type SentTumblrPost } from './reconcile.ts';

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Tumblr: ${why}`, { provider: PROVIDER, reason });
const POST_ID = /^\d{1,25}$/;

export interface TumblrBlog { name: string; uuid?: string; primary: boolean; title?: string; url?: string }
export interface TumblrUser { name: string; following?: number; blogs: TumblrBlog[] }

/** GET /v2/user/info: the user and the blogs they may post to. */
export async function userInfo(api: TumblrApi, token: string, operation = 'user_info'): Promise<TumblrUser> {
  const r = await api.get<{ user?: { name?: unknown; following?: unknown; blogs?: Record<string, unknown>[] } }>(token, '/user/info', operation);
  const u = r.user;
  if (!u || typeof u.name !== 'string' || !Array.isArray(u.blogs)) throw malformed(PROVIDER, operation, false);
  const blogs = u.blogs.filter((b) => typeof b.name === 'string' && b.name !== '').map((b) => ({
    name: b.name as string, primary: b.primary === true,
    ...(typeof b.uuid === 'string' && b.uuid !== '' ? { uuid: b.uuid } : {}),
    ...(typeof b.title === 'string' ? { title: b.title } : {}), ...(typeof b.url === 'string' ? { url: b.url } : {}),
  }));
  return { name: u.name, ...(typeof u.following === 'number' ? { following: u.following } : {}), blogs };
}

/** The blog named (by name or uuid, case not minded), or the primary one. */
export function pickBlog(user: TumblrUser, wanted: string | undefined): TumblrBlog {
  const w = wanted?.toLowerCase().replace(/\.tumblr\.com$/, '');
  const blog = w === undefined ? user.blogs.find((b) => b.primary) ?? user.blogs[0] : user.blogs.find((b) => b.name.toLowerCase() === w || b.uuid?.toLowerCase() === w);
  if (!blog) throw refuse(wanted === undefined ? 'the account has no blog to post to' : `the account cannot post to a blog named "${wanted.slice(0, 80)}" (its blogs: ${user.blogs.map((b) => b.name).join(', ').slice(0, 200)})`, 'blog_not_found');
  return blog;
}

const id = (b: TumblrBlog) => b.uuid ?? b.name;

export function tumblrPosts(api: TumblrApi, sent: SentPosts<SentTumblrPost>) {
  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.replyTo) throw refuse('AllIN does not post Tumblr threads or first comments (the API has no replies); remove them', 'no_threads');
      const problems = [...tumblrOptionProblems(post.options), ...tumblrTextProblems(post.text), ...tumblrMediaProblems(post.media), ...tumblrEmptyProblems(post.text, post.options, post.media.length)];
      if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
      const o = readTumblrOptions(post.options);
      const token = account.tokens.accessToken;
      const earlier = await sent.get(account.externalId, post.marker);
      // A retry of the same marker naming the same blog posts where the first try did.
      let blog = earlier && earlier.blogQuery === (o.blog ?? '') ? { id: earlier.blog, name: earlier.blogName } : undefined;
      if (!blog) {
        const b = pickBlog(await userInfo(api, token, 'blogs'), o.blog);
        blog = { id: id(b), name: b.name };
      }

      const paragraphs = tumblrParagraphs(post.text);
      const texts = [...paragraphs, ...(o.quote && o.quoteSource ? [`— ${o.quoteSource}`] : [])];
      const images = post.media.filter((m) => m.mimeType.startsWith('image/'));
      const video = post.media.find((m) => m.mimeType.startsWith('video/'));
      const state = o.state ?? 'published';
      const record: SentTumblrPost = { blogQuery: o.blog ?? '', blog: blog.id, blogName: blog.name, state, texts, tags: o.tags ?? [], link: o.link ?? '', images: images.length, videos: video ? 1 : 0 };
      await sent.record(account.externalId, post.marker, record);

      const media: { identifier: string; item: MediaItem }[] = [];
      const mediaObject = (m: MediaItem) => {
        const identifier = `media-${media.length}`;
        media.push({ identifier, item: m });
        return { type: m.mimeType, identifier, ...(m.width && m.height ? { width: m.width, height: m.height } : {}) };
      };
      const content: Record<string, unknown>[] = [];
      const textBlocks = paragraphs.map((t) => ({ type: 'text', text: t, ...(o.quote ? { subtype: 'quote' } : {}) }));
      if (o.quote) content.push(...textBlocks, ...(o.quoteSource ? [{ type: 'text', text: `— ${o.quoteSource}` }] : []));
      for (const m of images) content.push({ type: 'image', media: [mediaObject(m)], ...(m.altText ? { alt_text: m.altText.slice(0, 4096) } : {}) });
      if (video) content.push({ type: 'video', provider: 'tumblr', media: mediaObject(video) });
      if (o.link) content.push({ type: 'link', url: o.link });
      if (!o.quote) content.push(...textBlocks);
      const params = { content, state, ...(o.publishOn ? { publish_on: o.publishOn } : {}), ...(o.tags ? { tags: o.tags.join(',') } : {}) };

      let body: unknown = params;
      if (media.length > 0) {
        const form = new FormData();
        form.set('json', new Blob([JSON.stringify(params)], { type: 'application/json' }));
        for (const m of media) form.set(m.identifier, new Blob([await m.item.read()], { type: m.item.mimeType }), m.identifier);
        body = form;
      }
      const r = await api.post<{ id?: unknown }>(token, `/blog/${encodeURIComponent(blog.id)}/posts`, body, 'post_create', true);
      const postId = typeof r.id === 'string' ? r.id : typeof r.id === 'number' ? String(r.id) : '';
      if (!POST_ID.test(postId)) throw malformed(PROVIDER, 'post_create', true);
      return { remoteId: remoteIdOf(blog.id, postId), ...(state === 'published' || state === 'private' ? { url: postUrl(blog.name, postId) } : {}) };
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const cut = remoteId.lastIndexOf('/');
      const blog = remoteId.slice(0, cut);
      const postId = remoteId.slice(cut + 1);
      if (cut <= 0 || !POST_ID.test(postId)) throw refuse(`"${remoteId.slice(0, 60)}" is not a Tumblr post id (blog/post)`, 'bad_remote_id');
      const r = await api.get<{ notes?: { type?: unknown }[]; total_likes?: unknown; total_reblogs?: unknown; _links?: { next?: unknown } }>(account.tokens.accessToken, `/blog/${encodeURIComponent(blog)}/notes?id=${postId}&mode=conversation`, 'metrics');
      const n = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
      // Replies are counted only when the whole conversation is on this page (no next link): a partial count would mislead.
      const replies = r._links?.next ? undefined : (r.notes ?? []).filter((x) => x.type === 'reply').length;
      return postMetrics({ likes: n(r.total_likes), reposts: n(r.total_reblogs), replies });
    },

    async accountMetrics(account: AccountRef): Promise<AccountMetricsAnswer> {
      const token = account.tokens.accessToken;
      const blog = encodeURIComponent(account.externalId);
      const [followers, info, user] = await Promise.all([
        api.get<{ total_users?: unknown }>(token, `/blog/${blog}/followers?limit=1`, 'account_metrics'),
        api.get<{ blog?: { posts?: unknown } }>(token, `/blog/${blog}/info`, 'account_metrics'),
        userInfo(api, token, 'account_metrics'),
      ]);
      return { now: accountFigures({ followers: followers.total_users, following: user.following, posts: info.blog?.posts }), days: [] };
    },
  };
}
