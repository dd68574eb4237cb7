// The Threads adapter's mentions against the simulated Threads API: others' posts tagging the profile, polled page
// by page and read back only to the previous sweep (less an hour); one replying in the profile's own thread placed
// there; Graph's throttling and a token that expires between pages; a profile connected without
// threads_manage_mentions refused with a reason (missing_scope); webhooks (replies, mentions) read into items.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness, connectedAccount, sweepInbox } from './harness.ts';
import { createThreads } from '../../src/providers/threads.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { threadsNotification } from '../../tools/provider-sim/networks/threads.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  const base = h.sim.base('threads');
  p = createThreads({ http: h.http, settings: { clientId: 'th-app', clientSecret: 'th-secret', baseUrls: { auth: base, graph: base } } }, { poll: { intervalMs: 20, maxWaitMs: 60_000 } });
  sim().knobs.inboxRatePerMinute = 0;
});
after(() => h.stop());

const sim = () => h.sim.state('threads');
const isKind = (kind: string, reason?: string) => (e: unknown) => e instanceof ProviderError && e.kind === kind && (reason === undefined || e.details.reason === reason);

const account = (loginHint: string) => connectedAccount(p, loginHint);
const mention = (a: AccountRef, text: string, o: { ageMs?: number; on?: string } = {}) => sim().inbox.add({
  userId: a.externalId, kind: 'mention', postId: o.on ?? null, text, author: { id: 'id-ada', name: 'Ada', username: 'ada' },
  createdAt: new Date(Date.now() - (o.ageMs ?? 0)).toISOString(),
}).id;

const sweep = (a: AccountRef, cursor: string | null) => sweepInbox(p, a, 'mentions', cursor);

test('the mentions source is declared and threads_manage_mentions is asked for', async () => {
  assert.deepEqual(p.meta.inbox?.sources.map((x) => x.id), ['replies', 'mentions']);
  const a = await account('th-m-scopes');
  assert.ok(a.tokens.scope?.includes('threads_manage_mentions'));
});

test('pagination: every mention once, each its own conversation; the next sweep reads back only to the previous one less an hour; one in the profile\'s own thread is a reply there', async () => {
  const a = await account('th-m-pages');
  const earlier = mention(a, '@shop three hours ago', { ageMs: 3 * 3600_000 });
  const old = mention(a, '@shop last month', { ageMs: 30 * 86_400_000 });
  const ids = [mention(a, '@shop one'), mention(a, '@shop two'), mention(a, '@shop three')];
  const own = (await p.publish(a, { text: 'our post', media: [], marker: 'th-m-1' })).remoteId;
  const inThread = mention(a, '@shop about your post', { on: own });
  sim().knobs.inboxPageSize = 2;
  try {
    const first = await sweep(a, null);
    assert.ok(first.pages >= 3, `paged (${first.pages})`);
    assert.deepEqual(first.items.map((i) => i.remoteId).sort(), [earlier, ...ids, inThread].sort());
    assert.equal(first.items.some((i) => i.remoteId === old), false, 'older than a first sweep\'s 14 days');
    const x = first.items.find((i) => i.remoteId === ids[0])!;
    assert.deepEqual([x.kind, x.rootRemoteId, x.text, x.author.handle], ['mention', ids[0], '@shop one', 'ada']);
    const r = first.items.find((i) => i.remoteId === inThread)!;
    assert.deepEqual([r.kind, r.rootRemoteId, r.parentRemoteId], ['comment', own, undefined]);
    const late = mention(a, '@shop later');
    const again = (await sweep(a, first.cursor)).items.map((i) => i.remoteId);
    assert.ok(again.includes(late));
    assert.equal(again.includes(earlier), false);
  } finally {
    sim().knobs.inboxPageSize = 50;
  }
});

test('Graph\'s throttling in the middle of a sweep, then a token that expires between pages: the cursor carries on', async () => {
  const a = await account('th-m-fail');
  const m1 = mention(a, '@shop first', { ageMs: 60_000 });
  const m2 = mention(a, '@shop second');
  sim().knobs.inboxPageSize = 1;
  try {
    const first = await p.collectInbox!(a, { source: 'mentions', cursor: null });
    assert.deepEqual(first.items.map((i) => i.remoteId), [m2]);
    sim().knobs.inboxRateLimitAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'mentions', cursor: first.cursor }), isKind('rate_limited'));
    sim().knobs.inboxExpireTokensAfter = 0;
    await assert.rejects(p.collectInbox!(a, { source: 'mentions', cursor: first.cursor }), isKind('auth_expired'));
    const fresh = await account('th-m-fail');
    assert.deepEqual((await sweep(fresh, first.cursor)).items.map((i) => i.remoteId), [m1]);
  } finally {
    sim().knobs.inboxPageSize = 50;
    sim().knobs.inboxRateLimitAfter = -1;
    sim().knobs.inboxExpireTokensAfter = -1;
  }
});

test('a profile connected before AllIN asked for threads_manage_mentions: refused with missing_scope, without a call; a token Graph refuses (code 10) the same', async () => {
  const a = await account('th-m-old');
  const old = { ...a, tokens: { ...a.tokens, scope: a.tokens.scope!.filter((s) => s !== 'threads_manage_mentions') } };
  await assert.rejects(p.collectInbox!(old, { source: 'mentions', cursor: null }), isKind('permanent', 'missing_scope'));
  const t = sim().tokens.get(a.tokens.accessToken);
  assert.ok(t, 'the simulator\'s token');
  t.scope = t.scope.filter((s) => s !== 'threads_manage_mentions');
  await assert.rejects(p.collectInbox!({ ...a, tokens: { ...a.tokens, scope: undefined } }, { source: 'mentions', cursor: null }), isKind('permanent', 'missing_scope'));
});

test('webhooks: a reply and a mention become the items polling gives; the profile\'s own reply is its own; other fields are left out', async () => {
  const a = await account('th-m-hook');
  const own = (await p.publish(a, { text: 'menu', media: [], marker: 'th-m-2' })).remoteId;
  const reply = sim().inbox.add({ userId: a.externalId, kind: 'comment', postId: own, text: 'vegan?', author: { id: 'id-bob', name: 'Bob', username: 'bob' } }).id;
  const m = mention(a, '@shop hello');
  const base = h.sim.base('threads');
  const [r] = p.webhook!.parse(threadsNotification(sim(), reply, base));
  assert.deepEqual([r!.externalId, r!.source, r!.items.map((i) => [i.remoteId, i.kind, i.rootRemoteId, i.author.remoteId, i.text])],
    [a.externalId, 'replies', [[reply, 'comment', own, 'bob', 'vegan?']]]);
  const polled = (await p.collectInbox!(a, { source: 'replies', cursor: null })).items.find((i) => i.remoteId === reply)!;
  assert.deepEqual(r!.items[0]!.author, polled.author);
  assert.equal(r!.items[0]!.rootRemoteId, polled.rootRemoteId);
  const [mm] = p.webhook!.parse([threadsNotification(sim(), m, base)]);
  assert.deepEqual([mm!.source, mm!.items.map((i) => [i.remoteId, i.kind, i.rootRemoteId])], ['mentions', [[m, 'mention', m]]]);
  const mine = threadsNotification(sim(), reply, base);
  const v = (mine.values as { value: Record<string, unknown> }).value;
  v.username = a.username;
  assert.equal(p.webhook!.parse(mine)[0]!.items[0]!.author.remoteId, a.externalId, 'its own reply');
  assert.deepEqual(p.webhook!.parse({ ...mine, values: { field: 'publish', value: v } }), []);
  assert.deepEqual(p.webhook!.parse({ object: 'page', entry: [] }), []);
});
