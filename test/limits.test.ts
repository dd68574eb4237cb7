// The API as a whole is limited per user, per API key and per anonymous IP; and limits keep working,
// per process, while Redis is unreachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp } from './support/app.ts';
import { RedisStore } from '../src/infra/stores/redis.ts';
import { createLimiter, consume } from '../src/infra/rate-limit.ts';
import { quietLogger } from './support/env.ts';

test('per user: the request past the limit gets 429 with Retry-After and RateLimit headers', async () => {
  const app = await startTestApp({ LIMIT_API_USER: '5/60' });
  try {
    const u = await app.user();
    const s = await app.login(u.email, u.password);
    const statuses = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await app.call('GET', '/api/auth/me', { token: s.accessToken });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
    assert.match(String(last!.headers.get('ratelimit')), /limit=5, remaining=0/);
    // Another user is not affected.
    const v = await app.user();
    const sv = await app.login(v.email, v.password);
    assert.equal((await app.call('GET', '/api/auth/me', { token: sv.accessToken })).status, 200);
  } finally {
    await app.stop();
  }
});

test('anonymous routes without limits of their own are limited per IP', async () => {
  const app = await startTestApp({ LIMIT_API_IP: '3/60' });
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.call('POST', '/api/auth/refresh', { body: { refreshToken: 'rt_nonexistent_token_000000' } })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  } finally {
    await app.stop();
  }
});

test('while Redis is unreachable, limits fall back to per-process memory', async () => {
  const down = new RedisStore('redis://127.0.0.1:1', 'x:', quietLogger());
  const l = createLimiter(down, 'fallback', '2/60');
  const results = [];
  for (let i = 0; i < 3; i++) results.push((await consume(l, 'k')).ok);
  assert.deepEqual(results, [true, true, false]);
  await down.close();
});
