// Post metrics end to end: posts published to the Sandbox network on the in-process simulator, figures
// collected by AnalyticsService.collectDue on the decaying schedule (published_at and earlier collections
// are moved back in the database to make a checkpoint due), stored per collection, and served per post
// and per account through the cache; errors of the network (deleted post, 5xx, 429) and other workspaces.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { asc, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs } from './support/social.ts';
import { parseMetrics, value } from './support/metrics.ts';
import { postMetrics } from '../src/modules/analytics/schema.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { AnalyticsService, COLLECT_POST_METRICS_TASK, metricsRange } from '../src/modules/analytics/service.ts';
import type { ProviderRegistry } from '../src/providers/registry.ts';
import type { AccountService } from '../src/modules/accounts/service.ts';
import { quietLogger } from './support/env.ts';
import { DEFAULT_KNOBS } from '../tools/provider-sim/core.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let t: TestApp;
let owner: string;
let ws: string;
let account: string;
const sim = () => t.running.simulatorUrl!;
const db = () => t.running.services.db;
const analytics = () => t.running.services.analytics;

before(async () => {
  t = await startTestApp({}, 'start');
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Metrics' } })).body.id;
  account = await connectSandbox(t, owner, ws, 'metrics-user');
});
after(() => t.stop());

/** Publishes a post now and waits for it; returns its ids and the id on the network. */
async function publish(text: string): Promise<{ postId: string; targetId: string; remoteId: string }> {
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner, body: { text, targets: [{ accountId: account }], schedule: { now: true } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const target = await eventually(async () => {
    const p = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner });
    const tg = p.body.targets?.[0];
    return tg && ['published', 'failed', 'unknown'].includes(tg.state) ? tg : undefined;
  }, 30_000, `post ${r.body.id} to be published`);
  assert.equal(target.state, 'published', JSON.stringify(target));
  return { postId: r.body.id, targetId: target.id, remoteId: target.remoteId };
}

/** As if `ms` had passed for this target: its publishing and its collections move back by `ms`. */
async function age(targetId: string, ms: number): Promise<void> {
  await db().execute(sql`update post_targets set published_at = published_at - ${ms} * interval '1 millisecond' where id = ${targetId}`);
  await db().execute(sql`update post_metrics set collected_at = collected_at - ${ms} * interval '1 millisecond' where target_id = ${targetId}`);
}

const rowsOf = (targetId: string) => db().select().from(postMetrics).where(eq(postMetrics.targetId, targetId)).orderBy(asc(postMetrics.collectedAt), asc(postMetrics.id));
const postMetricsOf = (postId: string, token = owner, workspace = ws) => t.call('GET', `/api/workspaces/${workspace}/posts/${postId}/metrics`, { token });
const cacheCount = async (name: 'allin_cache_hits_total' | 'allin_cache_misses_total', cacheType: string) =>
  value(parseMetrics(await t.running.metrics.render()), name, { cache_type: cacheType }) ?? 0;

describe('collection on the schedule', () => {
  let post: { postId: string; targetId: string; remoteId: string };

  before(async () => {
    post = await publish('Counting likes');
  });

  test('nothing is collected in the first hour; at +1 h one row with the network\'s figures', async () => {
    await analytics().collectDue(100);
    assert.equal((await rowsOf(post.targetId)).length, 0, 'not due before +1 h');
    const fresh = await postMetricsOf(post.postId);
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.equal(fresh.body.targets[0].collection, 'pending');
    assert.equal(fresh.body.targets[0].latest, null);

    await age(post.targetId, HOUR + MIN);
    const r = await analytics().collectDue(100);
    assert.ok(r.collected >= 1, JSON.stringify(r));
    const rows = await rowsOf(post.targetId);
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(row!.accountId, account);
    for (const k of ['likes', 'reposts', 'replies', 'impressions'] as const) assert.equal(typeof row![k], 'number', `${k} is a number`);
    // The Sandbox formula: n = id mod 7; reposts = floor(n / 2), replies = n mod 3, impressions ≥ 10 (n + 1).
    const n = Number(post.remoteId) % 7;
    assert.equal(row!.reposts, Math.floor(n / 2));
    assert.equal(row!.replies, n % 3);
    assert.ok(row!.impressions! >= 10 * (n + 1));

    // Collected for this checkpoint: the next run leaves it alone.
    await analytics().collectDue(100);
    assert.equal((await rowsOf(post.targetId)).length, 1);
  });

  test('per post: latest, series and totals; the second read comes from the cache until a new collection', async () => {
    await age(post.targetId, 5 * HOUR); // now at +6 h 1 min, the last collection at +1 h 1 min
    const r = await analytics().collectDue(100);
    assert.ok(r.collected >= 1, JSON.stringify(r));
    const rows = await rowsOf(post.targetId);
    assert.equal(rows.length, 2);

    const hitsBefore = await cacheCount('allin_cache_hits_total', 'post_metrics');
    const first = await postMetricsOf(post.postId);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get('x-cache'), 'miss');
    const target = first.body.targets[0];
    assert.equal(target.targetId, post.targetId);
    assert.equal(target.provider, 'sandbox');
    assert.equal(target.collection, 'collecting');
    assert.equal(target.series.length, 2);
    assert.ok(target.series[1].impressions >= target.series[0].impressions, 'impressions grow');
    assert.deepEqual(target.latest, target.series[1]);
    assert.equal(target.latest.likes, rows[1]!.likes);
    assert.deepEqual(first.body.totals, { likes: target.latest.likes, reposts: target.latest.reposts, replies: target.latest.replies, impressions: target.latest.impressions });
    // Next checkpoint: +24 h after publishing.
    assert.equal(Date.parse(target.nextCollectionAt) - Date.parse(target.publishedAt), DAY);

    const second = await postMetricsOf(post.postId);
    assert.equal(second.headers.get('x-cache'), 'hit');
    assert.deepEqual(second.body, first.body);
    assert.equal(await cacheCount('allin_cache_hits_total', 'post_metrics'), hitsBefore + 1);

    await age(post.targetId, 18 * HOUR); // +24 h 1 min
    await analytics().collectDue(100);
    const third = await postMetricsOf(post.postId);
    assert.equal(third.headers.get('x-cache'), 'miss', 'a new collection drops the cached figures');
    assert.equal(third.body.targets[0].series.length, 3);
  });

  test('missed checkpoints are collected once, for the latest; after +30 d collection is done', async () => {
    await age(post.targetId, 30 * DAY); // +31 d: past 3 d, 7 d and 30 d at once
    await analytics().collectDue(100);
    assert.equal((await rowsOf(post.targetId)).length, 4, 'one collection, not one per missed checkpoint');
    await age(post.targetId, 10 * DAY);
    await analytics().collectDue(100);
    assert.equal((await rowsOf(post.targetId)).length, 4, 'nothing after the last checkpoint');
    const r = await postMetricsOf(post.postId);
    assert.equal(r.body.targets[0].collection, 'done');
    assert.equal(r.body.targets[0].nextCollectionAt, null);
  });
});

describe('errors of the network', () => {
  test('a 5xx or a 429 skips the target for this run; the next run collects it', async () => {
    const p = await publish('Busy network');
    await age(p.targetId, HOUR + MIN);
    await simKnobs(sim(), 'sandbox', { errorRate: 1 });
    try {
      const r = await analytics().collectDue(100);
      assert.ok(r.skipped >= 1, JSON.stringify(r));
      assert.equal((await rowsOf(p.targetId)).length, 0);
    } finally {
      await simKnobs(sim(), 'sandbox', { ...DEFAULT_KNOBS });
    }
    await simKnobs(sim(), 'sandbox', { rateLimitNext: 1 });
    try {
      await analytics().collectDue(1);
      assert.equal((await rowsOf(p.targetId)).length, 0);
    } finally {
      await simKnobs(sim(), 'sandbox', { ...DEFAULT_KNOBS });
    }
    await analytics().collectDue(100);
    assert.equal((await rowsOf(p.targetId)).length, 1);
  });

  test('a post deleted on the network stops being collected', async () => {
    const p = await publish('Soon gone');
    await age(p.targetId, HOUR + MIN);
    const del = await fetch(`${sim()}/_sim/sandbox/posts/${p.remoteId}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const r = await analytics().collectDue(100);
    assert.ok(r.stopped >= 1, JSON.stringify(r));
    const rows = await rowsOf(p.targetId);
    assert.equal(rows.length, 1, 'one marker row');
    assert.deepEqual([rows[0]!.likes, rows[0]!.reposts, rows[0]!.replies, rows[0]!.impressions], [-1, -1, -1, -1]);

    await age(p.targetId, 6 * HOUR);
    await analytics().collectDue(100);
    assert.equal((await rowsOf(p.targetId)).length, 1, 'not asked again');
    const view = await postMetricsOf(p.postId);
    assert.equal(view.body.targets[0].collection, 'stopped');
    assert.equal(view.body.targets[0].latest, null);
    assert.deepEqual(view.body.targets[0].series, []);
  });
});

describe('the job', () => {
  test('runs as collect_post_metrics; an account that needs reconnecting is not asked', async () => {
    const p = await publish('Through the job');
    await age(p.targetId, HOUR + MIN);
    await t.running.services.db.update(socialAccounts).set({ status: 'needs_reconnect' }).where(eq(socialAccounts.id, account));
    try {
      assert.ok(!(await analytics().dueTargets(100)).some((d) => d.id === p.targetId));
    } finally {
      await t.running.services.db.update(socialAccounts).set({ status: 'active' }).where(eq(socialAccounts.id, account));
    }
    const task = t.running.services.tasks[COLLECT_POST_METRICS_TASK]!;
    await task({ limit: 10 }, {} as never);
    assert.equal((await rowsOf(p.targetId)).length, 1);
  });
});

describe('per account', () => {
  const day = (offsetDays: number) => new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);

  test('totals, averages per post and a per-day series of the latest figures; cached until a collection', async () => {
    const path = (q: string) => `/api/workspaces/${ws}/accounts/${account}/metrics?${q}`;
    const range = `from=${day(-60)}&to=${day(0)}&timeZone=UTC`;
    const a = await t.call('GET', path(range), { token: owner });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.headers.get('x-cache'), 'miss');
    assert.equal(a.body.days.length, 61);
    assert.equal(a.body.days.reduce((s: number, d: { posts: number }) => s + d.posts, 0), a.body.posts);

    // What the database says: each published target's latest row with figures.
    const latest = await db().execute<{ likes: string; impressions: string }>(sql`
      select distinct on (m.target_id) m.likes, m.impressions from post_metrics m join post_targets t on t.id = m.target_id
      where t.account_id = ${account} and m.likes >= 0 order by m.target_id, m.collected_at desc`);
    assert.equal(a.body.postsWithMetrics, latest.rows.length);
    assert.equal(a.body.totals.likes, latest.rows.reduce((s, r) => s + Number(r.likes), 0));
    assert.equal(a.body.totals.impressions, latest.rows.reduce((s, r) => s + Number(r.impressions), 0));
    assert.equal(a.body.averages.impressions, Math.round((a.body.totals.impressions / latest.rows.length) * 100) / 100);
    assert.ok(a.body.posts >= 3, JSON.stringify(a.body));

    const again = await t.call('GET', path(range), { token: owner });
    assert.equal(again.headers.get('x-cache'), 'hit');
    assert.deepEqual(again.body, a.body);

    const p = await publish('One more for the account');
    await age(p.targetId, HOUR + MIN);
    await analytics().collectDue(100);
    const after = await t.call('GET', path(range), { token: owner });
    assert.equal(after.headers.get('x-cache'), 'miss', 'a collection for the account drops its cached aggregates');
    assert.equal(after.body.posts, a.body.posts + 1);
    assert.ok(after.body.totals.impressions > a.body.totals.impressions);
  });

  test('days are counted in the zone asked for', async () => {
    // Published a minute after 23:30 UTC yesterday: in Asia/Tokyo (UTC+9) that is today already.
    const p = await publish('Late in London');
    const target = (await t.call('GET', `/api/workspaces/${ws}/posts/${p.postId}`, { token: owner })).body.targets[0];
    const when = new Date(`${day(-1)}T23:31:00Z`);
    await age(p.targetId, Date.parse(target.publishedAt) - when.getTime());
    const get = (zone: string) => t.call('GET', `/api/workspaces/${ws}/accounts/${account}/metrics?from=${day(-1)}&to=${day(0)}&timeZone=${encodeURIComponent(zone)}`, { token: owner });
    const utc = await get('UTC');
    const tokyo = await get('Asia/Tokyo');
    assert.equal(utc.status, 200, JSON.stringify(utc.body));
    assert.equal(tokyo.body.timeZone, 'Asia/Tokyo');
    const postsOn = (r: { body: { days: { date: string; posts: number }[] } }, date: string) => r.body.days.find((d) => d.date === date)!.posts;
    assert.ok(postsOn(utc, day(-1)) >= 1);
    assert.ok(postsOn(tokyo, day(0)) >= 1);
    assert.equal(postsOn(tokyo, day(-1)), 0, 'nothing published on that day in Tokyo');
  });

  test('bad ranges and zones are a 400 naming the field', async () => {
    const get = (q: string) => t.call('GET', `/api/workspaces/${ws}/accounts/${account}/metrics?${q}`, { token: owner });
    const backwards = await get('from=2027-06-10&to=2027-06-01');
    assert.equal(backwards.status, 400);
    assert.match(backwards.body.message, /before from/);
    const long = await get('from=2025-01-01&to=2027-01-01');
    assert.equal(long.status, 400);
    assert.match(long.body.message, /at most 366/);
    const zone = await get('timeZone=Mars/Olympus');
    assert.equal(zone.status, 400);
    assert.match(zone.body.message, /IANA time zone/);
    assert.equal((await get('from=2027-02-30&to=2027-03-01')).status, 400);
    assert.equal((await get('from=yesterday')).status, 400);
    // Defaults: the 30 days up to today in the zone.
    const dflt = await get('');
    assert.equal(dflt.status, 200);
    assert.equal(dflt.body.days.length, 30);
    assert.equal(dflt.body.to, day(0));
  });

  test('metricsRange handles a day that starts at a DST change', () => {
    // Clocks went forward at midnight in America/Santiago on 2024-09-08: the day starts at 01:00.
    const r = metricsRange({ from: '2024-09-08', to: '2024-09-08', timeZone: 'America/Santiago' }, new Date());
    assert.equal(r.start.toISOString(), '2024-09-08T04:00:00.000Z');
    assert.equal(r.end.toISOString(), '2024-09-09T03:00:00.000Z');
  });
});

describe('access', () => {
  test('a stranger, or another workspace\'s ids, get 404', async () => {
    const p = await publish('Mine only');
    const stranger = await t.user();
    const st = (await t.login(stranger.email, stranger.password)).accessToken;
    assert.equal((await postMetricsOf(p.postId, st)).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts/${account}/metrics`, { token: st })).status, 404);
    const theirs = (await t.call('POST', '/api/workspaces', { token: st, body: { name: 'Theirs' } })).body.id;
    const cross = await postMetricsOf(p.postId, st, theirs);
    assert.equal(cross.status, 404);
    assert.match(cross.body.message, /No such post/);
    assert.equal((await t.call('GET', `/api/workspaces/${theirs}/accounts/${account}/metrics`, { token: st })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/posts/${p.postId}/metrics`)).status, 401);
    const spec = (await t.call('GET', '/openapi.json')).body;
    assert.ok(spec.paths['/api/workspaces/{workspaceId}/posts/{postId}/metrics'].get);
    assert.ok(spec.paths['/api/workspaces/{workspaceId}/accounts/{accountId}/metrics'].get.parameters.some((x: { name: string }) => x.name === 'timeZone'));
  });
});

describe('answers without figures', () => {
  test('an empty answer counts as a collection but shows nothing and does not stop; negative counts are dropped', async () => {
    const p = await publish('Quiet post');
    await age(p.targetId, HOUR + MIN);
    let answer: Record<string, unknown> = { collectedAt: new Date() };
    // The real database and schedule; a network that has no statistics yet (LinkedIn answers so).
    const registry = {
      enabled: () => ['sandbox'], isEnabled: (id: string) => id === 'sandbox', get: () => ({ metrics: async () => answer }),
    } as unknown as ProviderRegistry;
    const accounts = { withAccount: (_id: string, fn: (ref: unknown) => Promise<unknown>) => fn({}) } as unknown as AccountService;
    const quiet = new AnalyticsService({ db: db(), accounts, registry, metrics: t.running.metrics, log: quietLogger() });
    const r = await quiet.collectDue(100);
    assert.ok(r.collected >= 1, JSON.stringify(r));
    const rows = await rowsOf(p.targetId);
    assert.deepEqual([rows[0]!.likes, rows[0]!.reposts, rows[0]!.replies, rows[0]!.impressions], [null, null, null, null]);
    const view = (await quiet.forPost(ws, p.postId)).value.targets[0]!;
    assert.equal(view.collection, 'collecting');
    assert.equal(view.latest, null);
    assert.ok(!(await quiet.dueTargets(100)).some((d) => d.id === p.targetId), 'collected for this checkpoint');

    await age(p.targetId, 5 * HOUR);
    answer = { likes: -1, reposts: 2, replies: undefined, impressions: 40, collectedAt: new Date() };
    await quiet.collectDue(100);
    const after = (await quiet.forPost(ws, p.postId)).value.targets[0]!;
    assert.deepEqual({ ...after.latest, collectedAt: undefined }, { likes: null, reposts: 2, replies: null, impressions: 40, collectedAt: undefined });
    assert.equal(after.series.length, 1);
  });
});
