// The Sandbox adapter against the simulator: the template every network's adapter test follows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createSandbox } from '../../src/providers/sandbox.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
before(async () => {
  h = await harness();
  p = createSandbox({ http: h.http, settings: { clientId: 'allin', baseUrls: { api: h.sim.base('sandbox') } } });
});
after(() => h.stop());

const account = async (): Promise<AccountRef> => {
  const { tokens } = await authorize(p);
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: {} };
};

test('connect: authorization code with PKCE, profile', async () => {
  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.ok(tokens.accessToken && tokens.refreshToken && tokens.expiresAt);
  const ids = await p.identities(tokens);
  assert.equal(ids.length, 1);
  assert.equal(ids[0]!.kind, 'person');
});

test('consent denied comes back as an error on the redirect', async () => {
  h.sim.state('sandbox').knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p);
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
  } finally {
    h.sim.state('sandbox').knobs.denyConsent = false;
  }
});

test('refresh rotates the refresh token; the old one is then refused (auth_expired)', async () => {
  const a = await account();
  const next = await p.refresh(a);
  assert.notEqual(next.refreshToken, a.tokens.refreshToken);
  await assert.rejects(p.refresh(a), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
});

test('publish text, media, a reply; find by marker; metrics', async () => {
  const a = await account();
  const first = await p.publish(a, { text: 'hello sandbox', media: [], marker: 'm-1' });
  assert.match(first.url!, /\/sandbox\/p\//);
  const withMedia = await p.publish(a, { text: 'with a picture', marker: 'm-2', media: [{ mimeType: 'image/png', bytes: greyPng(1, 1).length, read: async () => greyPng(1, 1) }] });
  const reply = await p.publish(a, { text: 'part two', media: [], replyTo: first.remoteId, marker: 'm-3' });
  const posts = h.sim.state('sandbox').posts;
  assert.equal(posts.find((x) => x.id === withMedia.remoteId)!.media.length, 1);
  assert.equal(posts.find((x) => x.id === reply.remoteId)!.replyTo, first.remoteId);
  assert.deepEqual(await p.findByMarker(a, 'm-2', new Date(Date.now() - 60_000)), { remoteId: withMedia.remoteId, url: withMedia.url });
  assert.equal(await p.findByMarker(a, 'never-sent', new Date(Date.now() - 60_000)), null);
  const m = await p.metrics!(a, first.remoteId);
  assert.equal(typeof m.likes, 'number');
});

test('the same marker twice creates one post (Idempotency-Key)', async () => {
  const a = await account();
  const x = await p.publish(a, { text: 'once', media: [], marker: 'idem-1' });
  const y = await p.publish(a, { text: 'once', media: [], marker: 'idem-1' });
  assert.equal(x.remoteId, y.remoteId);
  assert.equal(h.sim.state('sandbox').posts.filter((q) => q.key === 'idem-1').length, 1);
});

test('error classes: 401, 429 with Retry-After, 5xx, accept-then-timeout, malformed', async () => {
  const a = await account();
  const s = h.sim.state('sandbox');
  const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'revoked' } }, { text: 'x', media: [], marker: 'e1' }), (e) => kindOf(e) === 'auth_expired');
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e2' }), (e) => kindOf(e) === 'rate_limited' && (e as ProviderError).details.retryAfterMs === 7000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e3' }), (e) => kindOf(e) === 'transient');
  s.knobs.errorRate = 0;
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'accepted', media: [], marker: 'e4' }), (e) => kindOf(e) === 'unknown_outcome');
  assert.ok(await p.findByMarker(a, 'e4', new Date(Date.now() - 60_000)), 'the post exists: reconciliation finds it');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e5' }), (e) => kindOf(e) === 'unknown_outcome');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens), (e) => kindOf(e) === 'transient');
});

test('revocation: the token stops working', async () => {
  const a = await account();
  await p.revoke!(a);
  await assert.rejects(p.refresh(a), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = await h.metrics.socialApiCalls.get();
  const publish = calls.values.filter((v) => v.labels.provider === 'sandbox' && v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '201'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
});
