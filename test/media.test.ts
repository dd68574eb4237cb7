// Media uploads through the real API: type from the bytes, size limits per type, dimensions and video
// duration, download, alt text, access across roles and workspaces, deletion, where a file is used and the cleanup job; plus
// the local disk storage and the MP4 header reader on their own.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { greyPng, newWorkspace, noisyPng, person, type Person } from './support/fixtures.ts';
import { media } from '../src/modules/media/schema.ts';
import { posts, postTargets } from '../src/modules/posts/schema.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { memberships } from '../src/modules/workspaces/schema.ts';
import { LocalDiskStorage, InvalidStorageKey } from '../src/modules/media/storage.ts';
import { Mp4HeaderReader, readMp4Info } from '../src/modules/media/mp4.ts';
import { CLEANUP_MEDIA_TASK } from '../src/modules/media/service.ts';
import { Conflict, Invalid } from '../src/domain/errors.ts';

// ---------- building real files ----------

/** A JPEG header (EXIF orientation, frame header) as cameras write it; enough for type and size. */
function jpeg(width: number, height: number, orientation: number): Buffer {
  const exif = Buffer.concat([Buffer.from('Exif\0\0MM\0\x2a', 'latin1'), u32(8), Buffer.from([0, 1, 0x01, 0x12, 0, 3]), u32(1), Buffer.from([0, orientation, 0, 0]), u32(0)]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, exif.length + 2]), exif]);
  const sof = Buffer.from([0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof, Buffer.alloc(64), Buffer.from([0xff, 0xd9])]);
}
function gif(width: number, height: number): Buffer {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80;
  return Buffer.concat([Buffer.from('GIF89a', 'latin1'), screen, Buffer.alloc(6, 0xff),
    Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b])]);
}
function webp(width: number, height: number): Buffer {
  const bits = Buffer.alloc(4);
  bits.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0);
  const chunk = Buffer.concat([Buffer.from('VP8L', 'latin1'), Buffer.from([32, 0, 0, 0]), Buffer.from([0x2f]), bits, Buffer.alloc(27)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + chunk.length, 4);
  return Buffer.concat([riff, Buffer.from('WEBP', 'latin1'), chunk]);
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}
const u32 = (...values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeInt32BE(v | 0, i * 4));
  return b;
};
const IDENTITY = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
const QUARTER_TURN = [0, 0x00010000, 0, -0x00010000, 0, 0, 0, 0, 0x40000000];
function mvhd(version: 0 | 1, timescale: number, duration: number): Buffer {
  const times = version === 1
    ? Buffer.concat([Buffer.alloc(16), u32(timescale), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(duration)); return b; })()])
    : Buffer.concat([Buffer.alloc(8), u32(timescale, duration)]);
  return box('mvhd', Buffer.from([version, 0, 0, 0]), times, u32(0x00010000), Buffer.from([1, 0]), Buffer.alloc(10), u32(...IDENTITY), Buffer.alloc(24), u32(2));
}
function tkhd(width: number, height: number, matrix = IDENTITY): Buffer {
  return box('tkhd', Buffer.from([0, 0, 0, 3]), Buffer.alloc(8), u32(1), Buffer.alloc(4), u32(0), Buffer.alloc(8), Buffer.alloc(8),
    u32(...matrix), u32(width * 65536, height * 65536));
}
const ftyp = (brand = 'isom') => box('ftyp', Buffer.from(brand, 'latin1'), u32(0x200), Buffer.from('isomiso2avc1mp41', 'latin1'));
/** A small MP4: ftyp, moov (mvhd + an audio track without size + a video track), mdat. */
function mp4(opts: { seconds?: number; width?: number; height?: number; moovLast?: boolean; mdatBytes?: number; brand?: string } = {}): Buffer {
  const moov = box('moov', mvhd(0, 1000, Math.round((opts.seconds ?? 12.345) * 1000)),
    box('trak', tkhd(0, 0)), box('trak', tkhd(opts.width ?? 1280, opts.height ?? 720), box('mdia', Buffer.alloc(16))));
  const mdat = box('mdat', randomBytes(opts.mdatBytes ?? 2048));
  return Buffer.concat(opts.moovLast ? [ftyp(opts.brand), mdat, moov] : [ftyp(opts.brand), moov, mdat]);
}

// ---------- the app ----------

const IMAGE_LIMIT = 64 * 1024;
const VIDEO_LIMIT = 1024 * 1024;
let t: TestApp;
let mediaDir: string;
let owner: Person;
let ws: string;

async function upload(bytes: Buffer, fileName: string, opts: { token?: string; workspace?: string; altText?: string; field?: string; altAfter?: boolean } = {}): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  if (opts.altText !== undefined && !opts.altAfter) form.append('altText', opts.altText);
  form.append(opts.field ?? 'file', new Blob([bytes]), fileName);
  if (opts.altText !== undefined && opts.altAfter) form.append('altText', opts.altText);
  const res = await fetch(`${t.url}/api/workspaces/${opts.workspace ?? ws}/media`, {
    method: 'POST', body: form, headers: { authorization: `Bearer ${opts.token ?? owner.token}` },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Every file under the media folder (temporary ones included). */
async function filesOnDisk(): Promise<string[]> {
  const entries = await readdir(mediaDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

before(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'allin-media-test-'));
  t = await startTestApp({ MEDIA_DIR: mediaDir, MEDIA_MAX_IMAGE_BYTES: String(IMAGE_LIMIT), MEDIA_MAX_VIDEO_BYTES: String(VIDEO_LIMIT) });
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Media');
});
after(async () => {
  await t?.stop();
  await rm(mediaDir, { recursive: true, force: true });
});

describe('upload', () => {
  test('a PNG is stored with its detected type, size, hash and dimensions', async () => {
    const bytes = greyPng(37, 21);
    const r = await upload(bytes, 'photo.png');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.mimeType, 'image/png');
    assert.equal(r.body.width, 37);
    assert.equal(r.body.height, 21);
    assert.equal(r.body.bytes, bytes.length);
    assert.equal(r.body.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(r.body.fileName, 'photo.png');
    assert.equal(r.body.uploadedBy, owner.id);
    assert.equal(r.body.durationSeconds, null);
    assert.equal(r.body.contentUrl, `/api/workspaces/${ws}/media/${r.body.id}/content`);
    const [row] = await t.running.services.db.select().from(media).where(eq(media.id, r.body.id));
    assert.ok(await stat(join(mediaDir, row!.storageKey)), 'the file is on disk under MEDIA_DIR');
    const got = await t.call('GET', `/api/workspaces/${ws}/media/${r.body.id}`, { token: owner.token });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, r.body);
  });

  test('the type comes from the bytes: a PNG named x.mp4 is a PNG, a text file named a.png is refused', async () => {
    const r = await upload(greyPng(5, 6), 'x.mp4');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.mimeType, 'image/png');
    assert.equal(r.body.width, 5);

    const before = (await filesOnDisk()).length;
    const text = await upload(Buffer.from('hello, this is not a picture at all\n'.repeat(20)), 'a.png');
    assert.equal(text.status, 415, JSON.stringify(text.body));
    assert.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(text.body.message, /could not be recognised/);
    assert.match(text.body.message, /JPEG, PNG, GIF or WebP/);
    assert.equal((await filesOnDisk()).length, before, 'nothing is kept of a refused file');
  });

  test('JPEG (turned by its EXIF orientation), GIF and WebP are recognised with their size', async () => {
    const cases: [Buffer, string, number, number][] = [
      [jpeg(4000, 3000, 6), 'image/jpeg', 3000, 4000],
      [jpeg(640, 480, 1), 'image/jpeg', 640, 480],
      [gif(320, 200), 'image/gif', 320, 200],
      [webp(1080, 1350), 'image/webp', 1080, 1350],
    ];
    for (const [bytes, mimeType, width, height] of cases) {
      const r = await upload(bytes, 'no-extension');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual([r.body.mimeType, r.body.width, r.body.height], [mimeType, width, height]);
    }
  });

  test('a recognised but unaccepted type is refused with the detected type in the message', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), Buffer.alloc(200, 0x20)]);
    const r = await upload(pdf, 'cat.jpg');
    assert.equal(r.status, 415, JSON.stringify(r.body));
    assert.match(r.body.message, /application\/pdf/);
    assert.equal(r.body.details.detectedType, 'application/pdf');
  });

  test('an image over the image limit is refused with 413 naming the limit; nothing is left on disk or in the table', async () => {
    const count = async () => Number((await t.running.services.db.execute<{ n: string }>(sql`select count(*) as n from media where workspace_id = ${ws}`)).rows[0]!.n);
    const rowsBefore = await count();
    const filesBefore = await filesOnDisk();
    const big = noisyPng(200, 200);
    assert.ok(big.length > IMAGE_LIMIT);
    const r = await upload(big, 'big.png');
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.equal(r.body.code, 'MEDIA_TOO_LARGE');
    assert.match(r.body.message, /64 KiB \(65536 bytes\)/);
    assert.equal(r.body.details.limitBytes, IMAGE_LIMIT);
    // Far past every limit: the answer still arrives (the rest is read and dropped).
    const huge = await upload(Buffer.concat([greyPng(8, 8), randomBytes(6 * 1024 * 1024)]), 'huge.png');
    assert.equal(huge.status, 413, JSON.stringify(huge.body));
    assert.deepEqual(await filesOnDisk(), filesBefore);
    assert.equal(await count(), rowsBefore);
    // and the server goes on serving
    assert.equal((await upload(greyPng(2, 2), 'small.png')).status, 201);
  });

  test('a video: duration and picture size from its header boxes; the video limit applies to videos', async () => {
    const r = await upload(mp4({ seconds: 12.345, width: 1280, height: 720, moovLast: true }), 'clip.bin');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.mimeType, 'video/mp4');
    assert.equal(r.body.width, 1280);
    assert.equal(r.body.height, 720);
    assert.ok(Math.abs(r.body.durationSeconds - 12.345) < 1e-3, String(r.body.durationSeconds));

    const mov = await upload(mp4({ brand: 'qt  ', seconds: 3 }), 'clip.mp4');
    assert.equal(mov.status, 201, JSON.stringify(mov.body));
    assert.equal(mov.body.mimeType, 'video/quicktime');

    // Larger than an image may be, within the video limit.
    assert.equal((await upload(mp4({ mdatBytes: IMAGE_LIMIT * 2 }), 'v.mp4')).status, 201);
    const tooLong = await upload(mp4({ mdatBytes: VIDEO_LIMIT }), 'v.mp4');
    assert.equal(tooLong.status, 413, JSON.stringify(tooLong.body));
    assert.match(tooLong.body.message, /video.*1 MiB/);

    const noMoov = await upload(Buffer.concat([ftyp(), box('mdat', randomBytes(5000))]), 'broken.mp4');
    assert.equal(noMoov.status, 422, JSON.stringify(noMoov.body));
    assert.match(noMoov.body.message, /moov/);
  });

  test('bad requests get a 4xx that says what to send', async () => {
    const json = await t.call('POST', `/api/workspaces/${ws}/media`, { token: owner.token, body: { file: 'x' } });
    assert.equal(json.status, 415);
    assert.match(json.body.message, /multipart\/form-data/);

    const raw = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', body: greyPng(2, 2), headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'image/png' } });
    assert.equal(raw.status, 415);
    assert.match(((await raw.json()) as Json).message, /multipart\/form-data.*field "file"/);

    const wrongField = await upload(greyPng(2, 2), 'a.png', { field: 'image' });
    assert.equal(wrongField.status, 400);
    assert.match(wrongField.body.message, /field "file"/);

    const noFile = new FormData();
    noFile.append('altText', 'hello');
    const nf = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', body: noFile, headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(nf.status, 400);
    assert.match(((await nf.json()) as Json).message, /No file/);

    const two = new FormData();
    two.append('file', new Blob([greyPng(2, 2)]), 'a.png');
    two.append('file', new Blob([greyPng(3, 3)]), 'b.png');
    const before = (await t.call('GET', `/api/workspaces/${ws}/media?limit=200`, { token: owner.token })).body.media.length;
    const tw = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', body: two, headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(tw.status, 400);
    assert.match(((await tw.json()) as Json).message, /one file per request/);
    const afterCount = (await t.call('GET', `/api/workspaces/${ws}/media?limit=200`, { token: owner.token })).body.media.length;
    assert.equal(afterCount, before, 'a refused request keeps nothing');

    const empty = await upload(Buffer.alloc(0), 'empty.png');
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'EMPTY_FILE');

    const badId = await t.call('GET', `/api/workspaces/${ws}/media/not-a-uuid`, { token: owner.token });
    assert.equal(badId.status, 400);
  });
});

describe('content and alt text', () => {
  test('the content is the same bytes, with the detected type, nosniff, and attachment for videos', async () => {
    const bytes = greyPng(9, 4);
    const up = await upload(bytes, 'pic ü.png');
    const res = await fetch(`${t.url}${up.body.contentUrl}`, { headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-disposition')!, /^inline; filename="pic _.png"; filename\*=UTF-8''pic%20%C3%BC\.png$/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const etag = res.headers.get('etag')!;
    assert.equal(etag, `"${up.body.sha256}"`);
    const cached = await fetch(`${t.url}${up.body.contentUrl}`, { headers: { authorization: `Bearer ${owner.token}`, 'if-none-match': etag } });
    assert.equal(cached.status, 304);

    const video = mp4();
    const v = await upload(video, 'clip.mp4');
    const vr = await fetch(`${t.url}${v.body.contentUrl}`, { headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(vr.headers.get('content-type'), 'video/mp4');
    assert.match(vr.headers.get('content-disposition')!, /^attachment;/);
    assert.deepEqual(Buffer.from(await vr.arrayBuffer()), video);
  });

  test('alt text: sent with the file (before or after it), changed, cleared, and checked', async () => {
    const a = await upload(greyPng(3, 3), 'a.png', { altText: '  A red square  ' });
    assert.equal(a.status, 201);
    assert.equal(a.body.altText, 'A red square');
    const b = await upload(greyPng(3, 3), 'b.png', { altText: 'After the file', altAfter: true });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    assert.equal(b.body.altText, 'After the file');

    const path = `/api/workspaces/${ws}/media/${a.body.id}`;
    const changed = await t.call('PATCH', path, { token: owner.token, body: { altText: 'Line one\nline two' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.altText, 'Line one\nline two');
    assert.equal((await t.call('PATCH', path, { token: owner.token, body: { altText: null } })).body.altText, null);
    const tooLong = await t.call('PATCH', path, { token: owner.token, body: { altText: 'x'.repeat(1501) } });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.message, /1501 characters.*1500/);
    const control = await t.call('PATCH', path, { token: owner.token, body: { altText: 'a\u0000b' } });
    assert.equal(control.status, 400);
    const extra = await t.call('PATCH', path, { token: owner.token, body: { alt: 'x' } });
    assert.equal(extra.status, 400);
  });

  test('list: newest first, paged with next', async () => {
    const other = await newWorkspace(t, owner, 'Paging');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await upload(greyPng(1, 1 + i), `${i}.png`, { workspace: other })).body.id);
    const first = await t.call('GET', `/api/workspaces/${other}/media?limit=2`, { token: owner.token });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.media.map((m: Json) => m.id), [ids[2], ids[1]]);
    assert.ok(first.body.next);
    const second = await t.call('GET', `/api/workspaces/${other}/media?limit=2&before=${first.body.next}`, { token: owner.token });
    assert.deepEqual(second.body.media.map((m: Json) => m.id), [ids[0]]);
    assert.equal(second.body.next, null);
    const bad = await t.call('GET', `/api/workspaces/${other}/media?before=garbage`, { token: owner.token });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /next/);
  });
});

describe('access', () => {
  test('a viewer reads but cannot upload, change or delete; another workspace sees nothing', async () => {
    const up = await upload(greyPng(4, 4), 'v.png');
    const viewer = await person(t);
    await t.running.services.db.insert(memberships).values({ workspaceId: ws, userId: viewer.id, role: 'viewer' });
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/media/${up.body.id}`, { token: viewer.token })).status, 200);
    const refused = await upload(greyPng(4, 4), 'v.png', { token: viewer.token });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.message, /viewer/);
    assert.equal((await t.call('PATCH', `/api/workspaces/${ws}/media/${up.body.id}`, { token: viewer.token, body: { altText: 'x' } })).status, 403);
    assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/media/${up.body.id}`, { token: viewer.token })).status, 403);

    const stranger = await person(t);
    const theirs = await newWorkspace(t, stranger, 'Elsewhere');
    for (const path of [`/api/workspaces/${ws}/media/${up.body.id}`, `/api/workspaces/${ws}/media/${up.body.id}/content`, `/api/workspaces/${ws}/media`]) {
      assert.equal((await t.call('GET', path, { token: stranger.token })).status, 404, path);
    }
    assert.equal((await upload(greyPng(4, 4), 'x.png', { token: stranger.token })).status, 404);
    // Their own workspace in the path, our media id: still not found.
    for (const path of [`/api/workspaces/${theirs}/media/${up.body.id}`, `/api/workspaces/${theirs}/media/${up.body.id}/content`]) {
      assert.equal((await t.call('GET', path, { token: stranger.token })).status, 404, path);
    }
    assert.equal((await t.call('DELETE', `/api/workspaces/${theirs}/media/${up.body.id}`, { token: stranger.token })).status, 404);
    await assert.rejects(t.running.services.media.describe(theirs, [up.body.id]), (e: Error) => e.message.includes(up.body.id));
  });

  test('describe and items serve post validation and publishing; unknown ids are named', async () => {
    const bytes = greyPng(12, 7);
    const up = await upload(bytes, 'i.png', { altText: 'seven rows' });
    const facts = await t.running.services.media.describe(ws, [up.body.id]);
    assert.deepEqual(facts, [{ id: up.body.id, mimeType: 'image/png', bytes: bytes.length, width: 12, height: 7, durationSeconds: null }]);
    const [item] = await t.running.services.media.items(ws, [up.body.id.toUpperCase()]);
    assert.equal(item!.altText, 'seven rows');
    assert.equal(item!.width, 12);
    assert.deepEqual(await item!.read(), bytes);
    const missing = randomUUID();
    await assert.rejects(t.running.services.media.describe(ws, [up.body.id, missing, 'junk']), (e: Error) => {
      assert.ok(e instanceof Invalid && e.code === 'UNKNOWN_MEDIA', String(e));
      assert.match(e.message, new RegExp(`"${missing}", "junk"`));
      return true;
    });
  });
});

describe('deletion and cleanup', () => {
  async function account(workspaceId: string): Promise<string> {
    const id = randomUUID();
    await t.running.services.db.insert(socialAccounts).values({ id, workspaceId, provider: 'sandbox', externalId: id, kind: 'person', username: 'u', displayName: 'U' });
    return id;
  }
  const age = (id: string, hours: number) =>
    t.running.services.db.execute(sql`update media set created_at = now() - make_interval(hours => ${hours}) where id = ${id}`);
  const exists = async (id: string) => (await t.running.services.db.select({ id: media.id }).from(media).where(eq(media.id, id))).length === 1;

  test('a media a post uses cannot be deleted; an unused one can, and its file goes', async () => {
    const used = (await upload(greyPng(2, 2), 'used.png')).body.id;
    await t.running.services.db.insert(posts).values({ id: randomUUID(), workspaceId: ws, mediaIds: [used] });
    const refused = await t.call('DELETE', `/api/workspaces/${ws}/media/${used}`, { token: owner.token });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'MEDIA_IN_USE');

    const free = (await upload(greyPng(2, 2), 'free.png')).body.id;
    const [row] = await t.running.services.db.select().from(media).where(eq(media.id, free));
    const ok = await t.call('DELETE', `/api/workspaces/${ws}/media/${free}`, { token: owner.token });
    assert.equal(ok.status, 200);
    assert.equal(await new LocalDiskStorage(mediaDir).exists(row!.storageKey), false);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/media/${free}`, { token: owner.token })).status, 404);
  });

  test('the hourly cleanup keeps library files, old and unused; it removes what crashed uploads left', async () => {
    assert.equal(typeof t.running.services.tasks[CLEANUP_MEDIA_TASK], 'function', 'the job is registered');
    const old = (await upload(greyPng(2, 2), 'old.png')).body.id;
    await age(old, 24 * 400);
    const leftover = join(mediaDir, '.incomplete', `${randomUUID()}.part`);
    await mkdir(join(mediaDir, '.incomplete'), { recursive: true });
    await writeFile(leftover, 'half a file');
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(leftover, longAgo, longAgo);
    const fresh = join(mediaDir, '.incomplete', `${randomUUID()}.part`);
    await writeFile(fresh, 'being written');

    await t.running.services.tasks[CLEANUP_MEDIA_TASK]!({}, {} as never);
    assert.equal(await exists(old), true, 'a library file stays until deleted');
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/media/${old}/content`, { token: owner.token })).status, 200);
    await assert.rejects(stat(leftover), { code: 'ENOENT' });
    assert.ok((await stat(fresh)).isFile(), 'an upload still being written is left alone');
  });

  test('where a file is used: a post\'s media, a variant, a thread part; the refusal names the posts', async () => {
    const ids = {
      inPost: (await upload(greyPng(2, 2), 'b.png')).body.id,
      inVariant: (await upload(greyPng(2, 2), 'c.png')).body.id,
      inThread: (await upload(greyPng(2, 2), 'd.png')).body.id,
    };
    const postId = randomUUID();
    const at = new Date(Date.now() + 86_400_000);
    await t.running.services.db.insert(posts).values({ id: postId, workspaceId: ws, text: 'Launch day is here, with a long text that goes on', mediaIds: [ids.inPost], status: 'scheduled', publishAt: at });
    const accountId = await account(ws);
    await t.running.services.db.insert(postTargets).values({
      id: randomUUID(), postId, workspaceId: ws, accountId, provider: 'sandbox',
      variant: { mediaIds: [ids.inVariant.toUpperCase()], thread: [{ text: 'two' }, { text: 'three', mediaIds: [ids.inThread] }] },
    });
    for (const id of Object.values(ids)) {
      const uses = await t.call('GET', `/api/workspaces/${ws}/media/${id}/uses`, { token: owner.token });
      assert.equal(uses.status, 200);
      assert.deepEqual(uses.body.uses.map((u: Json) => [u.id, u.status, u.publishAt]), [[postId, 'scheduled', at.toISOString()]]);
      const refused = await t.call('DELETE', `/api/workspaces/${ws}/media/${id}`, { token: owner.token });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'MEDIA_IN_USE');
      assert.match(refused.body.message, new RegExp(`"Launch day is here, with a long text tha…" \\(scheduled for ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC, post ${postId}\\)`));
      assert.match(refused.body.message, /Remove it from that post/);
      assert.equal(refused.body.details.posts[0].id, postId);
    }
    const unused = (await upload(greyPng(2, 2), 'e.png')).body.id;
    assert.deepEqual((await t.call('GET', `/api/workspaces/${ws}/media/${unused}/uses`, { token: owner.token })).body, { uses: [], more: false });

    // Once the post is gone, its files can be deleted.
    await t.running.services.db.delete(posts).where(eq(posts.id, postId));
    for (const id of Object.values(ids)) assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/media/${id}`, { token: owner.token })).status, 200);
  });
});

describe('local disk storage', () => {
  test('keys cannot leave the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'allin-storage-'));
    try {
      const s = new LocalDiskStorage(dir);
      for (const key of ['../x', '../../etc/passwd', '/etc/passwd', 'a/../../b', 'a/./b', 'a//b', 'a\\..\\b', '.hidden', 'a/.incomplete', '', 'a/', 'nul\u0000byte', '..']) {
        await assert.rejects(s.put(key, Readable.from([Buffer.from('x')])), InvalidStorageKey, JSON.stringify(key));
        await assert.rejects(s.read(key), InvalidStorageKey, JSON.stringify(key));
        await assert.rejects(s.delete(key), InvalidStorageKey, JSON.stringify(key));
        await assert.rejects(s.exists(key), InvalidStorageKey, JSON.stringify(key));
      }
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('put streams, hashes and counts; a failing source leaves nothing; delete is idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'allin-storage-'));
    try {
      const s = new LocalDiskStorage(dir);
      const data = randomBytes(300_000);
      const stored = await s.put('ws/one', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      assert.deepEqual(stored, { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
      assert.equal(await s.exists('ws/one'), true);
      assert.deepEqual(await s.read('ws/one'), data);
      const chunks: Buffer[] = [];
      for await (const c of await s.open('ws/one')) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), data);

      const failing = new Readable({ read() {} });
      failing.push(randomBytes(5000));
      setTimeout(() => failing.destroy(new Error('client went away')), 10);
      await assert.rejects(s.put('ws/two', failing), /client went away/);
      assert.equal(await s.exists('ws/two'), false);
      assert.deepEqual(await readdir(join(dir, '.incomplete')), [], 'the temporary file is removed');

      await s.delete('ws/one');
      await s.delete('ws/one');
      assert.equal(await s.exists('ws/one'), false);
      await assert.rejects(s.open('ws/one'), { code: 'ENOENT' });
      await assert.rejects(s.open('ws'), { code: 'ENOENT' }, 'a folder is not an object');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('MP4 header reader', () => {
  test('duration and picture size, moov before or after mdat, whatever the chunking', () => {
    for (const moovLast of [false, true]) {
      const file = mp4({ seconds: 7.5, width: 1920, height: 1080, moovLast });
      assert.deepEqual(readMp4Info(file), { durationSeconds: 7.5, width: 1920, height: 1080 });
      for (const size of [1, 3, 7, 8, 100]) {
        const r = new Mp4HeaderReader();
        for (let i = 0; i < file.length; i += size) r.push(file.subarray(i, i + size));
        assert.deepEqual(r.result(), { durationSeconds: 7.5, width: 1920, height: 1080 }, `chunks of ${size}`);
        assert.equal(r.sawMovieHeader, true);
      }
    }
  });

  test('version 1 boxes, 64-bit sizes, a quarter-turned picture, unknown durations, no moov', () => {
    const large = Buffer.alloc(16);
    large.writeUInt32BE(1);
    large.write('mdat', 4, 'latin1');
    large.writeBigUInt64BE(16n + 100n, 8);
    const v1 = Buffer.concat([ftyp(), large, Buffer.alloc(100), box('moov', mvhd(1, 90000, 90000 * 61), box('trak', tkhd(1080, 1920, QUARTER_TURN)))]);
    assert.deepEqual(readMp4Info(v1), { durationSeconds: 61, width: 1920, height: 1080 });

    const fragmented = Buffer.concat([ftyp(), box('moov', mvhd(0, 1000, 0))]);
    assert.deepEqual(readMp4Info(fragmented), {});

    const noMoov = new Mp4HeaderReader();
    noMoov.push(Buffer.concat([ftyp(), box('mdat', Buffer.alloc(50))]));
    assert.equal(noMoov.sawMovieHeader, false);

    // A box claiming less than its own header: stop, do not loop.
    const bad = Buffer.concat([ftyp(), u32(4), Buffer.from('junk'), Buffer.alloc(64)]);
    assert.deepEqual(readMp4Info(bad), {});
    // mvhd only counts inside moov
    assert.deepEqual(readMp4Info(Buffer.concat([ftyp(), mvhd(0, 1000, 5000)])), {});
  });
});

test('networks that fetch media get a signed, expiring link; a changed or expired link is a 404', async () => {
  const up = await upload(greyPng(40, 30), 'link.png');
  assert.equal(up.status, 201);
  const [item] = await t.running.services.media.items(ws, [up.body.id]);
  const link = new URL(item!.publicUrl!);
  assert.equal(link.pathname, `/media/${up.body.id}`);
  const path = `${link.pathname}${link.search}`;
  const ok = await fetch(`${t.url}${path}`);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), greyPng(40, 30));
  const sig = link.searchParams.get('sig')!;
  const expires = Number(link.searchParams.get('expires'));
  const forged = await fetch(`${t.url}${link.pathname}?expires=${expires + 3600}&sig=${sig}`);
  assert.equal(forged.status, 404, 'a later expiry with the old signature');
  const expired = new URL(t.running.services.media['d'].links!.url(up.body.id, Date.now() - 2 * 86_400_000));
  assert.equal((await fetch(`${t.url}${expired.pathname}${expired.search}`)).status, 404);
  const other = await fetch(`${t.url}/media/00000000-0000-4000-8000-000000000000?expires=${expires}&sig=${sig}`);
  assert.equal(other.status, 404, 'the signature of one id does not open another');
});

test('deleting media waits for a post being saved with it, then refuses (no post left pointing at nothing)', async () => {
  const up = await upload(greyPng(12, 12), 'race.png');
  assert.equal(up.status, 201);
  let settled: string | undefined;
  let deleting: Promise<void> | undefined;
  await t.running.services.db.transaction(async (tx) => {
    // What saving a post does: the media are read (and locked) in the post's transaction.
    await t.running.services.media.describe(ws, [up.body.id], tx);
    await tx.insert(posts).values({ id: randomUUID(), workspaceId: ws, mediaIds: [up.body.id] });
    deleting = t.running.services.media.delete(ws, up.body.id).then(() => { settled = 'deleted'; }, (err: unknown) => { settled = err instanceof Conflict ? `refused ${err.code}` : `failed: ${String(err)}`; });
    // A fixed wait: what is checked is that the delete does not finish while the post's transaction is open.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, undefined, 'the delete waits for the post transaction');
  });
  await deleting;
  assert.equal(settled, 'refused MEDIA_IN_USE');
});
