// The rollups the overview reads (account_post_rollups, kept by database triggers) and the post table's rows
// (post_performance) equal the aggregate of the raw rows (each published target and its latest post_metrics row with figures), on random histories:
// figures collected in any order (a row that arrives late, collected before the latest, changes nothing),
// corrected downwards or upwards, empty answers and stop markers, targets published, failed, moved and
// deleted. Days are compared in several zones, over the weeks of a DST change (23- and 25-hour days) and
// in a zone whose offset is not a whole hour. Property-based with fast-check: a failure prints the smallest
// history that breaks it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { AnalyticsOverview } from '../src/modules/analytics/overview.ts';
import { metricsRange } from '../src/modules/analytics/service.ts';

let t: TestApp;
let ws: string;
let accounts: string[];
const db = () => t.running.services.db;
const overview = () => new AnalyticsOverview({ db: db() });

before(async () => {
  t = await startTestApp();
  const u = await t.user();
  const token = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token, body: { name: 'Rollups' } })).body.id;
  accounts = [randomUUID(), randomUUID()];
  for (const [i, id] of accounts.entries()) {
    await db().execute(sql`insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
      values (${id}, ${ws}, ${i === 0 ? 'sandbox' : 'mastodon'}, ${id}, 'person', ${`rollup-${i}`}, 'Rollup')`);
  }
});
after(() => t.stop());

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
/** Two weeks that hold a DST change in both Berlin and New York: spring 2026 (Berlin 29 March) and autumn 2026 (both, 25 October and 1 November). */
const WEEKS = [
  { from: '2026-03-25', to: '2026-04-02', start: Date.UTC(2026, 2, 26), end: Date.UTC(2026, 3, 1) },
  { from: '2026-10-22', to: '2026-11-04', start: Date.UTC(2026, 9, 23), end: Date.UTC(2026, 10, 3) },
];

type Op =
  | { kind: 'metrics'; target: number; at: number; figures: (number | null)[] | 'stop' }
  | { kind: 'state'; target: number; state: 'published' | 'failed' }
  | { kind: 'move'; target: number; at: number }
  | { kind: 'delete'; target: number };

const figure = fc.option(fc.nat({ max: 5000 }), { nil: null, freq: 4 });
const opArb = (targets: number, week: (typeof WEEKS)[number]): fc.Arbitrary<Op> => fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('metrics' as const), target: fc.nat({ max: targets - 1 }), at: fc.integer({ min: 0, max: 30 * 86_400 }),
    figures: fc.oneof({ weight: 9, arbitrary: fc.array(figure, { minLength: 4, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant('stop' as const) }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('state' as const), target: fc.nat({ max: targets - 1 }), state: fc.constantFrom('published' as const, 'failed' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('move' as const), target: fc.nat({ max: targets - 1 }), at: fc.integer({ min: week.start, max: week.end - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), target: fc.nat({ max: targets - 1 }) }) },
);

const scenario = fc.integer({ min: 0, max: WEEKS.length - 1 }).chain((w) => fc.integer({ min: 1, max: 6 }).chain((n) => fc.record({
  week: fc.constant(w),
  targets: fc.array(fc.record({
    account: fc.nat({ max: 1 }),
    // Quarter-hour edges matter most: times near them are drawn often.
    at: fc.oneof(fc.integer({ min: WEEKS[w]!.start, max: WEEKS[w]!.end - 1 }), fc.integer({ min: WEEKS[w]!.start / 900_000, max: WEEKS[w]!.end / 900_000 - 1 }).map((q) => q * 900_000 - 1)),
    published: fc.boolean(),
  }), { minLength: n, maxLength: n }),
  ops: fc.array(opArb(n, WEEKS[w]!), { maxLength: 25 }),
})));

/** The raw aggregate per local day: published targets of the accounts, each with its latest row that has figures. */
async function raw(zone: string, from: Date, to: Date) {
  const res = await db().execute<Record<string, unknown>>(sql`
    select to_char(t.published_at at time zone ${zone}, 'YYYY-MM-DD') as day, count(*)::int as posts,
      sum(m.likes)::bigint as likes, sum(m.reposts)::bigint as reposts, sum(m.replies)::bigint as replies, sum(m.impressions)::bigint as impressions
    from post_targets t
    left join lateral (select * from post_metrics m where m.target_id = t.id
      and not coalesce(m.likes = -1 and m.reposts = -1 and m.replies = -1 and m.impressions = -1, false)
      and (m.likes is not null or m.reposts is not null or m.replies is not null or m.impressions is not null)
      order by m.collected_at desc, m.id desc limit 1) m on true
    where t.workspace_id = ${ws} and t.state = 'published' and t.published_at >= ${from}::timestamptz and t.published_at < ${to}::timestamptz
    group by 1`);
  return new Map(res.rows.map((r) => [String(r.day), r]));
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

test('the rollups equal the raw aggregate, day by day in every zone, after any history of figures', async () => {
  await fc.assert(fc.asyncProperty(scenario, async (s) => {
    await db().execute(sql`delete from posts where workspace_id = ${ws}`); // cascades to targets, metrics and, through the trigger, the rollups
    const left = await db().execute<{ n: number }>(sql`select coalesce(sum(posts), 0)::int as n from account_post_rollups where workspace_id = ${ws}`);
    assert.equal(left.rows[0]!.n, 0, 'deleting every post empties the rollups');
    const week = WEEKS[s.week]!;
    const postId = randomUUID();
    await db().execute(sql`insert into posts (id, workspace_id, text) values (${postId}, ${ws}, 'rollup')`);
    const ids: (string | null)[] = [];
    for (const [i, tg] of s.targets.entries()) {
      const id = randomUUID();
      ids.push(id);
      const account = accounts[tg.account]!;
      await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, occurrence, state, published_at)
        values (${id}, ${postId}, ${ws}, ${account}, ${tg.account === 0 ? 'sandbox' : 'mastodon'}, ${i},
          ${tg.published ? 'published' : 'scheduled'}, ${tg.published ? new Date(tg.at) : null})`);
    }
    const base = new Date(Date.UTC(2026, 11, 1));
    for (const op of s.ops) {
      const id = ids[op.target];
      if (!id) continue;
      if (op.kind === 'metrics') {
        const [likes, reposts, replies, impressions] = op.figures === 'stop' ? [-1, -1, -1, -1] : op.figures;
        await db().execute(sql`insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at)
          select id, account_id, ${likes}, ${reposts}, ${replies}, ${impressions}, ${new Date(base.getTime() + op.at * 1000)} from post_targets where id = ${id}`);
      } else if (op.kind === 'state') {
        await db().execute(sql`update post_targets set state = ${op.state}, published_at = coalesce(published_at, ${new Date(week.start)}) where id = ${id}`);
      } else if (op.kind === 'move') {
        await db().execute(sql`update post_targets set published_at = ${new Date(op.at)} where id = ${id}`);
      } else {
        await db().execute(sql`delete from post_targets where id = ${id}`);
        ids[op.target] = null;
      }
    }
    for (const zone of ZONES) {
      const range = metricsRange({ from: week.from, to: week.to, timeZone: zone }, new Date());
      const got = await overview().overview(ws, range, accounts);
      const want = await raw(zone, range.start, range.end);
      for (const d of got.days) {
        const w = want.get(d.date);
        const expected = { posts: num(w?.posts) ?? 0, likes: num(w?.likes), reposts: num(w?.reposts), replies: num(w?.replies), impressions: num(w?.impressions) };
        assert.deepEqual({ posts: d.posts, likes: d.likes, reposts: d.reposts, replies: d.replies, impressions: d.impressions }, expected, `${zone} ${d.date}`);
      }
      const all = await raw(zone, new Date(0), new Date(Date.UTC(2100, 0, 1)));
      assert.equal(got.days.reduce((a, d) => a + d.posts, 0), [...all.values()].reduce((a, r) => a + Number(r.posts), 0), `${zone}: every published post falls on a day of the range`);
    }
    // post_performance (the post table's rows) holds each published target with its latest figures.
    const perf = await db().execute<Record<string, unknown>>(sql`
      select t.id, m.likes, m.reposts, m.replies, m.impressions, p.target_id as p_id, p.likes as p_likes, p.reposts as p_reposts, p.replies as p_replies,
        p.impressions as p_impressions, p.engagement as p_engagement, p.published_at = t.published_at as same_time
      from post_targets t
      left join lateral (select * from post_metrics m where m.target_id = t.id
        and not coalesce(m.likes = -1 and m.reposts = -1 and m.replies = -1 and m.impressions = -1, false)
        and (m.likes is not null or m.reposts is not null or m.replies is not null or m.impressions is not null)
        order by m.collected_at desc, m.id desc limit 1) m on true
      left join post_performance p on p.target_id = t.id
      where t.workspace_id = ${ws} and t.state = 'published'`);
    for (const r of perf.rows) {
      assert.equal(r.p_id, r.id, 'a published target has its row');
      assert.equal(r.same_time, true);
      assert.deepEqual([num(r.p_likes), num(r.p_reposts), num(r.p_replies), num(r.p_impressions)], [num(r.likes), num(r.reposts), num(r.replies), num(r.impressions)]);
      const e = r.likes === null && r.reposts === null && r.replies === null ? null : (num(r.likes) ?? 0) + (num(r.reposts) ?? 0) + (num(r.replies) ?? 0);
      assert.equal(num(r.p_engagement), e);
    }
    const extra = await db().execute<{ n: number }>(sql`select count(*)::int as n from post_performance p where p.workspace_id = ${ws}`);
    assert.equal(extra.rows[0]!.n, perf.rows.length, 'no row for a target that is not published');
  }), { numRuns: 40 });
});

test('DST: a 23-hour and a 25-hour day in Europe/Berlin hold exactly their own posts', async () => {
  await db().execute(sql`delete from posts where workspace_id = ${ws}`);
  const postId = randomUUID();
  await db().execute(sql`insert into posts (id, workspace_id, text) values (${postId}, ${ws}, 'dst')`);
  // Berlin: 29 March 2026 runs 2026-03-28T23:00Z to 2026-03-29T22:00Z (23 h); 25 October 2026 runs
  // 2026-10-24T22:00Z to 2026-10-25T23:00Z (25 h).
  const times = ['2026-03-28T22:59:59Z', '2026-03-28T23:00:00Z', '2026-03-29T21:59:59Z', '2026-03-29T22:00:00Z',
    '2026-10-24T21:59:59Z', '2026-10-24T22:00:00Z', '2026-10-25T22:59:59Z', '2026-10-25T23:00:00Z'];
  for (const [i, at] of times.entries()) {
    await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, occurrence, state, published_at)
      values (${randomUUID()}, ${postId}, ${ws}, ${accounts[0]}, 'sandbox', ${i}, 'published', ${new Date(at)})`);
  }
  const spring = await overview().overview(ws, metricsRange({ from: '2026-03-28', to: '2026-03-30', timeZone: 'Europe/Berlin' }, new Date()), [accounts[0]!]);
  assert.deepEqual(spring.days.map((d) => [d.date, d.posts]), [['2026-03-28', 1], ['2026-03-29', 2], ['2026-03-30', 1]]);
  const autumn = await overview().overview(ws, metricsRange({ from: '2026-10-24', to: '2026-10-26', timeZone: 'Europe/Berlin' }, new Date()), [accounts[0]!]);
  assert.deepEqual(autumn.days.map((d) => [d.date, d.posts]), [['2026-10-24', 1], ['2026-10-25', 2], ['2026-10-26', 1]]);
  // In UTC the same posts fall on other days.
  const utc = await overview().overview(ws, metricsRange({ from: '2026-03-28', to: '2026-03-29', timeZone: 'UTC' }, new Date()), [accounts[0]!]);
  assert.deepEqual(utc.days.map((d) => [d.date, d.posts]), [['2026-03-28', 2], ['2026-03-29', 2]]);
  // Kolkata (UTC+05:30): the half hour decides the day.
  for (const [i, at] of ['2026-03-29T18:29:59Z', '2026-03-29T18:30:00Z'].entries()) {
    await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, occurrence, state, published_at)
      values (${randomUUID()}, ${postId}, ${ws}, ${accounts[0]}, 'sandbox', ${100 + i}, 'published', ${new Date(at)})`);
  }
  const kolkata = await overview().overview(ws, metricsRange({ from: '2026-03-29', to: '2026-03-30', timeZone: 'Asia/Kolkata' }, new Date()), [accounts[0]!]);
  assert.deepEqual(kolkata.days.map((d) => [d.date, d.posts]), [['2026-03-29', 3], ['2026-03-30', 3]], 'the 29th runs 2026-03-28T18:30Z to 2026-03-29T18:30Z');
});
