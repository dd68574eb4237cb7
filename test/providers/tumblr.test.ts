// The Tumblr adapter against the simulator's Tumblr (tools/provider-sim/networks/tumblr.ts): OAuth 2.0 with the client
// secret in the body and rotating refresh tokens, the user as the account and the blog named per post (else the
// primary one), NPF posts of every kind (text, photo, video, link, quote) with tags, states and a schedule, the media
// sent in the same multipart request, every error class (Tumblr's {meta, errors}: 401, 403 and its daily-limit code,
// 404, 429 with its reset header, 5xx, validation, a malformed answer), reconciliation after "accept, then time out"
// (by what was sent, in the list of the state sent), figures and disconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { quietLogger } from '../support/env.ts';
import { isKind, mp4, png } from '../support/credentials.ts';
import { createTumblr, tumblrMediaProblems, tumblrOptionProblems, tumblrTextProblems, TUMBLR_SCOPES } from '../../src/providers/tumblr.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, Provider, PublishRequest, TokenSet } from '../../src/providers/types.ts';
import { tumblrBlog, tumblrDailyLimit, tumblrNotes, tumblrPost } from '../../tools/provider-sim/networks/tumblr.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let account: AccountRef;
let http: HttpClient;
let primary: string;
let art: string;

const CLIENT = { clientId: 'tumblr-consumer-key', clientSecret: 'tumblr-secret' };
const make = (o: { secret?: string } = {}) => createTumblr({
  http, journal,
  settings: { clientId: CLIENT.clientId, clientSecret: o.secret ?? CLIENT.clientSecret, baseUrls: { api: h.sim.base('tumblr'), auth: h.sim.base('tumblr') } },
});

before(async () => {
  h = await harness();
  http = new HttpClient({ metrics: h.metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 1500, mediaTimeoutMs: 1500, maxRetries: 1 });
  s = h.sim.state('tumblr');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
  primary = tumblrBlog(s, 'u1', 'dailybread', 'Daily Bread');
  art = tumblrBlog(s, 'u1', 'sketchbook');
  tumblrBlog(s, 'u2', 'someoneelse');
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
const marker = () => `tumblr-m-${++n}`;
const since = () => new Date(Date.now() - 60_000);
const postOf = (remoteId: string) => tumblrPost(s, remoteId.split('/').at(-1)!)!;
const raw = () => s.posts.at(-1)!.raw as Record<string, unknown> & { content: Record<string, unknown>[]; files?: Record<string, { bytes: number; type: string }> };
const send = (text: string, o: Partial<PublishRequest> = {}) => p.publish(account, { text, media: [], marker: marker(), ...o });

test('connect: the consent asks basic write offline_access; the code is exchanged with the client secret in the body; refresh rotates', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/tumblr/oauth2/authorize');
  assert.equal(url.searchParams.get('scope'), TUMBLR_SCOPES.join(' '));
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(account.externalId, primary, 'the primary blog\'s uuid');
  assert.equal(account.username, 'dailybread');
  assert.deepEqual(account.data.blogs, ['dailybread', 'sketchbook']);
  assert.ok(account.tokens.refreshToken && account.tokens.expiresAt);
  const next = await p.refresh(account);
  assert.notEqual(next.refreshToken, account.tokens.refreshToken, 'a new refresh token');
  await assert.rejects(p.refresh(account), isKind('auth_expired', /invalid_grant/, 401), 'the old refresh token is dead');
  account = { ...account, tokens: next };
  assert.equal(p.meta.refreshTokenRotates, true);
});

test('connect refusals: denied consent, a bad code, wrong app credentials, offline_access left out', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_grant/));
  await assert.rejects(authorize(make({ secret: 'wrong' })), isKind('permanent', /invalid_client/, 401));
  s.knobs.declineScopes = ['offline_access'];
  await assert.rejects(authorize(p), isKind('permanent', /scope_declined/));
  s.knobs.declineScopes = [];
});

test('a text post on the primary blog: paragraphs are text blocks; tags comma-separated; its URL', async () => {
  const post = await send('First paragraph.\n\nSecond one.', { options: { tags: ['bread', 'sourdough starter'] } });
  assert.match(post.remoteId, /^t:[\w-]+\/\d+$/);
  assert.equal(post.url, `https://www.tumblr.com/dailybread/${post.remoteId.split('/')[1]}`);
  const sp = postOf(post.remoteId);
  assert.deepEqual([sp.blog, sp.state, sp.tags], [primary, 'published', ['bread', 'sourdough starter']]);
  assert.deepEqual(raw().content, [{ type: 'text', text: 'First paragraph.' }, { type: 'text', text: 'Second one.' }]);
  assert.equal(raw().tags, 'bread,sourdough starter');
});

test('a photo post on another blog named in the options: the images go in the same multipart request, by identifier', async () => {
  const post = await send('Two loaves', { media: [png({ altText: 'A loaf' }), png()], options: { blog: 'Sketchbook' } });
  assert.equal(postOf(post.remoteId).blog, art);
  const c = raw().content;
  assert.deepEqual(c.map((b) => b.type), ['image', 'image', 'text']);
  assert.equal(c[0]!.alt_text, 'A loaf');
  assert.deepEqual(Object.keys(raw().files!), ['media-0', 'media-1']);
  assert.equal(raw().files!['media-0']!.type, 'image/png');
  await assert.rejects(send('x', { options: { blog: 'someoneelse' } }), isKind('permanent', /blog_not_found/));
});

test('a video post, a link post and a quote post with its source', async () => {
  const v = await send('Watch', { media: [mp4()] });
  assert.deepEqual(raw().content.map((b) => b.type), ['video', 'text']);
  assert.equal((raw().content[0]!.media as { identifier: string }).identifier, 'media-0');
  assert.ok(postOf(v.remoteId));
  await send('Worth reading', { options: { link: 'https://example.com/bread' } });
  assert.deepEqual(raw().content[0], { type: 'link', url: 'https://example.com/bread' });
  await send('Bread is life.', { options: { quote: true, quoteSource: 'A baker' } });
  assert.deepEqual(raw().content, [{ type: 'text', text: 'Bread is life.', subtype: 'quote' }, { type: 'text', text: '— A baker' }]);
});

test('states: queue with publish_on, draft and private; only published and private posts get a URL', async () => {
  const at = new Date(Date.now() + 86_400_000).toISOString();
  const q = await send('Tomorrow', { options: { state: 'queue', publishOn: at } });
  assert.deepEqual([postOf(q.remoteId).state, postOf(q.remoteId).publishOn, q.url], ['queue', at, undefined]);
  const d = await send('Not yet', { options: { state: 'draft' } });
  assert.deepEqual([postOf(d.remoteId).state, d.url], ['draft', undefined]);
  const pr = await send('Just me', { options: { state: 'private' } });
  assert.equal(postOf(pr.remoteId).state, 'private');
  assert.ok(pr.url);
});

test('options, text and media are checked before anything is sent', async () => {
  const now = Date.now();
  assert.deepEqual(tumblrOptionProblems({ blog: 'b', state: 'queue', publishOn: new Date(now + 60_000).toISOString(), tags: ['a'], link: 'https://x.example', quote: true, quoteSource: 'me' }, now), []);
  assert.match(tumblrOptionProblems({ state: 'scheduled' }).join(), /state is one of/);
  assert.match(tumblrOptionProblems({ publishOn: new Date(now + 60_000).toISOString() }).join(), /set state to queue/);
  assert.match(tumblrOptionProblems({ state: 'queue', publishOn: new Date(now - 60_000).toISOString() }, now).join(), /in the future/);
  assert.match(tumblrOptionProblems({ tags: ['a,b'] }).join(), /no comma/);
  assert.match(tumblrOptionProblems({ tags: Array.from({ length: 31 }, (_, i) => `t${i}`) }).join(), /at most 30 tags/);
  assert.match(tumblrOptionProblems({ link: 'ftp://x' }).join(), /web address/);
  assert.match(tumblrOptionProblems({ quoteSource: 'me' }).join(), /set quote to true/);
  assert.match(tumblrOptionProblems({ colour: 'red' }).join(), /not an option/);
  assert.match(tumblrTextProblems('x'.repeat(4097)).join(), /4096 characters/);
  assert.deepEqual(tumblrTextProblems(`${'x'.repeat(4096)}\n\n${'y'.repeat(4096)}`), []);
  assert.match(tumblrMediaProblems([mp4(), mp4()]).join(), /one uploaded video/);
  assert.match(tumblrMediaProblems([{ ...png(), mimeType: 'image/tiff' }]).join(), /JPEG, PNG or GIF/);
  const before = s.posts.length;
  await assert.rejects(send('x'.repeat(4097)), isKind('permanent', /bad_option/));
  await assert.rejects(send(''), (e) => isKind('permanent', /bad_option/)(e) && /needs text, a link or media/.test((e as Error).message));
  await assert.rejects(send('x', { replyTo: '1' }), isKind('permanent', /no_threads/));
  assert.equal(s.posts.length, before);
});

test('accept, then time out: unknown outcome; the post is found by what was sent, in its state\'s list, also after a restart', async () => {
  for (const options of [{ tags: ['lost'] }, { state: 'queue' }, { state: 'draft', blog: 'sketchbook' }, { state: 'private' }]) {
    const m = marker();
    s.knobs.acceptThenHangNext = 1;
    await assert.rejects(p.publish(account, { text: `Lost answer ${JSON.stringify(options)}`, media: [png()], marker: m, options }), isKind('unknown_outcome'));
    const stored = s.posts.at(-1)!;
    const found = await p.findByMarker(account, m, since());
    assert.equal(found?.remoteId.split('/')[1], stored.id, JSON.stringify(options));
    assert.deepEqual(await make().findByMarker(account, m, since()), found, 'a restarted adapter on the same journal');
  }
  // A post with the same words but other tags is not taken for one that was refused before it was made.
  await send('Same words', { options: { tags: ['one'] } });
  const refused = marker();
  s.knobs.rateLimitNext = 1;
  await assert.rejects(send('Same words', { marker: refused, options: { tags: ['two'] } }), isKind('rate_limited'));
  assert.equal(await p.findByMarker(account, refused, since()), null, 'refused before creating: absent');
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null);
});

test('every error class: 429 with its reset header, 5xx, 401, 403 (scope; daily limit as a wait), 404, malformed', async () => {
  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(send('x'), (e) => isKind('rate_limited', undefined, 429)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 7000);
  s.knobs.errorRate = 1;
  await assert.rejects(send('x'), isKind('transient', /Posting is disabled/, 503));
  s.knobs.errorRate = 0;
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: 'dead' } }, { text: 'x', media: [], marker: marker() }), isKind('auth_expired', /Unauthorized/, 401));
  const readOnly = s.issueToken('u1', ['basic']);
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: readOnly.accessToken } }, { text: 'x', media: [], marker: marker() }), isKind('permanent', /write scope/, 403));
  const dm = marker();
  tumblrDailyLimit(s, 1);
  await assert.rejects(send('x', { marker: dm }), (e) => isKind('rate_limited', /code 8023/, 403)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 3_600_000);
  await assert.rejects(p.metrics!(account, `${primary}/123456`), isKind('permanent', /no such post/, 404));
  // The retry knows its blog from the journal, so the create itself answers something unreadable: the post may exist.
  s.knobs.malformedNext = 1;
  await assert.rejects(send('x', { marker: dm }), isKind('unknown_outcome', /malformed/));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.metrics!(account, `${primary}/123456`), isKind('transient', /malformed/));
});

test('figures: likes, reblogs and replies of a post; the primary blog\'s followers and posts, the user\'s following', async () => {
  const post = await send('count me');
  tumblrNotes(s, post.remoteId.split('/')[1]!, { likes: 12, reblogs: 3, replies: ['yum', 'recipe?'] });
  const f = await p.metrics!(account, post.remoteId);
  assert.deepEqual([f.likes, f.reposts, f.replies, f.impressions], [12, 3, 2, undefined]);
  const a = await p.accountMetrics!(account, { insights: true });
  assert.equal(typeof a.now.followers, 'number');
  assert.equal(typeof a.now.following, 'number');
  assert.ok(a.now.posts! >= 1);
  assert.deepEqual(a.days, []);
  await h.sim.app.inject({ method: 'DELETE', url: `/_sim/tumblr/posts/${post.remoteId.split('/')[1]}` });
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('permanent', undefined, 404));
  await assert.rejects(p.metrics!(account, 'abc'), isKind('permanent', /bad_remote_id/));
});

test('disconnect: Tumblr documents no revocation, so the adapter offers none; a revoked grant is auth_expired', async () => {
  assert.equal(p.meta.supportsRevocation, false);
  assert.equal(p.revoke, undefined);
  await h.sim.app.inject({ method: 'POST', url: '/_sim/tumblr/revoke-all', payload: { user: 'u1' } });
  await assert.rejects(send('x'), isKind('auth_expired', undefined, 401));
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  for (const op of ['post_create', 'blogs', 'find_post', 'metrics', 'account_metrics', 'oauth_refresh']) assert.match(page, new RegExp(`provider="tumblr"[^}]*operation="${op}"|operation="${op}"[^}]*provider="tumblr"`));
});
