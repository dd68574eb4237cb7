// The writing assistant in a real browser (Debian's Chromium driven by playwright-core, as test/web.serial.test.ts),
// with the network simulator's OpenAI-compatible model (tools/provider-sim/ai.ts) as the model and two Sandbox
// accounts: off, the composer's Assist panel says how to turn it on and links to the settings; an admin turns it
// on there (the key never shown back); a post too long for the networks is adapted to each account, streamed, a
// suggestion that still does not fit is shown with its problem named, and nothing changes in the post until
// "Use this", which fills each account's own text; the draft saved holds those texts. In the inbox, a suggested
// reply goes into the reply box, and nothing is sent. A spent budget is said.
import { test, before, after } from 'node:test';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { type Page } from 'playwright-core';
import { heading, shot, signIn, startBrowserApp, type BrowserApp } from './support/browser.ts';
import { type TestApp } from './support/app.ts';
import { connectSandbox } from './support/social.ts';
import { eq } from 'drizzle-orm';
import { inboxConversations, inboxMessages } from '../src/modules/inbox/schema.ts';

const KEY = 'sk-sim-browser-key-0123456789';

let web: BrowserApp;
let app: TestApp;

before(async () => {
  // 'start': the in-process simulator, which also serves the model. AI_ALLOW_PRIVATE_HOSTS: the simulated
  // model server is on loopback, like a local Ollama.
  web = await startBrowserApp({ role: 'start', env: { AI_ALLOW_PRIVATE_HOSTS: 'true' } });
  app = web.app;
});

after(async () => {
  await web?.stop();
});

test('off, the panel says how to turn it on; an admin configures it in settings; a post is adapted to two accounts, a flagged suggestion names its problem, "Use this" fills each account\'s text, the draft keeps them; a spent budget is said', async () => {
  const owner = await app.user({ name: 'Ada Assist' });
  const token = (await app.login(owner.email, owner.password)).accessToken as string;
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await app.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ws = (await call('POST', '/api/workspaces', { name: 'Bakery' }, 201)).id as string;
  const u1 = await connectSandbox(app, token, ws, 'u1');
  const u2 = await connectSandbox(app, token, ws, 'u2');
  const sim = app.running.simulatorUrl!;
  const { accounts } = await call('GET', `/api/workspaces/${ws}/accounts`);
  // The composer names an account "<network> · <username>".
  const [L1, L2] = [u1, u2].map((id) => `Sandbox · ${accounts.find((a: { id: string }) => a.id === id).username}`) as [string, string];

  const page: Page = await web.newPage({ viewport: { width: 1280, height: 1000 } });
  await signIn(page, owner.email, owner.password);
  await heading(page, 'Posts').waitFor();

  // Off: the panel says so, and an admin gets the way to the settings.
  await page.goto('/compose');
  await heading(page, 'Compose').waitFor();
  await page.getByText('Assist: write with the assistant').click();
  await page.getByText('The writing assistant is off in this workspace.').waitFor();
  await page.getByRole('link', { name: 'Settings → Assistant' }).click();
  await heading(page, 'Settings: Assistant').waitFor();

  // Turned on in the settings; the key is never shown back, only replaced.
  await page.getByLabel('Base URL').fill(`${sim}/ai/openai/v1`);
  await page.getByLabel('Model').fill('sim-model');
  await page.getByLabel('API key').fill(KEY);
  await page.getByRole('button', { name: 'Turn the assistant on' }).click();
  await page.getByText('A key is stored (it is never shown).').waitFor();
  await page.getByRole('button', { name: 'Replace key' }).waitFor();
  assert.ok(!(await page.content()).includes(KEY), 'the key is not in the page');
  const stored = await call('GET', `/api/workspaces/${ws}/assistant/settings`);
  assert.equal(stored.settings.model, 'sim-model');
  assert.equal(stored.settings.hasApiKey, true);

  // A post too long for both accounts (Sandbox allows 1000 characters).
  const long = `Fresh sourdough every morning at the bakery on Elm Street. ${'Crust, crumb and patience. '.repeat(45)}`.trim();
  assert.ok(long.length > 1000);
  await page.goto('/compose');
  await page.getByLabel(L1, { exact: true }).check();
  await page.getByLabel(L2, { exact: true }).check();
  await page.getByLabel('Text', { exact: true }).fill(long);
  await page.getByText('Assist: write with the assistant').click();
  await page.getByLabel('Adapt to each network').check();

  // First ask: the model answers the first account too long twice, so that suggestion is flagged with its problem.
  const tooLong = 'x'.repeat(1200);
  const scripted = await fetch(`${sim}/_sim/ai/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ steps: [{ text: tooLong }, { text: tooLong }] }) });
  assert.equal(scripted.status, 200);
  await page.getByRole('button', { name: 'Ask the assistant' }).click();
  const suggestions = page.getByRole('list', { name: 'Suggestions' });
  const forU1 = suggestions.getByRole('listitem', { name: `For ${L1}` });
  await forU1.getByText('Still does not fit after one retry:').waitFor();
  await forU1.getByRole('list', { name: 'Problems' }).getByText(/allows 1000 characters.*1200/).waitFor();
  await suggestions.getByRole('listitem', { name: `For ${L2}` }).getByText(`Fits ${L2}.`).waitFor();
  await shot(page, '50-assist-flagged');

  // Again, unscripted: each account gets a version within its limit; the post is untouched until "Use this".
  await page.getByRole('button', { name: 'Ask the assistant' }).click();
  await forU1.getByText(`Fits ${L1}.`).waitFor();
  await suggestions.getByRole('listitem', { name: `For ${L2}` }).getByText(`Fits ${L2}.`).waitFor();
  const suggested = (await forU1.locator('.suggestion-text').textContent())!;
  assert.ok([...suggested].length <= 1000 && suggested.length > 100, `a version that fits: ${suggested.length}`);
  assert.equal(await page.getByLabel('Text', { exact: true }).inputValue(), long, 'nothing replaced the post text');
  await page.getByRole('button', { name: `Use this for ${L1}` }).click();
  await page.getByRole('button', { name: `Use this for ${L2}` }).click();
  await page.getByText(`Now the text for ${L2}.`).waitFor();
  assert.equal(await page.getByLabel('Text', { exact: true }).inputValue(), long, 'adapting fills the accounts\' texts, not the post\'s');
  await page.getByRole('tab', { name: L1 }).click();
  assert.equal(await page.getByRole('textbox', { name: `Text for ${L1}`, exact: true }).inputValue(), suggested);
  await page.getByLabel('Keep as a draft').check();
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.waitForURL(/\/posts\/[0-9a-f-]{36}$/);
  const postId = page.url().split('/').at(-1)!;
  const post = await call('GET', `/api/workspaces/${ws}/posts/${postId}`);
  assert.equal(post.text, long);
  const variant = (id: string) => post.targets.find((t: { accountId: string }) => t.accountId === id).variant.text;
  assert.equal(variant(u1), suggested);
  assert.ok([...variant(u2)].length <= 1000);
  const requests = (await (await fetch(`${sim}/_sim/ai/requests`)).json()) as { requests: unknown[] };
  assert.equal(requests.requests.length, 5, 'two tries for the flagged one, then one per account');

  // The inbox: a suggested reply goes into the reply box on "Use this", and nothing is sent.
  const db = app.running.services.db;
  const [conv] = await db.insert(inboxConversations).values({ id: randomUUID(), workspaceId: ws, accountId: u1, provider: 'sandbox', kind: 'post_thread', rootRemoteId: 'root-1', lastMessageAt: new Date() }).returning();
  // Classified as it arrived (test/assistant.test.ts runs the classification itself): its labels show in the
  // list and on the message, and the list filters by them.
  const [msg] = await db.insert(inboxMessages).values({
    id: randomUUID(), workspaceId: ws, accountId: u1, conversationId: conv!.id, provider: 'sandbox', remoteId: 'm-1', direction: 'inbound', createdOnNetwork: new Date(),
    text: 'Do you bake rye bread too?', authorName: 'A Fan', aiIntent: 'question', aiSentiment: 'positive', aiUrgency: 'high', aiClassifiedAt: new Date(),
  }).returning();
  await db.update(inboxConversations).set({ aiIntent: 'question', aiUrgency: 'high', aiClassifiedMessageAt: msg!.createdOnNetwork }).where(eq(inboxConversations.id, conv!.id));
  await page.goto('/inbox');
  const item = page.locator(`#conversation-${conv!.id}`);
  await item.getByText('Question').waitFor();
  await item.getByText('Urgent').waitFor();
  await page.getByLabel('AI label').selectOption('complaint');
  await page.getByText('No conversation matches these filters.').waitFor();
  await page.getByLabel('AI label').selectOption('question');
  await page.getByLabel('Urgent').check();
  await item.click();
  const message = page.locator(`[data-message-id="${msg!.id}"]`);
  await message.getByText('Question').waitFor();
  await message.getByText('positive').waitFor();
  await page.getByText('Do you bake rye bread too?').first().waitFor();
  await page.getByRole('button', { name: 'Suggest a reply' }).click();
  const suggestedReply = page.getByRole('group', { name: 'Suggested reply' });
  await suggestedReply.getByText(/Thank you for writing to us/).waitFor();
  await suggestedReply.getByRole('button', { name: 'Use this' }).click();
  assert.match(await page.locator('#reply-text').inputValue(), /^Thank you for writing to us/);
  assert.equal((await call('GET', `/api/workspaces/${ws}/inbox/conversations/${conv!.id}`)).replies.length, 0, 'nothing sent');

  // The month's tokens spent: the panel says so before anything is asked.
  await call('PUT', `/api/workspaces/${ws}/assistant/settings`, { provider: 'openai', baseUrl: `${sim}/ai/openai/v1`, model: 'sim-model', monthlyTokenBudget: 1 });
  await page.goto('/compose');
  await page.getByText('Assist: write with the assistant').click();
  await page.getByText('This month\'s assistant tokens are used up.').waitFor();
});
