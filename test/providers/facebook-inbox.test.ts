// The Facebook Pages adapter's inbox against the simulated Graph API: comments and replies under the Page's
// recent posts, swept page by page; a deleted, a hidden and an edited comment; Graph's Page throttling in the
// middle of a page; a token that stops working between pages; and replying, liking, hiding and deleting as the
// Page, each read back as the Page sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness, sweepInbox } from './harness.ts';
import { createFacebook } from '../../src/providers/facebook.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('facebook');
  p = createFacebook({ http: h.http, settings: { clientId: 'fb-app', clientSecret: 'fb-secret', baseUrls: { graph: base, rupload: base, auth: base, version: 'v26.0' } } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('facebook');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

/** The first Page of a person (a person of its own per test, so each test starts with a Page of its own). */
async function pageAccount(loginHint: string): Promise<AccountRef> {
  const { tokens } = await authorize(p, { loginHint });
  const [page] = await p.identities(tokens);
  return { externalId: page!.externalId, username: page!.username, tokens: page!.tokens!, data: page!.data ?? {} };
}
let n = 0;
const post = async (page: AccountRef, text: string) => (await p.publish(page, { text, media: [], marker: `m-${++n}` })).remoteId;
/** Someone (not the Page) comments under the Page's post, or answers a comment there. */
const comment = (page: AccountRef, postId: string, text: string, o: { parentId?: string; createdAt?: string; who?: string } = {}) =>
  sim().inbox.add({ userId: page.externalId, kind: 'comment', postId, parentId: o.parentId ?? null, text, author: { id: o.who ?? 'fan-ada', name: 'Ada Lovelace', username: 'ada' }, ...(o.createdAt ? { createdAt: o.createdAt } : {}) }).id;

/** Reads pages from `cursor` until the source says nothing more is waiting (one sweep). */
const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'comments', cursor);

test('the source is declared with reply, like, unlike, hide, unhide and delete (also of others\' comments), and the Page is asked for its read and moderation permissions', async () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['comments', 'mentions']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own_and_comments');
  const page = await pageAccount('fb-scopes');
  for (const s of ['pages_read_engagement', 'pages_read_user_content', 'pages_manage_engagement']) assert.ok(page.tokens.scope?.includes(s), s);
});

test('pagination: every comment and reply of every recent post once, placed under its post and parent; a comment older than the overlap is not read again by the next sweep', async () => {
  const page = await pageAccount('fb-pages');
  const posts = [await post(page, 'Spring sale'), await post(page, 'New shop hours'), await post(page, 'Meet the team')];
  const old = comment(page, posts[0]!, 'from last week', { createdAt: new Date(Date.now() - 3 * 3600_000).toISOString() });
  const ids: string[] = [];
  for (const [i, id] of posts.entries()) for (let k = 0; k < 3; k++) ids.push(comment(page, id, `question ${i}.${k}?`));
  const reply = comment(page, posts[1]!, 'and an answer to it', { parentId: ids[3], who: 'fan-grace' });
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(page, null);
    assert.ok(first.pages >= 2, `posts read in pages of 2 (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [old, ...ids, reply].sort(), 'each once');
    const r = first.items.find((i) => i.remoteId === reply)!;
    assert.equal(r.kind, 'comment');
    assert.equal(r.rootRemoteId, posts[1]);
    assert.equal(r.parentRemoteId, ids[3]);
    assert.equal(r.author.remoteId, 'fan-grace');
    const top = first.items.find((i) => i.remoteId === ids[0])!;
    assert.equal(top.parentRemoteId, undefined, 'a comment on the post answers the root');
    assert.equal(top.text, 'question 0.0?');
    assert.equal(top.root?.remoteId, posts[0]);
    assert.equal(top.root?.text, 'Spring sale');
    assert.equal(top.root?.authorRemoteId, page.externalId);
    assert.ok(top.url);

    const late = comment(page, posts[2]!, 'late one');
    const second = await sweep(page, first.cursor);
    const got = second.items.map((i) => i.remoteId);
    assert.ok(got.includes(late), 'the new comment');
    assert.equal(got.includes(old), false, 'read down to the previous sweep (less the overlap) only');
    assert.equal(new Set(got).size, got.length, 'each once in a sweep');
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('a deleted comment is not listed; a hidden one comes hidden; an edited one comes with its new text at the next sweep', async () => {
  const page = await pageAccount('fb-states');
  const id = await post(page, 'Our menu');
  const gone = comment(page, id, 'oops, wrong page');
  const hidden = comment(page, id, 'buy followers at …');
  const edited = comment(page, id, 'the price is 10');
  sim().inbox.change(gone, { deleted: true });
  sim().inbox.change(hidden, { hidden: true });
  const first = await sweep(page, null);
  assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [hidden, edited].sort());
  assert.equal(first.items.find((i) => i.remoteId === hidden)!.hidden, true);
  assert.equal(first.items.find((i) => i.remoteId === edited)!.hidden, false, 'shown: Graph says so (is_hidden false)');
  sim().inbox.change(edited, { text: 'the price is 12' });
  const second = await sweep(page, first.cursor);
  assert.equal(second.items.find((i) => i.remoteId === edited)?.text, 'the price is 12');
});

test('Graph\'s Page throttling in the middle of a page: rate_limited with the wait Meta gives, and the same page read again afterwards', async () => {
  const page = await pageAccount('fb-throttle');
  const id = await post(page, 'Flash sale');
  const c = comment(page, id, 'is this in stock?');
  sim().knobs.inboxRateLimitAfter = 1; // the posts are listed, the first post's comments are refused
  sim().knobs.retryAfterSeconds = 120;
  const err = await p.collectInbox!(page, { source: 'comments', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited')(err), String(err));
  assert.equal((err as ProviderError).details.retryAfterMs, 120_000, 'estimated_time_to_regain_access, in minutes');
  const again = await p.collectInbox!(page, { source: 'comments', cursor: null });
  assert.deepEqual(again.items.map((i) => i.remoteId), [c]);
});

test('a token that stops working between pages: the next page is auth_expired, and the first page\'s cursor carries on with a new token', async () => {
  const page = await pageAccount('fb-expiry');
  const a = await post(page, 'one');
  const b = await post(page, 'two');
  const ca = comment(page, a, 'on one');
  const cb = comment(page, b, 'on two');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(page, { source: 'comments', cursor: null });
    assert.equal(first.more, true);
    assert.deepEqual(first.items.map((i) => i.remoteId), [cb], 'the newest post first');
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(page, { source: 'comments', cursor: first.cursor }), isKind('auth_expired'));
    const again = await pageAccount('fb-expiry');
    const rest = await sweep(again, first.cursor);
    assert.deepEqual(rest.items.map((i) => i.remoteId), [ca], 'carries on after the first page');
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('reply as the Page under a comment (found again by its text after a lost answer), like and unlike, hide and unhide, delete: each read back as the Page sees it', async () => {
  const page = await pageAccount('fb-act');
  const id = await post(page, 'Ask us anything');
  const c = comment(page, id, 'do you ship to Norway?');
  const since = new Date(Date.now() - 60_000);
  const sent = await p.reply!(page, { text: 'Yes, in 3 days!', parentRemoteId: c, rootRemoteId: id, marker: 'r-1' });
  const stored = sim().posts.filter((x) => x.replyTo === c);
  assert.deepEqual(stored.map((x) => [x.id, x.text]), [[sent.remoteId, 'Yes, in 3 days!']], 'published once, under the comment');
  assert.deepEqual(await p.findReply!(page, { parentRemoteId: c, rootRemoteId: id, marker: 'r-1', since }), { remoteId: sent.remoteId, url: sent.url });
  const collected = (await sweep(page, null)).items.find((i) => i.remoteId === sent.remoteId)!;
  assert.equal(collected.author.remoteId, page.externalId, 'the Page\'s own reply, collected as the Page\'s');
  assert.equal(collected.parentRemoteId, c);

  const req = { remoteId: c, rootRemoteId: id, marker: 'a-1' };
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, hidden: false, likedByMe: false });
  await p.like!(page, req);
  await p.like!(page, req);
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, hidden: false, likedByMe: true });
  await p.unlike!(page, req);
  await p.hide!(page, req);
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, hidden: true, likedByMe: false });
  assert.equal((await sweep(page, null)).items.find((i) => i.remoteId === c)?.hidden, true);
  await p.unhide!(page, req);
  assert.deepEqual(await p.messageState!(page, req), { deleted: false, hidden: false, likedByMe: false });

  // A hide whose answer never came is an unknown outcome, settled by reading the state.
  sim().knobs.acceptThenHangNext = 1;
  try {
    await assert.rejects(p.hide!(page, req), isKind('unknown_outcome'));
  } finally {
    sim().knobs.acceptThenHangNext = 0;
  }
  assert.equal((await p.messageState!(page, req)).hidden, true);

  await p.delete!(page, { ...req, remoteId: sent.remoteId });
  assert.equal(sim().posts.some((x) => x.id === sent.remoteId), false, 'the Page\'s own reply deleted');
  await p.delete!(page, req);
  assert.deepEqual(await p.messageState!(page, req), { deleted: true });
  await p.delete!(page, req);
  assert.equal((await sweep(page, null)).items.some((i) => i.remoteId === c), false);
});

test('another Page\'s token cannot read, hide or delete this Page\'s comments', async () => {
  const page = await pageAccount('fb-owner');
  const other = await pageAccount('fb-stranger');
  const id = await post(page, 'mine');
  const c = comment(page, id, 'hello');
  const req = { remoteId: c, rootRemoteId: id, marker: 'x' };
  await assert.rejects(p.hide!(other, req), isKind('permanent'));
  assert.deepEqual(await p.messageState!(other, req), { deleted: true }, 'not visible to it');
  assert.equal(sim().inbox.items.get(c)!.hidden, false);
});
