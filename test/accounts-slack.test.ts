// Slack through the real API and worker, on a simulator of its own: GET /api/networks offers it with its limits; a
// workspace is connected through the OAuth round trip (the bot token kept encrypted, never in an answer); a post names
// its channel, checked when saved; a thread is published as replies; a send that timed out is reconciled by its
// metadata marker and ends published, never sent twice; another workspace cannot reach the account; disconnecting
// revokes the token at Slack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { slackChannel, slackChannelOf, type SimSlackChannel } from '../tools/provider-sim/networks/slack.ts';
import { assertStoredEncrypted, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import { newWorkspace, person } from './support/fixtures.ts';

let n: CredentialsApp;
let general: SimSlackChannel;
let accountId: string;

before(async () => {
  n = await credentialsApp('slack', {
    setup: (sm) => {
      sm.state('slack').apps.set('allin-slack', { clientId: 'allin-slack', clientSecret: 'slack-secret', redirectUris: [], name: 'AllIN' });
      general = slackChannel(sm.state('slack'), { name: 'general' });
    },
    env: (sm) => ({
      SLACK_CLIENT_ID: 'allin-slack', SLACK_CLIENT_SECRET: 'slack-secret', SLACK_API_URL: `${sm.base('slack')}/api`, SLACK_AUTH_URL: sm.base('slack'),
      SOCIAL_API_TIMEOUT_MS: '1500',
    }),
  });
  accountId = await connect();
});
after(() => n.stop());

const connect = (token = n.owner.token, ws = n.ws) => n.connectOAuth(token, ws);

const post = (body: Record<string, unknown>) => n.publishNow(body);

test('GET /api/networks offers Slack (OAuth), with its text, file and thread limits', async () => {
  const r = await n.t.call('GET', '/api/networks', { token: n.owner.token });
  const slack = r.body.networks.find((x: { id: string }) => x.id === 'slack');
  assert.ok(slack, 'slack is offered');
  assert.equal(slack.connect, 'oauth2');
  assert.equal(slack.limits.maxTextLength, 40000);
  assert.equal(slack.limits.media.maxCount, 10);
  assert.equal(slack.limits.threads, true);
  assert.equal(slack.limits.firstComment, true);
});

test('connecting installs the app in the workspace: one account, the token encrypted and never answered', async () => {
  const list = await n.t.call('GET', `/api/workspaces/${n.ws}/accounts`, { token: n.owner.token });
  const acc = list.body.accounts.find((a: { id: string }) => a.id === accountId);
  assert.equal(acc.provider, 'slack');
  assert.equal(acc.externalId, 'TU1');
  assert.equal(acc.profileUrl, 'https://slack-u1.slack.com/');
  const token = [...n.sim.state('slack').tokens.keys()].at(-1)!;
  assert.ok(!JSON.stringify(list.body).includes(token));
  await assertStoredEncrypted(n.t, accountId, token);
});

test('a post names its channel (checked when saved); a thread is published as replies under the first message', async () => {
  const bad = await n.t.call('POST', `/api/workspaces/${n.ws}/posts/validate`, { token: n.owner.token, body: { text: 'x', targets: [{ accountId }] } });
  assert.equal(bad.body.valid, false);
  assert.match(bad.body.problems[0].message, /channel is required/);
  const target = await post({ text: 'part one', targets: [{ accountId, options: { channel: '#general' }, thread: [{ text: 'part two' }] }] });
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const msgs = slackChannelOf(n.sim.state('slack'), general.id)!.messages.slice(-2);
  assert.deepEqual(msgs.map((m) => m.text), ['part one', 'part two']);
  assert.equal(msgs[1]!.threadTs, msgs[0]!.ts);
  assert.equal(target.url, `https://slack-u1.slack.com/archives/${general.id}/p${msgs[0]!.ts.replace('.', '')}`);
});

test('a send that timed out is found again by its metadata marker: published, sent once', async () => {
  const s = n.sim.state('slack');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await post({ text: 'did it arrive?', targets: [{ accountId, options: { channel: '#general' } }] });
  assert.equal(target.state, 'published', JSON.stringify(target));
  assert.equal(s.posts.length, count + 1, 'sent once');
  assert.equal(target.url, `https://slack-u1.slack.com/archives/${general.id}/p${s.posts.at(-1)!.id.split('/')[1]!.replace('.', '')}`);
});

test('a refusal says what to fix: the app is not in the channel', async () => {
  const outside = slackChannel(n.sim.state('slack'), { name: 'outside', member: false });
  const target = await post({ text: 'hello?', targets: [{ accountId, options: { channel: outside.id } }] });
  assert.equal(target.state, 'failed');
  assert.match(target.error.message, /invite it there/);
});

test('another workspace\'s member cannot see, use or disconnect the account', async () => {
  const stranger = await person(n.t);
  const theirs = await newWorkspace(n.t, stranger, 'Elsewhere');
  assert.equal((await n.t.call('GET', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  const r = await n.t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId, options: { channel: '#general' } }], schedule: { now: true } } });
  assert.ok([400, 404].includes(r.status), `using another workspace's account: ${r.status}`);
});

test('disconnecting revokes the token at Slack (auth.revoke)', async () => {
  const s = n.sim.state('slack');
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, true);
  assert.ok(s.log.some((l) => l.path === '/slack/api/auth.revoke'));
});
