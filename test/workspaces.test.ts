// Workspaces, members, invitations, over HTTP against the real database: the happy paths, every refusal,
// the owner rules, and that an outsider learns nothing about a workspace (404, same body as a random id).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { and, desc, eq } from 'drizzle-orm';
import { startTestApp, uniqueEmail, type TestApp } from './support/app.ts';
import type { Json } from './support/http.ts';
import { recentMail } from '../src/modules/mail/outbox.ts';
import { invite, mailedInvitationToken, member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { auditLog } from '../src/modules/audit/schema.ts';
import { invitations } from '../src/modules/workspaces/schema.ts';
import { renderPermissionTables } from '../src/modules/workspaces/permissions-doc.ts';
import { PERMISSIONS, PERMISSION_DESCRIPTIONS } from '../src/modules/workspaces/permissions.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t.stop());

async function roleIn(ws: string, p: Person): Promise<string | undefined> {
  const list = await ok(t, 'GET', '/api/workspaces', p.token);
  return list.workspaces.find((w: Json) => w.id === ws)?.role;
}

async function auditActions(ws: string): Promise<string[]> {
  const rows = await t.running.services.db.select({ action: auditLog.action }).from(auditLog).where(eq(auditLog.workspaceId, ws)).orderBy(desc(auditLog.id));
  return rows.map((r) => r.action);
}

const withoutRequestId = (b: Json) => {
  const { requestId, ...rest } = b as Record<string, unknown>;
  assert.equal(typeof requestId, 'string');
  return rest;
};

test('a user creates a workspace, becomes its owner, lists, reads and renames it', async () => {
  const owner = await person(t);
  const created = await ok(t, 'POST', '/api/workspaces', owner.token, { name: '  Café Zürich 🚀  ' }, 201);
  assert.equal(created.name, 'Café Zürich 🚀', 'the name is trimmed and keeps its unicode');
  assert.equal(created.role, 'owner');
  assert.match(created.id, /^[0-9a-f-]{36}$/);

  const list = await ok(t, 'GET', '/api/workspaces', owner.token);
  assert.deepEqual(list.workspaces.map((w: Json) => [w.id, w.role]), [[created.id, 'owner']]);

  const got = await ok(t, 'GET', `/api/workspaces/${created.id}`, owner.token);
  assert.equal(got.name, 'Café Zürich 🚀');
  assert.equal(got.role, 'owner');

  const renamed = await ok(t, 'PATCH', `/api/workspaces/${created.id}`, owner.token, { name: 'Acme Social' });
  assert.equal(renamed.name, 'Acme Social');
  assert.equal((await ok(t, 'GET', `/api/workspaces/${created.id}`, owner.token)).name, 'Acme Social');

  const me = await ok(t, 'GET', '/api/auth/me', owner.token);
  assert.deepEqual(me.workspaces.map((w: Json) => w.id), [created.id]);
  assert.deepEqual((await auditActions(created.id)).slice(0, 2), ['workspace.renamed', 'workspace.created']);
  const [renamedRow] = await t.running.services.db.select().from(auditLog)
    .where(and(eq(auditLog.workspaceId, created.id), eq(auditLog.action, 'workspace.renamed')));
  assert.deepEqual(renamedRow!.details, { from: 'Café Zürich 🚀', to: 'Acme Social' });
  assert.equal(renamedRow!.actorUserId, owner.id);
});

test('workspace routes need a signed-in caller', async () => {
  for (const [method, path] of [['GET', '/api/workspaces'], ['POST', '/api/workspaces'], ['GET', `/api/workspaces/${randomUUID()}`]] as const) {
    const r = await t.call(method, path, method === 'POST' ? { body: { name: 'x' } } : {});
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.body.code, 'UNAUTHENTICATED');
  }
});

test('roles: admins rename, editors and viewers cannot, only owners delete', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');

  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}`, viewer.token)).role, 'viewer');
  assert.equal((await ok(t, 'PATCH', `/api/workspaces/${ws}`, admin.token, { name: 'By admin' })).name, 'By admin');
  for (const [p, role] of [[editor, 'editor'], [viewer, 'viewer']] as const) {
    const r = await t.call('PATCH', `/api/workspaces/${ws}`, { token: p.token, body: { name: 'Nope' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'FORBIDDEN');
    assert.match(r.body.message, new RegExp(`As ${role} you cannot rename the workspace`));
    assert.equal(r.body.details.permission, 'workspace.rename');
  }
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws}`, owner.token)).name, 'By admin');

  for (const p of [admin, editor, viewer]) {
    const r = await t.call('DELETE', `/api/workspaces/${ws}`, { token: p.token });
    assert.equal(r.status, 403);
    assert.match(r.body.message, /cannot delete the workspace; that needs the role owner/);
  }
  await ok(t, 'DELETE', `/api/workspaces/${ws}`, owner.token, undefined, 204);
  for (const p of [owner, admin]) {
    const r = await t.call('GET', `/api/workspaces/${ws}`, { token: p.token });
    assert.equal(r.status, 404);
  }
  assert.equal(await roleIn(ws, admin), undefined);
  const [deleted] = await t.running.services.db.select().from(auditLog).where(and(eq(auditLog.actorUserId, owner.id), eq(auditLog.action, 'workspace.deleted')));
  assert.equal(deleted?.targetId, ws, 'the deletion is audited outside the deleted workspace');
});

test('a member of A cannot read, change or learn the existence of anything in B', async () => {
  const alice = await person(t);
  const wsA = await newWorkspace(t, alice, 'A');
  const bob = await person(t);
  const wsB = await newWorkspace(t, bob, 'B');
  const bobsViewer = await member(t, wsB, bob, 'viewer');
  const pending = await invite(t, wsB, bob, uniqueEmail('pending'), 'editor');
  const key = await ok(t, 'POST', `/api/workspaces/${wsB}/api-keys`, bob.token, { name: 'ci', scopes: ['read'] }, 201);
  // Alice shares a workspace with Bob's viewer, so she knows that user id exists.
  await ok(t, 'POST', `/api/invitations/accept`, bobsViewer.token, { token: (await invite(t, wsA, alice, bobsViewer.email, 'viewer')).token });

  const routes = (ws: string): [string, string, unknown?][] => [
    ['GET', `/api/workspaces/${ws}`],
    ['PATCH', `/api/workspaces/${ws}`, { name: 'Hijacked' }],
    ['DELETE', `/api/workspaces/${ws}`],
    ['GET', `/api/workspaces/${ws}/members`],
    ['PATCH', `/api/workspaces/${ws}/members/${bobsViewer.id}`, { role: 'admin' }],
    ['DELETE', `/api/workspaces/${ws}/members/${bobsViewer.id}`],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, { userId: alice.id }],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: uniqueEmail(), role: 'viewer' }],
    ['GET', `/api/workspaces/${ws}/invitations`],
    ['DELETE', `/api/workspaces/${ws}/invitations/${pending.id}`],
    ['POST', `/api/workspaces/${ws}/api-keys`, { name: 'mine', scopes: ['admin'] }],
    ['GET', `/api/workspaces/${ws}/api-keys`],
    ['DELETE', `/api/workspaces/${ws}/api-keys/${key.id}`],
    ['GET', `/api/workspaces/${ws}/audit`],
  ];
  const real = routes(wsB);
  const fake = routes(randomUUID());
  for (let i = 0; i < real.length; i++) {
    const [method, path, body] = real[i]!;
    const r = await t.call(method, path, { token: alice.token, ...(body ? { body } : {}) });
    const f = await t.call(fake[i]![0], fake[i]![1], { token: alice.token, ...(fake[i]![2] ? { body: fake[i]![2] } : {}) });
    assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'NOT_FOUND');
    assert.deepEqual(withoutRequestId(r.body), withoutRequestId(f.body), `${method} ${path} must look like a workspace that does not exist`);
  }

  // Nothing in B moved.
  const b = await ok(t, 'GET', `/api/workspaces/${wsB}`, bob.token);
  assert.equal(b.name, 'B');
  const members = await ok(t, 'GET', `/api/workspaces/${wsB}/members`, bob.token);
  assert.deepEqual(members.members.map((m: Json) => [m.userId, m.role]).sort(), [[bob.id, 'owner'], [bobsViewer.id, 'viewer']].sort());
  assert.equal((await ok(t, 'GET', `/api/workspaces/${wsB}/invitations`, bob.token)).invitations.length, 1);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${wsB}/api-keys`, bob.token)).apiKeys[0].revokedAt, null);
  assert.deepEqual((await ok(t, 'GET', '/api/workspaces', alice.token)).workspaces.map((w: Json) => w.id), [wsA]);
  assert.ok(!(await auditActions(wsB)).some((a) => a.startsWith('member.') || a === 'workspace.renamed'));
});

test('members: list, change roles, and what admins may not do to owners', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');

  const list = await ok(t, 'GET', `/api/workspaces/${ws}/members`, viewer.token);
  assert.deepEqual(list.members.map((m: Json) => m.role), ['owner', 'admin', 'editor', 'viewer']);
  assert.equal(list.members[1].email, admin.email);
  assert.ok(list.members.every((m: Json) => typeof m.name === 'string' && !Number.isNaN(Date.parse(m.joinedAt))));

  // Admin manages non-owners.
  const changed = await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${viewer.id}`, admin.token, { role: 'editor' });
  assert.deepEqual([changed.userId, changed.role], [viewer.id, 'editor']);
  assert.equal(await roleIn(ws, viewer), 'editor');
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${viewer.id}`, admin.token, { role: 'viewer' });

  // Editors and viewers manage nobody.
  for (const p of [editor, viewer]) {
    const r = await t.call('PATCH', `/api/workspaces/${ws}/members/${admin.id}`, { token: p.token, body: { role: 'viewer' } });
    assert.equal(r.status, 403);
    assert.match(r.body.message, /cannot invite, remove and change roles of members/);
  }

  // Admin vs owner.
  const cases: [string, string, unknown, RegExp][] = [
    ['PATCH', `/api/workspaces/${ws}/members/${owner.id}`, { role: 'admin' }, /Only an owner can change the role of an owner/],
    ['PATCH', `/api/workspaces/${ws}/members/${editor.id}`, { role: 'owner' }, /Only an owner can make someone an owner/],
    ['PATCH', `/api/workspaces/${ws}/members/${admin.id}`, { role: 'owner' }, /Only an owner can make someone an owner/],
    ['DELETE', `/api/workspaces/${ws}/members/${owner.id}`, undefined, /Only an owner can remove an owner/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: uniqueEmail(), role: 'owner' }, /Only an owner can invite someone as owner/],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, { userId: admin.id }, /As admin you cannot transfer ownership/],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await t.call(method, path, { token: admin.token, ...(body ? { body } : {}) });
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'FORBIDDEN');
    assert.match(r.body.message, message);
  }
  assert.equal(await roleIn(ws, owner), 'owner');
  assert.equal(await roleIn(ws, admin), 'admin');

  // An owner may make a second owner, who can then be demoted again.
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${admin.id}`, owner.token, { role: 'owner' });
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${admin.id}`, owner.token, { role: 'admin' });
  // Setting the role a member already has changes nothing and audits nothing.
  const before = (await auditActions(ws)).length;
  assert.equal((await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${editor.id}`, owner.token, { role: 'editor' })).role, 'editor');
  assert.equal((await auditActions(ws)).length, before);

  // Unknown member, and a user of another workspace, are the same 404.
  const stranger = await person(t);
  for (const id of [stranger.id, randomUUID()]) {
    const r = await t.call('PATCH', `/api/workspaces/${ws}/members/${id}`, { token: owner.token, body: { role: 'viewer' } });
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'This user is not a member of this workspace.');
  }
  assert.ok((await auditActions(ws)).includes('member.role_changed'));
});

test('ids in upper case name the same workspace and member', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const viewer = await member(t, ws, owner, 'viewer');
  const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'k', scopes: ['read'] }, 201);
  assert.equal((await ok(t, 'GET', `/api/workspaces/${ws.toUpperCase()}`, key.key)).id, ws);
  // Leaving with one's own id in upper case is still leaving, which a viewer may do.
  await ok(t, 'DELETE', `/api/workspaces/${ws.toUpperCase()}/members/${viewer.id.toUpperCase()}`, viewer.token, undefined, 204);
  assert.equal(await roleIn(ws, viewer), undefined);
  const r = await t.call('POST', `/api/workspaces/${ws}/transfer-ownership`, { token: owner.token, body: { userId: owner.id.toUpperCase() } });
  assert.equal(r.body.code, 'INVALID_TARGET');
});

test('the last owner can be neither demoted nor removed, and cannot leave', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');

  let r = await t.call('PATCH', `/api/workspaces/${ws}/members/${owner.id}`, { token: owner.token, body: { role: 'admin' } });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'LAST_OWNER');
  assert.match(r.body.message, /You are the last owner/);
  r = await t.call('DELETE', `/api/workspaces/${ws}/members/${owner.id}`, { token: owner.token });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'LAST_OWNER');
  assert.equal(await roleIn(ws, owner), 'owner');

  // With a second owner, either may step down, but never both.
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${admin.id}`, owner.token, { role: 'owner' });
  await ok(t, 'PATCH', `/api/workspaces/${ws}/members/${owner.id}`, owner.token, { role: 'editor' });
  r = await t.call('PATCH', `/api/workspaces/${ws}/members/${admin.id}`, { token: admin.token, body: { role: 'viewer' } });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'LAST_OWNER');
  assert.equal(await roleIn(ws, admin), 'owner');
});

test('two owners demoting each other at the same moment leave one owner', async () => {
  const a = await person(t);
  const ws = await newWorkspace(t, a);
  const b = await member(t, ws, a, 'owner');
  const [ra, rb] = await Promise.all([
    t.call('PATCH', `/api/workspaces/${ws}/members/${b.id}`, { token: a.token, body: { role: 'admin' } }),
    t.call('PATCH', `/api/workspaces/${ws}/members/${a.id}`, { token: b.token, body: { role: 'admin' } }),
  ]);
  assert.deepEqual([ra.status, rb.status].sort(), [200, 409]);
  const members = await ok(t, 'GET', `/api/workspaces/${ws}/members`, a.token);
  assert.equal(members.members.filter((m: Json) => m.role === 'owner').length, 1);
});

test('members leave, and are removed by those who manage members', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');
  const other = await member(t, ws, owner, 'viewer');

  // A viewer may leave, though they cannot remove anyone else.
  let r = await t.call('DELETE', `/api/workspaces/${ws}/members/${other.id}`, { token: viewer.token });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /As viewer you cannot invite, remove and change roles of members/);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${viewer.id}`, viewer.token, undefined, 204);
  assert.equal(await roleIn(ws, viewer), undefined);
  r = await t.call('GET', `/api/workspaces/${ws}`, { token: viewer.token });
  assert.equal(r.status, 404, 'a former member is an outsider');

  // An admin removes an editor; an owner removes an admin.
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${editor.id}`, admin.token, undefined, 204);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/members/${admin.id}`, owner.token, undefined, 204);
  r = await t.call('DELETE', `/api/workspaces/${ws}/members/${admin.id}`, { token: owner.token });
  assert.equal(r.status, 404);

  const members = await ok(t, 'GET', `/api/workspaces/${ws}/members`, owner.token);
  assert.deepEqual(members.members.map((m: Json) => m.userId).sort(), [owner.id, other.id].sort());
  const actions = await auditActions(ws);
  assert.equal(actions.filter((a) => a === 'member.left').length, 1);
  assert.equal(actions.filter((a) => a === 'member.removed').length, 2);
});

test('ownership transfer: the target becomes owner, the previous owner admin', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const editor = await member(t, ws, owner, 'editor');
  const outsider = await person(t);

  let r = await t.call('POST', `/api/workspaces/${ws}/transfer-ownership`, { token: owner.token, body: { userId: outsider.id } });
  assert.equal(r.status, 404);
  assert.match(r.body.message, /not a member of this workspace; invite them first/);
  r = await t.call('POST', `/api/workspaces/${ws}/transfer-ownership`, { token: owner.token, body: { userId: owner.id } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TARGET');
  r = await t.call('POST', `/api/workspaces/${ws}/transfer-ownership`, { token: editor.token, body: { userId: editor.id } });
  assert.equal(r.status, 403);

  const done = await ok(t, 'POST', `/api/workspaces/${ws}/transfer-ownership`, owner.token, { userId: editor.id });
  assert.deepEqual([done.newOwner.userId, done.newOwner.role], [editor.id, 'owner']);
  assert.deepEqual([done.previousOwner.userId, done.previousOwner.role], [owner.id, 'admin']);
  assert.equal(await roleIn(ws, editor), 'owner');
  assert.equal(await roleIn(ws, owner), 'admin');
  // The former owner is now an admin, with an admin's limits.
  r = await t.call('DELETE', `/api/workspaces/${ws}`, { token: owner.token });
  assert.equal(r.status, 403);
  assert.equal((await auditActions(ws))[0], 'workspace.ownership_transferred');
});

test('invitations: mailed link, pending list, acceptance with the invited address only, once', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner, 'Invite Co');
  const invitee = await person(t);
  const wrong = await person(t);

  // Invited with different letter case: the address matches case-insensitively.
  const created = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, owner.token, { email: invitee.email.toUpperCase(), role: 'editor' }, 201);
  assert.equal(created.email, invitee.email);
  assert.equal(created.role, 'editor');
  assert.equal(created.invitedBy, owner.id);
  assert.equal(created.token, undefined, 'the token is only in the mail');
  assert.ok(!JSON.stringify(created).includes('inv_'));
  const expiresInDays = (Date.parse(created.expiresAt) - Date.parse(created.createdAt)) / 86_400_000;
  assert.ok(Math.abs(expiresInDays - 7) < 0.01, `expires after ${expiresInDays} days`);

  const [mail] = await recentMail(t.running.services.db, { to: invitee.email, limit: 1 });
  assert.match(mail!.subject, /Test User invited you to Invite Co on AllIN/);
  assert.match(mail!.text, /as editor/);
  assert.ok(mail!.text.includes(`${t.running.config.PUBLIC_URL}/invitations#token=inv_`));
  const token = await mailedInvitationToken(t, invitee.email);

  const pendingList = await ok(t, 'GET', `/api/workspaces/${ws}/invitations`, owner.token);
  assert.deepEqual(pendingList.invitations.map((i: Json) => i.id), [created.id]);

  // The holder can read what it offers first; that changes nothing.
  const preview = await ok(t, 'POST', '/api/invitations/preview', invitee.token, { token });
  assert.deepEqual(preview, {
    workspace: { id: ws, name: 'Invite Co' }, role: 'editor', email: invitee.email.toLowerCase(),
    invitedBy: 'Test User', expiresAt: created.expiresAt, forYou: true,
  });
  assert.equal((await ok(t, 'POST', '/api/invitations/preview', wrong.token, { token })).forYou, false, 'signed in with another address');
  assert.equal(await roleIn(ws, invitee), undefined);

  // Someone else holding the link is refused, and the invitation stays usable.
  let r = await t.call('POST', '/api/invitations/accept', { token: wrong.token, body: { token } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'EMAIL_MISMATCH');
  assert.match(r.body.message, /sent to another email address/);
  assert.equal(await roleIn(ws, wrong), undefined);

  const accepted = await ok(t, 'POST', '/api/invitations/accept', invitee.token, { token });
  assert.deepEqual(accepted, { workspace: { id: ws, name: 'Invite Co' }, role: 'editor' });
  assert.equal(await roleIn(ws, invitee), 'editor');
  assert.deepEqual((await ok(t, 'GET', `/api/workspaces/${ws}/invitations`, owner.token)).invitations, []);

  // Replayed, and previewed once used.
  r = await t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TOKEN');
  r = await t.call('POST', '/api/invitations/preview', { token: invitee.token, body: { token } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TOKEN');
  r = await t.call('POST', '/api/invitations/preview', { body: { token } });
  assert.equal(r.status, 401, 'signed in only');
  // Unknown.
  r = await t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token: 'inv_' + 'A'.repeat(43) } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TOKEN');
  // API keys do not accept invitations.
  const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'k', scopes: ['admin'] }, 201);
  r = await t.call('POST', '/api/invitations/accept', { token: key.key, body: { token } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'USER_REQUIRED');

  const actions = await auditActions(ws);
  assert.ok(actions.includes('invitation.created') && actions.includes('invitation.accepted'));
});

test('an invitation is accepted once even when sent twice at the same moment', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const invitee = await person(t);
  const { token } = await invite(t, ws, owner, invitee.email, 'viewer');
  const results = await Promise.all([1, 2, 3].map(() => t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token } })));
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400]);
  assert.equal((await auditActions(ws)).filter((a) => a === 'invitation.accepted').length, 1);
});

test('revoked, expired and replaced invitations no longer work', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const viewer = await member(t, ws, owner, 'viewer');
  const invitee = await person(t);

  const first = await invite(t, ws, owner, invitee.email, 'viewer');
  // Inviting the same address again replaces the pending invitation.
  const second = await invite(t, ws, owner, invitee.email, 'editor');
  assert.notEqual(first.token, second.token);
  assert.deepEqual((await ok(t, 'GET', `/api/workspaces/${ws}/invitations`, owner.token)).invitations.map((i: Json) => i.id), [second.id]);
  let r = await t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token: first.token } });
  assert.equal(r.body.code, 'INVALID_TOKEN');

  // Viewers see invitations but cannot revoke them.
  r = await t.call('DELETE', `/api/workspaces/${ws}/invitations/${second.id}`, { token: viewer.token });
  assert.equal(r.status, 403);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/invitations/${second.id}`, owner.token, undefined, 204);
  r = await t.call('DELETE', `/api/workspaces/${ws}/invitations/${second.id}`, { token: owner.token });
  assert.equal(r.status, 404, 'an invitation is revoked once');
  r = await t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token: second.token } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TOKEN');
  r = await t.call('POST', '/api/invitations/preview', { token: invitee.token, body: { token: second.token } });
  assert.equal(r.body.code, 'INVALID_TOKEN', 'a revoked invitation shows nothing');

  const third = await invite(t, ws, owner, invitee.email, 'viewer');
  await t.running.services.db.update(invitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(invitations.id, third.id));
  r = await t.call('POST', '/api/invitations/accept', { token: invitee.token, body: { token: third.token } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'INVALID_TOKEN');
  r = await t.call('POST', '/api/invitations/preview', { token: invitee.token, body: { token: third.token } });
  assert.equal(r.body.code, 'INVALID_TOKEN', 'nor does an expired one');
  assert.equal(await roleIn(ws, invitee), undefined);
  assert.ok((await auditActions(ws)).includes('invitation.revoked'));
});

test('invitation rules: who may invite, and accepting never lowers a member\'s role', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const admin = await member(t, ws, owner, 'admin');
  const editor = await member(t, ws, owner, 'editor');
  const viewer = await member(t, ws, owner, 'viewer');

  for (const p of [editor, viewer]) {
    const r = await t.call('POST', `/api/workspaces/${ws}/invitations`, { token: p.token, body: { email: uniqueEmail(), role: 'viewer' } });
    assert.equal(r.status, 403);
    assert.match(r.body.message, /cannot invite, remove and change roles of members/);
  }

  const byAdmin = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, admin.token, { email: uniqueEmail(), role: 'editor' }, 201);
  assert.equal(byAdmin.invitedBy, admin.id);
  // An admin cannot revoke an owner's invitation to become owner, but revokes their own.
  const ownerInvite = await invite(t, ws, owner, uniqueEmail(), 'owner');
  const refused = await t.call('DELETE', `/api/workspaces/${ws}/invitations/${ownerInvite.id}`, { token: admin.token });
  assert.equal(refused.status, 403);
  assert.match(refused.body.message, /Only an owner can revoke an invitation to become owner/);
  await ok(t, 'DELETE', `/api/workspaces/${ws}/invitations/${byAdmin.id}`, admin.token, undefined, 204);

  // A member invited to a higher role rises to it; invited to a lower one, keeps theirs.
  const up = await invite(t, ws, owner, viewer.email, 'admin');
  assert.equal((await ok(t, 'POST', '/api/invitations/accept', viewer.token, { token: up.token })).role, 'admin');
  assert.equal(await roleIn(ws, viewer), 'admin');
  const down = await invite(t, ws, owner, admin.email, 'viewer');
  assert.equal((await ok(t, 'POST', '/api/invitations/accept', admin.token, { token: down.token })).role, 'admin');
  assert.equal(await roleIn(ws, admin), 'admin');
  const [row] = await t.running.services.db.select().from(auditLog)
    .where(and(eq(auditLog.workspaceId, ws), eq(auditLog.action, 'invitation.accepted'), eq(auditLog.actorUserId, admin.id)))
    .orderBy(desc(auditLog.id)).limit(1);
  assert.deepEqual(row!.details, { email: admin.email, invitedRole: 'viewer', role: 'admin', previousRole: 'admin' });
});

test('bad input answers 400 with a message naming the field, never 500', async () => {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner);
  const other = await member(t, ws, owner, 'viewer');
  const { id: invitationId } = await invite(t, ws, owner, uniqueEmail(), 'viewer');
  const huge = 'x'.repeat(1_000_000);
  const cases: [string, string, unknown, RegExp][] = [
    ['POST', '/api/workspaces', {}, /body\.name is required/],
    ['POST', '/api/workspaces', { name: '' }, /body\.name must NOT have fewer than 1 characters/],
    ['POST', '/api/workspaces', { name: '   ' }, /body\.name must not be blank/],
    ['POST', '/api/workspaces', { name: 'a\u0000b' }, /body\.name must not contain control characters/],
    ['POST', '/api/workspaces', { name: 'line\nbreak' }, /body\.name must not contain control characters/],
    ['POST', '/api/workspaces', { name: huge }, /body\.name must NOT have more than 100 characters/],
    ['POST', '/api/workspaces', { name: { nested: true } }, /body\.name must be string/],
    ['POST', '/api/workspaces', { name: [{ a: 1 }] }, /body\.name must be string/],
    ['POST', '/api/workspaces', ['Acme'], /body must be object/],
    ['GET', '/api/workspaces/not-a-uuid', undefined, /params\.workspaceId must match format "uuid"/],
    ['GET', `/api/workspaces/${ws}'%20or%201=1`, undefined, /params\.workspaceId must match format "uuid"/],
    ['GET', `/api/workspaces/${ws.slice(0, -2)}'-`, undefined, /params\.workspaceId must match format "uuid"/],
    ['GET', `/api/workspaces/urn:uuid:${ws}`, undefined, /params\.workspaceId must match format "uuid"/],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, { userId: `urn:uuid:${other.id}` }, /body\.userId must match format "uuid"/],
    ['PATCH', `/api/workspaces/${ws}`, { name: huge }, /body\.name must NOT have more than 100 characters/],
    ['PATCH', `/api/workspaces/${ws}`, {}, /give body\.name \(a new name\) or body\.settings/],
    ['PATCH', `/api/workspaces/${ws}`, null, /body must be object/],
    ['DELETE', '/api/workspaces/123', undefined, /params\.workspaceId must match format "uuid"/],
    ['GET', '/api/workspaces/%F0%9F%9A%80/members', undefined, /params\.workspaceId must match format "uuid"/],
    ['PATCH', `/api/workspaces/${ws}/members/${other.id}`, {}, /body\.role is required/],
    ['PATCH', `/api/workspaces/${ws}/members/${other.id}`, { role: 'superuser' }, /body\.role must be equal to one of the allowed values/],
    ['PATCH', `/api/workspaces/${ws}/members/${other.id}`, { role: 3 }, /body\.role must be equal to one of the allowed values/],
    ['PATCH', `/api/workspaces/${ws}/members/${other.id}`, { role: huge }, /body\.role must be equal to one of the allowed values/],
    ['PATCH', `/api/workspaces/${ws}/members/nobody`, { role: 'viewer' }, /params\.userId must match format "uuid"/],
    ['DELETE', `/api/workspaces/${ws}/members/nobody`, undefined, /params\.userId must match format "uuid"/],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, {}, /body\.userId is required/],
    ['POST', `/api/workspaces/${ws}/transfer-ownership`, { userId: 'me' }, /body\.userId must match format "uuid"/],
    ['POST', `/api/workspaces/${ws}/invitations`, { role: 'viewer' }, /body\.email is required/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: 'not-an-email', role: 'viewer' }, /body\.email must match format "email"/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: 'üser@exämple.com', role: 'viewer' }, /body\.email must match format "email"/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: `${huge}@example.com`, role: 'viewer' }, /body\.email must NOT have more than 254 characters/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: uniqueEmail() }, /body\.role is required/],
    ['POST', `/api/workspaces/${ws}/invitations`, { email: uniqueEmail(), role: ['viewer', 'admin'] }, /body\.role must be equal to one of the allowed values/],
    ['DELETE', `/api/workspaces/${ws}/invitations/${invitationId.slice(0, -1)}`, undefined, /params\.invitationId must match format "uuid"/],
    ['POST', '/api/invitations/accept', {}, /body\.token is required/],
    ['POST', '/api/invitations/accept', { token: 'short' }, /body\.token must NOT have fewer than 10 characters/],
    ['POST', '/api/invitations/accept', { token: huge }, /body\.token must NOT have more than 200 characters/],
    ['POST', '/api/invitations/accept', { token: 'inv_ünïcödé_tøken' }, /body\.token must match pattern/],
    ['POST', '/api/invitations/accept', { token: { $ne: null } }, /body\.token must be string/],
    ['POST', '/api/invitations/preview', {}, /body\.token is required/],
    ['POST', '/api/invitations/preview', { token: huge }, /body\.token must NOT have more than 200 characters/],
    ['POST', '/api/invitations/preview', { token: 'inv_ünïcödé_tøken' }, /body\.token must match pattern/],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await t.call(method, path, { token: owner.token, ...(body === undefined ? {} : { body }) });
    const label = `${method} ${path.slice(0, 80)} ${JSON.stringify(body)?.slice(0, 80)}`;
    assert.equal(r.status, 400, `${label}: ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.equal(r.body.code, 'VALIDATION_FAILED', label);
    assert.match(r.body.message, message, label);
  }
  // Malformed JSON, and a body over the limit.
  const raw = await fetch(`${t.url}/api/workspaces`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' }, body: '{"name": "Ac' });
  assert.equal(raw.status, 400);
  assert.equal(((await raw.json()) as Json).code, 'INVALID_JSON');
  const big = await t.call('POST', '/api/workspaces', { token: owner.token, body: { name: 'x'.repeat(2_000_000) } });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, 'PAYLOAD_TOO_LARGE');
  // Nothing was created by any of it.
  assert.equal((await ok(t, 'GET', '/api/workspaces', owner.token)).workspaces.length, 1);
});

test('docs/PERMISSIONS.md contains the permission tables generated from permissions.ts', () => {
  const doc = readFileSync(new URL('../docs/PERMISSIONS.md', import.meta.url), 'utf8');
  const tables = renderPermissionTables();
  assert.ok(doc.includes(tables), 'docs/PERMISSIONS.md is out of date: run `node --import tsx src/modules/workspaces/permissions-doc.ts`');
  // The generator itself reads the table: every permission, its description and its roles appear.
  for (const [permission, roles] of Object.entries(PERMISSIONS)) {
    const row = tables.split('\n').find((l) => l.startsWith(`| \`${permission}\` | ${PERMISSION_DESCRIPTIONS[permission as keyof typeof PERMISSIONS]}`));
    assert.ok(row, permission);
    assert.equal(row.split('✓').length - 1, roles.length, permission);
  }
});
