// Identity under concurrency and attack: concurrent logins of one user (the previous AllIN backend gave
// two logins in the same second the same refresh token, and answered 500), rotation, revocation, forged
// tokens, enumeration, limits and bad input.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { startTestApp, uniqueEmail, strongPassword, type TestApp } from './support/app.ts';
import { TokenService } from '../src/modules/auth/tokens.ts';
import { SessionService, RefreshError } from '../src/modules/auth/sessions.ts';
import { RedisStore } from '../src/infra/stores/redis.ts';
import { quietLogger } from './support/env.ts';
import { eventually } from './support/eventually.ts';
import { users, sessions } from '../src/modules/auth/schema.ts';
import { mailOutbox } from '../src/modules/mail/schema.ts';

let t: TestApp;
const LOOSE = {
  LIMIT_LOGIN_FAILURES_ACCOUNT_IP: '10/900',
  LIMIT_REGISTER_IP: '1000/3600',
  LIMIT_PASSWORD_RESET_IP: '1000/900',
  LIMIT_API_IP: '100000/60',
  LIMIT_API_USER: '100000/60',
};
before(async () => { t = await startTestApp(LOOSE); });
after(() => t.stop());

const tokenFromMail = async (to: string, kind: 'verify-email' | 'reset-password') => {
  const rows = await t.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, to));
  const text = rows.map((r) => r.text).reverse().find((x) => x.includes(`/${kind}#token=`));
  assert.ok(text, `a ${kind} mail to ${to}`);
  return decodeURIComponent(/#token=([^\s]+)/.exec(text)![1]!);
};

describe('concurrent logins of one user never share a refresh token, by design', () => {
  test('200 concurrent logins of one user: 200 distinct refresh tokens, all usable, no 5xx', async () => {
    const u = await t.user();
    const results = await Promise.all(Array.from({ length: 200 }, () => t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })));
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200], JSON.stringify(results.find((r) => r.status !== 200)?.body));
    const refreshTokens = new Set(results.map((r) => r.body.refreshToken));
    assert.equal(refreshTokens.size, 200);
    assert.equal(new Set(results.map((r) => r.body.session.id)).size, 200);
    const refreshed = await Promise.all([...refreshTokens].map((rt) => t.call('POST', '/api/auth/refresh', { body: { refreshToken: rt } })));
    assert.deepEqual([...new Set(refreshed.map((r) => r.status))], [200]);
  });

  test('50 concurrent refreshes of one token: no 5xx, one rotation, all get the same new token', async () => {
    const u = await t.user();
    const first = await t.login(u.email, u.password);
    const results = await Promise.all(Array.from({ length: 50 }, () => t.call('POST', '/api/auth/refresh', { body: { refreshToken: first.refreshToken } })));
    assert.ok(results.every((r) => r.status < 500), JSON.stringify(results.map((r) => r.status)));
    const ok = results.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1);
    assert.equal(new Set(ok.map((r) => r.body.refreshToken)).size, 1, 'one rotation chain survives');
    const current = ok[0]!.body.refreshToken;
    const next = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: current } });
    assert.equal(next.status, 200);
    // Once the session is revoked, no token of it works.
    await t.call('POST', '/api/auth/logout', { token: next.body.accessToken, body: { scope: 'session' } });
    for (const rt of [first.refreshToken, current, next.body.refreshToken]) {
      const r = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: rt } });
      assert.equal(r.status, 401);
    }
    assert.equal((await t.call('GET', '/api/auth/me', { token: next.body.accessToken })).status, 401);
  });
});

describe('rotation and reuse', () => {
  test('the previous token within the grace window returns the current one (parallel tabs)', async () => {
    const u = await t.user();
    const a = await t.login(u.email, u.password);
    const b = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
    const again = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
    assert.equal(again.status, 200);
    assert.equal(again.body.refreshToken, b.body.refreshToken);
    assert.equal(again.body.session.id, b.body.session.id);
  });

  test('a token two rotations old revokes the session even inside the grace window', async () => {
    const u = await t.user();
    const a = await t.login(u.email, u.password);
    const b = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
    const c = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: b.body.refreshToken } });
    assert.equal(c.status, 200);
    const old = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
    assert.equal(old.status, 401);
    assert.equal(old.body.code, 'REFRESH_TOKEN_REUSED');
    assert.equal((await t.call('GET', '/api/auth/me', { token: c.body.accessToken })).status, 401);
  });

  test('an unknown refresh token is refused without touching any session', async () => {
    const u = await t.user();
    const a = await t.login(u.email, u.password);
    const r = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: `rt_${'A'.repeat(43)}` } });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'INVALID_REFRESH_TOKEN');
    assert.equal((await t.call('GET', '/api/auth/me', { token: a.accessToken })).status, 200);
  });

  test('with the shared store unreachable, refresh still rotates, and a parallel presenter is refused without revoking', async () => {
    const u = await t.user();
    const a = await t.login(u.email, u.password);
    const down = new RedisStore('redis://127.0.0.1:1', 'x:', quietLogger()); // never connected: every command fails
    const s = t.running.services;
    const sessionsDown = new SessionService(s.db, down, s.tokens, { ttlDays: 7, rememberTtlDays: 30, graceSeconds: 30 });
    try {
      const r = await sessionsDown.refresh(a.refreshToken);
      assert.notEqual(r.refreshToken, a.refreshToken);
      await assert.rejects(sessionsDown.refresh(a.refreshToken), (e: unknown) => e instanceof RefreshError && e.code === 'INVALID_REFRESH_TOKEN');
      assert.equal((await t.call('GET', '/api/auth/me', { token: a.accessToken })).status, 200, 'session not revoked');
      assert.equal((await t.call('POST', '/api/auth/refresh', { body: { refreshToken: r.refreshToken } })).status, 200);
    } finally {
      await down.close();
    }
  });

  test('reuse outside the grace window revokes the session; its access tokens stop within a second', async () => {
    const app = await startTestApp({ ...LOOSE, REFRESH_GRACE_SECONDS: '0' });
    try {
      const u = await app.user();
      const a = await app.login(u.email, u.password);
      const b = await app.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
      assert.equal((await app.call('GET', '/api/auth/me', { token: b.body.accessToken })).status, 200);
      // Time must pass: the reuse has to come after the rotation by the clock the (zero) grace window is read on.
      await sleep(20);
      const reuse = await app.call('POST', '/api/auth/refresh', { body: { refreshToken: a.refreshToken } });
      assert.equal(reuse.status, 401);
      assert.equal(reuse.body.code, 'REFRESH_TOKEN_REUSED');
      const t0 = Date.now();
      const me = await app.call('GET', '/api/auth/me', { token: b.body.accessToken });
      assert.equal(me.status, 401);
      assert.equal(me.body.code, 'SESSION_REVOKED');
      assert.ok(Date.now() - t0 < 1000);
      assert.equal((await app.call('POST', '/api/auth/refresh', { body: { refreshToken: b.body.refreshToken } })).status, 401, 'the current token died with the session');
      const [row] = await app.running.services.db.select().from(sessions).where(eq(sessions.id, b.body.session.id));
      assert.equal(row!.revokeReason, 'refresh_reuse');
    } finally {
      await app.stop();
    }
  });

  test('a revoked session fails on another API process at once (shared revocation list)', async () => {
    const prefix = `${t.running.config.REDIS_KEY_PREFIX}`;
    const other = await startTestApp({ ...LOOSE, REDIS_KEY_PREFIX: prefix });
    try {
      const u = await t.user();
      const s = await t.login(u.email, u.password);
      assert.equal((await other.call('GET', '/api/auth/me', { token: s.accessToken })).status, 200);
      await t.call('POST', '/api/auth/logout', { token: s.accessToken, body: {} });
      assert.equal((await other.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);
    } finally {
      await other.stop();
    }
  });
});

describe('forged tokens', () => {
  let good: string;
  before(async () => {
    const u = await t.user();
    good = (await t.login(u.email, u.password)).accessToken;
  });
  const refused = async (token: string, code = 'INVALID_TOKEN') => {
    const r = await t.call('GET', '/api/auth/me', { token });
    assert.equal(r.status, 401, token);
    assert.equal(r.body.code, code);
    assert.match(String(r.headers.get('www-authenticate')), /^Bearer/);
  };

  test('the JWKS publishes the key the tokens name', async () => {
    const jwks = await t.call('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.body.keys[0].kid, decodeProtectedHeader(good).kid);
    assert.equal(jwks.body.keys[0].alg, 'EdDSA');
    assert.equal(jwks.body.keys[0].d, undefined, 'no private part');
  });

  test('tampered payload or signature', async () => {
    const [h, p, s] = good.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.sub = '00000000-0000-0000-0000-000000000000';
    await refused(`${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`);
    await refused(`${h}.${p}.${s!.slice(0, -4)}AAAA`);
    await refused('not.a.jwt');
  });

  test('alg: none', async () => {
    const [h, p] = good.split('.');
    const header = { ...JSON.parse(Buffer.from(h!, 'base64url').toString()), alg: 'none' };
    await refused(`${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.`);
  });

  test('expired', async () => {
    const cfg = t.running.config;
    const past = new TokenService({ secret: cfg.AUTH_SECRET!, issuer: cfg.PUBLIC_URL, accessTtlSeconds: 60, now: () => Date.now() - 3600_000 });
    const claims = await t.running.services.tokens.verifyAccess(good);
    await refused((await past.issueAccess(claims)).token, 'TOKEN_EXPIRED');
  });

  test('signed with another key, with and without our kid', async () => {
    const cfg = t.running.config;
    const claims = await t.running.services.tokens.verifyAccess(good);
    const stranger = new TokenService({ secret: 'another-secret-entirely-0123456789abcdef', issuer: cfg.PUBLIC_URL, accessTtlSeconds: 60 });
    await refused((await stranger.issueAccess(claims)).token);
    const { privateKey } = generateKeyPairSync('ed25519');
    const kid = decodeProtectedHeader(good).kid!;
    const forged = await new SignJWT({ sid: claims.sessionId }).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setSubject(claims.userId).setIssuer(cfg.PUBLIC_URL).setAudience('allin-api').setIssuedAt().setExpirationTime('5m')
      .sign(createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })));
    await refused(forged);
    // HS256 keyed with the public key (the classic algorithm confusion).
    const jwk = (await t.call('GET', '/.well-known/jwks.json')).body.keys[0];
    const hs = await new SignJWT({ sid: claims.sessionId }).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
      .setSubject(claims.userId).setIssuer(cfg.PUBLIC_URL).setAudience('allin-api').setIssuedAt().setExpirationTime('5m')
      .sign(Buffer.from(jwk.x, 'base64url'));
    await refused(hs);
  });
});

describe('no account enumeration', () => {
  test('register with a taken email answers exactly like a new one, and mails the owner', async () => {
    const u = await t.user();
    const fresh = await t.call('POST', '/api/auth/register', { body: { email: uniqueEmail(), password: strongPassword(), name: 'New' } });
    const taken = await t.call('POST', '/api/auth/register', { body: { email: u.email.toUpperCase(), password: strongPassword(), name: 'Other' } });
    assert.equal(fresh.status, 202);
    assert.equal(taken.status, fresh.status);
    assert.deepEqual(taken.body, fresh.body);
    await eventually(async () => (await t.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, u.email)))
      .some((m) => m.template === 'already_registered'), 20_000, 'the already_registered mail');
  });

  test('login: one message for unknown email and wrong password', async () => {
    const u = await t.user();
    const wrong = await t.call('POST', '/api/auth/login', { body: { email: u.email, password: 'Wrong-password-for-sure-42' } });
    const unknown = await t.call('POST', '/api/auth/login', { body: { email: uniqueEmail('nobody'), password: 'Wrong-password-for-sure-42' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body.message, unknown.body.message);
    assert.equal(wrong.body.code, unknown.body.code);
  });

  test('forgot-password answers the same either way', async () => {
    const u = await t.user();
    const known = await t.call('POST', '/api/auth/forgot-password', { body: { email: u.email } });
    const unknown = await t.call('POST', '/api/auth/forgot-password', { body: { email: uniqueEmail('nobody') } });
    assert.equal(known.status, 202);
    assert.deepEqual([unknown.status, unknown.body], [known.status, known.body]);
  });
});

describe('account lifecycle', () => {
  test('register, verify by the mailed link, sign in; signing in before verifying is refused', async () => {
    const email = uniqueEmail('reg');
    const password = strongPassword();
    assert.equal((await t.call('POST', '/api/auth/register', { body: { email, password, name: 'Reggie' } })).status, 202);
    const early = await t.call('POST', '/api/auth/login', { body: { email, password } });
    assert.equal(early.status, 403);
    assert.equal(early.body.code, 'EMAIL_NOT_VERIFIED');
    const token = await tokenFromMail(email, 'verify-email');
    assert.equal((await t.call('POST', '/api/auth/verify-email', { body: { token } })).status, 200);
    assert.equal((await t.call('POST', '/api/auth/verify-email', { body: { token } })).status, 400, 'single use');
    const s = await t.login(email, password);
    const me = await t.call('GET', '/api/auth/me', { token: s.accessToken });
    assert.equal(me.body.emailVerified, true);
    assert.equal(me.body.name, 'Reggie');
  });

  test('weak and common passwords are refused with the field named', async () => {
    for (const password of ['short', 'password123', 'Password1!', 'x'.repeat(129)]) {
      const r = await t.call('POST', '/api/auth/register', { body: { email: uniqueEmail(), password, name: 'Weak' } });
      assert.equal(r.status, 400, password);
      assert.match(r.body.message, /^password /);
    }
  });

  test('forgot and reset: single use, ends every session, old password stops working', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    await t.call('POST', '/api/auth/forgot-password', { body: { email: u.email } });
    const token = await tokenFromMail(u.email, 'reset-password');
    const next = strongPassword();
    const weak = await t.call('POST', '/api/auth/reset-password', { body: { token, newPassword: 'password' } });
    assert.equal(weak.status, 400, 'a weak choice is refused and the token kept');
    assert.equal((await t.call('POST', '/api/auth/reset-password', { body: { token, newPassword: next } })).status, 200);
    assert.equal((await t.call('POST', '/api/auth/reset-password', { body: { token, newPassword: strongPassword() } })).status, 400, 'single use');
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 401);
    await t.login(u.email, next);
  });

  test('change password ends the other sessions and keeps this one', async () => {
    const u = await t.user();
    const here = await t.login(u.email, u.password);
    const there = await t.login(u.email, u.password);
    const wrong = await t.call('POST', '/api/auth/password', { token: here.accessToken, body: { currentPassword: 'nope-nope-nope', newPassword: strongPassword() } });
    assert.equal(wrong.status, 400);
    const r = await t.call('POST', '/api/auth/password', { token: here.accessToken, body: { currentPassword: u.password, newPassword: strongPassword() } });
    assert.equal(r.status, 200);
    assert.equal(r.body.otherSessionsEnded, 1);
    assert.equal((await t.call('GET', '/api/auth/me', { token: here.accessToken })).status, 200);
    assert.equal((await t.call('GET', '/api/auth/me', { token: there.accessToken })).status, 401);
  });

  test('sessions: list, revoke one, logout others and all', async () => {
    const u = await t.user();
    const a = await t.login(u.email, u.password);
    const b = await t.login(u.email, u.password, { rememberMe: true });
    const c = await t.login(u.email, u.password);
    const list = await t.call('GET', '/api/auth/sessions', { token: a.accessToken });
    assert.equal(list.body.sessions.length, 3);
    assert.equal(list.body.sessions.filter((s: { current: boolean }) => s.current).length, 1);
    const remembered = list.body.sessions.find((s: { id: string }) => s.id === b.session.id);
    assert.ok(new Date(remembered.expiresAt).getTime() - Date.now() > 29 * 86_400_000, 'rememberMe: 30 days');
    assert.equal((await t.call('DELETE', `/api/auth/sessions/${c.session.id}`, { token: a.accessToken })).status, 204);
    assert.equal((await t.call('GET', '/api/auth/me', { token: c.accessToken })).status, 401);
    const others = await t.call('POST', '/api/auth/logout', { token: a.accessToken, body: { scope: 'others' } });
    assert.equal(others.body.revoked, 1);
    assert.equal((await t.call('GET', '/api/auth/me', { token: b.accessToken })).status, 401);
    assert.equal((await t.call('GET', '/api/auth/me', { token: a.accessToken })).status, 200);
    // Someone else's session id answers 404.
    const v = await t.user();
    const vs = await t.login(v.email, v.password);
    assert.equal((await t.call('DELETE', `/api/auth/sessions/${a.session.id}`, { token: vs.accessToken })).status, 404);
    // Signing out with no body at all means this session.
    const bare = await t.call('POST', '/api/auth/logout', { token: vs.accessToken });
    assert.equal(bare.status, 200, JSON.stringify(bare.body));
    assert.equal((await t.call('GET', '/api/auth/me', { token: vs.accessToken })).status, 401);
  });

  test('a bcrypt hash imported from the previous AllIN backend signs in and is upgraded to argon2id', async () => {
    const email = uniqueEmail('seed');
    const password = strongPassword();
    const db = t.running.services.db;
    await db.insert(users).values({ email, name: 'Imported', passwordHash: await bcryptHash(password, 10), emailVerifiedAt: new Date() });
    await t.login(email, password);
    const [row] = await db.select().from(users).where(eq(users.email, email));
    assert.match(row!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await t.login(email, password);
  });

  test('delete my account: password required, sessions end, the email is free again', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    assert.equal((await t.call('DELETE', '/api/auth/me', { token: s.accessToken, body: { password: 'wrong-wrong-wrong' } })).status, 400);
    assert.equal((await t.call('DELETE', '/api/auth/me', { token: s.accessToken, body: { password: u.password } })).status, 204);
    assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).status, 401);
    assert.equal((await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 401);
  });

  test('cookie transport: httpOnly, Secure, SameSite=Strict, scoped to /api/auth; refresh reads it', async () => {
    const u = await t.user();
    const r = await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password, refreshTokenTransport: 'cookie' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.refreshToken, undefined, 'not readable by scripts');
    const cookie = r.headers.get('set-cookie')!;
    for (const attr of [/HttpOnly/i, /Secure/i, /SameSite=Strict/i, /Path=\/api\/auth/]) assert.match(cookie, attr);
    const pair = cookie.split(';')[0]!;
    const next = await t.call('POST', '/api/auth/refresh', { headers: { cookie: pair }, body: {} });
    assert.equal(next.status, 200);
    assert.equal(next.body.refreshToken, undefined);
    assert.notEqual(next.headers.get('set-cookie')!.split(';')[0], pair, 'rotated');
  });
});

describe('abuse protection', () => {
  test('failed logins per account and IP: 429 with Retry-After and RateLimit headers; the right password then too', async () => {
    const u = await t.user();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 11; i++) {
      last = await t.call('POST', '/api/auth/login', { body: { email: u.email, password: `Wrong-guess-number-${i}` } });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
    assert.match(String(last!.headers.get('ratelimit')), /limit=10, remaining=0, reset=\d+/);
    assert.match(String(last!.headers.get('ratelimit-policy')), /^10;w=900/);
    assert.equal((await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 429);
  });

  test('the scaled load test\'s logins: 400 logins of one account from one IP, none refused', async () => {
    const u = await t.user();
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 40; batch++) {
      const rs = await Promise.all(Array.from({ length: 10 }, () => t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })));
      for (const r of rs) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses], [[200, 400]]);
  });

  test('hashing past capacity answers 503 with Retry-After, never 500', async () => {
    const app = await startTestApp({ ...LOOSE, HASH_CONCURRENCY: '1', HASH_MAX_WAIT_MS: '0' });
    try {
      const u = await app.user();
      const rs = await Promise.all(Array.from({ length: 40 }, () => app.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })));
      const codes = new Set(rs.map((r) => r.status));
      assert.ok(codes.has(200) && codes.has(503), [...codes].join(','));
      assert.deepEqual([...codes].filter((c) => c !== 200 && c !== 503), []);
      const busy = rs.find((r) => r.status === 503)!;
      assert.equal(busy.body.code, 'OVERLOADED');
      assert.ok(Number(busy.headers.get('retry-after')) >= 1);
    } finally {
      await app.stop();
    }
  });

  test('register is limited per IP', async () => {
    const app = await startTestApp({ ...LOOSE, LIMIT_REGISTER_IP: '3/3600' });
    try {
      const rs = [];
      for (let i = 0; i < 4; i++) rs.push(await app.call('POST', '/api/auth/register', { body: { email: uniqueEmail(), password: strongPassword(), name: 'R' } }));
      assert.deepEqual(rs.map((r) => r.status), [202, 202, 202, 429]);
      assert.ok(rs[3]!.headers.get('retry-after'));
    } finally {
      await app.stop();
    }
  });
});

describe('bad input: 400 with a clear message, never 500', () => {
  const big = 'x'.repeat(1_000_000);
  const routes: [string, string, unknown[]][] = [
    ['POST', '/api/auth/register', [{}, { email: 'a@b.co' }, { email: 'not-an-email', password: 'Quiet-harbour-lantern-9', name: 'x' }, { email: 1, password: 2, name: 3 },
      { email: `${big}@x.co`, password: 'Quiet-harbour-lantern-9', name: 'x' }, { email: 'a@b.co', password: 'Quiet-harbour-lantern-9', name: big },
      { email: 'a@b.co', password: 'Quiet-harbour-lantern-9', name: '   ' }, [], 'string', null,
      { email: 'nul@example.com', password: 'Quiet-harbour-lantern-9', name: 'Nul\u0000Name' }]],
    ['POST', '/api/auth/login', [{}, { email: 'ünïcødé@@', password: 'x' }, { email: 'a@b.co' }, { email: 'a@b.co', password: big }, { email: 'a@b.co', password: 'x', rememberMe: 'yes' },
      { email: 'a@b.co', password: 'x', extra: 1 }]],
    ['POST', '/api/auth/refresh', [{ refreshToken: 5 }, { refreshToken: big }, { refreshToken: '../../etc/passwd' }, {}]],
    ['POST', '/api/auth/verify-email', [{}, { token: 'short' }, { token: big }, { token: '💥💥💥💥💥💥💥💥💥💥' }]],
    ['POST', '/api/auth/forgot-password', [{}, { email: 'nope' }, { email: big }]],
    ['POST', '/api/auth/reset-password', [{}, { token: 'pr_abcdefghijkl' }, { token: big, newPassword: 'x' }]],
    ['POST', '/api/auth/resend-verification', [{ email: [] }]],
  ];
  for (const [method, path, bodies] of routes) {
    test(`${method} ${path}`, async () => {
      for (const body of bodies) {
        const r = await t.call(method, path, { body });
        assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        assert.equal(typeof r.body.message, 'string');
        assert.ok(r.body.message.length > 5 && r.body.message.length < 300);
      }
    });
  }

  test('signed-in routes: bad input too', async () => {
    const u = await t.user();
    const s = await t.login(u.email, u.password);
    const cases: [string, string, unknown][] = [
      ['POST', '/api/auth/password', {}], ['POST', '/api/auth/password', { currentPassword: big, newPassword: 'x' }],
      ['POST', '/api/auth/logout', { scope: 'everything' }], ['DELETE', '/api/auth/sessions/not-a-uuid', undefined],
      ['DELETE', '/api/auth/me', {}], ['GET', '/api/auth/activity?limit=0', undefined], ['GET', '/api/auth/activity?limit=abc', undefined],
      ['DELETE', '/api/auth/sessions/urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', undefined],
      ['GET', `/api/auth/activity?before=${'9'.repeat(400)}`, undefined], ['GET', `/api/auth/activity?limit=${'9'.repeat(400)}`, undefined],
    ];
    for (const [method, path, body] of cases) {
      const r = await t.call(method, path, { token: s.accessToken, ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)} → ${r.status}`);
    }
  });

  test('missing or malformed Authorization: 401 with WWW-Authenticate', async () => {
    for (const h of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
      const r = await t.call('GET', '/api/auth/me', { headers: h ? { authorization: h } : {} });
      assert.equal(r.status, 401, String(h));
      assert.ok(r.headers.get('www-authenticate'));
    }
  });
});

test('my activity shows sign-ins and failures, not other people\'s', async () => {
  const u = await t.user();
  await t.call('POST', '/api/auth/login', { body: { email: u.email, password: 'Not-the-right-one-77' } });
  const s = await t.login(u.email, u.password);
  const r = await t.call('GET', '/api/auth/activity', { token: s.accessToken });
  assert.equal(r.status, 200);
  const actions = r.body.events.map((e: { action: string }) => e.action);
  assert.ok(actions.includes('auth.login') && actions.includes('auth.login_failed'), actions.join(','));
  assert.ok(actions.every((a: string) => /^(auth|user)\./.test(a)));
});

test('a user changes their name and time zone; /me shows it at once; bad values get 400', async () => {
  const u = await t.user();
  const s = await t.login(u.email, u.password);
  assert.equal((await t.call('GET', '/api/auth/me', { token: s.accessToken })).body.timeZone, null, 'none until chosen');
  let r = await t.call('PATCH', '/api/auth/me', { token: s.accessToken, body: { name: '  Ada Lovelace ', timeZone: 'America/New_York' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Ada Lovelace');
  assert.equal(r.body.timeZone, 'America/New_York');
  const me = await t.call('GET', '/api/auth/me', { token: s.accessToken }); // served from the cache: it was dropped
  assert.equal(me.body.name, 'Ada Lovelace');
  assert.equal(me.body.timeZone, 'America/New_York');
  r = await t.call('PATCH', '/api/auth/me', { token: s.accessToken, body: { timeZone: null } });
  assert.equal(r.body.timeZone, null, 'null goes back to the workspace\'s zone');
  assert.equal(r.body.name, 'Ada Lovelace', 'what is not sent stays');

  const huge = 'x'.repeat(1_000_000);
  const cases: [unknown, RegExp][] = [
    [{ timeZone: 'Mars/Olympus_Mons' }, /not an IANA time zone/],
    [{ name: '   ' }, /body\.name/],
    [{ name: huge }, /body\.name must NOT have more than 100 characters/],
    [{ name: { first: 'Ada' } }, /body\.name must be string/],
    [{ timeZone: { zone: 'Europe/Berlin' } }, /body\.timeZone/],
    [{ email: 'new@example.com' }, /body\.email is not an accepted field/],
  ];
  for (const [body, message] of cases) {
    r = await t.call('PATCH', '/api/auth/me', { token: s.accessToken, body });
    assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
    assert.match(r.body.message, message);
  }
  assert.equal((await t.call('PATCH', '/api/auth/me', { body: { name: 'Nobody' } })).status, 401);
  const activity = await t.call('GET', '/api/auth/activity', { token: s.accessToken });
  assert.ok(activity.body.events.some((e: { action: string }) => e.action === 'user.profile_updated'));
});

describe('the /me cache', () => {
  test('hits are counted, and a membership change on another API process is seen at once', async () => {
    const other = await startTestApp({ ...LOOSE, REDIS_KEY_PREFIX: t.running.config.REDIS_KEY_PREFIX });
    try {
      const u = await t.user();
      const s = await t.login(u.email, u.password);
      const first = await t.call('GET', '/api/auth/me', { token: s.accessToken });
      const hits0 = (await t.running.metrics.cacheHits.get()).values.find((v) => v.labels.cache_type === 'me')?.value ?? 0;
      await t.call('GET', '/api/auth/me', { token: s.accessToken });
      const hits1 = (await t.running.metrics.cacheHits.get()).values.find((v) => v.labels.cache_type === 'me')?.value ?? 0;
      assert.equal(hits1, hits0 + 1);
      assert.deepEqual(first.body.workspaces, []);
      // Created through the other process: this one's cached /me is dropped through Redis.
      const created = await other.call('POST', '/api/workspaces', { token: s.accessToken, body: { name: 'Fresh' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const seen = await eventually(async () => {
        const me = await t.call('GET', '/api/auth/me', { token: s.accessToken });
        return me.body.workspaces.length === 1 && me;
      }, 5000, 'the other process\'s change to reach this one\'s /me', 25);
      assert.deepEqual(seen.body.workspaces.map((w: { name: string; role: string }) => [w.name, w.role]), [['Fresh', 'owner']]);
    } finally {
      await other.stop();
    }
  });
});
