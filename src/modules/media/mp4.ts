// Duration and picture size of an MP4 or QuickTime file, read from its header boxes while the upload
// streams through (ISO/IEC 14496-12; QuickTime File Format):
//   moov > mvhd            timescale and duration of the presentation
//   moov > trak > tkhd     width and height of each track (0 × 0 for sound), with its display matrix
// Only the box headers are looked at; the payload of every other box (mdat: the media itself, often
// hundreds of megabytes) is counted past, never kept, so memory stays a few hundred bytes whatever the
// file size and wherever `moov` is (before `mdat` for "fast start" files, after it otherwise).
//
// Why not a library: the maintained MP4 parsers are either complete demuxers (mp4box.js: a large parser
// of every box type) or need Node 22 (music-metadata 12); this needs two fixed-layout boxes.

export interface Mp4Info {
  durationSeconds?: number;
  width?: number;
  height?: number;
}

/** A box we keep the payload of is at most this long (mvhd is 100 or 112 bytes, tkhd 84 or 96). */
const MAX_CAPTURE = 1024;

type Mode = { kind: 'header' } | { kind: 'skip'; until: number } | { kind: 'capture'; type: 'mvhd' | 'tkhd'; until: number };

export class Mp4HeaderReader {
  /** Absolute offset of the next byte to come. */
  private pos = 0;
  private mode: Mode = { kind: 'header' };
  /** Bytes of a box header (8 or 16) or of a captured payload, gathered across chunks. */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** The containers we are inside (moov, and a trak in it), with the offset where each ends. */
  private readonly stack: { type: string; end: number }[] = [];
  private finished = false;
  private sawMoov = false;
  private readonly info: Mp4Info = {};

  /** Feeds the next bytes of the file. */
  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.finished) {
      const mode = this.mode;
      if (mode.kind === 'skip') {
        const n = Math.min(mode.until - this.pos, chunk.length - i);
        this.pos += n;
        i += n;
        if (this.pos >= mode.until) this.mode = { kind: 'header' };
      } else if (mode.kind === 'capture') {
        const n = Math.min(mode.until - this.pos, chunk.length - i);
        this.gather(chunk.subarray(i, i + n));
        this.pos += n;
        i += n;
        if (this.pos >= mode.until) {
          const payload = this.take();
          if (mode.type === 'mvhd') this.readMvhd(payload);
          else this.readTkhd(payload);
          this.mode = { kind: 'header' };
        }
      } else {
        // A header is 8 bytes (32-bit size, type), or 16 when the size is 1 (a 64-bit size follows).
        const first = this.pendingLength < 8 ? 8 : 16;
        const n = Math.min(first - this.pendingLength, chunk.length - i);
        this.gather(chunk.subarray(i, i + n));
        this.pos += n;
        i += n;
        if (this.pendingLength < first) continue;
        const header = Buffer.concat(this.pending);
        if (first === 8 && header.readUInt32BE(0) === 1) continue; // read the 64-bit size next
        this.take();
        this.onBox(header);
      }
    }
  }

  /** Whether a top-level moov box began: without one a file is not playable. */
  get sawMovieHeader(): boolean {
    return this.sawMoov;
  }

  /** What was found; fields the file does not state (or states as unknown) are absent. */
  result(): Mp4Info {
    return { ...this.info };
  }

  private gather(part: Buffer): void {
    if (part.length === 0) return;
    this.pending.push(Buffer.from(part));
    this.pendingLength += part.length;
  }

  private take(): Buffer {
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLength = 0;
    return all;
  }

  private onBox(header: Buffer): void {
    const headerLength = header.length;
    const start = this.pos - headerLength;
    const size32 = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    let size: number;
    if (size32 === 1) size = Number(header.readBigUInt64BE(8));
    else if (size32 === 0) size = Infinity; // to the end of the file
    else size = size32;
    if (size < headerLength) {
      this.finished = true; // not a box: stop rather than guess
      return;
    }
    const end = start + size;
    while (this.stack.length > 0 && this.stack.at(-1)!.end <= start) this.stack.pop();
    const parent = this.stack.at(-1)?.type ?? null;
    // A top-level box after the moov: everything this reader looks for has been seen.
    if (parent === null && this.sawMoov) {
      this.finished = true;
      return;
    }
    const payload = size - headerLength;

    if ((parent === null && type === 'moov') || (parent === 'moov' && type === 'trak')) {
      if (type === 'moov') this.sawMoov = true;
      this.stack.push({ type, end });
      this.mode = { kind: 'header' };
    } else if (((parent === 'moov' && type === 'mvhd') || (parent === 'trak' && type === 'tkhd')) && payload > 0 && payload <= MAX_CAPTURE) {
      this.mode = { kind: 'capture', type, until: end };
    } else if (end === Infinity) {
      this.finished = true; // the rest of the file is this box
    } else {
      this.mode = { kind: 'skip', until: end };
    }
  }

  private readMvhd(p: Buffer): void {
    const version = p[0];
    let timescale: number;
    let duration: number;
    if (version === 1 && p.length >= 32) {
      timescale = p.readUInt32BE(20);
      const d = p.readBigUInt64BE(24);
      duration = d === 0xffffffffffffffffn ? NaN : Number(d);
    } else if (version === 0 && p.length >= 20) {
      timescale = p.readUInt32BE(12);
      const d = p.readUInt32BE(16);
      duration = d === 0xffffffff ? NaN : d;
    } else {
      return;
    }
    // A duration of 0 is what fragmented files state (the fragments carry the time): unknown here.
    if (timescale > 0 && Number.isFinite(duration) && duration > 0) this.info.durationSeconds = duration / timescale;
  }

  private readTkhd(p: Buffer): void {
    if (this.info.width !== undefined) return; // the first picture track wins
    const version = p[0];
    const matrixAt = version === 1 ? 52 : version === 0 ? 40 : -1;
    if (matrixAt < 0 || p.length < matrixAt + 44) return;
    const width = p.readUInt32BE(matrixAt + 36) / 65536;
    const height = p.readUInt32BE(matrixAt + 40) / 65536;
    if (!(width > 0 && height > 0)) return;
    // The display matrix [a b u; c d v; x y w]: a quarter turn has a = d = 0, and shows the picture on its side.
    const a = p.readInt32BE(matrixAt);
    const d = p.readInt32BE(matrixAt + 16);
    const quarterTurn = a === 0 && d === 0;
    this.info.width = Math.round(quarterTurn ? height : width);
    this.info.height = Math.round(quarterTurn ? width : height);
  }
}

/** Reads a whole file held in memory (for tests and small files). */
export function readMp4Info(bytes: Buffer): Mp4Info {
  const r = new Mp4HeaderReader();
  r.push(bytes);
  return r.result();
}
