// The Inbox screen in a real browser (Debian's Chromium driven by playwright-core, as test/web.serial.test.ts),
// against an all-in-one AllIN whose worker collects the Sandbox network every second: a comment made on the
// simulated network under a post appears in the open Inbox without a reload (the events stream), is assigned
// with the keyboard's `a`, labelled with `l`, answered with a saved reply filled in by the server, and marked
// done with `e`; the reply is then on the simulated network, under the comment. A second comment, made while
// another screen is open, shows as an unread count in the navigation, gone once it is read; the first comment is
// liked and hidden from its message, and so on the network. Long tasks are printed, as the
// calendar's browser test does. No wall-clock thresholds: Playwright's waiting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Page } from 'playwright-core';
import { shot, signIn, startBrowserApp, WAIT, type BrowserApp } from './support/browser.ts';
import { type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';

/** Runs in the page: whether the element has the focus (this file is compiled without the DOM's types). */
const isFocused = (el: unknown) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;

let web: BrowserApp;
let app: TestApp;

before(async () => {
  web = await startBrowserApp({
    role: 'start',
    // The worker collects every second, as a busy account's poll would: the comment arrives by itself.
    env: { INBOX_POLL_INTERVAL_SECONDS: '1', INBOX_SCHEDULE_INTERVAL_MS: '200' },
  });
  app = web.app;
  await simKnobs(app.running.simulatorUrl!, 'sandbox', { inboxRatePerMinute: 0 });
});

after(async () => {
  await web?.stop();
});

test('a comment on a Sandbox post appears in the open Inbox, is assigned, labelled, answered with a saved reply and marked done; the reply is on the network', async () => {
  const sim = app.running.simulatorUrl!;
  const owner = await app.user({ name: 'Olivia Owner' });
  const token = (await app.login(owner.email, owner.password)).accessToken as string;
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await app.call(method, path, { token, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ws = (await call('POST', '/api/workspaces', { name: 'Bakery' }, 201)).id as string;
  const accountId = await connectSandbox(app, token, ws, 'bakery');
  const post = await call('POST', `/api/workspaces/${ws}/posts`, { text: 'Fresh sourdough every morning', targets: [{ accountId }], schedule: { now: true } }, 201);
  const postRemoteId = await eventually(async () => {
    const p = await call('GET', `/api/workspaces/${ws}/posts/${post.id}`);
    return p.targets[0].state === 'published' ? p.targets[0].remoteId as string : undefined;
  }, WAIT, 'the post to be published');
  await call('POST', `/api/workspaces/${ws}/inbox/saved-replies`, { name: 'Shipping times', text: 'Thanks {author_name}! Orders placed today ship tomorrow.' }, 201);
  await call('POST', `/api/workspaces/${ws}/inbox/labels`, { name: 'shipping' }, 201);

  const page: Page = await web.newPage();
  await page.addInitScript(`window.longTasks = [];
    if (PerformanceObserver.supportedEntryTypes.includes('longtask')) {
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
    }`);
  const longTasks = async (what: string) => {
    const { supported, tasks } = await page.evaluate<{ supported: boolean; tasks: number[] }>(`({
      supported: PerformanceObserver.supportedEntryTypes.includes('longtask'), tasks: window.longTasks.splice(0) })`);
    const total = tasks.reduce((a, b) => a + b, 0);
    console.log(`# ${what}: ${supported ? `${tasks.length} long tasks, ${Math.round(total)} ms in all (longest ${Math.round(Math.max(0, ...tasks))} ms)` : 'long tasks not observable in this browser'}`);
  };

  /** Nothing focused, as after reading: the keys are the Inbox's. */
  const blur = () => page.evaluate('document.activeElement && document.activeElement.blur()');

  await signIn(page, owner.email, owner.password);
  await page.getByRole('heading', { level: 1, name: 'Posts' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  await page.getByText('No conversations yet.').waitFor();
  // Marks this document: a reload would lose it.
  await page.evaluate('window.sameDocument = true');
  await longTasks('the app\'s start, sign-in and the empty Inbox');

  // A comment made on the network: collected by the worker, told through the stream, shown without a reload.
  const said = await simSay(sim, { user: 'bakery', postId: postRemoteId, text: 'Do you ship to Leeds? When would it arrive?', author: { id: 'ola', username: 'ola', name: 'Ola' } });
  const item = page.getByRole('button', { name: /Do you ship to Leeds\?/ });
  await item.waitFor();
  assert.equal(await page.evaluate('window.sameDocument'), true, 'the Inbox updated in place, not by a reload');
  await longTasks('a comment arriving in the open Inbox');
  const view = page.locator('article.conversation-view');
  const thread = view.getByRole('list', { name: 'Messages and notes' });
  await thread.getByText('Do you ship to Leeds? When would it arrive?').waitFor();
  await view.getByText('Fresh sourdough every morning').waitFor();
  await shot(page, '30-inbox-comment');

  // a: the assignee box, where the owner assigns herself.
  await blur();
  await page.keyboard.press('a');
  const assignee = view.getByLabel('Assignee');
  assert.equal(await assignee.evaluate(isFocused), true, '`a` focuses the assignee');
  await assignee.selectOption({ label: 'Olivia Owner (me)' });
  await view.getByText('assigned to Olivia Owner').waitFor();
  await page.getByRole('button', { name: /Do you ship to Leeds\?/ }).filter({ hasText: 'Olivia Owner' }).waitFor();

  // l: the label box.
  await blur();
  await page.keyboard.press('l');
  const label = view.getByLabel('Add label');
  assert.equal(await label.evaluate(isFocused), true, '`l` focuses the labels');
  await label.selectOption({ label: 'shipping' });
  await view.getByRole('button', { name: 'Remove label shipping' }).waitFor();

  // r: the reply box; the saved reply is filled in by the server for Ola, and counted.
  await blur();
  await page.keyboard.press('r');
  const box = view.getByLabel(/^Reply to Ola/);
  assert.equal(await box.evaluate(isFocused), true, '`r` focuses the reply');
  await view.getByLabel('Saved reply').selectOption({ label: 'Shipping times' });
  const expected = 'Thanks Ola! Orders placed today ship tomorrow.';
  await eventually(async () => (await box.inputValue()) === expected, WAIT, 'the saved reply in the box', 50);
  await eventually(async () => (await view.locator('#reply-count').innerText()).startsWith(`${[...expected].length} / `), WAIT, 'the counter', 50);
  await view.getByRole('button', { name: 'Send reply' }).click();
  // Published: the account's answer in the tree, under the comment, with who answered it.
  const answer = thread.locator('li.message.outbound', { hasText: expected });
  await answer.waitFor();
  await answer.getByText(/answered by Olivia Owner via AllIN/).waitFor();
  await longTasks('assigning, labelling and answering');

  // e: done.
  await blur();
  await page.keyboard.press('e');
  await view.getByTestId('conversation-state').filter({ hasText: 'Done' }).waitFor();
  await shot(page, '31-inbox-answered');

  // On the network: the reply, once, under Ola's comment, written by the account.
  const items = ((await (await fetch(`${sim}/_sim/sandbox/inbox`)).json()) as { items: { id: string; parentId: string | null; text: string }[] }).items;
  assert.deepEqual(items.filter((i) => i.parentId === said.id).map((i) => i.text), [expected]);
  const list = await call('GET', `/api/workspaces/${ws}/inbox/conversations`);
  assert.equal(list.conversations.length, 1);
  assert.equal(list.conversations[0].state, 'done');
  assert.equal(list.conversations[0].assigneeId, owner.id);
  assert.deepEqual(list.conversations[0].labels.map((l: { name: string }) => l.name), ['shipping']);

  // Another screen open: a new mention shows as unread in the navigation, live; j/k move through the list.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Posts/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Posts' }).waitFor();
  await simSay(sim, { user: 'bakery', kind: 'mention', text: '@bakery the rye loaf is the best in town', author: { id: 'kim', username: 'kim', name: 'Kim' } });
  await page.getByTestId('inbox-unread').filter({ hasText: '1' }).waitFor();
  assert.equal(await page.evaluate('window.sameDocument'), true);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.getByRole('button', { name: /the rye loaf/ }).waitFor();
  // The newest conversation opens on its own; j moves from it (pressed before it has opened, j opens it).
  await thread.getByText('@bakery the rye loaf is the best in town').waitFor();
  await blur();
  await page.keyboard.press('j');
  await thread.getByText('Do you ship to Leeds? When would it arrive?').waitFor();
  await page.keyboard.press('k');
  await thread.getByText('@bakery the rye loaf is the best in town').waitFor();
  // A mention is someone else's thread: Like is offered, Hide is not (each message's can, as the API rules it).
  const mention = thread.locator('li.message', { hasText: '@bakery the rye loaf' }).first();
  await mention.getByRole('button', { name: 'Like', exact: true }).waitFor();
  assert.equal(await mention.getByRole('button', { name: 'Hide', exact: true }).count(), 0);
  // Opened, the mention is read: the count in the navigation goes, live, as the server counts it.
  await page.getByTestId('inbox-unread').waitFor({ state: 'detached' });
  assert.deepEqual(await call('GET', `/api/workspaces/${ws}/inbox/unread`), { count: 0, more: false });

  // Like, then hide, Ola's comment from its message: each done once on the network, and shown on the message.
  await blur();
  await page.keyboard.press('j');
  const comment = thread.locator('li.message', { hasText: 'Do you ship to Leeds? When would it arrive?' }).first();
  await comment.getByRole('button', { name: 'Like', exact: true }).first().click();
  await comment.locator('.message-head .badge', { hasText: 'liked' }).waitFor();
  await comment.getByRole('button', { name: 'Unlike', exact: true }).first().waitFor();
  await comment.getByRole('button', { name: 'Hide', exact: true }).first().click();
  await comment.locator('.message-head .badge', { hasText: 'hidden' }).waitFor();
  await comment.getByRole('button', { name: 'Unhide', exact: true }).first().waitFor();
  const onNetwork = ((await (await fetch(`${sim}/_sim/sandbox/inbox`)).json()) as { items: { id: string; liked: boolean; hidden: boolean }[] }).items.find((i) => i.id === said.id)!;
  assert.deepEqual([onNetwork.liked, onNetwork.hidden], [true, true]);
  await shot(page, '32-inbox-liked-hidden');

  // The workspace's settings turn on the approval of replies.
  await page.goto('/settings');
  await page.getByLabel(/Require approval of replies/).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  assert.equal((await call('GET', `/api/workspaces/${ws}`)).settings.requireReplyApproval, true);
  await page.context().close();
});
