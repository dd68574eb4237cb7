// Approval cannot be bypassed by editing: an approve names the version it read, an edit by someone who
// cannot approve sends a waiting post back for review (and may not touch an approved one), and both are
// decided under the post's row lock, so an edit racing an approve never gets its text scheduled unread.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually } from './support/social.ts';

let t: TestApp;
let owner: string;
let ws: string;
let account: string;
let editor: { id: string; token: string };
const later = () => new Date(Date.now() + 86_400_000).toISOString();

before(async () => {
  t = await startTestApp({}, 'start');
  const u = await t.user();
  owner = (await t.login(u.email, u.password)).accessToken;
  ws = (await t.call('POST', '/api/workspaces', { token: owner, body: { name: 'Approvals' } })).body.id;
  account = await connectSandbox(t, owner, ws, 'approved');
  const e = await t.user();
  await t.running.services.db.execute(sql`insert into memberships (workspace_id, user_id, role) values (${ws}, ${e.id}, 'editor')`);
  editor = { id: e.id, token: (await t.login(e.email, e.password)).accessToken };
  const set = await t.call('PATCH', `/api/workspaces/${ws}`, { token: owner, body: { settings: { requireApproval: true } } });
  assert.equal(set.status, 200);
});
after(() => t.stop());

const path = (postId: string, tail = '') => `/api/workspaces/${ws}/posts/${postId}${tail}`;
const edit = (postId: string, text: string, token = editor.token) => t.call('PUT', path(postId), { token, body: { text, targets: [{ accountId: account }] } });
const approve = (postId: string, version: number) => t.call('POST', path(postId, '/approve'), { token: owner, body: { version } });
const read = async (postId: string) => (await t.call('GET', path(postId), { token: owner })).body;

/** A post the editor wrote and submitted for tomorrow; its version as the approver reads it. */
async function submitted(text: string): Promise<{ id: string; version: number }> {
  const draft = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: editor.token, body: { text, targets: [{ accountId: account }] } });
  assert.equal(draft.status, 201, JSON.stringify(draft.body));
  const sub = await t.call('POST', path(draft.body.id, '/submit'), { token: editor.token, body: { at: later() } });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  assert.equal(sub.body.status, 'pending_approval');
  return { id: draft.body.id, version: sub.body.version };
}

/** Holds the post's row lock from outside the app, so requests queue behind it in a known order. */
async function holdingPostLock(postId: string) {
  const c = new pg.Client({ connectionString: t.running.config.DATABASE_URL! });
  await c.connect();
  await c.query('begin');
  await c.query('select 1 from posts where id = $1 for update', [postId]);
  const waiters = async () => Number((await c.query(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
  )).rows[0].n);
  return {
    /** Until `n` sessions wait for a lock (requests reach the row lock in the order they are let go). */
    untilWaiting: (n: number) => eventually(async () => (await waiters()) >= n, 20_000, `${n} session(s) waiting on the post's lock`),
    release: async () => { await c.query('commit'); await c.end(); },
  };
}

describe('approve names the version it approves', () => {
  test('an approve without a version is refused with a message naming the field', async () => {
    const p = await submitted('Needs a version');
    const r = await t.call('POST', path(p.id, '/approve'), { token: owner, body: {} });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /version/);
    assert.equal((await read(p.id)).status, 'pending_approval');
  });

  test('an edit by the editor while waiting: the approval of the text read earlier is refused, the post is resubmitted', async () => {
    const p = await submitted('Harmless announcement');
    const changed = await edit(p.id, 'Something the approver never read');
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.status, 'pending_approval');
    assert.equal(changed.body.review.submittedBy, editor.id);

    const stale = await approve(p.id, p.version);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(stale.body.code, 'VERSION_CONFLICT');
    assert.match(stale.body.message, new RegExp(`version ${p.version}.*version ${changed.body.version}`));
    const still = await read(p.id);
    assert.equal(still.status, 'pending_approval');
    assert.equal(still.targets[0].state, 'pending_approval');

    // Read again, approved as read: the new text is what gets scheduled.
    const ok = await approve(p.id, still.version);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.status, 'scheduled');
    assert.equal(ok.body.text, 'Something the approver never read');
    assert.equal(ok.body.review.decision, 'approved');
  });

  test('an approver\'s own edit keeps the submission (who submitted it stays), and needs approving at its new version', async () => {
    const p = await submitted('Typo in teh text');
    const fixed = await edit(p.id, 'Typo in the text', owner);
    assert.equal(fixed.status, 200);
    assert.equal(fixed.body.status, 'pending_approval');
    assert.equal(fixed.body.review.submittedBy, editor.id);
    assert.equal((await approve(p.id, p.version)).status, 409);
    assert.equal((await approve(p.id, fixed.body.version)).status, 200);
  });
});

describe('an edit racing an approve', () => {
  test('edit first, approve behind it: the approve is refused, nothing unread is scheduled', async () => {
    const p = await submitted('Harmless');
    const lock = await holdingPostLock(p.id);
    let editing, approving;
    try {
      editing = edit(p.id, 'Swapped while waiting');
      await lock.untilWaiting(1);
      approving = approve(p.id, p.version);
      await lock.untilWaiting(2);
    } finally {
      await lock.release();
    }
    const [e, a] = await Promise.all([editing!, approving!]);
    assert.equal(e.status, 200, JSON.stringify(e.body));
    assert.equal(a.status, 409, JSON.stringify(a.body));
    assert.equal(a.body.code, 'VERSION_CONFLICT');
    const now = await read(p.id);
    assert.equal(now.status, 'pending_approval');
    assert.equal(now.text, 'Swapped while waiting');
    assert.equal(now.targets[0].state, 'pending_approval');
  });

  test('approve first, edit behind it: the edit is refused, the approved text stays scheduled', async () => {
    const p = await submitted('Approved as read');
    const lock = await holdingPostLock(p.id);
    let editing, approving;
    try {
      approving = approve(p.id, p.version);
      await lock.untilWaiting(1);
      editing = edit(p.id, 'Swapped after approval');
      await lock.untilWaiting(2);
    } finally {
      await lock.release();
    }
    const [a, e] = await Promise.all([approving!, editing!]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(e.status, 403, JSON.stringify(e.body));
    assert.equal(e.body.code, 'APPROVAL_REQUIRED');
    const now = await read(p.id);
    assert.equal(now.status, 'scheduled');
    assert.equal(now.text, 'Approved as read');
    assert.equal(now.targets[0].state, 'scheduled');
  });

  test('unordered, many rounds: either the approved text is scheduled or the edit waits for review, never both', async () => {
    for (let round = 0; round < 12; round++) {
      const p = await submitted(`Round ${round}: as read`);
      const [e, a] = await Promise.all([edit(p.id, `Round ${round}: swapped`), approve(p.id, p.version)]);
      const now = await read(p.id);
      if (a.status === 200) {
        assert.equal(e.status, 403, `round ${round}: edit after approval answered ${e.status}`);
        assert.equal(now.status, 'scheduled');
        assert.equal(now.text, `Round ${round}: as read`);
      } else {
        assert.equal(a.status, 409, `round ${round}: approve answered ${a.status} ${JSON.stringify(a.body)}`);
        assert.equal(e.status, 200);
        assert.equal(now.status, 'pending_approval');
        assert.equal(now.text, `Round ${round}: swapped`);
      }
    }
  });
});
