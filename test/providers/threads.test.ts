// The Threads adapter against the simulated Threads API: authorization, long-lived tokens and their
// refresh, text / image / video / carousel containers, threads built with reply_to_id, the publishing
// limits, reconciliation of posts and replies, insights, and every error class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, REDIRECT } from './harness.ts';
import { ago, assertWaitCap, kindOf, reasonOf, useMetaHarness } from './meta-harness.ts';
import { eventually } from '../support/eventually.ts';
import { createThreads, threadsLength } from '../../src/providers/threads.ts';
import { FACTORIES } from '../../src/providers/registry.ts';
import { ProviderError, type Provider } from '../../src/providers/types.ts';
import { DAY_MS, tokenInfo } from '../../tools/provider-sim/networks/meta-common.ts';

let p: Provider;
const meta = useMetaHarness({
  ready: (m) => { p = m.p; },
  network: 'threads', statusField: 'status', imageAltText: 'a photo', videoSeconds: 20,
  create: (http, base, poll) => createThreads({ http, settings: { clientId: 'th-app', clientSecret: 'th-secret', baseUrls: { auth: base, graph: base } } }, { poll }),
});
const { sim, statusReads, image, video, account } = meta;

test('the registry offers the adapter; limits', () => {
  assert.equal(FACTORIES.threads, createThreads);
  assert.equal(p.meta.limits.maxTextLength, 500);
  assert.equal(p.meta.limits.threads, true);
  assert.equal(p.meta.limits.media.maxCount, 20);
});

test('Threads counts emoji by their UTF-8 bytes', () => {
  assert.equal(threadsLength('hello'), 5);
  assert.equal(threadsLength('😀'), 4);
  assert.equal(threadsLength('❤️'), 6);
  assert.equal(threadsLength('🇫🇷'), 8);
  assert.equal(threadsLength('é'), 1);
});

test('connect: authorize, code exchange (numeric user_id), long-lived token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's1', codeChallenge: 'unused' }));
  assert.equal(url.pathname, '/threads/oauth/authorize');
  assert.ok(url.searchParams.get('scope')!.split(',').includes('threads_manage_replies'));
  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.ok(tokens.expiresAt!.getTime() > Date.now() + 50 * DAY_MS);
  assert.equal(tokens.refreshToken, undefined);
  assert.equal(tokenInfo(sim().tokens.get(tokens.accessToken)!)!.kind, 'long');
  assert.ok(sim().log.some((l) => l.path.includes('grant_type=th_exchange_token')));
  const [id] = await p.identities(tokens);
  assert.equal(id!.kind, 'person');
  assert.equal(id!.profileUrl, `https://www.threads.com/@${id!.username}`);

  sim().knobs.denyConsent = true;
  try {
    assert.equal((await authorize(p)).redirect.searchParams.get('error'), 'access_denied');
  } finally {
    sim().knobs.denyConsent = false;
  }
});

test('refresh (th_refresh_token) once the token is a day old; no revocation endpoint', async () => {
  const a = await account();
  assert.equal(await p.refresh(a), a.tokens, 'younger than 24 h: kept as is');
  tokenInfo(sim().tokens.get(a.tokens.accessToken)!)!.issuedAt -= 3 * DAY_MS;
  const next = await p.refresh({ ...a, tokens: { ...a.tokens, expiresAt: new Date(Date.now() + 57 * DAY_MS) } });
  assert.notEqual(next.accessToken, a.tokens.accessToken);
  assert.ok(next.expiresAt!.getTime() > Date.now() + 59 * DAY_MS);
  assert.ok(sim().log.some((l) => l.path.includes('grant_type=th_refresh_token')));
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined);
});

test('publish: text, image, video polled until FINISHED, a carousel, and a thread of replies', async () => {
  const a = await account();
  const root = await p.publish(a, { text: 'A thread about bread 🧵', media: [], marker: 't-1' });
  assert.match(root.url!, /\/threads\/t\//);
  const rootPost = sim().posts.find((x) => x.id === root.remoteId)!;
  assert.equal(rootPost.text, 'A thread about bread 🧵');

  const second = await p.publish(a, { text: 'Part two, with a photo', media: [image()], replyTo: root.remoteId, marker: 't-2' });
  const third = await p.publish(a, { text: 'Part three', media: [], replyTo: second.remoteId, marker: 't-3' });
  assert.equal(sim().posts.find((x) => x.id === second.remoteId)!.replyTo, root.remoteId);
  assert.equal(sim().posts.find((x) => x.id === third.remoteId)!.replyTo, second.remoteId);

  const before = sim().log.length;
  const clip = await p.publish(a, { text: 'A clip', media: [video()], marker: 't-4' });
  assert.equal(statusReads(before), 2, 'IN_PROGRESS at the first read, FINISHED at the second');
  assert.ok(clip.remoteId);

  const carousel = await p.publish(a, { text: 'Two things', media: [image(), video()], marker: 't-5' });
  assert.equal(sim().posts.find((x) => x.id === carousel.remoteId)!.media.length, 2);

  const emoji = await p.publish(a, { text: '😀'.repeat(125), media: [], marker: 't-6' });
  assert.ok(emoji.remoteId, '125 emoji count 500');
});

test('what Threads would refuse: over 500 (emoji as bytes), no public URL, a sixth link, a video that fails processing', async () => {
  const a = await account();
  const before = sim().log.length;
  await assert.rejects(p.publish(a, { text: '😀'.repeat(126), media: [], marker: 'n1' }), (e) => reasonOf(e) === 'text_too_long');
  await assert.rejects(p.publish(a, { text: 'x', media: [{ ...image(), publicUrl: undefined }], marker: 'n2' }), (e) => reasonOf(e) === 'media_without_public_url');
  await assert.rejects(p.publish(a, { text: '', media: [], marker: 'n3' }), (e) => reasonOf(e) === 'empty_post');
  await assert.rejects(p.publish(a, { text: 'x', media: Array.from({ length: 21 }, () => image()), marker: 'n4' }), (e) => reasonOf(e) === 'too_many_media');
  assert.equal(sim().log.length, before, 'refused before any call');

  const links = Array.from({ length: 6 }, (_, i) => `https://example.com/${i}`).join(' ');
  await assert.rejects(p.publish(a, { text: links, media: [], marker: 'n5' }), (e) => kindOf(e) === 'permanent' && /LINK_LIMIT_EXCEEDED/.test(reasonOf(e)));
  await assert.rejects(p.publish(a, { text: 'broken', media: [video('/broken.mp4')], marker: 'n6' }), (e) => kindOf(e) === 'permanent' && /FAILED_PROCESSING_VIDEO/.test(reasonOf(e)));
  await assert.rejects(p.publish(a, { text: 'gone', media: [video('/missing.mp4')], marker: 'n7' }), (e) => kindOf(e) === 'permanent' && /FAILED_DOWNLOADING_VIDEO/.test(reasonOf(e)));
});

test('a container still IN_PROGRESS when the wait runs out: transient, threads_publish never sent, nothing to reconcile', async () => {
  await assertWaitCap(meta, '/threads_publish');
});

test('the 250-post limit is read before publishing (replies have their own)', async () => {
  const a = await account('prolific');
  for (let i = 0; i < 250; i++) sim().posts.push({ id: `q${i}`, userId: a.externalId, text: `old ${i}`, media: [], createdAt: new Date().toISOString(), raw: {} });
  try {
    await assert.rejects(p.publish(a, { text: 'one more', media: [], marker: 'q1' }), (e) => kindOf(e) === 'rate_limited' && reasonOf(e) === 'publishing_quota');
    const reply = await p.publish(a, { text: 'a reply still fits', media: [], replyTo: 'q0', marker: 'q2' });
    assert.ok(reply.remoteId);
  } finally {
    sim().posts.splice(0, sim().posts.length, ...sim().posts.filter((x) => x.userId !== a.externalId));
  }
});

test('reconciliation: threads_publish accepted then timed out, for a post and for a reply', async () => {
  const a = await account();
  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Lost answer', media: [], marker: 'r1' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = sim().posts.find((x) => x.text === 'Lost answer')!;
  const found = await p.findByMarker(a, 'r1', ago());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/threads\/t\//);

  sim().knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'Lost reply', media: [], replyTo: stored.id, marker: 'r2' }), (e) => kindOf(e) === 'unknown_outcome');
  assert.equal((await p.findByMarker(a, 'r2', ago()))!.remoteId, sim().posts.find((x) => x.text === 'Lost reply')!.id);

  sim().knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'Never went out', media: [], marker: 'r3' }), (e) => kindOf(e) === 'transient');
  sim().knobs.errorRate = 0;
  assert.equal(await p.findByMarker(a, 'r3', ago()), null);
  await assert.rejects(p.findByMarker(a, 'unknown', ago()), (e) => reasonOf(e) === 'marker_unknown');
});

test('error classes: 401/190, 403 permission, throttling, 5xx, malformed publish and profile', async () => {
  const a = await account('errors');
  const s = sim();
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'bogus' } }, { text: 'x', media: [], marker: 'e1' }),
    (e) => kindOf(e) === 'auth_expired' && (e as ProviderError).details.status === 401);
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e2' }),
    (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === undefined, 'code 4 with X-App-Usage only: no wait is given');
  s.knobs.errorRate = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');
  s.knobs.errorRate = 0;

  // Garble the answer of threads_publish itself: set while the video container is polled (status reads
  // are not subject to the knobs). Processing is held until then, so the adapter cannot reach
  // threads_publish before the knob is set.
  const mark = s.log.length;
  s.knobs.holdProcessing = true;
  let settled: Promise<unknown>;
  try {
    settled = p.publish(a, { text: 'Garbled', media: [video()], marker: 'e3' }).then(() => null, (e: unknown) => e);
    await eventually(() => statusReads(mark) > 0, undefined, 'the first status read', 5);
    s.knobs.malformedNext = 1;
  } finally {
    s.knobs.holdProcessing = false;
  }
  assert.equal(kindOf(await settled), 'unknown_outcome');
  assert.equal(await p.findByMarker(a, 'e3', ago()), null, 'the garbled answer came before anything was published');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');

  const root = await p.publish(a, { text: 'root', media: [], marker: 'e4' });
  s.tokens.get(a.tokens.accessToken)!.scope = ['threads_basic', 'threads_content_publish'];
  await assert.rejects(p.publish(a, { text: 'reply', media: [], replyTo: root.remoteId, marker: 'e5' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 403 && /threads_manage_replies/.test(reasonOf(e)));
  const dead = sim().tokens.get(a.tokens.accessToken)!;
  dead.expiresAt = Date.now() - 1;
  await assert.rejects(p.metrics!(a, root.remoteId), (e) => kindOf(e) === 'auth_expired' && /190\/463/.test(reasonOf(e)));
});

test('metrics: views, likes, replies, reposts', async () => {
  const a = await account();
  const post = await p.publish(a, { text: 'Measured', media: [], marker: 'mx' });
  await p.publish(a, { text: 'a reply', media: [], replyTo: post.remoteId, marker: 'mx-r' });
  const m = await p.metrics!(a, post.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.reposts, 'number');
  assert.ok(m.impressions! >= 10);
});
