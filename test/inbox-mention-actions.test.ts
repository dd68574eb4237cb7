// Answering and acting on mentions (someone else's thread) on the Meta networks, through the API against the
// simulator, with each network's refusals: Instagram answers a caption or comment @mention with POST
// /{ig-user-id}/mentions and refuses a medium it is only tagged in; Threads answers a mention with reply_to_id and
// hides nothing there; a Facebook Page comments on another Page's post that tags it (and deletes that comment
// again), not on a person's post, and likes no mention. Each message's `can` says what the API accepts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { QUICK_SENDING, settledReply } from './support/inbox.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors, inboxMessages } from '../src/modules/inbox/schema.ts';
import { signatureOf } from '../src/providers/meta-graph.ts';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { instagramMentionNotification } from '../tools/provider-sim/networks/instagram.ts';
import { facebookMentionNotification } from '../tools/provider-sim/networks/facebook.ts';

const IG_SECRET = 'ig-secret';
const FB_SECRET = 'fb-secret';
const VERIFY = 'verify-me-3f9a';
let sim: Simulator;
let t: TestApp;
let owner: Person;
let other: Person;
let ws: string;
const ids: Record<'facebook' | 'instagram' | 'threads', { account: string; external: string }> = {} as never;
const db = () => t.running.services.db;
const base = () => `/api/workspaces/${ws}/inbox`;

async function connect(provider: string, login: string): Promise<string> {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl as string}&login_hint=${login}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  return new URL(res.headers.get('location')!).searchParams.get('accounts')!.split(',')[0]!;
}
/** Polls the account's mentions source now. */
async function pollMentions(accountId: string) {
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` })
    .where(and(eq(inboxCollectionCursors.accountId, accountId), eq(inboxCollectionCursors.source, 'mentions')));
  await eventually(async () => (await t.running.services.inbox.collector.run(accountId, 'mentions')) === 'collected', 10_000, 'a mentions run');
}
interface Msg { id: string; remoteId: string; direction: string; can: Record<string, boolean> }
/** The stored message of `remoteId` with its conversation, as the API shows them. */
async function view(accountId: string, remoteId: string): Promise<{ conversation: { id: string; kind: string; messages: Msg[] }; message: Msg }> {
  const [m] = await eventually(async () => {
    const rows = await db().select().from(inboxMessages).where(and(eq(inboxMessages.accountId, accountId), eq(inboxMessages.remoteId, remoteId)));
    return rows.length ? rows : undefined;
  }, 20_000, `message ${remoteId} stored`);
  const conversation = await ok(t, 'GET', `${base()}/conversations/${m!.conversationId}`, owner.token);
  return { conversation, message: conversation.messages.find((x: Msg) => x.remoteId === remoteId) };
}
/** Posts a notification to the network's Meta callback, signed with its app secret, as Meta would. */
async function push(network: 'facebook' | 'instagram', body: unknown) {
  const raw = JSON.stringify(body);
  const r = await fetch(`${t.url}/api/hooks/meta/${network}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureOf(raw, network === 'facebook' ? FB_SECRET : IG_SECRET) }, body: raw,
  });
  assert.equal(r.status, 200, await r.text());
}
const answer = (conversationId: string, messageId: string, text: string, token = owner.token) =>
  t.call('POST', `${base()}/conversations/${conversationId}/replies`, { token, body: { messageId, text } });
const act = (messageId: string, action: string, token = owner.token) => t.call('POST', `${base()}/messages/${messageId}/${action}`, { token });
const only = (can: Record<string, boolean>) => Object.entries(can).filter(([, v]) => v).map(([k]) => k).sort();

before(async () => {
  sim = await startSimulator();
  for (const n of ['facebook', 'instagram', 'threads']) sim.state(n).knobs.inboxRatePerMinute = 0;
  t = await startTestApp({
    ...QUICK_SENDING, ALLOW_PRIVATE_HOSTS: 'true',
    FACEBOOK_APP_ID: 'fb-app', FACEBOOK_APP_SECRET: FB_SECRET, FACEBOOK_WEBHOOK_VERIFY_TOKEN: VERIFY, FACEBOOK_GRAPH_URL: sim.base('facebook'), FACEBOOK_AUTH_URL: sim.base('facebook'), FACEBOOK_RUPLOAD_URL: sim.base('facebook'),
    INSTAGRAM_APP_ID: 'ig-app', INSTAGRAM_APP_SECRET: IG_SECRET, INSTAGRAM_WEBHOOK_VERIFY_TOKEN: VERIFY,
    INSTAGRAM_AUTH_URL: sim.base('instagram'), INSTAGRAM_API_URL: sim.base('instagram'), INSTAGRAM_GRAPH_URL: sim.base('instagram'),
    THREADS_APP_ID: 'th-app', THREADS_APP_SECRET: 'th-secret', THREADS_AUTH_URL: sim.base('threads'), THREADS_GRAPH_URL: sim.base('threads'),
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000',
  }, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  other = await person(t, { name: 'Mallory' });
  await newWorkspace(t, other, 'Elsewhere');
  ws = await newWorkspace(t, owner, 'Bakery');
  const accounts = { facebook: await connect('facebook', 'bakery'), instagram: await connect('instagram', 'bakery_ig'), threads: await connect('threads', 'bakery_th') };
  const listed = (await ok(t, 'GET', `/api/workspaces/${ws}/accounts`, owner.token)).accounts as { id: string; externalId: string }[];
  for (const [n, id] of Object.entries(accounts)) ids[n as keyof typeof ids] = { account: id, external: listed.find((a) => a.id === id)!.externalId };
  await t.running.services.inbox.scheduler.ensureCursors();
});
after(async () => {
  await t.stop();
  await sim.stop();
});

test('Instagram: a tagged medium cannot be answered (409, can.reply false); a caption and a comment @mention are answered with POST /{ig-user-id}/mentions', async () => {
  const ig = sim.state('instagram');
  const { account, external } = ids.instagram;
  const tagged = ig.inbox.add({ userId: external, kind: 'mention', text: 'our picnic (photo tag only)', author: { id: '1790', name: 'Grace', username: 'grace.h' } }).id;
  await pollMentions(account);
  const t1 = await view(account, tagged);
  assert.equal(t1.conversation.kind, 'mention');
  assert.deepEqual(only(t1.message.can), [], 'a tagged medium: nothing offered');
  const refused = await answer(t1.conversation.id, t1.message.id, 'Thanks!');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'CANNOT_REPLY');
  assert.match(refused.body.message, /only tagged in/);
  assert.equal((await act(t1.message.id, 'hide')).body.code, 'CANNOT_HIDE');
  assert.equal((await act(t1.message.id, 'delete')).body.code, 'ACTION_NOT_SUPPORTED');

  const handle = `@${ig.user(external).username}`;
  const media = ig.inbox.add({ userId: external, kind: 'mention', text: `brunch at ${handle}`, author: { id: '1791', name: 'Ada', username: 'ada' } }).id;
  const comment = ig.inbox.add({ userId: external, kind: 'mention', postId: media, text: `${handle} open on Monday?`, author: { id: '1792', name: 'Linus', username: 'linus_t' } }).id;
  for (const id of [media, comment]) {
    const raw = JSON.stringify(instagramMentionNotification(ig, id));
    const r = await fetch(`${t.url}/api/hooks/meta/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureOf(raw, IG_SECRET) }, body: raw });
    assert.equal(r.status, 200);
  }
  const c = await view(account, comment);
  const onMedia = c.conversation.messages.find((x) => x.remoteId === media)!;
  assert.deepEqual(only(onMedia.can), ['reply']);
  assert.deepEqual(only(c.message.can), ['reply'], 'answer only: the medium is someone else\'s');
  for (const [m, text] of [[onMedia, 'See you there!'], [c.message, 'Yes, from 8.']] as const) {
    const r = await answer(c.conversation.id, m.id, text);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await settledReply(t, `${base()}/conversations/${c.conversation.id}/replies/${r.body.id}`, owner.token);
    assert.equal(done.state, 'published', JSON.stringify(done.error));
  }
  const sent = ig.posts.filter((p) => (p.raw as { mention?: string }).mention === 'true');
  assert.deepEqual(sent.map((p) => [p.replyTo, p.text]), [[media, 'See you there!'], [comment, 'Yes, from 8.']], 'a comment on the medium, a reply under the comment');
  const after = await view(account, comment);
  const ours = after.conversation.messages.filter((x) => x.direction === 'outbound');
  assert.equal(ours.length, 2, 'the answers are in the conversation');
  assert.deepEqual(only(ours[0]!.can), [], 'the account\'s own answers on someone else\'s medium: nothing offered');
  assert.equal((await answer(c.conversation.id, ours[0]!.id, 'again')).body.code, 'CANNOT_REPLY');

  // The tagged medium @mentioned in its caption later (pushed): answerable from then on.
  ig.inbox.change(tagged, { text: `our picnic with ${handle}` });
  const raw = JSON.stringify(instagramMentionNotification(ig, tagged));
  await fetch(`${t.url}/api/hooks/meta/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureOf(raw, IG_SECRET) }, body: raw });
  await eventually(async () => (await view(account, tagged)).message.can.reply || undefined, 20_000, 'the medium answerable once its caption mention is pushed');
  await pollMentions(account);
  assert.equal((await view(account, tagged)).message.can.reply, true, 'the tags poll does not take it back');
});

test('Threads: a mention is answered with reply_to_id; hiding it is refused (409 CANNOT_HIDE) and not offered', async () => {
  const th = sim.state('threads');
  const { account, external } = ids.threads;
  const m = th.inbox.add({ userId: external, kind: 'mention', text: '@bakery_th best croissants', author: { id: 'id-grace', name: 'Grace', username: 'grace' } }).id;
  await pollMentions(account);
  const v = await view(account, m);
  assert.deepEqual(only(v.message.can), ['reply']);
  assert.equal((await act(v.message.id, 'hide')).body.code, 'CANNOT_HIDE');
  const r = await answer(v.conversation.id, v.message.id, 'Thank you!');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await settledReply(t, `${base()}/conversations/${v.conversation.id}/replies/${r.body.id}`, owner.token);
  assert.equal(done.state, 'published', JSON.stringify(done.error));
  assert.ok(th.posts.some((p) => p.replyTo === m && p.text === 'Thank you!'), 'the reply is on the network under the mention');
});

test('Facebook: another Page\'s post that tags the Page is commented on and the comment deleted again; a person\'s post is not answerable; no like of a mention; another workspace gets 404', async () => {
  const fb = sim.state('facebook');
  const { account, external } = ids.facebook;
  const byPage = fb.inbox.add({ userId: external, kind: 'mention', text: 'Coffee with our friends at the bakery', author: { id: 'page-cafe', name: 'Cafe Nord', username: 'cafenord' } }).id;
  const byPerson = fb.inbox.add({ userId: external, kind: 'mention', text: 'Best bread in town', author: { id: 'fan-ada', name: 'Ada', username: 'ada' } }).id;
  await pollMentions(account);
  const p = await view(account, byPerson);
  assert.deepEqual(only(p.message.can), []);
  const refused = await answer(p.conversation.id, p.message.id, 'Thanks!');
  assert.equal(refused.body.code, 'CANNOT_REPLY');
  assert.match(refused.body.message, /person's post/);

  const v = await view(account, byPage);
  assert.deepEqual(only(v.message.can), ['reply'], 'no like, hide or delete of another Page\'s post');
  assert.equal((await act(v.message.id, 'like')).body.code, 'ACTION_NOT_SUPPORTED');
  const attack = await t.call('POST', `/api/workspaces/${ws}/inbox/conversations/${v.conversation.id}/replies`, { token: other.token, body: { messageId: v.message.id, text: 'x' } });
  assert.equal(attack.status, 404, 'another workspace\'s member');
  const r = await answer(v.conversation.id, v.message.id, 'Thanks, neighbours!');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await settledReply(t, `${base()}/conversations/${v.conversation.id}/replies/${r.body.id}`, owner.token);
  assert.equal(done.state, 'published', JSON.stringify(done.error));
  assert.ok(fb.posts.some((x) => x.id === done.remoteId && x.replyTo === byPage));
  const mine = (await view(account, done.remoteId)).message;
  assert.deepEqual(only(mine.can), ['delete'], 'the Page\'s own comment: delete only');
  const del = await act(mine.id, 'delete');
  assert.equal(del.status, 202, JSON.stringify(del.body));
  const gone = await settledReply(t, `${base()}/actions/${del.body.id}`, owner.token, ['done', 'failed', 'unknown']);
  assert.equal(gone.state, 'done', JSON.stringify(gone.error));
  assert.equal(fb.posts.some((x) => x.id === done.remoteId), false, 'deleted on the network');
});

test('Facebook: the Page @mentioned in a comment (the `mention` webhook field) is a mention whose conversation is the post; under the Page\'s own post, a comment there; a pushed post mention joins the polled one', async () => {
  const fb = sim.state('facebook');
  const { account, external } = ids.facebook;
  const otherPost = `page-cafe_${fb.nextId()}`;
  const inComment = fb.inbox.add({ userId: external, kind: 'mention', postId: otherPost, text: 'ask Bakery about rye', author: { id: 'fan-linus', name: 'Linus', username: 'linus' } }).id;
  await push('facebook', facebookMentionNotification(fb, inComment));
  const v = await view(account, inComment);
  assert.equal(v.conversation.kind, 'mention');
  assert.equal((v.conversation as unknown as { root: { remoteId: string } }).root.remoteId, otherPost, 'the post the comment is under');
  assert.deepEqual(only(v.message.can), [], 'not answered from AllIN: whose post it is is not known');

  const own = `${external}_${fb.nextId()}`;
  fb.posts.push({ id: own, userId: external, text: 'New rye', media: [], createdAt: new Date().toISOString(), raw: {} });
  const onOwn = fb.inbox.add({ userId: external, kind: 'mention', postId: own, text: 'tagging Bakery here', author: { id: 'fan-ada', name: 'Ada', username: 'ada' } }).id;
  await push('facebook', facebookMentionNotification(fb, onOwn));
  const o = await view(account, onOwn);
  assert.equal(o.conversation.kind, 'post_thread', 'under the Page\'s own post: a comment there');
  assert.equal(o.message.can.reply, true);

  const post = fb.inbox.add({ userId: external, kind: 'mention', text: 'Brunch with Bakery', author: { id: 'page-deli', name: 'Deli', username: 'deli' } }).id;
  await push('facebook', facebookMentionNotification(fb, post));
  assert.equal((await view(account, post)).message.can.reply, false, 'pushed: whether a Page wrote it is not said');
  await pollMentions(account);
  const polled = await view(account, post);
  assert.equal(polled.message.can.reply, true, 'the poll names a Page as its author: answerable');
  assert.equal((await db().select().from(inboxMessages).where(and(eq(inboxMessages.accountId, account), eq(inboxMessages.remoteId, post)))).length, 1, 'pushed and polled: one message');
});
