import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t.stop());

test('a created user signs in, reads /me, refreshes, signs out', async () => {
  const u = await t.user();
  const tokens = await t.login(u.email, u.password);
  assert.equal(tokens.tokenType, 'Bearer');
  const me = await t.call('GET', '/api/auth/me', { token: tokens.accessToken });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.equal(me.body.email, u.email);
  const r = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: tokens.refreshToken } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.notEqual(r.body.refreshToken, tokens.refreshToken);
  const out = await t.call('POST', '/api/auth/logout', { token: r.body.accessToken, body: {} });
  assert.equal(out.status, 200, JSON.stringify(out.body));
  const after = await t.call('GET', '/api/auth/me', { token: r.body.accessToken });
  assert.equal(after.status, 401);
  assert.equal(after.body.code, 'SESSION_REVOKED');
});
