// The Slack adapter against the simulator's Slack (tools/provider-sim/networks/slack.ts): installing the app with
// OAuth v2 (with and without token rotation), the workspace as the account, messages as blocks with a metadata
// marker, files through the external upload flow, thread replies, every error class ({ok:false, error} codes and
// HTTP 429 with Retry-After), reconciliation by the marker after "accept, then time out", figures and revocation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, type Harness } from './harness.ts';
import { isKind, mp4, png } from '../support/credentials.ts';
import { createSlack, escapeText, parseRemote, sections, slackOptionProblems } from '../../src/providers/slack.ts';
import { MemorySendJournal } from '../../src/providers/send-journal.ts';
import type { AccountRef, Provider, TokenSet } from '../../src/providers/types.ts';
import { slackChannel, slackChannelOf, slackReact, slackSimOptions, type SimSlackChannel } from '../../tools/provider-sim/networks/slack.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';

let h: Harness;
let p: Provider;
let s: NetworkState;
let journal: MemorySendJournal;
let general: SimSlackChannel;
let account: AccountRef;

const CLIENT = { clientId: 'allin-slack', clientSecret: 'slack-secret' };
const make = (j = journal) => createSlack({ http: h.http, settings: { ...CLIENT, baseUrls: { api: `${h.sim.base('slack')}/api`, auth: h.sim.base('slack') } }, journal: j });

before(async () => {
  h = await harness();
  s = h.sim.state('slack');
  s.apps.set(CLIENT.clientId, { ...CLIENT, redirectUris: [], name: 'AllIN' });
  journal = new MemorySendJournal();
  p = make();
  general = slackChannel(s, { name: 'general' });
  slackChannel(s, { name: 'random' });
  const { tokens } = await authorize(p);
  account = await asAccount(tokens);
});
after(() => h.stop());

async function asAccount(tokens: TokenSet): Promise<AccountRef> {
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
}

let markers = 0;
const marker = () => `slack-m-${++markers}`;
const since = () => new Date(Date.now() - 60_000);
const sent = () => s.posts.length;
const calls = (method: string) => s.log.filter((l) => l.path.split('?')[0] === `/slack/api/${method}`).length;

test('install with OAuth v2: bot scopes, a bot token that does not expire, the workspace as the one account', async () => {
  const url = new URL(await p.authorizationUrl!({ redirectUri: 'http://127.0.0.1:9/cb', state: 'st', codeChallenge: 'c' }));
  assert.equal(url.pathname, '/slack/oauth/v2/authorize');
  assert.equal(url.searchParams.get('scope'), 'chat:write,files:write,channels:read,groups:read,channels:history,groups:history,reactions:read');
  assert.equal(url.searchParams.get('client_id'), CLIENT.clientId);
  assert.equal(account.tokens.expiresAt, undefined);
  assert.equal(account.tokens.refreshToken, undefined);
  assert.ok(account.tokens.scope!.includes('chat:write'));
  assert.equal(account.externalId, 'TU1');
  assert.equal(account.data.url, 'https://slack-u1.slack.com/');
  // Refresh without rotation checks the token and keeps it.
  assert.deepEqual(await p.refresh(account), account.tokens);
});

test('connect refusals: denied consent, a reused code, a wrong secret', async () => {
  s.knobs.denyConsent = true;
  const denied = await authorize(p);
  s.knobs.denyConsent = false;
  assert.equal(denied.redirect.searchParams.get('error'), 'access_denied');
  await assert.rejects(p.exchangeCode!({ code: 'nope', redirectUri: 'http://127.0.0.1:9/api/connect/callback', codeVerifier: 'v' }), isKind('auth_expired', /invalid_code/));
  const wrong = createSlack({ http: h.http, settings: { clientId: CLIENT.clientId, clientSecret: 'wrong', baseUrls: { api: `${h.sim.base('slack')}/api`, auth: h.sim.base('slack') } } });
  await assert.rejects(authorize(wrong), isKind('permanent', /bad_client_secret/));
});

test('token rotation: a 12-hour token and a refresh token, rotated on refresh; the old one is dead', async () => {
  slackSimOptions(s).tokenRotation = true;
  try {
    const { tokens } = await authorize(p);
    assert.ok(tokens.refreshToken && tokens.expiresAt);
    const a = await asAccount(tokens);
    const next = await p.refresh(a);
    assert.notEqual(next.accessToken, tokens.accessToken);
    assert.notEqual(next.refreshToken, tokens.refreshToken);
    await assert.rejects(p.refresh(a), isKind('auth_expired', /invalid_refresh_token/));
    const post = await p.publish({ ...a, tokens: next }, { text: 'rotated', media: [], marker: marker(), options: { channel: '#general' } });
    assert.ok(post.remoteId);
  } finally {
    slackSimOptions(s).tokenRotation = false;
  }
});

test('publish text: escaped, as mrkdwn sections with the text as fallback, a metadata marker, a link to the message', async () => {
  const m = marker();
  const post = await p.publish(account, { text: 'Tom & Jerry <3 https://example.com', media: [], marker: m, options: { channel: '#general' } });
  const { channel, ts } = parseRemote(post.remoteId)!;
  assert.equal(channel, general.id);
  assert.equal(post.url, `https://slack-u1.slack.com/archives/${general.id}/p${ts.replace('.', '')}`);
  const stored = slackChannelOf(s, general.id)!.messages.at(-1)!;
  assert.equal(stored.text, 'Tom &amp; Jerry &lt;3 https://example.com');
  assert.deepEqual(stored.blocks, [{ type: 'section', text: { type: 'mrkdwn', text: 'Tom &amp; Jerry &lt;3 https://example.com' } }]);
  assert.deepEqual(stored.metadata, { event_type: 'allin_post', event_payload: { marker: m } });
  // By id, the channel list is not read.
  const before = calls('users.conversations');
  await p.publish(account, { text: 'by id', media: [], marker: marker(), options: { channel: general.id } });
  assert.equal(calls('users.conversations'), before);
});

test('long text is cut into sections of at most 3,000 characters at a space; custom blocks go as given', async () => {
  const long = `${'word '.repeat(700)}\n\n${'more '.repeat(500)}`;
  const parts = sections(long);
  assert.ok(parts.length >= 2);
  for (const b of parts) assert.ok(((b.text as { text: string }).text).length <= 3000);
  assert.equal(escapeText('<@U1>'), '&lt;@U1&gt;');
  await p.publish(account, { text: long, media: [], marker: marker(), options: { channel: '#general' } });
  assert.equal(slackChannelOf(s, general.id)!.messages.at(-1)!.blocks!.length, parts.length);
  const blocks = [{ type: 'header', text: { type: 'plain_text', text: 'Launch' } }, { type: 'divider' }];
  await p.publish(account, { text: 'Launch day', media: [], marker: marker(), options: { channel: '#general', blocks } });
  const last = slackChannelOf(s, general.id)!.messages.at(-1)!;
  assert.deepEqual(last.blocks, blocks);
  assert.equal(last.text, 'Launch day');
});

test('files: upload URL, bytes, then one message sharing them with the text as its comment; alt text goes along', async () => {
  const before = sent();
  const post = await p.publish(account, { text: 'two files', media: [png({ altText: 'a grey square' }), mp4()], marker: marker(), options: { channel: '#general' } });
  assert.equal(sent(), before + 1);
  const msg = slackChannelOf(s, general.id)!.messages.at(-1)!;
  assert.equal(parseRemote(post.remoteId)!.ts, msg.ts);
  assert.equal(msg.text, 'two files');
  assert.deepEqual(msg.files!.map((f) => f.mimetype), ['image/png', 'video/mp4']);
  assert.equal(msg.files![0]!.alt, 'a grey square');
  assert.equal(calls('files.getUploadURLExternal'), 2);
  await assert.rejects(p.publish(account, { text: 'many', media: Array.from({ length: 11 }, () => png()), marker: marker(), options: { channel: '#general' } }), isKind('permanent', /media_refused/));
});

test('a thread and a first comment are replies under the first message (thread_ts is always the root\'s)', async () => {
  const root = await p.publish(account, { text: 'root', media: [], marker: marker(), options: { channel: '#general' } });
  const r1 = await p.publish(account, { text: 'reply one', media: [], marker: marker(), replyTo: root.remoteId, options: { channel: '#general' } });
  const r2 = await p.publish(account, { text: 'reply two', media: [png()], marker: marker(), replyTo: r1.remoteId, options: { channel: '#general', broadcast: true } });
  const rootTs = parseRemote(root.remoteId)!.ts;
  assert.equal(parseRemote(r1.remoteId)!.root, rootTs);
  assert.equal(parseRemote(r2.remoteId)!.root, rootTs);
  const msgs = slackChannelOf(s, general.id)!.messages;
  assert.equal(msgs.find((m) => m.ts === parseRemote(r2.remoteId)!.ts)!.threadTs, rootTs, 'a reply to a reply goes under the root');
  assert.match(r1.url!, /\?thread_ts=/);
  const figures = await p.metrics!(account, root.remoteId);
  assert.equal(figures.replies, 2);
});

test('options are checked before any request, the same way the post is checked when saved', async () => {
  assert.deepEqual(slackOptionProblems({ channel: '#general' }), []);
  assert.match(slackOptionProblems({}).join(), /channel is required/);
  assert.match(slackOptionProblems({ channel: 'Not A Channel!' }).join(), /name \(#general\) or id/);
  assert.match(slackOptionProblems({ channel: '#general', blocks: [{}] }).join(), /not a Block Kit block/);
  assert.match(slackOptionProblems({ channel: '#general', pin: true }).join(), /"pin" is not an option/);
  const before = s.log.length;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: '#general', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) } }), isKind('permanent', /bad_option/));
  await assert.rejects(p.publish(account, { text: 'x'.repeat(40_001), media: [], marker: marker(), options: { channel: '#general' } }), isKind('permanent', /refused_before_sending/));
  assert.equal(s.log.length, before, 'no request');
});

test('every error class: Slack\'s {ok:false} codes, 429 with Retry-After, 5xx, a malformed answer', async () => {
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: '#nowhere' } }), isKind('permanent', /channel_not_found/));
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: 'C0NOSUCH1' } }), isKind('permanent', /channel_not_found/));
  const outside = slackChannel(s, { name: 'outside', member: false });
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: outside.id } }), isKind('permanent', /not_in_channel/));
  const archived = slackChannel(s, { name: 'old', archived: true });
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: archived.id } }), isKind('permanent', /is_archived/));
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: general.id, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] } }), isKind('permanent', /invalid_blocks/));

  s.knobs.rateLimitNext = 1;
  s.knobs.retryAfterSeconds = 7;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: general.id } }), (e) => isKind('rate_limited', /ratelimited/, 429)(e) && (e as { details: { retryAfterMs?: number } }).details.retryAfterMs === 7000);
  s.knobs.errorRate = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: general.id } }), isKind('transient', undefined, 500));
  s.knobs.errorRate = 0;
  s.knobs.malformedNext = 1;
  await assert.rejects(p.publish(account, { text: 'x', media: [], marker: marker(), options: { channel: general.id } }), isKind('unknown_outcome', /malformed_response/));

  const noScope = await authorize(p).then(async () => {
    s.knobs.declineScopes = ['reactions:read'];
    try { return (await authorize(p)).tokens; } finally { s.knobs.declineScopes = []; }
  });
  const post = await p.publish(account, { text: 'figures', media: [], marker: marker(), options: { channel: general.id } });
  await assert.rejects(p.metrics!({ ...account, tokens: noScope }, post.remoteId), isKind('permanent', /missing_scope/));

  await h.sim.app.inject({ method: 'POST', url: '/_sim/slack/expire-tokens' });
  const { tokens } = await authorize(p);
  const a = await asAccount(tokens);
  await h.sim.app.inject({ method: 'POST', url: '/_sim/slack/revoke-all', payload: {} });
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: { channel: general.id } }), isKind('auth_expired', /token_revoked/));
  await assert.rejects(p.refresh(a), isKind('auth_expired', /token_revoked/));
  account = await asAccount((await authorize(p)).tokens);
});

test('accept, then time out: unknown outcome; findByMarker finds the message by its metadata, also after a restart; a retry is not needed', async () => {
  const m = marker();
  s.knobs.acceptThenHangNext = 1;
  const before = sent();
  await assert.rejects(p.publish(account, { text: 'did it arrive?', media: [], marker: m, options: { channel: '#general' } }), isKind('unknown_outcome'));
  assert.equal(sent(), before + 1);
  const found = await p.findByMarker(account, m, since());
  const stored = s.posts.at(-1)!;
  assert.equal(found!.remoteId, stored.id);
  const restarted = make(journal);
  assert.deepEqual(await restarted.findByMarker(account, m, since()), found);
  assert.equal(await p.findByMarker(account, 'never-sent', since()), null, 'no record: nothing was sent');

  // A send refused by Slack is recorded but absent from the channel: not found, a retry is safe.
  const refused = marker();
  await assert.rejects(p.publish(account, { text: 'x'.repeat(10), media: [], marker: refused, options: { channel: general.id, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] } }));
  assert.equal(await p.findByMarker(account, refused, since()), null);

  // Files: found by their ids; a thread reply: found in its thread.
  const fm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'file lost', media: [png()], marker: fm, options: { channel: '#general' } }), isKind('unknown_outcome'));
  assert.equal((await p.findByMarker(account, fm, since()))!.remoteId, s.posts.at(-1)!.id);
  const root = await p.publish(account, { text: 'root', media: [], marker: marker(), options: { channel: '#general' } });
  const rm = marker();
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(p.publish(account, { text: 'reply lost', media: [], marker: rm, replyTo: root.remoteId, options: { channel: '#general' } }), isKind('unknown_outcome'));
  const reply = await p.findByMarker(account, rm, since());
  assert.equal(parseRemote(reply!.remoteId)!.root, parseRemote(root.remoteId)!.ts);
});

test('figures: reactions summed as likes, replies counted', async () => {
  const post = await p.publish(account, { text: 'react to me', media: [], marker: marker(), options: { channel: '#general' } });
  const { channel, ts } = parseRemote(post.remoteId)!;
  slackReact(s, channel, ts, 'tada', 3);
  slackReact(s, channel, ts, 'heart', 2);
  const f = await p.metrics!(account, post.remoteId);
  assert.equal(f.likes, 5);
  assert.equal(f.replies, 0);
});

test('revocation: auth.revoke ends the token; revoking a dead token is fine', async () => {
  const a = await asAccount((await authorize(p)).tokens);
  await p.revoke!(a);
  await assert.rejects(p.publish(a, { text: 'x', media: [], marker: marker(), options: { channel: general.id } }), isKind('auth_expired'));
  await p.revoke!(a);
});

test('every call moved allin_social_api_calls_total', async () => {
  const page = await h.metrics.registry.metrics();
  assert.match(page, /allin_social_api_calls_total\{[^}]*provider="slack"[^}]*operation="chat\.postMessage"/);
  assert.match(page, /operation="files\.completeUploadExternal"/);
});
