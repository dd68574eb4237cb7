// Tracked links and feeds in a real browser (the shared set-up of test/support/browser.ts, as
// test/web-analytics.serial.test.ts). Links: the rules are set in Settings › Links, where the API's refusal of
// a fixed campaign without its value is shown next to the field; a post published to the Sandbox network goes
// out with a short link, which is followed by a person and by a link-preview bot; Analytics shows the link
// with its clicks apart and per day. Feeds: an RSS feed served by a local HTTP server is added on the Feeds
// screen; its next item becomes a draft shown among its items with the post linked; a broken fetch is shown
// as failing with its error in words; pausing and deleting work. Reusable content: a file uploaded on the
// Library screen gets its thumbnail, alt text, folder and tags (and is found by them); a template (refused next to its text first) with a network
// text and that file, and a hashtag group (a bad hashtag refused next to the field), both made in the
// Library, go into the composer, whose draft holds exactly what the server renders; the file, now used by
// the draft and the template, is refused deletion with both named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { heading, shot, signIn, startBrowserApp, WAIT, type BrowserApp } from './support/browser.ts';
import { connectSandbox, eventually, simKnobs, simPosts } from './support/social.ts';
import { greyPng } from './support/fixtures.ts';

const PERSON = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

let web: BrowserApp;
let feedServer: Server;
let feedBase: string;
/** What the feed server answers at /blog.rss: a document, or a status. */
let feed: { items: { guid: string; title: string; link: string }[] } | { status: number } = { items: [] };

const rss = (items: { guid: string; title: string; link: string }[]) => `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Bakery news</title><link>https://bakery.example.com/</link>
${items.map((i) => `<item><guid isPermaLink="false">${i.guid}</guid><title>${i.title}</title><link>${i.link}</link><pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate></item>`).join('\n')}
</channel></rss>`;

before(async () => {
  feedServer = createServer((req, res) => {
    if (new URL(req.url!, 'http://x').pathname !== '/blog.rss') return void res.writeHead(404).end();
    if ('status' in feed) return void res.writeHead(feed.status, { 'content-type': 'text/plain' }).end('broken');
    res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(rss(feed.items));
  });
  await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', () => r()));
  feedBase = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}`;
  // ALLOW_PRIVATE_HOSTS: the test's feed server is on this machine (the guard is tested in test/feeds.test.ts).
  web = await startBrowserApp({ role: 'start', env: { ALLOW_PRIVATE_HOSTS: 'true' } });
  await simKnobs(web.app.running.simulatorUrl!, 'sandbox', { inboxRatePerMinute: 0 });
});

after(async () => {
  await web?.stop();
  await new Promise<void>((r) => (feedServer ? feedServer.close(() => r()) : r()));
});

test('link rules with the API\'s refusal next to the field, a short link\'s clicks in Analytics, a feed\'s status and its drafts', async () => {
  const app = web.app;
  const owner = await app.user({ name: 'Carla Content' });
  const token = (await app.login(owner.email, owner.password)).accessToken as string;
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await app.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ws = (await call('POST', '/api/workspaces', { name: 'Bakery' }, 201)).id as string;
  const W = `/api/workspaces/${ws}`;
  const accountId = await connectSandbox(app, token, ws, 'bakery-content');
  const accountName = `Sandbox ${(await call('GET', `${W}/accounts/${accountId}`)).username}`;

  const page = await web.newPage();
  await signIn(page, owner.email, owner.password);
  await heading(page, 'Posts').waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });

  // ---- link rules: a fixed campaign without its value is refused, next to the field ----
  await nav.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Links' }).click();
  await heading(page, 'Settings: Links').waitFor();
  const form = page.getByRole('form', { name: 'Link rules' });
  await form.getByLabel(/^Shorten links in posts/).check();
  await form.getByLabel('Campaign (utm_campaign) from').selectOption('fixed');
  await form.getByRole('button', { name: 'Add a network' }).click();
  await form.getByLabel('Network of row 1').selectOption('sandbox');
  await form.getByLabel('utm_source for Sandbox').fill('sandbox-net');
  await form.getByRole('button', { name: 'Save link rules' }).click();
  const campaign = form.getByLabel('Campaign', { exact: true });
  await form.locator('.field-invalid').getByText(/^A fixed campaign needs its value/).waitFor();
  assert.equal(await campaign.getAttribute('aria-invalid'), 'true');
  const describedBy = (await campaign.getAttribute('aria-describedby'))!.split(' ');
  assert.match(await page.locator(`[id="${describedBy.at(-1)}"]`).innerText(), /fixed campaign needs its value/, 'the error is the field\'s description');
  assert.equal((await call('GET', `${W}/links/settings`)).shorten, false, 'nothing saved by a refused form');
  await campaign.fill('winter');
  await form.getByRole('button', { name: 'Save link rules' }).click();
  await page.getByRole('status').getByText('Link rules saved.').waitFor();
  assert.equal(await campaign.getAttribute('aria-invalid'), null);
  assert.deepEqual(await call('GET', `${W}/links/settings`), { shorten: true, utmSources: { sandbox: 'sandbox-net' }, utmMedium: 'social', campaignMode: 'fixed', utmCampaign: 'winter', utmContent: null });

  // ---- a published post's short link, followed by a person and by a bot ----
  const post = await call('POST', `${W}/posts`, { text: 'Fresh bread: https://bakery.example.com/bread?batch=3', targets: [{ accountId }] }, 201);
  await call('POST', `${W}/posts/${post.id}/schedule`, { now: true });
  const sent = await eventually(async () => (await simPosts(app.running.simulatorUrl!)).find((p) => p.text.startsWith('Fresh bread: ')), WAIT, 'the post on the network');
  const short = /(http:\/\/127\.0\.0\.1:\d+\/l\/[0-9A-Za-z]{8})$/.exec(sent.text)?.[1];
  assert.ok(short, sent.text);
  for (const ua of [PERSON, 'Twitterbot/1.0']) {
    const r = await fetch(short, { redirect: 'manual', headers: { 'user-agent': ua } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), 'https://bakery.example.com/bread?batch=3&utm_source=sandbox-net&utm_medium=social&utm_campaign=winter');
  }
  await app.running.services.linkClicks.flush();

  await nav.getByRole('link', { name: 'Analytics' }).click();
  const links = page.getByRole('table', { name: 'Short links and their clicks' });
  const row = links.getByRole('row').filter({ hasText: 'bakery.example.com/bread?batch=3' });
  await row.waitFor();
  await row.getByRole('cell', { name: short.replace(/^http:\/\//, ''), exact: true }).waitFor();
  assert.deepEqual((await row.getByRole('cell').allInnerTexts()).slice(2, 5), ['Sandbox', '1', '1'], 'network, people, bots');
  const cards = page.getByRole('list', { name: 'Link clicks of the period' });
  await cards.getByRole('listitem').filter({ hasText: 'Clicks by people' }).getByText('1', { exact: true }).waitFor();
  await cards.getByRole('listitem').filter({ hasText: 'Fetches by bots' }).getByText('1', { exact: true }).waitFor();
  await page.getByRole('table', { name: 'Link clicks by network' }).getByRole('row', { name: 'Sandbox 1 1' }).waitFor();
  await row.getByRole('button', { name: `Clicks per day of ${short}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Clicks of the link' });
  await dialog.getByText(/^1 click by people and 1 by bots from/).waitFor();
  await dialog.getByRole('button', { name: 'Show numbers' }).click();
  const todayUtc = new Date().toISOString().slice(0, 10);
  await dialog.getByRole('row', { name: `${todayUtc} 1 1` }).waitFor();
  await shot(page, '50-link-clicks');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // ---- feeds: added, its next item a draft, a broken fetch in words, paused, deleted ----
  feed = { items: [{ guid: 'old-1', title: 'Our story', link: 'https://bakery.example.com/story' }] };
  await nav.getByRole('link', { name: 'Feeds' }).click();
  await heading(page, 'Feeds').waitFor();
  await page.getByText('No feed yet. Add one below.').waitFor();
  const add = page.getByRole('form', { name: 'Add a feed' });
  await add.getByLabel('Feed address').fill(`${feedBase}/gone.rss`);
  await add.getByLabel(accountName).check();
  await add.getByRole('button', { name: 'Add feed' }).click();
  await add.locator('.field-invalid').getByText(/the feed answered HTTP 404/).waitFor();
  await add.getByLabel('Feed address').fill(`${feedBase}/blog.rss`);
  await add.getByLabel('Template').fill('New: {title} {url}');
  await add.getByRole('button', { name: 'Add feed' }).click();
  const item = page.getByRole('list', { name: 'Feeds' }).getByRole('listitem', { name: 'Bakery news' });
  await item.getByText('Working', { exact: true }).waitFor();
  await item.getByText(`New items become drafts for ${accountName}; every 60 minutes.`).waitFor();

  feed = { items: [{ guid: 'new-2', title: 'Rye is back', link: 'https://bakery.example.com/rye' }, ...feed.items] };
  await item.getByRole('button', { name: 'Fetch now' }).click();
  await page.getByRole('status').getByText('Fetched: 1 new item made into posts.').waitFor();
  await item.getByRole('button', { name: 'Items and posts' }).click();
  const items = item.getByRole('table', { name: 'Items of Bakery news' });
  const made = items.getByRole('row').filter({ hasText: 'Rye is back' });
  await made.getByText('Draft', { exact: true }).waitFor();
  await items.getByRole('row').filter({ hasText: 'Our story' }).getByText('Seen when added, not posted').waitFor();
  const postHref = await made.getByRole('link', { name: 'Open the post' }).getAttribute('href');
  const draft = await call('GET', `${W}${postHref}`);
  assert.equal(draft.text, 'New: Rye is back https://bakery.example.com/rye');
  assert.equal(draft.targets[0].state, 'draft');

  feed = { status: 500 };
  await item.getByRole('button', { name: 'Fetch now' }).click();
  await item.getByText('Failing', { exact: true }).waitFor();
  await item.getByText('Could not be read: the feed answered HTTP 500.').waitFor();
  await shot(page, '51-feeds');
  await item.getByRole('button', { name: 'Pause' }).click();
  await item.getByText('Paused', { exact: true }).waitFor();
  await item.getByText('None while paused').waitFor();
  assert.equal((await call('GET', `${W}/feeds`)).items[0].paused, true);
  await item.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete' }).getByRole('button', { name: 'Delete feed' }).click();
  await page.getByText('No feed yet. Add one below.').waitFor();
  assert.equal((await call('GET', `${W}/posts/${draft.id}`)).id, draft.id, 'the posts a deleted feed made stay');
});

test('the library\'s files, a template and a hashtag group made there and used in the composer; a file in use is not deleted', async () => {
  const app = web.app;
  const owner = await app.user({ name: 'Tomas Templates' });
  const token = (await app.login(owner.email, owner.password)).accessToken as string;
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await app.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ws = (await call('POST', '/api/workspaces', { name: 'Cafe' }, 201)).id as string;
  const W = `/api/workspaces/${ws}`;
  const cafeAccount = await connectSandbox(app, token, ws, 'cafe-templates');
  const tabName = `Sandbox · ${(await call('GET', `${W}/accounts/${cafeAccount}`)).username}`;

  const page = await web.newPage();
  await signIn(page, owner.email, owner.password);
  await heading(page, 'Posts').waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  const library = page.getByRole('navigation', { name: 'Library' });

  // ---- Library › Media: an upload, its server-made thumbnail, its alt text ----
  await nav.getByRole('link', { name: 'Library' }).click();
  await heading(page, 'Library: Media').waitFor();
  await page.getByText('The library is empty.', { exact: false }).waitFor();
  await page.getByLabel('Upload images or videos').setInputFiles({ name: 'croissant.png', mimeType: 'image/png', buffer: greyPng(40, 30) });
  const card = page.getByRole('list', { name: 'Files' }).getByRole('listitem', { name: 'croissant.png' });
  await card.getByText(/^Image · .+ · 40 × 30$/).waitFor();
  await card.getByRole('img', { name: 'Thumbnail of croissant.png' }).waitFor();
  assert.match((await card.getByRole('img', { name: 'Thumbnail of croissant.png' }).getAttribute('src'))!, /^blob:/, 'the thumbnail made by the job');
  await page.getByLabel('Folder name').fill('Pastries');
  await page.getByRole('button', { name: 'Make folder' }).click();
  await card.getByLabel('Folder').locator('option', { hasText: 'Pastries' }).waitFor({ state: 'attached' });
  await card.getByLabel('Alt text').fill('A golden croissant');
  await card.getByLabel('Folder').selectOption({ label: 'Pastries' });
  await card.getByLabel('Tags').fill('breakfast, pastry');
  await card.getByRole('button', { name: 'Save croissant.png' }).click();
  await page.getByRole('status').getByText('croissant.png saved.').waitFor();
  const [file] = (await call('GET', `${W}/media`)).media;
  const [folder] = (await call('GET', `${W}/media-folders`)).folders;
  assert.deepEqual([file.altText, file.folderId, file.tags], ['A golden croissant', folder.id, ['breakfast', 'pastry']]);
  await page.getByLabel('With tag').selectOption('breakfast');
  await page.getByLabel('In folder').selectOption({ label: 'Pastries' });
  await card.getByText('Uploaded', { exact: false }).waitFor();
  await page.getByLabel('In folder').selectOption({ label: 'In no folder' });
  await page.getByText('No file matches.').waitFor();
  await page.getByLabel('In folder').selectOption({ label: 'All folders' });

  // ---- Library › Templates: a refusal next to the text, then saved with a network text and the file ----
  await library.getByRole('link', { name: 'Templates' }).click();
  await heading(page, 'Library: Templates').waitFor();
  await page.getByRole('button', { name: 'New template' }).click();
  const form = page.getByRole('form', { name: 'New template' });
  await form.getByLabel('Name').fill('Product launch');
  const text = form.getByLabel('Text', { exact: true });
  await text.fill('Meet {{product}} for {{Price}}!');
  await form.getByRole('button', { name: 'Add a text for a network' }).click();
  await form.getByLabel('Network of text 1').selectOption('sandbox');
  await form.getByRole('textbox', { name: 'Text for Sandbox' }).fill('Sandbox first: {{product}}');
  await form.getByRole('button', { name: 'Choose from the library' }).click();
  const picker = page.getByRole('dialog', { name: 'Choose from the library' });
  await picker.getByRole('checkbox', { name: 'croissant.png' }).check();
  await picker.getByRole('button', { name: 'Add 1 file' }).click();
  await form.getByRole('list', { name: 'Files of the template' }).getByText('croissant.png').waitFor();
  await form.getByRole('button', { name: 'Save template' }).click();
  await form.locator('.field-invalid').getByText(/"\{\{Price\}\}" is not a field name/).waitFor();
  assert.equal(await text.getAttribute('aria-invalid'), 'true');
  assert.deepEqual((await call('GET', `${W}/templates`)).items, [], 'nothing saved by a refused form');
  await text.fill('Meet {{product}} for {{price}}!');
  await form.getByRole('button', { name: 'Save template' }).click();
  await page.getByRole('status').getByText('Template Product launch saved.').waitFor();
  await page.getByRole('list', { name: 'Templates' }).getByRole('listitem', { name: 'Product launch' }).getByText('Asks for: product, price · own text for Sandbox · 1 file').waitFor();

  // ---- Library › Hashtag groups: a bad hashtag refused next to the field ----
  await library.getByRole('link', { name: 'Hashtag groups' }).click();
  await page.getByRole('button', { name: 'New hashtag group' }).click();
  const groupForm = page.getByRole('form', { name: 'New hashtag group' });
  await groupForm.getByLabel('Name').fill('Bakery tags');
  await groupForm.getByLabel('Hashtags').fill('#bread, #crème-brûlée');
  await groupForm.getByRole('button', { name: 'Save hashtag group' }).click();
  await groupForm.locator('.field-invalid').getByText(/^"#crème-brûlée" is not a hashtag/).waitFor();
  await groupForm.getByLabel('Hashtags').fill('#bread, croissant');
  await groupForm.getByRole('button', { name: 'Save hashtag group' }).click();
  await page.getByRole('list', { name: 'Hashtag groups' }).getByRole('listitem', { name: 'Bakery tags' }).getByText('#bread #croissant').waitFor();

  // ---- the composer: the template (found by search, its fields filled in), then the hashtags at the cursor ----
  await nav.getByRole('link', { name: 'Compose' }).click();
  await heading(page, 'Compose').waitFor();
  await page.getByRole('button', { name: 'Insert template' }).click();
  const templates = page.getByRole('dialog', { name: 'Insert a template' });
  await templates.getByLabel('Search templates by name').fill('LAUNCH');
  await templates.getByRole('button', { name: 'Use Product launch' }).click();
  const fields = templates.getByRole('form', { name: 'Fields of Product launch' });
  await fields.getByLabel('product').fill('Croissants');
  await fields.getByRole('button', { name: 'Insert' }).click();
  await fields.locator('.field-invalid').getByText(/asks for \{\{price\}\}/).waitFor();
  await fields.getByLabel('price').fill('2 €');
  await fields.getByRole('button', { name: 'Insert' }).click();
  await templates.waitFor({ state: 'hidden' });
  const body = page.getByLabel('Text', { exact: true });
  const rendered = await call('POST', `${W}/templates/${(await call('GET', `${W}/templates`)).items[0].id}/render`, { values: { product: 'Croissants', price: '2 €' } });
  assert.equal(await body.inputValue(), rendered.text);
  await page.getByRole('img', { name: 'A golden croissant' }).waitFor();
  await body.click();
  await body.press('Control+End');
  await page.getByRole('button', { name: 'Hashtags', exact: true }).click();
  await page.getByRole('dialog', { name: 'Insert hashtags' }).getByRole('button', { name: 'Insert Bakery tags' }).click();
  // The caret comes back after the hashtags, in the text.
  await page.locator('textarea:focus').waitFor();
  assert.equal(await body.inputValue(), `${rendered.text} #bread #croissant`);
  await shot(page, '52-composer-template');
  // The template's Sandbox text is the account's own; hashtags go into it too, from its tab.
  await page.getByRole('tab', { name: tabName }).click();
  const ownText = page.getByRole('textbox', { name: `Text for ${tabName}` });
  assert.equal(await ownText.inputValue(), 'Sandbox first: Croissants');
  await ownText.click();
  await ownText.press('Control+End');
  await page.getByRole('button', { name: `Hashtags for ${tabName}` }).click();
  await page.getByRole('dialog', { name: 'Insert hashtags' }).getByRole('button', { name: 'Insert Bakery tags' }).click();
  await page.locator(`textarea:focus`).waitFor();
  assert.equal(await ownText.inputValue(), 'Sandbox first: Croissants #bread #croissant');
  await page.getByLabel('Keep as a draft').check();
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('status').getByText('Draft saved.').waitFor();
  await page.waitForURL(/\/posts\/[0-9a-f-]{36}$/);
  const draft = await call('GET', `${W}/posts/${new URL(page.url()).pathname.split('/').at(-1)}`);
  assert.equal(draft.text, `${rendered.text} #bread #croissant`);
  assert.equal(draft.targets[0].variant.text, 'Sandbox first: Croissants #bread #croissant');
  assert.deepEqual(draft.mediaIds, [file.id]);
  assert.equal(draft.targets[0].state, 'draft');

  // ---- the file is used by the draft and the template: not deleted, both named ----
  await nav.getByRole('link', { name: 'Library' }).click();
  await card.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete' }).getByRole('button', { name: 'Delete file' }).click();
  await card.getByRole('alert').getByText('croissant.png is in use, so it was not deleted. Remove it from these posts and templates (or delete them), then delete it:').waitFor();
  const uses = card.getByRole('list', { name: 'Where croissant.png is used' });
  await uses.getByRole('link', { name: /^Post: Meet Croissants for 2 €!/ }).waitFor();
  await uses.getByRole('link', { name: 'Template: Product launch' }).waitFor();
  await shot(page, '53-library-in-use');
  assert.equal((await call('GET', `${W}/media/${file.id}`)).id, file.id, 'the file stays');
});
