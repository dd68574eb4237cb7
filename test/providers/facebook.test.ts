// The Facebook Pages adapter against the simulated Graph API: Facebook Login, long-lived user token,
// Page tokens, feed and photo posts, comments, reconciliation, metrics, and every error class.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness } from './harness.ts';
import { createFacebook } from '../../src/providers/facebook.ts';
import { graphError, type PollOptions } from '../../src/providers/meta-graph.ts';
import { FACTORIES } from '../../src/providers/registry.ts';
import type { HttpResponse } from '../../src/infra/http/client.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider, type PublishedPost } from '../../src/providers/types.ts';
import { SAMPLE_JPEG, SAMPLE_MP4, startMediaHost, tokenInfo } from '../../tools/provider-sim/networks/meta-common.ts';

let h: Harness;
let p: Provider;
let host: Awaited<ReturnType<typeof startMediaHost>>;
before(async () => {
  h = await harness();
  host = await startMediaHost({ '/photo.jpg': { type: 'image/jpeg', body: SAMPLE_JPEG } });
  // The simulator's Reels finish processing after a set number of status reads, not on a clock
  // (meta-common.ts, PROCESSING_READS): the wait's cap is reached only where a test holds processing, so it
  // is long here and short in the test of the cap.
  p = adapter({ intervalMs: 20, maxWaitMs: 60_000 });
});
after(async () => {
  await host.stop();
  await h.stop();
});

const sim = () => h.sim.state('facebook');
const adapter = (poll: PollOptions) => {
  const base = h.sim.base('facebook');
  return createFacebook({ http: h.http, settings: { clientId: 'fb-app', clientSecret: 'fb-secret', baseUrls: { graph: base, rupload: base, auth: base, version: 'v26.0' } } }, { poll });
};
/** GET /{video-id}?fields=status reads in the simulator's log since `from`. */
const statusReads = (from = 0) => sim().log.slice(from).filter((l) => l.method === 'GET' && /[?&]fields=status(&|$)/.test(l.path)).length;
const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
const jpeg = (publicUrl?: string): MediaItem => ({ mimeType: 'image/jpeg', bytes: SAMPLE_JPEG.length, read: async () => SAMPLE_JPEG, ...(publicUrl ? { publicUrl } : {}) });
const ago = () => new Date(Date.now() - 60_000);

/** Connects a person and returns their first publishable Page as an account. */
async function pageAccount(loginHint = 'u1'): Promise<AccountRef & { userToken: string }> {
  const { tokens } = await authorize(p, { loginHint });
  const [page] = await p.identities(tokens);
  return { externalId: page!.externalId, username: page!.username, tokens: page!.tokens!, data: page!.data ?? {}, userToken: tokens.accessToken };
}

test('the registry offers the adapter', () => {
  assert.equal(FACTORIES.facebook, createFacebook);
});

test('connect: Facebook Login dialog, code exchange, then a long-lived user token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's1', codeChallenge: 'unused' }));
  assert.equal(url.pathname, '/facebook/v26.0/dialog/oauth');
  assert.equal(url.searchParams.get('client_id'), 'fb-app');
  assert.ok(url.searchParams.get('scope')!.split(',').includes('pages_manage_posts'));
  assert.equal(url.searchParams.get('code_challenge'), null, 'the manual flow has no PKCE');

  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.equal(tokens.refreshToken, undefined);
  assert.ok(tokens.expiresAt!.getTime() > Date.now() + 50 * 24 * 3600_000, 'about 60 days');
  assert.ok(tokens.scope!.includes('pages_manage_posts'));
  assert.equal(tokenInfo(sim().tokens.get(tokens.accessToken)!)!.kind, 'long');
  assert.ok(sim().log.some((l) => l.path.includes('grant_type=fb_exchange_token')));
});

test('consent denied comes back on the redirect', async () => {
  sim().knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p);
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
  } finally {
    sim().knobs.denyConsent = false;
  }
});

test('a code works once, and only with its redirect_uri', async () => {
  const res = await fetch(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
  await assert.rejects(p.exchangeCode!({ code, redirectUri: 'http://127.0.0.1:9/elsewhere', codeVerifier: '' }), (e) => kindOf(e) === 'auth_expired');
  await assert.rejects(p.exchangeCode!({ code, redirectUri: REDIRECT, codeVerifier: '' }), (e) => kindOf(e) === 'auth_expired');
});

test('identities: one per Page, each with its own non-expiring Page token; Pages without CREATE_CONTENT are left out', async () => {
  const { tokens } = await authorize(p);
  const ids = await p.identities(tokens);
  assert.equal(ids.length, 2, 'u1 has three Pages, one of them only with the ANALYZE task');
  for (const id of ids) {
    assert.equal(id.kind, 'page');
    assert.ok(id.tokens && id.tokens.accessToken !== tokens.accessToken);
    assert.equal(id.tokens.expiresAt, undefined);
    assert.equal(tokenInfo(sim().tokens.get(id.tokens.accessToken)!)!.pageId, id.externalId);
    assert.equal(id.profileUrl, `https://www.facebook.com/${id.externalId}`);
    assert.match(id.avatarUrl!, /\/facebook\/pictures\//);
    assert.equal(typeof id.data!.userId, 'string');
  }
  assert.notEqual(ids[0]!.externalId, ids[1]!.externalId);
  assert.equal(ids[0]!.username, 'u1bakery');
  const agency = await p.identities((await authorize(p, { loginHint: 'agency' })).tokens);
  assert.equal(agency.length, 105, 'followed the cursor past the first 100 Pages');
});

test('no refresh and no per-Page revocation on Facebook', async () => {
  const a = await pageAccount();
  await assert.rejects(p.refresh(a), (e) => kindOf(e) === 'auth_expired');
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined);
  assert.equal(p.meta.limits.maxTextLength, 63_206);
  assert.deepEqual(p.meta.limits.media.videoTypes, ['video/mp4'], 'videos, as Reels');
  assert.equal(p.meta.limits.media.maxVideoSeconds, 90);
});

test('publish: text, one photo by URL, several uploaded photos, a first comment', async () => {
  const a = await pageAccount();
  const text = await p.publish(a, { text: 'Fresh bread at 7', media: [], marker: 'fb-1' });
  assert.match(text.remoteId, new RegExp(`^${a.externalId}_\\d+$`));
  assert.equal(text.url, `${h.sim.base('facebook')}/posts/${text.remoteId}`);

  const one = await p.publish(a, { text: 'One loaf', media: [jpeg(host.url('/photo.jpg'))], marker: 'fb-2' });
  const onePost = sim().posts.find((x) => x.id === one.remoteId)!;
  assert.equal(onePost.text, 'One loaf');
  assert.equal(onePost.media.length, 1);

  const many = await p.publish(a, { text: 'Three loaves', media: [jpeg(), jpeg(), jpeg(host.url('/photo.jpg'))], marker: 'fb-3' });
  const manyPost = sim().posts.find((x) => x.id === many.remoteId)!;
  assert.equal(manyPost.media.length, 3, 'three unpublished photos attached to one feed post');
  assert.equal(sim().posts.filter((x) => x.text === 'Three loaves').length, 1);

  const comment = await p.publish(a, { text: 'Order at the counter', media: [], replyTo: text.remoteId, marker: 'fb-4' });
  assert.equal(sim().posts.find((x) => x.id === comment.remoteId)!.replyTo, text.remoteId);
  const withPhoto = await p.publish(a, { text: 'Like this', media: [jpeg(host.url('/photo.jpg'))], replyTo: text.remoteId, marker: 'fb-5' });
  assert.equal(sim().posts.find((x) => x.id === withPhoto.remoteId)!.media.length, 1);
});

test('what Facebook would refuse is refused before any call', async () => {
  const a = await pageAccount();
  const before = sim().log.length;
  const mp4: MediaItem = { mimeType: 'video/mp4', bytes: SAMPLE_MP4.length, durationSeconds: 12, read: async () => SAMPLE_MP4 };
  await assert.rejects(p.publish(a, { text: 'film and photo', media: [mp4, jpeg()], marker: 'v' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'too long a Reel', media: [{ ...mp4, durationSeconds: 91 }], marker: 'v2' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'too short a Reel', media: [{ ...mp4, durationSeconds: 2 }], marker: 'v3' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'a MOV', media: [{ ...mp4, mimeType: 'video/quicktime' }], marker: 'v4' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'x'.repeat(63_207), media: [], marker: 'long' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'many', media: Array.from({ length: 11 }, () => jpeg()), marker: 'm' }), (e) => kindOf(e) === 'permanent');
  await assert.rejects(p.publish(a, { text: 'big', media: [{ ...jpeg(), bytes: 5 * 1024 * 1024 }], marker: 'b' }), (e) => kindOf(e) === 'permanent');
  assert.equal(sim().log.length, before);
});

test('a photo URL Facebook cannot download, and a duplicate status, are permanent', async () => {
  const a = await pageAccount();
  await assert.rejects(p.publish(a, { text: 'gone', media: [jpeg(host.url('/missing.jpg'))], marker: 'gone' }),
    (e) => kindOf(e) === 'permanent' && /324/.test((e as ProviderError).details.reason!));
  await p.publish(a, { text: 'Same words', media: [], marker: 'd1' });
  await assert.rejects(p.publish(a, { text: 'Same words', media: [], marker: 'd2' }), (e) => kindOf(e) === 'permanent' && /506/.test((e as ProviderError).details.reason!));
});

test('reconciliation: accepted then timed out is an unknown outcome, and the post is found by its marker', async () => {
  const a = await pageAccount();
  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Accepted, never answered', media: [], marker: 'hang-1' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = sim().posts.find((x) => x.text === 'Accepted, never answered')!;
  const found = await p.findByMarker(a, 'hang-1', ago());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/facebook\/posts\//);

  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Late comment', media: [], replyTo: stored.id, marker: 'hang-2' }), (e) => kindOf(e) === 'unknown_outcome');
  assert.equal((await p.findByMarker(a, 'hang-2', ago()))!.remoteId, sim().posts.find((x) => x.text === 'Late comment')!.id);

  sim().knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'Refused by a 500', media: [], marker: 'fail-1' }), (e) => kindOf(e) === 'transient');
  sim().knobs.errorRate = 0;
  assert.equal(await p.findByMarker(a, 'fail-1', ago()), null);
  await assert.rejects(p.findByMarker(a, 'never-seen', ago()), (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.reason === 'marker_unknown');
});

test('error classes: 190, 403 permission, throttling with and without a wait, 5xx, malformed', async () => {
  const a = await pageAccount('errors');
  const s = sim();
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'not-a-token' } }, { text: 'x', media: [], marker: 'e1' }),
    (e) => kindOf(e) === 'auth_expired' && (e as ProviderError).details.status === 400 && /190/.test((e as ProviderError).details.reason!));
  const expired = await pageAccount('errors');
  s.tokens.get(expired.tokens.accessToken)!.expiresAt = Date.now() - 1000;
  await assert.rejects(p.publish(expired, { text: 'x', media: [], marker: 'e2' }), (e) => kindOf(e) === 'auth_expired' && /190\/463/.test((e as ProviderError).details.reason!));

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 120;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e3' }),
    (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === 120_000 && /80001/.test((e as ProviderError).details.reason!));
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.identities({ accessToken: a.userToken }), (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === undefined,
    'user tokens fall under platform limits: X-App-Usage gives no time');

  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e4' }), (e) => kindOf(e) === 'transient');
  s.knobs.errorRate = 0;
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'maybe', media: [], marker: 'e5' }), (e) => kindOf(e) === 'unknown_outcome');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities({ accessToken: a.userToken }), (e) => kindOf(e) === 'transient');

  // The person removes one permission in their settings (the documented DELETE /{user-id}/permissions/{name}).
  const res = await fetch(`${h.sim.base('facebook')}/v26.0/${a.data.userId as string}/permissions/pages_manage_posts?access_token=${a.userToken}`, { method: 'DELETE' });
  assert.deepEqual(await res.json(), { success: true });
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e6' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 403 && /pages_manage_posts/.test((e as ProviderError).details.reason!));
});

test('metrics: reactions, comments, shares and views', async () => {
  const a = await pageAccount();
  const post = await p.publish(a, { text: 'Counted', media: [], marker: 'mx' });
  await p.publish(a, { text: 'a comment', media: [], replyTo: post.remoteId, marker: 'mx-c' });
  const m = await p.metrics!(a, post.remoteId);
  assert.equal(typeof m.likes, 'number');
  assert.equal(m.replies, 1);
  assert.equal(typeof m.reposts, 'number');
  assert.ok(m.impressions! >= 10);
});

test('Graph error codes map to the documented classes', () => {
  const res = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, bytes: Buffer.from(JSON.stringify(body)), text: JSON.stringify(body), json: <T>() => body as T });
  const err = (code: number, subcode?: number) => ({ error: { message: `(#${code}) boom`, type: 'OAuthException', code, ...(subcode ? { error_subcode: subcode } : {}), fbtrace_id: 'x' } });
  for (const code of [4, 17, 32, 613, 80001]) assert.equal(graphError('facebook', 'publish', res(400, err(code))).kind, 'rate_limited', `code ${code}`);
  assert.equal(graphError('facebook', 'publish', res(400, err(368, 1390008))).kind, 'rate_limited', 'posting too fast');
  const buc = { 'x-business-use-case-usage': JSON.stringify({ 123: [{ type: 'pages', call_count: 100, estimated_time_to_regain_access: 3 }] }) };
  assert.equal(graphError('facebook', 'publish', res(400, err(32), buc)).details.retryAfterMs, 180_000);
  assert.equal(graphError('facebook', 'publish', res(429, {}, { 'retry-after': '5' })).details.retryAfterMs, 5000);
  for (const code of [1, 2]) assert.equal(graphError('facebook', 'publish', res(400, err(code))).kind, 'transient', `code ${code}`);
  assert.equal(graphError('facebook', 'publish', res(503, 'down')).kind, 'transient');
  assert.equal(graphError('facebook', 'publish', res(400, err(190, 460))).kind, 'auth_expired');
  assert.equal(graphError('facebook', 'publish', res(401, {})).kind, 'auth_expired');
  const denied = graphError('facebook', 'publish', res(403, err(200)));
  assert.equal(denied.kind, 'permanent');
  assert.match(denied.details.reason!, /\(#200\) boom \[code 200\]/);
  assert.equal(graphError('facebook', 'publish', res(400, err(100))).kind, 'permanent');
  assert.equal(graphError('facebook', 'publish', res(400, err(368))).kind, 'permanent', 'policy block');
});

const reelOf = (bytes = SAMPLE_MP4): MediaItem => ({ mimeType: 'video/mp4', bytes: bytes.length, durationSeconds: 15, read: async () => bytes });

test('a video is published as a Reel: start, the bytes to rupload with an OAuth header, finish, then its status', async () => {
  const a = await pageAccount();
  const before = sim().log.length;
  const r = await p.publish(a, { text: 'Behind the scenes', media: [reelOf()], marker: 'reel-1' });
  assert.equal(r.url, `https://www.facebook.com/reel/${r.remoteId}`);
  const calls = sim().log.slice(before).map((l) => `${l.method} ${l.path.replace(/\?.*$/, '').replace(r.remoteId, '{id}').replace(a.externalId, '{page}')}`);
  assert.deepEqual(calls.slice(0, 3), ['POST /facebook/v26.0/{page}/video_reels', 'POST /facebook/video-upload/v26.0/{id}', 'POST /facebook/v26.0/{page}/video_reels']);
  assert.deepEqual(calls.slice(3), ['GET /facebook/v26.0/{id}', 'GET /facebook/v26.0/{id}'], 'then the status, until published');
  assert.equal(statusReads(before), 2, 'processing at the first status read, published at the second');
  const stored = sim().posts.find((x) => x.id === r.remoteId)!;
  assert.equal(stored.text, 'Behind the scenes');
  assert.equal((stored.raw as Record<string, string>).video_state, 'PUBLISHED');
  // The token went in the Authorization header to rupload, not in its URL.
  assert.ok(!sim().log.some((l) => l.path.includes('/video-upload/') && l.path.includes('access_token')));

  // A first comment on the Reel, and its figures (reactions and comments of the video).
  await p.publish(a, { text: 'Credits in the comments', media: [], replyTo: r.remoteId, marker: 'reel-1-c' });
  const m = await p.metrics!(a, r.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
});

test('a Reel Facebook cannot process is refused with its reason; a lost finish answer is settled by the video\'s status', async () => {
  const a = await pageAccount();
  await assert.rejects(p.publish(a, { text: 'not a video', media: [reelOf(Buffer.from('this is not an mp4 file'))], marker: 'reel-bad' }),
    (e) => kindOf(e) === 'permanent' && /processed: .*format/.test((e as Error).message));

  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Did the Reel go out?', media: [reelOf()], marker: 'reel-lost' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = sim().posts.find((x) => x.text === 'Did the Reel go out?')!;
  const found = await p.findByMarker(a, 'reel-lost', ago());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/reel\//);

  // Refused at the start: nothing was published, so the marker finds nothing.
  sim().knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: 'Never finished', media: [reelOf()], marker: 'reel-none' }), (e) => kindOf(e) === 'rate_limited');
  assert.equal(await p.findByMarker(a, 'reel-none', ago()), null);
});

test('a Reel still processing when the wait runs out: finish is not sent again, the Reel is returned, and Meta publishes it once processed', async () => {
  // Finish with video_state=PUBLISHED was accepted, so Meta publishes the Reel when processing ends
  // (reels-publishing guide): failing the target here would have the worker send a second Reel.
  const a = await pageAccount('patient');
  const s = sim();
  const impatient = adapter({ intervalMs: 5, maxWaitMs: 40 });
  const status = async (id: string) => {
    const res = await fetch(`${h.sim.base('facebook')}/v26.0/${id}?fields=status&access_token=${a.tokens.accessToken}`);
    return ((await res.json()) as { status: { video_status: string; processing_phase: { status: string }; publishing_phase: { status: string; publish_status?: string } } }).status;
  };
  const mark = s.log.length;
  s.knobs.holdProcessing = true;
  let r: PublishedPost;
  try {
    r = await impatient.publish(a, { text: 'Held in processing', media: [reelOf()], marker: 'reel-cap' });
    assert.ok(statusReads(mark) >= 1, 'the status was read before the wait ran out');
    assert.equal(s.log.slice(mark).filter((l) => l.method === 'POST' && l.path.includes('/video_reels')).length, 2, 'one start, one finish: finish was not sent again');
    // The in-between state, as the status shows it while Meta processes the Reel.
    const held = await status(r.remoteId);
    assert.equal(held.video_status, 'processing');
    assert.equal(held.processing_phase.status, 'in_progress');
    assert.equal(held.publishing_phase.status, 'in_progress');
    assert.equal(held.publishing_phase.publish_status, undefined);
  } finally {
    s.knobs.holdProcessing = false;
  }
  assert.equal(r.url, `https://www.facebook.com/reel/${r.remoteId}`);
  // A lost answer would be settled the same way: publishing has begun, so the marker finds the Reel.
  assert.equal((await impatient.findByMarker(a, 'reel-cap', ago()))!.remoteId, r.remoteId);
  const done = await status(r.remoteId);
  assert.equal(done.video_status, 'ready');
  assert.equal(done.processing_phase.status, 'complete');
  assert.deepEqual(done.publishing_phase, { status: 'complete', publish_status: 'published' });
  assert.equal(s.posts.filter((x) => x.text === 'Held in processing').length, 1, 'one Reel');
});
