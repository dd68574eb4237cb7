// The inbox API end to end: conversations collected from the Sandbox network (on the in-process simulator)
// read through the public API as a team would: the list with each filter and full-text search, keyset pages,
// one conversation with its post, reply tree and notes, triage one at a time and in bulk, read state,
// labels, saved replies, what is collected per account, permissions (viewers read, editors act, API key
// scopes), and the attack: a member of workspace A can neither read, change nor learn of B's conversations.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { simSay } from './support/social.ts';
import { COLLECT_BY_HAND, sandboxInbox, type SandboxInbox } from './support/inbox.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { webhookDeliveries } from '../src/modules/webhooks/schema.ts';
import { InboxService } from '../src/modules/inbox/index.ts';
import { quietLogger } from './support/env.ts';

let t: TestApp;
let owner: Person;
let editor: Person;
let viewer: Person;
let ws: string;
let account: SandboxInbox;
let post: SandboxInbox['post'];
/** Conversations by what they are, in workspace A. */
const c = { thread: '', german: '', colours: '' };
const sim = () => t.running.simulatorUrl!;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

before(async () => {
  t = await startTestApp(COLLECT_BY_HAND, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  editor = await member(t, ws, owner, 'editor');
  viewer = await member(t, ws, owner, 'viewer');
  account = await sandboxInbox(t, ws, owner, { postText: 'Our spring collection is here' });
  post = account.post;
  const q = await simSay(sim(), { user: account.simUser, postId: post.remoteId, text: 'Can I get a refund for my order?', lang: 'en', createdAt: minutesAgo(50), author: { id: 'ada', username: 'ada.l', name: 'Ada Lovelace' } });
  await simSay(sim(), { user: account.simUser, postId: post.remoteId, parentId: q.id, text: 'Same question here', lang: 'en', createdAt: minutesAgo(40), author: { id: 'bob', username: 'bob', name: 'Bob' } });
  await simSay(sim(), { user: account.simUser, kind: 'mention', text: '@shop Die Lieferungen kommen immer pünktlich', lang: 'de', createdAt: minutesAgo(30), author: { id: 'klaus', username: 'klaus', name: 'Klaus' } });
  await simSay(sim(), { user: account.simUser, kind: 'mention', text: '@shop love the colours', lang: 'en', createdAt: minutesAgo(20), author: { id: 'cy', username: 'cy', name: 'Cy' } });
  await account.collect();
  const list = await ok(t, 'GET', `${base()}/conversations?limit=100`, owner.token);
  for (const conv of list.conversations) {
    if (conv.kind === 'post_thread') c.thread = conv.id;
    else if (conv.lastMessage.text.includes('Lieferungen')) c.german = conv.id;
    else c.colours = conv.id;
  }
  assert.ok(c.thread && c.german && c.colours, JSON.stringify(list));
});
after(() => t.stop());

describe('reading', () => {
  test('the list: newest message first, each conversation with its root, last message, unread and post', async () => {
    const r = await ok(t, 'GET', `${base()}/conversations`, viewer.token);
    assert.deepEqual(r.conversations.map((x: { id: string }) => x.id), [c.colours, c.german, c.thread]);
    assert.equal(r.nextCursor, null);
    const thread = r.conversations[2];
    assert.equal(thread.accountId, account.id);
    assert.equal(thread.provider, 'sandbox');
    assert.equal(thread.state, 'open');
    assert.equal(thread.messageCount, 2);
    assert.equal(thread.hasQuestion, true);
    assert.equal(thread.unread, true);
    assert.equal(thread.root.remoteId, post.remoteId);
    assert.equal(thread.root.text, 'Our spring collection is here');
    assert.deepEqual(thread.target, { id: post.targetId, postId: post.postId });
    assert.equal(thread.lastMessage.text, 'Same question here');
    assert.equal(thread.lastMessage.authorHandle, 'bob');
    assert.equal(thread.lastMessage.direction, 'inbound');
    assert.deepEqual(thread.labels, []);
  });

  test('keyset pages: every conversation once, in order; a cursor this list did not give is a 400', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { conversations: { id: string }[]; nextCursor: string | null } = await ok(t, 'GET', `${base()}/conversations?limit=1${cursor ? `&cursor=${cursor}` : ''}`, owner.token);
      seen.push(...r.conversations.map((x) => x.id));
      cursor = r.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [c.colours, c.german, c.thread]);
    for (const bad of ['nope', Buffer.from('["x","y"]').toString('base64url'), Buffer.from('["2026-01-01T00:00:00Z","not-a-uuid"]').toString('base64url')]) {
      const r = await t.call('GET', `${base()}/conversations?cursor=${bad}`, { token: owner.token });
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.code, 'INVALID_CURSOR');
    }
  });

  test('filters: account, network, question mark, dates; full-text search stemmed in the message\'s language and by author', async () => {
    const ids = async (query: string) => (await ok(t, 'GET', `${base()}/conversations?${query}`, owner.token)).conversations.map((x: { id: string }) => x.id);
    assert.deepEqual(await ids(`accountId=${account.id}`), [c.colours, c.german, c.thread]);
    assert.deepEqual(await ids('provider=sandbox'), [c.colours, c.german, c.thread]);
    assert.deepEqual(await ids('provider=x'), []);
    assert.deepEqual(await ids('question=true'), [c.thread]);
    assert.deepEqual(await ids(`from=${encodeURIComponent(minutesAgo(35))}`), [c.colours, c.german]);
    assert.deepEqual(await ids(`to=${encodeURIComponent(minutesAgo(25))}`), [c.german, c.thread]);
    assert.deepEqual(await ids('q=refunds'), [c.thread], 'English stemming: refunds finds refund');
    assert.deepEqual(await ids('q=Lieferung&lang=de'), [c.german], 'German stemming: Lieferung finds Lieferungen');
    assert.deepEqual(await ids('q=Lieferungen'), [c.german], 'as written, in any language');
    assert.deepEqual(await ids(`q=${encodeURIComponent('"love the colours"')}`), [c.colours]);
    assert.deepEqual(await ids('q=lovelace'), [c.thread], 'the author\'s name');
    assert.deepEqual(await ids(`q=${encodeURIComponent('refund -order')}`), []);
    assert.deepEqual(await ids('q=refund&question=true'), [c.thread]);
    const bad = await t.call('GET', `${base()}/conversations?from=${encodeURIComponent(minutesAgo(1))}&to=${encodeURIComponent(minutesAgo(2))}`, { token: owner.token });
    assert.equal(bad.status, 400);
  });

  test('one conversation: its post, the reply tree, notes inline; messages page by page', async () => {
    const r = await ok(t, 'GET', `${base()}/conversations/${c.thread}`, viewer.token);
    assert.equal(r.post.postId, post.postId);
    assert.equal(r.post.text, 'Our spring collection is here');
    assert.equal(r.post.state, 'published');
    assert.equal(r.messages.length, 2);
    const [question, answer] = r.messages;
    assert.equal(question.text, 'Can I get a refund for my order?');
    assert.equal(question.parentRemoteId, null);
    assert.equal(question.author.name, 'Ada Lovelace');
    assert.equal(question.language, 'en');
    assert.equal(answer.parentRemoteId, question.remoteId, 'the reply tree');
    assert.deepEqual(r.notes, []);
    assert.equal(r.nextMessagesCursor, null);
    const first = await ok(t, 'GET', `${base()}/conversations/${c.thread}/messages?limit=1`, viewer.token);
    assert.equal(first.messages[0].id, question.id);
    const second = await ok(t, 'GET', `${base()}/conversations/${c.thread}/messages?limit=1&cursor=${first.nextCursor}`, viewer.token);
    assert.equal(second.messages[0].id, answer.id);
    assert.equal(second.nextCursor, null);
    const mention = await ok(t, 'GET', `${base()}/conversations/${c.german}`, viewer.token);
    assert.equal(mention.kind, 'mention');
    assert.equal(mention.post, null);
    assert.equal(mention.messages[0].language, 'de');
  });

  test('what is collected per account: Sandbox, with its source\'s state', async () => {
    const r = await ok(t, 'GET', `${base()}/sources`, viewer.token);
    const a = r.accounts.find((x: { accountId: string }) => x.accountId === account.id);
    assert.equal(a.collection, 'collected');
    assert.equal(a.sources[0].id, 'inbox');
    assert.ok(a.sources[0].lastSuccessAt);
    assert.equal(a.sources[0].failures, 0);
  });
});

describe('read state', () => {
  test('read, then a late message (older on the network than the reading) makes it unread again; unread again by hand', async () => {
    const unread = async (who: Person) => (await ok(t, 'GET', `${base()}/conversations/${c.colours}`, who.token)).unread;
    assert.equal(await unread(editor), true);
    await ok(t, 'POST', `${base()}/conversations/${c.colours}/read`, editor.token, undefined, 204);
    assert.equal(await unread(editor), false);
    assert.equal(await unread(viewer), true, 'read state is each member\'s own');
    const onlyUnread = await ok(t, 'GET', `${base()}/conversations?unread=true`, editor.token);
    assert.ok(!onlyUnread.conversations.some((x: { id: string }) => x.id === c.colours));
    // Made an hour ago on the network, collected only now.
    const first = await ok(t, 'GET', `${base()}/conversations/${c.colours}`, editor.token);
    await simSay(sim(), { user: account.simUser, kind: 'comment', postId: first.root.remoteId, parentId: first.root.remoteId, text: 'late to the party', createdAt: minutesAgo(60) });
    await account.collect();
    assert.equal(await unread(editor), true);
    await ok(t, 'POST', `${base()}/conversations/${c.colours}/read`, editor.token, undefined, 204);
    await ok(t, 'DELETE', `${base()}/conversations/${c.colours}/read`, editor.token, undefined, 204);
    assert.equal(await unread(editor), true);
  });

  test('the unread count: per member, the conversations the list shows unread; reading, unreading and a new message move it; an API key counts for the member who made it', async () => {
    const count = async (who: { token: string }) => ok(t, 'GET', `${base()}/unread`, who.token);
    const listed = async (who: Person) => (await ok(t, 'GET', `${base()}/conversations?unread=true&limit=100`, who.token)).conversations.map((x: { id: string }) => x.id);
    for (const who of [editor, viewer, owner]) assert.deepEqual(await count(who), { count: (await listed(who)).length, more: false });
    const before = (await count(viewer)).count;
    assert.ok(before > 0);
    for (const id of await listed(editor)) await ok(t, 'POST', `${base()}/conversations/${id}/read`, editor.token, undefined, 204);
    assert.deepEqual(await count(editor), { count: 0, more: false });
    assert.equal((await count(viewer)).count, before, 'the viewer\'s count is theirs');
    await ok(t, 'DELETE', `${base()}/conversations/${c.german}/read`, editor.token, undefined, 204);
    assert.equal((await count(editor)).count, 1);
    await simSay(sim(), { user: account.simUser, postId: post.remoteId, text: 'unread count?' });
    await account.collect();
    assert.equal((await count(editor)).count, 2, 'a new message in a read conversation makes it unread');
    assert.deepEqual((await listed(editor)).sort(), [c.german, c.thread].sort());

    const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'counter', scopes: ['read'] }, 201);
    assert.deepEqual(await count({ token: key.key }), await count(owner));
  });
});

describe('triage', () => {
  test('assign, done, reopen, unassign; each change audited', async () => {
    const patch = (body: unknown, who = editor) => t.call('PATCH', `${base()}/conversations/${c.german}`, { token: who.token, body });
    let r = await patch({ assigneeId: editor.id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.state, 'assigned');
    assert.equal(r.body.assigneeId, editor.id);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?assignee=me`, editor.token)).conversations.map((x: { id: string }) => x.id), [c.german]);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?assignee=${editor.id}&state=assigned`, owner.token)).conversations.map((x: { id: string }) => x.id), [c.german]);
    assert.ok(!(await ok(t, 'GET', `${base()}/conversations?assignee=none`, owner.token)).conversations.some((x: { id: string }) => x.id === c.german));
    r = await patch({ state: 'done' });
    assert.equal(r.body.state, 'done');
    assert.equal(r.body.assigneeId, editor.id, 'done keeps the assignee');
    r = await patch({ state: 'open' });
    assert.equal(r.body.state, 'assigned', 'reopened to its assignee');
    r = await patch({ assigneeId: null });
    assert.equal(r.body.state, 'open');
    assert.equal(r.body.assigneeId, null);
    r = await patch({ assigneeId: 'me' }, owner);
    assert.equal(r.body.assigneeId, owner.id);
    const entries = await t.running.services.db.select().from(auditLog).where(and(eq(auditLog.workspaceId, ws), eq(auditLog.targetId, c.german), eq(auditLog.action, 'inbox.conversation.updated')));
    assert.equal(entries.length, 5);
    assert.deepEqual(entries.find((e) => (e.details as { state?: { to: string } }).state?.to === 'done')?.details, { state: { from: 'assigned', to: 'done' } });
  });

  test('an assignee must be a member who may act: a viewer or a stranger is refused, naming the field', async () => {
    const stranger = await person(t);
    for (const [assigneeId, code] of [[viewer.id, 'ASSIGNEE_CANNOT_ANSWER'], [stranger.id, 'ASSIGNEE_NOT_MEMBER']] as const) {
      const r = await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: editor.token, body: { assigneeId } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, code);
      assert.equal(r.body.details[0].field, 'body.assigneeId');
    }
    assert.equal((await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: editor.token, body: {} })).status, 400, 'an empty change');
  });

  test('labels: made, put on and taken off conversations, filtered on, renamed; a name is unique whatever its case; deleting one takes it off', async () => {
    const urgent = await ok(t, 'POST', `${base()}/labels`, editor.token, { name: 'Urgent', color: '#FF0000' }, 201);
    assert.equal(urgent.color, '#ff0000');
    const dup = await t.call('POST', `${base()}/labels`, { token: editor.token, body: { name: ' urgent ' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'NAME_TAKEN');
    const billing = await ok(t, 'POST', `${base()}/labels`, editor.token, { name: 'billing' }, 201);
    const r = await ok(t, 'PATCH', `${base()}/conversations/${c.thread}`, editor.token, { addLabelIds: [urgent.id, billing.id] });
    assert.deepEqual(r.labels.map((l: { name: string }) => l.name), ['billing', 'Urgent']);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?labelId=${urgent.id}`, viewer.token)).conversations.map((x: { id: string }) => x.id), [c.thread]);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?labelId=${urgent.id}&state=done`, viewer.token)).conversations, []);
    const removed = await ok(t, 'PATCH', `${base()}/conversations/${c.thread}`, editor.token, { removeLabelIds: [billing.id] });
    assert.deepEqual(removed.labels.map((l: { name: string }) => l.name), ['Urgent']);
    await ok(t, 'PATCH', `${base()}/labels/${urgent.id}`, editor.token, { name: 'Very urgent' });
    const pages = await ok(t, 'GET', `${base()}/labels?limit=1`, viewer.token);
    assert.equal(pages.labels[0].name, 'billing');
    assert.equal((await ok(t, 'GET', `${base()}/labels?limit=1&cursor=${pages.nextCursor}`, viewer.token)).labels[0].name, 'Very urgent');
    // A new message moves the conversation to the top of its label's list too.
    await simSay(sim(), { user: account.simUser, postId: post.remoteId, text: 'any news?' });
    await account.collect();
    const spare = await ok(t, 'POST', `${base()}/labels`, editor.token, { name: 'spare' }, 201);
    await ok(t, 'PATCH', `${base()}/conversations/${c.german}`, editor.token, { addLabelIds: [urgent.id, spare.id] });
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?labelId=${urgent.id}`, viewer.token)).conversations.map((x: { id: string }) => x.id), [c.thread, c.german]);
    await ok(t, 'DELETE', `${base()}/labels/${urgent.id}`, editor.token, undefined, 204);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations/${c.thread}`, viewer.token)).labels, []);
    const unknown = await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: editor.token, body: { addLabelIds: [urgent.id] } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'LABEL_NOT_FOUND');
  });

  test('bulk: done over many at once; one id that is not here changes nothing', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const refused = await t.call('POST', `${base()}/conversations/bulk`, { token: editor.token, body: { ids: [c.thread, missing], state: 'done' } });
    assert.equal(refused.status, 404);
    assert.match(refused.body.message, new RegExp(missing));
    assert.notEqual((await ok(t, 'GET', `${base()}/conversations/${c.thread}`, editor.token)).state, 'done', 'nothing changed');
    const r = await ok(t, 'POST', `${base()}/conversations/bulk`, editor.token, { ids: [c.thread, c.colours], state: 'done' });
    assert.deepEqual(r.conversations.map((x: { id: string; state: string }) => [x.id, x.state]), [[c.thread, 'done'], [c.colours, 'done']]);
    const label = await ok(t, 'POST', `${base()}/labels`, editor.token, { name: 'weekly' }, 201);
    const labelled = await ok(t, 'POST', `${base()}/conversations/bulk`, editor.token, { ids: [c.thread, c.german, c.colours], addLabelIds: [label.id], assigneeId: editor.id });
    assert.ok(labelled.conversations.every((x: { labels: { id: string }[]; assigneeId: string }) => x.labels.some((l) => l.id === label.id) && x.assigneeId === editor.id));
    assert.deepEqual(labelled.conversations.map((x: { state: string }) => x.state), ['assigned', 'assigned', 'assigned'], 'assigning makes a conversation assigned, done ones too');
  });
});

describe('notes and saved replies', () => {
  test('notes: added by those who act, shown inline with their author, deleted; viewers cannot add', async () => {
    const note = await ok(t, 'POST', `${base()}/conversations/${c.thread}/notes`, editor.token, { text: '  Refunds go through Sam  ' }, 201);
    assert.equal(note.text, 'Refunds go through Sam');
    assert.equal(note.authorId, editor.id);
    const r = await ok(t, 'GET', `${base()}/conversations/${c.thread}`, viewer.token);
    assert.deepEqual(r.notes.map((n: { text: string }) => n.text), ['Refunds go through Sam']);
    assert.ok(r.notes[0].authorName);
    const refused = await t.call('POST', `${base()}/conversations/${c.thread}/notes`, { token: viewer.token, body: { text: 'me too' } });
    assert.equal(refused.status, 403);
    assert.equal((await t.call('POST', `${base()}/conversations/${c.thread}/notes`, { token: editor.token, body: { text: '   ' } })).status, 400);
    await ok(t, 'DELETE', `${base()}/conversations/${c.thread}/notes/${note.id}`, owner.token, undefined, 204);
    assert.equal((await t.call('DELETE', `${base()}/conversations/${c.thread}/notes/${note.id}`, { token: owner.token })).status, 404);
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations/${c.thread}`, viewer.token)).notes, []);
  });

  test('saved replies: variables checked when saved and filled in for an answer; unique names; pages by name', async () => {
    const bad = await t.call('POST', `${base()}/saved-replies`, { token: editor.token, body: { name: 'Bad', text: 'Hi {first_name}' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'UNKNOWN_VARIABLE');
    assert.match(bad.body.message, /\{first_name\}/);
    const thanks = await ok(t, 'POST', `${base()}/saved-replies`, editor.token, { name: 'Thanks', text: 'Thanks {author_name} ({author_handle})! {member_name} from {account_handle} {not a variable}' }, 201);
    assert.deepEqual(thanks.variables, ['author_name', 'author_handle', 'member_name', 'account_handle']);
    assert.equal((await t.call('POST', `${base()}/saved-replies`, { token: editor.token, body: { name: 'THANKS', text: 'x' } })).status, 409);
    await ok(t, 'POST', `${base()}/saved-replies`, editor.token, { name: 'Apology', text: 'Sorry!' }, 201);
    const page = await ok(t, 'GET', `${base()}/saved-replies?limit=1`, viewer.token);
    assert.equal(page.savedReplies[0].name, 'Apology');
    assert.equal((await ok(t, 'GET', `${base()}/saved-replies?cursor=${page.nextCursor}`, viewer.token)).savedReplies[0].name, 'Thanks');
    const thread = await ok(t, 'GET', `${base()}/conversations/${c.thread}`, owner.token);
    const ada = thread.messages.find((m: { author: { handle: string } }) => m.author.handle === 'ada.l');
    const rendered = await ok(t, 'POST', `${base()}/conversations/${c.thread}/render-reply`, owner.token, { savedReplyId: thanks.id, messageId: ada.id });
    assert.equal(rendered.text, 'Thanks Ada Lovelace (@ada.l)! Olivia Owner from @sandbox_shop {not a variable}');
    assert.deepEqual(rendered.missing, []);
    assert.equal(rendered.messageId, ada.id);
    const latest = await ok(t, 'POST', `${base()}/conversations/${c.thread}/render-reply`, owner.token, { savedReplyId: thanks.id });
    assert.notEqual(latest.messageId, ada.id, 'by default the newest inbound message');
    await ok(t, 'PATCH', `${base()}/saved-replies/${thanks.id}`, editor.token, { text: 'Thank you {author_name}' });
    assert.equal((await ok(t, 'GET', `${base()}/saved-replies/${thanks.id}`, viewer.token)).text, 'Thank you {author_name}');
    assert.equal((await t.call('POST', `${base()}/saved-replies`, { token: viewer.token, body: { name: 'V', text: 'v' } })).status, 403);
    await ok(t, 'DELETE', `${base()}/saved-replies/${thanks.id}`, editor.token, undefined, 204);
    assert.equal((await t.call('GET', `${base()}/saved-replies/${thanks.id}`, { token: viewer.token })).status, 404);
  });
});

describe('permissions', () => {
  test('viewers read everything and change nothing', async () => {
    await ok(t, 'GET', `${base()}/conversations`, viewer.token);
    await ok(t, 'GET', `${base()}/labels`, viewer.token);
    for (const [method, path, body] of [
      ['PATCH', `${base()}/conversations/${c.thread}`, { state: 'done' }],
      ['POST', `${base()}/conversations/bulk`, { ids: [c.thread], state: 'done' }],
      ['POST', `${base()}/labels`, { name: 'nope' }],
    ] as const) {
      const r = await t.call(method, path, { token: viewer.token, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.details.permission, 'inbox.write');
    }
  });

  test('API keys: the read scope reads, the write scope acts', async () => {
    const readKey = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'reader', scopes: ['read'] }, 201);
    const writeKey = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'writer', scopes: ['write'] }, 201);
    await ok(t, 'GET', `${base()}/conversations`, readKey.key);
    assert.equal((await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: readKey.key, body: { state: 'open' } })).status, 403);
    const r = await ok(t, 'PATCH', `${base()}/conversations/${c.thread}`, writeKey.key, { state: 'done' });
    assert.equal(r.state, 'done');
  });
});

describe('another workspace\'s conversations: 404, and nothing learned', () => {
  let outsider: Person;
  let wsB: string;
  let theirs: string;
  let theirLabel: string;
  let theirReply: string;

  before(async () => {
    outsider = await person(t);
    wsB = await newWorkspace(t, outsider, 'Rival');
    const acc = await sandboxInbox(t, wsB, outsider, { simUser: 'rival', postText: 'Rival launch' });
    await simSay(sim(), { user: acc.simUser, postId: acc.post.remoteId, text: 'secret refund plans for rival' });
    await acc.collect();
    theirs = (await ok(t, 'GET', `${base(wsB)}/conversations`, outsider.token)).conversations[0].id;
    theirLabel = (await ok(t, 'POST', `${base(wsB)}/labels`, outsider.token, { name: 'rival-label' }, 201)).id;
    theirReply = (await ok(t, 'POST', `${base(wsB)}/saved-replies`, outsider.token, { name: 'rival-reply', text: 'hi' }, 201)).id;
  });

  test('through B\'s own paths: 404 like a workspace that does not exist', async () => {
    for (const path of [`${base(wsB)}/conversations`, `${base(wsB)}/conversations/${theirs}`, `${base(wsB)}/labels`, `${base(wsB)}/sources`, `${base(wsB)}/unread`]) {
      const r = await t.call('GET', path, { token: owner.token });
      assert.equal(r.status, 404, path);
      assert.equal(r.body.code, 'NOT_FOUND');
    }
    assert.equal((await t.call('PATCH', `${base(wsB)}/conversations/${theirs}`, { token: owner.token, body: { state: 'done' } })).status, 404);
  });

  test('through A\'s paths with B\'s ids: every read and every change is a 404, and B\'s conversation is untouched', async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', `${base()}/conversations/${theirs}`],
      ['GET', `${base()}/conversations/${theirs}/messages`],
      ['PATCH', `${base()}/conversations/${theirs}`, { state: 'done' }],
      ['POST', `${base()}/conversations/bulk`, { ids: [theirs], state: 'done' }],
      ['POST', `${base()}/conversations/bulk`, { ids: [c.thread, theirs], assigneeId: owner.id }],
      ['POST', `${base()}/conversations/${theirs}/read`],
      ['DELETE', `${base()}/conversations/${theirs}/read`],
      ['POST', `${base()}/conversations/${theirs}/notes`, { text: 'hello from A' }],
      ['POST', `${base()}/conversations/${theirs}/render-reply`, { savedReplyId: theirReply }],
      ['POST', `${base()}/conversations/${c.thread}/render-reply`, { savedReplyId: theirReply }],
      ['PATCH', `${base()}/labels/${theirLabel}`, { name: 'mine now' }],
      ['DELETE', `${base()}/labels/${theirLabel}`],
      ['GET', `${base()}/saved-replies/${theirReply}`],
      ['PATCH', `${base()}/saved-replies/${theirReply}`, { text: 'mine now' }],
      ['DELETE', `${base()}/saved-replies/${theirReply}`],
    ];
    for (const [method, path, body] of attempts) {
      const r = await t.call(method, path, { token: owner.token, ...(body ? { body } : {}) });
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.ok(!JSON.stringify(r.body).includes('rival'), 'nothing of B in the answer');
    }
    const b = await ok(t, 'GET', `${base(wsB)}/conversations/${theirs}`, outsider.token);
    assert.equal(b.state, 'open');
    assert.equal(b.assigneeId, null);
    assert.deepEqual(b.notes, []);
    assert.equal(b.unread, true);
    assert.equal((await ok(t, 'GET', `${base(wsB)}/labels`, outsider.token)).labels[0].name, 'rival-label');
    assert.equal((await ok(t, 'GET', `${base(wsB)}/saved-replies/${theirReply}`, outsider.token)).text, 'hi');
  });

  test('the unread count is per workspace: B\'s member counts B\'s conversation, A\'s members never do, and cannot read B\'s count (404)', async () => {
    assert.deepEqual(await ok(t, 'GET', `${base(wsB)}/unread`, outsider.token), { count: 1, more: false });
    const mine = await ok(t, 'GET', `${base()}/unread`, owner.token);
    const listed = (await ok(t, 'GET', `${base()}/conversations?unread=true&limit=100`, owner.token)).conversations.map((x: { id: string }) => x.id);
    assert.equal(mine.count, listed.length);
    assert.ok(!listed.includes(theirs));
    const r = await t.call('GET', `${base(wsB)}/unread`, { token: editor.token });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal((await t.call('GET', `${base()}/unread`, { token: outsider.token })).status, 404);
  });

  test('B\'s labels and members cannot be used in A, B\'s messages are not found by A\'s search, B\'s accounts are not listed', async () => {
    const label = await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: owner.token, body: { addLabelIds: [theirLabel] } });
    assert.equal(label.status, 400);
    assert.equal(label.body.code, 'LABEL_NOT_FOUND');
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?labelId=${theirLabel}`, owner.token)).conversations, []);
    const assign = await t.call('PATCH', `${base()}/conversations/${c.thread}`, { token: owner.token, body: { assigneeId: outsider.id } });
    assert.equal(assign.status, 400);
    assert.equal(assign.body.code, 'ASSIGNEE_NOT_MEMBER');
    assert.deepEqual((await ok(t, 'GET', `${base()}/conversations?q=rival`, owner.token)).conversations, []);
    assert.equal((await ok(t, 'GET', `${base(wsB)}/conversations?q=rival`, outsider.token)).conversations.length, 1, 'the search does find it in B');
    const sources = await ok(t, 'GET', `${base()}/sources`, owner.token);
    assert.ok(sources.accounts.every((a: { username: string }) => !a.username.includes('rival')));
  });
});

describe('webhook event inbox.conversation.assigned', () => {
  type Event = { id: string; type: string; data: Record<string, unknown> };
  async function hook(workspace: string, events: string[]): Promise<string> {
    return (await ok(t, 'POST', `/api/workspaces/${workspace}/webhooks`, owner.token, { url: 'https://hook.invalid/assigned', events }, 201)).webhook.id as string;
  }
  const eventsOf = async (webhookId: string) => (await t.running.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId)).orderBy(webhookDeliveries.createdAt))
    .map((d) => d.payload as unknown as Event);
  const assigneeOf = async (id: string) => (await ok(t, 'GET', `${base()}/conversations/${id}`, owner.token)).assigneeId as string | null;

  test('a change of assignee, one at a time or in bulk, is one event each with the previous and new assignee; the same assignee again is none; another workspace hears nothing', async () => {
    await ok(t, 'PATCH', `${base()}/conversations/${c.colours}`, owner.token, { assigneeId: null });
    const mine = await hook(ws, ['inbox.conversation.assigned']);
    const other = await newWorkspace(t, owner, 'Elsewhere');
    const theirs = await hook(other, ['inbox.conversation.assigned', 'inbox.message.created']);

    await ok(t, 'PATCH', `${base()}/conversations/${c.colours}`, editor.token, { assigneeId: editor.id });
    let events = await eventsOf(mine);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'inbox.conversation.assigned');
    assert.deepEqual(events[0]!.data, {
      workspaceId: ws, conversationId: c.colours, accountId: account.id, provider: 'sandbox',
      previousAssigneeId: null, assigneeId: editor.id, state: 'assigned', assignedBy: { userId: editor.id },
    });

    await ok(t, 'PATCH', `${base()}/conversations/${c.colours}`, editor.token, { assigneeId: editor.id });
    await ok(t, 'PATCH', `${base()}/conversations/${c.colours}`, editor.token, { state: 'done' });
    assert.equal((await eventsOf(mine)).length, 1, 'the same assignee again, or another change, is no event');

    const threadBefore = await assigneeOf(c.thread);
    await ok(t, 'POST', `${base()}/conversations/bulk`, owner.token, { ids: [c.thread, c.colours], assigneeId: owner.id });
    events = await eventsOf(mine);
    const bulk = events.slice(1).map((e) => e.data);
    assert.deepEqual(bulk.map((d) => [d.conversationId, d.previousAssigneeId, d.assigneeId]).sort(),
      [[c.thread, threadBefore, owner.id], [c.colours, editor.id, owner.id]].sort());
    assert.equal(new Set(events.map((e) => e.id)).size, 3);
    await ok(t, 'POST', `${base()}/conversations/bulk`, owner.token, { ids: [c.thread, c.colours], assigneeId: owner.id });
    assert.equal((await eventsOf(mine)).length, 3, 'a bulk assignment to the same member again is none');

    await ok(t, 'PATCH', `${base()}/conversations/${c.colours}`, owner.token, { assigneeId: null });
    events = await eventsOf(mine);
    assert.equal(events.length, 4);
    assert.deepEqual([events[3]!.data.previousAssigneeId, events[3]!.data.assigneeId], [owner.id, null], 'unassigning says so');
    assert.deepEqual(await eventsOf(theirs), [], 'another workspace\'s webhook gets nothing');
  });

  test('a change that rolls back: no assignment and no event', async () => {
    const mine = await hook(ws, ['inbox.conversation.assigned']);
    const r = t.running;
    const webhooks = r.services.webhooks;
    // The emitter writes its deliveries, then the transaction fails (as a later write of the change would).
    const failing = new InboxService({
      db: r.services.db, store: r.store, registry: r.services.registry, accounts: r.services.accounts, metrics: r.metrics, log: quietLogger(),
      options: { pollIntervalMs: 3_600_000, pagesPerRun: 1, backoffMaxMs: 3_600_000 }, roleOf: (w, u) => r.services.workspaces.roleOf(w, u),
      events: {
        emit: (tx, w, e, d) => webhooks.emit(tx, w, e, d),
        emitMany: async (tx, w, e, d) => { await webhooks.emitMany(tx, w, e, d); throw new Error('the change failed after its event'); },
      },
    });
    const was = await assigneeOf(c.german);
    const to = was === editor.id ? owner.id : editor.id;
    await assert.rejects(failing.triage.change(ws, [c.german], { assigneeId: to }, { actorUserId: owner.id }), /the change failed/);
    assert.equal(await assigneeOf(c.german), was);
    assert.deepEqual(await eventsOf(mine), []);
  });
});
