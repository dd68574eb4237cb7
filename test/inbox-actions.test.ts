// Acting on a message from the inbox (like, unlike, hide, unhide, delete), end to end against the Sandbox
// network on the in-process simulator: the API (what each message allows, permissions, the attack from another
// workspace), the message's state once done, and the exactly-once guarantees the actions share with replies:
// a network that applied the change and never answered is settled by reading the state back (not sent again),
// a worker that died mid-send is taken over and reconciled, a try the network cannot settle is unknown.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { simKnobs } from './support/social.ts';
import { QUICK_SENDING, findMessage, sandboxInbox, settledReply, simInbox, type SandboxInbox } from './support/inbox.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxReplies, inboxReplyAttempts } from '../src/modules/inbox/schema.ts';
import { webhookDeliveries } from '../src/modules/webhooks/schema.ts';
import { actionMarkerOf } from '../src/modules/inbox/reply-sender.ts';

let t: TestApp;
let owner: Person;
let editor: Person;
let viewer: Person;
let ws: string;
let account: SandboxInbox;
const sim = () => t.running.simulatorUrl!;
const db = () => t.running.services.db;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

const simItem = async (id: string) => (await simInbox(t)).find((i) => i.id === id)!;
const actionEvents = async (actionId: string) => (await db().select().from(webhookDeliveries))
  .filter((d) => d.event.startsWith('inbox.action.') && (d.payload as { data?: { actionId?: string } }).data?.actionId === actionId)
  .map((d) => ({ event: d.event, data: (d.payload as { data: Record<string, unknown> }).data }));

interface Msg { id: string; remoteId: string; liked: boolean; hidden: boolean; deleted: boolean; text: string; direction: string }

/** A message the network sent (a comment on the account's post, or a mention), collected. */
const said = (text: string, kind: 'comment' | 'mention' = 'comment') => account.said<Msg>(text, kind);
const find = (remoteId: string) => findMessage<Msg>(t, ws, viewer.token, remoteId);

async function act(messageId: string, action: string, token = editor.token) {
  return t.call('POST', `${base()}/messages/${messageId}/${action}`, { token });
}

const settled = (actionId: string, states = ['done', 'failed', 'unknown']) => settledReply(t, `${base()}/actions/${actionId}`, viewer.token, states);

before(async () => {
  t = await startTestApp(QUICK_SENDING, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  editor = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  account = await sandboxInbox(t, ws, owner, { postText: 'Autumn sale' });
  await ok(t, 'POST', `/api/workspaces/${ws}/webhooks`, owner.token, { url: 'https://hook.invalid/inbox', events: ['inbox.action.done', 'inbox.action.failed', 'inbox.action.unknown'] }, 201);
});
after(() => t.stop());

describe('the API', () => {
  test('like, then unlike: each done once on the network, shown on the message, told to the webhooks, attributed', async () => {
    const { conversationId, message } = await said('Nice colours!');
    assert.equal(message.liked, false);
    const r = await act(message.id, 'like');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.action, 'like');
    assert.equal(r.body.author.id, editor.id);
    assert.equal(r.body.remoteId, message.remoteId);
    const done = await settled(r.body.id);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(done.attempts, 1);
    assert.ok(done.doneAt);
    assert.equal((await simItem(message.remoteId)).liked, true);
    assert.equal((await find(message.remoteId)).message.liked, true);
    const events = await actionEvents(r.body.id);
    assert.deepEqual(events.map((e) => e.event), ['inbox.action.done']);
    assert.equal(events[0]!.data.action, 'like');
    assert.equal(events[0]!.data.authorId, editor.id);

    const u = await ok(t, 'POST', `${base()}/messages/${message.id}/unlike`, editor.token, undefined, 202);
    assert.equal((await settled(u.id)).state, 'done');
    assert.equal((await simItem(message.remoteId)).liked, false);
    assert.equal((await find(message.remoteId)).message.liked, false);
    const view = await ok(t, 'GET', `${base()}/conversations/${conversationId}`, viewer.token);
    assert.deepEqual(view.actions.filter((a: { messageId: string }) => a.messageId === message.id).map((a: { action: string; state: string }) => `${a.action}:${a.state}`), ['like:done', 'unlike:done']);
    assert.deepEqual(view.replies, [], 'actions are not replies');
  });

  test('hide and unhide a comment under the account\'s post; a mention cannot be hidden (409), nor someone else\'s comment deleted on a network that does not allow it', async () => {
    const { message } = await said('Buy followers at spam.example');
    const h = await ok(t, 'POST', `${base()}/messages/${message.id}/hide`, editor.token, undefined, 202);
    assert.equal((await settled(h.id)).state, 'done');
    assert.equal((await simItem(message.remoteId)).hidden, true);
    assert.equal((await find(message.remoteId)).message.hidden, true);
    // Collection brings the same state back: nothing changes.
    await account.collect();
    assert.equal((await find(message.remoteId)).message.hidden, true);
    const s = await ok(t, 'POST', `${base()}/messages/${message.id}/unhide`, editor.token, undefined, 202);
    assert.equal((await settled(s.id)).state, 'done');
    assert.equal((await simItem(message.remoteId)).hidden, false);
    assert.equal((await find(message.remoteId)).message.hidden, false);

    const mention = await said('@shop look at this', 'mention');
    const refused = await act(mention.message.id, 'hide');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'CANNOT_HIDE');
    const notMine = await act(mention.message.id, 'delete');
    assert.equal(notMine.status, 409);
    assert.equal(notMine.body.code, 'CANNOT_DELETE');
    assert.equal((await db().select().from(inboxReplies).where(eq(inboxReplies.messageId, mention.message.id))).length, 0, 'nothing queued for a refusal');
  });

  test('delete a comment under the account\'s post: gone on the network, deleted in the conversation, which counts one message less; then nothing more can be done to it', async () => {
    const { conversationId, message } = await said('Rude words?');
    const before = await ok(t, 'GET', `${base()}/conversations/${conversationId}`, viewer.token);
    const d = await ok(t, 'POST', `${base()}/messages/${message.id}/delete`, editor.token, undefined, 202);
    assert.equal((await settled(d.id)).state, 'done');
    assert.equal((await simItem(message.remoteId)).deleted, true);
    const after = await ok(t, 'GET', `${base()}/conversations/${conversationId}`, viewer.token);
    const m = after.messages.find((x: Msg) => x.remoteId === message.remoteId);
    assert.equal(m.deleted, true);
    assert.equal(m.text, '');
    assert.equal(after.messageCount, before.messageCount - 1);
    const again = await act(message.id, 'like');
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'MESSAGE_DELETED');
  });

  test('one action at a time per message: a second one while the first is still queued is 409 ACTION_PENDING', async () => {
    const { conversationId, message } = await said('Twice?');
    // A like waiting in the queue (its job not yet run): written as the API writes it, without the job.
    const waiting = crypto.randomUUID();
    const [conv] = (await db().execute<{ root_remote_id: string }>(sql`select root_remote_id from inbox_conversations where id = ${conversationId}`)).rows;
    await db().insert(inboxReplies).values({
      id: waiting, workspaceId: ws, accountId: account.id, conversationId, provider: 'sandbox', kind: 'like', messageId: message.id,
      parentRemoteId: message.remoteId, rootRemoteId: conv!.root_remote_id, authorId: editor.id, text: '', nextAttemptAt: new Date(Date.now() + 3_600_000),
    });
    const second = await act(message.id, 'unlike');
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.code, 'ACTION_PENDING');
    assert.equal(second.body.details[0].actionId, waiting);
    // Once it has ended, the message can be acted on again.
    await db().update(inboxReplies).set({ state: 'failed' }).where(eq(inboxReplies.id, waiting));
    const after = await ok(t, 'POST', `${base()}/messages/${message.id}/like`, editor.token, undefined, 202);
    assert.equal((await settled(after.id)).state, 'done');
  });

  test('viewers read the actions but cannot act (403)', async () => {
    const { message } = await said('Viewer here');
    for (const action of ['like', 'unlike', 'hide', 'unhide', 'delete']) {
      const r = await act(message.id, action, viewer.token);
      assert.equal(r.status, 403, `${action}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await db().select().from(inboxReplies).where(eq(inboxReplies.messageId, message.id))).length, 0);
  });

  test('the attack: a member of another workspace can neither act on A\'s messages nor read A\'s actions (404), and nothing reaches the network', async () => {
    const { message } = await said('Mine, not yours');
    const mine = await ok(t, 'POST', `${base()}/messages/${message.id}/like`, editor.token, undefined, 202);
    await settled(mine.id);
    const mallory = await person(t, { name: 'Mallory' });
    const wsB = await newWorkspace(t, mallory, 'Other');
    for (const [method, path] of [
      ['POST', `${base(wsB)}/messages/${message.id}/delete`], ['POST', `${base(wsB)}/messages/${message.id}/hide`],
      ['GET', `${base(wsB)}/actions/${mine.id}`],
      ['POST', `${base()}/messages/${message.id}/delete`], ['GET', `${base()}/actions/${mine.id}`],
    ] as const) {
      const res = await t.call(method, path, { token: mallory.token });
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
    }
    const item = await simItem(message.remoteId);
    assert.equal(item.deleted, false);
    assert.equal(item.hidden, false);
  });
});

describe('exactly once', () => {
  test('applied by the network, then no answer: the state read back settles it (done), nothing sent twice', async () => {
    const { message } = await said('Hang on');
    await simKnobs(sim(), 'sandbox', { acceptThenHangNext: 1 });
    try {
      const r = await ok(t, 'POST', `${base()}/messages/${message.id}/hide`, editor.token, undefined, 202);
      const done = await settled(r.id);
      assert.equal(done.state, 'done', JSON.stringify(done));
      const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, r.id));
      assert.deepEqual(attempts.map((a) => a.outcome), ['reconciled']);
      assert.equal((await find(message.remoteId)).message.hidden, true);
    } finally {
      await simKnobs(sim(), 'sandbox', { acceptThenHangNext: 0 });
    }
  });

  test('a worker that died mid-like: taken over after its lease and reconciled by the state on the network', async () => {
    const { conversationId, message } = await said('Crash me');
    const actionId = crypto.randomUUID();
    const marker = actionMarkerOf(actionId);
    const [conv] = (await db().execute<{ root_remote_id: string }>(sql`select root_remote_id from inbox_conversations where id = ${conversationId}`)).rows;
    // What the dead worker left: the like on the network, and in AllIN the action sending under an expired
    // lease with its attempt in flight.
    await t.running.services.accounts.withAccount(account.id, (ref) => t.running.services.registry.get('sandbox').like!(ref, { remoteId: message.remoteId, rootRemoteId: conv!.root_remote_id, marker }));
    await db().transaction(async (tx) => {
      await tx.insert(inboxReplies).values({
        id: actionId, workspaceId: ws, accountId: account.id, conversationId, provider: 'sandbox', kind: 'like', messageId: message.id,
        parentRemoteId: message.remoteId, rootRemoteId: conv!.root_remote_id, authorId: editor.id, text: '',
        state: 'sending', attempts: 1, workerId: 'dead:1', leaseUntil: new Date(Date.now() - 1000),
      });
      await tx.insert(inboxReplyAttempts).values({ replyId: actionId, marker, workerId: 'dead' });
    });
    const done = await settled(actionId);
    assert.equal(done.state, 'done', JSON.stringify(done));
    const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, actionId));
    assert.deepEqual(attempts.map((a) => a.outcome), ['reconciled']);
    assert.equal((await find(message.remoteId)).message.liked, true);
  });

  test('a worker that died before its call arrived: the network shows nothing done, so the action is sent (once)', async () => {
    const { conversationId, message } = await said('Half way');
    const actionId = crypto.randomUUID();
    const [conv] = (await db().execute<{ root_remote_id: string }>(sql`select root_remote_id from inbox_conversations where id = ${conversationId}`)).rows;
    await db().transaction(async (tx) => {
      await tx.insert(inboxReplies).values({
        id: actionId, workspaceId: ws, accountId: account.id, conversationId, provider: 'sandbox', kind: 'hide', messageId: message.id,
        parentRemoteId: message.remoteId, rootRemoteId: conv!.root_remote_id, authorId: editor.id, text: '',
        state: 'sending', attempts: 1, workerId: 'dead:3', leaseUntil: new Date(Date.now() - 1000),
      });
      await tx.insert(inboxReplyAttempts).values({ replyId: actionId, marker: actionMarkerOf(actionId), workerId: 'dead' });
    });
    const done = await settled(actionId);
    assert.equal(done.state, 'done', JSON.stringify(done));
    const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, actionId));
    assert.deepEqual(attempts.map((a) => a.outcome), ['absent', 'published']);
    assert.equal((await simItem(message.remoteId)).hidden, true);
  });

  test('an interrupted try the network cannot settle: unknown, with the reason, never sent again, told to the webhooks', async () => {
    const { conversationId, message } = await said('Unknowable');
    const actionId = crypto.randomUUID();
    // A dead worker's try on a message the network does not know for this account: the state cannot be read.
    await db().transaction(async (tx) => {
      await tx.insert(inboxReplies).values({
        id: actionId, workspaceId: ws, accountId: account.id, conversationId, provider: 'sandbox', kind: 'delete', messageId: message.id,
        parentRemoteId: 'gone-999', rootRemoteId: account.post.remoteId, authorId: editor.id, text: '',
        state: 'sending', attempts: 1, workerId: 'dead:2', leaseUntil: new Date(Date.now() - 1000),
      });
      await tx.insert(inboxReplyAttempts).values({ replyId: actionId, marker: actionMarkerOf(actionId), workerId: 'dead' });
    });
    const done = await settled(actionId);
    assert.equal(done.state, 'unknown', JSON.stringify(done));
    assert.equal(done.error.class, 'unknown_outcome');
    assert.match(done.error.message, /whether the delete was done cannot be known/);
    const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, actionId));
    assert.deepEqual(attempts.map((a) => a.outcome), ['unknown'], 'nothing sent again');
    assert.deepEqual((await actionEvents(actionId)).map((e) => e.event), ['inbox.action.unknown']);
    assert.equal((await find(message.remoteId)).message.deleted, false, 'the message is not marked deleted on a guess');
  });

  test('refused by the network: failed with its reason and status', async () => {
    const { message } = await said('Deleted meanwhile');
    // Deleted on the network after it was collected: AllIN does not know yet; the network refuses the like.
    await fetch(`${sim()}/_sim/sandbox/inbox/${message.remoteId}`, { method: 'DELETE' });
    const r = await ok(t, 'POST', `${base()}/messages/${message.id}/like`, editor.token, undefined, 202);
    const done = await settled(r.id);
    assert.equal(done.state, 'failed', JSON.stringify(done));
    assert.equal(done.error.status, 422);
    assert.match(done.error.message, /deleted by its author/);
    assert.deepEqual((await actionEvents(r.id)).map((e) => e.event), ['inbox.action.failed']);
  });
});
