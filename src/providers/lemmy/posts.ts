// Publishing to Lemmy: a post (POST /api/v3/post: name = the title, community_id, body = the text, url, nsfw)
// to a community found by name (GET /api/v3/community?name=), and comments (POST /api/v3/comment: content,
// post_id, parent_id) for a first comment and for a thread's next parts, each answering the part before.
// One image may go with a post: uploaded to the instance's pict-rs (POST /pictrs/image, multipart `images[]`,
// answered {files: [{file}]}) and used as the post's url; images in a comment are Markdown images.
// Lemmy has no idempotency key, so what is sent is written in the send journal first and, after an unknown
// outcome, looked for among the person's newest posts or comments (GET /api/v3/user?person_id=&sort=New),
// by community and title or by post, parent and text, published since the first send.
// Metrics: the post's (or comment's) counts: upvotes, comments (child_count for a comment).
// (https://join-lemmy.org/api/classes/LemmyHttp.html#createPost, #createComment, #getCommunity,
// #getPersonDetails, #getPost, #getComment, #uploadImage; https://join-lemmy.org/docs/contributors/04-api.html)
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { countText } from '../text.ts';
import { ProviderError, type AccountRef, type MediaItem, type PostMetrics, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import { lemmyDate, PROVIDER, requireHost, type LemmyApi } from './api.ts';
import { lemmyOptionProblems, readLemmyOptions } from './options.ts';

export type SentLemmy =
  | { kind: 'post'; communityId: number; title: string; body: string; url?: string }
  | { kind: 'comment'; postId: number; parentId?: number; content: string };

interface PostView { post?: { id?: unknown; name?: unknown; body?: unknown; ap_id?: unknown; community_id?: unknown; published?: unknown }; counts?: { comments?: unknown; upvotes?: unknown; score?: unknown } }
interface CommentView { comment?: { id?: unknown; content?: unknown; ap_id?: unknown; post_id?: unknown; path?: unknown; published?: unknown }; counts?: { upvotes?: unknown; child_count?: unknown } }

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Lemmy: ${why}`, { provider: PROVIDER, reason });
/** A few seconds' leeway between AllIN's clock and the instance's. */
const SKEW_MS = 120_000;

/** `post/<id>` or `comment/<post id>/<comment id>`: what a reply needs to know about its parent. */
export type LemmyRef = { post: number; comment?: number };
export function parseRef(remoteId: string): LemmyRef {
  const p = /^post\/(\d{1,12})$/.exec(remoteId);
  if (p) return { post: Number(p[1]) };
  const c = /^comment\/(\d{1,12})\/(\d{1,12})$/.exec(remoteId);
  if (c) return { post: Number(c[1]), comment: Number(c[2]) };
  throw refuse(`"${remoteId.slice(0, 40)}" is not a Lemmy post or comment id`, 'bad_id');
}
export const postRef = (id: number) => `post/${id}`;
export const commentRef = (postId: number, id: number) => `comment/${postId}/${id}`;

/** The parent of a comment by its path ("0.<ancestors>.<id>"): a comment id, or none when it answers the post. */
export function parentOf(path: unknown): number | undefined {
  if (typeof path !== 'string') return undefined;
  const ids = path.split('.').slice(1);
  return ids.length >= 2 ? Number(ids[ids.length - 2]) : undefined;
}

export function lemmyPosts(api: LemmyApi, limits: ProviderLimits, sent: SentPosts<SentLemmy>) {
  async function upload(host: string, account: AccountRef, m: MediaItem): Promise<string> {
    const form = new FormData();
    form.append('images[]', new Blob([new Uint8Array(await m.read())], { type: m.mimeType }), `image.${m.mimeType.split('/')[1] ?? 'bin'}`);
    const res = await api.call({ method: 'POST', url: `${api.base(host)}/pictrs/image`, operation: 'uploadImage', headers: api.bearer(account.tokens), body: form, media: true });
    const file = api.read<{ files?: { file?: unknown }[] }>(res, 'uploadImage').files?.[0]?.file;
    if (typeof file !== 'string' || !/^[A-Za-z0-9._-]+$/.test(file)) throw new ProviderError('transient', 'Lemmy: the image upload answered without the file it stored', { provider: PROVIDER, reason: 'malformed_response' });
    return `${api.base(host)}/pictrs/image/${file}`;
  }

  function checkMedia(media: MediaItem[], isPost: boolean): void {
    if (isPost && media.length > 1) throw refuse('a Lemmy post carries one image (its link); put more in a comment');
    if (media.length > limits.media.maxCount) throw refuse(`at most ${limits.media.maxCount} images`);
    for (const [i, m] of media.entries()) {
      if (!limits.media.imageTypes.includes(m.mimeType)) throw refuse(`item ${i + 1} is ${m.mimeType}; Lemmy takes images (${limits.media.imageTypes.join(', ')})`);
      if (m.bytes > limits.media.maxImageBytes) throw refuse(`image ${i + 1} is ${m.bytes} bytes; AllIN uploads at most ${limits.media.maxImageBytes} (instances set their own limit)`);
    }
  }

  async function communityId(host: string, account: AccountRef, name: string): Promise<number> {
    const res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v3/community?name=${encodeURIComponent(name)}`, operation: 'getCommunity', headers: api.bearer(account.tokens) });
    if (res.status === 404 || (res.status === 400 && /couldnt_find_community/.test(res.text))) throw refuse(`the community "${name}" is not known to ${host} (for another instance's community, write name@instance)`, 'community_not_found');
    if (res.status < 200 || res.status >= 300) throw api.fail('getCommunity', res);
    const c = api.read<{ community_view?: { community?: { id?: unknown; deleted?: unknown; removed?: unknown } } }>(res, 'getCommunity').community_view?.community;
    if (!c || typeof c.id !== 'number') throw new ProviderError('transient', 'Lemmy: the community answer has no id', { provider: PROVIDER, reason: 'malformed_response' });
    if (c.deleted === true || c.removed === true) throw refuse(`the community "${name}" was deleted or removed`, 'community_gone');
    return c.id;
  }

  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const host = requireHost(account.host);
      const isPost = post.replyTo === undefined;
      const length = countText(limits.textCounting, post.text);
      if (length > limits.maxTextLength) throw refuse(`the text is ${length} characters; AllIN sends at most ${limits.maxTextLength}`);
      checkMedia(post.media, isPost);
      let record: SentLemmy;
      if (isPost) {
        const problems = lemmyOptionProblems(post.options);
        if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
        const o = readLemmyOptions(post.options);
        if (o.url && post.media.length > 0) throw refuse('a Lemmy post has one link: either the url option or an image, not both');
        const cid = await communityId(host, account, o.community);
        const url = post.media[0] ? await upload(host, account, post.media[0]) : o.url;
        record = { kind: 'post', communityId: cid, title: o.title, body: post.text, ...(url ? { url } : {}) };
        await sent.record(account.externalId, post.marker, record);
        const res = await api.call({
          method: 'POST', url: `${api.base(host)}/api/v3/post`, operation: 'createPost', headers: api.bearer(account.tokens),
          body: { name: o.title, community_id: cid, ...(post.text !== '' ? { body: post.text } : {}), ...(url ? { url } : {}), ...(o.nsfw ? { nsfw: true } : {}) },
        }, true);
        const p = api.read<{ post_view?: PostView }>(res, 'createPost', true).post_view?.post;
        if (!p || typeof p.id !== 'number') throw new ProviderError('unknown_outcome', 'Lemmy: createPost answered without the post', { provider: PROVIDER, reason: 'malformed_response' });
        return { remoteId: postRef(p.id), ...(typeof p.ap_id === 'string' ? { url: p.ap_id } : {}) };
      }
      if (post.text.trim() === '' && post.media.length === 0) throw refuse('the comment is empty');
      const parent = parseRef(post.replyTo!);
      const images: string[] = [];
      for (const m of post.media) images.push(`![${(m.altText ?? '').replace(/[[\]]/g, '')}](${await upload(host, account, m)})`);
      const content = [post.text, ...images].filter((s) => s !== '').join('\n\n');
      record = { kind: 'comment', postId: parent.post, ...(parent.comment !== undefined ? { parentId: parent.comment } : {}), content };
      await sent.record(account.externalId, post.marker, record);
      const res = await api.call({
        method: 'POST', url: `${api.base(host)}/api/v3/comment`, operation: 'createComment', headers: api.bearer(account.tokens),
        body: { content, post_id: parent.post, ...(parent.comment !== undefined ? { parent_id: parent.comment } : {}) },
      }, true);
      const c = api.read<{ comment_view?: CommentView }>(res, 'createComment', true).comment_view?.comment;
      if (!c || typeof c.id !== 'number') throw new ProviderError('unknown_outcome', 'Lemmy: createComment answered without the comment', { provider: PROVIDER, reason: 'malformed_response' });
      return { remoteId: commentRef(parent.post, c.id), ...(typeof c.ap_id === 'string' ? { url: c.ap_id } : {}) };
    },

    /**
     * After an unknown outcome: nothing in the journal means nothing was sent. Otherwise the person's newest
     * posts and comments on the instance (where it was created, so no federation delay) are matched against
     * what was sent, published since the first send. Found: that one; not among them: it was not created.
     */
    async findByMarker(account: AccountRef, marker: string): Promise<PublishedPost | null> {
      const record = await sent.get(account.externalId, marker);
      if (!record) return null;
      const host = requireHost(account.host);
      const q = new URLSearchParams({ person_id: account.externalId, sort: 'New', limit: '50', page: '1' });
      const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v3/user?${q.toString()}`, operation: 'getPersonDetails', headers: api.bearer(account.tokens) });
      const body = api.read<{ posts?: PostView[]; comments?: CommentView[] }>(res, 'getPersonDetails');
      const since = record.firstSentAt - SKEW_MS;
      const recent = (v: unknown) => (lemmyDate(v)?.getTime() ?? 0) >= since;
      if (record.kind === 'post') {
        const hit = (body.posts ?? []).map((v) => v.post).find((p) => p && p.community_id === record.communityId && p.name === record.title
          && (typeof p.body === 'string' ? p.body : '') === record.body && recent(p.published));
        return hit && typeof hit.id === 'number' ? { remoteId: postRef(hit.id), ...(typeof hit.ap_id === 'string' ? { url: hit.ap_id } : {}) } : null;
      }
      const hit = (body.comments ?? []).map((v) => v.comment).find((c) => c && c.post_id === record.postId && c.content === record.content
        && parentOf(c.path) === record.parentId && recent(c.published));
      return hit && typeof hit.id === 'number' ? { remoteId: commentRef(record.postId, hit.id), ...(typeof hit.ap_id === 'string' ? { url: hit.ap_id } : {}) } : null;
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const host = requireHost(account.host);
      const ref = parseRef(remoteId);
      if (ref.comment === undefined) {
        const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v3/post?id=${ref.post}`, operation: 'getPost', headers: api.bearer(account.tokens) });
        const counts = api.read<{ post_view?: PostView }>(res, 'getPost').post_view?.counts ?? {};
        return postMetrics({ likes: counts.upvotes, replies: counts.comments });
      }
      const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v3/comment?id=${ref.comment}`, operation: 'getComment', headers: api.bearer(account.tokens) });
      const counts = api.read<{ comment_view?: CommentView }>(res, 'getComment').comment_view?.counts ?? {};
      return postMetrics({ likes: counts.upvotes, replies: counts.child_count });
    },
  };
}
