// Media on the Meta networks: what each network refuses (checked before any call), public URLs for the
// networks that download media themselves, and the polling of a container (or a Reel) until it is ready.
// Documentation:
//   https://developers.facebook.com/docs/instagram-platform/content-publishing   (container status, "once a minute, 5 minutes")
//   https://developers.facebook.com/docs/threads/posts                           (container status)
import { pollUntilReady } from '../poll.ts';
import { ProviderError, type MediaItem, type MediaLimits } from '../types.ts';
import { permanent } from './errors.ts';

export interface PollOptions {
  /** Between two status reads. Meta suggests once a minute; shorter is allowed and keeps jobs short. */
  intervalMs: number;
  /** Give up (transient: nothing was published) after this long; Meta suggests at most 5 minutes. */
  maxWaitMs: number;
}

export const DEFAULT_POLL: PollOptions = { intervalMs: 5_000, maxWaitMs: 5 * 60_000 };

/**
 * Reads a status every `intervalMs` until `done` says so (true) or the next read would pass `maxWaitMs`
 * (false). `read` may throw to stop with that error.
 */
export async function pollUntil<S>(poll: PollOptions, read: () => Promise<S>, done: (s: S) => boolean): Promise<boolean> {
  return pollUntilReady({ firstDelayMs: poll.intervalMs, maxDelayMs: poll.intervalMs, deadlineMs: poll.maxWaitMs }, async () => done(await read()));
}

/**
 * Reads a container's status until FINISHED. ERROR and EXPIRED are permanent (the reason carries
 * Meta's text); still IN_PROGRESS at the deadline is transient, since nothing was published.
 */
export async function waitForContainer(provider: string, poll: PollOptions, read: () => Promise<{ status: string; detail?: string }>): Promise<void> {
  const finished = await pollUntil(poll, read, (s) => {
    if (s.status === 'FINISHED') return true;
    if (s.status === 'ERROR' || s.status === 'EXPIRED' || s.status === 'PUBLISHED') {
      const reason = s.detail ? `${s.status}: ${s.detail}` : s.status;
      throw new ProviderError('permanent', `${provider}: the media container cannot be published (${reason})`, { provider, reason });
    }
    return false;
  });
  if (!finished) {
    throw new ProviderError('transient', `${provider}: the media was still processing after ${Math.round(poll.maxWaitMs / 1000)} s`, { provider, reason: 'container_in_progress' });
  }
}

/** Refuses media the network would refuse, before any call: counts, types, sizes, durations. */
export function checkMedia(provider: string, limits: MediaLimits, media: MediaItem[]): void {
  if (media.length > limits.maxCount) throw permanent(provider, `at most ${limits.maxCount} media per post`, 'too_many_media');
  const videos = media.filter((m) => m.mimeType.startsWith('video/')).length;
  if (!limits.mixing && videos > 0 && videos < media.length) throw permanent(provider, 'images and videos cannot be mixed in one post', 'media_mixing');
  for (const m of media) {
    const isVideo = limits.videoTypes.includes(m.mimeType);
    if (!isVideo && !limits.imageTypes.includes(m.mimeType)) {
      throw permanent(provider, `${m.mimeType} is not accepted (images: ${limits.imageTypes.join(', ') || 'none'}; videos: ${limits.videoTypes.join(', ') || 'none'})`, 'unsupported_media_type');
    }
    const max = isVideo ? limits.maxVideoBytes : limits.maxImageBytes;
    if (m.bytes > max) throw permanent(provider, `a ${isVideo ? 'video' : 'image'} may weigh at most ${max} bytes`, 'media_too_large');
    if (isVideo && limits.maxVideoSeconds !== undefined && m.durationSeconds !== undefined && m.durationSeconds > limits.maxVideoSeconds) {
      throw permanent(provider, `a video may last at most ${limits.maxVideoSeconds} s`, 'video_too_long');
    }
  }
}

/** Instagram and Threads fetch media themselves: every item needs a public URL. */
export function requirePublicUrls(provider: string, media: MediaItem[]): string[] {
  return media.map((m) => {
    if (!m.publicUrl) {
      throw permanent(provider, 'the network downloads media itself, so every media item needs a public HTTPS URL (publicUrl); none was given', 'media_without_public_url');
    }
    return m.publicUrl;
  });
}
