// Connecting social accounts through the real API, with the Sandbox network on the in-process
// simulator: the OAuth round trip as a browser makes it, state attacks, reconnect, disconnect,
// refresh under concurrency, tokens at rest.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { socialAccounts } from '../src/modules/accounts/schema.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { mailOutbox } from '../src/modules/mail/schema.ts';
import { TokenCipher, DecryptError } from '../src/infra/crypto/token-cipher.ts';
import { parseEncryptionKeys } from '../src/config.ts';
import { AccountService } from '../src/modules/accounts/service.ts';

let t: TestApp;
let owner: { token: string; email: string };
let ws: string;

before(async () => {
  t = await startTestApp({}, 'start');
  const u = await t.user();
  owner = { token: (await t.login(u.email, u.password)).accessToken, email: u.email };
  ws = (await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'Accounts' } })).body.id;
});
after(() => t.stop());

const sim = (path: string, body?: unknown) =>
  fetch(`${t.running.simulatorUrl}${path}`, { method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }).then((r) => r.json() as Promise<Record<string, unknown>>);

/** Start a connect, follow the network's consent redirect; returns what the callback needs. */
async function beginConnect(token: string, workspaceId: string, body: Record<string, unknown> = { provider: 'sandbox' }) {
  const start = await t.call('POST', `/api/workspaces/${workspaceId}/accounts/connect`, { token, body });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(start.body.authorizationUrl, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  return { cookie, callbackPath: `${back.pathname}${back.search}`, state: back.searchParams.get('state')! };
}

async function callback(path: string, cookie?: string): Promise<URL> {
  const res = await fetch(`${t.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location')!);
}

async function connect(token = owner.token, workspaceId = ws, body: Record<string, unknown> = { provider: 'sandbox' }): Promise<string> {
  const b = await beginConnect(token, workspaceId, body);
  const done = await callback(b.callbackPath, b.cookie);
  assert.equal(done.searchParams.get('connected'), 'sandbox', done.toString());
  return done.searchParams.get('accounts')!;
}

describe('connect', () => {
  test('the OAuth round trip connects an account; no token ever appears in an answer', async () => {
    const id = await connect();
    const list = await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: owner.token });
    assert.equal(list.status, 200);
    const acc = list.body.accounts.find((a: { id: string }) => a.id === id);
    assert.equal(acc.status, 'active');
    assert.equal(acc.provider, 'sandbox');
    const raw = JSON.stringify(list.body);
    assert.ok(!raw.includes('at_sandbox') && !raw.includes('rt_sandbox'));
    const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    assert.match(row!.accessTokenEnc!, /^v1\./, 'encrypted at rest');
    const audits = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, id));
    assert.ok(audits.some((a) => a.action === 'account.connected'));
    const networks = await t.call('GET', '/api/networks', { token: owner.token });
    assert.ok(networks.body.networks.some((n: { id: string }) => n.id === 'sandbox'));
  });

  test('connecting the same network account twice to one workspace is the same account; another workspace gets its own', async () => {
    const a = await connect();
    const b = await connect();
    assert.equal(a, b);
    const other = (await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'Second' } })).body.id;
    const c = await connect(owner.token, other);
    assert.notEqual(c, a);
  });

  test('replayed, forged, expired and unbound state are refused, redirecting with a clear code', async () => {
    const b = await beginConnect(owner.token, ws);
    assert.equal((await callback(b.callbackPath, b.cookie)).searchParams.get('connected'), 'sandbox');
    assert.equal((await callback(b.callbackPath, b.cookie)).searchParams.get('connect_error'), 'invalid_state', 'replayed');
    assert.equal((await callback(`/api/connect/sandbox/callback?code=x&state=${randomBytes(32).toString('base64url')}`, b.cookie)).searchParams.get('connect_error'), 'invalid_state', 'forged');
    assert.equal((await callback('/api/connect/sandbox/callback?code=x')).searchParams.get('connect_error'), 'invalid_state', 'missing');

    // Another browser (or another user's) following this state: not bound to it.
    const stolen = await beginConnect(owner.token, ws);
    assert.equal((await callback(stolen.callbackPath)).searchParams.get('connect_error'), 'state_not_yours');
    const mallory = await t.user();
    const mt = (await t.login(mallory.email, mallory.password)).accessToken;
    const mws = (await t.call('POST', '/api/workspaces', { token: mt, body: { name: 'Mallory' } })).body.id;
    const hers = await beginConnect(mt, mws);
    const victim = await beginConnect(owner.token, ws);
    assert.equal((await callback(hers.callbackPath, victim.cookie)).searchParams.get('connect_error'), 'state_not_yours', 'cross-user');

    // Expired: the stored state is older than 10 minutes.
    const old = await beginConnect(owner.token, ws);
    const key = `oauth-state:${old.state}`;
    const stored = JSON.parse((await t.running.store.get(key))!);
    await t.running.store.set(key, JSON.stringify({ ...stored, createdAt: Date.now() - 11 * 60_000 }), 60_000);
    assert.equal((await callback(old.callbackPath, old.cookie)).searchParams.get('connect_error'), 'invalid_state', 'expired');
  });

  test('consent denied and a network that is down redirect with their own codes, never a 500', async () => {
    await sim('/_sim/sandbox/knobs', { denyConsent: true });
    const denied = await beginConnect(owner.token, ws);
    assert.equal((await callback(denied.callbackPath, denied.cookie)).searchParams.get('connect_error'), 'consent_denied');
    await sim('/_sim/sandbox/knobs', { denyConsent: false, errorRate: 1 });
    const down = await beginConnect(owner.token, ws);
    assert.equal((await callback(down.callbackPath, down.cookie)).searchParams.get('connect_error'), 'network_unavailable');
    await sim('/_sim/sandbox/knobs', { errorRate: 0 });
  });

  test('a Mastodon instance on a private, loopback or link-local address is refused before any connection', async () => {
    for (const host of ['127.0.0.1', '169.254.169.254', 'localhost', '10.1.2.3', '[::1]']) {
      const r = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'mastodon', host } });
      assert.equal(r.status, 400, `${host}: ${JSON.stringify(r.body)}`);
      // [::1] is not even a host name to AllIN; the others are names or addresses the guard refuses.
      assert.equal(r.body.code, host === '[::1]' ? 'VALIDATION_FAILED' : 'HOST_NOT_ALLOWED', `${host}: ${JSON.stringify(r.body)}`);
    }
    const missing = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'mastodon' } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /host is required/);
  });

  test('bad input and the wrong people are refused', async () => {
    const r = await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: owner.token, body: { provider: 'myspace' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'UNKNOWN_NETWORK');
    const viewer = await t.user();
    const vt = (await t.login(viewer.email, viewer.password)).accessToken;
    assert.equal((await t.call('POST', `/api/workspaces/${ws}/accounts/connect`, { token: vt, body: { provider: 'sandbox' } })).status, 404, 'not a member: 404');
    assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: vt })).status, 404);
  });
});

describe('lifecycle', () => {
  test('reconnect keeps the id and the history, and a refresh token the network does not send again is kept', async () => {
    const id = await connect();
    const [before] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    const again = await connect(owner.token, ws, { provider: 'sandbox', accountId: id });
    assert.equal(again, id);
    const [after] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    assert.notEqual(after!.accessTokenEnc, before!.accessTokenEnc);
    assert.ok(after!.refreshTokenEnc);
  });

  test('two workers refreshing one rotating token at once: one refresh reaches the network, both proceed', async () => {
    const id = await connect();
    const { accounts } = t.running.services;
    const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    const refreshesBefore = await refreshCount();
    // A second service instance stands for a second worker process (same database, same cipher keys).
    const second = new AccountService({
      db: t.running.services.db, store: t.running.store, cipher: new TokenCipher(parseEncryptionKeys(t.running.config.ENCRYPTION_KEYS!).keys),
      registry: t.running.services.registry, metrics: t.running.metrics, log: t.running.app!.log as never, publicUrl: t.running.config.PUBLIC_URL,
      mayManage: async () => true,
    });
    const [a, b] = await Promise.all([accounts.refresh(id, row!.accessTokenEnc), second.refresh(id, row!.accessTokenEnc)]);
    assert.equal(await refreshCount(), refreshesBefore + 1);
    assert.equal(a.accessTokenEnc, b.accessTokenEnc);
    // Both can act as the account.
    const me = await accounts.withAccount(id, (ref) => t.running.services.registry.get('sandbox').identities(ref.tokens));
    assert.equal(me.length, 1);
  });

  test('a refresh the network refuses marks the account needs_reconnect, audits it and mails the admins', async () => {
    const id = await connect();
    const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    const ref = t.running.services.accounts.ref(row!);
    await fetch(`${t.running.simulatorUrl}/sandbox/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${ref.tokens.refreshToken}` });
    await assert.rejects(t.running.services.accounts.refresh(id, row!.accessTokenEnc));
    const [after] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    assert.equal(after!.status, 'needs_reconnect');
    const audits = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, id));
    assert.ok(audits.some((a) => a.action === 'account.needs_reconnect'));
    const mails = await t.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, owner.email));
    assert.ok(mails.some((m) => m.template === 'account_needs_reconnect'));
    const listed = (await t.call('GET', `/api/workspaces/${ws}/accounts/${id}`, { token: owner.token })).body;
    assert.equal(listed.status, 'needs_reconnect');
  });

  test('disconnect revokes at the network, deletes the tokens, keeps the row', async () => {
    const id = await connect();
    const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    const ref = t.running.services.accounts.ref(row!);
    const r = await t.call('DELETE', `/api/workspaces/${ws}/accounts/${id}`, { token: owner.token });
    assert.deepEqual(r.body, { disconnected: true, revokedAtNetwork: true });
    const [after] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    assert.equal(after!.status, 'disconnected');
    assert.equal(after!.accessTokenEnc, null);
    assert.equal(after!.refreshTokenEnc, null);
    await assert.rejects(t.running.services.registry.get('sandbox').identities(ref.tokens), 'the network no longer accepts the token');
    const list = await t.call('GET', `/api/workspaces/${ws}/accounts`, { token: owner.token });
    assert.ok(!list.body.accounts.some((a: { id: string }) => a.id === id));
  });
});

describe('tokens at rest', () => {
  test('a ciphertext copied to another account\'s row does not decrypt', async () => {
    const a = await connect();
    const other = (await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'Third' } })).body.id;
    const b = await connect(owner.token, other);
    const db = t.running.services.db;
    const [ra] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, a));
    await db.update(socialAccounts).set({ accessTokenEnc: ra!.accessTokenEnc }).where(eq(socialAccounts.id, b));
    const [rb] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, b));
    assert.throws(() => t.running.services.accounts.ref(rb!), DecryptError);
  });

  test('key rotation re-encrypts every row and keeps every account usable', async () => {
    const id = await connect();
    const db = t.running.services.db;
    const oldKeys = t.running.config.ENCRYPTION_KEYS!;
    const rotatedKeys = `k2:${randomBytes(32).toString('base64')},${oldKeys}`;
    const rotated = new AccountService({
      db, store: t.running.store, cipher: new TokenCipher(parseEncryptionKeys(rotatedKeys).keys), registry: t.running.services.registry,
      metrics: t.running.metrics, log: t.running.app!.log as never, publicUrl: t.running.config.PUBLIC_URL, mayManage: async () => true,
    });
    const result = await rotated.rotateKeys();
    assert.ok(result.rotated >= 1);
    assert.equal(result.unreadable, 1, 'the row tampered with in the test before');
    const [row] = await db.select().from(socialAccounts).where(eq(socialAccounts.id, id));
    assert.match(row!.accessTokenEnc!, /^v1\.k2\./);
    const ids = await rotated.withAccount(id, (ref) => t.running.services.registry.get('sandbox').identities(ref.tokens));
    assert.equal(ids.length, 1);
    // Every active row is under the new key now.
    const rows = await db.select().from(socialAccounts);
    assert.ok(rows.filter((r) => r.accessTokenEnc && r.status === 'active').every((r) => r.accessTokenEnc!.startsWith('v1.k2.')));
  });
});

/** Refresh requests the simulated network received. */
async function refreshCount(): Promise<number> {
  return Number((await sim('/_sim/sandbox/stats')).refreshCalls);
}
