// The TikTok adapter against the simulator's TikTok (tools/provider-sim/networks/tiktok.ts): Login Kit OAuth (client_key
// in the form, refresh, revoke), creator_info before each direct post, a video sent in chunks (FILE_UPLOAD, Content-Range),
// photo posts (PULL_FROM_URL from a verified prefix), drafts to the creator's inbox, the status read until done, the
// unaudited app's SELF_ONLY rule, every error class (the {error: {code, message, log_id}} envelope: 401, 403, 429, 5xx,
// validation, a malformed answer), reconciliation after "accept, then time out", figures and disconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { quietLogger } from '../support/env.ts';
import { isKind, png } from '../support/credentials.ts';
import { chunking, createTikTok, tiktokMediaProblems, tiktokOptionProblems, TIKTOK_SCOPES } from '../../src/providers/tiktok.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, MediaItem, Provider, PublishRequest, TokenSet } from '../../src/providers/types.ts';
import { tiktokAudited, tiktokCreator, tiktokFailNext, tiktokHangLastChunk, tiktokPost, tiktokProcessingReads, tiktokPublishes, tiktokStats } from '../../tools/provider-sim/networks/tiktok.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let account: AccountRef;
let http: HttpClient;

const CLIENT = { clientId: 'awtiktokkey', clientSecret: 'tiktok-secret' };
const make = (o: { secret?: string; audited?: boolean } = {}) => createTikTok({
  http, journal,
  settings: { clientId: CLIENT.clientId, clientSecret: o.secret ?? CLIENT.clientSecret, baseUrls: { api: h.sim.base('tiktok'), auth: h.sim.base('tiktok'), ...(o.audited ? { audited: 'true' } : {}) } },
});

before(async () => {
  h = await harness();
  http = new HttpClient({ metrics: h.metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 1500, mediaTimeoutMs: 3000, maxRetries: 1 });
  s = h.sim.state('tiktok');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
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
const marker = () => `tt-m-${++n}`;
const since = () => new Date(Date.now() - 60_000);
const video = (o: { bytes?: number; seconds?: number } = {}): MediaItem => {
  const b = Buffer.alloc(o.bytes ?? 4000, n % 251);
  return { mimeType: 'video/mp4', bytes: b.length, width: 1080, height: 1920, durationSeconds: o.seconds ?? 30, read: async () => b };
};
const photo = (name = 'a', prefix = 'https://media.allin.test/'): MediaItem => ({ ...png(), mimeType: 'image/jpeg', publicUrl: `${prefix}${name}.jpg` });
const selfOnly = (extra: Partial<PublishRequest> = {}, options: Record<string, unknown> = {}): PublishRequest => ({ text: 'A caption #tiktok', media: [video()], marker: marker(), ...extra, options: { privacyLevel: 'SELF_ONLY', ...options } });
const last = () => tiktokPublishes(s).at(-1)!;

test('connect: client_key and the scopes comma-separated; the code and refreshes go as a form; refresh gives a new refresh token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/tiktok/v2/auth/authorize/');
  assert.equal(url.searchParams.get('client_key'), CLIENT.clientId);
  assert.equal(url.searchParams.get('scope'), TIKTOK_SCOPES.join(','));
  assert.equal(account.username, 'tiktok_u1');
  assert.match(account.externalId, /^[0-9a-f-]{36}$/, 'the open_id');
  assert.ok(account.tokens.refreshToken && account.tokens.expiresAt && account.tokens.refreshExpiresAt);
  assert.ok(account.tokens.refreshExpiresAt!.getTime() - Date.now() > 360 * 86_400_000, 'refresh_expires_in: a year');
  const next = await p.refresh(account);
  assert.notEqual(next.accessToken, account.tokens.accessToken);
  await assert.rejects(p.refresh(account), isKind('auth_expired', /invalid_grant/), 'the old refresh token is dead once a new one came');
  account = { ...account, tokens: next };
});

test('connect refusals: denied consent, a bad code, wrong app credentials, a scope left out', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_grant/));
  await assert.rejects(authorize(make({ secret: 'wrong' })), isKind('permanent', /invalid_client/, 401));
  s.knobs.declineScopes = ['video.publish'];
  await assert.rejects(authorize(p), isKind('permanent', /scope_declined/));
  s.knobs.declineScopes = [];
});

test('a video in chunks: creator_info first, init with FILE_UPLOAD, PUTs in order with Content-Range, the status read until complete', async () => {
  const size = 21 * 1024 * 1024;
  assert.deepEqual(chunking(size), { chunkSize: 10 * 1024 * 1024, count: 2 }, 'the last chunk takes the rest');
  assert.deepEqual(chunking(4000), { chunkSize: 4000, count: 1 }, 'under 5 MB: one piece');
  const from = s.log.length;
  const post = await p.publish(account, selfOnly({ media: [video({ bytes: size })] }, { disableDuet: true }));
  const pub = last();
  assert.deepEqual([pub.size, pub.chunks, pub.received, pub.privacy, pub.caption], [size, 2, size, 'SELF_ONLY', 'A caption #tiktok']);
  // A SELF_ONLY post gets no public post id: the publish_id stands for it.
  assert.equal(post.remoteId, pub.id);
  const paths = s.log.slice(from).map((l) => `${l.method} ${l.path.split('?')[0]}`);
  assert.deepEqual(paths.filter((x) => !x.includes('status')), ['POST /tiktok/v2/post/publish/creator_info/query/', 'POST /tiktok/v2/post/publish/video/init/', 'PUT /tiktok/upload/', 'PUT /tiktok/upload/']);
});

test('audited, public: the 19-digit post id arrives whole (int64 read from the text) with the post\'s address; processing is waited out', async () => {
  const audited = make({ audited: true });
  tiktokAudited(s, true);
  tiktokProcessingReads(s, 1);
  const post = await audited.publish(account, selfOnly({}, { privacyLevel: 'PUBLIC_TO_EVERYONE', disableComment: true, brandOrganic: true }));
  tiktokProcessingReads(s, 0);
  const stored = s.posts.at(-1)!;
  assert.equal(post.remoteId, stored.id);
  assert.match(post.remoteId, /^7\d{18}$/);
  assert.equal(post.url, `https://www.tiktok.com/@tiktok_u1/video/${stored.id}`);
  assert.equal(tiktokPost(s, post.remoteId)!.privacy, 'PUBLIC_TO_EVERYONE');
  tiktokAudited(s, false);
});

test('an unaudited app may post SELF_ONLY only: refused before anything is sent, with what to do', async () => {
  const inits = tiktokPublishes(s).length;
  await assert.rejects(p.publish(account, selfOnly({}, { privacyLevel: 'PUBLIC_TO_EVERYONE' })), (e) => isKind('permanent', /unaudited_client/)(e) && /TIKTOK_AUDITED/.test((e as Error).message));
  // What TikTok itself says when an app that claims the audit has not passed it.
  await assert.rejects(make({ audited: true }).publish(account, selfOnly({}, { privacyLevel: 'FOLLOWER_OF_CREATOR' })), isKind('permanent', /unaudited_client_can_only_post_to_private_accounts/, 403));
  assert.equal(tiktokPublishes(s).length, inits);
});

test('creator_info rules: a privacy level not offered, a video past the creator\'s longest, interaction settings the creator turned off', async () => {
  tiktokCreator(s, { privacyLevels: ['FOLLOWER_OF_CREATOR', 'SELF_ONLY'], maxSeconds: 60, commentDisabled: true, stitchDisabled: true });
  await assert.rejects(make({ audited: true }).publish(account, selfOnly({}, { privacyLevel: 'PUBLIC_TO_EVERYONE' })), isKind('permanent', /privacy_level_not_offered/));
  await assert.rejects(p.publish(account, selfOnly({ media: [video({ seconds: 61 })] })), isKind('permanent', /video_too_long/));
  const from = s.log.length;
  await p.publish(account, selfOnly());
  assert.ok(s.log.slice(from).some((l) => l.path.includes('creator_info')));
  tiktokCreator(s, { privacyLevels: ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY'], maxSeconds: 600, commentDisabled: false, stitchDisabled: false });
});

test('photos: PULL_FROM_URL from the verified prefix, a title, the cover; an unverified address or none is refused', async () => {
  const post = await p.publish(account, { text: 'Three photos', media: [photo('a'), photo('b'), photo('c')], marker: marker(), options: { privacyLevel: 'SELF_ONLY', title: 'Trip', photoCoverIndex: 1, autoAddMusic: true } });
  const pub = last();
  assert.deepEqual([pub.kind, pub.title, pub.caption, pub.mode], ['photo', 'Trip', 'Three photos', 'direct']);
  assert.equal(post.remoteId, pub.id);
  await assert.rejects(p.publish(account, { text: 'x', media: [photo('d', 'https://elsewhere.example/')], marker: marker(), options: { privacyLevel: 'SELF_ONLY' } }), isKind('permanent', /url_ownership_unverified/, 403));
  await assert.rejects(p.publish(account, { text: 'x', media: [{ ...photo(), publicUrl: undefined }], marker: marker(), options: { privacyLevel: 'SELF_ONLY' } }), isKind('permanent', /media_without_public_url/));
});

test('inbox mode: a video draft sent to the creator\'s inbox (no creator_info, no post_info); done at SEND_TO_USER_INBOX', async () => {
  const posts = s.posts.length;
  const from = s.log.length;
  const post = await p.publish(account, { text: 'finish me in TikTok', media: [video()], marker: marker(), options: { mode: 'inbox' } });
  assert.equal(post.remoteId, last().id);
  assert.equal(last().mode, 'inbox');
  assert.equal(s.posts.length, posts, 'nothing published: a draft');
  assert.ok(!s.log.slice(from).some((l) => l.path.includes('creator_info')));
  assert.ok(s.log.slice(from).some((l) => l.path.includes('/inbox/video/init/')));
});

test('options and media are checked before anything is sent', async () => {
  assert.deepEqual(tiktokOptionProblems({ privacyLevel: 'SELF_ONLY' }), []);
  assert.deepEqual(tiktokOptionProblems({ mode: 'inbox' }), []);
  assert.match(tiktokOptionProblems({}).join(), /privacyLevel is required/);
  assert.match(tiktokOptionProblems({ privacyLevel: 'FRIENDS' }).join(), /privacyLevel is required/);
  assert.match(tiktokOptionProblems({ mode: 'inbox', privacyLevel: 'SELF_ONLY' }).join(), /no privacyLevel/);
  assert.match(tiktokOptionProblems({ privacyLevel: 'SELF_ONLY', brandContent: true }).join(), /cannot be private/);
  assert.match(tiktokOptionProblems({ privacyLevel: 'SELF_ONLY', title: 'x'.repeat(91) }).join(), /at most 90/);
  assert.match(tiktokOptionProblems({ privacyLevel: 'SELF_ONLY', board: 'x' }).join(), /not an option/);
  assert.match(tiktokMediaProblems([]).join(), /needs a video or photos/);
  assert.match(tiktokMediaProblems([video(), photo()]).join(), /not both/);
  assert.match(tiktokMediaProblems(Array.from({ length: 36 }, () => photo())).join(), /1 to 35/);
  assert.match(tiktokMediaProblems([png()]).join(), /JPEG or WebP/);
  assert.match(tiktokMediaProblems([video({ seconds: 601 })]).join(), /10 minutes/);
  assert.match(tiktokMediaProblems([video()], { title: 'x' }).join(), /for photo posts/);
  const before = tiktokPublishes(s).length;
  await assert.rejects(p.publish(account, selfOnly({ text: 'x'.repeat(2201) })), isKind('permanent', /bad_option/));
  await assert.rejects(p.publish(account, selfOnly({ replyTo: '1' })), isKind('permanent', /no_threads/));
  assert.equal(tiktokPublishes(s).length, before);
});

test('FAILED is refused with TikTok\'s fail_reason; a later try of the same marker starts over', async () => {
  const m = marker();
  tiktokFailNext(s, 1);
  await assert.rejects(p.publish(account, selfOnly({ marker: m })), (e) => isKind('permanent', /publish_failed/)(e) && /file_format_check_failed/.test((e as Error).message));
  const post = await p.publish(account, selfOnly({ marker: m }));
  assert.equal(post.remoteId, last().id);
});

test('accept, then time out: a lost video init is absent (no bytes, no post) and sent again once; a lost last chunk is found by its publish_id', async () => {
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, selfOnly({ marker: m })), isKind('unknown_outcome'));
  assert.equal(await p.findByMarker(account, m, since()), null, 'FILE_UPLOAD: TikTok has none of the bytes');
  const again = await p.publish(account, selfOnly({ marker: m }));
  assert.equal(again.remoteId, last().id);
  assert.equal(tiktokPublishes(s).at(-2)!.received, 0, 'the lost publish never got a byte');

  const lm = marker();
  tiktokHangLastChunk(s, 1);
  const posts = s.posts.length;
  await assert.rejects(p.publish(account, selfOnly({ marker: lm })), isKind('unknown_outcome'));
  const found = await p.findByMarker(account, lm, since());
  assert.equal(found!.remoteId, last().id);
  assert.deepEqual(await make().findByMarker(account, lm, since()), found, 'a restarted adapter on the same journal');
  // The next try of the marker finishes that publish instead of posting again.
  assert.deepEqual(await p.publish(account, selfOnly({ marker: lm })), found);
  assert.equal(s.posts.length, posts + 1, 'posted once');
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null);
});

test('accept, then time out, photos: a public post is found among the creator\'s listed videos; a private one cannot be known', async () => {
  const audited = make({ audited: true });
  tiktokAudited(s, true);
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(audited.publish(account, { text: 'Lost photos', media: [photo()], marker: m, options: { privacyLevel: 'PUBLIC_TO_EVERYONE', title: 'Lost' } }), isKind('unknown_outcome'));
  const found = await audited.findByMarker(account, m, since());
  assert.equal(found!.remoteId, s.posts.at(-1)!.id);
  assert.match(found!.url!, /\/photo\/\d{19}$/);
  const pm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(audited.publish(account, { text: 'Private photos', media: [photo()], marker: pm, options: { privacyLevel: 'SELF_ONLY' } }), isKind('unknown_outcome'));
  await assert.rejects(audited.findByMarker(account, pm, since()), isKind('permanent', /cannot_reconcile/));
  tiktokAudited(s, false);
});

test('every error class: 429 (a minute, TikTok sends no Retry-After), 5xx, 401, a scope not granted, 400, malformed', async () => {
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(account, selfOnly()), (e) => isKind('rate_limited', /rate_limit_exceeded/, 429)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 60_000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(account, selfOnly()), isKind('transient', /internal_error.*log_id/, 500));
  s.knobs.errorRate = 0;
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: 'dead' } }, selfOnly()), isKind('auth_expired', /access_token_invalid/, 401));
  const noPublish = s.issueToken('u1', ['user.info.basic', 'video.list']);
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: noPublish.accessToken } }, selfOnly()), isKind('permanent', /scope_not_authorized/, 401));
  // A field of a scope not granted: 400 scope_permission_missed.
  await assert.rejects(p.accountMetrics!({ ...account, tokens: { accessToken: s.issueToken('u1', ['user.info.basic']).accessToken } }, { insights: false }), isKind('permanent', /scope_permission_missed/, 400));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(account, selfOnly()), isKind('transient', /malformed/));
});

test('figures: views, likes, comments and shares of a public post; none yet for a SELF_ONLY one; the account\'s counts', async () => {
  tiktokAudited(s, true);
  const post = await make({ audited: true }).publish(account, selfOnly({}, { privacyLevel: 'PUBLIC_TO_EVERYONE' }));
  tiktokAudited(s, false);
  tiktokStats(s, post.remoteId, { view: 1200, like: 80, comment: 7, share: 3 });
  const f = await p.metrics!(account, post.remoteId);
  assert.deepEqual([f.impressions, f.likes, f.replies, f.reposts], [1200, 80, 7, 3]);
  const hidden = await p.publish(account, selfOnly());
  const none = await p.metrics!(account, hidden.remoteId);
  assert.equal(none.likes, undefined, 'no post id yet: no figures, not zeros');
  const a = await p.accountMetrics!(account, { insights: true });
  assert.equal(typeof a.now.followers, 'number');
  assert.ok(a.now.posts! >= 1);
  await h.sim.app.inject({ method: 'DELETE', url: `/_sim/tiktok/posts/${post.remoteId}` });
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('permanent', /not_found/, 404));
});

test('disconnect revokes the token at TikTok; a revoked grant is auth_expired', async () => {
  assert.equal(p.meta.supportsRevocation, true);
  const other = await asAccount((await authorize(p)).tokens);
  await p.revoke!(other);
  await assert.rejects(p.publish(other, selfOnly()), isKind('auth_expired', undefined, 401));
  await assert.rejects(p.refresh(other), isKind('auth_expired', /invalid_grant/));
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  for (const op of ['creator_info', 'video_init', 'video_upload', 'photo_init', 'publish_status', 'find_post', 'metrics', 'oauth_revoke']) assert.match(page, new RegExp(`provider="tiktok"[^}]*operation="${op}"|operation="${op}"[^}]*provider="tiktok"`));
});
