// A workspace's media quota (MEDIA_WORKSPACE_QUOTA_BYTES), counted in bytes of stored media: past it an
// upload is 413 naming the quota and the usage, nothing of it is kept, and uploads racing for the last
// bytes never together pass it. The shipped default (5 GiB) is checked under the shipped defaults.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { newWorkspace, person, pngOfSize } from './support/fixtures.ts';
import { readConfig } from '../src/config.ts';
import { media } from '../src/modules/media/schema.ts';
import { MediaService } from '../src/modules/media/service.ts';
import { TooLarge } from '../src/domain/errors.ts';
import { LocalDiskStorage } from '../src/modules/media/storage.ts';

async function upload(app: TestApp, token: string, ws: string, bytes: Buffer): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  form.append('file', new Blob([bytes]), 'pic.png');
  const res = await fetch(`${app.url}/api/workspaces/${ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const stored = async (app: TestApp, ws: string) => {
  const [r] = await app.running.services.db.select({ n: sql<number>`count(*)::int`, bytes: sql<string>`coalesce(sum(${media.bytes}), 0)` }).from(media).where(eq(media.workspaceId, ws));
  return { rows: r!.n, bytes: Number(r!.bytes) };
};
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

describe('with a small quota (the setting under test)', () => {
  const QUOTA = 100_000;
  let t: TestApp;
  let dir: string;
  let token: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allin-media-quota-'));
    t = await startTestApp({ MEDIA_DIR: dir, MEDIA_WORKSPACE_QUOTA_BYTES: String(QUOTA) });
    token = (await person(t)).token;
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('past the quota an upload is 413 with the quota and the usage; nothing is kept; deleting frees room', async () => {
    const ws = await newWorkspace(t, { token }, 'Quota');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await upload(t, token, ws, pngOfSize(30_000));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    const files = await filesUnder(dir);
    const refused = await upload(t, token, ws, pngOfSize(30_000));
    assert.equal(refused.status, 413, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'MEDIA_QUOTA_EXCEEDED');
    assert.match(refused.body.message, /stores 87\.9 KiB \(90000 bytes\) of media and its quota is 97\.7 KiB \(100000 bytes, MEDIA_WORKSPACE_QUOTA_BYTES\)/);
    assert.match(refused.body.message, /larger than the 9\.8 KiB left\. Delete media no post uses/);
    assert.deepEqual({ quota: refused.body.details.quotaBytes, used: refused.body.details.usedBytes }, { quota: QUOTA, used: 90_000 });
    assert.deepEqual(await filesUnder(dir), files, 'nothing of the refused file is on disk');
    assert.deepEqual(await stored(t, ws), { rows: 3, bytes: 90_000 });

    // The quota is per workspace.
    const other = await newWorkspace(t, { token }, 'Quota');
    assert.equal((await upload(t, token, other, pngOfSize(30_000))).status, 201);

    // A file that fills it exactly is accepted; then the workspace is full and the next is refused at once.
    assert.equal((await upload(t, token, ws, pngOfSize(10_000))).status, 201);
    const full = await upload(t, token, ws, pngOfSize(1_000));
    assert.equal(full.status, 413, JSON.stringify(full.body));
    assert.match(full.body.message, /stores 97\.7 KiB \(100000 bytes\).*: it is full\./);

    // Deleting media gives its bytes back.
    assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/media/${ids[0]}`, { token })).status, 200);
    assert.equal((await upload(t, token, ws, pngOfSize(30_000))).status, 201);
    assert.deepEqual(await stored(t, ws), { rows: 4, bytes: QUOTA });
  });

  test('uploads racing for the last bytes never together pass the quota', async () => {
    const ws = await newWorkspace(t, { token }, 'Quota');
    const size = 9_000;
    const fits = Math.floor(QUOTA / size);
    const results = await Promise.all(Array.from({ length: 40 }, () => upload(t, token, ws, pngOfSize(size))));
    const statuses = results.map((r) => r.status).sort();
    const accepted = statuses.filter((s) => s === 201).length;
    assert.deepEqual([...new Set(statuses)], [201, 413], JSON.stringify(results.find((r) => r.status !== 201 && r.status !== 413)?.body));
    for (const r of results) if (r.status === 413) assert.equal(r.body.code, 'MEDIA_QUOTA_EXCEEDED');
    const after = await stored(t, ws);
    assert.ok(after.bytes <= QUOTA, `stored ${after.bytes} bytes, quota ${QUOTA}`);
    assert.equal(accepted, fits, 'every upload that fits is accepted');
    assert.deepEqual(after, { rows: fits, bytes: fits * size });
    // Every refused file was removed: one file per row is left.
    assert.equal((await filesUnder(join(dir, ws))).length, fits);
    assert.deepEqual(await filesUnder(join(dir, '.incomplete')), []);
  });

  test('the service counts stored bytes per workspace; a quota of 0 is none', async () => {
    const service = (quotaBytes: number) => new MediaService({
      db: t.running.services.db, storage: new LocalDiskStorage(dir), inUse: async () => new Set(), users: async () => ({ uses: [], more: false }),
      limits: { maxImageBytes: 1 << 20, maxVideoBytes: 1 << 20, incompleteTtlHours: 24, quotaBytes, diskReserveBytes: 0 },
    });
    const ws = await newWorkspace(t, { token }, 'Quota');
    const limited = service(5_000);
    assert.equal(await limited.usedBytes(ws), 0);
    await limited.upload(ws, null, Readable.from([pngOfSize(3_000)]), 'a.png');
    assert.equal(await limited.usedBytes(ws), 3_000);
    await assert.rejects(limited.upload(ws, null, Readable.from([pngOfSize(2_001)]), 'b.png'), (e) => e instanceof TooLarge && e.code === 'MEDIA_QUOTA_EXCEEDED');
    await limited.upload(ws, null, Readable.from([pngOfSize(2_000)]), 'c.png');
    assert.equal(await limited.usedBytes(ws), 5_000);

    await t.running.services.db.insert(media).values({
      id: randomUUID(), workspaceId: ws, storageKey: `${ws}/${randomUUID()}`, fileName: 'big.mp4', mimeType: 'video/mp4', bytes: 2 ** 50, sha256: '0'.repeat(64),
    });
    const unlimited = service(0);
    await unlimited.upload(ws, null, Readable.from([pngOfSize(2_000)]), 'd.png');
    assert.equal(await unlimited.usedBytes(ws), 2 ** 50 + 7_000);
  });
});

test('under the shipped defaults a workspace may store 5 GiB', async () => {
  assert.equal(readConfig({}).MEDIA_WORKSPACE_QUOTA_BYTES, 5 * 1024 ** 3);
  const dir = await mkdtemp(join(tmpdir(), 'allin-media-quota-default-'));
  const t = await startTestApp({ MEDIA_DIR: dir });
  try {
    const token = (await person(t)).token;
    const ws = await newWorkspace(t, { token }, 'Quota');
    // 5 GiB less 1,000 bytes already stored (the row is enough: the quota counts what the table says).
    const used = 5 * 1024 ** 3 - 1_000;
    await t.running.services.db.insert(media).values({
      id: randomUUID(), workspaceId: ws, storageKey: `${ws}/${randomUUID()}`, fileName: 'big.mp4', mimeType: 'video/mp4', bytes: used, sha256: '0'.repeat(64),
    });
    const refused = await upload(t, token, ws, pngOfSize(2_000));
    assert.equal(refused.status, 413, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'MEDIA_QUOTA_EXCEEDED');
    assert.match(refused.body.message, /its quota is 5 GiB \(5368709120 bytes, MEDIA_WORKSPACE_QUOTA_BYTES\)/);
    assert.equal(refused.body.details.usedBytes, used);
    assert.equal((await upload(t, token, ws, pngOfSize(1_000))).status, 201, 'what still fits is accepted');
  } finally {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
