// The Nostr adapter against the simulator's relays and Blossom server (tools/provider-sim/networks/nostr.ts),
// with real event signing and verification (nostr-tools) on both sides: connecting a key and its relays,
// notes with hashtags, a content warning, media (Blossom upload and NIP-92 imeta), NIP-10 replies, every
// refusal class, exactly once after "accept, then time out" (the same signed event is sent again, never a
// new one), metrics from reactions, reposts and replies, the guard on relay hosts, the message cap, and the
// secret key kept out of errors, logs and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type Event } from 'nostr-tools/pure';
import { nsecEncode, npubEncode, decode } from 'nostr-tools/nip19';
import { bytesToHex } from 'nostr-tools/utils';
import { harness, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { capturingLogger, quietLogger } from '../support/env.ts';
import { createNostr } from '../../src/providers/nostr.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider } from '../../src/providers/types.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import { redactSecrets } from '../../src/providers/http.ts';
import { HttpClient, ResponseTooLargeError, TransportError } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { nostrEvents, nostrStore, refuseAt, type SimNostrEvent } from '../../tools/provider-sim/networks/nostr.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let r1: string;
let r2: string;
let blossom: string;
const sk = generateSecretKey();
const pk = getPublicKey(sk);
const nsec = nsecEncode(sk);

before(async () => {
  h = await harness();
  s = h.sim.state('nostr');
  const ws = h.sim.url.replace(/^http/, 'ws');
  r1 = `${ws}/nostr/relay/one`;
  r2 = `${ws}/nostr/relay/two`;
  blossom = `${h.sim.url}/nostr/blossom`;
  journal = new MemorySendJournal();
  p = createNostr({ http: h.http, settings: { baseUrls: {}, allowPlainSchemes: true }, journal });
});
after(() => h.stop());

const isKind = (kind: string, reason?: RegExp) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? ''));
const relayName = (url: string) => url.slice(url.lastIndexOf('/') + 1);
const onRelays = (id: string) => ((s.posts.find((x) => x.id === id)?.raw as SimNostrEvent | undefined)?.relays ?? []).sort();
const eventOf = (id: string) => (s.posts.find((x) => x.id === id)!.raw as SimNostrEvent).event;
const png = (extra: Partial<MediaItem> = {}): MediaItem => {
  const b = greyPng(3, 2);
  return { mimeType: 'image/png', bytes: b.length, width: 3, height: 2, read: async () => b, ...extra };
};
let markers = 0;
const marker = () => `m-${++markers}`;
const quiet = () => { s.knobs.rateLimitNext = 0; s.knobs.errorRate = 0; s.knobs.malformedNext = 0; s.knobs.acceptThenHangNext = 0; refuseAt(s, 'one', null); refuseAt(s, 'two', null); };

const connect = async (identifier = `${r1} ${r2} ${blossom}`, provider: Provider = p): Promise<AccountRef> => {
  const signed = await provider.signIn!(identifier, nsec);
  const id = signed.identities![0]!;
  return { externalId: id.externalId, username: id.username, tokens: signed.tokens, data: id.data ?? {} };
};

test('connect with an nsec (or hex) key and the relays: every relay asked for the profile, the key kept as the secret', async () => {
  nostrStore(s, finalizeEvent({ kind: 0, created_at: 1_700_000_000, tags: [], content: JSON.stringify({ name: 'ada', display_name: 'Ada L.', picture: 'https://img.example/ada.png' }) }, sk), ['two']);
  const before = s.log.length;
  const signed = await p.signIn!(` ${r1}, ${r2}/ ${blossom} `, nsec);
  assert.equal(s.log.length - before, 2, 'one REQ per relay');
  assert.deepEqual(signed.tokens, { accessToken: bytesToHex(sk) }, 'the key is the token, nothing else');
  assert.deepEqual(signed.identities, [{
    externalId: pk, kind: 'person', username: 'ada', displayName: 'Ada L.', avatarUrl: 'https://img.example/ada.png', profileUrl: `nostr:${npubEncode(pk)}`,
    data: { relays: [r1, r2], npub: npubEncode(pk), mediaServer: blossom },
  }]);
  assert.equal((await p.signIn!(r1, bytesToHex(sk))).identities![0]!.externalId, pk, 'a hex key works too');
  assert.equal(p.meta.connect, 'secret_key');
  await assert.rejects(p.signIn!(r1, npubEncode(pk)), isKind('auth_expired', /public_key_given/));
  await assert.rejects(p.signIn!(r1, 'nsec1notakey'), isKind('auth_expired', /bad_secret_key/));
  await assert.rejects(p.signIn!('', nsec), isKind('permanent', /no_relays/));
  await assert.rejects(p.signIn!('https://relay.example', nsec), isKind('permanent', /no_relays/), 'a media server alone is no relay');
  await assert.rejects(p.signIn!('wss://user:pw@relay.example', nsec), isKind('permanent', /bad_relay/));
  // A relay that refuses to answer names itself.
  refuseAt(s, 'two', 'restricted: members only');
  await assert.rejects(p.signIn!(`${r1} ${r2}`, nsec), (e: unknown) => e instanceof ProviderError && e.message.includes(r2) && /members only/.test(e.message));
  quiet();
  // Without the development setting, only wss:// and https:// are taken.
  const strict = createNostr({ http: h.http, settings: { baseUrls: {} } });
  await assert.rejects(strict.signIn!(r1, nsec), isKind('permanent', /bad_relay/));
  await assert.rejects(p.refresh({ externalId: pk, username: 'ada', tokens: { accessToken: 'zz' }, data: {} }), isKind('auth_expired'));
});

test('a note: kind 1 signed by the key, on every relay, hashtags as t tags, a content warning; the event id is the remote id', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'Hello #Nostr and #AllIN', media: [], marker: marker(), options: { contentWarning: 'spoilers' } });
  const e = eventOf(post.remoteId);
  assert.ok(verifyEvent({ ...e }), 'a valid signature');
  assert.equal(e.pubkey, pk);
  assert.equal(e.kind, 1);
  assert.equal(e.content, 'Hello #Nostr and #AllIN');
  assert.deepEqual(e.tags, [['t', 'nostr'], ['t', 'allin'], ['content-warning', 'spoilers']]);
  assert.deepEqual(onRelays(post.remoteId), ['one', 'two']);
  const link = decode(post.url!.replace(/^nostr:/, ''));
  assert.equal(link.type, 'nevent');
  assert.equal((link.data as { id: string }).id, post.remoteId);
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: { sensitive: true } }), isKind('permanent', /bad_option/));
  await assert.rejects(p.publish(a, { text: 'x'.repeat(8001), media: [], marker: marker() }), isKind('permanent', /refused_before_sending/));
  await assert.rejects(p.publish(a, { text: '  ', media: [], marker: marker() }), isKind('permanent'));
});

test('media: uploaded to the Blossom server with a signed kind 24242 event, linked in the text and described by imeta', async () => {
  const a = await connect();
  const img = png({ altText: 'a grey square' });
  const post = await p.publish(a, { text: 'look', media: [img], marker: marker() });
  const e = eventOf(post.remoteId);
  const sha = [...s.media.keys()].at(-1)!;
  const url = `${blossom}/${sha}`;
  assert.equal(e.content, `look\n${url}`);
  assert.deepEqual(e.tags.find((t) => t[0] === 'imeta'), ['imeta', `url ${url}`, 'm image/png', `x ${sha}`, `size ${img.bytes}`, 'dim 3x2', 'alt a grey square']);
  const served = await fetch(url);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), await img.read(), 'the link serves the file');
  // No media server, no media.
  const bare = await connect(`${r1}`);
  const before = s.log.length;
  await assert.rejects(p.publish(bare, { text: 'pic', media: [png()], marker: marker() }), isKind('permanent', /refused_before_sending/));
  assert.equal(s.log.length, before, 'refused before any call');
  await assert.rejects(p.publish(a, { text: 'pdf', media: [{ ...png(), mimeType: 'application/pdf' }], marker: marker() }), isKind('permanent'));
});

test('a thread: each part replies to the one before with NIP-10 root and reply tags and the thread\'s people', async () => {
  const a = await connect();
  const first = await p.publish(a, { text: 'part 1', media: [], marker: marker() });
  const second = await p.publish(a, { text: 'part 2', media: [], marker: marker(), replyTo: first.remoteId });
  const third = await p.publish(a, { text: 'part 3', media: [], marker: marker(), replyTo: second.remoteId });
  assert.deepEqual(eventOf(second.remoteId).tags, [['e', first.remoteId, r1, 'root', pk], ['p', pk]]);
  assert.deepEqual(eventOf(third.remoteId).tags, [['e', first.remoteId, r1, 'root', pk], ['e', second.remoteId, r1, 'reply', pk], ['p', pk]]);
  await assert.rejects(p.publish(a, { text: 'orphan', media: [], marker: marker(), replyTo: 'f'.repeat(64) }), isKind('permanent', /parent_not_found/));
  await assert.rejects(p.publish(a, { text: 'bad', media: [], marker: marker(), replyTo: 'nope' }), isKind('permanent'));
});

test('refusals: one relay taking the note is enough; rate-limited, error:, blocked: and a malformed answer each map to their kind', async () => {
  const a = await connect();
  refuseAt(s, 'two', 'blocked: not on the allow list');
  const partly = await p.publish(a, { text: 'one relay will do', media: [], marker: marker() });
  assert.deepEqual(onRelays(partly.remoteId), ['one']);
  refuseAt(s, 'one', 'blocked: spam');
  await assert.rejects(p.publish(a, { text: 'nowhere', media: [], marker: marker() }), (e: unknown) => isKind('permanent')(e) && /one.*spam/.test((e as Error).message) && /two.*allow list/.test((e as Error).message));
  quiet();
  s.knobs.rateLimitNext = 2;
  await assert.rejects(p.publish(a, { text: 'slow down', media: [], marker: marker() }), isKind('rate_limited', /rate-limited/));
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'broken', media: [], marker: marker() }), isKind('transient', /error:/));
  quiet();
  s.knobs.malformedNext = 2;
  await assert.rejects(p.publish(a, { text: 'garbled', media: [], marker: marker() }), isKind('unknown_outcome'));
  quiet();
  // Nothing listens on port 9: nothing was sent.
  const dead = { ...a, data: { ...a.data, relays: ['ws://127.0.0.1:9'] } };
  await assert.rejects(p.publish(dead, { text: 'no relay', media: [], marker: marker() }), isKind('transient'));
  // The media server's refusals.
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: 'pic', media: [png()], marker: marker() }), (e: unknown) => isKind('rate_limited')(e) && (e as ProviderError).details.retryAfterMs === 2000);
  quiet();
});

test('exactly once: accepted then no answer is unknown; the relays show the event id; a retry sends the same event, never a second note', async () => {
  const a = await connect();
  const m = marker();
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 2;
  await assert.rejects(p.publish(a, { text: 'did it go?', media: [], marker: m }), isKind('unknown_outcome'));
  assert.equal(s.posts.length, count + 1, 'the note exists');
  const found = await p.findByMarker(a, m, new Date(Date.now() - 60_000));
  assert.equal(found?.remoteId, s.posts.at(-1)!.id);
  const restarted = createNostr({ http: h.http, settings: { baseUrls: {}, allowPlainSchemes: true }, journal });
  assert.equal((await restarted.findByMarker(a, m, new Date()))?.remoteId, found!.remoteId, 'the journal outlives the process');
  const again = await restarted.publish(a, { text: 'did it go?', media: [], marker: m });
  assert.equal(again.remoteId, found!.remoteId, 'the same event id');
  assert.equal(s.posts.length, count + 1, 'no second note');
  assert.equal(await p.findByMarker(a, 'never-sent', new Date()), null, 'nothing written down: nothing sent');
  // Sent but stored nowhere (both relays answered garbage and kept nothing): absent, and the retry is still the same event.
  const lost = marker();
  refuseAt(s, 'one', 'error: disk full');
  refuseAt(s, 'two', 'error: disk full');
  await assert.rejects(p.publish(a, { text: 'lost', media: [], marker: lost }), isKind('transient'));
  const signed = (await journal.get<{ event: Event }>('nostr', JSON.stringify([pk, lost])))!.value.event;
  quiet();
  assert.equal(await p.findByMarker(a, lost, new Date()), null);
  assert.equal((await p.publish(a, { text: 'a different text now', media: [], marker: lost })).remoteId, signed.id, 'the marker is bound to what was signed');
});

test('metrics: reactions (not dislikes), reposts and replies from the relays, each event once', async () => {
  const a = await connect();
  const note = await p.publish(a, { text: 'count me', media: [], marker: marker() });
  const other = () => generateSecretKey();
  const at = Math.floor(Date.now() / 1000);
  const e = ['e', note.remoteId];
  nostrStore(s, finalizeEvent({ kind: 7, created_at: at, tags: [e, ['p', pk]], content: '+' }, other()), ['one', 'two']);
  nostrStore(s, finalizeEvent({ kind: 7, created_at: at, tags: [e, ['p', pk]], content: '🤙' }, other()), ['two']);
  nostrStore(s, finalizeEvent({ kind: 7, created_at: at, tags: [e, ['p', pk]], content: '-' }, other()), ['one']);
  nostrStore(s, finalizeEvent({ kind: 6, created_at: at, tags: [e, ['p', pk]], content: '' }, other()), ['one']);
  nostrStore(s, finalizeEvent({ kind: 1, created_at: at, tags: [[...e, '', 'root'], ['p', pk]], content: 'nice' }, other()), ['two']);
  // A forged reaction (a signature that is not its author's) is not believed.
  const forged = finalizeEvent({ kind: 7, created_at: at, tags: [e], content: '+' }, other());
  nostrStore(s, { ...forged, pubkey: pk }, ['one']);
  const m = await p.metrics!(a, note.remoteId);
  assert.deepEqual({ likes: m.likes, reposts: m.reposts, replies: m.replies }, { likes: 2, reposts: 1, replies: 1 });
  await assert.rejects(p.metrics!(a, 'nope'), isKind('permanent'));
});

test('inbox: notes that tag the key, placed in their thread by NIP-10; the account\'s own left out; a full relay page is read on below', async () => {
  const sk2 = generateSecretKey();
  const me = getPublicKey(sk2);
  const signed = await p.signIn!(`${r1} ${r2}`, bytesToHex(sk2));
  const a: AccountRef = { externalId: me, username: 'me', tokens: signed.tokens, data: signed.identities![0]!.data ?? {} };
  assert.ok(p.meta.inbox?.sources.some((x) => x.id === 'mentions'));
  const start = await p.collectInbox!(a, { source: 'mentions', cursor: null });
  assert.deepEqual(start.items, []);
  const note = await p.publish(a, { text: 'my note', media: [], marker: marker() });
  const part = await p.publish(a, { text: 'my own thread part', media: [], marker: marker(), replyTo: note.remoteId });
  const now = Math.floor(Date.now() / 1000);
  const bobKey = generateSecretKey();
  const reply = finalizeEvent({ kind: 1, created_at: now, content: 'nice note', tags: [['e', note.remoteId, r1, 'root', me], ['p', me]] }, bobKey);
  const deeper = finalizeEvent({ kind: 1, created_at: now, content: 'agreed', tags: [['e', note.remoteId], ['e', reply.id], ['p', me], ['p', reply.pubkey]] }, generateSecretKey());
  const mention = finalizeEvent({ kind: 1, created_at: now, content: 'hey nostr:npub…', tags: [['p', me]] }, generateSecretKey());
  const unrelated = finalizeEvent({ kind: 1, created_at: now, content: 'not for you', tags: [] }, generateSecretKey());
  nostrStore(s, reply, ['one']);
  nostrStore(s, deeper, ['one', 'two']);
  nostrStore(s, mention, ['two']);
  nostrStore(s, unrelated, ['one']);
  const page = await p.collectInbox!(a, { source: 'mentions', cursor: start.cursor });
  assert.equal(page.more, false);
  const byId = new Map(page.items.map((i) => [i.remoteId, i]));
  assert.deepEqual([...byId.keys()].sort(), [reply.id, deeper.id, mention.id].sort(), 'each once, the account\'s own thread part and the unrelated note left out');
  assert.ok(!byId.has(part.remoteId));
  assert.deepEqual({ kind: byId.get(reply.id)!.kind, root: byId.get(reply.id)!.rootRemoteId, parent: byId.get(reply.id)!.parentRemoteId }, { kind: 'comment', root: note.remoteId, parent: undefined });
  assert.deepEqual({ kind: byId.get(deeper.id)!.kind, root: byId.get(deeper.id)!.rootRemoteId, parent: byId.get(deeper.id)!.parentRemoteId }, { kind: 'comment', root: note.remoteId, parent: reply.id }, 'the positional form, its root looked up');
  assert.equal(byId.get(deeper.id)!.root?.text, 'my note');
  assert.deepEqual({ kind: byId.get(mention.id)!.kind, root: byId.get(mention.id)!.rootRemoteId }, { kind: 'mention', root: mention.id });
  assert.equal(byId.get(reply.id)!.author.handle, npubEncode(reply.pubkey));
  assert.equal(byId.get(reply.id)!.createdAt.getTime(), now * 1000);
  const again = await p.collectInbox!(a, { source: 'mentions', cursor: page.cursor });
  assert.ok(again.items.every((i) => byId.has(i.remoteId)), 'nothing new (the boundary second may be read again, never skipped)');

  // 130 mentions on one relay: a page of 100, then the rest below it, then the cursor moves past them all.
  const base = now + 10;
  const many = Array.from({ length: 130 }, (_, i) => finalizeEvent({ kind: 1, created_at: base + i, content: `m${i}`, tags: [['p', me]] }, bobKey));
  for (const e of many) nostrStore(s, e, ['one']);
  const got = new Set<string>();
  let cursor = again.cursor;
  const pages: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await p.collectInbox!(a, { source: 'mentions', cursor });
    for (const item of r.items) got.add(item.remoteId);
    cursor = r.cursor;
    pages.push(r.more);
    if (!r.more) break;
  }
  assert.deepEqual(pages, [true, false]);
  assert.ok(many.every((e) => got.has(e.id)), 'all 130 collected');
  assert.equal((JSON.parse(cursor!) as { after: number }).after, base + 129);
  await assert.rejects(p.collectInbox!(a, { source: 'dms', cursor: null }), isKind('permanent'));
});

test('inbox actions: a reply note under a collected one (the same event after a lost answer); a like as one "+" reaction however often asked, taken back by a deletion request; deleting its own note only', async () => {
  quiet();
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own');
  const sk3 = generateSecretKey();
  const me = getPublicKey(sk3);
  const signed = await p.signIn!(`${r1} ${r2}`, bytesToHex(sk3));
  const a: AccountRef = { externalId: me, username: 'me', tokens: signed.tokens, data: signed.identities![0]!.data ?? {} };
  const stranger = generateSecretKey();
  const theirs = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [['p', me]], content: 'hello there' }, stranger);
  nostrStore(s, theirs, ['one', 'two']);
  const req = (remoteId: string) => ({ remoteId, rootRemoteId: theirs.id, marker: marker() });

  s.knobs.acceptThenHangNext = 2;
  await assert.rejects(p.reply!(a, { text: 'hi!', parentRemoteId: theirs.id, rootRemoteId: theirs.id, marker: 'nostr-reply-1' }), isKind('unknown_outcome'));
  quiet();
  const found = await p.findReply!(a, { parentRemoteId: theirs.id, rootRemoteId: theirs.id, marker: 'nostr-reply-1', since: new Date(Date.now() - 60_000) });
  assert.ok(found, 'on a relay');
  const again = await p.reply!(a, { text: 'hi!', parentRemoteId: theirs.id, rootRemoteId: theirs.id, marker: 'nostr-reply-1' });
  assert.equal(again.remoteId, found.remoteId, 'the same event');
  assert.deepEqual(eventOf(found.remoteId).tags.find((t) => t[0] === 'e'), ['e', theirs.id, r1, 'root', getPublicKey(stranger)]);
  assert.equal(await p.findReply!(a, { parentRemoteId: theirs.id, rootRemoteId: theirs.id, marker: 'never', since: new Date() }), null);

  const r = req(theirs.id);
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: false });
  await p.like!(a, r);
  await p.like!(a, req(theirs.id));
  const reactions = () => nostrEvents(s).filter((e) => e.kind === 7 && e.pubkey === me && e.tags.some((t) => t[0] === 'e' && t[1] === theirs.id));
  assert.equal(reactions().length, 1, 'one like however often asked');
  assert.equal(reactions()[0]!.content, '+');
  assert.deepEqual(reactions()[0]!.tags.find((t) => t[0] === 'k'), ['k', '1']);
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: true });
  await p.unlike!(a, req(theirs.id));
  await p.unlike!(a, req(theirs.id));
  assert.equal(reactions().length, 0, 'the relays dropped it on the deletion request');
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: false });

  await assert.rejects(p.delete!(a, req(theirs.id)), isKind('permanent', /not_own_post/));
  assert.ok(nostrEvents(s).some((e) => e.id === theirs.id), 'theirs stays');
  const mine = req(found.remoteId);
  await p.delete!(a, mine);
  await p.delete!(a, req(found.remoteId));
  assert.deepEqual(await p.messageState!(a, mine), { deleted: true });
  assert.equal(nostrEvents(s).some((e) => e.id === found.remoteId), false);
});

test('relay hosts go through the private-address guard; a relay message over the cap ends the conversation', async () => {
  const guarded = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: false, defaultTimeoutMs: 2000 });
  const gp = createNostr({ http: guarded, settings: { baseUrls: {}, allowPlainSchemes: true } });
  const before = s.log.length;
  for (const relay of [r1, r1.replace('127.0.0.1', 'localhost'), 'ws://10.0.0.1/relay', 'ws://[::1]:1/']) {
    await assert.rejects(gp.signIn!(relay, nsec), (e: unknown) => e instanceof ProviderError && /private, loopback|blocked/.test(e.message), relay);
  }
  assert.equal(s.log.length, before, 'no connection reached the relay');
  await assert.rejects(guarded.webSocket({ url: 'ws://127.0.0.1:1/', provider: 'nostr', operation: 'x', userSuppliedHost: true }, async () => 1),
    (e: unknown) => e instanceof TransportError && e.reason === 'blocked_host' && !e.sent);
  await guarded.close();

  const small = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 2000, maxWebSocketMessageBytes: 1000 });
  nostrStore(s, finalizeEvent({ kind: 1, created_at: 1, tags: [], content: 'x'.repeat(5000) }, generateSecretKey()), ['big']);
  const big = r1.replace('/one', '/big');
  await assert.rejects(small.webSocket({ url: big, provider: 'nostr', operation: 'REQ', userSuppliedHost: true }, async (c) => {
    c.send(JSON.stringify(['REQ', 's', { kinds: [1] }]));
    for (;;) await c.next();
  }), (e: unknown) => e instanceof ResponseTooLargeError);
  await small.close();
  assert.ok(nostrEvents(s, 'big').length === 1);
});

test('the secret key is never in errors, logs or metrics', async () => {
  const { log, lines } = capturingLogger('debug');
  const metrics = createMetrics({ enabled: true });
  const http = new HttpClient({ metrics, log, allowPrivateHosts: true, defaultTimeoutMs: 1500, maxRetries: 1 });
  const np = createNostr({ http, settings: { baseUrls: {}, allowPlainSchemes: true } });
  const errors: string[] = [];
  const a = await connect(undefined, np);
  await np.publish(a, { text: 'hi', media: [png()], marker: 'k-1' });
  s.knobs.acceptThenHangNext = 2;
  await np.publish(a, { text: 'hang', media: [], marker: 'k-2' }).catch((e: Error) => errors.push(e.message));
  refuseAt(s, 'one', 'blocked: no');
  refuseAt(s, 'two', 'blocked: no');
  await np.publish(a, { text: 'refused', media: [], marker: 'k-3' }).catch((e: Error) => errors.push(e.message));
  quiet();
  await np.signIn!(r1, `${nsec}x`).catch((e: Error) => errors.push(e.message));
  await http.close();
  assert.equal(errors.length, 3);
  const hex = bytesToHex(sk);
  for (const text of [...errors, JSON.stringify(lines()), await metrics.registry.metrics()]) {
    assert.ok(!text.includes(hex) && !text.includes(nsec), `the key leaked: ${text.slice(0, 300)}`);
  }
  assert.equal(redactSecrets(`key ${nsec} and Authorization: Nostr ${Buffer.from('{"kind":24242}').toString('base64')}`), 'key nsec1[redacted] and Authorization: Nostr [redacted]');
  const labels = (await metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'nostr').map((v) => v.labels.operation);
  assert.deepEqual([...new Set(labels)].sort(), ['EVENT', 'REQ_profile', 'blossom_upload']);
});

test('every call moved allin_social_api_calls_total, labelled by operation', async () => {
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'nostr');
  for (const op of ['REQ_profile', 'EVENT', 'REQ_parent', 'REQ_reconcile', 'REQ_metrics', 'REQ_inbox', 'REQ_inbox_roots', 'blossom_upload']) {
    assert.ok(calls.some((v) => v.labels.operation === op && (v.labels.status === 'ok' || v.labels.status === '200')), op);
  }
  assert.ok(calls.some((v) => v.labels.status === 'timeout'), 'the hung relay');
  assert.ok(calls.some((v) => v.labels.status === '429'), 'the media server\'s 429');
  void relayName;
});
