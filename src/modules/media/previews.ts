// Thumbnails and web-sized previews of uploaded images, made by a job (never in the upload request: a
// 20 MiB photo takes a core for a while) with sharp (libvips, prebuilt binaries from npm for Node 20 and 24
// on linux-x64; no system library needed):
//   thumbnail  fits in 320 × 320, WebP: the library's grid
//   preview    fits in 1280 × 1280, WebP, never enlarged: the composer and the detail view
// EXIF rotation is applied, metadata dropped, an animated GIF or WebP gives its first frame. A file sharp
// cannot decode is marked failed once (not retried: the bytes will not change). Videos get none: a poster
// frame would need a video decoder, and none runs without a system binary (ffmpeg), so the library shows
// a placeholder for them (docs/MEDIA.md).
import { Readable } from 'node:stream';
import sharp from 'sharp';

export const THUMBNAIL_SIZE = 320;
export const PREVIEW_SIZE = 1280;
/** Larger pictures are refused by the decoder rather than eat the worker's memory (sharp's default is 268 M pixels). */
const MAX_INPUT_PIXELS = 100_000_000;

export interface Rendered {
  thumbnail: Buffer;
  preview: Buffer;
}

/** The decoder refused the file: it will not work on another try. */
export class UndecodableImage extends Error {
  readonly code = 'UNDECODABLE_IMAGE';
  constructor(cause: unknown) {
    super(`the image could not be decoded: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'UndecodableImage';
  }
}

export class PreviewRenderer {
  constructor() {
    // The worker renders one file after another: libvips' operation cache only holds memory between them.
    sharp.cache(false);
  }

  async render(bytes: Buffer): Promise<Rendered> {
    try {
      const base = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, animated: false }).rotate();
      const [thumbnail, preview] = await Promise.all([
        base.clone().resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 72 }).toBuffer(),
        base.clone().resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 82 }).toBuffer(),
      ]);
      return { thumbnail, preview };
    } catch (err) {
      throw new UndecodableImage(err);
    }
  }
}

export const asStream = (b: Buffer) => Readable.from([b]);
