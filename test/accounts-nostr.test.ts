// Nostr through the real API and worker, against the simulator's relays and media server: GET /api/networks
// offers it with its limits; a key and its relays are connected (the key kept encrypted, never in an answer
// or a log); a relay on a private address is refused unless the operator allows those; another workspace
// cannot reach the account; a thread goes out as NIP-10 replies; options are checked when saved; a note
// whose answer never came is found on the relays by its event id and ends published, sent once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { nsecEncode } from 'nostr-tools/nip19';
import { bytesToHex } from 'nostr-tools/utils';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { nostrStore, type SimNostrEvent } from '../tools/provider-sim/networks/nostr.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { capturingLogger } from './support/env.ts';
import { eventually } from './support/eventually.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';

let sim: Simulator;
let t: TestApp;
let owner: Person;
let ws: string;
let relays: string;
const sk = generateSecretKey();
const nsec = nsecEncode(sk);
const captured = capturingLogger('debug');

before(async () => {
  sim = await startSimulator();
  const base = sim.url.replace(/^http/, 'ws');
  relays = `${base}/nostr/relay/a ${base}/nostr/relay/b`;
  t = await startTestApp({ ALLOW_PRIVATE_HOSTS: 'true', SOCIAL_API_TIMEOUT_MS: '1500', PUBLISH_BACKOFF_BASE_MS: '100', LOG_LEVEL: 'debug', INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000' }, 'start', {}, captured.log);
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Nostr');
});
after(async () => {
  await t.stop();
  await sim.stop();
});

const connect = (body: Record<string, unknown>, token = owner.token, workspace = ws) =>
  t.call('POST', `/api/workspaces/${workspace}/accounts/credentials`, { token, body: { provider: 'nostr', ...body } });

async function waitForTarget(postId: string) {
  return eventually(async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/posts/${postId}`, { token: owner.token });
    const target = r.body.targets?.[0];
    return target && ['published', 'failed', 'unknown'].includes(target.state) ? target : undefined;
  }, 30_000, `post ${postId} to settle`);
}

test('GET /api/networks offers Nostr, connected with relays and a secret key, with its limits and figures', async () => {
  const r = await t.call('GET', '/api/networks', { token: owner.token });
  const n = r.body.networks.find((x: { id: string }) => x.id === 'nostr');
  assert.ok(n, 'nostr is offered');
  assert.equal(n.connect, 'secret_key');
  assert.equal(n.docsUrl, 'https://github.com/nostr-protocol/nips');
  assert.equal(n.limits.maxTextLength, 8000);
  assert.equal(n.limits.media.maxCount, 10);
  assert.equal(n.limits.threads, true);
  assert.deepEqual(n.capabilities, { metrics: true, inbox: true, messageActions: ['like', 'unlike', 'delete'], messageDeletes: 'own', inboxAccountKinds: null, inboxNotCollected: null });
});

test('connect: the key is stored encrypted and never answered or logged; refusals are 400s that say what to fix', async () => {
  const r = await connect({ identifier: relays, password: nsec });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [acc] = r.body.accounts;
  assert.equal(acc.externalId, getPublicKey(sk));
  const hex = bytesToHex(sk);
  const list = await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: owner.token });
  for (const answer of [r.body, list.body]) assert.ok(!JSON.stringify(answer).includes(hex) && !JSON.stringify(answer).includes(nsec), 'no key in an answer');
  const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, acc.id));
  assert.match(row!.accessTokenEnc!, /^v1\./, 'encrypted at rest');
  assert.ok(!row!.accessTokenEnc!.includes(hex));

  const pub = await connect({ identifier: relays, password: 'npub1sn0wdenkukak0d9dfczzeacvhkrgz92ak56egt7vdgzn8pv2wfqqhrjdv9' });
  assert.equal(pub.status, 400);
  assert.equal(pub.body.code, 'INVALID_CREDENTIALS');
  assert.match(pub.body.message, /nsec1/);
  const noRelays = await connect({ password: nsec });
  assert.equal(noRelays.status, 400);
  assert.match(noRelays.body.message, /relays/);
  const badRelay = await connect({ identifier: 'https://only.example', password: nsec });
  assert.equal(badRelay.status, 400);
  assert.equal(badRelay.body.code, 'NETWORK_REFUSED');
  const again = await connect({ identifier: relays, password: bytesToHex(sk) });
  assert.equal(again.body.accounts[0].id, acc.id, 'the same key again is the same account');
  assert.ok(!JSON.stringify(captured.lines()).includes(hex) && !JSON.stringify(captured.lines()).includes(nsec), 'no key in the logs');
});

test('another workspace\'s member cannot see, use or disconnect the account (404), nor connect into a workspace not theirs', async () => {
  const accountId = (await connect({ identifier: relays, password: nsec })).body.accounts[0].id;
  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Elsewhere');
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('GET', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await connect({ identifier: relays, password: nsec }, stranger.token, ws)).status, 404);
  const post = await t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId }], schedule: { now: true } } });
  assert.ok([400, 404].includes(post.status), `using another workspace's account: ${post.status}`);
});

test('a thread goes out as NIP-10 replies; the content warning option is checked when saved', async () => {
  const accountId = (await connect({ identifier: relays, password: nsec })).body.accounts[0].id;
  const s = sim.state('nostr');
  const count = s.posts.length;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, {
    token: owner.token, body: { text: 'First #news', targets: [{ accountId, thread: [{ text: 'Second' }], options: { contentWarning: 'long' } }], schedule: { now: true } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const sent = s.posts.slice(count).map((x) => (x.raw as SimNostrEvent).event);
  assert.deepEqual(sent.map((e) => e.content), ['First #news', 'Second']);
  assert.equal(target.remoteId, sent[0]!.id);
  assert.deepEqual(sent[1]!.tags.filter((x) => x[0] === 'e').map((x) => [x[1], x[3]]), [[sent[0]!.id, 'root']]);

  const bad = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner.token, body: { text: 'x', targets: [{ accountId, options: { contentWarning: 'w'.repeat(300) } }] } });
  assert.equal(bad.body.valid, false);
  assert.equal(bad.body.problems[0].field, 'options');
  assert.match(bad.body.problems[0].message, /contentWarning/);
});

test('a reply someone sends to a published note is collected into the inbox, in the note\'s thread', async () => {
  const accountId = (await connect({ identifier: relays, password: nsec })).body.accounts[0].id;
  const s = sim.state('nostr');
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { text: 'Ask me anything', targets: [{ accountId }], schedule: { now: true } } });
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const me = getPublicKey(sk);
  const reply = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), content: 'What relays do you use?', tags: [['e', target.remoteId, '', 'root', me], ['p', me]] }, generateSecretKey());
  nostrStore(s, reply, ['a']);
  const inbox = t.running.services.inbox;
  await inbox.scheduler.ensureCursors();
  await t.running.services.db.update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await inbox.collector.run(accountId, 'mentions')) === 'collected', 10_000, 'a collection run');
  const list = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?limit=100`, owner.token);
  const texts: string[] = [];
  for (const c of list.conversations) {
    const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${c.id}`, owner.token);
    for (const m of view.messages) texts.push(m.text);
  }
  assert.ok(texts.includes('What relays do you use?'), JSON.stringify(texts));
});

test('a note whose answer never came is found by its event id and ends published, sent once', async () => {
  const accountId = (await connect({ identifier: relays, password: nsec })).body.accounts[0].id;
  const s = sim.state('nostr');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 2;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { text: 'did it arrive?', targets: [{ accountId }], schedule: { now: true } } });
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'one note');
  assert.equal(target.remoteId, s.posts.at(-1)!.id);
});

test('disconnecting forgets the key and calls no relay', async () => {
  const other = nsecEncode(generateSecretKey());
  const accountId = (await connect({ identifier: relays, password: other })).body.accounts[0].id;
  const before = sim.state('nostr').log.length;
  const r = await t.call('DELETE', `/api/workspaces/${ws}/accounts/${accountId}`, { token: owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, false);
  assert.equal(sim.state('nostr').log.length, before);
  const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, accountId));
  assert.equal(row!.accessTokenEnc, null);
});
