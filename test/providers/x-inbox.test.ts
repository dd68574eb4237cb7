// The X adapter's inbox against the simulated X API v2: mentions paged back to the previous sweep (since_id,
// pagination_token), replies in the conversations of the account's posts by recent search; a deleted, a hidden and an
// edited post; a 429 in the middle of a page (its reset header waited); a token that expires between pages; an access
// level without timelines or search refused for good with X's reason; answering (once, found again), liking, hiding
// and deleting, each read back.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness, sweepInbox } from './harness.ts';
import { createX } from '../../src/providers/x.ts';
import { xSimOptions } from '../../tools/provider-sim/networks/x.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
const CLIENT = { clientId: 'allin-x-inbox', clientSecret: 'x-secret' };

before(async () => {
  h = await harness();
  p = createX({ http: h.http, settings: { ...CLIENT, baseUrls: { api: h.sim.base('x'), auth: h.sim.base('x') } } });
});
beforeEach(() => {
  sim().apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [REDIRECT], name: 'AllIN' });
  sim().knobs.inboxRatePerMinute = 0;
  xSimOptions(sim()).accessLevel = 'basic';
});
after(() => h.stop());

const sim = () => h.sim.state('x');
const isKind = (kind: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind;

async function account(login: string): Promise<AccountRef> {
  const { tokens } = await authorize(p, { loginHint: login });
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: {} };
}
let n = 0;
const post = async (a: AccountRef, text: string) => (await p.publish(a, { text: `${text} ${++n}`, media: [], marker: `x-${n}` })).remoteId;
/** Someone's reply in the conversation of the account's post (under `parent`, else the post), or a mention. */
const said = (login: string, text: string, o: { post?: string; parent?: string; who?: string } = {}) =>
  sim().inbox.add({ userId: login, kind: o.post ? 'comment' : 'mention', postId: o.post ?? null, parentId: o.parent ?? null, text, author: { id: o.who ?? 'ada', username: o.who ?? 'ada', name: 'Ada' } }).id;

const sweep = (a: AccountRef, source: string, cursor: string | null) => sweepInbox(p, a, source, cursor);

test('declared: mentions and replies, with every action; the scopes ask for likes and hiding', async () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['mentions', 'replies']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete']);
  const a = await account('x-scopes');
  for (const s of ['like.read', 'like.write', 'tweet.moderate.write']) assert.ok(a.tokens.scope?.includes(s), s);
});

test('mentions: the newest page first, then paged back to the previous sweep; replies to the account are comments in its post\'s conversation; an edit replaces the original', async () => {
  const a = await account('x-mentions');
  const mine = await post(a, 'launch');
  const old = said('x-mentions', 'before AllIN');
  const first = await sweep(a, 'mentions', null);
  assert.deepEqual(first.items.map((i) => i.remoteId), [old]);
  const later = [said('x-mentions', 'one', { who: 'grace' }), said('x-mentions', 'two'), said('x-mentions', 'nice launch!', { post: mine })];
  sim().knobs.inboxPageSize = 2;
  try {
    const next = await sweep(a, 'mentions', first.cursor);
    assert.ok(next.pages >= 2, `paged (${next.pages})`);
    assert.deepEqual(next.items.map((i) => i.remoteId).sort(), [...later].sort(), 'each once, nothing from before');
    const m = next.items.find((i) => i.remoteId === later[0])!;
    assert.deepEqual([m.kind, m.rootRemoteId, m.author.handle, m.author.name], ['mention', later[0], 'grace', 'Ada']);
    const c = next.items.find((i) => i.remoteId === later[2])!;
    assert.deepEqual([c.kind, c.rootRemoteId, c.parentRemoteId], ['comment', mine, undefined]);

    sim().inbox.change(later[1]!, { text: 'two, edited' });
    const edited = (await sweep(a, 'mentions', next.cursor)).items;
    assert.deepEqual(edited.map((i) => [i.remoteId, i.text]), [[later[1], 'two, edited']], 'the edit is a new post that names the original');
    assert.ok(edited[0]!.editedAt);
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('replies: every reply in the conversations of the account\'s posts, nested ones and its own included; a deleted one is not listed; a hidden one still is', async () => {
  const a = await account('x-replies');
  const p1 = await post(a, 'one');
  const p2 = await post(a, 'two');
  const r1 = said('x-replies', 'q1?', { post: p1 });
  const r2 = said('x-replies', 'q2?', { post: p2 });
  const deep = said('x-replies', 'deeper', { post: p1, parent: r1, who: 'linus' });
  const gone = said('x-replies', 'oops', { post: p2 });
  sim().inbox.change(gone, { deleted: true });
  const answer = await p.reply!(a, { text: 'Thanks!', parentRemoteId: r2, rootRemoteId: p2, marker: 'x-ans' });
  const got = await sweep(a, 'replies', null);
  assert.deepEqual(got.items.map((i) => i.remoteId).sort(), [r1, r2, deep, answer.remoteId].sort());
  const d = got.items.find((i) => i.remoteId === deep)!;
  assert.deepEqual([d.kind, d.rootRemoteId, d.parentRemoteId], ['comment', p1, r1]);
  const own = got.items.find((i) => i.remoteId === answer.remoteId)!;
  assert.deepEqual([own.author.remoteId, own.parentRemoteId], [a.externalId, r2]);
  sim().inbox.change(r1, { hidden: true });
  assert.ok((await sweep(a, 'replies', got.cursor)).items.some((i) => i.remoteId === r1), 'X lists hidden replies (and does not say so)');
});

test('a 429 in the middle of a page: rate_limited until X\'s x-rate-limit-reset, and the same page read again afterwards', async () => {
  const a = await account('x-429');
  const id = await post(a, 'sale');
  const r = said('x-429', 'stock?', { post: id });
  sim().knobs.inboxRateLimitAfter = 0; // the account's posts are listed, the search for their replies is refused
  const before = Date.now();
  const err = await p.collectInbox!(a, { source: 'replies', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited')(err), String(err));
  const wait = (err as ProviderError).details.retryAfterMs!;
  assert.ok(wait > 0 && wait <= sim().knobs.retryAfterSeconds * 1000 + (Date.now() - before) + 1000, `waits for the reset (${wait} ms)`);
  assert.deepEqual((await p.collectInbox!(a, { source: 'replies', cursor: null })).items.map((i) => i.remoteId), [r]);
});

test('a token that expires between pages: auth_expired, and the first page\'s cursor carries on with a new token', async () => {
  const a = await account('x-expiry');
  const start = await sweep(a, 'mentions', null);
  const m = [said('x-expiry', 'm1'), said('x-expiry', 'm2'), said('x-expiry', 'm3')];
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await p.collectInbox!(a, { source: 'mentions', cursor: start.cursor });
    assert.equal(first.more, true);
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'mentions', cursor: first.cursor }), isKind('auth_expired'));
    const again = await account('x-expiry');
    const rest = await sweep(again, 'mentions', first.cursor);
    assert.deepEqual([...first.items, ...rest.items].map((i) => i.remoteId).sort(), [...m].sort());
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('an access level without timelines or search (Free): refused for good as access_level, with X\'s reason', async () => {
  const a = await account('x-free');
  xSimOptions(sim()).accessLevel = 'free';
  for (const source of ['mentions', 'replies']) {
    if (source === 'replies') await post(a, 'something');
    const err = await p.collectInbox!(a, { source, cursor: null }).catch((e: unknown) => e);
    assert.ok(isKind('permanent')(err) && (err as ProviderError).details.reason === 'access_level', `${source}: ${String(err)}`);
    assert.match((err as Error).message, /access level/);
  }
});

test('answer a mention (published once, found again), like and unlike, hide and unhide a reply, delete the answer; each read back', async () => {
  const a = await account('x-act');
  const root = await post(a, 'ask us');
  const mention = said('x-act', '@x-act do you ship?');
  const since = new Date(Date.now() - 60_000);
  const sent = await p.reply!(a, { text: 'We do!', parentRemoteId: mention, rootRemoteId: mention, marker: 'x-r1' });
  assert.deepEqual(sim().posts.filter((x) => x.replyTo === mention).map((x) => x.id), [sent.remoteId], 'published once');
  assert.equal((await p.findReply!(a, { parentRemoteId: mention, rootRemoteId: mention, marker: 'x-r1', since }))?.remoteId, sent.remoteId);

  const req = { remoteId: mention, rootRemoteId: mention, marker: 'x-a1' };
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, likedByMe: false });
  await p.like!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, likedByMe: true });
  await p.unlike!(a, req);
  assert.deepEqual(await p.messageState!(a, req), { deleted: false, likedByMe: false });

  const r = said('x-act', 'rude', { post: root });
  const hideReq = { remoteId: r, rootRemoteId: root, marker: 'x-a2' };
  await p.hide!(a, hideReq);
  assert.equal(sim().inbox.items.get(r)!.hidden, true);
  assert.equal((await p.messageState!(a, hideReq)).hidden, undefined, 'X does not say whether a reply is hidden');
  await p.unhide!(a, hideReq);
  assert.equal(sim().inbox.items.get(r)!.hidden, false);
  await assert.rejects(p.hide!(a, req), isKind('permanent'), 'a mention is not a reply in the account\'s conversation');

  const own = { remoteId: sent.remoteId, rootRemoteId: mention, marker: 'x-a3' };
  await assert.rejects(p.delete!(a, req), isKind('permanent'), 'someone else\'s post');
  await p.delete!(a, own);
  await p.delete!(a, own);
  assert.deepEqual(await p.messageState!(a, own), { deleted: true });
});
