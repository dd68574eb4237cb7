// The HTTP edge of a running server, as a client or a proxy sees it over real sockets: whose address
// AllIN takes for the client's behind a proxy, how slow and stalled clients are ended, which numbers a
// request may carry, and what /openapi.json says about who may call what.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from './support/app.ts';
import { ROOT } from './support/process.ts';
import { eventually } from './support/eventually.ts';
import { readConfig, parseTrustProxy, ConfigError } from '../src/config.ts';
import { webhooks } from '../src/modules/webhooks/schema.ts';

/** Records the server's sockets from now on, to find the server's side of a client's connection (and watch it close). */
function serverSockets(t: TestApp): { of(client: Socket): Socket | undefined; stop(): void } {
  const server = t.running.app!.server;
  const seen: Socket[] = [];
  const onConnection = (s: Socket) => seen.push(s);
  server.on('connection', onConnection);
  return { of: (client) => seen.find((s) => s.remotePort === client.localPort), stop: () => server.off('connection', onConnection) };
}

/** A raw connection to the server, collecting what it answers, with a promise that settles when it closes. */
async function rawSocket(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => { data += c; });
  socket.on('error', () => { /* a reset is one way of being ended */ });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

/** Writes one byte at a time, a pause between them, until the server ends the connection. */
async function trickle(socket: Socket, closed: Promise<void>, byte = 'a', pauseMs = 50): Promise<number> {
  let open = true;
  void closed.then(() => { open = false; });
  let sent = 0;
  while (open && !socket.destroyed) {
    socket.write(byte);
    sent++;
    await sleep(pauseMs); // the pace of a slow client: the pause is what is tested, not a wait for something
  }
  return sent;
}

/** The JSON body of a raw HTTP/1.1 answer. */
const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

// ------------------------------------------------------------------------------------ TRUST_PROXY

describe('TRUST_PROXY: behind a proxy that appends to X-Forwarded-For, a client cannot choose its address', () => {
  // The test process is the proxy (it connects from 127.0.0.1) and appends the client's real address
  // after whatever the client sent, as nginx's $proxy_add_x_forwarded_for does.
  const CLIENT = '198.51.100.7';
  const SPOOFED = '203.0.113.66';

  async function addressSeen(t: TestApp): Promise<string> {
    const u = await t.user();
    const r = await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password }, headers: { 'x-forwarded-for': `${SPOOFED}, ${CLIENT}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const activity = await t.call('GET', '/api/auth/activity', { token: r.body.accessToken });
    const login = activity.body.events.find((e: { action: string }) => e.action === 'auth.login');
    assert.ok(login, JSON.stringify(activity.body));
    return login.ip as string;
  }

  for (const [setting, meaning] of [['1', 'one hop'], ['127.0.0.1/8,::1', 'the proxy\'s addresses']] as const) {
    test(`TRUST_PROXY=${setting} (${meaning}): the audit log records the address the proxy saw, not the spoofed one`, async () => {
      const t = await startTestApp({ TRUST_PROXY: setting });
      try {
        assert.equal(await addressSeen(t), CLIENT);
      } finally {
        await t.stop();
      }
    });
  }

  test('TRUST_PROXY=true is refused at start, saying what to set instead', () => {
    assert.throws(() => readConfig({ TRUST_PROXY: 'true' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /TRUST_PROXY: true would trust X-Forwarded-For from anyone.*number of proxies.*\(e\.g\. 1\).*10\.0\.0\.0\/8/);
      return true;
    });
    for (const bad of ['10.0.0.0/99', 'proxy.example.com', 'yes', '99']) assert.ok(parseTrustProxy(bad).problem, bad);
    assert.deepEqual(parseTrustProxy('false'), { value: false });
    assert.deepEqual(parseTrustProxy('2'), { value: { hops: 2 } });
    assert.deepEqual(parseTrustProxy(' 10.0.0.0/8, 127.0.0.1,uniquelocal '), { value: { addresses: ['10.0.0.0/8', '127.0.0.1', 'uniquelocal'] } });
  });

  test('the shipped Kubernetes and Compose settings are valid and never trust every hop', () => {
    const configMap = parse(readFileSync(join(ROOT, 'deploy', 'k8s', 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
    const k8s = parseTrustProxy(configMap.data.TRUST_PROXY!);
    assert.equal(k8s.problem, undefined);
    assert.deepEqual(k8s.value, { hops: 1 }, 'the Ingress controller is the one proxy in front of the allin-api Service');
    const compose = readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8');
    const composeDefault = /TRUST_PROXY: \$\{TRUST_PROXY:-([^}]*)\}/.exec(compose)?.[1];
    assert.equal(parseTrustProxy(composeDefault ?? 'missing').problem, undefined);
    const envExample = /^TRUST_PROXY=(.*)$/m.exec(readFileSync(join(ROOT, 'deploy', '.env.example'), 'utf8'))?.[1];
    assert.equal(parseTrustProxy(envExample ?? 'missing').problem, undefined);
  });
});

// ------------------------------------------------------------------------------------ the shipped defaults

describe('under the shipped defaults', () => {
  let t: TestApp;
  let token: string;
  let ws: string;
  before(async () => {
    t = await startTestApp();
    const u = await t.user();
    token = (await t.login(u.email, u.password)).accessToken;
    ws = (await t.call('POST', '/api/workspaces', { token, body: { name: 'Edge' } })).body.id;
  });
  after(() => t.stop());

  test('the server has header, request, idle and keep-alive timeouts of its own', () => {
    const server = t.running.app!.server;
    assert.equal(server.headersTimeout, 10_000);
    assert.equal(server.requestTimeout, 120_000);
    assert.equal(server.timeout, 60_000);
    assert.equal(server.keepAliveTimeout, 72_000);
  });

  test('a normal client is served while slow clients hold connections open', async () => {
    const sockets = serverSockets(t);
    const slow = await Promise.all(Array.from({ length: 40 }, () => rawSocket(t.url)));
    try {
      for (const [i, s] of slow.entries()) {
        // Half stop in the middle of their headers, half in the middle of a body they announced.
        s.socket.write(i % 2 === 0
          ? 'GET /api/health HTTP/1.1\r\nHost: allin\r\nX-Slow: a'
          : `POST /api/auth/login HTTP/1.1\r\nHost: allin\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"email":"`);
      }
      // The server has accepted every one of them (its accept runs on this event loop, after the client's connect).
      await eventually(() => slow.every((s) => sockets.of(s.socket)), 20_000, 'the server to accept every slow connection', 10);
      sockets.stop();
      const health = await t.call('GET', '/health');
      assert.equal(health.status, 200);
      const u = await t.user();
      const login = await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } });
      assert.equal(login.status, 200);
      assert.ok(slow.every((s) => !s.socket.destroyed && !sockets.of(s.socket)!.destroyed && s.received() === ''), 'the slow clients were still waiting');
    } finally {
      for (const s of slow) s.socket.destroy();
    }
  });

  test('integers out of range answer 400, not 500: GET /api/dev/mail?limit=1e400 (no sign-in)', async () => {
    for (const limit of ['1e400', '-1e400', '9'.repeat(400), '1e20']) {
      const r = await t.call('GET', `/api/dev/mail?limit=${limit}`);
      assert.equal(r.status, 400, `${limit}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'VALIDATION_FAILED');
      assert.match(r.body.message, /^querystring\.limit must be/);
      assert.equal(typeof r.body.requestId, 'string');
    }
    assert.equal((await t.call('GET', '/api/dev/mail?limit=3')).status, 200);
  });

  test('integers out of range answer 400, not 500: GET …/webhooks/{id}/deliveries?limit=-1e400', async () => {
    const id = randomUUID();
    await t.running.services.db.insert(webhooks).values({ id, workspaceId: ws, url: 'https://hooks.example.com/in', events: ['post.published'], secretEnc: 'unused' });
    const base = `/api/workspaces/${ws}/webhooks/${id}/deliveries`;
    assert.equal((await t.call('GET', `${base}?limit=5`, { token })).status, 200);
    for (const limit of ['-1e400', '1e400']) {
      const r = await t.call('GET', `${base}?limit=${limit}`, { token });
      assert.equal(r.status, 400, `${limit}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, /querystring\.limit must be an integer from 1 to 100/);
    }
  });

  test('a connection that does not speak HTTP is answered in the error shape', async () => {
    const s = await rawSocket(t.url);
    s.socket.write('NOT HTTP AT ALL\r\n\r\n');
    await s.closed;
    assert.match(s.received(), /^HTTP\/1\.1 400 /);
    const body = bodyOf(s.received());
    assert.equal(body.statusCode, 400);
    assert.equal(body.code, 'BAD_REQUEST');
    assert.equal(typeof body.requestId, 'string');
  });

  describe('/openapi.json', () => {
    type Operation = { security?: Record<string, string[]>[]; parameters?: { name: string; in: string; required?: boolean }[]; responses: Record<string, { content?: Record<string, unknown> }> };
    let doc: { paths: Record<string, Record<string, Operation>>; components: { securitySchemes?: Record<string, { type: string; scheme?: string }> } };
    before(async () => {
      doc = (await t.call('GET', '/openapi.json')).body;
    });
    const op = (path: string, method: string) => {
      const o = doc.paths[path]?.[method];
      assert.ok(o, `${method} ${path} is documented`);
      return o;
    };

    test('declares the two ways to call: a person\'s access token and a workspace API key', () => {
      const schemes = doc.components.securitySchemes ?? {};
      assert.deepEqual(Object.keys(schemes).sort(), ['accessToken', 'apiKey']);
      for (const s of Object.values(schemes)) assert.deepEqual([s.type, s.scheme], ['http', 'bearer']);
    });

    test('each operation says who may call it, and with which API-key scopes', () => {
      assert.deepEqual(op('/api/auth/me', 'get').security, [{ accessToken: [] }]);
      assert.equal(op('/api/auth/login', 'post').security, undefined);
      assert.deepEqual(op('/api/workspaces/{workspaceId}/posts', 'get').security,
        [{ accessToken: [] }, { apiKey: ['read'] }, { apiKey: ['write'] }, { apiKey: ['admin'] }]);
      assert.deepEqual(op('/api/workspaces/{workspaceId}/posts', 'post').security, [{ accessToken: [] }, { apiKey: ['write'] }, { apiKey: ['admin'] }]);
      assert.deepEqual(op('/api/workspaces/{workspaceId}/posts/{postId}/approve', 'post').security, [{ accessToken: [] }, { apiKey: ['admin'] }]);
      // No scope grants apikeys.manage: only people manage keys.
      assert.deepEqual(op('/api/workspaces/{workspaceId}/api-keys', 'post').security, [{ accessToken: [] }]);
    });

    test('the guards\' own refusals are documented in the error shape: 401, 429; 403 for API keys on routes for people; 403 and 404 from the workspace gate', () => {
      const codes = (path: string, method: string) => Object.keys(op(path, method).responses);
      for (const c of ['401', '403', '429']) assert.ok(codes('/api/auth/sessions', 'get').includes(c), `GET /api/auth/sessions ${c}`);
      for (const c of ['401', '403', '404', '429']) assert.ok(codes('/api/workspaces/{workspaceId}/posts', 'get').includes(c), `GET posts ${c}`);
      const r429 = op('/api/workspaces/{workspaceId}/posts', 'get').responses['429'] as { content?: Record<string, { schema?: { $ref?: string; properties?: object } }> };
      const schema = r429.content?.['application/json']?.schema;
      assert.ok(schema?.$ref || schema?.properties, JSON.stringify(r429));
    });

    test('what it declares matches what the server does: an anonymous call is refused exactly where security is declared', async () => {
      let checked = 0;
      for (const [path, methods] of Object.entries(doc.paths)) {
        if (!path.startsWith('/api/')) continue;
        for (const [method, o] of Object.entries(methods)) {
          const url = path.replace(/\{[^}]+\}/g, () => randomUUID());
          const hasBody = ['post', 'put', 'patch'].includes(method);
          // Without a body, a route that needs one answers 400 before authentication runs: those count only when declared.
          // A redirect is the answer (routes a browser navigates to, as SSO's, answer one): it is not followed.
          const r = await fetch(`${t.url}${url}`, {
            method: method.toUpperCase(), redirect: 'manual',
            ...(hasBody ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
          });
          if (r.status === 401) assert.ok(o.security?.length, `${method.toUpperCase()} ${path} refuses anonymous callers but declares no security`);
          if (r.status === 401) assert.ok(o.responses['401'], `${method.toUpperCase()} ${path} answers 401 but does not document it`);
          if (o.security?.length) assert.ok(r.status >= 400 && r.status < 500, `${method.toUpperCase()} ${path} declares security but answered ${r.status} to an anonymous call`);
          if (r.status === 401) checked++;
        }
      }
      assert.ok(checked >= 40, `only ${checked} operations were refused anonymously`);
    });

    test('query parameters with a default are optional', () => {
      for (const [path, name] of [['/api/workspaces/{workspaceId}/posts', 'limit'], ['/api/dev/mail', 'limit'], ['/api/auth/activity', 'limit']] as const) {
        const p = op(path, 'get').parameters?.find((x) => x.in === 'query' && x.name === name);
        assert.ok(p, `${path} ${name}`);
        assert.notEqual(p.required, true, `${path} ${name} has a default, so it is not required`);
      }
    });

    test('/metrics is documented as the text it is', async () => {
      const content = op('/metrics', 'get').responses['200']!.content ?? {};
      assert.deepEqual(Object.keys(content), ['text/plain']);
      const r = await fetch(`${t.url}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await r.text(), /^# HELP /m);
    });
  });
});

test('with METRICS_TOKEN set, /openapi.json says /metrics needs it', async () => {
  const t = await startTestApp({ METRICS_TOKEN: 'scrape-token-0123456789abcdef' });
  try {
    const doc = (await t.call('GET', '/openapi.json')).body;
    assert.deepEqual(doc.paths['/metrics'].get.security, [{ metricsToken: [] }]);
    assert.equal(doc.components.securitySchemes.metricsToken.scheme, 'bearer');
    assert.equal((await t.call('GET', '/metrics')).status, 401);
    assert.equal((await t.call('GET', '/metrics', { token: 'scrape-token-0123456789abcdef' })).status, 200);
  } finally {
    await t.stop();
  }
});

// ------------------------------------------------------------------------------------ slow clients

describe('slow clients are ended (timeouts shortened here: they are what these tests check)', () => {
  let t: TestApp;
  before(async () => {
    // Short, but not so short that a normal request of this busy test process could run into them.
    t = await startTestApp({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_IDLE_TIMEOUT_MS: '1500', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' });
  });
  after(() => t.stop());

  // Each test trickles or waits until the server ends the connection; the test's own timeout is only a
  // guard against hanging (without the server's timeouts, Node waits 60 s for headers and forever for a body).
  const guard = { timeout: 30_000 };

  test('headers sent a byte at a time (slowloris): 408 in the error shape, connection closed', guard, async () => {
    const s = await rawSocket(t.url);
    s.socket.write('GET /api/health HTTP/1.1\r\nHost: allin\r\nX-Slow: ');
    await trickle(s.socket, s.closed);
    assert.match(s.received(), /^HTTP\/1\.1 408 /);
    const body = bodyOf(s.received());
    assert.equal(body.code, 'REQUEST_TIMEOUT');
    assert.equal(typeof body.requestId, 'string');
  });

  test('a body sent a byte at a time: the connection is closed', guard, async () => {
    const s = await rawSocket(t.url);
    s.socket.write('POST /api/auth/login HTTP/1.1\r\nHost: allin\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"email":"');
    await trickle(s.socket, s.closed);
    // Nothing was answered but a refusal: the request never reached a handler.
    assert.ok(s.received() === '' || /^HTTP\/1\.1 408 /.test(s.received()), s.received().slice(0, 200));
  });

  test('a kept-alive connection left idle after its answer is closed, after saying how long it would stay', guard, async () => {
    const s = await rawSocket(t.url);
    s.socket.write('GET /health HTTP/1.1\r\nHost: allin\r\n\r\n');
    await s.closed;
    assert.match(s.received(), /^HTTP\/1\.1 200 /);
    assert.match(s.received(), /\r\nkeep-alive: timeout=1\r\n/i);
  });

  test('a client that never reads its answers: the server closes the connection, and serves others', guard, async () => {
    const big = '/docs/static/swagger-ui-bundle.js';
    const one = await fetch(`${t.url}${big}`);
    assert.equal(one.status, 200);
    assert.ok((await one.arrayBuffer()).byteLength > 500_000);
    const sockets = serverSockets(t);
    const s = await rawSocket(t.url);
    // Never reading: the socket is paused, and asks for far more than the kernel buffers hold.
    s.socket.pause();
    s.socket.write(`GET ${big} HTTP/1.1\r\nHost: allin\r\n\r\n`.repeat(40));
    const server = sockets.of(s.socket);
    sockets.stop();
    assert.ok(server, 'the server accepted the connection');
    await new Promise<void>((resolve) => (server.destroyed ? resolve() : server.once('close', () => resolve())));
    assert.equal((await t.call('GET', '/health')).status, 200);
    s.socket.destroy();
  });
});
