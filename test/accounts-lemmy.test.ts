// Lemmy through the real API and worker, against the simulator's instance (LEMMY_INSTANCE_URL): GET /api/networks
// offers it with its limits and inbox; a person connects with instance, username and password (only the login
// token is kept, encrypted; the password is in no row, answer or log); another workspace cannot reach the
// account; a post to a community with a first comment goes out; options are checked when saved; a post whose
// answer never came is found among the person's posts and ends published, sent once; a reply someone makes
// is collected into the inbox; disconnecting logs out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { lemmyComment, lemmyCommunity, lemmyPerson, type SimLemmyPerson } from '../tools/provider-sim/networks/lemmy.ts';
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
let host: string;
let bob: SimLemmyPerson;
const PASSWORD = 'a very particular password 42';
const captured = capturingLogger('debug');

before(async () => {
  sim = await startSimulator();
  host = new URL(sim.url).host;
  const s = sim.state('lemmy');
  lemmyPerson(s, { name: 'shop', password: PASSWORD });
  bob = lemmyPerson(s, { name: 'bob' });
  lemmyCommunity(s, 'deals');
  t = await startTestApp({
    ALLOW_PRIVATE_HOSTS: 'true', LEMMY_INSTANCE_URL: 'http://{host}/lemmy', SOCIAL_API_TIMEOUT_MS: '1500', PUBLISH_BACKOFF_BASE_MS: '100', LOG_LEVEL: 'debug',
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000',
  }, 'start', {}, captured.log);
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Lemmy');
});
after(async () => {
  await t.stop();
  await sim.stop();
});

const connect = (body: Record<string, unknown>, token = owner.token, workspace = ws) =>
  t.call('POST', `/api/workspaces/${workspace}/accounts/credentials`, { token, body: { provider: 'lemmy', ...body } });
const login = () => connect({ identifier: 'shop', password: PASSWORD, host });

async function waitForTarget(postId: string) {
  return eventually(async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/posts/${postId}`, { token: owner.token });
    const target = r.body.targets?.[0];
    return target && ['published', 'failed', 'unknown'].includes(target.state) ? target : undefined;
  }, 30_000, `post ${postId} to settle`);
}

test('GET /api/networks offers Lemmy, connected with a login, with its limits, figures and inbox', async () => {
  const r = await t.call('GET', '/api/networks', { token: owner.token });
  const n = r.body.networks.find((x: { id: string }) => x.id === 'lemmy');
  assert.ok(n, 'lemmy is offered');
  assert.equal(n.connect, 'login');
  assert.equal(n.userSuppliedHost, true);
  assert.equal(n.limits.firstComment, true);
  assert.deepEqual(n.limits.media.videoTypes, []);
  assert.deepEqual(n.capabilities, { metrics: true, inbox: true, messageActions: ['like', 'unlike', 'delete'], messageDeletes: 'own', inboxAccountKinds: null, inboxNotCollected: null });
});

test('connect: only the login token is kept, encrypted; the password is nowhere; refusals are 400s that say what to fix', async () => {
  const r = await login();
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [acc] = r.body.accounts;
  assert.equal(acc.username, `shop@${host}`);
  const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, acc.id));
  assert.match(row!.accessTokenEnc!, /^v1\./);
  assert.equal(row!.host, host);
  assert.ok(!JSON.stringify(row).includes(PASSWORD) && !JSON.stringify(r.body).includes(PASSWORD), 'no password in the row or the answer');
  const wrong = await connect({ identifier: 'shop', password: 'nope', host });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
  const noHost = await connect({ identifier: 'shop', password: PASSWORD });
  assert.equal(noHost.status, 400);
  assert.match(noHost.body.message, /body\.host is required/);
  assert.equal((await login()).body.accounts[0].id, acc.id, 'logging in again is the same account');
  assert.ok(!JSON.stringify(captured.lines()).includes(PASSWORD), 'no password in the logs');
});

test('another workspace\'s member cannot see, use or disconnect the account (404), nor connect into a workspace not theirs', async () => {
  const accountId = (await login()).body.accounts[0].id;
  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Elsewhere');
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('GET', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await login().then(() => connect({ identifier: 'shop', password: PASSWORD, host }, stranger.token, ws))).status, 404);
  const post = await t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { community: 'deals', title: 'x' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(post.status), `using another workspace's account: ${post.status}`);
});

test('a post to a community with a first comment; options checked when saved; a reply to it reaches the inbox', async () => {
  const accountId = (await login()).body.accounts[0].id;
  const s = sim.state('lemmy');
  const count = s.posts.length;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, {
    token: owner.token, body: { text: 'Half price today', targets: [{ accountId, firstComment: 'Ends at midnight', options: { community: 'deals', title: 'Sale', nsfw: false } }], schedule: { now: true } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const sent = s.posts.slice(count);
  assert.deepEqual(sent.map((x) => x.id.split('/')[0]), ['post', 'comment']);
  assert.equal((sent[0]!.raw as { name: string }).name, 'Sale');
  assert.equal(target.remoteId, sent[0]!.id);

  const bad = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner.token, body: { text: 'x', targets: [{ accountId, options: { title: 'No community' } }] } });
  assert.equal(bad.body.valid, false);
  assert.match(bad.body.problems[0].message, /community is required/);

  // Bob answers the post; the collection job brings it into a conversation.
  lemmyComment(s, sim.url + '/lemmy', { person: bob, postId: Number(sent[0]!.id.split('/')[1]), content: 'Does it ship to Norway?' });
  const inbox = t.running.services.inbox;
  await inbox.scheduler.ensureCursors();
  await t.running.services.db.update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await inbox.collector.run(accountId, 'replies')) === 'collected', 10_000, 'a collection run');
  const list = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?limit=100`, owner.token);
  const texts: string[] = [];
  for (const c of list.conversations) {
    const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${c.id}`, owner.token);
    for (const m of view.messages) texts.push(m.text);
  }
  assert.ok(texts.includes('Does it ship to Norway?'), JSON.stringify(texts));
});

test('a post whose answer never came is found among the person\'s posts and ends published, sent once', async () => {
  const accountId = (await login()).body.accounts[0].id;
  const s = sim.state('lemmy');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { text: 'did it arrive?', targets: [{ accountId, options: { community: 'deals', title: 'Lost answer' } }], schedule: { now: true } } });
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'one post');
  assert.equal(target.remoteId, s.posts.at(-1)!.id);
});

test('disconnecting logs the token out at the instance', async () => {
  const accountId = (await login()).body.accounts[0].id;
  const r = await t.call('DELETE', `/api/workspaces/${ws}/accounts/${accountId}`, { token: owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, true);
  const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, accountId));
  assert.equal(row!.accessTokenEnc, null);
});
