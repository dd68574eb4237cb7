// Meta webhooks end to end, with a Facebook Page and an Instagram account connected through the real OAuth
// round trip against the simulator: the verify-token handshake, a comment pushed with a valid
// X-Hub-Signature-256 and the same comment polled (one message), pushes refused without a valid signature
// (nothing stored), and later changes (hidden, removed) pushed onto the stored message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors, inboxMessages } from '../src/modules/inbox/schema.ts';
import { signatureOf } from '../src/providers/meta-graph.ts';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { facebookCommentNotification } from '../tools/provider-sim/networks/facebook.ts';
import { instagramCommentNotification, instagramMentionNotification } from '../tools/provider-sim/networks/instagram.ts';
import { threadsNotification } from '../tools/provider-sim/networks/threads.ts';

const SECRET = 'fb-secret';
const VERIFY = 'verify-me-3f9a';
const IG_SECRET = 'ig-secret';
const TH_SECRET = 'th-secret';
let thAccountId: string;
let thId: string;
let igAccountId: string;
let igId: string;
let sim: Simulator;
let t: TestApp;
let owner: Person;
let ws: string;
let accountId: string;
let pageId: string;
const db = () => t.running.services.db;
const fb = () => sim.state('facebook');

/** Posts a notification as Meta would: the JSON bytes, signed with `secret` (none: no signature header). */
const push = (body: unknown, secret: string | null = SECRET, tamper?: (raw: string) => string, network = 'facebook') => {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(secret ? { 'x-hub-signature-256': signatureOf(raw, secret) } : {}) };
  return fetch(`${t.url}/api/hooks/meta/${network}`, { method: 'POST', headers, body: tamper ? tamper(raw) : raw });
};
const stored = async (remoteId: string, account = accountId) => db().select().from(inboxMessages).where(and(eq(inboxMessages.accountId, account), eq(inboxMessages.remoteId, remoteId)));
/** Connects the network's user `login` to the workspace through the API, as a browser would; the first account it gives. */
async function connect(provider: string, login: string): Promise<string> {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl as string}&login_hint=${login}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  const done = new URL(res.headers.get('location')!);
  assert.equal(done.searchParams.get('connected'), provider, done.toString());
  return done.searchParams.get('accounts')!.split(',')[0]!;
}
/** A post of the Page on the simulated network, and someone's comment under it. */
const postAndComment = (text: string) => {
  const postId = `${pageId}_${fb().nextId()}`;
  fb().posts.push({ id: postId, userId: pageId, text: 'Our new menu', media: [], createdAt: new Date().toISOString(), raw: {} });
  return { postId, commentId: fb().inbox.add({ userId: pageId, kind: 'comment', postId, text, author: { id: 'fan-ada', name: 'Ada Lovelace', username: 'ada' } }).id };
};
const poll = async () => {
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await t.running.services.inbox.collector.run(accountId, 'comments')) === 'collected', 10_000, 'a collection run');
};

before(async () => {
  sim = await startSimulator();
  fb().knobs.inboxRatePerMinute = 0;
  sim.state('instagram').knobs.inboxRatePerMinute = 0;
  sim.state('threads').knobs.inboxRatePerMinute = 0;
  const base = sim.base('facebook');
  const igBase = sim.base('instagram');
  t = await startTestApp({
    ALLOW_PRIVATE_HOSTS: 'true', FACEBOOK_APP_ID: 'fb-app', FACEBOOK_APP_SECRET: SECRET, FACEBOOK_WEBHOOK_VERIFY_TOKEN: VERIFY,
    FACEBOOK_GRAPH_URL: base, FACEBOOK_AUTH_URL: base, FACEBOOK_RUPLOAD_URL: base,
    INSTAGRAM_APP_ID: 'ig-app', INSTAGRAM_APP_SECRET: IG_SECRET, INSTAGRAM_WEBHOOK_VERIFY_TOKEN: VERIFY,
    INSTAGRAM_AUTH_URL: igBase, INSTAGRAM_API_URL: igBase, INSTAGRAM_GRAPH_URL: igBase,
    THREADS_APP_ID: 'th-app', THREADS_APP_SECRET: TH_SECRET, THREADS_WEBHOOK_VERIFY_TOKEN: VERIFY, THREADS_AUTH_URL: sim.base('threads'), THREADS_GRAPH_URL: sim.base('threads'),
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000',
  }, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Bakery');
  accountId = await connect('facebook', 'bakery');
  igAccountId = await connect('instagram', 'bakery_ig');
  thAccountId = await connect('threads', 'bakery_th');
  const accounts = await ok(t, 'GET', `/api/workspaces/${ws}/accounts`, owner.token);
  pageId = accounts.accounts.find((a: { id: string }) => a.id === accountId).externalId;
  igId = accounts.accounts.find((a: { id: string }) => a.id === igAccountId).externalId;
  thId = accounts.accounts.find((a: { id: string }) => a.id === thAccountId).externalId;
  await t.running.services.inbox.scheduler.ensureCursors();
});
after(async () => {
  await t.stop();
  await sim.stop();
});

test('the verify-token handshake: the challenge echoed for the configured token; a wrong token, a wrong mode or a network without webhooks refused', async () => {
  const hand = (q: Record<string, string>, network = 'facebook') => fetch(`${t.url}/api/hooks/meta/${network}?${new URLSearchParams(q)}`);
  const good = await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1158201444' });
  assert.equal(good.status, 200);
  assert.equal(await good.text(), '1158201444');
  const wrong = await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1158201444' });
  assert.equal(wrong.status, 403);
  const body = await wrong.json() as { code: string };
  assert.equal(body.code, 'BAD_VERIFY_TOKEN');
  assert.equal(JSON.stringify(body).includes('1158201444'), false, 'no challenge echoed');
  assert.equal((await hand({ 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1' })).status, 403);
  assert.equal((await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1' }, 'x')).status, 404, 'no webhooks for it');
  assert.equal(await (await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '78' }, 'threads')).text(), '78');
  assert.equal(await (await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '77' }, 'instagram')).text(), '77');
  assert.equal((await hand({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY })).status, 400, 'no challenge');
});

test('push and poll delivering the same comment give one message; pushing it again changes nothing', async () => {
  const { commentId } = postAndComment('do you deliver on Sundays?');
  const r = await push(facebookCommentNotification(fb(), commentId));
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { accounts: 1, created: 1 });
  const [pushed] = await stored(commentId);
  assert.equal(pushed!.text, 'do you deliver on Sundays?');
  assert.equal(pushed!.direction, 'inbound');

  await poll();
  const both = await stored(commentId);
  assert.equal(both.length, 1, 'one message');
  assert.equal(both[0]!.id, pushed!.id);
  assert.deepEqual(await (await push(facebookCommentNotification(fb(), commentId))).json(), { accounts: 1, created: 0 });
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${pushed!.conversationId}`, owner.token);
  assert.equal(view.messages.filter((m: { remoteId: string }) => m.remoteId === commentId).length, 1);
});

test('a comment polled first, then pushed: still one message', async () => {
  const { commentId } = postAndComment('polled before pushed');
  await poll();
  assert.equal((await stored(commentId)).length, 1);
  assert.deepEqual(await (await push(facebookCommentNotification(fb(), commentId))).json(), { accounts: 1, created: 0 });
  assert.equal((await stored(commentId)).length, 1);
});

test('a forged, a missing or a stale signature is refused and nothing is stored', async () => {
  const { commentId } = postAndComment('buy cheap followers');
  const body = facebookCommentNotification(fb(), commentId);
  const forged = await push(body, 'not-the-app-secret');
  assert.equal(forged.status, 403);
  assert.equal((await forged.json() as { code: string }).code, 'BAD_SIGNATURE');
  assert.equal((await push(body, null)).status, 403, 'no signature');
  // Signed, then changed on the way: the signature is of other bytes.
  assert.equal((await push(body, SECRET, (raw) => raw.replace('buy cheap followers', 'an innocent question'))).status, 403);
  const malformed = await fetch(`${t.url}/api/hooks/meta/facebook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=zz' }, body: JSON.stringify(body) });
  assert.equal(malformed.status, 403);
  assert.deepEqual(await stored(commentId), []);
});

test('pushed changes reach the stored message: hidden, then removed', async () => {
  const { commentId } = postAndComment('rude words');
  await push(facebookCommentNotification(fb(), commentId));
  fb().inbox.change(commentId, { hidden: true });
  assert.equal((await push(facebookCommentNotification(fb(), commentId, 'hide'))).status, 200);
  assert.equal((await stored(commentId))[0]!.hidden, true);
  assert.equal((await push(facebookCommentNotification(fb(), commentId, 'remove'))).status, 200);
  const [gone] = await stored(commentId);
  assert.equal(gone!.deleted, true);
  assert.equal(gone!.text, '');
});

test('Instagram: a comment pushed (signed with the Instagram app\'s secret) and polled is one message; the Facebook secret does not sign for Instagram', async () => {
  const ig = sim.state('instagram');
  const mediaId = ig.nextId();
  ig.posts.push({ id: mediaId, userId: igId, text: 'New cakes', media: [], createdAt: new Date().toISOString(), raw: {} });
  const commentId = ig.inbox.add({ userId: igId, kind: 'comment', postId: mediaId, text: 'gluten free?', author: { id: '1784', name: 'Ada', username: 'ada.l' } }).id;
  const body = instagramCommentNotification(ig, commentId);
  assert.equal((await push(body, SECRET, undefined, 'instagram')).status, 403, 'another app\'s secret');
  assert.deepEqual(await stored(commentId, igAccountId), []);
  const r = await push(body, IG_SECRET, undefined, 'instagram');
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { accounts: 1, created: 1 });
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, igAccountId));
  await eventually(async () => (await t.running.services.inbox.collector.run(igAccountId, 'comments')) === 'collected', 10_000, 'an Instagram collection run');
  const both = await stored(commentId, igAccountId);
  assert.equal(both.length, 1, 'one message');
  assert.equal(both[0]!.text, 'gluten free?');
});

test('Instagram: a mention pushed by id is read in a job and stored once as a mention; the poll of tagged media brings the same medium, still one message', async () => {
  const ig = sim.state('instagram');
  const media = ig.inbox.add({ userId: igId, kind: 'mention', text: 'brunch at @bakery_ig', author: { id: '1791', name: 'Grace', username: 'grace.h' } }).id;
  const comment = ig.inbox.add({ userId: igId, kind: 'mention', postId: media, text: '@bakery_ig open on Monday?', author: { id: '1792', name: 'Linus', username: 'linus_t' } }).id;
  for (const id of [media, comment]) {
    const r = await push(instagramMentionNotification(ig, id), IG_SECRET, undefined, 'instagram');
    assert.deepEqual(await r.json(), { accounts: 1, created: 0 }, 'read after the answer, in a job');
  }
  await eventually(async () => (await stored(comment, igAccountId)).length === 1 && (await stored(media, igAccountId)).length === 1, 20_000, 'the pushed mentions read and stored');
  const [m] = await stored(comment, igAccountId);
  assert.equal(m!.text, '@bakery_ig open on Monday?');
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${m!.conversationId}`, owner.token);
  assert.equal(view.kind, 'mention');
  assert.deepEqual(view.messages.map((x: { remoteId: string }) => x.remoteId).sort(), [media, comment].sort(), 'the caption and the comment, one conversation');
  await t.running.services.inbox.scheduler.ensureCursors();
  const due = and(eq(inboxCollectionCursors.accountId, igAccountId), eq(inboxCollectionCursors.source, 'mentions'));
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(due);
  await eventually(async () => (await t.running.services.inbox.collector.run(igAccountId, 'mentions')) === 'collected', 10_000, 'a mentions collection run');
  assert.equal((await stored(media, igAccountId)).length, 1, 'polled and pushed: one message');
});

test('Threads: a reply pushed (signed with the Threads app\'s secret) and polled is one message; a mention pushed and polled is one mention; another app\'s signature stores nothing', async () => {
  const th = sim.state('threads');
  const postId = th.nextId();
  th.posts.push({ id: postId, userId: thId, text: 'Fresh bread at 7', media: [], createdAt: new Date().toISOString(), raw: {} });
  const reply = th.inbox.add({ userId: thId, kind: 'comment', postId, text: 'rye today?', author: { id: 'id-ada', name: 'Ada', username: 'ada' } }).id;
  const body = threadsNotification(th, reply, sim.base('threads'));
  assert.equal((await push(body, IG_SECRET, undefined, 'threads')).status, 403, 'another app\'s secret');
  assert.deepEqual(await stored(reply, thAccountId), []);
  const r = await push(body, TH_SECRET, undefined, 'threads');
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { accounts: 1, created: 1 });
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, thAccountId));
  await eventually(async () => (await t.running.services.inbox.collector.run(thAccountId, 'replies')) === 'collected', 10_000, 'a Threads collection run');
  assert.equal((await stored(reply, thAccountId)).length, 1, 'one message');

  const m = th.inbox.add({ userId: thId, kind: 'mention', text: '@bakery_th best croissants', author: { id: 'id-grace', name: 'Grace', username: 'grace' } }).id;
  assert.deepEqual(await (await push(threadsNotification(th, m, sim.base('threads')), TH_SECRET, undefined, 'threads')).json(), { accounts: 1, created: 1 });
  const due = and(eq(inboxCollectionCursors.accountId, thAccountId), eq(inboxCollectionCursors.source, 'mentions'));
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(due);
  await eventually(async () => (await t.running.services.inbox.collector.run(thAccountId, 'mentions')) === 'collected', 10_000, 'a Threads mentions run');
  const both = await stored(m, thAccountId);
  assert.equal(both.length, 1, 'pushed and polled: one message');
  const mm = both[0];
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${mm!.conversationId}`, owner.token);
  assert.equal(view.kind, 'mention');
  assert.deepEqual(view.messages.map((x: { remoteId: string }) => x.remoteId), [m]);
});
