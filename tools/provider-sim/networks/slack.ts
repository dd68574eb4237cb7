// Slack, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Slack; https://docs.slack.dev). Under /slack:
//   GET  /oauth/v2/authorize                  consent: redirects with code (denyConsent → error=access_denied)
//   POST /api/oauth.v2.access                 authorization_code | refresh_token (client_id + client_secret in the form
//                                             or HTTP Basic); a bot token; with token rotation on (slackSimOptions), a
//                                             12-hour token and a refresh token that is revoked once used
//   POST /api/auth.test, /api/auth.revoke     the token's team and bot; revocation
//   GET  /api/users.conversations             the channels the bot is a member of, paged by cursor
//   POST /api/chat.postMessage                JSON: channel, text, blocks, thread_ts, reply_broadcast, metadata, unfurl_*
//   POST /api/files.getUploadURLExternal      form: filename, length, alt_txt → upload_url, file_id
//   POST /upload/v1/:key                      the file's bytes
//   POST /api/files.completeUploadExternal    form: files (JSON), channel_id, initial_comment, thread_ts → the message
//   GET  /api/conversations.history           newest first, oldest/latest/limit/cursor, metadata with include_all_metadata
//   GET  /api/reactions.get, /api/conversations.info (include_num_members)
// Every Web API answer is HTTP 200 with {ok:true,…} or {ok:false, error} (missing_scope adds needed and provided); a
// rate limit is HTTP 429 with Retry-After (seconds) and {ok:false, error:"ratelimited"}. Each message is a post in
// state.posts (id "<channel>/<ts>", key: the metadata's marker when there is one).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

export interface SimSlackChannel {
  id: string;
  team: string;
  name: string;
  isPrivate: boolean;
  archived: boolean;
  /** The bot is a member (invited with /invite). */
  member: boolean;
  messages: SimSlackMessage[];
}

export interface SimSlackMessage {
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  files?: { id: string; name: string; title?: string; alt?: string; mimetype: string; size: number }[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  replyCount: number;
  reactions: { name: string; count: number }[];
}

/** What Slack decides per app. */
export interface SlackSimOptions {
  /** Token rotation (an app setting): access tokens expire after 12 hours and come with a refresh token. */
  tokenRotation: boolean;
}

interface World {
  channels: Map<string, SimSlackChannel>;
  uploads: Map<string, { fileId: string; name: string; length: number; alt?: string; bytes?: Buffer; team: string; done: boolean }>;
  lastTs: number;
  options: SlackSimOptions;
  /** App credentials: a registered client id must send its secret. */
  bots: Map<string, string>; // access token → bot user id
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { channels: new Map(), uploads: new Map(), lastTs: Math.floor(Date.now() / 1000) * 1_000_000, options: { tokenRotation: false }, bots: new Map() };
    worlds.set(state, w);
  }
  return w;
}

export function slackSimOptions(state: NetworkState): SlackSimOptions {
  return world(state).options;
}

/** The team of the simulator's user (one workspace per user). */
export const slackTeam = (userId: string) => `T${userId.toUpperCase()}`;

/** A channel in the user's workspace; the bot is in it unless `member: false`. */
export function slackChannel(state: NetworkState, o: { user?: string; name: string; member?: boolean; isPrivate?: boolean; archived?: boolean }): SimSlackChannel {
  const w = world(state);
  const c: SimSlackChannel = {
    id: `C${randomBytes(5).toString('hex').toUpperCase()}`, team: slackTeam(o.user ?? 'u1'), name: o.name,
    isPrivate: o.isPrivate ?? false, archived: o.archived ?? false, member: o.member ?? true, messages: [],
  };
  w.channels.set(c.id, c);
  return c;
}

export const SLACK_SCOPES_KNOWN = new Set(['chat:write', 'chat:write.public', 'files:write', 'files:read', 'channels:read', 'groups:read', 'channels:history', 'groups:history', 'reactions:read', 'users:read', 'team:read']);

const style: ErrorStyle = {
  rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s) }, body: { ok: false, error: 'ratelimited' } }),
  serverError: () => ({ status: 500, body: { ok: false, error: 'internal_error' } }),
};

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;

export function registerSlack(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);
  const nextTs = () => {
    w.lastTs = Math.max(w.lastTs + 1, Date.now() * 1000);
    const s = String(w.lastTs);
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  };
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const fail = (reply: FastifyReply, error: string, extra: Record<string, unknown> = {}) => reply.status(200).send({ ok: false, error, ...extra });
  const args = (req: FastifyRequest): Record<string, unknown> => ({ ...(req.query as object), ...((req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) ? req.body as object : {}) });
  const auth = (req: FastifyRequest, reply: FastifyReply, scopes: string[] = []): SimToken | null => {
    const t = state.bearer(req);
    if (t === 'missing') { fail(reply, 'not_authed'); return null; }
    if (t === 'invalid') {
      const raw = state.tokens.get(/^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
      fail(reply, raw?.revoked ? 'token_revoked' : 'invalid_auth');
      return null;
    }
    if (t === 'expired') { fail(reply, 'token_expired'); return null; }
    const missing = scopes.find((s) => !t.scope.includes(s));
    if (missing) { fail(reply, 'missing_scope', { needed: missing, provided: t.scope.join(',') }); return null; }
    return t;
  };
  const channelFor = (t: SimToken, id: unknown, reply: FastifyReply): SimSlackChannel | null => {
    const c = typeof id === 'string' ? w.channels.get(id) : undefined;
    if (!c || c.team !== slackTeam(t.userId) || (c.isPrivate && !c.member)) { fail(reply, 'channel_not_found'); return null; }
    return c;
  };
  const clientOf = (req: FastifyRequest, b: Record<string, unknown>): { id?: string; secret?: string } => {
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
      return { id, secret };
    }
    return { id: b.client_id as string | undefined, secret: b.client_secret as string | undefined };
  };

  app.get('/oauth/v2/authorize', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_id || !q.redirect_uri) return reply.status(400).type('text/html').send('<p>Invalid client_id parameter</p>');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>redirect_uri did not match any configured URIs</p>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    const scopes = (q.scope ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = scopes.find((s) => !SLACK_SCOPES_KNOWN.has(s));
    if (unknown) return reply.status(400).type('text/html').send(`<p>Invalid permissions requested: ${unknown}</p>`);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const user = state.user(q.login_hint || 'u1');
    back.searchParams.set('code', state.issueCode(user.id, q.client_id, q.redirect_uri, scopes.filter((s) => !state.knobs.declineScopes.includes(s))));
    return reply.redirect(back.toString());
  });

  const tokenAnswer = (t: SimToken) => {
    const u = state.user(t.userId);
    w.bots.set(t.accessToken, `B${u.id.toUpperCase()}`);
    return {
      ok: true, app_id: 'ASIMAPP', authed_user: { id: `U${u.id.toUpperCase()}` }, scope: t.scope.join(','), token_type: 'bot',
      access_token: t.accessToken, bot_user_id: `UB${u.id.toUpperCase()}`, team: { id: slackTeam(u.id), name: `${u.name} team` }, enterprise: null, is_enterprise_install: false,
      ...(w.options.tokenRotation ? { expires_in: 43_200, refresh_token: t.refreshToken } : {}),
    };
  };

  app.post('/api/oauth.v2.access', async (req, reply) => {
    if (await ctx.interfere(reply, style)) return reply;
    const b = args(req);
    const client = clientOf(req, b);
    if (!client.id) return fail(reply, 'invalid_client_id');
    const registered = state.apps.get(client.id);
    if (registered && registered.clientSecret !== client.secret) return fail(reply, 'bad_client_secret');
    if (b.grant_type === 'refresh_token') {
      if (!w.options.tokenRotation) return fail(reply, 'token_rotation_not_enabled');
      const t = state.refreshToken(String(b.refresh_token ?? ''));
      if (!t) return fail(reply, 'invalid_refresh_token');
      t.expiresAt = Date.now() + 43_200_000;
      return tokenAnswer(t);
    }
    const r = state.redeemCode(String(b.code ?? ''), String(b.redirect_uri ?? ''));
    if (typeof r === 'string') return fail(reply, r === 'invalid_grant' ? 'invalid_code' : 'bad_redirect_uri');
    const t = state.issueToken(r.userId, r.scope);
    t.expiresAt = w.options.tokenRotation ? Date.now() + 43_200_000 : Number.MAX_SAFE_INTEGER;
    if (!w.options.tokenRotation) state.refresh.delete(t.refreshToken);
    return tokenAnswer(t);
  });

  app.post('/api/auth.test', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const u = state.user(t.userId);
    return {
      ok: true, url: `https://${u.username.replace(/_/g, '-')}.slack.com/`, team: `${u.name} team`, user: 'allin', team_id: slackTeam(u.id),
      user_id: `UB${u.id.toUpperCase()}`, bot_id: `B${u.id.toUpperCase()}`, is_enterprise_install: false,
    };
  });

  app.post('/api/auth.revoke', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    t.revoked = true;
    return { ok: true, revoked: true };
  });

  app.get('/api/users.conversations', async (req, reply) => {
    const t = auth(req, reply, ['channels:read']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = args(req);
    const types = String(q.types ?? 'public_channel').split(',');
    if (types.includes('private_channel') && !t.scope.includes('groups:read')) return fail(reply, 'missing_scope', { needed: 'groups:read', provided: t.scope.join(',') });
    const limit = Math.min(Number(q.limit ?? 100) || 100, 1000);
    const all = [...w.channels.values()].filter((c) => c.team === slackTeam(t.userId) && c.member && (!c.archived || q.exclude_archived !== 'true')
      && types.includes(c.isPrivate ? 'private_channel' : 'public_channel'));
    const start = Number(q.cursor ? Buffer.from(String(q.cursor), 'base64').toString() : 0) || 0;
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64') : '';
    return {
      ok: true,
      channels: page.map((c) => ({ id: c.id, name: c.name, is_channel: !c.isPrivate, is_group: false, is_private: c.isPrivate, is_archived: c.archived, is_member: c.member, context_team_id: c.team })),
      response_metadata: { next_cursor: next },
    };
  });

  const store = (c: SimSlackChannel, t: SimToken, m: SimSlackMessage, raw: unknown) => {
    const parent = m.threadTs ? c.messages.find((x) => x.ts === m.threadTs) : undefined;
    if (parent) parent.replyCount++;
    c.messages.push(m);
    const marker = m.metadata?.event_payload?.marker;
    state.posts.push({
      id: `${c.id}/${m.ts}`, userId: t.userId, text: m.text, media: (m.files ?? []).map((f) => f.id),
      ...(m.threadTs ? { replyTo: `${c.id}/${m.threadTs}` } : {}), ...(typeof marker === 'string' ? { key: marker } : {}),
      createdAt: new Date().toISOString(), raw,
    });
  };

  const checkThread = (c: SimSlackChannel, threadTs: unknown, reply: FastifyReply): string | undefined | null => {
    if (threadTs === undefined || threadTs === '') return undefined;
    const parent = c.messages.find((m) => m.ts === threadTs);
    if (!parent || parent.threadTs) { fail(reply, 'thread_not_found'); return null; }
    return String(threadTs);
  };

  app.post('/api/chat.postMessage', async (req, reply) => {
    const t = auth(req, reply, ['chat:write']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = args(req);
    const c = channelFor(t, b.channel, reply);
    if (!c) return reply;
    if (c.archived) return fail(reply, 'is_archived');
    if (!c.member && !t.scope.includes('chat:write.public')) return fail(reply, 'not_in_channel');
    const blocks = typeof b.blocks === 'string' ? JSON.parse(b.blocks) as unknown : b.blocks;
    const text = typeof b.text === 'string' ? b.text : '';
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS || blocks.some((x) => !x || typeof (x as { type?: unknown }).type !== 'string'))) return fail(reply, 'invalid_blocks');
    if (Array.isArray(blocks) && blocks.some((x) => ((x as { text?: { text?: string } }).text?.text ?? '').length > MAX_SECTION_TEXT)) return fail(reply, 'invalid_blocks', { errors: ['must be less than 3001 characters [json-pointer:/blocks/0/text/text]'] });
    if (text === '' && (!Array.isArray(blocks) || blocks.length === 0)) return fail(reply, 'no_text');
    if (text.length > MAX_TEXT) return fail(reply, 'msg_too_long');
    const thread = checkThread(c, b.thread_ts, reply);
    if (thread === null) return reply;
    const metadata = typeof b.metadata === 'string' ? JSON.parse(b.metadata) as SimSlackMessage['metadata'] : b.metadata as SimSlackMessage['metadata'];
    if (metadata !== undefined && (typeof metadata?.event_type !== 'string' || typeof metadata.event_payload !== 'object')) return fail(reply, 'invalid_metadata_format');
    const m: SimSlackMessage = {
      ts: nextTs(), text, ...(Array.isArray(blocks) ? { blocks } : {}), ...(thread ? { threadTs: thread } : {}), ...(metadata ? { metadata } : {}), replyCount: 0, reactions: [],
    };
    store(c, t, m, b);
    if (await ctx.maybeHang(reply)) return reply;
    return {
      ok: true, channel: c.id, ts: m.ts,
      message: { type: 'message', subtype: 'bot_message', text, bot_id: w.bots.get(/^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? ''), ts: m.ts, ...(m.threadTs ? { thread_ts: m.threadTs } : {}), ...(m.blocks ? { blocks: m.blocks } : {}) },
    };
  });

  app.post('/api/files.getUploadURLExternal', async (req, reply) => {
    const t = auth(req, reply, ['files:write']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    if (req.headers['content-type']?.includes('application/json')) return fail(reply, 'invalid_arguments');
    const b = args(req);
    const length = Number(b.length);
    if (!b.filename || !Number.isInteger(length) || length <= 0) return fail(reply, 'invalid_arguments');
    if (length > 1024 * 1024 * 1024) return fail(reply, 'file_size_too_large');
    const key = randomBytes(8).toString('hex');
    const fileId = `F${randomBytes(5).toString('hex').toUpperCase()}`;
    w.uploads.set(key, { fileId, name: String(b.filename), length, ...(b.alt_txt ? { alt: String(b.alt_txt) } : {}), team: slackTeam(t.userId), done: false });
    return { ok: true, upload_url: ctx.url(`/upload/v1/${key}`), file_id: fileId };
  });

  app.post('/upload/v1/:key', async (req, reply) => {
    const u = w.uploads.get((req.params as { key: string }).key);
    if (!u) return reply.status(404).send('Not Found');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
    if (body.length !== u.length) return reply.status(400).send(`Bad Request - length ${body.length} is not ${u.length}`);
    u.bytes = body;
    return reply.status(200).type('text/plain').send(`OK - ${body.length}`);
  });

  app.post('/api/files.completeUploadExternal', async (req, reply) => {
    const t = auth(req, reply, ['files:write']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = args(req);
    let files: { id?: string; title?: string }[];
    try { files = typeof b.files === 'string' ? JSON.parse(b.files) : b.files as typeof files; } catch { return fail(reply, 'invalid_arguments'); }
    if (!Array.isArray(files) || files.length === 0 || files.length > 10) return fail(reply, 'invalid_arguments');
    const uploads = files.map((f) => [...w.uploads.values()].find((u) => u.fileId === f.id && u.team === slackTeam(t.userId)));
    if (uploads.some((u) => !u || !u.bytes)) return fail(reply, 'file_not_found');
    if (uploads.some((u) => u!.done)) return fail(reply, 'file_upload_already_completed');
    let c: SimSlackChannel | null = null;
    if (b.channel_id !== undefined) {
      c = channelFor(t, b.channel_id, reply);
      if (!c) return reply;
      if (c.archived) return fail(reply, 'is_archived');
      if (!c.member) return fail(reply, 'not_in_channel');
    }
    const thread = c ? checkThread(c, b.thread_ts, reply) : undefined;
    if (thread === null) return reply;
    for (const u of uploads) u!.done = true;
    const out = uploads.map((u, i) => ({ id: u!.fileId, name: u!.name, title: files[i]!.title ?? u!.name, mimetype: mimeOf(u!.bytes!), size: u!.length, ...(u!.alt ? { alt: u!.alt } : {}) }));
    if (c) {
      const m: SimSlackMessage = { ts: nextTs(), text: typeof b.initial_comment === 'string' ? b.initial_comment : '', files: out, ...(thread ? { threadTs: thread } : {}), replyCount: 0, reactions: [] };
      store(c, t, m, b);
    }
    if (await ctx.maybeHang(reply)) return reply;
    return { ok: true, files: out.map((f) => ({ id: f.id, title: f.title })) };
  });

  app.get('/api/conversations.history', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = args(req);
    const c = channelFor(t, q.channel, reply);
    if (!c) return reply;
    const scope = c.isPrivate ? 'groups:history' : 'channels:history';
    if (!t.scope.includes(scope)) return fail(reply, 'missing_scope', { needed: scope, provided: t.scope.join(',') });
    if (!c.member) return fail(reply, 'not_in_channel');
    const limit = Math.min(Number(q.limit ?? 100) || 100, 999);
    const oldest = Number(q.oldest ?? 0);
    const latest = q.latest !== undefined ? Number(q.latest) : Infinity;
    // Top-level messages and replies broadcast to the channel; newest first.
    const all = c.messages.filter((m) => !m.threadTs && Number(m.ts) > oldest && Number(m.ts) < latest).reverse();
    const start = Number(q.cursor ? Buffer.from(String(q.cursor), 'base64').toString() : 0) || 0;
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      ok: true, has_more: more, pin_count: 0,
      messages: page.map((m) => ({
        type: 'message', ts: m.ts, text: m.text, bot_id: `B${t.userId.toUpperCase()}`, ...(m.blocks ? { blocks: m.blocks } : {}),
        ...(m.files ? { files: m.files } : {}), ...(m.replyCount ? { reply_count: m.replyCount, thread_ts: m.ts } : {}),
        ...(m.metadata && q.include_all_metadata === 'true' ? { metadata: m.metadata } : {}),
        ...(m.reactions.length ? { reactions: m.reactions.map((r) => ({ ...r, users: [] })) } : {}),
      })),
      response_metadata: { next_cursor: more ? Buffer.from(String(start + limit)).toString('base64') : '' },
    };
  });

  // A thread: its root first, then the replies since `oldest`, oldest first.
  app.get('/api/conversations.replies', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = args(req);
    const c = channelFor(t, q.channel, reply);
    if (!c) return reply;
    const scope = c.isPrivate ? 'groups:history' : 'channels:history';
    if (!t.scope.includes(scope)) return fail(reply, 'missing_scope', { needed: scope, provided: t.scope.join(',') });
    const root = c.messages.find((m) => m.ts === q.ts && !m.threadTs);
    if (!root) return fail(reply, 'thread_not_found');
    const oldest = Number(q.oldest ?? 0);
    const limit = Math.min(Number(q.limit ?? 100) || 100, 999);
    const all = [root, ...c.messages.filter((m) => m.threadTs === root.ts && Number(m.ts) > oldest)];
    const start = Number(q.cursor ? Buffer.from(String(q.cursor), 'base64').toString() : 0) || 0;
    const page = all.slice(start, start + limit);
    const more = start + limit < all.length;
    return {
      ok: true, has_more: more,
      messages: page.map((m) => ({
        type: 'message', ts: m.ts, thread_ts: root.ts, text: m.text, ...(m.files ? { files: m.files } : {}),
        ...(m.metadata && q.include_all_metadata === 'true' ? { metadata: m.metadata } : {}),
      })),
      response_metadata: { next_cursor: more ? Buffer.from(String(start + limit)).toString('base64') : '' },
    };
  });

  app.get('/api/reactions.get', async (req, reply) => {
    const t = auth(req, reply, ['reactions:read']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = args(req);
    const c = channelFor(t, q.channel, reply);
    if (!c) return reply;
    const m = c.messages.find((x) => x.ts === q.timestamp);
    if (!m) return fail(reply, 'message_not_found');
    return {
      ok: true, type: 'message', channel: c.id,
      message: { type: 'message', ts: m.ts, text: m.text, ...(m.replyCount ? { reply_count: m.replyCount } : {}), ...(m.reactions.length ? { reactions: m.reactions.map((r) => ({ ...r, users: [] })) } : {}) },
    };
  });

  app.get('/api/conversations.info', async (req, reply) => {
    const t = auth(req, reply, ['channels:read']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = args(req);
    const c = channelFor(t, q.channel, reply);
    if (!c) return reply;
    return {
      ok: true,
      channel: { id: c.id, name: c.name, is_private: c.isPrivate, is_archived: c.archived, is_member: c.member, ...(q.include_num_members === 'true' ? { num_members: simAudience(c.id, Date.now()).followers } : {}) },
    };
  });

  // A Web API method this simulator does not know answers as Slack does.
  app.all('/api/:method', async (_req, reply) => fail(reply, 'unknown_method'));
}

/** People react to a message (for figures). */
export function slackReact(state: NetworkState, channelId: string, ts: string, name: string, count: number): void {
  const m = world(state).channels.get(channelId)?.messages.find((x) => x.ts === ts);
  if (!m) throw new Error(`no message ${channelId}/${ts}`);
  const r = m.reactions.find((x) => x.name === name);
  if (r) r.count = count;
  else m.reactions.push({ name, count });
}

export function slackChannelOf(state: NetworkState, id: string): SimSlackChannel | undefined {
  return world(state).channels.get(id);
}

function mimeOf(b: Buffer): string {
  if (b[0] === 0x89 && b[1] === 0x50) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b.subarray(4, 8).toString('latin1') === 'ftyp') return 'video/mp4';
  return 'application/octet-stream';
}
