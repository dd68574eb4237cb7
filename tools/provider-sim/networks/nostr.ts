// Nostr relays and a Blossom media server, as AllIN's adapter uses them (docs/NETWORKS.md, Network facts:
// Nostr). Under /nostr:
// - `/nostr/relay/<name>`: a WebSocket relay per name (any name makes one), speaking NIP-01: ["EVENT", e]
//   is verified (id and signature, with nostr-tools) and answered ["OK", id, true, ""], ["OK", id, true,
//   "duplicate: …"] when this relay already has it, or ["OK", id, false, "invalid: …"]; ["REQ", sub,
//   filters…] answers the stored events that match (newest first, each filter's limit) then ["EOSE", sub];
//   ["CLOSE", sub] is read past. A deletion request (kind 5, NIP-09) makes the relay drop the events it names
//   by the same author. The knobs: latency before each answer, rateLimitNext ("rate-limited:"),
//   errorRate ("error:"), malformedNext (a frame that is not JSON), acceptThenHangNext (the event is stored,
//   no OK ever comes). refuseAt(state, relay, message) makes a relay refuse every EVENT and REQ with that
//   message (for "blocked:", "auth-required:" and the like).
// - `/nostr/blossom`: BUD-01/BUD-02 `PUT /upload` (the body is the blob; `Authorization: Nostr <base64 kind
//   24242 event>` with ["t","upload"], ["x",<sha256 of the body>] and an unexpired ["expiration"]),
//   answered by a blob descriptor; `GET /<sha256>` serves it. Refusals carry X-Reason.
// Each event a relay stores is one post in state.posts (id: the event id; raw: the event and the relays
// that hold it), so a test counts events across relays, each once.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { verifyEvent, type Event } from 'nostr-tools/pure';
import { matchFilter, type Filter } from 'nostr-tools/filter';
import type { NetworkState, SimNetworkContext, SimPost } from '../core.ts';

export interface SimNostrEvent { event: Event; relays: string[] }

interface World { refusals: Map<string, string>; blobs: Map<string, { bytes: Buffer; type: string; pubkey: string }> }
const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { refusals: new Map(), blobs: new Map() };
    worlds.set(state, w);
  }
  return w;
}

/** The relay refuses every EVENT (OK false) and REQ (CLOSED) with this NIP-01 message; null: it stops refusing. */
export function refuseAt(state: NetworkState, relay: string, message: string | null): void {
  if (message === null) world(state).refusals.delete(relay);
  else world(state).refusals.set(relay, message);
}

/** Stores an event at relays as if someone else published it there (a reaction, a reply, a profile). */
export function nostrStore(state: NetworkState, event: Event, relays: string[]): void {
  const post = state.posts.find((p) => p.id === event.id);
  if (post) {
    const raw = post.raw as SimNostrEvent;
    for (const r of relays) if (!raw.relays.includes(r)) raw.relays.push(r);
    return;
  }
  const parent = event.tags.find((t) => t[0] === 'e' && t[3] === 'reply') ?? event.tags.find((t) => t[0] === 'e');
  const p: SimPost = {
    id: event.id, userId: event.pubkey, text: event.content,
    media: event.tags.filter((t) => t[0] === 'imeta').map((t) => (t.find((x) => x.startsWith('url ')) ?? '').slice(4)),
    ...(parent?.[1] ? { replyTo: parent[1] } : {}), createdAt: new Date(event.created_at * 1000).toISOString(), raw: { event, relays: [...relays] } satisfies SimNostrEvent,
  };
  state.posts.push(p);
}

/** The events a relay holds. */
export function nostrEvents(state: NetworkState, relay?: string): Event[] {
  return state.posts.map((p) => p.raw as SimNostrEvent).filter((r) => !relay || r.relays.includes(relay)).map((r) => r.event);
}

const fresh = (e: Event): Event => ({ id: e.id, pubkey: e.pubkey, created_at: e.created_at, kind: e.kind, tags: e.tags, content: e.content, sig: e.sig });

export function registerNostr(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 512 * 1024 });
  const prefix = '/nostr/relay/';

  app.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith(prefix)) return;
    const relay = decodeURIComponent(path.slice(prefix.length)) || 'default';
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, relay));
  });
  app.addHook('onClose', async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  /** NIP-09: a deletion request makes this relay drop the events it names by the same author. */
  function forget(deletion: Event, relay: string): void {
    const named = new Set(deletion.tags.filter((t) => t[0] === 'e' && typeof t[1] === 'string').map((t) => t[1]!));
    for (const p of [...state.posts]) {
      const raw = p.raw as SimNostrEvent;
      if (!named.has(p.id) || raw.event.pubkey !== deletion.pubkey) continue;
      raw.relays = raw.relays.filter((r) => r !== relay);
      if (raw.relays.length === 0) state.posts.splice(state.posts.indexOf(p), 1);
    }
  }

  function serve(ws: WebSocket, relay: string): void {
    const send = (m: unknown[]) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m)); };
    ws.on('message', (data) => {
      void (async () => {
        const k = state.knobs;
        state.log.push({ method: 'WS', path: `${prefix}${relay}`, at: Date.now() });
        if (k.latencyMs > 0) await sleep(k.latencyMs);
        let m: unknown;
        try {
          m = JSON.parse(String(data));
        } catch {
          return send(['NOTICE', 'invalid: not JSON']);
        }
        if (!Array.isArray(m)) return send(['NOTICE', 'invalid: not a JSON array']);
        const refusal = world(state).refusals.get(relay);
        if (m[0] === 'EVENT') {
          const e = m[1] as Event;
          const id = typeof e?.id === 'string' ? e.id : '';
          if (refusal) return send(['OK', id, false, refusal]);
          if (k.rateLimitNext > 0) { k.rateLimitNext--; return send(['OK', id, false, 'rate-limited: slow down there chief']); }
          if (k.errorRate > 0 && Math.random() < k.errorRate) return send(['OK', id, false, 'error: could not store the event']);
          if (k.malformedNext > 0) { k.malformedNext--; if (ws.readyState === ws.OPEN) ws.send('{"OK": <html>upstream error'); return; }
          if (!e || typeof e !== 'object' || !verifyEvent(fresh(e))) return send(['OK', id, false, 'invalid: bad event id or signature']);
          const had = nostrEvents(state, relay).some((x) => x.id === e.id);
          nostrStore(state, fresh(e), [relay]);
          if (e.kind === 5) forget(e, relay);
          if (k.acceptThenHangNext > 0) { k.acceptThenHangNext--; return; }
          return send(['OK', e.id, true, had ? 'duplicate: already have this event' : '']);
        }
        if (m[0] === 'REQ' && typeof m[1] === 'string') {
          const sub = m[1];
          if (refusal) return send(['CLOSED', sub, refusal]);
          if (k.malformedNext > 0) { k.malformedNext--; if (ws.readyState === ws.OPEN) ws.send('["EVENT", <html>'); return; }
          const held = nostrEvents(state, relay).sort((a, b) => b.created_at - a.created_at);
          const out = new Map<string, Event>();
          for (const f of m.slice(2) as Filter[]) {
            const matched = held.filter((e) => matchFilter(f, e));
            for (const e of matched.slice(0, typeof f.limit === 'number' ? f.limit : 500)) out.set(e.id, e);
          }
          for (const e of out.values()) send(['EVENT', sub, e]);
          return send(['EOSE', sub]);
        }
        if (m[0] === 'CLOSE') return;
        return send(['NOTICE', `invalid: unknown message type ${String(m[0]).slice(0, 20)}`]);
      })();
    });
  }

  // Blossom.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 200 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  const reason = (status: number, why: string) => ({ status, why });
  const authorise = (header: string | undefined, sha256: string): { pubkey: string } | { status: number; why: string } => {
    if (!header?.startsWith('Nostr ')) return reason(401, 'Authorization: Nostr <event> is required');
    let e: Event;
    try {
      e = JSON.parse(Buffer.from(header.slice(6), 'base64').toString('utf8')) as Event;
    } catch {
      return reason(401, 'the authorization event is not base64 JSON');
    }
    const now = Math.floor(Date.now() / 1000);
    const tag = (n: string) => e.tags?.find((t) => t[0] === n)?.[1];
    if (e.kind !== 24242 || !verifyEvent(fresh(e))) return reason(401, 'the authorization event is not a signed kind 24242 event');
    if (e.created_at > now + 60) return reason(401, 'the authorization event is from the future');
    if (!(Number(tag('expiration')) > now)) return reason(401, 'the authorization event has expired');
    if (tag('t') !== 'upload') return reason(401, 'the authorization event is not for an upload');
    if (!e.tags.some((t) => t[0] === 'x' && t[1] === sha256)) return reason(403, 'the authorization event is for another blob');
    return { pubkey: e.pubkey };
  };
  app.put('/blossom/upload', async (req, reply) => {
    if (await ctx.interfere(reply, {
      rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s), 'x-reason': 'too many uploads' }, body: { message: 'too many uploads' } }),
      serverError: () => ({ status: 500, body: { message: 'storage failed' } }),
    })) return;
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const who = authorise(req.headers.authorization, sha256);
    if ('status' in who) return reply.status(who.status).header('x-reason', who.why).send({ message: who.why });
    const type = String(req.headers['content-type'] ?? 'application/octet-stream');
    world(state).blobs.set(sha256, { bytes, type, pubkey: who.pubkey });
    state.media.set(sha256, { id: sha256, userId: who.pubkey, mimeType: type, bytes: bytes.length, state: 'ready' });
    return { url: ctx.url(`/blossom/${sha256}`), sha256, size: bytes.length, type, uploaded: Math.floor(Date.now() / 1000) };
  });
  app.get('/blossom/:sha256', async (req, reply) => {
    const blob = world(state).blobs.get((req.params as { sha256: string }).sha256.replace(/\.[a-z0-9]+$/, ''));
    if (!blob) return reply.status(404).header('x-reason', 'no such blob').send();
    return reply.type(blob.type).send(blob.bytes);
  });
}
