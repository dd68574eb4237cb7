// Where uploaded bytes live. A small interface, so that a bucket can replace the local disk later without
// the service noticing; LocalDiskStorage is the one implementation today.
// - A file becomes visible under its key only once complete: bytes go to a temporary file in the same
//   file system, are flushed, and the temporary file is then renamed (atomic). A half-written upload, a
//   refused one or a crash mid-write never leaves a readable file under a key.
// - The SHA-256 and the size are computed while the bytes stream through, never by reading them again.
// - Keys are checked: a key is a relative path of plain segments, so no key reaches outside the folder.
// - A full disk (ENOSPC, or EDQUOT under a file-system quota) is a StorageFull error, after the partial
//   file is removed, so the caller can answer 507 rather than a 500.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredObject {
  bytes: number;
  /** Lower-case hex SHA-256 of the bytes written. */
  sha256: string;
}

export interface MediaStorage {
  /** Streams `source` under `key` (replacing what was there). Rejects, leaving nothing under the key, if the source fails. */
  put(key: string, source: Readable): Promise<StoredObject>;
  /** A stream of the bytes; rejects with a NotFound-coded error when the key holds nothing. */
  open(key: string): Promise<Readable>;
  read(key: string): Promise<Buffer>;
  /** Removes the object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Removes leftovers of writes that never finished (a crash mid-upload) older than the given date. */
  sweepIncomplete?(olderThan: Date): Promise<number>;
  /** Bytes that can still be written (what an unprivileged process may use); absent when unknowable (a bucket). */
  freeBytes?(): Promise<number>;
}

/** The storage has no room left: nothing of the write was kept. */
export class StorageFull extends Error {
  readonly code = 'STORAGE_FULL';
  constructor(readonly key: string, cause: NodeJS.ErrnoException) {
    super(`media storage is full (${cause.code}) while writing ${key}`, { cause });
    this.name = 'StorageFull';
  }
}

const isNoSpace = (err: unknown) => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException)?.code ?? '');

export class InvalidStorageKey extends Error {
  constructor(key: string) {
    super(`invalid media storage key ${JSON.stringify(key.slice(0, 100))}: use segments of letters, digits, '.', '_' or '-' separated by '/', each starting with a letter or digit`);
    this.name = 'InvalidStorageKey';
  }
}

// Each segment starts with a letter or digit, so "." and ".." (and hidden names, which the temporary
// folder uses) can never be a segment; no backslash, no NUL, no leading or doubled slash.
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
const KEY = new RegExp(`^${SEGMENT}(?:/${SEGMENT}){0,7}$`);

export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || !KEY.test(key)) throw new InvalidStorageKey(String(key));
}

const TEMP_DIR = '.incomplete';

/** Counts and hashes the bytes that pass through. */
function measuring(): Transform & { result(): StoredObject } {
  const hash = createHash('sha256');
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  }) as Transform & { result(): StoredObject };
  t.result = () => ({ bytes, sha256: hash.digest('hex') });
  return t;
}

const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

export class LocalDiskStorage implements MediaStorage {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  /** The file of a key; refuses any key that would resolve outside the folder. */
  pathOf(key: string): string {
    assertValidKey(key);
    const full = resolve(this.root, key);
    if (!full.startsWith(this.root + sep)) throw new InvalidStorageKey(key);
    return full;
  }

  async put(key: string, source: Readable): Promise<StoredObject> {
    const target = this.pathOf(key);
    const tempDir = join(this.root, TEMP_DIR);
    const temp = join(tempDir, `${randomUUID()}.part`);
    const meter = measuring();
    // The source may fail (its client goes away) while the folders are made, before pipeline listens: an
    // 'error' with no listener would end the process. Kept here and thrown once the folders exist.
    let early: unknown;
    const keep = (err: unknown) => { early ??= err; };
    source.on('error', keep);
    try {
      await mkdir(tempDir, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      source.off('error', keep);
      if (early !== undefined) throw early;
      // flush: fsync before close, so a rename after a power cut never points at an empty file.
      await pipeline(source, meter, createWriteStream(temp, { flags: 'wx', flush: true }));
      await rename(temp, target);
    } catch (err) {
      // Removing a file needs no free space, so this works on a full disk too.
      await unlink(temp).catch(() => {});
      // A source not yet read (mkdir failed) must still end, or its producer waits forever.
      if (!source.destroyed) source.destroy();
      if (isNoSpace(err)) throw new StorageFull(key, err as NodeJS.ErrnoException);
      throw err;
    }
    return meter.result();
  }

  async freeBytes(): Promise<number> {
    await mkdir(this.root, { recursive: true });
    const s = await statfs(this.root);
    // bavail, not bfree: the blocks reserved for root are not ours to count on.
    return s.bavail * s.bsize;
  }

  async open(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    // Open first, so a missing file rejects here rather than as a stream error after headers are sent.
    const handle = await open(path, 'r');
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw Object.assign(new Error(`no media file under ${key}`), { code: 'ENOENT' });
    }
    return handle.createReadStream();
  }

  async read(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async sweepIncomplete(olderThan: Date): Promise<number> {
    const tempDir = join(this.root, TEMP_DIR);
    let names: string[];
    try {
      names = await readdir(tempDir);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(tempDir, name);
      try {
        if ((await stat(path)).mtime < olderThan) {
          await unlink(path);
          removed++;
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return removed;
  }
}
