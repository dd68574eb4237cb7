// The pictures behind seeded media: a few plain PNGs (one colour each, in the sizes social posts use),
// made here so every media row has a real file of the bytes, type, size and digest the row states. The
// network simulator's upload (and a download through the API) then reads what a real upload would have
// left. PNG by hand (signature, IHDR, one deflated IDAT, IEND): it is four chunks, not worth a dependency.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import type { MediaStorage } from '../modules/media/storage.ts';

export interface SeedImage {
  width: number;
  height: number;
  bytes: Buffer;
  sha256: string;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A `width`×`height` PNG of one RGB colour. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const row = Buffer.alloc(1 + width * 3); // filter byte 0, then the pixels
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

const SIZES: [number, number][] = [[640, 360], [480, 480], [480, 600], [600, 314]];
const COLOURS: [number, number, number][] = [[0x2b, 0x6c, 0xb0], [0xe0, 0x7a, 0x5f], [0x3d, 0x40, 0x5b], [0x81, 0xb2, 0x9a]];

/** The seeded pictures: every size in a different colour, the same for every seed. */
export function seedImages(): SeedImage[] {
  return SIZES.flatMap(([w, h], i) => [0, 1].map((j) => {
    const bytes = solidPng(w, h, COLOURS[(i + j * 2) % COLOURS.length]!);
    return { width: w, height: h, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }));
}

/** Writes each media row's file under its storage key, a few at a time. */
export async function writeMediaFiles(storage: MediaStorage, rows: { storageKey: string; sha256: string }[], images: SeedImage[], concurrency = 16): Promise<void> {
  const bySha = new Map(images.map((i) => [i.sha256, i.bytes]));
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      const bytes = bySha.get(row.sha256);
      if (!bytes) throw new Error(`no seeded picture has the digest ${row.sha256} of ${row.storageKey}`);
      await storage.put(row.storageKey, Readable.from([bytes]));
    }
  }));
}
