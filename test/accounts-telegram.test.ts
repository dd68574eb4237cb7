// Telegram through the real API and worker, on a simulator of its own: GET /api/networks offers it with
// its limits; a channel is connected with a chat and a bot token (kept encrypted, never in an answer);
// refusals say what to fix; another workspace cannot reach the account; a post with a thread is
// published as replies; a send that timed out ends `unknown`, never sent twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { telegramBot, telegramChat, type SimTelegramBot, type SimTelegramChat } from '../tools/provider-sim/networks/telegram.ts';
import type { TestApp } from './support/app.ts';
import { assertDisconnectForgets, assertStoredEncrypted, assertStrangerLockedOut, credentialsApp, type CredentialsApp } from './support/credentials.ts';
import type { Person } from './support/fixtures.ts';
import type { Simulator } from '../tools/provider-sim/server.ts';

let n: CredentialsApp;
let sim: Simulator;
let t: TestApp;
let owner: Person;
let ws: string;
let bot: SimTelegramBot;
let channel: SimTelegramChat;

before(async () => {
  n = await credentialsApp('telegram', {
    setup: (sm) => {
      const s = sm.state('telegram');
      bot = telegramBot(s, { username: 'api_test_bot' });
      channel = telegramChat(s, { type: 'channel', title: 'API news', username: 'api_news', members: { [bot.id]: { status: 'administrator', canPost: true } } });
    },
    env: (sm) => ({ TELEGRAM_API_URL: sm.base('telegram'), SOCIAL_API_TIMEOUT_MS: '1500' }),
  });
  ({ sim, t, owner, ws } = n);
});
after(() => n.stop());

const connect = (body: Record<string, unknown>, token?: string, workspace?: string) => n.connect(body, token, workspace);
const waitForTarget = (postId: string) => n.waitForTarget(postId);

test('GET /api/networks offers Telegram, connected with a bot token, with its text, caption and album limits', async () => {
  const r = await t.call('GET', '/api/networks', { token: owner.token });
  assert.equal(r.status, 200);
  const n = r.body.networks.find((x: { id: string }) => x.id === 'telegram');
  assert.ok(n, 'telegram is offered');
  assert.equal(n.connect, 'bot_token');
  assert.equal(n.docsUrl, 'https://core.telegram.org/bots/api');
  assert.equal(n.limits.maxTextLength, 4096);
  assert.equal(n.limits.maxCaptionLength, 1024);
  assert.equal(n.limits.media.maxCount, 10);
  assert.equal(n.limits.threads, true);
});

test('connect a channel: the token is stored encrypted and never answered; refusals are 400s that say what to fix', async () => {
  const r = await connect({ identifier: '@api_news', password: bot.token });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [acc] = r.body.accounts;
  assert.equal(acc.username, '@api_news');
  assert.equal(acc.externalId, String(channel.id));
  assert.equal(acc.profileUrl, 'https://t.me/api_news');
  const secret = bot.token.split(':')[1]!;
  const list = await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: owner.token });
  for (const answer of [r.body, list.body]) assert.ok(!JSON.stringify(answer).includes(secret), 'no token in an answer');
  await assertStoredEncrypted(t, acc.id, secret);

  const wrong = await connect({ identifier: '@api_news', password: `${bot.id}:${'z'.repeat(35)}` });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
  assert.match(wrong.body.message, /bot token.*@BotFather/);
  const notAdmin = telegramChat(sim.state('telegram'), { type: 'channel', title: 'Not yet', username: 'not_yet', members: { [bot.id]: { status: 'member' } } });
  const refused = await connect({ identifier: `@${notAdmin.username}`, password: bot.token });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'NETWORK_REFUSED');
  assert.match(refused.body.message, /not an administrator of this channel; add it as one/);
  const missing = await connect({ identifier: '@nowhere_at_all', password: bot.token });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /chat not found/);
  const oauth = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'telegram' } });
  assert.equal(oauth.status, 400);
  assert.equal(oauth.body.code, 'USE_CREDENTIALS');
  assert.match(oauth.body.message, /a chat and a bot token/);
  const again = await connect({ identifier: String(channel.id), password: bot.token });
  assert.equal(again.body.accounts[0].id, acc.id, 'connecting the chat again (a new token, say) is the same account');
});

test('another workspace\'s member cannot see, use or disconnect the account (404), nor connect into a workspace not theirs', async () => {
  const r = await connect({ identifier: '@api_news', password: bot.token });
  await assertStrangerLockedOut(n, r.body.accounts[0].id, { identifier: '@api_news', password: bot.token });
});

test('a post with a thread is published as replies in the channel; the caption limit is checked when saved', async () => {
  const accountId = (await connect({ identifier: '@api_news', password: bot.token })).body.accounts[0].id;
  const s = sim.state('telegram');
  const count = s.posts.length;
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, {
    token: owner.token, body: { text: 'part one', targets: [{ accountId, thread: [{ text: 'part two' }] }], schedule: { now: true } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await waitForTarget(r.body.id);
  assert.equal(target.state, 'published', JSON.stringify(target.error));
  const sent = s.posts.slice(count);
  assert.deepEqual(sent.map((x) => x.text), ['part one', 'part two']);
  assert.equal(sent[1]!.replyTo, sent[0]!.id);
  assert.equal(target.url, `https://t.me/api_news/${sent[0]!.id.split('/')[1]}`);

  const bad = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner.token, body: { text: 'x', targets: [{ accountId, options: { pin: true } }] } });
  assert.equal(bad.status, 200);
  assert.equal(bad.body.valid, false);
  assert.equal(bad.body.problems[0].field, 'options');
  assert.match(bad.body.problems[0].message, /"pin" is not one/);
});

test('a send that timed out ends unknown (a bot cannot read the channel back), and is not sent again', async () => {
  const accountId = (await connect({ identifier: '@api_news', password: bot.token })).body.accounts[0].id;
  const s = sim.state('telegram');
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  const target = await n.postNow(accountId, 'did it arrive?');
  assert.equal(target.state, 'unknown', JSON.stringify(target));
  assert.match(target.error.message, /cannot read the chat back/);
  assert.equal(s.posts.length, count + 1, 'sent once');
});

test('disconnecting forgets the token (there is nothing to revoke at Telegram) and keeps the history', async () => {
  const other = telegramBot(sim.state('telegram'), { username: 'leaving_bot' });
  telegramChat(sim.state('telegram'), { type: 'channel', title: 'Leaving', username: 'leaving_chan', members: { [other.id]: { status: 'administrator', canPost: true } } });
  const accountId = (await connect({ identifier: '@leaving_chan', password: other.token })).body.accounts[0].id;
  await assertDisconnectForgets(n, 'telegram', accountId, 'no call to Telegram (logOut would end the bot for everyone)');
});
