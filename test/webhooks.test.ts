// Workspace webhooks through the real API and job runner, delivered to a local receiver: the secret
// shown once, signatures checked with the official `standardwebhooks` package (an implementation that
// is not ours), retries with backoff, giving up, redelivery, the delivery log, events only in committed
// transactions, account.needs_reconnect, permissions, and the private-address guard when a webhook is
// saved and when a delivery connects.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq, sql } from 'drizzle-orm';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from './support/app.ts';
import { capturingLogger } from './support/env.ts';
import { eventually } from './support/eventually.ts';
import { connectSandbox } from './support/social.ts';
import { webhookDeliveries, webhooks } from '../src/modules/webhooks/schema.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { memberships } from '../src/modules/workspaces/schema.ts';
import { TokenCipher } from '../src/infra/crypto/token-cipher.ts';
import { HttpClient } from '../src/infra/http/client.ts';
import { isBlockedAddress } from '../src/infra/http/guard.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { parseEncryptionKeys } from '../src/config.ts';
import { WebhookService, retryDelayMs, sign } from '../src/modules/webhooks/service.ts';

// --- A local receiver: each path answers the statuses queued for it, then 200 ---------------------

interface Received { path: string; headers: IncomingHttpHeaders; body: string }
let receiver: Server;
let receiverUrl: string;
let receiverPort: number;
const received: Received[] = [];
const scripts = new Map<string, number[]>();
const hang = new Set<string>();
/** A Retry-After header for every non-200 answer of a path. */
const retryAfterOf = new Map<string, string>();

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      const path = req.url!;
      received.push({ path, headers: req.headers, body });
      if (hang.has(path)) return; // never answers
      const queue = scripts.get(path);
      const status = queue?.length ? queue.shift()! : 200;
      const ra = status !== 200 ? retryAfterOf.get(path) : undefined;
      res.writeHead(status, { 'content-type': 'text/plain', ...(ra ? { 'retry-after': ra } : {}) }).end(status === 200 ? 'ok' : `receiver says no (${status})\u0000${'x'.repeat(5000)}`);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverPort = (receiver.address() as { port: number }).port;
  receiverUrl = `http://127.0.0.1:${receiverPort}`;
});
after(() => new Promise<void>((r) => { receiver.closeAllConnections(); receiver.close(() => r()); }));

const at = (path: string) => received.filter((r) => r.path === path);

// --- The app: a job runner, private hosts allowed (the receiver is on 127.0.0.1), quick retries ---

let t: TestApp;
let owner: { id: string; token: string };
let ws: string;

before(async () => {
  t = await startTestApp({ ALLOW_PRIVATE_HOSTS: 'true', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_RETRY_BASE_MS: '50' }, 'start');
  const u = await t.user();
  owner = { id: u.id, token: (await t.login(u.email, u.password)).accessToken };
  ws = (await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'Hooks' } })).body.id;
});
after(() => t.stop());

const api = (method: string, path: string, body?: unknown, token = owner.token) =>
  t.call(method, `/api/workspaces/${ws}/webhooks${path}`, { token, ...(body === undefined ? {} : { body }) });

async function createHook(path: string, events: string[] = ['post.published', 'post.failed', 'post.unknown', 'account.needs_reconnect'], extra: Record<string, unknown> = {}) {
  const r = await api('POST', '', { url: `${receiverUrl}${path}`, events, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { webhook: { id: string; url: string; events: string[] }; secret: string };
}

async function emit(event: 'post.published' | 'post.failed' | 'post.unknown', data: Record<string, unknown>, workspaceId = ws) {
  const { db, webhooks: service } = t.running.services;
  await db.transaction((tx) => service.emit(tx, workspaceId, event, data));
}

async function deliveriesOf(webhookId: string) {
  return t.running.services.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId));
}

/** Checks a received request with the standardwebhooks package and returns the payload. */
function verified(secret: string, r: Received): { id: string; type: string; timestamp: string; data: Record<string, unknown> } {
  return new StandardWebhook(secret).verify(r.body, r.headers as Record<string, string>) as never;
}

describe('managing webhooks', () => {
  test('the secret is shown once on creation, kept encrypted, and never in a list or a read', async () => {
    const { webhook, secret } = await createHook('/created', ['post.published'], { description: 'Ops channel' });
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    const list = await api('GET', '');
    assert.equal(list.status, 200);
    assert.ok(list.body.webhooks.some((w: { id: string }) => w.id === webhook.id));
    const one = await api('GET', `/${webhook.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.description, 'Ops channel');
    assert.deepEqual(one.body.events, ['post.published']);
    for (const body of [list.body, one.body]) {
      const raw = JSON.stringify(body);
      assert.ok(!raw.includes(secret.slice(6, 20)) && !raw.includes('whsec_') && !raw.includes('secret'), raw);
    }
    const [row] = await t.running.services.db.select().from(webhooks).where(eq(webhooks.id, webhook.id));
    assert.match(row!.secretEnc, /^v1\./);
    assert.ok(!row!.secretEnc.includes(secret.slice(6)));
    const audits = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, webhook.id));
    assert.deepEqual(audits.map((a) => a.action), ['webhook.created']);
    assert.ok(!JSON.stringify(audits).includes(secret.slice(6)));
  });

  test('update, rotate the secret, delete: each audited; the new secret signs, the old one no longer does', async () => {
    const { webhook, secret: first } = await createHook('/rotated', ['post.failed']);
    const patched = await api('PATCH', `/${webhook.id}`, { events: ['post.failed', 'post.unknown'], description: 'changed', active: false });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual([patched.body.events, patched.body.description, patched.body.active], [['post.failed', 'post.unknown'], 'changed', false]);
    assert.equal((await api('PATCH', `/${webhook.id}`, {})).status, 400, 'an empty patch');

    const rotated = await api('POST', `/${webhook.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    const second = rotated.body.secret as string;
    assert.match(second, /^whsec_/);
    assert.notEqual(second, first);
    assert.equal(rotated.headers.get('cache-control'), 'no-store');

    const ping = await api('POST', `/${webhook.id}/ping`);
    assert.equal(ping.body.delivered, true, 'a disabled webhook can still be pinged');
    const got = at('/rotated').at(-1)!;
    assert.equal(verified(second, got).type, 'webhook.test');
    assert.throws(() => verified(first, got), 'the old secret no longer verifies');

    assert.equal((await api('DELETE', `/${webhook.id}`)).status, 204);
    assert.equal((await api('GET', `/${webhook.id}`)).status, 404);
    assert.equal((await deliveriesOf(webhook.id)).length, 0, 'the delivery log goes with it');
    const audits = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, webhook.id));
    assert.deepEqual(audits.map((a) => a.action).sort(), ['webhook.created', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.updated']);
  });

  test('bad URLs and events are refused with a clear message', async () => {
    const bad = async (body: Record<string, unknown>, code = 'VALIDATION_FAILED') => {
      const r = await api('POST', '', { events: ['post.published'], ...body });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, code, JSON.stringify(r.body));
      return r.body.message as string;
    };
    assert.match(await bad({ url: 'ftp://example.com/hook' }), /https/);
    assert.match(await bad({ url: 'not a url' }), /URL/);
    assert.match(await bad({ url: 'https://user:pw@example.com/hook' }), /user name or password/);
    await bad({ url: `${receiverUrl}/x`, events: ['post.deleted'] });
    await bad({ url: `${receiverUrl}/x`, events: [] });
    await bad({ url: `${receiverUrl}/x`, events: ['post.published'], secret: 'mine' });
  });

  test('an editor is refused (403); a non-member sees no such workspace (404)', async () => {
    const { webhook } = await createHook('/perm');
    const editor = await t.user();
    await t.running.services.db.insert(memberships).values({ workspaceId: ws, userId: editor.id, role: 'editor' });
    const et = (await t.login(editor.email, editor.password)).accessToken;
    const stranger = await t.user();
    const st = (await t.login(stranger.email, stranger.password)).accessToken;
    const routes: [string, string, unknown?][] = [
      ['GET', ''], ['POST', '', { url: `${receiverUrl}/x`, events: ['post.failed'] }], ['GET', `/${webhook.id}`], ['PATCH', `/${webhook.id}`, { active: false }],
      ['DELETE', `/${webhook.id}`], ['POST', `/${webhook.id}/rotate-secret`], ['POST', `/${webhook.id}/ping`], ['GET', `/${webhook.id}/deliveries`],
      ['POST', `/${webhook.id}/deliveries/${randomUUID()}/redeliver`],
    ];
    for (const [method, path, body] of routes) {
      assert.equal((await api(method, path, body, et)).status, 403, `editor: ${method} ${path}`);
      assert.equal((await api(method, path, body, st)).status, 404, `stranger: ${method} ${path}`);
    }
    // Another workspace's webhook is not found through this one.
    const other = (await t.call('POST', '/api/workspaces', { token: st, body: { name: 'Other' } })).body.id;
    assert.equal((await t.call('GET', `/api/workspaces/${other}/webhooks/${webhook.id}`, { token: st })).status, 404);
    assert.equal((await api('GET', `/${webhook.id}`)).status, 200, 'untouched');
  });
});

describe('delivering', () => {
  test('ping delivers at once with a valid Standard Webhooks signature and answers the result', async () => {
    const { webhook, secret } = await createHook('/ping');
    const r = await api('POST', `/${webhook.id}/ping`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.delivered, true);
    assert.equal(r.body.statusCode, 200);
    const got = at('/ping');
    assert.equal(got.length, 1);
    const h = got[0]!.headers;
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h['user-agent'], 'AllIN-Webhooks/1');
    assert.match(String(h['webhook-id']), /^msg_[0-9a-f]{32}$/);
    assert.ok(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000) < 30);
    const payload = verified(secret, got[0]!);
    assert.equal(payload.type, 'webhook.test');
    assert.equal(payload.id, h['webhook-id']);
    assert.equal(payload.data.webhookId, webhook.id);
    // The tampered body, another secret, and an old timestamp are all refused by the reference implementation.
    assert.throws(() => new StandardWebhook(secret).verify(got[0]!.body.replace('webhook.test', 'post.published'), h as Record<string, string>));
    const old = Math.floor(Date.now() / 1000) - 600;
    const body = got[0]!.body;
    assert.throws(() => new StandardWebhook(secret).verify(body, { ...h, 'webhook-timestamp': String(old), 'webhook-signature': sign(secret, payload.id, old, body) } as unknown as Record<string, string>));
    const log = await api('GET', `/${webhook.id}/deliveries`);
    assert.equal(log.body.deliveries[0].event, 'webhook.test');
    assert.equal(log.body.deliveries[0].status, 'delivered');
    assert.equal(log.body.deliveries[0].log.length, 1);
  });

  test('a receiver answering 500 twice then 200: delivered on the third try, with the three tries in the log', async () => {
    const { webhook, secret } = await createHook('/flaky', ['post.published']);
    scripts.set('/flaky', [500, 500]);
    await emit('post.published', { postId: 'p1', targetId: 't1', url: 'https://network.example/p1' });
    const [d] = await eventually(async () => {
      const rows = await deliveriesOf(webhook.id);
      return rows[0]?.status === 'delivered' ? rows : undefined;
    }, 15_000, 'the delivery');
    assert.equal(d!.attempts, 3);
    assert.equal(d!.lastStatusCode, 200);
    assert.equal(d!.lastError, null);
    const got = at('/flaky');
    assert.equal(got.length, 3);
    assert.equal(new Set(got.map((g) => g.headers['webhook-id'])).size, 1, 'one webhook-id across retries');
    for (const g of got) assert.equal(verified(secret, g).data.postId, 'p1', 'every try is signed');
    const log = await api('GET', `/${webhook.id}/deliveries`);
    assert.equal(log.status, 200);
    const entry = log.body.deliveries[0];
    assert.equal(entry.status, 'delivered');
    assert.equal(entry.payload.type, 'post.published');
    assert.deepEqual(entry.log.map((a: { statusCode: number }) => a.statusCode), [500, 500, 200]);
    assert.match(entry.log[0].error, /^HTTP 500: receiver says no/);
    assert.ok(entry.log[0].error.length <= 220, 'only a short snippet of the answer is kept');
    assert.ok(!entry.log[0].error.includes('\u0000'));
    assert.equal(entry.log[2].error, null);
    assert.ok(entry.log.every((a: { durationMs: number }) => Number.isInteger(a.durationMs)));
    const metric = (await t.running.metrics.webhookDeliveries.get()).values;
    assert.ok(metric.some((v) => v.labels.event === 'post.published' && v.labels.outcome === 'retry' && v.value >= 2));
    assert.ok(metric.some((v) => v.labels.event === 'post.published' && v.labels.outcome === 'delivered' && v.value >= 1));
  });

  test('a receiver that keeps failing: failed after WEBHOOK_MAX_ATTEMPTS; redelivery sends the same event again', async () => {
    const { webhook, secret } = await createHook('/down', ['post.failed']);
    scripts.set('/down', [503, 503, 503]);
    await emit('post.failed', { postId: 'p2', error: 'the network refused' });
    const [d] = await eventually(async () => {
      const rows = await deliveriesOf(webhook.id);
      return rows[0]?.status === 'failed' ? rows : undefined;
    }, 15_000, 'giving up');
    assert.equal(d!.attempts, 3);
    assert.equal(d!.lastStatusCode, 503);
    assert.equal(d!.nextAttemptAt, null);
    // Nothing to wait for: a fixed pause is the only way to see that a fourth try does not come.
    await sleep(300);
    assert.equal(at('/down').length, 3, 'no fourth try');

    const failedOnly = await api('GET', `/${webhook.id}/deliveries?status=failed`);
    assert.equal(failedOnly.body.deliveries.length, 1);
    assert.equal(failedOnly.body.deliveries[0].log.length, 3);

    const again = await api('POST', `/${webhook.id}/deliveries/${d!.id}/redeliver`);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.notEqual(again.body.id, d!.id);
    assert.equal(again.body.status, 'pending');
    await eventually(async () => (await deliveriesOf(webhook.id)).find((x) => x.id === again.body.id && x.status === 'delivered'), 15_000, 'the redelivery');
    const got = at('/down');
    assert.equal(got.length, 4);
    assert.equal(got[3]!.headers['webhook-id'], got[0]!.headers['webhook-id'], 'the same message id, so a receiver can recognise it');
    assert.equal(verified(secret, got[3]!).data.postId, 'p2');
    // A pending delivery cannot be redelivered; an unknown one is not found.
    const pendingId = randomUUID();
    await t.running.services.db.insert(webhookDeliveries).values({ id: pendingId, webhookId: webhook.id, event: 'post.failed', payload: { id: 'msg_p', type: 'post.failed', timestamp: new Date().toISOString(), data: {} } });
    const busy = await api('POST', `/${webhook.id}/deliveries/${pendingId}/redeliver`);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'DELIVERY_PENDING');
    assert.equal((await api('POST', `/${webhook.id}/deliveries/${randomUUID()}/redeliver`)).status, 404);
  });

  test('only active webhooks subscribed to the event get it; an emit in a rolled-back transaction sends nothing', async () => {
    const wanted = await createHook('/sub-failed', ['post.failed']);
    const off = await createHook('/sub-off', ['post.unknown'], { active: false });
    const on = await createHook('/sub-unknown', ['post.unknown']);
    await emit('post.unknown', { postId: 'p3' });
    await eventually(async () => at('/sub-unknown').length === 1, 15_000, 'the unknown event');
    assert.equal((await deliveriesOf(wanted.webhook.id)).length, 0);
    assert.equal((await deliveriesOf(off.webhook.id)).length, 0);

    const { db, webhooks: service } = t.running.services;
    await assert.rejects(db.transaction(async (tx) => {
      await service.emit(tx, ws, 'post.unknown', { postId: 'rolled-back' });
      throw new Error('the change that caused the event failed');
    }));
    assert.equal((await deliveriesOf(on.webhook.id)).length, 1);
    const jobs = await db.execute(sql`select count(*)::int as n from graphile_worker._private_jobs where payload::text like '%rolled-back%'`);
    assert.equal((jobs.rows[0] as { n: number }).n, 0);
    // A fixed pause: what is checked is that no second request arrives, and an absence has no event.
    await sleep(300);
    assert.equal(at('/sub-unknown').length, 1);
  });

  test('emitMany: many events in one go, one delivery and job each per subscribed webhook, signed and delivered; nothing when rolled back', async () => {
    const a = await createHook('/many-a', ['inbox.message.created']);
    const b = await createHook('/many-b', ['inbox.message.created', 'inbox.conversation.assigned']);
    const other = await createHook('/many-other', ['inbox.conversation.assigned']);
    const off = await createHook('/many-off', ['inbox.message.created'], { active: false });
    const elsewhere = (await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'Hooks elsewhere' } })).body.id as string;
    const theirs = await t.call('POST', `/api/workspaces/${elsewhere}/webhooks`, { token: owner.token, body: { url: `${receiverUrl}/many-theirs`, events: ['inbox.message.created'] } });
    assert.equal(theirs.status, 201);
    const { db, webhooks: service } = t.running.services;
    // A first page of collected messages can be hundreds: written in two statements, whatever the count.
    const data = Array.from({ length: 200 }, (_, i) => ({ messageId: `m-${i}`, excerpt: 'x'.repeat(50) }));
    await db.transaction((tx) => service.emitMany(tx, ws, 'inbox.message.created', data));
    for (const h of [a, b]) {
      const rows = await deliveriesOf(h.webhook.id);
      assert.equal(rows.length, 200);
      assert.deepEqual(new Set(rows.map((r) => (r.payload as { data: { messageId: string } }).data.messageId)).size, 200);
    }
    assert.equal((await deliveriesOf(other.webhook.id)).length, 0);
    assert.equal((await deliveriesOf(off.webhook.id)).length, 0);
    assert.equal((await deliveriesOf(theirs.body.webhook.id)).length, 0, "another workspace's webhook gets none");
    const idsA = new Set((await deliveriesOf(a.webhook.id)).map((r) => (r.payload as { id: string }).id));
    assert.equal(idsA.size, 200, 'each event has its own message id');
    const sameEvent = (await deliveriesOf(b.webhook.id)).filter((r) => idsA.has((r.payload as { id: string }).id));
    assert.equal(sameEvent.length, 200, 'an event has the same id at every webhook');
    await eventually(async () => at('/many-a').length === 200 && at('/many-b').length === 200, 120_000, 'every event at both receivers');
    const one = verified(a.secret, at('/many-a')[0]!);
    assert.equal(one.type, 'inbox.message.created');
    assert.equal(at('/many-theirs').length, 0);

    await assert.rejects(db.transaction(async (tx) => {
      await service.emitMany(tx, ws, 'inbox.message.created', [{ messageId: 'rolled-back-many' }]);
      throw new Error('the change that caused the events failed');
    }));
    assert.equal((await deliveriesOf(a.webhook.id)).length, 200);
    const left = await db.execute(sql`select count(*)::int as n from webhook_deliveries where payload::text like '%rolled-back-many%'`);
    assert.equal((left.rows[0] as { n: number }).n, 0);
  });

  test('the delivery log pages newest first', async () => {
    const { webhook } = await createHook('/paged', ['post.published']);
    for (let i = 0; i < 5; i++) await emit('post.published', { postId: `page-${i}` });
    await eventually(async () => (await deliveriesOf(webhook.id)).filter((d) => d.status === 'delivered').length === 5, 15_000, 'five deliveries');
    const first = await api('GET', `/${webhook.id}/deliveries?limit=2`);
    assert.equal(first.body.deliveries.length, 2);
    assert.ok(first.body.nextBefore);
    const seen = [...first.body.deliveries];
    let before = first.body.nextBefore;
    while (before) {
      const page = await api('GET', `/${webhook.id}/deliveries?limit=2&before=${before}`);
      seen.push(...page.body.deliveries);
      before = page.body.nextBefore;
    }
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen.map((d: { id: string }) => d.id)).size, 5);
    const created = seen.map((d: { createdAt: string }) => d.createdAt);
    assert.deepEqual(created, [...created].sort().reverse());
  });

  test('account.needs_reconnect is delivered when an account is marked needs_reconnect', async () => {
    const { webhook, secret } = await createHook('/accounts', ['account.needs_reconnect']);
    const { db, accounts } = t.running.services;
    const [acc] = await db.insert(socialAccounts).values({
      id: randomUUID(), workspaceId: ws, provider: 'sandbox', externalId: `ext-${randomUUID()}`, kind: 'person', username: 'hooky', displayName: 'Hooky',
    }).returning();
    await accounts.markNeedsReconnect(acc!, 'the network refused the refresh token');
    await eventually(async () => at('/accounts').length === 1, 15_000, 'the account event');
    const payload = verified(secret, at('/accounts')[0]!);
    assert.equal(payload.type, 'account.needs_reconnect');
    assert.deepEqual(payload.data, { accountId: acc!.id, provider: 'sandbox', username: 'hooky', reason: 'the network refused the refresh token' });
    // Marking it again changes nothing and tells no one again.
    await accounts.markNeedsReconnect(acc!, 'again');
    // A fixed pause: what is checked is that no second event is sent, and an absence has no event.
    await sleep(300);
    assert.equal(at('/accounts').length, 1);
    assert.equal((await deliveriesOf(webhook.id)).length, 1);
  });

  test('a published post is told to the webhooks subscribed to post.published, with its target and link, and to no other', async () => {
    const { webhook, secret } = await createHook('/published', ['post.published']);
    const failedOnly = await createHook('/failed-only', ['post.failed']);
    const paused = await createHook('/paused', ['post.published']);
    assert.equal((await api('PATCH', `/${paused.webhook.id}`, { active: false })).status, 200);
    const account = await connectSandbox(t, owner.token, ws, 'hooked');
    const made = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { text: 'Told to the hooks', targets: [{ accountId: account }], schedule: { now: true } } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await eventually(async () => at('/published').length === 1, 30_000, 'the post.published event');
    const payload = verified(secret, at('/published')[0]!);
    assert.equal(payload.type, 'post.published');
    const post = await t.call('GET', `/api/workspaces/${ws}/posts/${made.body.id}`, { token: owner.token });
    const target = post.body.targets[0];
    assert.equal(target.state, 'published');
    assert.ok(target.url, 'the network gave a link');
    assert.deepEqual(payload.data, { postId: made.body.id, targetId: target.id, accountId: account, provider: 'sandbox', state: 'published', remoteId: target.remoteId, url: target.url });
    assert.equal((await deliveriesOf(webhook.id)).length, 1);
    assert.equal((await deliveriesOf(failedOnly.webhook.id)).length, 0, 'not subscribed to post.published');
    assert.equal((await deliveriesOf(paused.webhook.id)).length, 0, 'paused');
  });
});

// --- The private-address guard ---------------------------------------------------------------------

describe('private addresses', () => {
  let guarded: TestApp;
  let gtoken: string;
  let gws: string;
  before(async () => {
    guarded = await startTestApp({ ALLOW_PRIVATE_HOSTS: 'false' });
    const u = await guarded.user();
    gtoken = (await guarded.login(u.email, u.password)).accessToken;
    gws = (await guarded.call('POST', '/api/workspaces', { token: gtoken, body: { name: 'Guarded' } })).body.id;
  });
  after(() => guarded.stop());

  /** This machine's name when it resolves to a private or loopback address (it does on most machines). */
  async function privateName(): Promise<string | undefined> {
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    return addresses.length > 0 && addresses.every((a) => isBlockedAddress(a.address)) ? name : undefined;
  }

  test('creating or moving a webhook to a private, loopback or link-local address is refused (400)', async () => {
    const urls = [`http://127.0.0.1:${receiverPort}/hook`, 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://10.0.0.1/',
      'http://localhost:8080/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/'];
    const name = await privateName();
    if (name) urls.push(`http://${name}:${receiverPort}/hook`);
    for (const url of urls) {
      const r = await guarded.call('POST', `/api/workspaces/${gws}/webhooks`, { token: gtoken, body: { url, events: ['post.published'] } });
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'HOST_NOT_ALLOWED', url);
    }
    assert.equal(at('/hook').length, 0, 'nothing was sent');
    // A public address is accepted, then cannot be moved to a private one.
    const ok = await guarded.call('POST', `/api/workspaces/${gws}/webhooks`, { token: gtoken, body: { url: 'https://93.184.215.14/hook', events: ['post.published'] } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const moved = await guarded.call('PATCH', `/api/workspaces/${gws}/webhooks/${ok.body.webhook.id}`, { token: gtoken, body: { url: 'http://192.168.1.1/' } });
    assert.equal(moved.status, 400);
    assert.equal(moved.body.code, 'HOST_NOT_ALLOWED');
  });

  test('a delivery to a host that resolves to a private address is blocked when it connects, and fails at once', async (c) => {
    const name = await privateName();
    if (!name) return c.skip(`${hostname()} does not resolve to a private address here`);
    const { db } = t.running.services;
    const cipher = new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys);
    const metrics = createMetrics({ enabled: true });
    const { log, lines } = capturingLogger('debug');
    const http = new HttpClient({ metrics, log, allowPrivateHosts: false });
    const service = new WebhookService({
      db, cipher, http, log, metrics, config: { maxAttempts: 5, timeoutMs: 2000, retryBaseMs: 50, allowPrivateHosts: false, requireHttps: false },
    });
    // Saved while the name was public (inserted directly: the up-front check would refuse it now).
    const id = randomUUID();
    const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    await db.insert(webhooks).values({ id, workspaceId: ws, url: `http://${name}:${receiverPort}/rebound`, events: ['post.published'], secretEnc: cipher.encrypt(secret, id) });
    const deliveryId = randomUUID();
    await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: id, event: 'post.published', payload: { id: 'msg_x', type: 'post.published', timestamp: new Date().toISOString(), data: {} } });
    assert.equal(await service.deliver(deliveryId), 'failed');
    assert.equal(at('/rebound').length, 0, 'nothing reached the receiver');
    const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
    assert.equal(d!.status, 'failed');
    assert.equal(d!.attempts, 1);
    assert.match(d!.lastError!, /blocked_host: .*private, loopback or link-local/);
    // An IP literal is refused before any connection, through ping as well.
    await db.update(webhooks).set({ url: `http://127.0.0.1:${receiverPort}/rebound` }).where(eq(webhooks.id, id));
    const ping = await service.ping(ws, id);
    assert.equal(ping.delivered, false);
    assert.match(ping.error!, /blocked_host/);
    assert.equal(at('/rebound').length, 0);
    assert.ok(!JSON.stringify(lines()).includes(secret.slice(6)), 'the secret is in no log line');
    await db.delete(webhooks).where(eq(webhooks.id, id));
    await http.close();
  });
});

describe('the service on its own', () => {
  test('retry waits follow 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, with ±20 % jitter', () => {
    const mid = (n: number) => retryDelayMs(n, 10_000, () => 0.5);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 12].map(mid), [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000, 43_200_000, 43_200_000]);
    assert.equal(retryDelayMs(1, 10_000, () => 0), 8_000);
    assert.equal(retryDelayMs(1, 10_000, () => 1), 12_000);
  });

  test('a receiver that does not answer in time is a timeout, retried later', async () => {
    const { db } = t.running.services;
    const cipher = new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys);
    const metrics = createMetrics({ enabled: true });
    const http = new HttpClient({ metrics, log: capturingLogger().log, allowPrivateHosts: true });
    const service = new WebhookService({
      db, cipher, http, log: capturingLogger().log, metrics, config: { maxAttempts: 5, timeoutMs: 200, retryBaseMs: 60_000, allowPrivateHosts: true, requireHttps: false },
    });
    hang.add('/slow');
    const id = randomUUID();
    await db.insert(webhooks).values({ id, workspaceId: ws, url: `${receiverUrl}/slow`, events: ['post.published'], secretEnc: cipher.encrypt('whsec_' + Buffer.alloc(32, 1).toString('base64'), id) });
    const deliveryId = randomUUID();
    await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: id, event: 'post.published', payload: { id: 'msg_slow', type: 'post.published', timestamp: new Date().toISOString(), data: {} } });
    const started = Date.now();
    assert.equal(await service.deliver(deliveryId), 'retry');
    assert.ok(Date.now() - started < 3000);
    const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
    assert.equal(d!.status, 'pending');
    assert.match(d!.lastError!, /^timeout/);
    assert.ok(d!.nextAttemptAt!.getTime() > Date.now() + 30_000, 'the next try is a minute away');
    const job = await db.execute(sql`select run_at from graphile_worker.jobs where key = ${`webhook-delivery:${deliveryId}`}`);
    assert.equal(job.rows.length, 1, 'the next try is queued');
    // Delete it so the app's runner does not try it later.
    await db.delete(webhooks).where(and(eq(webhooks.id, id)));
    assert.equal((await metrics.webhookDeliveries.get()).values.find((v) => v.labels.outcome === 'retry')?.value, 1);
    await http.close();
  });

  test('a receiver that answers 429 or 503 with Retry-After is not tried again sooner than it asked', async () => {
    const { db } = t.running.services;
    const cipher = new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys);
    const metrics = createMetrics({ enabled: true });
    const http = new HttpClient({ metrics, log: capturingLogger().log, allowPrivateHosts: true });
    // A 50 ms base: the schedule alone would retry within a second, and believes a Retry-After up to 4320 × 50 ms (3.6 min).
    const service = new WebhookService({
      db, cipher, http, log: capturingLogger().log, metrics, config: { maxAttempts: 5, timeoutMs: 2000, retryBaseMs: 50, allowPrivateHosts: true, requireHttps: false },
    });
    for (const [path, status] of [['/busy-503', 503], ['/busy-429', 429]] as const) {
      scripts.set(path, [status]);
      retryAfterOf.set(path, '120');
      const id = randomUUID();
      await db.insert(webhooks).values({ id, workspaceId: ws, url: `${receiverUrl}${path}`, events: ['post.published'], secretEnc: cipher.encrypt('whsec_' + Buffer.alloc(32, 2).toString('base64'), id) });
      const deliveryId = randomUUID();
      await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: id, event: 'post.published', payload: { id: `msg${path}`, type: 'post.published', timestamp: new Date().toISOString(), data: {} } });
      const before = Date.now();
      assert.equal(await service.deliver(deliveryId), 'retry');
      const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
      assert.equal(d!.lastStatusCode, status);
      assert.ok(d!.nextAttemptAt!.getTime() >= before + 120_000, `${path}: the next try waits the two minutes asked (${d!.nextAttemptAt!.toISOString()})`);
      await db.delete(webhooks).where(eq(webhooks.id, id));
    }
    await http.close();
  });

  test('a secret no configured key can decrypt fails the delivery at once, saying what to do', async () => {
    const { db } = t.running.services;
    const id = randomUUID();
    const stranger = new TokenCipher(parseEncryptionKeys(`gone:${Buffer.alloc(32, 9).toString('base64')}`).keys);
    await db.insert(webhooks).values({ id, workspaceId: ws, url: `${receiverUrl}/undecryptable`, events: [], secretEnc: stranger.encrypt('whsec_x', id) });
    const deliveryId = randomUUID();
    await db.insert(webhookDeliveries).values({ id: deliveryId, webhookId: id, event: 'post.published', payload: { id: 'msg_u', type: 'post.published', timestamp: new Date().toISOString(), data: {} } });
    assert.equal(await t.running.services.webhooks.deliver(deliveryId), 'failed');
    const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
    assert.match(d!.lastError!, /cannot be decrypted.*rotate it/);
    assert.equal(at('/undecryptable').length, 0);
    await db.delete(webhooks).where(eq(webhooks.id, id));
  });
});
