// A YouTube target's options, checked by one pure function when the post is saved (src/modules/posts/validate.ts, also
// in the composer) and again before uploading. The post's text is the video's description; the options carry the rest
// of the video resource (https://developers.google.com/youtube/v3/docs/videos#resource):
//   title          snippet.title, required: at most 100 characters, no < or >
//   tags           snippet.tags: 500 characters in all (commas between tags counted, a tag with a space counted with
//                  its quotes: UNCONFIRMED how YouTube counts, this is the stricter reading)
//   categoryId     snippet.categoryId (https://developers.google.com/youtube/v3/docs/videoCategories), default 22
//   privacy        status.privacyStatus: public, unlisted or private (default public)
//   publishAt      status.publishAt: YouTube makes the video public then; only with privacy private
//   madeForKids    status.selfDeclaredMadeForKids (the channel's default when absent)
//   short          the video is a Short: at most 3 minutes and square or vertical; YouTube decides by the video itself,
//                  this only has AllIN check it fits (https://support.google.com/youtube/answer/15424877)
//   notifySubscribers  videos.insert's notifySubscribers (default true)
// Pure: no imports, so the web app runs it too.

export interface YouTubeOptions {
  title: string;
  tags?: string[];
  categoryId: string;
  privacy: 'public' | 'unlisted' | 'private';
  publishAt?: string;
  madeForKids?: boolean;
  short?: boolean;
  notifySubscribers?: boolean;
}

export const YOUTUBE_OPTION_KEYS = ['title', 'tags', 'categoryId', 'privacy', 'publishAt', 'madeForKids', 'short', 'notifySubscribers'] as const;
export const PRIVACY = ['public', 'unlisted', 'private'] as const;
export const MAX_TITLE = 100;
export const MAX_DESCRIPTION_BYTES = 5000;
export const MAX_TAGS_CHARS = 500;
/** People & Blogs, the category Google's own upload samples use when none is given. */
export const DEFAULT_CATEGORY = '22';
/** Shorts: up to three minutes, square or vertical (https://support.google.com/youtube/answer/15424877). */
export const SHORT_MAX_SECONDS = 180;

const ANGLE = /[<>]/;

/** Characters the tags take as YouTube counts them: commas between, quotes around a tag with a space. */
export function tagsLength(tags: string[]): number {
  return tags.reduce((n, t) => n + [...t].length + (/\s/.test(t) ? 2 : 0), 0) + Math.max(0, tags.length - 1);
}

/** Bytes of the description in UTF-8 (YouTube's limit is in bytes). */
export function descriptionBytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Problems with the description (the post's text). */
export function youtubeDescriptionProblems(text: string): string[] {
  const out: string[] = [];
  const bytes = descriptionBytes(text);
  if (bytes > MAX_DESCRIPTION_BYTES) out.push(`the description (the post's text) holds at most ${MAX_DESCRIPTION_BYTES} bytes in UTF-8; this is ${bytes}`);
  if (ANGLE.test(text)) out.push('the description (the post\'s text) may not contain < or >');
  return out;
}

export function youtubeOptionProblems(options: Record<string, unknown> | undefined, now = Date.now()): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(YOUTUBE_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (YouTube takes ${YOUTUBE_OPTION_KEYS.join(', ')})`);
  if (typeof o.title !== 'string' || o.title.trim() === '') out.push('title is required: a YouTube video has a title');
  else {
    if ([...o.title.trim()].length > MAX_TITLE) out.push(`the title holds at most ${MAX_TITLE} characters`);
    if (ANGLE.test(o.title)) out.push('the title may not contain < or >');
  }
  if (o.tags !== undefined) {
    if (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string' || t.trim() === '' || ANGLE.test(t) || t.includes(','))) out.push('tags is a list of words or phrases (no commas, < or >)');
    else if (tagsLength((o.tags as string[]).map((t) => t.trim())) > MAX_TAGS_CHARS) out.push(`the tags take at most ${MAX_TAGS_CHARS} characters in all (commas between them and quotes around a tag with a space count)`);
  }
  if (o.categoryId !== undefined && (typeof o.categoryId !== 'string' || !/^\d{1,4}$/.test(o.categoryId))) out.push('categoryId is a YouTube video category\'s id (a number, e.g. 22 for People & Blogs)');
  if (o.privacy !== undefined && !(PRIVACY as readonly unknown[]).includes(o.privacy)) out.push(`privacy is one of ${PRIVACY.join(', ')}`);
  if (o.publishAt !== undefined) {
    const at = typeof o.publishAt === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(o.publishAt) ? Date.parse(o.publishAt) : NaN;
    if (!Number.isFinite(at)) out.push('publishAt is a time with its zone (ISO 8601, e.g. 2027-01-31T09:00:00Z)');
    else if (at <= now) out.push('publishAt is in the past: YouTube publishes a scheduled video at a future time');
    if (o.privacy !== undefined && o.privacy !== 'private') out.push('a scheduled video (publishAt) is uploaded private until then: set privacy to private or leave it out');
  }
  for (const k of ['madeForKids', 'short', 'notifySubscribers'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') out.push(`${k} is true or false`);
  return out;
}

/** What a Short must be: at most 3 minutes, square or vertical; the facts not known are not held against it. */
export function youtubeShortProblems(video: { width?: number | null; height?: number | null; durationSeconds?: number | null }): string[] {
  const out: string[] = [];
  if (video.durationSeconds != null && video.durationSeconds > SHORT_MAX_SECONDS) out.push(`a Short lasts at most ${SHORT_MAX_SECONDS} seconds; this video is ${Math.ceil(video.durationSeconds)} seconds (leave "short" off to upload it as a video)`);
  if (video.width && video.height && video.width > video.height) out.push(`a Short is square or vertical; this video is ${video.width}×${video.height}`);
  return out;
}

export function readYouTubeOptions(options: Record<string, unknown> | undefined): YouTubeOptions {
  const o = options ?? {};
  const publishAt = typeof o.publishAt === 'string' ? new Date(o.publishAt).toISOString() : undefined;
  return {
    title: String(o.title).trim(),
    ...(Array.isArray(o.tags) && o.tags.length > 0 ? { tags: (o.tags as string[]).map((t) => t.trim()) } : {}),
    categoryId: typeof o.categoryId === 'string' ? o.categoryId : DEFAULT_CATEGORY,
    privacy: publishAt ? 'private' : (o.privacy as YouTubeOptions['privacy'] | undefined) ?? 'public',
    ...(publishAt ? { publishAt } : {}),
    ...(typeof o.madeForKids === 'boolean' ? { madeForKids: o.madeForKids } : {}),
    ...(o.short === true ? { short: true } : {}),
    ...(o.notifySubscribers === false ? { notifySubscribers: false } : {}),
  };
}
