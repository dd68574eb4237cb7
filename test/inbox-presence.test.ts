// The inbox's test of two members answering at once: "Two members answering the same comment at once: both replies are kept and attributed, and
// each sees the other's reply before sending (the conversation shows 'someone is replying')." End to end
// against the Sandbox network: presence through PUT …/replying, read in the conversation by the other
// member, replies sent at the same moment both kept, attributed and published once each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';
import { PRESENCE_TTL_MS } from '../src/modules/inbox/presence.ts';

let t: TestApp;
let owner: Person;
let ana: Person;
let ben: Person;
let viewer: Person;
let ws: string;
let account: { id: string; simUser: string };
let postRemoteId = '';
const sim = () => t.running.simulatorUrl!;
const inbox = () => t.running.services.inbox;
const db = () => t.running.services.db;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

interface SimItem { id: string; parentId: string | null; text: string; author: { id: string } }
const answersUnder = async (parentId: string) => ((await (await fetch(`${sim()}/_sim/sandbox/inbox`)).json()) as { items: SimItem[] }).items
  .filter((i) => i.parentId === parentId && i.author.id === account.simUser);
interface View { replying: { userId: string; name: string; messageId: string | null }[]; replies: { id: string; messageId: string; text: string; state: string; author: { id: string } }[] }
const view = (conversationId: string, who: Person): Promise<View> => ok(t, 'GET', `${base()}/conversations/${conversationId}`, who.token);
const replying = async (conversationId: string, who: Person) => (await view(conversationId, who)).replying.map((r) => r.userId);

async function comment(text: string): Promise<{ conversationId: string; messageId: string; remoteId: string }> {
  const said = await simSay(sim(), { user: account.simUser, postId: postRemoteId, text, author: { id: 'fan', username: 'fan', name: 'A Fan' } });
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, account.id));
  await eventually(async () => (await inbox().collector.run(account.id, 'inbox')) === 'collected', 10_000, 'a collection run');
  const list = await ok(t, 'GET', `${base()}/conversations?limit=100`, owner.token);
  for (const c of list.conversations) {
    const v = await ok(t, 'GET', `${base()}/conversations/${c.id}`, owner.token);
    const m = v.messages.find((x: { remoteId: string }) => x.remoteId === said.id);
    if (m) return { conversationId: c.id, messageId: m.id, remoteId: said.id };
  }
  throw new Error(`comment ${said.id} was not collected`);
}

const published = (conversationId: string, replyId: string) => eventually(async () => {
  const r = await ok(t, 'GET', `${base()}/conversations/${conversationId}/replies/${replyId}`, viewer.token);
  return ['published', 'failed', 'unknown'].includes(r.state) ? r : undefined;
}, 30_000, 'the reply to be sent');

before(async () => {
  t = await startTestApp({ INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000' }, 'start');
  await simKnobs(sim(), 'sandbox', { inboxRatePerMinute: 0 });
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  ana = await member(t, ws, owner, 'editor');
  ben = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  account = { id: await connectSandbox(t, owner.token, ws, 'shop'), simUser: 'shop' };
  await inbox().scheduler.ensureCursors();
  const p = await ok(t, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text: 'Summer hours', targets: [{ accountId: account.id }], schedule: { now: true } }, 201);
  postRemoteId = await eventually(async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/posts/${p.id}`, { token: owner.token });
    return r.body.targets?.[0]?.state === 'published' ? r.body.targets[0].remoteId as string : undefined;
  }, 30_000, 'the post to be published');
});
after(() => t.stop());

test('two members answering the same comment at once: each sees the other replying and the other\'s reply before sending; both replies are kept and attributed', async () => {
  const c = await comment('Are you open on Sunday?');
  // Both open the reply box on the same comment.
  await ok(t, 'PUT', `${base()}/conversations/${c.conversationId}/replying`, ana.token, { messageId: c.messageId }, 204);
  await ok(t, 'PUT', `${base()}/conversations/${c.conversationId}/replying`, ben.token, { messageId: c.messageId }, 204);
  const anaSees = await view(c.conversationId, ana);
  assert.deepEqual(anaSees.replying.map((r) => [r.userId, r.messageId]), [[ben.id, c.messageId]], 'Ana sees Ben replying (not herself)');
  assert.ok(anaSees.replying[0]!.name);
  assert.deepEqual(await replying(c.conversationId, ben), [ana.id], 'Ben sees Ana replying');
  assert.deepEqual((await replying(c.conversationId, viewer)).sort(), [ana.id, ben.id].sort(), 'the team sees both');

  // Ana sends first: her box closes. Before Ben sends, he sees her reply, attributed to her, and her gone from "replying".
  const a = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, ana.token, { messageId: c.messageId, text: 'Yes, 10 to 4.' }, 202);
  const benBefore = await view(c.conversationId, ben);
  assert.deepEqual(benBefore.replies.map((r) => [r.id, r.author.id, r.text]), [[a.id, ana.id, 'Yes, 10 to 4.']]);
  assert.deepEqual(benBefore.replying, [], 'Ana is no longer replying');
  assert.deepEqual(await replying(c.conversationId, ana), [ben.id], 'Ben still is, and Ana sees it');
  // Ben sends all the same (he adds something): both are kept.
  const b = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, ben.token, { messageId: c.messageId, text: 'And 12 to 4 on holidays.' }, 202);
  const anaAfter = await view(c.conversationId, ana);
  assert.deepEqual(anaAfter.replies.map((r) => [r.id, r.author.id]), [[a.id, ana.id], [b.id, ben.id]], 'Ana sees Ben\'s reply, attributed to him');
  assert.deepEqual(anaAfter.replying, []);
  for (const r of [a, b]) assert.equal((await published(c.conversationId, r.id)).state, 'published');
  const answers = await answersUnder(c.remoteId);
  assert.deepEqual(answers.map((x) => x.text).sort(), ['And 12 to 4 on holidays.', 'Yes, 10 to 4.'], 'each published once');
});

test('replies sent at the very same moment: both kept, each attributed to its member, each published once', async () => {
  const c = await comment('Do you deliver?');
  await Promise.all([ana, ben].map((m) => ok(t, 'PUT', `${base()}/conversations/${c.conversationId}/replying`, m.token, { messageId: c.messageId }, 204)));
  assert.deepEqual(await replying(c.conversationId, ana), [ben.id]);
  assert.deepEqual(await replying(c.conversationId, ben), [ana.id]);
  const [a, b] = await Promise.all([
    ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, ana.token, { messageId: c.messageId, text: 'We do!' }, 202),
    ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, ben.token, { messageId: c.messageId, text: 'Yes, within the city.' }, 202),
  ]);
  const v = await view(c.conversationId, viewer);
  // (Comments on one post share its conversation: the answers to this comment.)
  assert.deepEqual(v.replies.filter((r) => r.messageId === c.messageId).map((r) => [r.id, r.author.id]).sort(), [[a.id, ana.id], [b.id, ben.id]].sort());
  assert.deepEqual(v.replying, []);
  for (const r of [a, b]) assert.equal((await published(c.conversationId, r.id)).state, 'published');
  assert.equal((await answersUnder(c.remoteId)).length, 2);
});

test('presence is short-lived and closes: a signal expires by itself, DELETE ends it, viewers cannot signal (403), another workspace gets 404', async () => {
  const c = await comment('Anyone there?');
  await ok(t, 'PUT', `${base()}/conversations/${c.conversationId}/replying`, ana.token, {}, 204);
  const ttl = await t.running.services.store.ttl(`inbox-replying:${c.conversationId}:${ana.id}`);
  assert.ok(ttl > 0 && ttl <= PRESENCE_TTL_MS, `expires by itself (ttl ${ttl})`);
  assert.deepEqual((await view(c.conversationId, ben)).replying.map((r) => [r.userId, r.messageId]), [[ana.id, null]]);
  await ok(t, 'DELETE', `${base()}/conversations/${c.conversationId}/replying`, ana.token, undefined, 204);
  assert.deepEqual(await replying(c.conversationId, ben), []);

  assert.equal((await t.call('PUT', `${base()}/conversations/${c.conversationId}/replying`, { token: viewer.token, body: {} })).status, 403);
  const wrong = await t.call('PUT', `${base()}/conversations/${c.conversationId}/replying`, { token: ana.token, body: { messageId: crypto.randomUUID() } });
  assert.equal(wrong.status, 404);
  assert.equal(wrong.body.code, 'MESSAGE_NOT_FOUND');
  const mallory = await person(t, { name: 'Mallory' });
  const wsB = await newWorkspace(t, mallory, 'Other');
  for (const path of [`${base(wsB)}/conversations/${c.conversationId}/replying`, `${base()}/conversations/${c.conversationId}/replying`]) {
    const res = await t.call('PUT', path, { token: mallory.token, body: {} });
    assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
  }
  assert.deepEqual(await replying(c.conversationId, ana), [], 'nothing learnt, nothing shown');
});
