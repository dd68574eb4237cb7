// Reddit through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; an
// account is connected through the OAuth round trip (tokens encrypted, never in an answer); a post names its subreddit
// and title, checked when saved; a first comment is a comment under the post; a subreddit that requires a flair is
// refused with the flairs to choose from; a submit that timed out is found among the account's posts and ends
// published, never sent twice; another workspace cannot reach the account; disconnecting revokes the token at Reddit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { redditSubreddit } from '../tools/provider-sim/networks/reddit.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { newWorkspace, person } from './support/fixtures.ts';

let n: CredentialsApp;
let accountId: string;

before(async () => {
  n = await credentialsApp('reddit', {
    setup: (sm) => {
      const s = sm.state('reddit');
      s.apps.set('allin-reddit', { clientId: 'allin-reddit', clientSecret: 'reddit-secret', redirectUris: [], name: 'AllIN' });
      redditSubreddit(s, { name: 'allin_test' });
      redditSubreddit(s, { name: 'flaired', flairRequired: true, flairs: [{ id: '0a1b2c3d-0000-4000-8000-000000000001', text: 'Discussion', text_editable: false, mod_only: false }] });
    },
    env: (sm) => ({
      REDDIT_CLIENT_ID: 'allin-reddit', REDDIT_CLIENT_SECRET: 'reddit-secret', REDDIT_API_URL: sm.base('reddit'), REDDIT_AUTH_URL: sm.base('reddit'),
      SOCIAL_API_TIMEOUT_MS: '1500',
    }),
  });
  accountId = await connect();
});
after(() => n.stop());

const connect = (token = n.owner.token, ws = n.ws) => n.connectOAuth(token, ws);

const post = (body: Record<string, unknown>) => n.publishNow(body);

test('GET /api/networks offers Reddit (OAuth), with one image, no video, threads and a first comment', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const reddit = r.body.networks.find((x: { id: string }) => x.id === 'reddit');
  assert.ok(reddit, 'reddit is offered');
  assert.equal(reddit.connect, 'oauth2');
  assert.equal(reddit.limits.media.maxCount, 1);
  assert.deepEqual(reddit.limits.media.videoTypes, []);
  assert.equal(reddit.limits.firstComment, true);
});

test('connecting keeps the tokens encrypted and never answers them', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.username, 'u/reddit_u1');
  assert.equal(acc.profileUrl, 'https://www.reddit.com/user/reddit_u1');
  const token = [...n.sim.state('reddit').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('a post names its subreddit and title (checked when saved); its first comment goes under it', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'x', targets: [{ accountId }] } });
  assert.equal(bad.body.valid, false);
  assert.match(bad.body.problems.map((p: { message: string }) => p.message).join(), /subreddit is required/);
  const s = n.sim.state('reddit');
  const target = await post({ text: 'Body', targets: [{ accountId, options: { subreddit: 'allin_test', title: 'Hello Reddit' }, firstComment: 'First!' }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const [p1, c1] = s.posts.slice(-2);
  assert.equal((p1!.raw as { title: string }).title, 'Hello Reddit');
  assert.equal(c1!.text, 'First!');
  assert.equal(c1!.replyTo, p1!.id);
});

test('a subreddit that requires a flair: refused with the flairs to choose from', async () => {
  const target = await post({ text: 'Body', targets: [{ accountId, options: { subreddit: 'flaired', title: 'No flair' } }] });
  assert.equal(target.state, 'failed');
  assert.match(target.error.message, /requires a flair; choose one \(flairId\): Discussion/);
});

test('a submit that timed out is found among the account\'s posts: published, sent once', async () => {
  const s = n.sim.state('reddit');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await post({ text: 'did it arrive?', targets: [{ accountId, options: { subreddit: 'allin_test', title: 'Timed out' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('another workspace\'s member cannot see, use or disconnect the account', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { subreddit: 'allin_test', title: 't' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting revokes the tokens at Reddit (revoke_token)', async () => {
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, true);
  assert.ok(n.sim.state('reddit').log.some((l) => l.path === '/reddit/api/v1/revoke_token'));
});
