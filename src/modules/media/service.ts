// Uploaded media: streamed to storage while its type is read from the first bytes (never from the name),
// its size limited by that type, its SHA-256 computed on the way, its picture size (and a video's
// duration) recorded. Files no post refers to are removed by the cleanup job once old enough.
//
// Upload, step by step:
//   1. the first bytes (4100, what file-type needs for these formats) are held back and the type is
//      detected from them: anything but JPEG, PNG, GIF, WebP, MP4 or QuickTime is refused (415);
//   2. the limit of that kind (image or video) then applies to the whole stream: one byte past it and
//      the write is abandoned, the partial file removed (413);
//   3. on the way through, an image keeps its first 512 KiB (where every format states its size), a
//      video feeds its header boxes to the MP4 reader (duration, picture size);
//   4. the row is written once the file is complete; if that fails, the file is removed.
//
// Room, checked before a byte is stored and again while the bytes stream:
//   - the workspace's quota (MEDIA_WORKSPACE_QUOTA_BYTES), counted as the bytes of its stored media; the
//     row is written under a per-workspace lock that re-counts, so concurrent uploads never together
//     pass the quota. Past it: 413, since the request is too large for what the workspace may still store
//     and the workspace can act (delete media); it is not the server failing, so it does not page anyone;
//   - the disk's free space, less MEDIA_DISK_RESERVE_BYTES: 507 Insufficient Storage (RFC 4918), the
//     server's own condition, for its operator to fix, and the same answer when the disk fills anyway
//     while a file is written (ENOSPC): the partial file is removed and no row is written.
import { randomUUID } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { and, asc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import type { Task } from 'graphile-worker';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import type { Logger } from '../../infra/logger.ts';
import { Conflict, DomainError, InsufficientStorage, Invalid, NotFound, TooLarge, UnprocessableContent, UnsupportedMediaType } from '../../domain/errors.ts';
import type { MediaItem } from '../../providers/types.ts';
import { Mp4HeaderReader } from './mp4.ts';
import type { MediaLinks } from './links.ts';
import { StorageFull, type MediaStorage } from './storage.ts';
import { media } from './schema.ts';

export type Media = typeof media.$inferSelect;

/** The accepted types, as detected from the bytes, and the kind whose size limit applies. */
export const ACCEPTED_TYPES = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/gif': 'image',
  'image/webp': 'image',
  'video/mp4': 'video',
  'video/quicktime': 'video',
} as const;
export type AcceptedType = keyof typeof ACCEPTED_TYPES;
export type MediaKind = (typeof ACCEPTED_TYPES)[AcceptedType];
const ACCEPTED_LIST = 'JPEG, PNG, GIF or WebP images, MP4 or QuickTime (.mov) videos';

/** An animated PNG is a PNG to every decoder (and to the networks): stored as one. */
const SAME_AS: Record<string, AcceptedType> = { 'image/apng': 'image/png' };

/** Bytes held back to detect the type: file-type's own sample size. */
const DETECT_BYTES = 4100;
/** Bytes of an image kept to read its size (image-size reads the same amount from a file). */
const IMAGE_PREFIX_BYTES = 512 * 1024;
export const ALT_TEXT_MAX = 1500;
const FILE_NAME_MAX = 255;
const CLEANUP_BATCH = 500;
const mediaList = keyset('media', { createdAt: [media.createdAt, 'time'], id: [media.id, 'uuid'] }, 'desc');

export interface MediaLimits {
  maxImageBytes: number;
  maxVideoBytes: number;
  /** Uploads no post refers to are removed once this old. */
  unusedTtlHours: number;
  /** Bytes of media one workspace may store; 0: no quota. */
  quotaBytes?: number;
  /** Free bytes an upload must leave on the storage's disk. */
  diskReserveBytes?: number;
}

/** A bound on the bytes of one upload other than its type's limit, and the refusal past it. */
interface Room {
  bytes: number;
  refuse(): DomainError;
}

/** Which of these media ids posts still refer to. */
export type MediaInUse = (ids: string[], db?: DbOrTx) => Promise<Set<string>>;

/** What post validation needs to know of a file, per network rules. */
export interface MediaFacts {
  id: string;
  mimeType: string;
  bytes: number;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

const CONTROL = /\p{Cc}/gu;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The name as sent, reduced to a plain file name of at most 255 characters ("upload" when nothing is left). */
export function cleanFileName(name: string | undefined): string {
  const base = (name ?? '').replace(CONTROL, '').split(/[/\\]/).pop()!.trim();
  return [...base].slice(0, FILE_NAME_MAX).join('') || 'upload';
}

/** Alt text as stored: trimmed, null when blank; refused when too long or with control characters other than line breaks. */
export function cleanAltText(value: string | null | undefined, field = 'altText'): string | null {
  if (value === null || value === undefined) return null;
  const text = value.replace(/\r\n?/g, '\n').trim();
  if (text === '') return null;
  if (/[\p{Cc}]/u.test(text.replaceAll('\n', ''))) {
    throw new Invalid('VALIDATION_FAILED', `${field} must not contain control characters (tabs, NUL…); line breaks are fine`, [{ field, message: 'must not contain control characters' }]);
  }
  const length = [...text].length;
  if (length > ALT_TEXT_MAX) {
    throw new Invalid('VALIDATION_FAILED', `${field} is ${length} characters long; at most ${ALT_TEXT_MAX} are accepted`, [{ field, message: `must be at most ${ALT_TEXT_MAX} characters` }]);
  }
  return text;
}

function quotaExceeded(quotaBytes: number, usedBytes: number, fileBytes?: number): TooLarge {
  const left = Math.max(0, quotaBytes - usedBytes);
  const file = fileBytes === undefined ? `this file is larger than the ${formatBytes(left)} left` : `this file (${formatBytes(fileBytes)}) is larger than the ${formatBytes(left)} left`;
  return new TooLarge('MEDIA_QUOTA_EXCEEDED',
    `This workspace stores ${formatBytes(usedBytes)} (${usedBytes} bytes) of media and its quota is ${formatBytes(quotaBytes)} (${quotaBytes} bytes, MEDIA_WORKSPACE_QUOTA_BYTES): ${usedBytes >= quotaBytes ? 'it is full' : file}. Delete media no post uses, or ask the server's operator to raise the quota.`,
    { quotaBytes, usedBytes, ...(fileBytes === undefined ? {} : { fileBytes }) });
}

const notFound = () => new NotFound('NOT_FOUND', 'This media does not exist in this workspace (it may have been deleted, or removed unused by the cleanup).');

/** Reads the stream once: detects, limits, and observes what the row needs. Errors are DomainErrors for the caller. */
class UploadInspector extends Transform {
  private head: Buffer[] = [];
  private headLength = 0;
  private total = 0;
  mime: AcceptedType | undefined;
  kind: MediaKind | undefined;
  private limit = Infinity;
  private imagePrefix: Buffer[] = [];
  private imagePrefixLength = 0;
  readonly mp4 = new Mp4HeaderReader();

  constructor(private readonly limits: MediaLimits, private readonly rooms: Room[] = []) {
    super();
  }

  get bytes(): number {
    return this.total;
  }

  prefix(): Buffer {
    return Buffer.concat(this.imagePrefix);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.mime) {
      this.pass(chunk, cb);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < DETECT_BYTES) {
      cb();
      return;
    }
    this.detect().then(() => this.releaseHead(cb), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.mime) {
      cb();
      return;
    }
    if (this.headLength === 0) {
      cb(new Invalid('EMPTY_FILE', 'The file is empty: send the bytes of an image or a video in the field "file".'));
      return;
    }
    // A file smaller than the detection sample.
    this.detect().then(() => this.releaseHead(cb), cb);
  }

  private releaseHead(cb: TransformCallback): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    this.pass(head, cb);
  }

  private async detect(): Promise<void> {
    const sample = Buffer.concat(this.head);
    const found = await fileTypeFromBuffer(sample);
    const mime = found ? (SAME_AS[found.mime] ?? found.mime) : undefined;
    if (!mime || !(mime in ACCEPTED_TYPES)) {
      const what = found ? `a ${found.mime} file (.${found.ext})` : 'of a type that could not be recognised';
      throw new UnsupportedMediaType('UNSUPPORTED_MEDIA_TYPE',
        `This file is ${what}, judging by its content (its name does not count). Accepted: ${ACCEPTED_LIST}.`,
        { detectedType: found?.mime ?? null, acceptedTypes: Object.keys(ACCEPTED_TYPES) });
    }
    this.mime = mime as AcceptedType;
    this.kind = ACCEPTED_TYPES[this.mime];
    this.limit = this.kind === 'image' ? this.limits.maxImageBytes : this.limits.maxVideoBytes;
  }

  private pass(chunk: Buffer, cb: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.limit) {
      const setting = this.kind === 'image' ? 'MEDIA_MAX_IMAGE_BYTES' : 'MEDIA_MAX_VIDEO_BYTES';
      cb(new TooLarge('MEDIA_TOO_LARGE',
        `This ${this.kind} is larger than the ${formatBytes(this.limit)} (${this.limit} bytes) this server accepts for ${this.kind}s (${setting}); make it smaller and upload it again.`,
        { limitBytes: this.limit, kind: this.kind, detectedType: this.mime }));
      return;
    }
    for (const room of this.rooms) {
      if (this.total > room.bytes) {
        cb(room.refuse());
        return;
      }
    }
    if (this.kind === 'image' && this.imagePrefixLength < IMAGE_PREFIX_BYTES) {
      const part = chunk.subarray(0, IMAGE_PREFIX_BYTES - this.imagePrefixLength);
      this.imagePrefix.push(Buffer.from(part));
      this.imagePrefixLength += part.length;
    }
    if (this.kind === 'video') this.mp4.push(chunk);
    cb(null, chunk);
  }
}

export class MediaService {
  private readonly now: () => Date;

  constructor(private readonly d: {
    db: Db;
    storage: MediaStorage;
    limits: MediaLimits;
    /** Which media ids posts refer to (see in-use.ts): those are never cleaned up nor deleted. */
    inUse: MediaInUse;
    log?: Logger;
    clock?: () => Date;
    /** Signed links for networks that fetch media by URL (Instagram, Threads). */
    links?: MediaLinks;
  }) {
    this.now = d.clock ?? (() => new Date());
  }

  get limits(): MediaLimits {
    return this.d.limits;
  }

  /**
   * Streams one file into storage. `source` is consumed until the end, or until the file is refused
   * (415 type, 413 size or quota, 400 empty, 422 unreadable, 507 no room on disk): the caller then owns
   * what is left of it. `expectedBytes` (the request's length, when known) lets a file the disk cannot
   * hold be refused before it is read.
   */
  async upload(workspaceId: string, userId: string | null, source: Readable, fileName: string | undefined, opts: { altText?: string | null; expectedBytes?: number } = {}): Promise<Media> {
    const altText = cleanAltText(opts.altText);
    const id = randomUUID();
    const storageKey = `${workspaceId.toLowerCase()}/${id}`;
    const rooms: Room[] = [];
    const disk = await this.diskRoom(opts.expectedBytes ?? 0);
    if (disk !== undefined) rooms.push({ bytes: disk, refuse: () => this.diskFull({ reason: 'reserve', roomBytes: disk }) });
    const quota = this.d.limits.quotaBytes ?? 0;
    if (quota > 0) {
      const used = await this.usedBytes(workspaceId);
      if (used >= quota) throw quotaExceeded(quota, used);
      rooms.push({ bytes: quota - used, refuse: () => quotaExceeded(quota, used) });
    }
    const inspector = new UploadInspector(this.d.limits, rooms);
    const onSourceError = (err: Error) => inspector.destroy(err);
    // A small file can be refused before storage starts reading (it awaits its folders): the error then
    // stays on the inspector, and storage.put rejects with it as soon as it reads.
    inspector.on('error', () => {});
    source.on('error', onSourceError);
    source.pipe(inspector);
    let stored;
    try {
      stored = await this.d.storage.put(storageKey, inspector);
    } catch (err) {
      if (err instanceof StorageFull) throw this.diskFull({ reason: 'full', err });
      throw err;
    } finally {
      source.unpipe(inspector);
      source.off('error', onSourceError);
    }

    try {
      const mimeType = inspector.mime!;
      let width: number | null = null;
      let height: number | null = null;
      let durationSeconds: number | null = null;
      if (inspector.kind === 'image') {
        ({ width, height } = await this.imageDimensions(storageKey, inspector.prefix(), stored.bytes, mimeType));
      } else {
        const info = inspector.mp4.result();
        if (!inspector.mp4.sawMovieHeader) {
          throw new UnprocessableContent('INVALID_MEDIA', 'This video has no movie header (the "moov" box): the file is incomplete or damaged. Export it again and upload the complete file.');
        }
        width = info.width ?? null;
        height = info.height ?? null;
        durationSeconds = info.durationSeconds ?? null;
      }
      const values = {
        id, workspaceId, uploadedBy: userId, storageKey, fileName: cleanFileName(fileName), mimeType,
        bytes: stored.bytes, sha256: stored.sha256, width, height, durationSeconds, altText, createdAt: this.now(),
      };
      if (quota === 0) return (await this.d.db.insert(media).values(values).returning())[0]!;
      // Uploads of one workspace commit one at a time, each counting what the others stored.
      return await this.d.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`media-quota:${workspaceId.toLowerCase()}`}, 0))`);
        const used = await this.usedBytes(workspaceId, tx);
        if (used + stored.bytes > quota) throw quotaExceeded(quota, used, stored.bytes);
        return (await tx.insert(media).values(values).returning())[0]!;
      });
    } catch (err) {
      await this.d.storage.delete(storageKey).catch((e: unknown) => this.d.log?.warn({ err: (e as Error).message, storageKey }, 'could not remove a refused upload'));
      throw err;
    }
  }

  /** Bytes of media the workspace stores (what its quota counts). */
  async usedBytes(workspaceId: string, db: DbOrTx = this.d.db): Promise<number> {
    const [row] = await db.select({ bytes: sql<string>`coalesce(sum(${media.bytes}), 0)` }).from(media).where(eq(media.workspaceId, workspaceId));
    return Number(row?.bytes ?? 0);
  }

  /**
   * Bytes an upload may take on the storage's disk (free space less the reserve), or undefined when the
   * storage cannot say; 507 at once when even `expectedBytes` does not fit.
   */
  private async diskRoom(expectedBytes: number): Promise<number | undefined> {
    if (!this.d.storage.freeBytes) return undefined;
    const free = await this.d.storage.freeBytes();
    const room = free - (this.d.limits.diskReserveBytes ?? 0);
    if (room <= 0 || room < expectedBytes) throw this.diskFull({ reason: 'reserve', roomBytes: Math.max(0, room), freeBytes: free, expectedBytes });
    return room;
  }

  /** 507: the operator's problem, logged with the figures they need; the client is told only that it may retry later. */
  private diskFull(why: { reason: 'reserve' | 'full'; roomBytes?: number; freeBytes?: number; expectedBytes?: number; err?: StorageFull }): InsufficientStorage {
    const reserveBytes = this.d.limits.diskReserveBytes ?? 0;
    if (why.reason === 'full') {
      this.d.log?.warn({ storageKey: why.err?.key, cause: (why.err?.cause as Error | undefined)?.message }, 'media upload failed: the media disk is full (partial file removed); free space under MEDIA_DIR');
    } else {
      this.d.log?.warn({ freeBytes: why.freeBytes, roomBytes: why.roomBytes, reserveBytes, expectedBytes: why.expectedBytes }, 'media upload refused: it would leave the media disk with less free space than MEDIA_DISK_RESERVE_BYTES');
    }
    return new InsufficientStorage('INSUFFICIENT_STORAGE',
      'The server has no room left to store this file (its media disk is full), so nothing of it was kept. This is not a problem with the file: try again later (it has been logged for the server\'s operator).',
      { reason: why.reason === 'full' ? 'disk_full' : 'disk_reserve' });
  }

  private async imageDimensions(storageKey: string, prefix: Buffer, bytes: number, mimeType: string): Promise<{ width: number; height: number }> {
    let size: ReturnType<typeof imageSize> | undefined;
    try {
      size = imageSize(prefix);
    } catch {
      // A JPEG with more than 512 KiB of metadata before its frame header: read the whole file.
      if (bytes > prefix.length) size = await this.d.storage.read(storageKey).then((all) => imageSize(all)).catch(() => undefined);
    }
    if (!size?.width || !size.height) {
      throw new UnprocessableContent('INVALID_MEDIA', `This file starts like ${mimeType} but its picture size cannot be read: it is damaged or incomplete.`);
    }
    // EXIF orientations 5 to 8 turn the picture a quarter: the width shown is the stored height.
    const turned = (size.orientation ?? 1) >= 5;
    return { width: turned ? size.height : size.width, height: turned ? size.width : size.height };
  }

  /** Newest first, a page at a time (media_list_idx); `cursor` is the previous page's nextCursor. */
  async list(workspaceId: string, page: PageRequest): Promise<{ items: Media[]; nextCursor: string | null }> {
    const rows = await this.d.db.select({ media, cursorKey: mediaList.fields.cursorKey }).from(media).where(and(
      eq(media.workspaceId, workspaceId),
      mediaList.startAfter(page),
    )).orderBy(...mediaList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = mediaList.page(rows, page.limit);
    return { items: items.map((r) => r.media), nextCursor };
  }

  async get(workspaceId: string, id: string): Promise<Media> {
    if (!UUID.test(id)) throw notFound();
    const [row] = await this.d.db.select().from(media).where(and(eq(media.id, id.toLowerCase()), eq(media.workspaceId, workspaceId)));
    if (!row) throw notFound();
    return row;
  }

  /** An upload reached through a signed link: 404 unless the link is ours and current. */
  async getByLink(id: string, expires: number, sig: string): Promise<Media> {
    if (!UUID.test(id) || !this.d.links?.verify(id, expires, sig, this.now().getTime())) throw new NotFound('NOT_FOUND', 'This link does not exist or has expired.');
    const [row] = await this.d.db.select().from(media).where(eq(media.id, id.toLowerCase()));
    if (!row) throw new NotFound('NOT_FOUND', 'This link does not exist or has expired.');
    return row;
  }

  async setAltText(workspaceId: string, id: string, altText: string | null): Promise<Media> {
    const value = cleanAltText(altText);
    await this.get(workspaceId, id);
    const [row] = await this.d.db.update(media).set({ altText: value })
      .where(and(eq(media.id, id.toLowerCase()), eq(media.workspaceId, workspaceId))).returning();
    if (!row) throw notFound();
    return row;
  }

  /** The bytes of a media (from get()), for download. */
  async open(row: Media): Promise<Readable> {
    try {
      return await this.d.storage.open(row.storageKey);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.d.log?.error({ mediaId: row.id, storageKey: row.storageKey }, 'media file missing from storage');
        throw new NotFound('MEDIA_FILE_MISSING', 'The file of this media is missing from storage; upload it again.');
      }
      throw err;
    }
  }

  /** Deletes an upload no post refers to (409 otherwise). */
  async delete(workspaceId: string, id: string): Promise<void> {
    const row = await this.get(workspaceId, id);
    // The row lock waits for a post being saved with this media (it holds the row FOR SHARE), and the
    // in-use check after it sees that post.
    await this.d.db.transaction(async (tx) => {
      const [locked] = await tx.select({ id: media.id }).from(media).where(and(eq(media.id, row.id), eq(media.workspaceId, workspaceId))).for('update');
      if (!locked) throw notFound();
      if ((await this.d.inUse([row.id], tx)).has(row.id)) {
        throw new Conflict('MEDIA_IN_USE', 'A post uses this media: remove it from the post (or delete the post) first, then delete the media.');
      }
      await tx.delete(media).where(eq(media.id, row.id));
    });
    await this.removeFile(row.storageKey);
  }

  private async removeFile(storageKey: string): Promise<void> {
    try {
      await this.d.storage.delete(storageKey);
    } catch (err) {
      // The row is gone; a file left behind is only disk space.
      this.d.log?.warn({ err: (err as Error).message, storageKey }, 'could not remove a media file');
    }
  }

  /** With a transaction, the rows are locked FOR SHARE until it ends, so they cannot be deleted meanwhile. */
  private async rows(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<Media[]> {
    const wanted = [...new Set(ids.map((i) => i.toLowerCase()))];
    const valid = wanted.filter((i) => UUID.test(i));
    const query = (tx ?? this.d.db).select().from(media).where(and(eq(media.workspaceId, workspaceId), inArray(media.id, valid)));
    const rows = valid.length === 0 ? [] : tx ? await query.for('share') : await query;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = wanted.filter((i) => !byId.has(i));
    if (missing.length > 0) {
      const list = missing.map((m) => `"${m}"`).join(', ');
      throw new Invalid('UNKNOWN_MEDIA',
        `No media ${list} in this workspace: ${missing.length === 1 ? 'it was' : 'they were'} never uploaded here, deleted, or removed unused after ${this.d.limits.unusedTtlHours} hours. Upload the file again and use the new id.`,
        { mediaIds: missing });
    }
    return ids.map((i) => byId.get(i.toLowerCase())!);
  }

  /** Type, size and duration of each id, in order; an id not in the workspace is an error naming it. */
  async describe(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<MediaFacts[]> {
    return (await this.rows(workspaceId, ids, tx)).map((r) => ({
      id: r.id, mimeType: r.mimeType, bytes: r.bytes, width: r.width, height: r.height, durationSeconds: r.durationSeconds,
    }));
  }

  /** The files to publish, in order; `read()` loads the bytes. */
  async items(workspaceId: string, ids: string[]): Promise<MediaItem[]> {
    return (await this.rows(workspaceId, ids)).map((r) => ({
      mimeType: r.mimeType,
      bytes: r.bytes,
      ...(r.width !== null ? { width: r.width } : {}),
      ...(r.height !== null ? { height: r.height } : {}),
      ...(r.durationSeconds !== null ? { durationSeconds: r.durationSeconds } : {}),
      ...(r.altText ? { altText: r.altText } : {}),
      ...(this.d.links ? { publicUrl: this.d.links.url(r.id, this.now().getTime()) } : {}),
      read: () => this.d.storage.read(r.storageKey),
    }));
  }

  /**
   * Removes uploads older than MEDIA_UNUSED_TTL_HOURS that no post refers to, and what crashed uploads
   * left in storage. Returns how many media were removed.
   */
  async cleanupUnused(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.d.limits.unusedTtlHours * 3_600_000);
    let removed = 0;
    let afterId: string | undefined;
    for (;;) {
      const batch = await this.d.db.select({ id: media.id }).from(media)
        .where(and(lt(media.createdAt, cutoff), afterId ? gt(media.id, afterId) : undefined))
        .orderBy(asc(media.id)).limit(CLEANUP_BATCH);
      if (batch.length === 0) break;
      afterId = batch.at(-1)!.id;
      // Locked first (skipping rows a post being saved holds), then checked, then deleted: a post
      // committed meanwhile is seen by the check.
      const deleted = await this.d.db.transaction(async (tx) => {
        const locked = await tx.select({ id: media.id }).from(media).where(inArray(media.id, batch.map((b) => b.id))).for('update', { skipLocked: true });
        const used = await this.d.inUse(locked.map((b) => b.id), tx);
        const unused = locked.map((b) => b.id).filter((i) => !used.has(i));
        if (unused.length === 0) return [];
        return tx.delete(media).where(and(inArray(media.id, unused), lt(media.createdAt, cutoff))).returning({ storageKey: media.storageKey });
      });
      for (const d of deleted) await this.removeFile(d.storageKey);
      removed += deleted.length;
      if (batch.length < CLEANUP_BATCH) break;
    }
    const swept = (await this.d.storage.sweepIncomplete?.(cutoff)) ?? 0;
    if (swept > 0) this.d.log?.info({ swept }, 'removed unfinished uploads from media storage');
    return removed;
  }
}

/** Job `cleanup_media` (hourly, see runtime.ts). */
export const CLEANUP_MEDIA_TASK = 'cleanup_media';

export function cleanupMediaTask(service: MediaService, log: Logger): Task {
  return async () => {
    const removed = await service.cleanupUnused();
    if (removed > 0) log.info({ removed }, 'removed unused media');
  };
}
