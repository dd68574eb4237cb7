// PostgreSQL going away under a running API process: requests that need it answer 503 with Retry-After
// (never 500, never a hang), readiness names the database, and everything works again once it is back.
// The database is reached through a TCP relay this test can cut, so the machine's PostgreSQL (shared by
// every test) keeps running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { startTestApp, type TestApp } from './support/app.ts';
import { testDatabaseUrl } from './support/env.ts';
import { eventually } from './support/eventually.ts';
import { person, newWorkspace, type Person } from './support/fixtures.ts';

/** A relay to the real PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((res) => this.server!.listen(this.port, '127.0.0.1', res));
    this.port = (this.server.address() as { port: number }).port;
  }
  async down(): Promise<void> {
    const closed = new Promise<void>((res) => this.server?.close(() => res()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

let relay: Relay;
let t: TestApp;
let owner: Person;
let ws: string;

before(async () => {
  const real = new URL(testDatabaseUrl());
  relay = new Relay({ host: real.hostname, port: Number(real.port || 5432) });
  await relay.up();
  real.host = `127.0.0.1:${relay.port}`;
  t = await startTestApp({ DATABASE_URL: real.toString() });
  owner = await person(t);
  ws = await newWorkspace(t, owner);
});
after(async () => {
  await t?.stop();
  await relay?.down().catch(() => {});
});

test('database gone: 503 DATABASE_UNAVAILABLE with Retry-After, readiness names it; back: all works', async () => {
  await relay.down();
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    for (const [method, path, body] of [
      ['GET', `/api/workspaces/${ws}/posts`, undefined],
      ['POST', '/api/workspaces', { name: `During the outage ${i}` }],
      ['GET', '/api/workspaces', undefined],
    ] as const) {
      const r = await t.call(method, path, { token: owner.token, ...(body ? { body } : {}) });
      statuses.push(r.status);
      assert.notEqual(r.status, 500, `${method} ${path}: ${JSON.stringify(r.body)}`);
      if (r.status === 503) {
        assert.equal(r.body.code, 'DATABASE_UNAVAILABLE', JSON.stringify(r.body));
        assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(typeof r.body.requestId, 'string');
      }
    }
  }
  assert.ok(statuses.some((s) => s === 503), `the outage was seen: ${statuses.join(', ')}`);
  const health = await eventually(async () => {
    const r = await t.call('GET', '/api/health');
    return r.status === 503 && r.body.checks?.database?.status === 'fail' ? r.body : undefined;
  }, 20_000, 'readiness to name the database');
  assert.equal(health.status, 'fail');

  await relay.up();
  await eventually(async () => (await t.call('GET', '/api/health')).status === 200, 30_000, 'readiness after the database is back');
  const created = await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'After the outage' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const list = await t.call('GET', '/api/workspaces', { token: owner.token });
  assert.equal(list.status, 200);
  assert.ok(list.body.workspaces.some((w: { name: string }) => w.name === 'After the outage'));
});
