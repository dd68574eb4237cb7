// The Pinterest adapter against the simulator's Pinterest (tools/provider-sim/networks/pinterest.ts): OAuth with HTTP
// Basic and rotating refresh tokens, the user account as the account, image, carousel and video Pins on a board and
// section named in the options (by name or id), the video upload (register, multipart POST, processing status), every
// error class (Pinterest's {code, message}: 401, 403, 404, 429 with Retry-After, 5xx, validation, a malformed answer),
// reconciliation after "accept, then time out" (by what was sent, on the board's Pins), figures and disconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { quietLogger } from '../support/env.ts';
import { isKind, png } from '../support/credentials.ts';
import { createPinterest, pinterestMediaProblems, pinterestOptionProblems, PINTEREST_SCOPES } from '../../src/providers/pinterest.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, MediaItem, Provider, TokenSet } from '../../src/providers/types.ts';
import { pinterestBoard, pinterestFailUploads, pinterestNoAnalytics, pinterestPin, pinterestProcessingReads, pinterestStats, pinterestUploads } from '../../tools/provider-sim/networks/pinterest.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let account: AccountRef;
let http: HttpClient;
let recipes: { id: string; sections: Record<string, string> };

const CLIENT = { clientId: '1234567', clientSecret: 'pinterest-secret' };
const make = (o: { secret?: string } = {}) => createPinterest({
  http, journal,
  settings: { clientId: CLIENT.clientId, clientSecret: o.secret ?? CLIENT.clientSecret, baseUrls: { api: h.sim.base('pinterest'), auth: h.sim.base('pinterest') } },
});

before(async () => {
  h = await harness();
  http = new HttpClient({ metrics: h.metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 1500, mediaTimeoutMs: 1500, maxRetries: 1 });
  s = h.sim.state('pinterest');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
  recipes = pinterestBoard(s, 'u1', 'Recipes', ['Salads', 'Soups']);
  pinterestBoard(s, 'u1', 'Travel');
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
const marker = () => `pin-m-${++n}`;
const since = () => new Date(Date.now() - 60_000);
const video = (o: { seconds?: number } = {}): MediaItem => {
  const b = Buffer.alloc(5000, n % 251);
  return { mimeType: 'video/mp4', bytes: b.length, width: 1080, height: 1920, durationSeconds: o.seconds ?? 30, read: async () => b };
};
const raw = () => s.posts.at(-1)!.raw as Record<string, unknown> & { media_source: Record<string, unknown> };
const wait = (e: unknown) => (e as { details: { retryAfterMs?: number } }).details.retryAfterMs;

test('connect: the consent asks the scopes comma-separated; the code is exchanged with HTTP Basic; refresh rotates the refresh token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/pinterest/oauth/');
  assert.equal(url.searchParams.get('scope'), PINTEREST_SCOPES.join(','));
  assert.equal(account.username, 'pinterest_u1');
  assert.match(account.externalId, /^\d+$/);
  assert.ok(account.tokens.refreshToken && account.tokens.expiresAt && account.tokens.refreshExpiresAt);
  const next = await p.refresh(account);
  assert.notEqual(next.refreshToken, account.tokens.refreshToken, 'continuous refresh: a new refresh token');
  await assert.rejects(p.refresh(account), isKind('auth_expired', /invalid_grant/), 'the old refresh token is dead');
  account = { ...account, tokens: next };
  assert.equal(p.meta.refreshTokenRotates, true);
});

test('connect refusals: denied consent, a bad code, wrong app credentials, a scope left out', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_grant/));
  await assert.rejects(authorize(make({ secret: 'wrong' })), isKind('permanent', /invalid_client/, 401));
  s.knobs.declineScopes = ['pins:write'];
  await assert.rejects(authorize(p), isKind('permanent', /scope_declined/));
  s.knobs.declineScopes = [];
});

test('an image Pin on a board named by its name, with title, link and alt text; the text is the description', async () => {
  const post = await p.publish(account, { text: 'Green salad', media: [png({ altText: 'A bowl of salad' })], marker: marker(), options: { board: 'recipes', title: 'Salad', link: 'https://example.com/salad' } });
  assert.equal(post.url, `https://www.pinterest.com/pin/${post.remoteId}/`);
  const pin = pinterestPin(s, post.remoteId)!;
  assert.deepEqual([pin.boardId, pin.title, pin.description, pin.link, pin.altText, pin.kind], [recipes.id, 'Salad', 'Green salad', 'https://example.com/salad', 'A bowl of salad', 'image']);
  assert.equal(raw().media_source.source_type, 'image_base64');
  assert.equal(raw().media_source.content_type, 'image/png');
});

test('a carousel of three images in a section named by its name; a section by id; an unknown board or section is refused', async () => {
  const post = await p.publish(account, { text: 'Soups', media: [png(), png(), png()], marker: marker(), options: { board: 'Recipes', section: 'Soups', altText: 'Three soups' } });
  const pin = pinterestPin(s, post.remoteId)!;
  assert.deepEqual([pin.kind, pin.images, pin.sectionId], ['multiple_images', 3, recipes.sections.Soups]);
  assert.equal(raw().media_source.source_type, 'multiple_image_base64');
  const byId = await p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id, section: recipes.sections.Salads! } });
  assert.equal(pinterestPin(s, byId.remoteId)!.sectionId, recipes.sections.Salads);
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: 'Gardening' } }), isKind('permanent', /board_not_found/));
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: 'Recipes', section: 'Desserts' } }), isKind('permanent', /section_not_found/));
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: '999' } }), isKind('permanent', undefined, 404));
});

test('a video Pin: the upload is registered, sent as a form with its parameters, processed; an image becomes its cover', async () => {
  pinterestProcessingReads(s, 1);
  const post = await p.publish(account, { text: 'Watch', media: [video(), png()], marker: marker(), options: { board: 'Travel', title: 'Trip' } });
  const pin = pinterestPin(s, post.remoteId)!;
  assert.equal(pin.kind, 'video');
  const up = pinterestUploads(s).at(-1)!;
  assert.deepEqual([up.bytes, up.status], [5000, 'succeeded']);
  assert.equal(raw().media_source.source_type, 'video_id');
  assert.equal(raw().media_source.media_id, up.id);
  assert.equal(raw().media_source.cover_image_content_type, 'image/png');
  pinterestProcessingReads(s, 0);
  // Processing fails: refused, with what to check.
  pinterestFailUploads(s, 1);
  await assert.rejects(p.publish(account, { text: 'Broken', media: [video()], marker: marker(), options: { board: 'Travel' } }), isKind('permanent', /media_failed/));
});

test('options and media are checked before anything is sent', async () => {
  assert.deepEqual(pinterestOptionProblems({ board: 'Recipes' }), []);
  assert.match(pinterestOptionProblems({}).join(), /board is required/);
  assert.match(pinterestOptionProblems({ board: 'b', title: 'x'.repeat(101) }).join(), /at most 100/);
  assert.match(pinterestOptionProblems({ board: 'b', link: 'ftp://x' }).join(), /web address/);
  assert.match(pinterestOptionProblems({ board: 'b', altText: 'x'.repeat(501) }).join(), /at most 500/);
  assert.match(pinterestOptionProblems({ board: 'b', privacy: 'x' }).join(), /not an option/);
  assert.match(pinterestMediaProblems([]).join(), /needs an image or a video/);
  assert.match(pinterestMediaProblems(Array.from({ length: 6 }, () => png())).join(), /2 to 5 images/);
  assert.match(pinterestMediaProblems([video(), png(), png()]).join(), /one image at most/);
  assert.match(pinterestMediaProblems([video({ seconds: 3 })]).join(), /at least 4 seconds/);
  assert.match(pinterestMediaProblems([png(), png({ width: 3 })]).join(), /same size/);
  assert.match(pinterestMediaProblems([{ ...png(), mimeType: 'image/gif' }]).join(), /JPEG or PNG/);
  const before = s.posts.length;
  await assert.rejects(p.publish(account, { text: 'x'.repeat(801), media: [png()], marker: marker(), options: { board: 'Recipes' } }), isKind('permanent', /bad_option/));
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), replyTo: '1', options: { board: 'Recipes' } }), isKind('permanent', /no_threads/));
  assert.equal(s.posts.length, before);
});

test('accept, then time out: unknown outcome; the Pin is found on the board by what was sent (also after a restart); a refused one is absent', async () => {
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'Lost answer', media: [png()], marker: m, options: { board: 'Recipes', section: 'Salads', title: 'Lost' } }), isKind('unknown_outcome'));
  const stored = s.posts.at(-1)!;
  const found = await p.findByMarker(account, m, since());
  assert.equal(found!.remoteId, stored.id);
  assert.deepEqual(await make().findByMarker(account, m, since()), found, 'a restarted adapter on the same journal');
  // A Pin with the same text but another title is not taken for it.
  const other = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'Lost answer', media: [png()], marker: other, options: { board: 'Recipes', title: 'Another' } }), isKind('unknown_outcome'));
  assert.equal((await p.findByMarker(account, other, since()))!.remoteId, s.posts.at(-1)!.id);
  // A video whose create timed out: found; one whose upload never succeeded: absent.
  const vm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'Lost video', media: [video()], marker: vm, options: { board: 'Travel' } }), isKind('unknown_outcome'));
  assert.equal((await p.findByMarker(account, vm, since()))!.remoteId, s.posts.at(-1)!.id);
  const failed = marker();
  pinterestFailUploads(s, 1);
  await assert.rejects(p.publish(account, { text: 'Failed video', media: [video()], marker: failed, options: { board: 'Travel' } }));
  assert.equal(await p.findByMarker(account, failed, since()), null);
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null);
  const refused = marker();
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: refused, options: { board: '12345' } }), isKind('permanent', undefined, 404));
  await assert.rejects(p.findByMarker(account, refused, since()), isKind('permanent', undefined, 404), 'the board named does not exist: nothing to read');
});

test('every error class: 429 with its Retry-After, 5xx, 401, 403 for a missing scope, malformed', async () => {
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), (e) => isKind('rate_limited', undefined, 429)(e) && wait(e) === 7000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), isKind('transient', /Service unavailable/, 503));
  s.knobs.errorRate = 0;
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: 'dead' } }, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), isKind('auth_expired', /Authentication failed/, 401));
  s.knobs.declineScopes = ['pins:write'];
  const { tokens } = await authorize(p).catch(() => ({ tokens: undefined }));
  s.knobs.declineScopes = [];
  assert.equal(tokens, undefined, 'a consent without pins:write is refused at connect');
  const readOnly = s.issueToken('u1', ['boards:read', 'pins:read', 'user_accounts:read']);
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: readOnly.accessToken } }, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), isKind('permanent', /code 29/, 403));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), isKind('unknown_outcome', /malformed/));
});

test('figures: impressions, reactions, comments and saves of a Pin; the account\'s counts and 90 days of daily figures', async () => {
  const post = await p.publish(account, { text: 'count me', media: [png()], marker: marker(), options: { board: 'Recipes' } });
  pinterestStats(s, post.remoteId, { impression: 900, reaction: 12, comment: 3, save: 40 });
  const f = await p.metrics!(account, post.remoteId);
  assert.deepEqual([f.impressions, f.likes, f.replies, f.reposts], [900, 12, 3, 40]);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const a = await p.accountMetrics!(account, { insights: true, since: new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10) });
  assert.equal(typeof a.now.followers, 'number');
  assert.ok(a.now.posts! >= 1);
  assert.equal(a.days.length, 5);
  assert.equal(a.days.at(-1)!.date, yesterday);
  assert.equal(typeof a.days[0]!.figures.impressions, 'number');
  pinterestNoAnalytics(s, 'u1');
  const refused = await p.accountMetrics!(account, { insights: true });
  assert.match(refused.insightsRefused!, /business/);
  assert.equal(typeof refused.now.followers, 'number');
  await h.sim.app.inject({ method: 'DELETE', url: `/_sim/pinterest/posts/${post.remoteId}` });
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('permanent', undefined, 404));
  await assert.rejects(p.metrics!(account, 'abc'), isKind('permanent', /bad_remote_id/));
});

test('disconnect: Pinterest revokes no user tokens, so the adapter offers no revoke; a revoked grant is auth_expired', async () => {
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined);
  await h.sim.app.inject({ method: 'POST', url: '/_sim/pinterest/revoke-all', payload: { user: 'u1' } });
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: { board: recipes.id } }), isKind('auth_expired', undefined, 401));
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  for (const op of ['pin_create', 'media_register', 'media_upload', 'media_status', 'find_pin', 'boards']) assert.match(page, new RegExp(`provider="pinterest"[^}]*operation="${op}"|operation="${op}"[^}]*provider="pinterest"`));
});
