// The HTTP surface every later route relies on: one error shape, request ids, limits, docs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { ReadinessService } from '../src/modules/health/readiness.ts';
import { ApiError } from '../src/http/errors.ts';
import { testConfig, quietLogger, capturingLogger, testDatabaseUrl } from './support/env.ts';
import type pg from 'pg';
import { createPool } from '../src/infra/db/pool.ts';
import { applyMigrations } from '../src/infra/db/migrate.ts';
import { createDb } from '../src/infra/db/client.ts';
import { MemoryStore } from '../src/infra/stores/memory.ts';
import { buildServices } from '../src/services.ts';
import { createInvalidationBus } from '../src/infra/stores/invalidation.ts';

let app: FastifyInstance;
let pool: pg.Pool;
const captured = capturingLogger('info');

before(async () => {
  const config = testConfig({ BODY_LIMIT_BYTES: '2048', NODE_ENV: 'production', AUTH_SECRET: 'x9'.repeat(20) + 'Q7w!pL0zR#', ENCRYPTION_KEYS: `k1:${Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 3)).toString('base64')}` });
  const metrics = createMetrics({ enabled: true });
  const readiness = new ReadinessService([{ name: 'always', critical: true, run: async () => {} }], metrics, 100);
  pool = createPool({ connectionString: testDatabaseUrl(), max: 2, metrics, log: quietLogger(), applicationName: 'test' });
  await applyMigrations(pool, quietLogger());
  const store = new MemoryStore();
  const services = buildServices(config, createDb(pool), store, quietLogger(), metrics, await createInvalidationBus(store, '', quietLogger()));
  app = await buildApp({ config, log: captured.log, metrics, readiness, role: 'serve', services });
  // Routes that exist only in this test, to exercise the shared error handling.
  app.post('/test/echo', {
    schema: { body: Type.Object({ email: Type.String({ format: 'email' }), n: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) },
  }, async (req) => req.body);
  app.get('/test/numbers', {
    schema: { querystring: Type.Object({ n: Type.Optional(Type.Integer()), x: Type.Optional(Type.Number()), items: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }))) }) },
  }, async (req) => ({ seen: JSON.stringify(req.query) }));
  app.get('/test/boom', async () => {
    throw new Error('database password is hunter2 at /srv/secret.ts:12');
  });
  app.get('/test/refuse', async () => {
    throw new ApiError(409, 'CONFLICT', 'That name is taken', { field: 'name' });
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await pool.end();
});

const shape = (body: Record<string, unknown>, status: number, code: string) => {
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  assert.ok((body.message as string).length > 5);
  assert.equal(typeof body.requestId, 'string');
};

test('GET /health answers ok with no I/O', async () => {
  const res = await app.inject({ url: '/health' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok' });
});

test('unknown route: 404 in the error shape', async () => {
  const res = await app.inject({ url: '/nope/nothing?x=1' });
  assert.equal(res.statusCode, 404);
  shape(res.json(), 404, 'NOT_FOUND');
  assert.match(res.json().message, /GET \/nope\/nothing/);
});

test('malformed JSON: 400 INVALID_JSON', async () => {
  const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '{"email": ' });
  assert.equal(res.statusCode, 400);
  shape(res.json(), 400, 'INVALID_JSON');
});

test('oversized body: 413 PAYLOAD_TOO_LARGE', async () => {
  const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email: 'a@b.co', pad: 'x'.repeat(5000) }) });
  assert.equal(res.statusCode, 413);
  shape(res.json(), 413, 'PAYLOAD_TOO_LARGE');
});

test('wrong content type: 415', async () => {
  const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
  assert.equal(res.statusCode, 415);
  shape(res.json(), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('schema violations: 400 naming the field', async () => {
  const missing = await app.inject({ method: 'POST', url: '/test/echo', payload: { n: 1 } });
  assert.equal(missing.statusCode, 400);
  shape(missing.json(), 400, 'VALIDATION_FAILED');
  assert.match(missing.json().message, /body\.email is required/);
  const bad = await app.inject({ method: 'POST', url: '/test/echo', payload: { email: 'not-an-email', n: 1 } });
  assert.match(bad.json().message, /body\.email must match format "email"/);
  const type = await app.inject({ method: 'POST', url: '/test/echo', payload: { email: 'a@b.co', n: 'many' } });
  assert.match(type.json().message, /body\.n must be integer/);
  assert.ok(Array.isArray(type.json().details));
});

test('numbers out of range are refused wherever they come from: body, query string, arrays', async () => {
  // Ajv coerces "1e400" to Infinity and then skips minimum/maximum for it; a JSON 1e400 is refused by its type check.
  for (const n of ['"1e400"', '"-1e400"', `"${'9'.repeat(400)}"`, '"9007199254740993"', '1e400']) {
    const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: `{"email":"a@b.co","n":${n}}` });
    assert.equal(res.statusCode, 400, `${n}: ${res.body}`);
    shape(res.json(), 400, 'VALIDATION_FAILED');
    assert.match(res.json().message, /^body\.n must be/);
  }
  const fine = await app.inject({ method: 'POST', url: '/test/echo', payload: { email: 'a@b.co', n: '42' } });
  assert.deepEqual(fine.json(), { email: 'a@b.co', n: 42 });

  for (const q of ['n=1e400', 'n=-1e400', 'x=1e400', 'x=-1e999', 'items=1&items=1e400']) {
    const res = await app.inject({ url: `/test/numbers?${q}` });
    assert.equal(res.statusCode, 400, `${q}: ${res.body}`);
    shape(res.json(), 400, 'VALIDATION_FAILED');
  }
  assert.match((await app.inject({ url: '/test/numbers?n=1e400' })).json().message, /querystring\.n must be an integer from -9007199254740991 to 9007199254740991/);
  assert.match((await app.inject({ url: '/test/numbers?x=1e400' })).json().message, /querystring\.x must be a finite number/);
  const ok = await app.inject({ url: '/test/numbers?n=-7&x=2.5&items=3' });
  assert.deepEqual(JSON.parse(ok.json().seen), { n: -7, x: 2.5, items: [3] });
});

test('Fastify\'s own refusals have the one shape too: a malformed URL, a parameter too long', async () => {
  const bad = await app.inject({ url: '/api/workspaces/%C0%80/members', headers: { 'x-request-id': 'bad-url-1' } });
  assert.equal(bad.statusCode, 400);
  shape(bad.json(), 400, 'BAD_URL');
  assert.equal(bad.json().requestId, 'bad-url-1');
  assert.equal(bad.headers['x-request-id'], 'bad-url-1');
  assert.equal(bad.json().error, undefined);
  const long = await app.inject({ url: `/api/workspaces/${'a'.repeat(300)}/members` });
  assert.equal(long.statusCode, 414);
  shape(long.json(), 414, 'URI_TOO_LONG');
});

test('an ApiError keeps its status, code, message and details', async () => {
  const res = await app.inject({ url: '/test/refuse' });
  assert.equal(res.statusCode, 409);
  shape(res.json(), 409, 'CONFLICT');
  assert.deepEqual(res.json().details, { field: 'name' });
});

test('an unexpected error: 500 without internals, logged with the request id', async () => {
  const res = await app.inject({ url: '/test/boom', headers: { 'x-request-id': 'trace-500' } });
  assert.equal(res.statusCode, 500);
  const body = res.json();
  shape(body, 500, 'INTERNAL_ERROR');
  assert.equal(body.requestId, 'trace-500');
  assert.ok(!res.body.includes('hunter2') && !res.body.includes('secret.ts') && !res.body.includes('stack'));
  const line = captured.lines().find((l) => l.reqId === 'trace-500' && l.level === 50);
  assert.ok(line, 'the failure is logged with its request id');
});

test('X-Request-Id: accepted when sane, echoed; replaced when not', async () => {
  const given = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
  assert.equal(given.headers['x-request-id'], 'abc-123');
  const hostile = await app.inject({ url: '/health', headers: { 'x-request-id': 'a b\u0000<script>' } });
  assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const none = await app.inject({ url: '/health' });
  assert.match(String(none.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('OpenAPI 3.1 at /openapi.json, browsable docs at /docs', async () => {
  const spec = (await app.inject({ url: '/openapi.json' })).json();
  assert.equal(spec.openapi, '3.1.0');
  assert.ok(spec.paths['/health']);
  assert.ok(spec.paths['/api/health']);
  const docs = await app.inject({ url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
  const page = await app.inject({ url: docs.statusCode === 302 ? String(docs.headers.location) : '/docs' });
  assert.ok(page.statusCode === 200 || page.statusCode === 302);
});

test('secrets are redacted from log lines', async () => {
  const { log, lines } = capturingLogger('info');
  log.info({ req: { headers: { authorization: 'Bearer s3cr3t', cookie: 'sid=abc' } }, body: { password: 'pw123456', refreshToken: 'rt' } }, 'x');
  const text = JSON.stringify(lines());
  for (const s of ['s3cr3t', 'sid=abc', 'pw123456', '"rt"']) assert.ok(!text.includes(s), s);
});

test('quiet logger sanity', () => {
  assert.equal(quietLogger().level, 'silent');
});
