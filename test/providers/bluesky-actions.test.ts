// The Bluesky adapter's inbox actions against the simulator: a like is a like record (one, however often it is
// asked for, and after a try whose answer never came), taken back by deleting it; hiding is the reply's at-uri
// in the threadgate of the account's own post (made when there is none, its reply rules kept when there is
// one, refused at the lexicon's 300 and under someone else's post), seen again by the threads collection;
// deleting is of the account's own posts only; each state read back as the account sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { createBluesky, type BlueskyProvider } from '../../src/providers/bluesky.ts';
import { ProviderError, type AccountRef, type InboxItem, type MessageActionRequest } from '../../src/providers/types.ts';
import { blueskyAccount } from '../../tools/provider-sim/networks/bluesky.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: BlueskyProvider;
let s: NetworkState;
let base: string;
const PASSWORD = 'abcd-efgh-ijkl-mnop';
let alice: AccountRef;
let bob: AccountRef;
let carol: AccountRef;

const connect = async (handle: string): Promise<AccountRef> => {
  const signed = await p.signIn!(handle, PASSWORD);
  const [id] = await p.identities(signed.tokens, signed.host);
  return { externalId: id!.externalId, username: id!.username, tokens: signed.tokens, ...(signed.host ? { host: signed.host } : {}), data: id!.data ?? {} };
};
let n = 0;
const say = async (who: AccountRef, text: string, replyTo?: string) =>
  (await p.publish(who, { text, media: [], marker: `m-${++n}`, ...(replyTo ? { replyTo } : {}) })).remoteId;
const uri = (remoteId: string) => remoteId.split('|')[0]!;
/** The request for a collected message: named by its at-uri, its thread's root as publishing names it. */
const req = (message: string, root: string): MessageActionRequest => ({ remoteId: uri(message), rootRemoteId: root, marker: `action-${++n}` });
const isKind = (kind: string, reason?: RegExp) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? ''));

/** The records of `collection` in `who`'s repository, read straight from the simulated PDS. */
async function records(who: AccountRef, collection: string): Promise<{ uri: string; value: Record<string, unknown> }[]> {
  const res = await fetch(`${base}/pds/xrpc/com.atproto.repo.listRecords?repo=${who.externalId}&collection=${collection}&limit=100`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { records: { uri: string; value: Record<string, unknown> }[] }).records;
}
const likesOf = async (who: AccountRef, subject: string) => (await records(who, 'app.bsky.feed.like')).filter((r) => (r.value.subject as { uri: string }).uri === uri(subject));
const threadgateOf = async (who: AccountRef, post: string) => (await records(who, 'app.bsky.feed.threadgate')).find((r) => r.value.post === uri(post));

async function threadItems(who: AccountRef): Promise<InboxItem[]> {
  const items: InboxItem[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 60; i++) {
    const page = await p.collectInbox!(who, { source: 'threads', cursor });
    items.push(...page.items);
    cursor = page.cursor;
    if (!page.more) break;
  }
  return items;
}

before(async () => {
  h = await harness();
  s = h.sim.state('bluesky');
  base = h.sim.base('bluesky');
  p = createBluesky({ http: h.http, settings: { baseUrls: { service: base, plc: `${base}/plc`, appview: `${base}/appview` } } });
  for (const name of ['alice', 'bob', 'carol']) blueskyAccount(s, { handle: `${name}.act.test`, password: PASSWORD });
  alice = await connect('alice.act.test');
  bob = await connect('bob.act.test');
  carol = await connect('carol.act.test');
});
after(() => h.stop());

test('declared: reply, like, unlike, hide, unhide and delete of its own', () => {
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own');
});

test('like and unlike a mention: one like record however often asked, read back per account; unliking twice changes nothing', async () => {
  const mention = await say(bob, 'hey @alice.act.test, like this?');
  const r = req(mention, mention);
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: false });
  await p.like!(alice, r);
  await p.like!(alice, r);
  assert.equal((await likesOf(alice, mention)).length, 1, 'a second like is not a second record');
  assert.equal((await likesOf(alice, mention))[0]!.value.$type, 'app.bsky.feed.like');
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: true });
  assert.deepEqual(await p.messageState!(carol, r), { deleted: false, likedByMe: false }, 'per account');
  await p.unlike!(alice, r);
  await p.unlike!(alice, r);
  assert.equal((await likesOf(alice, mention)).length, 0);
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: false });
});

test('a like whose answer never came: an unknown outcome, settled by the state read back; asking again adds no second like', async () => {
  const mention = await say(carol, '@alice.act.test what about this one');
  const r = req(mention, mention);
  s.knobs.acceptThenHangNext = 1;
  try {
    await assert.rejects(p.like!(alice, r), isKind('unknown_outcome'));
  } finally {
    s.knobs.acceptThenHangNext = 0;
  }
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: true });
  await p.like!(alice, r);
  assert.equal((await likesOf(alice, mention)).length, 1);
});

test('hide and unhide a reply under the account\'s post: a threadgate made for it, seen by the threads collection, read back; showing it again keeps the threadgate', async () => {
  const post = await say(alice, 'Our new shop opens Monday');
  const spam = await say(bob, 'cheap followers at spam.example', post);
  const fine = await say(carol, 'congratulations!', post);
  const r = req(spam, post);
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: false, hidden: false });
  await p.hide!(alice, r);
  await p.hide!(alice, r);
  const gate = await threadgateOf(alice, post);
  assert.ok(gate, 'a threadgate at the post\'s rkey');
  assert.equal(gate.uri.split('/').pop(), uri(post).split('/').pop());
  assert.deepEqual(gate.value.hiddenReplies, [uri(spam)], 'once');
  assert.equal(gate.value.allow, undefined, 'no reply rules: anyone may still reply');
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: false, hidden: true });
  const items = await threadItems(alice);
  assert.equal(items.find((i) => i.remoteId === uri(spam))?.hidden, true);
  assert.equal(items.find((i) => i.remoteId === uri(fine))?.hidden, false);

  await p.unhide!(alice, r);
  await p.unhide!(alice, r);
  assert.deepEqual((await threadgateOf(alice, post))?.value.hiddenReplies, []);
  assert.deepEqual(await p.messageState!(alice, r), { deleted: false, likedByMe: false, hidden: false });
  assert.equal((await threadItems(alice)).find((i) => i.remoteId === uri(spam))?.hidden, false);
});

test('hiding under a post whose threadgate limits replies keeps its rules and its other hidden replies', async () => {
  const post = await say(alice, 'Only followers may answer');
  const a = await say(bob, 'first', post);
  const b = await say(carol, 'second', post);
  const rules = [{ $type: 'app.bsky.feed.threadgate#followerRule' }];
  const put = await fetch(`${base}/pds/xrpc/com.atproto.repo.putRecord`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.tokens.accessToken}` },
    body: JSON.stringify({
      repo: alice.externalId, collection: 'app.bsky.feed.threadgate', rkey: uri(post).split('/').pop(),
      record: { $type: 'app.bsky.feed.threadgate', post: uri(post), allow: rules, hiddenReplies: [uri(a)], createdAt: new Date().toISOString() },
    }),
  });
  assert.equal(put.status, 200, await put.clone().text());
  await p.hide!(alice, req(b, post));
  const gate = (await threadgateOf(alice, post))!;
  assert.deepEqual(gate.value.allow, rules);
  assert.deepEqual(gate.value.hiddenReplies, [uri(a), uri(b)]);
  await p.unhide!(alice, req(a, post));
  assert.deepEqual((await threadgateOf(alice, post))!.value.hiddenReplies, [uri(b)]);
  assert.deepEqual((await threadgateOf(alice, post))!.value.allow, rules);
});

test('hiding is refused under someone else\'s post, and beyond the 300 hidden replies a threadgate holds', async () => {
  const theirs = await say(bob, 'bob\'s own thread');
  const reply = await say(carol, 'a reply', theirs);
  await assert.rejects(p.hide!(alice, req(reply, theirs)), isKind('permanent', /not_own_thread/));
  assert.equal(await threadgateOf(bob, theirs), undefined, 'nothing written');

  const post = await say(alice, 'a busy thread');
  const last = await say(bob, 'one more', post);
  const full = Array.from({ length: 300 }, (_, i) => `at://${bob.externalId}/app.bsky.feed.post/hidden${i}`);
  const put = await fetch(`${base}/pds/xrpc/com.atproto.repo.putRecord`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.tokens.accessToken}` },
    body: JSON.stringify({ repo: alice.externalId, collection: 'app.bsky.feed.threadgate', rkey: uri(post).split('/').pop(), record: { $type: 'app.bsky.feed.threadgate', post: uri(post), hiddenReplies: full, createdAt: new Date().toISOString() } }),
  });
  assert.equal(put.status, 200, await put.clone().text());
  await assert.rejects(p.hide!(alice, req(last, post)), isKind('permanent', /hidden_replies_full/));
});

test('delete the account\'s own reply: gone, read back as deleted, deleting again counts as deleted; someone else\'s is refused', async () => {
  const mention = await say(bob, '@alice.act.test hello');
  const answer = await say(alice, 'hi bob', mention);
  const r = req(answer, mention);
  await p.delete!(alice, r);
  assert.deepEqual(await p.messageState!(alice, r), { deleted: true });
  await p.delete!(alice, r);
  assert.equal(s.posts.some((x) => x.id === uri(answer)), false);
  await assert.rejects(p.delete!(alice, req(mention, mention)), isKind('permanent', /not_own_post/));
  assert.equal(s.posts.some((x) => x.id === uri(mention)), true, 'bob\'s post stays');
});
