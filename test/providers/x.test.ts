// The X adapter against the X simulator module: OAuth 2.0 with PKCE and a confidential client, rotating
// refresh tokens, the v2 media flows, threads, reconciliation by text on the timeline, and X's errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createX, comparableText, xRetryAfterMs } from '../../src/providers/x.ts';
import { pkcePair } from '../../src/providers/oauth2.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
const CLIENT = { clientId: 'allin-x', clientSecret: 'x-secret' };
const make = (secret = CLIENT.clientSecret) => createX({ http: h.http, settings: { clientId: CLIENT.clientId, clientSecret: secret, baseUrls: { api: h.sim.base('x'), auth: h.sim.base('x') } } });

before(async () => {
  h = await harness();
  // A confidential app, as registered in the X developer portal: Basic client auth and an exact callback.
  h.sim.state('x').apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [REDIRECT], name: 'AllIN' });
  p = make();
});
after(() => h.stop());

const account = async (loginHint?: string): Promise<AccountRef> => {
  const { tokens } = await authorize(p, loginHint ? { loginHint } : {});
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: {} };
};
const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
const reasonOf = (e: unknown) => (e instanceof ProviderError ? e.details.reason : undefined);
const item = (mimeType: string, bytes: Buffer, altText?: string): MediaItem => ({ mimeType, bytes: bytes.length, read: async () => bytes, ...(altText ? { altText } : {}) });
/** An MP4-looking file (an ftyp box first) of the given size. */
const mp4 = (size: number) => {
  const b = Buffer.alloc(size, 7);
  b.writeUInt32BE(24, 0);
  b.write('ftypisom', 4, 'latin1');
  return b;
};
const since = () => new Date(Date.now() - 60_000);
let seq = 0;
const unique = (s: string) => `${s} #${++seq}-${Date.now()}`;

test('connect: PKCE S256, scopes with offline.access, Basic client auth; the profile is the identity', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/x/i/oauth2/authorize');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.deepEqual(url.searchParams.get('scope')!.split(' '), ['tweet.read', 'tweet.write', 'users.read', 'offline.access', 'media.write', 'like.read', 'like.write', 'tweet.moderate.write']);
  assert.match(url.search, /scope=tweet\.read%20tweet\.write/);

  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.ok(tokens.accessToken && tokens.refreshToken && tokens.expiresAt);
  assert.ok(tokens.scope?.includes('offline.access'));
  const ids = await p.identities(tokens);
  assert.equal(ids.length, 1);
  assert.equal(ids[0]!.kind, 'person');
  assert.match(ids[0]!.externalId, /^\d+$/);
  assert.equal(ids[0]!.username, 'x_u1');
  assert.match(ids[0]!.avatarUrl!, /_400x400\.jpg$/);
  assert.equal(ids[0]!.profileUrl, 'https://x.com/x_u1');
});

test('connect: a wrong PKCE verifier and a wrong client secret are refused', async () => {
  const { challenge } = pkcePair();
  const res = await fetch(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: challenge }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
  await assert.rejects(p.exchangeCode!({ code, redirectUri: REDIRECT, codeVerifier: pkcePair().verifier }),
    (e) => kindOf(e) === 'permanent' && /authorization code was invalid/.test((e as Error).message));
  // The secret goes in HTTP Basic; X answers 401 unauthorized_client without valid credentials, which is
  // AllIN's configuration to fix, not the user's authorisation.
  await assert.rejects(authorize(make('wrong-secret')), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'unauthorized_client');
});

test('consent denied comes back as access_denied on the redirect', async () => {
  h.sim.state('x').knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p);
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
    assert.equal(redirect.searchParams.get('state'), 'state-123');
  } finally {
    h.sim.state('x').knobs.denyConsent = false;
  }
});

test('refresh rotates: a new pair works, the old refresh token is refused (auth_expired)', async () => {
  const a = await account();
  const next = await p.refresh(a);
  assert.ok(next.accessToken && next.refreshToken);
  assert.notEqual(next.refreshToken, a.tokens.refreshToken);
  assert.equal((await p.identities(next))[0]!.externalId, a.externalId);
  await assert.rejects(p.refresh(a), (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'invalid_refresh_token');
  await assert.rejects(p.refresh({ ...a, tokens: { accessToken: next.accessToken } }), (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'no_refresh_token');
});

test('revoke: both tokens stop working', async () => {
  const a = await account();
  await p.revoke!(a);
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'auth_expired');
  await assert.rejects(p.refresh(a), (e) => kindOf(e) === 'auth_expired');
});

test('publish text: POST /2/tweets, id and public URL', async () => {
  const a = await account();
  const text = unique('hello from AllIN');
  const post = await p.publish(a, { text, media: [], marker: 'x-text' });
  assert.match(post.remoteId, /^\d+$/);
  assert.equal(post.url, `https://x.com/x_u1/status/${post.remoteId}`);
  const stored = h.sim.state('x').posts.find((x) => x.id === post.remoteId)!;
  assert.deepEqual(stored.raw, { text });
});

test('publish with images: one-shot upload per image, alt text through /2/media/metadata', async () => {
  const a = await account();
  const s = h.sim.state('x');
  const before = s.log.length;
  const post = await p.publish(a, { text: unique('two pictures'), marker: 'x-img', media: [item('image/png', greyPng(1, 1), 'a red dot'), item('image/png', greyPng(1, 1))] });
  const stored = s.posts.find((x) => x.id === post.remoteId)!;
  assert.equal(stored.media.length, 2);
  assert.deepEqual((stored.raw as { media: { media_ids: string[] } }).media.media_ids, stored.media);
  const paths = s.log.slice(before).map((l) => `${l.method} ${l.path}`);
  assert.equal(paths.filter((x) => x === 'POST /x/2/media/upload').length, 2);
  assert.equal(paths.filter((x) => x === 'POST /x/2/media/metadata').length, 1);
});

test('publish with a video: initialize, 1 MB appends, finalize (pending), STATUS in_progress, then succeeded', async () => {
  const a = await account();
  const s = h.sim.state('x');
  const before = s.log.length;
  const video = mp4(2.5 * 1024 * 1024);
  const post = await p.publish(a, { text: unique('a video'), marker: 'x-video', media: [item('video/mp4', video)] });
  const stored = s.posts.find((x) => x.id === post.remoteId)!;
  assert.equal(stored.media.length, 1);
  assert.equal(s.media.get(stored.media[0]!)!.state, 'ready');
  assert.equal(s.media.get(stored.media[0]!)!.bytes, video.length);
  const paths = s.log.slice(before).map((l) => `${l.method} ${l.path.replace(/\d{6,}/g, ':id')}`);
  assert.deepEqual(paths.filter((x) => x.includes('/media/')), [
    'POST /x/2/media/upload/initialize',
    'POST /x/2/media/upload/:id/append', 'POST /x/2/media/upload/:id/append', 'POST /x/2/media/upload/:id/append',
    'POST /x/2/media/upload/:id/finalize',
    // The simulator answers in_progress at the first STATUS read and succeeded at the second: the adapter
    // waited past in_progress, and posted only once processing succeeded.
    'GET /x/2/media/upload?command=STATUS&media_id=:id', 'GET /x/2/media/upload?command=STATUS&media_id=:id',
  ]);
  const lastMedia = s.log.slice(before).findLastIndex((l) => l.path.includes('/media/'));
  assert.ok(s.log.slice(before).slice(lastMedia + 1).some((l) => l.method === 'POST' && l.path === '/x/2/tweets'), 'the post came after the last STATUS read');
});

test('a video X cannot process fails for good (permanent), and nothing is posted', async () => {
  const a = await account();
  const count = h.sim.state('x').posts.length;
  const before = h.sim.state('x').log.length;
  // X's reason (processing_info.error.message) is in the error a person reads.
  await assert.rejects(p.publish(a, { text: unique('broken video'), marker: 'x-badvideo', media: [item('video/mp4', Buffer.alloc(4096, 1))] }),
    (e) => kindOf(e) === 'permanent' && /media_processing_failed/.test(reasonOf(e) ?? '') && /X could not process the media \(Invalid or Unsupported media/.test((e as Error).message));
  assert.equal(h.sim.state('x').log.slice(before).filter((l) => l.path.includes('command=STATUS')).length, 1, 'failed at the first STATUS read: no more reads');
  assert.equal(h.sim.state('x').posts.length, count);
});

test('more media than X allows is refused before any upload', async () => {
  const a = await account();
  await assert.rejects(p.publish(a, { text: 'x', marker: 'x-mix', media: [item('video/mp4', mp4(1000)), item('image/png', greyPng(1, 1))] }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'media_not_allowed');
});

test('thread: each part replies to the previous one (reply.in_reply_to_tweet_id)', async () => {
  const a = await account();
  const first = await p.publish(a, { text: unique('thread 1/2'), media: [], marker: 'x-t1' });
  const second = await p.publish(a, { text: unique('thread 2/2'), media: [], replyTo: first.remoteId, marker: 'x-t2' });
  const stored = h.sim.state('x').posts.find((x) => x.id === second.remoteId)!;
  assert.equal(stored.replyTo, first.remoteId);
  assert.deepEqual((stored.raw as { reply: unknown }).reply, { in_reply_to_tweet_id: first.remoteId });
});

test('reply restriction: replying to an account that did not summon us is permanent (reply_not_allowed)', async () => {
  const other = await account('u2');
  const me = await account();
  const theirs = await p.publish(other, { text: unique('a post by someone else'), media: [], marker: 'x-other' });
  await assert.rejects(p.publish(me, { text: unique('my reply'), media: [], replyTo: theirs.remoteId, marker: 'x-reply' }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'reply_not_allowed');
  // Mentioned by the parent's author: the reply is accepted.
  const summoning = await p.publish(other, { text: unique('what do you think @x_u1'), media: [], marker: 'x-summon' });
  const ok = await p.publish(me, { text: unique('answering'), media: [], replyTo: summoning.remoteId, marker: 'x-reply2' });
  assert.ok(ok.remoteId);
});

test('the 280 limit is weighted (twitter-text): 140 CJK characters fit, 141 are refused for good', async () => {
  const a = await account();
  const cjk = (n: number) => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + ((i + seq * 7 + Date.now()) % 2000))).join('');
  ++seq;
  assert.ok((await p.publish(a, { text: cjk(140), media: [], marker: 'x-cjk-140' })).remoteId);
  await assert.rejects(p.publish(a, { text: cjk(141), media: [], marker: 'x-cjk-141' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 400 && /too long/.test((e as Error).message));
});

test('duplicate content: X\'s 403 is permanent (duplicate_content)', async () => {
  const a = await account();
  const text = unique('said once');
  await p.publish(a, { text, media: [], marker: 'x-dup1' });
  await assert.rejects(p.publish(a, { text, media: [], marker: 'x-dup2' }), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'duplicate_content');
});

test('accept, then time out: unknown outcome; findByMarker finds the post by its text on the timeline; a retry resolves to it', async () => {
  const a = await account();
  const s = h.sim.state('x');
  // A link (X rewrites it to t.co), an ampersand (X answers &amp;) and an image (X appends a t.co media link).
  const text = unique('Read this & that: https://example.com/some/long/path?x=1 and example.org');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text, media: [item('image/png', greyPng(1, 1))], marker: 'x-hang' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = s.posts.filter((x) => x.text === text);
  assert.equal(stored.length, 1, 'the post exists');
  const found = await p.findByMarker(a, 'x-hang', since());
  assert.deepEqual(found, { remoteId: stored[0]!.id, url: `https://x.com/x_u1/status/${stored[0]!.id}` });
  // Retrying the same marker: X calls it a duplicate, the adapter answers with the post already there.
  const again = await p.publish(a, { text, media: [item('image/png', greyPng(1, 1))], marker: 'x-hang' });
  assert.equal(again.remoteId, stored[0]!.id);
  assert.equal(s.posts.filter((x) => x.text === text).length, 1, 'still one post');
});

test('findByMarker: a reply is matched with its parent; a send that was refused is not found; an unknown marker is unknown', async () => {
  const a = await account();
  const parent = await p.publish(a, { text: unique('parent'), media: [], marker: 'x-fp' });
  const s = h.sim.state('x');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: unique('child'), media: [], replyTo: parent.remoteId, marker: 'x-fc' }), (e) => kindOf(e) === 'unknown_outcome');
  const child = s.posts.find((x) => x.replyTo === parent.remoteId)!;
  assert.equal((await p.findByMarker(a, 'x-fc', since()))!.remoteId, child.id);
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: unique('never accepted'), media: [], marker: 'x-refused' }), (e) => kindOf(e) === 'rate_limited');
  assert.equal(await p.findByMarker(a, 'x-refused', since()), null);
  await assert.rejects(p.findByMarker(a, 'x-never-sent', since()), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'no_record_of_marker');
});

test('metrics: public_metrics', async () => {
  const a = await account();
  const post = await p.publish(a, { text: unique('measure me'), media: [], marker: 'x-m' });
  const m = await p.metrics!(a, post.remoteId);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.impressions, 'number');
  assert.equal(typeof m.reposts, 'number');
  assert.equal(typeof m.replies, 'number');
  await assert.rejects(p.metrics!(a, '1'), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'resource-not-found');
});

test('error classes: 401, 403, 429 with x-rate-limit-reset, 5xx, timeout, malformed', async () => {
  const a = await account();
  const s = h.sim.state('x');
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'revoked' } }, { text: 'x', media: [], marker: 'e1' }), (e) => kindOf(e) === 'auth_expired');

  // 403: a token granted without tweet.write.
  const { verifier, challenge } = pkcePair();
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: challenge }));
  url.searchParams.set('scope', 'tweet.read users.read offline.access');
  const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  const readOnly = await p.exchangeCode!({ code, redirectUri: REDIRECT, codeVerifier: verifier });
  await assert.rejects(p.publish({ ...a, tokens: readOnly }, { text: unique('no scope'), media: [], marker: 'e2' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 403);

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 120;
  await assert.rejects(p.publish(a, { text: unique('x'), media: [], marker: 'e3' }), (e) => {
    const wait = (e as ProviderError).details.retryAfterMs ?? -1;
    return kindOf(e) === 'rate_limited' && wait > 115_000 && wait <= 120_000;
  });

  s.knobs.errorRate = 1;
  try {
    await assert.rejects(p.publish(a, { text: unique('x'), media: [], marker: 'e4' }), (e) => kindOf(e) === 'transient' && (e as ProviderError).details.status === 503);
    await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');
  } finally {
    s.knobs.errorRate = 0;
  }

  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: unique('accepted'), media: [], marker: 'e5' }), (e) => kindOf(e) === 'unknown_outcome');

  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: unique('x'), media: [], marker: 'e6' }), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'malformed_response');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient' && reasonOf(e) === 'malformed_response');
  // Last: the timed-out requests are still inside the simulator for a while and would meet later knobs.
  s.knobs.latencyMs = 6000; // longer than the harness client waits (4 s)
  try {
    await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient' && reasonOf(e) === 'timeout');
  } finally {
    s.knobs.latencyMs = 0;
  }
});

test('429 waits for the latest exhausted window, the 24-hour caps included', () => {
  const now = 1_800_000_000_000;
  const secs = (d: number) => String(now / 1000 + d);
  assert.equal(xRetryAfterMs({ 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': secs(60) }, now), 60_000);
  assert.equal(xRetryAfterMs({
    'x-rate-limit-remaining': '12', 'x-rate-limit-reset': secs(60), 'x-user-limit-24hour-remaining': '0', 'x-user-limit-24hour-reset': secs(7200),
  }, now), 7_200_000);
  // A 429 while the 15-minute window still shows room: its reset is honoured.
  assert.equal(xRetryAfterMs({ 'x-rate-limit-remaining': '5', 'x-rate-limit-reset': secs(30) }, now), 30_000);
});

test('text comparison undoes what X does to links, media links and entities', () => {
  const sent = 'Fish & chips <3 at https://example.com/menu and shop.example.co.uk';
  const back = 'Fish &amp; chips &lt;3 at https://t.co/abc and https://t.co/def https://t.co/media1';
  assert.equal(comparableText(back, true), comparableText(sent, false));
  assert.notEqual(comparableText('Fish & chips', false), comparableText('Fish &amp; chips!', true));
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = await h.metrics.socialApiCalls.get();
  const publish = calls.values.filter((v) => v.labels.provider === 'x' && v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '201'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
  assert.ok(publish.some((v) => v.labels.status === '403'));
});
