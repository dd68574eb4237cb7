// The analytics API through HTTP: an account's daily snapshots (paged by day, with its collection's state)
// and the overview of a period (posts published, their figures per network, follower growth, each against
// the period before), read with analytics.read; an API key with only the analytics:read scope; another
// workspace's member and another workspace's accounts refused; bad input answered 400 with the field named.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs } from './support/social.ts';
import { utcDay } from '../src/modules/analytics/account-metrics.ts';

const DAY = 86_400_000;
let t: TestApp;
let owner: string;
let ws: string;
let account: string;
let stranger: string;
let strangerWs: string;
let strangerAccount: string;
const day = (n: number) => utcDay(Date.now() + n * DAY);

before(async () => {
  t = await startTestApp({}, 'start');
  await simKnobs(t.running.simulatorUrl!, 'sandbox', { inboxRatePerMinute: 0 });
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Insights' } })).body.id;
  account = await connectSandbox(t, owner, ws, 'insights-1');
  const v = await t.user();
  stranger = (await t.login(v.email, v.password)).accessToken;
  strangerWs = (await t.call('POST', '/api/workspaces', { token: stranger, body: { name: 'Theirs' } })).body.id;
  strangerAccount = await connectSandbox(t, stranger, strangerWs, 'insights-2');
  await t.running.services.accountMetrics.collectDue();
});
after(() => t.stop());

describe('snapshots', () => {
  test('paged by day, oldest first, with what the network gives and where collection stands', async () => {
    const days: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots?from=${day(-10)}&to=${day(0)}&limit=4${cursor ? `&cursor=${cursor}` : ''}`, { token: owner });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.collection.state, 'collected');
      assert.deepEqual(r.body.collection.fields, ['followers', 'following', 'posts', 'reach', 'impressions', 'profileViews', 'engagement']);
      days.push(...r.body.items.map((d: { day: string }) => d.day));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(days, Array.from({ length: 11 }, (_, i) => day(i - 10)));
    const today = await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots?from=${day(0)}&to=${day(0)}`, { token: owner });
    assert.equal(today.body.items[0].reach, null, 'no insights for a day not over');
    assert.equal(typeof today.body.items[0].followers, 'number');
  });

  test('bad input: a day that does not exist, to before from, a cursor of another list', async () => {
    const bad = async (q: string, field: RegExp) => {
      const r = await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots?${q}`, { token: owner });
      assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), field);
    };
    await bad('from=2026-02-30', /from/);
    await bad(`from=${day(0)}&to=${day(-1)}`, /before from/);
    await bad('cursor=WyJwb3N0cyIsIjEiXQ', /cursor/);
    await bad('limit=0', /limit/);
  });
});

describe('overview', () => {
  test('a published post and its figures, follower growth from the snapshots, against the period before', async () => {
    const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner, body: { text: 'Overview post', targets: [{ accountId: account }], schedule: { now: true } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const target = await eventually(async () => {
      const p = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner });
      const tg = p.body.targets?.[0];
      return tg && ['published', 'failed', 'unknown'].includes(tg.state) ? tg : undefined;
    }, 30_000, 'the post to be published');
    assert.equal(target.state, 'published');
    // An hour and a minute later (moved back in the database), its figures are collected.
    await t.running.services.db.execute(sql`update post_targets set published_at = published_at - interval '61 minutes' where id = ${target.id}`);
    await t.running.services.analytics.collectDue(100);
    const [m] = (await t.running.services.db.execute<{ likes: string; impressions: string }>(sql`select likes, impressions from post_metrics where target_id = ${target.id}`)).rows;
    assert.ok(m, 'figures collected');
    const published = (await t.running.services.db.execute<{ day: string }>(sql`select to_char(published_at at time zone 'UTC', 'YYYY-MM-DD') as day from post_targets where id = ${target.id}`)).rows[0]!.day;

    const o = await t.call('GET', `/api/workspaces/${ws}/analytics/overview?from=${day(-6)}&to=${day(0)}&timeZone=UTC`, { token: owner });
    assert.equal(o.status, 200, JSON.stringify(o.body));
    assert.deepEqual(o.body.previous, { from: day(-13), to: day(-7) });
    assert.deepEqual(o.body.accounts.map((a: { accountId: string }) => a.accountId), [account]);
    assert.deepEqual(o.body.totals.posts, { current: 1, previous: 0, change: 1, changePct: null });
    assert.equal(o.body.totals.likes.current, Number(m.likes));
    assert.equal(o.body.totals.impressions.current, Number(m.impressions));
    assert.equal(o.body.networks[0].provider, 'sandbox');
    assert.equal(o.body.days.find((d: { date: string }) => d.date === published).posts, 1);

    const snaps = (await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots?from=${day(-13)}&to=${day(0)}&limit=100`, { token: owner })).body.items as { day: string; followers: number }[];
    const f = (d: string) => snaps.find((s) => s.day === d)!.followers;
    const g = o.body.followers.accounts[0];
    assert.equal(g.first, f(day(-6)));
    assert.equal(g.last, f(day(0)));
    assert.deepEqual(g.growth, { current: f(day(0)) - f(day(-6)), previous: f(day(-7)) - f(day(-13)), change: (f(day(0)) - f(day(-6))) - (f(day(-7)) - f(day(-13))),
      changePct: g.growth.changePct });
    assert.ok(g.growth.current > 0, 'the simulator\'s followers grow');
  });

  test('bad input: an unknown zone, ids that are not ids, too long a range', async () => {
    for (const [q, field] of [['timeZone=Mars/Olympus', /timeZone/], ['accounts=not-an-id', /accounts/], ['from=2020-01-01&to=2026-01-01', /range/]] as const) {
      const r = await t.call('GET', `/api/workspaces/${ws}/analytics/overview?${q}`, { token: owner });
      assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), field);
    }
  });
});

describe('access', () => {
  test('another workspace\'s member reads neither the snapshots nor the overview; another workspace\'s account cannot be named', async () => {
    const snap = await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots`, { token: stranger });
    assert.equal(snap.status, 404, 'a workspace one is not in is not found');
    const through = await t.call('GET', `/api/workspaces/${strangerWs}/accounts/${account}/snapshots`, { token: stranger });
    assert.equal(through.status, 404, 'my account through their workspace');
    const named = await t.call('GET', `/api/workspaces/${strangerWs}/analytics/overview?accounts=${account}`, { token: stranger });
    assert.equal(named.status, 404);
    const mine = await t.call('GET', `/api/workspaces/${ws}/analytics/overview?accounts=${strangerAccount}`, { token: owner });
    assert.equal(mine.status, 404, 'their account named in my workspace');
    const ov = await t.call('GET', `/api/workspaces/${strangerWs}/analytics/overview`, { token: stranger });
    assert.deepEqual(ov.body.accounts.map((a: { accountId: string }) => a.accountId), [strangerAccount], 'only their own accounts');
  });

  test('an API key with only analytics:read reads analytics and nothing else', async () => {
    const k = await t.call('POST', `/api/workspaces/${ws}/api-keys`, { token: owner, body: { name: 'reporting', scopes: ['analytics:read'] } });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const key = k.body.key as string;
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/overview`, { token: key })).status, 200);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/snapshots`, { token: key })).status, 200);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/posts`, { token: key })).status, 403);
    assert.equal((await t.call('GET', `/api/workspaces/${strangerWs}/analytics/overview`, { token: key })).status, 404, 'a key works on its own workspace only');
  });
});
