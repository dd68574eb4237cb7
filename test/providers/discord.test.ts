// The Discord adapter against the simulator's webhook API (tools/provider-sim/networks/discord.ts):
// connecting a channel by its webhook URL (Discord's hosts only), publishing text, embeds and files, a
// forum post and its thread parts, deleting, every error class (429 with retry_after), the honest answer
// after an unknown outcome, and the webhook token kept out of logs, metrics and error texts (it is part of
// every request's URL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { isKind, mp4, png, secretProbe, signedIn } from '../support/credentials.ts';
import { createDiscord, parseWebhookUrl, type DiscordProvider } from '../../src/providers/discord.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import { redactSecrets } from '../../src/providers/http.ts';
import { deleteWebhook, discordChannel, discordChannels, discordWebhook, resetWebhookToken, type SimDiscordChannel } from '../../tools/provider-sim/networks/discord.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: DiscordProvider;
let s: NetworkState;
let base: string;
let journal: MemorySendJournal;
let hook: ReturnType<typeof discordWebhook>;
let forum: SimDiscordChannel;
let forumHook: ReturnType<typeof discordWebhook>;

before(async () => {
  h = await harness();
  s = h.sim.state('discord');
  base = h.sim.base('discord');
  journal = new MemorySendJournal();
  p = createDiscord({ http: h.http, settings: { baseUrls: { api: base } }, journal });
  hook = discordWebhook(s, { name: 'News bot' });
  forum = discordChannel(s, { type: 'forum', name: 'releases' });
  forumHook = discordWebhook(s, { name: 'Release notes', channel: forum });
});
after(() => h.stop());

const hits = (method?: string) => s.log.filter((l) => l.path.startsWith('/discord/webhooks') && (!method || l.method === method)).length;
const since = () => new Date(Date.now() - 60_000);
const simPost = (remoteId: string) => s.posts.find((x) => x.id === remoteId)!;
const raw = (remoteId: string) => simPost(remoteId).raw as { threadName?: string; threadId?: string; embeds?: unknown[]; flags?: number; descriptions: (string | null)[]; wait: string };
let markers = 0;
const marker = () => `m-${++markers}`;

const connect = (url = hook.url, provider: Provider = p): Promise<AccountRef> => signedIn(provider, '', url);

test('connect by pasting the webhook URL: Get Webhook with Token names the webhook, its channel and server; the token is the secret kept', async () => {
  const before = hits();
  const signed = await p.signIn!('', `  ${hook.url} `);
  assert.equal(hits() - before, 1, 'one GET');
  assert.deepEqual(signed.tokens, { accessToken: hook.token }, 'no expiry, no refresh token');
  assert.deepEqual(signed.identities, [{
    externalId: hook.id, kind: 'page', username: 'News bot', displayName: 'News bot',
    profileUrl: `https://discord.com/channels/${hook.guildId}/${hook.channelId}`, data: { channelId: hook.channelId, guildId: hook.guildId },
  }]);
  // Other forms Discord shows the same URL in.
  for (const typed of [hook.url.replace('discord.com', 'discordapp.com'), hook.url.replace('/api/', '/api/v10/'), `${hook.url}/`]) {
    assert.equal((await p.signIn!('', typed)).identities![0]!.externalId, hook.id, typed);
  }
  await assert.rejects(p.identities({ accessToken: hook.token }), isKind('permanent'), 'a token alone names no channel');
  assert.equal(p.meta.connect, 'webhook_url');
});

test('SSRF: a webhook URL on any other host (or scheme, port, user) is refused before any request; the pasted host is never contacted', async () => {
  const before = hits();
  const path = `/api/webhooks/${hook.id}/${hook.token}`;
  const refused: [string, RegExp][] = [
    [`https://evil.example${path}`, /on discord\.com or discordapp\.com; this one is on evil\.example/],
    [`https://discord.com.evil.example${path}`, /this one is on discord\.com\.evil\.example/],
    [`https://127.0.0.1${path}`, /this one is on 127\.0\.0\.1/],
    [`https://169.254.169.254${path}`, /this one is on 169\.254\.169\.254/],
    [`${base}/webhooks/${hook.id}/${hook.token}`, /starts with https/],
    [`http://discord.com${path}`, /starts with https/],
    [`https://discord.com:8443${path}`, /no user name, password or port/],
    [`https://user:pw@discord.com${path}`, /no user name, password or port/],
    [`https://discord.com${path}?wait=true`, /without anything after it/],
    [`https://discord.com/api/channels/${hook.id}/${hook.token}`, /not a webhook URL/],
    [`https://discord.com/api/webhooks/abc/${hook.token}`, /not a webhook URL/],
    ['not a url', /not a webhook URL/],
  ];
  for (const [url, why] of refused) await assert.rejects(p.signIn!('', url), (e: unknown) => isKind('permanent')(e) && why.test((e as Error).message), url);
  assert.equal(hits(), before, 'nothing was sent anywhere');
  // Whatever host is pasted, the call goes to the configured API (here the simulator), with the id and token only.
  assert.deepEqual(parseWebhookUrl(`https://discordapp.com/api/v9/webhooks/${hook.id}/${hook.token}`), { id: hook.id, token: hook.token });
});

test('an invalid webhook on connect: deleted (Unknown Webhook) or a reset URL (Invalid Webhook Token) is auth_expired; a follower webhook is refused', async () => {
  const gone = discordWebhook(s, { name: 'Gone' });
  deleteWebhook(s, gone.id);
  await assert.rejects(p.signIn!('', gone.url), isKind('auth_expired', /Unknown Webhook \(10015\)/, 404));
  const reset = discordWebhook(s, { name: 'Reset' });
  resetWebhookToken(s, reset.id);
  await assert.rejects(p.signIn!('', reset.url), isKind('auth_expired', /Invalid Webhook Token \(50027\)/, 401));
  const follower = discordWebhook(s, { name: 'Follower', type: 2 });
  await assert.rejects(p.signIn!('', follower.url), isKind('permanent', /not an incoming webhook/));
});

test('refresh checks the webhook still exists and keeps the token; a deleted webhook needs reconnecting', async () => {
  const other = discordWebhook(s, { name: 'Refreshing' });
  const a = await connect(other.url);
  assert.deepEqual(await p.refresh(a), a.tokens);
  deleteWebhook(s, other.id);
  await assert.rejects(p.refresh(a), isKind('auth_expired', /10015/));
  await assert.rejects(p.publish(a, { text: 'after deletion', media: [], marker: marker() }), isKind('auth_expired', undefined, 404));
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined, 'deleting the webhook would end it for everyone: disconnecting forgets the token');
});

test('publish text with wait=true: the answer is the message, known as channel/message, with its link; silent sets SUPPRESS_NOTIFICATIONS', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'Grüße 👋 https://example.com', media: [], marker: marker() });
  const [channelId, messageId] = post.remoteId.split('/');
  assert.equal(channelId, hook.channelId);
  assert.equal(simPost(post.remoteId).text, 'Grüße 👋 https://example.com');
  assert.equal(raw(post.remoteId).wait, 'true');
  assert.equal(post.url, `https://discord.com/channels/${hook.guildId}/${hook.channelId}/${messageId}`);
  const quiet = await p.publish(a, { text: 'quiet', media: [], marker: marker(), options: { silent: true } });
  assert.equal(raw(quiet.remoteId).flags, 4096);
});

test('publish embeds: sent as given, up to 10; an embed alone is a message', async () => {
  const a = await connect();
  const embeds = [
    { title: 'Release 2.0', description: 'What is new', url: 'https://example.com/2.0', color: 0x5865f2, fields: [{ name: 'Speed', value: '2×', inline: true }], footer: { text: 'AllIN' } },
    { image: { url: 'https://example.com/a.png' }, author: { name: 'Team' } },
  ];
  const post = await p.publish(a, { text: 'See below', media: [], marker: marker(), options: { embeds } });
  assert.deepEqual(raw(post.remoteId).embeds, embeds);
  const alone = await p.publish(a, { text: '', media: [], marker: marker(), options: { embeds: [{ title: 'Only an embed' }] } });
  assert.equal(simPost(alone.remoteId).text, '');
});

test('publish files: one multipart request, files[n] with payload_json, alt text as each attachment\'s description', async () => {
  const a = await connect();
  const before = hits('POST');
  const post = await p.publish(a, { text: 'three files', media: [png({ altText: 'a grey square' }), mp4(), png()], marker: marker(), options: { embeds: [{ title: 'with an embed' }] } });
  assert.equal(hits('POST') - before, 1, 'one request');
  const sim = simPost(post.remoteId);
  assert.equal(sim.text, 'three files');
  assert.deepEqual(sim.media.map((m) => m.split(':')[0]), ['image/png', 'video/mp4', 'image/png']);
  assert.deepEqual(raw(post.remoteId).descriptions, ['a grey square', null, null]);
  assert.equal(raw(post.remoteId).embeds!.length, 1, 'payload_json carried the embeds');
});

test('a forum: the first part starts a post titled threadName (the thread is the message); the next parts go into that thread', async () => {
  const a = await connect(forumHook.url);
  const first = await p.publish(a, { text: 'Version 3 is out', media: [png()], marker: marker(), options: { threadName: 'Version 3' } });
  const [threadId, messageId] = first.remoteId.split('/');
  assert.equal(threadId, messageId, 'a forum post\'s thread has its first message\'s id');
  const thread = discordChannels(s).get(threadId!)!;
  assert.deepEqual([thread.type, thread.name, thread.parentId], ['thread', 'Version 3', forum.id]);
  const second = await p.publish(a, { text: 'part 2', media: [], replyTo: first.remoteId, marker: marker(), options: { threadName: 'Version 3' } });
  const third = await p.publish(a, { text: 'part 3', media: [], replyTo: second.remoteId, marker: marker() });
  for (const part of [second, third]) {
    assert.equal(part.remoteId.split('/')[0], threadId, 'in the thread');
    assert.equal(raw(part.remoteId).threadId, threadId);
    assert.equal(raw(part.remoteId).threadName, undefined, 'no second post');
  }
  // Into an existing post by its id.
  const into = await p.publish(a, { text: 'later news', media: [], marker: marker(), options: { threadId } });
  assert.equal(into.remoteId.split('/')[0], threadId);
  // Without a title a forum refuses, and says what to do.
  await assert.rejects(p.publish(a, { text: 'no title', media: [], marker: marker() }), (e: unknown) => isKind('permanent', /220001/, 400)(e) && /option threadName/.test((e as Error).message));
  // A title in a text channel is refused too.
  const t = await connect();
  await assert.rejects(p.publish(t, { text: 'x', media: [], marker: marker(), options: { threadName: 'nope' } }), isKind('permanent', /220003/, 400));
  await assert.rejects(p.publish(t, { text: 'x', media: [], marker: marker(), options: { threadId } }), isKind('permanent', /10003/, 400), 'a thread of another channel');
});

test('a thread in a text channel: a webhook cannot reply, so the next parts follow in the channel', async () => {
  const a = await connect();
  const first = await p.publish(a, { text: 'part 1', media: [], marker: marker() });
  const second = await p.publish(a, { text: 'part 2', media: [], replyTo: first.remoteId, marker: marker() });
  assert.equal(second.remoteId.split('/')[0], hook.channelId);
  assert.equal(raw(second.remoteId).threadId, undefined);
  assert.equal(p.meta.limits.threads, true);
  assert.equal(p.meta.limits.firstComment, false);
});

test('deletePost deletes the message (in a thread too); deleting again is fine', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'to delete', media: [], marker: marker() });
  await p.deletePost(a, post.remoteId);
  assert.equal(s.posts.some((x) => x.id === post.remoteId), false);
  await p.deletePost(a, post.remoteId);
  const f = await connect(forumHook.url);
  const fp = await p.publish(f, { text: 'forum post', media: [], marker: marker(), options: { threadName: 'Short-lived' } });
  const reply = await p.publish(f, { text: 'in it', media: [], replyTo: fp.remoteId, marker: marker() });
  await p.deletePost(f, reply.remoteId);
  assert.equal(s.posts.some((x) => x.id === reply.remoteId), false);
  await assert.rejects(p.deletePost(a, 'nonsense'), isKind('permanent', /bad_remote_id/));
});

test('limits are refused before any request: 2000 characters, 10 files, 10 MiB, types, embeds and their limits, options', async () => {
  const a = await connect();
  const count = s.posts.length;
  assert.equal(p.meta.limits.maxTextLength, 2000);
  await p.publish(a, { text: 'x'.repeat(2000), media: [], marker: marker() });
  await p.publish(a, { text: '', media: Array.from({ length: 10 }, () => png()), marker: marker() });
  assert.equal(s.posts.length, count + 2, 'the limits themselves fit');
  const sent = hits();
  const refused: [string, Parameters<Provider['publish']>[1], RegExp][] = [
    ['text', { text: 'x'.repeat(2001), media: [], marker: marker() }, /text is 2001/],
    ['emoji count as two', { text: '😀'.repeat(1001), media: [], marker: marker() }, /text is 2002/],
    ['empty', { text: '  ', media: [], marker: marker() }, /empty/],
    ['eleven files', { text: '', media: Array.from({ length: 11 }, () => png()), marker: marker() }, /at most 10 files/],
    ['type', { text: '', media: [png({ mimeType: 'image/tiff' })], marker: marker() }, /image\/tiff/],
    ['big file', { text: '', media: [png({ bytes: 10 * 1024 * 1024 + 1 })], marker: marker() }, /10 MiB/],
    ['eleven embeds', { text: 'x', media: [], marker: marker(), options: { embeds: Array.from({ length: 11 }, () => ({ title: 't' })) } }, /at most 10 embeds/],
    ['long title', { text: 'x', media: [], marker: marker(), options: { embeds: [{ title: 't'.repeat(257) }] } }, /title holds at most 256/],
    ['6000 in all', { text: 'x', media: [], marker: marker(), options: { embeds: [{ description: 'd'.repeat(4000) }, { description: 'd'.repeat(2001) }] } }, /6001 characters in all/],
    ['empty embed', { text: 'x', media: [], marker: marker(), options: { embeds: [{ color: 1 }] } }, /embed 1 is empty/],
    ['bad url', { text: 'x', media: [], marker: marker(), options: { embeds: [{ title: 't', url: 'javascript:alert(1)' }] } }, /http\(s\) link/],
    ['both thread options', { text: 'x', media: [], marker: marker(), options: { threadName: 'a', threadId: '123456789012345678' } }, /not both/],
    ['long thread name', { text: 'x', media: [], marker: marker(), options: { threadName: 'n'.repeat(101) } }, /1 to 100/],
    ['unknown option', { text: 'x', media: [], marker: marker(), options: { pin: true } }, /"pin" is not an option/],
    ['option type', { text: 'x', media: [], marker: marker(), options: { silent: 'yes' } }, /true or false/],
  ];
  for (const [name, req, why] of refused) await assert.rejects(p.publish(a, req), (e: unknown) => isKind('permanent')(e) && why.test((e as Error).message), name);
  assert.equal(hits(), sent, 'nothing was sent');
});

test('429: rate_limited with the wait from retry_after (seconds, a float), which the headers back; nothing was created', async () => {
  const a = await connect();
  const count = s.posts.length;
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(a, { text: 'limited', media: [], marker: marker() }),
    (e: unknown) => isKind('rate_limited', /rate limited/, 429)(e) && (e as ProviderError).details.retryAfterMs === 7250 && /\(shared\)/.test((e as Error).message));
  assert.equal(s.posts.length, count, 'nothing was created');
  assert.ok(await p.publish(a, { text: 'after the wait', media: [], marker: marker() }));
});

test('error classes: 5xx transient, malformed 2xx an unknown outcome, a read that cannot be read transient', async () => {
  const a = await connect();
  const req = () => ({ text: 'x', media: [], marker: marker() });
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, req()), isKind('transient', /Internal Server Error/, 500));
  s.knobs.errorRate = 0;
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, req()), isKind('unknown_outcome', /malformed_response/));
  s.knobs.malformedNext = 1;
  s.knobs.rateLimitNext = 0;
  await assert.rejects(p.refresh(a), isKind('transient', /malformed_response/), 'a read that cannot be read changed nothing');
  s.knobs.malformedNext = 0;
});

test('accept, then time out: unknown_outcome; findByMarker says it cannot tell (never "not found"), also after a restart; a marker never sent is absent', async () => {
  const a = await connect();
  const m = marker();
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'did it go?', media: [], marker: m }), isKind('unknown_outcome'));
  assert.equal(s.posts.length, count + 1, 'the message exists');
  await assert.rejects(p.findByMarker(a, m, since()), (e: unknown) => isKind('permanent', /^cannot_reconcile$/)(e) && /cannot read its channel back/.test((e as Error).message));
  const restarted = createDiscord({ http: h.http, settings: { baseUrls: { api: base } }, journal });
  await assert.rejects(restarted.findByMarker(a, m, since()), isKind('permanent', /^cannot_reconcile$/), 'the journal outlives the process');
  assert.equal(await p.findByMarker(a, 'never-sent', since()), null, 'nothing was written down: nothing was sent');
  assert.equal(s.posts.length, count + 1, 'reconciling sent nothing');
  // A file that cannot be read leaves no record: the marker stays absent.
  const unread = marker();
  await assert.rejects(p.publish(a, { text: '', media: [{ ...png(), read: async () => { throw new Error('disk gone'); } }], marker: unread }), /disk gone/);
  assert.equal(await p.findByMarker(a, unread, since()), null);
});

test('the webhook token is never in logs, metrics or error texts, though it is in every URL', async () => {
  const secretHook = discordWebhook(s, { name: 'Secret' });
  const { errors, texts, operations } = await secretProbe({
    provider: 'discord', state: s, apiBase: base,
    create: (http, api) => createDiscord({ http, settings: { baseUrls: { api } } }),
    account: (dp) => connect(secretHook.url, dp),
    more: (dp, out) => dp.signIn!('', secretHook.url.replace('discord.com', 'evil.example')).then(() => undefined, (e: Error) => { out.push(e.message); }),
  });
  assert.equal(errors.length, 5);
  for (const text of texts) assert.ok(!text.includes(secretHook.token), `the token leaked: ${text.slice(0, 300)}`);
  assert.deepEqual(operations, ['executeWebhook', 'getWebhook']);
  assert.equal(redactSecrets(`POST https://discord.com/api/v10/webhooks/${secretHook.id}/${secretHook.token}?wait=true failed`),
    `POST https://discord.com/api/v10/webhooks/${secretHook.id}/[redacted]?wait=true failed`);
});

test('every call moved allin_social_api_calls_total, labelled by operation', async () => {
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'discord');
  for (const op of ['getWebhook', 'executeWebhook', 'deleteWebhookMessage']) {
    assert.ok(calls.some((v) => v.labels.operation === op && /^20[04]$/.test(v.labels.status as string)), op);
  }
  assert.ok(calls.some((v) => v.labels.status === '429'));
  assert.ok(calls.some((v) => v.labels.status === '401'));
  assert.ok(calls.some((v) => v.labels.status === 'timeout'));
});
