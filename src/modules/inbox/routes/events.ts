// The workspace's inbox as it changes: a Server-Sent Events stream (text/event-stream) for the open Inbox
// screens. Each event says what changed (a message arrived, a conversation's state, assignee, labels, notes
// or read state changed, a reply was queued or reached its outcome); the screen reads the content through the
// API. Changes made by any process reach every stream through the live channels (live.ts).
//   - The gate is every inbox route's (inbox.read): a workspace the caller is not in is a 404 like any other.
//   - A comment line every INBOX_STREAM_HEARTBEAT_SECONDS keeps proxies from closing an idle stream; at each,
//     the caller's session (or API key) and membership are checked again, and a stream that lost them ends.
//   - At most INBOX_STREAMS_MAX streams per process (503 past it) and STREAMS_PER_CALLER per caller (429),
//     so a tab reconnecting in a loop, or one person's many tabs, cannot take every stream.
//   - A client that stops reading is cut off once its unsent events pass SLOW_CLIENT_BYTES: it reconnects
//     and reads again, rather than this process holding its backlog.
import { Type } from 'typebox';
import { RateLimited, Unavailable } from '../../../domain/errors.ts';
import { WorkspaceParams, errors } from '../../workspaces/index.ts';
import type { LiveEvent } from '../live.ts';
import { BASE, tags, userIdOf, type InboxApp, type InboxRouteKit } from './common.ts';

export const STREAMS_PER_CALLER = 10;
const SLOW_CLIENT_BYTES = 1 << 20;
/** How soon a client reconnects after the stream ends (the SSE `retry` field), in milliseconds. */
const RECONNECT_MS = 3000;


interface Stream { end(reason: string): void }

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** The caller's own read state; others' read and unread are theirs. */
const concerns = (e: LiveEvent, userId: string | null) => !(e.type === 'conversation.changed' && e.changes.length === 1 && e.changes[0] === 'read' && e.userId !== userId);

export function eventRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read } = k;
  const o = d.streams;
  const open = new Set<Stream>();
  const perCaller = new Map<string, number>();
  const gauge = () => o.metrics?.inboxStreams.set(open.size);
  // Shutdown: open streams would hold the server open until its deadline.
  app.addHook('preClose', async () => {
    for (const s of [...open]) s.end('shutting down');
  });

  app.get(`${BASE}/events`, {
    preHandler: read,
    schema: {
      tags, summary: 'Live updates of the workspace\'s inbox (Server-Sent Events)',
      description: 'A text/event-stream that stays open. Events (each `data` is JSON): `ready` once listening; '
        + '`message.created` {conversationId, accountId, messageIds, inbound}: messages stored for the first time; '
        + '`conversation.changed` {conversationId, changes}: its state, assignee, labels, notes or messages (edited, deleted, hidden) changed, or `read` (the caller marked it read or unread; only the caller hears of their own); '
        + '`reply` {conversationId, replyId, state}: a reply written in AllIN was queued or reached an outcome; '
        + '`resync`: events may have been missed, read the inbox again. Read what changed through the other inbox routes. '
        + `A comment line (\`: heartbeat\`) comes every INBOX_STREAM_HEARTBEAT_SECONDS; the stream ends when the caller's session is revoked or they leave the workspace. `
        + `503 TOO_MANY_STREAMS: this process has INBOX_STREAMS_MAX streams open; 429 TOO_MANY_STREAMS: this caller has ${STREAMS_PER_CALLER} open here. Both say when to retry.`,
      params: WorkspaceParams,
      produces: ['text/event-stream'],
      response: {
        200: { description: 'The stream of events', content: { 'text/event-stream': { schema: Type.String({ description: 'event: <type>\\ndata: <JSON>\\n\\n, and heartbeat comments' }) } } },
        ...errors(400, 401, 403, 404, 429, 503),
      },
    },
  }, async (req, reply) => {
    const workspaceId = req.params.workspaceId;
    const userId = userIdOf(req);
    const callerKey = req.caller?.kind === 'apiKey' ? `key:${req.caller.keyId}` : `user:${userId}`;
    const retryAfter = Math.max(1, Math.ceil(o.heartbeatMs / 1000));
    if (open.size >= o.max) {
      o.metrics?.inboxStreamsRefused.labels('capacity').inc();
      throw new Unavailable('TOO_MANY_STREAMS', `This server has its most live inbox streams open (${o.max}); try again shortly, or reload the inbox to see changes.`, retryAfter);
    }
    if ((perCaller.get(callerKey) ?? 0) >= STREAMS_PER_CALLER) {
      o.metrics?.inboxStreamsRefused.labels('caller').inc();
      throw new RateLimited('TOO_MANY_STREAMS', `You have ${STREAMS_PER_CALLER} live inbox streams open on this server; close some Inbox tabs.`, retryAfter);
    }
    // Counted before the first wait, so concurrent openings cannot pass the caps together.
    const stream: Stream = { end: () => undefined };
    open.add(stream);
    perCaller.set(callerKey, (perCaller.get(callerKey) ?? 0) + 1);
    gauge();
    let ended = false;
    let unsubscribe: (() => Promise<void>) | undefined;
    const beat: { timer?: NodeJS.Timeout } = {};
    const release = () => {
      if (ended) return;
      ended = true;
      clearInterval(beat.timer);
      open.delete(stream);
      const n = (perCaller.get(callerKey) ?? 1) - 1;
      if (n > 0) perCaller.set(callerKey, n);
      else perCaller.delete(callerKey);
      gauge();
      void unsubscribe?.().catch((err: unknown) => req.log.warn({ err }, 'could not stop listening for an inbox stream'));
    };
    const raw = reply.raw;
    let held: string[] | null = []; // events heard before the answer's head is sent
    const write = (chunk: string) => {
      if (ended) return;
      if (held) return void held.push(chunk);
      raw.write(chunk);
      if (raw.writableLength > SLOW_CLIENT_BYTES) stream.end('the client is not reading');
    };
    stream.end = (reason: string) => {
      if (ended) return;
      req.log.debug({ workspaceId, reason }, 'inbox stream ended');
      release();
      raw.end();
    };
    try {
      unsubscribe = await d.inbox.live.subscribe(workspaceId, {
        event: (e) => { if (concerns(e, userId)) write(frame(e.type, e)); },
        resync: () => write(frame('resync', {})),
      });
    } catch (err) {
      release();
      o.metrics?.inboxStreamsRefused.labels('unavailable').inc();
      req.log.warn({ err }, 'could not listen for an inbox stream');
      throw new Unavailable('LIVE_UNAVAILABLE', 'Live updates cannot be listened to right now (the shared store is unreachable); the inbox still works: reload it to see changes.', retryAfter);
    }
    if (ended) { // shut down meanwhile
      await unsubscribe();
      throw new Unavailable('SHUTTING_DOWN', 'This server is shutting down; connect again.', 1);
    }
    reply.hijack();
    raw.on('close', release);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no', // nginx: pass events on at once
      'x-request-id': req.id,
      connection: 'keep-alive',
    });
    const early = held;
    held = null;
    write(`retry: ${RECONNECT_MS}\n\n`);
    write(frame('ready', { workspaceId }));
    for (const chunk of early) write(chunk);
    let checking = false;
    beat.timer = setInterval(() => {
      write(': heartbeat\n\n');
      if (checking) return;
      checking = true;
      o.stillAllowed(req, workspaceId)
        .then((allowed) => { if (!allowed) stream.end('access lost'); })
        .catch((err: unknown) => req.log.warn({ err }, 'could not check an inbox stream\'s access again; it stays open until the next heartbeat'))
        .finally(() => { checking = false; });
    }, o.heartbeatMs);
    beat.timer.unref();
  });
}
