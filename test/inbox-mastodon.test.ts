// A Mastodon account's inbox end to end, against the Mastodon instance of the in-process simulator: connected
// through the real OAuth round trip (AllIN asks for read:notifications), a mention another user makes is
// collected by the collection job, shown in a conversation, and answered through the API, the reply published
// once on the instance as an answer to the mention; the mention is then liked and the reply deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually, simPosts } from './support/social.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';
import { socialAccounts } from '../src/modules/accounts/index.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { parseEncryptionKeys } from '../src/config.ts';
import { createMastodon } from '../src/providers/mastodon.ts';
import { HttpClient } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { quietLogger } from './support/env.ts';
import { authorize } from './providers/harness.ts';
import type { AccountRef } from '../src/providers/types.ts';

let t: TestApp;
let owner: Person;
let ws: string;
let host: string;
let accountId: string;
let http: HttpClient;
const inbox = () => t.running.services.inbox;
const db = () => t.running.services.db;

/** Connects the instance's user `login` to the workspace through the API, as a browser would. */
async function connectMastodon(login: string): Promise<string> {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'mastodon', host } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const url = new URL(start.body.authorizationUrl as string);
  assert.ok(url.searchParams.get('scope')!.split(' ').includes('read:notifications'), url.toString());
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${url.toString()}&login_hint=${login}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  const done = new URL(res.headers.get('location')!);
  assert.equal(done.searchParams.get('connected'), 'mastodon', done.toString());
  return done.searchParams.get('accounts')!.split(',')[0]!;
}

before(async () => {
  t = await startTestApp({
    ALLOW_PRIVATE_HOSTS: 'true', MASTODON_INSTANCE_URL: 'http://{host}/mastodon',
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000', PUBLISH_BACKOFF_BASE_MS: '200', PUBLISH_BACKOFF_MAX_MS: '1000',
  }, 'start');
  host = new URL(t.running.simulatorUrl!).host;
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
  accountId = await connectMastodon('shop');
  await inbox().scheduler.ensureCursors();
  http = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 4000, maxRetries: 1 });
});
after(async () => {
  await http.close();
  await t.stop();
});

test('a mention collected from the instance is answered from the inbox, published once as a reply to it', async () => {
  // Another user of the instance (connected to nothing in AllIN) mentions the shop.
  const fans = createMastodon({ http, settings: { baseUrls: { instance: 'http://{host}/mastodon' } } });
  const { tokens } = await authorize(fans, { host, loginHint: 'fan' });
  const [me] = await fans.identities(tokens, host);
  const fan: AccountRef = { externalId: me!.externalId, username: me!.username, tokens, host, data: me!.data ?? {} };
  const mention = await fans.publish(fan, { text: '@shop do you ship to Norway? <3', media: [], marker: 'fan-1' });

  const sources = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/sources`, owner.token);
  const mine = sources.accounts.find((a: { accountId: string }) => a.accountId === accountId);
  assert.equal(mine.collection, 'collected', JSON.stringify(mine));
  assert.deepEqual(mine.sources.map((x: { id: string }) => x.id), ['notifications']);

  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await inbox().collector.run(accountId, 'notifications')) === 'collected', 10_000, 'a collection run');

  const list = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?limit=100`, owner.token);
  let found: { conversationId: string; messageId: string } | undefined;
  for (const c of list.conversations) {
    const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${c.id}`, owner.token);
    const m = view.messages.find((x: { remoteId: string }) => x.remoteId === mention.remoteId);
    if (m) {
      assert.equal(m.text, '@shop do you ship to Norway? <3', 'the HTML content as plain text');
      found = { conversationId: c.id, messageId: m.id };
    }
  }
  assert.ok(found, 'the mention is in a conversation');

  const r = await t.call('POST', `/api/workspaces/${ws}/inbox/conversations/${found.conversationId}/replies`, { token: owner.token, body: { messageId: found.messageId, text: '@fan yes, in 3 days!' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await eventually(async () => {
    const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${found.conversationId}/replies/${r.body.id}`, owner.token);
    return ['published', 'failed', 'unknown'].includes(x.state) ? x : undefined;
  }, 30_000, 'the reply to be published');
  assert.equal(done.state, 'published', JSON.stringify(done));
  const answers = (await simPosts(t.running.simulatorUrl!, 'mastodon')).filter((x) => x.replyTo === mention.remoteId);
  assert.equal(answers.length, 1, 'published once');
  assert.equal(answers[0]!.id, done.remoteId);
  assert.equal(answers[0]!.text, '@fan yes, in 3 days!');

  // Collecting again brings nothing twice.
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await inbox().collector.run(accountId, 'notifications')) === 'collected', 10_000, 'a second collection run');
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${found.conversationId}`, owner.token);
  assert.equal(view.messages.filter((m: { remoteId: string }) => m.remoteId === mention.remoteId).length, 1);

  // The mention is liked (a favourite on the instance), and the reply, the account's own, deleted; the
  // mention itself cannot be: Mastodon deletes only the account's own statuses, and hides nothing.
  const act = async (messageId: string, action: string) => {
    const a = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/messages/${messageId}/${action}`, owner.token, undefined, 202);
    return eventually(async () => {
      const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/actions/${a.id}`, owner.token);
      return ['done', 'failed', 'unknown'].includes(x.state) ? x : undefined;
    }, 30_000, `the ${action} to end`);
  };
  assert.equal((await act(found.messageId, 'like')).state, 'done');
  assert.deepEqual(await fans.messageState!({ ...fan }, { remoteId: mention.remoteId, rootRemoteId: mention.remoteId, marker: 'x' }), { deleted: false, likedByMe: false }, 'liked by the shop, not the fan');
  const ownReply = view.messages.find((m: { remoteId: string }) => m.remoteId === done.remoteId);
  assert.equal(ownReply.direction, 'outbound');
  assert.equal((await act(ownReply.id, 'delete')).state, 'done');
  assert.equal((await simPosts(t.running.simulatorUrl!, 'mastodon')).some((x) => x.id === done.remoteId), false, 'deleted on the instance');
  for (const [action, code] of [['delete', 'CANNOT_DELETE'], ['hide', 'ACTION_NOT_SUPPORTED']] as const) {
    const refused = await t.call('POST', `/api/workspaces/${ws}/inbox/messages/${found.messageId}/${action}`, { token: owner.token });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, code);
  }
  const after = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${found.conversationId}`, owner.token);
  assert.equal(after.messages.find((m: { remoteId: string }) => m.remoteId === mention.remoteId).liked, true);
  assert.equal(after.messages.find((m: { remoteId: string }) => m.remoteId === done.remoteId).deleted, true);
});

test('an account connected before AllIN asked for read:notifications: the inbox says "reconnect to allow reading notifications", asks again only at its longest backoff, and the account still publishes', async () => {
  const old = await connectMastodon('old-timer');
  // A token as an older registration granted it: everything but read:notifications.
  const base = `${t.running.simulatorUrl!}/mastodon`;
  const redirect = 'http://127.0.0.1:9/cb';
  const app = await (await fetch(`${base}/api/v1/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'AllIN', redirect_uris: redirect, scopes: 'profile read:statuses write:statuses write:media' }) })).json() as { client_id: string; client_secret: string };
  const consent = await fetch(`${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: redirect, scope: 'profile read:statuses write:statuses write:media', login_hint: 'old-timer' })}`, { redirect: 'manual' });
  const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
  const token = await (await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: app.client_id, client_secret: app.client_secret }) })).json() as { access_token: string };
  const cipher = new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys);
  await db().update(socialAccounts).set({ accessTokenEnc: cipher.encrypt(token.access_token, old) }).where(eq(socialAccounts.id, old));

  await inbox().scheduler.ensureCursors();
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, old));
  const before = Date.now();
  assert.equal(await inbox().collector.run(old, 'notifications'), 'failed');
  // The account is not marked: publishing needs no notifications, so it goes on.
  const [acc] = await db().select().from(socialAccounts).where(eq(socialAccounts.id, old));
  assert.equal(acc!.status, 'active');
  const sources = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/sources`, owner.token);
  const mine = sources.accounts.find((a: { accountId: string }) => a.accountId === old);
  assert.match(mine.sources[0].lastError, /reconnect the account to allow reading notifications/);
  // No retry loop: the source is asked again only after the longest backoff (INBOX_BACKOFF_MAX_SECONDS).
  const [cur] = await db().select().from(inboxCollectionCursors).where(eq(inboxCollectionCursors.accountId, old));
  assert.ok(cur!.nextPollAt.getTime() >= before + t.running.config.INBOX_BACKOFF_MAX_SECONDS * 1000, String(cur!.nextPollAt));
  assert.equal(await inbox().collector.run(old, 'notifications'), 'skipped');
  const post = await ok(t, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text: 'still publishing', targets: [{ accountId: old }], schedule: { now: true } }, 201);
  const published = await eventually(async () => {
    const p = await ok(t, 'GET', `/api/workspaces/${ws}/posts/${post.id}`, owner.token);
    return ['published', 'failed', 'unknown'].includes(p.targets[0].state) ? p.targets[0] : undefined;
  }, 30_000, 'the post to be published');
  assert.equal(published.state, 'published', JSON.stringify(published));
  // Reconnecting (the new registration asks for read:notifications) resumes collection.
  assert.equal(await connectMastodon('old-timer'), old);
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, old));
  assert.equal(await inbox().collector.run(old, 'notifications'), 'collected');
});
