// Feeds to posts, through the API and the fetch job on a real database, with feeds served by a local HTTP
// server: RSS 2.0, Atom and JSON Feed read; a new feed remembers what it holds and posts only later items;
// items deduplicated by id and by link, across fetches, two fetchers at once and a restart of the service;
// conditional requests (304); a feed too large, a redirect to a private address and a broken feed refused
// or recorded with their reason and fetched again later, not in a loop; queue mode, approval, workspaces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { eq, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { HttpClient, type HttpRequest } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { FeedFetcher, FeedService } from '../src/modules/feeds/index.ts';
import { readFeed } from '../src/modules/feeds/parse.ts';
import { render } from '../src/modules/feeds/template.ts';
import { feeds as feedsTable } from '../src/modules/feeds/schema.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { quietLogger } from './support/env.ts';
import { member, newWorkspace, person, type Person } from './support/fixtures.ts';
import { connectSandbox } from './support/social.ts';

let sim: Simulator;
let t: TestApp;
let server: Server;
let base: string;
let owner: Person;
let ws: string;
let account: string;
/** What each path serves; tests change it between fetches. */
const docs = new Map<string, { type: string; body: string | Buffer; etag?: string }>();
const hits: { path: string; ifNoneMatch: string | undefined }[] = [];

const rss = (items: { guid?: string; title: string; link?: string; date?: string; body?: string }[]) => `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>The &amp; Blog</title><link>https://blog.example/</link>
${items.map((i) => `<item>${i.guid ? `<guid isPermaLink="false">${i.guid}</guid>` : ''}<title>${i.title}</title>${i.link ? `<link>${i.link}</link>` : ''}
<pubDate>${i.date ?? 'Mon, 07 Dec 2026 10:00:00 GMT'}</pubDate><description><![CDATA[${i.body ?? '<p>Some <b>words</b> &amp; more</p>'}]]></description><dc:creator>Ann</dc:creator></item>`).join('\n')}
</channel></rss>`;

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    hits.push({ path, ifNoneMatch: req.headers['if-none-match'] });
    if (path === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (path === '/hop') return void res.writeHead(301, { location: '/rss' }).end();
    if (path === '/huge') {
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.write('<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>');
      const chunk = `<item><title>${'x'.repeat(1000)}</title></item>`.repeat(100);
      let sent = 0;
      const more = () => {
        while (sent < 10 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end('</channel></rss>');
      };
      return more();
    }
    const doc = docs.get(path);
    if (!doc) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no feed here');
    if (doc.etag && req.headers['if-none-match'] === doc.etag) return void res.writeHead(304, { etag: doc.etag }).end();
    res.writeHead(200, { 'content-type': doc.type, ...(doc.etag ? { etag: doc.etag } : {}) }).end(doc.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  sim = await startSimulator();
  // ALLOW_PRIVATE_HOSTS: the test's feed server is on this machine; the guard itself is tested below with it off.
  t = await startTestApp({ SIMULATOR_URL: sim.url, SANDBOX: 'on', ALLOW_PRIVATE_HOSTS: 'true', FEED_MAX_BYTES: String(1024 * 1024) });
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Feeds');
  account = await connectSandbox(t, owner.token, ws, 'u1');
});
after(async () => {
  await t.stop();
  await sim.stop();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const W = () => `/api/workspaces/${ws}`;
const addFeed = (body: Record<string, unknown>, token = owner.token, workspace = ws) => t.call('POST', `/api/workspaces/${workspace}/feeds`, { token, body });
const fetchNow = async (feedId: string, token = owner.token) => {
  const r = await t.call('POST', `${W()}/feeds/${feedId}/fetch`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { feed: { status: string; lastError: string | null; errorCount: number; nextFetchAt: string }; made: { state: string; postId: string | null; title: string; reason: string | null }[] };
};
const postText = async (postId: string) => (await t.call('GET', `${W()}/posts/${postId}`, { token: owner.token })).body;

test('RSS 2.0, Atom and JSON Feed are read into id, link, title, plain-text summary, author and date', () => {
  const r = readFeed(rss([{ guid: 'g1', title: 'Fish &amp; <![CDATA[<em>chips</em>]]>', link: '/posts/1' }]), 'https://blog.example/feed.xml');
  assert.equal(r.format, 'rss');
  assert.equal(r.title, 'The & Blog');
  assert.deepEqual(r.items[0], { key: 'g1', link: 'https://blog.example/posts/1', title: 'Fish & chips', summary: 'Some words & more', author: 'Ann', publishedAt: new Date('2026-12-07T10:00:00Z') });
  const atom = readFeed(`<feed xmlns="http://www.w3.org/2005/Atom"><title>At</title><entry><id>urn:uuid:1</id><title type="html">X &amp;amp; Y</title>
    <link rel="alternate" href="https://e.example/x"/><link rel="edit" href="https://e.example/edit"/><updated>2026-12-07T11:00:00Z</updated>
    <content type="html">&lt;p&gt;Body&lt;/p&gt;</content><author><name>Bob</name></author></entry></feed>`, 'https://e.example/');
  assert.deepEqual(atom.items[0], { key: 'urn:uuid:1', link: 'https://e.example/x', title: 'X & Y', summary: 'Body', author: 'Bob', publishedAt: new Date('2026-12-07T11:00:00Z') });
  const json = readFeed(JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 'J', items: [{ id: 7, url: 'https://j.example/7', content_html: '<p>Only html</p>', date_published: '2026-12-07T12:00:00Z' }] }), 'https://j.example/');
  assert.deepEqual(json.items[0], { key: '7', link: 'https://j.example/7', title: '', summary: 'Only html', author: null, publishedAt: new Date('2026-12-07T12:00:00Z') });
  // No id: the link is the key; javascript: links are no links.
  const bare = readFeed(rss([{ title: 'No guid', link: 'https://blog.example/n' }, { title: 'Bad link', link: 'javascript:alert(1)' }]), 'https://blog.example/');
  assert.equal(bare.items[0]!.key, 'https://blog.example/n');
  assert.equal(bare.items[1]!.link, null);
  assert.match(bare.items[1]!.key, /^sha256:/);
  assert.throws(() => readFeed('<html><body>not a feed</body></html>', 'https://x.example/'), /not an RSS, Atom or JSON feed/);
  assert.equal(render('{title}\n\n{summary}\n\n{url}', { key: 'k', link: null, title: 'T', summary: '', author: null, publishedAt: null }, null), 'T');
});

test('a new feed remembers the items it holds; later items become drafts with the template, each once, oldest first', async () => {
  docs.set('/rss', { type: 'application/rss+xml', body: rss([{ guid: 'old-1', title: 'Old one', link: 'https://blog.example/old-1' }]) });
  const r = await addFeed({ url: `${base}/rss`, mode: 'draft', accountIds: [account], template: '{title} by {author}: {url}' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.title, 'The & Blog');
  assert.equal(r.body.status, 'ok');
  const feedId = r.body.id as string;
  const items = await t.call('GET', `${W()}/feeds/${feedId}/items`, { token: owner.token });
  assert.deepEqual(items.body.items.map((i: { state: string; postId: string | null }) => [i.state, i.postId]), [['seen', null]]);

  docs.set('/rss', { type: 'application/rss+xml', body: rss([
    { guid: 'new-2', title: 'Second', link: 'https://blog.example/2', date: 'Mon, 07 Dec 2026 12:00:00 GMT' },
    { guid: 'new-1', title: 'First', link: 'https://blog.example/1', date: 'Mon, 07 Dec 2026 11:00:00 GMT' },
    { guid: 'old-1', title: 'Old one', link: 'https://blog.example/old-1' },
  ]) });
  const first = await fetchNow(feedId);
  assert.deepEqual(first.made.map((m) => [m.title, m.state]), [['First', 'draft'], ['Second', 'draft']]);
  const post = await postText(first.made[0]!.postId!);
  assert.equal(post.text, 'First by Ann: https://blog.example/1');
  assert.equal(post.status, 'draft');

  // Again, and an item that came back under a new id with a known link: nothing new.
  docs.set('/rss', { type: 'application/rss+xml', body: rss([{ guid: 'renamed-1', title: 'First again', link: 'https://blog.example/1' }, { guid: 'new-2', title: 'Second', link: 'https://blog.example/2' }]) });
  assert.deepEqual((await fetchNow(feedId)).made, []);

  // Two fetches at once, and a second service over the same database (a restart, another worker): one post per item.
  docs.set('/rss', { type: 'application/rss+xml', body: rss([{ guid: 'new-3', title: 'Third', link: 'https://blog.example/3' }]) });
  const other = new FeedService({
    db: t.running.services.db, posts: t.running.services.posts, log: quietLogger(), mayApprove: async () => true,
    fetcher: new FeedFetcher(t.running.services.http, { timeoutMs: 5000, maxBytes: 1024 * 1024 }),
  });
  await t.running.services.db.update(feedsTable).set({ nextFetchAt: new Date(Date.now() - 1000) }).where(eq(feedsTable.id, feedId));
  await Promise.all([fetchNow(feedId), other.fetchDue()]);
  const third = await t.running.services.db.execute<{ n: number }>(sql`select count(*)::int as n from feed_items where feed_id = ${feedId} and key = 'new-3' and post_id is not null`);
  assert.equal(third.rows[0]!.n, 1, 'one post for the third item');
  const posts = await t.running.services.db.execute<{ n: number }>(sql`select count(*)::int as n from posts where workspace_id = ${ws} and text like 'Third%'`);
  assert.equal(posts.rows[0]!.n, 1);
});

test('an unchanged feed is asked conditionally and answered 304; at most five new items a fetch, the rest the next time', async () => {
  const many = Array.from({ length: 7 }, (_, i) => ({ guid: `m${i}`, title: `Many ${i}`, link: `https://blog.example/m${i}`, date: `Mon, 07 Dec 2026 ${String(10 + i).padStart(2, '0')}:00:00 GMT` }));
  docs.set('/etag', { type: 'application/rss+xml', body: rss([]), etag: '"v1"' });
  const feedId = (await addFeed({ url: `${base}/etag`, mode: 'draft', accountIds: [account] })).body.id as string;
  hits.length = 0;
  assert.deepEqual((await fetchNow(feedId)).made, []);
  assert.deepEqual(hits, [{ path: '/etag', ifNoneMatch: '"v1"' }]);
  docs.set('/etag', { type: 'application/rss+xml', body: rss(many), etag: '"v2"' });
  const one = await fetchNow(feedId);
  assert.deepEqual(one.made.map((m) => m.title), ['Many 0', 'Many 1', 'Many 2', 'Many 3', 'Many 4']);
  assert.equal((await postText(one.made[0]!.postId!)).text, 'Many 0\n\nhttps://blog.example/m0', 'the default template');
  // The feed has not changed, but two items are still owed: the next fetch is not conditional, so no 304 hides them.
  hits.length = 0;
  assert.deepEqual((await fetchNow(feedId)).made.map((m) => m.title), ['Many 5', 'Many 6']);
  assert.deepEqual(hits, [{ path: '/etag', ifNoneMatch: undefined }]);
  hits.length = 0;
  assert.deepEqual((await fetchNow(feedId)).made, []);
  assert.deepEqual(hits, [{ path: '/etag', ifNoneMatch: '"v2"' }], 'conditional again once nothing is owed');
});

test('queue mode puts posts in the account\'s next slots; without slots they stay drafts with the reason; approval is honoured', async () => {
  docs.set('/queue', { type: 'application/feed+json', body: JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 'Q', items: [] }) });
  const feedId = (await addFeed({ url: `${base}/queue`, mode: 'queue', accountIds: [account], template: '{title} {url}' })).body.id as string;
  const item = (id: string) => ({ version: 'https://jsonfeed.org/version/1.1', title: 'Q', items: [{ id, url: `https://q.example/${id}`, title: `Item ${id}` }] });
  docs.set('/queue', { type: 'application/feed+json', body: JSON.stringify(item('a')) });
  const noSlots = await fetchNow(feedId);
  assert.equal(noSlots.made[0]!.state, 'draft');
  assert.match(noSlots.made[0]!.reason!, /not queued: .*posting slots/);

  const slots = await t.call('PUT', `${W()}/accounts/${account}/slots`, { token: owner.token, body: { timeZone: 'UTC', slots: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, time: '09:00' })) } });
  assert.equal(slots.status, 200, JSON.stringify(slots.body));
  docs.set('/queue', { type: 'application/feed+json', body: JSON.stringify(item('b')) });
  const queued = await fetchNow(feedId);
  assert.equal(queued.made[0]!.state, 'scheduled');
  const post = await postText(queued.made[0]!.postId!);
  assert.equal(post.status, 'scheduled');
  assert.equal(post.schedule.mode, 'queue');

  // The workspace now requires approval, and the feed was added by an editor: its posts are submitted, not scheduled.
  const editor = await member(t, ws, owner, 'editor');
  docs.set('/approval', { type: 'application/rss+xml', body: rss([]) });
  const edFeed = (await addFeed({ url: `${base}/approval`, mode: 'queue', accountIds: [account] }, editor.token)).body.id as string;
  assert.equal((await t.call('PATCH', W(), { token: owner.token, body: { settings: { requireApproval: true } } })).status, 200);
  docs.set('/approval', { type: 'application/rss+xml', body: rss([{ guid: 'ap', title: 'Needs approval', link: 'https://blog.example/ap' }]) });
  const submitted = await fetchNow(edFeed, editor.token);
  assert.equal(submitted.made[0]!.state, 'submitted');
  assert.equal((await postText(submitted.made[0]!.postId!)).status, 'pending_approval');
  assert.equal((await t.call('PATCH', W(), { token: owner.token, body: { settings: { requireApproval: false } } })).status, 200);
});

test('a broken, missing or too large feed is refused when added, and when it breaks later it says why and waits longer each time', async () => {
  const missing = await addFeed({ url: `${base}/nowhere`, mode: 'draft', accountIds: [account] });
  assert.equal(missing.status, 422);
  assert.equal(missing.body.code, 'FEED_UNREADABLE');
  assert.match(missing.body.message, /HTTP 404/);
  docs.set('/html', { type: 'text/html', body: '<html><body>A page, not a feed</body></html>' });
  assert.match((await addFeed({ url: `${base}/html`, mode: 'draft', accountIds: [account] })).body.message, /not an RSS, Atom or JSON feed/);
  const huge = await addFeed({ url: `${base}/huge`, mode: 'draft', accountIds: [account] });
  assert.equal(huge.status, 422);
  assert.match(huge.body.message, /larger than 1 MB/);
  for (const [body, field] of [[{ url: 'ftp://x.example/feed', mode: 'draft', accountIds: [account] }, /https:\/\//], [{ url: `${base}/rss`, mode: 'draft', accountIds: [account], template: '{titel}' }, /\{titel\} is not a variable/], [{ url: `${base}/rss`, mode: 'sometimes', accountIds: [account] }, /mode/]] as const) {
    const r = await addFeed(body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, field);
  }

  // Redirects are followed.
  docs.set('/rss', { type: 'application/rss+xml', body: rss([]) });
  const feedId = (await addFeed({ url: `${base}/hop`, mode: 'draft', accountIds: [account] })).body.id as string;
  docs.delete('/rss');
  const broken = await fetchNow(feedId);
  assert.equal(broken.feed.status, 'failing');
  assert.match(broken.feed.lastError!, /HTTP 404/);
  assert.equal(broken.feed.errorCount, 1);
  const wait1 = Date.parse(broken.feed.nextFetchAt) - Date.now();
  const again = await fetchNow(feedId);
  assert.equal(again.feed.errorCount, 2);
  assert.ok(Date.parse(again.feed.nextFetchAt) - Date.now() > wait1 * 1.5, 'the wait grows');
  // The job does not take it before its time.
  hits.length = 0;
  await t.running.services.feeds.fetchDue();
  assert.deepEqual(hits.filter((h) => h.path === '/hop'), []);
  docs.set('/rss', { type: 'application/rss+xml', body: rss([]) });
  const healed = await fetchNow(feedId);
  assert.equal(healed.feed.status, 'ok');
  assert.equal(healed.feed.errorCount, 0);
});

test('with the product\'s guard, a feed on this machine and a redirect to a private address are refused', async () => {
  const log = quietLogger();
  const metrics = createMetrics({ enabled: true });
  const guarded = new HttpClient({ metrics, log, allowPrivateHosts: false, maxRetries: 0 });
  const local = new HttpClient({ metrics, log, allowPrivateHosts: true, maxRetries: 0 });
  // The test server stands in for a public host: calls to it go through a client that allows it, every
  // other hop through the guarded client, as the fetcher asks for each hop (user-supplied host).
  const port = new URL(base).port;
  const split = { request: (req: HttpRequest) => (new URL(req.url).port === port ? local : guarded).request(req) };
  const fetcher = new FeedFetcher(split, { timeoutMs: 2000, maxBytes: 1024 * 1024 });
  await assert.rejects(fetcher.fetch(`${base}/to-metadata`), /private, loopback or link-local/);
  await assert.rejects(new FeedFetcher(guarded, { timeoutMs: 2000, maxBytes: 1024 * 1024 }).fetch(`${base}/rss`), /private, loopback or link-local/);
  await guarded.close();
  await local.close();
});

test('viewers read feeds but cannot add, change or fetch them; another workspace sees none of them (404)', async () => {
  docs.set('/rss', { type: 'application/rss+xml', body: rss([]) });
  const feedId = (await addFeed({ url: `${base}/rss`, mode: 'draft', accountIds: [account] })).body.id as string;
  const viewer = await member(t, ws, owner, 'viewer');
  assert.equal((await t.call('GET', `${W()}/feeds/${feedId}`, { token: viewer.token })).status, 200);
  assert.equal((await addFeed({ url: `${base}/rss`, mode: 'draft', accountIds: [account] }, viewer.token)).status, 403);
  assert.equal((await t.call('POST', `${W()}/feeds/${feedId}/fetch`, { token: viewer.token })).status, 403);
  assert.equal((await t.call('PATCH', `${W()}/feeds/${feedId}`, { token: viewer.token, body: { paused: true } })).status, 403);

  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Elsewhere');
  for (const [method, path] of [['GET', `/api/workspaces/${theirs}/feeds/${feedId}`], ['GET', `/api/workspaces/${theirs}/feeds/${feedId}/items`], ['POST', `/api/workspaces/${theirs}/feeds/${feedId}/fetch`],
    ['DELETE', `/api/workspaces/${theirs}/feeds/${feedId}`], ['GET', `${W()}/feeds/${feedId}`]] as const) {
    assert.equal((await t.call(method, path, { token: stranger.token })).status, 404, `${method} ${path}`);
  }
  // Nor can it point a feed of its own at this workspace's account.
  const borrowed = await addFeed({ url: `${base}/rss`, mode: 'draft', accountIds: [account] }, stranger.token, theirs);
  assert.equal(borrowed.status, 400);
  assert.match(borrowed.body.message, /No account/);

  const list = await t.call('GET', `${W()}/feeds?limit=2`, { token: owner.token });
  assert.equal(list.body.items.length, 2);
  assert.ok(list.body.nextCursor);
  const paused = await t.call('PATCH', `${W()}/feeds/${feedId}`, { token: owner.token, body: { paused: true } });
  assert.equal(paused.body.status, 'paused');
  assert.equal((await t.call('DELETE', `${W()}/feeds/${feedId}`, { token: owner.token })).status, 204);
  assert.equal((await t.call('GET', `${W()}/feeds/${feedId}`, { token: owner.token })).status, 404);
});
