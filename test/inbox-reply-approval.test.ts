// A workspace that requires approval of replies (settings.requireReplyApproval), end to end against the
// Sandbox network: an editor's reply waits (nothing sent, no job), approvers list it, approve it (sent once,
// however many approve at the same moment) or reject it with a reason (never sent); an approver's own reply
// goes at once; editors and viewers cannot approve (403), another workspace's member cannot learn of it (404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { COLLECT_BY_HAND, sandboxInbox, settledReply, type SandboxInbox } from './support/inbox.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';

let t: TestApp;
let owner: Person;
let admin: Person;
let editor: Person;
let viewer: Person;
let ws: string;
let box: SandboxInbox;
const db = () => t.running.services.db;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

const jobOf = async (replyId: string) => (await db().execute(sql`select 1 from graphile_worker.jobs where key = ${`inbox-reply:${replyId}`}`)).rows.length;

const replyState = (conversationId: string, replyId: string) => ok(t, 'GET', `${base()}/conversations/${conversationId}/replies/${replyId}`, viewer.token);
const published = (conversationId: string, replyId: string) => settledReply(t, `${base()}/conversations/${conversationId}/replies/${replyId}`, viewer.token);

before(async () => {
  t = await startTestApp(COLLECT_BY_HAND, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  admin = await member(t, ws, owner, 'admin');
  editor = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  box = await sandboxInbox(t, ws, owner, { postText: 'New shoes' });
  const set = await ok(t, 'PATCH', `/api/workspaces/${ws}`, owner.token, { settings: { requireReplyApproval: true } });
  assert.equal(set.settings.requireReplyApproval, true);
});
after(() => t.stop());

test('an editor\'s reply waits for approval: nothing sent, no job; approvers list it; approved, it is sent once and shows who approved it', async () => {
  const c = await box.comment('Is this waterproof?');
  const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Yes, fully.' }, 202);
  assert.equal(r.state, 'pending_approval');
  assert.equal(r.review, null);
  assert.equal(await jobOf(r.id), 0, 'no sending job while it waits');
  const view = await ok(t, 'GET', `${base()}/conversations/${c.conversationId}`, viewer.token);
  assert.equal(view.replies.find((x: { id: string }) => x.id === r.id).state, 'pending_approval', 'the team sees it waiting');

  for (const who of [editor, viewer]) {
    assert.equal((await t.call('GET', `${base()}/replies/pending`, { token: who.token })).status, 403);
    assert.equal((await t.call('POST', `${base()}/replies/${r.id}/approve`, { token: who.token })).status, 403);
    assert.equal((await t.call('POST', `${base()}/replies/${r.id}/reject`, { token: who.token, body: { reason: 'no' } })).status, 403);
  }
  const pending = await ok(t, 'GET', `${base()}/replies/pending`, admin.token);
  const listed = pending.replies.find((x: { id: string }) => x.id === r.id);
  assert.ok(listed, JSON.stringify(pending));
  assert.equal(listed.conversationId, c.conversationId);
  assert.equal(listed.author.id, editor.id);
  assert.equal(listed.text, 'Yes, fully.');
  assert.deepEqual(await box.answersUnder(c.remoteId), [], 'not sent while it waits');

  const approved = await ok(t, 'POST', `${base()}/replies/${r.id}/approve`, admin.token);
  assert.ok(['queued', 'sending', 'published'].includes(approved.state), approved.state);
  assert.equal(approved.review.by.id, admin.id);
  assert.equal(approved.review.comment, null);
  const done = await published(c.conversationId, r.id);
  assert.equal(done.state, 'published', JSON.stringify(done));
  assert.equal(done.author.id, editor.id, 'still the editor\'s reply');
  assert.equal((await box.answersUnder(c.remoteId)).length, 1);
  const again = await t.call('POST', `${base()}/replies/${r.id}/approve`, { token: owner.token });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'NOT_PENDING_APPROVAL');
  assert.equal((await ok(t, 'GET', `${base()}/replies/pending`, admin.token)).replies.some((x: { id: string }) => x.id === r.id), false);
});

test('rejected with a reason: never sent, the reason shown to the team; it cannot be approved afterwards', async () => {
  const c = await box.comment('Can I get a discount?');
  const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Sure, 90% off!' }, 202);
  const blank = await t.call('POST', `${base()}/replies/${r.id}/reject`, { token: owner.token, body: { reason: '   ' } });
  assert.equal(blank.status, 422);
  assert.equal(blank.body.code, 'REASON_REQUIRED');
  const rejected = await ok(t, 'POST', `${base()}/replies/${r.id}/reject`, owner.token, { reason: 'We do not give discounts in public.' });
  assert.equal(rejected.state, 'rejected');
  assert.equal(rejected.review.comment, 'We do not give discounts in public.');
  assert.equal(rejected.review.by.id, owner.id);
  assert.equal((await replyState(c.conversationId, r.id)).state, 'rejected');
  const late = await t.call('POST', `${base()}/replies/${r.id}/approve`, { token: admin.token });
  assert.equal(late.status, 409);
  assert.equal(late.body.code, 'NOT_PENDING_APPROVAL');
  assert.equal(await jobOf(r.id), 0);
  assert.deepEqual(await box.answersUnder(c.remoteId), []);
});

test('two approvers approving at the same moment: one wins, the reply is sent once', async () => {
  const c = await box.comment('Two at once?');
  const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Only once.' }, 202);
  const [a, b] = await Promise.all([
    t.call('POST', `${base()}/replies/${r.id}/approve`, { token: owner.token }),
    t.call('POST', `${base()}/replies/${r.id}/approve`, { token: admin.token }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 409], JSON.stringify([a.body, b.body]));
  assert.equal((await published(c.conversationId, r.id)).state, 'published');
  assert.equal((await box.answersUnder(c.remoteId)).length, 1);
});

test('an approver\'s own reply is sent at once; with the setting off, an editor\'s is too', async () => {
  const c = await box.comment('Hello?');
  const mine = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, admin.token, { messageId: c.messageId, text: 'Hi from the admin' }, 202);
  assert.notEqual(mine.state, 'pending_approval');
  assert.equal((await published(c.conversationId, mine.id)).state, 'published');
  await ok(t, 'PATCH', `/api/workspaces/${ws}`, owner.token, { settings: { requireReplyApproval: false } });
  try {
    const theirs = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Hi from the editor' }, 202);
    assert.notEqual(theirs.state, 'pending_approval');
    assert.equal((await published(c.conversationId, theirs.id)).state, 'published');
  } finally {
    await ok(t, 'PATCH', `/api/workspaces/${ws}`, owner.token, { settings: { requireReplyApproval: true } });
  }
});

test('the attack: an owner of another workspace can neither list, approve nor reject A\'s waiting replies (404)', async () => {
  const c = await box.comment('Secret');
  const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Waiting' }, 202);
  const mallory = await person(t, { name: 'Mallory' });
  const wsB = await newWorkspace(t, mallory, 'Other');
  assert.deepEqual((await ok(t, 'GET', `${base(wsB)}/replies/pending`, mallory.token)).replies, []);
  for (const [path, body] of [
    [`${base(wsB)}/replies/${r.id}/approve`, undefined], [`${base(wsB)}/replies/${r.id}/reject`, { reason: 'x' }],
    [`${base()}/replies/${r.id}/approve`, undefined], [`${base()}/replies/pending`, undefined],
  ] as const) {
    const res = await t.call(path.endsWith('pending') ? 'GET' : 'POST', path, { token: mallory.token, ...(body ? { body } : {}) });
    assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
  }
  assert.equal((await replyState(c.conversationId, r.id)).state, 'pending_approval');
});
