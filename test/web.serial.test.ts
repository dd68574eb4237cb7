// The web app in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core, against
// an all-in-one AllIN (API, job runner and the in-process network simulator with its Sandbox network)
// on a port chosen here, so that PUBLIC_URL (cookies, the OAuth callback's redirect) is where the
// browser reaches it. Scenarios: sign up and confirm the address through the development outbox,
// connect a Sandbox account, compose a post with an image, schedule it seconds ahead with the date and
// time pickers and see it published with its link, move a post in the calendar (drag, then the
// keyboard's Move dialog); a rejected approval; a revoked session sent back to sign-in. Screenshots of
// the main screens go to test-results/screenshots/. No wall-clock thresholds: Playwright's waiting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { type Locator, type Page } from 'playwright-core';
import { heading, shot, signIn as signInThroughUi, startBrowserApp, WAIT, type BrowserApp } from './support/browser.ts';
import { APP_CSP, APP_PATHS, webAppRoutes } from '../src/modules/web/routes.ts';
import { countText } from '../src/providers/text.ts';
import { strongPassword, uniqueEmail, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simPosts } from './support/social.ts';
import { createServer as createHttpServer, type Server } from 'node:http';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { ROOT } from './support/process.ts';
import { codeAt, TOTP_PERIOD_SECONDS } from '../src/modules/auth/totp.ts';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let app: TestApp;
// A simulator of its own for Bluesky (the app's embedded one starts with the app, after its settings).
let networks: Simulator;
let site: Server;
let web: BrowserApp;

function newPage(viewport = { width: 1280, height: 900 }, locale = 'en-GB'): Promise<Page> {
  return web.newPage({ viewport, locale });
}

/** Whether the page can still load an image from an object URL (a revoked one no longer loads). An
 *  image, not fetch: the app's CSP lets images, not connections, use blob: URLs. */
const blobAlive = (page: Page, url: string) => page.evaluate<boolean>(`new Promise((resolve) => {
  const img = new Image();
  img.onload = () => resolve(true);
  img.onerror = () => resolve(false);
  img.src = ${JSON.stringify(url)};
})`);

/** Waits until a composer counter reads `n` (of the network's maximum). */
async function counterShows(counter: Locator, n: number): Promise<void> {
  await eventually(async () => (await counter.innerText()).trim().split(/\s/)[0] === String(n), WAIT, `the counter to show ${n}`);
}

/** The mailed link of the newest mail to `to` whose text contains `path`. */
async function mailedLink(to: string, path: string): Promise<string> {
  return eventually(async () => {
    const r = await app.call('GET', `/api/dev/mail?to=${encodeURIComponent(to)}`);
    for (const m of r.body.mail as { text: string }[]) {
      const hit = new RegExp(`https?://\\S+${path}#token=[A-Za-z0-9_%-]+`).exec(m.text);
      if (hit) return hit[0];
    }
    return undefined;
  }, WAIT, `a mail to ${to} with ${path}`);
}

before(async () => {
  networks = await startSimulator();
  // A web page with a card, which the composer previews for Bluesky (the app may reach 127.0.0.1 here).
  site = createHttpServer((req, res) => {
    if (req.url === '/story') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<head><meta property="og:title" content="A story worth a card"><meta property="og:description" content="Told on a page of its own"><meta property="og:image" content="/dot.png"></head>');
    if (req.url === '/dot.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  web = await startBrowserApp({ role: 'start', env: { BLUESKY_SERVICE_URL: networks.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true' } });
  app = web.app;
  assert.equal(app.url, web.url);
});

after(async () => {
  await web?.stop();
  await networks?.stop();
  site?.closeAllConnections();
  site?.close();
});

test('the server: the page under a strict CSP at / and the app paths, immutable assets, JSON 404 elsewhere', async () => {
  const root = await fetch(`${app.url}/`);
  assert.equal(root.status, 200);
  assert.match(root.headers.get('content-type')!, /^text\/html/);
  assert.equal(root.headers.get('cache-control'), 'no-cache');
  assert.equal(root.headers.get('content-security-policy'), APP_CSP);
  assert.match(APP_CSP, /script-src 'self'(;|$)/);
  const html = await root.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const js = await fetch(`${app.url}${asset}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type')!, /javascript/);
  for (const p of ['/sign-in', '/posts/4d1f7a52-0000-4000-8000-000000000000', '/settings/webhooks', '/verify-email']) {
    const r = await fetch(`${app.url}${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-security-policy'), APP_CSP, p);
  }
  for (const p of ['/no/such/page', '/api/nothing-here', '/docsx']) {
    const r = await fetch(`${app.url}${p}`);
    assert.equal(r.status, 404, p);
    assert.equal(((await r.json()) as { code: string }).code, 'NOT_FOUND', p);
  }
  assert.equal((await fetch(`${app.url}/api/health`)).status, 200);
  assert.equal((await fetch(`${app.url}/docs`, { redirect: 'manual' })).status < 400, true);

  // Every route of the app's router is answered by the server (and nothing the server owns is taken).
  const router = readFileSync(join(ROOT, 'web', 'src', 'router.ts'), 'utf8');
  const firstSegments = new Set([...router.matchAll(/^\s+\w+: '\/([a-z-]*)/gm)].map((m) => m[1]!).filter(Boolean));
  assert.deepEqual([...firstSegments].sort(), [...APP_PATHS].sort());
  for (const p of APP_PATHS) assert.ok(!['api', 'docs', 'media', 'metrics', 'health', '.well-known'].includes(p));
});

test('the server without a built app: / points to the API documentation', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'allin-no-web-'));
  const f = Fastify();
  try {
    await f.register(webAppRoutes, { dir: empty, version: 'test' });
    const r = await f.inject({ url: '/' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().docs, '/docs');
    assert.match(r.json().message, /web app/);
    assert.equal((await f.inject({ url: '/sign-in' })).statusCode, 404);
  } finally {
    await f.close();
    rmSync(empty, { recursive: true, force: true });
  }
});

test('sign up, confirm, connect Sandbox, compose with an image, schedule it seconds ahead, see it published; move a post in the calendar', async () => {
  const page = await newPage();
  const email = uniqueEmail('web');
  const password = strongPassword();

  // Signed out: the app sends the visitor to sign-in.
  await page.goto('/');
  await heading(page, 'Sign in').waitFor();
  await shot(page, '01-sign-in');

  await page.getByRole('link', { name: 'Create an account' }).click();
  await heading(page, 'Create your account').waitFor();
  await page.getByLabel('Your name').fill('Robin Web');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await shot(page, '02-sign-up');
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Check your inbox').waitFor();

  // The development outbox shows the mail; its link confirms the address.
  await page.getByRole('link', { name: 'open the development mail outbox' }).click();
  await heading(page, 'Development mail outbox').waitFor();
  await page.getByRole('heading', { name: 'Confirm your email address for AllIN' }).waitFor();
  await shot(page, '03-dev-mail');
  await page.getByRole('link', { name: /\/verify-email#token=/ }).click();
  await page.getByText('Your email address is confirmed.').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');
  await shot(page, '04-verified');

  await page.getByRole('link', { name: 'Sign in' }).click();
  await heading(page, 'Sign in').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await heading(page, 'Create your first workspace').waitFor();
  await page.getByLabel('Workspace name').fill('Web test workspace');
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await heading(page, 'Posts').waitFor();
  await page.getByText('No posts yet.').waitFor();

  // Connect: the browser goes to the simulator's consent page and comes back to /accounts?connected=…
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Accounts' }).click();
  await heading(page, 'Accounts').waitFor();
  // Focus moves to the new screen's heading, for keyboard and screen reader users.
  // Polled from here: waitForFunction's own polling evaluates a string, which the app's CSP refuses.
  await eventually(async () => (await page.evaluate("document.activeElement?.id")) === 'page-title', WAIT, 'focus on the heading', 50);
  await page.getByText('No account is connected yet.').waitFor();
  await page.getByRole('button', { name: 'Connect Sandbox' }).click();
  await page.getByText('Sandbox account connected.').waitFor();
  await page.waitForURL((u) => u.pathname === '/accounts' && u.search === '');
  const accounts = page.getByRole('list', { name: 'Connected accounts' });
  await accounts.getByText('Connected', { exact: true }).waitFor();
  await shot(page, '05-accounts');

  // Compose.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compose' }).click();
  await heading(page, 'Compose').waitFor();
  const chosen = page.getByRole('group', { name: 'Post to' }).getByRole('checkbox');
  // The accounts load after the heading: wait for the choice to be there before counting.
  await chosen.first().waitFor();
  assert.equal(await chosen.count(), 1);
  await eventually(async () => chosen.isChecked(), WAIT, 'the only account to be chosen');
  const text = 'Hello from the AllIN web test 🚀 with a link https://example.com/a/long/path and é';
  await page.getByLabel('Text', { exact: true }).fill(text);
  // The counter counts as the Sandbox network counts (Unicode code points), with the server's code.
  await counterShows(page.locator('#counts-text .counter-value'), countText('unicode', text));
  assert.notEqual(countText('unicode', text), text.length, 'the emoji makes code points differ from UTF-16 units');
  await page.getByLabel('Add images or videos').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: PNG });
  await page.getByRole('img', { name: 'Preview of pixel.png' }).waitFor();
  // The preview is the local file, as an object URL the composer must give back when it is done with it.
  const preview = await page.getByRole('img', { name: 'Preview of pixel.png' }).getAttribute('src');
  assert.match(preview ?? '', /^blob:/);
  assert.equal(await blobAlive(page, preview!), true);
  await page.getByLabel('Alt text for item 1').fill('A single blue pixel');
  await page.getByLabel('Alt text for item 1').blur();
  // A second image, removed again: its preview is released at once.
  await page.getByLabel('Add images or videos').setInputFiles({ name: 'second.png', mimeType: 'image/png', buffer: PNG });
  const secondPreview = await page.getByRole('img', { name: 'Preview of second.png' }).getAttribute('src');
  await page.getByLabel('Alt text for item 2').waitFor();
  await page.getByRole('button', { name: 'Remove second.png' }).click();
  await page.getByRole('img', { name: 'Preview of second.png' }).waitFor({ state: 'detached' });
  assert.equal(await blobAlive(page, secondPreview!), false, 'a removed upload\'s preview is revoked');
  assert.equal(await blobAlive(page, preview!), true, 'the other upload keeps its preview');
  // A thread part, with its own counter.
  await page.getByRole('button', { name: 'Add a thread part' }).click();
  await page.getByLabel('Thread part 2', { exact: true }).fill('And a second part.');
  await counterShows(page.locator('.counters').nth(1).locator('.counter-value'), countText('unicode', 'And a second part.'));

  // When: a few seconds from now, in a chosen zone, through the date and time pickers.
  await page.getByLabel('At a date and time').check();
  const zone = 'Europe/Berlin';
  await page.getByLabel('Time zone').selectOption(zone);
  const at = new Date(Date.now() + 8_000);
  const local = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    .formatToParts(at).reduce<Record<string, string>>((o, p) => ({ ...o, [p.type]: p.value }), {});
  await page.getByLabel('Date', { exact: true }).fill(`${local.year}-${local.month}-${local.day}`);
  await page.getByLabel('Time', { exact: true }).fill(`${local.hour}:${local.minute}:${local.second}`);
  await shot(page, '06-composer');
  await page.getByRole('button', { name: 'Schedule', exact: true }).click();

  // The post's page follows it until it is out, with the link to it.
  await heading(page, 'Post').waitFor();
  // The composer is gone, and with it the previews of its uploads.
  assert.equal(await blobAlive(page, preview!), false, 'the composer revokes its previews when it goes');
  const postId = new URL(page.url()).pathname.split('/').pop()!;
  const link = page.getByRole('link', { name: /View the published post on Sandbox/ });
  await link.waitFor({ timeout: 120_000 });
  await page.getByRole('status').filter({ hasText: 'Published' }).first().waitFor();
  const href = await link.getAttribute('href');
  assert.ok(href?.startsWith(app.running.simulatorUrl!), href ?? 'no href');
  const published = await simPosts(app.running.simulatorUrl!);
  assert.ok(published.some((p) => p.text === text), 'the simulator has the post');
  assert.ok(published.some((p) => p.text === 'And a second part.' && p.replyTo), 'and its thread part, as a reply');
  await page.getByRole('img', { name: 'Medium 1 of the post' }).waitFor();
  await shot(page, '07-post-published');

  // The calendar shows it; a scheduled post moves by drag and drop, and back with the Move dialog.
  const token = (await app.login(email, password)).accessToken as string;
  const me = await app.call('GET', '/api/auth/me', { token });
  const ws = me.body.workspaces[0].id as string;
  const accountId = (await app.call('GET', `/api/workspaces/${ws}/accounts`, { token })).body.accounts[0].id as string;
  // A Wednesday at least a day ahead, so that Thursday is in the same week.
  const day = new Date();
  day.setUTCDate(day.getUTCDate() + 1);
  while (day.getUTCDay() !== 3) day.setUTCDate(day.getUTCDate() + 1);
  const wed = day.toISOString().slice(0, 10);
  const thu = new Date(day.getTime() + 86_400_000).toISOString().slice(0, 10);
  const created = await app.call('POST', `/api/workspaces/${ws}/posts`, {
    token, body: { text: 'Calendar mover', targets: [{ accountId }], schedule: { localTime: `${wed}T10:30`, timeZone: 'UTC' } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await page.goto(`/calendar?date=${wed}`);
  await heading(page, 'Calendar').waitFor();
  const wedCell = page.locator(`section[data-date="${wed}"]`);
  const thuCell = page.locator(`section[data-date="${thu}"]`);
  const item = wedCell.locator('li.calendar-item', { hasText: 'Calendar mover' });
  await item.waitFor();
  await shot(page, '08-calendar-week');
  await item.dragTo(thuCell);
  await thuCell.locator('li.calendar-item', { hasText: 'Calendar mover' }).waitFor();
  let moved = await app.call('GET', `/api/workspaces/${ws}/posts/${created.body.id}`, { token });
  assert.equal(moved.body.schedule.publishAt, `${thu}T10:30:00.000Z`);
  // The keyboard way: Move, a date and a time.
  await thuCell.getByRole('button', { name: /Move the 10:30 post/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Move post' });
  await dialog.getByLabel('New date').fill(wed);
  await dialog.getByLabel('New time').fill('11:15');
  await shot(page, '09-calendar-move-dialog');
  await dialog.getByRole('button', { name: 'Move', exact: true }).click();
  await wedCell.locator('li.calendar-item', { hasText: 'Calendar mover' }).getByText('11:15').waitFor();
  moved = await app.call('GET', `/api/workspaces/${ws}/posts/${created.body.id}`, { token });
  assert.equal(moved.body.schedule.publishAt, `${wed}T11:15:00.000Z`);
  // A post to two networks: the Move dialog can move one of them alone.
  const secondAccount = await connectSandbox(app, token, ws, 'calendar-second');
  const pair = await app.call('POST', `/api/workspaces/${ws}/posts`, {
    token, body: { text: 'Two networks', targets: [{ accountId }, { accountId: secondAccount }], schedule: { localTime: `${wed}T14:00`, timeZone: 'UTC' } },
  });
  assert.equal(pair.status, 201, JSON.stringify(pair.body));
  await page.reload();
  await wedCell.locator('li.calendar-item', { hasText: 'Two networks' }).nth(1).waitFor();
  await wedCell.getByRole('button', { name: /Move the 14:00 post “Two networks/ }).first().click();
  await dialog.getByText('This post goes to 2 networks.').waitFor();
  await dialog.getByLabel('Only Sandbox').check();
  await dialog.getByLabel('New time').fill('16:45');
  await shot(page, '09b-calendar-move-one-network');
  await dialog.getByRole('button', { name: 'Move', exact: true }).click();
  await wedCell.locator('li.calendar-item', { hasText: 'Two networks' }).getByText('16:45').waitFor();
  const split = (await app.call('GET', `/api/workspaces/${ws}/posts/${pair.body.id}`, { token })).body.targets.map((x: { publishAt: string }) => x.publishAt).sort();
  assert.deepEqual(split, [`${wed}T14:00:00.000Z`, `${wed}T16:45:00.000Z`], 'one network moved, the other kept its time');
  assert.equal((await app.call('DELETE', `/api/workspaces/${ws}/accounts/${secondAccount}`, { token })).status, 200);
  await page.getByRole('button', { name: 'Month' }).click();
  await page.waitForURL(/view=month/);
  await shot(page, '10-calendar-month');

  // Bluesky shows a link as a card only when the poster builds it: the composer previews it.
  const bsky = await app.call('POST', `/api/workspaces/${ws}/accounts/credentials`, { token, body: { provider: 'bluesky', identifier: 'webcard.bsky.test', password: 'abcd-efgh-ijkl-mnop' } });
  assert.equal(bsky.status, 201, JSON.stringify(bsky.body));
  const bskyId = bsky.body.accounts[0].id as string;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compose' }).click();
  await heading(page, 'Compose').waitFor();
  await page.getByRole('group', { name: 'Post to' }).getByLabel(/Bluesky/).check();
  const storyUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/story`;
  await page.getByLabel('Text', { exact: true }).fill(`Worth reading: ${storyUrl}`);
  await page.getByRole('tab', { name: /Bluesky/ }).click();
  const card = page.getByRole('figure', { name: 'Link card preview' });
  await card.getByText('A story worth a card').waitFor();
  await card.getByText('Told on a page of its own').waitFor();
  assert.match(await card.locator('img').getAttribute('src') ?? '', /^data:image\/png;base64,/, 'the thumbnail that will be uploaded');
  await shot(page, '10b-composer-link-card');
  await page.getByLabel('Show the first link as a card').uncheck();
  await card.waitFor({ state: 'detached' });
  assert.equal((await app.call('DELETE', `/api/workspaces/${ws}/accounts/${bskyId}`, { token })).status, 200);

  // Bulk upload: a CSV checked line by line (nothing is made while a line is wrong), then scheduled.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Posts' }).click();
  await page.getByRole('link', { name: 'Bulk upload' }).click();
  await heading(page, 'Bulk upload').waitFor();
  await page.getByLabel('Or paste the CSV').fill('time,text\n2027-10-01 09:00,Bulk one\nsoon,Bulk two');
  await page.getByRole('group', { name: 'Post every line to' }).getByLabel(/Sandbox/).check();
  await page.getByLabel('Time zone of the times').selectOption('UTC');
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByRole('alert').filter({ hasText: /line 3: "soon" is not a time/ }).waitFor();
  await page.getByLabel('Or paste the CSV').fill('time,text\n2027-10-01 09:00,Bulk one\n2027-10-02 09:00,"Bulk two, with a comma"');
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByRole('status').filter({ hasText: 'All 2 lines can be scheduled' }).waitFor();
  await shot(page, '10c-bulk-upload-checked');
  await page.getByRole('button', { name: 'Schedule all' }).click();
  await heading(page, 'Posts').waitFor();
  await page.getByText('2 posts scheduled.').waitFor();
  const listed = (await app.call('GET', `/api/workspaces/${ws}/posts?limit=50`, { token })).body.posts as { text: string; status: string }[];
  assert.deepEqual(listed.filter((x) => x.text.startsWith('Bulk ')).map((x) => [x.text, x.status]).sort(), [['Bulk one', 'scheduled'], ['Bulk two, with a comma', 'scheduled']]);

  // Time slots (Settings), then the queue: reorder with the keyboard's Move down, and back by dragging.
  await page.goto('/settings/slots');
  await heading(page, 'Settings: Time slots').waitFor();
  await page.getByRole('button', { name: 'Add a slot' }).click();
  await page.getByRole('button', { name: 'Add a slot' }).click();
  await page.getByLabel('Day of slot 2').selectOption({ label: 'Thursday' });
  await page.getByLabel('Time of slot 2').fill('15:00');
  await page.getByRole('button', { name: 'Save slots' }).click();
  await page.getByText('Time slots saved.').waitFor();
  await page.getByText(/Next free slots:/).waitFor();
  await shot(page, '11-settings-slots');
  const queued: string[] = [];
  for (const t of ['Queue one', 'Queue two']) {
    const r = await app.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text: t, targets: [{ accountId }], schedule: { queue: true } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    queued.push(r.body.id as string);
  }
  const queueOrder = async () => ((await app.call('GET', `/api/workspaces/${ws}/accounts/${accountId}/queue`, { token })).body.targets as { postId: string }[]).map((x) => x.postId);
  assert.deepEqual(await queueOrder(), queued);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queue' }).click();
  await heading(page, 'Queue').waitFor();
  const queueItems = page.getByRole('list', { name: 'Queued posts, in order' }).getByRole('listitem');
  await queueItems.nth(1).getByText('Queue two').waitFor();
  await page.getByRole('button', { name: 'Move down: Queue one' }).click();
  await page.getByText('Moved to position 2 of 2.').waitFor();
  await eventually(async () => JSON.stringify(await queueOrder()) === JSON.stringify([queued[1], queued[0]]), WAIT, 'the new queue order');
  await queueItems.nth(0).getByText('Queue two').waitFor();
  await shot(page, '12-queue');
  await queueItems.nth(1).dragTo(queueItems.nth(0));
  await eventually(async () => JSON.stringify(await queueOrder()) === JSON.stringify(queued), WAIT, 'the order back after dragging');
  await queueItems.nth(0).getByText('Queue one').waitFor();

  // A post the network refuses (Sandbox wants text; AllIN's rules let an image go alone): the error in the
  // network's words, and Retry.
  const form = new FormData();
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'alone.png');
  const upload = await fetch(`${app.url}/api/workspaces/${ws}/media`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  assert.equal(upload.status, 201);
  const mediaId = ((await upload.json()) as { id: string }).id;
  const refused = await app.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text: '', mediaIds: [mediaId], targets: [{ accountId }], schedule: { now: true } } });
  assert.equal(refused.status, 201, JSON.stringify(refused.body));
  await page.goto(`/posts/${refused.body.id}`);
  const failedCard = page.getByRole('listitem', { name: /^Sandbox/ });
  await failedCard.locator('.error-note').getByText(/text must be 1 to 1000 characters/).waitFor({ timeout: 60_000 });
  await failedCard.locator('.target-head').getByText('Failed', { exact: true }).waitFor();
  await shot(page, '15-post-failed');
  await failedCard.getByRole('button', { name: /^Retry/ }).click();
  await page.getByText('1 target goes out again.').waitFor();

  // API keys (the key shown once), and an API refusal shown in its own words (a webhook URL with a password;
  // loopback addresses are allowed in this run, for the link card above, and refused in webhooks.test.ts).
  await page.goto('/settings/api-keys');
  await heading(page, 'Settings: API keys').waitFor();
  await page.getByLabel('Name').fill('CMS publisher');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('.secret-value').filter({ hasText: /^allin_/ }).waitFor();
  await shot(page, '13-settings-api-keys');
  await page.goto('/settings/webhooks');
  await heading(page, 'Settings: Webhooks').waitFor();
  await page.getByLabel('URL').fill('https://cms:hunter2@example.com/hook');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  await page.getByRole('alert').filter({ hasText: /must not carry a user name or password/i }).waitFor();
  await shot(page, '14-settings-webhooks-refused');
  await page.goto('/settings/audit');
  await page.getByRole('cell', { name: 'apikey.created' }).waitFor();
  await shot(page, '15b-settings-audit');

  // The post list, and the app on a phone-sized screen.
  await page.goto(`/posts/${postId}`);
  await heading(page, 'Post').waitFor();
  // (In American English, where a short date reads "Mon, Dec 7": the calendar's weekday headings are
  // the weekday alone.)
  const phone = await newPage({ width: 390, height: 844 }, 'en-US');
  await signInThroughUi(phone, email, password);
  await heading(phone, 'Posts').waitFor();
  await phone.getByText('Calendar mover').waitFor();
  await shot(phone, '16-phone-posts');
  await phone.goto(`/calendar?date=${wed}`);
  await phone.locator(`section[data-date="${wed}"]`).waitFor();
  assert.deepEqual(await phone.locator('.calendar-weekday').allTextContents(), ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
  await phone.getByRole('button', { name: 'Menu' }).click();
  await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compose' }).click();
  await heading(phone, 'Compose').waitFor();
  await shot(phone, '17-phone-composer');
});

test('a rejected approval: the editor submits, an admin rejects with a comment, the editor finds it back in drafts with it', async () => {
  const owner = await app.user({ name: 'Olivia Owner' });
  const editor = await app.user({ name: 'Eddie Editor' });
  const ownerToken = (await app.login(owner.email, owner.password)).accessToken as string;
  const ws = await app.call('POST', '/api/workspaces', { token: ownerToken, body: { name: 'Approval workspace' } });
  const wsId = ws.body.id as string;
  assert.equal((await app.call('PATCH', `/api/workspaces/${wsId}`, { token: ownerToken, body: { settings: { requireApproval: true } } })).status, 200);
  await connectSandbox(app, ownerToken, wsId, 'approval-user');
  assert.equal((await app.call('POST', `/api/workspaces/${wsId}/invitations`, { token: ownerToken, body: { email: editor.email, role: 'editor' } })).status, 201);
  const invitation = await mailedLink(editor.email, '/invitations');

  // The editor signs in, follows the mailed invitation and accepts it.
  const ed = await newPage();
  await signInThroughUi(ed, editor.email, editor.password);
  await heading(ed, 'Create your first workspace').waitFor();
  await ed.goto(invitation.replace(/^https?:\/\/[^/]+/, ''));
  await heading(ed, 'Invitation').waitFor();
  // What it offers is shown before accepting.
  await ed.getByText(/invited .* to Approval workspace as editor\./).waitFor();
  await ed.getByRole('button', { name: 'Accept the invitation' }).click();
  await heading(ed, 'Posts').waitFor();
  await ed.getByText('You joined Approval workspace as editor.').waitFor();

  await ed.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compose' }).click();
  await heading(ed, 'Compose').waitFor();
  await ed.getByLabel('Text', { exact: true }).fill('Our spring launch is here');
  await ed.getByText('This workspace requires approval').waitFor();
  await ed.getByRole('button', { name: 'Submit for approval' }).click();
  await heading(ed, 'Post').waitFor();
  await ed.getByRole('status').filter({ hasText: 'Waiting for approval' }).waitFor();
  await shot(ed, '18-editor-submitted');

  // The owner rejects it with a comment.
  const ad = await newPage();
  await signInThroughUi(ad, owner.email, owner.password);
  await heading(ad, 'Posts').waitFor();
  await ad.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
  await heading(ad, 'Approvals').waitFor();
  const waiting = ad.getByRole('list', { name: 'Posts waiting for approval' });
  await waiting.getByText('Our spring launch is here').waitFor();
  await ad.getByText('Submitted by Eddie Editor').waitFor();
  await shot(ad, '19-approvals');
  await ad.getByRole('button', { name: /^Reject/ }).click();
  const dialog = ad.getByRole('dialog', { name: 'Reject post' });
  await dialog.getByLabel('What should change?').fill('Mention the date of the launch, please.');
  await shot(ad, '20-reject-dialog');
  await dialog.getByRole('button', { name: 'Reject', exact: true }).click();
  await ad.getByText('Nothing is waiting for approval.').waitFor();

  // The editor finds it among the drafts, with the comment.
  await ed.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Posts' }).click();
  await heading(ed, 'Posts').waitFor();
  await ed.getByRole('button', { name: 'Drafts' }).click();
  const row = ed.getByRole('list', { name: 'Posts' }).getByRole('listitem').filter({ hasText: 'Our spring launch is here' });
  await row.getByText('Mention the date of the launch, please.').waitFor();
  await row.getByText('Draft', { exact: true }).waitFor();
  await shot(ed, '21-editor-drafts');
  await row.getByRole('link').click();
  await heading(ed, 'Post').waitFor();
  await ed.getByText('Changes requested').waitFor();
  await ed.getByRole('link', { name: 'Edit', exact: true }).click();
  await heading(ed, 'Edit post').waitFor();
  await ed.getByText('Mention the date of the launch, please.').waitFor();

  // The owner's view of the team.
  await ad.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
  await heading(ad, 'Members').waitFor();
  await ad.getByRole('cell', { name: 'Eddie Editor', exact: true }).waitFor();
  assert.equal(await ad.getByLabel('Role of Eddie Editor').inputValue(), 'editor');
  await shot(ad, '22-members');
});

test('a revoked session: the app\'s next call cannot refresh, and it shows sign-in', async () => {
  const user = await app.user({ name: 'Sam Session' });
  const token = (await app.login(user.email, user.password)).accessToken as string;
  await app.call('POST', '/api/workspaces', { token, body: { name: 'Session workspace' } });

  const a = await newPage();
  await signInThroughUi(a, user.email, user.password);
  await heading(a, 'Posts').waitFor();

  // A second browser signs in and revokes the first from its Security screen.
  const b = await newPage();
  await signInThroughUi(b, user.email, user.password);
  await heading(b, 'Posts').waitFor();
  await b.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(b, 'Security').waitFor();
  const sessions = b.getByRole('list', { name: 'Sessions' }).getByRole('listitem');
  await eventually(async () => (await sessions.count()) === 3, WAIT, 'three sessions (two browsers and the API)');
  await shot(b, '23-security');
  const sessionsNow = await app.call('GET', '/api/auth/sessions', { token });
  const browserA = (sessionsNow.body.sessions as { id: string; current: boolean; userAgent: string | null; createdAt: string }[])
    .filter((s) => !s.current && /Chrom/.test(s.userAgent ?? '')).sort((x, y) => x.createdAt.localeCompare(y.createdAt))[0]!;
  await b.locator(`li[data-session="${browserA.id}"]`).getByRole('button', { name: /^Sign out/ }).click();
  await b.getByText('That session is signed out.').waitFor();

  // B picks a time zone of its own on the same screen; the server has it.
  await b.getByLabel('Your time zone').selectOption('Asia/Tokyo');
  await b.getByRole('button', { name: 'Save profile' }).click();
  await b.getByText('Profile saved.').waitFor();
  assert.equal((await app.call('GET', '/api/auth/me', { token })).body.timeZone, 'Asia/Tokyo');

  // A's next call: 401, the refresh is refused, back to sign-in with the reason.
  await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calendar' }).click();
  await heading(a, 'Sign in').waitFor();
  await a.getByText('This session was signed out. Sign in again.').waitFor();
  await shot(a, '24-signed-out');
  // And B goes on working. Its access token "expires" (the next calendar call answers 401 once): the app
  // refreshes through the cookie once and replays the call, and the calendar shows.
  let refused = 0;
  let refreshes = 0;
  await b.route('**/api/workspaces/*/calendar?*', async (route) => {
    if (refused++ === 0) {
      await route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ statusCode: 401, code: 'TOKEN_EXPIRED', message: 'The access token has expired; refresh it', requestId: 'test' }) });
    } else await route.continue();
  });
  b.on('request', (r) => { if (r.url().endsWith('/api/auth/refresh')) refreshes++; });
  await b.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calendar' }).click();
  await heading(b, 'Calendar').waitFor();
  await b.getByText('Nothing is scheduled or published in this week.').waitFor();
  assert.equal(refused, 2, 'refused once, then replayed');
  assert.equal(refreshes, 1, 'one refresh');
  assert.equal(new URL(b.url()).pathname, '/calendar');
});

test('two-step verification: set up an authenticator app on the Security screen, then sign in with its code, or a recovery code', async () => {
  const user = await app.user({ name: 'Tess Two-Step' });
  const token = (await app.login(user.email, user.password)).accessToken as string;
  await app.call('POST', '/api/workspaces', { token, body: { name: 'Two-step workspace' } });

  const a = await newPage();
  await signInThroughUi(a, user.email, user.password);
  await heading(a, 'Posts').waitFor();
  await a.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(a, 'Security').waitFor();
  await a.getByLabel('Your password').fill(user.password);
  await a.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await a.getByRole('img', { name: 'QR code of the authenticator key' }).waitFor();
  const secret = (await a.locator('code.secret-key').innerText()).trim();
  // The app's clock is the real one here: the code of this step confirms, the next step's (one step of
  // drift, accepted) signs in below, so no code is used twice whatever the step boundaries.
  await a.getByLabel('The 6-digit code the app shows').fill(codeAt(secret, Date.now()));
  await a.getByRole('button', { name: 'Turn on' }).click();
  const codes = a.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await eventually(async () => (await codes.count()) === 10, WAIT, 'ten recovery codes');
  const recovery = (await codes.first().innerText()).trim();
  await shot(a, '25-two-step-recovery-codes');
  await a.getByRole('button', { name: 'I have saved them' }).click();
  await a.getByText(/Authenticator app on since/).waitFor();

  // Another browser: the password, then the code.
  const b = await newPage();
  await signInThroughUi(b, user.email, user.password);
  await heading(b, 'Two-step verification').waitFor();
  await shot(b, '26-two-step-sign-in');
  await b.getByLabel('Code from your authenticator app').fill(codeAt(secret, Date.now() + TOTP_PERIOD_SECONDS * 1000));
  await b.getByRole('button', { name: 'Verify' }).click();
  await heading(b, 'Posts').waitFor();
  await b.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(b, 'Security').waitFor();
  await b.getByText(/with password \+ authenticator app/).first().waitFor();

  // A third: a recovery code instead, which then works no more.
  const c = await newPage();
  await signInThroughUi(c, user.email, user.password);
  await heading(c, 'Two-step verification').waitFor();
  await c.getByRole('button', { name: 'Lost your phone? Use a recovery code' }).click();
  await c.getByLabel('Recovery code').fill(recovery);
  await c.getByRole('button', { name: 'Verify' }).click();
  await heading(c, 'Posts').waitFor();
  const again = await app.call('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
  const reused = await app.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: again.body.challengeToken, recoveryCode: recovery } });
  assert.equal(reused.status, 401);
});

test('an agency\'s calendar: a month shows each day\'s first few and "+N more", the day pages by "Load more", a week stays small; long tasks printed', async () => {
  const owner = await app.user({ name: 'Agnes Agency' });
  const token = (await app.login(owner.email, owner.password)).accessToken as string;
  const ws = (await app.call('POST', '/api/workspaces', { token, body: { name: 'Agency workspace' } })).body.id as string;
  const acc1 = await connectSandbox(app, token, ws, 'agency-one');
  const acc2 = await connectSandbox(app, token, ws, 'agency-two');
  // A Wednesday about five weeks ahead: its month, the whole month view's grid included, is in the future.
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 35);
  while (d.getUTCDay() !== 3) d.setUTCDate(d.getUTCDate() + 1);
  const busy = d.toISOString().slice(0, 10);
  const dayOf = (n: number) => new Date(d.getTime() + n * 86_400_000).toISOString().slice(0, 10);
  const week = [-2, -1, 1, 2, 3, 4].map(dayOf);
  const month = busy.slice(0, 7);
  const rest: string[] = [];
  for (let n = -40; n <= 40; n++) if (dayOf(n).startsWith(month) && (n < -2 || n > 4)) rest.push(dayOf(n));
  const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
  // Every row goes to both accounts (two targets a row), by the bulk upload, 350 rows at most an upload.
  const upload = async (rows: string[]) => {
    for (let i = 0; i < rows.length; i += 350) {
      const r = await app.call('POST', `/api/workspaces/${ws}/posts/bulk`, { token, body: { csv: `time,text\n${rows.slice(i, i + 350).join('\n')}`, accountIds: [acc1, acc2], timeZone: 'UTC' } });
      assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 500));
    }
  };
  // The busy day: 350 posts, 700 targets; the rest of its week 25 posts a day (1,000 targets in the week);
  // the other days of the month 2,000 posts between them (about 5,000 targets in the month).
  await upload(Array.from({ length: 350 }, (_, i) => `${busy} ${hhmm(i * 4)},Agency post ${i}`));
  await upload(week.flatMap((day) => Array.from({ length: 25 }, (_, i) => `${day} ${hhmm(60 + i * 50)},Week post ${day} ${i}`)));
  const perRest = Math.ceil(2000 / rest.length);
  await upload(rest.flatMap((day) => Array.from({ length: perRest }, (_, i) => `${day} ${hhmm(i * Math.floor(1440 / perRest))},Month post ${day} ${i}`)).slice(0, 2000));
  const monthTargets = 700 + 2 * 25 * week.filter((x) => x.startsWith(month)).length + 4000;

  const page = await newPage();
  // The main thread's long tasks (> 50 ms), from the page's first script on, read and reset phase by phase.
  await page.addInitScript(`window.longTasks = [];
    if (PerformanceObserver.supportedEntryTypes.includes('longtask')) {
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
    }`);
  const longTasks = async (what: string) => {
    const { supported, tasks, items } = await page.evaluate<{ supported: boolean; tasks: number[]; items: number }>(`({
      supported: PerformanceObserver.supportedEntryTypes.includes('longtask'),
      tasks: window.longTasks.splice(0),
      items: document.querySelectorAll('li.calendar-item').length,
    })`);
    const total = tasks.reduce((a, b) => a + b, 0);
    console.log(`# ${what}: ${supported ? `${tasks.length} long tasks, ${Math.round(total)} ms in all (longest ${Math.round(Math.max(0, ...tasks))} ms)` : 'long tasks not observable in this browser'}; ${items} posts rendered`);
    return items;
  };
  await signInThroughUi(page, owner.email, owner.password);
  await heading(page, 'Posts').waitFor();
  // Settled: nothing still loading (not 'networkidle': the inbox's events stream stays open on every screen).
  await eventually(async () => (await page.locator('.loading').count()) === 0, WAIT, 'nothing still loading', 50);
  await longTasks('the app\'s start and sign-in (for scale)');

  // The month, opened inside the running app (its router follows history), so that what is measured is the
  // calendar alone: four a day, then "+N more" with the day's total less those shown.
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(`/calendar?view=month&date=${busy}`)}); dispatchEvent(new PopStateEvent('popstate'))`);
  await heading(page, 'Calendar').waitFor();
  const busyCell = page.locator(`section[data-date="${busy}"]`);
  await busyCell.getByRole('link', { name: /^\+696 more on / }).waitFor();
  assert.equal(await busyCell.locator('li.calendar-item').count(), 4);
  assert.deepEqual(await busyCell.locator('.calendar-time').allTextContents(), ['00:00', '00:00', '00:04', '00:04']);
  const restCell = page.locator(`section[data-date="${rest[0]}"]`);
  await restCell.getByRole('link', { name: new RegExp(`^\\+${2 * perRest - 4} more on `) }).waitFor();
  const monthItems = await longTasks(`calendar month view, ${monthTargets} targets in the month`);
  assert.ok(monthItems <= 42 * 4, `${monthItems} posts rendered in the month view`);
  await shot(page, '25-calendar-month-agency');

  // "+N more" opens the day: 50 at a time, "Load more" for the next 50, by the day's cursor.
  await busyCell.getByRole('link', { name: /^\+696 more on / }).click();
  await page.waitForURL((u) => u.searchParams.get('view') === 'day' && u.searchParams.get('date') === busy);
  const dayView = page.locator(`section.calendar-day-view[data-date="${busy}"]`);
  await dayView.getByText('Showing 50 of 700.').waitFor();
  assert.equal(await dayView.locator('li.calendar-item').count(), 50);
  await longTasks('calendar day view, first page of 50 (of 700)');
  await dayView.getByRole('button', { name: 'Load more' }).click();
  await dayView.getByText('Showing 100 of 700.').waitFor();
  const times = await dayView.locator('.calendar-time').allTextContents();
  assert.equal(times.length, 100);
  assert.deepEqual(times, [...times].sort(), 'in time order across pages');
  assert.equal(new Set(await dayView.locator('.calendar-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).size, 50, 'each post twice (two accounts), none repeated across pages');
  await longTasks('calendar day view, "Load more" to 100');
  await shot(page, '26-calendar-day-agency');
  // To the end of the day: what listing a whole busy day costs, asked for page by page.
  const more = dayView.getByRole('button', { name: 'Load more' });
  for (let shown = 100; shown < 700; shown += 50) {
    await more.click();
    await dayView.getByText(`Showing ${shown + 50} of 700.`).waitFor();
  }
  await more.waitFor({ state: 'detached' });
  await longTasks('calendar day view, all 700 by 12 more "Load more"');

  // Move still works from the day: the first post's Move, to the next day; the day counts one less.
  await dayView.getByRole('button', { name: /^Move the 00:00 post/ }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Move post' });
  await dialog.getByText('This post goes to 2 networks.').waitFor();
  await dialog.getByLabel('Only Sandbox').check();
  await dialog.getByLabel('New date').fill(dayOf(1));
  await dialog.getByRole('button', { name: 'Move', exact: true }).click();
  await dayView.getByText('Showing 50 of 699.').waitFor();
  await longTasks('calendar day view, a Move and the day again from its first 50');

  // The week: twelve a day, "+N more" for the rest; one account's week counts that account's alone.
  await page.getByRole('button', { name: 'Week' }).click();
  await page.waitForURL((u) => u.searchParams.get('view') === null);
  const weekCell = page.locator(`section[data-date="${busy}"]`);
  await weekCell.getByRole('link', { name: /^\+687 more on / }).waitFor();
  assert.equal(await weekCell.locator('li.calendar-item').count(), 12);
  await page.locator(`section[data-date="${dayOf(1)}"]`).getByRole('link', { name: /^\+39 more on / }).waitFor();
  const weekItems = await longTasks('calendar week view, 1,000 targets in the week');
  assert.ok(weekItems <= 7 * 12, `${weekItems} posts rendered in the week view`);
  await shot(page, '27-calendar-week-agency');
  // (The moved target was one of the two accounts': which one, the API says.)
  const acc2Total = (await app.call('GET', `/api/workspaces/${ws}/calendar?from=${busy}&to=${busy}&timeZone=UTC&perDay=1&accountId=${acc2}`, { token })).body.days[0].total as number;
  assert.ok(acc2Total === 349 || acc2Total === 350, String(acc2Total));
  await page.getByLabel('Account', { exact: true }).selectOption(acc2);
  await page.waitForURL((u) => u.searchParams.get('account') === acc2);
  const oneAccount = weekCell.getByRole('link', { name: new RegExp(`^\\+${acc2Total - 12} more on `) });
  await oneAccount.waitFor();
  assert.match(await oneAccount.getAttribute('href') ?? '', new RegExp(`account=${acc2}`));
});
