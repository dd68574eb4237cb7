// The calendar: each day lists at most perDay targets in (time, id) order and says how many it has; one day
// pages further by cursor; days are cut in the zone asked for (23- and 25-hour days included); the account
// filter; what a target shows (its day-time, its network's text, its post's networks).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox } from './support/social.ts';
import { newWorkspace, person } from './support/fixtures.ts';

let t: TestApp;
let owner: string;
let ws: string;
let a1: string;
let a2: string;

interface Item { targetId: string; postId: string; accountId: string; at: string; localTime: string; text: string; state: string; networks: number }
interface Day { date: string; total: number; nextCursor: string | null; targets: Item[] }

before(async () => {
  t = await startTestApp({}, 'start');
  const o = await person(t);
  owner = o.token;
  ws = await newWorkspace(t, o, 'Calendar');
  a1 = await connectSandbox(t, owner, ws, 'cal-one');
  a2 = await connectSandbox(t, owner, ws, 'cal-two');
});
after(() => t.stop());

async function post(at: string, accounts: string[], text = `at ${at}`, variant?: string): Promise<{ id: string; targets: { id: string; accountId: string }[] }> {
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, {
    token: owner, body: { text, targets: accounts.map((accountId) => ({ accountId, ...(variant ? { text: variant } : {}) })), schedule: { at } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function calendar(query: Record<string, string | number>): Promise<{ status: number; body: { timeZone: string; days: Day[]; message?: string } }> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  return t.call('GET', `/api/workspaces/${ws}/calendar?${qs}`, { token: owner });
}

const day = (body: { days: Day[] }, date: string) => body.days.find((d) => d.date === date)!;

test('each day lists its first perDay targets in time order and its total; a cursor pages the rest of one day', async () => {
  // 2027-05-10: six posts, two to both accounts (8 targets), two at the very same instant.
  for (const at of ['2027-05-10T09:00:00Z', '2027-05-10T09:00:00Z', '2027-05-10T11:15:00Z', '2027-05-10T14:00:00Z']) await post(at, [a1]);
  for (const at of ['2027-05-10T08:30:00Z', '2027-05-10T20:45:00Z']) await post(at, [a1, a2]);
  await post('2027-05-11T10:00:00Z', [a2]);

  const all = await calendar({ from: '2027-05-10', to: '2027-05-11', perDay: 1000 });
  assert.equal(all.status, 200, JSON.stringify(all.body));
  const may10 = day(all.body, '2027-05-10');
  assert.equal(may10.total, 8);
  assert.equal(may10.targets.length, 8);
  assert.equal(may10.nextCursor, null);
  const order = may10.targets.map((x) => `${x.at} ${x.targetId}`);
  assert.deepEqual(order, [...order].sort(), 'in (time, id) order');
  assert.deepEqual(may10.targets.map((x) => x.localTime), ['08:30', '08:30', '09:00', '09:00', '11:15', '14:00', '20:45', '20:45']);
  assert.equal(day(all.body, '2027-05-11').total, 1);

  const few = await calendar({ from: '2027-05-10', to: '2027-05-11', perDay: 3 });
  const short10 = day(few.body, '2027-05-10');
  assert.equal(short10.total, 8, 'the total counts every target of the day, listed or not');
  assert.deepEqual(short10.targets.map((x) => x.targetId), may10.targets.slice(0, 3).map((x) => x.targetId));
  assert.ok(short10.nextCursor);
  assert.equal(day(few.body, '2027-05-11').nextCursor, null);

  // Paging one day by its cursors gives every target once, in order, however small the page.
  for (const perDay of [1, 2, 3]) {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const r = await calendar({ from: '2027-05-10', to: '2027-05-10', perDay, ...(cursor ? { cursor } : {}) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const d = r.body.days[0]!;
      assert.equal(d.total, 8, 'the total stays the day\'s, whatever the cursor');
      assert.ok(d.targets.length <= perDay);
      seen.push(...d.targets.map((x) => x.targetId));
      cursor = d.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, may10.targets.map((x) => x.targetId), `perDay=${perDay}`);
  }
});

test('the cursor keeps the microseconds: two targets published in the same millisecond are both listed once', async () => {
  const p = await post('2027-05-20T09:00:00Z', [a1, a2]);
  const db = t.running.services.db;
  await db.execute(sql`update post_targets set state = 'published', published_at = '2027-05-20T12:00:00.123456Z' where id = ${p.targets[0]!.id}`);
  await db.execute(sql`update post_targets set state = 'published', published_at = '2027-05-20T12:00:00.123789Z' where id = ${p.targets[1]!.id}`);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const r = await calendar({ from: '2027-05-20', to: '2027-05-20', perDay: 1, ...(cursor ? { cursor } : {}) });
    seen.push(...r.body.days[0]!.targets.map((x) => x.targetId));
    cursor = r.body.days[0]!.nextCursor;
  } while (cursor && seen.length < 5);
  assert.deepEqual(seen, [p.targets[0]!.id, p.targets[1]!.id]);
});

test('a target sits on the day it was published, else the day it is due; cancelled ones are left out', async () => {
  const published = await post('2027-06-01T10:00:00Z', [a1], 'went out late');
  const cancelled = await post('2027-06-01T11:00:00Z', [a1], 'called off');
  const db = t.running.services.db;
  await db.execute(sql`update post_targets set state = 'published', published_at = '2027-06-02T08:00:00Z' where id = ${published.targets[0]!.id}`);
  await db.execute(sql`update post_targets set state = 'cancelled' where id = ${cancelled.targets[0]!.id}`);
  const r = await calendar({ from: '2027-06-01', to: '2027-06-02' });
  assert.equal(day(r.body, '2027-06-01').total, 0);
  const june2 = day(r.body, '2027-06-02');
  assert.deepEqual(june2.targets.map((x) => [x.targetId, x.state, x.at]), [[published.targets[0]!.id, 'published', '2027-06-02T08:00:00.000Z']]);
  assert.equal(june2.total, 1);
});

test('days are cut in the zone asked for, a 23-hour and a 25-hour day included', async () => {
  // Europe/Berlin springs forward on 2027-03-28 (02:00 CET → 03:00 CEST): that day runs 2027-03-27T23:00Z–2027-03-28T22:00Z.
  const berlin = [
    ['2027-03-27T22:59:00Z', '2027-03-27', '23:59'],
    ['2027-03-27T23:00:00Z', '2027-03-28', '00:00'],
    ['2027-03-28T01:30:00Z', '2027-03-28', '03:30'],
    ['2027-03-28T21:59:00Z', '2027-03-28', '23:59'],
    ['2027-03-28T22:00:00Z', '2027-03-29', '00:00'],
  ] as const;
  // America/New_York falls back on 2027-11-07 (02:00 EDT → 01:00 EST): that day runs 04:00Z–05:00Z the next day.
  const newYork = [
    ['2027-11-07T03:59:00Z', '2027-11-06', '23:59'],
    ['2027-11-07T04:00:00Z', '2027-11-07', '00:00'],
    ['2027-11-07T05:30:00Z', '2027-11-07', '01:30'],
    ['2027-11-07T06:30:00Z', '2027-11-07', '01:30'],
    ['2027-11-08T04:59:00Z', '2027-11-07', '23:59'],
    ['2027-11-08T05:00:00Z', '2027-11-08', '00:00'],
  ] as const;
  for (const [zone, cases, from, to] of [['Europe/Berlin', berlin, '2027-03-27', '2027-03-29'], ['America/New_York', newYork, '2027-11-06', '2027-11-08']] as const) {
    const made = new Map<string, string>();
    for (const [at] of cases) made.set((await post(at, [a2], `${zone} ${at}`)).targets[0]!.id, at);
    const r = await calendar({ from, to, timeZone: zone });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.timeZone, zone);
    const placed = r.body.days.flatMap((d) => d.targets.filter((x) => made.has(x.targetId)).map((x) => [made.get(x.targetId), d.date, x.localTime]));
    assert.deepEqual(placed, cases.map((c) => [...c]), zone);
    for (const d of r.body.days) assert.equal(d.total, cases.filter((c) => c[1] === d.date).length, `${zone} ${d.date}`);
  }
});

test('accountId: only that account\'s targets, counted for it; networks still counts the whole post', async () => {
  const both = await post('2027-07-05T09:00:00Z', [a1, a2], 'to both');
  await post('2027-07-05T10:00:00Z', [a1], 'to one');
  await post('2027-07-05T11:00:00Z', [a2], 'to two');
  const only2 = await calendar({ from: '2027-07-05', to: '2027-07-05', accountId: a2 });
  const d = only2.body.days[0]!;
  assert.equal(d.total, 2);
  assert.deepEqual(d.targets.map((x) => [x.accountId, x.text, x.networks]), [[a2, 'to both', 2], [a2, 'to two', 1]]);
  assert.equal(d.targets[0]!.postId, both.id);
  const all = await calendar({ from: '2027-07-05', to: '2027-07-05' });
  assert.equal(all.body.days[0]!.total, 4);
  // With the filter, a small page and its cursor page that account's targets only.
  const first = await calendar({ from: '2027-07-05', to: '2027-07-05', accountId: a2, perDay: 1 });
  const rest = await calendar({ from: '2027-07-05', to: '2027-07-05', accountId: a2, perDay: 1, cursor: first.body.days[0]!.nextCursor! });
  assert.deepEqual([...first.body.days[0]!.targets, ...rest.body.days[0]!.targets].map((x) => x.text), ['to both', 'to two']);
  assert.equal(rest.body.days[0]!.nextCursor, null);
});

test('a target shows its network\'s own text, else the post\'s, cut to 280 characters', async () => {
  await post('2027-08-02T09:00:00Z', [a1], 'p'.repeat(400));
  await post('2027-08-02T10:00:00Z', [a1], 'the post', 'this network only');
  const r = await calendar({ from: '2027-08-02', to: '2027-08-02' });
  assert.deepEqual(r.body.days[0]!.targets.map((x) => x.text), ['p'.repeat(280), 'this network only']);
});

test('bad parameters are a 400 that says what to change', async () => {
  const cases: [Record<string, string | number>, RegExp][] = [
    [{ from: '2027-01-01', to: '2027-01-07', perDay: 0 }, /perDay must be >= 1/],
    [{ from: '2027-01-01', to: '2027-01-07', perDay: 1001 }, /perDay must be <= 1000/],
    [{ from: '2027-01-01', to: '2027-01-07', perDay: 2.5 }, /perDay must be integer/],
    [{ from: '2027-01-01', to: '2027-01-07', cursor: 'abc' }, /cursor pages within one day/],
    [{ from: '2027-01-01', to: '2027-01-01', cursor: 'abc' }, /not a cursor of this list/],
    [{ from: '2027-01-01', to: '2027-01-01', cursor: 'a b' }, /cursor must match pattern/],
    // Well formed, but not an instant: refused here, not by PostgreSQL as a 500.
    [{ from: '2027-01-01', to: '2027-01-01', cursor: Buffer.from('2027-02-30T24:00:00.000000Z 0b7c1f57-3d4e-4a5b-9c8d-7e6f5a4b3c2d').toString('base64url') }, /not a cursor of this list/],
    [{ from: '2027-02-30', to: '2027-03-01' }, /from must match format "date"/],
    [{ from: '2027-01-01', to: '2027-06-01' }, /at most 92 days/],
    [{ from: '2027-01-07', to: '2027-01-01' }, /on or after from/],
    [{ from: '2027-01-01', to: '2027-01-07', timeZone: 'Mars/Olympus' }, /IANA time zone/],
    [{ from: '2027-01-01', to: '2027-01-07', accountId: 'nope' }, /accountId must match format "uuid"/],
  ];
  for (const [query, message] of cases) {
    const r = await calendar(query);
    assert.equal(r.status, 400, JSON.stringify(query));
    assert.match(r.body.message!, message, JSON.stringify(query));
  }
});
