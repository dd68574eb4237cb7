// Posts end to end through the API, published by the job runner to the Sandbox network on the
// in-process simulator: validation at the limits, publish now, threads, retries on 429 and 5xx,
// timeouts reconciled, expired and revoked tokens, time zones across DST, approvals, queue, calendar.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { mailOutbox } from '../src/modules/mail/schema.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, simPosts } from './support/social.ts';
import { member, newWorkspace, person, type Role } from './support/fixtures.ts';
import { postTargets } from '../src/modules/posts/schema.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { DEFAULT_KNOBS } from '../tools/provider-sim/core.ts';

let t: TestApp;
let owner: string;
let ownerEmail: string;
let ws: string;
let account: string;
const sim = () => t.running.simulatorUrl!;

before(async () => {
  t = await startTestApp({ PUBLISH_BACKOFF_BASE_MS: '200', PUBLISH_BACKOFF_MAX_MS: '1000', PUBLISH_MAX_ATTEMPTS: '4', SOCIAL_API_TIMEOUT_MS: '1500', PUBLISH_LEASE_SECONDS: '5', PUBLISH_SWEEP_INTERVAL_MS: '500' }, 'start');
  const o = await person(t);
  owner = o.token;
  ownerEmail = o.email;
  ws = await newWorkspace(t, o, 'Posts');
  account = await connectSandbox(t, owner, ws, 'poster');
});
after(() => t.stop());

const resetKnobs = () => simKnobs(sim(), 'sandbox', { ...DEFAULT_KNOBS });

async function createPost(body: Record<string, unknown>, token = owner, workspace = ws) {
  return t.call('POST', `/api/workspaces/${workspace}/posts`, { token, body });
}

async function waitForTarget(postId: string, states = ['published', 'failed', 'unknown'], workspace = ws, token = owner) {
  return eventually(async () => {
    const r = await t.call('GET', `/api/workspaces/${workspace}/posts/${postId}`, { token });
    const target = r.body.targets?.[0];
    return target && states.includes(target.state) ? r.body : undefined;
  }, 30_000, `post ${postId} to reach ${states.join('/')}`);
}

describe('validation by the network\'s rules', () => {
  test('exactly at the limit passes; one over fails, naming the target and field', async () => {
    const ok = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner, body: { text: 'é'.repeat(1000), targets: [{ accountId: account }] } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.valid, true, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.counts[0].counts[0], { field: 'text', length: 1000, max: 1000 });
    const over = await createPost({ text: 'x'.repeat(1001), targets: [{ accountId: account }], schedule: { now: true } });
    assert.equal(over.status, 422);
    assert.equal(over.body.code, 'POST_INVALID');
    assert.equal(over.body.details[0].accountId, account);
    assert.equal(over.body.details[0].field, 'text');
    assert.match(over.body.message, /1000 characters.*1001/);
    // All or nothing: a post that cannot be scheduled as asked is not saved half-way.
    const drafts = await t.call('GET', `/api/workspaces/${ws}/posts?status=draft`, { token: owner });
    assert.ok(!drafts.body.posts.some((p: { text: string }) => p.text === 'x'.repeat(1001)));
    const threadOver = await t.call('POST', `/api/workspaces/${ws}/posts/validate`, { token: owner, body: { text: 'ok', targets: [{ accountId: account, thread: [{ text: 'fine' }, { text: 'y'.repeat(1001) }] }] } });
    assert.equal(threadOver.body.problems[0].field, 'thread[1].text');
  });

  test('an account of another workspace, or an unknown field, is a 4xx with a message', async () => {
    const other = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Other' } })).body.id;
    const r = await createPost({ text: 'hi', targets: [{ accountId: account }] }, owner, other);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /targets\[0\]\.accountId/);
    const bad = await createPost({ text: 'hi', targets: [{ accountId: account, colour: 'red' }] });
    assert.equal(bad.status, 400);
    const when = await createPost({ text: 'hi', targets: [{ accountId: account }], schedule: { now: true, queue: true } });
    assert.equal(when.status, 400);
    assert.match(when.body.message, /only one way/);
  });
});

describe('listing', () => {
  test('pages by cursor without skipping posts made in the same instant', async () => {
    const ws2 = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Paging' } })).body.id;
    const acc = await connectSandbox(t, owner, ws2, 'pager');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createPost({ text: `page ${i}`, targets: [{ accountId: acc }] }, owner, ws2)).body.id);
    await t.running.services.db.execute(sql`update posts set created_at = '2027-01-01T00:00:00Z' where workspace_id = ${ws2}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await t.call('GET', `/api/workspaces/${ws2}/posts?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: owner });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...page.body.posts.map((p: { id: string }) => p.id));
      cursor = page.body.next;
    } while (cursor);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const bad = await t.call('GET', `/api/workspaces/${ws2}/posts?cursor=nonsense`, { token: owner });
    assert.equal(bad.status, 400);
  });
});

describe('publishing', () => {
  test('publish now: the target is published once, with its link and one attempt', async () => {
    const r = await createPost({ text: 'Hello from AllIN', targets: [{ accountId: account }], schedule: { now: true } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const done = await waitForTarget(r.body.id);
    const target = done.targets[0];
    assert.equal(target.state, 'published');
    assert.equal(done.aggregateStatus, 'published');
    assert.match(target.url, /\/p\//);
    assert.equal(target.attemptLog.length, 1);
    assert.equal(target.attemptLog[0].outcome, 'published');
    const onNetwork = (await simPosts(sim())).filter((p) => p.text === 'Hello from AllIN');
    assert.equal(onNetwork.length, 1);
  });

  test('a thread publishes part by part as replies, then the first comment under the first part', async () => {
    const r = await createPost({ text: 'Part one', targets: [{ accountId: account, thread: [{ text: 'Part two' }, { text: 'Part three' }], firstComment: 'Links below' }], schedule: { now: true } });
    const done = await waitForTarget(r.body.id);
    const target = done.targets[0];
    assert.equal(target.state, 'published', JSON.stringify(target));
    assert.equal(target.parts.length, 3);
    const posts = await simPosts(sim());
    const byId = new Map(posts.map((p) => [p.id, p]));
    assert.equal(byId.get(target.parts[1].remoteId)!.replyTo, target.parts[0].remoteId);
    assert.equal(byId.get(target.parts[2].remoteId)!.replyTo, target.parts[1].remoteId);
    assert.equal(byId.get(target.firstComment.remoteId)!.replyTo, target.parts[0].remoteId);
  });

  test('a 429 storm is waited out (Retry-After honoured), then the post goes out once', async () => {
    await simKnobs(sim(), 'sandbox', { rateLimitNext: 2, retryAfterSeconds: 1 });
    const r = await createPost({ text: 'After the storm', targets: [{ accountId: account }], schedule: { now: true } });
    const done = await waitForTarget(r.body.id);
    await resetKnobs();
    const target = done.targets[0];
    assert.equal(target.state, 'published', JSON.stringify(target));
    const retries = target.attemptLog.filter((a: { outcome: string }) => a.outcome === 'retry');
    assert.ok(retries.length >= 1);
    assert.equal(retries[0].networkStatus, 429);
    const gap = Date.parse(target.attemptLog[1].at) - Date.parse(target.attemptLog[0].at);
    assert.ok(gap >= 900, `the retry waited for Retry-After (gap ${gap} ms)`);
    assert.equal((await simPosts(sim())).filter((p) => p.text === 'After the storm').length, 1);
  });

  test('5xx every time: failed after the attempt limit, with the network\'s status; a bulk retry then publishes it', async () => {
    await simKnobs(sim(), 'sandbox', { errorRate: 1 });
    const r = await createPost({ text: 'Server trouble', targets: [{ accountId: account }], schedule: { now: true } });
    const failed = await waitForTarget(r.body.id);
    await resetKnobs();
    const target = failed.targets[0];
    assert.equal(target.state, 'failed');
    assert.equal(target.error.class, 'transient');
    assert.match(target.error.message, /gave up after 4 attempts/);
    assert.equal(failed.aggregateStatus, 'failed');
    const retry = await t.call('POST', `/api/workspaces/${ws}/posts/retry-failed`, { token: owner, body: { postIds: [r.body.id] } });
    assert.equal(retry.body.retried, 1);
    const done = await waitForTarget(r.body.id, ['published']);
    assert.equal(done.targets[0].state, 'published');
    assert.equal((await simPosts(sim())).filter((p) => p.text === 'Server trouble').length, 1);
  });

  test('accepted, then no answer: reconciled by marker, published once, never resent', async () => {
    await simKnobs(sim(), 'sandbox', { acceptThenHangNext: 1, ignoreIdempotencyKey: true });
    const r = await createPost({ text: 'Did it go out?', targets: [{ accountId: account }], schedule: { now: true } });
    const done = await waitForTarget(r.body.id);
    await resetKnobs();
    const target = done.targets[0];
    assert.equal(target.state, 'published', JSON.stringify(target));
    assert.equal(target.attemptLog[0].outcome, 'reconciled');
    assert.equal((await simPosts(sim())).filter((p) => p.text === 'Did it go out?').length, 1);
  });

  test('an expired access token is refreshed once and the post goes out', async () => {
    await t.running.services.db.update(socialAccounts).set({ tokenExpiresAt: new Date(Date.now() + 3_600_000) }).where(eq(socialAccounts.id, account));
    // The network forgets the access token (as at expiry); the stored expiry still says it is valid.
    await fetch(`${sim()}/_sim/sandbox/expire-tokens`, { method: 'POST' });
    const stats = async () => ((await (await fetch(`${sim()}/_sim/sandbox/stats`)).json()) as { refreshCalls: number }).refreshCalls;
    const refreshesBefore = await stats();
    const r = await createPost({ text: 'Fresh token', targets: [{ accountId: account }], schedule: { now: true } });
    const done = await waitForTarget(r.body.id);
    assert.equal(done.targets[0].state, 'published', JSON.stringify(done.targets[0]));
    assert.equal(await stats(), refreshesBefore + 1, 'one refresh');
  });

  test('a revoked account: the target fails as auth_expired and the account needs reconnecting', async () => {
    const u2 = await connectSandbox(t, owner, ws, 'revoked-user');
    await fetch(`${sim()}/_sim/sandbox/revoke-all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'revoked-user' }) });
    const r = await createPost({ text: 'Nobody home', targets: [{ accountId: u2 }], schedule: { now: true } });
    const done = await waitForTarget(r.body.id);
    const target = done.targets[0];
    assert.equal(target.state, 'failed');
    assert.equal(target.error.class, 'auth_expired');
    const [acc] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, u2));
    assert.equal(acc!.status, 'needs_reconnect');
    // The author is told, by mail, with the reason and a link to the post.
    const mails = await t.running.services.db.select().from(mailOutbox).where(and(eq(mailOutbox.to, ownerEmail), eq(mailOutbox.template, 'post_failed')));
    assert.ok(mails.some((m) => m.text.includes('Nobody home') && m.text.includes(`/posts/${r.body.id}`)), JSON.stringify(mails.map((m) => m.text)));
    const again = await createPost({ text: 'Still nobody', targets: [{ accountId: u2 }], schedule: { now: true } });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'ACCOUNT_NEEDS_RECONNECT');
  });

  test('an unknown outcome is settled by a person: published with its link, or failed and then retried', async () => {
    const r = await createPost({ text: 'Unknowable', targets: [{ accountId: account }], schedule: { at: new Date(Date.now() + 3_600_000).toISOString() } });
    const targetId = r.body.targets[0].id;
    const path = `/api/workspaces/${ws}/posts/${r.body.id}/targets/${targetId}/resolve`;
    assert.equal((await t.call('POST', path, { token: owner, body: { outcome: 'published' } })).status, 409, 'only unknown outcomes');
    await t.running.services.db.update(postTargets).set({ state: 'unknown', errorClass: 'unknown_outcome' }).where(eq(postTargets.id, targetId));
    const done = await t.call('POST', path, { token: owner, body: { outcome: 'published', url: 'https://sandbox.example/p/1' } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.targets[0].state, 'published');
    assert.equal(done.body.targets[0].url, 'https://sandbox.example/p/1');
    await t.running.services.db.update(postTargets).set({ state: 'unknown' }).where(eq(postTargets.id, targetId));
    const no = await t.call('POST', path, { token: owner, body: { outcome: 'failed' } });
    assert.equal(no.body.targets[0].state, 'failed');
  });

  test('a job that runs before its time does nothing (the conditional claim loses)', async () => {
    const r = await createPost({ text: 'Later', targets: [{ accountId: account }], schedule: { at: new Date(Date.now() + 3_600_000).toISOString() } });
    const id = r.body.targets[0].id;
    assert.equal(await t.running.services.publishing.run(id, 'intruder'), 'skipped');
    const [row] = await t.running.services.db.select().from(postTargets).where(eq(postTargets.id, id));
    assert.equal(row!.state, 'scheduled');
  });
});

describe('time zones', () => {
  test('02:30 on a spring-forward day and 01:30 on a fall-back day resolve to the documented instants, whatever the server zone', async () => {
    const spring = await createPost({ text: 'Spring', targets: [{ accountId: account }], schedule: { localTime: '2027-03-14T02:30', timeZone: 'America/New_York' } });
    assert.equal(spring.status, 201, JSON.stringify(spring.body));
    // 02:30 does not exist that day: it moves forward by the gap, to 03:30 EDT.
    assert.equal(spring.body.targets[0].publishAt, '2027-03-14T07:30:00.000Z');
    const fall = await createPost({ text: 'Fall', targets: [{ accountId: account }], schedule: { localTime: '2027-11-07T01:30', timeZone: 'America/New_York' } });
    // 01:30 happens twice: the first one, EDT (-04:00).
    assert.equal(fall.body.targets[0].publishAt, '2027-11-07T05:30:00.000Z');
    const berlin = await createPost({ text: 'Berlin', targets: [{ accountId: account }], schedule: { localTime: '2027-10-31T02:30', timeZone: 'Europe/Berlin' } });
    assert.equal(berlin.body.targets[0].publishAt, '2027-10-31T00:30:00.000Z');
    // The job runs at that instant; a session in another zone reads the same instant.
    const job = await t.running.pool.query(`set time zone 'Asia/Tokyo'; select extract(epoch from run_at)::bigint as at from graphile_worker.jobs where key = $1`.split(';')[1]!, [`publish:${spring.body.targets[0].id}`]);
    assert.equal(Number(job.rows[0].at) * 1000, Date.parse('2027-03-14T07:30:00Z'));
    const client = await t.running.pool.connect();
    try {
      await client.query(`set time zone 'Pacific/Kiritimati'`);
      const row = await client.query('select extract(epoch from publish_at)::bigint as at from post_targets where id = $1', [fall.body.targets[0].id]);
      assert.equal(Number(row.rows[0].at) * 1000, Date.parse('2027-11-07T05:30:00Z'));
    } finally {
      client.release();
    }
  });

  test('an unknown zone or a time that has passed is a 400 naming the field', async () => {
    const zone = await createPost({ text: 'x', targets: [{ accountId: account }], schedule: { localTime: '2027-01-01T09:00', timeZone: 'Mars/Olympus' } });
    assert.equal(zone.status, 400);
    assert.match(zone.body.message, /IANA/);
    const past = await createPost({ text: 'x', targets: [{ accountId: account }], schedule: { at: '2020-01-01T00:00:00Z' } });
    assert.equal(past.status, 400);
    assert.equal(past.body.code, 'SCHEDULE_IN_PAST');
  });

  // More of the calendar (perDay, totals, cursors, DST days, the account filter) in test/calendar.test.ts.
  test('a calendar groups targets by day in the zone asked for', async () => {
    await createPost({ text: 'Late evening in New York', targets: [{ accountId: account }], schedule: { at: '2027-06-02T03:30:00Z' } });
    const ny = await t.call('GET', `/api/workspaces/${ws}/calendar?from=2027-06-01&to=2027-06-02&timeZone=America/New_York`, { token: owner });
    assert.equal(ny.status, 200);
    const day1 = ny.body.days.find((d: { date: string }) => d.date === '2027-06-01');
    assert.ok(day1.targets.some((x: { text: string; localTime: string }) => x.text === 'Late evening in New York' && x.localTime === '23:30'));
    // Every target of the day is listed (the default perDay is 100), and the day says how many it has.
    assert.equal(day1.total, day1.targets.length);
    assert.equal(day1.nextCursor, null);
    const utc = await t.call('GET', `/api/workspaces/${ws}/calendar?from=2027-06-01&to=2027-06-02&timeZone=UTC`, { token: owner });
    assert.ok(utc.body.days.find((d: { date: string }) => d.date === '2027-06-02').targets.some((x: { text: string }) => x.text === 'Late evening in New York'));
  });

  test('a daily recurring post keeps its wall-clock time across a DST change', async () => {
    const r = await createPost({ text: 'Every day', targets: [{ accountId: account }], schedule: { localTime: '2027-03-13T09:00', timeZone: 'America/New_York', recurrence: { every: 'days', interval: 1, count: 3 } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const target = r.body.targets[0];
    assert.equal(target.publishAt, '2027-03-13T14:00:00.000Z');
    // Finish occurrence 0 as the worker would, then look at occurrence 1.
    await t.running.services.db.transaction(async (tx) => {
      const [row] = await tx.select().from(postTargets).where(eq(postTargets.id, target.id));
      await t.running.services.posts.scheduling.scheduleNextOccurrence(tx, row!);
    });
    const after = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner });
    const next = after.body.targets.find((x: { occurrence: number }) => x.occurrence === 1);
    assert.equal(next.publishAt, '2027-03-14T13:00:00.000Z', '09:00 EDT the next day');
  });
});

describe('moving one network of a post', () => {
  const jobAt = async (targetId: string) => (await t.running.pool.query('select run_at from graphile_worker.jobs where key = $1', [`publish:${targetId}`])).rows[0]?.run_at?.toISOString();
  const move = (postId: string, body: Record<string, unknown>, token = owner) => t.call('POST', `/api/workspaces/${ws}/posts/${postId}/schedule`, { token, body });

  test('targetIds moves only those targets and their jobs; the post keeps the earliest time', async () => {
    const second = await connectSandbox(t, owner, ws, 'second-poster');
    const r = await createPost({ text: 'Two networks, two times', targets: [{ accountId: account }, { accountId: second }], schedule: { at: '2027-07-01T10:00:00Z' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const [a, b] = [r.body.targets.find((x: { accountId: string }) => x.accountId === account), r.body.targets.find((x: { accountId: string }) => x.accountId === second)];

    const later = await move(r.body.id, { localTime: '2027-07-02T12:00', timeZone: 'Europe/Berlin', targetIds: [b.id] });
    assert.equal(later.status, 200, JSON.stringify(later.body));
    const byId = (body: { targets: { id: string; publishAt: string; state: string }[] }, id: string) => body.targets.find((x) => x.id === id)!;
    assert.equal(byId(later.body, b.id).publishAt, '2027-07-02T10:00:00.000Z');
    assert.equal(byId(later.body, a.id).publishAt, '2027-07-01T10:00:00.000Z', 'the other network keeps its time');
    assert.equal(later.body.schedule.publishAt, '2027-07-01T10:00:00.000Z');
    assert.equal(await jobAt(b.id), '2027-07-02T10:00:00.000Z');
    assert.equal(await jobAt(a.id), '2027-07-01T10:00:00.000Z');

    const aLater = await move(r.body.id, { at: '2027-07-03T08:00:00Z', targetIds: [a.id] });
    assert.equal(aLater.body.schedule.publishAt, '2027-07-02T10:00:00.000Z', 'the post\'s time is now its earliest target\'s');

    // Now: only that network goes out.
    const now = await move(r.body.id, { now: true, targetIds: [b.id] });
    assert.equal(now.status, 200, JSON.stringify(now.body));
    const done = await eventually(async () => {
      const p = (await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner })).body;
      return byId(p, b.id).state === 'published' ? p : undefined;
    }, 30_000, 'the moved target to be published');
    assert.equal(byId(done, a.id).state, 'scheduled');
    assert.equal(byId(done, a.id).publishAt, '2027-07-03T08:00:00.000Z');
    const audit = await t.call('GET', `/api/workspaces/${ws}/audit?limit=20`, { token: owner });
    assert.ok(audit.body.events.some((e: { action: string; details: { targetIds?: string[] } }) => e.action === 'post.scheduled' && e.details?.targetIds?.[0] === b.id), JSON.stringify(audit.body));

    // A published target stays where it is.
    const again = await move(r.body.id, { at: '2027-08-01T08:00:00Z', targetIds: [b.id] });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'TARGET_NOT_SCHEDULED');
    assert.match(again.body.message, /published/);
  });

  test('wrong targetIds, drafts, repeats and strangers get a 4xx that says why', async () => {
    const r = await createPost({ text: 'Moves', targets: [{ accountId: account }], schedule: { at: '2027-07-05T10:00:00Z' } });
    const id = r.body.targets[0].id;
    const unknown = await move(r.body.id, { at: '2027-07-06T10:00:00Z', targetIds: [id, '00000000-0000-4000-8000-000000000000'] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'TARGET_NOT_FOUND');
    assert.deepEqual(unknown.body.details.map((x: { field: string }) => x.field), ['body.targetIds.1']);
    for (const [body, field] of [
      [{ at: '2027-07-06T10:00:00Z', targetIds: [] }, /targetIds/],
      [{ at: '2027-07-06T10:00:00Z', targetIds: ['not-a-uuid'] }, /targetIds/],
      [{ at: '2027-07-06T10:00:00Z', targetIds: { id } }, /targetIds/],
      [{ localTime: '2027-07-06T10:00', timeZone: 'UTC', targetIds: [id], recurrence: { every: 'days', interval: 1, count: 2 } }, /recurrence/],
      [{ targetIds: [id] }, /Say when/],
    ] as const) {
      const bad = await move(r.body.id, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.match(JSON.stringify(bad.body), field);
    }
    const draft = await createPost({ text: 'A draft', targets: [{ accountId: account }] });
    const notScheduled = await move(draft.body.id, { at: '2027-07-06T10:00:00Z', targetIds: [draft.body.targets[0].id] });
    assert.equal(notScheduled.status, 409);
    assert.equal(notScheduled.body.code, 'NOT_SCHEDULED');
    const daily = await createPost({ text: 'Daily', targets: [{ accountId: account }], schedule: { localTime: '2027-07-06T09:00', timeZone: 'UTC', recurrence: { every: 'days', interval: 1, count: 2 } } });
    const repeating = await move(daily.body.id, { at: '2027-07-07T10:00:00Z', targetIds: [daily.body.targets[0].id] });
    assert.equal(repeating.status, 409);
    assert.equal(repeating.body.code, 'RECURRING_POST');
    // Another post's target is not this post's.
    const other = await move(draft.body.id, { at: '2027-07-06T10:00:00Z', targetIds: [id] });
    assert.equal(other.status, 409, 'the draft is refused before its targets are looked at');
    const stranger = await t.user();
    const strangerToken = (await t.login(stranger.email, stranger.password)).accessToken;
    assert.equal((await move(r.body.id, { at: '2027-07-06T10:00:00Z', targetIds: [id] }, strangerToken)).status, 404);
    const after = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.id}`, { token: owner });
    assert.equal(after.body.targets[0].publishAt, '2027-07-05T10:00:00.000Z', 'nothing moved');
  });
});

describe('bulk upload (CSV)', () => {
  const bulk = (body: Record<string, unknown>, token = owner) => t.call('POST', `/api/workspaces/${ws}/posts/bulk`, { token, body });
  const count = async () => Number((await t.running.services.db.execute(sql`select count(*)::int as n from posts where workspace_id = ${ws}`)).rows[0]!.n);

  test('every row becomes a scheduled post to the chosen accounts, at its local time or instant; quoted text keeps commas and lines', async () => {
    const csv = 'Time,Text\r\n2027-09-01 09:00,First of the series\r\n2027-09-02T09:30,"Second, with a comma\nand a second line"\r\n2027-09-03T07:00:00Z,Third at an instant\r\n';
    const before = await count();
    const dry = await bulk({ csv, accountIds: [account], timeZone: 'Europe/Paris', dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(dry.body.posts.map((p: { line: number; publishAt: string; postId: null }) => [p.line, p.publishAt, p.postId]),
      [[2, '2027-09-01T07:00:00.000Z', null], [3, '2027-09-02T07:30:00.000Z', null], [5, '2027-09-03T07:00:00.000Z', null]]);
    assert.equal(await count(), before, 'a dry run creates nothing');

    const r = await bulk({ csv, accountIds: [account], timeZone: 'Europe/Paris' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.created, 3);
    const second = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.posts[1].postId}`, { token: owner });
    assert.equal(second.body.text, 'Second, with a comma\nand a second line');
    assert.equal(second.body.status, 'scheduled');
    assert.deepEqual(second.body.targets.map((x: { accountId: string; state: string }) => [x.accountId, x.state]), [[account, 'scheduled']]);
    assert.equal(second.body.schedule.localTime, '2027-09-02T09:30');
    assert.equal(second.body.schedule.timeZone, 'Europe/Paris');
  });

  test('jobs due at one instant are ranked within their account, microseconds apart, so the queue hands them out across accounts', async () => {
    const other = await connectSandbox(t, owner, ws, 'rank-user');
    const rows = (n: number, tag: string) => `time,text\n${Array.from({ length: n }, (_, i) => `2027-10-05T09:00:00Z,${tag} ${i}`).join('\n')}`;
    for (const [accountId, n, tag] of [[account, 3, 'Rank A'], [other, 2, 'Rank B'], [account, 2, 'Rank A again']] as const) {
      const r = await bulk({ csv: rows(n, tag), accountIds: [accountId], timeZone: 'UTC' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const jobs = await t.running.pool.query<{ account_id: string; us: number; ms: Date }>(`
      select t.account_id, (extract(epoch from j.run_at - t.publish_at) * 1e6)::int as us, date_trunc('milliseconds', j.run_at) as ms
        from post_targets t join graphile_worker.jobs j on j.key = 'publish:' || t.id where t.workspace_id = $1 and t.publish_at = $2`, [ws, new Date('2027-10-05T09:00:00Z')]);
    const ranks = (a: string) => jobs.rows.filter((j) => j.account_id === a).map((j) => j.us).sort((x, y) => x - y);
    assert.deepEqual(ranks(account), [0, 1, 2, 3, 4], 'the second upload ranks after the account\'s targets already due then');
    assert.deepEqual(ranks(other), [0, 1]);
    assert.ok(jobs.rows.every((j) => j.ms.toISOString() === '2027-10-05T09:00:00.000Z'), 'read in milliseconds, the job\'s time is the post\'s');
  });

  test('one bad row and nothing is created; every problem is named by its line', async () => {
    const before = await count();
    const csv = ['time,text', '2027-09-01 09:00,Fine', `2027-09-02 09:00,${'x'.repeat(1001)}`, '2020-01-01 09:00,In the past', '2027-09-04 09:00,Fine too'].join('\n');
    const r = await bulk({ csv, accountIds: [account], timeZone: 'UTC' });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.code, 'BULK_INVALID');
    assert.deepEqual(r.body.details.map((d: { line: number }) => d.line), [3, 4]);
    assert.match(r.body.message, /line 3: .*characters/);
    assert.match(r.body.message, /line 4: .*has passed/);
    assert.equal(await count(), before, 'all or nothing');
  });

  test('every row to several accounts: each target scheduled with its job and published once, one audit entry per post; DST times as for one post', async () => {
    const second = await connectSandbox(t, owner, ws, 'bulk-second');
    // A minute ago is "now" (within the tolerance): these publish at once, which proves each target has its job.
    const soon = new Date(Date.now() - 30_000).toISOString();
    const csv = ['time,text', `${soon},Bulk now one`, `${soon},Bulk now two`, '2027-03-28 02:30,Bulk spring gap', '2027-10-31 02:30,Bulk fall twice'].join('\n');
    const r = await bulk({ csv, accountIds: [account, second], timeZone: 'Europe/Berlin' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.created, 4);
    // The same instants as the single-post API gives (time zones, above): 02:30 skipped → 03:30 CEST; repeated → the first.
    assert.deepEqual(r.body.posts.slice(2).map((p: { publishAt: string }) => p.publishAt), ['2027-03-28T01:30:00.000Z', '2027-10-31T00:30:00.000Z']);
    for (const p of r.body.posts.slice(0, 2)) {
      const done = await eventually(async () => {
        const g = await t.call('GET', `/api/workspaces/${ws}/posts/${p.postId}`, { token: owner });
        return g.body.targets.every((x: { state: string }) => x.state === 'published') ? g.body : undefined;
      }, 30_000, `bulk post ${p.postId} to be published on both accounts`);
      assert.deepEqual(done.targets.map((x: { accountId: string }) => x.accountId).sort(), [account, second].sort());
    }
    const onNetwork = (await simPosts(sim())).filter((p) => p.text.startsWith('Bulk now '));
    assert.equal(onNetwork.length, 4, 'two posts × two accounts, each once');
    const later = await t.call('GET', `/api/workspaces/${ws}/posts/${r.body.posts[2].postId}`, { token: owner });
    assert.equal(later.body.status, 'scheduled');
    assert.equal(later.body.schedule.localTime, '2027-03-28T02:30');
    assert.equal(later.body.schedule.timeZone, 'Europe/Berlin');
    const jobs = await t.running.pool.query(`select count(*)::int as n from graphile_worker.jobs where key = any($1::text[]) and run_at = $2`,
      [later.body.targets.map((x: { id: string }) => `publish:${x.id}`), new Date('2027-03-28T01:30:00Z')]);
    assert.equal(jobs.rows[0].n, 2, 'a job per target at the post\'s instant');
    const audited = await t.running.pool.query(`select target_id, details from audit_log where action = 'post.created' and target_id = any($1::text[])`, [r.body.posts.map((p: { postId: string }) => p.postId)]);
    const details = new Map(audited.rows.map((a: { target_id: string; details: unknown }) => [a.target_id, a.details]));
    assert.deepEqual(r.body.posts.map((p: { postId: string }) => details.get(p.postId)), [
      { targets: 2, scheduled: 'at' }, { targets: 2, scheduled: 'at' }, { targets: 2, scheduled: 'local' }, { targets: 2, scheduled: 'local' }]);
  });

  test('a row with several problems lists each; a day that does not exist is refused with its line', async () => {
    const before = await count();
    const csv = ['time,text', `2027-02-30 09:00,Not a day`, `2020-01-01 09:00,${'y'.repeat(1001)}`, '2027-09-01 09:00,Fine'].join('\n');
    const r = await bulk({ csv, accountIds: [account], timeZone: 'UTC' });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.deepEqual(r.body.details.map((d: { line: number }) => d.line), [2, 3, 3]);
    assert.match(r.body.message, /^2 of 3 rows cannot be scheduled, so nothing was created: line 2: .*2027-02-30.* line 3: .*characters.* line 3: .*has passed/);
    assert.equal(await count(), before, 'all or nothing');
  });

  test('a file that is not the expected CSV, or bad accounts and zones, get a 400 that says what to fix', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ csv: 'when,text\n2027-09-01 09:00,x', accountIds: [account], timeZone: 'UTC' }, /columns time and text \(missing: time\) \(unknown: when\)/],
      [{ csv: 'time,text\n', accountIds: [account], timeZone: 'UTC' }, /no rows/],
      [{ csv: 'time,text\n2027-09-01 09:00,"unclosed', accountIds: [account], timeZone: 'UTC' }, /body\.csv/],
      [{ csv: 'time,text\n2027-09-01 09:00,a,b', accountIds: [account], timeZone: 'UTC' }, /body\.csv, line 2: this row has 3 fields and the first line names 2 \(time and text\); put a text that has commas or line breaks in double quotes/],
      [{ csv: 'time,text\nnext tuesday,x\n2027-09-01 09:00,', accountIds: [account], timeZone: 'UTC' }, /line 2: "next tuesday" is not a time.*line 3: the text is empty/],
      [{ csv: `time,text\n${Array.from({ length: 351 }, () => '2027-09-01 09:00,x').join('\n')}`, accountIds: [account], timeZone: 'UTC' }, /351 rows; upload at most 350/],
      [{ csv: 'time,text\n2027-09-01 09:00,x', accountIds: [account], timeZone: 'Mars/Olympus' }, /timeZone/],
      [{ csv: 'time,text\n2027-09-01 09:00,x', accountIds: [account, account], timeZone: 'UTC' }, /twice/],
      [{ csv: 'time,text\n2027-09-01 09:00,x', accountIds: [], timeZone: 'UTC' }, /accountIds/],
      [{ csv: 'time,text\n2027-09-01 09:00,x', accountIds: [account], timeZone: 'UTC', extra: 1 }, /body\.extra is not an accepted field/],
      [{ csv: { a: 1 }, accountIds: [account], timeZone: 'UTC' }, /csv/],
    ];
    for (const [body, says] of cases) {
      const r = await bulk(body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, says);
    }
    const stranger = await t.call('POST', `/api/workspaces/${ws}/posts/bulk`, { token: owner, body: { csv: 'time,text\n2027-09-01 09:00,x\n2027-09-02 09:00,y', accountIds: ['00000000-0000-4000-8000-000000000000'], timeZone: 'UTC' } });
    assert.equal(stranger.status, 400);
    assert.equal(stranger.body.message, 'body.accountIds: no such social account in this workspace: 00000000-0000-4000-8000-000000000000.', 'said once, not once per line');
  });
});

describe('queue and slots', () => {
  test('add to queue takes the next free slots in the account\'s zone; reordering swaps their times', async () => {
    const acc = await connectSandbox(t, owner, ws, 'queue-user');
    const put = await t.call('PUT', `/api/workspaces/${ws}/accounts/${acc}/slots`, { token: owner, body: { timeZone: 'Europe/Berlin', slots: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, time: '09:00' })) } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.next.length, 5);
    const a = await createPost({ text: 'Queued A', targets: [{ accountId: acc }], schedule: { queue: true } });
    const b = await createPost({ text: 'Queued B', targets: [{ accountId: acc }], schedule: { queue: true } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    const ta = a.body.targets[0];
    const tb = b.body.targets[0];
    assert.ok(Date.parse(tb.publishAt) > Date.parse(ta.publishAt));
    assert.equal(new Date(ta.publishAt).toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }), '09:00');
    const q = await t.call('PUT', `/api/workspaces/${ws}/accounts/${acc}/queue`, { token: owner, body: { targetIds: [tb.id, ta.id] } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.deepEqual(q.body.targets.map((x: { targetId: string }) => x.targetId), [tb.id, ta.id]);
    assert.equal(q.body.targets[0].text, 'Queued B');
    assert.equal(q.body.targets[0].publishAt, ta.publishAt);
    const bad = await t.call('PUT', `/api/workspaces/${ws}/accounts/${acc}/queue`, { token: owner, body: { targetIds: [ta.id] } });
    assert.equal(bad.status, 400);
  });
});

describe('roles and approval', () => {
  const memberToken = async (role: Role) => (await member(t, ws, { token: owner }, role)).token;

  test('a viewer cannot create or schedule; a stranger sees nothing', async () => {
    const viewer = await memberToken('viewer');
    const r = await createPost({ text: 'x', targets: [{ accountId: account }] }, viewer);
    assert.equal(r.status, 403);
    const draft = await createPost({ text: 'Draft', targets: [{ accountId: account }] });
    const s = await t.call('POST', `/api/workspaces/${ws}/posts/${draft.body.id}/schedule`, { token: viewer, body: { now: true } });
    assert.equal(s.status, 403);
    const stranger = await t.user();
    const st = (await t.login(stranger.email, stranger.password)).accessToken;
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/posts/${draft.body.id}`, { token: st })).status, 404);
  });

  test('with approval required an editor cannot schedule, only submit; approve schedules, reject returns to draft', async () => {
    const editor = await memberToken('editor');
    const set = await t.call('PATCH', `/api/workspaces/${ws}`, { token: owner, body: { settings: { requireApproval: true } } });
    assert.equal(set.status, 200);
    assert.equal(set.body.settings.requireApproval, true);
    try {
      const direct = await createPost({ text: 'Sneaky', targets: [{ accountId: account }], schedule: { now: true } }, editor);
      assert.equal(direct.status, 403);
      assert.equal(direct.body.code, 'APPROVAL_REQUIRED');
      const draft = await createPost({ text: 'Please approve', targets: [{ accountId: account }] }, editor);
      assert.equal((await t.call('POST', `/api/workspaces/${ws}/posts/${draft.body.id}/schedule`, { token: editor, body: { now: true } })).status, 403);
      assert.equal((await t.call('POST', `/api/workspaces/${ws}/posts/${draft.body.id}/approve`, { token: editor, body: { version: draft.body.version } })).status, 403);
      const sub = await t.call('POST', `/api/workspaces/${ws}/posts/${draft.body.id}/submit`, { token: editor, body: { now: true } });
      assert.equal(sub.status, 200, JSON.stringify(sub.body));
      assert.equal(sub.body.status, 'pending_approval');
      const inbox = await t.call('GET', `/api/workspaces/${ws}/approvals`, { token: owner });
      assert.ok(inbox.body.posts.some((p: { id: string }) => p.id === draft.body.id));
      const ok = await t.call('POST', `/api/workspaces/${ws}/posts/${draft.body.id}/approve`, { token: owner, body: { version: sub.body.version, comment: 'Good' } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.review.decision, 'approved');
      assert.equal((await waitForTarget(draft.body.id)).targets[0].state, 'published');

      // An approved post scheduled for later cannot be changed by the editor behind the approver's back.
      const later = await createPost({ text: 'Approved text', targets: [{ accountId: account }] }, editor);
      const laterSub = await t.call('POST', `/api/workspaces/${ws}/posts/${later.body.id}/submit`, { token: editor, body: { at: new Date(Date.now() + 86_400_000).toISOString() } });
      assert.equal((await t.call('POST', `/api/workspaces/${ws}/posts/${later.body.id}/approve`, { token: owner, body: { version: laterSub.body.version } })).status, 200);
      const sneak = await t.call('PUT', `/api/workspaces/${ws}/posts/${later.body.id}`, { token: editor, body: { text: 'Something else', targets: [{ accountId: account }] } });
      assert.equal(sneak.status, 403);
      assert.equal(sneak.body.code, 'APPROVAL_REQUIRED');
      assert.equal((await t.call('POST', `/api/workspaces/${ws}/posts/retry-failed`, { token: editor, body: {} })).status, 403);

      const other = await createPost({ text: 'Not this one', targets: [{ accountId: account }] }, editor);
      await t.call('POST', `/api/workspaces/${ws}/posts/${other.body.id}/submit`, { token: editor, body: { at: new Date(Date.now() + 86_400_000).toISOString() } });
      const no = await t.call('POST', `/api/workspaces/${ws}/posts/${other.body.id}/reject`, { token: owner, body: { comment: 'Wrong tone' } });
      assert.equal(no.status, 200);
      assert.equal(no.body.status, 'draft');
      assert.equal(no.body.review.comment, 'Wrong tone');
      assert.equal(no.body.targets[0].state, 'draft');
    } finally {
      await t.call('PATCH', `/api/workspaces/${ws}`, { token: owner, body: { settings: { requireApproval: false } } });
    }
  });
});
