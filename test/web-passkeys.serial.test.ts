// Passkeys in a real browser: Debian's Chromium driven by playwright-core (as test/web.serial.test.ts),
// with Chromium's WebAuthn virtual authenticator attached through the DevTools protocol (CTAP2, internal
// transport, resident keys, user verification). A passkey is added on the Security screen, then, signed
// out, the user signs in with the passkey alone (no email), and with a password the passkey is the
// second step. The app runs at http://localhost:PORT: WebAuthn refuses an IP address as the relying
// party's id, and localhost is a secure context without TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { ROOT } from './support/process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const WAIT = 30_000;

let app: TestApp;
let base: string;
let browser: Browser;
let profileDir: string;
const contexts: BrowserContext[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/** A page with a virtual authenticator of its own: a platform authenticator that verifies the user. */
async function pageWithAuthenticator(): Promise<{ page: Page; credentials: () => Promise<{ isResidentCredential: boolean; signCount: number }[]> }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base, locale: 'en-GB', timezoneId: 'UTC' });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  page.setDefaultNavigationTimeout(WAIT);
  page.on('pageerror', (err) => { console.error(`page error: ${err.message}`); });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { page, credentials };
}

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

before(async () => {
  await buildWeb({ quiet: true });
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://localhost:${port}`;
  app = await startTestApp({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base });
  profileDir = mkdtempSync(join(tmpdir(), 'allin-chromium-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--disk-cache-dir=${join(profileDir, 'cache')}`, `--crash-dumps-dir=${join(profileDir, 'crashes')}`],
    env: { ...process.env, HOME: profileDir, XDG_CONFIG_HOME: join(profileDir, 'config'), XDG_CACHE_HOME: join(profileDir, 'cache') },
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close().catch(() => {});
  await app?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

test('add a passkey on the Security screen, sign out, sign in with the passkey alone; with a password it is the second step', async () => {
  const user = await app.user({ name: 'Pat Passkey' });
  const token = (await app.login(user.email, user.password)).accessToken as string;
  await app.call('POST', '/api/workspaces', { token, body: { name: 'Passkey workspace' } });

  const { page, credentials } = await pageWithAuthenticator();
  await page.goto('/sign-in');
  await heading(page, 'Sign in').waitFor();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Posts').waitFor();

  await page.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(page, 'Security').waitFor();
  await page.getByLabel('Name of the passkey').fill('This laptop');
  await page.getByLabel('Password, to add a passkey').fill(user.password);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  // The first factor of the account: recovery codes, shown once.
  const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await eventually(async () => (await codes.count()) === 10, WAIT, 'ten recovery codes');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  const listed = page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
  await listed.filter({ hasText: 'This laptop' }).getByText('not used yet').waitFor();
  await page.screenshot({ path: join(SHOTS, '27-passkeys.png'), fullPage: true });
  const stored = await credentials();
  assert.equal(stored.length, 1);
  assert.equal(stored[0]!.isResidentCredential, true, 'a discoverable credential');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading(page, 'Sign in').waitFor();
  // No email: the browser offers the passkey it holds for this site.
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await heading(page, 'Posts').waitFor();
  await page.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(page, 'Security').waitFor();
  await page.locator('li.session', { hasText: 'This session' }).getByText(/with passkey ·/).waitFor();
  await listed.filter({ hasText: 'This laptop' }).getByText(/last used/).waitFor();

  // With the password, the passkey is the second step.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await heading(page, 'Sign in').waitFor();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, 'Two-step verification').waitFor();
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await heading(page, 'Posts').waitFor();
  const before = await app.call('GET', '/api/auth/sessions', { token });
  assert.equal(before.status, 401, 'the password-only session from before the passkey was ended');
  assert.ok((await credentials())[0]!.signCount >= 2, 'the authenticator signed twice');
});
