// A TikTok target's options and media, checked by pure functions when the post is saved
// (src/modules/posts/validate.ts, also in the composer) and again before sending. The post's text is the video's
// caption (post_info.title) or the photo post's description; the options carry the rest of post_info
// (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post,
// https://developers.tiktok.com/doc/content-posting-api-reference-photo-post):
//   mode           direct (default): published by the API (video.publish); inbox: sent to the creator's TikTok inbox
//                  as a draft the creator finishes in the app (video.upload; no privacy or interaction settings)
//   privacyLevel   required for direct posts, no default (TikTok's UX guidelines: the creator chooses it): one of the
//                  privacy_level_options creator_info answers (PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS,
//                  FOLLOWER_OF_CREATOR, SELF_ONLY). An unaudited client may post SELF_ONLY only.
//   disableComment, disableDuet, disableStitch   interaction settings (duet and stitch: videos only)
//   brandContent   brand_content_toggle: a paid partnership promoting a third party (never SELF_ONLY)
//   brandOrganic   brand_organic_toggle: promotes the creator's own business
//   title          a photo post's title, at most 90 characters (videos: the text is the caption)
//   photoCoverIndex  which photo is the cover (0-based), default 0
//   autoAddMusic   a photo post gets music added by TikTok
// Media: one video, or 1 to 35 photos (JPEG or WebP); never both.
// Pure: no imports, so the web app runs it too.

export const PRIVACY_LEVELS = ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY'] as const;
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number];

export interface TikTokOptions {
  mode: 'direct' | 'inbox';
  privacyLevel?: PrivacyLevel;
  disableComment: boolean;
  disableDuet: boolean;
  disableStitch: boolean;
  brandContent: boolean;
  brandOrganic: boolean;
  title?: string;
  photoCoverIndex: number;
  autoAddMusic: boolean;
}

export const TIKTOK_OPTION_KEYS = ['mode', 'privacyLevel', 'disableComment', 'disableDuet', 'disableStitch', 'brandContent', 'brandOrganic', 'title', 'photoCoverIndex', 'autoAddMusic'] as const;
/** The caption: 2,200 UTF-16 code units (post_info.title of a video; "runes" in the reference). */
export const MAX_CAPTION = 2200;
/** A photo post's title: 90 UTF-16 code units. */
export const MAX_PHOTO_TITLE = 90;
export const VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime'];
/** Photo posts take JPEG and WebP (not PNG). */
export const IMAGE_TYPES = ['image/jpeg', 'image/webp'];
export const MAX_VIDEO_BYTES = 4 * 1024 ** 3;
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** The longest any creator may post; creator_info's max_video_post_duration_sec says this creator's, checked before sending. */
export const MAX_VIDEO_SECONDS = 10 * 60;
export const MAX_PHOTOS = 35;

const bool = (v: unknown) => v === undefined || typeof v === 'boolean';

export function tiktokOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(TIKTOK_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (TikTok takes ${TIKTOK_OPTION_KEYS.join(', ')})`);
  if (o.mode !== undefined && o.mode !== 'direct' && o.mode !== 'inbox') out.push('mode is "direct" (published by AllIN) or "inbox" (a draft the creator finishes in TikTok)');
  const inbox = o.mode === 'inbox';
  if (!inbox && !(PRIVACY_LEVELS as readonly unknown[]).includes(o.privacyLevel)) out.push(`privacyLevel is required for a direct post: ${PRIVACY_LEVELS.join(', ')} (the creator's account offers some of them)`);
  if (inbox && o.privacyLevel !== undefined) out.push('an inbox draft has no privacyLevel: the creator chooses it in TikTok');
  for (const k of ['disableComment', 'disableDuet', 'disableStitch', 'brandContent', 'brandOrganic', 'autoAddMusic'] as const) if (!bool(o[k])) out.push(`${k} is true or false`);
  if (o.brandContent === true && o.privacyLevel === 'SELF_ONLY') out.push('branded content (brandContent) cannot be private (SELF_ONLY)');
  if (o.title !== undefined && (typeof o.title !== 'string' || o.title.length > MAX_PHOTO_TITLE)) out.push(`the title (photo posts) holds at most ${MAX_PHOTO_TITLE} characters`);
  if (o.photoCoverIndex !== undefined && !(Number.isInteger(o.photoCoverIndex) && (o.photoCoverIndex as number) >= 0 && (o.photoCoverIndex as number) < MAX_PHOTOS)) out.push(`photoCoverIndex is the cover photo's place, 0 to ${MAX_PHOTOS - 1}`);
  return out;
}

/** Problems with the caption (the post's text): at most 2,200 UTF-16 code units. */
export function tiktokCaptionProblems(text: string): string[] {
  return text.length > MAX_CAPTION ? [`the caption (the post's text) holds at most ${MAX_CAPTION} characters; this is ${text.length}`] : [];
}

export interface MediaFact { mimeType: string; bytes: number; durationSeconds?: number | null }

/** How the media make a post: one video, or 1 to 35 photos; and the options that fit only one of them. */
export function tiktokMediaShapeProblems(media: MediaFact[], options?: Record<string, unknown>): string[] {
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  const o = options ?? {};
  const out: string[] = [];
  if (media.length === 0) out.push('a TikTok post needs a video or photos');
  if (videos.length > 1) out.push('a TikTok post has one video');
  if (videos.length > 0 && images.length > 0) out.push('a TikTok post is a video or photos, not both');
  if (images.length > MAX_PHOTOS) out.push(`a photo post has 1 to ${MAX_PHOTOS} photos; this has ${images.length}`);
  if (videos.length > 0 && (o.title !== undefined || o.photoCoverIndex !== undefined || o.autoAddMusic !== undefined)) out.push('title, photoCoverIndex and autoAddMusic are for photo posts; a video\'s caption is the post\'s text');
  if (images.length > 0 && (o.disableDuet !== undefined || o.disableStitch !== undefined)) out.push('duet and stitch settings are for videos');
  if (images.length > 0 && typeof o.photoCoverIndex === 'number' && o.photoCoverIndex >= images.length) out.push(`photoCoverIndex ${o.photoCoverIndex} is past the last photo`);
  return out;
}

/** The post's media, types, sizes and the longest video any creator may post; what does not fit, in words. */
export function tiktokMediaProblems(media: MediaFact[], options?: Record<string, unknown>): string[] {
  const out = tiktokMediaShapeProblems(media, options);
  for (const m of media) {
    if (m.mimeType.startsWith('video/')) {
      if (!VIDEO_TYPES.includes(m.mimeType)) out.push(`TikTok takes MP4, WebM or MOV videos; not ${m.mimeType}`);
      if (m.bytes > MAX_VIDEO_BYTES) out.push('a video weighs at most 4 GB');
      if (m.durationSeconds != null && m.durationSeconds > MAX_VIDEO_SECONDS) out.push('a video lasts at most 10 minutes (less for some creators)');
    } else if (!IMAGE_TYPES.includes(m.mimeType)) out.push(`TikTok photo posts take JPEG or WebP; not ${m.mimeType}`);
    else if (m.bytes > MAX_IMAGE_BYTES) out.push('a photo weighs at most 20 MB');
  }
  return out;
}

export function readTikTokOptions(options: Record<string, unknown> | undefined): TikTokOptions {
  const o = options ?? {};
  return {
    mode: o.mode === 'inbox' ? 'inbox' : 'direct',
    ...((PRIVACY_LEVELS as readonly unknown[]).includes(o.privacyLevel) ? { privacyLevel: o.privacyLevel as PrivacyLevel } : {}),
    disableComment: o.disableComment === true, disableDuet: o.disableDuet === true, disableStitch: o.disableStitch === true,
    brandContent: o.brandContent === true, brandOrganic: o.brandOrganic === true,
    ...(typeof o.title === 'string' && o.title !== '' ? { title: o.title } : {}),
    photoCoverIndex: typeof o.photoCoverIndex === 'number' ? o.photoCoverIndex : 0,
    autoAddMusic: o.autoAddMusic === true,
  };
}
