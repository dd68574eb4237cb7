// The image an alt-text suggestion describes: the workspace's own media file, as the provider's image input
// (base64, docs/ASSISTANT.md, Alt text). The web-sized preview (WebP, at most 1280 px) when it is made, which
// keeps the request small; otherwise the original when both APIs take its type and size.
import { Buffer } from 'node:buffer';
import type { Readable } from 'node:stream';
import { Conflict, UnprocessableContent } from '../../domain/errors.ts';
import type { ContentPart } from '../../infra/ai/index.ts';

/** What this needs of the media library (its MediaService), passed in. */
export interface MediaReader<M extends { mimeType: string; bytes: number; previewKey: string | null }> {
  get(workspaceId: string, id: string): Promise<M>;
  open(m: M): Promise<Readable>;
  openDerived(m: M, which: 'preview'): Promise<Readable>;
}

/** Anthropic's limit for one image sent inline (https://docs.anthropic.com/en/docs/build-with-claude/vision); OpenAI's is larger. */
const MAX_INLINE_BYTES = 5 * 1024 * 1024;
const INLINE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

async function bytesOf(s: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > max) {
      s.destroy();
      throw new UnprocessableContent('MEDIA_TOO_LARGE_FOR_MODEL', `The image is larger than ${max / 1024 / 1024} MB, the most a model takes inline; wait for its preview to be made, then ask again.`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function mediaImage<M extends { mimeType: string; bytes: number; previewKey: string | null }>(media: MediaReader<M>) {
  return async (workspaceId: string, mediaId: string): Promise<Extract<ContentPart, { type: 'image' }>> => {
    const m = await media.get(workspaceId, mediaId);
    if (!m.mimeType.startsWith('image/')) {
      throw new UnprocessableContent('MEDIA_NOT_IMAGE', `This file is ${m.mimeType}, not an image: alt text suggestions describe images only.`, [{ field: 'body.mediaId', message: 'not an image' }]);
    }
    if (m.previewKey) return { type: 'image', mediaType: 'image/webp', base64: (await bytesOf(await media.openDerived(m, 'preview'), MAX_INLINE_BYTES)).toString('base64') };
    if (!INLINE_TYPES.has(m.mimeType) || m.bytes > MAX_INLINE_BYTES) {
      throw new Conflict('PREVIEW_NOT_READY', 'The image\'s preview is still being made (the original is too large to send to a model); try again in a moment.');
    }
    return { type: 'image', mediaType: m.mimeType, base64: (await bytesOf(await media.open(m), MAX_INLINE_BYTES)).toString('base64') };
  };
}
