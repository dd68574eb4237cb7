// A Tumblr target's options, text and media, checked by pure functions when the post is saved
// (src/modules/posts/validate.ts, also in the composer) and again before sending. A post is one NPF post
// (https://www.tumblr.com/docs/npf): the text's paragraphs are text blocks, the media image and video blocks, and the
// options say the rest (https://www.tumblr.com/docs/en/api/v2#posts---createreblog-a-post-neue-post-format):
//   blog         one of the user's blogs by name (or its t:… uuid); absent: the user's primary blog
//   state        published (default), queue, draft or private
//   publishOn    ISO 8601, in the future: with state queue only, when the queued post is published
//   tags         up to 30 tags, no commas, each at most 140 characters (UNCONFIRMED: not in the API reference)
//   link         a link block (http or https), Tumblr fills its card from the page's OpenGraph data
//   quote        true: the text is a quotation (text blocks of subtype quote); quoteSource names who said it
// Pure: no imports, so the web app runs it too.

export interface TumblrOptions {
  blog?: string;
  state?: TumblrState;
  publishOn?: string;
  tags?: string[];
  link?: string;
  quote?: boolean;
  quoteSource?: string;
}

export const TUMBLR_STATES = ['published', 'queue', 'draft', 'private'] as const;
export type TumblrState = (typeof TUMBLR_STATES)[number];
export const TUMBLR_OPTION_KEYS = ['blog', 'state', 'publishOn', 'tags', 'link', 'quote', 'quoteSource'] as const;
/** A text block holds at most 4,096 code points (NPF spec, Post Content Limits). */
export const MAX_BLOCK = 4096;
/** At most 1,000 text blocks; the post's whole text AllIN takes is kept well under the 1 MB post size. */
export const MAX_TEXT = 100_000;
export const MAX_TAGS = 30;
export const MAX_TAG = 140;
export const MAX_LINK = 2048;
export const MAX_BLOG_NAME = 100;
export const MAX_QUOTE_SOURCE = 500;
/** 30 image blocks and 1 native video per post (NPF spec, Post Content Limits). */
export const MAX_IMAGES = 30;
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif'];
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime'];
/** Tumblr's help centre: images up to 20 MB (GIFs 10 MB), videos up to 500 MB and 10 minutes (UNCONFIRMED through the API). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
export const MAX_GIF_BYTES = 10 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 500 * 1024 * 1024;
export const MAX_VIDEO_SECONDS = 10 * 60;
/** How far ahead a queued post may be scheduled: AllIN's own bound (Tumblr documents none). */
export const MAX_SCHEDULE_DAYS = 365;

const isUrl = (v: unknown) => {
  if (typeof v !== 'string' || v.length > MAX_LINK) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

export function tumblrOptionProblems(options: Record<string, unknown> | undefined, now = Date.now()): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(TUMBLR_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (Tumblr takes ${TUMBLR_OPTION_KEYS.join(', ')})`);
  if (o.blog !== undefined && (typeof o.blog !== 'string' || o.blog.trim() === '' || o.blog.length > MAX_BLOG_NAME)) out.push('blog is the name of one of your blogs (as in name.tumblr.com); leave it out for your primary blog');
  if (o.state !== undefined && !(TUMBLR_STATES as readonly unknown[]).includes(o.state)) out.push(`state is one of ${TUMBLR_STATES.join(', ')}`);
  if (o.publishOn !== undefined) {
    const at = typeof o.publishOn === 'string' ? Date.parse(o.publishOn) : NaN;
    if (o.state !== 'queue') out.push('publishOn schedules a queued post: set state to queue');
    else if (!Number.isFinite(at) || !/^\d{4}-\d{2}-\d{2}T/.test(String(o.publishOn))) out.push('publishOn is a date and time in ISO 8601 (2027-01-31T09:00:00Z)');
    else if (at <= now) out.push('publishOn is in the future');
    else if (at > now + MAX_SCHEDULE_DAYS * 86_400_000) out.push(`publishOn is at most ${MAX_SCHEDULE_DAYS} days ahead`);
  }
  if (o.tags !== undefined) {
    if (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string')) out.push('tags is a list of words');
    else {
      if (o.tags.length > MAX_TAGS) out.push(`at most ${MAX_TAGS} tags; this has ${o.tags.length}`);
      for (const t of o.tags as string[]) {
        if (t.trim() === '') out.push('a tag is empty');
        else if (t.includes(',')) out.push(`a tag holds no comma ("${t.slice(0, 40)}")`);
        else if ([...t].length > MAX_TAG) out.push(`a tag holds at most ${MAX_TAG} characters`);
      }
    }
  }
  if (o.link !== undefined && !isUrl(o.link)) out.push(`link is a web address (https://…), at most ${MAX_LINK} characters`);
  if (o.quote !== undefined && typeof o.quote !== 'boolean') out.push('quote is true or false');
  if (o.quoteSource !== undefined) {
    if (o.quote !== true) out.push('quoteSource names who is quoted: set quote to true');
    else if (typeof o.quoteSource !== 'string' || [...o.quoteSource].length > MAX_QUOTE_SOURCE) out.push(`quoteSource holds at most ${MAX_QUOTE_SOURCE} characters`);
  }
  return out;
}

/** The text's paragraphs (split at blank lines), each a text block. */
export function tumblrParagraphs(text: string): string[] {
  return text.split(/\n[ \t]*\n/).map((p) => p.trim()).filter((p) => p !== '');
}

/** Problems with the text: each paragraph is one text block of at most 4,096 characters. */
export function tumblrTextProblems(text: string): string[] {
  const long = tumblrParagraphs(text).map((p) => [...p].length).filter((n) => n > MAX_BLOCK);
  return long.length > 0 ? [`a paragraph holds at most ${MAX_BLOCK} characters on Tumblr (this has one of ${long[0]}); split it with a blank line`] : [];
}

export interface MediaFact { mimeType: string; bytes: number; durationSeconds?: number | null }

/** The post's media as image and video blocks: types, sizes, at most 30 images and one video. */
export function tumblrMediaProblems(media: MediaFact[]): string[] {
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  const out: string[] = [];
  if (videos.length > 1) out.push('a Tumblr post carries one uploaded video');
  if (images.length > MAX_IMAGES) out.push(`a Tumblr post carries at most ${MAX_IMAGES} images; this has ${images.length}`);
  for (const v of videos) {
    if (!VIDEO_TYPES.includes(v.mimeType)) out.push(`Tumblr takes MP4 or MOV videos; not ${v.mimeType}`);
    if (v.bytes > MAX_VIDEO_BYTES) out.push('a video weighs at most 500 MB');
    if (v.durationSeconds != null && v.durationSeconds > MAX_VIDEO_SECONDS) out.push('a video lasts at most 10 minutes');
  }
  for (const i of images) {
    if (!IMAGE_TYPES.includes(i.mimeType)) out.push(`Tumblr takes JPEG, PNG or GIF images; not ${i.mimeType}`);
    else if (i.mimeType === 'image/gif' ? i.bytes > MAX_GIF_BYTES : i.bytes > MAX_IMAGE_BYTES) out.push(i.mimeType === 'image/gif' ? 'a GIF weighs at most 10 MB' : 'an image weighs at most 20 MB');
  }
  for (const m of media) if (!m.mimeType.startsWith('image/') && !m.mimeType.startsWith('video/')) out.push(`Tumblr posts carry images and videos; not ${m.mimeType}`);
  return out;
}

/** A post needs something to show: text, a link or media. */
export function tumblrEmptyProblems(text: string, options: Record<string, unknown> | undefined, mediaCount: number): string[] {
  return text.trim() === '' && mediaCount === 0 && options?.link === undefined ? ['a Tumblr post needs text, a link or media'] : [];
}

export function readTumblrOptions(options: Record<string, unknown> | undefined): TumblrOptions {
  const o = options ?? {};
  return {
    ...(typeof o.blog === 'string' && o.blog.trim() !== '' ? { blog: o.blog.trim() } : {}),
    ...(typeof o.state === 'string' ? { state: o.state as TumblrState } : {}),
    ...(typeof o.publishOn === 'string' ? { publishOn: new Date(o.publishOn).toISOString() } : {}),
    ...(Array.isArray(o.tags) && o.tags.length > 0 ? { tags: (o.tags as string[]).map((t) => t.trim()) } : {}),
    ...(typeof o.link === 'string' ? { link: o.link } : {}),
    ...(o.quote === true ? { quote: true } : {}),
    ...(typeof o.quoteSource === 'string' && o.quoteSource.trim() !== '' ? { quoteSource: o.quoteSource.trim() } : {}),
  };
}
