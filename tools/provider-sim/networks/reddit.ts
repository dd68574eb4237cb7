// Reddit, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Reddit; https://www.reddit.com/dev/api). Under
// /reddit, at the paths of www.reddit.com (OAuth) and oauth.reddit.com (the rest):
//   GET  /api/v1/authorize                    consent; duration=permanent gives a refresh token; denyConsent → error=access_denied
//   POST /api/v1/access_token                 HTTP Basic client id and secret; authorization_code (a bad code: 200
//                                             {"error":"invalid_grant"}) | refresh_token (not rotated; a dead one: 400 invalid_grant)
//   POST /api/v1/revoke_token                 token, token_type_hint → 204
//   GET  /api/v1/me                           {id, name, icon_img, subreddit: {title, subscribers}}
//   GET  /api/v1/:sr/post_requirements        {is_flair_required, title_text_max_length, body_restriction_policy, …}
//   GET  /r/:sr/api/link_flair_v2             the subreddit's link flairs
//   POST /api/media/asset.json                an upload lease: {args: {action: "//…/s3", fields}, asset}
//   POST /s3                                  the image (multipart: the lease's fields, then file) → 201
//   POST /api/submit, /api/comment            api_type=json: {json: {errors: [[code, message, field]], data}}
//   GET  /user/:name/submitted, /user/:name/comments, /api/info?id=   listings, newest first
// Every API answer carries X-Ratelimit-Used, -Remaining and -Reset (seconds); past the window's allowance, 429.
// Errors are {message, error} with the HTTP status. Posts and comments are state.posts (id: the fullname).
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

export interface SimSubreddit {
  name: string;
  flairRequired: boolean;
  flairs: { id: string; text: string; text_editable: boolean; mod_only: boolean }[];
  bodyPolicy: 'none' | 'required' | 'notAllowed';
  titleMax?: number;
  allowSelf: boolean;
  /** Users (by name) who may not post there. */
  banned: string[];
}

interface Thing {
  name: string;
  kind: 't3' | 't1';
  author: string;
  subreddit: string;
  title?: string;
  body: string;
  url?: string;
  parent?: string;
  link?: string;
  created: number;
  score: number;
  comments: number;
  flairId?: string;
  nsfw: boolean;
  spoiler: boolean;
}

interface World {
  subs: Map<string, SimSubreddit>;
  things: Thing[];
  uploads: Map<string, { user: string; stored: boolean; mimetype: string }>;
  seq: number;
  windows: Map<string, { remaining: number; used: number; resetAt: number }>;
  /** The next N submits or comments answer RATELIMIT (the per-user action limit). */
  actionLimitNext: number;
  /** Tokens issued for a duration other than permanent carry no refresh token. */
  temporary: Set<string>;
  /** The User-Agent of the last API call, for tests. */
  userAgent?: string;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { subs: new Map(), things: [], uploads: new Map(), seq: 100_000, windows: new Map(), actionLimitNext: 0, temporary: new Set() };
    worlds.set(state, w);
  }
  return w;
}

/** A subreddit, open to everyone unless `banned`. */
export function redditSubreddit(state: NetworkState, o: Partial<SimSubreddit> & { name: string }): SimSubreddit {
  const s: SimSubreddit = { flairRequired: false, flairs: [], bodyPolicy: 'none', allowSelf: true, banned: [], ...o };
  world(state).subs.set(s.name.toLowerCase(), s);
  return s;
}

/** The user's rate-limit window: `remaining` calls left, ending in `resetSeconds`. */
export function redditRateWindow(state: NetworkState, userName: string, remaining: number, resetSeconds: number): void {
  world(state).windows.set(userName, { remaining, used: 0, resetAt: Date.now() + resetSeconds * 1000 });
}

/** The User-Agent the last API call carried. */
export function redditUserAgent(state: NetworkState): string | undefined {
  return world(state).userAgent;
}

/** The next N submits or comments answer RATELIMIT. */
export function redditActionLimit(state: NetworkState, n: number): void {
  world(state).actionLimitNext = n;
}

/** People vote and comment (for figures). */
export function redditScore(state: NetworkState, fullname: string, score: number, comments: number): void {
  const t = world(state).things.find((x) => x.name === fullname);
  if (!t) throw new Error(`no ${fullname}`);
  t.score = score;
  t.comments = comments;
}

const style = (): ErrorStyle => ({
  rateLimited: (s) => ({ status: 429, headers: { 'x-ratelimit-used': '100', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(s) }, body: { message: 'Too Many Requests', error: 429 } }),
  serverError: () => ({ status: 500, body: { message: 'Internal Server Error', error: 500 } }),
});

export function registerReddit(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.status(status).type('application/json').send(body);
  const id36 = () => (++w.seq).toString(36);
  const nameOf = (t: SimToken) => state.user(t.userId).username;
  const clientOf = (req: FastifyRequest) => {
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!basic) return null;
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':');
    const registered = state.apps.get(id ?? '');
    return !id || (registered && registered.clientSecret !== secret) ? null : id;
  };

  // The rate-limit headers on every API answer; past the allowance, 429.
  const window = (reply: FastifyReply, user: string): boolean => {
    let win = w.windows.get(user);
    if (!win || win.resetAt <= Date.now()) {
      win = { remaining: 1000, used: 0, resetAt: Date.now() + 600_000 };
      w.windows.set(user, win);
    }
    const reset = String(Math.max(0, Math.ceil((win.resetAt - Date.now()) / 1000)));
    if (win.remaining <= 0) {
      send(reply.headers({ 'x-ratelimit-used': String(win.used), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), 429, { message: 'Too Many Requests', error: 429 });
      return false;
    }
    win.remaining--;
    win.used++;
    reply.headers({ 'x-ratelimit-used': String(win.used), 'x-ratelimit-remaining': String(win.remaining), 'x-ratelimit-reset': reset });
    return true;
  };
  const auth = async (req: FastifyRequest, reply: FastifyReply, scope: string): Promise<SimToken | null> => {
    w.userAgent = req.headers['user-agent'];
    const t = state.bearer(req);
    if (typeof t === 'string') { send(reply, 401, { message: 'Unauthorized', error: 401 }); return null; }
    if (!t.scope.includes(scope)) { send(reply, 403, { message: 'Forbidden', error: 403, reason: `insufficient_scope: ${scope}` }); return null; }
    if (!window(reply, nameOf(t))) return null;
    if (await ctx.interfere(reply, style())) return null;
    return t;
  };
  const sub = (name: unknown) => (typeof name === 'string' ? w.subs.get(name.toLowerCase()) : undefined);
  const listing = (things: Thing[]) => ({
    kind: 'Listing',
    data: {
      after: null, before: null, dist: things.length,
      children: things.map((t) => ({
        kind: t.kind,
        data: {
          id: t.name.slice(3), name: t.name, author: t.author, subreddit: t.subreddit, created_utc: t.created / 1000, score: t.score, ups: t.score,
          permalink: t.kind === 't3' ? `/r/${t.subreddit}/comments/${t.name.slice(3)}/` : `/r/${t.subreddit}/comments/${t.link!.slice(3)}/_/${t.name.slice(3)}/`,
          ...(t.kind === 't3' ? { title: t.title, selftext: t.body, url: t.url ?? `https://www.reddit.com/r/${t.subreddit}/comments/${t.name.slice(3)}/`, num_comments: t.comments, over_18: t.nsfw, spoiler: t.spoiler, link_flair_template_id: t.flairId ?? null }
            : { body: t.body, parent_id: t.parent, link_id: t.link }),
        },
      })),
    },
  });

  app.get('/api/v1/authorize', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_id || q.response_type !== 'code' || !q.redirect_uri) return reply.status(400).type('text/html').send('<p>bad request (reddit.com)</p>');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>invalid redirect_uri parameter</p>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const scopes = (q.scope ?? '').split(/[ ,]+/).filter(Boolean);
    const user = state.user(q.login_hint || 'u1');
    const code = state.issueCode(user.id, q.client_id, q.redirect_uri, scopes);
    if (q.duration !== 'permanent') w.temporary.add(code);
    back.searchParams.set('code', code);
    return reply.redirect(back.toString());
  });

  app.post('/api/v1/access_token', async (req, reply) => {
    if (await ctx.interfere(reply, style())) return reply;
    if (!clientOf(req)) return send(reply, 401, { message: 'Unauthorized', error: 401 });
    const b = (req.body ?? {}) as Record<string, string>;
    if (b.grant_type === 'authorization_code') {
      const temporary = w.temporary.delete(b.code ?? '');
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '');
      // Reddit answers a bad code with 200 and an error body.
      if (typeof r === 'string') return send(reply, 200, { error: 'invalid_grant' });
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + 86_400_000;
      if (temporary) state.refresh.delete(t.refreshToken);
      return { access_token: t.accessToken, token_type: 'bearer', expires_in: 86_400, scope: r.scope.join(' '), ...(temporary ? {} : { refresh_token: t.refreshToken }) };
    }
    if (b.grant_type === 'refresh_token') {
      state.refreshCalls++;
      const old = state.refresh.get(b.refresh_token ?? '');
      if (!old || old.revoked) return send(reply, 400, { error: 'invalid_grant' });
      // Not rotated: a new access token under the same refresh token.
      const t: SimToken = { ...old, accessToken: `at_reddit_${randomBytes(12).toString('hex')}`, expiresAt: Date.now() + 86_400_000 };
      state.tokens.set(t.accessToken, t);
      state.refresh.set(t.refreshToken, t);
      return { access_token: t.accessToken, token_type: 'bearer', expires_in: 86_400, scope: t.scope.join(' ') };
    }
    return send(reply, 400, { error: 'unsupported_grant_type' });
  });

  app.post('/api/v1/revoke_token', async (req, reply) => {
    if (!clientOf(req)) return send(reply, 401, { message: 'Unauthorized', error: 401 });
    const b = (req.body ?? {}) as Record<string, string>;
    const t = state.tokens.get(b.token ?? '') ?? state.refresh.get(b.token ?? '');
    if (t) {
      // Revoking a refresh token ends every access token issued from it.
      for (const x of state.tokens.values()) if (x.refreshToken === t.refreshToken && (b.token === t.refreshToken || x.accessToken === b.token)) x.revoked = true;
      if (b.token === t.refreshToken) state.refresh.delete(t.refreshToken);
    }
    return reply.status(204).send();
  });

  app.get('/api/v1/me', async (req, reply) => {
    const t = await auth(req, reply, 'identity');
    if (!t) return reply;
    const u = state.user(t.userId);
    return { id: u.id, name: u.username, icon_img: `https://styles.redditmedia.com/${u.id}.png`, link_karma: 10, comment_karma: 20, subreddit: { title: u.name, display_name_prefixed: `u/${u.username}`, subscribers: simAudience(u.id, Date.now()).followers } };
  });

  app.get('/api/v1/:sr/post_requirements', async (req, reply) => {
    const t = await auth(req, reply, 'submit');
    if (!t) return reply;
    const s = sub((req.params as { sr: string }).sr);
    if (!s) return send(reply, 404, { message: 'Not Found', error: 404 });
    return {
      is_flair_required: s.flairRequired, title_text_max_length: s.titleMax ?? null, title_text_min_length: null, body_restriction_policy: s.bodyPolicy,
      domain_blacklist: [], domain_whitelist: [], link_restriction_policy: 'none', body_text_max_length: null,
    };
  });

  app.get('/r/:sr/api/link_flair_v2', async (req, reply) => {
    const t = await auth(req, reply, 'flair');
    if (!t) return reply;
    const s = sub((req.params as { sr: string }).sr);
    if (!s) return send(reply, 404, { message: 'Not Found', error: 404 });
    return s.flairs.map((f) => ({ ...f, type: 'text', text_color: 'dark', background_color: '', allowable_content: 'all', max_emojis: 10, richtext: [] }));
  });

  app.post('/api/media/asset.json', async (req, reply) => {
    const t = await auth(req, reply, 'submit');
    if (!t) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    if (!b.filepath || !b.mimetype) return send(reply, 400, { message: 'Bad Request', error: 400 });
    const key = `rte_images/${randomBytes(6).toString('hex')}/${b.filepath}`;
    w.uploads.set(key, { user: nameOf(t), stored: false, mimetype: b.mimetype });
    const action = ctx.url('/s3').replace(/^https?:/, '');
    return {
      args: { action, fields: [{ name: 'acl', value: 'private' }, { name: 'key', value: key }, { name: 'Content-Type', value: b.mimetype }, { name: 'policy', value: randomBytes(8).toString('base64') }] },
      asset: { asset_id: randomBytes(5).toString('hex'), processing_state: 'incomplete', payload: { filepath: b.filepath }, websocket_url: 'wss://ws.redditmedia.com/sim' },
    };
  });

  app.post('/s3', async (req, reply) => {
    if (!req.isMultipart()) return reply.status(400).type('application/xml').send('<Error><Code>InvalidRequest</Code></Error>');
    const fields: Record<string, string> = {};
    let file: Buffer | undefined;
    for await (const part of req.parts()) {
      if (part.type === 'file') file = await part.toBuffer();
      else fields[part.fieldname] = String(part.value);
    }
    const u = w.uploads.get(fields.key ?? '');
    if (!u || !file || file.length === 0) return reply.status(403).type('application/xml').send('<Error><Code>AccessDenied</Code></Error>');
    u.stored = true;
    return reply.status(201).type('application/xml').send(`<PostResponse><Key>${fields.key}</Key></PostResponse>`);
  });

  const formErrors = (reply: FastifyReply, errors: [string, string, string][], extra: Record<string, unknown> = {}) => send(reply, 200, { json: { errors, ...extra } });

  app.post('/api/submit', async (req, reply) => {
    const t = await auth(req, reply, 'submit');
    if (!t) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    const user = nameOf(t);
    if (w.actionLimitNext > 0) {
      w.actionLimitNext--;
      return formErrors(reply, [['RATELIMIT', 'Looks like you\'ve been doing that a lot. Take a break for 5 minutes before trying again.', 'ratelimit']], { ratelimit: 300.5 });
    }
    const s = sub(b.sr);
    if (!s) return formErrors(reply, [['SUBREDDIT_NOEXIST', 'that subreddit doesn\'t exist', 'sr']]);
    if (s.banned.includes(user)) return formErrors(reply, [['SUBREDDIT_NOTALLOWED', 'you aren\'t allowed to post there.', 'sr']]);
    if (!b.title) return formErrors(reply, [['NO_TEXT', 'we need something here', 'title']]);
    if ([...b.title].length > 300) return formErrors(reply, [['TOO_LONG', 'this is too long (max: 300)', 'title']]);
    if (b.kind === 'self' && !s.allowSelf) return formErrors(reply, [['NO_SELFS', 'this subreddit doesn\'t allow text posts', 'sr']]);
    if (s.flairRequired && !b.flair_id) return formErrors(reply, [['SUBMIT_VALIDATION_FLAIR_REQUIRED', 'Your post must contain post flair.', 'flair']]);
    if (b.flair_id && !s.flairs.some((f) => f.id === b.flair_id)) return formErrors(reply, [['BAD_FLAIR_TEMPLATE_ID', 'That flair template is not valid.', 'flair']]);
    if (b.kind === 'link' || b.kind === 'image') {
      if (!b.url || !/^https?:\/\//.test(b.url)) return formErrors(reply, [['BAD_URL', 'you should check that url', 'url']]);
    } else if (b.kind !== 'self') return send(reply, 400, { message: 'Bad Request', error: 400 });
    if (b.kind === 'image') {
      const key = [...w.uploads.keys()].find((k) => b.url!.endsWith(`/s3/${k}`));
      if (!key || !w.uploads.get(key)!.stored) return formErrors(reply, [['BAD_URL', 'the image was not uploaded', 'url']]);
    }
    const thing: Thing = {
      name: `t3_${id36()}`, kind: 't3', author: user, subreddit: s.name, title: b.title, body: b.text ?? '', ...(b.url ? { url: b.url } : {}),
      created: Date.now(), score: 1, comments: 0, ...(b.flair_id ? { flairId: b.flair_id } : {}), nsfw: b.nsfw === 'true', spoiler: b.spoiler === 'true',
    };
    w.things.push(thing);
    state.posts.push({ id: thing.name, userId: t.userId, text: thing.body, media: b.kind === 'image' ? [b.url!] : [], createdAt: new Date().toISOString(), raw: b });
    if (await ctx.maybeHang(reply)) return reply;
    // An image post's answer names no post: Reddit's clients learn it from the websocket.
    if (b.kind === 'image') return { json: { errors: [], data: { user_submitted_page: `https://www.reddit.com/user/${user}/submitted/`, websocket_url: 'wss://ws.redditmedia.com/sim' } } };
    return { json: { errors: [], data: { url: `https://www.reddit.com/r/${s.name}/comments/${thing.name.slice(3)}/`, drafts_count: 0, id: thing.name.slice(3), name: thing.name } } };
  });

  app.post('/api/comment', async (req, reply) => {
    const t = await auth(req, reply, 'submit');
    if (!t) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    if (w.actionLimitNext > 0) {
      w.actionLimitNext--;
      return formErrors(reply, [['RATELIMIT', 'Looks like you\'ve been doing that a lot. Take a break for 30 seconds before trying again.', 'ratelimit']]);
    }
    const parent = w.things.find((x) => x.name === b.thing_id);
    if (!parent) return formErrors(reply, [['DELETED_LINK', 'the link you are commenting on has been deleted', 'parent']]);
    if (!b.text) return formErrors(reply, [['NO_TEXT', 'we need something here', 'text']]);
    if (b.text.length > 10_000) return formErrors(reply, [['TOO_LONG', 'this is too long (max: 10000)', 'text']]);
    const link = parent.kind === 't3' ? parent.name : parent.link!;
    const thing: Thing = { name: `t1_${id36()}`, kind: 't1', author: nameOf(t), subreddit: parent.subreddit, body: b.text, parent: parent.name, link, created: Date.now(), score: 1, comments: 0, nsfw: false, spoiler: false };
    w.things.push(thing);
    const root = w.things.find((x) => x.name === link);
    if (root) root.comments++;
    state.posts.push({ id: thing.name, userId: t.userId, text: thing.body, media: [], replyTo: parent.name, createdAt: new Date().toISOString(), raw: b });
    if (await ctx.maybeHang(reply)) return reply;
    return { json: { errors: [], data: { things: listing([thing]).data.children } } };
  });

  const own = (where: 'submitted' | 'comments') => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = await auth(req, reply, 'read');
    if (!t) return reply;
    const { name } = req.params as { name: string };
    const q = req.query as Record<string, string | undefined>;
    const limit = Math.min(Number(q.limit ?? 25) || 25, 100);
    const all = w.things.filter((x) => x.author === name && x.kind === (where === 'submitted' ? 't3' : 't1')).reverse();
    const start = q.after ? all.findIndex((x) => x.name === q.after) + 1 : 0;
    const page = all.slice(start, start + limit);
    const l = listing(page);
    l.data.after = (start + limit < all.length ? page.at(-1)?.name ?? null : null) as null;
    return l;
  };
  app.get('/user/:name/submitted', own('submitted'));
  app.get('/user/:name/comments', own('comments'));

  app.get('/api/info', async (req, reply) => {
    const t = await auth(req, reply, 'read');
    if (!t) return reply;
    const ids = String((req.query as { id?: string }).id ?? '').split(',');
    return listing(w.things.filter((x) => ids.includes(x.name)));
  });
}
