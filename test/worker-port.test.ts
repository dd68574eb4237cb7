// `allin worker` opens a port for probes and scraping only: /health, /api/health and /metrics answer,
// the API (sign-in, workspaces, docs, the web app) is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startRuntime } from '../src/runtime.ts';
import { createTempDatabase, quietLogger, testConfig, testRedisPrefix } from './support/env.ts';

test('a worker\'s port answers health and metrics, and 404 for everything of the API', async () => {
  const db = await createTempDatabase();
  const running = await startRuntime('worker', testConfig({ DATABASE_URL: db.url, REDIS_KEY_PREFIX: `${testRedisPrefix()}${randomBytes(4).toString('hex')}:` }), quietLogger(), { port: 0 });
  try {
    const url = running.url!;
    for (const path of ['/health', '/api/health', '/metrics']) {
      const r = await fetch(`${url}${path}`);
      assert.equal(r.status, 200, `${path}: ${await r.text()}`);
    }
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'someone@example.com', password: 'not-a-real-password-1' }),
    });
    assert.equal(login.status, 404);
    const body = await login.json() as { statusCode: number; code: string; message: string };
    assert.equal(body.statusCode, 404);
    assert.equal(typeof body.message, 'string');
    for (const [method, path] of [['GET', '/api/workspaces'], ['POST', '/api/workspaces'], ['GET', '/openapi.json'], ['GET', '/docs'], ['GET', '/'], ['GET', '/api/dev/mail']]) {
      const r = await fetch(`${url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
      assert.equal(r.status, 404, `${method} ${path} answered ${r.status}`);
    }
  } finally {
    await running.stop();
    await db.drop();
  }
});
