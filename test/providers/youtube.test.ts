// The YouTube adapter against the simulator's YouTube (tools/provider-sim/networks/youtube.ts): Google OAuth with offline
// access and PKCE, the channel as the account, videos and Shorts through the resumable upload protocol (chunks, 308,
// resuming after a broken connection, the session's status), the video resource's snippet and status, the thumbnail,
// the unaudited project's private-only uploads, every error class (Google's error body: 401, 403 quotaExceeded with the
// wait to midnight Pacific, uploadLimitExceeded, 429 with Retry-After, 5xx, validation, a malformed answer),
// reconciliation after "accept, then time out" (by the session, and by the uploads playlist once the session is gone),
// figures and revocation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { quietLogger } from '../support/env.ts';
import { isKind, png } from '../support/credentials.ts';
import { CHUNK_BYTES, createYouTube, nextOffset, tagsLength, untilPacificMidnight, youtubeOptionProblems, youtubeMediaProblems } from '../../src/providers/youtube.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, MediaItem, Provider, TokenSet } from '../../src/providers/types.ts';
import { youtubeAudited, youtubeExpireSessions, youtubeInterrupt, youtubeNoChannel, youtubeQuota, youtubeSessions, youtubeStatusFail, youtubeStats, youtubeUnverified, youtubeUploadLimit, youtubeVideo } from '../../tools/provider-sim/networks/youtube.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let account: AccountRef;
/** Uploads get the short deadline of the other calls here, so "accept, then time out" does not wait the media one. */
let http: HttpClient;

const CLIENT = { clientId: 'allin-youtube.apps.googleusercontent.com', clientSecret: 'google-secret' };
const make = (o: { j?: MemorySendJournal; secret?: string; audited?: boolean } = {}) => createYouTube({
  http, journal: o.j ?? journal,
  settings: { clientId: CLIENT.clientId, clientSecret: o.secret ?? CLIENT.clientSecret, baseUrls: { api: h.sim.base('youtube'), auth: h.sim.base('youtube'), token: h.sim.base('youtube'), ...(o.audited === false ? {} : { audited: 'true' }) } },
});

before(async () => {
  h = await harness();
  http = new HttpClient({ metrics: h.metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 4000, mediaTimeoutMs: 4000, maxRetries: 1 });
  s = h.sim.state('youtube');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
  youtubeAudited(s, true);
  journal = new MemorySendJournal();
  p = make();
  account = await asAccount((await authorize(p)).tokens);
});
after(async () => { await http.close(); await h.stop(); });

async function asAccount(tokens: TokenSet, provider = p): Promise<AccountRef> {
  const [id] = await provider.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
}

let n = 0;
const marker = () => `yt-m-${++n}`;
const since = () => new Date(Date.now() - 60_000);
const video = (o: { bytes?: number; width?: number; height?: number; seconds?: number } = {}): MediaItem => {
  const b = Buffer.alloc(o.bytes ?? 4096, n % 251);
  return { mimeType: 'video/mp4', bytes: b.length, width: o.width ?? 1920, height: o.height ?? 1080, durationSeconds: o.seconds ?? 30, read: async () => b };
};
const opts = (extra: Record<string, unknown> = {}) => ({ title: `Video ${n}`, ...extra });
const last = () => s.posts.at(-1)!;
const raw = () => last().raw as { snippet: Record<string, unknown>; status: Record<string, unknown> };
/** The kind and reason, and words of the message. */
const says = (kind: string, reason: RegExp, words: RegExp) => (e: unknown) => isKind(kind, reason)(e) && words.test((e as Error).message);
const wait = (e: unknown) => (e as { details: { retryAfterMs?: number } }).details.retryAfterMs;

test('connect: Google OAuth with offline access, consent and PKCE; the channel is the account; refresh keeps the refresh token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/youtube/o/oauth2/v2/auth');
  assert.equal(url.searchParams.get('access_type'), 'offline');
  assert.equal(url.searchParams.get('prompt'), 'consent');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('scope'), 'https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly');
  assert.match(account.externalId, /^UC/);
  assert.equal(account.username, '@youtube_u1');
  assert.match(String(account.data.uploads), /^UU/);
  assert.ok(account.tokens.refreshToken && account.tokens.expiresAt);
  const next = await p.refresh(account);
  assert.notEqual(next.accessToken, account.tokens.accessToken);
  assert.equal(next.refreshToken, account.tokens.refreshToken, 'Google keeps the refresh token');
  account = { ...account, tokens: next };
});

test('connect refusals: denied consent, a bad code, wrong app credentials, a scope left out, an account without a channel', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_grant/));
  await assert.rejects(authorize(make({ secret: 'wrong' })), isKind('permanent', /invalid_client/, 401));
  s.knobs.declineScopes = ['https://www.googleapis.com/auth/youtube.upload'];
  await assert.rejects(authorize(p), isKind('permanent', /scope_declined/));
  s.knobs.declineScopes = [];
  youtubeNoChannel(s, 'nochannel');
  const { tokens } = await authorize(p, { loginHint: 'nochannel' });
  await assert.rejects(p.identities(tokens), isKind('permanent', /no_channel/));
});

test('a video: the resumable upload carries the snippet and status; an image becomes its thumbnail', async () => {
  const post = await p.publish(account, {
    text: 'The description', media: [video(), png({ mimeType: 'image/png' })], marker: marker(),
    options: opts({ tags: ['allin', 'social media'], categoryId: '28', privacy: 'unlisted', madeForKids: false, notifySubscribers: false }),
  });
  assert.equal(post.url, `https://www.youtube.com/watch?v=${post.remoteId}`);
  assert.equal(last().id, post.remoteId);
  assert.deepEqual(raw().snippet, { title: `Video ${n}`, description: 'The description', categoryId: '28', tags: ['allin', 'social media'] });
  assert.deepEqual(raw().status, { privacyStatus: 'unlisted', selfDeclaredMadeForKids: false });
  const v = youtubeVideo(s, post.remoteId)!;
  assert.equal(v.thumbnail, true);
  assert.equal(v.privacyStatus, 'unlisted');
  assert.equal(v.bytes, 4096);
});

test('a Short (vertical, under three minutes), a scheduled private video, and a file of more than one chunk', async () => {
  const short = await p.publish(account, { text: '', media: [video({ width: 1080, height: 1920, seconds: 170 })], marker: marker(), options: opts({ short: true }) });
  assert.equal(short.url, `https://www.youtube.com/shorts/${short.remoteId}`);
  await assert.rejects(p.publish(account, { text: '', media: [video({ width: 1920, height: 1080 })], marker: marker(), options: opts({ short: true }) }), says('permanent', /bad_option/, /square or vertical/));
  await assert.rejects(p.publish(account, { text: '', media: [video({ width: 1080, height: 1920, seconds: 181 })], marker: marker(), options: opts({ short: true }) }), says('permanent', /bad_option/, /at most 180 seconds/));
  const at = new Date(Date.now() + 86_400_000).toISOString();
  await p.publish(account, { text: 'later', media: [video()], marker: marker(), options: opts({ publishAt: at }) });
  assert.deepEqual(raw().status, { privacyStatus: 'private', publishAt: at });
  const big = await p.publish(account, { text: 'big', media: [video({ bytes: CHUNK_BYTES + 1000 })], marker: marker(), options: opts() });
  assert.equal(youtubeVideo(s, big.remoteId)!.bytes, CHUNK_BYTES + 1000);
  assert.equal(youtubeSessions(s).at(-1)!.received, CHUNK_BYTES + 1000);
});

test('an unaudited project: public and unlisted are refused before any quota is spent; private goes', async () => {
  youtubeAudited(s, false);
  const unaudited = make({ audited: false });
  const before = s.posts.length;
  await assert.rejects(unaudited.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts() }), isKind('permanent', /unaudited_project/));
  await assert.rejects(unaudited.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts({ privacy: 'unlisted' }) }), says('permanent', /unaudited_project/, /YOUTUBE_API_AUDITED/));
  assert.equal(s.posts.length, before);
  const ok = await unaudited.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts({ privacy: 'private' }) });
  assert.equal(youtubeVideo(s, ok.remoteId)!.privacyStatus, 'private');
  youtubeAudited(s, true);
});

test('a broken connection mid-upload: the session is asked where it got to, and the upload carries on from there', async () => {
  youtubeInterrupt(s, 2);
  const before = s.posts.length;
  const post = await p.publish(account, { text: 'interrupted', media: [video({ bytes: 100_000 })], marker: marker(), options: opts() });
  assert.equal(s.posts.length, before + 1, 'one video');
  assert.equal(youtubeVideo(s, post.remoteId)!.bytes, 100_000);
  assert.deepEqual(youtubeSessions(s).at(-1), { id: youtubeSessions(s).at(-1)!.id, total: 100_000, received: 100_000, done: true });
  assert.equal(nextOffset('bytes=0-42'), 43);
  assert.equal(nextOffset(undefined), 0);

  // More breaks than one try resumes after: the try fails; the same marker later resumes the same session.
  const m = marker();
  youtubeInterrupt(s, 6);
  await assert.rejects(p.publish(account, { text: 'twice', media: [video({ bytes: 100_000 })], marker: m, options: opts() }));
  const sessions = youtubeSessions(s).length;
  assert.equal(await p.findByMarker(account, m, since()), null, 'bytes are missing: no video yet');
  youtubeInterrupt(s, 0);
  const again = await p.publish(account, { text: 'twice', media: [video({ bytes: 100_000 })], marker: m, options: opts() });
  assert.equal(youtubeSessions(s).length, sessions, 'the same session, resumed');
  assert.equal(youtubeVideo(s, again.remoteId)!.bytes, 100_000);
});

test('accept, then time out: unknown outcome; the session says the video is there (also after a restart), else the uploads playlist does', async () => {
  // The end of the upload is stored and not answered, and the session cannot say either (503, also on the client's retry).
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  youtubeStatusFail(s, 2);
  await assert.rejects(p.publish(account, { text: 'lost answer', media: [video()], marker: m, options: opts({ title: 'Lost answer' }) }), isKind('unknown_outcome', /session_unreadable/));
  const stored = last();
  const found = await p.findByMarker(account, m, since());
  assert.equal(found!.remoteId, stored.id);
  assert.deepEqual(await make().findByMarker(account, m, since()), found, 'a restarted adapter on the same journal');
  const count = s.posts.length;
  assert.equal((await p.publish(account, { text: 'lost answer', media: [video()], marker: m, options: opts({ title: 'Lost answer' }) })).remoteId, stored.id, 'publishing again under the marker uploads nothing');
  assert.equal(s.posts.length, count);
  youtubeExpireSessions(s);
  assert.equal((await p.findByMarker(account, m, since()))!.remoteId, stored.id, 'by title and time in the uploads playlist');
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null);
  // Refused by YouTube before any session: recorded, absent.
  const refused = marker();
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: refused, options: opts({ title: 'Refused', categoryId: '99' }) }), isKind('permanent', /invalidCategoryId/, 400));
  assert.equal(await p.findByMarker(account, refused, since()), null);
});

test('options, description and media are checked before anything is sent', async () => {
  assert.deepEqual(youtubeOptionProblems(opts()), []);
  assert.match(youtubeOptionProblems({}).join(), /title is required/);
  assert.match(youtubeOptionProblems({ title: 'x'.repeat(101) }).join(), /at most 100/);
  assert.match(youtubeOptionProblems({ title: 'a <b>' }).join(), /< or >/);
  assert.match(youtubeOptionProblems({ title: 't', tags: Array.from({ length: 60 }, (_, i) => `tag number ${i}`) }).join(), /500 characters/);
  assert.equal(tagsLength(['a b', 'c']), 7);
  assert.match(youtubeOptionProblems({ title: 't', publishAt: '2020-01-01T00:00:00Z' }).join(), /past/);
  assert.match(youtubeOptionProblems({ title: 't', publishAt: '2099-01-01T00:00:00Z', privacy: 'public' }).join(), /private/);
  assert.match(youtubeOptionProblems({ title: 't', privacy: 'secret' }).join(), /privacy is one of/);
  assert.match(youtubeOptionProblems({ title: 't', board: 'x' }).join(), /not an option/);
  assert.match(youtubeMediaProblems([png()]).join(), /0 videos/);
  assert.match(youtubeMediaProblems([video(), png(), png()]).join(), /one image at most/);
  assert.match(youtubeMediaProblems([video(), png({ bytes: 3 * 1024 * 1024 })]).join(), /2 MB/);
  assert.match(youtubeMediaProblems([{ ...video(), durationSeconds: 13 * 3600 }]).join(), /12 hours/);
  const before = s.posts.length;
  await assert.rejects(p.publish(account, { text: 'é'.repeat(2501), media: [video()], marker: marker(), options: opts() }), says('permanent', /bad_option/, /5000 bytes/));
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: marker(), replyTo: 'abc' }), isKind('permanent', /no_threads/));
  assert.equal(s.posts.length, before);
});

test('every error class: quotaExceeded waits for midnight Pacific, uploadLimitExceeded a day, 429 its Retry-After; 5xx, 401, malformed', async () => {
  youtubeQuota(s, { uploads: 100 });
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts() }), (e) => isKind('rate_limited', /quotaExceeded/, 403)(e) && Math.abs(wait(e)! - untilPacificMidnight()) < 60_000);
  youtubeQuota(s, { uploads: 0, units: 10_000 });
  await assert.rejects(p.metrics!(account, 'abcdefghijk'), isKind('rate_limited', /quotaExceeded/, 403));
  youtubeQuota(s, { units: 0 });
  const ms = untilPacificMidnight(new Date('2026-06-01T06:59:00Z')); // 23:59 PDT
  assert.equal(ms, 60_000);
  youtubeUploadLimit(s, 1);
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts() }), (e) => isKind('rate_limited', /uploadLimitExceeded/, 400)(e) && wait(e) === 86_400_000);
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 9;
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts() }), (e) => isKind('rate_limited', undefined, 429)(e) && wait(e) === 9000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: marker(), options: opts() }), isKind('transient', /backendError|YouTube's side/, 503));
  s.knobs.errorRate = 0;
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: 'dead' } }, { text: 'x', media: [video()], marker: marker(), options: opts() }), isKind('auth_expired', undefined, 401));
  // A malformed answer where a session should start: no session, nothing sent, a later try starts one.
  const mm = marker();
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [video()], marker: mm, options: opts() }), isKind('transient', /no_session_uri/));
  assert.equal(await p.findByMarker(account, mm, since()), null);
  s.knobs.malformedNext = 1;
  await assert.rejects(p.metrics!(account, last().id), isKind('transient', /malformed_response/));
  // A channel that may not set custom thumbnails: the video stands, without one.
  youtubeUnverified(s, 'u1');
  const post = await p.publish(account, { text: 'thumb', media: [video(), png()], marker: marker(), options: opts() });
  assert.equal(youtubeVideo(s, post.remoteId)!.thumbnail, false);
  await h.sim.app.inject({ method: 'POST', url: '/_sim/youtube/revoke-all', payload: { user: 'u1' } });
  await assert.rejects(p.refresh(account), isKind('auth_expired', /invalid_grant/));
  account = await asAccount((await authorize(p)).tokens);
});

test('figures: views, likes and comments of a video; the channel\'s subscribers and videos', async () => {
  const post = await p.publish(account, { text: 'watch', media: [video()], marker: marker(), options: opts() });
  youtubeStats(s, post.remoteId, 1200, 42, 7);
  const f = await p.metrics!(account, post.remoteId);
  assert.deepEqual({ impressions: f.impressions, likes: f.likes, replies: f.replies }, { impressions: 1200, likes: 42, replies: 7 });
  const a = await p.accountMetrics!(account, { insights: false });
  assert.equal(typeof a.now.followers, 'number');
  assert.ok(a.now.posts! >= 1);
  await h.sim.app.inject({ method: 'DELETE', url: `/_sim/youtube/posts/${post.remoteId}` });
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('permanent', /not_found/));
});

test('revocation: the grant ends; revoking again is not an error', async () => {
  const a = await asAccount((await authorize(p)).tokens);
  await p.revoke!(a);
  await assert.rejects(p.publish(a, { text: 'x', media: [video()], marker: marker(), options: opts() }), isKind('auth_expired', undefined, 401));
  await assert.rejects(p.refresh(a), isKind('auth_expired', /invalid_grant/));
  await p.revoke!(a);
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  assert.match(page, /allin_social_api_calls_total\{[^}]*provider="youtube"[^}]*operation="video_upload"/);
  assert.match(page, /operation="upload_status"/);
  assert.match(page, /operation="thumbnail_set"/);
});
