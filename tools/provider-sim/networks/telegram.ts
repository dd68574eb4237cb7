// Telegram's Bot API, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Telegram). Under
// /telegram: `/bot<token>/<method>` for getMe, getChat, getChatMember, getChatMemberCount, sendMessage, sendPhoto, sendVideo,
// sendDocument and sendMediaGroup, taking parameters as a query string, JSON, a urlencoded form or a
// multipart form (files), method names in any case. Answers are `{ok: true, result}`; errors are
// `{ok: false, error_code, description}` with the same HTTP status, and a 429 carries
// `parameters.retry_after` in seconds (flood control). Limits as documented: text 1-4096, captions 1024
// (UTF-16 units here), albums of 2-10 items with documents only among documents, photos of 10 MB and files
// of 50 MB. Each sent message is a post in state.posts (id "<chat id>/<message id>", userId the bot's id).
// A bot cannot read a chat's messages back, so there is no method for that here either.
// Tests create bots and chats with telegramBot / telegramChat; `allin sim` starts with a demo bot (token
// DEMO_BOT_TOKEN) that administers the channel @allin_demo. Revoking (POST /_sim/telegram/revoke-all)
// kills tokens as @BotFather's /revoke does; tokens never expire.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext } from '../core.ts';

export interface SimTelegramBot { id: number; username: string; token: string }

export type MemberStatus = 'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked';
export interface SimTelegramMember { status: MemberStatus; canPost?: boolean; canSend?: boolean }

export interface SimTelegramChat {
  id: number;
  type: 'channel' | 'supergroup' | 'group' | 'private';
  title: string;
  username?: string;
  /** By bot id. */
  members: Map<number, SimTelegramMember>;
  /** Message ids in use (1, 2, …) and what each message was. */
  lastMessageId: number;
  messages: Map<number, { kind: string; mediaGroupId?: string }>;
  /** A basic group that became a supergroup: sending answers with parameters.migrate_to_chat_id. */
  migratedTo?: number;
}

interface World {
  bots: Map<string, SimTelegramBot>; // by token
  chats: Map<number, SimTelegramChat>;
  lastBotId: number;
  lastChatId: number;
}

export const DEMO_BOT_TOKEN = '1000001:sim-demo-token-AAAAAAAAAAAAAAAAAAAA';

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { bots: new Map(), chats: new Map(), lastBotId: 1000001, lastChatId: 0 };
    worlds.set(state, w);
    const demo: SimTelegramBot = { id: 1000001, username: 'allin_demo_bot', token: DEMO_BOT_TOKEN };
    w.bots.set(demo.token, demo);
    addChat(w, { type: 'channel', title: 'AllIN demo', username: 'allin_demo', members: { [demo.id]: { status: 'administrator', canPost: true } } });
  }
  return w;
}

function addChat(w: World, o: { type: SimTelegramChat['type']; title: string; username?: string; members?: Record<number, SimTelegramMember> }): SimTelegramChat {
  w.lastChatId++;
  // Channels and supergroups have ids -100…, basic groups negative ids, private chats the user's id.
  const id = o.type === 'channel' || o.type === 'supergroup' ? -(1_000_000_000_000 + w.lastChatId) : o.type === 'group' ? -(4_000_000 + w.lastChatId) : 7_000_000 + w.lastChatId;
  const chat: SimTelegramChat = {
    id, type: o.type, title: o.title, ...(o.username ? { username: o.username } : {}),
    members: new Map(Object.entries(o.members ?? {}).map(([k, v]) => [Number(k), v])), lastMessageId: 0, messages: new Map(),
  };
  w.chats.set(id, chat);
  return chat;
}

/** A bot as @BotFather makes one: its token works at once. */
export function telegramBot(state: NetworkState, o: { username: string }): SimTelegramBot {
  const w = world(state);
  const id = ++w.lastBotId;
  const bot = { id, username: o.username, token: `${id}:${randomBytes(24).toString('base64url')}` };
  w.bots.set(bot.token, bot);
  state.users.set(String(id), { id: String(id), username: o.username, name: o.username });
  return bot;
}

/** A chat, with the bots that are in it (by bot id). */
export function telegramChat(state: NetworkState, o: { type: SimTelegramChat['type']; title: string; username?: string; members?: Record<number, SimTelegramMember> }): SimTelegramChat {
  return addChat(world(state), o);
}

/** The bot's standing in a chat changes (an admin removes it, takes a right away, …). */
export function setMember(chat: SimTelegramChat, botId: number, m: SimTelegramMember): void {
  chat.members.set(botId, m);
}

const style: ErrorStyle = {
  rateLimited: (s) => ({ status: 429, headers: {}, body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${s}`, parameters: { retry_after: s } } }),
  serverError: () => ({ status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } }),
};

const fail = (reply: FastifyReply, code: number, description: string) => reply.status(code).send({ ok: false, error_code: code, description });
const ok = (reply: FastifyReply, result: unknown) => reply.status(200).send({ ok: true, result });

interface Upload { name: string; mimetype: string; bytes: number }
interface Params { fields: Record<string, unknown>; files: Map<string, Upload> }

async function params(req: FastifyRequest): Promise<Params> {
  const fields: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
  const files = new Map<string, Upload>();
  if (req.isMultipart()) {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const buf = await part.toBuffer();
        files.set(part.fieldname, { name: part.filename, mimetype: part.mimetype, bytes: buf.length });
      } else fields[part.fieldname] = part.value;
    }
  } else if (req.body && typeof req.body === 'object') Object.assign(fields, req.body);
  return { fields, files };
}

/** A parameter that is a JSON-serialized object when it comes in a form, an object in a JSON body. */
function jsonParam(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v) as unknown; } catch { return undefined; }
}

const u16 = (s: string) => s.length;

export function registerTelegram(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  const chatOf = (raw: unknown): SimTelegramChat | undefined => {
    const s = String(raw ?? '');
    if (s.startsWith('@')) return [...w.chats.values()].find((c) => c.username?.toLowerCase() === s.slice(1).toLowerCase());
    return /^-?\d+$/.test(s) ? w.chats.get(Number(s)) : undefined;
  };
  const memberOf = (chat: SimTelegramChat, bot: SimTelegramBot): SimTelegramMember => chat.members.get(bot.id) ?? { status: 'left' };
  const chatJson = (c: SimTelegramChat) => ({ id: c.id, type: c.type, title: c.title, ...(c.username ? { username: c.username } : {}) });
  /** Why the bot may not send to the chat: [status, description] (as Telegram words it), or null. */
  const mayNotSend = (chat: SimTelegramChat, bot: SimTelegramBot): [number, string] | null => {
    const m = memberOf(chat, bot);
    const kind = chat.type === 'channel' ? 'channel' : chat.type === 'supergroup' ? 'supergroup' : 'group';
    if (m.status === 'kicked') return [403, `Forbidden: bot was kicked from the ${kind} chat`];
    if (chat.type === 'channel') {
      if (m.status === 'creator' || (m.status === 'administrator' && m.canPost)) return null;
      if (m.status === 'left') return [403, 'Forbidden: bot is not a member of the channel chat'];
      return [400, 'Bad Request: need administrator rights in the channel chat'];
    }
    if (m.status === 'left') return [403, `Forbidden: bot is not a member of the ${kind} chat`];
    if (m.status === 'restricted' && m.canSend !== true) return [400, 'Bad Request: not enough rights to send text messages to the chat'];
    return null;
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { auth, method: rawMethod } = req.params as { auth: string; method: string };
    if (!auth.startsWith('bot')) return fail(reply, 404, 'Not Found');
    const token = auth.slice(3);
    const bot = w.bots.get(token);
    if (bot) registerToken(state, bot);
    if (!bot || state.tokens.get(token)?.revoked) return fail(reply, 401, 'Unauthorized');
    if (await ctx.interfere(reply, style)) return reply;
    const method = rawMethod.toLowerCase();
    const { fields, files } = await params(req);

    if (method === 'getme') return ok(reply, { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });

    const chat = chatOf(fields.chat_id);
    if (fields.chat_id === undefined || fields.chat_id === '') return fail(reply, 400, 'Bad Request: chat_id is empty');
    // A bot sees a chat it is in, or a public one by its username.
    if (!chat || (!chat.username && ['left', 'kicked'].includes(memberOf(chat, bot).status) && chat.type !== 'private')) return fail(reply, 400, 'Bad Request: chat not found');

    if (method === 'getchat') return ok(reply, chatJson(chat));
    // Subscribers grow day by day, the same for a chat and a day on every run.
    if (method === 'getchatmembercount') return ok(reply, simAudience(`chat:${chat.id}`, Date.now()).followers);
    if (method === 'getchatmember') {
      const userId = Number(fields.user_id);
      const target = [...w.bots.values()].find((b) => b.id === userId);
      if (!target) return fail(reply, 400, 'Bad Request: user not found');
      const m = memberOf(chat, target);
      const user = { id: target.id, is_bot: true, first_name: target.username, username: target.username };
      if (m.status === 'administrator') {
        return ok(reply, { status: 'administrator', user, can_be_edited: false, is_anonymous: false, can_manage_chat: true, can_delete_messages: true,
          can_manage_video_chats: false, can_restrict_members: false, can_promote_members: false, can_change_info: false, can_invite_users: true,
          ...(chat.type === 'channel' ? { can_post_messages: m.canPost === true, can_edit_messages: false } : {}) });
      }
      if (m.status === 'restricted') return ok(reply, { status: 'restricted', user, is_member: true, can_send_messages: m.canSend === true, until_date: 0 });
      return ok(reply, { status: m.status, user, ...(m.status === 'kicked' ? { until_date: 0 } : {}) });
    }

    const SENDS: Record<string, string> = { sendmessage: 'text', sendphoto: 'photo', sendvideo: 'video', senddocument: 'document', sendmediagroup: 'album' };
    const kind = SENDS[method];
    if (!kind) return fail(reply, 404, 'Not Found: method not found');
    if (chat.migratedTo !== undefined) {
      return reply.status(400).send({ ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: chat.migratedTo } });
    }
    const no = mayNotSend(chat, bot);
    if (no) return fail(reply, no[0], no[1]);

    const rp = fields.reply_parameters !== undefined ? jsonParam(fields.reply_parameters) as { message_id?: unknown } | undefined : undefined;
    let replyTo: number | undefined;
    if (rp !== undefined) {
      if (!rp || typeof rp.message_id !== 'number') return fail(reply, 400, 'Bad Request: can\'t parse reply parameters JSON object');
      if (!chat.messages.has(rp.message_id)) return fail(reply, 400, 'Bad Request: message to be replied not found');
      replyTo = rp.message_id;
    }
    const caption = typeof fields.caption === 'string' ? fields.caption : undefined;
    if (caption !== undefined && u16(caption) > 1024) return fail(reply, 400, 'Bad Request: message caption is too long');

    type Item = { kind: 'photo' | 'video' | 'document'; file: Upload; caption?: string };
    const items: Item[] = [];
    const fileFor = (v: unknown): Upload | string => {
      if (typeof v !== 'string' || !v.startsWith('attach://')) return 'Bad Request: a file must be uploaded with multipart/form-data (attach://<name>)';
      return files.get(v.slice('attach://'.length)) ?? `Bad Request: file "${v}" is not in the request`;
    };
    let text: string | undefined;
    if (kind === 'text') {
      text = typeof fields.text === 'string' ? fields.text : '';
      if (text.trim() === '') return fail(reply, 400, 'Bad Request: message text is empty');
      if (u16(text) > 4096) return fail(reply, 400, 'Bad Request: message is too long');
    } else if (kind === 'album') {
      const media = jsonParam(fields.media);
      if (!Array.isArray(media)) return fail(reply, 400, 'Bad Request: can\'t parse media JSON object');
      if (media.length < 2 || media.length > 10) return fail(reply, 400, 'Bad Request: wrong number of media in the album (2-10)');
      for (const m of media as { type?: unknown; media?: unknown; caption?: unknown }[]) {
        if (m.type !== 'photo' && m.type !== 'video' && m.type !== 'document') return fail(reply, 400, `Bad Request: unsupported media type "${String(m.type)}" in an album`);
        const f = fileFor(m.media);
        if (typeof f === 'string') return fail(reply, 400, f);
        if (typeof m.caption === 'string' && u16(m.caption) > 1024) return fail(reply, 400, 'Bad Request: message caption is too long');
        items.push({ kind: m.type, file: f, ...(typeof m.caption === 'string' ? { caption: m.caption } : {}) });
      }
      const docs = items.filter((i) => i.kind === 'document').length;
      if (docs > 0 && docs < items.length) return fail(reply, 400, 'Bad Request: documents can be grouped in an album only with other documents');
    } else {
      const f = files.get(kind);
      if (!f) return fail(reply, 400, `Bad Request: there is no ${kind} in the request`);
      items.push({ kind: kind as Item['kind'], file: f, ...(caption !== undefined ? { caption } : {}) });
    }
    for (const i of items) {
      if (i.kind === 'photo' && !/^image\/(jpeg|png)$/.test(i.file.mimetype)) return fail(reply, 400, 'Bad Request: IMAGE_PROCESS_FAILED');
      if (i.kind === 'photo' && i.file.bytes > 10_000_000) return fail(reply, 400, 'Bad Request: file is too big');
      if (i.file.bytes > 50_000_000) return fail(reply, 413, 'Request Entity Too Large');
    }

    // Accepted: the messages exist from here on, whatever happens to the answer.
    const mediaGroupId = kind === 'album' ? String(Date.now()) + randomBytes(2).toString('hex') : undefined;
    const sent = (kind === 'text' ? [null] : items).map((item) => {
      const messageId = ++chat.lastMessageId;
      chat.messages.set(messageId, { kind: item?.kind ?? 'text', ...(mediaGroupId ? { mediaGroupId } : {}) });
      state.posts.push({
        id: `${chat.id}/${messageId}`, userId: String(bot.id), text: item ? item.caption ?? '' : text!, media: item ? [`${item.kind}:${item.file.mimetype}:${item.file.bytes}`] : [],
        ...(replyTo !== undefined ? { replyTo: `${chat.id}/${replyTo}` } : {}), createdAt: new Date().toISOString(),
        raw: { method: rawMethod, chatId: chat.id, messageId, silent: fields.disable_notification === true || fields.disable_notification === 'true', ...(mediaGroupId ? { mediaGroupId } : {}) },
      });
      const fileId = randomBytes(12).toString('base64url');
      return {
        message_id: messageId, date: Math.floor(Date.now() / 1000), chat: chatJson(chat),
        ...(chat.type === 'channel' ? { sender_chat: chatJson(chat) } : { from: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username } }),
        ...(replyTo !== undefined ? { reply_to_message: { message_id: replyTo, date: 0, chat: chatJson(chat) } } : {}),
        ...(mediaGroupId ? { media_group_id: mediaGroupId } : {}),
        ...(item === null ? { text } : {
          ...(item.caption !== undefined && item.caption !== '' ? { caption: item.caption } : {}),
          ...(item.kind === 'photo' ? { photo: [{ file_id: fileId, file_unique_id: fileId.slice(0, 8), width: 90, height: 90, file_size: item.file.bytes }] }
            : item.kind === 'video' ? { video: { file_id: fileId, file_unique_id: fileId.slice(0, 8), width: 640, height: 360, duration: 1, mime_type: item.file.mimetype, file_size: item.file.bytes } }
              : { document: { file_id: fileId, file_unique_id: fileId.slice(0, 8), file_name: item.file.name, mime_type: item.file.mimetype, file_size: item.file.bytes } }),
        }),
      };
    });
    if (await ctx.maybeHang(reply)) return reply;
    return ok(reply, kind === 'album' ? sent : sent[0]);
  };

  app.get('/:auth/:method', handler);
  app.post('/:auth/:method', handler);

}

/**
 * Each bot's token is entered in state.tokens as it is used, so POST /_sim/telegram/revoke-all (what
 * @BotFather's /revoke does) reaches it; a token never expires.
 */
function registerToken(state: NetworkState, b: SimTelegramBot): void {
  if (!state.tokens.has(b.token)) {
    state.tokens.set(b.token, { accessToken: b.token, refreshToken: '', userId: String(b.id), expiresAt: Number.MAX_SAFE_INTEGER, scope: [], revoked: false });
  }
}
