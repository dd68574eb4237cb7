// Tracked links end to end: the workspace's rules, a post published to the Sandbox network with its
// URLs as short links (the stored post keeps them as written), the redirect (302 to the stored
// destination with UTM parameters, a 404 page for anything else, never a destination from the request),
// clicks counted per link, network and day with bots apart and nothing of the person stored, counts as
// the network counts, and other workspaces kept out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simPosts } from './support/social.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { LinkService } from '../src/modules/links/index.ts';
import { createInvalidationBus } from '../src/infra/stores/invalidation.ts';
import { quietLogger } from './support/env.ts';

const PUBLIC = 'https://go.example.com';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const CRAWLERS = ['Twitterbot/1.0', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)'];
const SHORT_RE = /https:\/\/go\.example\.com\/l\/([0-9A-Za-z]{8})/g;

let t: TestApp;
let owner: Person;
let ws: string;
let W: string;
let sandbox: string;
const sim = () => t.running.simulatorUrl!;
const db = () => t.running.services.db;

before(async () => {
  // X is enabled (never called: its account only has posts counted) to count as X does.
  t = await startTestApp({ PUBLIC_URL: PUBLIC, X_CLIENT_ID: 'links-test' }, 'start');
  owner = await person(t);
  ws = await newWorkspace(t, owner, 'Links');
  W = `/api/workspaces/${ws}`;
  sandbox = await connectSandbox(t, owner.token, ws, 'links-user');
});
after(() => t.stop());

/** Follows a short link on this server without following the redirect. */
const follow = (path: string, ua: string | null = BROWSER, method = 'GET') =>
  fetch(`${t.url}${path}`, { method, redirect: 'manual', headers: ua === null ? {} : { 'user-agent': ua } });

/** Creates a post, labels it, publishes it now and waits; returns its id and what the network got. */
async function publish(text: string, extra: Record<string, unknown> = {}, labelIds: string[] = []): Promise<{ postId: string; sent: { text: string; replyTo?: string }[] }> {
  const before = new Set((await simPosts(sim())).map((p) => p.id));
  const post = await ok(t, 'POST', `${W}/posts`, owner.token, { text, targets: [{ accountId: sandbox, ...extra }] }, 201);
  if (labelIds.length) await ok(t, 'PUT', `${W}/posts/${post.id}/labels`, owner.token, { labelIds });
  await ok(t, 'POST', `${W}/posts/${post.id}/schedule`, owner.token, { now: true });
  const target = await eventually(async () => {
    const p = await ok(t, 'GET', `${W}/posts/${post.id}`, owner.token);
    const tg = p.targets[0];
    return ['published', 'failed', 'unknown'].includes(tg.state) ? tg : undefined;
  }, 30_000, 'the post to be published');
  assert.equal(target.state, 'published', JSON.stringify(target));
  return { postId: post.id, sent: (await simPosts(sim())).filter((p) => !before.has(p.id)) };
}

test('rules: defaults, changes by admins only, a fixed campaign needs its value', async () => {
  const viewer = await member(t, ws, owner, 'viewer');
  assert.deepEqual(await ok(t, 'GET', `${W}/links/settings`, viewer.token), { shorten: false, utmSources: {}, utmMedium: 'social', campaignMode: 'label', utmCampaign: null, utmContent: null });
  await ok(t, 'PUT', `${W}/links/settings`, viewer.token, { shorten: true }, 403);
  const bad = await ok(t, 'PUT', `${W}/links/settings`, owner.token, { campaignMode: 'fixed' }, 400);
  assert.match(bad.message, /fixed campaign needs its value/);
  const set = await ok(t, 'PUT', `${W}/links/settings`, owner.token, { shorten: true, utmSources: { sandbox: 'sandbox-net' }, utmContent: '{network}-post' });
  assert.deepEqual(set, { shorten: true, utmSources: { sandbox: 'sandbox-net' }, utmMedium: 'social', campaignMode: 'label', utmCampaign: null, utmContent: '{network}-post' });
  assert.deepEqual(await ok(t, 'GET', `${W}/links/settings`, viewer.token), set);
});

test('a published post carries short links per network; the stored post keeps its URLs; the redirect adds UTM, keeps the writer\'s', async () => {
  const label = await ok(t, 'POST', `${W}/labels`, owner.token, { name: 'Spring sale', color: '#336699' }, 201);
  const text = 'New in: https://shop.example.com/spring?id=7 and https://shop.example.com/?utm_source=newsletter';
  const { postId, sent } = await publish(text, { firstComment: 'Details: https://shop.example.com/spring?id=7' }, [label.id]);
  const stored = await ok(t, 'GET', `${W}/posts/${postId}`, owner.token);
  assert.equal(stored.text, text, 'the post keeps the URLs as written, for editing');
  const [main, comment] = [sent.find((p) => !p.replyTo)!, sent.find((p) => p.replyTo)!];
  const codes = [...main.text.matchAll(SHORT_RE)].map((m) => m[1]!);
  assert.equal(codes.length, 2, main.text);
  assert.equal(main.text, `New in: ${PUBLIC}/l/${codes[0]} and ${PUBLIC}/l/${codes[1]}`);
  assert.equal(comment.text, `Details: ${PUBLIC}/l/${codes[0]}`, 'the same URL in the same post and network: the same link');

  const first = await follow(`/l/${codes[0]}`);
  assert.equal(first.status, 302);
  assert.equal(first.headers.get('location'), 'https://shop.example.com/spring?id=7&utm_source=sandbox-net&utm_medium=social&utm_campaign=Spring+sale&utm_content=sandbox-post');
  assert.equal(first.headers.get('cache-control'), 'private, no-store');
  const second = await follow(`/l/${codes[1]}`);
  assert.equal(second.headers.get('location'), 'https://shop.example.com/?utm_source=newsletter&utm_medium=social&utm_campaign=Spring+sale&utm_content=sandbox-post', 'the writer\'s utm_source is kept');

  // A retry of the same target makes no new links: the same post, network and URL give the same code.
  const again = await t.running.services.links.forPublish(ws, postId, 'sandbox', { parts: [text] });
  assert.equal(again.parts[0], main.text);
  const list = await ok(t, 'GET', `${W}/links?postId=${postId}`, owner.token);
  assert.equal(list.items.length, 2);
  assert.ok(list.items.every((l: { network: string; postId: string; shortUrl: string }) => l.network === 'sandbox' && l.postId === postId && l.shortUrl.startsWith(`${PUBLIC}/l/`)));
});

test('clicks: counted per link, network and day, bots apart, HEAD not counted, nothing of the person stored', async () => {
  const { sent } = await publish('Counted: https://count.example.com/page');
  const code = [...sent[0]!.text.matchAll(SHORT_RE)][0]![1]!;
  for (let i = 0; i < 3; i++) assert.equal((await follow(`/l/${code}`)).status, 302);
  for (const ua of CRAWLERS) assert.equal((await follow(`/l/${code}`, ua)).status, 302, ua);
  assert.equal((await follow(`/l/${code}`, null)).status, 302, 'no user agent: counted as a bot');
  assert.equal((await follow(`/l/${code}`, BROWSER, 'HEAD')).status, 302);
  await t.running.services.linkClicks.flush();

  const today = new Date().toISOString().slice(0, 10);
  const link = (await ok(t, 'GET', `${W}/links?limit=200`, owner.token)).items.find((l: { code: string }) => l.code === code);
  assert.equal(link.clicks, 3);
  assert.equal(link.botClicks, CRAWLERS.length + 1);
  const perDay = await ok(t, 'GET', `${W}/links/${link.id}/clicks?from=${today}&to=${today}`, owner.token);
  assert.deepEqual(perDay.days, [{ date: today, clicks: 3, botClicks: CRAWLERS.length + 1 }]);
  const overview = await ok(t, 'GET', `${W}/analytics/links?to=${today}`, owner.token);
  assert.equal(overview.days.length, 30);
  assert.deepEqual(overview.days.at(-1), { date: today, clicks: overview.totals.clicks, botClicks: overview.totals.botClicks });
  assert.deepEqual(overview.networks.map((n: { network: string }) => n.network), ['sandbox']);
  assert.ok(overview.totals.clicks >= 3);

  // No column of the links tables can hold a person's address or agent, and no row holds either.
  const columns = await db().execute<{ table_name: string; column_name: string }>(sql`
    select table_name, column_name from information_schema.columns where table_name in ('links', 'link_clicks', 'link_settings')`);
  for (const c of columns.rows) assert.doesNotMatch(c.column_name, /ip|addr|agent|ua|visitor|fingerprint|salt/i, `${c.table_name}.${c.column_name}`);
  const rows = await db().execute<{ r: string }>(sql`
    select row_to_json(l)::text as r from links l where workspace_id = ${ws}
    union all select row_to_json(c)::text from link_clicks c where workspace_id = ${ws}`);
  for (const { r } of rows.rows) {
    for (const secret of ['127.0.0.1', '::1', 'Mozilla', 'Twitterbot', 'Chrome']) assert.ok(!r.includes(secret), `${secret} in ${r}`);
  }
});

test('the redirect answers only stored links: unknown codes and anything else get the 404 page', async () => {
  const link = (await ok(t, 'GET', `${W}/links?limit=1`, owner.token)).items[0];
  const unknown = await follow('/l/Zz9Zz9Zz');
  assert.equal(unknown.status, 404);
  assert.match(unknown.headers.get('content-type')!, /^text\/html/);
  assert.match(await unknown.text(), /Link not found/);
  for (const path of ['/l/https%3A%2F%2Fevil.example.com', '/l/..%2F..%2Fapi', `/l/${link.code}x`, `/l/${link.code.toLowerCase() === link.code ? link.code.toUpperCase() : link.code.toLowerCase()}`, '/l/%2F%2Fevil.example.com']) {
    const r = await follow(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers.get('location'), null, path);
  }
  // Parameters of the request never choose the destination.
  const r = await follow(`/l/${link.code}?url=https://evil.example.com&next=//evil.example.com&redirect=https://evil.example.com`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), link.destination);
});

test('posts are counted with their links as they will be published, as each network counts', async () => {
  const x = randomUUID();
  await db().insert(socialAccounts).values({ id: x, workspaceId: ws, provider: 'x', externalId: x, kind: 'person', username: 'xuser', displayName: 'X' });
  const text = `Read https://shop.example.com/${'a'.repeat(400)}`;
  const counts = async () => {
    const r = await ok(t, 'POST', `${W}/posts/validate`, owner.token, { text, targets: [{ accountId: sandbox }, { accountId: x }] });
    return Object.fromEntries(r.counts.map((c: { provider: string; counts: { length: number }[] }) => [c.provider, c.counts[0]!.length]));
  };
  assert.deepEqual(await counts(), { sandbox: 5 + `${PUBLIC}/l/`.length + 8, x: 5 + 23 }, 'shortening on: Sandbox counts the short link, X any URL as 23');
  await ok(t, 'PUT', `${W}/links/settings`, owner.token, { shorten: false });
  assert.deepEqual(await counts(), { sandbox: text.length, x: 5 + 23 });
  const { sent } = await publish('Off: https://off.example.com/page');
  assert.equal(sent[0]!.text, 'Off: https://off.example.com/page', 'shortening off: the URL goes as written');
  await ok(t, 'PUT', `${W}/links/settings`, owner.token, { shorten: true });
  await db().delete(socialAccounts).where(sql`id = ${x}`);
});

test('the rules are cached per process and dropped everywhere when they change: the next publish uses the new ones', async () => {
  // Another process: its own LinkService and its own subscription to the invalidations, on the same Redis.
  const bus = await createInvalidationBus(t.running.store, t.running.config.REDIS_KEY_PREFIX, quietLogger());
  const other = new LinkService({ db: db(), publicUrl: PUBLIC, metrics: t.running.metrics, bus, campaignOf: async () => null });
  let n = 0;
  /** The destination `other` gives a new link now (a new network each time, so a new link is made). */
  const otherDestination = async (postId: string) => {
    const network = `elsewhere${n++}`;
    const code = [...(await other.forPublish(ws, postId, network, { parts: ['https://medium.example.com/other'] })).parts[0]!.matchAll(SHORT_RE)][0]![1]!;
    return (await follow(`/l/${code}`, null, 'HEAD')).headers.get('location')!;
  };
  const mediumOf = async (text: string) => {
    const { postId, sent } = await publish(text);
    const code = [...sent[0]!.text.matchAll(SHORT_RE)][0]![1]!;
    return { postId, location: (await follow(`/l/${code}`, null, 'HEAD')).headers.get('location')! };
  };
  try {
    await ok(t, 'PUT', `${W}/links/settings`, owner.token, { utmMedium: 'before-change' });
    const first = await mediumOf('Medium: https://medium.example.com/a');
    assert.match(first.location, /utm_medium=before-change/);
    assert.match(await otherDestination(first.postId), /utm_medium=before-change/, 'the other process has the rules cached now');

    await ok(t, 'PUT', `${W}/links/settings`, owner.token, { utmMedium: 'after-change' });
    assert.match((await mediumOf('Medium: https://medium.example.com/b')).location, /utm_medium=after-change/, 'this process: the next publish');
    await eventually(async () => /utm_medium=after-change/.test(await otherDestination(first.postId)), 10_000, 'the other process to drop the old rules');
    // Shortening turned off reaches the other process too.
    await ok(t, 'PUT', `${W}/links/settings`, owner.token, { shorten: false });
    await eventually(async () => (await other.forPublish(ws, first.postId, 'off', { parts: ['https://medium.example.com/c'] })).parts[0] === 'https://medium.example.com/c', 10_000, 'shortening off in the other process');
  } finally {
    await ok(t, 'PUT', `${W}/links/settings`, owner.token, { shorten: true, utmMedium: 'social' });
    await bus.close();
  }
});

test('other workspaces: their links and clicks are not found; members of another workspace see none', async () => {
  const link = (await ok(t, 'GET', `${W}/links?limit=1`, owner.token)).items[0];
  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Theirs');
  await ok(t, 'GET', `/api/workspaces/${theirs}/links/${link.id}/clicks`, stranger.token, undefined, 404);
  assert.deepEqual((await ok(t, 'GET', `/api/workspaces/${theirs}/links`, stranger.token)).items, []);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${theirs}/analytics/links`, stranger.token)).totals.clicks, 0);
  await ok(t, 'GET', `${W}/links`, stranger.token, undefined, 404);
  await ok(t, 'GET', `${W}/links/${link.id}/clicks`, stranger.token, undefined, 404);
  await ok(t, 'GET', `${W}/analytics/links`, stranger.token, undefined, 404);
  await ok(t, 'PUT', `${W}/links/settings`, stranger.token, { shorten: false }, 404);
});
