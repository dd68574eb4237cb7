// A post checked by each network's own rules before it can be scheduled: text counted as the network
// counts it (src/providers/text.ts), media counts, types, sizes and video length, thread parts and
// first comments where the network has them. Each problem names the target and the field, so a composer
// can put the message next to the right box. The same functions run in a composer (they import nothing
// from the server), so it counts as the server does.
import { blueskyTextProblem, countText } from '../../providers/text.ts';
import { discordOptionProblems } from '../../providers/discord/options.ts';
import { nostrOptionProblems } from '../../providers/nostr/options.ts';
import { lemmyOptionProblems } from '../../providers/lemmy/options.ts';
import { slackOptionProblems } from '../../providers/slack/options.ts';
import { redditOptionProblems } from '../../providers/reddit/options.ts';
import { pinterestMediaShapeProblems, pinterestOptionProblems } from '../../providers/pinterest/options.ts';
import { tiktokMediaShapeProblems, tiktokOptionProblems } from '../../providers/tiktok/options.ts';
import { tumblrEmptyProblems, tumblrOptionProblems, tumblrTextProblems } from '../../providers/tumblr/options.ts';
import { youtubeDescriptionProblems, youtubeOptionProblems, youtubeShortProblems } from '../../providers/youtube/options.ts';
import type { ProviderLimits } from '../../providers/types.ts';

export interface MediaFacts {
  id: string;
  mimeType: string;
  bytes: number;
  width?: number | null;
  height?: number | null;
  durationSeconds?: number | null;
}

export interface PartContent {
  text: string;
  media: MediaFacts[];
}

/** What one target would publish: the first part, further thread parts, and a first comment. */
export interface TargetContent {
  parts: PartContent[];
  firstComment?: string;
  /** The target's network options (Instagram: story). */
  options?: Record<string, unknown>;
}

/** Telegram's options (src/providers/telegram/posts.ts reads the same). */
const TELEGRAM_OPTIONS = ['silent', 'asDocuments'];

/** Instagram Stories (docs/NETWORKS.md, Network facts: Instagram): one image or one video of at most 60 s and 100 MB. */
const STORY = { maxVideoSeconds: 60, maxVideoBytes: 100 * 1024 * 1024 };

export interface Problem {
  /** The social account (target) the problem is about. */
  accountId: string;
  provider: string;
  /** text, media, media[2], thread[1].text, thread[1].media, firstComment */
  field: string;
  message: string;
}

export interface Count {
  field: string;
  length: number;
  max: number;
}

const MB = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

function partField(i: number, name: string): string {
  return i === 0 ? name : `thread[${i - 1}].${name}`;
}

/** Problems (empty when the target fits) and the counted lengths, for counters. */
export function checkTarget(accountId: string, provider: string, displayName: string, limits: ProviderLimits, content: TargetContent): { problems: Problem[]; counts: Count[] } {
  const problems: Problem[] = [];
  const counts: Count[] = [];
  const add = (field: string, message: string) => problems.push({ accountId, provider, field, message });

  if (content.parts.length > 1 && !limits.threads) add('thread', `${displayName} does not take threads: publish one post, or remove the thread parts for this network.`);

  content.parts.forEach((part, i) => {
    const textField = partField(i, 'text');
    const length = countText(limits.textCounting, part.text);
    // With media, a network with a caption limit (Telegram) takes less text.
    const captionMax = part.media.length > 0 && limits.maxCaptionLength !== undefined ? Math.min(limits.maxCaptionLength, limits.maxTextLength) : undefined;
    counts.push({ field: textField, length, max: captionMax ?? limits.maxTextLength });
    if (part.text.trim() === '' && part.media.length === 0) add(textField, `${displayName}: ${i === 0 ? 'the post' : 'this thread part'} is empty; write some text or add media.`);
    if (length > limits.maxTextLength) add(textField, `${displayName} allows ${limits.maxTextLength} characters as it counts them; this is ${length} (${length - limits.maxTextLength} too many).`);
    else if (captionMax !== undefined && length > captionMax) {
      add(textField, `${displayName}: with media the text is a caption of at most ${captionMax} characters; this is ${length} (${length - captionMax} too many). Post the media and the text separately, or shorten it.`);
    }
    if (provider === 'bluesky') {
      const p = blueskyTextProblem(part.text);
      if (p && length <= limits.maxTextLength) add(textField, `Bluesky: ${p}.`);
    }
    const m = limits.media;
    const mediaField = partField(i, 'media');
    if (i === 0 && m.required && part.media.length === 0) add(mediaField, `${displayName} posts need at least one image or video.`);
    if (part.media.length > m.maxCount) add(mediaField, `${displayName} takes at most ${m.maxCount} media per post; this has ${part.media.length}.`);
    const videos = part.media.filter((x) => x.mimeType.startsWith('video/')).length;
    if (!m.mixing && videos > 0 && part.media.length > 1) add(mediaField, `${displayName} takes either images or one video in a post, not both or several videos.`);
    part.media.forEach((x, j) => {
      const f = `${mediaField}[${j}]`;
      const isVideo = x.mimeType.startsWith('video/');
      const allowed = isVideo ? m.videoTypes : m.imageTypes;
      if (!allowed.includes(x.mimeType)) {
        add(f, `${displayName} does not take ${x.mimeType}; it takes ${[...m.imageTypes, ...m.videoTypes].join(', ') || 'no media'}.`);
        return;
      }
      const max = isVideo ? m.maxVideoBytes : m.maxImageBytes;
      if (x.bytes > max) add(f, `${displayName} takes ${isVideo ? 'videos' : 'images'} up to ${MB(max)}; this one is ${MB(x.bytes)}.`);
      if (isVideo && m.minVideoSeconds !== undefined && x.durationSeconds != null && x.durationSeconds < m.minVideoSeconds) {
        add(f, `${displayName} takes videos of at least ${m.minVideoSeconds} seconds; this one is ${Math.round(x.durationSeconds * 10) / 10} seconds.`);
      }
      if (isVideo && m.maxVideoSeconds !== undefined && x.durationSeconds != null && x.durationSeconds > m.maxVideoSeconds) {
        add(f, `${displayName} takes videos up to ${m.maxVideoSeconds} seconds; this one is ${Math.ceil(x.durationSeconds)} seconds.`);
      }
    });
  });

  if (provider === 'instagram' && content.options?.story === true) {
    const media = content.parts[0]?.media ?? [];
    if (media.length !== 1) add('media', `${displayName}: a Story holds exactly one image or video; this has ${media.length}.`);
    const v = media.length === 1 && media[0]!.mimeType.startsWith('video/') ? media[0]! : undefined;
    if (v && v.durationSeconds != null && v.durationSeconds > STORY.maxVideoSeconds) add('media[0]', `${displayName}: a Story video lasts at most ${STORY.maxVideoSeconds} seconds; this one is ${Math.ceil(v.durationSeconds)} seconds.`);
    if (v && v.bytes > STORY.maxVideoBytes) add('media[0]', `${displayName}: a Story video weighs at most ${MB(STORY.maxVideoBytes)}; this one is ${MB(v.bytes)}.`);
    if (content.firstComment !== undefined) add('firstComment', `${displayName}: a Story cannot have a first comment.`);
  }

  if (provider === 'telegram') {
    for (const [k, v] of Object.entries(content.options ?? {})) {
      if (!TELEGRAM_OPTIONS.includes(k)) add('options', `${displayName} takes the options ${TELEGRAM_OPTIONS.join(' and ')}; "${k}" is not one.`);
      else if (typeof v !== 'boolean') add('options', `${displayName}: the option ${k} is true or false.`);
    }
    // Photos (not files): width and height at most 10000 together, sides at most 20 times apart (docs/NETWORKS.md, Telegram).
    if (content.options?.asDocuments !== true) {
      content.parts.forEach((part, i) => part.media.forEach((x, j) => {
        if (!x.mimeType.startsWith('image/') || !x.width || !x.height) return;
        if (x.width + x.height > 10_000 || Math.max(x.width, x.height) / Math.min(x.width, x.height) > 20) {
          add(`${partField(i, 'media')}[${j}]`, `${displayName} takes photos whose width and height add up to at most 10000 and differ at most 20 times; this one is ${x.width}×${x.height} (send it as a file with the option asDocuments).`);
        }
      }));
    }
  }

  // Discord's options and embeds, by the same check the adapter runs before sending.
  if (provider === 'discord') for (const p of discordOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
  if (provider === 'nostr') for (const p of nostrOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
  if (provider === 'reddit') {
    for (const p of redditOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    if ((content.parts[0]?.media.length ?? 0) > 0 && content.options?.url !== undefined) add('media', `${displayName}: a post has one link, either the url option or an image, not both.`);
  }
  if (provider === 'slack') for (const p of slackOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
  if (provider === 'youtube') {
    // The title and the rest of the video resource are options; the text is the description, counted in bytes.
    for (const p of youtubeOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    for (const p of youtubeDescriptionProblems(content.parts[0]?.text ?? '')) add('text', `${displayName}: ${p}.`);
    const media = content.parts[0]?.media ?? [];
    const videos = media.filter((x) => x.mimeType.startsWith('video/'));
    if (videos.length !== 1) add('media', `${displayName}: a post is one video (with, if you like, one image as its thumbnail); this has ${videos.length} videos.`);
    if (media.length - videos.length > 1) add('media', `${displayName}: one image at most, which becomes the video's thumbnail.`);
    if (content.options?.short === true && videos[0]) for (const p of youtubeShortProblems(videos[0])) add('media[0]', `${displayName}: ${p}.`);
  }
  if (provider === 'pinterest') {
    // The board and the rest of the Pin are options; the media make an image, carousel or video Pin (types, sizes and
    // the description's length are the limits' checks above).
    for (const p of pinterestOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    for (const p of pinterestMediaShapeProblems(content.parts[0]?.media ?? [])) add('media', `${displayName}: ${p}.`);
  }
  if (provider === 'tiktok') {
    // Mode, privacy level and the rest of post_info are options; the media make a video or a photo post (types, sizes
    // and the caption's length are the limits' checks above; the creator's own settings are asked before sending).
    for (const p of tiktokOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    for (const p of tiktokMediaShapeProblems(content.parts[0]?.media ?? [], content.options)) add('media', `${displayName}: ${p}.`);
  }
  if (provider === 'tumblr') {
    // The blog, state, schedule, tags, link and quote are options; each paragraph of the text is a text block of at most
    // 4,096 characters; one video at most (types, sizes and counts are the limits' checks above).
    for (const p of tumblrOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    for (const p of tumblrTextProblems(content.parts[0]?.text ?? '')) add('text', `${displayName}: ${p}.`);
    const media = content.parts[0]?.media ?? [];
    for (const p of tumblrEmptyProblems(content.parts[0]?.text ?? '', content.options, media.length)) add('text', `${displayName}: ${p}.`);
    if (media.filter((x) => x.mimeType.startsWith('video/')).length > 1) add('media', `${displayName}: a Tumblr post carries one uploaded video.`);
  }
  if (provider === 'lemmy') {
    for (const p of lemmyOptionProblems(content.options)) add('options', `${displayName}: ${p}.`);
    // A Lemmy post has one link: one image, or the url option (comments, the thread's next parts, carry more).
    const first = content.parts[0]?.media.length ?? 0;
    if (first > 1) add('media', `${displayName}: a post carries one image (its link); put the others in the thread's next part.`);
    else if (first === 1 && content.options?.url !== undefined) add('media', `${displayName}: a post has one link, either the url option or an image, not both.`);
  }

  if (content.firstComment !== undefined) {
    const length = countText(limits.textCounting, content.firstComment);
    counts.push({ field: 'firstComment', length, max: limits.maxTextLength });
    if (!limits.firstComment) add('firstComment', `${displayName} has no first comment.`);
    else if (content.firstComment.trim() === '') add('firstComment', `${displayName}: the first comment is empty; remove it or write something.`);
    else if (length > limits.maxTextLength) add('firstComment', `${displayName} allows ${limits.maxTextLength} characters in a comment; this is ${length}.`);
  }
  return { problems, counts };
}
