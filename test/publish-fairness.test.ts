// One busy account does not hold the worker: with more of its posts due than the worker runs jobs at once,
// and its first ones held on the network, a post of another workspace is published meanwhile; the busy
// account's other posts wait for their turn in the queue (no attempt spent, no worker slot held), and each
// is published exactly once when the network answers. Every setting is the shipped default but the
// network deadline, raised so the held calls cannot end while the test looks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { eq, inArray, sql } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simPosts } from './support/social.ts';
import { newWorkspace, person } from './support/fixtures.ts';
import { postTargets, publishAttempts } from '../src/modules/posts/schema.ts';
import { markerHash } from '../src/providers/bluesky.ts';

interface Gate {
  url: string;
  /** Where requests are passed on: the account's own PDS. */
  upstream: string;
  /** createRecord calls received, by the marker hash they carry. */
  creates: Map<string, number>;
  /** createRecord calls waiting for open(). */
  held: number;
  open(): void;
  close(): Promise<void>;
}

const bodyOf = (req: IncomingMessage) => new Promise<Buffer>((res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => res(Buffer.concat(chunks)));
});

/** A PDS in front of another: everything passes through, but posts are held until open(). */
async function gatedPds(): Promise<Gate> {
  let opened = false;
  const waiting: (() => void)[] = [];
  const g = { creates: new Map<string, number>(), held: 0 } as Gate;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      if (req.url!.includes('com.atproto.repo.createRecord')) {
        const marker = (JSON.parse(body.toString('utf8')) as { record: { allinMarker: string } }).record.allinMarker;
        g.creates.set(marker, (g.creates.get(marker) ?? 0) + 1);
        if (!opened) {
          g.held++;
          await new Promise<void>((r) => waiting.push(r));
          g.held--;
        }
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
      const r = await fetch(`${g.upstream}${req.url}`, { method: req.method!, headers, ...(body.length ? { body } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch((err: Error) => {
      res.writeHead(502);
      res.end(err.message);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  g.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  g.open = () => {
    opened = true;
    for (const w of waiting.splice(0)) w();
  };
  g.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return g;
}

let sim: Simulator;
before(async () => { sim = await startSimulator(); });
after(async () => { await sim.stop(); });

async function publishNow(t: TestApp, token: string, ws: string, accountId: string, text: string): Promise<{ postId: string; targetId: string }> {
  const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token, body: { text, targets: [{ accountId }], schedule: { now: true } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { postId: r.body.id, targetId: r.body.targets[0].id };
}

test('one busy account holds no worker slot while its posts wait: another workspace publishes meanwhile, and each waiting post is published once', { timeout: 300_000 }, async () => {
  const gate = await gatedPds();
  const t = await startTestApp({ BLUESKY_SERVICE_URL: sim.base('bluesky'), ALLOW_PRIVATE_HOSTS: 'true', SOCIAL_API_TIMEOUT_MS: '600000' }, 'start');
  try {
    const { db } = t.running.services;
    const slots = t.running.config.WORKER_CONCURRENCY;
    const perAccount = t.running.config.PUBLISH_CONCURRENCY_PER_ACCOUNT;
    assert.ok(slots > perAccount, 'the defaults leave the worker more slots than one account may use');

    // The busy account: a Bluesky account whose PDS is the gate, with more posts due than the worker has slots.
    const owner = await person(t);
    const ws = await newWorkspace(t, owner, 'Busy');
    const connected = await t.call('POST', `/api/workspaces/${ws}/accounts/credentials`, {
      token: owner.token, body: { provider: 'bluesky', identifier: `busy-${process.pid}.bsky.test`, password: 'abcd-efgh-ijkl-mnop' },
    });
    assert.equal(connected.status, 201, JSON.stringify(connected.body));
    const busyAccount = connected.body.accounts[0].id as string;
    const [pds] = (await db.execute<{ pds: string }>(sql`select data->>'pds' as pds from social_accounts where id = ${busyAccount}`)).rows;
    gate.upstream = pds!.pds;
    await db.execute(sql`update social_accounts set data = jsonb_set(data, '{pds}', to_jsonb(${gate.url}::text)) where id = ${busyAccount}`);
    const busy: string[] = [];
    for (let i = 0; i < slots + perAccount; i++) busy.push((await publishNow(t, owner.token, ws, busyAccount, `busy account, post ${i}`)).targetId);
    await eventually(() => gate.held === perAccount, 60_000, `the busy account's first ${perAccount} posts to be held on the network`);

    // Another workspace's post, due after all of them.
    const other = await person(t);
    const otherWs = await newWorkspace(t, other, 'Elsewhere');
    const sandbox = await connectSandbox(t, other.token, otherWs, 'bystander');
    const { postId } = await publishNow(t, other.token, otherWs, sandbox, 'published while another account is busy');
    await eventually(async () => {
      const r = await t.call('GET', `/api/workspaces/${otherWs}/posts/${postId}`, { token: other.token });
      return r.body.targets[0].state === 'published';
    }, 120_000, 'the other workspace\'s post to be published');
    assert.equal((await simPosts(t.running.simulatorUrl!)).filter((p) => p.text === 'published while another account is busy').length, 1);
    assert.equal(gate.held, perAccount, 'published while the busy account\'s first posts were still held');

    // The busy account's other posts are back in the queue for a later turn: none holds a worker slot
    // waiting for the account (a claimed target shows as publishing), none has spent an attempt.
    // A run that claims a waiting post writes its first attempt with the claim and takes it back when it
    // finds the account busy, so one may be seen for an instant: the count settles at the held posts.
    const attempted = async () => new Set((await db.select({ targetId: publishAttempts.targetId }).from(publishAttempts).where(inArray(publishAttempts.targetId, busy))).map((a) => a.targetId));
    const sent = await eventually(async () => { const s = await attempted(); return s.size === perAccount ? s : undefined; }, 30_000, 'only the posts held on the network to have attempts');
    assert.equal(gate.held, perAccount, 'only the posts held on the network were sent');
    const waiting = busy.filter((id) => !sent.has(id));
    await eventually(async () => {
      const rows = await db.select().from(postTargets).where(inArray(postTargets.id, waiting));
      return rows.every((r) => r.state === 'scheduled' && r.attempts === 0 && r.errorClass === null);
    }, 60_000, 'the busy account\'s other posts to wait in the queue, not in a worker slot');

    // The network answers: every post of the busy account is published, each sent once.
    gate.open();
    let rows: (typeof postTargets.$inferSelect)[] = [];
    await eventually(async () => {
      rows = await db.select().from(postTargets).where(inArray(postTargets.id, busy));
      return rows.every((r) => r.state === 'published');
    }, 180_000, 'every post of the busy account to be published').catch((err: Error) => {
      const jobs = db.execute(sql`select key, run_at, attempts, last_error, locked_at from graphile_worker.jobs`);
      return jobs.then((j) => {
        throw new Error(`${err.message}: ${JSON.stringify(rows.map((r) => [r.state, r.attempts, r.nextAttemptAt, r.errorMessage]))} jobs ${JSON.stringify(j.rows)} creates ${JSON.stringify([...gate.creates.values()])}`);
      });
    });
    for (const id of busy) {
      assert.equal(gate.creates.get(markerHash(`allin-${id}-0`)), 1, `target ${id} sent once`);
      const [row] = await db.select().from(postTargets).where(eq(postTargets.id, id));
      assert.equal(row!.attempts, 1, `target ${id}: one attempt, its turns in the queue not counted`);
    }
  } finally {
    gate.open();
    await t.stop();
    await gate.close();
  }
});
