// Passkeys in a real browser: Debian's Chromium driven by playwright-core (as test/web.serial.test.ts),
// with Chromium's WebAuthn virtual authenticator attached through the DevTools protocol (CTAP2, internal
// transport, resident keys, user verification). A passkey is added on the Security screen, then, signed
// out, the user signs in with the passkey alone (no email), and with a password the passkey is the
// second step. The app runs at http://localhost:PORT: WebAuthn refuses an IP address as the relying
// party's id, and localhost is a secure context without TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Page } from 'playwright-core';
import { heading, shot, signIn, startBrowserApp, WAIT, type BrowserApp } from './support/browser.ts';
import { type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';

let web: BrowserApp;
let app: TestApp;

/** A page with a virtual authenticator of its own: a platform authenticator that verifies the user. */
async function pageWithAuthenticator(): Promise<{ page: Page; credentials: () => Promise<{ isResidentCredential: boolean; signCount: number }[]> }> {
  const page = await web.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { page, credentials };
}

before(async () => {
  web = await startBrowserApp({ host: 'localhost' });
  app = web.app;
});

after(async () => {
  await web?.stop();
});

test('add a passkey on the Security screen, sign out, sign in with the passkey alone; with a password it is the second step', async () => {
  const user = await app.user({ name: 'Pat Passkey' });
  const token = (await app.login(user.email, user.password)).accessToken as string;
  await app.call('POST', '/api/workspaces', { token, body: { name: 'Passkey workspace' } });

  const { page, credentials } = await pageWithAuthenticator();
  await signIn(page, user.email, user.password);
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
  await shot(page, '27-passkeys');
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
