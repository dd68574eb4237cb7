// The media folder's disk fills up: on a real 2 MiB tmpfs (mounted here; the tests run as root), an upload
// that meets ENOSPC while it streams answers 507 and leaves nothing (no partial file, no row), an upload
// the free space cannot hold is refused before it is read, and once space is freed uploads work again.
// Under the shipped defaults a disk with less free space than MEDIA_DISK_RESERVE_BYTES takes no upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { greyPng, newWorkspace, person } from './support/fixtures.ts';
import { eventually } from './support/eventually.ts';
import { media } from '../src/modules/media/schema.ts';
import { LocalDiskStorage, StorageFull } from '../src/modules/media/storage.ts';

const run = promisify(execFile);

let root: string;
let mounted = false;
let mountProblem = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'allin-disk-full-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', root]);
    mounted = true;
  } catch (err) {
    mountProblem = `cannot mount a tmpfs here (${(err as Error).message.trim()}); this test needs root or CAP_SYS_ADMIN`;
  }
});
after(async () => {
  if (mounted) await run('umount', [root]).catch(() => run('umount', ['-l', root]));
  await rm(root, { recursive: true, force: true });
});

/** A 2×2 PNG followed by `extra` random bytes (decoders stop at IEND; the type and size are read from the head). */
const png = (extra = 0): Buffer => Buffer.concat([greyPng(2, 2), randomBytes(extra)]);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

/** Appends to a file until the disk refuses (ENOSPC): afterwards nothing more fits. */
async function fillDisk(path: string): Promise<number> {
  const handle = await open(path, 'a');
  let written = 0;
  try {
    const block = randomBytes(4096);
    for (;;) {
      try {
        written += (await handle.write(block)).bytesWritten;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return written;
        throw err;
      }
    }
  } finally {
    await handle.close();
  }
}

interface Session { app: TestApp; token: string; ws: string }
async function session(mediaDir: string, overrides: Record<string, string> = {}): Promise<Session> {
  const app = await startTestApp({ MEDIA_DIR: mediaDir, ...overrides });
  const owner = await person(app);
  return { app, token: owner.token, ws: await newWorkspace(app, owner, 'Disk') };
}

async function upload(s: Session, bytes: Buffer): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), 'pic.png');
  const res = await fetch(`${s.app.url}/api/workspaces/${s.ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${s.token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const rowsOf = async (s: Session) =>
  (await s.app.running.services.db.select({ n: sql<number>`count(*)::int` }).from(media).where(eq(media.workspaceId, s.ws)))[0]!.n;

test('the disk fills while a file streams: 507, nothing half-written stays, and uploads work again once space is freed', async (ctx) => {
  if (!mounted) return ctx.skip(mountProblem);
  const mediaDir = join(root, 'media');
  const filler = join(root, 'filler');
  // The reserve is the free-space check under test here: at 0, only the disk itself says no.
  const s = await session(mediaDir, { MEDIA_DISK_RESERVE_BYTES: '0' });
  try {
    const first = await upload(s, png(100_000));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const kept = await filesUnder(mediaDir);
    assert.equal(kept.length, 1);

    // A chunked upload (no Content-Length, so no early refusal): a first part is written, then the disk
    // fills up behind its back, then the rest arrives.
    const boundary = `allin${randomBytes(8).toString('hex')}`;
    const body = png(1_500_000);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start(c) { controller = c; } });
    const send = (b: Buffer) => { try { controller.enqueue(new Uint8Array(b)); } catch { /* the server answered and closed */ } };
    let answered = false;
    const answer = fetch(`${s.app.url}/api/workspaces/${s.ws}/media`, {
      method: 'POST', body: stream, duplex: 'half',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    } as RequestInit).finally(() => { answered = true; });
    send(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`));
    send(body.subarray(0, 64 * 1024));
    const incomplete = join(mediaDir, '.incomplete');
    await eventually(async () => {
      const parts = await readdir(incomplete).catch(() => []);
      const sizes = await Promise.all(parts.map((p) => stat(join(incomplete, p)).then((st) => st.size, () => 0)));
      if (sizes.some((n) => n > 0)) return true;
      // answered before the bytes reached the disk: fail with that answer rather than wait
      if (answered) assert.fail(`answered before the file was written: ${JSON.stringify(await (await answer).json())}`);
      return false;
    }, 20_000, 'the first bytes of the upload on disk', 10);
    await fillDisk(filler);
    for (let at = 64 * 1024; at < body.length; at += 64 * 1024) send(body.subarray(at, at + 64 * 1024));
    send(Buffer.from(`\r\n--${boundary}--\r\n`));
    try { controller.close(); } catch { /* already closed */ }
    const res = await answer;
    const refused = await res.json() as Json;
    assert.equal(res.status, 507, JSON.stringify(refused));
    assert.equal(refused.code, 'INSUFFICIENT_STORAGE');
    assert.equal(refused.details.reason, 'disk_full');
    assert.match(refused.message, /no room left to store this file.*nothing of it was kept.*try again later/);
    assert.deepEqual(await filesUnder(mediaDir), kept, 'no partial file stays in the media folder');
    assert.equal(await rowsOf(s), 1, 'no row for the refused file');

    // The removed partial file gave its space back; fill that too. Now an upload whose length is known
    // is refused before it is read.
    await fillDisk(filler);
    const early = await upload(s, png(20_000));
    assert.equal(early.status, 507, JSON.stringify(early.body));
    assert.equal(early.body.details.reason, 'disk_reserve');
    assert.deepEqual(await filesUnder(mediaDir), kept);

    // Space freed: uploads work again, with no restart.
    await rm(filler);
    const again = await upload(s, png(20_000));
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(await rowsOf(s), 2);
    const content = await fetch(`${s.app.url}${again.body.contentUrl}`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(content.status, 200);
    assert.equal(Buffer.from(await content.arrayBuffer()).length, again.body.bytes);
  } finally {
    await s.app.stop();
    await rm(filler, { force: true });
    await rm(mediaDir, { recursive: true, force: true });
  }
});

test('under the shipped defaults, a disk with less free space than MEDIA_DISK_RESERVE_BYTES takes no upload', async (ctx) => {
  if (!mounted) return ctx.skip(mountProblem);
  const mediaDir = join(root, 'reserve');
  // 2 MiB free, less than the 1 GiB reserve.
  const s = await session(mediaDir);
  try {
    const r = await upload(s, png(10));
    assert.equal(r.status, 507, JSON.stringify(r.body));
    assert.equal(r.body.code, 'INSUFFICIENT_STORAGE');
    assert.equal(r.body.details.reason, 'disk_reserve');
    assert.deepEqual(await filesUnder(mediaDir), []);
    assert.equal(await rowsOf(s), 0);
  } finally {
    await s.app.stop();
    await rm(mediaDir, { recursive: true, force: true });
  }
});

test('local disk storage: ENOSPC while writing is a StorageFull error and the partial file is removed', async (ctx) => {
  if (!mounted) return ctx.skip(mountProblem);
  const dir = join(root, 'unit');
  await mkdir(dir);
  const storage = new LocalDiskStorage(dir);
  const before = await statfs(root);
  const free = before.bavail * before.bsize;
  assert.equal(await storage.freeBytes(), free);
  await assert.rejects(storage.put('ws/too-big', Readable.from([randomBytes(free + 64 * 1024)])), (err: unknown) => {
    assert.ok(err instanceof StorageFull, String(err));
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOSPC');
    return true;
  });
  assert.deepEqual(await filesUnder(dir), []);
  assert.equal(await storage.freeBytes(), free, 'all the space is back');
  const ok = await storage.put('ws/fits', Readable.from([randomBytes(1000)]));
  assert.equal(ok.bytes, 1000);
  await rm(dir, { recursive: true, force: true });
});
