// Every list pages by key (src/infra/db/keyset.ts): walked a row at a time through `nextCursor`, each list
// gives every row once, in the order of its one-page answer, even when rows share their time down to the
// millisecond (a cursor rounded to JavaScript's milliseconds would skip them); `limit` is bounded; a cursor
// that is not one of the list's own is a 400 naming the field. Lists that paged before keep their older
// parameters working (posts `next`, media `before`/`next`, deliveries `before`/`nextBefore`, audit `before`).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { greyPng, invite, member, ok, person, type Person } from './support/fixtures.ts';
import { connectSandbox } from './support/social.ts';
import type { Json } from './support/http.ts';

let t: TestApp;
let owner: Person;
let ws: string;
let W: string;
let hook: string;
let accounts: string[];
let mediaDir: string;
let receiver: Server;

/** Microseconds apart within one millisecond: what a rounding cursor loses. */
const SAME_MS = (i: number) => `2027-01-01T00:00:00.000${String(100 + i * 100).padStart(3, '0')}Z`;

before(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'allin-paging-'));
  receiver = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t = await startTestApp({ MEDIA_DIR: mediaDir, ALLOW_PRIVATE_HOSTS: 'true' }, 'start');
  owner = await person(t, { name: 'Owner' });
  ws = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Paging' }, 201)).id;
  W = `/api/workspaces/${ws}`;
  accounts = [];
  for (const u of ['paging-b', 'paging-a', 'paging-c']) accounts.push(await connectSandbox(t, owner.token, ws, u));
  hook = (await ok(t, 'POST', `${W}/webhooks`, owner.token, { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/h`, events: ['post.published'] }, 201)).webhook.id;
});

after(async () => {
  await t.stop();
  await new Promise<void>((r) => { receiver.closeAllConnections(); receiver.close(() => r()); });
  await rm(mediaDir, { recursive: true, force: true });
});

const db = () => t.running.services.db;

/** Every row of a list, a page of `limit` at a time, and the pages' count. */
async function walk(path: string, key: string, idOf: (x: Json) => string, limit = 1, token = owner.token): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page: Json = await ok(t, 'GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token);
    pages++;
    assert.ok(page[key].length <= limit);
    ids.push(...page[key].map(idOf));
    cursor = page.nextCursor;
    assert.ok(pages < 1000, 'the cursor does not move on');
  } while (cursor);
  return { ids, pages };
}

/** Walked one row at a time, the list is its one-page answer, every row once; and a bad cursor is a 400. */
async function pagesLikeOnePage(path: string, key: string, idOf: (x: Json) => string, expected: number, token = owner.token): Promise<string[]> {
  const sep = path.includes('?') ? '&' : '?';
  const whole = (await ok(t, 'GET', `${path}${sep}limit=200`, token));
  assert.equal(whole.nextCursor, null);
  const all = whole[key].map(idOf) as string[];
  assert.equal(all.length, expected, `${path}: ${all.length} rows, expected ${expected}`);
  const walked = await walk(path, key, idOf, 1, token);
  assert.deepEqual(walked.ids, all, `${path}: paged one by one`);
  assert.equal(walked.pages, expected, 'no empty last page');
  assert.deepEqual((await walk(path, key, idOf, 2, token)).ids, all, `${path}: paged two by two`);
  for (const bad of ['nonsense', Buffer.from('["other","x"]').toString('base64url')]) {
    const r = await t.call('GET', `${path}${sep}cursor=${bad}`, { token });
    assert.equal(r.status, 400, `${path} with cursor ${bad}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'VALIDATION_FAILED');
    assert.match(r.body.message, /^querystring\.cursor: not a cursor of this list; pass the nextCursor/);
  }
  const tooMany = await t.call('GET', `${path}${sep}limit=201`, { token });
  assert.equal(tooMany.status, 400);
  return all;
}

const byId = (x: Json) => x.id as string;

describe('each list walks page by page', () => {
  test('posts, with each filter, and approvals', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await ok(t, 'POST', `${W}/posts`, owner.token, { text: `draft ${i}`, targets: [{ accountId: accounts[0] }] }, 201)).id);
    for (let i = 0; i < 2; i++) {
      const id = (await ok(t, 'POST', `${W}/posts`, owner.token, { text: `submitted ${i}`, targets: [{ accountId: accounts[0] }] }, 201)).id;
      await ok(t, 'POST', `${W}/posts/${id}/submit`, owner.token, { at: new Date(Date.now() + 86_400_000).toISOString() });
      made.push(id);
    }
    for (const [i, id] of made.entries()) await db().execute(sql`update posts set created_at = ${SAME_MS(i)}::timestamptz where id = ${id}`);
    const all = await pagesLikeOnePage(`${W}/posts`, 'posts', byId, 5);
    assert.deepEqual(all, [...made].reverse(), 'newest first, to the microsecond');
    assert.deepEqual(await pagesLikeOnePage(`${W}/posts?status=draft`, 'posts', byId, 3), made.slice(0, 3).reverse());
    assert.deepEqual(await pagesLikeOnePage(`${W}/posts?status=pending_approval`, 'posts', byId, 2), made.slice(3).reverse());
    assert.deepEqual(await pagesLikeOnePage(`${W}/approvals`, 'posts', byId, 2), made.slice(3).reverse());
    assert.deepEqual(await pagesLikeOnePage(`${W}/posts?before=${encodeURIComponent(SAME_MS(3))}`, 'posts', byId, 3), made.slice(0, 3).reverse());
    // Older clients follow `next`, the same cursor.
    const first = await ok(t, 'GET', `${W}/posts?limit=2`, owner.token);
    assert.equal(first.next, first.nextCursor);
  });

  test('an account\'s queue, in slot order', async () => {
    const account = accounts[1]!;
    await ok(t, 'PUT', `${W}/accounts/${account}/slots`, owner.token, { timeZone: 'UTC', slots: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, time: '10:00' })) });
    for (let i = 0; i < 3; i++) await ok(t, 'POST', `${W}/posts`, owner.token, { text: `queued ${i}`, targets: [{ accountId: account }], schedule: { queue: true } }, 201);
    const all = await pagesLikeOnePage(`${W}/accounts/${account}/queue`, 'targets', (x) => x.targetId, 3);
    const whole = (await ok(t, 'GET', `${W}/accounts/${account}/queue?limit=200`, owner.token)).targets as { targetId: string; publishAt: string; text: string }[];
    assert.deepEqual(whole.map((x) => x.targetId), all);
    assert.deepEqual(whole.map((x) => x.publishAt), [...whole.map((x) => x.publishAt)].sort());
    assert.deepEqual(whole.map((x) => x.text), ['queued 0', 'queued 1', 'queued 2']);
    // A reorder answers the whole queue in its new order.
    const put = await ok(t, 'PUT', `${W}/accounts/${account}/queue`, owner.token, { targetIds: [...all].reverse() });
    assert.deepEqual(put.targets.map((x: Json) => x.text), ['queued 2', 'queued 1', 'queued 0']);
    assert.equal(put.nextCursor, null);
  });

  test('media, and its older `before`/`next`', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const form = new FormData();
      form.append('file', new Blob([greyPng(1, 1 + i)]), `${i}.png`);
      const r = await fetch(`${t.url}${W}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${owner.token}` } });
      assert.equal(r.status, 201);
      made.push(((await r.json()) as { id: string }).id);
    }
    for (const [i, id] of made.entries()) await db().execute(sql`update media set created_at = ${SAME_MS(i)}::timestamptz where id = ${id}`);
    assert.deepEqual(await pagesLikeOnePage(`${W}/media`, 'media', byId, 3), [...made].reverse());
    const first = await ok(t, 'GET', `${W}/media?limit=2`, owner.token);
    assert.equal(first.next, first.nextCursor);
    const second = await ok(t, 'GET', `${W}/media?limit=2&before=${first.next}`, owner.token);
    assert.deepEqual(second.media.map(byId), [made[0]]);
    const bad = await t.call('GET', `${W}/media?before=garbage`, { token: owner.token });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^querystring\.before: not a cursor of this list/);
  });

  test('the audit log and my own activity, and the audit log\'s older `before`', async () => {
    const events = (await ok(t, 'GET', `${W}/audit?limit=200`, owner.token)).events.length as number;
    const all = await pagesLikeOnePage(`${W}/audit`, 'events', (x) => String(x.id), events);
    assert.deepEqual(all, [...all].sort((a, b) => Number(b) - Number(a)), 'newest (largest id) first');
    const older = await ok(t, 'GET', `${W}/audit?limit=200&before=${all[1]}`, owner.token);
    assert.deepEqual(older.events.map((x: Json) => String(x.id)), all.slice(2));
    const mine = (await ok(t, 'GET', '/api/auth/activity?limit=200', owner.token)).events.length as number;
    await pagesLikeOnePage('/api/auth/activity', 'events', (x) => String(x.id), mine);
  });

  test('sessions, members, invitations, workspaces: rows of the same millisecond', async () => {
    for (let i = 0; i < 2; i++) await t.login(owner.email, owner.password);
    await db().execute(sql`update sessions set created_at = '2027-01-01T00:00:00.000100Z'::timestamptz + (random() * 900) * interval '1 microsecond' where user_id = ${owner.id}`);
    await pagesLikeOnePage('/api/auth/sessions', 'sessions', byId, 3);

    for (const role of ['editor', 'viewer'] as const) await member(t, ws, owner, role);
    await db().execute(sql`update memberships set created_at = '2027-01-01T00:00:00.000100Z'::timestamptz + (random() * 900) * interval '1 microsecond' where workspace_id = ${ws}`);
    await pagesLikeOnePage(`${W}/members`, 'members', (x) => x.userId, 3);

    for (let i = 0; i < 3; i++) await invite(t, ws, owner, `paging-${i}-${Date.now()}@example.com`, 'viewer');
    await db().execute(sql`update invitations set created_at = '2027-01-01T00:00:00.000100Z'::timestamptz + (random() * 900) * interval '1 microsecond' where workspace_id = ${ws}`);
    await pagesLikeOnePage(`${W}/invitations`, 'invitations', byId, 3);

    for (let i = 0; i < 2; i++) await ok(t, 'POST', '/api/workspaces', owner.token, { name: `More ${i}` }, 201);
    await db().execute(sql`update memberships set created_at = '2027-01-01T00:00:00.000100Z'::timestamptz + (random() * 900) * interval '1 microsecond' where user_id = ${owner.id}`);
    await pagesLikeOnePage('/api/workspaces', 'workspaces', byId, 3);
  });

  test('accounts, by network then name', async () => {
    const all = await pagesLikeOnePage(`${W}/accounts`, 'accounts', byId, 3);
    const whole = (await ok(t, 'GET', `${W}/accounts?limit=200`, owner.token)).accounts as { id: string; username: string }[];
    assert.deepEqual(whole.map((a) => a.id), all);
    assert.deepEqual(whole.map((a) => a.username), [...whole.map((a) => a.username)].sort());
  });

  test('API keys, revoked ones included', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await ok(t, 'POST', `${W}/api-keys`, owner.token, { name: `key ${i}`, scopes: ['read'] }, 201)).id);
    await ok(t, 'DELETE', `${W}/api-keys/${made[1]}`, owner.token, undefined, 204);
    for (const [i, id] of made.entries()) await db().execute(sql`update api_keys set created_at = ${SAME_MS(i)}::timestamptz where id = ${id}`);
    assert.deepEqual(await pagesLikeOnePage(`${W}/api-keys`, 'apiKeys', byId, 3), [...made].reverse());
  });

  test('webhook deliveries, with a status, and the older `before`/`nextBefore`', async () => {
    for (let i = 0; i < 3; i++) await ok(t, 'POST', `${W}/webhooks/${hook}/ping`, owner.token);
    await db().execute(sql`update webhook_deliveries set created_at = '2027-01-01T00:00:00.000100Z'::timestamptz + (random() * 900) * interval '1 microsecond' where webhook_id = ${hook}`);
    const base = `${W}/webhooks/${hook}/deliveries`;
    const whole = (await ok(t, 'GET', `${base}?limit=100`, owner.token)).deliveries.map(byId) as string[];
    assert.equal(whole.length, 3);
    assert.deepEqual((await walk(base, 'deliveries', byId)).ids, whole);
    assert.deepEqual((await walk(`${base}?status=delivered`, 'deliveries', byId)).ids, whole);
    assert.deepEqual((await walk(`${base}?status=failed`, 'deliveries', byId)).ids, []);
    const older: string[] = [];
    let nextBefore: string | null = null;
    do {
      const page: Json = await ok(t, 'GET', `${base}?limit=1${nextBefore ? `&before=${nextBefore}` : ''}`, owner.token);
      older.push(...page.deliveries.map(byId));
      nextBefore = page.nextBefore;
    } while (nextBefore);
    assert.deepEqual(older, whole);
    const bad = await t.call('GET', `${base}?cursor=nonsense`, { token: owner.token });
    assert.equal(bad.status, 400);
    assert.equal((await t.call('GET', `${base}?limit=101`, { token: owner.token })).status, 400, 'deliveries: at most 100 a page');
  });
});
