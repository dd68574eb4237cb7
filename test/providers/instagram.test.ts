// The Instagram adapter (Instagram Login path) against the simulated Instagram API: business login,
// long-lived tokens and their refresh, the container flow with status polling, carousels, Reels, the
// publishing quota, first comments, reconciliation, metrics, and every error class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, REDIRECT } from './harness.ts';
import { ago, assertWaitCap, kindOf, reasonOf, useMetaHarness } from './meta-harness.ts';
import { eventually } from '../support/eventually.ts';
import { createInstagram } from '../../src/providers/instagram.ts';
import { FACTORIES } from '../../src/providers/registry.ts';
import { ProviderError, type MediaItem, type Provider } from '../../src/providers/types.ts';
import { DEFAULT_GRAPH_VERSION } from '../../src/providers/meta-graph.ts';
import { DAY_MS, SAMPLE_JPEG, tokenInfo } from '../../tools/provider-sim/networks/meta-common.ts';

let p: Provider;
const meta = useMetaHarness({
  ready: (m) => { p = m.p; },
  network: 'instagram', statusField: 'status_code', videoSeconds: 12,
  create: (http, base, poll) => createInstagram({ http, settings: { clientId: 'ig-app', clientSecret: 'ig-secret', baseUrls: { auth: base, api: base, graph: base } } }, { poll }),
});
const { sim, statusReads, image, video, account } = meta;

test('the registry offers the adapter', () => {
  assert.equal(FACTORIES.instagram, createInstagram);
  assert.equal(p.meta.limits.maxTextLength, 2200);
  assert.equal(p.meta.limits.media.required, true);
  assert.deepEqual(p.meta.limits.media.imageTypes, ['image/jpeg']);
});

test('connect: Instagram business login, code exchange, long-lived token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's1', codeChallenge: 'unused' }));
  assert.equal(url.pathname, '/instagram/oauth/authorize');
  assert.ok(url.searchParams.get('scope')!.split(',').includes('instagram_business_content_publish'));
  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.equal(redirect.hash, '#_');
  assert.ok(tokens.expiresAt!.getTime() > Date.now() + 50 * DAY_MS);
  assert.equal(tokens.refreshToken, undefined);
  assert.deepEqual(tokens.scope, ['instagram_business_basic', 'instagram_business_content_publish', 'instagram_business_manage_comments', 'instagram_business_manage_insights']);
  assert.equal(tokenInfo(sim().tokens.get(tokens.accessToken)!)!.kind, 'long');
  assert.ok(sim().log.some((l) => l.method === 'POST' && l.path === '/instagram/oauth/access_token'));
  assert.ok(sim().log.some((l) => l.path.startsWith('/instagram/access_token?') && l.path.includes('grant_type=ig_exchange_token')));
});

test('consent denied, and a code used with another redirect_uri, are refused', async () => {
  sim().knobs.denyConsent = true;
  try {
    assert.equal((await authorize(p)).redirect.searchParams.get('error'), 'access_denied');
  } finally {
    sim().knobs.denyConsent = false;
  }
  const res = await fetch(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }), { redirect: 'manual' });
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
  await assert.rejects(p.exchangeCode!({ code: `${code}#_`, redirectUri: 'http://127.0.0.1:9/other', codeVerifier: '' }), (e) => kindOf(e) === 'auth_expired');
});

test('identities: the professional account (user_id), not the app-scoped id', async () => {
  const { tokens } = await authorize(p);
  const [id, ...rest] = await p.identities(tokens);
  assert.equal(rest.length, 0);
  assert.equal(id!.externalId, sim().tokens.get(tokens.accessToken)!.userId);
  assert.equal(id!.kind, 'organization');
  assert.equal(id!.profileUrl, `https://www.instagram.com/${id!.username}`);
});

test('refresh: a token younger than 24 h is kept; an older one becomes a new 60-day token', async () => {
  const a = await account();
  const calls = sim().refreshCalls;
  assert.equal(await p.refresh(a), a.tokens, 'too young to refresh: unchanged, no call');
  assert.equal(sim().refreshCalls, calls);

  tokenInfo(sim().tokens.get(a.tokens.accessToken)!)!.issuedAt -= 2 * DAY_MS;
  const old = { ...a, tokens: { ...a.tokens, expiresAt: new Date(Date.now() + 58 * DAY_MS) } };
  const next = await p.refresh(old);
  assert.notEqual(next.accessToken, a.tokens.accessToken);
  assert.ok(next.expiresAt!.getTime() > Date.now() + 59 * DAY_MS);
  assert.deepEqual(next.scope, a.tokens.scope);
  assert.equal((await p.identities(next))[0]!.externalId, a.externalId);

  sim().tokens.get(next.accessToken)!.revoked = true;
  await assert.rejects(p.refresh({ ...a, tokens: { ...next, expiresAt: new Date(Date.now() + DAY_MS) } }), (e) => kindOf(e) === 'auth_expired');
});

test('no revocation endpoint is documented for Instagram Login', () => {
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined);
});

test('publish: an image, a Reel polled until FINISHED, a carousel of an image and a video, a first comment', async () => {
  const a = await account();
  const img = await p.publish(a, { text: 'Morning light #sun', media: [image('/photo.jpg', 'A window')], marker: 'ig-1' });
  const post = sim().posts.find((x) => x.id === img.remoteId)!;
  assert.equal(post.text, 'Morning light #sun');
  assert.match(img.url!, /\/instagram\/p\//);
  assert.equal((post.raw as Record<string, string>).alt_text, 'A window');

  const before = sim().log.length;
  const reel = await p.publish(a, { text: 'A short film', media: [video()], marker: 'ig-2' });
  assert.equal(statusReads(before), 2, 'the video container was IN_PROGRESS at the first read, FINISHED at the second');
  assert.equal((sim().posts.find((x) => x.id === reel.remoteId)!.raw as Record<string, string>).media_type, 'REELS');

  const carousel = await p.publish(a, { text: 'Both', media: [image(), video()], marker: 'ig-3' });
  assert.equal(sim().posts.find((x) => x.id === carousel.remoteId)!.media.length, 2);

  const comment = await p.publish(a, { text: 'Link in bio', media: [], replyTo: img.remoteId, marker: 'ig-4' });
  assert.equal(sim().posts.find((x) => x.id === comment.remoteId)!.replyTo, img.remoteId);
  await assert.rejects(p.publish(a, { text: 'pic', media: [image()], replyTo: img.remoteId, marker: 'ig-5' }), (e) => kindOf(e) === 'permanent');
});

test('what Instagram would refuse is refused before any call: no public URL, no media, PNG, caption rules', async () => {
  const a = await account();
  const before = sim().log.length;
  const local: MediaItem = { mimeType: 'image/jpeg', bytes: 10, read: async () => SAMPLE_JPEG };
  await assert.rejects(p.publish(a, { text: 'x', media: [local], marker: 'n1' }), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'media_without_public_url');
  await assert.rejects(p.publish(a, { text: 'just words', media: [], marker: 'n2' }), (e) => reasonOf(e) === 'media_required');
  await assert.rejects(p.publish(a, { text: 'x', media: [{ ...image(), mimeType: 'image/png' }], marker: 'n3' }), (e) => reasonOf(e) === 'unsupported_media_type');
  await assert.rejects(p.publish(a, { text: 'x'.repeat(2201), media: [image()], marker: 'n4' }), (e) => reasonOf(e) === 'text_too_long');
  await assert.rejects(p.publish(a, { text: Array.from({ length: 31 }, (_, i) => `#t${i}`).join(' '), media: [image()], marker: 'n5' }), (e) => reasonOf(e) === 'too_many_hashtags');
  await assert.rejects(p.publish(a, { text: 'x', media: Array.from({ length: 11 }, () => image()), marker: 'n6' }), (e) => reasonOf(e) === 'too_many_media');
  await assert.rejects(p.publish(a, { text: 'x', media: [{ ...image(), width: 1000, height: 2000 }], marker: 'n7' }), (e) => reasonOf(e) === 'aspect_ratio');
  await assert.rejects(p.publish(a, { text: 'x', media: [{ ...video(), durationSeconds: 2 }], marker: 'n8' }), (e) => reasonOf(e) === 'video_too_short');
  await assert.rejects(p.publish(a, { text: 'x', media: [{ ...video(), durationSeconds: 16 * 60 }], marker: 'n9' }), (e) => reasonOf(e) === 'video_too_long');
  assert.equal(sim().log.length, before);
});

test('media Meta cannot download or process: permanent, with Meta\'s reason', async () => {
  const a = await account();
  await assert.rejects(p.publish(a, { text: 'gone', media: [image('/missing.jpg')], marker: 'm1' }), (e) => kindOf(e) === 'permanent' && /2207052/.test(reasonOf(e)));
  await assert.rejects(p.publish(a, { text: 'broken', media: [video('/broken.mp4')], marker: 'm2' }), (e) => kindOf(e) === 'permanent' && /ERROR.*2207026/.test(reasonOf(e)));
  assert.equal(sim().posts.filter((x) => x.text === 'broken' || x.text === 'gone').length, 0);
});

test('a container still IN_PROGRESS when the wait runs out: transient, media_publish never sent, nothing to reconcile', async () => {
  await assertWaitCap(meta, '/media_publish');
});

test('the 24 h publishing quota is read before publishing', async () => {
  const a = await account('busy');
  for (let i = 0; i < 100; i++) sim().posts.push({ id: `q${i}`, userId: a.externalId, text: `old ${i}`, media: [], createdAt: new Date().toISOString(), raw: {} });
  try {
    await assert.rejects(p.publish(a, { text: 'one more', media: [image()], marker: 'q' }), (e) => kindOf(e) === 'rate_limited' && reasonOf(e) === 'publishing_quota');
    assert.ok(!sim().log.some((l) => l.method === 'POST' && l.path.includes(`${a.externalId}/media`)), 'no container was created');
  } finally {
    sim().posts.splice(0, sim().posts.length, ...sim().posts.filter((x) => x.userId !== a.externalId));
  }
});

test('reconciliation: media_publish accepted then timed out; the container says PUBLISHED and the caption finds the media', async () => {
  const a = await account();
  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Did it go out?', media: [image()], marker: 'r1' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = sim().posts.find((x) => x.text === 'Did it go out?')!;
  const found = await p.findByMarker(a, 'r1', ago());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/instagram\/p\//);

  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Late first comment', media: [], replyTo: stored.id, marker: 'r2' }), (e) => kindOf(e) === 'unknown_outcome');
  assert.equal((await p.findByMarker(a, 'r2', ago()))!.remoteId, sim().posts.find((x) => x.text === 'Late first comment')!.id);

  sim().knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: 'Never published', media: [image()], marker: 'r3' }), (e) => kindOf(e) === 'rate_limited');
  assert.equal(await p.findByMarker(a, 'r3', ago()), null);
  await assert.rejects(p.findByMarker(a, 'unknown', ago()), (e) => reasonOf(e) === 'marker_unknown');
});

test('error classes: 190, 403 permission, 80002 throttling with a wait, 5xx, malformed publish and profile', async () => {
  const a = await account('errors');
  const s = sim();
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'bogus' } }, { text: 'x', media: [image()], marker: 'e1' }),
    (e) => kindOf(e) === 'auth_expired' && /190/.test(reasonOf(e)));

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 60;
  await assert.rejects(p.publish(a, { text: 'x', media: [image()], marker: 'e2' }),
    (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === 60_000 && /80002/.test(reasonOf(e)));

  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [image()], marker: 'e3' }), (e) => kindOf(e) === 'transient');
  s.knobs.errorRate = 0;

  // A malformed answer to media_publish itself: set once the Reel's container is being polled (status
  // reads are not subject to the knobs), so the next call to answer badly is media_publish. Processing is
  // held until then, so the adapter cannot reach media_publish before the knob is set.
  const mark = s.log.length;
  s.knobs.holdProcessing = true;
  let settled: Promise<unknown>;
  try {
    settled = p.publish(a, { text: 'Garbled', media: [video()], marker: 'e4' }).then(() => null, (e: unknown) => e);
    await eventually(() => statusReads(mark) > 0, undefined, 'the first status read', 5);
    s.knobs.malformedNext = 1;
  } finally {
    s.knobs.holdProcessing = false;
  }
  assert.equal(kindOf(await settled), 'unknown_outcome');
  // The knob garbles the answer before anything is stored: reconciliation says it was not published.
  assert.equal(await p.findByMarker(a, 'e4', ago()), null);

  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');

  s.tokens.get(a.tokens.accessToken)!.scope = ['instagram_business_basic'];
  await assert.rejects(p.publish(a, { text: 'x', media: [image()], marker: 'e5' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 403 && /content_publish/.test(reasonOf(e)));
});

test('metrics: views, likes, comments, shares', async () => {
  const a = await account();
  const post = await p.publish(a, { text: 'Measured', media: [image()], marker: 'mx' });
  await p.publish(a, { text: 'first!', media: [], replyTo: post.remoteId, marker: 'mx-c' });
  const m = await p.metrics!(a, post.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.reposts, 'number');
  assert.ok(m.impressions! >= 10);
});

test('Stories: media_type STORIES with the image or video alone, no caption; listed under /stories, not /media; their own metrics', async () => {
  const a = await account('story-teller');
  const photo = await p.publish(a, { text: 'not shown on a Story', media: [image()], marker: 'st-1', options: { story: true } });
  const raw = sim().posts.find((x) => x.id === photo.remoteId)!.raw as Record<string, string>;
  assert.equal(raw.media_type, 'STORIES');
  assert.equal(raw.image_url, meta.host.url('/photo.jpg'));
  assert.equal(raw.caption, undefined, 'a Story has no caption');
  assert.match(photo.url!, /\/instagram\/stories\/.+\//);
  const clip = await p.publish(a, { text: '', media: [video()], marker: 'st-2', options: { story: true } });
  assert.equal((sim().posts.find((x) => x.id === clip.remoteId)!.raw as Record<string, string>).video_url, meta.host.url('/clip.mp4'));

  const base = meta.h.sim.base('instagram');
  const listed = async (edge: string) => ((await (await fetch(`${base}/${DEFAULT_GRAPH_VERSION}/${a.externalId}/${edge}?fields=id&access_token=${a.tokens.accessToken}`)).json()) as { data: { id: string }[] }).data.map((x) => x.id);
  assert.deepEqual((await listed('stories')).sort(), [photo.remoteId, clip.remoteId].sort());
  assert.deepEqual(await listed('media'), [], 'not in the feed');

  const m = await p.metrics!(a, photo.remoteId);
  assert.equal(typeof m.impressions, 'number');
  assert.equal(typeof m.replies, 'number', 'replies to the Story');
  assert.equal(m.likes, undefined, 'Stories have no likes');

  const calls = sim().log.length;
  await assert.rejects(p.publish(a, { text: '', media: [image(), image()], marker: 'st-3', options: { story: true } }), (e) => reasonOf(e) === 'story_media');
  await assert.rejects(p.publish(a, { text: '', media: [{ ...video(), durationSeconds: 61 }], marker: 'st-4', options: { story: true } }), (e) => reasonOf(e) === 'story_video_too_long');
  assert.equal(sim().log.length, calls, 'refused before any call');
});

test('a Story whose media_publish answer was lost is found under /stories (it has no caption to match)', async () => {
  const a = await account('story-lost');
  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'caption never shown', media: [image()], marker: 'st-r1', options: { story: true } }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = sim().posts.find((x) => x.userId === a.externalId && (x.raw as Record<string, string>).media_type === 'STORIES')!;
  const found = await p.findByMarker(a, 'st-r1', ago());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/stories\//);
});
