// Passkeys (WebAuthn) through the public API, with a software authenticator that makes real attestation
// and assertion responses (test/support/webauthn.ts): registration, sign-in with a passkey alone and as
// the second factor, step-up, removal; and what must be refused: a replayed assertion, another origin,
// a cloned authenticator, an answer bound to another asker, a password alone, another user's passkey.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { newWorkspace, ok } from './support/fixtures.ts';
import { SoftAuthenticator } from './support/webauthn.ts';
import { passkeys, sessions } from '../src/modules/auth/schema.ts';
import { auditLog } from '../src/modules/audit/schema.ts';

const ORIGIN = 'https://allin.example';
let t: TestApp;
before(async () => {
  t = await startTestApp({
    PUBLIC_URL: ORIGIN, LIMIT_LOGIN_FAILURES_ACCOUNT_IP: '50/900', LIMIT_API_IP: '100000/60', LIMIT_API_USER: '100000/60',
  });
});
after(() => t.stop());

interface WithPasskey { id: string; email: string; password: string; token: string; refreshToken: string; key: SoftAuthenticator; passkeyId: string; recoveryCodes: string[] }

/** A signed-in person who has added a passkey as their first factor (that session stays signed in). */
async function withPasskey(name = 'Work laptop'): Promise<WithPasskey> {
  const u = await t.user();
  const s = await t.login(u.email, u.password);
  const key = new SoftAuthenticator({ origin: ORIGIN, rpId: 'allin.example' });
  const { options } = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password: u.password });
  const added = await ok(t, 'POST', '/api/auth/passkeys', s.accessToken, { name, response: key.create(options) }, 201);
  return { ...u, token: s.accessToken, refreshToken: s.refreshToken, key, passkeyId: added.id, recoveryCodes: added.recoveryCodes };
}

const signInOptions = () => ok(t, 'POST', '/api/auth/passkey/options', undefined, undefined);
const passkeyLogin = (ceremonyToken: string, response: unknown) => t.call('POST', '/api/auth/passkey/login', { body: { ceremonyToken, response } });
const auditOf = async (userId: string, action: string) => t.running.services.db.select().from(auditLog)
  .where(and(eq(auditLog.actorUserId, userId), eq(auditLog.action, action)));
const currentSession = async (token: string) => (await ok(t, 'GET', '/api/auth/sessions', token)).sessions.find((s: { current: boolean }) => s.current);

describe('registration', () => {
  test('needs the password, stores the public key, and as the first factor answers recovery codes and ends the other sessions', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    const other = await t.login(u.email, u.password);
    const key = new SoftAuthenticator({ origin: ORIGIN, rpId: 'allin.example' });

    const wrong = await t.call('POST', '/api/auth/passkeys/registration-options', { token: s.accessToken, body: { password: 'not-the-password-at-all' } });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, 'WRONG_PASSWORD');

    const { options } = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password: u.password });
    assert.equal(options.rp.id, 'allin.example');
    assert.equal(options.attestation, 'none');
    assert.equal(Buffer.from(options.user.id, 'base64url').toString(), u.id);

    // From another origin: refused, and the challenge is spent with it.
    const phished = await t.call('POST', '/api/auth/passkeys', { token: s.accessToken, body: { name: 'Phished', response: key.create(options, 'https://allin.example.evil.test') } });
    assert.equal(phished.status, 400);
    assert.equal(phished.body.code, 'PASSKEY_REFUSED');
    const spent = await t.call('POST', '/api/auth/passkeys', { token: s.accessToken, body: { name: 'Laptop', response: key.create(options) } });
    assert.equal(spent.status, 400);
    assert.equal(spent.body.code, 'PASSKEY_CHALLENGE_EXPIRED');

    // The challenge is bound to the session that asked: another session of the same user cannot answer it.
    const fresh = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password: u.password });
    const elsewhere = await t.call('POST', '/api/auth/passkeys', { token: other.accessToken, body: { name: 'Laptop', response: key.create(fresh.options) } });
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.body.code, 'PASSKEY_CHALLENGE_EXPIRED');

    const again = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password: u.password });
    const added = await ok(t, 'POST', '/api/auth/passkeys', s.accessToken, { name: '  Laptop ', response: key.create(again.options) }, 201);
    assert.equal(added.recoveryCodes.length, 10);
    const [row] = await t.running.services.db.select().from(passkeys).where(eq(passkeys.id, added.id));
    assert.equal(row!.userId, u.id);
    assert.equal(row!.credentialId, key.id);
    assert.equal(row!.name, 'Laptop');
    assert.ok(row!.publicKey.length > 64, 'the COSE public key is stored');

    const list = await ok(t, 'GET', '/api/auth/passkeys', s.accessToken);
    assert.deepEqual(list.passkeys.map((p: { name: string; lastUsedAt: null; synced: boolean }) => [p.name, p.lastUsedAt, p.synced]), [['Laptop', null, false]]);
    const status = await ok(t, 'GET', '/api/auth/second-factor', s.accessToken);
    assert.equal(status.passkeys, 1);
    assert.equal(status.recoveryCodesLeft, 10);
    assert.ok(status.sessionAmr.includes('hwk'), 'the session that added it proved it');
    assert.equal((await t.call('POST', '/api/auth/refresh', { body: { refreshToken: other.refreshToken } })).status, 401, 'the password-only session is ended');
    const [audited] = await auditOf(u.id, 'auth.passkey_added');
    assert.equal((audited!.details as { firstFactor: boolean }).firstFactor, true);

    // A second passkey: needs a fresh second factor, and is not the first (no recovery codes again).
    await t.running.services.db.update(sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(sessions.userId, u.id));
    const stale = await t.call('POST', '/api/auth/passkeys/registration-options', { token: s.accessToken, body: { password: u.password } });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.code, 'STEP_UP_REQUIRED');
    const step = await ok(t, 'POST', '/api/auth/step-up/passkey-options', s.accessToken);
    await ok(t, 'POST', '/api/auth/step-up', s.accessToken, { passkey: key.get(step.options) });
    const key2 = new SoftAuthenticator({ origin: ORIGIN, rpId: 'allin.example' });
    const second = await ok(t, 'POST', '/api/auth/passkeys/registration-options', s.accessToken, { password: u.password });
    assert.deepEqual(second.options.excludeCredentials.map((c: { id: string }) => c.id), [key.id]);
    const added2 = await ok(t, 'POST', '/api/auth/passkeys', s.accessToken, { name: 'Security key', response: key2.create(second.options) }, 201);
    assert.equal(added2.recoveryCodes, null);
    assert.deepEqual((await ok(t, 'GET', '/api/auth/passkeys', s.accessToken)).passkeys.map((p: { name: string }) => p.name), ['Laptop', 'Security key']);
  });
});

describe('sign-in with a passkey alone', () => {
  test('signs in without an email; a replayed assertion, another origin and a cloned authenticator are refused', async () => {
    const p = await withPasskey();
    const first = await signInOptions();
    assert.equal(first.options.userVerification, 'required');
    assert.deepEqual(first.options.allowCredentials ?? [], [], 'discoverable: no credential named');
    const assertion = p.key.get(first.options);
    const signedIn = await passkeyLogin(first.ceremonyToken, assertion);
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.userId, p.id);
    const session = await currentSession(signedIn.body.accessToken);
    assert.deepEqual(session.amr, ['hwk', 'mfa']);
    const listed = (await ok(t, 'GET', '/api/auth/passkeys', signedIn.body.accessToken)).passkeys[0];
    assert.ok(listed.lastUsedAt, 'last use recorded');
    const [login] = (await auditOf(p.id, 'auth.login')).filter((a) => (a.details as { amr: string[] }).amr.includes('hwk'));
    assert.ok(login, 'the sign-in is audited with its methods');

    // The same assertion again: its challenge was spent.
    const replay = await passkeyLogin(first.ceremonyToken, assertion);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'INVALID_PASSKEY');
    // Nor with a new ceremony: the old assertion signs the old challenge.
    const second = await signInOptions();
    assert.equal((await passkeyLogin(second.ceremonyToken, assertion)).status, 401);
    // A ceremony's answer with another ceremony's token.
    const third = await signInOptions();
    const fourth = await signInOptions();
    assert.equal((await passkeyLogin(fourth.ceremonyToken, p.key.get(third.options))).status, 401);

    // Signed on another origin (a phishing page relaying the challenge).
    const fifth = await signInOptions();
    const phished = await passkeyLogin(fifth.ceremonyToken, p.key.get(fifth.options, { origin: 'https://allin-example.evil.test' }));
    assert.equal(phished.status, 401);

    // A clone: a valid signature whose counter goes back.
    const [{ counter }] = await t.running.services.db.select({ counter: passkeys.counter }).from(passkeys).where(eq(passkeys.id, p.passkeyId)) as [{ counter: number }];
    const sixth = await signInOptions();
    const cloned = await passkeyLogin(sixth.ceremonyToken, p.key.get(sixth.options, { counter: counter - 1 }));
    assert.equal(cloned.status, 401);
    const [regressed] = await auditOf(p.id, 'auth.passkey_counter_regressed');
    assert.deepEqual(regressed!.details, { storedCounter: counter, presentedCounter: counter - 1 });
    assert.ok((await auditOf(p.id, 'auth.passkey_sign_in_failed')).length >= 4, 'each refusal audited');

    // The genuine authenticator, counting on, still signs in.
    const seventh = await signInOptions();
    p.key.counter = counter;
    assert.equal((await passkeyLogin(seventh.ceremonyToken, p.key.get(seventh.options))).status, 200);

    // An unknown credential.
    const stranger = new SoftAuthenticator({ origin: ORIGIN, rpId: 'allin.example' });
    const eighth = await signInOptions();
    assert.equal((await passkeyLogin(eighth.ceremonyToken, stranger.get(eighth.options))).status, 401);
  });
});

describe('the passkey as second factor', () => {
  test('a password alone never yields a session; the passkey finishes the sign-in, bound to its challenge token', async () => {
    const p = await withPasskey();
    const login = await t.call('POST', '/api/auth/login', { body: { email: p.email, password: p.password } });
    assert.equal(login.status, 200);
    assert.equal(login.body.secondFactorRequired, true, JSON.stringify(login.body));
    assert.deepEqual(login.body.methods, ['passkey', 'recovery_code']);
    assert.equal(login.body.accessToken, undefined);
    assert.equal(login.body.refreshToken, undefined);
    assert.equal((await t.call('GET', '/api/auth/me', { token: login.body.challengeToken })).status, 401, 'the challenge token is not a session');

    // Options for another sign-in's challenge do not finish this one.
    const otherLogin = await t.call('POST', '/api/auth/login', { body: { email: p.email, password: p.password } });
    const otherOptions = await ok(t, 'POST', '/api/auth/login/second-factor/passkey-options', undefined, { challengeToken: otherLogin.body.challengeToken });
    const crossed = await t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: login.body.challengeToken, passkey: p.key.get(otherOptions.options) } });
    assert.equal(crossed.status, 401);
    assert.equal(crossed.body.code, 'INVALID_PASSKEY');

    const { options } = await ok(t, 'POST', '/api/auth/login/second-factor/passkey-options', undefined, { challengeToken: login.body.challengeToken });
    assert.deepEqual(options.allowCredentials.map((c: { id: string }) => c.id), [p.key.id]);
    const done = await t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: login.body.challengeToken, passkey: p.key.get(options) } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual((await currentSession(done.body.accessToken)).amr, ['pwd', 'hwk']);
    assert.equal((await t.call('POST', '/api/auth/login/second-factor/passkey-options', { body: { challengeToken: login.body.challengeToken } })).status, 401, 'the challenge is spent');

    // Another user's passkey does not stand in for this user's.
    const q = await withPasskey();
    const qLogin = await t.call('POST', '/api/auth/login', { body: { email: q.email, password: q.password } });
    const qOptions = await ok(t, 'POST', '/api/auth/login/second-factor/passkey-options', undefined, { challengeToken: qLogin.body.challengeToken });
    assert.equal((await t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: qLogin.body.challengeToken, passkey: p.key.get(qOptions.options) } })).status, 401);

    // The workspace policy counts a passkey as a factor.
    const ws = await newWorkspace(t, { token: p.token }, 'Passkey policy');
    assert.deepEqual(await ok(t, 'PUT', `/api/workspaces/${ws}/security`, p.token, { requireSecondFactor: true }), { requireSecondFactor: true });
    await ok(t, 'GET', `/api/workspaces/${ws}`, p.token);
  });
});

describe('removal', () => {
  test('needs a fresh second factor; another user\'s passkey is not found; with the last factor the recovery codes go', async () => {
    const p = await withPasskey();
    const q = await withPasskey();
    assert.equal((await t.call('DELETE', `/api/auth/passkeys/${q.passkeyId}`, { token: p.token })).status, 404);
    assert.equal((await t.running.services.db.select().from(passkeys).where(eq(passkeys.id, q.passkeyId))).length, 1);

    await t.running.services.db.update(sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(sessions.userId, p.id));
    const stale = await t.call('DELETE', `/api/auth/passkeys/${p.passkeyId}`, { token: p.token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.code, 'STEP_UP_REQUIRED');
    // A step-up answer bound to another session is refused.
    const elsewhere = await passkeySession(p);
    const theirs = await ok(t, 'POST', '/api/auth/step-up/passkey-options', elsewhere);
    const refused = await t.call('POST', '/api/auth/step-up', { token: p.token, body: { passkey: p.key.get(theirs.options) } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INVALID_PASSKEY');

    const step = await ok(t, 'POST', '/api/auth/step-up/passkey-options', p.token);
    await ok(t, 'POST', '/api/auth/step-up', p.token, { passkey: p.key.get(step.options) });
    assert.equal((await t.call('DELETE', `/api/auth/passkeys/${p.passkeyId}`, { token: p.token })).status, 204);
    assert.equal((await auditOf(p.id, 'auth.passkey_removed')).length, 1);
    const status = await ok(t, 'GET', '/api/auth/second-factor', p.token);
    assert.equal(status.passkeys, 0);
    assert.equal(status.recoveryCodesLeft, 0);
    // No factor left: the password alone signs in again, and the recovery codes are no longer accepted.
    const login = await t.login(p.email, p.password);
    assert.ok(login.accessToken);
  });
});

/** Another session of the person, signed in with the passkey alone. */
async function passkeySession(p: WithPasskey): Promise<string> {
  const o = await signInOptions();
  const r = await passkeyLogin(o.ceremonyToken, p.key.get(o.options));
  assert.equal(r.status, 200);
  return r.body.accessToken;
}
