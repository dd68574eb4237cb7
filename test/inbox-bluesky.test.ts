// A Bluesky account's inbox end to end, against the simulator's Bluesky: connected with a handle and an app
// password through the API, collected by the collection job from its two sources (notifications, threads),
// a reply under a post published through AllIN threaded into that post's conversation (linked to its target)
// once although both sources bring it, answered through the API and published once, the collected copy of
// the answer collapsing with it; then a 429 in the middle of paging and a session that expires between pages,
// through the collector (backoff, refresh and carry on).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { blueskyAccount } from '../tools/provider-sim/networks/bluesky.ts';
import type { NetworkState } from '../tools/provider-sim/core.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { quietLogger } from './support/env.ts';
import { inboxCollectionCursors, inboxConversations, inboxMessages } from '../src/modules/inbox/schema.ts';
import { socialAccounts } from '../src/modules/accounts/index.ts';
import { createBluesky, type BlueskyProvider } from '../src/providers/bluesky.ts';
import { HttpClient } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import type { AccountRef } from '../src/providers/types.ts';

const PASSWORD = 'abcd-efgh-ijkl-mnop';
let sim: Simulator;
let s: NetworkState;
let t: TestApp;
let http: HttpClient;
let p: BlueskyProvider;
let owner: Person;
let ws: string;
let bob: AccountRef;
const db = () => t.running.services.db;
const inbox = () => t.running.services.inbox;
const uri = (remoteId: string) => remoteId.split('|')[0]!;

let n = 0;
/** Connects a new Bluesky account (signed up by its first sign-in on the simulator) through the API. */
async function connect(): Promise<{ id: string; did: string; handle: string }> {
  const handle = `shop${++n}-${process.pid}.bsky.test`;
  const r = await t.call('POST', `/api/workspaces/${ws}/accounts/credentials`, { token: owner.token, body: { provider: 'bluesky', identifier: handle, password: PASSWORD } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.accounts[0].id as string;
  const [row] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, id));
  await inbox().scheduler.ensureCursors();
  return { id, did: row!.externalId, handle };
}

const due = (accountId: string) => db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()`, backoffUntil: null }).where(eq(inboxCollectionCursors.accountId, accountId));
/** Runs the collection of one source until a run of it ends as `want` (the worker may hold the row a moment). */
async function collect(accountId: string, source: string, want = 'collected'): Promise<void> {
  await due(accountId);
  await eventually(async () => (await inbox().collector.run(accountId, source)) === want, 20_000, `a ${source} run to end ${want}`);
}
const messagesOf = (accountId: string) => db().select().from(inboxMessages).where(eq(inboxMessages.accountId, accountId));

async function publish(accountId: string, text: string): Promise<{ targetId: string; remoteId: string }> {
  const post = await ok(t, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text, targets: [{ accountId }], schedule: { now: true } }, 201);
  const target = await eventually(async () => {
    const x = await ok(t, 'GET', `/api/workspaces/${ws}/posts/${post.id}`, owner.token);
    return ['published', 'failed', 'unknown'].includes(x.targets[0].state) ? x.targets[0] : undefined;
  }, 30_000, 'the post to be published');
  assert.equal(target.state, 'published', JSON.stringify(target));
  return { targetId: target.id, remoteId: target.remoteId };
}

let said = 0;
const say = async (text: string, replyTo?: string) => (await p.publish(bob, { text, media: [], marker: `bob-${++said}`, ...(replyTo ? { replyTo } : {}) })).remoteId;

before(async () => {
  sim = await startSimulator();
  s = sim.state('bluesky');
  t = await startTestApp({
    BLUESKY_SERVICE_URL: sim.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true',
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000', PUBLISH_BACKOFF_BASE_MS: '200', PUBLISH_BACKOFF_MAX_MS: '1000',
  }, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  http = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 4000, maxRetries: 1 });
  const base = sim.base('bluesky');
  p = createBluesky({ http, settings: { baseUrls: { service: base, plc: `${base}/plc`, appview: `${base}/appview` } } });
  blueskyAccount(s, { handle: 'bob.e2e.test', password: PASSWORD, displayName: 'Bob' });
  const signed = await p.signIn!('bob.e2e.test', PASSWORD);
  const [me] = await p.identities(signed.tokens, signed.host);
  bob = { externalId: me!.externalId, username: me!.username, tokens: signed.tokens, ...(signed.host ? { host: signed.host } : {}), data: me!.data ?? {} };
});
after(async () => {
  await http?.close();
  await t?.stop();
  await sim?.stop();
});

test('a reply under a post published through AllIN: one message in the post\'s conversation from both sources, answered once, the collected answer collapsing with it', async () => {
  const a = await connect();
  const sources = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/sources`, owner.token);
  const mine = sources.accounts.find((x: { accountId: string }) => x.accountId === a.id);
  assert.equal(mine.collection, 'collected', JSON.stringify(mine));
  assert.deepEqual(mine.sources.map((x: { id: string }) => x.id), ['notifications', 'threads']);
  // The first sweep of notifications marks where news begins.
  await collect(a.id, 'notifications');

  const post = await publish(a.id, 'New menu today');
  const question = await say('Is the soup vegan?', post.remoteId);
  const mention = await say(`Lunch at @${a.handle} was great`);
  await collect(a.id, 'notifications');
  await collect(a.id, 'threads');

  const msgs = await messagesOf(a.id);
  assert.deepEqual(msgs.map((m) => m.remoteId).sort(), [uri(question), uri(mention)].sort(), 'each once, though notifications and threads both brought the reply');
  const [thread] = await db().select().from(inboxConversations).where(and(eq(inboxConversations.accountId, a.id), eq(inboxConversations.kind, 'post_thread')));
  assert.equal(thread!.rootRemoteId, post.remoteId);
  assert.equal(thread!.targetId, post.targetId, 'linked to the AllIN target that published it');
  assert.equal(thread!.rootText, 'New menu today');
  assert.equal(thread!.hasQuestion, true);
  const q = msgs.find((m) => m.remoteId === uri(question))!;
  assert.equal(q.conversationId, thread!.id);
  assert.equal(q.authorHandle, 'bob.e2e.test');

  const r = await t.call('POST', `/api/workspaces/${ws}/inbox/conversations/${thread!.id}/replies`, { token: owner.token, body: { messageId: q.id, text: 'Yes, it is!' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await eventually(async () => {
    const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${thread!.id}/replies/${r.body.id}`, owner.token);
    return ['published', 'failed', 'unknown'].includes(x.state) ? x : undefined;
  }, 30_000, 'the reply to be published');
  assert.equal(done.state, 'published', JSON.stringify(done));
  const answers = s.posts.filter((x) => x.replyTo === uri(question));
  assert.equal(answers.length, 1, 'published once');
  assert.equal(answers[0]!.id, done.remoteId);

  await collect(a.id, 'threads');
  const after = await messagesOf(a.id);
  assert.equal(after.filter((m) => m.remoteId === done.remoteId).length, 1, 'the collected answer is the message the reply wrote');
  assert.equal(after.find((m) => m.remoteId === done.remoteId)!.direction, 'outbound');
  assert.equal(after.length, 3);
});

test('a 429 in the middle of paging: the pages before it are kept, the next run waits and carries on; a session that expires between pages is refreshed and the run goes on', async () => {
  const a = await connect();
  await collect(a.id, 'notifications');
  const post = await publish(a.id, 'Busy day');
  const replies: string[] = [];
  for (let i = 0; i < 4; i++) replies.push(uri(await say(`question ${i}`, post.remoteId)));
  s.knobs.inboxPageSize = 1;
  s.knobs.inboxRateLimitAfter = 1;
  s.knobs.retryAfterSeconds = 120;
  try {
    const before = Date.now();
    await collect(a.id, 'notifications', 'rate_limited');
    assert.equal((await messagesOf(a.id)).length, 1, 'the first page is kept');
    const [cursor] = await db().select().from(inboxCollectionCursors).where(and(eq(inboxCollectionCursors.accountId, a.id), eq(inboxCollectionCursors.source, 'notifications')));
    assert.ok(cursor!.backoffUntil!.getTime() >= before + 100_000, 'never sooner than RateLimit-Reset');
    assert.match(cursor!.lastError!, /rate limited/);

    s.knobs.inboxExpireTokensAfter = 1;
    const refreshes = s.refreshCalls;
    await collect(a.id, 'notifications');
    assert.deepEqual((await messagesOf(a.id)).map((m) => m.remoteId).sort(), [...replies].sort(), 'the rest, nothing twice');
    assert.equal(s.refreshCalls, refreshes + 1, 'refreshed once');
    const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
    assert.equal(acc!.status, 'active');
  } finally {
    s.knobs.inboxPageSize = 50;
    s.knobs.inboxRateLimitAfter = -1;
    s.knobs.inboxExpireTokensAfter = -1;
    s.knobs.retryAfterSeconds = 2;
  }
});

test('acting through the API: a reply under the account\'s post liked and hidden on Bluesky, done once each; hidden it stays through the next collections of both sources', async () => {
  const a = await connect();
  // The test before expired every session: Bob signs in again.
  bob = { ...bob, tokens: (await p.signIn!('bob.e2e.test', PASSWORD)).tokens };
  await collect(a.id, 'notifications');
  const post = await publish(a.id, 'Opening hours changed');
  const rude = await say('this shop is a scam', post.remoteId);
  await collect(a.id, 'notifications');
  const m = (await messagesOf(a.id)).find((x) => x.remoteId === uri(rude))!;
  const act = async (action: string) => {
    const r = await t.call('POST', `/api/workspaces/${ws}/inbox/messages/${m.id}/${action}`, { token: owner.token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return eventually(async () => {
      const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/actions/${r.body.id}`, owner.token);
      return ['done', 'failed', 'unknown'].includes(x.state) ? x : undefined;
    }, 30_000, `the ${action} to settle`);
  };
  assert.equal((await act('like')).state, 'done');
  assert.equal((await act('hide')).state, 'done');
  const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, a.id));
  const gates = await fetch(`${sim.base('bluesky')}/pds/xrpc/com.atproto.repo.listRecords?repo=${acc!.externalId}&collection=app.bsky.feed.threadgate`);
  const gate = ((await gates.json()) as { records: { value: { hiddenReplies?: string[] } }[] }).records;
  assert.deepEqual(gate.map((g) => g.value.hiddenReplies), [[uri(rude)]], 'one threadgate, hiding the reply');
  const likes = await fetch(`${sim.base('bluesky')}/pds/xrpc/com.atproto.repo.listRecords?repo=${acc!.externalId}&collection=app.bsky.feed.like`);
  assert.equal(((await likes.json()) as { records: unknown[] }).records.length, 1, 'liked once');

  await collect(a.id, 'notifications');
  await collect(a.id, 'threads');
  const [after] = await db().select().from(inboxMessages).where(eq(inboxMessages.id, m.id));
  assert.equal(after!.hidden, true, 'the threads collection reads it hidden from the threadgate');
  assert.equal((await act('unhide')).state, 'done');
  await collect(a.id, 'threads');
  const [shown] = await db().select().from(inboxMessages).where(eq(inboxMessages.id, m.id));
  assert.equal(shown!.hidden, false);
});
