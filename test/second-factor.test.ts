// Second factor (authenticator codes, recovery codes, the sign-in challenge, step-up, the workspace policy),
// through the public API. Codes are computed on the injected clock, which the tests move: no sleeping.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { codeAt, TOTP_PERIOD_SECONDS } from '../src/modules/auth/totp.ts';
import { sessions, totpFactors } from '../src/modules/auth/schema.ts';
import { mailOutbox } from '../src/modules/mail/schema.ts';

const STEP = TOTP_PERIOD_SECONDS * 1000;
// Ten seconds into a step: a code of the step a moment later is still the same code.
let clock = Date.UTC(2031, 0, 1) + 10_000;
const tick = (steps = 1) => { clock += steps * STEP; };
const codeNow = (secret: string, stepsAway = 0) => codeAt(secret, clock + stepsAway * STEP);

let t: TestApp;
before(async () => {
  t = await startTestApp({
    LIMIT_LOGIN_FAILURES_ACCOUNT_IP: '10/900', LIMIT_REGISTER_IP: '1000/3600', LIMIT_PASSWORD_RESET_IP: '1000/900',
    LIMIT_API_IP: '100000/60', LIMIT_API_USER: '100000/60',
  }, 'serve', { now: () => clock });
});
after(() => t.stop());

interface Enrolled extends Person { secret: string; recoveryCodes: string[]; refreshToken: string }

/** A signed-in person who has set up an authenticator app (the session that confirmed it stays signed in). */
async function enrolled(): Promise<Enrolled> {
  const u = await t.user();
  const s = await t.login(u.email, u.password);
  const start = await ok(t, 'POST', '/api/auth/second-factor/totp', s.accessToken, { password: u.password }, 201);
  const secret = start.secret as string;
  const { recoveryCodes } = await ok(t, 'POST', '/api/auth/second-factor/totp/confirm', s.accessToken, { code: codeNow(secret) });
  tick(); // the code just used is spent
  return { id: u.id, email: u.email, password: u.password, token: s.accessToken, refreshToken: s.refreshToken, secret, recoveryCodes };
}

const challenge = async (p: { email: string; password: string }, extra: Record<string, unknown> = {}) => {
  const r = await t.call('POST', '/api/auth/login', { body: { email: p.email, password: p.password, ...extra } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.secondFactorRequired, true);
  return r;
};
const secondStep = (challengeToken: string, proof: Record<string, string>) =>
  t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken, ...proof } });
const liveSessions = async (userId: string) => (await t.running.services.db.select({ id: sessions.id }).from(sessions)
  .where(sql`${sessions.userId} = ${userId} and ${sessions.revokedAt} is null`)).length;
/** Makes the session's last proof of the factor older than the step-up window, as time passing would. */
const staleStepUp = async (token: string) => {
  const me = await ok(t, 'GET', '/api/auth/sessions', token);
  const current = me.sessions.find((s: { current: boolean }) => s.current).id;
  await t.running.services.db.update(sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(sessions.id, current));
};

describe('enrolment', () => {
  test('answers an otpauth URI and a QR code, needs the password, and is confirmed by a first code', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    const wrongPassword = await t.call('POST', '/api/auth/second-factor/totp', { token: s.accessToken, body: { password: 'not-the-password-at-all' } });
    assert.equal(wrongPassword.status, 400);
    assert.equal(wrongPassword.body.code, 'WRONG_PASSWORD');

    const start = await ok(t, 'POST', '/api/auth/second-factor/totp', s.accessToken, { password: u.password }, 201);
    assert.match(start.otpauthUri, /^otpauth:\/\/totp\/AllIN:.+\?.*secret=[A-Z2-7]+/);
    assert.ok(start.otpauthUri.includes(`secret=${start.secret}`));
    assert.match(start.qrCode, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from(start.qrCode.split(',')[1], 'base64').toString(), /^<svg /);
    // Stored encrypted, never as the secret itself.
    const [row] = await t.running.services.db.select().from(totpFactors).where(eq(totpFactors.userId, u.id));
    assert.ok(row!.secretEnc.startsWith('v1.') && !row!.secretEnc.includes(start.secret));
    assert.equal(row!.confirmedAt, null);

    // Not yet confirmed: a password alone still signs in.
    assert.ok((await t.login(u.email, u.password)).accessToken);
    const wrong = await t.call('POST', '/api/auth/second-factor/totp/confirm', { token: s.accessToken, body: { code: '000000' === codeNow(start.secret) ? '111111' : '000000' } });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, 'INVALID_CODE');

    const confirmed = await ok(t, 'POST', '/api/auth/second-factor/totp/confirm', s.accessToken, { code: codeNow(start.secret) });
    assert.equal(confirmed.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.recoveryCodes).size, 10);
    const status = await ok(t, 'GET', '/api/auth/second-factor', s.accessToken);
    assert.ok(status.totp.confirmedAt);
    assert.equal(status.recoveryCodesLeft, 10);
    assert.deepEqual(status.sessionAmr, ['pwd', 'otp']);
    // Confirmed: asking for another secret is refused until this one is removed.
    assert.equal((await t.call('POST', '/api/auth/second-factor/totp', { token: s.accessToken, body: { password: u.password } })).status, 409);
    tick();
  });

  test('confirming ends the sessions signed in with a password alone, and their refresh tokens', async () => {
    const u = await t.user();
    const other = await t.login(u.email, u.password);
    const s = await t.login(u.email, u.password);
    const start = await ok(t, 'POST', '/api/auth/second-factor/totp', s.accessToken, { password: u.password }, 201);
    await ok(t, 'POST', '/api/auth/second-factor/totp/confirm', s.accessToken, { code: codeNow(start.secret) });
    tick();
    assert.equal((await t.call('GET', '/api/auth/me', { token: other.accessToken })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/refresh', { body: { refreshToken: other.refreshToken } })).status, 401);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 200);
  });
});

describe('codes', () => {
  test('a code signs in once; its replay is refused, with a new challenge and in a step-up', async () => {
    const p = await enrolled();
    const before = await liveSessions(p.id);
    const c1 = await challenge(p);
    assert.equal(c1.body.accessToken, undefined);
    assert.equal(c1.body.refreshToken, undefined);
    assert.equal(await liveSessions(p.id), before, 'the password step opens no session');

    const code = codeNow(p.secret);
    const signedIn = await secondStep(c1.body.challengeToken, { code });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.ok(signedIn.body.accessToken && signedIn.body.refreshToken);
    const list = await ok(t, 'GET', '/api/auth/sessions', signedIn.body.accessToken);
    assert.deepEqual(list.sessions.find((s: { current: boolean }) => s.current).amr, ['pwd', 'otp']);
    const activity = await ok(t, 'GET', '/api/auth/activity', signedIn.body.accessToken);
    assert.deepEqual(activity.events.find((e: { action: string }) => e.action === 'auth.login').amr, ['pwd', 'otp']);

    const c2 = await challenge(p);
    const replay = await secondStep(c2.body.challengeToken, { code });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'INVALID_CODE');
    const replayStepUp = await t.call('POST', '/api/auth/step-up', { token: signedIn.body.accessToken, body: { code } });
    assert.equal(replayStepUp.status, 400);
    // The spent challenge cannot be used again, even with a good code.
    tick();
    const again = await secondStep(c1.body.challengeToken, { code: codeNow(p.secret) });
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'INVALID_CHALLENGE');
    assert.equal((await secondStep(c2.body.challengeToken, { code: codeNow(p.secret) })).status, 200);
    tick();
  });

  test('a code one step early or late is accepted; two steps either way is refused', async () => {
    const p = await enrolled();
    tick(3); // the step used at enrolment stays behind the codes below
    const late = await secondStep((await challenge(p)).body.challengeToken, { code: codeNow(p.secret, -1) });
    assert.equal(late.status, 200, 'one step behind (a slow clock)');
    const early = await secondStep((await challenge(p)).body.challengeToken, { code: codeNow(p.secret, +1) });
    assert.equal(early.status, 200, 'one step ahead (a fast clock)');

    tick(10); // well past the last step used: what follows is refused for drift, not for replay
    for (const away of [-2, +2]) {
      const r = await secondStep((await challenge(p)).body.challengeToken, { code: codeNow(p.secret, away) });
      assert.equal(r.status, 401, `${away} steps away`);
      assert.equal(r.body.code, 'INVALID_CODE');
    }
    assert.equal((await secondStep((await challenge(p)).body.challengeToken, { code: codeNow(p.secret) })).status, 200);
    tick();
  });

  test('wrong codes count against the account like wrong passwords: past the limit even the right password is refused', async () => {
    const p = await enrolled();
    const wrongCode = (code: string) => (code === '123456' ? '654321' : '123456');
    let failures = 0;
    let c = await challenge(p);
    for (let i = 0; i < 5; i++, failures++) assert.equal((await secondStep(c.body.challengeToken, { code: wrongCode(codeNow(p.secret)) })).status, 401);
    // A challenge takes five wrong codes, then it is spent.
    const spent = await secondStep(c.body.challengeToken, { code: codeNow(p.secret) });
    assert.equal(spent.body.code, 'INVALID_CHALLENGE');
    c = await challenge(p);
    for (; failures < 10; failures++) assert.equal((await secondStep(c.body.challengeToken, { code: wrongCode(codeNow(p.secret)) })).status, 401);
    const locked = await t.call('POST', '/api/auth/login', { body: { email: p.email, password: p.password } });
    assert.equal(locked.status, 429);
    assert.ok(locked.headers.get('retry-after'));
    const blockedCode = await t.call('POST', '/api/auth/step-up', { token: p.token, body: { code: codeNow(p.secret) } });
    assert.equal(blockedCode.status, 429, 'a step-up code draws on the same allowance');
  });
});

describe('recovery codes', () => {
  test('each works once, in sign-in and step-up, and regenerating replaces them (after a fresh factor)', async () => {
    const p = await enrolled();
    const [first, second, third] = p.recoveryCodes;
    const signedIn = await secondStep((await challenge(p)).body.challengeToken, { recoveryCode: first!.toUpperCase() });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    const token = signedIn.body.accessToken;
    const list = await ok(t, 'GET', '/api/auth/sessions', token);
    assert.deepEqual(list.sessions.find((s: { current: boolean }) => s.current).amr, ['pwd', 'recovery']);
    const reused = await secondStep((await challenge(p)).body.challengeToken, { recoveryCode: first! });
    assert.equal(reused.status, 401);
    assert.equal((await ok(t, 'GET', '/api/auth/second-factor', token)).recoveryCodesLeft, 9);

    await staleStepUp(token);
    const refused = await t.call('POST', '/api/auth/second-factor/recovery-codes', { token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'STEP_UP_REQUIRED');
    await ok(t, 'POST', '/api/auth/step-up', token, { recoveryCode: second! });
    assert.equal((await t.call('POST', '/api/auth/step-up', { token, body: { recoveryCode: second! } })).status, 400, 'a recovery code works once in step-up too');
    const fresh = await ok(t, 'POST', '/api/auth/second-factor/recovery-codes', token);
    assert.equal(fresh.recoveryCodes.length, 10);
    assert.equal((await secondStep((await challenge(p)).body.challengeToken, { recoveryCode: third! })).status, 401, 'the old codes stop working');
    assert.equal((await secondStep((await challenge(p)).body.challengeToken, { recoveryCode: fresh.recoveryCodes[0] })).status, 200);
  });
});

describe('a password alone never yields a session for a user with a second factor', () => {
  test('sign-in: no tokens and no cookie, whichever transport is asked for', async () => {
    const p = await enrolled();
    const before = await liveSessions(p.id);
    for (const extra of [{}, { refreshTokenTransport: 'cookie' }, { rememberMe: true }]) {
      const r = await challenge(p, extra);
      assert.deepEqual(Object.keys(r.body).sort(), ['challengeExpiresAt', 'challengeToken', 'methods', 'secondFactorRequired']);
      assert.equal(r.headers.get('set-cookie'), null);
    }
    assert.equal(await liveSessions(p.id), before);
  });

  test('the challenge token is not an access token, not a refresh token, and not accepted by the other routes', async () => {
    const p = await enrolled();
    const ct = (await challenge(p)).body.challengeToken as string;
    assert.equal((await t.call('GET', '/api/auth/me', { token: ct })).status, 401);
    assert.equal((await t.call('GET', '/api/workspaces', { token: ct })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/refresh', { body: { refreshToken: ct } })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/step-up', { token: ct, body: { code: codeNow(p.secret) } })).status, 401);
    assert.equal((await t.call('POST', '/api/invitations/accept', { token: ct, body: { token: 'inv_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' } })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/login/second-factor', { body: { challengeToken: ct } })).status, 400, 'no proof: refused');
    const passwordAsCode = await secondStep(ct, { code: p.password });
    assert.ok([400, 401].includes(passwordAsCode.status) && !passwordAsCode.body.accessToken, JSON.stringify(passwordAsCode.body));
    // Still usable with a real code: the refusals above spent nothing but counted failures.
    assert.equal((await secondStep(ct, { code: codeNow(p.secret) })).status, 200);
    tick();
  });

  test('refresh: a session from before enrolment is gone; a session after the code step keeps its methods across rotation', async () => {
    const p = await enrolled();
    const signedIn = await secondStep((await challenge(p)).body.challengeToken, { code: codeNow(p.secret) });
    tick();
    const rotated = await ok(t, 'POST', '/api/auth/refresh', undefined, { refreshToken: signedIn.body.refreshToken });
    const list = await ok(t, 'GET', '/api/auth/sessions', rotated.accessToken);
    assert.deepEqual(list.sessions.find((s: { current: boolean }) => s.current).amr, ['pwd', 'otp']);
  });

  test('password reset changes the password and signs in no one: the next sign-in still asks for the code', async () => {
    const p = await enrolled();
    await ok(t, 'POST', '/api/auth/forgot-password', undefined, { email: p.email }, 202);
    const rows = await t.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, p.email));
    const text = rows.map((r) => r.text).reverse().find((x) => x.includes('/reset-password#token='))!;
    const resetToken = decodeURIComponent(/#token=([^\s]+)/.exec(text)![1]!);
    const newPassword = `${p.password}-renewed`;
    const reset = await ok(t, 'POST', '/api/auth/reset-password', undefined, { token: resetToken, newPassword });
    assert.deepEqual(reset, { reset: true });
    assert.equal(await liveSessions(p.id), 0, 'every session ended, none opened');
    await challenge({ email: p.email, password: newPassword });
  });

  test('API-key creation, password change, factor removal and account deletion need a fresh second factor', async () => {
    const p = await enrolled();
    const ws = await newWorkspace(t, p);
    // Fresh right after sign-in (the code was just proven): a key can be made.
    await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, p.token, { name: 'fresh', scopes: ['read'] }, 201);

    await staleStepUp(p.token);
    const attempts: [string, string, unknown][] = [
      ['POST', `/api/workspaces/${ws}/api-keys`, { name: 'stale', scopes: ['read'] }],
      ['POST', '/api/auth/password', { currentPassword: p.password, newPassword: `${p.password}-next` }],
      ['DELETE', '/api/auth/second-factor/totp', undefined],
      ['POST', '/api/auth/second-factor/recovery-codes', undefined],
      ['DELETE', '/api/auth/me', { password: p.password }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await t.call(method, path, { token: p.token, ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'STEP_UP_REQUIRED');
    }
    const until = await ok(t, 'POST', '/api/auth/step-up', p.token, { code: codeNow(p.secret) });
    assert.ok(!Number.isNaN(Date.parse(until.validUntil)));
    tick();
    await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, p.token, { name: 'after step-up', scopes: ['read'] }, 201);
    await ok(t, 'DELETE', '/api/auth/second-factor/totp', p.token, undefined, 204);
    // Without a factor, a password signs in again and step-up is not asked.
    assert.ok((await t.login(p.email, p.password)).accessToken);
  });

  test('users without a second factor are not asked for step-up', async () => {
    const p = await person(t);
    const ws = await newWorkspace(t, p);
    await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, p.token, { name: 'plain', scopes: ['read'] }, 201);
  });
});

describe('workspace policy', () => {
  test('owners can require a second factor; members without one reach nothing in the workspace until they enrol', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const editor = await member(t, ws, owner, 'editor');
    const admin = await member(t, ws, owner, 'admin');
    const stranger = await person(t);
    const adminKey = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, admin.token, { name: 'admin key', scopes: ['read'] }, 201);

    const selfLock = await t.call('PUT', `/api/workspaces/${ws}/security`, { token: owner.token, body: { requireSecondFactor: true } });
    assert.equal(selfLock.status, 409, 'the owner needs a factor of their own first');
    const ownerStart = await ok(t, 'POST', '/api/auth/second-factor/totp', owner.token, { password: owner.password }, 201);
    await ok(t, 'POST', '/api/auth/second-factor/totp/confirm', owner.token, { code: codeNow(ownerStart.secret) });
    tick();
    const byAdmin = await t.call('PUT', `/api/workspaces/${ws}/security`, { token: admin.token, body: { requireSecondFactor: true } });
    assert.equal(byAdmin.status, 403, 'owners only');
    assert.deepEqual(await ok(t, 'PUT', `/api/workspaces/${ws}/security`, owner.token, { requireSecondFactor: true }), { requireSecondFactor: true });
    assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}`, owner.token)).requireSecondFactor, true);

    for (const path of ['', '/posts', '/members', '/accounts', '/media', '/inbox/conversations', '/analytics/overview?from=2030-01-01&to=2030-01-31']) {
      const r = await t.call('GET', `/api/workspaces/${ws}${path}`, { token: editor.token });
      assert.equal(r.status, 403, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'SECOND_FACTOR_REQUIRED');
    }
    const write = await t.call('PATCH', `/api/workspaces/${ws}`, { token: editor.token, body: { name: 'Renamed' } });
    assert.equal(write.status, 403);
    assert.equal(write.body.code, 'SECOND_FACTOR_REQUIRED');
    // A key made by a member without a factor is held to the same rule.
    const keyRead = await t.call('GET', `/api/workspaces/${ws}/posts`, { token: adminKey.key });
    assert.equal(keyRead.status, 403);
    assert.equal(keyRead.body.code, 'SECOND_FACTOR_REQUIRED');
    // Outsiders still learn nothing: 404, as for any workspace they are not in.
    assert.equal((await t.call('GET', `/api/workspaces/${ws}`, { token: stranger.token })).status, 404);
    // Enrolment stays open to them.
    assert.equal((await t.call('GET', '/api/auth/me', { token: editor.token })).status, 200);
    const start = await ok(t, 'POST', '/api/auth/second-factor/totp', editor.token, { password: editor.password }, 201);
    await ok(t, 'POST', '/api/auth/second-factor/totp/confirm', editor.token, { code: codeNow(start.secret) });
    tick();
    await ok(t, 'GET', `/api/workspaces/${ws}/posts`, editor.token);

    await ok(t, 'PUT', `/api/workspaces/${ws}/security`, owner.token, { requireSecondFactor: false });
    await ok(t, 'GET', `/api/workspaces/${ws}/posts`, adminKey.key);
    await ok(t, 'GET', `/api/workspaces/${ws}/posts`, admin.token);
  });
});
