// The LinkedIn adapter against the LinkedIn simulator module: OAuth without PKCE and with the secret in the
// form, the member and the Pages they administer, the versioned Posts, Images, Videos and Comments APIs,
// 422 DUPLICATE_POST, reading back for reconciliation, and LinkedIn's errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness } from './harness.ts';
import { greyPng } from '../support/fixtures.ts';
import { createLinkedIn, littleText, untilUtcMidnight } from '../../src/providers/linkedin.ts';
import { linkedInSimOptions } from '../../tools/provider-sim/networks/linkedin.ts';
import { pkcePair } from '../../src/providers/oauth2.ts';
import { ProviderError, type AccountRef, type ConnectedIdentity, type MediaItem, type Provider, type TokenSet } from '../../src/providers/types.ts';

let h: Harness;
let p: Provider;
const CLIENT = { clientId: 'allin-li', clientSecret: 'li-secret' };
/** Last month: always one of the versions LinkedIn keeps active. */
const activeVersion = () => {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};
const make = (over: { secret?: string; version?: string } = {}) => createLinkedIn({
  http: h.http,
  settings: { clientId: CLIENT.clientId, clientSecret: over.secret ?? CLIENT.clientSecret, baseUrls: { api: h.sim.base('linkedin'), auth: h.sim.base('linkedin'), version: over.version ?? activeVersion() } },
});

before(async () => {
  h = await harness();
  h.sim.state('linkedin').apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [REDIRECT], name: 'AllIN' });
  p = make();
});
after(() => h.stop());

const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
const reasonOf = (e: unknown) => (e instanceof ProviderError ? e.details.reason : undefined);
const ref = (id: ConnectedIdentity, tokens: TokenSet): AccountRef => ({ externalId: id.externalId, username: id.username, tokens, data: id.data ?? {} });
/** The member and the Page they are ADMINISTRATOR of. */
const accounts = async (loginHint?: string): Promise<{ member: AccountRef; page: AccountRef; tokens: TokenSet }> => {
  const { tokens } = await authorize(p, loginHint ? { loginHint } : {});
  const ids = await p.identities(tokens);
  return { member: ref(ids[0]!, tokens), page: ref(ids.find((i) => i.externalId === 'urn:li:organization:2414183')!, tokens), tokens };
};
const item = (mimeType: string, bytes: Buffer, altText?: string): MediaItem => ({ mimeType, bytes: bytes.length, read: async () => bytes, ...(altText ? { altText } : {}) });
const mp4 = (size: number) => {
  const b = Buffer.alloc(size, 3);
  b.writeUInt32BE(24, 0);
  b.write('ftypisom', 4, 'latin1');
  return b;
};
const since = () => new Date(Date.now() - 60_000);
const posts = () => h.sim.state('linkedin').posts;
const raw = (urn: string) => posts().find((x) => x.id === urn)!.raw as Record<string, unknown>;
let seq = 0;
const unique = (s: string) => `${s} ${++seq}-${Date.now()}`;

test('connect: no PKCE, the secret in the form; member and administered Pages are the identities', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/linkedin/oauth/v2/authorization');
  assert.equal(url.searchParams.get('code_challenge'), null);
  assert.deepEqual(url.searchParams.get('scope')!.split(' '), ['openid', 'profile', 'w_member_social', 'w_organization_social', 'r_organization_social', 'rw_organization_admin']);

  const { tokens, redirect } = await authorize(p);
  assert.equal(redirect.searchParams.get('state'), 'state-123');
  const day = 86_400_000;
  assert.ok(Math.abs(tokens.expiresAt!.getTime() - Date.now() - 60 * day) < 60_000, '60-day access token');
  assert.ok(tokens.refreshToken);
  assert.ok(Math.abs(tokens.refreshExpiresAt!.getTime() - Date.now() - 365 * day) < 60_000, '365-day refresh token');
  assert.ok(tokens.scope?.includes('w_member_social'));

  const ids = await p.identities(tokens);
  assert.equal(ids.length, 3, 'the member, the ADMINISTRATOR Page and the CONTENT_ADMINISTRATOR Page; not the ANALYST or REQUESTED ones');
  assert.equal(ids[0]!.kind, 'person');
  assert.match(ids[0]!.externalId, /^urn:li:person:[\w-]{10}$/);
  assert.equal(ids[0]!.displayName, 'Sandbox linkedin u1');
  assert.ok(ids[0]!.avatarUrl);
  assert.deepEqual(ids.slice(1).map((i) => [i.kind, i.externalId, i.username, i.displayName, i.profileUrl, i.data?.role]), [
    ['organization', 'urn:li:organization:2414183', 'sandbox-industries', 'Sandbox Industries', 'https://www.linkedin.com/company/sandbox-industries', 'ADMINISTRATOR'],
    ['organization', 'urn:li:organization:5515715', 'sandbox-labs', 'Sandbox Labs', 'https://www.linkedin.com/company/sandbox-labs', 'CONTENT_ADMINISTRATOR'],
  ]);
});

test('connect: a member-only grant gives the member alone (from the scope, or from the ACL finder\'s 403)', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: REDIRECT, state: 's', codeChallenge: 'c' }));
  url.searchParams.set('scope', 'openid profile w_member_social');
  const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  const tokens = await p.exchangeCode!({ code, redirectUri: REDIRECT, codeVerifier: pkcePair().verifier });
  assert.equal((await p.identities(tokens)).length, 1);
  const { scope: _scope, ...unscoped } = tokens;
  assert.equal((await p.identities(unscoped)).length, 1);
});

test('connect: a wrong client secret is AllIN\'s configuration (permanent), consent refused comes back on the redirect', async () => {
  await assert.rejects(authorize(make({ secret: 'nope' })), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'invalid_client');
  h.sim.state('linkedin').knobs.denyConsent = true;
  try {
    const { redirect } = await authorize(p);
    assert.equal(redirect.searchParams.get('error'), 'user_cancelled_authorize');
  } finally {
    h.sim.state('linkedin').knobs.denyConsent = false;
  }
});

test('refresh: a new access token, the same refresh token (not rotated) with its original expiry', async () => {
  const { member } = await accounts();
  const first = await p.refresh(member);
  const second = await p.refresh(member);
  assert.equal(first.refreshToken, member.tokens.refreshToken);
  assert.equal(second.refreshToken, member.tokens.refreshToken);
  assert.notEqual(first.accessToken, member.tokens.accessToken);
  assert.ok(first.refreshExpiresAt!.getTime() <= member.tokens.refreshExpiresAt!.getTime() + 1000);
  assert.equal((await p.identities(first))[0]!.externalId, member.externalId);
});

test('refresh: an app without programmatic refresh tokens gets none, and refresh says reconnect', async () => {
  const opts = linkedInSimOptions(h.sim.state('linkedin'));
  opts.programmaticRefreshTokens = false;
  try {
    const { member } = await accounts();
    assert.equal(member.tokens.refreshToken, undefined);
    await assert.rejects(p.refresh(member), (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'no_refresh_token');
  } finally {
    opts.programmaticRefreshTokens = true;
  }
  await assert.rejects(p.refresh({ externalId: 'x', username: 'x', data: {}, tokens: { accessToken: 'a', refreshToken: 'not-a-token' } }),
    (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'invalid_grant');
});

test('revoke: the token stops working (REVOKED_ACCESS_TOKEN)', async () => {
  const { member } = await accounts();
  await p.revoke!(member);
  await assert.rejects(p.identities(member.tokens), (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'REVOKED_ACCESS_TOKEN');
});

test('publish text as the member: Posts API, Little Text Format commentary, URN from x-restli-id', async () => {
  const { member } = await accounts();
  const text = unique('Hello (world) #AllIN with @[Sandbox Industries](urn:li:organization:2414183) and snake_case*');
  const post = await p.publish(member, { text, media: [], marker: 'li-text' });
  assert.match(post.remoteId, /^urn:li:share:\d+$/);
  assert.equal(post.url, `https://www.linkedin.com/feed/update/${post.remoteId}`);
  const body = raw(post.remoteId);
  assert.equal(body.commentary, littleText(text));
  assert.match(String(body.commentary), /Hello \\\(world\\\) \\#AllIN with @\[Sandbox Industries\]\(urn:li:organization:2414183\) and snake\\_case\\\*/);
  assert.equal(body.author, member.externalId);
  assert.deepEqual({ visibility: body.visibility, distribution: body.distribution, lifecycleState: body.lifecycleState },
    { visibility: 'PUBLIC', distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] }, lifecycleState: 'PUBLISHED' });
});

test('publish images: Images API initializeUpload, one PUT, AVAILABLE; one image as media, several as multiImage', async () => {
  const { member } = await accounts();
  const s = h.sim.state('linkedin');
  const from = s.log.length;
  const one = await p.publish(member, { text: unique('one picture'), marker: 'li-img1', media: [item('image/png', greyPng(1, 1), 'a red dot')] });
  const content = raw(one.remoteId).content as { media: { id: string; altText: string } };
  assert.match(content.media.id, /^urn:li:image:/);
  assert.equal(content.media.altText, 'a red dot');
  const calls = s.log.slice(from).map((l) => `${l.method} ${l.path.split('?')[0]!.replace(/urn%3Ali%3Aimage%3A\w+|[0-9a-f]{24}/g, ':id')}`);
  assert.deepEqual(calls.slice(0, 4), ['POST /linkedin/rest/images', 'PUT /linkedin/dms-uploads/:id', 'GET /linkedin/rest/images/:id', 'GET /linkedin/rest/images/:id']);

  const three = await p.publish(member, { text: unique('three pictures'), marker: 'li-img3', media: [item('image/png', greyPng(1, 1)), item('image/png', greyPng(1, 1)), item('image/png', greyPng(1, 1))] });
  const multi = raw(three.remoteId).content as { multiImage: { images: { id: string }[] } };
  assert.equal(multi.multiImage.images.length, 3);
});

test('publish a video: Videos API, 4 MB parts with their ETags, finalizeUpload, polling until AVAILABLE', async () => {
  const { member } = await accounts();
  const s = h.sim.state('linkedin');
  const from = s.log.length;
  const post = await p.publish(member, { text: unique('a video'), marker: 'li-video', media: [item('video/mp4', mp4(4.5 * 1024 * 1024))] });
  assert.match(post.remoteId, /^urn:li:ugcPost:/);
  assert.match((raw(post.remoteId).content as { media: { id: string } }).media.id, /^urn:li:video:/);
  const paths = s.log.slice(from).map((l) => `${l.method} ${l.path.replace(/urn%3Ali%3Avideo%3A\w+|[0-9a-f]{24}/g, ':id')}`);
  assert.deepEqual(paths.slice(0, 4), [
    'POST /linkedin/rest/videos?action=initializeUpload', 'PUT /linkedin/dms-uploads/:id/0', 'PUT /linkedin/dms-uploads/:id/1', 'POST /linkedin/rest/videos?action=finalizeUpload',
  ]);
  await assert.rejects(p.publish(member, { text: unique('not a video'), marker: 'li-badvideo', media: [item('video/mp4', Buffer.alloc(100 * 1024, 1))] }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'media_processing_failed');
});

test('publish as a Page the member administers', async () => {
  const { page } = await accounts();
  const post = await p.publish(page, { text: unique('news from the company'), media: [item('image/png', greyPng(1, 1))], marker: 'li-org' });
  assert.equal(raw(post.remoteId).author, 'urn:li:organization:2414183');
});

test('first comment: POST /rest/socialActions/{post}/comments, plain text', async () => {
  const { member, page } = await accounts();
  const parent = await p.publish(page, { text: unique('the post'), media: [], marker: 'li-parent' });
  const c = await p.publish(member, { text: 'First comment (with parentheses)', media: [], replyTo: parent.remoteId, marker: 'li-comment' });
  assert.match(c.remoteId, /^urn:li:comment:\(urn:li:share:\d+,\d+\)$/);
  assert.equal(c.url, parent.url);
  const stored = posts().find((x) => x.id === c.remoteId)!;
  assert.equal(stored.replyTo, parent.remoteId);
  assert.deepEqual(stored.raw, { actor: member.externalId, object: parent.remoteId, message: { text: 'First comment (with parentheses)' } });
  await assert.rejects(p.publish(member, { text: 'x', media: [item('image/png', greyPng(1, 1))], replyTo: parent.remoteId, marker: 'li-cimg' }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'media_not_allowed');
});

test('422 DUPLICATE_POST: a new post with the same text is refused, naming the earlier one', async () => {
  const { member } = await accounts();
  const text = unique('said once');
  const first = await p.publish(member, { text, media: [], marker: 'li-d1' });
  await assert.rejects(p.publish(member, { text, media: [], marker: 'li-d2' }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === `duplicate_post ${first.remoteId}` && (e as Error).message.includes(first.remoteId));
});

test('accept, then time out, as a Page: unknown outcome; findByMarker reads the Page\'s posts and finds it', async () => {
  const { page } = await accounts();
  const s = h.sim.state('linkedin');
  const text = unique('Quarterly results [draft] are out');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(page, { text, media: [], marker: 'li-hang-org' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = posts().filter((x) => x.text === littleText(text));
  assert.equal(stored.length, 1);
  assert.deepEqual(await p.findByMarker(page, 'li-hang-org', since()), { remoteId: stored[0]!.id, url: `https://www.linkedin.com/feed/update/${stored[0]!.id}` });

  // The same for a first comment.
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(page, { text: 'a comment that hung', media: [], replyTo: stored[0]!.id, marker: 'li-hang-comment' }), (e) => kindOf(e) === 'unknown_outcome');
  const comment = posts().find((x) => x.replyTo === stored[0]!.id)!;
  assert.equal((await p.findByMarker(page, 'li-hang-comment', since()))!.remoteId, comment.id);

  // A send LinkedIn refused is not found; a marker this process never sent cannot be known.
  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(page, { text: unique('refused'), media: [], marker: 'li-refused' }), (e) => kindOf(e) === 'rate_limited');
  assert.equal(await p.findByMarker(page, 'li-refused', since()), null);
  await assert.rejects(p.findByMarker(page, 'li-never', since()), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'no_record_of_marker');
});

test('accept, then time out, as a member: reading back is restricted, so unknown; a retry under the same marker resolves through 422 to the one post', async () => {
  const { member } = await accounts();
  const s = h.sim.state('linkedin');
  const text = unique('member post that hung');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(member, { text, media: [], marker: 'li-hang-member' }), (e) => kindOf(e) === 'unknown_outcome');
  await assert.rejects(p.findByMarker(member, 'li-hang-member', since()), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'cannot_read_back');
  const again = await p.publish(member, { text, media: [], marker: 'li-hang-member' });
  const stored = posts().filter((x) => x.text === littleText(text));
  assert.equal(stored.length, 1, 'exactly one post');
  assert.equal(again.remoteId, stored[0]!.id);
});

test('metrics: a Page post\'s share statistics; a member post\'s need a scope AllIN does not request', async () => {
  const { member, page } = await accounts();
  const post = await p.publish(page, { text: unique('measure me'), media: [], marker: 'li-m' });
  await p.publish(member, { text: 'nice', media: [], replyTo: post.remoteId, marker: 'li-m-c' });
  const m = await p.metrics!(page, post.remoteId);
  assert.equal(m.replies, 1);
  assert.equal(typeof m.likes, 'number');
  assert.equal(typeof m.impressions, 'number');
  assert.equal(typeof m.reposts, 'number');
  await assert.rejects(p.metrics!(member, post.remoteId), (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'scope_not_granted');
});

test('error classes: 401, 403, 426, 429 until midnight UTC, 5xx, timeout, malformed', async () => {
  const { member, tokens } = await accounts();
  const s = h.sim.state('linkedin');
  await assert.rejects(p.publish({ ...member, tokens: { accessToken: 'bogus' } }, { text: 'x', media: [], marker: 'e1' }),
    (e) => kindOf(e) === 'auth_expired' && reasonOf(e) === 'INVALID_ACCESS_TOKEN');
  // 403: a Page where the member is only an ANALYST.
  await assert.rejects(p.publish({ externalId: 'urn:li:organization:7777777', username: 'sandbox-analytics', tokens, data: {} }, { text: unique('x'), media: [], marker: 'e2' }),
    (e) => kindOf(e) === 'permanent' && (e as ProviderError).details.status === 403);
  // 426: a LinkedIn-Version past its sunset.
  await assert.rejects(make({ version: '202301' }).publish(member, { text: unique('x'), media: [], marker: 'e3' }),
    (e) => kindOf(e) === 'permanent' && reasonOf(e) === 'NONEXISTENT_VERSION');

  s.knobs.rateLimitNext = 1;
  await assert.rejects(p.publish(member, { text: unique('x'), media: [], marker: 'e4' }), (e) => {
    const wait = (e as ProviderError).details.retryAfterMs ?? -1;
    return kindOf(e) === 'rate_limited' && Math.abs(wait - untilUtcMidnight()) < 5000;
  });

  s.knobs.errorRate = 1;
  try {
    await assert.rejects(p.publish(member, { text: unique('x'), media: [], marker: 'e5' }), (e) => kindOf(e) === 'transient' && (e as ProviderError).details.status === 500);
  } finally {
    s.knobs.errorRate = 0;
  }

  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(member, { text: unique('accepted'), media: [], marker: 'e6' }), (e) => kindOf(e) === 'unknown_outcome');

  // A 2xx without the x-restli-id header (or with an unreadable body) may still be a created post.
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(member, { text: unique('x'), media: [], marker: 'e7' }), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'malformed_response');
  s.knobs.malformedNext = 1;
  await assert.rejects(p.identities(tokens), (e) => kindOf(e) === 'transient' && reasonOf(e) === 'malformed_response');
  // Last: the timed-out requests are still inside the simulator for a while and would meet later knobs.
  s.knobs.latencyMs = 6000; // longer than the harness client waits (4 s)
  try {
    await assert.rejects(p.identities(tokens), (e) => kindOf(e) === 'transient' && reasonOf(e) === 'timeout');
  } finally {
    s.knobs.latencyMs = 0;
  }
});

test('Little Text Format escapes every reserved character outside mention tokens', () => {
  assert.equal(littleText('a\\b|c{d}e@f[g]h(i)j<k>l#m*n_o~p'), 'a\\\\b\\|c\\{d\\}e\\@f\\[g\\]h\\(i\\)j\\<k\\>l\\#m\\*n\\_o\\~p');
  assert.equal(littleText('hi @[Jane Doe](urn:li:person:abc123) (x)'), 'hi @[Jane Doe](urn:li:person:abc123) \\(x\\)');
});

test('every call moved allin_social_api_calls_total', async () => {
  const calls = await h.metrics.socialApiCalls.get();
  const publish = calls.values.filter((v) => v.labels.provider === 'linkedin' && v.labels.operation === 'publish');
  assert.ok(publish.some((v) => v.labels.status === '201'));
  assert.ok(publish.some((v) => v.labels.status === '422'));
  assert.ok(publish.some((v) => v.labels.status === '429'));
});
