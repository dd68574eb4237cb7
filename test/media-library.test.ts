// The media library through the real API: files stay, folders and tags, search by name, tag, type, size,
// picture size and date (paged), thumbnails and previews made by their job, alt text offered to networks,
// and another workspace's files, folders and tags out of reach.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { greyPng, invite, newWorkspace, noisyPng, person, type Person } from './support/fixtures.ts';
import { MAKE_PREVIEWS_TASK } from '../src/modules/media/service.ts';

let t: TestApp;
let mediaDir: string;
let owner: Person;
let ws: string;

async function upload(bytes: Buffer, fileName: string, opts: { token?: string; workspace?: string; altText?: string; folderId?: string } = {}): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  if (opts.folderId) form.append('folderId', opts.folderId);
  if (opts.altText !== undefined) form.append('altText', opts.altText);
  form.append('file', new Blob([bytes]), fileName);
  const res = await fetch(`${t.url}/api/workspaces/${opts.workspace ?? ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${opts.token ?? owner.token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const call = (method: string, path: string, body?: unknown, token = owner.token) => t.call(method, `/api/workspaces/${ws}${path}`, { token, ...(body === undefined ? {} : { body }) });
/** Every page of a search, through the cursors, as file names. */
async function search(query: string, limit = 2): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const r = await call('GET', `/media?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    names.push(...r.body.media.map((m: Json) => m.fileName));
    cursor = r.body.nextCursor;
  } while (cursor);
  return names;
}
/** Runs the previews job of a file, as the worker would. */
async function runPreviewsJob(mediaId: string): Promise<void> {
  const jobs = await t.running.services.db.execute<{ n: number }>(sql`select count(*)::int as n from graphile_worker.jobs where key = ${`media-previews:${mediaId}`} and task_identifier = ${MAKE_PREVIEWS_TASK}`);
  assert.equal(jobs.rows[0]!.n, 1, 'the upload added the previews job');
  await t.running.services.tasks[MAKE_PREVIEWS_TASK]!({ mediaId }, {} as never);
}

before(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'allin-library-test-'));
  t = await startTestApp({ MEDIA_DIR: mediaDir });
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Library');
});
after(async () => {
  await t?.stop();
  await rm(mediaDir, { recursive: true, force: true });
});

describe('thumbnails and previews', () => {
  test('an image gets a thumbnail and a preview from its job; the API gives their URLs once made', async () => {
    const photo = await sharp({ create: { width: 2400, height: 1600, channels: 3, background: { r: 200, g: 40, b: 40 } } }).jpeg().toBuffer();
    const up = await upload(photo, 'wide.jpg');
    assert.equal(up.status, 201);
    assert.equal(up.body.previews, 'pending');
    assert.equal(up.body.thumbnailUrl, null);
    const early = await call('GET', `/media/${up.body.id}/thumbnail`);
    assert.equal(early.status, 404);
    assert.equal(early.body.code, 'PREVIEW_NOT_READY');

    await runPreviewsJob(up.body.id);
    const got = (await call('GET', `/media/${up.body.id}`)).body;
    assert.equal(got.previews, 'ready');
    assert.equal(got.thumbnailUrl, `/api/workspaces/${ws}/media/${up.body.id}/thumbnail`);
    for (const [url, width, height] of [[got.thumbnailUrl, 320, 213], [got.previewUrl, 1280, 853]] as const) {
      const res = await fetch(`${t.url}${url}`, { headers: { authorization: `Bearer ${owner.token}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/webp');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', width, height]);
    }
    // A small image is not enlarged.
    const small = await upload(greyPng(40, 30), 'small.png');
    await runPreviewsJob(small.body.id);
    const res = await fetch(`${t.url}${(await call('GET', `/media/${small.body.id}`)).body.previewUrl}`, { headers: { authorization: `Bearer ${owner.token}` } });
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [40, 30]);
  });

  test('an image the decoder refuses is marked failed (not retried); deleting frees its previews too', async () => {
    // A PNG whose pixel data is cut: its header (type, size) reads, its pixels do not.
    const whole = noisyPng(64, 64);
    const broken = Buffer.concat([whole.subarray(0, 60), Buffer.alloc(200, 7), whole.subarray(whole.length - 12)]);
    const up = await upload(broken, 'broken.png');
    assert.equal(up.status, 201);
    await runPreviewsJob(up.body.id);
    assert.equal((await call('GET', `/media/${up.body.id}`)).body.previews, 'failed');
    assert.equal((await call('GET', `/media/${up.body.id}/preview`)).body.code, 'PREVIEW_NOT_READY');
    assert.equal((await call('DELETE', `/media/${up.body.id}`)).status, 200);
  });
});

describe('folders, tags and search', () => {
  const ids: Record<string, string> = {};
  let folder: string;
  before(async () => {
    ws = await newWorkspace(t, owner, 'Searched'); // only these files
    folder = (await call('POST', '/media-folders', { name: 'Campaign' })).body.id;
    ids.a = (await upload(greyPng(100, 50), 'beach-sunset.png', { altText: 'Waves at dusk' })).body.id;
    ids.b = (await upload(noisyPng(300, 300), 'team-photo.png', { folderId: folder })).body.id;
    ids.c = (await upload(greyPng(20, 800), 'banner_tall.png', { folderId: folder })).body.id;
    ids.d = (await upload(greyPng(64, 64), 'logo 100%.png')).body.id;
  });

  test('folders: unique names ignoring case, rename, move files, refuse deleting a folder that holds files', async () => {
    assert.equal((await call('POST', '/media-folders', { name: 'campaign' })).body.code, 'FOLDER_EXISTS');
    assert.equal((await call('POST', '/media-folders', { name: '  ' })).status, 400);
    const other = (await call('POST', '/media-folders', { name: 'Archive' })).body.id;
    const list = await call('GET', '/media-folders');
    assert.deepEqual(list.body.folders.map((f: Json) => f.name), ['Archive', 'Campaign']);
    assert.equal((await call('PATCH', `/media-folders/${other}`, { name: 'Old' })).body.name, 'Old');

    const refused = await call('DELETE', `/media-folders/${folder}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'FOLDER_NOT_EMPTY');
    assert.match(refused.body.message, /holds 2 files/);
    const moved = await call('PATCH', `/media/${ids.c}`, { folderId: other });
    assert.equal(moved.body.folderId, other);
    assert.deepEqual(await search(`&folder=${other}`), ['banner_tall.png']);
    assert.equal((await call('PATCH', `/media/${ids.c}`, { folderId: null })).body.folderId, null);
    assert.equal((await call('DELETE', `/media-folders/${other}`)).status, 200);
  });

  test('tags: set by name (made when missing), listed, renamed, deleted without touching the files', async () => {
    const tagged = await call('PATCH', `/media/${ids.a}`, { tags: ['summer', 'Beach', 'SUMMER'] });
    assert.equal(tagged.status, 200);
    assert.deepEqual(tagged.body.tags, ['Beach', 'summer']);
    await call('PATCH', `/media/${ids.b}`, { tags: ['summer'] });
    await call('PATCH', `/media/${ids.d}`, { tags: ['brand'] });
    assert.deepEqual((await call('GET', '/media-tags')).body.tags.map((x: Json) => x.name), ['Beach', 'brand', 'summer']);
    assert.deepEqual(await search('&tag=SUMMER', 1), ['team-photo.png', 'beach-sunset.png']);
    const brand = (await call('GET', '/media-tags')).body.tags.find((x: Json) => x.name === 'brand').id;
    assert.equal((await call('PATCH', `/media-tags/${brand}`, { name: 'Brand kit' })).body.name, 'Brand kit');
    assert.deepEqual((await call('GET', `/media/${ids.d}`)).body.tags, ['Brand kit']);
    assert.equal((await call('DELETE', `/media-tags/${brand}`)).status, 200);
    assert.deepEqual((await call('GET', `/media/${ids.d}`)).body.tags, []);
    assert.deepEqual(await search('&tag=nothing'), []);
    assert.equal((await call('PATCH', `/media/${ids.a}`, { tags: ['x\ny'] })).status, 400);
  });

  test('search by name, type, size, picture size and date, each paged newest first', async () => {
    assert.deepEqual(await search('&q=SUNSET'), ['beach-sunset.png']);
    assert.deepEqual(await search('&q=dusk'), ['beach-sunset.png'], 'the alt text counts');
    assert.deepEqual(await search('&q=100%25'), ['logo 100%.png'], 'a % is a character, not a wildcard');
    assert.deepEqual(await search('&q=_tall'), ['banner_tall.png']);
    assert.deepEqual(await search(`&folder=${folder}`), ['team-photo.png']);
    assert.deepEqual(await search('&folder=none&type=image', 1), ['logo 100%.png', 'banner_tall.png', 'beach-sunset.png']);
    assert.deepEqual(await search('&type=video'), []);
    const big = (await call('GET', `/media/${ids.b}`)).body.bytes as number;
    assert.deepEqual(await search(`&minBytes=${big}`), ['team-photo.png']);
    assert.deepEqual(await search(`&maxBytes=${big - 1}&minWidth=60&maxHeight=64`), ['logo 100%.png', 'beach-sunset.png']);
    assert.deepEqual(await search('&minHeight=500'), ['banner_tall.png']);
    await t.running.services.db.execute(sql`update media set created_at = '2020-01-02T00:00:00Z' where id = ${ids.a}`);
    await t.running.services.db.execute(sql`update media_tag_links set created_at = '2020-01-02T00:00:00Z' where media_id = ${ids.a}`);
    assert.deepEqual(await search('&from=2020-01-01T00:00:00Z&to=2020-01-03T00:00:00Z'), ['beach-sunset.png']);
    assert.deepEqual(await search('&tag=summer&to=2021-01-01T00:00:00Z'), ['beach-sunset.png']);
    assert.equal((await call('GET', '/media?folder=not-a-folder')).body.code, 'UNKNOWN_FOLDER');
    assert.equal((await call('GET', '/media?type=audio')).status, 400);
  });
});

describe('another workspace', () => {
  test('its files, folders and tags are out of reach; a viewer reads the library but cannot change it', async () => {
    const mallory = await person(t);
    const theirs = await newWorkspace(t, mallory, 'Theirs');
    const folder = (await t.call('POST', `/api/workspaces/${theirs}/media-folders`, { token: mallory.token, body: { name: 'Secret' } })).body.id;
    const tag = (await t.call('POST', `/api/workspaces/${theirs}/media-tags`, { token: mallory.token, body: { name: 'secret' } })).body.id;
    const file = (await upload(greyPng(5, 5), 'secret.png', { token: mallory.token, workspace: theirs, folderId: folder })).body.id;
    await t.call('PATCH', `/api/workspaces/${theirs}/media/${file}`, { token: mallory.token, body: { tags: ['secret'] } });

    // Through their workspace's URLs: not a member.
    for (const [method, path] of [['GET', `/media/${file}`], ['GET', '/media-folders'], ['GET', '/media-tags'], ['DELETE', `/media-folders/${folder}`], ['PATCH', `/media-tags/${tag}`]] as const) {
      const r = await t.call(method, `/api/workspaces/${theirs}${path}`, { token: owner.token, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) });
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    // Their ids through our workspace.
    for (const [method, path, body] of [
      ['GET', `/media/${file}`], ['GET', `/media/${file}/uses`], ['GET', `/media/${file}/thumbnail`], ['DELETE', `/media/${file}`],
      ['PATCH', `/media/${file}`, { altText: 'mine' }], ['DELETE', `/media-folders/${folder}`], ['PATCH', `/media-folders/${folder}`, { name: 'x' }],
      ['DELETE', `/media-tags/${tag}`], ['PATCH', `/media-tags/${tag}`, { name: 'x' }],
    ] as const) {
      assert.equal((await call(method, path, body)).status, 404, `${method} ${path}`);
    }
    const mine = (await upload(greyPng(5, 5), 'mine.png')).body.id;
    const intoTheirs = await call('PATCH', `/media/${mine}`, { folderId: folder });
    assert.equal(intoTheirs.status, 400);
    assert.equal(intoTheirs.body.code, 'UNKNOWN_FOLDER');
    assert.equal((await upload(greyPng(5, 5), 'x.png', { folderId: folder })).body.code, 'UNKNOWN_FOLDER');
    assert.equal((await call('GET', `/media?folder=${folder}`)).body.code, 'UNKNOWN_FOLDER');
    assert.deepEqual(await search('&tag=secret'), [], 'a tag name of theirs finds nothing here');
    assert.ok(!(await search('&q=secret')).length);
    // Their tag name, set on our file, makes our own tag; theirs is untouched.
    await call('PATCH', `/media/${mine}`, { tags: ['secret'] });
    const theirTags = (await t.call('GET', `/api/workspaces/${theirs}/media-tags`, { token: mallory.token })).body.tags;
    assert.deepEqual(theirTags.map((x: Json) => x.id), [tag]);
    assert.equal((await t.call('GET', `/api/workspaces/${theirs}/media/${file}`, { token: mallory.token })).body.altText, null);

    const viewer = await person(t);
    const inv = await invite(t, ws, owner, viewer.email, 'viewer');
    await t.call('POST', '/api/invitations/accept', { token: viewer.token, body: { token: inv.token } });
    assert.equal((await call('GET', '/media-folders', undefined, viewer.token)).status, 200);
    assert.equal((await call('GET', `/media/${mine}/uses`, undefined, viewer.token)).status, 200);
    for (const [method, path, body] of [['POST', '/media-folders', { name: 'v' }], ['POST', '/media-tags', { name: 'v' }], ['PATCH', `/media/${mine}`, { tags: ['v'] }]] as const) {
      assert.equal((await call(method, path, body, viewer.token)).status, 403, `${method} ${path}`);
    }
  });
});
