// LinkedIn's inbox end to end, against the LinkedIn module of a simulator: a member and the Pages they administer
// connected through the real OAuth round trip; only the Pages are collected (the member is shown as not collected,
// with why); a comment under a Page post is collected by the collection job, answered through the API (a nested
// comment as the Page, published once), liked, and the answer deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';
import { socialAccounts } from '../src/modules/accounts/index.ts';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';

let t: TestApp;
let sim: Simulator;
let owner: Person;
let ws: string;
const inbox = () => t.running.services.inbox;
const db = () => t.running.services.db;
const li = () => sim.state('linkedin');
const PAGE = 'urn:li:organization:2414183';

before(async () => {
  sim = await startSimulator();
  li().knobs.inboxRatePerMinute = 0;
  t = await startTestApp({
    ALLOW_PRIVATE_HOSTS: 'true', LINKEDIN_CLIENT_ID: 'allin-li-e2e', LINKEDIN_CLIENT_SECRET: 'li-secret',
    LINKEDIN_API_URL: sim.base('linkedin'), LINKEDIN_AUTH_URL: sim.base('linkedin'),
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000', PUBLISH_BACKOFF_BASE_MS: '200', PUBLISH_BACKOFF_MAX_MS: '1000',
  }, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
});
after(async () => {
  await t.stop();
  await sim.stop();
});

test('a Page\'s comment is collected and answered, liked and the answer deleted; the member account is shown as not collected, and why', async () => {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'linkedin' } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl as string}&login_hint=shop`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  assert.equal(new URL(res.headers.get('location')!).searchParams.get('connected'), 'linkedin');
  const accounts = await db().select().from(socialAccounts).where(eq(socialAccounts.workspaceId, ws));
  const page = accounts.find((a) => a.externalId === PAGE)!;
  const member = accounts.find((a) => a.kind === 'person')!;
  assert.ok(page && member, JSON.stringify(accounts.map((a) => a.externalId)));

  // Cursors for the Pages only.
  await inbox().scheduler.ensureCursors();
  const cursors = await db().select().from(inboxCollectionCursors).where(eq(inboxCollectionCursors.workspaceId, ws));
  assert.deepEqual([...new Set(cursors.map((c) => c.accountId))].sort(), accounts.filter((a) => a.kind === 'organization').map((a) => a.id).sort());
  const sources = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/sources`, owner.token);
  const m = sources.accounts.find((a: { accountId: string }) => a.accountId === member.id);
  assert.equal(m.collection, 'not_collected');
  assert.match(m.why, /r_member_social/);
  assert.equal(sources.accounts.find((a: { accountId: string }) => a.accountId === page.id).collection, 'collected');
  const network = (await ok(t, 'GET', '/api/networks', owner.token)).networks.find((n: { id: string }) => n.id === 'linkedin');
  assert.deepEqual(network.capabilities, {
    metrics: true, inbox: true, messageActions: ['like', 'unlike', 'delete'], messageDeletes: 'own', inboxAccountKinds: ['organization'], inboxNotCollected: network.capabilities.inboxNotCollected,
  });
  assert.match(network.capabilities.inboxNotCollected, /r_member_social/);

  // A Page post with a comment by someone.
  const postUrn = `urn:li:share:7${Date.now()}`;
  li().posts.push({ id: postUrn, userId: 'shop', text: 'New menu', media: [], createdAt: new Date().toISOString(), raw: { author: PAGE, commentary: 'New menu' } });
  const c = li().inbox.add({ userId: 'shop', kind: 'comment', postId: postUrn, text: 'Vegan options?', author: { id: 'ada', username: 'ada', name: 'Ada' } });
  const commentUrn = `urn:li:comment:(${postUrn},${c.id})`;
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, page.id));
  await eventually(async () => (await inbox().collector.run(page.id, 'comments')) === 'collected', 10_000, 'a collection run');

  const list = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?accountId=${page.id}`, owner.token);
  assert.equal(list.conversations.length, 1);
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${list.conversations[0].id}`, owner.token);
  const msg = view.messages.find((x: { remoteId: string }) => x.remoteId === commentUrn);
  assert.equal(msg.text, 'Vegan options?');

  const r = await t.call('POST', `/api/workspaces/${ws}/inbox/conversations/${view.id}/replies`, { token: owner.token, body: { messageId: msg.id, text: 'Yes, three!' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const done = await eventually(async () => {
    const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${view.id}/replies/${r.body.id}`, owner.token);
    return ['published', 'failed', 'unknown'].includes(x.state) ? x : undefined;
  }, 30_000, 'the reply to be published');
  assert.equal(done.state, 'published', JSON.stringify(done));
  const answers = li().posts.filter((x) => x.replyTo === commentUrn);
  assert.equal(answers.length, 1, 'published once');
  assert.deepEqual([answers[0]!.id, (answers[0]!.raw as Record<string, unknown>).actor, (answers[0]!.raw as Record<string, unknown>).parentComment], [done.remoteId, PAGE, commentUrn]);

  const act = async (messageId: string, action: string) => {
    const a = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/messages/${messageId}/${action}`, owner.token, undefined, 202);
    return eventually(async () => {
      const x = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/actions/${a.id}`, owner.token);
      return ['done', 'failed', 'unknown'].includes(x.state) ? x : undefined;
    }, 30_000, `the ${action} to end`);
  };
  assert.equal((await act(msg.id, 'like')).state, 'done');
  const again = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${view.id}`, owner.token);
  const own = again.messages.find((x: { remoteId: string }) => x.remoteId === done.remoteId);
  assert.equal(own.direction, 'outbound');
  assert.equal((await act(own.id, 'delete')).state, 'done');
  assert.equal((answers[0]!.raw as { deleted?: boolean }).deleted, true, 'deleted on LinkedIn');
  const refused = await t.call('POST', `/api/workspaces/${ws}/inbox/messages/${msg.id}/hide`, { token: owner.token });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  const after = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${view.id}`, owner.token);
  assert.equal(after.messages.find((x: { remoteId: string }) => x.remoteId === commentUrn).liked, true);
  assert.equal(after.messages.find((x: { remoteId: string }) => x.remoteId === done.remoteId).deleted, true);
});
