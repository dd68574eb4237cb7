// TikTok through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; an
// account is connected through Login Kit's OAuth round trip (tokens encrypted, never in an answer); a post is a video
// with the privacyLevel its options name, checked when saved; an unaudited app's public post is refused with what to do;
// a post whose last chunk went unanswered is found by its publish_id and ends published, sent once; another workspace
// cannot reach the account; disconnecting revokes the token at TikTok.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tiktokHangLastChunk, tiktokPublishes } from '../tools/provider-sim/networks/tiktok.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { newWorkspace, person, tinyMp4 } from './support/fixtures.ts';

let n: CredentialsApp;
let accountId: string;
let videoId: string;
const KEY = 'awallintiktok';

before(async () => {
  n = await credentialsApp('tiktok', {
    setup: (sm) => sm.state('tiktok').apps.set(KEY, { clientId: KEY, clientSecret: 'tt-secret', redirectUris: [], name: 'AllIN' }),
    env: (sm) => ({
      TIKTOK_CLIENT_KEY: KEY, TIKTOK_CLIENT_SECRET: 'tt-secret', TIKTOK_API_URL: sm.base('tiktok'), TIKTOK_AUTH_URL: sm.base('tiktok'),
      SOCIAL_API_TIMEOUT_MS: '1500', SOCIAL_API_MEDIA_TIMEOUT_MS: '1500',
    }),
  });
  accountId = await n.connectOAuth();
  const form = new FormData();
  form.append('file', new Blob([tinyMp4({ seconds: 20, width: 1080, height: 1920 })]), 'clip.mp4');
  const up = await fetch(`${n.t.url}/api/workspaces/${n.ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${n.owner.token}` } });
  assert.equal(up.status, 201, await up.clone().text());
  videoId = ((await up.json()) as { id: string }).id;
});
after(() => n.stop());

test('GET /api/networks offers TikTok (OAuth): a video or 1-35 photos, required, 2,200 characters, no threads', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const tt = r.body.networks.find((x: { id: string }) => x.id === 'tiktok');
  assert.ok(tt, 'tiktok is offered');
  assert.equal(tt.connect, 'oauth2');
  assert.equal(tt.limits.maxTextLength, 2200);
  assert.equal(tt.limits.media.maxCount, 35);
  assert.equal(tt.limits.media.required, true);
  assert.equal(tt.limits.media.mixing, false);
  assert.deepEqual(tt.limits.media.imageTypes, ['image/jpeg', 'image/webp']);
  assert.equal(tt.limits.media.maxVideoSeconds, 600);
  assert.equal(tt.limits.threads, false);
  assert.equal(tt.capabilities.metrics, true);
});

test('connecting keeps the tokens encrypted and never answers them', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.username, 'tiktok_u1');
  assert.equal(acc.profileUrl, 'https://www.tiktok.com/@tiktok_u1');
  const token = [...n.sim.state('tiktok').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('the privacy level is checked when saved; an unaudited app\'s public post fails with what to do; SELF_ONLY is published', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'x'.repeat(2201), targets: [{ accountId, options: { privacyLevel: 'FRIENDS', board: 'b' } }] } });
  assert.equal(bad.body.valid, false);
  const said = bad.body.problems.map((p: { message: string }) => p.message).join();
  assert.match(said, /privacyLevel is required/);
  assert.match(said, /"board" is not an option/);
  assert.match(said, /2200|2,200/);

  const refused = await n.publishNow({ text: 'public?', mediaIds: [videoId], targets: [{ accountId, options: { privacyLevel: 'PUBLIC_TO_EVERYONE' } }] });
  assert.equal(refused.state, 'failed');
  assert.match(JSON.stringify(refused.error), /TIKTOK_AUDITED/);

  const target = await n.publishNow({ text: 'A clip', mediaIds: [videoId], targets: [{ accountId, options: { privacyLevel: 'SELF_ONLY', disableComment: true } }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const pub = tiktokPublishes(n.sim.state('tiktok')).at(-1)!;
  assert.deepEqual([pub.caption, pub.privacy, pub.received === pub.size], ['A clip', 'SELF_ONLY', true]);
});

test('a post whose last chunk went unanswered is found by its publish_id: published, sent once', async () => {
  const s = n.sim.state('tiktok');
  const count = s.posts.length;
  tiktokHangLastChunk(s, 1);
  const target = await n.publishNow({ text: 'did it arrive?', mediaIds: [videoId], targets: [{ accountId, options: { privacyLevel: 'SELF_ONLY' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('another workspace\'s member cannot see, use or disconnect the account', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { privacyLevel: 'SELF_ONLY' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting revokes the token at TikTok', async () => {
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, true);
  assert.ok([...n.sim.state('tiktok').tokens.values()].every((t) => t.revoked), 'every token of the creator is revoked');
});
