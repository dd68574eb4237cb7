// The Mastodon adapter against the simulator. Each Host header is an instance there, so
// 127.0.0.1:PORT and localhost:PORT are two instances (the second one configured as an old server).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createMastodon, idempotencyKey, normalizeMastodonHost, type MastodonApp, type MastodonAppStore, type MastodonInstanceInfo, type MastodonProvider } from '../../src/providers/mastodon.ts';
import { ProviderError, type AccountRef, type ProviderLimits } from '../../src/providers/types.ts';
import { pkcePair } from '../../src/providers/oauth2.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { mastodonInstance } from '../../tools/provider-sim/networks/mastodon.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';
import { quietLogger } from '../support/env.ts';

let h: Harness;
let p: MastodonProvider;
let s: NetworkState;
let host: string; // a current (4.4) instance
let legacy: string; // a 3.5 instance: no PKCE, no `profile`, no /api/v2/instance
const settings = { baseUrls: { instance: 'http://{host}/mastodon' } };

before(async () => {
  h = await harness();
  s = h.sim.state('mastodon');
  host = new URL(h.sim.url).host;
  legacy = `localhost:${new URL(h.sim.url).port}`;
  mastodonInstance(s, host).maxCharacters = 600; // a fork with a raised limit
  mastodonInstance(s, legacy).version = '3.5.3';
  p = createMastodon({ http: h.http, settings });
});
after(() => h.stop());

const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
const isKind = (kind: string, reason?: RegExp, status?: number) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? '')) && (status === undefined || e.details.status === status);
const hits = (method: string, path: RegExp) => s.log.filter((l) => l.method === method && path.test(l.path)).length;
const since = () => new Date(Date.now() - 60_000);

const connect = async (login = 'alice', at = host, provider: MastodonProvider = p): Promise<AccountRef> => {
  const { tokens } = await authorize(provider, { host: at, loginHint: login });
  const [id] = await provider.identities(tokens, at);
  return { externalId: id!.externalId, username: id!.username, tokens, host: at, data: id!.data ?? {} };
};

test('connect: one app registration per instance, PKCE S256, the instance limits in the identity', async () => {
  const before = hits('POST', /\/api\/v1\/apps$/);
  const url = new URL(await p.authorizationUrl!({ host, redirectUri: REDIRECT, state: 's1', codeChallenge: pkcePair().challenge }));
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(url.searchParams.get('code_challenge'));
  assert.equal(url.searchParams.get('scope'), 'profile read:statuses read:notifications write:statuses write:media write:favourites');
  const { tokens, redirect } = await authorize(p, { host, loginHint: 'alice' });
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  assert.ok(tokens.accessToken);
  assert.equal(tokens.refreshToken, undefined, 'Mastodon issues no refresh token');
  assert.equal(tokens.expiresAt, undefined, 'and its tokens do not expire');
  await authorize(p, { host, loginHint: 'bob' });
  assert.equal(hits('POST', /\/api\/v1\/apps$/) - before, 1, 'registered once, then reused');

  const [me] = await p.identities(tokens, host);
  assert.equal(me!.username, `alice@${host}`);
  assert.equal(me!.kind, 'person');
  assert.match(me!.profileUrl!, /\/@alice$/);
  const instance = me!.data!.instance as MastodonInstanceInfo;
  assert.equal(instance.maxCharacters, 600);
  assert.equal(instance.maxMediaAttachments, 4);
  assert.equal(instance.charactersReservedPerUrl, 23);
  assert.equal(instance.descriptionLimit, 1500);
  assert.ok(instance.supportedMimeTypes.includes('image/png'));
  const limits = me!.data!.limits as ProviderLimits;
  assert.equal(limits.maxTextLength, 600);
  assert.equal(limits.textCounting, 'mastodon');
  assert.ok(limits.media.videoTypes.includes('video/mp4') && !limits.media.imageTypes.includes('video/mp4'));
});

test('an old instance (3.5): no PKCE, read:accounts, /api/v1/instance; registered separately', async () => {
  const before = hits('POST', /\/api\/v1\/apps$/);
  const url = new URL(await p.authorizationUrl!({ host: legacy, redirectUri: REDIRECT, state: 's', codeChallenge: pkcePair().challenge }));
  assert.equal(url.host, legacy);
  assert.equal(url.searchParams.get('code_challenge'), null);
  assert.equal(url.searchParams.get('scope'), 'read:accounts read:statuses read:notifications write:statuses write:media write:favourites');
  const a = await connect('alice', legacy);
  assert.equal(hits('POST', /\/api\/v1\/apps$/) - before, 1, 'a second instance gets its own registration');
  assert.equal((a.data.instance as MastodonInstanceInfo).version, '3.5.3');
  assert.equal(a.username, `alice@${legacy}`);
  const post = await p.publish(a, { text: 'from an old server', media: [], marker: 'legacy-1' });
  assert.ok(s.posts.some((x) => x.id === post.remoteId));
});

test('an instance upgraded to 4.3+ keeps its read:accounts registration (so older tokens stay revocable)', async () => {
  const saved = new Map<string, MastodonApp>();
  const store: MastodonAppStore = { get: async (k) => saved.get(k) ?? null, put: async (k, app) => { saved.set(k, app); } };
  const old = await connect('zed', legacy, createMastodon({ http: h.http, settings }, store));
  assert.deepEqual(saved.get(legacy)!.scopes, ['read:accounts', 'read:statuses', 'read:notifications', 'write:statuses', 'write:media', 'write:favourites']);
  mastodonInstance(s, legacy).version = '4.3.2';
  try {
    const upgraded = createMastodon({ http: h.http, settings }, store);
    const before = hits('POST', /\/api\/v1\/apps$/);
    const url = new URL(await upgraded.authorizationUrl!({ host: legacy, redirectUri: REDIRECT, state: 's', codeChallenge: pkcePair().challenge }));
    assert.ok(url.searchParams.get('code_challenge'), 'PKCE now');
    assert.equal(url.searchParams.get('scope'), 'read:accounts read:statuses read:notifications write:statuses write:media write:favourites', 'the registered scopes');
    const fresh = await connect('zed', legacy, upgraded);
    assert.equal(hits('POST', /\/api\/v1\/apps$/), before, 'no new registration');
    await upgraded.revoke!(old);
    await upgraded.revoke!(fresh);
    await assert.rejects(upgraded.refresh(old), isKind('auth_expired'));
  } finally {
    mastodonInstance(s, legacy).version = '3.5.3';
  }
});

test('registrations come from the given MastodonAppStore, so a new adapter reuses them', async () => {
  const saved = new Map<string, MastodonApp>();
  let puts = 0;
  const store: MastodonAppStore = { get: async (k) => saved.get(k) ?? null, put: async (k, app) => { puts++; saved.set(k, app); } };
  const first = createMastodon({ http: h.http, settings }, store);
  await connect('dora', host, first); // the store is empty: this adapter registers
  assert.equal(puts, 1);
  assert.ok(saved.get(host)?.clientSecret);
  const before = hits('POST', /\/api\/v1\/apps$/);
  const second = createMastodon({ http: h.http, settings }, store);
  const a = await connect('dora', host, second);
  assert.equal(hits('POST', /\/api\/v1\/apps$/), before, 'no new registration');
  assert.equal(puts, 1);
  await second.revoke!(a); // revocation needs the app's credentials: they came from the store
});

test('an app the instance forgot (invalid_client): registered afresh, and connecting again works', async () => {
  const { verifier, challenge } = pkcePair();
  const url = await p.authorizationUrl!({ host, redirectUri: REDIRECT, state: 's', codeChallenge: challenge });
  const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  s.apps.delete(new URL(url).searchParams.get('client_id')!); // what servers before 4.3 do to unused apps
  const before = hits('POST', /\/api\/v1\/apps$/);
  await assert.rejects(p.exchangeCode!({ host, code, redirectUri: REDIRECT, codeVerifier: verifier }), isKind('permanent', /invalid_client/));
  assert.equal(hits('POST', /\/api\/v1\/apps$/) - before, 1);
  assert.ok((await connect('alice')).tokens.accessToken);
});

test('a wrong PKCE verifier or a reused code is refused', async () => {
  const { challenge } = pkcePair();
  const url = await p.authorizationUrl!({ host, redirectUri: REDIRECT, state: 's', codeChallenge: challenge });
  const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  await assert.rejects(p.exchangeCode!({ host, code, redirectUri: REDIRECT, codeVerifier: pkcePair().verifier }), isKind('auth_expired', /invalid_grant/));
});

test('consent denied comes back on the redirect', async () => {
  s.knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p, { host });
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
  } finally {
    s.knobs.denyConsent = false;
  }
});

test('refresh only checks the token (none expire); after revocation it is auth_expired', async () => {
  const a = await connect('erin');
  assert.deepEqual(await p.refresh(a), a.tokens);
  await p.revoke!(a);
  await assert.rejects(p.refresh(a), isKind('auth_expired'));
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'after-revoke' }), isKind('auth_expired', undefined, 401));
  await p.revoke!(a); // revoking again is fine (RFC 7009)

  // A token issued to another registration cannot be revoked with this one's credentials.
  const b = await connect('erin');
  const other = createMastodon({ http: h.http, settings });
  await other.registerApp(host, REDIRECT);
  await assert.rejects(other.revoke!(b), isKind('permanent', /unauthorized_client/, 403));
  await assert.rejects(createMastodon({ http: h.http, settings }).revoke!(b), isKind('permanent', /no_app/), 'no registration at all');
});

test('publish text, an image with alt text, a video that is processed later, and a thread; metrics', async () => {
  const a = await connect('alice');
  const first = await p.publish(a, { text: `Hello fediverse https://example.com/${'x'.repeat(300)}`, media: [], marker: 'pub-1', options: { visibility: 'unlisted', language: 'en' } });
  assert.match(first.url!, new RegExp(`/@alice/${first.remoteId}$`));
  const stored = s.posts.find((x) => x.id === first.remoteId)!;
  assert.equal(stored.key, idempotencyKey('pub-1'));
  assert.equal((stored.raw as { visibility: string }).visibility, 'unlisted');

  const image = await p.publish(a, {
    text: 'a picture', marker: 'pub-2', media: [{ mimeType: 'image/png', bytes: greyPng(1, 1).length, altText: 'a red dot', read: async () => greyPng(1, 1) }],
  });
  const res = await fetch(`http://${host}/mastodon/api/v1/statuses/${image.remoteId}`, { headers: { authorization: `Bearer ${a.tokens.accessToken}` } });
  const status = await res.json() as { media_attachments: { description: string; type: string; url: string }[] };
  assert.equal(status.media_attachments[0]!.description, 'a red dot');
  assert.ok(status.media_attachments[0]!.url);

  const polls = hits('GET', /\/api\/v1\/media\//);
  mastodonInstance(s, host).processingMs = 800; // the first poll (after 500 ms) sees 206, a later one 200
  const video = await p.publish(a, { text: 'a clip', marker: 'pub-3', media: [{ mimeType: 'video/mp4', bytes: 64, read: async () => Buffer.alloc(64, 1) }] });
  assert.ok(hits('GET', /\/api\/v1\/media\//) > polls, 'the 202 upload was polled until processed');
  assert.equal(s.posts.find((x) => x.id === video.remoteId)!.media.length, 1);

  const two = await p.publish(a, { text: 'part 2', media: [], replyTo: first.remoteId, marker: 'pub-4' });
  const three = await p.publish(a, { text: 'part 3', media: [], replyTo: two.remoteId, marker: 'pub-5' });
  assert.equal(s.posts.find((x) => x.id === two.remoteId)!.replyTo, first.remoteId);
  assert.equal(s.posts.find((x) => x.id === three.remoteId)!.replyTo, two.remoteId);

  const m = await p.metrics!(a, first.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.reposts, 'number');
  assert.ok(m.collectedAt instanceof Date);
});

test('accept, then time out: the same Idempotency-Key finds the post and a retry makes no second one', async () => {
  const a = await connect('alice');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'accepted but unanswered', media: [], marker: 'hang-1' }), isKind('unknown_outcome', /timeout/));
  const found = await p.findByMarker(a, 'hang-1', since());
  assert.ok(found, 'reconciliation finds the post');
  assert.equal(s.posts.find((x) => x.id === found.remoteId)!.text, 'accepted but unanswered');
  const retried = await p.publish(a, { text: 'accepted but unanswered', media: [], marker: 'hang-1' });
  assert.equal(retried.remoteId, found.remoteId);
  assert.equal(s.posts.filter((x) => x.key === idempotencyKey('hang-1')).length, 1);

  const count = s.posts.length;
  assert.equal(await p.findByMarker(a, 'never-sent', since()), null);
  assert.equal(s.posts.length, count, 'looking up a marker creates nothing');
});

test('after the key\'s hour, own statuses decide: none since then is a safe "not found", some is undecidable', async () => {
  const twoHours = new Date(Date.now() - 2 * 3600_000);
  const quiet = await connect('quiet');
  assert.equal(await p.findByMarker(quiet, 'old-marker', twoHours), null);
  await p.publish(quiet, { text: 'now one exists', media: [], marker: 'q-1' });
  await assert.rejects(p.findByMarker(quiet, 'old-marker', twoHours), isKind('permanent', /cannot_reconcile/));
});

test('reply: a status in_reply_to_id the parent, once per marker; a timeout is settled by the key; a gone parent is refused', async () => {
  assert.ok(p.meta.inbox?.actions?.includes('reply'));
  const bob = await connect('bob');
  const alice = await connect('alice');
  const parent = await p.publish(bob, { text: 'What time do you open?', media: [], marker: 'bob-q' });
  const req = { text: '@bob 9 o\'clock', parentRemoteId: parent.remoteId, rootRemoteId: parent.remoteId, marker: 'reply-1' };
  const sent = await p.reply!(alice, req);
  const stored = s.posts.find((x) => x.id === sent.remoteId)!;
  assert.equal(stored.replyTo, parent.remoteId);
  assert.equal(stored.text, '@bob 9 o\'clock');
  assert.equal(stored.key, idempotencyKey('reply-1'));
  assert.equal((await p.reply!(alice, req)).remoteId, sent.remoteId, 'the same marker is the same reply');

  s.knobs.acceptThenHangNext = 1;
  const hung = { ...req, text: 'accepted, unanswered', marker: 'reply-2' };
  await assert.rejects(p.reply!(alice, hung), isKind('unknown_outcome'));
  const found = await p.findReply!(alice, { ...hung, since: since() });
  assert.ok(found);
  assert.equal(s.posts.filter((x) => x.key === idempotencyKey('reply-2')).length, 1);
  assert.equal(await p.findReply!(alice, { ...req, marker: 'reply-never', since: since() }), null);

  await assert.rejects(p.reply!(alice, { ...req, parentRemoteId: '999999999', marker: 'reply-3' }), isKind('permanent', undefined, 404));
});

test('error classes: 401, 403, 404, 422 (with the text), 429 with X-RateLimit-Reset, 5xx, malformed', async () => {
  const a = await connect('alice');
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: 'nope' } }, { text: 'x', media: [], marker: 'e-401' }), isKind('auth_expired', undefined, 401));

  const readOnly = s.issueToken(a.externalId, ['read']);
  await assert.rejects(p.publish({ ...a, tokens: { accessToken: readOnly.accessToken } }, { text: 'x', media: [], marker: 'e-403' }),
    (e) => isKind('permanent', /outside the authorized scopes/, 403)(e));

  await assert.rejects(p.publish(a, { text: 'reply to nothing', media: [], replyTo: '999999999', marker: 'e-404' }), isKind('permanent', /Record not found/, 404));
  await assert.rejects(p.publish(a, { text: 'y'.repeat(601), media: [], marker: 'e-422' }), isKind('permanent', /character limit of 600 exceeded/, 422));
  assert.ok(await p.publish(a, { text: 'y'.repeat(600), media: [], marker: 'e-600' }), 'exactly at the instance limit is fine');
  await assert.rejects(p.publish(a, { text: 'x', marker: 'e-422-media', media: [{ mimeType: 'image/bmp', bytes: 3, read: async () => Buffer.from('BM0') }] }),
    isKind('permanent', /content type is invalid/, 422));

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  const limited = await p.publish(a, { text: 'x', media: [], marker: 'e-429' }).catch((e: unknown) => e);
  assert.equal(kindOf(limited), 'rate_limited');
  const wait = (limited as ProviderError).details.retryAfterMs!;
  assert.ok(wait > 5000 && wait <= 7000, `retry after ${wait} ms, from the ISO 8601 X-RateLimit-Reset`);

  s.knobs.errorRate = 1;
  try {
    await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e-500' }), isKind('transient', undefined, 500));
    await assert.rejects(p.identities(a.tokens, host), isKind('transient', undefined, 500));
  } finally {
    s.knobs.errorRate = 0;
  }
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e-bad' }), isKind('unknown_outcome', /malformed/));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(a.tokens, host), isKind('transient', /malformed/));
});

test('instances on private addresses are refused before any connection', async () => {
  const metrics = createMetrics({ enabled: true });
  const guarded = new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: false, defaultTimeoutMs: 1500, maxRetries: 0 });
  try {
    const q = createMastodon({ http: guarded, settings });
    const prod = createMastodon({ http: guarded, settings: { baseUrls: {} } });
    const requests = s.log.length;
    for (const [adapter, where] of [[q, host], [prod, '127.0.0.1'], [prod, '169.254.169.254'], [prod, 'localhost'], [prod, '10.1.2.3:8443'], [prod, '[::1]']] as const) {
      await assert.rejects(adapter.authorizationUrl!({ host: where, redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }), isKind('permanent', /blocked_host/), where);
    }
    const a: AccountRef = { externalId: '1', username: 'x', tokens: { accessToken: 't' }, host: '169.254.169.254', data: {} };
    await assert.rejects(prod.publish(a, { text: 'x', media: [], marker: 'ssrf' }), isKind('permanent', /blocked_host/));
    assert.equal(s.log.length, requests, 'nothing reached the simulator');
    const blocked = (await metrics.socialApiCalls.get()).values.filter((v) => v.labels.status === 'blocked').reduce((n, v) => n + v.value, 0);
    assert.equal(blocked, 7, 'each refusal is counted as a blocked call');
  } finally {
    await guarded.close();
  }
});

test('host names are normalised; anything else is refused', async () => {
  assert.equal(normalizeMastodonHost(' https://Mastodon.Social/ '), 'mastodon.social');
  assert.equal(normalizeMastodonHost('social.example:8443'), 'social.example:8443');
  for (const bad of ['user@mastodon.social', 'mastodon.social/path', 'mastodon.social?x=1', 'bad host', '']) {
    assert.throws(() => normalizeMastodonHost(bad), isKind('permanent', /invalid_host/), bad);
  }
  await assert.rejects(p.authorizationUrl!({ host: 'evil.example/@x', redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }), isKind('permanent', /invalid_host/));
});

test('deletePost: gone afterwards, a second delete is fine, metrics then say it is gone', async () => {
  const a = await connect('alice');
  const post = await p.publish(a, { text: 'short-lived', media: [], marker: 'del-1' });
  await p.deletePost(a, post.remoteId);
  assert.ok(!s.posts.some((x) => x.id === post.remoteId));
  await p.deletePost(a, post.remoteId);
  await assert.rejects(p.metrics!(a, post.remoteId), isKind('permanent', undefined, 404));
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'mastodon');
  const publish = calls.filter((v) => v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '200'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
  assert.ok(calls.some((v) => v.labels.operation === 'app_register'));
  assert.ok(calls.some((v) => v.labels.operation === 'media_status' && v.labels.status === '206'));
});
