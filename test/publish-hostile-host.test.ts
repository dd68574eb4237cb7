// Publishing to a host a user chose that answers a byte a second (a Bluesky PDS here; a Mastodon instance
// is reached the same way): the calls end at their deadline, the worker slots come back and another
// workspace's post is published, and each hostile target goes to reconciliation (never a blind resend).
// A publish attempt's ceiling ends it even when the per-call deadline is long. Deadlines and the ceiling
// are set short only where they are what the test checks; every other setting is the shipped default.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { eq, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simPosts } from './support/social.ts';
import { newWorkspace, person } from './support/fixtures.ts';
import { postTargets, publishAttempts } from '../src/modules/posts/schema.ts';
import { markerHash } from '../src/providers/bluesky.ts';

interface Hostile {
  server: Server;
  url: string;
  /** createRecord requests by the marker hash they carried. */
  creates: Map<string, number>;
  userAgents: Set<string>;
  open: number;
  peakCreatesOpen: number;
  /** Answers AllIN stopped reading before they ended. */
  cut: number;
  close(): Promise<void>;
}

/** A PDS that accepts every request and answers it a byte a second, for a day. */
async function hostilePds(): Promise<Hostile> {
  let createsOpen = 0;
  const h = { creates: new Map<string, number>(), userAgents: new Set<string>(), open: 0, peakCreatesOpen: 0, cut: 0 } as Hostile;
  h.server = createServer((req, res) => {
    h.open++;
    h.userAgents.add(req.headers['user-agent'] ?? '');
    const isCreate = req.url!.includes('com.atproto.repo.createRecord');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (isCreate) {
        const marker = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { record: { allinMarker: string } }).record.allinMarker;
        h.creates.set(marker, (h.creates.get(marker) ?? 0) + 1);
        createsOpen++;
        h.peakCreatesOpen = Math.max(h.peakCreatesOpen, createsOpen);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '86400' });
      const timer = setInterval(() => res.write(' '), 1000);
      res.on('close', () => {
        clearInterval(timer);
        h.open--;
        if (isCreate) createsOpen--;
        if (!res.writableFinished) h.cut++;
      });
    });
  });
  await new Promise<void>((r) => h.server.listen(0, '127.0.0.1', () => r()));
  h.url = `http://127.0.0.1:${(h.server.address() as { port: number }).port}`;
  h.close = () => new Promise<void>((r) => { h.server.closeAllConnections(); h.server.close(() => r()); });
  return h;
}

let sim: Simulator;
before(async () => { sim = await startSimulator(); });
after(async () => { await sim.stop(); });

let seq = 0;
/** A Bluesky account connected through the API, then pointed (as its DID document could) at the hostile PDS. */
async function hostileAccount(t: TestApp, token: string, ws: string, pds: string): Promise<string> {
  const r = await t.call('POST', `/api/workspaces/${ws}/accounts/credentials`, {
    token, body: { provider: 'bluesky', identifier: `hostile${seq++}-${process.pid}.bsky.test`, password: 'abcd-efgh-ijkl-mnop' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.accounts[0].id as string;
  await t.running.services.db.execute(sql`update social_accounts set data = jsonb_set(data, '{pds}', to_jsonb(${pds}::text)) where id = ${id}`);
  return id;
}

async function workspace(t: TestApp, name: string): Promise<{ token: string; ws: string }> {
  const owner = await person(t);
  return { token: owner.token, ws: await newWorkspace(t, owner, name) };
}

async function publishNow(t: TestApp, token: string, ws: string, accountId: string, text: string): Promise<{ postId: string; targetId: string }> {
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text, targets: [{ accountId }], schedule: { now: true } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { postId: r.body.id, targetId: r.body.targets[0].id };
}

const targetRow = async (t: TestApp, id: string) => (await t.running.services.db.select().from(postTargets).where(eq(postTargets.id, id)))[0]!;
const attemptsOf = (t: TestApp, id: string) => t.running.services.db.select().from(publishAttempts).where(eq(publishAttempts.targetId, id));

test('a PDS that answers a byte a second holds no worker for good: another workspace publishes, each hostile target is reconciled, nothing is sent twice', { timeout: 240_000 }, async () => {
  const pds = await hostilePds();
  const t = await startTestApp({ BLUESKY_SERVICE_URL: sim.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true', SOCIAL_API_TIMEOUT_MS: '2000' }, 'start');
  try {
    // As many hostile publishes as the worker runs jobs at once: every slot waits on the hostile host.
    const slots = t.running.config.WORKER_CONCURRENCY;
    const bad = await workspace(t, 'Hostile');
    const targets: string[] = [];
    for (let i = 0; i < slots; i++) {
      const account = await hostileAccount(t, bad.token, bad.ws, pds.url);
      targets.push((await publishNow(t, bad.token, bad.ws, account, `hostile ${i}`)).targetId);
    }
    await eventually(async () => pds.peakCreatesOpen >= slots, 60_000, `all ${slots} worker slots waiting on the hostile host`);

    const good = await workspace(t, 'Elsewhere');
    const sandbox = await connectSandbox(t, good.token, good.ws, 'bystander');
    const { postId } = await publishNow(t, good.token, good.ws, sandbox, 'published despite a hostile host');
    const done = await eventually(async () => {
      const r = await t.call('GET', `/api/workspaces/${good.ws}/posts/${postId}`, { token: good.token });
      return r.body.targets[0].state === 'published' ? r.body : undefined;
    }, 180_000, 'the other workspace\'s post to be published');
    assert.equal(done.targets[0].state, 'published');
    assert.equal((await simPosts(t.running.simulatorUrl!)).filter((p) => p.text === 'published despite a hostile host').length, 1);

    // Each hostile publish ended at its deadline and went to reconciliation: still held for it (publishing,
    // no worker), its attempt in flight, and the create sent once.
    for (const id of targets) {
      const row = await eventually(async () => {
        const r = await targetRow(t, id);
        return r.state === 'publishing' && r.workerId === null && /checking whether an earlier try was published/.test(r.errorMessage ?? '') ? r : undefined;
      }, 120_000, `target ${id} to wait for reconciliation`);
      assert.equal(row.errorClass, 'transient');
      const attempts = await attemptsOf(t, id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.outcome, 'in_flight', 'the outcome is unknown until the network answers');
      assert.equal(pds.creates.get(markerHash(`allin-${id}-0`)), 1, 'sent once, not retried blindly');
    }
    assert.ok(pds.cut >= slots, 'AllIN let the trickling answers go');
    for (const ua of pds.userAgents) assert.match(ua, /^AllIN\/\d+\.\d+\.\d+\S*( \(\+https:\/\/\S+\))?$/);
  } finally {
    await t.stop();
    await pds.close();
  }
});

test('a publish attempt past its ceiling is ended even when the call\'s own deadline is longer, and the target goes to reconciliation', { timeout: 180_000 }, async () => {
  const pds = await hostilePds();
  // SOCIAL_API_TIMEOUT_MS stays at its default (30 s): only the ceiling can end the attempt sooner.
  const t = await startTestApp({ BLUESKY_SERVICE_URL: sim.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true', PUBLISH_ATTEMPT_MAX_SECONDS: '2' }, 'start');
  try {
    assert.equal(t.running.config.SOCIAL_API_TIMEOUT_MS, 30_000);
    const bad = await workspace(t, 'Ceiling');
    const account = await hostileAccount(t, bad.token, bad.ws, pds.url);
    const { targetId } = await publishNow(t, bad.token, bad.ws, account, 'held past the ceiling');
    const row = await eventually(async () => {
      const r = await targetRow(t, targetId);
      return r.workerId === null && /ceiling/.test(r.errorMessage ?? '') ? r : undefined;
    }, 120_000, 'the attempt to be ended by its ceiling');
    assert.equal(row.state, 'publishing', 'kept for reconciliation, not failed and not sent again');
    assert.match(row.errorMessage!, /checking whether an earlier try was published/);
    const attempts = await attemptsOf(t, targetId);
    assert.deepEqual(attempts.map((a) => a.outcome), ['in_flight']);
    assert.equal(pds.creates.get(markerHash(`allin-${targetId}-0`)), 1);
    assert.ok(pds.cut >= 1, 'the create call was cut off by AllIN');
  } finally {
    await t.stop();
    await pds.close();
  }
});

test('out of tries while the host still cannot say whether the post exists: the target is unknown (the team is told), never failed', { timeout: 180_000 }, async () => {
  const pds = await hostilePds();
  // One try, so the limit is reached on the first reconciliation; the deadline is short so it comes soon.
  const t = await startTestApp({ BLUESKY_SERVICE_URL: sim.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true', SOCIAL_API_TIMEOUT_MS: '2000', PUBLISH_MAX_ATTEMPTS: '1' }, 'start');
  try {
    const bad = await workspace(t, 'Unknowable');
    const account = await hostileAccount(t, bad.token, bad.ws, pds.url);
    const { targetId } = await publishNow(t, bad.token, bad.ws, account, 'maybe out there');
    const row = await eventually(async () => {
      const r = await targetRow(t, targetId);
      return r.state !== 'scheduled' && r.state !== 'publishing' ? r : undefined;
    }, 120_000, 'the target to settle');
    assert.equal(row.state, 'unknown', `${row.state}: ${row.errorMessage}`);
    assert.equal(row.errorClass, 'unknown_outcome');
    assert.match(row.errorMessage!, /cannot be known/);
    assert.deepEqual((await attemptsOf(t, targetId)).map((a) => a.outcome), ['unknown']);
    assert.equal(pds.creates.get(markerHash(`allin-${targetId}-0`)), 1);
  } finally {
    await t.stop();
    await pds.close();
  }
});
