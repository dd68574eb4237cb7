// A resource deleted while other requests are using it answers those requests 404 or 409, never 500.
// Each test runs rounds of one DELETE against several concurrent uses of the same resource through the
// real API (an all-in-one process: the Sandbox network's simulator and the job runner included), and
// checks every status against the set that operation may answer. The delete and the uses start
// together; which one wins varies from round to round, and every interleaving must answer cleanly.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { parseEncryptionKeys } from '../src/config.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { HttpClient } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { NotFound } from '../src/domain/errors.ts';
import { webhookAttempts, webhookDeliveries, webhooks } from '../src/modules/webhooks/schema.ts';
import { WebhookService } from '../src/modules/webhooks/service.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { greyPng, member, newWorkspace, ok, person } from './support/fixtures.ts';
import { connectSandbox, eventually } from './support/social.ts';
import { quietLogger } from './support/env.ts';

let t: TestApp;
let mediaDir: string;
before(async () => {
  // Where uploads go (a temporary folder instead of the checkout's); every behaviour setting is the default.
  mediaDir = await mkdtemp(join(tmpdir(), 'allin-delete-races-'));
  t = await startTestApp({ MEDIA_DIR: mediaDir }, 'start');
});
after(async () => {
  await t.stop();
  await rm(mediaDir, { recursive: true, force: true });
});

interface Op {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  /** The caller's bearer token (a user's access token or an API key). */
  token: string;
  allowed: number[];
  /** Sends the request itself (an upload); `path`, `body` are then only for the failure message. */
  send?: () => Promise<{ status: number; body: Json }>;
}

/**
 * `rounds` times: `setup` makes a fresh resource, then its delete and every use start at once. Fails,
 * listing the first few, when any answer is outside its operation's allowed set; returns the counts.
 */
async function race(rounds: number, setup: (round: number) => Promise<Op[]>): Promise<Map<string, Map<number, number>>> {
  const bad: string[] = [];
  const seen = new Map<string, Map<number, number>>();
  for (let round = 0; round < rounds; round++) {
    const ops = await setup(round);
    const answers = await Promise.all(ops.map((op) => op.send?.() ?? t.call(op.method, op.path, { token: op.token, ...(op.body === undefined ? {} : { body: op.body }) })));
    answers.forEach((r, i) => {
      const op = ops[i]!;
      const counts = seen.get(op.name) ?? new Map<number, number>();
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      seen.set(op.name, counts);
      if (!op.allowed.includes(r.status)) bad.push(`round ${round}: ${op.name} ${op.method} ${op.path} answered ${r.status} ${JSON.stringify(r.body)}`);
    });
  }
  const summary = [...seen].map(([name, counts]) => `${name}: ${[...counts].map(([s, n]) => `${n}×${s}`).join(', ')}`).join('; ');
  assert.equal(bad.length, 0, `${bad.length} answers outside the allowed set (${summary}); the first:\n${bad.slice(0, 5).join('\n')}`);
  return seen;
}

const times = (n: number, op: Op): Op[] => Array.from({ length: n }, () => op);
const later = () => new Date(Date.now() + 30 * 86_400_000).toISOString();

/**
 * Starts reconnecting `account` (its simulator user is `simUser`) and gives its consent: what is left is
 * the browser's way back to AllIN, which completes the reconnection.
 */
async function reconnectCallback(ws: string, token: string, account: string, simUser: string): Promise<() => Promise<{ status: number; body: Json }>> {
  const start = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token, body: { provider: 'sandbox', accountId: account } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl}&login_hint=${encodeURIComponent(simUser)}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  return async () => {
    const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
    await res.arrayBuffer();
    return { status: res.status, body: res.headers.get('location') };
  };
}

async function upload(ws: string, token: string): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  form.append('file', new Blob([greyPng(4, 3)]), 'pixel.png');
  const res = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// ---------- the races ----------

describe('deleting while in use answers 404 or 409, never 500', () => {
  test('a webhook, while it is pinged and redelivered', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const base = `/api/workspaces/${ws}/webhooks`;
    await race(25, async () => {
      // A host that does not resolve: accepted when saved, and each try fails fast.
      const hook = (await ok(t, 'POST', base, owner.token, { url: 'https://allin-delete-race.invalid/hook', events: ['post.published'] }, 201)).webhook.id;
      const settled = await ok(t, 'POST', `${base}/${hook}/ping`, owner.token);
      return [
        { name: 'delete webhook', method: 'DELETE', path: `${base}/${hook}`, token: owner.token, allowed: [204] },
        ...times(4, { name: 'ping', method: 'POST', path: `${base}/${hook}/ping`, token: owner.token, allowed: [200, 404] }),
        ...times(3, { name: 'redeliver', method: 'POST', path: `${base}/${hook}/deliveries/${settled.deliveryId}/redeliver`, token: owner.token, allowed: [202, 404, 409] }), // 409: disabled by the racing PATCH
        { name: 'rotate secret', method: 'POST', path: `${base}/${hook}/rotate-secret`, token: owner.token, allowed: [200, 404] },
        { name: 'disable', method: 'PATCH', path: `${base}/${hook}`, body: { active: false }, token: owner.token, allowed: [200, 404] },
      ];
    });
  });

  test('a social account, while posts are written for it and it is reconnected', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    await race(15, async (round) => {
      const account = await connectSandbox(t, owner.token, ws, `racer-${round}`);
      const accountPath = `/api/workspaces/${ws}/accounts/${account}`;
      const comeBack = await reconnectCallback(ws, owner.token, account, `racer-${round}`);
      return [
        { name: 'disconnect', method: 'DELETE', path: accountPath, token: owner.token, allowed: [200] },
        { name: 'second disconnect', method: 'DELETE', path: accountPath, token: owner.token, allowed: [200] },
        ...times(3, { name: 'create post', method: 'POST', path: `/api/workspaces/${ws}/posts`, body: { text: 'race', targets: [{ accountId: account }], schedule: { at: later() } }, token: owner.token, allowed: [201, 400, 409, 422] }),
        // The OAuth callback redirects to the app, with connected= or connect_error=, whatever happened.
        { name: 'reconnect callback', method: 'GET', path: '/api/connect/sandbox/callback', token: owner.token, allowed: [302], send: comeBack },
      ];
    });
  });

  test('an upload, while posts are saved with it, it is read and its alt text changed', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const account = await connectSandbox(t, owner.token, ws, 'media-racer');
    await race(15, async () => {
      const up = await upload(ws, owner.token);
      assert.equal(up.status, 201, JSON.stringify(up.body));
      const mediaPath = `/api/workspaces/${ws}/media/${up.body.id}`;
      return [
        { name: 'delete media', method: 'DELETE', path: mediaPath, token: owner.token, allowed: [200, 404, 409] },
        { name: 'second delete', method: 'DELETE', path: mediaPath, token: owner.token, allowed: [200, 404, 409] },
        ...times(2, { name: 'create post', method: 'POST', path: `/api/workspaces/${ws}/posts`, body: { text: 'with a picture', mediaIds: [up.body.id], targets: [{ accountId: account }] }, token: owner.token, allowed: [201, 400, 404, 409, 422] }),
        { name: 'read', method: 'GET', path: `${mediaPath}/content`, token: owner.token, allowed: [200, 404] },
        { name: 'alt text', method: 'PATCH', path: mediaPath, body: { altText: 'grey' }, token: owner.token, allowed: [200, 404] },
      ];
    });
  });

  test('a post, while it is scheduled, edited, submitted, approved and retried', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const account = await connectSandbox(t, owner.token, ws, 'post-racer');
    const posts = `/api/workspaces/${ws}/posts`;
    await race(20, async (round) => {
      const draft = await ok(t, 'POST', posts, owner.token, { text: `draft ${round}`, targets: [{ accountId: account }] }, 201);
      const pending = await ok(t, 'POST', posts, owner.token, { text: `pending ${round}`, targets: [{ accountId: account }] }, 201);
      const submitted = await ok(t, 'POST', `${posts}/${pending.id}/submit`, owner.token, { at: later() });
      const p = (id: string) => `${posts}/${id}`;
      const use = [200, 404, 409];
      return [
        { name: 'delete draft', method: 'DELETE', path: p(draft.id), token: owner.token, allowed: [204, 404, 409] },
        { name: 'delete pending', method: 'DELETE', path: p(pending.id), token: owner.token, allowed: [204, 404, 409] },
        { name: 'schedule', method: 'POST', path: `${p(draft.id)}/schedule`, body: { at: later() }, token: owner.token, allowed: use },
        { name: 'edit', method: 'PUT', path: p(draft.id), body: { text: 'edited', targets: [{ accountId: account }] }, token: owner.token, allowed: use },
        { name: 'submit', method: 'POST', path: `${p(draft.id)}/submit`, body: { at: later() }, token: owner.token, allowed: use },
        { name: 'approve', method: 'POST', path: `${p(pending.id)}/approve`, body: { version: submitted.version }, token: owner.token, allowed: use },
        { name: 'reject', method: 'POST', path: `${p(pending.id)}/reject`, body: { comment: 'no' }, token: owner.token, allowed: use },
        { name: 'retry', method: 'POST', path: `${p(draft.id)}/retry`, body: {}, token: owner.token, allowed: use },
      ];
    });
  });

  test('a member, while their role is changed, they and their API key act, and they are invited again', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const account = await connectSandbox(t, owner.token, ws, 'member-racer');
    await race(15, async () => {
      const m = await member(t, ws, owner, 'admin');
      // Revoked with the member's removal: a key never outlives its creator's membership.
      const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, m.token, { name: 'mine', scopes: ['read', 'write'] }, 201);
      const memberPath = `/api/workspaces/${ws}/members/${m.id}`;
      const post = { text: 'hello', targets: [{ accountId: account }] };
      return [
        { name: 'remove member', method: 'DELETE', path: memberPath, token: owner.token, allowed: [204, 404] },
        { name: 'leave', method: 'DELETE', path: memberPath, token: m.token, allowed: [204, 404] },
        { name: 'change role', method: 'PATCH', path: memberPath, body: { role: 'editor' }, token: owner.token, allowed: [200, 404] },
        { name: 'member writes a post', method: 'POST', path: `/api/workspaces/${ws}/posts`, body: post, token: m.token, allowed: [201, 404] },
        ...times(2, { name: 'member\'s key writes a post', method: 'POST', path: `/api/workspaces/${ws}/posts`, body: post, token: key.key, allowed: [201, 401, 403] }),
        { name: 'member invites', method: 'POST', path: `/api/workspaces/${ws}/invitations`, body: { email: `friend-${randomUUID()}@example.com`, role: 'viewer' }, token: m.token, allowed: [201, 403, 404] },
        { name: 'invite again', method: 'POST', path: `/api/workspaces/${ws}/invitations`, body: { email: m.email, role: 'viewer' }, token: owner.token, allowed: [201, 409] },
      ];
    });
  });

  test('an API key, while it is used', async () => {
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const account = await connectSandbox(t, owner.token, ws, 'key-racer');
    await race(15, async (round) => {
      const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: `key ${round}`, scopes: ['read', 'write', 'admin'] }, 201);
      const keyPath = `/api/workspaces/${ws}/api-keys/${key.id}`;
      return [
        { name: 'revoke', method: 'DELETE', path: keyPath, token: owner.token, allowed: [204, 404] },
        { name: 'revoke again', method: 'DELETE', path: keyPath, token: owner.token, allowed: [204, 404] },
        ...times(3, { name: 'key writes a post', method: 'POST', path: `/api/workspaces/${ws}/posts`, body: { text: 'by key', targets: [{ accountId: account }] }, token: key.key, allowed: [201, 401] }),
        ...times(2, { name: 'key reads', method: 'GET', path: `/api/workspaces/${ws}/posts`, token: key.key, allowed: [200, 401] }),
        { name: 'key adds a webhook', method: 'POST', path: `/api/workspaces/${ws}/webhooks`, body: { url: 'https://allin-delete-race.invalid/k', events: ['post.failed'] }, token: key.key, allowed: [201, 401, 409] },
        { name: 'key renames', method: 'PATCH', path: `/api/workspaces/${ws}`, body: { name: `Races ${round}` }, token: key.key, allowed: [200, 401] },
      ];
    });
  });

  test('a workspace, while everything in it is used', async () => {
    const owner = await person(t);
    await race(20, async (round) => {
      const ws = await newWorkspace(t, owner, `Doomed ${round}`);
      const account = await connectSandbox(t, owner.token, ws, `doomed-${round}`);
      const hook = (await ok(t, 'POST', `/api/workspaces/${ws}/webhooks`, owner.token, { url: 'https://allin-delete-race.invalid/w', events: ['post.published'] }, 201)).webhook.id;
      const draft = await ok(t, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text: 'doomed', targets: [{ accountId: account }] }, 201);
      const w = `/api/workspaces/${ws}`;
      const gone = [404];
      // Writes whose services do not hold the workspace first yet may lose the race to the generic 409.
      const lost = [404, 409];
      return [
        { name: 'delete workspace', method: 'DELETE', path: w, token: owner.token, allowed: [204, 404] },
        { name: 'create post', method: 'POST', path: `${w}/posts`, body: { text: 'late', targets: [{ accountId: account }] }, token: owner.token, allowed: [201, 400, ...lost] },
        { name: 'schedule post', method: 'POST', path: `${w}/posts/${draft.id}/schedule`, body: { at: later() }, token: owner.token, allowed: [200, ...lost] },
        { name: 'delete post', method: 'DELETE', path: `${w}/posts/${draft.id}`, token: owner.token, allowed: [204, ...gone] },
        { name: 'ping', method: 'POST', path: `${w}/webhooks/${hook}/ping`, token: owner.token, allowed: [200, ...gone] },
        { name: 'delete webhook', method: 'DELETE', path: `${w}/webhooks/${hook}`, token: owner.token, allowed: [204, ...gone] },
        { name: 'add webhook', method: 'POST', path: `${w}/webhooks`, body: { url: 'https://allin-delete-race.invalid/x', events: ['post.failed'] }, token: owner.token, allowed: [201, ...gone] },
        { name: 'create key', method: 'POST', path: `${w}/api-keys`, body: { name: 'late', scopes: ['read'] }, token: owner.token, allowed: [201, ...gone] },
        { name: 'disconnect', method: 'DELETE', path: `${w}/accounts/${account}`, token: owner.token, allowed: [200, ...gone] },
        { name: 'invite', method: 'POST', path: `${w}/invitations`, body: { email: `late-${round}@example.com`, role: 'viewer' }, token: owner.token, allowed: [201, ...lost] },
        { name: 'upload', method: 'POST', path: `${w}/media`, token: owner.token, allowed: [201, ...lost], send: () => upload(ws, owner.token) },
        { name: 'rename', method: 'PATCH', path: w, body: { name: 'Renamed' }, token: owner.token, allowed: [200, ...lost] },
      ];
    });
  });
});

// ---------- the webhook service at the exact moments: a delete during a try, and under an event ----------

describe('a webhook deleted at the worst moment', () => {
  // A receiver that holds each request until the test lets it answer.
  let receiver: Server;
  let receiverUrl: string;
  const waiting: (() => void)[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => waiting.push(() => res.writeHead(200).end('ok')));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => { receiver.closeAllConnections(); receiver.close(() => r()); }));

  /**
   * A WebhookService on the app's database and keys that may call the local receiver (the address guard
   * is not what these tests are about), and a webhook of a fresh workspace pointing at it.
   */
  async function setup() {
    const { db } = t.running.services;
    const cipher = new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys);
    const log = quietLogger();
    const service = new WebhookService({
      db, cipher, log, http: new HttpClient({ metrics: createMetrics({ enabled: false }), log, allowPrivateHosts: true }),
      config: { maxAttempts: 5, timeoutMs: 30_000, retryBaseMs: 60_000, allowPrivateHosts: true, requireHttps: false },
    });
    const owner = await person(t);
    const ws = await newWorkspace(t, owner);
    const created = await service.create(ws, { url: `${receiverUrl}/hook`, events: ['post.published'] }, owner.id, { actorUserId: owner.id });
    return { db, service, owner, ws, id: created.webhook.id };
  }

  /** Waits until the receiver holds a request, and gives the function that answers it. */
  const held = () => eventually(async () => waiting.shift(), 20_000, 'the receiver to hold a request');

  test('a delivery whose webhook is deleted during its try is dropped, not an error', async () => {
    const { db, service, owner, ws, id } = await setup();
    const deliveryId = randomUUID();
    await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: id, event: 'post.published', payload: { id: 'msg_race', type: 'post.published', timestamp: new Date().toISOString(), data: {} } });
    const delivering = service.deliver(deliveryId);
    const answer = await held();
    await ok(t, 'DELETE', `/api/workspaces/${ws}/webhooks/${id}`, owner.token, undefined, 204);
    answer();
    assert.equal(await delivering, 'skipped');
    assert.deepEqual(await db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)), []);
  });

  test('a ping whose webhook is deleted during its try answers 404', async () => {
    const { service, owner, ws, id } = await setup();
    const pinging = service.ping(ws, id);
    const answer = await held();
    await ok(t, 'DELETE', `/api/workspaces/${ws}/webhooks/${id}`, owner.token, undefined, 204);
    answer();
    await assert.rejects(pinging, (err: unknown) => err instanceof NotFound && err.code === 'NOT_FOUND' && /deleted while/.test(err.message));
  });

  test('an event emitted while its webhook is being deleted: the emitting transaction commits without it', async () => {
    const { db, service, ws, id } = await setup();
    // The delete, begun and not yet committed, on a connection of its own.
    const deleter = await t.running.pool.connect();
    try {
      await deleter.query('begin');
      await deleter.query('delete from webhooks where id = $1', [id]);
      const emitting = db.transaction((tx) => service.emit(tx, ws, 'post.published', { postId: 'p' }));
      // The event's transaction now waits for the delete's lock (on its read, or on its insert's foreign key).
      await eventually(async () => {
        const r = await db.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%webhook%'`);
        return r.rows[0]!.n > 0;
      }, 20_000, 'the event to wait for the delete');
      await deleter.query('commit');
      await emitting;
    } finally {
      deleter.release();
    }
    assert.deepEqual(await db.select().from(webhooks).where(eq(webhooks.id, id)), []);
  });
});
