// Pinterest through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; an
// account is connected through Pinterest's OAuth round trip (tokens encrypted, never in an answer); a post is a Pin on
// the board its options name, checked when saved (board required, an image or a video); a Pin whose create timed out
// is found on the board and ends published, sent once; another workspace cannot reach the account; disconnecting
// forgets the tokens (Pinterest revokes no user tokens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pinterestBoard } from '../tools/provider-sim/networks/pinterest.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { greyPng, newWorkspace, person } from './support/fixtures.ts';

let n: CredentialsApp;
let accountId: string;
let imageId: string;
const APP = '1500001';

before(async () => {
  n = await credentialsApp('pinterest', {
    setup: (sm) => {
      sm.state('pinterest').apps.set(APP, { clientId: APP, clientSecret: 'pin-secret', redirectUris: [], name: 'AllIN' });
      pinterestBoard(sm.state('pinterest'), 'u1', 'Recipes', ['Salads']);
    },
    env: (sm) => ({
      PINTEREST_APP_ID: APP, PINTEREST_APP_SECRET: 'pin-secret', PINTEREST_API_URL: sm.base('pinterest'), PINTEREST_AUTH_URL: sm.base('pinterest'),
      SOCIAL_API_TIMEOUT_MS: '1500', SOCIAL_API_MEDIA_TIMEOUT_MS: '1500',
    }),
  });
  accountId = await n.connectOAuth();
  const form = new FormData();
  form.append('file', new Blob([greyPng(20, 30)], { type: 'image/png' }), 'pin.png');
  const up = await fetch(`${n.t.url}/api/workspaces/${n.ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${n.owner.token}` } });
  assert.equal(up.status, 201, await up.clone().text());
  imageId = ((await up.json()) as { id: string }).id;
});
after(() => n.stop());

test('GET /api/networks offers Pinterest (OAuth): up to 5 images or a video, required, 800 characters, no threads', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const pin = r.body.networks.find((x: { id: string }) => x.id === 'pinterest');
  assert.ok(pin, 'pinterest is offered');
  assert.equal(pin.connect, 'oauth2');
  assert.equal(pin.limits.maxTextLength, 800);
  assert.equal(pin.limits.media.maxCount, 5);
  assert.equal(pin.limits.media.required, true);
  assert.deepEqual(pin.limits.media.imageTypes, ['image/jpeg', 'image/png']);
  assert.equal(pin.limits.media.minVideoSeconds, 4);
  assert.equal(pin.limits.threads, false);
  assert.equal(pin.capabilities.metrics, true);
});

test('connecting keeps the tokens encrypted and never answers them', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.username, 'pinterest_u1');
  assert.equal(acc.profileUrl, 'https://www.pinterest.com/pinterest_u1/');
  const token = [...n.sim.state('pinterest').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('a Pin names its board (checked when saved) and is published on it with its section, title and link', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'x'.repeat(801), targets: [{ accountId, options: { title: 'x'.repeat(101), colour: 'red' } }] } });
  assert.equal(bad.body.valid, false);
  const said = bad.body.problems.map((p: { message: string }) => p.message).join();
  assert.match(said, /board is required/);
  assert.match(said, /at most 100/);
  assert.match(said, /"colour" is not an option/);
  assert.match(said, /800/);

  const s = n.sim.state('pinterest');
  const target = await n.publishNow({ text: 'A salad', mediaIds: [imageId], targets: [{ accountId, options: { board: 'Recipes', section: 'Salads', title: 'Salad', link: 'https://example.com/s' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  assert.match(target.url, /^https:\/\/www\.pinterest\.com\/pin\/\d+\/$/);
  const raw = s.posts.at(-1)!.raw as Record<string, unknown>;
  assert.deepEqual([raw.title, raw.description, raw.link], ['Salad', 'A salad', 'https://example.com/s']);
  assert.ok(typeof raw.board_section_id === 'string');
});

test('a Pin whose create timed out is found on the board: published, sent once', async () => {
  const s = n.sim.state('pinterest');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await n.publishNow({ text: 'did it arrive?', mediaIds: [imageId], targets: [{ accountId, options: { board: 'Recipes', title: 'Timed out' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
  assert.equal(target.remoteId ?? s.posts.at(-1)!.id, s.posts.at(-1)!.id);
});

test('another workspace\'s member cannot see, use or disconnect the account', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { board: 'Recipes' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting forgets the tokens; nothing is revoked at Pinterest (it revokes no user tokens)', async () => {
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, false);
  const acc = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(acc.body.status, 'disconnected', JSON.stringify(acc.body));
});
