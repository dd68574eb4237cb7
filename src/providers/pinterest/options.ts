// A Pinterest target's options and media, checked by pure functions when the post is saved
// (src/modules/posts/validate.ts, also in the composer) and again before sending. The post's text is the Pin's
// description; the options carry the rest of the Pin (https://developers.pinterest.com/docs/api/v5/pins-create):
//   board      required: the board's id (digits) or its name exactly as on Pinterest (resolved with GET /v5/boards)
//   section    a section of that board: its id or its name (resolved with GET /v5/boards/{id}/sections)
//   title      the Pin's title, at most 100 characters
//   link       the Pin's destination link, http(s), at most 2,048 characters
//   altText    the image's alternative text, at most 500 characters (else the first image's alt text in the library)
// Media: one image (an image Pin), 2 to 5 images (a carousel), or one video and at most one image, its cover.
// Pure: no imports, so the web app runs it too.

export interface PinterestOptions {
  board: string;
  section?: string;
  title?: string;
  link?: string;
  altText?: string;
}

export const PINTEREST_OPTION_KEYS = ['board', 'section', 'title', 'link', 'altText'] as const;
export const MAX_TITLE = 100;
export const MAX_DESCRIPTION = 800;
export const MAX_LINK = 2048;
export const MAX_ALT_TEXT = 500;
/** A board's name: 1-50 characters in Pinterest's app (UNCONFIRMED for the API: the reference gives no length). */
export const MAX_BOARD_NAME = 180;
/** image_base64 and multiple_image_base64 take image/jpeg and image/png (the ContentType of the reference). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png'];
/** MP4, MOV and M4V (help.pinterest.com video specs; UNCONFIRMED through the API). */
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime', 'video/x-m4v'];
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 2 * 1024 ** 3;
export const MIN_VIDEO_SECONDS = 4;
export const MAX_VIDEO_SECONDS = 15 * 60;
export const MIN_CAROUSEL = 2;
export const MAX_CAROUSEL = 5;

const named = (v: unknown, max: number) => typeof v === 'string' && v.trim() !== '' && [...v.trim()].length <= max;

export function pinterestOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(PINTEREST_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (Pinterest takes ${PINTEREST_OPTION_KEYS.join(', ')})`);
  if (!named(o.board, MAX_BOARD_NAME)) out.push('board is required: the board\'s name as on Pinterest, or its id');
  if (o.section !== undefined && !named(o.section, MAX_BOARD_NAME)) out.push('section is a section of the board: its name, or its id');
  if (o.title !== undefined && (typeof o.title !== 'string' || [...o.title].length > MAX_TITLE)) out.push(`the title holds at most ${MAX_TITLE} characters`);
  if (o.link !== undefined) {
    let ok = false;
    try {
      const u = new URL(String(o.link));
      ok = typeof o.link === 'string' && (u.protocol === 'https:' || u.protocol === 'http:') && o.link.length <= MAX_LINK;
    } catch { /* not a URL */ }
    if (!ok) out.push(`link is a web address (https://…), at most ${MAX_LINK} characters`);
  }
  if (o.altText !== undefined && (typeof o.altText !== 'string' || [...o.altText].length > MAX_ALT_TEXT)) out.push(`altText holds at most ${MAX_ALT_TEXT} characters`);
  return out;
}

/** Problems with the description (the post's text): at most 800 characters. */
export function pinterestDescriptionProblems(text: string): string[] {
  const n = [...text].length;
  return n > MAX_DESCRIPTION ? [`the description (the post's text) holds at most ${MAX_DESCRIPTION} characters; this is ${n}`] : [];
}

export interface MediaFact { mimeType: string; bytes: number; width?: number | null; height?: number | null; durationSeconds?: number | null }

/** How the media make a Pin: an image, a carousel, or a video with at most one cover image (the web app's and validate.ts's check). */
export function pinterestMediaShapeProblems(media: MediaFact[]): string[] {
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  const out: string[] = [];
  if (media.length === 0) out.push('a Pin needs an image or a video');
  if (videos.length > 1) out.push('a video Pin has one video');
  if (videos.length === 1 && images.length > 1) out.push('a video Pin takes one image at most, as its cover');
  if (videos.length === 0 && images.length > MAX_CAROUSEL) out.push(`a carousel Pin has ${MIN_CAROUSEL} to ${MAX_CAROUSEL} images; this has ${images.length}`);
  if (videos.length === 0 && images.length >= MIN_CAROUSEL) {
    const sized = images.filter((i) => i.width && i.height);
    if (sized.some((i) => i.width !== sized[0]!.width || i.height !== sized[0]!.height)) out.push('the images of a carousel are all the same size');
  }
  return out;
}

/** The post's media as an image Pin, a carousel or a video Pin (with a cover); what does not fit, in words. */
export function pinterestMediaProblems(media: MediaFact[]): string[] {
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  const out = pinterestMediaShapeProblems(media);
  for (const v of videos) {
    if (!VIDEO_TYPES.includes(v.mimeType)) out.push(`Pinterest takes MP4, MOV or M4V videos; not ${v.mimeType}`);
    if (v.bytes > MAX_VIDEO_BYTES) out.push('a video weighs at most 2 GB');
    if (v.durationSeconds != null && v.durationSeconds < MIN_VIDEO_SECONDS) out.push(`a video lasts at least ${MIN_VIDEO_SECONDS} seconds`);
    if (v.durationSeconds != null && v.durationSeconds > MAX_VIDEO_SECONDS) out.push('a video lasts at most 15 minutes');
  }
  for (const i of images) {
    if (!IMAGE_TYPES.includes(i.mimeType)) out.push(`Pinterest takes JPEG or PNG images here; not ${i.mimeType}`);
    else if (i.bytes > MAX_IMAGE_BYTES) out.push('an image weighs at most 20 MB');
  }
  return out;
}

export function readPinterestOptions(options: Record<string, unknown> | undefined): PinterestOptions {
  const o = options ?? {};
  return {
    board: String(o.board).trim(),
    ...(typeof o.section === 'string' ? { section: o.section.trim() } : {}),
    ...(typeof o.title === 'string' && o.title !== '' ? { title: o.title } : {}),
    ...(typeof o.link === 'string' ? { link: o.link } : {}),
    ...(typeof o.altText === 'string' && o.altText !== '' ? { altText: o.altText } : {}),
  };
}
