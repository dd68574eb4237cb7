// The Bluesky adapter against the simulator: an entryway with its PDS, a self-hosted PDS on another
// host, a PLC directory and an AppView (see tools/provider-sim/networks/bluesky.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createBluesky, detectFacets, markerHash, MARKER_FIELD, parseRemoteId, tidTime, type BlueskyProvider, type Facet } from '../../src/providers/bluesky.ts';
import { ProviderError, type AccountRef, type MediaItem } from '../../src/providers/types.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { blueskyAccount, type SimBlueskyAccount } from '../../tools/provider-sim/networks/bluesky.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';
import { quietLogger } from '../support/env.ts';
import { createServer } from 'node:http';
import { LinkPreviewer } from '../../src/modules/link-preview/previewer.ts';

let h: Harness;
let p: BlueskyProvider;
let s: NetworkState;
let base: string;
let alice: SimBlueskyAccount;
let bob: SimBlueskyAccount;
const PASSWORD = 'abcd-efgh-ijkl-mnop';

const settingsFor = (b: string) => ({ baseUrls: { service: b, plc: `${b}/plc`, appview: `${b}/appview` } });

before(async () => {
  h = await harness();
  s = h.sim.state('bluesky');
  base = h.sim.base('bluesky');
  p = createBluesky({ http: h.http, settings: settingsFor(base) });
  alice = blueskyAccount(s, { handle: 'alice.bsky.test', password: PASSWORD, displayName: 'Alice' });
  bob = blueskyAccount(s, { handle: 'bob.selfhosted.test', password: PASSWORD, home: 'selfhosted' });
});
after(() => h.stop());

const isKind = (kind: string, reason?: RegExp, status?: number) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? '')) && (status === undefined || e.details.status === status);
const hits = (method: string, path: RegExp) => s.log.filter((l) => l.method === method && path.test(l.path)).length;
const since = () => new Date(Date.now() - 60_000);
const image = (bytes = greyPng(1, 1), extra: Partial<MediaItem> = {}): MediaItem => ({ mimeType: 'image/png', bytes: bytes.length, read: async () => bytes, ...extra });
/** The record of a post, named as publishing names it (at-uri|cid) or as the inbox does (its at-uri). */
const recordOf = (remoteId: string) => (s.posts.find((x) => x.id === remoteId.split('|')[0])!.raw as { record: Record<string, unknown> }).record;

const connect = async (handle = alice.handle, host?: string): Promise<AccountRef> => {
  const signed = await p.signIn!(handle, PASSWORD, host);
  const [id] = await p.identities(signed.tokens, signed.host);
  return { externalId: id!.externalId, username: id!.username, tokens: signed.tokens, ...(signed.host ? { host: signed.host } : {}), data: id!.data ?? {} };
};

test('sign in at the entryway with an app password; the PDS comes from the DID document', async () => {
  const entryway = hits('POST', /^\/bluesky\/xrpc\/com\.atproto\.server\.createSession$/);
  const signed = await p.signIn!('@alice.bsky.test', PASSWORD);
  assert.equal(signed.host, base, 'a Bluesky-hosted account signs in at the configured service');
  assert.equal(hits('POST', /^\/bluesky\/xrpc\/com\.atproto\.server\.createSession$/) - entryway, 1);
  const t = signed.tokens;
  assert.ok(t.accessToken && t.refreshToken);
  assert.ok(Math.abs(t.expiresAt!.getTime() - (Date.now() + 7200_000)) < 5000, 'access JWT lifetime read from its exp');
  assert.ok(t.refreshExpiresAt!.getTime() > Date.now() + 80 * 86400_000);
  assert.deepEqual(t.scope, ['com.atproto.appPass']);

  const [me] = await p.identities(t, signed.host);
  assert.equal(me!.externalId, alice.did);
  assert.equal(me!.username, 'alice.bsky.test');
  assert.equal(me!.displayName, 'Alice', 'from the app.bsky.actor.profile record');
  assert.equal(me!.profileUrl, `https://bsky.app/profile/${alice.did}`);
  assert.deepEqual(me!.data, { did: alice.did, handle: alice.handle, pds: `${base}/pds`, service: base });
});

test('a self-hosted account signs in at its own PDS, found through handle → DID → DID document', async () => {
  const entryway = hits('POST', /^\/bluesky\/xrpc\/com\.atproto\.server\.createSession$/);
  const a = await connect(bob.handle);
  const pds = `http://localhost:${new URL(base).port}/bluesky/selfhosted`;
  assert.equal(a.host, pds);
  assert.equal(hits('POST', /^\/bluesky\/xrpc\/com\.atproto\.server\.createSession$/), entryway, 'the password never went to the entryway');
  assert.ok(hits('GET', /^\/bluesky\/plc\/did%3Aplc%3A|^\/bluesky\/plc\/did:plc:/) > 0, 'the DID document was read');
  assert.equal(a.data.pds, pds);
  assert.equal(a.username, bob.handle);
  assert.equal((await p.identities(a.tokens, a.host))[0]!.displayName, bob.handle, 'no profile record: the handle');
  const post = await p.publish(a, { text: 'from my own server', media: [], marker: 'self-1' });
  assert.ok(s.posts.some((x) => x.id === parseRemoteId(post.remoteId).uri && x.userId === bob.did));
});

test('sign-in refusals are permanent; a named server is used as given', async () => {
  await assert.rejects(p.signIn!(alice.handle, 'wrong-pass-word-0000'), isKind('permanent', /AuthenticationRequired/, 401));
  await assert.rejects(p.signIn!(bob.handle, PASSWORD, base), isKind('permanent', /AuthenticationRequired/, 401), 'the entryway does not host bob');
  const signed = await p.signIn!(alice.did, PASSWORD, `${base}/pds`);
  assert.equal(signed.host, `${base}/pds`);
  const byEmail = await p.signIn!(alice.email, PASSWORD);
  assert.equal(byEmail.host, base, 'an e-mail address cannot be resolved: the configured service');
});

test('refresh rotates the refresh JWT (the old one keeps a grace period); revoke ends the session', async () => {
  const a = await connect();
  const next = await p.refresh(a);
  assert.notEqual(next.refreshToken, a.tokens.refreshToken);
  assert.notEqual(next.accessToken, a.tokens.accessToken);
  const again = await p.refresh(a); // a worker that crashed before saving retries with the old token
  assert.equal(again.refreshToken, next.refreshToken, 'within the grace period: the same successor');
  const b = { ...a, tokens: next };
  await p.revoke!(b);
  await assert.rejects(p.refresh(b), isKind('auth_expired', /InvalidToken/));
  await assert.rejects(p.refresh(a), isKind('auth_expired'), 'the grace successor is gone too');
  await p.revoke!(b); // already over: nothing to do
  await assert.rejects(p.refresh({ ...a, tokens: { accessToken: a.tokens.accessToken } }), isKind('auth_expired', /no_refresh_token/));
});

test('facets: links, mentions (resolved to DIDs) and hashtags with UTF-8 byte offsets around emoji and non-ASCII text', async () => {
  const a = await connect();
  const text = '🦋 Grüße @alice.bsky.test! Voir https://example.com/ä?q=1. (und bsky.app) #café #123 @nobody.invalid.example 日本 #日本語';
  const post = await p.publish(a, { text, media: [], marker: 'facets-1', options: { langs: ['de', 'fr'] } });
  const r = recordOf(post.remoteId);
  const bytes = Buffer.from(text, 'utf8');
  const facets = r.facets as Facet[];
  const shown = facets.map((f) => [bytes.subarray(f.index.byteStart, f.index.byteEnd).toString('utf8'), f.features[0]]);
  assert.deepEqual(shown, [
    ['@alice.bsky.test', { $type: 'app.bsky.richtext.facet#mention', did: alice.did }],
    ['https://example.com/ä?q=1', { $type: 'app.bsky.richtext.facet#link', uri: 'https://example.com/ä?q=1' }],
    ['bsky.app', { $type: 'app.bsky.richtext.facet#link', uri: 'https://bsky.app' }],
    ['#café', { $type: 'app.bsky.richtext.facet#tag', tag: 'café' }],
    ['#日本語', { $type: 'app.bsky.richtext.facet#tag', tag: '日本語' }],
  ], 'the unresolvable handle and the all-digit tag get no facet');
  // 🦋 is 4 bytes (2 UTF-16 units), "Grüße" 7 bytes (5 units): the mention starts at byte 13, UTF-16 index 9.
  assert.equal(facets[0]!.index.byteStart, 13);
  assert.equal(text.indexOf('@alice'), 9);
  assert.deepEqual(r.langs, ['de', 'fr']);
  assert.equal(r.$type, 'app.bsky.feed.post');
  assert.ok(!Number.isNaN(Date.parse(r.createdAt as string)));
  assert.equal(r[MARKER_FIELD], markerHash('facets-1'));
});

test('facet detection rules', () => {
  const at = (text: string) => detectFacets(text).map((f) => [Buffer.from(text).subarray(f.byteStart, f.byteEnd).toString(), f.kind, f.value]);
  assert.deepEqual(at('(see https://en.wikipedia.org/wiki/Foo_(bar))'), [['https://en.wikipedia.org/wiki/Foo_(bar)', 'link', 'https://en.wikipedia.org/wiki/Foo_(bar)']]);
  assert.deepEqual(at('ends here https://a.com/x?!'), [['https://a.com/x', 'link', 'https://a.com/x']]);
  assert.deepEqual(at('https://a.com/#frag is not a tag, nor is a#b'), [['https://a.com/#frag', 'link', 'https://a.com/#frag']]);
  assert.deepEqual(at('mail me@example.com'), [], 'neither a mention nor a link after "@"');
  assert.deepEqual(at('hi @bob.example.org.'), [['@bob.example.org', 'mention', 'bob.example.org']]);
  assert.deepEqual(at('#️⃣ #a\u200Db ＃wide'), [['#a', 'tag', 'a'], ['＃wide', 'tag', 'wide']]);
  assert.deepEqual(at(`#${'x'.repeat(65)}`), [], 'a tag is at most 64 graphemes');
  assert.equal(tidTime('3jzfcijpj2z2a'), 1688137381887);
  assert.equal(tidTime('not-a-tid'), null);
});

test('the 300-grapheme limit: exactly 300 is published, 301 is refused before any request (and by the PDS)', async () => {
  const a = await connect();
  const at300 = '😀'.repeat(150) + 'e\u0301'.repeat(150); // 600 UTF-16 units, 1,050 bytes
  const ok = await p.publish(a, { text: at300, media: [], marker: 'limit-300' });
  assert.equal(recordOf(ok.remoteId).text, at300);
  const requests = s.log.length;
  await assert.rejects(p.publish(a, { text: `${at300}!`, media: [], marker: 'limit-301' }), isKind('permanent', /text_too_long/));
  await assert.rejects(p.publish(a, { text: '👨‍👩‍👧'.repeat(167), media: [], marker: 'limit-bytes' }), isKind('permanent', /text_too_long/));
  assert.equal(s.log.length, requests, 'refused without a request');
  // The simulated PDS applies the lexicon itself.
  const res = await fetch(`${base}/pds/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${a.tokens.accessToken}` },
    body: JSON.stringify({ repo: alice.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', text: `${at300}!`, createdAt: new Date().toISOString() } }),
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: 'InvalidRequest', message: 'Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes' });
});

test('images: uploadBlob, then app.bsky.embed.images with alt text and aspect ratio; limits checked first', async () => {
  const a = await connect();
  const post = await p.publish(a, {
    text: '', marker: 'img-1',
    media: [image(greyPng(1, 1), { altText: 'a red dot', width: 1200, height: 800 }), image(Buffer.concat([greyPng(1, 1), Buffer.from([1])]))],
  });
  const embed = recordOf(post.remoteId).embed as { $type: string; images: { image: { $type: string; ref: { $link: string }; mimeType: string; size: number }; alt: string; aspectRatio?: unknown }[] };
  assert.equal(embed.$type, 'app.bsky.embed.images');
  assert.equal(embed.images.length, 2);
  assert.equal(embed.images[0]!.alt, 'a red dot');
  assert.deepEqual(embed.images[0]!.aspectRatio, { width: 1200, height: 800 });
  assert.equal(embed.images[1]!.alt, '', 'alt is required, empty when none was given');
  assert.equal(embed.images[1]!.aspectRatio, undefined, 'omitted rather than guessed');
  assert.equal(embed.images[0]!.image.mimeType, 'image/png');
  assert.ok(s.media.has(embed.images[0]!.image.ref.$link), 'the blob the PDS stored');

  const requests = s.log.length;
  await assert.rejects(p.publish(a, { text: 'big', marker: 'img-2', media: [image(Buffer.alloc(1_000_001))] }), isKind('permanent', /media_too_large/));
  await assert.rejects(p.publish(a, { text: 'clip', marker: 'img-3', media: [{ mimeType: 'video/mp4', bytes: 10, read: async () => Buffer.alloc(10) }] }), isKind('permanent', /unsupported_media/));
  await assert.rejects(p.publish(a, { text: 'five', marker: 'img-4', media: [image(), image(), image(), image(), image()] }), isKind('permanent', /too_many_media/));
  assert.equal(s.log.length, requests);
});

test('link cards: the first link of a post without images becomes app.bsky.embed.external, with its image as a blob', async () => {
  let pages = 0;
  const site = createServer((req, res) => {
    pages++;
    if (req.url === '/article') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<head><meta property="og:title" content="An article"><meta property="og:description" content="What it says"><meta property="og:image" content="/cover.png"></head>');
    if (req.url === '/cover.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(greyPng(1, 1));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  const web = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  const log = quietLogger();
  const withCards = createBluesky({ http: h.http, settings: settingsFor(base), linkCards: new LinkPreviewer({ http: h.http, log }) });
  try {
    const a = await connect();
    const post = await withCards.publish(a, { text: `New post: ${web}/article and ${web}/other`, marker: 'card-1', media: [] });
    const embed = recordOf(post.remoteId).embed as { $type: string; external: { uri: string; title: string; description: string; thumb: { $type: string; ref: { $link: string }; mimeType: string } } };
    assert.equal(embed.$type, 'app.bsky.embed.external');
    assert.deepEqual({ ...embed.external, thumb: undefined }, { uri: `${web}/article`, title: 'An article', description: 'What it says', thumb: undefined });
    assert.equal(embed.external.thumb.mimeType, 'image/png');
    assert.equal(s.media.get(embed.external.thumb.ref.$link)?.bytes, greyPng(1, 1).length, 'the thumbnail the PDS stored');
    assert.equal(pages, 2, 'the first link only: its page and its image');

    pages = 0;
    const withImage = await withCards.publish(a, { text: `Photo and ${web}/article`, marker: 'card-2', media: [image()] });
    assert.equal((recordOf(withImage.remoteId).embed as { $type: string }).$type, 'app.bsky.embed.images', 'one embed per post: the images win');
    const optedOut = await withCards.publish(a, { text: `No card: ${web}/article`, marker: 'card-3', media: [], options: { linkCard: false } });
    assert.equal(recordOf(optedOut.remoteId).embed, undefined);
    assert.equal(pages, 0, 'no page fetched for either');

    const missing = await withCards.publish(a, { text: `Gone: ${web}/missing`, marker: 'card-4', media: [] });
    assert.equal(recordOf(missing.remoteId).embed, undefined, 'a page that cannot be read: the post goes out without a card');
    assert.ok((recordOf(missing.remoteId).facets as unknown[]).length === 1, 'the link is still a link');
  } finally {
    site.closeAllConnections();
    await new Promise<void>((r) => site.close(() => r()));
  }
});

test('a thread: each reply names the thread root and its parent by uri and cid', async () => {
  const a = await connect();
  const one = await p.publish(a, { text: 'thread 1/3', media: [], marker: 'th-1' });
  const two = await p.publish(a, { text: 'thread 2/3', media: [], marker: 'th-2', replyTo: one.remoteId });
  const three = await p.publish(a, { text: 'thread 3/3', media: [], marker: 'th-3', replyTo: two.remoteId });
  const ref = (id: string) => ({ uri: parseRemoteId(id).uri, cid: parseRemoteId(id).cid });
  assert.deepEqual(recordOf(two.remoteId).reply, { root: ref(one.remoteId), parent: ref(one.remoteId) });
  assert.deepEqual(recordOf(three.remoteId).reply, { root: ref(one.remoteId), parent: ref(two.remoteId) });
  assert.match(three.url!, new RegExp(`^https://bsky\\.app/profile/${alice.did}/post/${parseRemoteId(three.remoteId).rkey}$`));
  const gone = `at://${alice.did}/app.bsky.feed.post/3zzzzzzzzzzzz|bafyreinothere`;
  await assert.rejects(p.publish(a, { text: 'orphan', media: [], marker: 'th-4', replyTo: gone }), isKind('permanent', /reply_target_missing/));
});

test('reply: under a comment, the root from the comment\'s own record; a timeout is settled by the marker', async () => {
  assert.ok(p.meta.inbox?.actions?.includes('reply'));
  const a = await connect();
  const root = await p.publish(a, { text: 'the post', media: [], marker: 'rp-1' });
  const comment = await p.publish(a, { text: 'a comment', media: [], marker: 'rp-2', replyTo: root.remoteId });
  const answer = await p.reply!(a, { text: 'an answer', parentRemoteId: comment.remoteId, rootRemoteId: root.remoteId, marker: 'rp-3' });
  const ref = (id: string) => ({ uri: parseRemoteId(id).uri, cid: parseRemoteId(id).cid });
  assert.deepEqual(recordOf(answer.remoteId).reply, { root: ref(root.remoteId), parent: ref(comment.remoteId) });

  s.knobs.acceptThenHangNext = 1;
  const hung = { text: 'accepted, unanswered', parentRemoteId: comment.remoteId, rootRemoteId: root.remoteId, marker: 'rp-4' };
  await assert.rejects(p.reply!(a, hung), isKind('unknown_outcome'));
  const found = await p.findReply!(a, { ...hung, since: since() });
  assert.ok(found);
  assert.equal(recordOf(found.remoteId).text, 'accepted, unanswered');
  assert.equal(await p.findReply!(a, { ...hung, marker: 'rp-never', since: since() }), null);
});

test('accept, then time out: listRecords finds the post by its marker; a 5xx before storing finds nothing', async () => {
  const a = await connect();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'accepted but unanswered', media: [], marker: 'hang-1' }), isKind('unknown_outcome', /timeout/));
  const found = await p.findByMarker(a, 'hang-1', since());
  assert.ok(found);
  assert.equal(recordOf(found.remoteId).text, 'accepted but unanswered');
  assert.equal(s.posts.filter((x) => x.key === markerHash('hang-1')).length, 1);

  s.knobs.errorRate = 1;
  try {
    await assert.rejects(p.publish(a, { text: 'maybe', media: [], marker: 'e-500' }), isKind('unknown_outcome', undefined, 500));
  } finally {
    s.knobs.errorRate = 0;
  }
  assert.equal(await p.findByMarker(a, 'e-500', since()), null, 'nothing was stored: safe to publish again');
});

test('metrics from the AppView; deletion (idempotent); a deleted post has no metrics', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'count me', media: [], marker: 'met-1' });
  await p.publish(a, { text: 'a reply', media: [], marker: 'met-2', replyTo: post.remoteId });
  const m = await p.metrics!(a, post.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.reposts, 'number');
  await p.deletePost(a, post.remoteId);
  assert.ok(!s.posts.some((x) => x.id === parseRemoteId(post.remoteId).uri));
  await p.deletePost(a, post.remoteId);
  await assert.rejects(p.metrics!(a, post.remoteId), isKind('permanent', /deleted/));
});

test('error classes: ExpiredToken and InvalidToken, 400 InvalidRequest, 429 with RateLimit-Reset, 5xx, malformed answers', async () => {
  s.knobs.accessTokenTtlSeconds = -60;
  let expired: AccountRef;
  try {
    const signed = await p.signIn!(alice.handle, PASSWORD);
    expired = { externalId: alice.did, username: alice.handle, tokens: signed.tokens, host: signed.host, data: { pds: `${base}/pds` } };
  } finally {
    s.knobs.accessTokenTtlSeconds = 7200;
  }
  await assert.rejects(p.publish(expired, { text: 'x', media: [], marker: 'e-exp' }), isKind('auth_expired', /ExpiredToken/, 400));
  const fresh = await p.refresh(expired);
  assert.ok(await p.publish({ ...expired, tokens: fresh }, { text: 'after refresh', media: [], marker: 'e-exp-2' }));
  await assert.rejects(p.publish({ ...expired, tokens: { accessToken: 'garbage' } }, { text: 'x', media: [], marker: 'e-inv' }), isKind('auth_expired', /InvalidToken/, 400));

  const a = await connect();
  await assert.rejects(p.publish({ ...a, externalId: bob.did }, { text: 'into someone else\'s repo', media: [], marker: 'e-400' }),
    isKind('permanent', /InvalidRequest: Invalid repo/, 400), 'a 400 InvalidRequest is permanent, with the server\'s message');
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  const limited = await p.publish(a, { text: 'x', media: [], marker: 'e-429' }).catch((e: unknown) => e);
  assert.ok(isKind('rate_limited', /RateLimitExceeded/, 429)(limited));
  const wait = (limited as ProviderError).details.retryAfterMs!;
  assert.ok(wait > 5000 && wait <= 8000, `retry after ${wait} ms, from RateLimit-Reset (epoch seconds)`);

  s.knobs.errorRate = 1;
  try {
    await assert.rejects(p.identities(a.tokens, a.host), isKind('transient', undefined, 500));
    await assert.rejects(p.signIn!(alice.handle, PASSWORD), isKind('transient', undefined, 500));
  } finally {
    s.knobs.errorRate = 0;
  }
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: 'e-bad' }), isKind('unknown_outcome', /malformed/));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.signIn!(alice.handle, PASSWORD), isKind('transient', /malformed/));
});

test('servers on private addresses are refused; user-typed servers must use https', async () => {
  const metrics = createMetrics({ enabled: true });
  const guarded = new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: false, defaultTimeoutMs: 1500, maxRetries: 0 });
  try {
    // The configured service (the simulator, on loopback) is trusted configuration; what users and
    // DID documents name is not.
    const q = createBluesky({ http: guarded, settings: settingsFor(base) });
    blueskyAccount(s, { handle: 'mallory.evil.test', password: PASSWORD, home: 'http://169.254.169.254' });
    for (const where of ['127.0.0.1', '169.254.169.254', 'https://10.0.0.8', 'localhost:2583']) {
      await assert.rejects(q.signIn!(alice.handle, PASSWORD, where), isKind('permanent', /blocked_host/), where);
    }
    await assert.rejects(q.signIn!('mallory.evil.test', PASSWORD), isKind('permanent', /blocked_host/), 'a DID document naming a private PDS');
    const prod = createBluesky({ http: guarded, settings: { baseUrls: {} } });
    await assert.rejects(prod.signIn!(alice.handle, PASSWORD, 'http://pds.example.com'), isKind('permanent', /invalid_host/), 'plain http is refused');
    await assert.rejects(prod.signIn!(alice.handle, PASSWORD, 'https://user:pw@pds.example.com'), isKind('permanent', /invalid_host/));
  } finally {
    await guarded.close();
  }
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'bluesky');
  const publish = calls.filter((v) => v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '200'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
  assert.ok(calls.some((v) => v.labels.operation === 'media_upload' && v.labels.status === '200'));
});
