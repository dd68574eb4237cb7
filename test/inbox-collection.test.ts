// Inbox collection end to end against the Sandbox network on the in-process simulator: comments, replies
// and mentions threaded into conversations (a post's linked to the AllIN target that published it), page
// by page with the cursor kept between runs, a 429 in the middle of paging, a token that expires between
// pages, edits, deletions and hiding, push and poll delivering the same comment, the read budget, the
// scheduler and the worker collecting on their own, and the metrics.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, asc, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simChange, simKnobs, simSay } from './support/social.ts';
import { parseMetrics, value } from './support/metrics.ts';
import { quietLogger } from './support/env.ts';
import { DEFAULT_KNOBS } from '../tools/provider-sim/core.ts';
import { inboxCollectionCursors, inboxConversations, inboxMessages } from '../src/modules/inbox/schema.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { webhookDeliveries } from '../src/modules/webhooks/schema.ts';
import { InboxService } from '../src/modules/inbox/index.ts';
import type { InboxItem } from '../src/providers/types.ts';

let t: TestApp;
let owner: string;
let ws: string;
const db = () => t.running.services.db;
const inbox = () => t.running.services.inbox;
const sim = () => t.running.simulatorUrl!;

before(async () => {
  // Polls and the scheduler far apart: each test runs the collections itself, in its own order.
  t = await startTestApp({ INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000', INBOX_PAGES_PER_RUN: '3' }, 'start');
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Inbox' } })).body.id;
  await simKnobs(sim(), 'sandbox', { inboxRatePerMinute: 0 });
});
after(() => t.stop());

let users = 0;
/** A Sandbox account of its own (its own user on the network), with its cursor row; returns ids. */
async function account(): Promise<{ id: string; simUser: string; externalId: string }> {
  const simUser = `inbox-${++users}`;
  const id = await connectSandbox(t, owner, ws, simUser);
  await inbox().scheduler.ensureCursors();
  const [row] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, id));
  return { id, simUser, externalId: row!.externalId };
}

/** Publishes a post now through AllIN and waits for it; returns the target and its id on the network. */
async function publish(accountId: string, text: string): Promise<{ targetId: string; remoteId: string }> {
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner, body: { text, targets: [{ accountId }], schedule: { now: true } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await eventually(async () => {
    const p = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner });
    const tg = p.body.targets?.[0];
    return tg?.state === 'published' ? tg : undefined;
  }, 30_000, 'the post to be published');
  return { targetId: target.id, remoteId: target.remoteId };
}

/** A post of the account on the network, for tests that need only its id (the simulator takes any). */
const postOf = (a: { simUser: string }) => ({ remoteId: `post-${a.simUser}` });
const collect = (accountId: string) => inbox().collector.run(accountId, 'inbox');
/** As if the next poll were due now. */
const due = (accountId: string) => db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
const conversationsOf = (accountId: string) => db().select().from(inboxConversations).where(eq(inboxConversations.accountId, accountId)).orderBy(asc(inboxConversations.createdAt));
const messagesOf = (accountId: string) => db().select().from(inboxMessages).where(eq(inboxMessages.accountId, accountId)).orderBy(asc(inboxMessages.createdOnNetwork), asc(inboxMessages.remoteId));
const cursorOf = async (accountId: string) => (await db().select().from(inboxCollectionCursors).where(eq(inboxCollectionCursors.accountId, accountId)))[0]!;

describe('collecting', () => {
  test('comments, a reply and a mention become a post thread (linked to its target) and a mention; a second run adds nothing', async () => {
    const a = await account();
    const post = await publish(a.id, 'What do you think?');
    const c1 = await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'Is it vegan?', lang: 'en-US', author: { id: 'p1', username: 'pat', name: 'Pat' } });
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, parentId: c1.id, text: 'Yes, all of it.' });
    const m = await simSay(sim(), { user: a.simUser, kind: 'mention', text: '@you nice shop' });

    assert.equal(await collect(a.id), 'collected');
    const convs = await conversationsOf(a.id);
    assert.equal(convs.length, 2);
    const thread = convs.find((c) => c.kind === 'post_thread')!;
    assert.equal(thread.rootRemoteId, post.remoteId);
    assert.equal(thread.targetId, post.targetId, 'linked to the AllIN target that published it');
    assert.equal(thread.rootText, 'What do you think?');
    assert.equal(thread.messageCount, 2);
    assert.equal(thread.inboundSeq, 2);
    assert.equal(thread.hasQuestion, true);
    assert.equal(thread.state, 'open');
    assert.equal(thread.workspaceId, ws);
    const mention = convs.find((c) => c.kind === 'mention')!;
    assert.equal(mention.rootRemoteId, m.id);
    assert.equal(mention.hasQuestion, false);
    const msgs = await messagesOf(a.id);
    assert.equal(msgs.length, 3);
    const first = msgs.find((x) => x.remoteId === c1.id)!;
    assert.equal(first.language, 'en');
    assert.equal(first.direction, 'inbound');
    assert.equal(first.authorHandle, 'pat');
    assert.equal(first.conversationId, thread.id);
    assert.equal(msgs.find((x) => x.text === 'Yes, all of it.')!.parentRemoteId, c1.id);

    const cursor = await cursorOf(a.id);
    assert.equal(cursor.failures, 0);
    assert.ok(cursor.lastSuccessAt);
    assert.ok(cursor.nextPollAt.getTime() > Date.now() + 3_000_000, 'the next poll is an interval away');
    assert.equal(await collect(a.id), 'skipped', 'not due');
    await due(a.id);
    assert.equal(await collect(a.id), 'collected');
    assert.equal((await messagesOf(a.id)).length, 3, 'nothing twice');
  });

  test('more pages than a run reads: the next run carries on from the cursor, at once', async () => {
    await simKnobs(sim(), 'sandbox', { inboxPageSize: 2 });
    try {
      const a = await account();
      const post = postOf(a);
      for (let i = 1; i <= 9; i++) await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: `comment ${i}` });
      const runs = async () => value(parseMetrics(await t.running.metrics.render()), 'allin_inbox_collections_total', { provider: 'sandbox', outcome: 'collected' }) ?? 0;
      const runsBefore = await runs();
      assert.equal(await collect(a.id), 'collected');
      assert.ok((await messagesOf(a.id)).length >= 6, 'three pages of two');
      // More is waiting: the run added its next job for now, and the worker carries on.
      await eventually(async () => (await messagesOf(a.id)).length === 9, 20_000, 'the next run to read the rest');
      // The second run is counted once it has given its row back, a moment after its last page was stored.
      await eventually(async () => await runs() >= runsBefore + 2, 10_000, 'two runs: a run reads at most INBOX_PAGES_PER_RUN pages');
      const msgs = await messagesOf(a.id);
      assert.deepEqual(msgs.map((m) => m.text), Array.from({ length: 9 }, (_, i) => `comment ${i + 1}`));
      const [conv] = await conversationsOf(a.id);
      assert.equal(conv!.messageCount, 9);
    } finally {
      await simKnobs(sim(), 'sandbox', { inboxPageSize: DEFAULT_KNOBS.inboxPageSize });
    }
  });

  test('a 429 in the middle of paging: the pages before it are kept, the next run waits Retry-After and carries on, nothing twice', async () => {
    await simKnobs(sim(), 'sandbox', { inboxPageSize: 2, inboxRateLimitAfter: 1, retryAfterSeconds: 120 });
    try {
      const a = await account();
      const post = postOf(a);
      for (let i = 1; i <= 5; i++) await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: `busy ${i}` });
      const before = Date.now();
      assert.equal(await collect(a.id), 'rate_limited');
      assert.deepEqual((await messagesOf(a.id)).map((m) => m.text), ['busy 1', 'busy 2']);
      const cursor = await cursorOf(a.id);
      assert.equal(cursor.failures, 1);
      assert.match(cursor.lastError!, /rate limited/);
      assert.ok(cursor.backoffUntil!.getTime() >= before + 120_000, 'never sooner than Retry-After');
      assert.ok(cursor.nextPollAt.getTime() >= before + 120_000);
      assert.equal(cursor.holder, null);
      assert.equal(await collect(a.id), 'skipped', 'backing off');
      await due(a.id);
      assert.equal(await collect(a.id), 'collected');
      assert.deepEqual((await messagesOf(a.id)).map((m) => m.text), ['busy 1', 'busy 2', 'busy 3', 'busy 4', 'busy 5']);
      const after = await cursorOf(a.id);
      assert.equal(after.failures, 0);
      assert.equal(after.lastError, null);
    } finally {
      await simKnobs(sim(), 'sandbox', { inboxPageSize: DEFAULT_KNOBS.inboxPageSize, retryAfterSeconds: DEFAULT_KNOBS.retryAfterSeconds, inboxRateLimitAfter: -1 });
    }
  });

  test('a token that expires between pages is refreshed once and the run goes on', async () => {
    await simKnobs(sim(), 'sandbox', { inboxPageSize: 1, inboxExpireTokensAfter: 1 });
    try {
      const a = await account();
      const post = postOf(a);
      for (const text of ['late', 'later']) await simSay(sim(), { user: a.simUser, postId: post.remoteId, text });
      const stats = async () => ((await (await fetch(`${sim()}/_sim/sandbox/stats`)).json()) as { refreshCalls: number }).refreshCalls;
      const refreshes = await stats();
      assert.equal(await collect(a.id), 'collected');
      assert.deepEqual((await messagesOf(a.id)).map((m) => m.text), ['late', 'later']);
      assert.equal(await stats(), refreshes + 1);
      const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
      assert.equal(acc!.status, 'active');
    } finally {
      await simKnobs(sim(), 'sandbox', { inboxPageSize: DEFAULT_KNOBS.inboxPageSize, inboxExpireTokensAfter: -1 });
    }
  });

  test('a revoked account: the failure is recorded, the account needs reconnecting, no job is added', async () => {
    const a = await account();
    await fetch(`${sim()}/_sim/sandbox/revoke-all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: a.simUser }) });
    assert.equal(await collect(a.id), 'failed');
    const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
    assert.equal(acc!.status, 'needs_reconnect');
    const cursor = await cursorOf(a.id);
    assert.equal(cursor.failures, 1);
    const jobs = await db().execute(sql`select 1 from graphile_worker.jobs where key = ${`inbox:${a.id}:inbox`}`);
    assert.equal(jobs.rows.length, 0);
    await due(a.id);
    assert.equal(await inbox().scheduler.enqueueDue() >= 0, true);
    const again = await db().execute(sql`select 1 from graphile_worker.jobs where key = ${`inbox:${a.id}:inbox`}`);
    assert.equal(again.rows.length, 0, 'the scheduler leaves an account that needs reconnecting alone');
  });
});

describe('changes', () => {
  test('an edit replaces the text, hiding is kept, a deletion drops the text and the question mark', async () => {
    const a = await account();
    const post = postOf(a);
    const c = await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'Where is it?' });
    const d = await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'first!' });
    await collect(a.id);
    let [conv] = await conversationsOf(a.id);
    assert.equal(conv!.hasQuestion, true);
    assert.equal(conv!.messageCount, 2);

    await simChange(sim(), d.id, { text: 'first! (sorry)' });
    await simChange(sim(), d.id, { hidden: true });
    await simChange(sim(), c.id, 'delete');
    await due(a.id);
    await collect(a.id);
    const msgs = await messagesOf(a.id);
    const edited = msgs.find((m) => m.remoteId === d.id)!;
    assert.equal(edited.text, 'first! (sorry)');
    assert.equal(edited.edited, true);
    assert.ok(edited.editedAt);
    assert.equal(edited.hidden, true);
    const gone = msgs.find((m) => m.remoteId === c.id)!;
    assert.equal(gone.deleted, true);
    assert.equal(gone.text, '');
    [conv] = await conversationsOf(a.id);
    assert.equal(conv!.hasQuestion, false, 'the only question was deleted');
    assert.equal(conv!.messageCount, 1);
  });

  test('push and poll deliver the same comment at once: one message; an older state never replaces a newer one', async () => {
    const a = await account();
    const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
    const base: InboxItem = {
      remoteId: `push-${a.id}`, kind: 'comment', rootRemoteId: 'someone-else-s-post', author: { remoteId: 'fan', handle: 'fan' },
      text: 'original', createdAt: new Date(Date.now() - 60_000),
    };
    const store = (items: InboxItem[]) => db().transaction((tx) => inbox().ingest.store(tx, acc!, items, new Date()));
    const results = await Promise.all([store([base]), store([base]), store([base, base])]);
    assert.equal(results.reduce((n, r) => n + r.created.length, 0), 1, 'created once');
    assert.equal((await messagesOf(a.id)).length, 1);
    const [conv] = await conversationsOf(a.id);
    assert.equal(conv!.messageCount, 1);

    await store([{ ...base, text: 'edited later', editedAt: new Date(Date.now() - 1000) }]);
    await store([{ ...base, text: 'edited earlier', editedAt: new Date(Date.now() - 30_000) }]);
    await store([base]);
    const [m] = await messagesOf(a.id);
    assert.equal(m!.text, 'edited later');
    await store([{ ...base, deleted: true, text: '' }]);
    await store([{ ...base, text: 'back from the dead', editedAt: new Date() }]);
    const [final] = await messagesOf(a.id);
    assert.equal(final!.deleted, true, 'a deletion is final');
    assert.equal(final!.text, '');
  });

  test('a new comment reopens a done conversation (assigned again when it has an assignee); the account\'s own answer does not', async () => {
    const a = await account();
    const post = postOf(a);
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'hello' });
    await collect(a.id);
    const [conv] = await conversationsOf(a.id);
    await db().update(inboxConversations).set({ state: 'done' }).where(eq(inboxConversations.id, conv!.id));
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'thanks', author: { id: a.externalId, username: 'me' } });
    await due(a.id);
    await collect(a.id);
    let [now] = await conversationsOf(a.id);
    assert.equal(now!.state, 'done', 'our own message leaves it done');
    assert.equal((await messagesOf(a.id)).find((m) => m.text === 'thanks')!.direction, 'outbound');
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'one more thing' });
    await due(a.id);
    await collect(a.id);
    [now] = await conversationsOf(a.id);
    assert.equal(now!.state, 'open');
  });
});

describe('budget, scheduling and metrics', () => {
  test('over the read budget: no call to the network, the next poll when the budget has room', async () => {
    const a = await account();
    const r = t.running;
    const tight = new InboxService({
      db: r.services.db, store: r.store, registry: r.services.registry, accounts: r.services.accounts, metrics: r.metrics, log: quietLogger(),
      options: { pollIntervalMs: 3_600_000, pagesPerRun: 5, backoffMaxMs: 3_600_000 }, budgets: { sandbox: '1/600' },
    });
    await simKnobs(sim(), 'sandbox', { inboxPageSize: 1 });
    try {
      const post = postOf(a);
      for (const text of ['b1', 'b2']) await simSay(sim(), { user: a.simUser, postId: post.remoteId, text });
      const reads = async () => ((await (await fetch(`${sim()}/_sim/sandbox/stats`)).json()) as { requests: number }).requests;
      const before = await reads();
      assert.equal(await tight.collector.run(a.id, 'inbox'), 'over_budget');
      assert.equal(await reads(), before + 1, 'one page read, the second not asked for');
      assert.deepEqual((await messagesOf(a.id)).map((m) => m.text), ['b1']);
      const cursor = await cursorOf(a.id);
      assert.ok(cursor.nextPollAt.getTime() > Date.now() + 500_000, 'waits for the budget');
      assert.equal(cursor.failures, 0, 'not a failure');
    } finally {
      await simKnobs(sim(), 'sandbox', { inboxPageSize: DEFAULT_KNOBS.inboxPageSize });
    }
  });

  test('the scheduler gives every active account a cursor and a job, and the worker collects on its own', async () => {
    const a = await account();
    const post = postOf(a);
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'found by the worker' });
    const { jobs } = await inbox().scheduler.run();
    assert.ok(jobs >= 1);
    await eventually(async () => (await messagesOf(a.id)).some((m) => m.text === 'found by the worker'), 20_000, 'the worker to collect');
    // The run added its next job, an interval away.
    await eventually(async () => {
      const r = await db().execute<{ run_at: Date }>(sql`select run_at from graphile_worker.jobs where key = ${`inbox:${a.id}:inbox`}`);
      return r.rows.length === 1 && new Date(r.rows[0]!.run_at).getTime() > Date.now() + 3_000_000;
    }, 10_000, 'the next job, an interval away');
    assert.equal(await inbox().scheduler.enqueueDue(), 0, 'nothing due, nothing added');
  });

  test('metrics: messages by network and direction, collection lag, runs by outcome, backlog', async () => {
    const a = await account();
    const post = postOf(a);
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'a minute old', createdAt: new Date(Date.now() - 60_000).toISOString() });
    const before = parseMetrics(await t.running.metrics.render());
    const lagCount = (s: ReturnType<typeof parseMetrics>) => value(s, 'allin_inbox_collection_lag_seconds_count', { provider: 'sandbox' }) ?? 0;
    const slow = (s: ReturnType<typeof parseMetrics>) => lagCount(s) - (value(s, 'allin_inbox_collection_lag_seconds_bucket', { provider: 'sandbox', le: '30' }) ?? 0);
    await collect(a.id);
    const now = parseMetrics(await t.running.metrics.render());
    assert.equal(lagCount(now) - lagCount(before), 1);
    assert.equal(slow(now) - slow(before), 1, 'the lag is measured from the creation on the network');
    assert.ok((value(now, 'allin_inbox_messages_total', { provider: 'sandbox', direction: 'inbound' }) ?? 0) > (value(before, 'allin_inbox_messages_total', { provider: 'sandbox', direction: 'inbound' }) ?? 0));
    assert.ok((value(now, 'allin_inbox_collections_total', { provider: 'sandbox', outcome: 'collected' }) ?? 0) >= 1);
    assert.ok((value(now, 'allin_inbox_collection_errors_total', { provider: 'sandbox', kind: 'rate_limited' }) ?? 0) >= 1, 'the 429 of an earlier test');
    await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now() - interval '10 minutes'` }).where(and(eq(inboxCollectionCursors.accountId, a.id)));
    const late = parseMetrics(await t.running.metrics.render());
    assert.ok((value(late, 'allin_inbox_backlog', { provider: 'sandbox' }) ?? 0) >= 1);
    assert.ok((value(late, 'allin_inbox_backlog_oldest_seconds', { provider: 'sandbox' }) ?? 0) >= 590);
    await due(a.id);
  });
});

describe('webhook events', () => {
  /** A webhook of `workspace` subscribed to `events` (at a host that does not resolve: what is checked is what is written). */
  async function hook(workspace: string, events: string[]): Promise<string> {
    const r = await t.call('POST', `/api/workspaces/${workspace}/webhooks`, { token: owner, body: { url: 'https://hook.invalid/inbox', events } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.webhook.id as string;
  }
  type Event = { id: string; type: string; data: Record<string, unknown> };
  const eventsFor = async (webhookId: string, accountId: string) => (await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId)))
    .map((d) => d.payload as unknown as Event).filter((p) => p.type === 'inbox.message.created' && p.data.accountId === accountId);

  test('inbox.message.created: once per new message from someone else, with its excerpt; not for history, the account\'s own, a second collection, or another workspace', async () => {
    const mine = await hook(ws, ['inbox.message.created']);
    const notSubscribed = await hook(ws, ['inbox.conversation.assigned']);
    const other = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Inbox elsewhere' } })).body.id as string;
    const theirs = await hook(other, ['inbox.message.created']);
    const a = await account();
    const post = postOf(a);
    const q = await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'Is it in stock?', author: { id: 'fan-1', username: 'fan.one' } });
    const long = await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: `${'🙂'.repeat(300)} end`, author: { id: 'fan-2', username: 'fan.two' } });
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, text: 'from before the account was connected', createdAt: new Date(Date.now() - 3 * 3_600_000).toISOString() });
    await simSay(sim(), { user: a.simUser, postId: post.remoteId, parentId: q.id, text: 'Yes, all sizes', author: { id: a.externalId, username: a.simUser } });

    assert.equal(await collect(a.id), 'collected');
    const msgs = await messagesOf(a.id);
    assert.equal(msgs.length, 4);
    assert.equal(msgs.filter((m) => m.direction === 'outbound').length, 1, 'the account\'s own answer is stored as ours');
    const events = await eventsFor(mine, a.id);
    assert.deepEqual(events.map((e) => e.data.remoteId).sort(), [q.id, long.id].sort());
    const first = events.find((e) => e.data.remoteId === q.id)!;
    const stored = msgs.find((m) => m.remoteId === q.id)!;
    assert.deepEqual(first.data, {
      workspaceId: ws, conversationId: stored.conversationId, messageId: stored.id, accountId: a.id, provider: 'sandbox',
      remoteId: q.id, authorHandle: 'fan.one', createdAt: stored.createdOnNetwork.toISOString(), excerpt: 'Is it in stock?',
    });
    const cut = events.find((e) => e.data.remoteId === long.id)!.data.excerpt as string;
    assert.equal([...cut].length, 280, 'bounded, in characters');
    assert.ok(cut.endsWith('…') && cut.startsWith('🙂'));
    assert.equal(new Set(events.map((e) => e.id)).size, 2, 'an event each');

    await due(a.id);
    await db().update(inboxCollectionCursors).set({ cursor: null }).where(eq(inboxCollectionCursors.accountId, a.id));
    assert.equal(await collect(a.id), 'collected', 'everything read again from the start');
    assert.equal((await eventsFor(mine, a.id)).length, 2, 'a message read again is no new event');
    assert.equal((await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, notSubscribed))).length, 0);
    assert.equal((await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, theirs))).length, 0, 'another workspace\'s webhook gets nothing');
  });

  test('push and poll storing the same comment at once: one event; a transaction that rolls back: no message and no event', async () => {
    const mine = await hook(ws, ['inbox.message.created']);
    const a = await account();
    const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
    const item: InboxItem = { remoteId: `both-${a.id}`, kind: 'comment', rootRemoteId: 'a-post', author: { remoteId: 'fan', handle: 'fan' }, text: 'hello', createdAt: new Date() };
    const store = (items: InboxItem[]) => db().transaction((tx) => inbox().ingest.store(tx, acc!, items, new Date(), { eventsSince: acc!.connectedAt }));
    await Promise.all([store([item]), store([item]), store([item, item])]);
    assert.equal((await eventsFor(mine, a.id)).length, 1);

    await assert.rejects(db().transaction(async (tx) => {
      await inbox().ingest.store(tx, acc!, [{ ...item, remoteId: `rolled-back-${a.id}` }], new Date(), { eventsSince: acc!.connectedAt });
      throw new Error('the page could not be stored');
    }));
    assert.equal((await messagesOf(a.id)).length, 1);
    assert.equal((await eventsFor(mine, a.id)).length, 1);
  });
});
