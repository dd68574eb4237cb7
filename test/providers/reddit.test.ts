// The Reddit adapter against the simulator's Reddit (tools/provider-sim/networks/reddit.ts): OAuth as a web app
// (duration=permanent, HTTP Basic client auth, a refresh token that is kept), the user as the account, text, link and
// image posts to a subreddit chosen per post, the subreddit's requirements and flairs read first, NSFW and spoiler,
// a first comment and thread parts as comments, every error class (401, 403, 404, json.errors refusals, RATELIMIT,
// 429 and the X-Ratelimit-* headers, 5xx, a malformed answer), reconciliation by the account's own posts after
// "accept, then time out", figures and revocation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { isKind, png, mp4 } from '../support/credentials.ts';
import { createReddit, redditOptionProblems, resetWaitMs, waitInWords } from '../../src/providers/reddit.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, Provider, TokenSet } from '../../src/providers/types.ts';
import { redditActionLimit, redditRateWindow, redditScore, redditSubreddit, redditUserAgent } from '../../tools/provider-sim/networks/reddit.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let account: AccountRef;

const CLIENT = { clientId: 'allin-reddit', clientSecret: 'reddit-secret' };
const make = (j = journal, secret = CLIENT.clientSecret) => createReddit({ http: h.http, settings: { clientId: CLIENT.clientId, clientSecret: secret, baseUrls: { api: h.sim.base('reddit'), auth: h.sim.base('reddit') } }, journal: j });
const FLAIR = { id: '0a1b2c3d-0000-4000-8000-000000000001', text: 'Discussion', text_editable: false, mod_only: false };
const EDITABLE = { id: '0a1b2c3d-0000-4000-8000-000000000002', text: 'Other', text_editable: true, mod_only: false };

before(async () => {
  h = await harness();
  s = h.sim.state('reddit');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
  journal = new MemorySendJournal();
  p = make();
  redditSubreddit(s, { name: 'allin_test' });
  redditSubreddit(s, { name: 'flaired', flairRequired: true, flairs: [FLAIR, EDITABLE] });
  redditSubreddit(s, { name: 'linksonly', allowSelf: false, bodyPolicy: 'notAllowed' });
  redditSubreddit(s, { name: 'closed', banned: ['reddit_u1'] });
  account = await asAccount((await authorize(p)).tokens);
});
after(() => h.stop());

async function asAccount(tokens: TokenSet): Promise<AccountRef> {
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
}

let n = 0;
const marker = () => `reddit-m-${++n}`;
const since = () => new Date(Date.now() - 60_000);
const opts = (extra: Record<string, unknown> = {}) => ({ subreddit: 'allin_test', title: `Title ${n}`, ...extra });
const last = () => s.posts.at(-1)!;
const raw = () => last().raw as Record<string, string>;

test('connect: web-app OAuth with duration=permanent and the scopes; the user is the account; refresh keeps the refresh token', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/reddit/api/v1/authorize');
  assert.equal(url.searchParams.get('duration'), 'permanent');
  assert.equal(url.searchParams.get('scope'), 'identity submit read flair');
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(account.externalId, 't2_u1');
  assert.equal(account.username, 'u/reddit_u1');
  assert.ok(account.tokens.refreshToken && account.tokens.expiresAt);
  const next = await p.refresh(account);
  assert.notEqual(next.accessToken, account.tokens.accessToken);
  assert.equal(next.refreshToken, account.tokens.refreshToken, 'not rotated: the same refresh token is kept');
  account = { ...account, tokens: next };
});

test('connect refusals: denied consent, a bad code (200 with invalid_grant), wrong app credentials', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_grant/));
  await assert.rejects(authorize(make(journal, 'wrong')), isKind('permanent', /invalid_client/, 401));
});

test('a text post (self) with NSFW and spoiler; the User-Agent is Reddit\'s form', async () => {
  const post = await p.publish(account, { text: 'Body **markdown**', media: [], marker: marker(), options: opts({ nsfw: true, spoiler: true }) });
  assert.match(post.remoteId, /^t3_/);
  assert.match(post.url!, /^https:\/\/www\.reddit\.com\/r\/allin_test\/comments\//);
  assert.equal(raw().kind, 'self');
  assert.equal(raw().text, 'Body **markdown**');
  assert.equal(raw().nsfw, 'true');
  assert.equal(raw().spoiler, 'true');
  assert.equal(raw().sr, 'allin_test');
  assert.equal(redditUserAgent(s), 'web:allin-reddit:1.0 (AllIN)');
});

test('a link post; an image post through the media upload, found among the account\'s posts', async () => {
  await p.publish(account, { text: '', media: [], marker: marker(), options: opts({ url: 'https://example.com/a', subreddit: 'r/linksonly' }) });
  assert.equal(raw().kind, 'link');
  assert.equal(raw().url, 'https://example.com/a');
  assert.equal(raw().sr, 'linksonly');
  const img = await p.publish(account, { text: 'caption', media: [png()], marker: marker(), options: opts() });
  assert.equal(raw().kind, 'image');
  assert.match(raw().url!, /\/reddit\/s3\/rte_images\//);
  assert.equal(img.remoteId, last().id);
  await assert.rejects(p.publish(account, { text: 'x', media: [mp4()], marker: marker(), options: opts() }), isKind('permanent', /media_refused/));
  await assert.rejects(p.publish(account, { text: 'x', media: [png(), png()], marker: marker(), options: opts() }), isKind('permanent', /media_refused/));
});

test('flair: a subreddit that requires one is read first (link_flair_v2) and the choice is checked before submitting', async () => {
  const before = s.posts.length;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'flaired' }) }), (e) => isKind('permanent', /flair_required/)(e) && /Discussion \(0a1b2c3d/.test((e as Error).message));
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'flaired', flairId: '0a1b2c3d-0000-4000-8000-00000000000f' }) }), isKind('permanent', /bad_flair/));
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'flaired', flairId: FLAIR.id, flairText: 'mine' }) }), isKind('permanent', /bad_flair/));
  assert.equal(s.posts.length, before, 'nothing submitted');
  await p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'flaired', flairId: EDITABLE.id, flairText: 'mine' }) });
  assert.equal(raw().flair_id, EDITABLE.id);
  assert.equal(raw().flair_text, 'mine');
});

test('a first comment and thread parts are comments, each answering the part before', async () => {
  const post = await p.publish(account, { text: 'root', media: [], marker: marker(), options: opts() });
  const c1 = await p.publish(account, { text: 'first comment', media: [], marker: marker(), replyTo: post.remoteId });
  const c2 = await p.publish(account, { text: 'second', media: [], marker: marker(), replyTo: c1.remoteId });
  assert.match(c1.remoteId, /^t1_/);
  assert.equal(last().replyTo, c1.remoteId);
  assert.match(c2.url!, /\/comments\//);
  await assert.rejects(p.publish(account, { text: 'x'.repeat(10_001), media: [], marker: marker(), replyTo: post.remoteId }), isKind('permanent', /refused_before_sending/));
  const f = await p.metrics!(account, post.remoteId);
  assert.equal(f.replies, 2);
});

test('options and subreddit rules are checked before any submit', async () => {
  assert.deepEqual(redditOptionProblems(opts()), []);
  assert.match(redditOptionProblems({ title: 't' }).join(), /subreddit is required/);
  assert.match(redditOptionProblems({ subreddit: 'x_y', title: '' }).join(), /title is required/);
  assert.match(redditOptionProblems({ subreddit: 'abc', title: 'x'.repeat(301) }).join(), /at most 300/);
  assert.match(redditOptionProblems({ subreddit: 'abc', title: 't', flairText: 'x' }).join(), /goes with a flairId/);
  const before = s.posts.length;
  await assert.rejects(p.publish(account, { text: 'body', media: [], marker: marker(), options: opts({ subreddit: 'linksonly', url: 'https://example.com' }) }), isKind('permanent', /refused_before_sending/));
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: opts({ url: 'https://example.com' }) }), isKind('permanent'));
  assert.equal(s.posts.length, before);
});

test('every error class: 404, json.errors refusals, RATELIMIT with its wait, 429 with X-Ratelimit-Reset, headroom, 401, 5xx, malformed', async () => {
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'nowhere' }) }), isKind('permanent', undefined, 404));
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts({ subreddit: 'closed' }) }), isKind('permanent', /SUBREDDIT_NOTALLOWED/));
  redditActionLimit(s, 1);
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts() }), (e) => isKind('rate_limited', /RATELIMIT/)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 300_500);
  assert.equal(waitInWords('Take a break for 5 minutes before trying again.'), 300_000);
  assert.equal(resetWaitMs({ 'x-ratelimit-reset': '42' }), 42_000);

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 9;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts() }), (e) => isKind('rate_limited', undefined, 429)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 9000);
  // Too few calls left in the window to finish a post: wait for the window, nothing submitted.
  const before = s.posts.length;
  redditRateWindow(s, 'reddit_u1', 2, 77);
  await assert.rejects(p.publish(account, { text: 'x', media: [png()], marker: marker(), options: opts() }), (e) => isKind('rate_limited', /ratelimit_window_low/)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 77_000);
  assert.equal(s.posts.length, before);
  redditRateWindow(s, 'reddit_u1', 0, 30);
  await assert.rejects(p.metrics!(account, 't3_zzz'), (e) => isKind('rate_limited', undefined, 429)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 30_000);
  redditRateWindow(s, 'reddit_u1', 1000, 600);

  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('transient', undefined, 500));
  s.knobs.errorRate = 0;
  await assert.rejects(p.publish({ ...account, tokens: { accessToken: 'dead' } }, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('auth_expired', undefined, 401));
  const scoped = { ...account, tokens: { ...account.tokens } };
  await h.sim.app.inject({ method: 'POST', url: '/_sim/reddit/revoke-all', payload: {} });
  await assert.rejects(p.refresh(scoped), isKind('auth_expired', /invalid_grant/));
  account = await asAccount((await authorize(p)).tokens);
});

test('a malformed answer to a creating call is an unknown outcome; to a read, transient', async () => {
  const post = await p.publish(account, { text: 'root', media: [], marker: marker(), options: opts() });
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(account, { text: 'a comment', media: [], marker: marker(), replyTo: post.remoteId }), isKind('unknown_outcome', /malformed_response/));
  s.knobs.malformedNext = 1;
  await assert.rejects(p.metrics!(account, post.remoteId), isKind('transient', /malformed_response/));
});

test('accept, then time out: unknown outcome; findByMarker finds the post (and a comment) among the account\'s own, also after a restart', async () => {
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'lost answer', media: [], marker: m, options: opts({ title: 'Lost answer' }) }), isKind('unknown_outcome'));
  const stored = last();
  const found = await p.findByMarker(account, m, since());
  assert.equal(found!.remoteId, stored.id);
  assert.deepEqual(await make(journal).findByMarker(account, m, since()), found, 'a restarted adapter on the same journal');
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null);

  const cm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'lost comment', media: [], marker: cm, replyTo: stored.id }), isKind('unknown_outcome'));
  assert.equal((await p.findByMarker(account, cm, since()))!.remoteId, last().id);

  // Refused by Reddit: recorded, absent, so a retry is safe.
  const refused = marker();
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: refused, options: opts({ subreddit: 'closed', title: 'Refused' }) }));
  assert.equal(await p.findByMarker(account, refused, since()), null);
});

test('figures: score and comments; account figures: the profile\'s subscribers', async () => {
  const post = await p.publish(account, { text: 'vote', media: [], marker: marker(), options: opts() });
  redditScore(s, post.remoteId, 42, 7);
  const f = await p.metrics!(account, post.remoteId);
  assert.equal(f.likes, 42);
  assert.equal(f.replies, 7);
  const a = await p.accountMetrics!(account, { insights: false });
  assert.equal(typeof a.now.followers, 'number');
  assert.deepEqual(a.days, []);
});

test('revocation: revoke_token ends the tokens', async () => {
  const a = await asAccount((await authorize(p)).tokens);
  await p.revoke!(a);
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: opts() }), isKind('auth_expired', undefined, 401));
  await assert.rejects(p.refresh(a), isKind('auth_expired', /invalid_grant/));
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  assert.match(page, /allin_social_api_calls_total\{[^}]*provider="reddit"[^}]*operation="submit"/);
  assert.match(page, /operation="media_upload"/);
});
