// Daily account snapshots end to end: Sandbox accounts connected through the API, collected by
// AccountMetricsService (built here with a clock of the test's own, so "tomorrow" needs no waiting) into
// account_snapshots: the backfill at connect time, the daily slot, a network's correction of a past day,
// the budget, a refusal of the insights or of everything (recorded with a reason, not asked again until the
// account is reconnected), and another workspace's accounts out of reach. The app's worker runs the same job
// on the real clock every five minutes, so what is checked is what is stored, not which run stored it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, simKnobs } from './support/social.ts';
import { quietLogger } from './support/env.ts';
import { AccountMetricsService, nextSlot, utcDay } from '../src/modules/analytics/account-metrics.ts';
import { accountMetricsCollection, accountSnapshots } from '../src/modules/analytics/schema.ts';
import { NetworkBudgets } from '../src/infra/network-budget.ts';
import { MemoryStore } from '../src/infra/stores/memory.ts';
import { NotFound } from '../src/domain/errors.ts';
import { simAudience, simDayInsights } from '../tools/provider-sim/core.ts';

const DAY = 86_400_000;
let t: TestApp;
let owner: string;
let ws: string;
let other: string;
let otherWs: string;
const sim = () => t.running.simulatorUrl!;
const db = () => t.running.services.db;

before(async () => {
  t = await startTestApp({}, 'start');
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Snapshots' } })).body.id;
  const v = await t.user();
  other = (await t.login(v.email, v.password)).accessToken;
  otherWs = (await t.call('POST', '/api/workspaces', { token: other, body: { name: 'Elsewhere' } })).body.id;
  await simKnobs(sim(), 'sandbox', { inboxRatePerMinute: 0 });
});
after(() => t.stop());

/** A service on the app's database and adapters, with the test's clock and budget. */
function service(clock: () => Date, budget = '1000/60') {
  const s = t.running.services;
  return new AccountMetricsService({
    db: s.db, registry: s.registry, accounts: s.accounts, log: quietLogger(), clock,
    budgets: new NetworkBudgets(new MemoryStore(), 'test-account-metrics', { sandbox: budget }),
  });
}

const rows = (accountId: string) => db().select().from(accountSnapshots).where(eq(accountSnapshots.accountId, accountId)).orderBy(accountSnapshots.day);
const stateOf = async (accountId: string) => (await db().select().from(accountMetricsCollection).where(eq(accountMetricsCollection.accountId, accountId)))[0]!;
const dayOffset = (n: number, from = Date.now()) => utcDay(from + n * DAY);

describe('collection', () => {
  let account: string;
  let svc: AccountMetricsService;
  let now: Date;

  before(async () => {
    account = await connectSandbox(t, owner, ws, 'snap-1');
    now = new Date();
    svc = service(() => now);
  });

  test('at connect: the counts for today and the network\'s 90 days of history', async () => {
    // The worker's own run may have collected it first: either way, the same rows.
    await svc.collectDue();
    const days = await rows(account);
    assert.equal(days.length, 91, 'yesterday and the 89 days before it, and today');
    assert.equal(days[0]!.day, dayOffset(-90, now.getTime()));
    const today = days.at(-1)!;
    assert.equal(today.day, utcDay(now));
    assert.equal(today.following, simAudience('snap-1', Date.now()).following);
    assert.equal(today.posts, 0);
    assert.ok(today.followers! >= simAudience('snap-1', now.getTime()).followers);
    assert.equal(today.reach, null, 'a day not over has no insights yet: null, not 0');
    const yesterday = days.at(-2)!;
    const i = simDayInsights('snap-1', yesterday.day);
    assert.deepEqual(
      { followers: yesterday.followers, following: yesterday.following, posts: yesterday.posts, reach: yesterday.reach, impressions: yesterday.impressions, profileViews: yesterday.profileViews, engagement: yesterday.engagement },
      { followers: simAudience('snap-1', Date.parse(`${yesterday.day}T23:59:59.999Z`)).followers, following: null, posts: null, reach: i.reach, impressions: i.impressions, profileViews: i.profileViews, engagement: i.engagement },
      'what the network gives per day; following and posts it does not give per day',
    );
    const followers = days.slice(0, -1).map((d) => d.followers!);
    assert.ok(followers.every((f, k) => k === 0 || f > followers[k - 1]!), 'followers grow day by day');
    const st = await svc.status(ws, account);
    assert.equal(st.state, 'collected');
    assert.equal(st.nextAt, nextSlot(account, now).toISOString(), 'next: the account\'s own second of the day');
    assert.equal((await stateOf(account)).daysThrough, dayOffset(-1, now.getTime()));
  });

  test('not asked again before its slot; at its slot, the last days are read again and a correction replaces what was stored', async () => {
    assert.equal((await svc.collectDue()).due, 0);
    const corrected = dayOffset(-2, now.getTime());
    await db().update(accountSnapshots).set({ reach: 1, impressions: 2 }).where(and(eq(accountSnapshots.accountId, account), eq(accountSnapshots.day, corrected)));
    const untouched = dayOffset(-10, now.getTime());
    await db().update(accountSnapshots).set({ reach: 3 }).where(and(eq(accountSnapshots.accountId, account), eq(accountSnapshots.day, untouched)));
    now = new Date(nextSlot(account, now).getTime() + 1000);
    const r = await svc.collectDue();
    assert.equal(r.collected, 1, JSON.stringify(r));
    const byDay = new Map((await rows(account)).map((d) => [d.day, d]));
    assert.equal(byDay.get(corrected)!.reach, simDayInsights('snap-1', corrected).reach, 'a recent day is read again and replaced');
    assert.equal(byDay.get(untouched)!.reach, 3, 'an older day is not asked for again');
    assert.ok(byDay.has(utcDay(now)), 'the new day has its counts');
  });

  test('over the account\'s budget: nothing is asked, and it comes back when the budget is free', async () => {
    const tight = service(() => now, '1/600');
    await db().update(accountMetricsCollection).set({ nextAt: new Date(now.getTime() - 1000) }).where(eq(accountMetricsCollection.accountId, account));
    assert.equal((await tight.collectDue()).collected, 1);
    await db().update(accountMetricsCollection).set({ nextAt: new Date(now.getTime() - 1000) }).where(eq(accountMetricsCollection.accountId, account));
    const r = await tight.collectDue();
    assert.equal(r.deferred, 1, JSON.stringify(r));
    const st = await stateOf(account);
    assert.ok(st.nextAt.getTime() > now.getTime() + 60_000, 'put off until the budget has room');
    assert.equal(st.refusedAt, null);
  });
});

describe('refusals', () => {
  test('insights refused (a scope unticked at consent): the counts keep coming, the insights are not asked again until a reconnection', async () => {
    await simKnobs(sim(), 'sandbox', { declineScopes: ['insights'] });
    let account: string;
    try {
      account = await connectSandbox(t, owner, ws, 'snap-2');
    } finally {
      await simKnobs(sim(), 'sandbox', { declineScopes: [] });
    }
    let now = new Date();
    const svc = service(() => now);
    await svc.collectDue();
    const days = await rows(account);
    assert.equal(days.length, 1, 'today\'s counts only');
    assert.ok(days[0]!.followers! > 0);
    const st = await svc.status(ws, account);
    assert.equal(st.state, 'collected');
    assert.match(st.insightsRefused ?? '', /insights scope/);

    // Its slot on the next UTC day (the next slot may still be today).
    now = new Date(nextSlot(account, now).getTime() + DAY + 1000);
    await svc.collectDue();
    assert.equal((await rows(account)).length, 2, 'the next day\'s counts, still no insights');
    assert.equal((await stateOf(account)).insightsRefusedAt !== null, true);

    // Reconnected with the scope granted: the insights come again, history included.
    await connectSandbox(t, owner, ws, 'snap-2');
    now = new Date(now.getTime() + 1000);
    await svc.collectDue();
    assert.equal((await svc.status(ws, account)).insightsRefused, null);
    const after = await rows(account);
    assert.ok(after.length > 80, `history after reconnecting: ${after.length} days`);
    assert.ok(after.some((d) => d.reach !== null));
  });

  test('everything refused (the profile scope unticked): recorded with a reason, not asked again until a reconnection', async () => {
    await simKnobs(sim(), 'sandbox', { declineScopes: ['profile'] });
    let account: string;
    try {
      account = await connectSandbox(t, owner, ws, 'snap-3');
    } finally {
      await simKnobs(sim(), 'sandbox', { declineScopes: [] });
    }
    let now = new Date();
    const svc = service(() => now);
    await svc.collectDue();
    const st = await svc.status(ws, account);
    assert.equal(st.state, 'refused');
    assert.match(st.reason ?? '', /Sandbox refused this account's figures .*reconnected/);
    assert.equal(st.nextAt, null);
    assert.equal((await rows(account)).length, 0);

    const refused = await stateOf(account);
    for (let k = 1; k <= 3; k++) {
      now = new Date(now.getTime() + DAY);
      await svc.collectDue(); // other accounts are due by now; this one is not touched
      assert.deepEqual(await stateOf(account), refused, `day ${k}: not asked again`);
    }

    await connectSandbox(t, owner, ws, 'snap-3');
    now = new Date(now.getTime() + 1000);
    await svc.collectDue();
    assert.equal((await svc.status(ws, account)).state, 'collected');
    assert.ok((await rows(account)).length > 80);
  });
});

describe('workspaces', () => {
  test('another workspace\'s member reads neither the snapshots nor the collection of an account not theirs', async () => {
    const account = await connectSandbox(t, owner, ws, 'snap-4');
    const now = new Date();
    const svc = service(() => now);
    await svc.collectDue();
    const mine = await svc.snapshots(ws, account, { from: dayOffset(-3), to: dayOffset(0), limit: 2 });
    assert.equal(mine.items.length, 2);
    assert.equal(mine.nextAfter, mine.items[1]!.day);
    const rest = await svc.snapshots(ws, account, { from: dayOffset(-3), to: dayOffset(0), limit: 2, after: mine.nextAfter! });
    assert.deepEqual(rest.items.map((d) => d.day), [dayOffset(-1), dayOffset(0)]);
    assert.equal(rest.nextAfter, null);
    await assert.rejects(svc.snapshots(otherWs, account, { from: dayOffset(-3), to: dayOffset(0), limit: 10 }), NotFound);
    await assert.rejects(svc.status(otherWs, account), NotFound);
    const leaked = await db().execute(sql`select count(*)::int as n from account_snapshots where workspace_id = ${otherWs}`);
    assert.equal(leaked.rows[0]!.n, 0);
  });
});
