// Invitation mails are limited per workspace and per sender (LIMIT_INVITATIONS_WORKSPACE, _USER), under
// the shipped defaults (50 and 100 a day): past either, 429 with Retry-After naming the limit, and no mail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, uniqueEmail, type TestApp } from './support/app.ts';
import { newWorkspace, person } from './support/fixtures.ts';
import { readConfig } from '../src/config.ts';
import { parseLimit } from '../src/infra/rate-limit.ts';
import { invitations, memberships } from '../src/modules/workspaces/schema.ts';
import { mailOutbox } from '../src/modules/mail/schema.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t?.stop());

const defaults = readConfig({});
const perWorkspace = parseLimit(defaults.LIMIT_INVITATIONS_WORKSPACE);
const perUser = parseLimit(defaults.LIMIT_INVITATIONS_USER);

const invite = (ws: string, token: string, email = uniqueEmail('invitee')) =>
  t.call('POST', `/api/workspaces/${ws}/invitations`, { token, body: { email, role: 'viewer' } });
const mailsTo = async (email: string) =>
  (await t.running.services.db.select({ n: sql<number>`count(*)::int` }).from(mailOutbox).where(eq(mailOutbox.to, email)))[0]!.n;
const invitationsOf = async (ws: string) =>
  (await t.running.services.db.select({ n: sql<number>`count(*)::int` }).from(invitations).where(eq(invitations.workspaceId, ws)))[0]!.n;

function assertRefused(r: { status: number; body: { code: string; message: string }; headers: Headers }, setting: string, points: number, duration: number) {
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.code, 'RATE_LIMITED');
  assert.match(r.body.message, new RegExp(`${points} invitation mails per 24 hours \\(${setting}\\)`));
  assert.match(r.body.message, /\. Try again in \d+ s\.$/);
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= duration, `Retry-After ${r.headers.get('retry-after')}`);
}

test('the shipped defaults are a day\'s allowance, per workspace and per sender', () => {
  assert.deepEqual(perWorkspace, { points: 50, duration: 86_400 });
  assert.deepEqual(perUser, { points: 100, duration: 86_400 });
});

test('a workspace mails at most LIMIT_INVITATIONS_WORKSPACE invitations; the next is 429 and mails nothing', async () => {
  const o = await person(t);
  const ws = await newWorkspace(t, o, 'Invites');
  // Re-inviting one address mails again, so it counts as much as a new one.
  const again = uniqueEmail('again');
  for (let i = 0; i < perWorkspace.points; i++) {
    const r = await invite(ws, o.token, i % 2 === 0 ? again : undefined);
    assert.equal(r.status, 201, `invitation ${i + 1}: ${JSON.stringify(r.body)}`);
  }
  const refusedEmail = uniqueEmail('refused');
  const refused = await invite(ws, o.token, refusedEmail);
  assertRefused(refused, 'LIMIT_INVITATIONS_WORKSPACE', perWorkspace.points, perWorkspace.duration);
  assert.equal(await mailsTo(refusedEmail), 0, 'no mail for a refused invitation');
  assert.equal(await invitationsOf(ws), perWorkspace.points, 'no invitation row for it either');

  // The same person in another workspace still has allowance of their own.
  const other = await newWorkspace(t, o, 'Invites');
  assert.equal((await invite(other, o.token)).status, 201);
});

test('a sender mails at most LIMIT_INVITATIONS_USER invitations over all their workspaces, API keys included', async () => {
  const o = await person(t);
  const spaces = [await newWorkspace(t, o, 'Invites')];
  let sent = 0;
  while (sent < perUser.points) {
    const ws = spaces.at(-1)!;
    const r = await invite(ws, o.token);
    if (r.status === 429) {
      // this workspace's own allowance: go on in a new one
      assert.match(r.body.message, /LIMIT_INVITATIONS_WORKSPACE/);
      spaces.push(await newWorkspace(t, o, 'Invites'));
      continue;
    }
    assert.equal(r.status, 201, JSON.stringify(r.body));
    sent++;
  }
  const fresh = await newWorkspace(t, o, 'Invites');
  const refusedEmail = uniqueEmail('refused');
  const refused = await invite(fresh, o.token, refusedEmail);
  assertRefused(refused, 'LIMIT_INVITATIONS_USER', perUser.points, perUser.duration);
  assert.match(refused.body.message, /over all your workspaces/);
  assert.equal(await mailsTo(refusedEmail), 0);
  assert.equal(await invitationsOf(fresh), 0);

  // An API key the same person created counts as them: keys do not multiply the allowance.
  const key = await t.call('POST', `/api/workspaces/${fresh}/api-keys`, { token: o.token, body: { name: 'bulk', scopes: ['admin'] } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  assertRefused(await invite(fresh, key.body.key), 'LIMIT_INVITATIONS_USER', perUser.points, perUser.duration);

  // The refusal gave the workspace its allowance back: another admin of it can invite at once.
  const admin = await t.user();
  await t.running.services.db.insert(memberships).values({ workspaceId: fresh, userId: admin.id, role: 'admin' });
  const adminToken = (await t.login(admin.email, admin.password)).accessToken;
  for (let i = 0; i < perWorkspace.points; i++) {
    const r = await invite(fresh, adminToken);
    assert.equal(r.status, 201, `invitation ${i + 1} by the admin: ${JSON.stringify(r.body)}`);
  }
  assertRefused(await invite(fresh, adminToken), 'LIMIT_INVITATIONS_WORKSPACE', perWorkspace.points, perWorkspace.duration);
});
