// Single sign-on with OpenID Connect against a real identity provider (panva's oidc-provider on 127.0.0.1,
// test/support/sso-idp.ts), through the public API as a browser would: domain verification (DNS TXT record
// answered by the test's resolver, and the mailed link), sign-in with just-in-time membership, and what must
// be refused: another nonce, another audience, an expired ID token, an unverified email, a domain that is not
// verified or not the workspace's, another browser's callback, a replayed callback, password and passkey
// sign-in of an SSO-only domain, and an issuer on a private address without the operator's setting.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { startTestApp, strongPassword, type TestApp } from './support/app.ts';
import { newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { SoftAuthenticator } from './support/webauthn.ts';
import { browse, cookieOf, startTestIdp, type IdpPerson, type TestIdp } from './support/sso-idp.ts';
import { recentMail } from '../src/modules/mail/outbox.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { SsoService } from '../src/modules/sso/index.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { ssoConnections } from '../src/modules/sso/schema.ts';
import { keysCommand } from '../src/cli/keys.ts';
import { quietLogger } from './support/env.ts';

const PUBLIC_URL = 'http://allin.test';
const CALLBACK = `${PUBLIC_URL}/api/auth/sso/callback`;
const txt = new Map<string, string[][]>();
let t: TestApp;
let idp: TestIdp;
// Two keys, the first current: `allin keys rotate` moves what the second encrypted under the first.
const NEW_KEY = { id: 'sso-new', key: randomBytes(32) };
const OLD_KEY = { id: 'sso-old', key: randomBytes(32) };

before(async () => {
  t = await startTestApp({
    PUBLIC_URL, SSO_ALLOW_PRIVATE_ISSUERS: 'true', ENCRYPTION_KEYS: [NEW_KEY, OLD_KEY].map((k) => `${k.id}:${k.key.toString('base64')}`).join(','), LIMIT_API_IP: '100000/60', LIMIT_API_USER: '100000/60' }, 'serve', {
    resolveTxt: async (name) => {
      const r = txt.get(name);
      if (!r) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return r;
    },
  });
  idp = await startTestIdp(CALLBACK);
});
after(async () => {
  await t?.stop();
  await idp?.stop();
});

const newDomain = () => `acme${randomBytes(4).toString('hex')}.example`;

/** A workspace with a verified domain and the test provider set up. */
async function ssoWorkspace(opts: { ssoOnly?: boolean; defaultRole?: string } = {}): Promise<{ owner: Person; ws: string; domain: string }> {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner, 'SSO Co');
  const domain = newDomain();
  const claimed = await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains`, owner.token, { domain: domain.toUpperCase() }, 201);
  txt.set(claimed.txtRecord.name, [[claimed.txtRecord.value.slice(0, 10), claimed.txtRecord.value.slice(10)]]);
  await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains/${claimed.id}/verify-dns`, owner.token);
  await ok(t, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, {
    issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, defaultRole: opts.defaultRole ?? 'editor', ssoOnly: opts.ssoOnly ?? false,
  });
  return { owner, ws, domain };
}

interface Outcome { location: URL; refreshToken: string | undefined }

/** Start → provider (login as `who`) → callback, like a browser; `rewrite` may change the way to the provider. */
async function signIn(email: string, who: IdpPerson, opts: { rewrite?: (u: URL) => URL; dropBinding?: boolean } = {}): Promise<Outcome & { callback: URL; jar: Map<string, string> }> {
  idp.nextLogin = who;
  const app = new URL(t.url);
  const { location: callback, jar } = await browse(`${t.url}/api/auth/sso/start?email=${encodeURIComponent(email)}`, CALLBACK, new Map(), opts.rewrite);
  return { ...(await finish(callback, opts.dropBinding ? undefined : cookieOf(jar, app.host, 'allin_sso'))), callback, jar };
}

/** The provider's redirect to the callback, sent to the app with (or without) the browser's binding cookie. */
async function finish(callback: URL, binding: string | undefined): Promise<Outcome> {
  const res = await fetch(`${t.url}${callback.pathname}${callback.search}`, { redirect: 'manual', headers: binding ? { cookie: `allin_sso=${binding}` } : {} });
  assert.equal(res.status, 303);
  const refresh = res.headers.getSetCookie().find((c) => c.startsWith('allin_refresh='));
  return { location: new URL(res.headers.get('location')!), refreshToken: refresh?.slice('allin_refresh='.length, refresh.indexOf(';')) };
}

const refusedWith = (o: Outcome, code: string) => {
  assert.equal(o.location.pathname, '/sign-in', o.location.href);
  assert.equal(o.location.searchParams.get('sso_error'), code, o.location.searchParams.get('sso_message') ?? '');
  assert.ok((o.location.searchParams.get('sso_message') ?? '').length > 20);
  assert.equal(o.refreshToken, undefined);
};

const auditOf = (ws: string, action: string) => t.running.services.db.select().from(auditLog).where(and(eq(auditLog.workspaceId, ws), eq(auditLog.action, action)));

describe('sign-in', () => {
  test('a new person of a verified domain gets an account, joins with the default role, and a session marked sso', async () => {
    const { ws, domain } = await ssoWorkspace({ defaultRole: 'viewer' });
    const email = `ann@${domain}`;
    const o = await signIn(email, { sub: 'ann', email: email.toUpperCase(), emailVerified: true, name: 'Ann Example', amr: ['pwd', 'otp'] });
    assert.equal(o.location.href, `${PUBLIC_URL}/`);
    assert.ok(o.refreshToken, 'the refresh cookie is set');
    const tokens = await ok(t, 'POST', '/api/auth/refresh', undefined, { refreshToken: o.refreshToken });
    const me = await ok(t, 'GET', '/api/auth/me', tokens.accessToken);
    assert.equal(me.email, email);
    assert.equal(me.name, 'Ann Example');
    assert.equal(me.emailVerified, true);
    assert.deepEqual(me.workspaces.map((w: { id: string; role: string }) => [w.id, w.role]), [[ws, 'viewer']]);
    const { sessions } = await ok(t, 'GET', '/api/auth/sessions', tokens.accessToken);
    assert.deepEqual(sessions[0].amr, ['sso', 'idp:pwd', 'idp:otp']);
    const [entry] = await auditOf(ws, 'auth.sso_login');
    assert.equal(entry!.actorUserId, me.id);
    assert.equal((entry!.details as { joinedAs: string }).joinedAs, 'viewer');

    // The same callback again: its state was spent.
    refusedWith(await finish(o.callback, cookieOf(o.jar, new URL(t.url).host, 'allin_sso')), 'SSO_STATE_INVALID');

    // Signing in again keeps the membership (a later role change is not undone) and the account.
    const again = await signIn(email, { sub: 'ann', email, emailVerified: true });
    const t2 = await ok(t, 'POST', '/api/auth/refresh', undefined, { refreshToken: again.refreshToken });
    assert.equal((await ok(t, 'GET', '/api/auth/me', t2.accessToken)).id, me.id);
  });

  test('the provider is discovered once per process, and again when the settings change', async () => {
    const { owner, ws, domain } = await ssoWorkspace();
    const who = { sub: 'dee', email: `dee@${domain}`, emailVerified: true };
    const configured = idp.discoveries;
    assert.ok((await signIn(who.email, who)).refreshToken);
    assert.ok((await signIn(who.email, who)).refreshToken);
    assert.equal(idp.discoveries - configured, 1, 'two sign-ins (a start and a callback each) read the discovery document once');
    await ok(t, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, { issuer: idp.issuer, clientId: idp.clientId, defaultRole: 'viewer', ssoOnly: false });
    const changed = idp.discoveries;
    assert.ok((await signIn(who.email, who)).refreshToken);
    assert.equal(idp.discoveries - changed, 1, 'the settings changed: the next sign-in discovers again');
    await ok(t, 'DELETE', `/api/workspaces/${ws}/sso`, owner.token, undefined, 204);
    // Started by workspace, the sign-in asks the cache for the provider directly: it was dropped.
    const res = await fetch(`${t.url}/api/auth/sso/start?workspace=${ws}`, { redirect: 'manual' });
    assert.equal(new URL(res.headers.get('location')!).searchParams.get('sso_error'), 'SSO_NOT_CONFIGURED', 'a removed provider is not used from the cache');
  });

  test('the callback in another browser (without the cookie set at start) is refused', async () => {
    const { domain } = await ssoWorkspace();
    refusedWith(await signIn(`bob@${domain}`, { sub: 'bob', email: `bob@${domain}`, emailVerified: true }, { dropBinding: true }), 'SSO_STATE_INVALID');
  });

  test('an ID token for another nonce, another audience, or expired is refused', async () => {
    const { ws, domain } = await ssoWorkspace();
    const who = { sub: 'cat', email: `cat@${domain}`, emailVerified: true };
    const now = Math.floor(Date.now() / 1000);
    try {
      idp.tamper = (c) => ({ ...c, nonce: 'not-the-one-allin-sent' });
      refusedWith(await signIn(who.email, who), 'SSO_REFUSED');
      idp.tamper = (c) => ({ ...c, aud: 'some-other-client' });
      refusedWith(await signIn(who.email, who), 'SSO_REFUSED');
      idp.tamper = (c) => ({ ...c, iat: now - 7200, exp: now - 3600 });
      refusedWith(await signIn(who.email, who), 'SSO_REFUSED');
    } finally {
      idp.tamper = null;
    }
    // A nonce changed on the way to the provider (the provider signs what it was given) is refused too.
    refusedWith(await signIn(who.email, who, {
      rewrite: (u) => { if (u.searchParams.has('nonce')) u.searchParams.set('nonce', 'attacker-chosen'); return u; },
    }), 'SSO_REFUSED');
    assert.equal((await auditOf(ws, 'auth.sso_refused')).length, 4);
    assert.equal((await auditOf(ws, 'auth.sso_login')).length, 0);
    // Untouched, the same person gets in.
    assert.ok((await signIn(who.email, who)).refreshToken);
  });

  test('an email the provider has not verified, or of a domain that is not the workspace\'s, is refused', async () => {
    const { domain } = await ssoWorkspace();
    refusedWith(await signIn(`dan@${domain}`, { sub: 'dan', email: `dan@${domain}`, emailVerified: false }), 'SSO_EMAIL_UNVERIFIED');
    // The provider vouches for someone of another domain (a shared IdP): not for this workspace.
    const other = newDomain();
    refusedWith(await signIn(`eve@${domain}`, { sub: 'eve', email: `eve@${other}`, emailVerified: true }), 'SSO_DOMAIN_NOT_ALLOWED');
    const rows = await t.running.services.db.execute<{ n: number }>(`select count(*)::int as n from users where email = 'eve@${other}'`);
    assert.equal(rows.rows[0]!.n, 0, 'no account was made');
  });

  test('a domain that is claimed but not verified does not start a sign-in', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner, 'Unverified');
    const domain = newDomain();
    await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains`, owner.token, { domain }, 201);
    await ok(t, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, defaultRole: 'editor', ssoOnly: true });
    const res = await fetch(`${t.url}/api/auth/sso/start?email=fay@${domain}`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const to = new URL(res.headers.get('location')!);
    assert.equal(to.searchParams.get('sso_error'), 'SSO_NOT_CONFIGURED');
    assert.match(to.searchParams.get('sso_message')!, new RegExp(domain));
    // Nor does "SSO only" bind the people of an unverified domain.
    const u = await t.user({ email: `fay@${domain}` });
    await t.login(u.email, u.password);
  });
});

describe('domains', () => {
  test('DNS and mail verification; a domain verified by one workspace cannot be claimed by another', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner, 'Domains');
    const domain = newDomain();
    const d = await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains`, owner.token, { domain }, 201);
    assert.equal(d.verified, false);
    assert.equal(d.txtRecord.name, `_allin-verification.${domain}`);
    const missing = await t.call('POST', `/api/workspaces/${ws}/sso/domains/${d.id}/verify-dns`, { token: owner.token });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'DOMAIN_NOT_VERIFIED');
    txt.set(d.txtRecord.name, [['allin-domain-verification=someone-elses']]);
    assert.equal((await t.call('POST', `/api/workspaces/${ws}/sso/domains/${d.id}/verify-dns`, { token: owner.token })).status, 400);

    // By mail: the link goes to an administrator mailbox of the domain and works once.
    const sent = await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains/${d.id}/verification-mail`, owner.token, { mailbox: 'hostmaster' }, 202);
    assert.equal(sent.sentTo, `hostmaster@${domain}`);
    const [mail] = await recentMail(t.running.services.db, { to: `hostmaster@${domain}`, limit: 1 });
    const token = decodeURIComponent(/\/sso\/verify-domain#token=(\S+)/.exec(mail!.text)![1]!);
    assert.deepEqual(await ok(t, 'POST', '/api/sso/domains/verify', undefined, { token }), { domain, workspace: 'Domains' });
    assert.equal((await t.call('POST', '/api/sso/domains/verify', { body: { token } })).body.code, 'INVALID_TOKEN');
    const [listed] = (await ok(t, 'GET', `/api/workspaces/${ws}/sso/domains`, owner.token)).items;
    assert.equal(listed.verified, true);
    assert.equal(listed.verifiedBy, 'mail');

    // Another workspace: cannot claim it, nor win it by DNS after claiming it earlier.
    const rival = await person(t);
    const rws = await newWorkspace(t, rival, 'Rival');
    const taken = await t.call('POST', `/api/workspaces/${rws}/sso/domains`, { token: rival.token, body: { domain } });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.code, 'DOMAIN_TAKEN');

    const contested = newDomain();
    const mine = await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains`, owner.token, { domain: contested }, 201);
    const theirs = await ok(t, 'POST', `/api/workspaces/${rws}/sso/domains`, rival.token, { domain: contested }, 201);
    txt.set(mine.txtRecord.name, [[mine.txtRecord.value], [theirs.txtRecord.value]]);
    await ok(t, 'POST', `/api/workspaces/${ws}/sso/domains/${mine.id}/verify-dns`, owner.token);
    const lost = await t.call('POST', `/api/workspaces/${rws}/sso/domains/${theirs.id}/verify-dns`, { token: rival.token });
    assert.equal(lost.status, 409);
    assert.equal(lost.body.code, 'DOMAIN_TAKEN');
  });

  test('settings are for owners and admins, never show the secret, and another workspace\'s domain is not found', async () => {
    const { owner, ws } = await ssoWorkspace();
    const s = await ok(t, 'GET', `/api/workspaces/${ws}/sso`, owner.token);
    assert.equal(s.configured, true);
    assert.equal(s.callbackUrl, CALLBACK);
    assert.ok(!JSON.stringify(s).includes(idp.clientSecret));
    const outsider = await person(t);
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/sso`, { token: outsider.token })).status, 404);
    const other = await newWorkspace(t, outsider, 'Other');
    const [d] = (await ok(t, 'GET', `/api/workspaces/${ws}/sso/domains`, owner.token)).items;
    assert.equal((await t.call('DELETE', `/api/workspaces/${other}/sso/domains/${d.id}`, { token: outsider.token })).status, 404);
    // Changing the issuer without giving the secret again is refused: the secret goes only where it was given.
    const moved = await t.call('PUT', `/api/workspaces/${ws}/sso`, { token: owner.token, body: { issuer: 'https://login.example.net', clientId: idp.clientId, defaultRole: 'editor', ssoOnly: false } });
    assert.equal(moved.status, 400);
    assert.match(moved.body.message, /clientSecret/);
  });
});

describe('SSO only', () => {
  test('password, second-factor and passkey sign-in of the domain\'s people are refused; SSO still works', async () => {
    const { owner, ws, domain } = await ssoWorkspace();
    const email = `gus@${domain}`;
    const password = strongPassword();
    const u = await t.user({ email, password });
    const s = await t.login(email, password);
    const key = new SoftAuthenticator({ origin: PUBLIC_URL, rpId: 'allin.test' });
    const { options } = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password });
    await ok(t, 'POST', '/api/auth/passkeys', s.accessToken, { name: 'Laptop', response: key.create(options) }, 201);
    const later = await t.login(email, password);
    assert.equal(later.secondFactorRequired, true);
    const live = await ok(t, 'POST', '/api/auth/login/second-factor/passkey-options', undefined, { challengeToken: later.challengeToken });

    await ok(t, 'PUT', `/api/workspaces/${ws}/sso`, owner.token, { issuer: idp.issuer, clientId: idp.clientId, defaultRole: 'editor', ssoOnly: true });

    const expectSso = (r: { status: number; body: { code: string; message: string } }) => {
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, 'SSO_REQUIRED');
      assert.match(r.body.message, /Sign in with SSO/);
    };
    expectSso(await t.call('POST', '/api/auth/login', { body: { email, password } }));
    expectSso(await t.call('POST', '/api/auth/login', { body: { email: email.toUpperCase(), password: 'wrong-but-irrelevant-1' } }));
    expectSso(await t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: later.challengeToken, passkey: key.get(live.options) } }));
    const po = await ok(t, 'POST', '/api/auth/passkey/options', undefined, undefined);
    expectSso(await t.call('POST', '/api/auth/passkey/login', { body: { ceremonyToken: po.ceremonyToken, response: key.get(po.options) } }));
    // The password session from before ended when the domain became SSO only.
    const refreshed = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: s.refreshToken } });
    assert.equal(refreshed.status, 401);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);
    // Owners of other domains are not bound.
    await t.login(owner.email, owner.password);

    const o = await signIn(email, { sub: 'gus', email, emailVerified: true });
    const tokens = await ok(t, 'POST', '/api/auth/refresh', undefined, { refreshToken: o.refreshToken });
    assert.equal((await ok(t, 'GET', '/api/auth/me', tokens.accessToken)).id, u.id);
  });
});

describe('keys rotate', () => {
  test('the client secret moves to the current key, and sign-in still works', async () => {
    const { ws, domain } = await ssoWorkspace();
    const db = t.running.services.db;
    const row = () => db.select().from(ssoConnections).where(eq(ssoConnections.workspaceId, ws)).then((r) => r[0]!);
    // As stored before the current key was added.
    await db.update(ssoConnections).set({ clientSecretEnc: new TokenCipher([OLD_KEY]).encrypt(idp.clientSecret, `sso:${ws}`) }).where(eq(ssoConnections.workspaceId, ws));
    assert.match((await row()).clientSecretEnc, /^v1\.sso-old\./);

    const printed: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => { printed.push(args.join(' ')); };
    try {
      // Its exit code is not judged: the run's database holds other test files' secrets under keys this one lacks.
      await keysCommand(['rotate'], t.running.config, quietLogger());
    } finally {
      console.log = log;
    }
    assert.match(printed.join('\n'), /Re-encrypted [1-9]\d* single sign-on client secrets under key "sso-new"/);
    const rotated = (await row()).clientSecretEnc;
    assert.match(rotated, /^v1\.sso-new\./);
    assert.equal(new TokenCipher([NEW_KEY]).decrypt(rotated, `sso:${ws}`), idp.clientSecret);

    const who = { sub: 'rot', email: `rot@${domain}`, emailVerified: true };
    const o = await signIn(who.email, who);
    assert.ok(o.refreshToken, o.location.href);
  });
});

describe('issuer address', () => {
  test('an issuer on a private or loopback address is refused unless the operator allows it', async () => {
    const svc = t.running.services;
    // These services refuse before they store anything: no other process has a cache to drop.
    const noBus = { publish: async () => {}, on: () => {}, close: async () => {} };
    const strict = new SsoService({
      db: svc.db, store: svc.store, http: svc.http, metrics: t.running.metrics, bus: noBus, cipher: new TokenCipher([{ id: 'k', key: randomBytes(32) }]), publicUrl: PUBLIC_URL,
      allowPrivateIssuers: false, allowHttpIssuers: true, auth: svc.auth, revokeNonSsoSessions: async () => 0,
    });
    const owner = await person(t);
    const ws = await newWorkspace(t, owner, 'Strict');
    await assert.rejects(
      strict.configure(ws, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, defaultRole: 'editor', ssoOnly: false }, owner.id, { ip: null, userAgent: null }),
      (err: Error & { code?: string }) => err.code === 'SSO_ISSUER_BLOCKED' && /SSO_ALLOW_PRIVATE_ISSUERS/.test(err.message),
    );
    // Plain http is refused where it is not allowed (production).
    const prod = new SsoService({
      db: svc.db, store: svc.store, http: svc.http, metrics: t.running.metrics, bus: noBus, cipher: new TokenCipher([{ id: 'k', key: randomBytes(32) }]), publicUrl: PUBLIC_URL,
      allowPrivateIssuers: true, allowHttpIssuers: false, auth: svc.auth, revokeNonSsoSessions: async () => 0,
    });
    await assert.rejects(
      prod.configure(ws, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, defaultRole: 'editor', ssoOnly: false }, owner.id, { ip: null, userAgent: null }),
      (err: Error & { code?: string }) => err.code === 'VALIDATION_FAILED' && /https/.test(err.message),
    );
  });
});
