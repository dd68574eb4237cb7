// The Lemmy adapter against the simulator's instance (tools/provider-sim/networks/lemmy.ts): login to a JWT
// (the password not kept), refusals (wrong password, two-factor), refresh and logout; a post to a community
// with title, body, link, NSFW and an image; a first comment and thread parts as comments; options refused
// before any call; every error class; "accept, then time out" reconciled from the person's newest posts and
// comments (found, and absent when it was never created), also after a restart; metrics; the inbox's replies
// and mentions read back to the cursor; private instance addresses refused before any connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { quietLogger } from '../support/env.ts';
import { createLemmy } from '../../src/providers/lemmy.ts';
import { supportedVersion } from '../../src/providers/lemmy/session.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider } from '../../src/providers/types.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { lemmyComment, lemmyCommunity, lemmyPerson, lemmyVote, type SimLemmyPerson } from '../../tools/provider-sim/networks/lemmy.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let host: string;
let journal: MemorySendJournal;
let me: SimLemmyPerson;
let other: SimLemmyPerson;
const settings = { baseUrls: { instance: 'http://{host}/lemmy' } };

before(async () => {
  h = await harness();
  s = h.sim.state('lemmy');
  host = new URL(h.sim.url).host;
  journal = new MemorySendJournal();
  p = createLemmy({ http: h.http, settings, journal });
  me = lemmyPerson(s, { name: 'ada', displayName: 'Ada' });
  other = lemmyPerson(s, { name: 'bob' });
  lemmyCommunity(s, 'technology');
  lemmyCommunity(s, 'gone', { deleted: true });
});
after(() => h.stop());

const isKind = (kind: string, reason?: RegExp) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? ''));
const png = (): MediaItem => {
  const b = greyPng(2, 2);
  return { mimeType: 'image/png', bytes: b.length, width: 2, height: 2, altText: 'grey', read: async () => b };
};
let markers = 0;
const marker = () => `m-${++markers}`;
const opts = (extra: Record<string, unknown> = {}) => ({ community: 'technology', title: 'A title', ...extra });
const simBase = () => `${h.sim.url}/lemmy`;
const connect = async (): Promise<AccountRef> => {
  const signed = await p.signIn!('ada', 'correct horse', host);
  const id = signed.identities![0]!;
  return { externalId: id.externalId, username: id.username, tokens: signed.tokens, host: signed.host!, data: id.data ?? {} };
};
const raw = (id: string) => s.posts.find((x) => x.id === id)!.raw as Record<string, unknown>;
const quiet = () => { s.knobs.rateLimitNext = 0; s.knobs.errorRate = 0; s.knobs.malformedNext = 0; s.knobs.acceptThenHangNext = 0; };

test('login: the JWT is the token (the password is not kept), the person from getSite; refusals say why; refresh and logout', async () => {
  const signed = await p.signIn!(' ada ', 'correct horse', host);
  assert.match(signed.tokens.accessToken, /^eyJ/);
  assert.deepEqual(Object.keys(signed.tokens), ['accessToken']);
  assert.equal(signed.host, host);
  assert.deepEqual(signed.identities, [{ externalId: String(me.id), kind: 'person', username: `ada@${host}`, displayName: 'Ada', profileUrl: `${simBase()}/u/ada`, data: { personId: me.id } }]);
  await assert.rejects(p.signIn!('ada', 'wrong', host), isKind('auth_expired', /incorrect_login/));
  lemmyPerson(s, { name: 'carol', totp: true });
  await assert.rejects(p.signIn!('carol', 'correct horse', host), (e: unknown) => isKind('permanent')(e) && /two-factor/.test((e as Error).message));
  await assert.rejects(p.signIn!('ada', 'correct horse', undefined), isKind('permanent', /invalid_host/));
  assert.deepEqual(['0.19.5', '0.20.0', '1.0.0-alpha', '0.18.5', '', undefined].map(supportedVersion), [true, true, true, false, false, false]);
  const a = await connect();
  assert.deepEqual(await p.refresh(a), a.tokens);
  await p.revoke!(a);
  await assert.rejects(p.refresh(a), isKind('auth_expired'), 'a logged-out token names nobody');
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('auth_expired'));
});

test('a post to a community: title, body, link, NSFW; an image post through pict-rs; a first comment and thread parts as comments', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'The body', media: [], marker: marker(), options: opts({ url: 'https://example.com/x', nsfw: true }) });
  assert.match(post.remoteId, /^post\/\d+$/);
  const r = raw(post.remoteId);
  assert.equal(r.name, 'A title');
  assert.equal(r.body, 'The body');
  assert.equal(r.url, 'https://example.com/x');
  assert.equal(r.nsfw, true);
  assert.equal(post.url, r.ap_id);
  const image = await p.publish(a, { text: '', media: [png()], marker: marker(), options: opts({ title: 'A picture' }) });
  const url = raw(image.remoteId).url as string;
  assert.match(url, /\/pictrs\/image\/[0-9a-f]+\.png$/);
  assert.equal((await fetch(url)).status, 200);
  const first = await p.publish(a, { text: 'first comment', media: [], marker: marker(), replyTo: post.remoteId, options: opts() });
  const id = Number(post.remoteId.split('/')[1]);
  assert.match(first.remoteId, new RegExp(`^comment/${id}/\\d+$`));
  const second = await p.publish(a, { text: 'and a reply', media: [png()], marker: marker(), replyTo: first.remoteId });
  const c = raw(second.remoteId);
  assert.equal(c.path, `0.${first.remoteId.split('/')[2]}.${second.remoteId.split('/')[2]}`, 'under the first comment');
  assert.match(c.content as string, /^and a reply\n\n!\[grey\]\(http.*\/pictrs\/image\//);
});

test('refused before any call: missing community or title, a bad link, two images on a post, a link and an image, video, too long', async () => {
  const a = await connect();
  const before = s.log.length;
  for (const [options, media] of [[{ title: 't' }, []], [{ community: 'technology' }, []], [opts({ title: 'x'.repeat(201) }), []], [opts({ url: 'ftp://x' }), []],
    [opts({ extra: 1 }), []], [opts(), [png(), png()]], [opts({ url: 'https://example.com' }), [png()]],
    [opts(), [{ ...png(), mimeType: 'video/mp4' }]]] as [Record<string, unknown>, MediaItem[]][]) {
    await assert.rejects(p.publish(a, { text: 'x', media, marker: marker(), options }), isKind('permanent'), JSON.stringify(options));
  }
  await assert.rejects(p.publish(a, { text: 'x'.repeat(10_001), media: [], marker: marker(), options: opts() }), isKind('permanent'));
  assert.equal(s.log.length, before, 'no call');
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts({ community: 'nowhere' }) }), isKind('permanent', /community_not_found/));
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts({ community: 'gone' }) }), isKind('permanent', /community_gone/));
});

test('error classes: 429 with its wait, 5xx, a malformed answer to a create (unknown), a refused comment', async () => {
  const a = await connect();
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts() }), (e: unknown) => isKind('rate_limited', /rate_limit_error/)(e) && (e as ProviderError).details.retryAfterMs === 2000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('transient'));
  quiet();
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('unknown_outcome'));
  quiet();
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), replyTo: 'post/999999' }), isKind('permanent', /couldnt_find_post/));
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), replyTo: 'nonsense' }), isKind('permanent', /bad_id/));
});

test('accept, then time out: unknown; the person\'s newest posts and comments show it; absent when never created; after a restart too', async () => {
  const a = await connect();
  const m = marker();
  const count = s.posts.length;
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'did it go?', media: [], marker: m, options: opts({ title: 'Unknown' }) }), isKind('unknown_outcome'));
  assert.equal(s.posts.length, count + 1);
  const found = await p.findByMarker(a, m, new Date());
  assert.equal(found?.remoteId, s.posts.at(-1)!.id);
  const restarted = createLemmy({ http: h.http, settings, journal });
  assert.equal((await restarted.findByMarker(a, m, new Date()))?.remoteId, found!.remoteId);
  assert.equal(await p.findByMarker(a, 'never-sent', new Date()), null);
  // A comment that timed out, found the same way.
  const cm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(a, { text: 'comment?', media: [], marker: cm, replyTo: found!.remoteId }), isKind('unknown_outcome'));
  assert.equal((await p.findByMarker(a, cm, new Date()))?.remoteId, s.posts.at(-1)!.id);
  // Sent, refused before it was stored (a 500): written down, not there, so absent.
  const lost = marker();
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(a, { text: 'lost', media: [], marker: lost, options: opts({ title: 'Lost' }) }), isKind('transient'));
  quiet();
  assert.equal(await p.findByMarker(a, lost, new Date()), null);
});

test('metrics: a post\'s upvotes and comments, a comment\'s upvotes and replies', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'count', media: [], marker: marker(), options: opts() });
  const id = Number(post.remoteId.split('/')[1]);
  lemmyVote(s, id, 7);
  const c = lemmyComment(s, simBase(), { person: other, postId: id, content: 'nice' });
  lemmyComment(s, simBase(), { person: other, postId: id, parentId: c.id, content: 'nicer' });
  const m = await p.metrics!(a, post.remoteId);
  assert.deepEqual({ likes: m.likes, replies: m.replies }, { likes: 7, replies: 2 });
  const cm = await p.metrics!(a, `comment/${id}/${c.id}`);
  assert.deepEqual({ likes: cm.likes, replies: cm.replies }, { likes: 1, replies: 1 });
});

test('inbox: replies and mentions, in their thread; a first read takes the newest page; later reads carry on from the cursor', async () => {
  const a = await connect();
  const post = await p.publish(a, { text: 'talk to me', media: [], marker: marker(), options: opts({ title: 'Inbox' }) });
  const id = Number(post.remoteId.split('/')[1]);
  const first = await p.collectInbox!(a, { source: 'replies', cursor: null });
  const mentionsFirst = await p.collectInbox!(a, { source: 'mentions', cursor: null });
  const c1 = lemmyComment(s, simBase(), { person: other, postId: id, content: 'a reply' });
  const mine = await p.publish(a, { text: 'my answer', media: [], marker: marker(), replyTo: `comment/${id}/${c1.id}` });
  const c2 = lemmyComment(s, simBase(), { person: other, postId: id, parentId: Number(mine.remoteId.split('/')[2]), content: 'a reply to your answer, @ada' });
  const c3 = lemmyComment(s, simBase(), { person: other, postId: id, parentId: c1.id, content: 'hey @ada look' });
  const page = await p.collectInbox!(a, { source: 'replies', cursor: first.cursor });
  assert.deepEqual(page.items.map((i) => i.remoteId), [`comment/${id}/${c1.id}`, `comment/${id}/${c2.id}`]);
  assert.equal(page.items[1]!.parentRemoteId, mine.remoteId);
  assert.equal(page.items[0]!.parentRemoteId, undefined, 'answers the post');
  assert.equal(page.items[0]!.rootRemoteId, post.remoteId);
  assert.equal(page.items[0]!.root?.text, 'Inbox');
  assert.deepEqual(page.items[0]!.author, { remoteId: String(other.id), handle: `bob@${host}` });
  assert.equal(page.items[0]!.kind, 'comment');
  assert.equal(page.more, false);
  const again = await p.collectInbox!(a, { source: 'replies', cursor: page.cursor });
  assert.deepEqual(again.items, [], 'nothing new');
  const mentions = await p.collectInbox!(a, { source: 'mentions', cursor: mentionsFirst.cursor });
  assert.deepEqual(mentions.items.map((i) => [i.remoteId, i.kind]), [[`comment/${id}/${c3.id}`, 'mention']], 'a reply to the account is a reply, not also a mention');
  assert.equal(mentions.items[0]!.parentRemoteId, `comment/${id}/${c1.id}`);
  await assert.rejects(p.collectInbox!(a, { source: 'dms', cursor: null }), isKind('permanent'));
});

test('inbox actions: declared; a reply under a collected comment, found again by what was sent after an answer that never came; an upvote and taking it back, each safe to repeat; deleting its own comment only', async () => {
  quiet();
  assert.deepEqual(p.meta.inbox?.actions, ['reply', 'like', 'unlike', 'delete']);
  assert.equal(p.meta.inbox?.deletes, 'own');
  const a = await connect();
  const post = await p.publish(a, { text: 'ask me', media: [], marker: marker(), options: opts({ title: 'Actions' }) });
  const id = Number(post.remoteId.split('/')[1]);
  const c = lemmyComment(s, simBase(), { person: other, postId: id, content: 'how does it work?' });
  const msg = `comment/${id}/${c.id}`;
  const req = (remoteId: string) => ({ remoteId, rootRemoteId: post.remoteId, marker: marker() });

  const answer = await p.reply!(a, { text: 'like this', parentRemoteId: msg, rootRemoteId: post.remoteId, marker: 'reply-1' });
  assert.match(answer.remoteId, new RegExp(`^comment/${id}/\\d+$`));
  assert.equal(raw(answer.remoteId).path, `${c.path}.${answer.remoteId.split('/')[2]}`, 'under the comment');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.reply!(a, { text: 'and also this', parentRemoteId: msg, rootRemoteId: post.remoteId, marker: 'reply-2' }), isKind('unknown_outcome'));
  quiet();
  const found = await p.findReply!(a, { parentRemoteId: msg, rootRemoteId: post.remoteId, marker: 'reply-2', since: new Date(Date.now() - 60_000) });
  assert.ok(found, 'found by what was sent');
  assert.equal(s.posts.filter((x) => x.text === 'and also this').length, 1);
  assert.equal(await p.findReply!(a, { parentRemoteId: msg, rootRemoteId: post.remoteId, marker: 'never-sent', since: new Date() }), null);

  const r = req(msg);
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: false });
  await p.like!(a, r);
  await p.like!(a, r);
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: true });
  const upvotes = async () => ((await (await fetch(`${simBase()}/api/v3/comment?id=${c.id}`)).json()) as { comment_view: { counts: { upvotes: number } } }).comment_view.counts.upvotes;
  assert.equal(await upvotes(), 2, 'its author\'s and one more, however often asked');
  await p.unlike!(a, r);
  await p.unlike!(a, r);
  assert.deepEqual(await p.messageState!(a, r), { deleted: false, likedByMe: false });

  await assert.rejects(p.delete!(a, r), isKind('permanent', /no_comment_edit_allowed/), 'someone else\'s comment');
  const mine = req(answer.remoteId);
  await p.delete!(a, mine);
  await p.delete!(a, mine);
  assert.deepEqual(await p.messageState!(a, mine), { deleted: true });
  assert.deepEqual(await p.messageState!(a, req(`comment/${id}/999999`)), { deleted: true }, 'never there');
  await assert.rejects(p.like!(a, req(post.remoteId)), isKind('permanent', /not_a_comment/));
});

test('the instance host goes through the private-address guard; every call moved allin_social_api_calls_total', async () => {
  const guarded = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: false, defaultTimeoutMs: 2000 });
  const gp = createLemmy({ http: guarded, settings });
  const before = s.log.length;
  for (const bad of [host, `localhost:${host.split(':')[1]}`, '10.0.0.1']) await assert.rejects(gp.signIn!('ada', 'correct horse', bad), (e: unknown) => e instanceof ProviderError && /private|loopback|blocked/i.test(e.message), bad);
  assert.equal(s.log.length, before, 'nothing reached the instance');
  await guarded.close();
  const calls = (await h.metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === 'lemmy');
  for (const op of ['login', 'getSite', 'getCommunity', 'createPost', 'createComment', 'uploadImage', 'getPersonDetails', 'getPost', 'getComment', 'getReplies', 'getPersonMentions', 'logout']) {
    assert.ok(calls.some((v) => v.labels.operation === op && v.labels.status === '200'), op);
  }
  assert.ok(calls.some((v) => v.labels.status === '429'));
});
