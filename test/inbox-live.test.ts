// The inbox's live events stream (GET …/inbox/events, Server-Sent Events) across two API processes sharing one
// database and one Redis: a stream opened on process B hears what process A does (a comment collected by A's
// worker, triage, a reply sent and its outcome, notes, read state of the caller only), through Redis pub/sub.
// Also: heartbeats, a member of another workspace gets 404, the per-process and per-caller caps (503, 429), the
// Redis subscription dropped when the last stream of a workspace closes, and a stream that ends once its
// member is removed from the workspace.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';
import { member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { inboxCollectionCursors } from '../src/modules/inbox/schema.ts';

let a: TestApp; // API and worker (collects, sends replies)
let b: TestApp; // another API process on the same database and Redis
let owner: Person;
let editor: Person;
let viewer: Person;
let stranger: Person;
let ws: string;
let accountId: string;
let postRemoteId: string;
const sim = () => a.running.simulatorUrl!;
const base = (workspace = ws) => `/api/workspaces/${workspace}/inbox`;

interface SseEvent { event: string; data: unknown }

/** An open stream read by a real HTTP client: its events as they come, and its heartbeat comments counted. */
class Stream {
  readonly events: SseEvent[] = [];
  heartbeats = 0;
  ended = false;
  private readonly ctl = new AbortController();
  private constructor(readonly res: Response) {}

  static async open(t: TestApp, token: string, workspace = ws): Promise<Stream> {
    const ctl = new AbortController();
    const res = await fetch(`${t.url}${base(workspace)}/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ctl.signal });
    const s = new Stream(res);
    Object.assign(s, { ctl });
    if (res.status === 200) void s.read();
    return s;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of this.res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith(':')) { this.heartbeats++; continue; }
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) this.events.push({ event, data: data ? JSON.parse(data) : null });
        }
      }
    } catch { /* aborted */ }
    this.ended = true;
  }

  /** The first event (from `from` on) that `match` accepts. */
  next(match: (e: SseEvent) => boolean, what: string, from = 0): Promise<SseEvent> {
    return eventually(() => this.events.slice(from).find(match), 20_000, what, 20);
  }

  close(): void {
    this.ctl.abort();
  }
}

const isData = (type: string, data: Record<string, unknown>) => (e: SseEvent) =>
  e.event === type && Object.entries(data).every(([k, v]) => JSON.stringify((e.data as Record<string, unknown>)[k]) === JSON.stringify(v));

async function collect(): Promise<void> {
  await a.running.services.db.update(inboxCollectionCursors).set({ nextPollAt: sql`now()` }).where(eq(inboxCollectionCursors.accountId, accountId));
  await eventually(async () => (await a.running.services.inbox.collector.run(accountId, 'inbox')) === 'collected', 10_000, 'a collection run');
}

const subscribers = async (t: TestApp, workspace: string) => {
  const [, n] = await t.running.store.redis!.pubsub('NUMSUB', `${t.running.config.REDIS_KEY_PREFIX}inbox:${workspace}`) as [string, number];
  return n;
};

before(async () => {
  a = await startTestApp({ INBOX_POLL_INTERVAL_SECONDS: '3600', INBOX_SCHEDULE_INTERVAL_MS: '3600000' }, 'start');
  b = await startTestApp({
    DATABASE_URL: a.running.config.DATABASE_URL, REDIS_KEY_PREFIX: a.running.config.REDIS_KEY_PREFIX, ENCRYPTION_KEYS: a.running.config.ENCRYPTION_KEYS,
    INBOX_STREAMS_MAX: '4', INBOX_STREAM_HEARTBEAT_SECONDS: '1',
  }, 'serve');
  await simKnobs(sim(), 'sandbox', { inboxRatePerMinute: 0 });
  owner = await person(a, { name: 'Olivia Owner' });
  ws = await newWorkspace(a, owner, 'Shop');
  editor = await member(a, ws, owner, 'editor');
  viewer = await member(a, ws, owner, 'viewer');
  stranger = await person(a);
  await newWorkspace(a, stranger, 'Elsewhere');
  accountId = await connectSandbox(a, owner.token, ws, 'shop-live');
  await a.running.services.inbox.scheduler.ensureCursors();
  const r = await ok(a, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text: 'New arrivals', targets: [{ accountId }], schedule: { now: true } }, 201);
  postRemoteId = await eventually(async () => {
    const p = await a.call('GET', `/api/workspaces/${ws}/posts/${r.id}`, { token: owner.token });
    return p.body.targets?.[0]?.state === 'published' ? p.body.targets[0].remoteId as string : undefined;
  }, 30_000, 'the post to be published');
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

describe('the stream across processes', () => {
  let s: Stream;
  let conversationId: string;
  let messageId: string;

  before(async () => {
    s = await Stream.open(b, editor.token);
    assert.equal(s.res.status, 200);
    assert.match(s.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(s.res.headers.get('cache-control'), 'no-cache, no-transform');
    await s.next((e) => e.event === 'ready', 'the ready event');
  });
  after(() => s.close());

  test('a comment collected by the other process\'s worker arrives as message.created', async () => {
    const from = s.events.length;
    await simSay(sim(), { user: 'shop-live', postId: postRemoteId, text: 'Do you ship to Norway?', author: { id: 'ola', username: 'ola', name: 'Ola' } });
    await collect();
    const e = await s.next((x) => x.event === 'message.created', 'message.created on B', from);
    const data = e.data as { conversationId: string; accountId: string; messageIds: string[]; inbound: number };
    assert.equal(data.accountId, accountId);
    assert.equal(data.inbound, 1);
    assert.equal(data.messageIds.length, 1);
    conversationId = data.conversationId;
    const view = await ok(b, 'GET', `${base()}/conversations/${conversationId}`, editor.token);
    messageId = data.messageIds[0]!;
    assert.equal(view.messages.find((m: { id: string }) => m.id === messageId)?.text, 'Do you ship to Norway?');
  });

  test('triage, notes and a reply made through the other process are told, with what changed', async () => {
    const from = s.events.length;
    await ok(a, 'PATCH', `${base()}/conversations/${conversationId}`, owner.token, { assigneeId: editor.id });
    await s.next(isData('conversation.changed', { conversationId, changes: ['state', 'assignee'] }), 'assigned', from);
    const label = await ok(a, 'POST', `${base()}/labels`, owner.token, { name: 'shipping' }, 201);
    await ok(a, 'PATCH', `${base()}/conversations/${conversationId}`, owner.token, { addLabelIds: [label.id], state: 'done' });
    await s.next(isData('conversation.changed', { conversationId, changes: ['state', 'labels'] }), 'labelled and done', from);
    await ok(a, 'POST', `${base()}/conversations/${conversationId}/notes`, owner.token, { text: 'Ask the warehouse' }, 201);
    await s.next(isData('conversation.changed', { conversationId, changes: ['notes'] }), 'a note', from);

    const reply = await ok(a, 'POST', `${base()}/conversations/${conversationId}/replies`, editor.token, { messageId, text: 'Yes, in 3 days.' }, 202);
    await s.next(isData('reply', { conversationId, replyId: reply.id, state: 'queued' }), 'the reply queued', from);
    await s.next(isData('reply', { conversationId, replyId: reply.id, state: 'published' }), 'the reply published', from);
    const items = ((await (await fetch(`${sim()}/_sim/sandbox/inbox`)).json()) as { items: { text: string; parentId: string | null }[] }).items;
    assert.ok(items.some((i) => i.text === 'Yes, in 3 days.' && i.parentId !== null), 'the reply is on the network');
  });

  test('read state is told to the member who changed it, not to the others', async () => {
    const mine = await Stream.open(b, owner.token);
    try {
      await mine.next((e) => e.event === 'ready', 'ready');
      const from = s.events.length;
      await ok(a, 'POST', `${base()}/conversations/${conversationId}/read`, owner.token, undefined, 204);
      await mine.next(isData('conversation.changed', { conversationId, changes: ['read'], userId: owner.id }), 'the owner hears of their own read');
      // A change the editor does hear, made after the read: the read, told before it, would be there by then.
      await ok(a, 'POST', `${base()}/conversations/${conversationId}/notes`, owner.token, { text: 'marker' }, 201);
      await s.next(isData('conversation.changed', { conversationId, changes: ['notes'] }), 'the note after the read', from);
      assert.equal(s.events.slice(from).filter((e) => e.event === 'conversation.changed' && (e.data as { changes: string[] }).changes.includes('read')).length, 0);
    } finally {
      mine.close();
    }
  });

  test('heartbeat comments keep it open', async () => {
    const seen = s.heartbeats;
    await eventually(() => s.heartbeats > seen, 20_000, 'a heartbeat comment', 20);
  });
});

describe('who may listen, and how many', () => {
  test('a member of another workspace gets 404, like a workspace that does not exist; no one signed in gets 401', async () => {
    const s = await Stream.open(b, stranger.token);
    assert.equal(s.res.status, 404);
    const none = await Stream.open(b, stranger.token, '00000000-0000-4000-8000-000000000000');
    assert.equal(none.res.status, 404);
    const body = await s.res.json() as { code: string; message: string };
    const nobody = await none.res.json() as { code: string; message: string };
    assert.deepEqual([body.code, body.message], [nobody.code, nobody.message]);
    const anon = await fetch(`${b.url}${base()}/events`);
    assert.equal(anon.status, 401);
  });

  test('past INBOX_STREAMS_MAX on one process: 503 with Retry-After; room again once one closes', async () => {
    const open: Stream[] = [];
    try {
      for (const p of [owner, editor, viewer, owner]) {
        const s = await Stream.open(b, p.token);
        assert.equal(s.res.status, 200);
        open.push(s);
      }
      const refused = await Stream.open(b, editor.token);
      assert.equal(refused.res.status, 503);
      assert.ok(Number(refused.res.headers.get('retry-after')) >= 1);
      const body = await refused.res.json() as { code: string; message: string };
      assert.equal(body.code, 'TOO_MANY_STREAMS');
      open.shift()!.close();
      await eventually(async () => {
        const s = await Stream.open(b, editor.token);
        if (s.res.status === 200) return open.push(s);
        await s.res.body?.cancel();
        return false;
      }, 10_000, 'room for a stream again');
    } finally {
      for (const s of open) s.close();
    }
  });

  test('one caller may hold at most 10 streams on a process: the 11th is 429', async () => {
    const open: Stream[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const s = await Stream.open(a, viewer.token);
        assert.equal(s.res.status, 200);
        open.push(s);
      }
      const refused = await Stream.open(a, viewer.token);
      assert.equal(refused.res.status, 429);
      assert.equal((await refused.res.json() as { code: string }).code, 'TOO_MANY_STREAMS');
      assert.ok(refused.res.headers.get('retry-after'));
      assert.equal((await Stream.open(a, editor.token).then((s) => { s.close(); return s.res.status; })), 200, 'another caller still may');
    } finally {
      for (const s of open) s.close();
    }
  });

  test('the last stream of a workspace closing drops the process\'s Redis subscription', async () => {
    const other = await newWorkspace(a, owner, 'Quiet');
    assert.equal(await subscribers(b, other), 0);
    const s1 = await Stream.open(b, owner.token, other);
    const s2 = await Stream.open(b, owner.token, other);
    await s1.next((e) => e.event === 'ready', 'ready');
    await s2.next((e) => e.event === 'ready', 'ready');
    assert.equal(await subscribers(b, other), 1, 'one subscription per process, however many streams');
    s1.close();
    await eventually(async () => /^allin_inbox_streams 1$/m.test(await b.running.metrics.render()), 10_000, 'one stream left');
    assert.equal(await subscribers(b, other), 1);
    s2.close();
    await eventually(async () => (await subscribers(b, other)) === 0, 10_000, 'the subscription dropped');
  });

  test('a member removed from the workspace: their stream ends at the next heartbeat', async () => {
    const leaving = await member(a, ws, owner, 'viewer');
    const s = await Stream.open(b, leaving.token);
    await s.next((e) => e.event === 'ready', 'ready');
    const r = await a.call('DELETE', `/api/workspaces/${ws}/members/${leaving.id}`, { token: owner.token });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    await eventually(() => s.ended, 20_000, 'the stream to end', 20);
  });
});
