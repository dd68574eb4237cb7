// The LinkedIn adapter's inbox against the simulated Community Management API: the comments and nested comments
// under a Page's recent posts, swept page by page; a deleted and an edited comment; a 429 in the middle of a page;
// a token that expires between pages; answering (a nested comment as the Page, found again by its marker), liking,
// unliking and deleting the Page's own comment, each read back; a member account refused (r_member_social).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness, sweepInbox } from './harness.ts';
import { createLinkedIn } from '../../src/providers/linkedin.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
const CLIENT = { clientId: 'allin-li-inbox', clientSecret: 'li-secret' };
const activeVersion = () => {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

before(async () => {
  h = await harness();
  p = createLinkedIn({ http: h.http, settings: { ...CLIENT, baseUrls: { api: h.sim.base('linkedin'), auth: h.sim.base('linkedin'), version: activeVersion() } } });
});
beforeEach(() => {
  // Every simulated member administers the same fixture Pages: each test starts from an empty network.
  sim().reset();
  sim().apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [REDIRECT], name: 'AllIN' });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('linkedin');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

async function accounts(): Promise<{ page: AccountRef; member: AccountRef }> {
  const { tokens } = await authorize(p, { loginHint: 'li-inbox' });
  const ids = await p.identities(tokens);
  const ref = (i: (typeof ids)[number]): AccountRef => ({ externalId: i.externalId, username: i.username, tokens, data: i.data ?? {} });
  return { page: ref(ids.find((i) => i.externalId === 'urn:li:organization:2414183')!), member: ref(ids[0]!) };
}
let n = 0;
const post = async (a: AccountRef, text: string) => (await p.publish(a, { text: `${text} ${++n}`, media: [], marker: `li-${n}` })).remoteId;
/** A comment by someone under a post (or under a comment: parent is its URN), as the simulator's people write them. */
const comment = (postId: string, text: string, o: { parent?: string; who?: string } = {}) => {
  const i = sim().inbox.add({ userId: 'li-inbox', kind: 'comment', postId, parentId: o.parent ?? null, text, author: { id: o.who ?? 'ada', username: o.who ?? 'ada', name: 'Someone' } });
  return { inboxId: i.id, urn: `urn:li:comment:(${postId},${i.id})` };
};

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'comments', cursor);

test('declared for organisation Pages only, with reply, like, unlike and delete of its own; a member account is refused for good', async () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['comments']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'delete']);
  assert.deepEqual(p.meta.inbox?.accountKinds, ['organization']);
  assert.match(p.meta.inbox?.notCollected ?? '', /r_member_social/);
  const { member } = await accounts();
  const err = await p.collectInbox!(member, { source: 'comments', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('permanent')(err) && (err as ProviderError).details.reason === 'missing_scope', String(err));
});

test('pagination: every comment and nested comment once, under its post and parent; the Page\'s own marked as its own; an edit comes with its new text', async () => {
  const { page } = await accounts();
  const posts = [await post(page, 'one'), await post(page, 'two'), await post(page, 'three')];
  const tops = posts.map((id, k) => comment(id, `question ${k}?`));
  const nested = comment(posts[1]!, 'me too', { parent: tops[1]!.urn, who: 'grace' });
  const mine = await p.reply!(page, { text: 'Thanks!', parentRemoteId: tops[0]!.urn, rootRemoteId: posts[0]!, marker: 'li-r0' });
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(page, null);
    assert.ok(first.pages >= 2, `posts read in pages of 2 (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [...tops.map((t) => t.urn), nested.urn, mine.remoteId].sort(), 'each once');
    const x = first.items.find((i) => i.remoteId === nested.urn)!;
    assert.equal(x.rootRemoteId, posts[1]);
    assert.equal(x.parentRemoteId, tops[1]!.urn);
    assert.equal(x.author.remoteId, 'urn:li:person:grace');
    const top = first.items.find((i) => i.remoteId === tops[0]!.urn)!;
    assert.equal(top.parentRemoteId, undefined);
    assert.equal(top.root?.remoteId, posts[0]);
    assert.match(top.root?.text ?? '', /^one/);
    const own = first.items.find((i) => i.remoteId === mine.remoteId)!;
    assert.equal(own.author.remoteId, page.externalId, 'the Page\'s own answer');
    assert.equal(own.parentRemoteId, tops[0]!.urn);

    sim().inbox.change(tops[2]!.inboxId, { text: 'question 2, edited?' });
    const again = await sweep(page, first.cursor);
    const edited = again.items.find((i) => i.remoteId === tops[2]!.urn)!;
    assert.equal(edited.text, 'question 2, edited?');
    assert.ok(edited.editedAt && edited.editedAt >= edited.createdAt);
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('a deleted comment is not listed; LinkedIn hides nothing (no item says hidden)', async () => {
  const { page } = await accounts();
  const id = await post(page, 'menu');
  const gone = comment(id, 'oops');
  const kept = comment(id, 'price?');
  sim().inbox.change(gone.inboxId, { deleted: true });
  const got = (await sweep(page, null)).items;
  assert.deepEqual(got.map((i) => i.remoteId), [kept.urn]);
  assert.equal(got[0]!.hidden, undefined);
});

test('a 429 in the middle of a page: rate_limited (LinkedIn sends no reset, so until midnight UTC), and the same page read again afterwards', async () => {
  const { page } = await accounts();
  const id = await post(page, 'sale');
  const c = comment(id, 'stock?');
  sim().knobs.inboxRateLimitAfter = 1; // the posts are listed, their comments are not
  const err = await p.collectInbox!(page, { source: 'comments', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited')(err), String(err));
  assert.ok(((err as ProviderError).details.retryAfterMs ?? 0) > 0);
  assert.deepEqual((await p.collectInbox!(page, { source: 'comments', cursor: null })).items.map((i) => i.remoteId), [c.urn]);
});

test('a token that expires between pages: auth_expired, and the first page\'s cursor carries on with a new token', async () => {
  const { page } = await accounts();
  const p1 = await post(page, 'one');
  const p2 = await post(page, 'two');
  const c1 = comment(p1, 'on one');
  const c2 = comment(p2, 'on two');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(page, { source: 'comments', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [c2.urn]);
    assert.equal(first.more, true);
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(page, { source: 'comments', cursor: first.cursor }), isKind('auth_expired'));
    const again = (await accounts()).page;
    assert.deepEqual((await sweep(again, first.cursor)).items.map((i) => i.remoteId), [c1.urn]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('answer a comment as the Page (once, found again by its marker), like and unlike it, delete the answer; each read back', async () => {
  const { page } = await accounts();
  const id = await post(page, 'ask us');
  const c = comment(id, 'ship to Norway?');
  const since = new Date(Date.now() - 60_000);
  const sent = await p.reply!(page, { text: 'Yes, we do!', parentRemoteId: c.urn, rootRemoteId: id, marker: 'li-a1' });
  const raw = sim().posts.filter((x) => x.replyTo === c.urn);
  assert.deepEqual(raw.map((x) => x.id), [sent.remoteId], 'published once, nested under the comment');
  assert.deepEqual({ actor: (raw[0]!.raw as Record<string, unknown>).actor, parentComment: (raw[0]!.raw as Record<string, unknown>).parentComment }, { actor: page.externalId, parentComment: c.urn });
  assert.equal((await p.findReply!(page, { parentRemoteId: c.urn, rootRemoteId: id, marker: 'li-a1', since }))?.remoteId, sent.remoteId);
  assert.equal(await p.findReply!(page, { parentRemoteId: c.urn, rootRemoteId: id, marker: 'li-never', since }).catch((e: unknown) => kindOfErr(e)), 'unknown_outcome', 'a marker never recorded cannot be told');

  const req = { remoteId: c.urn, rootRemoteId: id, marker: 'li-x1' };
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, likedByMe: false });
  await p.like!(page, req);
  await p.like!(page, req); // liking twice changes nothing
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, likedByMe: true });
  await p.unlike!(page, req);
  await p.unlike!(page, req);
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, likedByMe: false });

  const own = { remoteId: sent.remoteId, rootRemoteId: id, marker: 'li-x2' };
  await assert.rejects(p.delete!(page, req), isKind('permanent'), 'someone else\'s comment is not the Page\'s to delete');
  await p.delete!(page, own);
  await p.delete!(page, own); // gone already: deleted
  assert.deepEqual(await p.messageState!(page, own), { deleted: true });
  assert.equal((await sweep(page, null)).items.some((i) => i.remoteId === sent.remoteId), false);
});

const kindOfErr = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
