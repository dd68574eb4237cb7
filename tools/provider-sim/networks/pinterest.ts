// Pinterest API v5, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Pinterest;
// https://developers.pinterest.com/docs/api/v5/). Under /pinterest, at the paths of www.pinterest.com and api.pinterest.com:
//   GET  /oauth/                                   consent: client_id, redirect_uri, response_type=code, scope (comma-separated), state
//   POST /v5/oauth/token                           HTTP Basic app id:secret; authorization_code | refresh_token; every answer
//                                                  carries a new refresh token (continuous refresh), the old one dies
//   GET  /v5/user_account                          username, account_type, follower_count, following_count, pin_count
//   GET  /v5/user_account/analytics                {all: {daily_metrics: [{date, data_status, metrics}], summary_metrics}}
//   GET  /v5/boards, /v5/boards/{id}/sections      pages of page_size with a bookmark
//   GET  /v5/boards/{id}/pins, …/sections/{sid}/pins   the board's Pins, newest first
//   POST /v5/pins                                  board_id, board_section_id, title (100), description (800), link (2048),
//                                                  alt_text (500), media_source image_base64 | multiple_image_base64 (2-5) | video_id
//   POST /v5/media                                 {media_type: video} → media_id, upload_url, upload_parameters
//   POST /v5/_upload                               the upload_url (S3-like: multipart with the parameters and `file`) → 204
//   GET  /v5/media/{id}                            registered → processing (for pinterestProcessingReads reads) → succeeded
//   GET  /v5/pins/{id}?pin_metrics=true            pin_metrics.lifetime_metrics
// Errors are Pinterest's {code, message} with the HTTP status. Pins are state.posts (id: the Pin id).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, simDay, simDayInsights, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

interface SimPin {
  id: string;
  userId: string;
  boardId: string;
  sectionId?: string;
  title?: string;
  description?: string;
  link?: string;
  altText?: string;
  kind: 'image' | 'video' | 'multiple_images';
  images: number;
  createdAt: string;
  metrics: { impression: number; reaction: number; comment: number; save: number };
}

interface Upload { id: string; userId: string; key: string; bytes: number; status: 'registered' | 'processing' | 'succeeded' | 'failed'; reads: number }

interface World {
  boards: { id: string; userId: string; name: string; sections: { id: string; name: string }[] }[];
  pins: SimPin[];
  uploads: Map<string, Upload>;
  /** The next N uploads end in status failed. */
  failNext: number;
  /** Reads of an uploaded video that still say processing before it is done. */
  processingReads: number;
  /** Users whose analytics are refused (not business accounts). */
  noAnalytics: Set<string>;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { boards: [], pins: [], uploads: new Map(), failNext: 0, processingReads: 0, noAnalytics: new Set() };
    worlds.set(state, w);
  }
  return w;
}

const digits = () => String(BigInt(`0x${randomBytes(7).toString('hex')}`));

/** Gives the user a board (and sections); its id. */
export function pinterestBoard(state: NetworkState, userId: string, name: string, sections: string[] = []): { id: string; sections: Record<string, string> } {
  const b = { id: digits(), userId, name, sections: sections.map((s) => ({ id: digits(), name: s })) };
  world(state).boards.push(b);
  return { id: b.id, sections: Object.fromEntries(b.sections.map((s) => [s.name, s.id])) };
}
export function pinterestPin(state: NetworkState, id: string): SimPin | undefined { return world(state).pins.find((p) => p.id === id); }
export function pinterestStats(state: NetworkState, id: string, m: SimPin['metrics']): void {
  const p = pinterestPin(state, id);
  if (p) p.metrics = m;
}
/** The next `n` video uploads fail processing. */
export function pinterestFailUploads(state: NetworkState, n: number): void { world(state).failNext = n; }
/** Uploaded videos say processing for `n` reads before they are done (0: done at the first read). */
export function pinterestProcessingReads(state: NetworkState, n: number): void { world(state).processingReads = n; }
export function pinterestUploads(state: NetworkState): { id: string; bytes: number; status: string }[] {
  return [...world(state).uploads.values()].map((u) => ({ id: u.id, bytes: u.bytes, status: u.status }));
}
export function pinterestNoAnalytics(state: NetworkState, userId: string): void { world(state).noAnalytics.add(userId); }

const style = (): ErrorStyle => ({
  rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s) }, body: { code: 8, message: 'You have exceeded your rate limit. Try again later.' } }),
  serverError: () => ({ status: 503, body: { code: 3, message: 'Service unavailable' } }),
});

const err = (reply: FastifyReply, status: number, code: number, message: string) => reply.status(status).send({ code, message });

export function registerPinterest(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  const auth = async (req: FastifyRequest, reply: FastifyReply, scope: string, interfere = true): Promise<SimToken | null> => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      err(reply, 401, 2, 'Authentication failed.');
      return null;
    }
    if (!t.scope.includes(scope)) {
      err(reply, 403, 29, 'You are not permitted to access that resource.');
      return null;
    }
    if (interfere && await ctx.interfere(reply, style())) return null;
    return t;
  };
  const page = <T>(all: T[], q: Record<string, string | undefined>) => {
    const size = Math.min(Math.max(Number(q.page_size ?? 25) || 25, 1), 250);
    const start = q.bookmark ? Number(Buffer.from(q.bookmark, 'base64url').toString()) || 0 : 0;
    return { items: all.slice(start, start + size), bookmark: start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : null };
  };
  const pinJson = (p: SimPin, metrics = false) => ({
    id: p.id, created_at: p.createdAt, board_id: p.boardId, board_section_id: p.sectionId ?? null, title: p.title ?? null, description: p.description ?? null,
    link: p.link ?? null, alt_text: p.altText ?? null, is_owner: true, board_owner: { username: state.user(p.userId).username },
    media: { media_type: p.kind, ...(p.kind === 'multiple_images' ? { items: Array.from({ length: p.images }, () => ({ item_type: 'image' })) } : {}) },
    ...(metrics ? { pin_metrics: { '90d': { pin_click: 0, impression: p.metrics.impression, clickthrough: 0 }, lifetime_metrics: { pin_click: 0, impression: p.metrics.impression, clickthrough: 0, reaction: p.metrics.reaction, comment: p.metrics.comment, save: p.metrics.save } } } : {}),
  });

  app.get('/oauth/', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_id || q.response_type !== 'code' || !q.redirect_uri || !q.scope) return reply.status(400).type('text/html').send('<p>Invalid request</p>');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>Invalid redirect_uri</p>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const scopes = q.scope.split(',').filter((s) => !state.knobs.declineScopes.includes(s));
    back.searchParams.set('code', state.issueCode(q.login_hint || 'u1', q.client_id, q.redirect_uri, scopes));
    return reply.redirect(back.toString());
  });

  app.post('/v5/oauth/token', async (req, reply) => {
    if (await ctx.interfere(reply, style())) return reply;
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) : [];
    const registered = state.apps.get(id ?? '');
    if (!id || (registered && registered.clientSecret !== secret)) return err(reply, 401, 2, 'Authentication failed.');
    const b = (req.body ?? {}) as Record<string, string>;
    const answer = (t: SimToken, type: string) => ({
      access_token: t.accessToken, refresh_token: t.refreshToken, response_type: type, token_type: 'bearer', expires_in: 2_592_000,
      refresh_token_expires_in: 5_184_000, refresh_token_expires_at: Math.floor(Date.now() / 1000) + 5_184_000, scope: t.scope.join(','),
    });
    if (b.grant_type === 'authorization_code') {
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '');
      if (typeof r === 'string') return err(reply, 400, 1, 'Invalid authorization code.');
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + 2_592_000_000;
      return answer(t, 'authorization_code');
    }
    if (b.grant_type === 'refresh_token') {
      const t = state.refreshToken(b.refresh_token ?? '');
      if (!t) return err(reply, 400, 1, 'Invalid refresh token.');
      return answer(t, 'refresh_token');
    }
    return err(reply, 400, 1, 'Invalid grant_type.');
  });

  app.get('/v5/user_account', async (req, reply) => {
    const t = await auth(req, reply, 'user_accounts:read');
    if (!t) return reply;
    const u = state.user(t.userId);
    const a = simAudience(t.userId, Date.now());
    return {
      id: String(parseInt(createHash('sha256').update(t.userId).digest('hex').slice(0, 12), 16)), username: u.username, account_type: 'BUSINESS', business_name: u.name,
      profile_image: `https://i.pinimg.com/75x75_RS/${t.userId}.jpg`, website_url: null, board_count: w.boards.filter((b) => b.userId === t.userId).length,
      pin_count: w.pins.filter((p) => p.userId === t.userId).length, follower_count: a.followers, following_count: a.following, monthly_views: 1000,
    };
  });

  app.get('/v5/user_account/analytics', async (req, reply) => {
    const t = await auth(req, reply, 'user_accounts:read');
    if (!t) return reply;
    if (w.noAnalytics.has(t.userId)) return err(reply, 403, 403, 'Not authorized to access the user account analytics.');
    const q = req.query as Record<string, string | undefined>;
    const start = Date.parse(`${q.start_date}T00:00:00Z`);
    const end = Date.parse(`${q.end_date}T00:00:00Z`);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start || start < Date.now() - 91 * 86_400_000 || end - start > 90 * 86_400_000) return err(reply, 400, 400, 'Invalid user accounts analytics parameters.');
    const days = [];
    for (let at = start; at <= end; at += 86_400_000) {
      const d = simDayInsights(t.userId, simDay(at));
      days.push({ date: simDay(at), data_status: 'READY', metrics: { IMPRESSION: d.impressions, ENGAGEMENT: d.engagement } });
    }
    return { all: { daily_metrics: days, summary_metrics: { IMPRESSION: days.reduce((n, d) => n + d.metrics.IMPRESSION, 0) } } };
  });

  app.get('/v5/boards', async (req, reply) => {
    const t = await auth(req, reply, 'boards:read');
    if (!t) return reply;
    return page(w.boards.filter((b) => b.userId === t.userId).map((b) => ({ id: b.id, name: b.name, privacy: 'PUBLIC', owner: { username: state.user(b.userId).username } })), req.query as Record<string, string>);
  });

  const board = (t: SimToken, id: string) => w.boards.find((b) => b.id === id && b.userId === t.userId);

  app.get('/v5/boards/:board/sections', async (req, reply) => {
    const t = await auth(req, reply, 'boards:read');
    if (!t) return reply;
    const b = board(t, (req.params as { board: string }).board);
    if (!b) return err(reply, 404, 404, 'Board not found.');
    return page(b.sections, req.query as Record<string, string>);
  });

  const listPins = async (req: FastifyRequest, reply: FastifyReply) => {
    const t = await auth(req, reply, 'pins:read');
    if (!t) return reply;
    const p = req.params as { board: string; section?: string };
    const b = board(t, p.board);
    if (!b) return err(reply, 404, 404, 'Board not found.');
    if (p.section && !b.sections.some((s) => s.id === p.section)) return err(reply, 404, 404, 'Section not found.');
    // A Pin deleted on the network (DELETE /_sim/pinterest/posts/:id) is gone from the board.
    const pins = w.pins.filter((x) => x.boardId === b.id && (!p.section || x.sectionId === p.section) && state.posts.some((s) => s.id === x.id)).reverse();
    const r = page(pins, req.query as Record<string, string>);
    return { items: r.items.map((x) => pinJson(x)), bookmark: r.bookmark };
  };
  app.get('/v5/boards/:board/pins', listPins);
  app.get('/v5/boards/:board/sections/:section/pins', listPins);

  app.post('/v5/media', async (req, reply) => {
    const t = await auth(req, reply, 'pins:write');
    if (!t) return reply;
    if ((req.body as { media_type?: string } | null)?.media_type !== 'video') return err(reply, 400, 1, 'Invalid media_type: only video is supported.');
    const u: Upload = { id: digits(), userId: t.userId, key: `uploads/${randomBytes(6).toString('hex')}:video`, bytes: 0, status: 'registered', reads: 0 };
    w.uploads.set(u.id, u);
    return reply.status(201).send({
      media_id: u.id, media_type: 'video', upload_url: ctx.url('/v5/_upload'),
      upload_parameters: { 'x-amz-date': '20270101T000000Z', 'x-amz-signature': randomBytes(16).toString('hex'), 'x-amz-security-token': 'sim', 'x-amz-algorithm': 'AWS4-HMAC-SHA256', key: u.key, policy: 'e30=', 'x-amz-credential': 'SIM/s3/aws4_request', 'Content-Type': 'multipart/form-data' },
    });
  });

  app.post('/v5/_upload', async (req, reply) => {
    if (!req.isMultipart()) return reply.status(400).type('application/xml').send('<Error><Code>InvalidArgument</Code></Error>');
    const fields: Record<string, string> = {};
    let bytes = -1;
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') return reply.status(400).type('application/xml').send('<Error><Code>InvalidArgument</Code></Error>');
        bytes = (await part.toBuffer()).length;
      } else fields[part.fieldname] = String(part.value);
    }
    const u = [...w.uploads.values()].find((x) => x.key === fields.key);
    // S3 refuses a form whose policy fields are missing or a file sent before them.
    if (!u || !fields.policy || !fields['x-amz-signature'] || bytes < 0) return reply.status(403).type('application/xml').send('<Error><Code>AccessDenied</Code></Error>');
    u.bytes = bytes;
    u.status = 'processing';
    return reply.status(204).send();
  });

  app.get('/v5/media/:id', async (req, reply) => {
    const t = await auth(req, reply, 'pins:read');
    if (!t) return reply;
    const u = w.uploads.get((req.params as { id: string }).id);
    if (!u || u.userId !== t.userId) return err(reply, 404, 404, 'Media upload not found.');
    // Processing takes as many looks as the test asks, then the upload is succeeded (or failed).
    if (u.status === 'processing' && u.reads++ >= w.processingReads) {
      if (w.failNext > 0) {
        w.failNext--;
        u.status = 'failed';
      } else u.status = 'succeeded';
    }
    return { media_id: u.id, media_type: 'video', status: u.status };
  });

  app.post('/v5/pins', async (req, reply) => {
    const t = await auth(req, reply, 'pins:write');
    if (!t) return reply;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const bd = board(t, String(b.board_id ?? ''));
    if (!bd) return err(reply, 404, 404, 'Board not found.');
    if (b.board_section_id !== undefined && !bd.sections.some((s) => s.id === b.board_section_id)) return err(reply, 404, 404, 'Board section not found.');
    const len = (v: unknown) => (typeof v === 'string' ? [...v].length : 0);
    if (len(b.title) > 100 || len(b.description) > 800 || len(b.link) > 2048 || len(b.alt_text) > 500) return err(reply, 400, 1, 'Invalid parameters: a field is too long.');
    if (b.link !== undefined && !/^https?:\/\//.test(String(b.link))) return err(reply, 400, 1, 'Invalid parameters: link is not a URL.');
    const src = (b.media_source ?? {}) as Record<string, unknown>;
    const b64 = (v: unknown) => typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/=]+$/.test(v);
    const type = (v: unknown) => v === 'image/jpeg' || v === 'image/png';
    let kind: SimPin['kind'];
    let images = 1;
    if (src.source_type === 'image_base64') {
      if (!type(src.content_type) || !b64(src.data)) return err(reply, 400, 1, 'Invalid parameters: media_source.');
      kind = 'image';
    } else if (src.source_type === 'multiple_image_base64') {
      const items = Array.isArray(src.items) ? src.items as Record<string, unknown>[] : [];
      if (items.length < 2 || items.length > 5 || items.some((i) => !type(i.content_type) || !b64(i.data))) return err(reply, 400, 1, 'Invalid parameters: media_source.items must hold 2 to 5 images.');
      kind = 'multiple_images';
      images = items.length;
    } else if (src.source_type === 'video_id') {
      const u = w.uploads.get(String(src.media_id ?? ''));
      if (!u || u.userId !== t.userId) return err(reply, 404, 404, 'Media upload not found.');
      if (u.status !== 'succeeded') return err(reply, 400, 1, 'The media upload is not ready.');
      kind = 'video';
    } else return err(reply, 400, 1, 'Invalid parameters: media_source.source_type.');
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const pin: SimPin = {
      id: digits(), userId: t.userId, boardId: bd.id, ...(typeof b.board_section_id === 'string' ? { sectionId: b.board_section_id } : {}),
      ...(str(b.title) ? { title: str(b.title) } : {}), ...(str(b.description) ? { description: str(b.description) } : {}),
      ...(str(b.link) ? { link: str(b.link) } : {}), ...(str(b.alt_text) ? { altText: str(b.alt_text) } : {}),
      kind, images, createdAt: new Date().toISOString(), metrics: { impression: 0, reaction: 0, comment: 0, save: 0 },
    };
    w.pins.push(pin);
    state.posts.push({ id: pin.id, userId: t.userId, text: pin.description ?? '', media: [kind], createdAt: pin.createdAt, raw: { ...b, media_source: { ...src, ...(src.data ? { data: `<${String(src.data).length} base64>` } : {}) } } });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).send(pinJson(pin));
  });

  app.get('/v5/pins/:id', async (req, reply) => {
    const t = await auth(req, reply, 'pins:read');
    if (!t) return reply;
    const p = pinterestPin(state, (req.params as { id: string }).id);
    if (!p || p.userId !== t.userId || !state.posts.some((s) => s.id === p.id)) return err(reply, 404, 404, 'Pin not found.');
    return pinJson(p, (req.query as { pin_metrics?: string }).pin_metrics === 'true');
  });
}
