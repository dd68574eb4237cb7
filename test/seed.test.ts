// `allin seed`: a small-scale dataset seeded through the real command into fresh databases: its counts and
// states, the same content for the same seed (and another for another seed), the refusal to touch a
// database that holds data, and the API serving it to a seeded member (sign-in, posts, calendar, media).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './support/env.ts';
import { ALLIN, ROOT } from './support/process.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { parseEncryptionKeys } from '../src/config.ts';
import { datasetFingerprint } from '../src/seed/fingerprint.ts';
import { seedPlan, planTotals, SEED_OWNER_EMAIL, DEFAULT_SEED_PASSWORD, LARGEST_WORKSPACE_NAME, BASELINE_WORKSPACE_NAME } from '../src/seed/plan.ts';
import { TARGET_STATES } from '../src/modules/posts/schema.ts';
import { runLoadtest } from '../src/loadtest/runner.ts';
import { defaults } from '../src/loadtest/scenarios.ts';
import { renderText } from '../src/loadtest/report.ts';
import { renderHtml } from '../src/loadtest/html.ts';
import { agencyRoutes } from '../src/loadtest/agency.ts';

const SCALE = '0.01';
const media = mkdtempSync(join(tmpdir(), 'allin-seed-media-'));
const keys = `s1:${randomBytes(32).toString('base64')}`;
// One anchor for every run, so runs of the same seed are comparable (the command accepts the last 10 minutes).
const anchor = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
const dbs: { url: string; drop(): Promise<void> }[] = [];

interface Run { code: number; stdout: string; stderr: string }

function seed(url: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ALLIN, 'seed', '--scale', SCALE, '--now', anchor, ...args], {
      cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024,
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', DATABASE_URL: url, MEDIA_DIR: media, ENCRYPTION_KEYS: keys,
        AUTH_SECRET: 'seed-test-auth-secret-0123456789abcdefghijklmnopqrstuvwxyz', LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ALLIN_HOME: join(media, '.allin'),
      },
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const json = (r: Run) => {
  assert.equal(r.code, 0, `allin seed failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as {
    rows: Record<string, number>; targetStates: Record<string, number>; fingerprint: { digest: string; tables: Record<string, { rows: number }> };
    workspaces: { id: string; name: string; posts: number; targets: number; accounts: number; members: number }[]; seconds: number;
  };
};

let first: ReturnType<typeof json>;
let firstDb: { url: string; drop(): Promise<void> };

before(async () => {
  firstDb = await createTempDatabase();
  dbs.push(firstDb);
  first = json(await seed(firstDb.url, '--json', '--fingerprint'));
});

after(async () => {
  for (const d of dbs) await d.drop();
  rmSync(media, { recursive: true, force: true });
});

test('the dataset has the planned size, every target state, and a job for every scheduled target', () => {
  const totals = planTotals(seedPlan(1, Number(SCALE)));
  assert.equal(first.rows.workspaces, 50);
  assert.equal(first.rows.posts, totals.posts);
  assert.equal(first.rows.post_targets, totals.targets);
  assert.equal(first.rows.users, totals.users);
  assert.equal(first.rows.media, totals.media);
  const [largest, baseline] = first.workspaces;
  assert.equal(largest!.name, LARGEST_WORKSPACE_NAME);
  assert.equal(largest!.posts, 1000);
  assert.equal(largest!.targets, 3000);
  assert.equal(baseline!.name, BASELINE_WORKSPACE_NAME);
  assert.equal(baseline!.posts, 20);
  for (const s of TARGET_STATES) assert.ok((first.targetStates[s] ?? 0) > 0, `no target is ${s}: ${JSON.stringify(first.targetStates)}`);
  assert.equal(first.rows.publish_jobs, first.targetStates.scheduled);
  for (const t of ['publish_attempts', 'post_metrics', 'audit_log', 'webhook_deliveries', 'webhook_attempts', 'api_keys']) assert.ok(first.rows[t]! > 0, t);
  assert.equal(first.rows.inbox_messages, totals.inboxMessages);
  for (const t of ['inbox_conversations', 'inbox_labels', 'inbox_conversation_labels', 'inbox_read_state', 'inbox_notes', 'inbox_saved_replies']) assert.ok(first.rows[t]! > 0, t);
});

test('the inbox agrees with what collection would have written', async () => {
  const c = new pg.Client({ connectionString: firstDb.url });
  await c.connect();
  try {
    const q = async (sql: string, params: unknown[] = []) => Number((await c.query<{ n: string }>(sql, params)).rows[0]!.n);
    // Each conversation's counts are its messages' (ingest.ts keeps them so).
    assert.equal(await q(`select count(*) as n from inbox_conversations ic
                            join (select conversation_id, count(*) filter (where not deleted) as messages, max(created_on_network) as last_at,
                                         count(*) filter (where direction = 'inbound') as inbound,
                                         coalesce(bool_or(direction = 'inbound' and not deleted and text like '%?%'), false) as question
                                    from inbox_messages group by 1) m on m.conversation_id = ic.id
                           where ic.message_count <> m.messages or ic.last_message_at <> m.last_at or ic.inbound_seq <> m.inbound or ic.has_question <> m.question`), 0);
    assert.equal(await q(`select count(*) as n from inbox_conversations ic where not exists (select 1 from inbox_messages m where m.conversation_id = ic.id)`), 0);
    assert.equal(await q(`select count(*) as n from inbox_messages where deleted and text <> ''`), 0);
    assert.equal(await q(`select count(*) as n from inbox_messages where created_on_network > $1`, [anchor]), 0);
    assert.equal(await q(`select count(*) as n from inbox_conversations where state = 'assigned' and assignee_id is null`), 0);
    for (const s of ['open', 'assigned', 'done']) assert.ok(await q(`select count(*) as n from inbox_conversations where state = $1`, [s]) > 0, s);
    // Comments on published posts belong to their target; a label's row carries its conversation's key.
    assert.ok(await q(`select count(*) as n from inbox_conversations where target_id is not null`) > 0);
    assert.equal(await q(`select count(*) as n from inbox_conversations ic join post_targets t on t.id = ic.target_id
                           where t.state <> 'published' or t.account_id <> ic.account_id or t.remote_id <> ic.root_remote_id`), 0);
    assert.equal(await q(`select count(*) as n from inbox_conversation_labels l join inbox_conversations ic on ic.id = l.conversation_id
                           where l.last_message_at <> ic.last_message_at or l.workspace_id <> ic.workspace_id`), 0);
  } finally {
    await c.end();
  }
});

test('what is scheduled is ahead of the anchor, with its job at its time; what is over is behind it', async () => {
  const c = new pg.Client({ connectionString: firstDb.url });
  await c.connect();
  try {
    const q = async (sql: string, params: unknown[] = [anchor]) => Number((await c.query<{ n: string }>(sql, params)).rows[0]!.n);
    assert.equal(await q(`select count(*) as n from post_targets where state = 'scheduled' and publish_at <= $1`), 0);
    assert.equal(await q(`select count(*) as n from post_targets where state in ('published', 'failed', 'unknown') and publish_at >= $1`), 0);
    assert.equal(await q(`select count(*) as n from posts where created_at > $1`), 0);
    assert.equal(await q(`select count(*) as n from post_metrics where collected_at > $1`), 0);
    assert.equal(await q(`select count(*) as n from post_targets t left join graphile_worker.jobs j on j.key = 'publish:' || t.id
                            where t.state = 'scheduled' and (j.id is null or j.run_at <> t.publish_at)`, []), 0);
    // Queued targets hold distinct slots of their account.
    assert.equal(await q(`select count(*) as n from (select account_id, publish_at from post_targets where queued group by 1, 2 having count(*) > 1) s`, []), 0);
    // Tokens are encrypted with the server's keys, for the row they are in.
    const acc = await c.query<{ id: string; access_token_enc: string }>('select id, access_token_enc from social_accounts limit 1');
    const cipher = new TokenCipher(parseEncryptionKeys(keys).keys);
    assert.match(cipher.decrypt(acc.rows[0]!.access_token_enc, acc.rows[0]!.id), /^seed_at_/);
  } finally {
    await c.end();
  }
});

test('the same seed gives the same data; another seed, other data; --force empties first', async () => {
  const second = await createTempDatabase();
  dbs.push(second);
  const again = json(await seed(second.url, '--json', '--fingerprint'));
  assert.equal(again.fingerprint.digest, first.fingerprint.digest);
  assert.deepEqual(again.fingerprint.tables, first.fingerprint.tables);

  const other = json(await seed(second.url, '--json', '--fingerprint', '--seed', '2', '--force'));
  assert.notEqual(other.fingerprint.digest, first.fingerprint.digest);
  assert.equal(other.rows.posts, first.rows.posts, '--force emptied the database before seeding (no rows twice)');

  // The digest follows the content: one changed word changes it.
  const pool = new pg.Pool({ connectionString: second.url, max: 1 });
  try {
    const before = await datasetFingerprint(pool);
    assert.equal(before.digest, other.fingerprint.digest);
    await pool.query(`update posts set text = text || '!' where id = (select id from posts order by id limit 1)`);
    assert.notEqual((await datasetFingerprint(pool)).digest, before.digest);
  } finally {
    await pool.end();
  }
});

test('a database that holds data is refused, and left as it was', async () => {
  const r = await seed(firstDb.url);
  assert.equal(r.code, 65, r.stderr);
  assert.match(r.stderr, /is not empty \(\d+ users?, 50 workspaces, \d+ social accounts, [\d,]+ posts\)/);
  assert.match(r.stderr, /--force/);
  const pool = new pg.Pool({ connectionString: firstDb.url, max: 1 });
  try {
    assert.equal((await datasetFingerprint(pool)).digest, first.fingerprint.digest);
  } finally {
    await pool.end();
  }
});

let served: Promise<TestApp> | undefined;
/** One API process on the first seeded database for the tests that read it (the load test needs no per-user limit). */
const serving = () => (served ??= startTestApp({
  DATABASE_URL: firstDb.url, MEDIA_DIR: media, ENCRYPTION_KEYS: keys, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: `${testRedisPrefix()}seed:`,
  LIMIT_API_USER: '1000000/60',
}));
after(async () => {
  await (await served)?.stop();
});

test('the API serves the seeded data to a seeded member: sign-in, posts, calendar, media', async () => {
  const app = await serving();
  const { accessToken } = await app.login(SEED_OWNER_EMAIL, DEFAULT_SEED_PASSWORD) as { accessToken: string };
  const token = accessToken;
  const ws = await app.call('GET', '/api/workspaces', { token });
  assert.equal(ws.status, 200);
  const list = (ws.body as { workspaces: { id: string; name: string }[] }).workspaces;
  const largest = list.find((w) => w.name === LARGEST_WORKSPACE_NAME)!;
  assert.ok(largest && list.some((w) => w.name === BASELINE_WORKSPACE_NAME), JSON.stringify(list));

  const page1 = await app.call('GET', `/api/workspaces/${largest.id}/posts?limit=50`, { token });
  assert.equal(page1.status, 200);
  const p1 = page1.body as { posts: { id: string; targets: unknown[] }[]; next: string | null };
  assert.equal(p1.posts.length, 50);
  assert.ok(p1.next);
  const page2 = await app.call('GET', `/api/workspaces/${largest.id}/posts?limit=50&cursor=${p1.next}`, { token });
  assert.equal(page2.status, 200);
  const p2 = page2.body as { posts: { id: string }[] };
  assert.equal(p2.posts.length, 50);
  assert.equal(new Set([...p1.posts, ...p2.posts].map((p) => p.id)).size, 100);

  // The week after the anchor, in the workspace's zone: scheduled targets of the large workspace.
  const from = anchor.slice(0, 10);
  const to = new Date(Date.parse(anchor) + 6 * 86_400_000).toISOString().slice(0, 10);
  const cal = await app.call('GET', `/api/workspaces/${largest.id}/calendar?from=${from}&to=${to}&timeZone=Europe/Berlin`, { token });
  assert.equal(cal.status, 200);
  const days = (cal.body as { days: { targets: { state: string }[] }[] }).days;
  assert.equal(days.length, 7);
  assert.ok(days.flatMap((d) => d.targets).length > 0, 'a week of the largest workspace has targets');

  const approvals = await app.call('GET', `/api/workspaces/${largest.id}/approvals`, { token });
  assert.equal(approvals.status, 200);
  assert.ok((approvals.body as { posts: unknown[] }).posts.length > 0);

  // The inbox: a search, then one conversation with its messages.
  const found = await app.call('GET', `/api/workspaces/${largest.id}/inbox/conversations?q=refund&limit=20`, { token });
  assert.equal(found.status, 200);
  const convs = (found.body as { conversations: { id: string; messageCount: number }[] }).conversations;
  assert.ok(convs.length > 0, 'a search of the seeded inbox finds conversations');
  const conv = await app.call('GET', `/api/workspaces/${largest.id}/inbox/conversations/${convs[0]!.id}`, { token });
  assert.equal(conv.status, 200);
  // Seeded conversations have at most 11 messages: all on the first page.
  assert.equal((conv.body as { messages: { deleted: boolean }[] }).messages.filter((m) => !m.deleted).length, convs[0]!.messageCount);

  const mediaList = await app.call('GET', `/api/workspaces/${largest.id}/media?limit=5`, { token });
  assert.equal(mediaList.status, 200);
  const item = (mediaList.body as { media: { id: string }[] }).media[0]!;
  const content = await fetch(`${app.url}/api/workspaces/${largest.id}/media/${item.id}/content`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(content.status, 200);
  assert.deepEqual([...new Uint8Array(await content.arrayBuffer()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]); // a PNG

  // A seeded editor signs in with the same password.
  await app.login('agency-editor-01@seed.example.com', DEFAULT_SEED_PASSWORD);
});

test('allin loadtest agency runs against the seeded workspaces and reports every route on both', async () => {
  const app = await serving();
  const report = await runLoadtest({ ...defaults('agency', true), url: app.url, metricsToken: undefined, vus: 2, stepSeconds: 0.3 });
  const a = report.agency!;
  assert.equal(a.workspaces.largest.name, LARGEST_WORKSPACE_NAME);
  assert.equal(a.workspaces.baseline.name, BASELINE_WORKSPACE_NAME);
  assert.deepEqual(a.routes.map((r) => r.route), agencyRoutes().map((r) => r.name));
  for (const r of a.routes) {
    for (const side of [r.largest, r.baseline]) {
      assert.ok(side.requests > 0, `${r.route}: no requests`);
      assert.equal(side.successRate, 1, `${r.route}: ${JSON.stringify(side.statuses)}`);
    }
    assert.ok(r.verdict === 'ok' || /P95|failed/.test(r.verdict), r.verdict);
  }
  // Paged routes followed their cursors past the first page on the large workspace.
  assert.ok(report.endpoints.find((e) => e.name === `posts, page after page (limit=50) · largest`)!.requests > 1);
  assert.ok(a.rss.largestMaxBytes === null || a.rss.largestMaxBytes > 0);
  // The calendar is read as the web app reads it, and the busiest day's second page exists on both workspaces.
  for (const w of [a.workspaces.largest, a.workspaces.baseline]) assert.ok(w.busiestDay && w.busiestDay.total >= 2, JSON.stringify(w));
  assert.match(renderHtml(report), /calendar, a week \(perDay=12\) · largest/);
  const text = renderText(report);
  for (const row of [
    'calendar, a month (perDay=4)', 'calendar, a week (perDay=12)', 'calendar, the busiest day, first page (perDay=50)',
    'calendar, the busiest day, next page (perDay=50, cursor=nextCursor)', 'posts created before a day of the past year, page after page (limit=50, before)',
    'members, page after page (limit=50)', 'accounts, page after page (limit=50)', 'the busiest day (of the months read):',
    'inbox search, page after page (limit=25, q=a word people write)', 'inbox, a conversation opened (its post, notes, messages and replies)',
  ]) assert.ok(text.includes(row), `the printed report names "${row}":\n${text}`);
  assert.match(text, /server memory \(RSS\) while serving the largest workspace/);
});

test('the agency scenario asks the calendar with the web app\'s parameters and follows each list\'s nextCursor', () => {
  const place = {
    label: 'largest' as const, id: 'w1', name: 'W', timeZone: 'Europe/Paris', accounts: ['a1'], webhooks: ['h1'],
    busiestDay: { date: '2026-12-09', total: 400, cursor: 'c1' }, inboxLabels: ['l1'], conversations: ['c9'],
  };
  const routes = agencyRoutes(new Date('2026-12-07T12:00:00Z'));
  const first = (name: string) => routes.find((r) => r.name.startsWith(name))!.request(place, {}, () => 0.5).path;
  assert.match(first('calendar, a month'), /^\/api\/workspaces\/w1\/calendar\?from=2026-12-01&to=2026-12-31&timeZone=Europe%2FParis&perDay=4$/);
  assert.match(first('calendar, a week'), /^\/api\/workspaces\/w1\/calendar\?from=2026-12-07&to=2026-12-13&timeZone=Europe%2FParis&perDay=12$/);
  assert.equal(first('calendar, the busiest day, first page'), '/api/workspaces/w1/calendar?from=2026-12-09&to=2026-12-09&timeZone=Europe%2FParis&perDay=50');
  assert.equal(first('calendar, the busiest day, next page'), '/api/workspaces/w1/calendar?from=2026-12-09&to=2026-12-09&timeZone=Europe%2FParis&perDay=50&cursor=c1');
  // A list's second request carries the first answer's nextCursor.
  const media = routes.find((r) => r.name.startsWith('media'))!;
  const cursors: Record<string, string | undefined> = {};
  assert.equal(media.request(place, cursors, () => 0).path, '/api/workspaces/w1/media?limit=50');
  media.after!({ status: '200', headers: {}, text: JSON.stringify({ media: [], nextCursor: 'n1' }) }, cursors);
  assert.equal(media.request(place, cursors, () => 0).path, '/api/workspaces/w1/media?limit=50&cursor=n1');
  // The inbox: filters and searches as the web app asks them, and a conversation the set-up found.
  assert.equal(first('inbox, page after page'), '/api/workspaces/w1/inbox/conversations?limit=25');
  assert.equal(first('inbox search'), '/api/workspaces/w1/inbox/conversations?limit=25&q=shipping');
  assert.equal(first('inbox, a conversation opened'), '/api/workspaces/w1/inbox/conversations/c9');
  const filtered = routes.find((r) => r.name.startsWith('inbox filtered'))!;
  const filters = new Set([0, 0.2, 0.4, 0.55, 0.7, 0.9].map((x) => filtered.request(place, {}, () => x).path.split('&')[1]!.split('=')[0]));
  assert.deepEqual([...filters].sort(), ['accountId', 'assignee', 'labelId', 'question', 'state', 'unread']);
});
