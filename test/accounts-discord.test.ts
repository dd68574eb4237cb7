// Discord through the real API and worker, on a simulator of its own: GET /api/networks offers it with its
// limits; a channel is connected by pasting its webhook URL (the token kept encrypted, never in an answer
// or a log); a URL on another host is refused; another workspace cannot reach the account; a forum post
// with a thread is published into one thread; a 429 is waited out; a send that timed out ends `unknown`,
// never sent twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deleteWebhook, discordChannel, discordWebhook } from '../tools/provider-sim/networks/discord.ts';
import type { TestApp } from './support/app.ts';
import { assertDisconnectForgets, assertStoredEncrypted, assertStrangerLockedOut, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import type { Person } from './support/fixtures.ts';
import { capturingLogger } from './support/env.ts';
import type { Simulator } from '../tools/provider-sim/server.ts';

let n: CredentialsApp;
let sim: Simulator;
let t: TestApp;
let owner: Person;
let ws: string;
let hook: ReturnType<typeof discordWebhook>;
const captured = capturingLogger('debug');

before(async () => {
  n = await credentialsApp('discord', {
    setup: (s) => { hook = discordWebhook(s.state('discord'), { name: 'API news' }); },
    env: (s) => ({ DISCORD_API_URL: s.base('discord'), SOCIAL_API_TIMEOUT_MS: '1500', PUBLISH_BACKOFF_BASE_MS: '100', LOG_LEVEL: 'debug' }),
    log: captured.log,
  });
  ({ sim, t, owner, ws } = n);
});
after(() => n.stop());

const connect = (body: Record<string, unknown>, token?: string, workspace?: string) => n.connect(body, token, workspace);
const waitForTarget = (postId: string) => n.waitForTarget(postId);

test('GET /api/networks offers Discord, connected with a webhook URL, with its text, file and thread limits, and says it has no figures', async () => {
  const r = await t.call('GET', '/api/networks', { token: owner.token });
  assert.equal(r.status, 200);
  const n = r.body.networks.find((x: { id: string }) => x.id === 'discord');
  assert.ok(n, 'discord is offered');
  assert.equal(n.connect, 'webhook_url');
  assert.equal(n.docsUrl, 'https://discord.com/developers/docs/resources/webhook');
  assert.equal(n.limits.maxTextLength, 2000);
  assert.equal(n.limits.maxCaptionLength, undefined, 'text and files together: no caption limit');
  assert.equal(n.limits.media.maxCount, 10);
  assert.equal(n.limits.media.maxImageBytes, 10 * 1024 * 1024);
  assert.equal(n.limits.threads, true);
  assert.deepEqual(n.capabilities, { metrics: false, inbox: false, messageActions: [], messageDeletes: null, inboxAccountKinds: null, inboxNotCollected: null }, 'a webhook reads no figures and no messages');
  const sandbox = r.body.networks.find((x: { id: string }) => x.id === 'sandbox');
  assert.deepEqual(sandbox.capabilities, { metrics: true, inbox: true, messageActions: ['like', 'unlike', 'hide', 'unhide', 'delete'], messageDeletes: 'own_and_comments', inboxAccountKinds: null, inboxNotCollected: null });
});

test('connect by webhook URL: the token is stored encrypted and never answered; refusals are 400s that say what to fix', async () => {
  const r = await connect({ password: hook.url });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [acc] = r.body.accounts;
  assert.equal(acc.username, 'API news');
  assert.equal(acc.externalId, hook.id);
  assert.equal(acc.profileUrl, `https://discord.com/channels/${hook.guildId}/${hook.channelId}`);
  const list = await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: owner.token });
  const one = await t.call('GET', `/api/workspaces/${ws}/accounts/${acc.id}`, { token: owner.token });
  for (const answer of [r.body, list.body, one.body]) assert.ok(!JSON.stringify(answer).includes(hook.token), 'no token in an answer');
  await assertStoredEncrypted(t, acc.id, hook.token);

  const gone = discordWebhook(sim.state('discord'), { name: 'Gone' });
  deleteWebhook(sim.state('discord'), gone.id);
  const unknown = await connect({ password: gone.url });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'INVALID_CREDENTIALS');
  assert.match(unknown.body.message, /does not know this webhook.*Integrations → Webhooks/);
  assert.ok(!JSON.stringify(unknown.body).includes(gone.token));

  const before = sim.state('discord').log.length;
  const elsewhere = await connect({ password: hook.url.replace('discord.com', 'attacker.example') });
  assert.equal(elsewhere.status, 400);
  assert.equal(elsewhere.body.code, 'NETWORK_REFUSED');
  assert.match(elsewhere.body.message, /on discord\.com or discordapp\.com; this one is on attacker\.example/);
  assert.ok(!JSON.stringify(elsewhere.body).includes(hook.token));
  assert.equal(sim.state('discord').log.length, before, 'refused before any request');

  const missing = await t.call('POST', `/api/workspaces/${ws}/accounts/credentials`, { token: owner.token, body: { provider: 'telegram', password: '1:x' } });
  assert.equal(missing.status, 400, 'the identifier is still required where it names the account');
  const oauth = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'discord' } });
  assert.equal(oauth.status, 400);
  assert.equal(oauth.body.code, 'USE_CREDENTIALS');
  assert.match(oauth.body.message, /webhook URL/);
  const again = await connect({ password: hook.url.replace('discord.com', 'discordapp.com') });
  assert.equal(again.body.accounts[0].id, acc.id, 'connecting the webhook again is the same account');
});

test('the webhook token never reaches a log line, though it travels in the URL of every call', async () => {
  const r = await connect({ password: hook.url });
  const accountId = r.body.accounts[0].id;
  const post = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { text: 'logged?', targets: [{ accountId }], schedule: { now: true } } });
  assert.equal((await waitForTarget(post.body.id)).state, 'published');
  const logs = JSON.stringify(captured.lines());
  assert.ok(logs.length > 1000, 'the process logged (requests, jobs)');
  assert.ok(!logs.includes(hook.token), 'no token in the logs');
});

test('another workspace\'s member cannot see, use or disconnect the account (404), nor connect into a workspace not theirs', async () => {
  const accountId = (await connect({ password: hook.url })).body.accounts[0].id;
  await assertStrangerLockedOut(n, accountId, { password: hook.url });
});

test('a forum post with a thread: the first part starts the post, the next goes into it; options are checked when saved', async () => {
  const s = sim.state('discord');
  const forum = discordChannel(s, { type: 'forum', name: 'releases' });
  const forumHook = discordWebhook(s, { name: 'Releases', channel: forum });
  const accountId = (await connect({ password: forumHook.url })).body.accounts[0].id;
  const count = s.posts.length;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, {
    token: owner.token,
    body: { text: 'Version 4', targets: [{ accountId, thread: [{ text: 'The details' }], options: { threadName: 'Version 4', embeds: [{ title: 'Changelog', url: 'https://example.com/v4' }] } }], schedule: { now: true } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const sent = s.posts.slice(count);
  assert.deepEqual(sent.map((x) => x.text), ['Version 4', 'The details']);
  const threadId = sent[0]!.id.split('/')[0];
  assert.equal(sent[1]!.id.split('/')[0], threadId, 'the second part is in the post the first started');
  assert.equal(target.url, `https://discord.com/channels/${forumHook.guildId}/${threadId}/${sent[0]!.id.split('/')[1]}`);

  const bad = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner.token, body: { text: 'x', targets: [{ accountId, options: { embeds: [{ title: 't'.repeat(300) }] } }] } });
  assert.equal(bad.status, 200);
  assert.equal(bad.body.valid, false);
  assert.equal(bad.body.problems[0].field, 'options');
  assert.match(bad.body.problems[0].message, /title holds at most 256 characters/);
});

test('a 429 is waited out (retry_after) and the message is sent once', async () => {
  const accountId = (await connect({ password: hook.url })).body.accounts[0].id;
  const s = sim.state('discord');
  const count = s.posts.length;
  s.knobs.retryAfterSeconds = 0;
  s.knobs.rateLimitNext = 1;
  const target = await n.postNow(accountId, 'after a 429');
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  assert.equal(s.knobs.rateLimitNext, 0, 'the 429 was met');
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('a send that timed out ends unknown (a webhook cannot read its channel back), and is not sent again', async () => {
  const accountId = (await connect({ password: hook.url })).body.accounts[0].id;
  const s = sim.state('discord');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await n.postNow(accountId, 'did it arrive?');
  assert.equal(target.state, 'unknown', JSON.stringify(target));
  assert.match(target.error.message, /cannot read its channel back/);
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('disconnecting forgets the token (deleting the webhook would end it for everyone) and keeps the history', async () => {
  const other = discordWebhook(sim.state('discord'), { name: 'Leaving' });
  const accountId = (await connect({ password: other.url })).body.accounts[0].id;
  await assertDisconnectForgets(n, 'discord', accountId, 'no call to Discord');
});
