// Images on a Bluesky post and a link card's thumbnail (https://docs.bsky.app/docs/advanced-guides/posts#images-embeds):
// the bytes go up as a blob (com.atproto.repo.uploadBlob), and the record references the blob exactly as the
// PDS returned it. Unreferenced blobs are garbage-collected soon, so posts.ts uploads last, right before the record.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type MediaItem, type MediaLimits } from '../types.ts';
import type { Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';

/**
 * Lexicon maxSize of an image blob: 1,000,000 bytes in the docs; raised to 2,000,000 in the atproto
 * repository in 2026, which is UNCONFIRMED for every PDS and AppView (docs/NETWORKS.md, Network facts: Bluesky), so the safe value.
 */
export const MAX_IMAGE_BYTES = 1_000_000;

export type BlobRef = { ref?: { $link?: unknown }; mimeType?: unknown; size?: unknown };
export type ImageEmbed = { image: BlobRef; alt: string; aspectRatio?: { width: number; height: number } };

/** Refuses, before any upload, what the PDS would refuse: too many images, another type, too many bytes. */
export function checkImages(limits: MediaLimits, media: MediaItem[]): void {
  if (media.length > limits.maxCount) {
    throw new ProviderError('permanent', `bluesky: a post holds at most ${limits.maxCount} images`, { provider: PROVIDER, reason: 'too_many_media' });
  }
  for (const m of media) {
    if (!limits.imageTypes.includes(m.mimeType)) {
      throw new ProviderError('permanent', `bluesky: ${m.mimeType} cannot be attached (images only: ${limits.imageTypes.join(', ')})`, { provider: PROVIDER, reason: 'unsupported_media' });
    }
    if (m.bytes > MAX_IMAGE_BYTES) {
      throw new ProviderError('permanent', `bluesky: an image may be at most ${MAX_IMAGE_BYTES} bytes (this one is ${m.bytes})`, { provider: PROVIDER, reason: 'media_too_large' });
    }
  }
}

/** The blob exactly as returned: the record must reference what the PDS stored. */
export async function uploadBlob(x: Xrpc, account: AccountRef, pds: string, bytes: Buffer, mimeType: string): Promise<BlobRef> {
  const res = await x.xrpcCall({
    method: 'POST', base: pds, nsid: 'com.atproto.repo.uploadBlob', what: 'media_upload', token: account.tokens.accessToken,
    headers: { 'content-type': mimeType }, body: bytes, media: true,
  });
  const { blob } = x.read<{ blob?: BlobRef }>(res, 'media_upload');
  if (!blob || typeof blob.ref?.$link !== 'string') throw malformed(PROVIDER, 'media_upload', false);
  return blob;
}

export async function uploadImage(x: Xrpc, account: AccountRef, pds: string, m: MediaItem): Promise<ImageEmbed> {
  const blob = await uploadBlob(x, account, pds, await m.read(), m.mimeType);
  const w = m.width !== undefined ? Math.round(m.width) : 0;
  const h = m.height !== undefined ? Math.round(m.height) : 0;
  return {
    image: blob,
    alt: m.altText ?? '',
    ...(w >= 1 && h >= 1 ? { aspectRatio: { width: w, height: h } } : {}),
  };
}
