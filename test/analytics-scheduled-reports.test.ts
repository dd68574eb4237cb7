// Scheduled reports: CRUD through HTTP (analytics.manage to write, analytics.read to read; addresses, zone
// and accounts checked; another workspace's schedule and account are "not found"), and the mailing of each
// due period exactly once: two services on two connection pools racing the same period send one set of
// mails, and a fresh one (a restart) sends nothing more. The mail goes over real SMTP with the report's
// HTML as its body and the PDF attached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { startTestApp, type TestApp } from './support/app.ts';
import { quietLogger } from './support/env.ts';
import { createDb } from '../src/infra/db/client.ts';
import { AnalyticsOverview } from '../src/modules/analytics/overview.ts';
import { AnalyticsReports } from '../src/modules/analytics/report.ts';
import { ScheduledReports } from '../src/modules/analytics/scheduled-reports.ts';
import { createMailer, sendMailTask } from '../src/modules/mail/mailer.ts';

let t: TestApp;
let owner: string;
let ws: string;
let acct: string;
let stranger: string;
let strangerAccount: string;
const db = () => t.running.services.db;
const base = (w = ws) => `/api/workspaces/${w}/analytics/report-schedules`;

async function account(workspaceId: string, name: string): Promise<string> {
  const id = randomUUID();
  await db().execute(sql`insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name)
    values (${id}, ${workspaceId}, 'sandbox', ${id}, 'person', ${name}, ${name})`);
  return id;
}

before(async () => {
  t = await startTestApp();
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Scheduled' } })).body.id;
  await t.call('PATCH', `/api/workspaces/${ws}`, { token: owner, body: { settings: { timeZone: 'Europe/Berlin' } } });
  acct = await account(ws, 'sched-sandbox');
  const v = await t.user();
  stranger = (await t.login(v.email, v.password)).accessToken;
  const theirs = (await t.call('POST', '/api/workspaces', { token: stranger, body: { name: 'Theirs' } })).body.id;
  strangerAccount = await account(theirs, 'their-sandbox');
  // A post in the week the race below reports on (Europe/Berlin, Monday 30 November to Sunday 6 December 2026).
  const postId = randomUUID();
  const targetId = randomUUID();
  await db().execute(sql`insert into posts (id, workspace_id, text) values (${postId}, ${ws}, 'Week post')`);
  await db().execute(sql`insert into post_targets (id, post_id, workspace_id, account_id, provider, state, published_at, remote_id)
    values (${targetId}, ${postId}, ${ws}, ${acct}, 'sandbox', 'published', '2026-12-02T10:00:00Z', ${`r-${targetId}`})`);
  await db().execute(sql`insert into post_metrics (target_id, account_id, likes, reposts, replies, impressions, collected_at)
    values (${targetId}, ${acct}, 4321, 10, 2, 90000, '2026-12-02T12:00:00Z')`);
});

after(async () => {
  await t.stop();
});

test('CRUD: the workspace\'s zone by default, addresses and accounts checked, who may do what', async () => {
  const made = await t.call('POST', base(), { token: owner, body: { cadence: 'weekly', recipients: ['Boss@Example.com', 'boss@example.com', 'team@example.org'] } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.timeZone, 'Europe/Berlin');
  assert.deepEqual(made.body.recipients, ['boss@example.com', 'team@example.org'], 'lower-cased, once each');
  assert.equal(made.body.accounts, null);
  assert.equal(made.body.lastMailed, null);

  for (const [body, why] of [
    [{ cadence: 'weekly', recipients: ['not an address'] }, 'a bad address'],
    [{ cadence: 'weekly', recipients: [] }, 'no address'],
    [{ cadence: 'daily', recipients: ['a@example.com'] }, 'an unknown cadence'],
    [{ cadence: 'weekly', recipients: ['a@example.com'], timeZone: 'Mars/Olympus' }, 'an unknown zone'],
  ] as const) {
    const r = await t.call('POST', base(), { token: owner, body });
    assert.equal(r.status, 400, why);
    assert.ok(typeof r.body.message === 'string' && r.body.message.length > 0);
  }
  assert.equal((await t.call('POST', base(), { token: owner, body: { cadence: 'monthly', recipients: ['a@example.com'], accounts: [strangerAccount] } })).status, 404, 'their account');

  const patched = await t.call('PATCH', `${base()}/${made.body.id}`, { token: owner, body: { cadence: 'monthly', accounts: [acct], timeZone: 'UTC' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.cadence, 'monthly');
  assert.deepEqual(patched.body.accounts, [acct]);

  const k = await t.call('POST', `/api/workspaces/${ws}/api-keys`, { token: owner, body: { name: 'reports', scopes: ['analytics:read'] } });
  const key = k.body.key as string;
  const list = await t.call('GET', base(), { token: key });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((s: { id: string }) => s.id), [made.body.id]);
  assert.equal((await t.call('POST', base(), { token: key, body: { cadence: 'weekly', recipients: ['a@example.com'] } })).status, 403, 'reading is not managing');
  assert.equal((await t.call('DELETE', `${base()}/${made.body.id}`, { token: key })).status, 403);
  assert.equal((await t.call('GET', `${base()}/${made.body.id}`, { token: stranger })).status, 404, 'not a member');
  assert.equal((await t.call('DELETE', `${base()}/${made.body.id}`, { token: owner })).status, 204);
  assert.equal((await t.call('GET', `${base()}/${made.body.id}`, { token: owner })).status, 404);
});

test('a due period is mailed once: two services racing on two pools, then a restart', async () => {
  const r = await t.call('POST', base(), { token: owner, body: { cadence: 'weekly', recipients: ['race-a@example.com', 'race-b@example.com'] } });
  assert.equal(r.status, 201);
  const id = r.body.id as string;
  await db().execute(sql`update analytics_report_schedules set created_at = '2026-11-01T00:00:00Z' where id = ${id}`);
  const log = quietLogger();
  const url = t.running.config.DATABASE_URL!;
  const pools: pg.Pool[] = [];
  const service = () => {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    pools.push(pool);
    const d = createDb(pool);
    return new ScheduledReports({ db: d, reports: new AnalyticsReports({ overview: new AnalyticsOverview({ db: d }), workspaces: t.running.services.workspaces }), workspaces: t.running.services.workspaces, log });
  };
  const now = new Date('2026-12-07T10:00:00Z'); // Monday, 11:00 in Berlin
  try {
    const [a, b] = await Promise.all([service().sendDue(now), service().sendDue(now)]);
    assert.equal(a.mailed + b.mailed, 1, `one of them mails the period (${JSON.stringify([a, b])})`);
    const again = await service().sendDue(new Date(now.getTime() + 3_600_000));
    assert.deepEqual(again, { due: 0, mailed: 0, failed: 0 }, 'a restart finds it mailed');
  } finally {
    for (const p of pools) await p.end();
  }
  const mails = (await db().execute<{ id: string; to_address: string; subject: string; html_body: string }>(sql`
    select id, to_address, subject, html_body from mail_outbox where template = 'analytics_report' order by to_address`)).rows;
  assert.deepEqual(mails.map((m) => m.to_address), ['race-a@example.com', 'race-b@example.com'], 'one mail per address');
  assert.match(mails[0]!.subject, /weekly analytics report, 2026-11-30 to 2026-12-06/);
  assert.ok(mails[0]!.html_body.includes('<b>4,333</b>'), 'the week\'s engagement in the HTML body');
  const got = await t.call('GET', `${base()}/${id}`, { token: owner });
  assert.deepEqual({ from: got.body.lastMailed.from, to: got.body.lastMailed.to }, { from: '2026-11-30', to: '2026-12-06' });

  // Over SMTP: the HTML alternative and the PDF attachment.
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'],
    onData(stream, _session, cb) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => { received.push(data); cb(); });
    },
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.server.address() as { port: number }).port;
  const mailer = createMailer({ url: `smtp://127.0.0.1:${port}`, from: 'AllIN <reports@example.com>', log });
  try {
    await sendMailTask(db(), mailer, log)({ id: mails[0]!.id }, undefined as never);
  } finally {
    mailer.close();
    await new Promise<void>((res) => server.close(() => res()));
  }
  assert.equal(received.length, 1);
  assert.match(received[0]!, /Content-Type: text\/html/i);
  assert.match(received[0]!, /Content-Type: application\/pdf; name=report-2026-11-30-2026-12-06\.pdf/i);
  assert.match(received[0]!, /Content-Disposition: attachment/i);
});
