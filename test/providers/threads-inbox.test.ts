// The Threads adapter's inbox against the simulated Threads API: replies at every depth under the profile's
// recent posts, swept page by page; a deleted, a hidden and an edited reply; Graph's throttling in the middle of
// a page; a token that expires between pages; answering (a reply published as the profile, once) and hiding a
// top-level reply, read back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness, connectedAccount, sweepInbox } from './harness.ts';
import { createThreads } from '../../src/providers/threads.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('threads');
  p = createThreads({ http: h.http, settings: { clientId: 'th-app', clientSecret: 'th-secret', baseUrls: { auth: base, graph: base } } }, { poll: { intervalMs: 20, maxWaitMs: 60_000 } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('threads');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

const account = (loginHint: string) => connectedAccount(p, loginHint);
let n = 0;
const post = async (a: AccountRef, text: string) => (await p.publish(a, { text, media: [], marker: `th-${++n}` })).remoteId;
const answer = (a: AccountRef, postId: string, text: string, o: { parentId?: string; createdAt?: string; who?: string } = {}) =>
  sim().inbox.add({ userId: a.externalId, kind: 'comment', postId, parentId: o.parentId ?? null, text, author: { id: `id-${o.who ?? 'ada'}`, name: 'Someone', username: o.who ?? 'ada' }, ...(o.createdAt ? { createdAt: o.createdAt } : {}) }).id;

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'replies', cursor);

test('the source is declared with reply, hide and unhide; the scopes include threads_read_replies and threads_manage_replies', async () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['replies', 'mentions']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'hide', 'unhide']);
  const a = await account('th-scopes');
  for (const s of ['threads_read_replies', 'threads_manage_replies']) assert.ok(a.tokens.scope?.includes(s), s);
});

test('pagination: every reply at every depth once, placed under its post and parent; replies older than the overlap not read again', async () => {
  const a = await account('th-pages');
  const posts = [await post(a, 'one'), await post(a, 'two'), await post(a, 'three')];
  const old = answer(a, posts[0]!, 'from before', { createdAt: new Date(Date.now() - 3 * 3600_000).toISOString() });
  const ids: string[] = [];
  for (const id of posts) for (let k = 0; k < 3; k++) ids.push(answer(a, id, `reply ${k} to ${id}`));
  const nested = answer(a, posts[1]!, 'nested', { parentId: ids[3], who: 'grace' });
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(a, null);
    assert.ok(first.pages >= 2, `posts read in pages of 2 (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [old, ...ids, nested].sort(), 'each once');
    const x = first.items.find((i) => i.remoteId === nested)!;
    assert.equal(x.rootRemoteId, posts[1]);
    assert.equal(x.parentRemoteId, ids[3]);
    assert.deepEqual(x.author, { remoteId: 'grace', handle: 'grace' }, 'Threads names authors by username');
    const top = first.items.find((i) => i.remoteId === ids[0])!;
    assert.equal(top.parentRemoteId, undefined);
    assert.equal(top.root?.text, 'one');
    assert.ok(top.url);

    const late = answer(a, posts[2]!, 'late');
    const got = (await sweep(a, first.cursor)).items.map((i) => i.remoteId);
    assert.ok(got.includes(late));
    assert.equal(got.includes(old), false);
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('a deleted reply is not listed; a hidden one comes hidden; an edited one comes with its new text at the next sweep', async () => {
  const a = await account('th-states');
  const id = await post(a, 'menu');
  const gone = answer(a, id, 'oops');
  const hidden = answer(a, id, 'spam');
  const edited = answer(a, id, 'price 10?');
  sim().inbox.change(gone, { deleted: true });
  sim().inbox.change(hidden, { hidden: true });
  const first = await sweep(a, null);
  assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [hidden, edited].sort());
  assert.equal(first.items.find((i) => i.remoteId === hidden)!.hidden, true);
  sim().inbox.change(edited, { text: 'price 12?' });
  assert.equal((await sweep(a, first.cursor)).items.find((i) => i.remoteId === edited)?.text, 'price 12?');
});

test('Graph\'s throttling in the middle of a page: rate_limited, the same page read again afterwards', async () => {
  const a = await account('th-throttle');
  const id = await post(a, 'sale');
  const r = answer(a, id, 'stock?');
  sim().knobs.inboxRateLimitAfter = 1;
  const err = await p.collectInbox!(a, { source: 'replies', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited')(err), String(err));
  assert.deepEqual((await p.collectInbox!(a, { source: 'replies', cursor: null })).items.map((i) => i.remoteId), [r]);
});

test('a token that expires between pages: auth_expired, and the first page\'s cursor carries on with a new token', async () => {
  const a = await account('th-expiry');
  const p1 = await post(a, 'one');
  const p2 = await post(a, 'two');
  const r1 = answer(a, p1, 'on one');
  const r2 = answer(a, p2, 'on two');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(a, { source: 'replies', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [r2]);
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'replies', cursor: first.cursor }), isKind('auth_expired'));
    const again = await account('th-expiry');
    assert.deepEqual((await sweep(again, first.cursor)).items.map((i) => i.remoteId), [r1]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('answer a reply as the profile (published once, found again by its marker), then hide and unhide a top-level reply; a nested one cannot be hidden alone', async () => {
  const a = await account('th-act');
  const id = await post(a, 'ask us');
  const r = answer(a, id, 'ship to Norway?');
  const nested = answer(a, id, 'me too', { parentId: r, who: 'bob' });
  const since = new Date(Date.now() - 60_000);
  const sent = await p.reply!(a, { text: 'Yes!', parentRemoteId: r, rootRemoteId: id, marker: 'th-r1' });
  assert.deepEqual(sim().posts.filter((x) => x.replyTo === r).map((x) => x.id), [sent.remoteId], 'published once, under the reply');
  assert.equal((await p.findReply!(a, { parentRemoteId: r, rootRemoteId: id, marker: 'th-r1', since }))?.remoteId, sent.remoteId);
  const mine = (await sweep(a, null)).items.find((i) => i.remoteId === sent.remoteId)!;
  assert.equal(mine.author.remoteId, a.externalId, 'the profile\'s own reply');
  assert.equal(mine.parentRemoteId, r);

  const req = { remoteId: r, rootRemoteId: id, marker: 'th-a1' };
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: false });
  await p.hide!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: true });
  await p.unhide!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: false });
  await assert.rejects(p.hide!(a, { ...req, remoteId: nested }), isKind('permanent'));
  sim().inbox.change(r, { deleted: true });
  assert.deepEqual(await p.messageState!(a, req), { deleted: true });
});
