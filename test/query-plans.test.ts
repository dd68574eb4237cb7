// Every query on a request path uses an index. A journey through the API's read routes (every list, with
// each filter and a second page, and the main reads and writes around them) runs on a database crowded
// with other people's rows; every SQL statement a request sends is captured with its parameters, then
// EXPLAINed with sequential scans switched off, so that the answer does not depend on table sizes: a Seq
// Scan that still shows means no index can serve the query. The test fails, naming the route and the
// query, on
//   - a Seq Scan of a table that grows with use (any table but the few exempt below, each with a reason);
//   - an index scan with no index condition on such a table (it reads the whole index: a Seq Scan in disguise);
//   - a Sort under a Limit over such a table: a page whose order no index serves, so its cost follows
//     the number of matching rows, not the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/app.ts';
import { greyPng, invite, person, type Person } from './support/fixtures.ts';
import { connectSandbox, eventually } from './support/social.ts';
import { crowd } from './support/crowd.ts';
import type { Json } from './support/http.ts';

/** Tables that may be read whole, and why. Every other table grows with use. */
const EXEMPT: Record<string, string> = {
  worker_heartbeats: 'one row per running worker process',
  mastodon_apps: 'one row per Mastodon instance the installation has met',
};

interface Captured { route: string; text: string; values: unknown[] | undefined }
const requestOf = new AsyncLocalStorage<string>();
const captured = new Map<string, Captured>();
let capturing = false;

let t: TestApp;
let mediaDir: string;
let receiver: Server;
let receiverUrl: string;

before(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'allin-plans-'));
  receiver = createServer((req, res) => {
    if (req.url === '/feed.xml') {
      const items = [1, 2, 3].map((i) => `<item><guid>item-${i}-${Date.now()}</guid><title>Item ${i}</title><link>https://blog.example/${i}/${Date.now()}</link></item>`).join('');
      return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(`<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title>${items}</channel></rss>`);
    }
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  t = await startTestApp({ MEDIA_DIR: mediaDir, ALLOW_PRIVATE_HOSTS: 'true' }, 'start', {
    // The statements each request sends, attributed to its route (the worker's own are not on a request path).
    extendApp: (app) => {
      app.addHook('onRequest', (req, _reply, done) => requestOf.run(`${req.method} ${req.routeOptions.url ?? req.url}`, done));
    },
    onQuery: (text, values) => {
      const route = requestOf.getStore();
      if (!capturing || !route || !/^\s*(select|insert|update|delete|with)\b/i.test(text)) return;
      const key = `${route}\u0000${text}`;
      if (!captured.has(key)) captured.set(key, { route, text, values: values ? [...values] : undefined });
    },
  });
  await crowd(t.running.pool, 5000);
});

after(async () => {
  await t?.stop();
  await new Promise<void>((r) => { receiver.closeAllConnections(); receiver.close(() => r()); });
  await rm(mediaDir, { recursive: true, force: true });
});

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Index Cond'?: string; Filter?: string; Plans?: PlanNode[] };

const big = (n: PlanNode) => n['Relation Name'] !== undefined && !(n['Relation Name'] in EXEMPT);
const wholeIndex = (n: PlanNode) => (n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') && !n['Index Cond'] && big(n);
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/** With sequential scans off: a table read whole, through its heap or through an index without a condition. */
function unindexed(root: PlanNode): string[] {
  return nodes(root).flatMap((n) => [
    ...(n['Node Type'] === 'Seq Scan' && big(n) ? [`Seq Scan on ${n['Relation Name']}`] : []),
    ...(wholeIndex(n) ? [`whole-index scan of ${n['Index Name']} on ${n['Relation Name']} (no index condition)`] : []),
  ]);
}

/** The top-level conditions of a plan's Filter, "((a = 1) AND (b <> 2))" → ["a = 1", "b <> 2"]. */
function conjuncts(filter: string): string[] {
  const strip = (x: string) => {
    while (x.startsWith('(') && x.endsWith(')')) {
      let depth = 0;
      let wraps = true;
      for (let i = 0; i < x.length - 1 && wraps; i++) {
        depth += x[i] === '(' ? 1 : x[i] === ')' ? -1 : 0;
        if (depth === 0) wraps = false;
      }
      if (!wraps) break;
      x = x.slice(1, -1);
    }
    return x;
  };
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  const f = strip(filter);
  for (let i = 0; i < f.length; i++) {
    depth += f[i] === '(' ? 1 : f[i] === ')' ? -1 : 0;
    if (depth === 0 && f.startsWith(' AND ', i)) {
      out.push(strip(f.slice(start, i)));
      start = i + 5;
    }
  }
  out.push(strip(f.slice(start)));
  return out;
}

/**
 * With sorts off too, in a page (under a Limit) of a big table: a Sort, or a walk along a whole index (no index
 * serves the page's order), or a column compared for equality after the rows are read (no index serves that
 * filter: a page of a rare value reads every row of the others first). Inequalities left to the rows (not
 * expired, not disconnected) are fine: they remove few.
 */
function unorderedPages(root: PlanNode): string[] {
  return nodes(root).filter((n) => n['Node Type'] === 'Limit').flatMap((limit) => nodes(limit).flatMap((n) => {
    if (n['Node Type'] === 'Sort') {
      const tables = [...new Set(nodes(n).filter(big).map((s) => s['Relation Name']))];
      return tables.length ? [`Sort under a Limit over ${tables.join(', ')}: no index serves the page's order`] : [];
    }
    if (wholeIndex(n)) return [`a page read along the whole of ${n['Index Name']} on ${n['Relation Name']}: no index serves its filter and order`];
    const equal = big(n) && n.Filter ? conjuncts(n.Filter).filter((c) => /^[a-z_][a-z0-9_.]* = /.test(c)) : [];
    return equal.length ? [`a page of ${n['Relation Name']} filtered on ${equal.join(', ')} after reading the rows: no index serves that filter`] : [];
  }));
}

/** The API, as `who`: asserts a 2xx and answers the body. */
const call = async (who: Person | { token: string }, method: string, path: string, body?: unknown): Promise<Json> => {
  const r = await t.call(method, path, { token: who.token, ...(body === undefined ? {} : { body }) });
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

/** The first page of a list (limit 2) and, when there is one, the next page through its cursor. */
async function pages(who: Person | { token: string }, path: string, query = ''): Promise<void> {
  const sep = path.includes('?') ? '&' : '?';
  const first = await call(who, 'GET', `${path}${sep}limit=2${query}`);
  if (typeof first?.nextCursor === 'string') await call(who, 'GET', `${path}${sep}limit=2${query}&cursor=${first.nextCursor}`);
}

async function journey(): Promise<void> {
  const owner = await person(t, { name: 'Owner' });
  const ws = (await call(owner, 'POST', '/api/workspaces', { name: 'Plans' })).id as string;
  await call(owner, 'POST', '/api/workspaces', { name: 'Plans 2' });
  await call(owner, 'POST', '/api/workspaces', { name: 'Plans 3' });
  const W = `/api/workspaces/${ws}`;
  const accounts = [await connectSandbox(t, owner.token, ws, 'plans-1'), await connectSandbox(t, owner.token, ws, 'plans-2'), await connectSandbox(t, owner.token, ws, 'plans-3')];
  const [account] = accounts as [string];

  // People: members by invitation, pending invitations.
  for (const role of ['editor', 'viewer'] as const) {
    const p = await person(t);
    const { token } = await invite(t, ws, owner, p.email, role);
    await call(p, 'POST', '/api/invitations/accept', { token });
  }
  for (let i = 0; i < 3; i++) await invite(t, ws, owner, `pending-${i}-${Date.now()}@example.com`, 'viewer');

  // Posts in every state: drafts, scheduled at a time, queued in slots, waiting for approval.
  await call(owner, 'PUT', `${W}/accounts/${account}/slots`, { timeZone: 'Europe/Berlin', slots: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, time: '09:30' })) });
  const ids: string[] = [];
  const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  for (let i = 0; i < 3; i++) ids.push((await call(owner, 'POST', `${W}/posts`, { text: `draft ${i}`, targets: [{ accountId: account }] })).id);
  for (let i = 0; i < 3; i++) ids.push((await call(owner, 'POST', `${W}/posts`, { text: `at ${i}`, targets: accounts.map((accountId) => ({ accountId })), schedule: { at: at(2 + i) } })).id);
  for (let i = 0; i < 3; i++) await call(owner, 'POST', `${W}/posts`, { text: `queued ${i}`, targets: [{ accountId: account }], schedule: { queue: true } });
  for (let i = 0; i < 3; i++) await call(owner, 'POST', `${W}/posts/${ids[i]}/submit`, { at: at(3) });
  await call(owner, 'PUT', `${W}/links/settings`, { shorten: true });
  const published = (await call(owner, 'POST', `${W}/posts`, { text: 'now https://shop.example.com/a and https://shop.example.com/b', targets: [{ accountId: account }], schedule: { now: true } })).id as string;

  // Media, webhooks (a ping writes a delivery), API keys.
  const folder = (await call(owner, 'POST', `${W}/media-folders`, { name: 'Folder' })).id as string;
  await call(owner, 'POST', `${W}/media-folders`, { name: 'Folder 2' });
  await call(owner, 'POST', `${W}/media-folders`, { name: 'Folder 3' });
  const mediaIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const form = new FormData();
    if (i < 3) form.append('folderId', folder);
    form.append('file', new Blob([greyPng(2, 2 + i)]), `${i}.png`);
    const r = await fetch(`${t.url}${W}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${owner.token}` } });
    assert.equal(r.status, 201);
    const id = ((await r.json()) as { id: string }).id;
    mediaIds.push(id);
    await call(owner, 'PATCH', `${W}/media/${id}`, { tags: ['tagged', `tag ${i}`], altText: `picture ${i}` });
  }
  const hook = (await call(owner, 'POST', `${W}/webhooks`, { url: `${receiverUrl}/hook`, events: ['post.published'] })).webhook.id as string;
  for (let i = 0; i < 3; i++) await call(owner, 'POST', `${W}/webhooks/${hook}/ping`);
  const keys: string[] = [];
  for (let i = 0; i < 3; i++) keys.push((await call(owner, 'POST', `${W}/api-keys`, { name: `key ${i}`, scopes: ['read'] })).key);

  // The reads: every list with each filter and its second page, and the main single reads.
  await call(owner, 'GET', '/api/auth/me');
  await pages(owner, '/api/workspaces');
  await call(owner, 'GET', W);
  await pages(owner, `${W}/members`);
  await pages(owner, `${W}/invitations`);
  await pages(owner, `${W}/accounts`);
  await call(owner, 'GET', `${W}/accounts/${account}`);
  await pages(owner, `${W}/posts`);
  for (const status of ['draft', 'pending_approval', 'scheduled']) await pages(owner, `${W}/posts`, `&status=${status}`);
  await pages(owner, `${W}/posts`, `&before=${encodeURIComponent(new Date().toISOString())}`);
  await pages(owner, `${W}/approvals`);
  await call(owner, 'GET', `${W}/posts/${ids[3]}`);
  await pages(owner, `${W}/accounts/${account}/queue`);
  await call(owner, 'GET', `${W}/accounts/${account}/slots`);
  await call(owner, 'GET', `${W}/calendar?from=${at(0).slice(0, 10)}&to=${at(7).slice(0, 10)}&timeZone=Europe/Berlin`);
  await call(owner, 'GET', `${W}/calendar?from=${at(0).slice(0, 10)}&to=${at(7).slice(0, 10)}&accountId=${account}`);
  await pages(owner, `${W}/media`);
  for (const filter of [`&folder=${folder}`, '&folder=none', '&type=image', '&tag=tagged', '&q=picture', '&minWidth=2&maxBytes=100000',
    `&from=${encodeURIComponent(at(-1))}&to=${encodeURIComponent(at(1))}`, `&tag=tagged&from=${encodeURIComponent(at(-1))}`]) await pages(owner, `${W}/media`, filter);
  await pages(owner, `${W}/media-folders`);
  await pages(owner, `${W}/media-tags`);
  for (let i = 0; i < 3; i++) await call(owner, 'POST', `${W}/feeds`, { url: `${receiverUrl}/feed.xml`, mode: 'draft', accountIds: [account] });
  const feed = (await call(owner, 'POST', `${W}/feeds`, { url: `${receiverUrl}/feed.xml`, mode: 'queue', accountIds: [account] })).id as string;
  await call(owner, 'POST', `${W}/feeds/${feed}/fetch`);
  await pages(owner, `${W}/feeds`);
  await pages(owner, `${W}/feeds/${feed}/items`);
  await call(owner, 'GET', `${W}/feeds/${feed}`);
  await call(owner, 'PATCH', `${W}/feeds/${feed}`, { paused: true });
  await call(owner, 'DELETE', `${W}/feeds/${feed}`);
  let template = '';
  for (let i = 0; i < 3; i++) template = (await call(owner, 'POST', `${W}/templates`, { name: `Template ${i}`, text: 'Meet {{product}}', personal: i === 2, mediaIds: i === 0 ? [mediaIds[1]] : [] })).id as string;
  await pages(owner, `${W}/templates`);
  await pages(owner, `${W}/templates`, '&q=template');
  await call(owner, 'GET', `${W}/templates/${template}`);
  await call(owner, 'POST', `${W}/templates/${template}/render`, { values: { product: 'bread' } });
  await call(owner, 'GET', `${W}/media/${mediaIds[1]}/uses`);
  for (let i = 0; i < 3; i++) await call(owner, 'POST', `${W}/hashtag-groups`, { name: `Group ${i}`, hashtags: ['#bread'], personal: i === 1 });
  await pages(owner, `${W}/hashtag-groups`);
  await pages(owner, `${W}/hashtag-groups`, '&q=group');
  await call(owner, 'GET', `${W}/media/${mediaIds[0]}`);
  await call(owner, 'POST', `${W}/posts`, { text: 'with a picture', mediaIds: [mediaIds[0]], targets: [{ accountId: account }] });
  await call(owner, 'GET', `${W}/media/${mediaIds[0]}/uses`);
  assert.equal((await t.call('DELETE', `${W}/media/${mediaIds[0]}`, { token: owner.token })).status, 409);
  await pages(owner, `${W}/audit`);
  await pages(owner, '/api/auth/activity');
  await pages(owner, '/api/auth/sessions');
  await call(owner, 'GET', '/api/auth/passkeys');
  await call(owner, 'GET', `${W}/webhooks`);
  await call(owner, 'GET', `${W}/webhooks/${hook}`);
  await pages(owner, `${W}/webhooks/${hook}/deliveries`);
  await pages(owner, `${W}/webhooks/${hook}/deliveries`, '&status=delivered');
  await pages(owner, `${W}/api-keys`);
  await call(owner, 'GET', `${W}/posts/${published}/metrics`);
  await call(owner, 'GET', `${W}/accounts/${account}/metrics`);
  await t.running.services.accountMetrics.collectDue();
  await pages(owner, `${W}/accounts/${account}/snapshots`);
  await call(owner, 'GET', `${W}/analytics/overview?timeZone=Europe/Berlin`);
  await call(owner, 'GET', `${W}/analytics/overview?accounts=${account}`);
  await call(owner, 'GET', `${W}/analytics/overview?accounts=${accounts.join(',')}`);
  const labelIds: string[] = [];
  for (let i = 0; i < 3; i++) labelIds.push((await call(owner, 'POST', `${W}/labels`, { name: `label ${i}`, color: '#336699' })).id);
  await call(owner, 'PATCH', `${W}/labels/${labelIds[2]}`, { name: 'label two' });
  await call(owner, 'PUT', `${W}/posts/${published}/labels`, { labelIds: labelIds.slice(0, 2) });
  await call(owner, 'GET', `${W}/posts/${published}/labels`);
  await pages(owner, `${W}/labels`);
  // The inbox list by the assistant's labels (classification of incoming messages).
  for (const filter of ['&intent=complaint', '&urgent=true']) await pages(owner, `${W}/inbox/conversations`, filter);
  for (const sort of ['publishedAt', 'engagement', 'engagementRate', 'likes', 'reposts', 'replies', 'impressions']) {
    await pages(owner, `${W}/analytics/posts`, `&sort=${sort}`);
    await pages(owner, `${W}/analytics/posts`, `&sort=${sort}&order=asc&account=${account}`);
  }
  await pages(owner, `${W}/analytics/posts`, `&label=${labelIds[0]}`);
  await call(owner, 'GET', `${W}/analytics/posts/${published}`);
  await call(owner, 'GET', `${W}/analytics/accounts/${account}/best-times`);
  await call(owner, 'GET', `${W}/analytics/posts.csv?sort=engagement`);
  await call(owner, 'GET', `${W}/analytics/overview.csv?table=labels`);
  await call(owner, 'DELETE', `${W}/labels/${labelIds[2]}`);
  await call(owner, 'GET', `${W}/analytics/report.html?accounts=${account}`);
  const schedules: string[] = [];
  for (let i = 0; i < 3; i++) schedules.push((await call(owner, 'POST', `${W}/analytics/report-schedules`, { cadence: 'weekly', recipients: [`plans-${i}@example.com`] })).id);
  await call(owner, 'PATCH', `${W}/analytics/report-schedules/${schedules[0]}`, { cadence: 'monthly' });
  await pages(owner, `${W}/analytics/report-schedules`);
  await call(owner, 'DELETE', `${W}/analytics/report-schedules/${schedules[2]}`);
  // Tracked links: the published post's short links, followed, listed and counted.
  const link = await eventually(async () => (await call(owner, 'GET', `${W}/links?postId=${published}`)).items[0], 30_000, 'the published post\'s links');
  assert.equal((await fetch(`${t.url}/l/${link.code}`, { redirect: 'manual' })).status, 302);
  assert.equal((await fetch(`${t.url}/l/Zz9Zz9Zz`, { redirect: 'manual' })).status, 404);
  await t.running.services.linkClicks.flush();
  await call(owner, 'GET', `${W}/links/settings`);
  await pages(owner, `${W}/links`);
  await pages(owner, `${W}/links`, `&postId=${published}`);
  await call(owner, 'GET', `${W}/links/${link.id}/clicks`);
  await call(owner, 'GET', `${W}/analytics/links`);
  await call({ token: keys[0]! }, 'GET', `${W}/posts?limit=2`);

  // The writes around them.
  await call(owner, 'PATCH', W, { name: 'Plans renamed' });
  await call(owner, 'PUT', `${W}/posts/${ids[3]}`, { text: 'changed', targets: accounts.map((accountId) => ({ accountId })) });
  await call(owner, 'POST', `${W}/posts/${ids[4]}/unschedule`);
  await call(owner, 'DELETE', `${W}/posts/${ids[5]}`);
  const apiKeys = await call(owner, 'GET', `${W}/api-keys`);
  await call(owner, 'DELETE', `${W}/api-keys/${apiKeys.apiKeys[0].id}`);
  await call(owner, 'PATCH', `${W}/media/${mediaIds[3]}`, { folderId: folder });
  await call(owner, 'DELETE', `${W}/media/${mediaIds[3]}`);
  const tags = await call(owner, 'GET', `${W}/media-tags`);
  await call(owner, 'DELETE', `${W}/media-tags/${tags.tags[0].id}`);
  const refused = await t.call('DELETE', `${W}/media-folders/${folder}`, { token: owner.token });
  assert.equal(refused.status, 409);
}

test('every statement a request sends is served by an index', async () => {
  capturing = true;
  await journey();
  capturing = false;
  assert.ok(captured.size > 100, `only ${captured.size} statements were captured: is the hook still wired?`);

  const client = new pg.Client({ connectionString: t.running.config.DATABASE_URL });
  await client.connect();
  const found: string[] = [];
  const explain = async (q: Captured, format: 'json' | 'text') => (await client.query(`explain (format ${format}) ${q.text}`, q.values)).rows;
  try {
    // Switched off, a sequential scan (then a sort) is never the cheaper plan: one that still shows has no index to avoid it.
    for (const [settings, check] of [['set enable_seqscan = off; set enable_sort = on', unindexed], ['set enable_sort = off', unorderedPages]] as const) {
      await client.query(settings);
      for (const q of captured.values()) {
        const [row] = await explain(q, 'json') as [{ 'QUERY PLAN': [{ Plan: PlanNode }] }];
        const wrong = check(row['QUERY PLAN'][0].Plan);
        if (wrong.length === 0) continue;
        const plan = (await explain(q, 'text') as { 'QUERY PLAN': string }[]).map((r) => `    ${r['QUERY PLAN']}`).join('\n');
        found.push(`${q.route}\n  ${wrong.join('\n  ')}\n  ${q.text.replace(/\s+/g, ' ').slice(0, 400)}\n${plan}`);
      }
    }
  } finally {
    await client.end();
  }
  assert.equal(found.length, 0, `${found.length} of ${captured.size} statements are not served by an index:\n\n${found.join('\n\n')}`);
});
