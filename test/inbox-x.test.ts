// X's inbox through the collection jobs, against the X module of a simulator: on an access level without timelines
// or search (Free) each source records X's reason and is asked again only at the longest backoff, never in a loop;
// on Basic, a mention is collected into a conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql, and } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';
import { socialAccounts } from '../src/modules/accounts/index.ts';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { xSimOptions } from '../tools/provider-sim/networks/x.ts';

let t: TestApp;
let sim: Simulator;
let owner: Person;
let ws: string;
const inbox = () => t.running.services.inbox;
const db = () => t.running.services.db;
const BACKOFF_MAX_S = 7200;

before(async () => {
  sim = await startSimulator();
  sim.state('x').knobs.inboxRatePerMinute = 0;
  t = await startTestApp({
    X_CLIENT_ID: 'allin-x-e2e', X_API_URL: sim.base('x'), X_AUTH_URL: sim.base('x'), ALLOW_PRIVATE_HOSTS: 'true',
    INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000', INBOX_BACKOFF_MAX_SECONDS: String(BACKOFF_MAX_S),
  }, 'start');
  owner = await person(t, { name: 'Olivia Owner' });
  ws = await newWorkspace(t, owner, 'Shop');
});
after(async () => {
  await t.stop();
  await sim.stop();
});

test('Free refuses both sources with X\'s reason, asked again only at the longest backoff; on Basic a mention is collected', async () => {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'x' } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl as string}&login_hint=shop`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  assert.equal(new URL(res.headers.get('location')!).searchParams.get('connected'), 'x');
  const [account] = await db().select().from(socialAccounts).where(eq(socialAccounts.workspaceId, ws));
  await inbox().scheduler.ensureCursors();
  // A post of the account, so the replies source reaches its search.
  sim.state('x').posts.push({ id: `1${Date.now()}`, userId: 'shop', text: 'hello', media: [], createdAt: new Date().toISOString(), raw: {} });

  xSimOptions(sim.state('x')).accessLevel = 'free';
  for (const source of ['mentions', 'replies']) {
    const due = and(eq(inboxCollectionCursors.accountId, account!.id), eq(inboxCollectionCursors.source, source));
    await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(due);
    const before = Date.now();
    assert.equal(await inbox().collector.run(account!.id, source), 'failed', source);
    const [row] = await db().select().from(inboxCollectionCursors).where(due);
    assert.match(row!.lastError ?? '', /access level/, source);
    assert.ok(row!.nextPollAt.getTime() >= before + BACKOFF_MAX_S * 1000 - 5000, `${source}: asked again only at the longest backoff`);
    const [again] = await db().select({ status: socialAccounts.status }).from(socialAccounts).where(eq(socialAccounts.id, account!.id));
    assert.equal(again!.status, 'active', 'the account goes on publishing');
  }
  const sources = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/sources`, owner.token);
  const mine = sources.accounts.find((a: { accountId: string }) => a.accountId === account!.id);
  assert.ok(mine.sources.every((s: { lastError: string | null }) => /access level/.test(s.lastError ?? '')), JSON.stringify(mine));

  xSimOptions(sim.state('x')).accessLevel = 'basic';
  const m = sim.state('x').inbox.add({ userId: 'shop', kind: 'mention', text: '@shop open on Sundays?', author: { id: 'ada', username: 'ada', name: 'Ada' } });
  const due = and(eq(inboxCollectionCursors.accountId, account!.id), eq(inboxCollectionCursors.source, 'mentions'));
  await db().update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(due);
  assert.equal(await inbox().collector.run(account!.id, 'mentions'), 'collected');
  const list = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?accountId=${account!.id}`, owner.token);
  const view = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${list.conversations[0].id}`, owner.token);
  assert.deepEqual(view.messages.map((x: { remoteId: string; text: string }) => [x.remoteId, x.text]), [[m.id, '@shop open on Sundays?']]);
  const [row] = await db().select().from(inboxCollectionCursors).where(due);
  assert.equal(row!.lastError, null, 'the error is cleared once collected');
});
