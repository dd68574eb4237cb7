// The Telegram adapter against the simulator's Bot API (tools/provider-sim/networks/telegram.ts): connecting
// a chat with a bot token, publishing text, photos, videos, files and albums, threads as replies, every
// error class, the honest answer after an unknown outcome, and the token kept out of logs, metrics and
// error texts (it is part of every request's URL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { isKind, mp4, png, secretProbe, signedIn } from '../support/credentials.ts';
import { createTelegram, messageUrl, parseChat } from '../../src/providers/telegram.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import { redactSecrets } from '../../src/providers/http.ts';
import { withoutUrlSecrets } from '../../src/infra/http/client.ts';
import { setMember, telegramBot, telegramChat, type SimTelegramBot, type SimTelegramChat } from '../../tools/provider-sim/networks/telegram.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let base: string;
let journal: MemorySendJournal;
let bot: SimTelegramBot;
let channel: SimTelegramChat;
let privateChannel: SimTelegramChat;
let group: SimTelegramChat;

before(async () => {
  h = await harness();
  s = h.sim.state('telegram');
  base = h.sim.base('telegram');
  journal = new MemorySendJournal();
  p = createTelegram({ http: h.http, settings: { baseUrls: { api: base } }, journal });
  bot = telegramBot(s, { username: 'allin_test_bot' });
  channel = telegramChat(s, { type: 'channel', title: 'News', username: 'allin_news', members: { [bot.id]: { status: 'administrator', canPost: true } } });
  privateChannel = telegramChat(s, { type: 'channel', title: 'Team only', members: { [bot.id]: { status: 'administrator', canPost: true } } });
  group = telegramChat(s, { type: 'supergroup', title: 'Chat', members: { [bot.id]: { status: 'member' } } });
});
after(() => h.stop());

const hits = (method?: string) => s.log.filter((l) => l.path.startsWith('/telegram/bot') && (!method || l.path.split('?')[0]!.endsWith(`/${method}`))).length;
const since = () => new Date(Date.now() - 60_000);
const postOf = (chat: SimTelegramChat, messageId: string) => s.posts.find((x) => x.id === `${chat.id}/${messageId}`)!;
let markers = 0;
const marker = () => `m-${++markers}`;

const connect = (chat = '@allin_news', token = bot.token): Promise<AccountRef> => signedIn(p, chat, token);

test('connect a channel with a bot token: getMe, getChat, getChatMember; the chat is the account', async () => {
  const before = hits();
  const signed = await p.signIn!('@allin_news', `  ${bot.token} `);
  assert.equal(hits() - before, 3);
  assert.deepEqual(signed.tokens, { accessToken: bot.token }, 'no expiry, no refresh token');
  assert.deepEqual(signed.identities, [{
    externalId: String(channel.id), kind: 'page', username: '@allin_news', displayName: 'News', profileUrl: 'https://t.me/allin_news',
    data: { chatType: 'channel', chatUsername: 'allin_news', botId: bot.id, botUsername: 'allin_test_bot' },
  }]);
  // The same chat, typed other ways.
  for (const typed of ['allin_news', 'https://t.me/allin_news', 't.me/allin_news/', String(channel.id)]) {
    assert.equal((await p.signIn!(typed, bot.token)).identities![0]!.externalId, String(channel.id), typed);
  }
  const priv = (await p.signIn!(String(privateChannel.id), bot.token)).identities![0]!;
  assert.equal(priv.username, 'Team only');
  assert.equal(priv.profileUrl, undefined);
  assert.equal((await p.signIn!(String(group.id), bot.token)).identities![0]!.data!.chatType, 'supergroup', 'a member may send to a group');
  await assert.rejects(p.identities({ accessToken: bot.token }), isKind('permanent'), 'a token alone names no chat');
});

test('connect refusals say what to fix, and a malformed token or invite link never leaves AllIN', async () => {
  const before = hits();
  await assert.rejects(p.signIn!('@allin_news', 'not-a-token'), isKind('auth_expired', /not_a_bot_token/));
  await assert.rejects(p.signIn!('https://t.me/+AbCdEf123', bot.token), isKind('permanent', /invite link/));
  await assert.rejects(p.signIn!('@a b', bot.token), isKind('permanent', /neither a @username/));
  assert.equal(hits(), before, 'refused before any request');

  await assert.rejects(p.signIn!('@allin_news', `${bot.id}:${'x'.repeat(35)}`), isKind('auth_expired', /Unauthorized/, 401));
  await assert.rejects(p.signIn!('@nobody_here', bot.token), isKind('permanent', /chat not found/, 400));
  const dm = telegramChat(s, { type: 'private', title: 'Ann', members: { [bot.id]: { status: 'member' } } });
  await assert.rejects(p.signIn!(String(dm.id), bot.token), isKind('permanent', /private chat/));
  telegramChat(s, { type: 'channel', title: 'Other', username: 'other_chan', members: { [bot.id]: { status: 'member' } } });
  await assert.rejects(p.signIn!('@other_chan', bot.token), isKind('permanent', /not an administrator/));
  telegramChat(s, { type: 'channel', title: 'Edit only', username: 'edit_only', members: { [bot.id]: { status: 'administrator', canPost: false } } });
  await assert.rejects(p.signIn!('@edit_only', bot.token), isKind('permanent', /may not post/));
  telegramChat(s, { type: 'supergroup', title: 'Kicked', username: 'kicked_grp', members: { [bot.id]: { status: 'kicked' } } });
  await assert.rejects(p.signIn!('@kicked_grp', bot.token), isKind('permanent', /removed from this group/));
  telegramChat(s, { type: 'supergroup', title: 'Muted', username: 'muted_grp', members: { [bot.id]: { status: 'restricted', canSend: false } } });
  await assert.rejects(p.signIn!('@muted_grp', bot.token), isKind('permanent', /not a member of this group allowed/));
});

test('refresh checks the token and the bot\'s rights and keeps the token; a revoked token or lost rights need reconnecting', async () => {
  const other = telegramBot(s, { username: 'second_bot' });
  const chat = telegramChat(s, { type: 'channel', title: 'Second', username: 'second_chan', members: { [other.id]: { status: 'administrator', canPost: true } } });
  const a = await connect('@second_chan', other.token);
  assert.deepEqual(await p.refresh(a), a.tokens);
  setMember(chat, other.id, { status: 'administrator', canPost: false });
  await assert.rejects(p.refresh(a), isKind('auth_expired', /bot_cannot_post/));
  setMember(chat, other.id, { status: 'administrator', canPost: true });
  await h.sim.app.inject({ method: 'POST', url: '/_sim/telegram/revoke-all', payload: { user: String(other.id) } });
  await assert.rejects(p.refresh(a), isKind('auth_expired', /Unauthorized/, 401));
  await assert.rejects(p.publish(a, { text: 'after /revoke', media: [], marker: marker() }), isKind('auth_expired', undefined, 401));
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined, 'logOut would end the bot for everyone: disconnecting forgets the token');
});

test('publish text (sendMessage) with its public link; a private channel gets the t.me/c form; silent sends', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'Grüße 👋 https://example.com', media: [], marker: marker() });
  const sim = postOf(channel, post.remoteId);
  assert.equal(sim.text, 'Grüße 👋 https://example.com');
  assert.equal(post.url, `https://t.me/allin_news/${post.remoteId}`);
  assert.equal((sim.raw as { method: string }).method, 'sendMessage');

  const b = await connect(String(privateChannel.id));
  const quiet = await p.publish(b, { text: 'quiet', media: [], marker: marker(), options: { silent: true } });
  assert.equal(quiet.url, `https://t.me/c/${String(privateChannel.id).slice(4)}/${quiet.remoteId}`);
  assert.equal((postOf(privateChannel, quiet.remoteId).raw as { silent: boolean }).silent, true);
  assert.equal(messageUrl({ id: -4000001 }, 5), undefined, 'a basic group has no message links');
  assert.equal(parseChat(' @Allin_News '), '@Allin_News');
});

test('publish a photo, a video and a file with captions; an album mixes photos and videos; files go as documents', async () => {
  const a = await connect();
  const photo = await p.publish(a, { text: 'a photo', media: [png()], marker: marker() });
  assert.deepEqual([postOf(channel, photo.remoteId).text, (postOf(channel, photo.remoteId).raw as { method: string }).method], ['a photo', 'sendPhoto']);
  assert.match(postOf(channel, photo.remoteId).media[0]!, /^photo:image\/png:/);
  const video = await p.publish(a, { text: '', media: [mp4()], marker: marker() });
  assert.match(postOf(channel, video.remoteId).media[0]!, /^video:video\/mp4:/);
  const file = await p.publish(a, { text: 'as it is', media: [png()], marker: marker(), options: { asDocuments: true } });
  assert.match(postOf(channel, file.remoteId).media[0]!, /^document:image\/png:/);

  const count = s.posts.length;
  const album = await p.publish(a, { text: 'three at once', media: [png(), mp4(), png()], marker: marker() });
  const added = s.posts.slice(count);
  assert.equal(added.length, 3, 'one message per item');
  assert.deepEqual(added.map((x) => x.media[0]!.split(':')[0]), ['photo', 'video', 'photo']);
  assert.deepEqual(added.map((x) => x.text), ['three at once', '', ''], 'the caption is on the first item');
  assert.equal(album.remoteId, added[0]!.id.split('/')[1], 'the album is known by its first message');
  assert.equal(new Set(added.map((x) => (x.raw as { mediaGroupId: string }).mediaGroupId)).size, 1);
  const docs = s.posts.length;
  await p.publish(a, { text: '', media: [png(), png()], marker: marker(), options: { asDocuments: true } });
  assert.deepEqual(s.posts.slice(docs).map((x) => x.media[0]!.split(':')[0]), ['document', 'document']);
});

test('a thread: each next part replies to the previous one in the same chat; a reply to a vanished message is refused', async () => {
  const a = await connect();
  const first = await p.publish(a, { text: 'part 1', media: [], marker: marker() });
  const second = await p.publish(a, { text: 'part 2', media: [png()], replyTo: first.remoteId, marker: marker() });
  const third = await p.publish(a, { text: 'part 3', media: [], replyTo: second.remoteId, marker: marker() });
  assert.equal(postOf(channel, second.remoteId).replyTo, `${channel.id}/${first.remoteId}`);
  assert.equal(postOf(channel, third.remoteId).replyTo, `${channel.id}/${second.remoteId}`);
  await assert.rejects(p.publish(a, { text: 'to nothing', media: [], replyTo: '999999', marker: marker() }), isKind('permanent', /message to be replied not found/, 400));
  assert.equal(p.meta.limits.threads, true);
  assert.equal(p.meta.limits.firstComment, false);
});

test('limits are refused before any request: 4096 characters of text, 1024 of caption, 10 items, types, sizes, photo sides, options', async () => {
  const a = await connect();
  const before = hits();
  const count = s.posts.length;
  assert.equal(p.meta.limits.maxTextLength, 4096);
  assert.equal(p.meta.limits.maxCaptionLength, 1024);
  await p.publish(a, { text: 'x'.repeat(4096), media: [], marker: marker() });
  await p.publish(a, { text: 'x'.repeat(1024), media: [png()], marker: marker() });
  assert.equal(s.posts.length, count + 2, 'the limits themselves fit');
  const sent = hits();
  const refused: [string, Parameters<Provider['publish']>[1], RegExp][] = [
    ['text', { text: 'x'.repeat(4097), media: [], marker: marker() }, /text is 4097/],
    ['emoji count as two', { text: '😀'.repeat(2049), media: [], marker: marker() }, /text is 4098/],
    ['caption', { text: 'x'.repeat(1025), media: [png()], marker: marker() }, /caption is 1025/],
    ['empty', { text: '  ', media: [], marker: marker() }, /empty/],
    ['eleven', { text: '', media: Array.from({ length: 11 }, () => png()), marker: marker() }, /at most 10/],
    ['gif', { text: '', media: [png({ mimeType: 'image/gif' })], marker: marker() }, /image\/gif/],
    ['big photo', { text: '', media: [png({ bytes: 10_000_001 })], marker: marker() }, /10 MB/],
    ['big video', { text: '', media: [{ ...mp4(), bytes: 50_000_001 }], marker: marker() }, /50 MB/],
    ['tall photo', { text: '', media: [png({ width: 100, height: 2001 })], marker: marker() }, /20 times/],
    ['huge photo', { text: '', media: [png({ width: 6000, height: 4001 })], marker: marker() }, /10000/],
    ['option', { text: 'x', media: [], marker: marker(), options: { pin: true } }, /unknown option "pin"/],
    ['option type', { text: 'x', media: [], marker: marker(), options: { silent: 'yes' } }, /true or false/],
  ];
  for (const [name, req, why] of refused) await assert.rejects(p.publish(a, req), (e: unknown) => isKind('permanent')(e) && why.test((e as Error).message), name);
  assert.equal(hits(), sent, 'nothing was sent');
  assert.ok(hits() - before >= 2);
});

test('error classes: 401, 403 (kicked), 400 (chat gone), 429 with retry_after, 5xx, a group turned supergroup, malformed 2xx', async () => {
  const b2 = telegramBot(s, { username: 'errors_bot' });
  const chat = telegramChat(s, { type: 'supergroup', title: 'Errors', username: 'errors_grp', members: { [b2.id]: { status: 'member' } } });
  const a = await connect('@errors_grp', b2.token);
  const req = () => ({ text: 'x', media: [], marker: marker() });

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(a, req()), (e: unknown) => isKind('rate_limited', /retry after 7/, 429)(e) && (e as ProviderError).details.retryAfterMs === 7000);

  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, req()), isKind('transient', /Internal Server Error/, 500));
  s.knobs.errorRate = 0;

  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, req()), isKind('unknown_outcome', /malformed_response/));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.refresh(a), isKind('transient', /malformed_response/), 'a read that cannot be read changed nothing');

  setMember(chat, b2.id, { status: 'kicked' });
  await assert.rejects(p.publish(a, req()), isKind('permanent', /bot was kicked from the supergroup chat/, 403));
  setMember(chat, b2.id, { status: 'left' });
  await assert.rejects(p.publish(a, req()), isKind('permanent', /not a member/, 403));
  setMember(chat, b2.id, { status: 'member' });

  chat.migratedTo = -1009999;
  await assert.rejects(p.publish(a, req()), (e: unknown) => isKind('permanent', /group_migrated/, 400)(e) && /-1009999/.test((e as Error).message));
  delete chat.migratedTo;

  await assert.rejects(p.publish({ ...a, externalId: '-1000000999999' }, req()), isKind('permanent', /chat not found/, 400));
  await h.sim.app.inject({ method: 'POST', url: '/_sim/telegram/revoke-all', payload: { user: String(b2.id) } });
  await assert.rejects(p.publish(a, req()), isKind('auth_expired', /Unauthorized/, 401));
});

test('accept, then time out: unknown_outcome; findByMarker says it cannot tell (never "not found"), also after a restart; a marker never sent is absent', async () => {
  const a = await connect();
  const m = marker();
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'did it go?', media: [], marker: m }), isKind('unknown_outcome'));
  assert.equal(s.posts.length, count + 1, 'the message exists');
  await assert.rejects(p.findByMarker(a, m, since()), isKind('permanent', /^cannot_reconcile$/));
  const restarted = createTelegram({ http: h.http, settings: { baseUrls: { api: base } }, journal });
  await assert.rejects(restarted.findByMarker(a, m, since()), isKind('permanent', /^cannot_reconcile$/), 'the journal outlives the process');
  assert.equal(await p.findByMarker(a, 'never-sent', since()), null, 'nothing was written down: nothing was sent');
  assert.equal(s.posts.length, count + 1, 'reconciling sent nothing');
});

test('the bot token is never in logs, metrics or error texts, though it is in every URL', async () => {
  const b3 = telegramBot(s, { username: 'secret_bot' });
  telegramChat(s, { type: 'channel', title: 'Secret', username: 'secret_chan', members: { [b3.id]: { status: 'administrator', canPost: true } } });
  const { errors, texts, operations } = await secretProbe({
    provider: 'telegram', state: s, apiBase: base,
    create: (http, api) => createTelegram({ http, settings: { baseUrls: { api } } }),
    account: async (tp) => ({ ...await signedIn(tp, '@secret_chan', b3.token), username: 'x', data: {} }),
  });
  assert.equal(errors.length, 4);
  const secret = b3.token.split(':')[1]!;
  for (const text of texts) assert.ok(!text.includes(secret), `the token leaked: ${text.slice(0, 300)}`);
  assert.deepEqual(operations, ['getChat', 'getChatMember', 'getMe', 'sendMessage', 'sendPhoto']);

  // What a network or a transport error could echo is cleaned before it is quoted.
  assert.equal(redactSecrets(`GET https://api.telegram.org/bot${b3.token}/getMe failed`), 'GET https://api.telegram.org/bot[redacted]/getMe failed');
  assert.equal(redactSecrets(`token ${b3.token} refused`), 'token [redacted] refused');
  const url = new URL(`https://api.telegram.org/bot${b3.token}/sendMessage?x=1`);
  assert.equal(withoutUrlSecrets(`request to ${url.href} failed`, url), 'request to https://api.telegram.org/… failed');
  assert.equal(withoutUrlSecrets(`bad path ${url.pathname}`, url), 'bad path /…');
});

test('every call moved allin_social_api_calls_total, labelled by Bot API method', async () => {
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'telegram');
  for (const op of ['getMe', 'getChat', 'getChatMember', 'sendMessage', 'sendPhoto', 'sendVideo', 'sendDocument', 'sendMediaGroup']) {
    assert.ok(calls.some((v) => v.labels.operation === op && v.labels.status === '200'), op);
  }
  assert.ok(calls.some((v) => v.labels.status === '429'));
  assert.ok(calls.some((v) => v.labels.status === '401'));
  assert.ok(calls.some((v) => v.labels.status === 'timeout'));
});
