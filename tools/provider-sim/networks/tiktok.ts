// TikTok's Login Kit and Content Posting API v2, as AllIN's adapter uses them (docs/NETWORKS.md, Network facts: TikTok;
// https://developers.tiktok.com/doc/content-posting-api-get-started). Under /tiktok, at the paths of www.tiktok.com and
// open.tiktokapis.com:
//   GET  /v2/auth/authorize/                      consent: client_key, response_type=code, scope (comma-separated), redirect_uri, state
//   POST /v2/oauth/token/                         form: client_key, client_secret; authorization_code | refresh_token →
//                                                 open_id, access_token, refresh_token, refresh_expires_in, scope
//   POST /v2/oauth/revoke/                        form: client_key, client_secret, token
//   GET  /v2/user/info/?fields=…                  {data: {user: {…the fields asked}}}
//   POST /v2/post/publish/creator_info/query/     privacy_level_options, *_disabled, max_video_post_duration_sec
//   POST /v2/post/publish/video/init/             post_info + source_info FILE_UPLOAD → publish_id, upload_url
//   POST /v2/post/publish/inbox/video/init/       source_info FILE_UPLOAD → publish_id, upload_url (a draft)
//   PUT  /upload/?upload_id=…                     the chunks, in order, with Content-Range: 206, then 201 for the last
//   POST /v2/post/publish/content/init/           media_type PHOTO, PULL_FROM_URL (photo_images under a verified prefix)
//   POST /v2/post/publish/status/fetch/           PROCESSING_UPLOAD | PROCESSING_DOWNLOAD (for tiktokProcessingReads
//                                                 reads) → PUBLISH_COMPLETE | SEND_TO_USER_INBOX | FAILED;
//                                                 publicaly_available_post_id as int64 numbers, for public posts only
//   POST /v2/video/list/, /v2/video/query/        the creator's public posts, newest first; their counts
// Every answer is {data, error: {code, message, log_id}}; errors carry the HTTP status. An unaudited app (the default)
// may post SELF_ONLY only (403 unaudited_client_can_only_post_to_private_accounts). Posts are state.posts (id: post id).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

interface Publish {
  id: string;
  userId: string;
  kind: 'video' | 'photo';
  mode: 'direct' | 'inbox';
  privacy?: string;
  caption: string;
  title?: string;
  size: number;
  chunkSize: number;
  chunks: number;
  received: number;
  status: string;
  failReason?: string;
  reads: number;
  postId?: string;
}

interface SimTikTokPost { id: string; userId: string; kind: 'video' | 'photo'; privacy: string; title: string; description: string; createdAt: number; stats: { view: number; like: number; comment: number; share: number } }

interface World {
  publishes: Map<string, Publish>;
  posts: SimTikTokPost[];
  audited: boolean;
  creator: { privacyLevels: string[]; commentDisabled: boolean; duetDisabled: boolean; stitchDisabled: boolean; maxSeconds: number };
  verifiedPrefixes: string[];
  processingReads: number;
  failNext: number;
  /** The next N last chunks are taken (the post made) and never answered. */
  hangLastChunk: number;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = {
      publishes: new Map(), posts: [], audited: false, verifiedPrefixes: ['https://media.allin.test/'], processingReads: 0, failNext: 0, hangLastChunk: 0,
      creator: { privacyLevels: ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY'], commentDisabled: false, duetDisabled: false, stitchDisabled: false, maxSeconds: 600 },
    };
    worlds.set(state, w);
  }
  return w;
}

/** TikTok's post ids are 19 digits: past 2^53, so a client reading them as JSON numbers loses the last ones. */
const postId = () => `7${String(BigInt(`0x${randomBytes(8).toString('hex')}`) % 10n ** 18n).padStart(18, '0')}`;
const logId = () => `2027${randomBytes(13).toString('hex').toUpperCase()}`;
const openId = (userId: string) => {
  const h = createHash('sha256').update(`tiktok|${userId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const MB = 1024 * 1024;

/** The app has passed TikTok's audit (public posts allowed) or not (SELF_ONLY only, the default). */
export function tiktokAudited(state: NetworkState, on: boolean): void { world(state).audited = on; }
export function tiktokCreator(state: NetworkState, c: Partial<World['creator']>): void { Object.assign(world(state).creator, c); }
export function tiktokProcessingReads(state: NetworkState, n: number): void { world(state).processingReads = n; }
export function tiktokFailNext(state: NetworkState, n: number): void { world(state).failNext = n; }
export function tiktokHangLastChunk(state: NetworkState, n: number): void { world(state).hangLastChunk = n; }
export function tiktokVerifiedPrefixes(state: NetworkState, prefixes: string[]): void { world(state).verifiedPrefixes = prefixes; }
export function tiktokPublishes(state: NetworkState): Publish[] { return [...world(state).publishes.values()]; }
export function tiktokPost(state: NetworkState, id: string): SimTikTokPost | undefined { return world(state).posts.find((p) => p.id === id); }
export function tiktokStats(state: NetworkState, id: string, s: SimTikTokPost['stats']): void {
  const p = tiktokPost(state, id);
  if (p) p.stats = s;
}

const envelope = (code: string, message: string) => ({ code, message, log_id: logId() });
const style = (): ErrorStyle => ({
  // TikTok documents no Retry-After for its 429 (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling): none is sent.
  rateLimited: () => ({ status: 429, headers: {}, body: { data: {}, error: envelope('rate_limit_exceeded', 'The API rate limit was exceeded. Please try again later.') } }),
  serverError: () => ({ status: 500, body: { data: {}, error: envelope('internal_error', 'Something went wrong. Please try again later.') } }),
});
const fail = (reply: FastifyReply, status: number, code: string, message: string) => reply.status(status).send({ data: {}, error: envelope(code, message) });
const ok = (data: unknown) => ({ data, error: { code: 'ok', message: '', log_id: logId() } });

export function registerTikTok(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);
  // The chunks arrive as the video's own type.
  app.addContentTypeParser(/^video\//, { parseAs: 'buffer', bodyLimit: 600 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  const auth = async (req: FastifyRequest, reply: FastifyReply, scopes: string[], interfere = true): Promise<SimToken | null> => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      fail(reply, 401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
      return null;
    }
    if (!scopes.some((s) => t.scope.includes(s))) {
      fail(reply, 401, 'scope_not_authorized', `The user did not authorize the scope required for completing this request (${scopes.join(' or ')}).`);
      return null;
    }
    if (interfere && await ctx.interfere(reply, style())) return null;
    return t;
  };

  /** What becomes of a publish once TikTok has all of it: a post (direct), a draft (inbox), or FAILED. */
  const complete = (p: Publish) => {
    if (w.failNext > 0) {
      w.failNext--;
      p.status = 'FAILED';
      p.failReason = p.kind === 'video' ? 'file_format_check_failed' : 'picture_size_check_failed';
      return;
    }
    p.status = 'DONE';
    if (p.mode === 'inbox') return;
    const post: SimTikTokPost = {
      id: postId(), userId: p.userId, kind: p.kind, privacy: p.privacy ?? 'SELF_ONLY', title: p.kind === 'video' ? p.caption : p.title ?? '', description: p.caption,
      createdAt: Date.now(), stats: { view: 0, like: 0, comment: 0, share: 0 },
    };
    p.postId = post.id;
    w.posts.push(post);
    state.posts.push({ id: post.id, userId: p.userId, text: p.caption, media: [p.kind], createdAt: new Date(post.createdAt).toISOString(), raw: { publishId: p.id, privacy: p.privacy, mode: p.mode, title: p.title } });
  };

  app.get('/v2/auth/authorize/', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_key || q.response_type !== 'code' || !q.redirect_uri || !q.scope) return reply.status(400).type('text/html').send('<p>param_error</p>');
    const registered = state.apps.get(q.client_key);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>redirect_uri</p>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the authorization.');
      return reply.redirect(back.toString());
    }
    const scopes = q.scope.split(',').filter((s) => !state.knobs.declineScopes.includes(s));
    back.searchParams.set('code', state.issueCode(q.login_hint || 'u1', q.client_key, q.redirect_uri, scopes));
    back.searchParams.set('scopes', scopes.join(','));
    return reply.redirect(back.toString());
  });

  const client = (b: Record<string, string>) => {
    const registered = state.apps.get(b.client_key ?? '');
    return Boolean(b.client_key) && (!registered || registered.clientSecret === b.client_secret);
  };
  const oauthFail = (reply: FastifyReply, status: number, error: string, description: string) => reply.status(status).send({ error, error_description: description, log_id: logId() });

  app.post('/v2/oauth/token/', async (req, reply) => {
    if (await ctx.interfere(reply, style())) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    if (!client(b)) return oauthFail(reply, 401, 'invalid_client', 'Client key or secret is incorrect.');
    const answer = (t: SimToken) => ({
      open_id: openId(t.userId), scope: t.scope.join(','), access_token: t.accessToken, expires_in: 86_400, refresh_token: t.refreshToken,
      refresh_expires_in: 31_536_000, token_type: 'Bearer',
    });
    if (b.grant_type === 'authorization_code') {
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '');
      if (typeof r === 'string') return oauthFail(reply, 400, 'invalid_grant', 'Authorization code is expired.');
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + 86_400_000;
      return answer(t);
    }
    if (b.grant_type === 'refresh_token') {
      const t = state.refreshToken(b.refresh_token ?? '');
      if (!t) return oauthFail(reply, 400, 'invalid_grant', 'Refresh token is invalid or expired.');
      return answer(t);
    }
    return oauthFail(reply, 400, 'invalid_request', 'The request parameters are malformed.');
  });

  app.post('/v2/oauth/revoke/', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, string>;
    if (!client(b)) return oauthFail(reply, 401, 'invalid_client', 'Client key or secret is incorrect.');
    const t = state.tokens.get(b.token ?? '');
    if (t) for (const x of [...state.tokens.values(), ...state.refresh.values()]) if (x.userId === t.userId) x.revoked = true;
    return reply.status(200).send({});
  });

  app.get('/v2/user/info/', async (req, reply) => {
    const t = await auth(req, reply, ['user.info.basic']);
    if (!t) return reply;
    const fields = String((req.query as { fields?: string }).fields ?? '').split(',').filter(Boolean);
    const u = state.user(t.userId);
    const a = simAudience(t.userId, Date.now());
    const all: Record<string, [string, unknown]> = {
      open_id: ['user.info.basic', openId(t.userId)], union_id: ['user.info.basic', `u-${openId(t.userId)}`], avatar_url: ['user.info.basic', `https://p16-sign.tiktokcdn-us.com/${t.userId}.jpeg`],
      display_name: ['user.info.basic', u.name], username: ['user.info.profile', u.username], follower_count: ['user.info.stats', a.followers],
      following_count: ['user.info.stats', a.following], likes_count: ['user.info.stats', 0], video_count: ['user.info.stats', w.posts.filter((p) => p.userId === t.userId).length],
    };
    const user: Record<string, unknown> = {};
    for (const f of fields) {
      const def = all[f];
      if (!def) return fail(reply, 400, 'invalid_params', `Invalid field: ${f}`);
      if (!t.scope.includes(def[0])) return fail(reply, 400, 'scope_permission_missed', `The field ${f} needs the scope ${def[0]}.`);
      user[f] = def[1];
    }
    return ok({ user });
  });

  app.post('/v2/post/publish/creator_info/query/', async (req, reply) => {
    const t = await auth(req, reply, ['video.publish']);
    if (!t) return reply;
    const u = state.user(t.userId);
    const c = w.creator;
    return ok({
      creator_avatar_url: `https://p16-sign.tiktokcdn-us.com/${t.userId}.jpeg`, creator_username: u.username, creator_nickname: u.name,
      privacy_level_options: c.privacyLevels, comment_disabled: c.commentDisabled, duet_disabled: c.duetDisabled, stitch_disabled: c.stitchDisabled, max_video_post_duration_sec: c.maxSeconds,
    });
  });

  /** post_info as TikTok checks it: the privacy level offered, the audit, the lengths. */
  const checkPostInfo = (reply: FastifyReply, info: Record<string, unknown>, kind: 'video' | 'photo'): boolean => {
    const privacy = String(info.privacy_level ?? '');
    if (!w.creator.privacyLevels.includes(privacy)) return fail(reply, 400, 'privacy_level_option_mismatch', 'privacy_level is not one of the creator\'s privacy_level_options.'), false;
    if (!w.audited && privacy !== 'SELF_ONLY') return fail(reply, 403, 'unaudited_client_can_only_post_to_private_accounts', 'Unaudited clients can only post with SELF_ONLY visibility.'), false;
    if (info.brand_content_toggle === true && privacy === 'SELF_ONLY') return fail(reply, 400, 'invalid_params', 'Branded content cannot be private.'), false;
    const len = (v: unknown) => (typeof v === 'string' ? v.length : 0);
    if (kind === 'video' ? len(info.title) > 2200 : len(info.title) > 90 || len(info.description) > 4000) return fail(reply, 400, 'invalid_params', 'title or description is too long.'), false;
    return true;
  };

  const initVideo = (mode: 'direct' | 'inbox') => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = await auth(req, reply, [mode === 'direct' ? 'video.publish' : 'video.upload']);
    if (!t) return reply;
    const b = (req.body ?? {}) as { post_info?: Record<string, unknown>; source_info?: Record<string, unknown> };
    const info = b.post_info ?? {};
    if (mode === 'direct' && !checkPostInfo(reply, info, 'video')) return reply;
    const s = b.source_info ?? {};
    if (s.source !== 'FILE_UPLOAD') return fail(reply, 400, 'invalid_params', 'source_info.source: only FILE_UPLOAD is simulated.');
    const size = Number(s.video_size);
    const chunk = Number(s.chunk_size);
    const count = Number(s.total_chunk_count);
    // The media transfer guide's chunk rules.
    const whole = size < 5 * MB ? chunk === size && count === 1 : chunk >= 5 * MB && chunk <= 64 * MB && count === Math.floor(size / chunk) && count <= 1000;
    if (!(size > 0) || !whole || size - chunk * (count - 1) > 128 * MB) return fail(reply, 400, 'invalid_params', 'The chunk_size or total_chunk_count is invalid.');
    const p: Publish = {
      id: `v_${mode === 'inbox' ? 'inbox' : 'pub'}_file~v2.${randomBytes(8).readBigUInt64BE() % 10n ** 18n}`, userId: t.userId, kind: 'video', mode,
      ...(typeof info.privacy_level === 'string' ? { privacy: info.privacy_level } : {}), caption: typeof info.title === 'string' ? info.title : '',
      size, chunkSize: chunk, chunks: count, received: 0, status: 'PROCESSING_UPLOAD', reads: 0,
    };
    w.publishes.set(p.id, p);
    // Accepted, then never answered: the publish exists, but without its upload_url no byte can follow.
    if (await ctx.maybeHang(reply)) return reply;
    return ok({ publish_id: p.id, upload_url: ctx.url(`/upload/?upload_id=${encodeURIComponent(p.id)}&upload_token=${randomBytes(8).toString('hex')}`) });
  };
  app.post('/v2/post/publish/video/init/', initVideo('direct'));
  app.post('/v2/post/publish/inbox/video/init/', initVideo('inbox'));

  app.put('/upload/', async (req, reply) => {
    const p = w.publishes.get(String((req.query as { upload_id?: string }).upload_id ?? ''));
    if (!p || p.kind !== 'video') return reply.status(404).send();
    const body = req.body as Buffer | undefined;
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!m || !Buffer.isBuffer(body)) return reply.status(400).send();
    const [from, to, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const index = Math.floor(from / p.chunkSize);
    const last = index === p.chunks - 1;
    // Chunks come in order, each chunk_size long but the last, which takes the rest.
    if (total !== p.size || from !== p.received || to - from + 1 !== body.length || (!last && body.length !== p.chunkSize) || (last && to !== p.size - 1)) return reply.status(416).send();
    p.received = to + 1;
    if (!last) return reply.status(206).send();
    complete(p);
    if (w.hangLastChunk > 0) {
      w.hangLastChunk--;
      state.knobs.acceptThenHangNext++;
      if (await ctx.maybeHang(reply)) return reply;
    }
    return reply.status(201).send();
  });

  app.post('/v2/post/publish/content/init/', async (req, reply) => {
    const b = (req.body ?? {}) as { post_info?: Record<string, unknown>; source_info?: Record<string, unknown>; post_mode?: string; media_type?: string };
    const mode = b.post_mode === 'MEDIA_UPLOAD' ? 'inbox' : 'direct';
    const t = await auth(req, reply, [mode === 'direct' ? 'video.publish' : 'video.upload']);
    if (!t) return reply;
    if (b.media_type !== 'PHOTO' || (b.post_mode !== 'DIRECT_POST' && b.post_mode !== 'MEDIA_UPLOAD')) return fail(reply, 400, 'invalid_params', 'media_type or post_mode is invalid.');
    const info = b.post_info ?? {};
    if (mode === 'direct' && !checkPostInfo(reply, info, 'photo')) return reply;
    const s = b.source_info ?? {};
    const images = Array.isArray(s.photo_images) ? s.photo_images as unknown[] : [];
    if (s.source !== 'PULL_FROM_URL' || images.length < 1 || images.length > 35 || typeof s.photo_cover_index !== 'number' || s.photo_cover_index >= images.length) return fail(reply, 400, 'invalid_params', 'source_info is invalid.');
    if (images.some((u) => typeof u !== 'string' || !w.verifiedPrefixes.some((pre) => u.startsWith(pre)))) return fail(reply, 403, 'url_ownership_unverified', 'The URL prefix or domain of photo_images is not verified for this app.');
    const p: Publish = {
      id: `p_pub_url~v2.${randomBytes(8).readBigUInt64BE() % 10n ** 18n}`, userId: t.userId, kind: 'photo', mode,
      ...(typeof info.privacy_level === 'string' ? { privacy: info.privacy_level } : {}), caption: typeof info.description === 'string' ? info.description : '',
      ...(typeof info.title === 'string' ? { title: info.title } : {}), size: 0, chunkSize: 0, chunks: 0, received: 0, status: 'PROCESSING_DOWNLOAD', reads: 0,
    };
    w.publishes.set(p.id, p);
    // TikTok fetches the photos itself: the post is made whether or not this answer arrives.
    complete(p);
    if (await ctx.maybeHang(reply)) return reply;
    return ok({ publish_id: p.id });
  });

  app.post('/v2/post/publish/status/fetch/', async (req, reply) => {
    const t = await auth(req, reply, ['video.publish', 'video.upload']);
    if (!t) return reply;
    const p = w.publishes.get(String((req.body as { publish_id?: string } | null)?.publish_id ?? ''));
    if (!p || p.userId !== t.userId) return fail(reply, 400, 'invalid_publish_id', 'publish_id does not exist.');
    let status = p.status;
    if (status === 'DONE') status = p.reads++ < w.processingReads ? (p.kind === 'video' ? 'PROCESSING_UPLOAD' : 'PROCESSING_DOWNLOAD') : p.mode === 'inbox' ? 'SEND_TO_USER_INBOX' : 'PUBLISH_COMPLETE';
    const post = p.postId ? tiktokPost(state, p.postId) : undefined;
    const visible = status === 'PUBLISH_COMPLETE' && post && post.privacy !== 'SELF_ONLY' && state.posts.some((x) => x.id === post.id);
    const data = {
      status, ...(p.failReason ? { fail_reason: p.failReason } : {}), publicaly_available_post_id: visible ? ['POST_ID'] : [],
      ...(p.kind === 'video' ? { uploaded_bytes: p.received } : { downloaded_bytes: 1000 }),
    };
    // The id goes out as an int64 number, as TikTok sends it (more digits than a double holds).
    return reply.type('application/json').send(JSON.stringify(ok(data)).replace('["POST_ID"]', `[${post?.id ?? ''}]`));
  });

  const listed = (t: SimToken) => w.posts.filter((p) => p.userId === t.userId && p.privacy !== 'SELF_ONLY' && state.posts.some((x) => x.id === p.id)).sort((a, b) => b.createdAt - a.createdAt);
  const json = (p: SimTikTokPost) => ({
    id: p.id, title: p.title, video_description: p.description, create_time: Math.floor(p.createdAt / 1000), share_url: `https://www.tiktok.com/@x/${p.kind}/${p.id}`,
    view_count: p.stats.view, like_count: p.stats.like, comment_count: p.stats.comment, share_count: p.stats.share,
  });

  app.post('/v2/video/list/', async (req, reply) => {
    const t = await auth(req, reply, ['video.list']);
    if (!t) return reply;
    const b = (req.body ?? {}) as { max_count?: number; cursor?: number };
    const max = Math.min(Math.max(Number(b.max_count ?? 10) || 10, 1), 20);
    const all = listed(t).filter((p) => b.cursor === undefined || p.createdAt < b.cursor);
    const page = all.slice(0, max);
    return ok({ videos: page.map(json), cursor: page.at(-1)?.createdAt ?? 0, has_more: all.length > max });
  });

  app.post('/v2/video/query/', async (req, reply) => {
    const t = await auth(req, reply, ['video.list']);
    if (!t) return reply;
    const ids = ((req.body as { filters?: { video_ids?: unknown } } | null)?.filters?.video_ids);
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 20) return fail(reply, 400, 'invalid_params', 'filters.video_ids holds 1 to 20 ids.');
    return ok({ videos: listed(t).filter((p) => ids.includes(p.id)).map(json), cursor: 0, has_more: false });
  });
}
