// The Bluesky adapter against a real local AT Protocol network: a PDS and a PLC directory from
// @atproto/dev-env (TestNetworkNoAppView), installed in this folder's own package by scripts/test.js so
// the app's install stays lean. No AppView runs here: the PDS is pointed at a closed port for it, and so
// is the adapter's `appview`, so metrics must fail as a transient error, not a crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBluesky, detectFacets, parseRemoteId, type BlueskyProvider, type Facet } from '../../src/providers/bluesky.ts';
import { ProviderError, type AccountRef, type MediaItem } from '../../src/providers/types.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { quietLogger } from '../support/env.ts';
import { createServer } from 'node:http';
import { LinkPreviewer } from '../../src/modules/link-preview/previewer.ts';

// The few parts of @atproto/dev-env used here, typed locally so that the root's typecheck and lint do
// not depend on this folder's install (CI lints before `npm test` installs it).
interface DevNetwork {
  pds: { url: string; port: number };
  plc: { url: string };
  close(): Promise<void>;
}
interface DevEnv {
  TestNetworkNoAppView: { create(params: { pds?: Record<string, unknown>; plc?: Record<string, unknown> }): Promise<DevNetwork> };
}

function loadDevEnv(): DevEnv {
  try {
    return createRequire(import.meta.url)('@atproto/dev-env') as DevEnv;
  } catch (err) {
    throw new Error(`@atproto/dev-env is not installed in test/atproto (run \`npm test\`, which installs it, or \`npm ci --prefix test/atproto\`): ${(err as Error).message}`, { cause: err });
  }
}

/** A closed local port: nothing listens on tcpmux. */
const CLOSED = 'http://127.0.0.1:1';
// A valid 1×1 PNG: the PDS sniffs uploaded blobs.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let dir: string;
let net: DevNetwork;
let http: HttpClient;
let p: BlueskyProvider;
let pdsUrl: string;
const alice = { handle: 'alice.test', password: 'alice-main-password-1', did: '', appPassword: '' };
const bob = { handle: 'bob.test', password: 'bob-main-password-1', did: '' };
let account: AccountRef;

/** Plain XRPC against the PDS, for setting up accounts and reading back what the adapter wrote. */
async function xrpc<T>(nsid: string, opts: { body?: unknown; query?: Record<string, string>; token?: string } = {}): Promise<T> {
  const u = new URL(`${pdsUrl}/xrpc/${nsid}`);
  for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v);
  const res = await fetch(u, {
    method: opts.body === undefined ? 'GET' : 'POST',
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${nsid}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

interface PostRecord {
  text: string;
  facets?: Facet[];
  embed?: { $type: string; images: { image: { $type?: string; ref: { $link: string }; mimeType: string; size: number }; alt: string; aspectRatio?: unknown }[] };
  reply?: { root: { uri: string; cid: string }; parent: { uri: string; cid: string } };
  [k: string]: unknown;
}
const getRecord = async (remoteId: string) => {
  const ref = parseRemoteId(remoteId);
  return xrpc<{ uri: string; cid: string; value: PostRecord }>('com.atproto.repo.getRecord', { query: { repo: ref.did, collection: ref.collection, rkey: ref.rkey } });
};
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
const isKind = (kind: string, reason?: RegExp) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? ''));

before(async () => {
  const { TestNetworkNoAppView } = loadDevEnv();
  dir = await mkdtemp(join(tmpdir(), 'allin-atproto-'));
  // The PDS opens its SQLite files in dataDirectory, which must exist.
  await mkdir(join(dir, 'pds'), { recursive: true });
  net = await TestNetworkNoAppView.create({
    pds: {
      dataDirectory: join(dir, 'pds'),
      blobstoreDiskLocation: join(dir, 'blobs'),
      bskyAppViewUrl: CLOSED,
    },
  });
  pdsUrl = net.pds.url;
  http = new HttpClient({ metrics: createMetrics({ enabled: true }), log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 10_000, maxRetries: 1 });
  p = createBluesky({ http, settings: { baseUrls: { service: pdsUrl, plc: net.plc.url, appview: CLOSED } } });

  for (const who of [alice, bob]) {
    const made = await xrpc<{ did: string; accessJwt: string }>('com.atproto.server.createAccount', {
      body: { handle: who.handle, email: `${who.handle.split('.')[0]}@example.com`, password: who.password },
    });
    who.did = made.did;
    if (who === alice) {
      const ap = await xrpc<{ name: string; password: string }>('com.atproto.server.createAppPassword', { token: made.accessJwt, body: { name: 'allin' } });
      alice.appPassword = ap.password;
    }
  }
});

after(async () => {
  // When the PDS failed to start, create() leaves its PLC server listening, which would hold this file
  // open until the runner's timeout: end the process once the failure has been reported.
  if (!net) setTimeout(() => process.exit(1), 2000).unref();
  await http?.close();
  await net?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('sign in with a handle and an app password; identities; refresh rotates the session', async () => {
  assert.match(alice.appPassword, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/, 'a real app password');
  assert.match(alice.did, /^did:plc:[a-z2-7]{24}$/);

  // The main password of another account does not open this one.
  await assert.rejects(p.signIn!(alice.handle, bob.password), isKind('permanent'));

  // The handle resolves through the PDS to a did:plc whose document (from the PLC) names the PDS.
  const signed = await p.signIn!(`@${alice.handle}`, alice.appPassword);
  assert.equal(signed.host, pdsUrl, 'the PDS is the configured service: signed in there');
  assert.ok(signed.tokens.accessToken && signed.tokens.refreshToken);
  assert.deepEqual(signed.tokens.scope, ['com.atproto.appPass'], 'an app-password session');
  assert.ok(signed.tokens.expiresAt && signed.tokens.expiresAt.getTime() > Date.now());
  assert.ok(signed.tokens.refreshExpiresAt && signed.tokens.refreshExpiresAt.getTime() > signed.tokens.expiresAt.getTime());

  const [me] = await p.identities(signed.tokens, signed.host);
  assert.equal(me!.externalId, alice.did);
  assert.equal(me!.username, alice.handle);
  assert.equal(me!.displayName, alice.handle, 'no profile record yet: the handle');
  assert.equal(me!.data?.pds, pdsUrl, 'the PDS from the DID document');
  account = { externalId: me!.externalId, username: me!.username, tokens: signed.tokens, host: signed.host!, data: me!.data ?? {} };

  const fresh = await p.refresh(account);
  assert.notEqual(fresh.refreshToken, signed.tokens.refreshToken, 'the refresh token rotates');
  assert.deepEqual(fresh.scope, ['com.atproto.appPass']);
  account = { ...account, tokens: fresh };
  assert.equal((await p.identities(fresh, account.host))[0]!.externalId, alice.did, 'the new access token works');
});

test('publish text with a link, a mention and a hashtag: the stored record has the right byte offsets', async () => {
  const text = `Héllo 👋 @${bob.handle} see https://example.com/a?b=1 and #AllIN ✨`;
  const post = await p.publish(account, { text, media: [], marker: 'real-text-1', options: { langs: ['en'] } });
  const ref = parseRemoteId(post.remoteId);
  assert.equal(ref.did, alice.did);
  assert.equal(ref.collection, 'app.bsky.feed.post');
  assert.equal(post.url, `https://bsky.app/profile/${alice.did}/post/${ref.rkey}`);

  const got = await getRecord(post.remoteId);
  assert.equal(got.cid, ref.cid, 'the remote id carries the stored record\'s CID');
  assert.equal(got.value.text, text);
  assert.deepEqual(got.value.langs, ['en']);
  const facets = got.value.facets!;
  assert.equal(facets.length, 3);
  const slice = (f: Facet) => Buffer.from(text, 'utf8').subarray(f.index.byteStart, f.index.byteEnd).toString('utf8');
  const [mention, link, tag] = facets;
  assert.equal(slice(mention!), `@${bob.handle}`);
  assert.deepEqual(mention!.features, [{ $type: 'app.bsky.richtext.facet#mention', did: bob.did }], 'the handle resolved to its DID by the PDS');
  assert.equal(mention!.index.byteStart, utf8('Héllo 👋 '), 'UTF-8 bytes, not UTF-16 units');
  assert.equal(slice(link!), 'https://example.com/a?b=1');
  assert.deepEqual(link!.features, [{ $type: 'app.bsky.richtext.facet#link', uri: 'https://example.com/a?b=1' }]);
  assert.equal(slice(tag!), '#AllIN');
  assert.deepEqual(tag!.features, [{ $type: 'app.bsky.richtext.facet#tag', tag: 'AllIN' }]);
  assert.deepEqual(facets.map((f) => f.index), detectFacets(text).map((f) => ({ byteStart: f.byteStart, byteEnd: f.byteEnd })));
});

test('publish with an image: uploadBlob, then the record embeds the stored blob', async () => {
  const image: MediaItem = { mimeType: 'image/png', bytes: PNG.length, width: 1, height: 1, altText: 'a dot', read: async () => PNG };
  const post = await p.publish(account, { text: 'a picture', media: [image], marker: 'real-image-1' });
  const { value } = await getRecord(post.remoteId);
  assert.equal(value.embed?.$type, 'app.bsky.embed.images');
  const [img] = value.embed!.images;
  assert.equal(img!.alt, 'a dot');
  assert.deepEqual(img!.aspectRatio, { width: 1, height: 1 });
  assert.equal(img!.image.mimeType, 'image/png');
  assert.equal(img!.image.size, PNG.length);
  assert.match(img!.image.ref.$link, /^bafkrei[a-z2-7]+$/, 'a raw-codec CID');
  // The blob the record references is the one uploaded, and the PDS kept it (it was referenced in time).
  const blob = await fetch(`${pdsUrl}/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(alice.did)}&cid=${img!.image.ref.$link}`);
  assert.equal(blob.status, 200);
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), PNG);
});

test('a link card: the PDS accepts app.bsky.embed.external with the page\'s title, description and image blob', async () => {
  const site = createServer((req, res) => {
    if (req.url === '/story') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<head><meta property="og:title" content="A story"><meta property="og:description" content="Told in full"><meta property="og:image" content="/dot.png"></head>');
    if (req.url === '/dot.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  const web = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  try {
    const withCards = createBluesky({ http, settings: { baseUrls: { service: pdsUrl, plc: net.plc.url, appview: CLOSED } }, linkCards: new LinkPreviewer({ http, log: quietLogger() }) });
    const post = await withCards.publish(account, { text: `Read ${web}/story`, media: [], marker: 'real-card-1' });
    const { value } = await getRecord(post.remoteId);
    const embed = value.embed as unknown as { $type: string; external: { uri: string; title: string; description: string; thumb: { ref: { $link: string }; mimeType: string; size: number } } };
    assert.equal(embed.$type, 'app.bsky.embed.external');
    assert.equal(embed.external.uri, `${web}/story`);
    assert.equal(embed.external.title, 'A story');
    assert.equal(embed.external.description, 'Told in full');
    assert.equal(embed.external.thumb.mimeType, 'image/png');
    const blob = await fetch(`${pdsUrl}/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(alice.did)}&cid=${embed.external.thumb.ref.$link}`);
    assert.equal(blob.status, 200, 'the thumbnail was kept: the record referenced it in time');
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), PNG);
  } finally {
    site.closeAllConnections();
    await new Promise<void>((r) => site.close(() => r()));
  }
});

test('replies: parent and root strong refs, also for a reply to a reply', async () => {
  const top = await p.publish(account, { text: 'thread start', media: [], marker: 'real-thread-0' });
  const first = await p.publish(account, { text: 'first reply', media: [], marker: 'real-thread-1', replyTo: top.remoteId });
  const second = await p.publish(account, { text: 'second reply', media: [], marker: 'real-thread-2', replyTo: first.remoteId });
  const topRef = { uri: parseRemoteId(top.remoteId).uri, cid: parseRemoteId(top.remoteId).cid };
  const firstRef = { uri: parseRemoteId(first.remoteId).uri, cid: parseRemoteId(first.remoteId).cid };
  assert.deepEqual((await getRecord(first.remoteId)).value.reply, { root: topRef, parent: topRef });
  assert.deepEqual((await getRecord(second.remoteId)).value.reply, { root: topRef, parent: firstRef }, 'the root is the parent\'s root');

  const gone = `at://${alice.did}/app.bsky.feed.post/3zzzzzzzzzzzz|${topRef.cid}`;
  await assert.rejects(p.publish(account, { text: 'to nothing', media: [], marker: 'real-thread-x', replyTo: gone }), isKind('permanent', /reply_target_missing/));
});

test('findByMarker finds a published post through listRecords; an unused marker finds nothing', async () => {
  const since = new Date(Date.now() - 60_000);
  const post = await p.publish(account, { text: 'find me later', media: [], marker: 'real-marker-42' });
  await p.publish(account, { text: 'a later post', media: [], marker: 'real-marker-43' });
  const found = await p.findByMarker!(account, 'real-marker-42', since);
  assert.deepEqual(found, post);
  assert.equal(await p.findByMarker!(account, 'real-marker-never', since), null);
});

test('metrics need an AppView, which this network lacks: a transient error, not a crash', async () => {
  const post = await p.publish(account, { text: 'count me', media: [], marker: 'real-metrics-1' });
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('transient', /^connect$/));
});

test('deletePost removes the record; deleting again is fine', async () => {
  const post = await p.publish(account, { text: 'short-lived', media: [], marker: 'real-delete-1' });
  await p.deletePost(account, post.remoteId);
  await assert.rejects(getRecord(post.remoteId), /RecordNotFound|HTTP 400/);
  await p.deletePost(account, post.remoteId);
});

test('revoke ends the session: its refresh token no longer works; revoking again is fine', async () => {
  const signed = await p.signIn!(alice.handle, alice.appPassword);
  const a: AccountRef = { ...account, tokens: signed.tokens };
  await p.revoke!(a);
  await assert.rejects(p.refresh(a), (e: unknown) => e instanceof ProviderError && e.kind === 'auth_expired');
  await p.revoke!(a);
  // The other session (from the first test) is untouched.
  assert.equal((await p.identities(account.tokens, account.host))[0]!.externalId, alice.did);
});
