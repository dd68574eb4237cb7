// The Instagram adapter's inbox against the simulated Instagram API: comments and their replies under the
// account's recent media, swept page by page (the replies edge followed past its expanded first page); a
// deleted, a hidden and an edited comment; Graph's throttling in the middle of a page; a token that stops
// working between pages; replying (under the top-level comment), hiding and deleting, read back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness, connectedAccount, sweepInbox } from './harness.ts';
import { createInstagram } from '../../src/providers/instagram.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('instagram');
  p = createInstagram({ http: h.http, settings: { clientId: 'ig-app', clientSecret: 'ig-secret', baseUrls: { auth: base, api: base, graph: base } } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('instagram');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

const account = (loginHint: string) => connectedAccount(p, loginHint);
/** A medium of the account on the network (published earlier; publishing itself is tested in instagram.test.ts). */
const medium = (a: AccountRef, caption: string, ageMs = 0) => {
  const id = sim().nextId();
  sim().posts.push({ id, userId: a.externalId, text: caption, media: [], createdAt: new Date(Date.now() - ageMs).toISOString(), raw: {} });
  return id;
};
const comment = (a: AccountRef, mediaId: string, text: string, o: { parentId?: string; createdAt?: string; who?: string } = {}) =>
  sim().inbox.add({ userId: a.externalId, kind: 'comment', postId: mediaId, parentId: o.parentId ?? null, text, author: { id: o.who ?? '1789', name: 'Ada', username: o.who ? `user_${o.who}` : 'ada.l' }, ...(o.createdAt ? { createdAt: o.createdAt } : {}) }).id;

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'comments', cursor);

test('the source is declared with reply, hide, unhide and delete (no like: the API has none for comments)', () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['comments', 'mentions']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'hide', 'unhide', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own_and_comments');
  assert.equal(p.like, undefined);
});

test('pagination: every comment and reply of the recent media once (media, comments and replies each paged); media older than the window and comments older than the overlap left out', async () => {
  const a = await account('ig-pages');
  medium(a, 'last month', 30 * 86_400_000);
  const media = [medium(a, 'one'), medium(a, 'two'), medium(a, 'three')];
  const old = comment(a, media[0]!, 'hours ago', { createdAt: new Date(Date.now() - 3 * 3600_000).toISOString() });
  const ids: string[] = [];
  for (const m of media) for (let k = 0; k < 3; k++) ids.push(comment(a, m, `q ${m} ${k}?`));
  const replies = [0, 1, 2].map((k) => comment(a, media[1]!, `answer ${k}`, { parentId: ids[3], who: `fan${k}` }));
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(a, null);
    assert.ok(first.pages >= 2, `media read in pages of 2 (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [old, ...ids, ...replies].sort(), 'each once, the third reply through the replies edge');
    const r = first.items.find((i) => i.remoteId === replies[2])!;
    assert.equal(r.rootRemoteId, media[1]);
    assert.equal(r.parentRemoteId, ids[3]);
    assert.equal(r.author.handle, 'user_fan2');
    const top = first.items.find((i) => i.remoteId === ids[0])!;
    assert.equal(top.parentRemoteId, undefined);
    assert.equal(top.root?.text, 'one');
    assert.equal(top.root?.authorRemoteId, a.externalId);

    const late = comment(a, media[2]!, 'late');
    const got = (await sweep(a, first.cursor)).items.map((i) => i.remoteId);
    assert.ok(got.includes(late));
    assert.equal(got.includes(old), false, 'older than the previous sweep less the overlap');
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('a deleted comment is not listed; a hidden one comes hidden; an edited one comes with its new text at the next sweep', async () => {
  const a = await account('ig-states');
  const m = medium(a, 'menu');
  const gone = comment(a, m, 'wrong account');
  const hidden = comment(a, m, 'spam spam');
  const edited = comment(a, m, 'price 10?');
  sim().inbox.change(gone, { deleted: true });
  sim().inbox.change(hidden, { hidden: true });
  const first = await sweep(a, null);
  assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [hidden, edited].sort());
  assert.equal(first.items.find((i) => i.remoteId === hidden)!.hidden, true);
  sim().inbox.change(edited, { text: 'price 12?' });
  assert.equal((await sweep(a, first.cursor)).items.find((i) => i.remoteId === edited)?.text, 'price 12?');
});

test('Graph\'s throttling in the middle of a page: rate_limited with Meta\'s wait, the same page read again afterwards', async () => {
  const a = await account('ig-throttle');
  const m = medium(a, 'sale');
  const c = comment(a, m, 'in stock?');
  sim().knobs.inboxRateLimitAfter = 1;
  sim().knobs.retryAfterSeconds = 60;
  const err = await p.collectInbox!(a, { source: 'comments', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited')(err), String(err));
  assert.equal((err as ProviderError).details.retryAfterMs, 60_000);
  assert.deepEqual((await p.collectInbox!(a, { source: 'comments', cursor: null })).items.map((i) => i.remoteId), [c]);
});

test('a token that expires between pages: auth_expired, and the first page\'s cursor carries on with a new token', async () => {
  const a = await account('ig-expiry');
  const m1 = medium(a, 'one');
  const m2 = medium(a, 'two');
  const c1 = comment(a, m1, 'on one');
  const c2 = comment(a, m2, 'on two');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(a, { source: 'comments', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [c2]);
    assert.equal(first.more, true);
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'comments', cursor: first.cursor }), isKind('auth_expired'));
    const again = await account('ig-expiry');
    assert.deepEqual((await sweep(again, first.cursor)).items.map((i) => i.remoteId), [c1]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('reply under the top-level comment (also when answering a reply), found again after a lost answer; hide, unhide, delete, each read back', async () => {
  const a = await account('ig-act');
  const m = medium(a, 'ask us');
  const c = comment(a, m, 'ship to Norway?');
  const sub = comment(a, m, 'me too', { parentId: c, who: 'fan9' });
  const since = new Date(Date.now() - 60_000);
  const sent = await p.reply!(a, { text: '@fan9 yes!', parentRemoteId: sub, rootRemoteId: m, marker: 'ig-r1' });
  assert.deepEqual(sim().posts.filter((x) => x.replyTo === c).map((x) => [x.id, x.text]), [[sent.remoteId, '@fan9 yes!']], 'under the top-level comment, once');
  assert.deepEqual(await p.findReply!(a, { parentRemoteId: sub, rootRemoteId: m, marker: 'ig-r1', since }), { remoteId: sent.remoteId });
  const mine = (await sweep(a, null)).items.find((i) => i.remoteId === sent.remoteId)!;
  assert.equal(mine.author.remoteId, a.externalId, 'the account\'s own reply');

  const req = { remoteId: c, rootRemoteId: m, marker: 'ig-a1' };
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: false });
  await p.hide!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: true });
  await assert.rejects(p.reply!(a, { text: 'hi', parentRemoteId: c, rootRemoteId: m, marker: 'ig-r2' }), isKind('permanent'), 'no reply to a hidden comment');
  await p.unhide!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, hidden: false });
  await p.delete!(a, { ...req, remoteId: sent.remoteId });
  assert.equal(sim().posts.some((x) => x.id === sent.remoteId), false);
  await p.delete!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: true });
  await p.delete!(a, req);
  const other = await account('ig-stranger');
  const c2 = comment(a, m, 'still here');
  await assert.rejects(p.hide!(other, { ...req, remoteId: c2 }), isKind('permanent'), 'another account cannot hide it');
});
