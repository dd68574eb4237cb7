// Uploaded media: streamed to storage while its type is read from the first bytes (never from the name),
// its size limited by that type, its SHA-256 computed on the way, its picture size (and a video's
// duration) recorded. Files stay in the workspace's library until someone deletes them; a file a post uses
// cannot be deleted (the answer names the posts). An image's thumbnail and preview are made afterwards by
// a job (previews.ts).
//
// Upload, step by step:
//   1. the first bytes (4100, what file-type needs for these formats) are held back and the type is
//      detected from them: anything but JPEG, PNG, GIF, WebP, MP4 or QuickTime is refused (415);
//   2. the limit of that kind (image or video) then applies to the whole stream: one byte past it and
//      the write is abandoned, the partial file removed (413);
//   3. on the way through, an image keeps its first 512 KiB (where every format states its size), a
//      video feeds its header boxes to the MP4 reader (duration, picture size);
//   4. the row is written once the file is complete, with the job that makes an image's previews in the
//      same transaction; if that fails, the file is removed.
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
import { and, asc, eq, gt, gte, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import type { Task } from 'graphile-worker';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { addJob } from '../../infra/queue/add-job.ts';
import type { Logger } from '../../infra/logger.ts';
import { Conflict, DomainError, InsufficientStorage, Invalid, NotFound, TooLarge, UnprocessableContent, UnsupportedMediaType } from '../../domain/errors.ts';
import type { MediaItem } from '../../providers/types.ts';
import { Mp4HeaderReader } from './mp4.ts';
import type { MediaLinks } from './links.ts';
import { StorageFull, type MediaStorage } from './storage.ts';
import { media, mediaTagLinks, type PreviewState } from './schema.ts';
import { MediaLibrary } from './library.ts';
import { asStream, PreviewRenderer, UndecodableImage } from './previews.ts';

export type MediaRow = typeof media.$inferSelect;
/** A file as the API shows it: its row and its tags' names. */
export type Media = MediaRow & { tags: string[] };

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
const PREVIEWS_BATCH = 500;
const PREVIEWS_JOB_MAX_ATTEMPTS = 3;
// Two lists with one cursor shape: the library's own order, and one tag's files (read from media_tag_links,
// which copies each file's created_at so that its index serves the order).
const mediaList = keyset('media', { createdAt: [media.createdAt, 'time'], id: [media.id, 'uuid'] }, 'desc');
const taggedList = keyset('media', { createdAt: [mediaTagLinks.createdAt, 'time'], id: [mediaTagLinks.mediaId, 'uuid'] }, 'desc');

/** What the library can be searched by; every field narrows (AND). */
export interface MediaFilter {
  /** Part of the file name or of the alt text, ignoring case. */
  q?: string;
  /** A tag's name (ignoring case). */
  tag?: string;
  type?: 'image' | 'video';
  /** A folder id, or 'none' for files in no folder. */
  folder?: string;
  minBytes?: number;
  maxBytes?: number;
  minWidth?: number;
  maxWidth?: number;
  minHeight?: number;
  maxHeight?: number;
  /** Uploaded at or after / before this instant. */
  from?: Date;
  to?: Date;
}

/** A post that uses a file (templates will join it). */
/** A post that uses a file, or a template (status: shared or personal; text: its name). */
export interface PostUse {
  kind: 'post' | 'template';
  id: string;
  workspaceId: string;
  status: string;
  text: string;
  publishAt: Date | null;
  createdAt: Date;
}

/** The posts that use one file (at most 50; `more` when there are others). */
export type MediaUsers = (mediaId: string, db?: DbOrTx) => Promise<{ uses: PostUse[]; more: boolean }>;

export interface MediaLimits {
  maxImageBytes: number;
  maxVideoBytes: number;
  /** Leftovers of uploads that never finished (a crash mid-write) are removed once this old. */
  incompleteTtlHours: number;
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

const notFound = () => new NotFound('NOT_FOUND', 'This media does not exist in this workspace (it may have been deleted).');

/** Words for a post in a message: its text's start, its state and its time. */
/** "a post", "posts", "a template", "templates" or "posts and templates" ("that post", "those posts"… with `that`). */
function usersNoun(uses: PostUse[], more: boolean, that?: 'that'): string {
  const kinds = new Set(uses.map((u) => u.kind));
  if (kinds.size > 1) return that ? 'those posts and templates' : 'posts and templates';
  const kind = kinds.has('template') ? 'template' : 'post';
  if (uses.length === 1 && !more) return `${that ?? 'a'} ${kind}`;
  return that ? `those ${kind}s` : `${kind}s`;
}

function describePost(p: PostUse): string {
  if (p.kind === 'template') return p.status === 'personal' ? p.text : `the template "${p.text}"`;
  const text = p.text.replace(/\s+/g, ' ').trim();
  const quoted = text ? `"${[...text].slice(0, 40).join('')}${[...text].length > 40 ? '…' : ''}"` : '(no text)';
  const when = p.publishAt ? ` for ${p.publishAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  const state = p.status === 'pending_approval' ? 'waiting for approval' : p.status;
  return `${quoted} (${state}${when}, post ${p.id})`;
}

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
    /** Which media ids posts refer to (see in-use.ts): those cannot be deleted. */
    inUse: MediaInUse;
    /** The posts that use one file (in-use.ts). */
    users: MediaUsers;
    log?: Logger;
    clock?: () => Date;
    /** Signed links for networks that fetch media by URL (Instagram, Threads). */
    links?: MediaLinks;
  }) {
    this.now = d.clock ?? (() => new Date());
    this.library = new MediaLibrary(d.db);
  }

  /** Folders and tags. */
  readonly library: MediaLibrary;
  private renderer: PreviewRenderer | undefined;

  get limits(): MediaLimits {
    return this.d.limits;
  }

  /**
   * Streams one file into storage. `source` is consumed until the end, or until the file is refused
   * (415 type, 413 size or quota, 400 empty, 422 unreadable, 507 no room on disk): the caller then owns
   * what is left of it. `expectedBytes` (the request's length, when known) lets a file the disk cannot
   * hold be refused before it is read.
   */
  async upload(workspaceId: string, userId: string | null, source: Readable, fileName: string | undefined, opts: { altText?: string | null; expectedBytes?: number; folderId?: string | null } = {}): Promise<Media> {
    const altText = cleanAltText(opts.altText);
    const folderId = opts.folderId ? (await this.library.folder(workspaceId, opts.folderId, this.d.db, 'folderId')).id : null;
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
      const image = inspector.kind === 'image';
      const values = {
        id, workspaceId, uploadedBy: userId, storageKey, fileName: cleanFileName(fileName), mimeType,
        bytes: stored.bytes, sha256: stored.sha256, width, height, durationSeconds, altText, folderId,
        previewState: image ? null : 'none' as const, createdAt: this.now(),
      };
      const row = await this.d.db.transaction(async (tx) => {
        if (folderId) await this.lockFolder(tx, workspaceId, folderId, 'folderId');
        if (quota > 0) {
          // Uploads of one workspace commit one at a time, each counting what the others stored.
          await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`media-quota:${workspaceId.toLowerCase()}`}, 0))`);
          const used = await this.usedBytes(workspaceId, tx);
          if (used + stored.bytes > quota) throw quotaExceeded(quota, used, stored.bytes);
        }
        const [inserted] = await tx.insert(media).values(values).returning();
        if (image) await addJob(tx, MAKE_PREVIEWS_TASK, { mediaId: id }, { jobKey: `media-previews:${id}`, maxAttempts: PREVIEWS_JOB_MAX_ATTEMPTS });
        return inserted!;
      });
      return { ...row, tags: [] };
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

  /**
   * The library, newest first, a page at a time; `cursor` is the previous page's nextCursor. Which index
   * reads the page: a tag's, media_tag_links_list_idx; a folder's (or the unfiled), media_folder_list_idx;
   * a type's, media_kind_list_idx; otherwise media_list_idx (dates narrow each of them). The name, size and
   * picture-size filters are checked on the rows that index yields.
   */
  async list(workspaceId: string, filter: MediaFilter, page: PageRequest): Promise<{ items: Media[]; nextCursor: string | null }> {
    const conditions: (SQL | undefined)[] = [];
    if (filter.q) {
      const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(sql`(${media.fileName} ilike ${like} or ${media.altText} ilike ${like})`);
    }
    if (filter.minBytes !== undefined) conditions.push(gte(media.bytes, filter.minBytes));
    if (filter.maxBytes !== undefined) conditions.push(lte(media.bytes, filter.maxBytes));
    if (filter.minWidth !== undefined) conditions.push(gte(media.width, filter.minWidth));
    if (filter.maxWidth !== undefined) conditions.push(lte(media.width, filter.maxWidth));
    if (filter.minHeight !== undefined) conditions.push(gte(media.height, filter.minHeight));
    if (filter.maxHeight !== undefined) conditions.push(lte(media.height, filter.maxHeight));
    if (filter.type) conditions.push(sql`split_part(${media.mimeType}, '/', 1) = ${filter.type}`);
    if (filter.folder === 'none') conditions.push(isNull(media.folderId));
    else if (filter.folder) conditions.push(eq(media.folderId, (await this.library.folder(workspaceId, filter.folder, this.d.db, 'querystring.folder')).id));

    let rows: { media: MediaRow; cursorKey: string[] }[];
    if (filter.tag !== undefined) {
      // A tag is the workspace's, and links only join files of its workspace: the tag alone scopes the page.
      const tag = await this.library.tagNamed(workspaceId, filter.tag);
      if (!tag) return { items: [], nextCursor: null };
      rows = await this.d.db.select({ media, cursorKey: taggedList.fields.cursorKey }).from(mediaTagLinks)
        .innerJoin(media, eq(media.id, mediaTagLinks.mediaId))
        .where(and(
          eq(mediaTagLinks.tagId, tag.id),
          filter.from ? gte(mediaTagLinks.createdAt, filter.from) : undefined,
          filter.to ? sql`${mediaTagLinks.createdAt} < ${filter.to.toISOString()}::timestamptz` : undefined,
          taggedList.startAfter(page),
          ...conditions,
        )).orderBy(...taggedList.orderBy).limit(page.limit + 1);
    } else {
      rows = await this.d.db.select({ media, cursorKey: mediaList.fields.cursorKey }).from(media).where(and(
        eq(media.workspaceId, workspaceId),
        filter.from ? gte(media.createdAt, filter.from) : undefined,
        filter.to ? sql`${media.createdAt} < ${filter.to.toISOString()}::timestamptz` : undefined,
        mediaList.startAfter(page),
        ...conditions,
      )).orderBy(...mediaList.orderBy).limit(page.limit + 1);
    }
    const { items, nextCursor } = mediaList.page(rows, page.limit);
    return { items: await this.withTags(items.map((r) => r.media)), nextCursor };
  }

  private async withTags(rows: MediaRow[]): Promise<Media[]> {
    const tags = await this.library.tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [] }));
  }

  private async row(workspaceId: string, id: string): Promise<MediaRow> {
    if (!UUID.test(id)) throw notFound();
    const [row] = await this.d.db.select().from(media).where(and(eq(media.id, id.toLowerCase()), eq(media.workspaceId, workspaceId)));
    if (!row) throw notFound();
    return row;
  }

  async get(workspaceId: string, id: string): Promise<Media> {
    return (await this.withTags([await this.row(workspaceId, id)]))[0]!;
  }

  /** An upload reached through a signed link: 404 unless the link is ours and current. */
  async getByLink(id: string, expires: number, sig: string): Promise<MediaRow> {
    if (!UUID.test(id) || !this.d.links?.verify(id, expires, sig, this.now().getTime())) throw new NotFound('NOT_FOUND', 'This link does not exist or has expired.');
    const [row] = await this.d.db.select().from(media).where(eq(media.id, id.toLowerCase()));
    if (!row) throw new NotFound('NOT_FOUND', 'This link does not exist or has expired.');
    return row;
  }

  async setAltText(workspaceId: string, id: string, altText: string | null): Promise<Media> {
    return this.update(workspaceId, id, { altText });
  }

  /** Changes what is given: alt text (null or blank clears it), folder (null: none), tags (by name, replacing the file's). */
  async update(workspaceId: string, id: string, change: { altText?: string | null; folderId?: string | null; tags?: string[] }): Promise<Media> {
    const altText = change.altText === undefined ? undefined : cleanAltText(change.altText);
    const current = await this.row(workspaceId, id);
    await this.d.db.transaction(async (tx) => {
      const set: Partial<MediaRow> = {};
      if (altText !== undefined) set.altText = altText;
      if (change.folderId !== undefined) set.folderId = change.folderId === null ? null : await this.lockFolder(tx, workspaceId, change.folderId, 'body.folderId');
      if (Object.keys(set).length) {
        const [row] = await tx.update(media).set(set).where(and(eq(media.id, current.id), eq(media.workspaceId, workspaceId))).returning({ id: media.id });
        if (!row) throw notFound();
      }
      if (change.tags !== undefined) await this.library.setTags(tx, workspaceId, current, change.tags);
    });
    return this.get(workspaceId, id);
  }

  /** The folder's id, locked FOR SHARE so that it cannot be deleted before the file in it commits. */
  private async lockFolder(tx: DbOrTx, workspaceId: string, folderId: string, field: string): Promise<string> {
    const folder = await this.library.folder(workspaceId, folderId, tx, field);
    await tx.execute(sql`select 1 from media_folders where id = ${folder.id} for share`);
    return folder.id;
  }

  /** The posts that use this file. */
  async uses(workspaceId: string, id: string): Promise<{ uses: PostUse[]; more: boolean }> {
    const row = await this.row(workspaceId, id);
    const found = await this.d.users(row.id);
    return { uses: found.uses.filter((u) => u.workspaceId === workspaceId), more: found.more };
  }

  /** The bytes of a media (from get()), for download. */
  async open(row: MediaRow): Promise<Readable> {
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

  /** A thumbnail or preview of an image (from get()), once made. */
  async openDerived(row: MediaRow, which: 'thumbnail' | 'preview'): Promise<Readable> {
    const key = which === 'thumbnail' ? row.thumbnailKey : row.previewKey;
    if (!key) {
      throw new NotFound('PREVIEW_NOT_READY', row.previewState === null
        ? `The ${which} of this image is being made; try again in a moment (the media's ${which}Url is set once it exists).`
        : `This file has no ${which} (${row.previewState === 'failed' ? 'the image could not be decoded' : 'only images get one'}); use its contentUrl.`);
    }
    try {
      return await this.d.storage.open(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound('MEDIA_FILE_MISSING', `The ${which} of this media is missing from storage.`);
      throw err;
    }
  }

  /**
   * Deletes a file no post uses, with its thumbnail and preview; its bytes leave the workspace's quota. A
   * file a post or template uses is refused (409 MEDIA_IN_USE) with them named, posts first, soonest to publish first.
   */
  async delete(workspaceId: string, id: string): Promise<void> {
    const row = await this.row(workspaceId, id);
    // The row lock waits for a post being saved with this media (it holds the row FOR SHARE), and the
    // in-use check after it sees that post.
    await this.d.db.transaction(async (tx) => {
      const [locked] = await tx.select({ id: media.id }).from(media).where(and(eq(media.id, row.id), eq(media.workspaceId, workspaceId))).for('update');
      if (!locked) throw notFound();
      if ((await this.d.inUse([row.id], tx)).has(row.id)) {
        const { uses, more } = await this.d.users(row.id, tx);
        const named = uses.slice(0, 3).map(describePost).join('; ');
        const others = uses.length - Math.min(3, uses.length);
        const rest = more ? ' and more' : others > 0 ? ` and ${others} more` : '';
        throw new Conflict('MEDIA_IN_USE',
          `This file is used by ${usersNoun(uses, more)}: ${named}${rest}. Remove it from ${usersNoun(uses, more, 'that')} (or delete ${uses.length === 1 && !more ? 'it' : 'them'}), then delete the file. GET …/media/${row.id}/uses lists them all.`,
          {
            posts: uses.filter((u) => u.kind === 'post').map((u) => ({ id: u.id, status: u.status, publishAt: u.publishAt?.toISOString() ?? null })),
            templates: uses.filter((u) => u.kind === 'template').map((u) => ({ id: u.id })),
            more,
          });
      }
      await tx.delete(media).where(eq(media.id, row.id));
    });
    for (const key of [row.storageKey, row.thumbnailKey, row.previewKey]) if (key) await this.removeFile(key);
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
  private async rows(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<MediaRow[]> {
    const wanted = [...new Set(ids.map((i) => i.toLowerCase()))];
    const valid = wanted.filter((i) => UUID.test(i));
    const query = (tx ?? this.d.db).select().from(media).where(and(eq(media.workspaceId, workspaceId), inArray(media.id, valid)));
    const rows = valid.length === 0 ? [] : tx ? await query.for('share') : await query;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = wanted.filter((i) => !byId.has(i));
    if (missing.length > 0) {
      const list = missing.map((m) => `"${m}"`).join(', ');
      throw new Invalid('UNKNOWN_MEDIA',
        `No media ${list} in this workspace: ${missing.length === 1 ? 'it was' : 'they were'} never uploaded here, or deleted. Upload the file again (or pick it from the library) and use its id.`,
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
   * Makes the thumbnail and preview of one image (job `make_media_previews`). Nothing when the file is gone
   * or already done; a file the decoder refuses is marked failed, not retried.
   */
  async makePreviews(mediaId: string): Promise<PreviewState | 'gone'> {
    const [row] = await this.d.db.select().from(media).where(eq(media.id, mediaId));
    if (!row) return 'gone';
    if (row.previewState !== null) return row.previewState;
    if (!row.mimeType.startsWith('image/')) {
      await this.d.db.update(media).set({ previewState: 'none' }).where(eq(media.id, row.id));
      return 'none';
    }
    this.renderer ??= new PreviewRenderer();
    let rendered;
    try {
      rendered = await this.renderer.render(await this.d.storage.read(row.storageKey));
    } catch (err) {
      if (!(err instanceof UndecodableImage) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.d.log?.warn({ mediaId: row.id, err: (err as Error).message }, 'no previews for this image: it could not be read or decoded');
      await this.d.db.update(media).set({ previewState: 'failed' }).where(and(eq(media.id, row.id), isNull(media.previewState)));
      return 'failed';
    }
    const thumbnailKey = `${row.storageKey}.thumb.webp`;
    const previewKey = `${row.storageKey}.preview.webp`;
    await this.d.storage.put(thumbnailKey, asStream(rendered.thumbnail));
    await this.d.storage.put(previewKey, asStream(rendered.preview));
    const [updated] = await this.d.db.update(media).set({ previewState: 'ready', thumbnailKey, previewKey })
      .where(and(eq(media.id, row.id), isNull(media.previewState))).returning({ id: media.id });
    // Deleted meanwhile (its files went before these were written): these go too.
    if (!updated && !(await this.d.db.select({ id: media.id }).from(media).where(eq(media.id, row.id))).length) {
      for (const key of [thumbnailKey, previewKey]) await this.removeFile(key);
      return 'gone';
    }
    return 'ready';
  }

  /**
   * The hourly upkeep (job `cleanup_media`). Library files are kept until deleted; what goes is what
   * uploads that never finished (a crash mid-write) left in storage, once MEDIA_INCOMPLETE_TTL_HOURS old.
   * Images still without previews after ten minutes get their job again (one lost to a crash, or files
   * uploaded before previews existed). Returns how many jobs were added.
   */
  async upkeep(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.d.limits.incompleteTtlHours * 3_600_000);
    const swept = (await this.d.storage.sweepIncomplete?.(cutoff)) ?? 0;
    if (swept > 0) this.d.log?.info({ swept }, 'removed unfinished uploads from media storage');
    const due = new Date(this.now().getTime() - 10 * 60_000);
    let queued = 0;
    let after: Date | undefined;
    for (;;) {
      const batch = await this.d.db.select({ id: media.id, createdAt: media.createdAt }).from(media)
        .where(and(isNull(media.previewState), sql`${media.createdAt} < ${due.toISOString()}::timestamptz`, after ? gt(media.createdAt, after) : undefined))
        .orderBy(asc(media.createdAt)).limit(PREVIEWS_BATCH);
      for (const r of batch) await addJob(this.d.db, MAKE_PREVIEWS_TASK, { mediaId: r.id }, { jobKey: `media-previews:${r.id}`, maxAttempts: PREVIEWS_JOB_MAX_ATTEMPTS });
      queued += batch.length;
      if (batch.length < PREVIEWS_BATCH) break;
      after = batch.at(-1)!.createdAt;
    }
    return queued;
  }
}

/** Job `cleanup_media` (hourly, see runtime.ts). */
export const CLEANUP_MEDIA_TASK = 'cleanup_media';
/** Job `make_media_previews`, one per uploaded image. */
export const MAKE_PREVIEWS_TASK = 'make_media_previews';

export function cleanupMediaTask(service: MediaService, log: Logger): Task {
  return async () => {
    const queued = await service.upkeep();
    if (queued > 0) log.info({ queued }, 'queued previews of images that had none');
  };
}

export function makePreviewsTask(service: MediaService): Task {
  return async (payload) => {
    const { mediaId } = payload as { mediaId: string };
    await service.makePreviews(mediaId);
  };
}
