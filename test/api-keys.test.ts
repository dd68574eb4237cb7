// Workspace API keys over HTTP: shown once, stored hashed, bound to their workspace, limited by their
// scopes and by their creator's current role, dead the moment they are revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import { startTestApp, uniqueEmail, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { recentMail } from '../src/modules/mail/outbox.ts';
import { apiKeys } from '../src/modules/api-keys/schema.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { sha256 } from '../src/modules/auth/tokens.ts';
import { scopesBeyondRole } from '../src/modules/api-keys/service.ts';
import { keyPermissions } from '../src/modules/workspaces/access.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t.stop());

async function createKey(ws: string, by: Person, scopes: string[], name = 'integration'): Promise<Json> {
  return ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, by.token, { name, scopes }, 201);
}

const withoutRequestId = (b: Json) => {
  const { requestId: _, ...rest } = b as Record<string, unknown>;
  return rest;
};

test('an owner creates a key: the whole key once, only its hash stored, never listed', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const r = await t.call('POST', `/api/workspaces/${ws}/api-keys`, { token: owner.token, body: { name: '  Zapier ✨ ', scopes: ['read', 'write'] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const k = r.body;
  assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'id', 'key', 'name', 'prefix', 'scopes', 'workspaceId']);
  assert.equal(k.name, 'Zapier ✨');
  assert.deepEqual(k.scopes, ['read', 'write']);
  assert.equal(k.workspaceId, ws);
  assert.match(k.key, new RegExp(`^allin_${k.prefix}_[A-Za-z0-9_-]{43}$`));

  const [row] = await t.running.services.db.select().from(apiKeys).where(eq(apiKeys.id, k.id));
  assert.ok(row!.secretHash.equals(sha256(k.key)), 'stored as SHA-256 of the key');
  assert.equal(row!.createdBy, owner.id);

  const list = await ok(t, 'GET', `/api/workspaces/${ws}/api-keys`, owner.token);
  assert.equal(list.apiKeys.length, 1);
  assert.deepEqual(Object.keys(list.apiKeys[0]).sort(), ['createdAt', 'createdBy', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes']);
  assert.ok(!JSON.stringify(list).includes(k.key.slice(-43)), 'the secret never appears in a list');
  assert.deepEqual([list.apiKeys[0].createdBy, list.apiKeys[0].lastUsedAt, list.apiKeys[0].revokedAt], [owner.id, null, null]);

  // Using the key records lastUsedAt.
  await ok(t, 'GET', `/api/workspaces/${ws}`, k.key);
  const after = await ok(t, 'GET', `/api/workspaces/${ws}/api-keys`, owner.token);
  assert.ok(after.apiKeys[0].lastUsedAt);

  const [audited] = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, k.id));
  assert.equal(audited?.action, 'apikey.created');
  assert.deepEqual(audited?.details, { name: 'Zapier ✨', prefix: k.prefix, scopes: ['read', 'write'] });
});

test('scopes decide what a key does: read reads, admin renames, nobody manages keys or owns with a key', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const read = await createKey(ws, owner, ['read']);
  const write = await createKey(ws, owner, ['write']);
  const admin = await createKey(ws, owner, ['admin']);

  const got = await ok(t, 'GET', `/api/workspaces/${ws}`, read.key);
  assert.equal(got.id, ws);
  assert.equal(got.role, null, 'a key has scopes, not a role');
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}/members`, read.key)).members.length, 1);

  for (const k of [read, write]) {
    const r = await t.call('PATCH', `/api/workspaces/${ws}`, { token: k.key, body: { name: 'By key' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'FORBIDDEN');
    assert.match(r.body.message, /This API key cannot rename the workspace and change its settings: that needs the scope admin/);
    assert.deepEqual(r.body.details.neededScopes, ['admin']);
  }
  assert.equal((await ok(t, 'PATCH', `/api/workspaces/${ws}`, admin.key, { name: 'By key' })).name, 'By key');
  const [renamed] = await t.running.services.db.select().from(auditLog).where(eq(auditLog.workspaceId, ws)).orderBy(desc(auditLog.id)).limit(1);
  assert.deepEqual([renamed!.action, renamed!.actorApiKeyId, renamed!.actorUserId], ['workspace.renamed', admin.id, null]);

  // Ownership and account operations are for people, whatever the scope.
  const userOnly: [string, string, unknown?][] = [
    ['DELETE', `/api/workspaces/${ws}`],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, { userId: owner.id }],
    ['POST', `/api/workspaces/${ws}/api-keys`, { name: 'child', scopes: ['read'] }],
    ['GET', `/api/workspaces/${ws}/api-keys`],
    ['DELETE', `/api/workspaces/${ws}/api-keys/${read.id}`],
    ['POST', '/api/workspaces', { name: 'New' }],
    ['GET', '/api/workspaces'],
    ['GET', '/api/auth/me'],
  ];
  for (const [method, path, body] of userOnly) {
    const r = await t.call(method, path, { token: admin.key, ...(body ? { body } : {}) });
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'USER_REQUIRED', `${method} ${path}`);
  }
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}`, owner.token)).name, 'By key');
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}/api-keys`, owner.token)).apiKeys.length, 3);
});

test('an admin key acts as an admin: it manages members but never touches owners', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const editor = await member(t, ws, owner, 'editor');
  const k = await createKey(ws, owner, ['admin']);

  assert.equal((await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${editor.id}`, k.key, { role: 'viewer' })).role, 'viewer');
  for (const [method, path, body] of [
    ['PATCH', `/api/workspaces/${ws}/members/${owner.id}`, { role: 'admin' }],
    ['PATCH', `/api/workspaces/${ws}/members/${editor.id}`, { role: 'owner' }],
    ['DELETE', `/api/workspaces/${ws}/members/${owner.id}`, undefined],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: uniqueEmail(), role: 'owner' }],
  ] as const) {
    const r = await t.call(method, path, { token: k.key, ...(body ? { body } : {}) });
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, /Only an owner/);
  }
  const email = uniqueEmail();
  const inv = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, k.key, { email, role: 'editor' }, 201);
  assert.equal(inv.invitedBy, null);
  const [mail] = await recentMail(t.running.services.db, { to: email, limit: 1 });
  assert.match(mail!.subject, /The API key "integration" invited you/);
  // A read key sees members and invitations but changes nothing.
  const read = await createKey(ws, owner, ['read']);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}/invitations`, read.key)).invitations.length, 1);
  const r = await t.call('DELETE', `/api/workspaces/${ws}/members/${editor.id}`, { token: read.key });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /needs the scope admin/);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${editor.id}`, k.key, undefined, 204);
});

test('a key of A on B answers 404, exactly like a workspace that does not exist', async () => {
  const alice = await person(t);
  const wsA = await newWorkspace(t, alice, 'A');
  const bob = await person(t);
  const wsB = await newWorkspace(t, bob, 'B');
  const keyA = await createKey(wsA, alice, ['admin']);
  const keyB = await createKey(wsB, bob, ['read']);
  for (const [method, suffix, body] of [
    ['GET', ''], ['PATCH', '', { name: 'Hijacked' }], ['DELETE', ''], ['GET', '/members'], ['GET', '/invitations'],
    ['POST', '/invitations', { email: uniqueEmail(), role: 'viewer' }], ['GET', '/audit'], ['GET', '/api-keys'],
    ['DELETE', `/api-keys/${keyB.id}`], ['PATCH', `/members/${bob.id}`, { role: 'viewer' }],
  ] as const) {
    const onB = await t.call(method, `/api/workspaces/${wsB}${suffix}`, { token: keyA.key, ...(body ? { body } : {}) });
    const onNothing = await t.call(method, `/api/workspaces/${randomUUID()}${suffix}`, { token: keyA.key, ...(body ? { body } : {}) });
    assert.equal(onB.status, 404, `${method} ${suffix}: ${JSON.stringify(onB.body)}`);
    assert.deepEqual(withoutRequestId(onB.body), withoutRequestId(onNothing.body));
  }
  assert.equal((await ok(t, 'GET', `/api/workspaces/${wsB}`, bob.token)).name, 'B');
  assert.equal((await ok(t, 'GET', `/api/workspaces/${wsB}`, keyB.key)).name, 'B');
  // A user of A cannot revoke B's key through A's id either.
  const r = await t.call('DELETE', `/api/workspaces/${wsA}/api-keys/${keyB.id}`, { token: alice.token });
  assert.equal(r.status, 404);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${wsB}/api-keys`, bob.token)).apiKeys[0].revokedAt, null);
});

test('a revoked key is refused at once with 401 INVALID_API_KEY', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const k = await createKey(ws, owner, ['read']);
  await ok(t, 'GET', `/api/workspaces/${ws}`, k.key);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/api-keys/${k.id}`, owner.token, undefined, 204);
  const r = await t.call('GET', `/api/workspaces/${ws}`, { token: k.key });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'INVALID_API_KEY');
  assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token/);

  const list = await ok(t, 'GET', `/api/workspaces/${ws}/api-keys`, owner.token);
  assert.ok(list.apiKeys[0].revokedAt);
  // Revoking again changes nothing; an unknown key is 404.
  await ok(t, 'DELETE', `/api/workspaces/${ws}/api-keys/${k.id}`, owner.token, undefined, 204);
  const unknown = await t.call('DELETE', `/api/workspaces/${ws}/api-keys/${randomUUID()}`, { token: owner.token });
  assert.equal(unknown.status, 404);
  const revocations = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, k.id));
  assert.deepEqual(revocations.map((a) => a.action).sort(), ['apikey.created', 'apikey.revoked']);

  // A key that was never issued, and a malformed one.
  for (const bad of [`allin_${k.prefix}_${'A'.repeat(43)}`, 'allin_nonsense']) {
    const x = await t.call('GET', `/api/workspaces/${ws}`, { token: bad });
    assert.equal(x.status, 401);
    assert.equal(x.body.code, 'INVALID_API_KEY');
  }
});

test('who creates keys, and a key never does more than its creator currently may', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');

  for (const [p, role] of [[editor, 'editor'], [viewer, 'viewer']] as const) {
    for (const [method, path, body] of [
      ['POST', `/api/workspaces/${ws}/api-keys`, { name: 'mine', scopes: ['read'] }],
      ['GET', `/api/workspaces/${ws}/api-keys`, undefined],
    ] as const) {
      const r = await t.call(method, path, { token: p.token, ...(body ? { body } : {}) });
      assert.equal(r.status, 403);
      assert.match(r.body.message, new RegExp(`As ${role} you cannot create and revoke API keys`));
    }
  }

  // An admin may grant admin: every permission of that scope is one an admin has.
  const k = await createKey(ws, admin, ['admin']);
  assert.equal((await ok(t, 'PATCH', `/api/workspaces/${ws}`, k.key, { name: 'Renamed by key' })).name, 'Renamed by key');
  // The creator is demoted: the key narrows with them, and says why.
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${admin.id}`, owner.token, { role: 'viewer' });
  let r = await t.call('PATCH', `/api/workspaces/${ws}`, { token: k.key, body: { name: 'Again' } });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /the member who created it is now viewer/);
  await ok(t, 'GET', `/api/workspaces/${ws}`, k.key);
  // The creator leaves: their keys are revoked with their membership.
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${admin.id}`, admin.token, undefined, 204);
  r = await t.call('GET', `/api/workspaces/${ws}`, { token: k.key });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'INVALID_API_KEY');
  const [revoked] = await t.running.services.db.select().from(auditLog).where(eq(auditLog.targetId, k.id)).orderBy(desc(auditLog.id)).limit(1);
  assert.deepEqual([revoked!.action, revoked!.details.reason], ['apikey.revoked', 'creator_left']);
});

test('deleting an account revokes the keys it created in workspaces that stay', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const k = await createKey(ws, admin, ['read']);
  await ok(t, 'GET', `/api/workspaces/${ws}`, k.key);
  await ok(t, 'DELETE', '/api/auth/me', admin.token, { password: admin.password }, 204);
  const r = await t.call('GET', `/api/workspaces/${ws}`, { token: k.key });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'INVALID_API_KEY');
  const list = await ok(t, 'GET', `/api/workspaces/${ws}/api-keys`, owner.token);
  assert.deepEqual([list.apiKeys[0].createdBy, typeof list.apiKeys[0].revokedAt], [null, 'string']);
});

test('scopes are checked against the role: the rules behind "never more than its creator"', () => {
  assert.deepEqual(scopesBeyondRole('owner', ['read', 'write', 'admin']), []);
  assert.deepEqual(scopesBeyondRole('admin', ['read', 'write', 'admin']), []);
  assert.deepEqual(scopesBeyondRole('editor', ['read', 'write']), []);
  assert.deepEqual(scopesBeyondRole('editor', ['admin']).map((b) => b.scope), ['admin']);
  assert.deepEqual(scopesBeyondRole('viewer', ['read', 'write']), [{ scope: 'write', permission: 'posts.write' }]);
  assert.ok(keyPermissions(['admin'], 'owner').has('workspace.rename'));
  assert.ok(!keyPermissions(['admin'], 'owner').has('workspace.delete'), 'no scope reaches ownership');
  assert.ok(!keyPermissions(['admin'], 'editor').has('workspace.rename'));
  assert.ok(keyPermissions(['write'], 'editor').has('posts.write'));
  assert.equal(keyPermissions(['admin'], null).size, 0, 'a key whose creator left grants nothing');
});

test('bad input on the key routes answers 400 naming the field', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const huge = 'k'.repeat(1_000_000);
  const path = `/api/workspaces/${ws}/api-keys`;
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', path, {}, /body\.name is required/],
    ['POST', path, { name: 'k' }, /body\.scopes is required/],
    ['POST', path, { name: 'k', scopes: [] }, /body\.scopes must NOT have fewer than 1 items/],
    ['POST', path, { name: 'k', scopes: ['root'] }, /body\.scopes\.0 must be equal to one of the allowed values/],
    ['POST', path, { name: 'k', scopes: ['read', 'read'] }, /body\.scopes must NOT have duplicate items/],
    ['POST', path, { name: 'k', scopes: ['read', 'write', 'admin', 'analytics:read', 'read'] }, /body\.scopes must NOT have more than 4 items/],
    ['POST', path, { name: 'k', scopes: { read: true } }, /body\.scopes must be array/],
    ['POST', path, { name: huge, scopes: ['read'] }, /body\.name must NOT have more than 100 characters/],
    ['POST', path, { name: ' \t ', scopes: ['read'] }, /body\.name must not be blank/],
    ['POST', path, { name: 'tab\there', scopes: ['read'] }, /body\.name must not contain control characters/],
    ['POST', path, { name: ['a', 'b'], scopes: ['read'] }, /body\.name must be string/],
    ['POST', '/api/workspaces/nope/api-keys', { name: 'k', scopes: ['read'] }, /params\.workspaceId must match format "uuid"/],
    ['GET', '/api/workspaces/nope/api-keys', undefined, /params\.workspaceId must match format "uuid"/],
    ['DELETE', `${path}/nope`, undefined, /params\.keyId must match format "uuid"/],
    ['DELETE', `${path}/${'🔑'.repeat(10)}`, undefined, /params\.keyId must match format "uuid"/],
  ];
  for (const [method, p, body, message] of cases) {
    const r = await t.call(method, p, { token: owner.token, ...(body === undefined ? {} : { body }) });
    const label = `${method} ${p.slice(0, 80)} ${JSON.stringify(body)?.slice(0, 60)}`;
    assert.equal(r.status, 400, `${label}: ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.equal(r.body.code, 'VALIDATION_FAILED', label);
    assert.match(r.body.message, message, label);
  }
  assert.deepEqual((await ok(t, 'GET', path, owner.token)).apiKeys, []);
});
