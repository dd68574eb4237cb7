// Strong sign-in in a real browser: Debian's Chromium driven by playwright-core (as test/web.serial.test.ts).
// Passkeys, with Chromium's WebAuthn virtual authenticator attached through the DevTools protocol (CTAP2,
// internal transport, resident keys, user verification): a passkey is added on the Security screen, then,
// signed out, the user signs in with the passkey alone (no email), and with a password the passkey is the
// second step. Single sign-on against a real OpenID provider (oidc-provider, its own login and consent
// pages): "Sign in with SSO" by email domain, back in AllIN as a new member; a member of an SSO-only
// domain refused a password sign-in with the reason shown. The app runs at http://localhost:PORT:
// WebAuthn refuses an IP address as the relying party's id, and localhost is a secure context without TLS;
// the provider at 127.0.0.1 is another site, as a real one is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Page } from 'playwright-core';
import { heading, shot, signIn, startBrowserApp, WAIT, type BrowserApp } from './support/browser.ts';
import { type TestApp } from './support/app.ts';
import { eventually } from './support/social.ts';
import { ok, person } from './support/fixtures.ts';
import { startTestIdp, type TestIdp } from './support/sso-idp.ts';
import { recentMail } from '../src/modules/mail/outbox.ts';

let web: BrowserApp;
let app: TestApp;
let idp: TestIdp;

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
  // The test's identity provider is on a loopback address.
  web = await startBrowserApp({ host: 'localhost', env: { SSO_ALLOW_PRIVATE_ISSUERS: 'true' } });
  app = web.app;
  idp = await startTestIdp(`${web.url}/api/auth/sso/callback`, { pages: true });
});

after(async () => {
  await web?.stop();
  await idp?.stop();
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

/** A workspace whose domain is verified (by the mailed link) and signed in through the test's provider. */
async function ssoWorkspace(domain: string): Promise<{ ws: string; owner: Awaited<ReturnType<typeof person>> }> {
  const owner = await person(app);
  const ws = (await ok(app, 'POST', '/api/workspaces', owner.token, { name: 'Single Sign-On Co' }, 201)).id as string;
  const d = await ok(app, 'POST', `/api/workspaces/${ws}/sso/domains`, owner.token, { domain }, 201);
  await ok(app, 'POST', `/api/workspaces/${ws}/sso/domains/${d.id}/verification-mail`, owner.token, { mailbox: 'admin' }, 202);
  const [mail] = await recentMail(app.running.services.db, { to: `admin@${domain}`, limit: 1 });
  const token = decodeURIComponent(/\/sso\/verify-domain#token=(\S+)/.exec(mail!.text)![1]!);
  await ok(app, 'POST', '/api/sso/domains/verify', undefined, { token });
  await ok(app, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, defaultRole: 'editor', ssoOnly: false });
  return { ws, owner };
}

/** On the provider's own pages: its login form (the email comes as the login hint), then its consent. */
async function atTheProvider(page: Page, email: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign-in' }).waitFor();
  assert.equal(new URL(page.url()).origin, idp.issuer);
  assert.equal(await page.locator('input[name=login]').inputValue(), email);
  await page.locator('input[name=password]').fill('whatever-the-provider-asks');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** A page that reaches only the app and the provider (the provider's page asks for a web font). */
async function localPage(): Promise<Page> {
  const page = await web.newPage();
  await page.route((url) => !['localhost', '127.0.0.1'].includes(url.hostname), (route) => route.abort());
  return page;
}

test('Sign in with SSO: the provider\'s login and consent pages, then AllIN as a new member; SSO only refuses the password', async () => {
  const domain = `sso${Date.now().toString(36)}.example`;
  const { ws, owner } = await ssoWorkspace(domain);

  // Someone AllIN has never seen: the provider vouches for them, and they join with the default role.
  const email = `sam@${domain}`;
  idp.register({ sub: email, email, emailVerified: true, name: 'Sam Single' });
  const page = await localPage();
  await page.goto('/sign-in');
  await heading(page, 'Sign in').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in with SSO' }).click();
  await atTheProvider(page, email);
  await heading(page, 'Posts').waitFor();
  assert.equal(new URL(page.url()).origin, web.url);
  await page.getByRole('link', { name: /Security and sessions/ }).click();
  await heading(page, 'Security').waitFor();
  await page.locator('li.session', { hasText: 'This session' }).getByText(/with single sign-on ·/).waitFor();
  await shot(page, '28-sso-signed-in');
  const members = await ok(app, 'GET', `/api/workspaces/${ws}/members`, owner.token);
  const joined = members.members.find((m: { email: string }) => m.email === email);
  assert.equal(joined?.role, 'editor', 'a member with the default role');

  // SSO only: a member of the domain who has a password is sent to "Sign in with SSO", and gets in that way.
  await ok(app, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, { issuer: idp.issuer, clientId: idp.clientId, defaultRole: 'editor', ssoOnly: true });
  const member = await app.user({ email: `pat@${domain}`, name: 'Pat Password' });
  idp.register({ sub: member.email, email: member.email, emailVerified: true });
  const other = await localPage();
  await signIn(other, member.email, member.password);
  await other.getByRole('alert').getByText(/signs in through single sign-on only \(workspace "Single Sign-On Co"\): use "Sign in with SSO"/).waitFor();
  await shot(other, '29-sso-only-refused');
  await other.getByRole('button', { name: 'Sign in with SSO' }).click();
  await atTheProvider(other, member.email);
  await heading(other, 'Posts').waitFor();
});
