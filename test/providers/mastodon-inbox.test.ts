// The Mastodon adapter's inbox collection against the simulator: mentions (replies to the account's statuses
// arrive as mentions) read forward page by page, threads placed by their context, HTML as plain text, a 429
// in the middle of a page, a deleted status, an edited one, a token revoked between pages, a token without
// read:notifications, and direct messages left out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { createMastodon, type MastodonProvider } from '../../src/providers/mastodon.ts';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage } from '../../src/providers/types.ts';
import { mastodonEditStatus } from '../../tools/provider-sim/networks/mastodon.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: MastodonProvider;
let s: NetworkState;
let host: string;
let alice: AccountRef;
let bob: AccountRef;

const connect = async (login: string): Promise<AccountRef> => {
  const { tokens } = await authorize(p, { host, loginHint: login });
  const [id] = await p.identities(tokens, host);
  return { externalId: id!.externalId, username: id!.username, tokens, host, data: id!.data ?? {} };
};
let n = 0;
const say = async (who: AccountRef, text: string, replyTo?: string, options?: Record<string, unknown>) =>
  (await p.publish(who, { text, media: [], marker: `m-${++n}`, ...(replyTo ? { replyTo } : {}), ...(options ? { options } : {}) })).remoteId;
const isKind = (kind: string, reason?: RegExp, status?: number) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? '')) && (status === undefined || e.details.status === status);

/** Reads pages from `cursor` until the source says nothing more is waiting. */
async function drain(account: AccountRef, cursor: string | null): Promise<{ items: InboxItem[]; cursor: string | null; pages: number }> {
  const items: InboxItem[] = [];
  let page: InboxPage;
  let pages = 0;
  do {
    page = await p.collectInbox!(account, { source: 'notifications', cursor });
    items.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (page.more && pages < 50);
  return { items, cursor, pages };
}

before(async () => {
  h = await harness();
  s = h.sim.state('mastodon');
  host = new URL(h.sim.url).host;
  p = createMastodon({ http: h.http, settings: { baseUrls: { instance: 'http://{host}/mastodon' } } });
  alice = await connect('alice');
  bob = await connect('bob');
});
after(() => h.stop());

test('the source is declared with reply, like, unlike and delete (of its own), and the scopes asked for include read:notifications and write:favourites', () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['notifications']);
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own');
  assert.ok(alice.tokens.scope?.includes('read:notifications'), String(alice.tokens.scope));
  assert.ok(alice.tokens.scope?.includes('write:favourites'), String(alice.tokens.scope));
});

test('like and unlike a mention (a favourite: doing it twice changes nothing), read back as the account sees it', async () => {
  const mention = await say(bob, '@alice like this?');
  const req = { remoteId: mention, rootRemoteId: mention, marker: 'allin-action-1' };
  assert.deepEqual(await p.messageState!(alice, req), { deleted: false, likedByMe: false });
  await p.like!(alice, req);
  await p.like!(alice, req);
  assert.deepEqual(await p.messageState!(alice, req), { deleted: false, likedByMe: true });
  assert.deepEqual(await p.messageState!(bob, req), { deleted: false, likedByMe: false }, 'per account');
  await p.unlike!(alice, req);
  await p.unlike!(alice, req);
  assert.deepEqual(await p.messageState!(alice, req), { deleted: false, likedByMe: false });
});

test('delete the account\'s own status: gone, read back as deleted; deleting it again counts as deleted', async () => {
  const mention = await say(bob, '@alice hello');
  const answer = await say(alice, '@bob hi!', mention);
  const req = { remoteId: answer, rootRemoteId: mention, marker: 'allin-action-2' };
  await p.delete!(alice, req);
  assert.deepEqual(await p.messageState!(alice, req), { deleted: true });
  await p.delete!(alice, req);
  assert.equal(s.posts.some((x) => x.id === answer), false);
  assert.equal(s.posts.some((x) => x.id === mention), true);
});

test('like with a token granted before AllIN asked for write:favourites: refused for good with "reconnect to allow likes"; a favourite that hangs is an unknown outcome, settled by the state', async () => {
  const mention = await say(bob, '@alice old token?');
  const granted = s.issueToken(alice.externalId, ['profile', 'read:statuses', 'read:notifications', 'write:statuses', 'write:media']);
  const req = { remoteId: mention, rootRemoteId: mention, marker: 'allin-action-4' };
  await assert.rejects(p.like!({ ...alice, tokens: { accessToken: granted.accessToken } }, req), isKind('permanent', /missing_scope/, 403));
  assert.deepEqual(await p.messageState!(alice, req), { deleted: false, likedByMe: false }, 'nothing done');
  s.knobs.acceptThenHangNext = 1;
  try {
    await assert.rejects(p.like!(alice, req), isKind('unknown_outcome'));
  } finally {
    s.knobs.acceptThenHangNext = 0;
  }
  assert.deepEqual(await p.messageState!(alice, req), { deleted: false, likedByMe: true });
});

test('pagination: every mention once, in order, with its thread, as plain text; then nothing new until someone speaks', async () => {
  const start = await drain(alice, null);
  const post = await say(alice, 'Spring sale starts today');
  const replies: string[] = [];
  for (let i = 0; i < 5; i++) replies.push(await say(bob, `@alice question ${i} <b>&</b> more`, post));
  const mention = await say(bob, 'Have you seen @alice today?');
  const deeper = await say(bob, '@alice and one more thing', replies[0]);
  await say(bob, 'not about alice at all');
  s.knobs.inboxPageSize = 2;
  try {
    const got = await drain(alice, start.cursor);
    assert.ok(got.pages >= 4, `read in pages of 2 (${got.pages})`);
    assert.deepEqual(got.items.map((i) => i.remoteId), [...replies, mention, deeper], 'each once, oldest first');
    const first = got.items[0]!;
    assert.equal(first.kind, 'comment');
    assert.equal(first.rootRemoteId, post);
    assert.equal(first.parentRemoteId, post);
    assert.equal(first.text, '@alice question 0 <b>&</b> more', 'the HTML content as the text that was written');
    assert.equal(first.author.handle, 'bob');
    assert.equal(first.root?.remoteId, post);
    assert.equal(first.root?.text, 'Spring sale starts today');
    assert.equal(first.root?.authorRemoteId, alice.externalId);
    assert.ok(first.url);
    const m = got.items.find((i) => i.remoteId === mention)!;
    assert.equal(m.kind, 'mention');
    assert.equal(m.rootRemoteId, mention);
    assert.equal(m.parentRemoteId, undefined);
    const d = got.items.find((i) => i.remoteId === deeper)!;
    assert.equal(d.kind, 'comment', 'under the account\'s status, though it answers someone else');
    assert.equal(d.rootRemoteId, post, 'the thread\'s root, from the context');
    assert.equal(d.parentRemoteId, replies[0]);

    const again = await p.collectInbox!(alice, { source: 'notifications', cursor: got.cursor });
    assert.deepEqual(again.items, []);
    assert.equal(again.cursor, got.cursor, 'the cursor stays');
    assert.equal(again.more, false);
    const late = await say(bob, '@alice late', post);
    assert.deepEqual((await drain(alice, got.cursor)).items.map((i) => i.remoteId), [late]);
  } finally {
    s.knobs.inboxPageSize = 50;
  }
});

test('a 429 in the middle of a page: rate_limited with the wait of X-RateLimit-Reset, and the same page read again afterwards', async () => {
  const { cursor } = await drain(alice, null);
  const post = await say(alice, 'Another post');
  const r = await say(bob, '@alice is this in stock?', post);
  s.knobs.inboxRateLimitAfter = 1; // the notifications answer, the thread look-up is refused
  s.knobs.retryAfterSeconds = 9;
  const limited = await p.collectInbox!(alice, { source: 'notifications', cursor }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited', undefined, 429)(limited), String(limited));
  const wait = (limited as ProviderError).details.retryAfterMs!;
  assert.ok(wait > 6000 && wait <= 9000, `wait ${wait}`);
  const page = await p.collectInbox!(alice, { source: 'notifications', cursor });
  assert.deepEqual(page.items.map((i) => i.remoteId), [r]);
  assert.equal(page.items[0]!.rootRemoteId, post);
});

test('a deleted status: its mention is gone before collection; a reply under a deleted status keeps the gone one as its thread', async () => {
  const { cursor } = await drain(alice, null);
  const gone = await say(bob, '@alice oops, wrong account');
  await p.deletePost(bob, gone);
  const parent = await say(bob, 'a thread of bob');
  const child = await say(bob, '@alice what do you think?', parent);
  await p.deletePost(bob, parent);
  const got = await drain(alice, cursor);
  assert.deepEqual(got.items.map((i) => i.remoteId), [child]);
  assert.equal(got.items[0]!.parentRemoteId, parent);
  assert.equal(got.items[0]!.rootRemoteId, parent);
  assert.equal(got.items[0]!.kind, 'mention');
});

test('an edited status comes with its new text and edited_at', async () => {
  const { cursor } = await drain(alice, null);
  const id = await say(bob, '@alice the price is 10');
  mastodonEditStatus(s, id, '@alice the price is 12');
  const [item] = (await drain(alice, cursor)).items;
  assert.equal(item!.text, '@alice the price is 12');
  assert.ok(item!.editedAt instanceof Date);
  assert.ok(item!.editedAt.getTime() >= item!.createdAt.getTime());
});

test('a token revoked between pages: the next page is auth_expired, the first page\'s cursor still good after reconnecting', async () => {
  const carol = await connect('carol');
  const { cursor } = await drain(carol, null);
  const a = await say(bob, '@carol one');
  await say(bob, '@carol two');
  s.knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(carol, { source: 'notifications', cursor });
    assert.deepEqual(first.items.map((i) => i.remoteId), [a]);
    assert.equal(first.more, true);
    s.tokens.get(carol.tokens.accessToken)!.revoked = true;
    await assert.rejects(p.collectInbox!(carol, { source: 'notifications', cursor: first.cursor }), isKind('auth_expired', undefined, 401));
    const again = await connect('carol');
    const rest = await drain(again, first.cursor);
    assert.equal(rest.items.length, 1, 'carries on after the first page');
    assert.notEqual(rest.items[0]!.remoteId, a);
  } finally {
    s.knobs.inboxPageSize = 50;
  }
});

test('a token granted before AllIN asked for read:notifications: told to reconnect, refused for good, the account not marked', async () => {
  const old = s.issueToken(alice.externalId, ['profile', 'read:statuses', 'write:statuses', 'write:media']);
  const err = await p.collectInbox!({ ...alice, tokens: { accessToken: old.accessToken } }, { source: 'notifications', cursor: null }).catch((e: unknown) => e);
  assert.ok(isKind('permanent', /missing_scope/, 403)(err), String(err));
  assert.match((err as Error).message, /reconnect the account to allow reading notifications/);
});

test('direct messages are left out (a reply would go with the account\'s default visibility)', async () => {
  const { cursor } = await drain(alice, null);
  await say(bob, '@alice my address is …', undefined, { visibility: 'direct' });
  const open = await say(bob, '@alice public question');
  assert.deepEqual((await drain(alice, cursor)).items.map((i) => i.remoteId), [open]);
});
