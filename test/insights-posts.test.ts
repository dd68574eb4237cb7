// Labels, post performance, the overview's new tables, best times and the CSV exports, through HTTP, on a
// history written to the database (published targets and their figures; the triggers keep
// post_performance and the rollups). Attacks: another workspace's member, label, post and account.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { parse } from 'csv-parse/sync';
import { startTestApp, type TestApp } from './support/app.ts';
import { MIN_POSTS } from '../src/modules/analytics/best-times.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let t: TestApp;
let owner: string;
let ws: string;
let sandbox: string;
let masto: string;
let stranger: string;
let strangerWs: string;
let strangerAccount: string;
let strangerPost: string;
const db = () => t.running.services.db;

type Figs = { likes: number | null; reposts: number | null; replies: number | null; impressions: number | null };

async function account(workspaceId: string, provider: string, name: string): Promise<string> {
  const id = randomUUID();
  await db().execute(sql`insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
    values (${id}, ${workspaceId}, ${provider}, ${id}, 'person', ${name}, ${name})`);
  return id;
}

/** A post published on `accountId` at `at`, with a series of figures collected after it (the last is the latest). */
async function published(workspaceId: string, accountId: string, provider: string, at: Date, series: Figs[], text = 'A post'): Promise<{ postId: string; targetId: string }> {
  const postId = randomUUID();
  const targetId = randomUUID();
  await db().execute(sql`insert into posts (id, workspace_id, text) values (${postId}, ${workspaceId}, ${text})`);
  await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, state, published_at, remote_id)
    values (${targetId}, ${postId}, ${workspaceId}, ${accountId}, ${provider}, 'published', ${at}, ${`r-${targetId}`})`);
  for (const [i, f] of series.entries()) {
    await db().execute(sql`insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at)
      values (${targetId}, ${accountId}, ${f.likes}, ${f.reposts}, ${f.replies}, ${f.impressions}, ${new Date(at.getTime() + (i + 1) * HOUR)})`);
  }
  return { postId, targetId };
}

const eng = (f: Figs) => (f.likes === null && f.reposts === null && f.replies === null ? null : (f.likes ?? 0) + (f.reposts ?? 0) + (f.replies ?? 0));
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

// The table's history: posts on both accounts over the last ten days.
const history: { postId: string; targetId: string; accountId: string; at: Date; latest: Figs | null }[] = [];

before(async () => {
  t = await startTestApp();
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Performance' } })).body.id;
  sandbox = await account(ws, 'sandbox', 'perf-sandbox');
  masto = await account(ws, 'mastodon', 'perf-masto');
  const v = await t.user();
  stranger = (await t.login(v.email, v.password)).accessToken;
  strangerWs = (await t.call('POST', '/api/workspaces', { token: stranger, body: { name: 'Theirs' } })).body.id;
  strangerAccount = await account(strangerWs, 'sandbox', 'their-sandbox');
  strangerPost = (await published(strangerWs, strangerAccount, 'sandbox', new Date(Date.now() - 2 * DAY), [{ likes: 999, reposts: 1, replies: 1, impressions: 5000 }])).postId;

  const now = Date.now();
  for (let i = 0; i < 12; i++) {
    const onSandbox = i % 3 !== 0;
    const at = new Date(now - (i + 1) * 17 * HOUR);
    // Some ties on engagement (order then falls to the target id), one post without figures at all.
    const latest: Figs | null = i === 5 ? null : onSandbox
      ? { likes: 10 * (i % 4), reposts: i, replies: 2, impressions: 100 + 50 * i }
      : { likes: 3 * i, reposts: 1, replies: null, impressions: null };
    const series = latest ? [{ ...latest, likes: Math.floor((latest.likes ?? 0) / 2) }, latest] : [];
    const p = await published(ws, onSandbox ? sandbox : masto, onSandbox ? 'sandbox' : 'mastodon', at, series, i === 0 ? '=HYPERLINK("x"), "quoted"\nsecond line' : `Post ${i}`);
    history.push({ ...p, accountId: onSandbox ? sandbox : masto, at, latest });
  }
});
after(() => t.stop());

describe('labels', () => {
  test('created, listed by name a page at a time, renamed, recoloured, deleted; names unique whatever the case', async () => {
    const made: string[] = [];
    for (const name of ['Spring launch', 'autumn', 'Brand', 'Contest', 'Drop']) {
      const r = await t.call('POST', `/api/workspaces/${ws}/labels`, { token: owner, body: { name, color: '#1D9BF0' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.color, '#1d9bf0');
      made.push(r.body.id);
    }
    const dup = await t.call('POST', `/api/workspaces/${ws}/labels`, { token: owner, body: { name: 'BRAND', color: '#000000' } });
    assert.equal(dup.status, 409);
    assert.equal((await t.call('POST', `/api/workspaces/${ws}/labels`, { token: owner, body: { name: 'x', color: 'blue' } })).status, 400);
    assert.equal((await t.call('POST', `/api/workspaces/${ws}/labels`, { token: owner, body: { name: '  ', color: '#000000' } })).status, 400);

    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await t.call('GET', `/api/workspaces/${ws}/labels?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: owner });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      names.push(...r.body.items.map((l: { name: string }) => l.name));
      cursor = r.body.nextCursor;
    } while (cursor);
    assert.deepEqual(names, ['Brand', 'Contest', 'Drop', 'Spring launch', 'autumn'], 'by name, each once');

    const renamed = await t.call('PATCH', `/api/workspaces/${ws}/labels/${made[4]}`, { token: owner, body: { name: 'Drops', color: '#00aa00' } });
    assert.equal(renamed.status, 200);
    assert.deepEqual([renamed.body.name, renamed.body.color], ['Drops', '#00aa00']);
    assert.equal((await t.call('PATCH', `/api/workspaces/${ws}/labels/${made[4]}`, { token: owner, body: { name: 'contest' } })).status, 409);
    assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/labels/${made[4]}`, { token: owner })).status, 204);
    assert.equal((await t.call('DELETE', `/api/workspaces/${ws}/labels/${made[4]}`, { token: owner })).status, 404);
  });

  test('put on posts: validated, replaced, and another workspace\'s labels and posts are not found', async () => {
    const labels = (await t.call('GET', `/api/workspaces/${ws}/labels`, { token: owner })).body.items as { id: string; name: string }[];
    const brand = labels.find((l) => l.name === 'Brand')!.id;
    const contest = labels.find((l) => l.name === 'Contest')!.id;
    const post = history[1]!.postId;
    const set = await t.call('PUT', `/api/workspaces/${ws}/posts/${post}/labels`, { token: owner, body: { labelIds: [contest, brand, brand] } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.items.map((l: { name: string }) => l.name), ['Brand', 'Contest']);
    const replaced = await t.call('PUT', `/api/workspaces/${ws}/posts/${post}/labels`, { token: owner, body: { labelIds: [brand] } });
    assert.deepEqual(replaced.body.items.map((l: { name: string }) => l.name), ['Brand']);
    for (const h of history.slice(2, 6)) await t.call('PUT', `/api/workspaces/${ws}/posts/${h.postId}/labels`, { token: owner, body: { labelIds: [contest] } });

    const theirLabel = (await t.call('POST', `/api/workspaces/${strangerWs}/labels`, { token: stranger, body: { name: 'Theirs', color: '#ff0000' } })).body.id;
    assert.equal((await t.call('PUT', `/api/workspaces/${ws}/posts/${post}/labels`, { token: owner, body: { labelIds: [theirLabel] } })).status, 404, 'their label on my post');
    assert.equal((await t.call('PUT', `/api/workspaces/${strangerWs}/posts/${strangerPost}/labels`, { token: stranger, body: { labelIds: [brand] } })).status, 404, 'my label on their post');
    assert.equal((await t.call('PUT', `/api/workspaces/${strangerWs}/posts/${post}/labels`, { token: stranger, body: { labelIds: [theirLabel] } })).status, 404, 'my post through their workspace');
    assert.equal((await t.call('PUT', `/api/workspaces/${ws}/posts/${post}/labels`, { token: stranger, body: { labelIds: [] } })).status, 404, 'a workspace one is not in');
    assert.equal((await t.call('PATCH', `/api/workspaces/${strangerWs}/labels/${brand}`, { token: stranger, body: { name: 'Mine now' } })).status, 404);
    assert.equal((await t.call('DELETE', `/api/workspaces/${strangerWs}/labels/${brand}`, { token: stranger })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/labels`, { token: stranger })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/posts/${post}/labels`, { token: owner })).body.items[0].name, 'Brand');
    assert.equal((await t.call('PUT', `/api/workspaces/${ws}/posts/${post}/labels`, { token: owner, body: { labelIds: ['not-an-id'] } })).status, 400);
  });
});

describe('post table', () => {
  const key = (sort: string) => (h: (typeof history)[number]): number => {
    const f = h.latest;
    if (sort === 'publishedAt') return h.at.getTime();
    if (!f) return -1;
    if (sort === 'engagement') return eng(f) ?? -1;
    if (sort === 'engagementRate') return eng(f) !== null && f.impressions ? Math.round((eng(f)! * 1e6) / f.impressions) : -1;
    return (f as Record<string, number | null>)[sort] ?? -1;
  };

  test('every sort, both orders, keyset-paged: each row once, in order, ties by target', async () => {
    for (const sort of ['publishedAt', 'engagement', 'engagementRate', 'likes', 'reposts', 'replies', 'impressions']) {
      for (const order of ['desc', 'asc'] as const) {
        const got: string[] = [];
        let cursor: string | null = null;
        do {
          const r = await t.call('GET', `/api/workspaces/${ws}/analytics/posts?sort=${sort}&order=${order}&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { token: owner });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          got.push(...r.body.items.map((i: { targetId: string }) => i.targetId));
          cursor = r.body.nextCursor;
        } while (cursor);
        const k = key(sort);
        const want = [...history].sort((a, b) => (k(a) - k(b)) || (a.targetId < b.targetId ? -1 : 1)).map((h) => h.targetId);
        if (order === 'desc') want.reverse();
        assert.deepEqual(got, want, `${sort} ${order}`);
      }
    }
  });

  test('figures, engagement and its rate: null where the network gives no impressions', async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/analytics/posts?limit=50`, { token: owner });
    for (const row of r.body.items) {
      const h = history.find((x) => x.targetId === row.targetId)!;
      if (!h.latest) {
        assert.deepEqual([row.likes, row.engagement, row.engagementRate, row.collectedAt], [null, null, null, null]);
        continue;
      }
      assert.equal(row.likes, h.latest.likes);
      assert.equal(row.engagement, eng(h.latest));
      if (row.provider === 'mastodon') assert.equal(row.engagementRate, null, 'Mastodon reports no impressions');
      else assert.equal(row.engagementRate, Math.round((eng(h.latest)! * 1e6) / h.latest.impressions!) / 1e6);
    }
    const first = r.body.items.find((i: { targetId: string }) => i.targetId === history[1]!.targetId);
    assert.deepEqual(first.labels.map((l: { name: string }) => l.name), ['Brand']);
  });

  test('filtered by account and by label; another workspace\'s label or account is not found', async () => {
    const labels = (await t.call('GET', `/api/workspaces/${ws}/labels`, { token: owner })).body.items as { id: string; name: string }[];
    const contest = labels.find((l) => l.name === 'Contest')!.id;
    const byLabel = await t.call('GET', `/api/workspaces/${ws}/analytics/posts?label=${contest}&limit=50`, { token: owner });
    assert.deepEqual(byLabel.body.items.map((i: { postId: string }) => i.postId).sort(), history.slice(2, 6).map((h) => h.postId).sort());
    const byAccount = await t.call('GET', `/api/workspaces/${ws}/analytics/posts?account=${masto}&limit=50`, { token: owner });
    assert.equal(byAccount.body.items.length, history.filter((h) => h.accountId === masto).length);
    const theirLabel = (await t.call('GET', `/api/workspaces/${strangerWs}/labels`, { token: stranger })).body.items[0].id;
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts?label=${theirLabel}`, { token: owner })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts?account=${strangerAccount}`, { token: owner })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts`, { token: stranger })).status, 404);
    const cursor = (await t.call('GET', `/api/workspaces/${ws}/analytics/posts?sort=likes&limit=2`, { token: owner })).body.nextCursor;
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts?sort=engagement&limit=2&cursor=${cursor}`, { token: owner })).status, 400, 'a cursor of another sort');
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts?sort=views`, { token: owner })).status, 400);
  });

  test('one post: its curve, and against its account\'s median of the posts before it', async () => {
    const h = history[1]!; // the sandbox post published most recently but one: the older sandbox posts make its median
    const r = await t.call('GET', `/api/workspaces/${ws}/analytics/posts/${h.postId}`, { token: owner });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const tg = r.body.targets[0];
    assert.equal(tg.curve.length, 2);
    assert.deepEqual(tg.curve.map((c: { ageHours: number }) => c.ageHours), [1, 2]);
    assert.equal(tg.curve[1].engagement, eng(h.latest!));
    const older = history.filter((x) => x.accountId === sandbox && x.at < h.at && x.latest).map((x) => eng(x.latest!)!).sort((a, b) => a - b);
    const mid = older.length % 2 ? older[(older.length - 1) / 2]! : (older[older.length / 2 - 1]! + older[older.length / 2]!) / 2;
    assert.equal(tg.accountMedian.posts, older.length);
    assert.equal(tg.accountMedian.engagement, mid);
    assert.equal(tg.accountMedian.engagementDiff, eng(h.latest!)! - mid);
    assert.deepEqual(r.body.labels.map((l: { name: string }) => l.name), ['Brand']);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts/${strangerPost}`, { token: owner })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${strangerWs}/analytics/posts/${h.postId}`, { token: stranger })).status, 404);
  });
});

describe('overview additions', () => {
  test('by account, by label, top and bottom posts, weekday and hour', async () => {
    const from = utcDay(Date.now() - 12 * DAY);
    const to = utcDay(Date.now());
    const o = await t.call('GET', `/api/workspaces/${ws}/analytics/overview?from=${from}&to=${to}`, { token: owner });
    assert.equal(o.status, 200, JSON.stringify(o.body));
    const sumEng = (hs: typeof history) => hs.reduce((s, h) => s + (h.latest ? eng(h.latest) ?? 0 : 0), 0);
    const acc = o.body.byAccount.find((a: { accountId: string }) => a.accountId === sandbox);
    assert.equal(acc.posts.current, history.filter((h) => h.accountId === sandbox).length);
    assert.equal(acc.engagement.current, sumEng(history.filter((h) => h.accountId === sandbox)));
    const contest = o.body.byLabel.find((l: { name: string }) => l.name === 'Contest');
    assert.equal(contest.posts.current, 4);
    assert.equal(contest.engagement.current, sumEng(history.slice(2, 6)));
    const withEng = history.filter((h) => h.latest && eng(h.latest) !== null);
    const best = Math.max(...withEng.map((h) => eng(h.latest!)!));
    const worst = Math.min(...withEng.map((h) => eng(h.latest!)!));
    assert.equal(o.body.top.length, 5);
    assert.equal(o.body.top[0].engagement, best);
    assert.equal(o.body.bottom[0].engagement, worst, 'the bottom skips posts without figures');
    assert.ok(o.body.bottom.every((p: { engagement: number | null }) => p.engagement !== null));
    const sandboxOnly = (await t.call('GET', `/api/workspaces/${ws}/analytics/overview?from=${from}&to=${to}&accounts=${sandbox}`, { token: owner })).body;
    const sandboxEng = history.filter((h) => h.accountId === sandbox && h.latest).map((h) => eng(h.latest!)!).sort((a, b) => b - a);
    assert.deepEqual(sandboxOnly.top.map((p: { engagement: number }) => p.engagement), sandboxEng.slice(0, 5));
    assert.deepEqual(sandboxOnly.bottom.map((p: { engagement: number }) => p.engagement), [...sandboxEng].reverse().slice(0, 5));
    const both = (await t.call('GET', `/api/workspaces/${ws}/analytics/overview?from=${from}&to=${to}&accounts=${sandbox},${masto}`, { token: owner })).body;
    assert.deepEqual(both.top.map((p: { targetId: string }) => p.targetId), o.body.top.map((p: { targetId: string }) => p.targetId), 'merged per account as the workspace\'s index orders them');
    assert.deepEqual(both.bottom.map((p: { targetId: string }) => p.targetId), o.body.bottom.map((p: { targetId: string }) => p.targetId));
    assert.equal(o.body.byWeekdayHour.length, 168);
    assert.equal(o.body.byWeekdayHour.reduce((s: number, c: { posts: number }) => s + c.posts, 0), history.length);
    for (const h of history) {
      const wd = ((h.at.getUTCDay() + 6) % 7) + 1;
      assert.ok(o.body.byWeekdayHour.find((c: { weekday: number; hour: number }) => c.weekday === wd && c.hour === h.at.getUTCHours()).posts >= 1);
    }
  });

  test('DST: weekday and hour in Europe/Berlin over the weeks of a 23- and a 25-hour day', async () => {
    const dstWs = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'DST' } })).body.id;
    const acc = await account(dstWs, 'sandbox', 'dst');
    // One post at every whole UTC hour from Monday to Sunday of each week (Berlin's Sundays 29 March and 25 October 2026).
    for (const [start, end] of [['2026-03-22T23:00:00Z', '2026-03-29T22:00:00Z'], ['2026-10-18T22:00:00Z', '2026-10-25T23:00:00Z']]) {
      for (let ms = Date.parse(start!); ms < Date.parse(end!); ms += HOUR) await published(dstWs, acc, 'sandbox', new Date(ms), [{ likes: 1, reposts: 0, replies: 0, impressions: 10 }]);
    }
    const spring = (await t.call('GET', `/api/workspaces/${dstWs}/analytics/overview?from=2026-03-23&to=2026-03-29&timeZone=Europe/Berlin`, { token: owner })).body;
    assert.deepEqual(spring.days.map((d: { posts: number }) => d.posts), [24, 24, 24, 24, 24, 24, 23], 'Sunday 29 March has 23 hours');
    const cell = (o: { byWeekdayHour: { weekday: number; hour: number; posts: number; likes: number | null }[] }, wd: number, h: number) => o.byWeekdayHour.find((c) => c.weekday === wd && c.hour === h)!;
    assert.equal(cell(spring, 7, 2).posts, 0, '02:00-03:00 does not exist that night');
    assert.equal(cell(spring, 7, 3).posts, 1);
    assert.equal(cell(spring, 6, 2).posts, 1);
    const autumn = (await t.call('GET', `/api/workspaces/${dstWs}/analytics/overview?from=2026-10-19&to=2026-10-25&timeZone=Europe/Berlin`, { token: owner })).body;
    assert.deepEqual(autumn.days.map((d: { posts: number }) => d.posts), [24, 24, 24, 24, 24, 24, 25], 'Sunday 25 October has 25 hours');
    assert.equal(cell(autumn, 7, 2).posts, 2, '02:00-03:00 happens twice');
    assert.equal(cell(autumn, 7, 2).likes, 2);
    assert.equal(autumn.byWeekdayHour.reduce((s: number, c: { posts: number }) => s + c.posts, 0), 169);
    // The same week in UTC: every cell once.
    const utc = (await t.call('GET', `/api/workspaces/${dstWs}/analytics/overview?from=2026-10-19&to=2026-10-25&timeZone=UTC`, { token: owner })).body;
    assert.ok(utc.byWeekdayHour.every((c: { posts: number }) => c.posts <= 1));
  });
});

describe('best times', () => {
  test('not enough data: says how many more posts are needed', async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${sandbox}/best-times`, { token: owner });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.enough, false);
    assert.equal(r.body.cells, null);
    assert.equal(r.body.posts + r.body.needed, MIN_POSTS);
    assert.equal(r.body.timeZoneSource, 'default_utc');
  });

  test('enough: a heatmap in the posting schedule\'s zone, with counts and intervals; another workspace\'s account is not found', async () => {
    const acc = await account(ws, 'sandbox', 'heat');
    await db().execute(sql`insert into posting_schedules (account_id, workspace_id, time_zone, slots) values (${acc}, ${ws}, 'America/New_York', '[]'::jsonb)`);
    // Mondays 09:00 New York: engagement 10, 12, 14, 16; Tuesdays 15:00: 40 each; the rest spread out, older than three days.
    const base = Date.parse('2026-11-02T14:00:00Z'); // a Monday, 09:00 in New York (EST)
    const weeksAgo = (w: number) => base - Math.ceil((base - (Date.now() - 5 * DAY)) / (7 * DAY)) * 7 * DAY - w * 7 * DAY;
    for (let w = 0; w < 4; w++) {
      await published(ws, acc, 'sandbox', new Date(weeksAgo(w)), [{ likes: 10 + 2 * w, reposts: 0, replies: 0, impressions: 100 }]);
      await published(ws, acc, 'sandbox', new Date(weeksAgo(w) + DAY + 6 * HOUR), [{ likes: 40, reposts: 0, replies: 0, impressions: 100 }]);
    }
    for (let i = 0; i < 30; i++) await published(ws, acc, 'sandbox', new Date(weeksAgo(0) - 3 * DAY - i * 5 * HOUR), [{ likes: 5, reposts: 1, replies: 0, impressions: 100 }]);
    // A post of the last day is left out (its figures are still growing).
    await published(ws, acc, 'sandbox', new Date(Date.now() - HOUR), [{ likes: 1000, reposts: 0, replies: 0, impressions: 100 }]);
    const r = await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${acc}/best-times`, { token: owner });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.enough, true);
    assert.deepEqual([r.body.timeZone, r.body.timeZoneSource, r.body.posts, r.body.needed], ['America/New_York', 'posting_schedule', 38, 0]);
    assert.equal(r.body.cells.length, 168);
    const monday9 = r.body.cells.find((c: { weekday: number; hour: number }) => c.weekday === 1 && c.hour === 9);
    assert.equal(monday9.posts, 4);
    assert.equal(monday9.mean, 13);
    assert.ok(monday9.low < 13 && monday9.high > 13, 'an interval around the mean');
    // sd of 10, 12, 14, 16 is 2.582; t(3) = 3.182; half-width = 3.182 × 2.582 / 2 = 4.11
    assert.ok(Math.abs(monday9.high - monday9.low - 2 * 4.108) < 0.05, `${monday9.low}–${monday9.high}`);
    const tuesday15 = r.body.cells.find((c: { weekday: number; hour: number }) => c.weekday === 2 && c.hour === 15);
    assert.deepEqual([tuesday15.posts, tuesday15.mean, tuesday15.low, tuesday15.high], [4, 40, 40, 40]);
    assert.ok(tuesday15.index > 1);
    const sparse = r.body.cells.filter((c: { posts: number; mean: number | null }) => c.posts > 0 && c.posts < 3);
    assert.ok(sparse.length > 0 && sparse.every((c: { mean: number | null }) => c.mean === null), 'a cell below three posts shows its count, not a mean');
    assert.equal(r.body.cells.reduce((s: number, c: { posts: number }) => s + c.posts, 0), 38);

    const utc = await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${acc}/best-times?timeZone=UTC`, { token: owner });
    assert.equal(utc.body.cells.find((c: { weekday: number; hour: number }) => c.weekday === 1 && c.hour === 14).posts, 4);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${strangerAccount}/best-times`, { token: owner })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${acc}/best-times`, { token: stranger })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/accounts/${acc}/best-times?timeZone=Mars/Base`, { token: owner })).status, 400);
  });
});

describe('CSV', () => {
  test('the post table as CSV: the API\'s rows, quoted and neutralised', async () => {
    const api = (await t.call('GET', `/api/workspaces/${ws}/analytics/posts?sort=engagement&limit=200`, { token: owner })).body.items as Record<string, unknown>[];
    const r = await t.call('GET', `/api/workspaces/${ws}/analytics/posts.csv?sort=engagement`, { token: owner });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(r.headers.get('content-disposition') ?? '', /attachment; filename="posts-/);
    const rows = parse(r.body as string, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, api.length);
    rows.forEach((row, i) => {
      assert.equal(row.targetId, api[i]!.targetId);
      assert.equal(row.engagement, api[i]!.engagement === null ? '' : String(api[i]!.engagement));
    });
    const tricky = rows.find((row) => row.targetId === history[0]!.targetId)!;
    assert.equal(tricky.text, '\'=HYPERLINK("x"), "quoted"\nsecond line', 'neutralised, with its quotes, comma and newline kept');
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts.csv`, { token: stranger })).status, 404);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/posts.csv?account=${strangerAccount}`, { token: owner })).status, 404);
  });

  test('overview tables as CSV; an analytics:read key reads them and cannot write labels', async () => {
    const k = await t.call('POST', `/api/workspaces/${ws}/api-keys`, { token: owner, body: { name: 'reports', scopes: ['analytics:read'] } });
    const key = k.body.key as string;
    const from = utcDay(Date.now() - 12 * DAY);
    const o = (await t.call('GET', `/api/workspaces/${ws}/analytics/overview?from=${from}`, { token: key })).body;
    for (const table of ['totals', 'networks', 'accounts', 'labels', 'days', 'hours', 'top', 'bottom']) {
      const r = await t.call('GET', `/api/workspaces/${ws}/analytics/overview.csv?from=${from}&table=${table}`, { token: key });
      assert.equal(r.status, 200, `${table}: ${String(r.body)}`);
      const rows = parse(r.body as string, { columns: true }) as Record<string, string>[];
      const want = { totals: 1, networks: o.networks.length, accounts: o.byAccount.length, labels: o.byLabel.length, days: o.days.length, hours: 168, top: o.top.length, bottom: o.bottom.length }[table];
      assert.equal(rows.length, want, table);
    }
    const days = parse((await t.call('GET', `/api/workspaces/${ws}/analytics/overview.csv?from=${from}&table=days`, { token: key })).body as string, { columns: true }) as Record<string, string>[];
    assert.deepEqual(days.map((d) => Number(d.posts)), o.days.map((d: { posts: number }) => d.posts));
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/analytics/overview.csv?table=secrets`, { token: key })).status, 400);
    assert.equal((await t.call('POST', `/api/workspaces/${ws}/labels`, { token: key, body: { name: 'Nope', color: '#000000' } })).status, 403);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/labels`, { token: key })).status, 200);
    assert.equal((await t.call('GET', `/api/workspaces/${strangerWs}/analytics/overview.csv?table=days`, { token: key })).status, 404);
  });
});
