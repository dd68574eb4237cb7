// Media for the Bot API, checked before anything is sent and uploaded as multipart/form-data in the same
// request as the message (https://core.telegram.org/bots/api#sending-files: 10 MB for photos, 50 MB for
// other files). A photo's width and height must not exceed 10000 in total and their ratio 20
// (https://core.telegram.org/bots/api#sendphoto); MPEG4 is the video format clients play
// (https://core.telegram.org/bots/api#sendvideo). An album is 2-10 items; documents group only with
// documents (https://core.telegram.org/bots/api#sendmediagroup). `asDocuments` sends files as they are
// (sendDocument), with no recompression.
import { ProviderError, type MediaItem, type MediaLimits } from '../types.ts';
import { PROVIDER } from './errors.ts';

/** "MB" read as 10^6 bytes, the smaller reading (UNCONFIRMED which one Telegram means). */
export const MAX_PHOTO_BYTES = 10_000_000;
export const MAX_FILE_BYTES = 50_000_000;
export const MAX_ALBUM = 10;

export type MediaKind = 'photo' | 'video' | 'document';

const refuse = (why: string) => new ProviderError('permanent', `Telegram: ${why}`, { provider: PROVIDER, reason: 'media_refused' });

/** What each item goes as, or why it cannot go. */
export function mediaKinds(media: MediaItem[], limits: MediaLimits, asDocuments: boolean): MediaKind[] {
  if (media.length > MAX_ALBUM) throw refuse(`an album holds at most ${MAX_ALBUM} items; this has ${media.length}`);
  return media.map((m, i) => {
    const image = limits.imageTypes.includes(m.mimeType);
    const video = limits.videoTypes.includes(m.mimeType);
    if (!image && !video) throw refuse(`item ${i + 1} is ${m.mimeType}; Telegram takes ${[...limits.imageTypes, ...limits.videoTypes].join(', ')}`);
    if (asDocuments) {
      if (m.bytes > MAX_FILE_BYTES) throw refuse(`item ${i + 1} is ${m.bytes} bytes; a bot uploads files of at most 50 MB`);
      return 'document';
    }
    if (image) {
      if (m.bytes > MAX_PHOTO_BYTES) throw refuse(`photo ${i + 1} is ${m.bytes} bytes; a bot uploads photos of at most 10 MB (send it as a file instead)`);
      if (m.width && m.height) {
        if (m.width + m.height > 10_000) throw refuse(`photo ${i + 1} is ${m.width}×${m.height}; width and height may not exceed 10000 together (send it as a file instead)`);
        if (Math.max(m.width, m.height) / Math.min(m.width, m.height) > 20) throw refuse(`photo ${i + 1} is ${m.width}×${m.height}; its sides may differ at most 20 times`);
      }
      return 'photo';
    }
    if (m.bytes > MAX_FILE_BYTES) throw refuse(`video ${i + 1} is ${m.bytes} bytes; a bot uploads videos of at most 50 MB`);
    return 'video';
  });
}

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'video/mp4': 'mp4' };

/** The item's bytes as a form file part. */
export async function filePart(m: MediaItem, name: string): Promise<{ blob: Blob; fileName: string }> {
  const bytes = await m.read();
  return { blob: new Blob([new Uint8Array(bytes)], { type: m.mimeType }), fileName: `${name}.${EXT[m.mimeType] ?? 'bin'}` };
}
