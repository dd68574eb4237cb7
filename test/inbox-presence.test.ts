// The inbox's test of two members answering at once: "Two members answering the same comment at once: both replies are kept and attributed, and
// each sees the other's reply before sending (the conversation shows 'someone is replying')." End to end
// against the Sandbox network: presence through PUT …/replying, read in the conversation by the other
// member, replies sent at the same moment both kept, attributed and published once each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './support/app.ts';
import { COLLECT_BY_HAND, sandboxInbox, settledReply, type SandboxInbox } from './support/inbox.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { PRESENCE_TTL_MS } from '../src/modules/inbox/presence.ts';

let t: TestApp;
let owner: Person;
let ana: Person;
let ben: Person;
let viewer: Person;
let ws: string;
let box: SandboxInbox;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

interface View { replying: { userId: string; name: string; messageId: string | null }[]; replies: { id: string; messageId: string; text: string; state: string; author: { id: string } }[] }
const view = (conversationId: string, who: Person): Promise<View> => ok(t, 'GET', `${base()}/conversations/${conversationId}`, who.token);
const replying = async (conversationId: string, who: Person) => (await view(conversationId, who)).replying.map((r) => r.userId);

const published = (conversationId: string, replyId: string) => settledReply(t, `${base()}/conversations/${conversationId}/replies/${replyId}`, viewer.token);

before(async () => {
  t = await startTestApp(COLLECT_BY_HAND, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  ana = await member(t, ws, owner, 'editor');
  ben = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  box = await sandboxInbox(t, ws, owner, { postText: 'Summer hours' });
});
after(() => t.stop());

test('two members answering the same comment at once: each sees the other replying and the other\'s reply before sending; both replies are kept and attributed', async () => {
  const c = await box.comment('Are you open on Sunday?');
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
  const answers = await box.answersUnder(c.remoteId);
  assert.deepEqual(answers.map((x) => x.text).sort(), ['And 12 to 4 on holidays.', 'Yes, 10 to 4.'], 'each published once');
});

test('replies sent at the very same moment: both kept, each attributed to its member, each published once', async () => {
  const c = await box.comment('Do you deliver?');
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
  assert.equal((await box.answersUnder(c.remoteId)).length, 2);
});

test('presence is short-lived and closes: a signal expires by itself, DELETE ends it, viewers cannot signal (403), another workspace gets 404', async () => {
  const c = await box.comment('Anyone there?');
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
