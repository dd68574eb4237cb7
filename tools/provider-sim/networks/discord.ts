// Discord's webhook API, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Discord). Under
// /discord: GET /webhooks/:id/:token (the webhook, no user), POST /webhooks/:id/:token?wait&thread_id
// (Execute Webhook: JSON, or multipart with payload_json and files[n]), GET and DELETE
// /webhooks/:id/:token/messages/:message_id?thread_id. Errors are `{message, code}` with Discord's JSON
// codes (10003 unknown channel, 10008 unknown message, 10015 unknown webhook, 30015 too many attachments,
// 40005 too large, 50006 empty message, 50027 invalid webhook token, 50035 invalid form body, 220001-220003
// forum threads); a 429 is `{message, retry_after, global}` with Retry-After and X-RateLimit-* headers,
// and every answer carries X-RateLimit-* headers. Limits as documented: content 2000, 10 embeds and their
// limits, 10 files of 10 MiB. In a forum or media channel a message needs thread_name (a new post: the
// thread's id is the message's) or thread_id. Each message is a post in state.posts (id "<channel
// id>/<message id>", userId the webhook's id). Tests make webhooks and channels with discordWebhook /
// discordChannel; `allin sim` starts with a demo webhook (DEMO_WEBHOOK_ID, DEMO_WEBHOOK_TOKEN).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorStyle, NetworkState, SimNetworkContext } from '../core.ts';

export type SimChannelType = 'text' | 'forum';

export interface SimDiscordChannel {
  id: string;
  guildId: string;
  type: SimChannelType | 'thread';
  name: string;
  /** A thread's channel. */
  parentId?: string;
  /** Message ids in this channel (or thread). */
  messages: Set<string>;
}

export interface SimDiscordWebhook { id: string; token: string; name: string; channelId: string; guildId: string; type: 1 | 2 | 3; deleted?: boolean }

interface World { webhooks: Map<string, SimDiscordWebhook>; channels: Map<string, SimDiscordChannel> }

const EPOCH = 1_420_070_400_000n;
let increment = 0n;
/** A snowflake as Discord makes them: milliseconds since 2015 in the high bits. */
export function snowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  return String(((BigInt(Date.now()) - EPOCH) << 22n) | (1n << 17n) | increment);
}

export const DEMO_WEBHOOK_ID = '1100000000000000001';
export const DEMO_WEBHOOK_TOKEN = 'sim-demo-webhook-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { webhooks: new Map(), channels: new Map() };
    worlds.set(state, w);
    const ch = addChannel(w, { type: 'text', name: 'announcements' });
    w.webhooks.set(DEMO_WEBHOOK_ID, { id: DEMO_WEBHOOK_ID, token: DEMO_WEBHOOK_TOKEN, name: 'AllIN demo', channelId: ch.id, guildId: ch.guildId, type: 1 });
  }
  return w;
}

function addChannel(w: World, o: { type: SimChannelType; name: string; guildId?: string }): SimDiscordChannel {
  const ch: SimDiscordChannel = { id: snowflake(), guildId: o.guildId ?? '1000000000000000001', type: o.type, name: o.name, messages: new Set() };
  w.channels.set(ch.id, ch);
  return ch;
}

/** A channel of a server: a text channel, or a forum where every message starts or joins a post. */
export function discordChannel(state: NetworkState, o: { type: SimChannelType; name: string; guildId?: string }): SimDiscordChannel {
  return addChannel(world(state), o);
}

/** An incoming webhook of a channel (a new text channel when none is given), and the URL Discord shows for it. */
export function discordWebhook(state: NetworkState, o: { name: string; channel?: SimDiscordChannel; type?: 1 | 2 | 3 }): SimDiscordWebhook & { url: string } {
  const w = world(state);
  const ch = o.channel ?? addChannel(w, { type: 'text', name: `${o.name}-channel` });
  const hook: SimDiscordWebhook = { id: snowflake(), token: randomBytes(51).toString('base64url'), name: o.name, channelId: ch.id, guildId: ch.guildId, type: o.type ?? 1 };
  w.webhooks.set(hook.id, hook);
  return { ...hook, url: `https://discord.com/api/webhooks/${hook.id}/${hook.token}` };
}

/** Someone deleted the webhook in Discord (every call answers Unknown Webhook from now on). */
export function deleteWebhook(state: NetworkState, id: string): void {
  const h = world(state).webhooks.get(id);
  if (h) h.deleted = true;
}

/** Someone reset the webhook's URL: the old token answers Invalid Webhook Token. */
export function resetWebhookToken(state: NetworkState, id: string): string {
  const h = world(state).webhooks.get(id)!;
  h.token = randomBytes(51).toString('base64url');
  return h.token;
}

/** The channels (threads included) of the simulated Discord, for assertions. */
export function discordChannels(state: NetworkState): Map<string, SimDiscordChannel> {
  return world(state).channels;
}

const rateHeaders = (remaining: number, resetAfter: number) => ({
  'x-ratelimit-limit': '5', 'x-ratelimit-remaining': String(remaining),
  'x-ratelimit-reset': String((Date.now() / 1000 + resetAfter).toFixed(3)), 'x-ratelimit-reset-after': resetAfter.toFixed(3), 'x-ratelimit-bucket': 'sim-webhook',
});

const style: ErrorStyle = {
  rateLimited: (s) => ({
    status: 429, headers: { ...rateHeaders(0, s + 0.25), 'retry-after': String(s + 1), 'x-ratelimit-scope': 'shared' },
    // retry_after is the precise wait; the header rounds up (as in the docs' example).
    body: { message: 'You are being rate limited.', retry_after: s + 0.25, global: false },
  }),
  serverError: () => ({ status: 500, body: { message: '500: Internal Server Error', code: 0 } }),
};

const fail = (reply: FastifyReply, status: number, code: number, message: string, errors?: unknown) =>
  reply.status(status).headers(rateHeaders(4, 1)).send({ message, code, ...(errors ? { errors } : {}) });

interface Upload { field: string; name: string; mimetype: string; bytes: number }

const EMBED_LIMITS = { title: 256, description: 4096, fields: 25, name: 256, value: 1024, footer: 2048, author: 256 };
/** Why the embeds break the documented limits, or null. */
function embedProblem(embeds: unknown): string | null {
  if (!Array.isArray(embeds)) return 'embeds: must be an array';
  if (embeds.length > 10) return 'embeds: Must be 10 or fewer in length.';
  let total = 0;
  type Embed = { title?: unknown; description?: unknown; footer?: { text?: unknown }; author?: { name?: unknown }; fields?: { name?: unknown; value?: unknown }[] };
  for (const e of embeds as Embed[]) {
    const len = (v: unknown, max: number, what: string): string | null => {
      if (v === undefined) return null;
      if (typeof v !== 'string') return `${what}: must be a string`;
      total += v.trim().length;
      return v.length > max ? `${what}: Must be ${max} or fewer in length.` : null;
    };
    const p = len(e.title, EMBED_LIMITS.title, 'title') ?? len(e.description, EMBED_LIMITS.description, 'description')
      ?? len(e.footer?.text, EMBED_LIMITS.footer, 'footer.text') ?? len(e.author?.name, EMBED_LIMITS.author, 'author.name');
    if (p) return p;
    if (Array.isArray(e.fields)) {
      if (e.fields.length > EMBED_LIMITS.fields) return 'fields: Must be 25 or fewer in length.';
      for (const f of e.fields) {
        const q = len(f.name, EMBED_LIMITS.name, 'field.name') ?? len(f.value, EMBED_LIMITS.value, 'field.value');
        if (q) return q;
      }
    }
  }
  return total > 6000 ? 'embeds: Embed size exceeds maximum size of 6000' : null;
}

export function registerDiscord(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  /** The webhook of the path, or the answer Discord gives when there is none. */
  const hookOf = (req: FastifyRequest, reply: FastifyReply): SimDiscordWebhook | null => {
    const { id, token } = req.params as { id: string; token: string };
    const h = w.webhooks.get(id);
    if (!h || h.deleted) { void fail(reply, 404, 10015, 'Unknown Webhook'); return null; }
    if (h.token !== token) { void fail(reply, 401, 50027, 'Invalid Webhook Token'); return null; }
    return h;
  };
  const threadOf = (h: SimDiscordWebhook, raw: unknown): SimDiscordChannel | null => {
    const t = typeof raw === 'string' ? w.channels.get(raw) : undefined;
    return t && t.type === 'thread' && t.parentId === h.channelId ? t : null;
  };

  app.get('/webhooks/:id/:token', async (req, reply) => {
    const h = hookOf(req, reply);
    if (!h) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    return reply.headers(rateHeaders(4, 1)).send({ id: h.id, type: h.type, guild_id: h.guildId, channel_id: h.channelId, name: h.name, avatar: null, application_id: null, token: h.token });
  });

  app.post('/webhooks/:id/:token', async (req, reply) => {
    const h = hookOf(req, reply);
    if (!h) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = req.query as { wait?: string; thread_id?: string };
    type Body = { content?: unknown; embeds?: unknown; flags?: unknown; attachments?: unknown; thread_name?: unknown; [k: string]: unknown };
    let body: Body = {};
    const files: Upload[] = [];
    if (req.isMultipart()) {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const buf = await part.toBuffer();
          files.push({ field: part.fieldname, name: part.filename, mimetype: part.mimetype, bytes: buf.length });
        } else if (part.fieldname === 'payload_json') {
          try { body = JSON.parse(String(part.value)) as Body; } catch { return fail(reply, 400, 50109, 'The request body contains invalid JSON.'); }
        } else body[part.fieldname] = part.value;
      }
    } else if (req.body && typeof req.body === 'object') body = req.body as Body;

    if (files.some((f) => !/^files\[\d+\]$/.test(f.field))) return fail(reply, 400, 50035, 'Invalid Form Body', { files: { _errors: [{ code: 'BASE_TYPE_BAD_NAME', message: 'File parts are named files[n]' }] } });
    if (files.length > 10) return fail(reply, 400, 30015, 'Maximum number of attachments in a message reached (10)');
    if (files.some((f) => f.bytes > 10 * 1024 * 1024)) return fail(reply, 413, 40005, 'Request entity too large');
    const content = typeof body.content === 'string' ? body.content : '';
    if (content.length > 2000) return fail(reply, 400, 50035, 'Invalid Form Body', { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } });
    if (body.embeds !== undefined) {
      const p = embedProblem(body.embeds);
      if (p) return fail(reply, 400, 50035, 'Invalid Form Body', { embeds: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: p }] } });
    }
    if (content.trim() === '' && files.length === 0 && !(Array.isArray(body.embeds) && body.embeds.length > 0)) return fail(reply, 400, 50006, 'Cannot send an empty message');
    if (body.flags !== undefined && (typeof body.flags !== 'number' || (body.flags & ~(4 | 4096 | 32768)) !== 0)) return fail(reply, 400, 50035, 'Invalid Form Body', { flags: { _errors: [{ code: 'MESSAGE_FLAGS_INVALID', message: 'Only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2 may be set' }] } });
    const attachments = Array.isArray(body.attachments) ? body.attachments as { id: number | string; filename?: string; description?: string }[] : [];

    const channel = w.channels.get(h.channelId)!;
    const threadName = typeof body.thread_name === 'string' ? body.thread_name : undefined;
    if (threadName !== undefined && q.thread_id !== undefined) return fail(reply, 400, 220002, 'Webhooks posted to forum channels cannot have both a thread_name and thread_id');
    if (threadName !== undefined && channel.type !== 'forum') return fail(reply, 400, 220003, 'Webhooks can only create threads in forum channels');
    if (threadName !== undefined && (threadName.trim() === '' || threadName.length > 100)) return fail(reply, 400, 50035, 'Invalid Form Body', { thread_name: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }] } });
    let target = channel;
    if (q.thread_id !== undefined) {
      const t = threadOf(h, q.thread_id);
      if (!t) return fail(reply, 400, 10003, 'Unknown Channel');
      target = t;
    } else if (channel.type === 'forum' && threadName === undefined) return fail(reply, 400, 220001, 'Webhooks posted to forum channels must have a thread_name or thread_id');

    // Accepted: the message exists from here on, whatever happens to the answer.
    const messageId = snowflake();
    if (threadName !== undefined) {
      // In a forum, a new post is a thread whose id is its first message's id.
      target = { id: messageId, guildId: channel.guildId, type: 'thread', name: threadName, parentId: channel.id, messages: new Set() };
      w.channels.set(target.id, target);
    }
    target.messages.add(messageId);
    const sentFiles = files.map((f) => {
      const n = f.field.slice(6, -1);
      const meta = attachments.find((a) => String(a.id) === n);
      return { ...f, description: meta?.description };
    });
    state.posts.push({
      id: `${target.id}/${messageId}`, userId: h.id, text: content, media: sentFiles.map((f) => `${f.mimetype}:${f.bytes}`), createdAt: new Date().toISOString(),
      raw: { webhookId: h.id, channelId: target.id, threadName, threadId: q.thread_id, embeds: body.embeds, flags: body.flags, descriptions: sentFiles.map((f) => f.description ?? null), wait: q.wait },
    });
    if (await ctx.maybeHang(reply)) return reply;
    reply.headers(rateHeaders(4, 1));
    if (q.wait !== 'true') return reply.status(204).send();
    return reply.status(200).send({
      id: messageId, type: 0, content, channel_id: target.id, webhook_id: h.id, flags: body.flags ?? 0,
      author: { id: h.id, username: h.name, avatar: null, discriminator: '0000', bot: true },
      embeds: Array.isArray(body.embeds) ? (body.embeds as object[]).map((e) => ({ type: 'rich', ...e })) : [],
      attachments: sentFiles.map((f) => ({ id: snowflake(), filename: f.name, size: f.bytes, content_type: f.mimetype, url: `https://cdn.discordapp.com/attachments/${target.id}/${messageId}/${f.name}`, ...(f.description ? { description: f.description } : {}) })),
      mentions: [], mention_roles: [], pinned: false, mention_everyone: false, tts: false, timestamp: new Date().toISOString(), edited_timestamp: null, components: [],
      ...(threadName !== undefined ? { position: 0 } : {}),
    });
  });

  const messageRoute = (del: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const h = hookOf(req, reply);
    if (!h) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const { message } = req.params as { message: string };
    const q = req.query as { thread_id?: string };
    let where = w.channels.get(h.channelId)!;
    if (q.thread_id !== undefined) {
      const t = threadOf(h, q.thread_id);
      if (!t) return fail(reply, 400, 10003, 'Unknown Channel');
      where = t;
    }
    const post = state.posts.find((p) => p.id === `${where.id}/${message}` && p.userId === h.id);
    if (!where.messages.has(message) || !post) return fail(reply, 404, 10008, 'Unknown Message');
    if (!del) return reply.headers(rateHeaders(4, 1)).send({ id: message, type: 0, content: post.text, channel_id: where.id, webhook_id: h.id });
    where.messages.delete(message);
    state.posts.splice(state.posts.indexOf(post), 1);
    return reply.status(204).headers(rateHeaders(4, 1)).send();
  };
  app.get('/webhooks/:id/:token/messages/:message', messageRoute(false));
  app.delete('/webhooks/:id/:token/messages/:message', messageRoute(true));
}
