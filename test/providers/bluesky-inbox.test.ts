// The Bluesky adapter's inbox collection against the simulator: notifications (replies, mentions, quotes)
// read as sweeps from the newest back to the last one read, page by page; the reply trees under the
// account's posts (getAuthorFeed, getPostThread) with deleted replies (notFoundPost) and blocked ones
// (blockedPost); a 429 in the middle of paging; a session that expires between pages, refreshed, and the
// sweep carried on; and a reply to a collected message, found again by its marker, under the same id the
// collection gives it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { createBluesky, type BlueskyProvider } from '../../src/providers/bluesky.ts';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage } from '../../src/providers/types.ts';
import { blueskyAccount, blueskyBlock, type SimBlueskyAccount } from '../../tools/provider-sim/networks/bluesky.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: BlueskyProvider;
let s: NetworkState;
let base: string;
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const sim: Record<string, SimBlueskyAccount> = {};
let alice: AccountRef;
let bob: AccountRef;
let carol: AccountRef;

const connect = async (handle: string): Promise<AccountRef> => {
  const signed = await p.signIn!(handle, PASSWORD);
  const [id] = await p.identities(signed.tokens, signed.host);
  return { externalId: id!.externalId, username: id!.username, tokens: signed.tokens, ...(signed.host ? { host: signed.host } : {}), data: id!.data ?? {} };
};
let n = 0;
/** Publishes as `who` (a reply when `replyTo` is a post id); returns the post's at-uri|cid. */
const say = async (who: AccountRef, text: string, replyTo?: string, options?: Record<string, unknown>) =>
  (await p.publish(who, { text, media: [], marker: `m-${++n}`, ...(replyTo ? { replyTo } : {}), ...(options ? { options } : {}) })).remoteId;
const uri = (remoteId: string) => remoteId.split('|')[0]!;
const isKind = (kind: string, reason?: RegExp, status?: number) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? '')) && (status === undefined || e.details.status === status);

/** Reads pages of `source` from `cursor` until it says nothing more is waiting. */
async function drain(account: AccountRef, source: string, cursor: string | null): Promise<{ items: InboxItem[]; cursor: string | null; pages: number }> {
  const items: InboxItem[] = [];
  let page: InboxPage;
  let pages = 0;
  do {
    page = await p.collectInbox!(account, { source, cursor });
    items.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (page.more && pages < 60);
  return { items, cursor, pages };
}

before(async () => {
  h = await harness();
  s = h.sim.state('bluesky');
  base = h.sim.base('bluesky');
  p = createBluesky({ http: h.http, settings: { baseUrls: { service: base, plc: `${base}/plc`, appview: `${base}/appview` } } });
  for (const name of ['alice', 'bob', 'carol', 'dave']) sim[name] = blueskyAccount(s, { handle: `${name}.inbox.test`, password: PASSWORD, displayName: name[0]!.toUpperCase() + name.slice(1) });
  alice = await connect('alice.inbox.test');
  bob = await connect('bob.inbox.test');
  carol = await connect('carol.inbox.test');
});
after(() => h.stop());

test('two sources are declared, with reply and the actions', () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['notifications', 'threads']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete']);
});

test('notifications: replies, a mention and a quote, each once, across pages; then nothing until someone speaks', async () => {
  const start = await drain(alice, 'notifications', null);
  const post = await say(alice, 'Spring sale starts today');
  const replies: string[] = [];
  for (let i = 0; i < 5; i++) replies.push(await say(bob, `question ${i}?`, post, { langs: ['de'] }));
  const mention = await say(carol, 'Have you seen @alice.inbox.test today?');
  const deeper = await say(carol, 'I agree with bob', replies[0]);
  await say(bob, 'not about alice at all');
  // A quote: a post that embeds alice's (written straight to the PDS, as the adapter publishes none).
  const quoteRes = await fetch(`${base}/pds/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bob.tokens.accessToken}` },
    body: JSON.stringify({ repo: bob.externalId, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: 'look at this', createdAt: new Date().toISOString(), embed: { $type: 'app.bsky.embed.record', record: { uri: uri(post), cid: post.split('|')[1] } } } }),
  });
  assert.equal(quoteRes.status, 200, await quoteRes.clone().text());
  const quote = ((await quoteRes.json()) as { uri: string }).uri;
  s.knobs.inboxPageSize = 2;
  try {
    const got = await drain(alice, 'notifications', start.cursor);
    assert.ok(got.pages >= 4, `read in pages of 2 (${got.pages})`);
    assert.deepEqual(new Set(got.items.map((i) => i.remoteId)), new Set([...replies, mention, deeper].map(uri).concat(quote)), 'each one');
    assert.equal(got.items.length, 8, 'once');
    const first = got.items.find((i) => i.remoteId === uri(replies[0]!))!;
    assert.equal(first.kind, 'comment');
    assert.equal(first.rootRemoteId, post, 'the root as publishing names it (at-uri|cid), so the thread links to its target');
    assert.equal(first.parentRemoteId, undefined, 'it answers the root');
    assert.equal(first.text, 'question 0?');
    assert.equal(first.language, 'de', 'from the record\'s langs');
    assert.equal(first.author.handle, 'bob.inbox.test');
    assert.equal(first.author.name, 'Bob');
    assert.equal(first.editedAt, undefined, 'Bluesky posts are not edited');
    assert.equal(first.root?.authorRemoteId, alice.externalId);
    assert.match(first.url!, /\/profile\/did:plc:[^/]+\/post\//);
    const m = got.items.find((i) => i.remoteId === uri(mention))!;
    assert.equal(m.kind, 'mention');
    assert.equal(m.rootRemoteId, mention);
    assert.equal(m.root?.text, 'Have you seen @alice.inbox.test today?');
    const d = got.items.find((i) => i.remoteId === uri(deeper))!;
    assert.equal(d.kind, 'comment', 'under the account\'s post, though it answers someone else');
    assert.equal(d.rootRemoteId, post);
    assert.equal(d.parentRemoteId, uri(replies[0]!));
    assert.equal(got.items.find((i) => i.remoteId === quote)!.kind, 'mention');

    const again = await p.collectInbox!(alice, { source: 'notifications', cursor: got.cursor });
    assert.deepEqual(again.items, []);
    assert.equal(again.more, false);
    const late = await say(bob, 'late', post);
    assert.deepEqual((await drain(alice, 'notifications', got.cursor)).items.map((i) => i.remoteId), [uri(late)]);
  } finally {
    s.knobs.inboxPageSize = 50;
  }
});

test('a first read takes only the newest page (history), and an account with no notification yet gets every later one', async () => {
  const dave = await connect('dave.inbox.test');
  const first = await drain(dave, 'notifications', null);
  assert.deepEqual(first.items, []);
  const post = await say(dave, 'hello');
  const r = await say(bob, 'welcome!', post);
  assert.deepEqual((await drain(dave, 'notifications', first.cursor)).items.map((i) => i.remoteId), [uri(r)]);
});

test('threads: the reply tree under the account\'s posts, its own replies too; a deleted reply with replies under it comes deleted, a blocked one is left out', async () => {
  const post = await say(alice, 'Tell us your favourite colour');
  const r1 = await say(bob, 'green', post);
  const r2 = await say(carol, 'why green?', r1);
  const own = await say(alice, 'thanks!', r1);
  const quiet = await say(await connect('dave.inbox.test'), 'red', post);
  const got = await drain(alice, 'threads', null);
  const under = got.items.filter((i) => i.rootRemoteId === post);
  assert.deepEqual(new Set(under.map((i) => i.remoteId)), new Set([r1, r2, own, quiet].map(uri)));
  const byId = (id: string) => under.find((i) => i.remoteId === uri(id))!;
  assert.equal(byId(r1).parentRemoteId, undefined);
  assert.equal(byId(r2).parentRemoteId, uri(r1));
  assert.equal(byId(r2).kind, 'comment');
  assert.equal(byId(own).author.remoteId, alice.externalId, 'the account\'s own answer (stored as outbound)');
  assert.equal(byId(r1).root?.text, 'Tell us your favourite colour');
  assert.equal(got.cursor, null, 'the sweep is over: the next one lists the posts again');

  // bob deletes "green" (carol's reply stays under it) and dave's "red" (nothing under it); alice blocks carol.
  await p.deletePost(bob, r1);
  const after = await drain(alice, 'threads', null);
  const gone = after.items.find((i) => i.remoteId === uri(r1))!;
  assert.equal(gone.deleted, true, 'notFoundPost: deleted');
  assert.equal(gone.text, '');
  assert.equal(gone.rootRemoteId, post);
  assert.ok(!after.items.some((i) => i.remoteId === uri(r2)), 'what hangs under a deleted reply is not shown by the AppView');
  blueskyBlock(s, alice.externalId, carol.externalId);
  const third = await say(carol, 'blocked voice', post);
  const blocked = await drain(alice, 'threads', null);
  assert.ok(!blocked.items.some((i) => i.remoteId === uri(third)), 'blockedPost: left out');
  assert.ok(blocked.items.some((i) => i.remoteId === uri(quiet)));
});

test('a 429 in the middle of paging: rate_limited with the wait of RateLimit-Reset, the sweep carries on from the page before it, nothing lost or twice', async () => {
  const { cursor } = await drain(alice, 'notifications', null);
  const post = await say(alice, 'Another post');
  const rs: string[] = [];
  for (let i = 0; i < 5; i++) rs.push(uri(await say(bob, `in stock ${i}?`, post)));
  s.knobs.inboxPageSize = 2;
  s.knobs.inboxRateLimitAfter = 1; // the first page is answered, the second refused
  s.knobs.retryAfterSeconds = 9;
  try {
    const first = await p.collectInbox!(alice, { source: 'notifications', cursor });
    assert.equal(first.more, true);
    const limited = await p.collectInbox!(alice, { source: 'notifications', cursor: first.cursor }).catch((e: unknown) => e);
    assert.ok(isKind('rate_limited', undefined, 429)(limited), String(limited));
    const wait = (limited as ProviderError).details.retryAfterMs!;
    assert.ok(wait > 6000 && wait <= 10_000, `wait ${wait}`);
    const rest = await drain(alice, 'notifications', first.cursor);
    const all = [...first.items, ...rest.items].map((i) => i.remoteId);
    assert.deepEqual([...all].sort(), [...rs].sort());
  } finally {
    s.knobs.inboxPageSize = 50;
    s.knobs.inboxRateLimitAfter = -1;
  }
});

test('a session that expires between pages: the next page is auth_expired, and after a refresh the sweep carries on', async () => {
  let me = await connect('carol.inbox.test');
  const { cursor } = await drain(me, 'notifications', null);
  const post = await say(me, 'carol asks');
  const rs: string[] = [];
  for (let i = 0; i < 3; i++) rs.push(uri(await say(bob, `answer ${i}`, post)));
  s.knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(me, { source: 'notifications', cursor });
    assert.equal(first.items.length, 1);
    s.knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(me, { source: 'notifications', cursor: first.cursor }), isKind('auth_expired', /ExpiredToken/, 400));
    me = { ...me, tokens: await p.refresh(me) };
    const rest = await drain(me, 'notifications', first.cursor);
    assert.deepEqual([...first.items, ...rest.items].map((i) => i.remoteId).sort(), [...rs].sort());
  } finally {
    s.knobs.inboxPageSize = 50;
    s.knobs.inboxExpireTokensAfter = -1;
    // Every session expired: the others refresh too.
    alice = { ...alice, tokens: await p.refresh(alice) };
    bob = { ...bob, tokens: await p.refresh(bob) };
    carol = { ...carol, tokens: await p.refresh(carol) };
  }
});

test('a reply to a collected message (its at-uri): threaded under it by uri and cid, answered and found again by its marker under the id the collection gives it', async () => {
  const post = await say(alice, 'Any questions?');
  const q = await say(bob, 'Do you deliver?', post);
  const [item] = (await drain(alice, 'threads', null)).items.filter((i) => i.remoteId === uri(q));
  assert.ok(item);
  const answer = await p.reply!(alice, { text: 'Yes, everywhere.', parentRemoteId: item.remoteId, rootRemoteId: item.rootRemoteId, marker: 'inbox-rp-1' });
  assert.ok(!answer.remoteId.includes('|'), 'named as collected messages are');
  const stored = s.posts.find((x) => x.id === answer.remoteId)!;
  const ref = (id: string) => ({ uri: uri(id), cid: id.split('|')[1] });
  assert.deepEqual((stored.raw as { record: { reply: unknown } }).record.reply, { root: ref(post), parent: ref(q) });
  const found = await p.findReply!(alice, { parentRemoteId: item.remoteId, rootRemoteId: item.rootRemoteId, marker: 'inbox-rp-1', since: new Date(Date.now() - 60_000) });
  assert.equal(found?.remoteId, answer.remoteId);
  const again = (await drain(alice, 'threads', null)).items.find((i) => i.remoteId === answer.remoteId);
  assert.ok(again, 'the collection brings the reply under the same id');
  assert.equal(again.author.remoteId, alice.externalId);
  assert.equal(again.parentRemoteId, uri(q));
});
