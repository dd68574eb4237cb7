// Tumblr through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; an
// account (the Tumblr user) is connected through Tumblr's OAuth round trip (tokens encrypted, never in an answer); a
// post names its blog, state and tags in options checked when saved; a post whose create timed out is found on the
// blog and ends published, sent once; another workspace cannot reach the account; disconnecting forgets the tokens
// (Tumblr documents no revocation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tumblrBlog } from '../tools/provider-sim/networks/tumblr.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { greyPng, newWorkspace, person } from './support/fixtures.ts';
import { FACTORIES } from '../src/providers/registry.ts';

let n: CredentialsApp;
let accountId: string;
let imageId: string;
const APP = 'tumblr-app-key';

before(async () => {
  n = await credentialsApp('tumblr', {
    setup: (sm) => {
      sm.state('tumblr').apps.set(APP, { clientId: APP, clientSecret: 'tumblr-secret', redirectUris: [], name: 'AllIN' });
      tumblrBlog(sm.state('tumblr'), 'u1', 'bakery');
      tumblrBlog(sm.state('tumblr'), 'u1', 'bakery-news');
    },
    env: (sm) => ({
      TUMBLR_CLIENT_ID: APP, TUMBLR_CLIENT_SECRET: 'tumblr-secret', TUMBLR_API_URL: sm.base('tumblr'), TUMBLR_AUTH_URL: sm.base('tumblr'),
      SOCIAL_API_TIMEOUT_MS: '1500', SOCIAL_API_MEDIA_TIMEOUT_MS: '1500',
    }),
  });
  accountId = await n.connectOAuth();
  const form = new FormData();
  form.append('file', new Blob([greyPng(20, 30)], { type: 'image/png' }), 'loaf.png');
  const up = await fetch(`${n.t.url}/api/workspaces/${n.ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${n.owner.token}` } });
  assert.equal(up.status, 201, await up.clone().text());
  imageId = ((await up.json()) as { id: string }).id;
});
after(() => n.stop());

test('GET /api/networks offers Tumblr (OAuth): text, 30 images and a video, 4,096 a paragraph, no threads', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const t = r.body.networks.find((x: { id: string }) => x.id === 'tumblr');
  assert.ok(t, 'tumblr is offered');
  assert.equal(t.connect, 'oauth2');
  assert.equal(t.limits.media.maxCount, 31);
  assert.equal(t.limits.media.required, false);
  assert.deepEqual(t.limits.media.videoTypes, ['video/mp4', 'video/quicktime']);
  assert.equal(t.limits.threads, false);
  assert.equal(t.capabilities.metrics, true);
  assert.ok(Object.keys(FACTORIES).includes('tumblr'));
});

test('connecting keeps the tokens encrypted and never answers them', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.username, 'bakery');
  assert.equal(acc.profileUrl, 'https://bakery.tumblr.com/');
  const token = [...n.sim.state('tumblr').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('options are checked when saved; a photo post goes to the blog named, with its tags', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'x'.repeat(4097), targets: [{ accountId, options: { state: 'later', tags: ['a,b'], colour: 'red' } }] } });
  assert.equal(bad.body.valid, false);
  const said = bad.body.problems.map((p: { message: string }) => p.message).join();
  assert.match(said, /state is one of/);
  assert.match(said, /no comma/);
  assert.match(said, /"colour" is not an option/);
  assert.match(said, /4096 characters/);

  const s = n.sim.state('tumblr');
  const target = await n.publishNow({ text: 'Fresh loaves', mediaIds: [imageId], targets: [{ accountId, options: { blog: 'bakery-news', tags: ['bread'] } }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  assert.match(target.url, /^https:\/\/www\.tumblr\.com\/bakery-news\/\d+$/);
  const raw = s.posts.at(-1)!.raw as { content: { type: string }[]; tags: string };
  assert.deepEqual(raw.content.map((b) => b.type), ['image', 'text']);
  assert.equal(raw.tags, 'bread');
});

test('a post whose create timed out is found on the blog: published, sent once', async () => {
  const s = n.sim.state('tumblr');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await n.publishNow({ text: 'did it arrive?', targets: [{ accountId, options: { tags: ['lost'] } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('another workspace\'s member cannot see, use or disconnect the account', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting forgets the tokens; nothing is revoked at Tumblr (no revocation endpoint)', async () => {
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, false);
  const acc = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(acc.body.status, 'disconnected', JSON.stringify(acc.body));
});
