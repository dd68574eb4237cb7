// Tumblr API v2, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Tumblr; https://www.tumblr.com/docs/en/api/v2).
// Under /tumblr, at the paths of www.tumblr.com and api.tumblr.com:
//   GET  /oauth2/authorize                 consent: client_id, response_type=code, scope (space-delimited), state, redirect_uri
//   POST /v2/oauth2/token                  form body with client_id and client_secret; authorization_code | refresh_token;
//                                          every refresh answers a new refresh token and the old one dies
//   GET  /v2/user/info                     the user and the blogs they may post to (name, uuid, primary, followers)
//   GET  /v2/blog/{blog}/info, /followers  a blog's posts count; its followers (total_users)
//   POST /v2/blog/{blog}/posts             NPF: JSON, or multipart with a `json` part and one part per media identifier
//   GET  /v2/blog/{blog}/posts             published and private posts, newest first (npf=true: content blocks), limit 1-20, offset
//   GET  /v2/blog/{blog}/posts/queue       queued posts in queue order (limit, offset); …/posts/draft drafts, newest first (before_id)
//   GET  /v2/blog/{blog}/notes             mode=conversation: replies in notes, total_likes, total_reblogs
// Answers are {meta: {status, msg}, response} and errors add errors: [{title, code, detail}]. Posts are state.posts.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

interface Block { type: string; text?: string; subtype?: string; url?: string; media?: unknown; alt_text?: string }

interface SimTumblrPost {
  id: string;
  userId: string;
  blog: string;
  state: 'published' | 'queue' | 'draft' | 'private';
  content: Block[];
  tags: string[];
  publishOn?: string;
  timestamp: number;
  notes: { likes: number; reblogs: number; replies: string[] };
}

interface World {
  blogs: { name: string; uuid: string; userId: string; primary: boolean; title: string }[];
  posts: SimTumblrPost[];
  /** The next N creates are refused with 403 code 8023 (the daily posting limit). */
  dailyLimitNext: number;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { blogs: [], posts: [], dailyLimitNext: 0 };
    worlds.set(state, w);
  }
  return w;
}

const digits = () => String(BigInt(`0x${randomBytes(7).toString('hex')}`));

/** Gives the user a blog (the first one is primary); its uuid. */
export function tumblrBlog(state: NetworkState, userId: string, name: string, title = name): string {
  const w = world(state);
  const b = { name, uuid: `t:${randomBytes(8).toString('base64url')}`, userId, primary: !w.blogs.some((x) => x.userId === userId), title };
  w.blogs.push(b);
  return b.uuid;
}
export function tumblrPost(state: NetworkState, id: string): SimTumblrPost | undefined { return world(state).posts.find((p) => p.id === id); }
export function tumblrNotes(state: NetworkState, id: string, n: { likes: number; reblogs: number; replies: string[] }): void {
  const p = tumblrPost(state, id);
  if (p) p.notes = n;
}
/** The next `n` creates hit the daily posting limit (403, code 8023). */
export function tumblrDailyLimit(state: NetworkState, n: number): void { world(state).dailyLimitNext = n; }

const envelope = (status: number, msg: string, response: unknown, errors?: { title: string; code: number; detail: string }[]) => ({ meta: { status, msg }, response, ...(errors ? { errors } : {}) });
const MSG: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Limit Exceeded', 503: 'Service Unavailable' };
const err = (reply: FastifyReply, status: number, code: number, detail: string) => reply.status(status).send(envelope(status, MSG[status] ?? 'Error', [], [{ title: MSG[status] ?? 'Error', code, detail }]));

const style = (): ErrorStyle => ({
  // Tumblr names the exhausted window in headers (UNCONFIRMED which; the adapter reads these and Retry-After).
  rateLimited: (s) => ({ status: 429, headers: { 'x-ratelimit-perhour-limit': '1000', 'x-ratelimit-perhour-remaining': '0', 'x-ratelimit-perhour-reset': String(s) }, body: envelope(429, 'Limit Exceeded', [], [{ title: 'Limit Exceeded', code: 0, detail: 'You have exceeded the hourly rate limit.' }]) }),
  serverError: () => ({ status: 503, body: envelope(503, 'Service Unavailable', [], [{ title: 'Service Unavailable', code: 0, detail: 'Posting is disabled for now.' }]) }),
});

export function registerTumblr(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  const auth = async (req: FastifyRequest, reply: FastifyReply, scope: 'basic' | 'write', interfere = true): Promise<SimToken | null> => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      err(reply, 401, 0, 'Unauthorized: the access token is not valid.');
      return null;
    }
    if (!t.scope.includes(scope) && !(scope === 'basic' && t.scope.includes('write'))) {
      err(reply, 403, 0, `Forbidden: the token lacks the ${scope} scope.`);
      return null;
    }
    if (interfere && await ctx.interfere(reply, style())) return null;
    return t;
  };
  const blogOf = (id: string) => {
    const k = id.toLowerCase().replace(/\.tumblr\.com$/, '');
    return w.blogs.find((b) => b.name.toLowerCase() === k || b.uuid.toLowerCase() === k);
  };
  const postJson = (p: SimTumblrPost) => {
    const b = blogOf(p.blog)!;
    return {
      object_type: 'post', type: 'blocks', id: Number(p.id), id_string: p.id, blog_name: b.name, post_url: `https://www.tumblr.com/${b.name}/${p.id}`,
      timestamp: p.timestamp, state: p.state === 'queue' ? 'queued' : p.state, tags: p.tags, content: p.content, layout: [], note_count: p.notes.likes + p.notes.reblogs + p.notes.replies.length,
      is_blocks_post_format: true, ...(p.publishOn ? { queued_state: 'scheduled', publish_on: p.publishOn } : {}),
    };
  };
  const live = (p: SimTumblrPost) => state.posts.some((s) => s.id === p.id);

  app.get('/oauth2/authorize', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_id || q.response_type !== 'code' || !q.scope || !q.state) return reply.status(400).type('text/html').send('<p>Invalid request</p>');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && q.redirect_uri && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>Invalid redirect_uri</p>');
    const back = new URL(q.redirect_uri ?? 'http://127.0.0.1:9/cb');
    back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const scopes = q.scope.split(' ').filter((s) => !state.knobs.declineScopes.includes(s));
    back.searchParams.set('code', state.issueCode(q.login_hint || 'u1', q.client_id, q.redirect_uri ?? '', scopes));
    return reply.redirect(back.toString());
  });

  app.post('/v2/oauth2/token', async (req, reply) => {
    if (await ctx.interfere(reply, style())) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    const registered = state.apps.get(b.client_id ?? '');
    if (!b.client_id || (registered && registered.clientSecret !== b.client_secret)) return reply.status(401).send({ error: 'invalid_client', error_description: 'Client authentication failed' });
    const answer = (t: SimToken) => ({ access_token: t.accessToken, expires_in: 2520, id_token: false, refresh_token: t.refreshToken, scope: t.scope.join(' '), token_type: 'bearer' });
    if (b.grant_type === 'authorization_code') {
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '');
      if (typeof r === 'string') return reply.status(400).send({ error: 'invalid_grant', error_description: 'The authorization code is invalid.' });
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + 2_520_000;
      return answer(t);
    }
    if (b.grant_type === 'refresh_token') {
      const t = state.refreshToken(b.refresh_token ?? '');
      // The reference: "401 Unauthorized, refresh token has expired".
      if (!t) return reply.status(401).send({ error: 'invalid_grant', error_description: 'The refresh token is invalid.' });
      return answer(t);
    }
    return reply.status(400).send({ error: 'unsupported_grant_type' });
  });

  app.get('/v2/user/info', async (req, reply) => {
    const t = await auth(req, reply, 'basic');
    if (!t) return reply;
    const u = state.user(t.userId);
    const a = simAudience(t.userId, Date.now());
    const blogs = w.blogs.filter((b) => b.userId === t.userId).map((b) => ({
      name: b.name, title: b.title, url: `https://${b.name}.tumblr.com/`, uuid: b.uuid, primary: b.primary, followers: simAudience(b.uuid, Date.now()).followers, tweet: 'N', type: 'public',
    }));
    return envelope(200, 'OK', { user: { name: blogs.find((b) => b.primary)?.name ?? u.username, following: a.following, likes: 0, default_post_format: 'html', blogs } });
  });

  const ownBlog = async (req: FastifyRequest, reply: FastifyReply, scope: 'basic' | 'write') => {
    const t = await auth(req, reply, scope);
    if (!t) return null;
    const b = blogOf((req.params as { blog: string }).blog);
    if (!b) {
      err(reply, 404, 0, 'Not Found: no such blog.');
      return null;
    }
    if (b.userId !== t.userId) {
      err(reply, 403, 0, 'Forbidden: you cannot post to or read that blog\'s private data.');
      return null;
    }
    return { t, b };
  };

  app.get('/v2/blog/:blog/info', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    return envelope(200, 'OK', { blog: { name: o.b.name, title: o.b.title, uuid: o.b.uuid, url: `https://${o.b.name}.tumblr.com/`, posts: w.posts.filter((p) => p.blog === o.b.uuid && live(p) && p.state === 'published').length } });
  });

  app.get('/v2/blog/:blog/followers', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    return envelope(200, 'OK', { total_users: simAudience(o.b.uuid, Date.now()).followers, users: [] });
  });

  app.post('/v2/blog/:blog/posts', async (req, reply) => {
    const o = await ownBlog(req, reply, 'write');
    if (!o) return reply;
    let body: Record<string, unknown>;
    const files = new Map<string, { bytes: number; type: string }>();
    if (req.isMultipart()) {
      let json: string | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const buf = await part.toBuffer();
          if (part.fieldname === 'json') json = buf.toString();
          else files.set(part.fieldname, { bytes: buf.length, type: part.mimetype });
        } else if (part.fieldname === 'json') json = String(part.value);
      }
      try { body = JSON.parse(json ?? 'null') as Record<string, unknown>; } catch { return err(reply, 400, 8001, 'The json part is not JSON.'); }
      if (!body || typeof body !== 'object') return err(reply, 400, 8001, 'A multipart request carries its parameters in a json part.');
    } else body = (req.body ?? {}) as Record<string, unknown>;
    if (!Array.isArray(body.content) || body.content.length === 0) return err(reply, 400, 8001, '\'content\' must be an array');
    const content = body.content as Block[];
    for (const b of content) {
      if (b.type === 'text' && (typeof b.text !== 'string' || [...b.text].length > 4096)) return err(reply, 400, 8001, 'A text block holds at most 4096 characters.');
      if (b.type === 'link' && (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url))) return err(reply, 400, 8001, 'A link block needs a url.');
      if (b.type === 'image' || b.type === 'video') {
        const items = (Array.isArray(b.media) ? b.media : [b.media]) as { identifier?: string; type?: string }[];
        for (const m of items) {
          const f = m?.identifier ? files.get(m.identifier) : undefined;
          if (!f || f.bytes === 0) return err(reply, 400, 8001, `No uploaded media for the identifier "${m?.identifier ?? ''}".`);
          if (b.type === 'image' && !['image/jpeg', 'image/png', 'image/gif'].includes(f.type)) return err(reply, 400, 8005, 'The uploaded media is an invalid format.');
        }
      }
      if (!['text', 'image', 'video', 'link'].includes(b.type)) return err(reply, 400, 8001, `Unknown block type ${b.type}.`);
    }
    if (content.filter((b) => b.type === 'video').length > 1) return err(reply, 400, 8001, 'A post carries one uploaded video.');
    const st = body.state ?? 'published';
    if (!['published', 'queue', 'draft', 'private'].includes(String(st))) return err(reply, 400, 8001, 'Invalid state.');
    if (w.dailyLimitNext > 0) {
      w.dailyLimitNext--;
      return err(reply, 403, 8023, 'You have reached your daily posting limit.');
    }
    const p: SimTumblrPost = {
      id: digits(), userId: o.t.userId, blog: o.b.uuid, state: st as SimTumblrPost['state'], content,
      tags: typeof body.tags === 'string' && body.tags !== '' ? body.tags.split(',').map((x) => x.trim()) : [],
      ...(st === 'queue' && typeof body.publish_on === 'string' ? { publishOn: body.publish_on } : {}),
      timestamp: Math.floor(Date.now() / 1000), notes: { likes: 0, reblogs: 0, replies: [] },
    };
    w.posts.push(p);
    state.posts.push({ id: p.id, userId: o.t.userId, text: content.filter((b) => b.type === 'text').map((b) => b.text).join('\n\n'), media: content.filter((b) => b.type === 'image' || b.type === 'video').map((b) => b.type), createdAt: new Date().toISOString(), raw: { ...body, files: Object.fromEntries(files) } });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).send(envelope(201, 'Created', { id: p.id }));
  });

  const list = (o: { b: { uuid: string } }, states: SimTumblrPost['state'][]) => w.posts.filter((p) => p.blog === o.b.uuid && live(p) && states.includes(p.state));
  const limitOf = (q: Record<string, string | undefined>) => Math.min(Math.max(Number(q.limit ?? 20) || 20, 1), 20);

  app.get('/v2/blog/:blog/posts', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    const q = req.query as Record<string, string | undefined>;
    const all = list(o, ['published', 'private']).reverse().sort((a, b) => b.timestamp - a.timestamp);
    const offset = Number(q.offset ?? 0) || 0;
    return envelope(200, 'OK', { posts: all.slice(offset, offset + limitOf(q)).map(postJson), total_posts: all.length });
  });
  app.get('/v2/blog/:blog/posts/queue', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    const q = req.query as Record<string, string | undefined>;
    const offset = Number(q.offset ?? 0) || 0;
    return envelope(200, 'OK', { posts: list(o, ['queue']).slice(offset, offset + limitOf(q)).map(postJson) });
  });
  app.get('/v2/blog/:blog/posts/draft', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    const q = req.query as Record<string, string | undefined>;
    const drafts = list(o, ['draft']).reverse();
    const start = q.before_id ? drafts.findIndex((p) => p.id === q.before_id) + 1 : 0;
    return envelope(200, 'OK', { posts: drafts.slice(start, start + 20).map(postJson) });
  });

  app.get('/v2/blog/:blog/notes', async (req, reply) => {
    const o = await ownBlog(req, reply, 'basic');
    if (!o) return reply;
    const q = req.query as Record<string, string | undefined>;
    const p = w.posts.find((x) => x.id === q.id && x.blog === o.b.uuid && live(x));
    if (!p) return err(reply, 404, 0, 'Not Found: no such post.');
    const replies = p.notes.replies.map((text, i) => ({ type: 'reply', timestamp: p.timestamp + i + 1, blog_name: `fan${i}`, blog_uuid: `t:fan${i}`, reply_text: text }));
    return envelope(200, 'OK', { notes: replies, rollup_notes: [], total_notes: replies.length, total_likes: p.notes.likes, total_reblogs: p.notes.reblogs });
  });
}
