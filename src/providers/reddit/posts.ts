// Publishing to Reddit: a post in the subreddit the post names (POST /api/submit: kind self with the text, link with
// the url option, image with an uploaded image; title, NSFW, spoiler, flair, sendreplies:
// https://www.reddit.com/dev/api#POST_api_submit), after reading the subreddit's requirements
// (GET /api/v1/{subreddit}/post_requirements: whether a flair is required, title and body rules) and, when a flair is
// required or named, its flairs (GET /r/{subreddit}/api/link_flair_v2); a first comment and a thread's next parts are
// comments, each answering the part before (POST /api/comment). Figures: a post's or comment's score and comments
// (GET /api/info). Account figures: the subscribers of the user's profile (GET /api/v1/me, subreddit.subscribers).
import { accountFigures } from '../account-metrics.ts';
import { pollUntilReady } from '../poll.ts';
import { postMetrics } from '../post-metrics.ts';
import type { SentPosts } from '../sent-posts.ts';
import { countText } from '../text.ts';
import { ProviderError, type AccountMetricsAnswer, type AccountRef, type PostMetrics, type ProviderLimits, type PublishRequest, type PublishedPost } from '../types.ts';
import { headroom, type RedditApi } from './api.ts';
import { PROVIDER, formRefusal } from './errors.ts';
import { checkImage, uploadImage } from './media.ts';
import { readRedditOptions, redditOptionProblems, type RedditOptions } from './options.ts';
import { permalink, searchOwn, type SentThing } from './reconcile.ts';

/** A comment's text: 10,000 characters (UNCONFIRMED; Reddit's own limit, not in the API reference). */
export const MAX_COMMENT = 10_000;
const FULLNAME = /^t[13]_[a-z0-9]{1,13}$/;

interface Requirements { is_flair_required?: boolean; title_text_max_length?: number | null; title_text_min_length?: number | null; body_restriction_policy?: string }
interface Flair { id?: string; text?: string; text_editable?: boolean; mod_only?: boolean }
interface FormAnswer<T> { json?: { errors?: unknown[][]; ratelimit?: number; data?: T } }

const refuse = (why: string, reason = 'refused_before_sending') => new ProviderError('permanent', `Reddit: ${why}`, { provider: PROVIDER, reason });

function answer<T>(a: FormAnswer<T>, operation: string): T {
  const errors = a.json?.errors;
  if (Array.isArray(errors) && errors.length > 0) throw formRefusal(operation, errors, a.json?.ratelimit);
  if (!a.json?.data) throw new ProviderError('unknown_outcome', `Reddit: ${operation} answered without its result`, { provider: PROVIDER, reason: 'malformed_response' });
  return a.json.data;
}

export function redditPosts(api: RedditApi, limits: ProviderLimits, sent: SentPosts<SentThing>) {
  /** The flair to send, checked against the subreddit's: refused before sending when required and missing or unknown. */
  const flair = async (token: string, o: RedditOptions, required: boolean): Promise<Record<string, string>> => {
    if (!required && !o.flairId) return {};
    const { body } = await api.get<Flair[]>(token, `/r/${o.subreddit}/api/link_flair_v2`, 'flairs');
    const usable = (Array.isArray(body) ? body : []).filter((f) => typeof f.id === 'string' && !f.mod_only);
    const list = usable.slice(0, 20).map((f) => `${f.text ?? '(no text)'} (${f.id})`).join(', ');
    if (!o.flairId) throw refuse(`r/${o.subreddit} requires a flair; choose one (flairId): ${list || 'the subreddit offers none you may use'}`, 'flair_required');
    const f = usable.find((x) => x.id === o.flairId);
    if (!f) throw refuse(`that flair is not one r/${o.subreddit} offers you${list ? `: ${list}` : ''}`, 'bad_flair');
    if (o.flairText !== undefined && !f.text_editable) throw refuse(`the flair "${f.text ?? ''}" has a fixed text; leave flairText out`, 'bad_flair');
    return { flair_id: o.flairId, ...(o.flairText !== undefined ? { flair_text: o.flairText } : {}) };
  };

  const comment = async (account: AccountRef, post: PublishRequest, parent: string): Promise<PublishedPost> => {
    if (!FULLNAME.test(parent)) throw refuse(`"${parent.slice(0, 40)}" is not a Reddit post or comment to answer`);
    if (post.media.length > 0) throw refuse('a comment is text only here; put the image in the post', 'media_refused');
    if (post.text.trim() === '') throw refuse('the comment is empty');
    const length = countText(limits.textCounting, post.text);
    if (length > MAX_COMMENT) throw refuse(`a comment holds at most ${MAX_COMMENT} characters; this is ${length}`);
    await sent.record(account.externalId, post.marker, { kind: 'comment', parent, text: post.text });
    const a = await api.form<FormAnswer<{ things?: { data?: { name?: string; permalink?: string } }[] }>>(account.tokens.accessToken, '/api/comment', 'comment', { thing_id: parent, text: post.text }, true);
    const thing = answer(a, 'comment').things?.[0]?.data;
    if (!thing?.name) throw new ProviderError('unknown_outcome', 'Reddit: comment answered without the comment', { provider: PROVIDER, reason: 'malformed_response' });
    const url = permalink(thing.permalink);
    return { remoteId: thing.name, ...(url ? { url } : {}) };
  };

  return {
    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      if (post.replyTo) return comment(account, post, post.replyTo);
      const problems = redditOptionProblems(post.options);
      if (problems.length > 0) throw refuse(problems.join('; '), 'bad_option');
      const o = readRedditOptions(post.options);
      checkImage(post.media);
      const image = post.media[0];
      if (image && o.url) throw refuse('a post has one link: the url option or an image, not both');
      const length = countText(limits.textCounting, post.text);
      if (length > limits.maxTextLength) throw refuse(`the text is ${length} characters; Reddit takes ${limits.maxTextLength}`);
      const token = account.tokens.accessToken;

      const { body: req, res } = await api.get<Requirements>(token, `/api/v1/${o.subreddit}/post_requirements`, 'post_requirements');
      // The calls this post still needs: flairs, the image's lease and upload, the submit, and a read back for an image.
      headroom(res, 1 + (req.is_flair_required || o.flairId ? 1 : 0) + (image ? 3 : 0));
      const titleLength = [...o.title].length;
      if (typeof req.title_text_max_length === 'number' && titleLength > req.title_text_max_length) throw refuse(`r/${o.subreddit} takes titles of at most ${req.title_text_max_length} characters`);
      if (typeof req.title_text_min_length === 'number' && titleLength < req.title_text_min_length) throw refuse(`r/${o.subreddit} takes titles of at least ${req.title_text_min_length} characters`);
      if (req.body_restriction_policy === 'required' && post.text.trim() === '') throw refuse(`r/${o.subreddit} requires a body text`);
      if (req.body_restriction_policy === 'notAllowed' && post.text.trim() !== '') throw refuse(`r/${o.subreddit} takes no body text; leave the text empty (a link or an image post)`);
      const flairFields = await flair(token, o, req.is_flair_required === true);

      const kind = image ? 'image' : o.url ? 'link' : 'self';
      const url = image ? await uploadImage(api, token, image) : o.url;
      const fields: Record<string, string> = {
        sr: o.subreddit, kind, title: o.title, resubmit: 'true', sendreplies: String(o.sendReplies !== false),
        nsfw: String(o.nsfw === true), spoiler: String(o.spoiler === true), ...flairFields,
        // A link or image post's body text: UNCONFIRMED that Reddit keeps it (its submit reference names `text` for self posts).
        ...(post.text !== '' ? { text: post.text } : {}), ...(url ? { url } : {}),
      };
      const record: SentThing = { kind: 'post', subreddit: o.subreddit, title: o.title };
      // Written down before the request leaves: the evidence reconcile.ts matches after an unknown outcome.
      await sent.record(account.externalId, post.marker, record);
      const sentAt = Date.now();
      const a = await api.form<FormAnswer<{ name?: string; id?: string; url?: string; websocket_url?: string }>>(token, '/api/submit', 'submit', fields, true);
      const data = answer(a, 'submit');
      if (data.name) return { remoteId: data.name, ...(data.url ? { url: data.url } : {}) };
      if (kind !== 'image') throw new ProviderError('unknown_outcome', 'Reddit: submit answered without the post', { provider: PROVIDER, reason: 'malformed_response' });
      // An image post is made once the image is processed: found among the account's posts.
      const box: { hit: PublishedPost | null } = { hit: null };
      const seen = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 4000, deadlineMs: 20_000 }, async () => {
        box.hit = await searchOwn(api, account, record, sentAt - 60_000);
        return box.hit !== null;
      });
      if (!seen || !box.hit) throw new ProviderError('unknown_outcome', 'Reddit: the image post was accepted but has not appeared among the account\'s posts yet', { provider: PROVIDER, reason: 'not_yet_visible' });
      return box.hit;
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      if (!FULLNAME.test(remoteId)) throw refuse(`"${remoteId.slice(0, 40)}" is not a Reddit post or comment`, 'bad_remote_id');
      const { body } = await api.get<{ data?: { children?: { data?: { score?: unknown; num_comments?: unknown } }[] } }>(account.tokens.accessToken, `/api/info?id=${remoteId}&raw_json=1`, 'metrics');
      const d = body.data?.children?.[0]?.data;
      if (!d) throw refuse('the post is gone', 'not_found');
      return postMetrics({ likes: d.score, replies: d.num_comments });
    },

    async accountMetrics(account: AccountRef): Promise<AccountMetricsAnswer> {
      const { body } = await api.get<{ subreddit?: { subscribers?: unknown } }>(account.tokens.accessToken, '/api/v1/me?raw_json=1', 'account_metrics');
      return { now: accountFigures({ followers: body.subreddit?.subscribers }), days: [] };
    },
  };
}
