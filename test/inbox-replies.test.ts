// Answering from the inbox, end to end against the Sandbox network on the in-process simulator: the API
// (the network's own text limit counted by the server, permissions, the attack from another workspace),
// and the sending job's exactly-once guarantees: published once, a network that accepted the reply and
// never answered is reconciled by marker (not sent twice), a worker that died mid-send is taken over and
// reconciled, a try the network cannot settle is unknown, a refusal fails with the network's reason.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { simChange, simKnobs, simSay } from './support/social.ts';
import { QUICK_SENDING, sandboxInbox, settledReply, type SandboxInbox } from './support/inbox.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxReplies, inboxReplyAttempts } from '../src/modules/inbox/schema.ts';
import { webhookDeliveries } from '../src/modules/webhooks/schema.ts';
import { replyMarkerOf } from '../src/modules/inbox/reply-sender.ts';

let t: TestApp;
let owner: Person;
let editor: Person;
let viewer: Person;
let ws: string;
let account: SandboxInbox;
const sim = () => t.running.simulatorUrl!;
const db = () => t.running.services.db;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;
/** What the workspace's webhook was given to deliver about a reply (written with the reply's end). */
const replyEvents = async (replyId: string) => (await db().select().from(webhookDeliveries))
  .filter((d) => d.event.startsWith('inbox.reply.') && (d.payload as { data?: { replyId?: string } }).data?.replyId === replyId)
  .map((d) => ({ event: d.event, data: (d.payload as { data: Record<string, unknown> }).data }));

const comment = (text: string) => account.comment(text);
const answersUnder = (parentId: string) => account.answersUnder(parentId);
const waitForReply = (conversationId: string, replyId: string) => settledReply(t, `${base()}/conversations/${conversationId}/replies/${replyId}`, viewer.token);

before(async () => {
  t = await startTestApp(QUICK_SENDING, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  editor = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  account = await sandboxInbox(t, ws, owner, { postText: 'Spring is here' });
  await ok(t, 'POST', `/api/workspaces/${ws}/webhooks`, owner.token, { url: 'https://hook.invalid/inbox', events: ['inbox.reply.published', 'inbox.reply.failed', 'inbox.reply.unknown'] }, 201);
});
after(() => t.stop());

describe('the API', () => {
  test('an editor answers: queued at once, then published once, shown with its author and as a message of the conversation', async () => {
    const c = await comment('Do you ship to Norway?');
    const r = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: 'Yes, in 3 days!' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.ok(['queued', 'sending', 'published'].includes(r.body.state));
    assert.equal(r.body.parentRemoteId, c.remoteId);
    assert.equal(r.body.author.id, editor.id);
    const done = await waitForReply(c.conversationId, r.body.id);
    assert.equal(done.state, 'published', JSON.stringify(done));
    assert.ok(done.remoteId);
    assert.ok(done.url);
    assert.equal(done.attempts, 1);
    const answers = await answersUnder(c.remoteId);
    assert.equal(answers.length, 1, 'sent once');
    assert.equal(answers[0]!.id, done.remoteId);
    assert.equal(answers[0]!.text, 'Yes, in 3 days!');
    const events = await replyEvents(r.body.id);
    assert.deepEqual(events.map((e) => e.event), ['inbox.reply.published']);
    assert.equal(events[0]!.data.remoteId, done.remoteId);
    assert.equal(events[0]!.data.conversationId, c.conversationId);
    assert.equal(events[0]!.data.authorId, editor.id);

    const view = await ok(t, 'GET', `${base()}/conversations/${c.conversationId}`, viewer.token);
    assert.deepEqual(view.replies.map((x: { id: string; state: string; author: { name: string } }) => [x.id, x.state, x.author.name]), [[r.body.id, 'published', 'Test User']]);
    const own = view.messages.filter((m: { remoteId: string }) => m.remoteId === done.remoteId);
    assert.equal(own.length, 1);
    assert.equal(own[0].direction, 'outbound');
    assert.equal(own[0].parentRemoteId, c.remoteId);
    // The collected copy (the same id on the network) collapses with it.
    await account.collect();
    const again = await ok(t, 'GET', `${base()}/conversations/${c.conversationId}`, viewer.token);
    assert.equal(again.messages.filter((m: { remoteId: string }) => m.remoteId === done.remoteId).length, 1);
    assert.equal(again.messageCount, view.messageCount);
  });

  test('the text is counted as the network counts it: over its limit is a 422 naming the excess; its exact limit goes through', async () => {
    const c = await comment('How long can an answer be?');
    const long = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: 'a'.repeat(1001) } });
    assert.equal(long.status, 422);
    assert.equal(long.body.code, 'REPLY_INVALID');
    assert.match(long.body.message, /1000 characters.*1001 \(1 too many\)/);
    assert.equal(long.body.details[0].field, 'body.text');
    const blank = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: '   ' } });
    assert.equal(blank.status, 422);
    const empty = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: '' } });
    assert.equal(empty.status, 400);
    const extra = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: 'hi', media: [] } });
    assert.equal(extra.status, 400);
    // 1,000 emoji are 2,000 UTF-16 units but 1,000 characters as the Sandbox counts them (code points).
    const emoji = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: '👍'.repeat(1000) } });
    assert.equal(emoji.status, 202, JSON.stringify(emoji.body));
    assert.equal((await waitForReply(c.conversationId, emoji.body.id)).state, 'published');
    const stored = await db().select().from(inboxReplies).where(eq(inboxReplies.messageId, c.messageId));
    assert.equal(stored.length, 1, 'nothing stored for a refused reply');
  });

  test('viewers read but cannot answer (403); a message of another conversation is a 404', async () => {
    const c = await comment('Viewer check');
    const other = await comment('Another thread?');
    const denied = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: viewer.token, body: { messageId: c.messageId, text: 'Hello' } });
    assert.equal(denied.status, 403);
    // Comments on one post share its conversation: a mention is a conversation of its own.
    const mention = await simSay(sim(), { user: account.simUser, kind: 'mention', text: '@shop hello', author: { id: 'm1', username: 'm1' } });
    await account.collect();
    const list = await ok(t, 'GET', `${base()}/conversations?limit=100`, owner.token);
    const mentionConv = list.conversations.find((x: { root: { remoteId: string } }) => x.root.remoteId === mention.id);
    assert.ok(mentionConv);
    assert.equal(other.conversationId, c.conversationId);
    const wrong = await t.call('POST', `${base()}/conversations/${mentionConv.id}/replies`, { token: editor.token, body: { messageId: c.messageId, text: 'Hello' } });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.body.code, 'MESSAGE_NOT_FOUND');
    // A mention is answered in its own thread.
    const view = await ok(t, 'GET', `${base()}/conversations/${mentionConv.id}`, owner.token);
    const r = await ok(t, 'POST', `${base()}/conversations/${mentionConv.id}/replies`, editor.token, { messageId: view.messages[0].id, text: 'Hi there' }, 202);
    assert.equal((await waitForReply(mentionConv.id, r.id)).state, 'published');
    const after = await ok(t, 'GET', `${base()}/conversations/${mentionConv.id}`, owner.token);
    assert.equal(after.messages.length, 2);
  });

  test('the attack: a member of another workspace can neither answer nor read A\'s conversations and replies (404)', async () => {
    const c = await comment('Private matter');
    const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'On it' }, 202);
    await waitForReply(c.conversationId, r.id);
    const mallory = await person(t, { name: 'Mallory' });
    const wsB = await newWorkspace(t, mallory, 'Other');
    for (const [method, path, body] of [
      ['POST', `${base(wsB)}/conversations/${c.conversationId}/replies`, { messageId: c.messageId, text: 'pwned' }],
      ['GET', `${base(wsB)}/conversations/${c.conversationId}/replies/${r.id}`, undefined],
      ['POST', `${base()}/conversations/${c.conversationId}/replies`, { messageId: c.messageId, text: 'pwned' }],
      ['GET', `${base()}/conversations/${c.conversationId}/replies/${r.id}`, undefined],
    ] as const) {
      const res = await t.call(method, path, { token: mallory.token, ...(body ? { body } : {}) });
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await answersUnder(c.remoteId)).filter((a) => a.text === 'pwned').length, 0);
  });
});

describe('sending exactly once', () => {
  test('accepted by the network, then no answer: found by its marker, published, never sent twice', async () => {
    const c = await comment('Did my answer arrive?');
    // A blind resend would show: the network would make a second reply for the same key.
    await simKnobs(sim(), 'sandbox', { acceptThenHangNext: 1, ignoreIdempotencyKey: true });
    try {
      const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'It did' }, 202);
      const done = await waitForReply(c.conversationId, r.id);
      assert.equal(done.state, 'published', JSON.stringify(done));
      const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, r.id));
      assert.deepEqual(attempts.map((a) => a.outcome), ['reconciled']);
      const answers = await answersUnder(c.remoteId);
      assert.equal(answers.length, 1, 'one reply on the network');
      assert.equal(answers[0]!.id, done.remoteId);
    } finally {
      await simKnobs(sim(), 'sandbox', { acceptThenHangNext: 0, ignoreIdempotencyKey: false });
    }
  });

  test('a worker that died after sending: its reply is taken over after the lease and reconciled, not sent again', async () => {
    const c = await comment('Crash test');
    const replyId = crypto.randomUUID();
    const marker = replyMarkerOf(replyId);
    const [conv] = await db().execute<{ root_remote_id: string }>(sql`select root_remote_id from inbox_conversations where id = ${c.conversationId}`).then((r) => r.rows);
    // What the dead worker left: the reply on the network, and in AllIN the reply sending under an expired
    // lease with its attempt in flight (written in one transaction, so the sweeper sees both or neither).
    const sent = await t.running.services.accounts.withAccount(account.id, (ref) => t.running.services.registry.get('sandbox').reply!(ref, {
      text: 'Sent before the crash', parentRemoteId: c.remoteId, rootRemoteId: conv!.root_remote_id, marker,
    }));
    await db().transaction(async (tx) => {
      await tx.insert(inboxReplies).values({
        id: replyId, workspaceId: ws, accountId: account.id, conversationId: c.conversationId, provider: 'sandbox', messageId: c.messageId,
        parentRemoteId: c.remoteId, rootRemoteId: conv!.root_remote_id, authorId: editor.id, text: 'Sent before the crash',
        state: 'sending', attempts: 1, workerId: 'dead:1', leaseUntil: new Date(Date.now() - 1000),
      });
      await tx.insert(inboxReplyAttempts).values({ replyId, marker, workerId: 'dead' });
    });
    await simKnobs(sim(), 'sandbox', { ignoreIdempotencyKey: true });
    try {
      // The sweeper finds it; nothing else adds its job.
      const done = await waitForReply(c.conversationId, replyId);
      assert.equal(done.state, 'published', JSON.stringify(done));
      assert.equal(done.remoteId, sent.remoteId);
      const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, replyId));
      assert.deepEqual(attempts.map((a) => a.outcome), ['reconciled']);
      assert.equal((await answersUnder(c.remoteId)).length, 1);
    } finally {
      await simKnobs(sim(), 'sandbox', { ignoreIdempotencyKey: false });
    }
  });

  test('an interrupted try the network cannot settle: unknown, with the reason, never sent again', async () => {
    const c = await comment('Unknowable');
    const replyId = crypto.randomUUID();
    // A dead worker's try under a parent the network no longer knows: the look-up is refused, so whether the
    // reply arrived cannot be told.
    await db().transaction(async (tx) => {
      await tx.insert(inboxReplies).values({
        id: replyId, workspaceId: ws, accountId: account.id, conversationId: c.conversationId, provider: 'sandbox', messageId: c.messageId,
        parentRemoteId: 'gone-999', rootRemoteId: account.post.remoteId, authorId: editor.id, text: 'Lost in the dark',
        state: 'sending', attempts: 1, workerId: 'dead:2', leaseUntil: new Date(Date.now() - 1000),
      });
      await tx.insert(inboxReplyAttempts).values({ replyId, marker: replyMarkerOf(replyId), workerId: 'dead' });
    });
    const done = await waitForReply(c.conversationId, replyId);
    assert.equal(done.state, 'unknown', JSON.stringify(done));
    assert.equal(done.error.class, 'unknown_outcome');
    assert.match(done.error.message, /cannot be known/);
    const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, replyId));
    assert.deepEqual(attempts.map((a) => a.outcome), ['unknown'], 'nothing sent again');
    assert.deepEqual((await replyEvents(replyId)).map((e) => e.event), ['inbox.reply.unknown']);
  });

  test('refused by the network: failed at once with the network\'s reason', async () => {
    const c = await comment('I will delete this');
    // Deleted on the network after it was collected: AllIN does not know yet, the network refuses.
    await simChange(sim(), c.remoteId, 'delete');
    const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Too late' }, 202);
    const done = await waitForReply(c.conversationId, r.id);
    assert.equal(done.state, 'failed');
    assert.equal(done.error.class, 'permanent');
    assert.equal(done.error.status, 422);
    assert.match(done.error.message, /The comment was deleted by its author/);
    assert.equal(done.attempts, 1);
    assert.equal((await answersUnder(c.remoteId)).length, 0);
    const events = await replyEvents(r.id);
    assert.deepEqual(events.map((e) => e.event), ['inbox.reply.failed']);
    assert.match(String((events[0]!.data.error as { message: string }).message), /deleted by its author/);
    // Once collected, the deletion is known and the message cannot be answered.
    await account.collect();
    const again = await t.call('POST', `${base()}/conversations/${c.conversationId}/replies`, { token: editor.token, body: { messageId: c.messageId, text: 'Still?' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'MESSAGE_DELETED');
  });

  test('429 and 5xx: tried again with backoff, and published once', async () => {
    const c = await comment('Busy network');
    await simKnobs(sim(), 'sandbox', { rateLimitNext: 1, retryAfterSeconds: 1 });
    const r = await ok(t, 'POST', `${base()}/conversations/${c.conversationId}/replies`, editor.token, { messageId: c.messageId, text: 'Eventually' }, 202);
    const done = await waitForReply(c.conversationId, r.id);
    assert.equal(done.state, 'published', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    const attempts = await db().select().from(inboxReplyAttempts).where(eq(inboxReplyAttempts.replyId, r.id));
    assert.deepEqual(attempts.map((a) => a.outcome), ['retry', 'published']);
    assert.equal((await answersUnder(c.remoteId)).length, 1);
  });
});
