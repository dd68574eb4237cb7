// The workspace audit log over HTTP: every change of the workspace side is there, newest first, with
// who (user or API key), from where, and paging; only those with audit.read see it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestApp, uniqueEmail, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { invite, ok, person, type Person, type Role } from './support/fixtures.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t.stop());

async function join(ws: string, by: Person, p: Person, role: Role): Promise<void> {
  const { token } = await invite(t, ws, by, p.email, role);
  await ok(t, 'POST', '/api/invitations/accept', p.token, { token });
}

test('every change is in the workspace audit log, newest first, with actor, target, ip and user agent', async () => {
  const owner = await person(t);
  const ua = { 'user-agent': 'audit-test/1.0' };
  const ws = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Logged' }, 201, ua)).id;
  const other = await person(t);
  await join(ws, owner, other, 'editor');
  await ok(t, 'PATCH', `/api/workspaces/${ws}`, owner.token, { name: 'Logged 2' }, 200, ua);
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${other.id}`, owner.token, { role: 'admin' }, 200, ua);
  const inv = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, owner.token, { email: uniqueEmail(), role: 'viewer' }, 201, ua);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/invitations/${inv.id}`, owner.token, undefined, 204, ua);
  const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'bot', scopes: ['admin'] }, 201, ua);
  await ok(t, 'PATCH', `/api/workspaces/${ws}`, key.key, { name: 'Logged by key' }, 200, ua);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/api-keys/${key.id}`, owner.token, undefined, 204, ua);
  await ok(t, 'POST', `/api/workspaces/${ws}/transfer-ownership`, owner.token, { userId: other.id }, 200, ua);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${owner.id}`, owner.token, undefined, 204, ua);

  const { events } = await ok(t, 'GET', `/api/workspaces/${ws}/audit`, other.token);
  assert.deepEqual(events.map((e: Json) => e.action), [
    'member.left', 'workspace.ownership_transferred', 'apikey.revoked', 'workspace.renamed', 'apikey.created', 'invitation.revoked',
    'invitation.created', 'member.role_changed', 'workspace.renamed', 'invitation.accepted', 'invitation.created', 'workspace.created',
  ]);
  const ids = events.map((e: Json) => e.id);
  assert.deepEqual(ids, [...ids].sort((a: number, b: number) => b - a), 'newest first');
  for (const e of events) {
    assert.deepEqual(Object.keys(e).sort(), ['action', 'actorApiKeyId', 'actorUserId', 'createdAt', 'details', 'id', 'ip', 'targetId', 'targetType', 'userAgent']);
    assert.ok(!Number.isNaN(Date.parse(e.createdAt)));
    assert.ok(e.ip, `${e.action} has the caller's ip`);
  }
  const byAction = (a: string) => events.find((e: Json) => e.action === a);
  const roleChanged = byAction('member.role_changed');
  assert.deepEqual([roleChanged.actorUserId, roleChanged.actorApiKeyId, roleChanged.targetType, roleChanged.targetId, roleChanged.userAgent],
    [owner.id, null, 'user', other.id, 'audit-test/1.0']);
  assert.deepEqual(roleChanged.details, { from: 'editor', to: 'admin' });
  const byKey = events.filter((e: Json) => e.action === 'workspace.renamed')[0];
  assert.deepEqual([byKey.actorUserId, byKey.actorApiKeyId], [null, key.id]);
  assert.deepEqual(byKey.details, { from: 'Logged 2', to: 'Logged by key' });
  assert.deepEqual([byAction('apikey.created').targetType, byAction('apikey.created').targetId], ['api_key', key.id]);
  assert.equal(byAction('invitation.accepted').actorUserId, other.id);
  assert.equal(byAction('member.left').targetId, owner.id);
  assert.deepEqual(byAction('workspace.ownership_transferred').details, { from: owner.id, to: other.id, previousRoleOfNewOwner: 'admin' });
  // No secret is ever in the log.
  assert.ok(!JSON.stringify(events).includes(key.key));
});

test('paging with limit and before, and the log of one workspace only', async () => {
  const owner = await person(t);
  const ws = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Paged' }, 201)).id;
  const elsewhere = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Elsewhere' }, 201)).id;
  for (let i = 1; i <= 5; i++) await ok(t, 'PATCH', `/api/workspaces/${ws}`, owner.token, { name: `Paged ${i}` });
  await ok(t, 'PATCH', `/api/workspaces/${elsewhere}`, owner.token, { name: 'Elsewhere 2' });

  const all = (await ok(t, 'GET', `/api/workspaces/${ws}/audit`, owner.token)).events;
  assert.equal(all.length, 6);
  assert.ok(all.every((e: Json) => e.details.name !== 'Elsewhere' && e.details.to !== 'Elsewhere 2'));
  const first = (await ok(t, 'GET', `/api/workspaces/${ws}/audit?limit=2`, owner.token)).events;
  assert.deepEqual(first.map((e: Json) => e.id), all.slice(0, 2).map((e: Json) => e.id));
  const second = (await ok(t, 'GET', `/api/workspaces/${ws}/audit?limit=2&before=${first[1].id}`, owner.token)).events;
  assert.deepEqual(second.map((e: Json) => e.id), all.slice(2, 4).map((e: Json) => e.id));
  const rest = (await ok(t, 'GET', `/api/workspaces/${ws}/audit?limit=200&before=${second[1].id}`, owner.token)).events;
  assert.deepEqual(rest.map((e: Json) => e.action), ['workspace.renamed', 'workspace.created']);
});

test('only owners, admins and admin-scoped keys read the log; outsiders get 404', async () => {
  const owner = await person(t);
  const ws = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Private' }, 201)).id;
  const admin = await person(t);
  const editor = await person(t);
  const viewer = await person(t);
  await join(ws, owner, admin, 'admin');
  await join(ws, owner, editor, 'editor');
  await join(ws, owner, viewer, 'viewer');
  const readKey = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'r', scopes: ['read', 'write'] }, 201);
  const adminKey = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'a', scopes: ['admin'] }, 201);

  assert.ok((await ok(t, 'GET', `/api/workspaces/${ws}/audit`, admin.token)).events.length > 0);
  assert.ok((await ok(t, 'GET', `/api/workspaces/${ws}/audit`, adminKey.key)).events.length > 0);
  for (const [token, message] of [[editor.token, /As editor you cannot read the audit log/], [viewer.token, /As viewer you cannot read the audit log/],
    [readKey.key, /This API key cannot read the audit log: that needs the scope admin/]] as const) {
    const r = await t.call('GET', `/api/workspaces/${ws}/audit`, { token });
    assert.equal(r.status, 403);
    assert.match(r.body.message, message);
  }
  const outsider = await person(t);
  const r = await t.call('GET', `/api/workspaces/${ws}/audit`, { token: outsider.token });
  const none = await t.call('GET', `/api/workspaces/${randomUUID()}/audit`, { token: outsider.token });
  assert.equal(r.status, 404);
  assert.deepEqual({ ...r.body, requestId: null }, { ...none.body, requestId: null });
  const anonymous = await t.call('GET', `/api/workspaces/${ws}/audit`);
  assert.equal(anonymous.status, 401);
});

test('bad paging parameters answer 400 naming the parameter', async () => {
  const owner = await person(t);
  const ws = (await ok(t, 'POST', '/api/workspaces', owner.token, { name: 'Q' }, 201)).id;
  for (const [query, message] of [
    ['limit=0', /querystring\.limit must be >= 1/],
    ['limit=201', /querystring\.limit must be <= 200/],
    ['limit=abc', /querystring\.limit must be integer/],
    ['limit=1.5', /querystring\.limit must be integer/],
    ['before=0', /querystring\.before must be >= 1/],
    ['before=-3', /querystring\.before must be >= 1/],
    ['before=99999999999999999999', /querystring\.before must be an integer from 1 to 9007199254740991/],
    [`before=${'9'.repeat(400)}`, /querystring\.before must be an integer from 1 to 9007199254740991/],
    [`before=${'9'.repeat(5000)}`, /querystring\.before must be an integer from 1 to 9007199254740991/],
    [`limit=${'9'.repeat(400)}`, /querystring\.limit must be an integer from 1 to 200/],
    ['before=%F0%9F%99%82', /querystring\.before must be integer/],
  ] as const) {
    const r = await t.call('GET', `/api/workspaces/${ws}/audit?${query}`, { token: owner.token });
    assert.equal(r.status, 400, `${query.slice(0, 40)}: ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.equal(r.body.code, 'VALIDATION_FAILED');
    assert.match(r.body.message, message, query.slice(0, 40));
  }
  const r = await t.call('GET', '/api/workspaces/not-a-uuid/audit', { token: owner.token });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /params\.workspaceId must match format "uuid"/);
});
