// YouTube through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; a
// channel is connected through Google's OAuth round trip (tokens encrypted, never in an answer); a post is one video
// from the media library with its title in the options, checked when saved; an unaudited project's public upload is
// refused with what to do, a private one goes; an upload whose end timed out is found by asking its session and ends
// published, sent once; another workspace cannot reach the channel; disconnecting revokes the grant at Google.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { youtubeAudited } from '../tools/provider-sim/networks/youtube.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { newWorkspace, person, tinyMp4 } from './support/fixtures.ts';

let n: CredentialsApp;
let accountId: string;
let videoId: string;
const CLIENT = 'allin-youtube.apps.googleusercontent.com';

before(async () => {
  n = await credentialsApp('youtube', {
    setup: (sm) => sm.state('youtube').apps.set(CLIENT, { clientId: CLIENT, clientSecret: 'google-secret', redirectUris: [], name: 'AllIN' }),
    env: (sm) => ({
      YOUTUBE_CLIENT_ID: CLIENT, YOUTUBE_CLIENT_SECRET: 'google-secret', YOUTUBE_API_URL: sm.base('youtube'), YOUTUBE_AUTH_URL: sm.base('youtube'), YOUTUBE_TOKEN_URL: sm.base('youtube'),
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

test('GET /api/networks offers YouTube (OAuth): one video and a thumbnail, required, no threads', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const yt = r.body.networks.find((x: { id: string }) => x.id === 'youtube');
  assert.ok(yt, 'youtube is offered');
  assert.equal(yt.connect, 'oauth2');
  assert.equal(yt.limits.media.maxCount, 2);
  assert.equal(yt.limits.media.required, true);
  assert.deepEqual(yt.limits.media.imageTypes, ['image/jpeg', 'image/png']);
  assert.equal(yt.limits.media.maxVideoSeconds, 12 * 3600);
  assert.equal(yt.limits.firstComment, false);
  assert.equal(yt.capabilities.metrics, true);
});

test('connecting keeps the tokens encrypted and never answers them', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.username, '@youtube_u1');
  assert.match(acc.profileUrl, /^https:\/\/www\.youtube\.com\/channel\/UC/);
  const token = [...n.sim.state('youtube').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('a post is one video with a title (checked when saved); an unaudited project uploads private only', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'a <b>', targets: [{ accountId, options: { short: true } }] } });
  assert.equal(bad.body.valid, false);
  const said = bad.body.problems.map((p: { message: string }) => p.message).join();
  assert.match(said, /title is required/);
  assert.match(said, /one video/);
  assert.match(said, /< or >/);

  const s = n.sim.state('youtube');
  const refused = await n.publishNow({ text: 'Hello', mediaIds: [videoId], targets: [{ accountId, options: { title: 'Public, unaudited' } }] });
  assert.equal(refused.state, 'failed');
  assert.match(refused.error.message, /YOUTUBE_API_AUDITED/);
  const count = s.posts.length;
  const target = await n.publishNow({ text: 'Hello YouTube', mediaIds: [videoId], targets: [{ accountId, options: { title: 'First upload', privacy: 'private', short: true, tags: ['allin'] } }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  assert.equal(s.posts.length, count + 1);
  const raw = s.posts.at(-1)!.raw as { snippet: { title: string; description: string; tags: string[] }; status: { privacyStatus: string } };
  assert.deepEqual([raw.snippet.title, raw.snippet.description, raw.snippet.tags, raw.status.privacyStatus], ['First upload', 'Hello YouTube', ['allin'], 'private']);
});

test('an upload whose end timed out: the session says the video is there; published, sent once', async () => {
  const s = n.sim.state('youtube');
  youtubeAudited(s, true);
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await n.publishNow({ text: 'did it arrive?', mediaIds: [videoId], targets: [{ accountId, options: { title: 'Timed out', privacy: 'private' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('another workspace\'s member cannot see, use or disconnect the channel', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { title: 't' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting revokes the grant at Google', async () => {
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, true);
  assert.ok(n.sim.state('youtube').log.some((l) => l.path === '/youtube/revoke'));
});
