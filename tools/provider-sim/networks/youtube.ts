// YouTube, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: YouTube; https://developers.google.com/youtube/v3).
// Under /youtube, at the paths of accounts.google.com, oauth2.googleapis.com and www.googleapis.com:
//   GET  /o/oauth2/v2/auth                          consent; access_type=offline gives a refresh token; PKCE S256
//   POST /token                                     client_id and client_secret in the body; authorization_code |
//                                                   refresh_token (not rotated: the answer carries none); 400 invalid_grant
//   POST /revoke                                    token → 200, the whole grant ends; unknown token → 400 invalid_token
//   GET  /youtube/v3/channels                       part=snippet,contentDetails,statistics; mine=true or id=
//   POST /upload/youtube/v3/videos?uploadType=resumable   the video resource → 200, Location: the session URI
//   PUT  <session URI>                              Content-Range bytes a-b/N: 308 with Range while incomplete, 200 with
//                                                   the video when complete; bytes */N: the session's status; 404 when gone
//   POST /upload/youtube/v3/thumbnails/set          the image → thumbnailSetResponse
//   GET  /youtube/v3/playlistItems                  the uploads playlist, newest first, pages of maxResults
//   GET  /youtube/v3/videos?part=statistics&id=     counts as strings
// Errors are Google's: {error: {code, message, errors: [{message, domain, reason}], status}}. A project's quota: 10,000
// units a day, videos.insert in a bucket of its own (100 a day); past either, 403 quotaExceeded. Every video of an
// unaudited project is locked private, whatever was asked. Videos are state.posts (id: the video id).
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimToken } from '../core.ts';

interface SimVideo {
  id: string;
  userId: string;
  title: string;
  description: string;
  tags: string[];
  categoryId: string;
  privacyStatus: string;
  publishAt?: string;
  madeForKids?: boolean;
  /** Locked private: uploaded by an unaudited project. */
  locked: boolean;
  publishedAt: string;
  bytes: number;
  thumbnail: boolean;
  views: number;
  likes: number;
  comments: number;
}

interface Session {
  id: string;
  userId: string;
  resource: { snippet: Record<string, unknown>; status: Record<string, unknown> };
  total: number;
  mimeType: string;
  received: Buffer[];
  receivedBytes: number;
  video?: SimVideo;
  gone: boolean;
}

interface World {
  videos: SimVideo[];
  sessions: Map<string, Session>;
  /** Units spent today and the day's allowance; uploads from the videos.insert bucket. */
  units: number;
  unitLimit: number;
  uploads: number;
  uploadLimit: number;
  audited: boolean;
  /** The next N chunk PUTs keep half their bytes and then break the connection. */
  interruptNext: number;
  /** The next N status queries of a session answer 503 backendError. */
  statusFailNext: number;
  /** The next N videos.insert answer uploadLimitExceeded. */
  uploadLimitNext: number;
  /** Users whose Google account has no channel. */
  noChannel: Set<string>;
  /** Channels that may not set custom thumbnails (not verified). */
  unverified: Set<string>;
  /** Refresh tokens of grants made without access_type=offline (none is given out). */
  online: Set<string>;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { videos: [], sessions: new Map(), units: 0, unitLimit: 10_000, uploads: 0, uploadLimit: 100, audited: false, interruptNext: 0, statusFailNext: 0, uploadLimitNext: 0, noChannel: new Set(), unverified: new Set(), online: new Set() };
    worlds.set(state, w);
  }
  return w;
}

/** The project's quota: units spent and uploads made today (and, when given, the allowances). */
export function youtubeQuota(state: NetworkState, q: { units?: number; unitLimit?: number; uploads?: number; uploadLimit?: number }): void {
  Object.assign(world(state), q);
}
/** The project passed YouTube's audit (its uploads keep the privacy asked for) or not. */
export function youtubeAudited(state: NetworkState, audited: boolean): void { world(state).audited = audited; }
/** The next `n` chunk PUTs keep half their bytes, then break the connection without an answer. */
export function youtubeInterrupt(state: NetworkState, n: number): void { world(state).interruptNext = n; }
/** The next `n` status queries of an upload session answer 503 (YouTube cannot say where the upload is). */
export function youtubeStatusFail(state: NetworkState, n: number): void { world(state).statusFailNext = n; }
/** The next `n` uploads are refused with uploadLimitExceeded (the channel's 24-hour upload limit). */
export function youtubeUploadLimit(state: NetworkState, n: number): void { world(state).uploadLimitNext = n; }
/** Every upload session expires (404 from now on). */
export function youtubeExpireSessions(state: NetworkState): void { for (const s of world(state).sessions.values()) s.gone = true; }
/** The user's Google account has no channel; or the channel may not set custom thumbnails. */
export function youtubeNoChannel(state: NetworkState, userId: string): void { world(state).noChannel.add(userId); }
export function youtubeUnverified(state: NetworkState, userId: string): void { world(state).unverified.add(userId); }
/** A stored video as YouTube keeps it (or undefined). */
export function youtubeVideo(state: NetworkState, id: string): SimVideo | undefined { return world(state).videos.find((v) => v.id === id); }
/** Sets a video's counts. */
export function youtubeStats(state: NetworkState, id: string, views: number, likes: number, comments: number): void {
  const v = youtubeVideo(state, id);
  if (v) Object.assign(v, { views, likes, comments });
}
/** Bytes a session has received (for tests of resuming). */
export function youtubeSessions(state: NetworkState): { id: string; total: number; received: number; done: boolean }[] {
  return [...world(state).sessions.values()].map((s) => ({ id: s.id, total: s.total, received: s.receivedBytes, done: Boolean(s.video) }));
}

const channelId = (userId: string) => `UC${createHash('sha256').update(userId).digest('base64url').slice(0, 22)}`;
const uploadsId = (userId: string) => `UU${channelId(userId).slice(2)}`;
const videoId = () => randomBytes(8).toString('base64url').slice(0, 11);
const CATEGORIES = new Set(['1', '2', '10', '15', '17', '19', '20', '22', '23', '24', '25', '26', '27', '28', '29']);

function googleError(reply: FastifyReply, code: number, reason: string, message: string, domain = 'youtube.api', headers: Record<string, string> = {}) {
  const status = code === 401 ? 'UNAUTHENTICATED' : code === 403 ? 'PERMISSION_DENIED' : code === 404 ? 'NOT_FOUND' : code === 429 ? 'RESOURCE_EXHAUSTED' : code >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
  return reply.status(code).headers(headers).type('application/json; charset=UTF-8').send({ error: { code, message, errors: [{ message, domain, reason }], status } });
}

const style = (): ErrorStyle => ({
  rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s) }, body: { error: { code: 429, message: 'Too many requests', errors: [{ message: 'Too many requests', domain: 'global', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } } }),
  serverError: () => ({ status: 503, body: { error: { code: 503, message: 'The service is currently unavailable.', errors: [{ message: 'The service is currently unavailable.', domain: 'global', reason: 'backendError' }], status: 'UNAVAILABLE' } } }),
});

export function registerYouTube(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);
  app.addContentTypeParser(/^(video|image)\/|^application\/octet-stream/, { parseAs: 'buffer', bodyLimit: 600 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  const clientOk = (b: Record<string, string>) => {
    const app = state.apps.get(b.client_id ?? '');
    return app ? app.clientSecret === b.client_secret : Boolean(b.client_id);
  };
  /** Charges the project's quota; false (answered 403 quotaExceeded) when the day's allowance is spent. */
  const charge = (reply: FastifyReply, units: number): boolean => {
    if (w.units + units > w.unitLimit) {
      googleError(reply, 403, 'quotaExceeded', 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.', 'youtube.quota');
      return false;
    }
    w.units += units;
    return true;
  };
  const auth = async (req: FastifyRequest, reply: FastifyReply, scopes: string[], interfere = true): Promise<SimToken | null> => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      googleError(reply, 401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', 'global');
      return null;
    }
    if (!scopes.some((s) => t.scope.includes(`https://www.googleapis.com/auth/${s}`))) {
      googleError(reply, 403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'global');
      return null;
    }
    if (interfere && await ctx.interfere(reply, style())) return null;
    return t;
  };
  const videoJson = (v: SimVideo, parts: string[]) => ({
    kind: 'youtube#video', etag: v.id, id: v.id,
    ...(parts.includes('snippet') ? { snippet: { publishedAt: v.publishedAt, channelId: channelId(v.userId), title: v.title, description: v.description, tags: v.tags, categoryId: v.categoryId } } : {}),
    ...(parts.includes('status') ? { status: { uploadStatus: 'uploaded', privacyStatus: v.privacyStatus, ...(v.publishAt ? { publishAt: v.publishAt } : {}), ...(v.madeForKids !== undefined ? { selfDeclaredMadeForKids: v.madeForKids } : {}) } } : {}),
    ...(parts.includes('statistics') ? { statistics: { viewCount: String(v.views), likeCount: String(v.likes), favoriteCount: '0', commentCount: String(v.comments) } } : {}),
  });

  app.get('/o/oauth2/v2/auth', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.client_id || q.response_type !== 'code' || !q.redirect_uri || !q.scope) return reply.status(400).type('text/html').send('<p>Error 400: invalid_request</p>');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<p>Error 400: redirect_uri_mismatch</p>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const scopes = q.scope.split(' ').filter((s) => !state.knobs.declineScopes.includes(s));
    const code = state.issueCode(q.login_hint || 'u1', q.client_id, q.redirect_uri, scopes, q.code_challenge_method === 'S256' ? q.code_challenge : undefined);
    if (q.access_type !== 'offline') w.online.add(code);
    back.searchParams.set('code', code);
    back.searchParams.set('scope', scopes.join(' '));
    return reply.redirect(back.toString());
  });

  app.post('/token', async (req, reply) => {
    if (await ctx.interfere(reply, style())) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    if (!clientOk(b)) return reply.status(401).send({ error: 'invalid_client', error_description: 'Unauthorized' });
    if (b.grant_type === 'authorization_code') {
      const online = w.online.delete(b.code ?? '');
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '', b.code_verifier);
      if (typeof r === 'string') return reply.status(400).send({ error: 'invalid_grant', error_description: 'Bad Request' });
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + 3599_000;
      if (online) state.refresh.delete(t.refreshToken);
      return { access_token: t.accessToken, expires_in: 3599, scope: r.scope.join(' '), token_type: 'Bearer', ...(online ? {} : { refresh_token: t.refreshToken }) };
    }
    if (b.grant_type === 'refresh_token') {
      state.refreshCalls++;
      const old = state.refresh.get(b.refresh_token ?? '');
      if (!old || old.revoked) return reply.status(400).send({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      const t: SimToken = { ...old, accessToken: `at_youtube_${randomBytes(12).toString('hex')}`, expiresAt: Date.now() + 3599_000 };
      state.tokens.set(t.accessToken, t);
      return { access_token: t.accessToken, expires_in: 3599, scope: t.scope.join(' '), token_type: 'Bearer' };
    }
    return reply.status(400).send({ error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
  });

  app.post('/revoke', async (req, reply) => {
    const b = { ...(req.query as Record<string, string>), ...((req.body ?? {}) as Record<string, string>) };
    const t = state.tokens.get(b.token ?? '') ?? state.refresh.get(b.token ?? '');
    if (!t || t.revoked) return reply.status(400).send({ error: 'invalid_token', error_description: 'Token expired or revoked' });
    // The whole grant ends: the refresh token and every access token issued from it.
    for (const x of state.tokens.values()) if (x.refreshToken === t.refreshToken) x.revoked = true;
    state.refresh.delete(t.refreshToken);
    return reply.status(200).send({});
  });

  app.get('/youtube/v3/channels', async (req, reply) => {
    const t = await auth(req, reply, ['youtube.readonly', 'youtube']);
    if (!t || !charge(reply, 1)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const parts = (q.part ?? '').split(',');
    if (parts.length === 0 || parts[0] === '') return googleError(reply, 400, 'missingRequiredParameter', 'No filter selected. Expected one of: id, mine, forUsername, …', 'youtube.parameter');
    const users = q.mine === 'true' ? [t.userId] : [...state.users.keys(), t.userId].filter((u) => q.id?.split(',').includes(channelId(u)));
    const items = [...new Set(users)].filter((u) => !w.noChannel.has(u)).map((u) => {
      const user = state.user(u);
      return {
        kind: 'youtube#channel', id: channelId(u),
        ...(parts.includes('snippet') ? { snippet: { title: user.name, customUrl: `@${user.username}`, thumbnails: { default: { url: `https://yt3.ggpht.com/${u}=s88`, width: 88, height: 88 } } } } : {}),
        ...(parts.includes('contentDetails') ? { contentDetails: { relatedPlaylists: { likes: '', uploads: uploadsId(u) } } } : {}),
        ...(parts.includes('statistics') ? { statistics: { viewCount: String(w.videos.filter((v) => v.userId === u).reduce((n, v) => n + v.views, 0)), subscriberCount: String(simAudience(u, Date.now()).followers), hiddenSubscriberCount: false, videoCount: String(w.videos.filter((v) => v.userId === u).length) } } : {}),
      };
    });
    return { kind: 'youtube#channelListResponse', pageInfo: { totalResults: items.length, resultsPerPage: 5 }, items };
  });

  app.post('/upload/youtube/v3/videos', async (req, reply) => {
    const t = await auth(req, reply, ['youtube.upload', 'youtube']);
    if (!t) return reply;
    const q = req.query as Record<string, string | undefined>;
    if (q.uploadType !== 'resumable') return googleError(reply, 400, 'badRequest', 'This simulator speaks the resumable protocol only', 'global');
    if (!q.part?.includes('snippet')) return googleError(reply, 400, 'missingRequiredParameter', 'No part specified', 'youtube.parameter');
    if (w.uploads + 1 > w.uploadLimit) return googleError(reply, 403, 'quotaExceeded', 'The request cannot be completed because you have exceeded your quota.', 'youtube.quota');
    if (w.uploadLimitNext > 0) {
      w.uploadLimitNext--;
      return googleError(reply, 400, 'uploadLimitExceeded', 'The user has exceeded the number of videos they may upload.', 'youtube.video');
    }
    if (w.noChannel.has(t.userId)) return googleError(reply, 401, 'youtubeSignupRequired', 'Unauthorized', 'youtube.header');
    const total = Number(req.headers['x-upload-content-length']);
    const mimeType = String(req.headers['x-upload-content-type'] ?? '');
    if (!Number.isSafeInteger(total) || total <= 0) return googleError(reply, 400, 'mediaBodyRequired', 'The request does not include the video content.', 'youtube.video');
    if (!/^video\/|^application\/octet-stream$/.test(mimeType)) return googleError(reply, 400, 'invalidVideoMetadata', 'Media type not supported', 'youtube.video');
    const body = (req.body ?? {}) as { snippet?: Record<string, unknown>; status?: Record<string, unknown> };
    const sn = body.snippet ?? {};
    const st = body.status ?? {};
    const title = typeof sn.title === 'string' ? sn.title : '';
    if (!title || [...title].length > 100 || /[<>]/.test(title)) return googleError(reply, 400, 'invalidTitle', 'The request metadata specifies an invalid or empty video title.', 'youtube.video');
    const description = typeof sn.description === 'string' ? sn.description : '';
    if (Buffer.byteLength(description) > 5000 || /[<>]/.test(description)) return googleError(reply, 400, 'invalidDescription', 'The request metadata specifies an invalid video description.', 'youtube.video');
    const tags = Array.isArray(sn.tags) ? (sn.tags as string[]) : [];
    if (tags.reduce((n, x) => n + x.length + (/\s/.test(x) ? 2 : 0), 0) + Math.max(0, tags.length - 1) > 500) return googleError(reply, 400, 'invalidTags', 'The request metadata specifies invalid video keywords.', 'youtube.video');
    if (sn.categoryId !== undefined && !CATEGORIES.has(String(sn.categoryId))) return googleError(reply, 400, 'invalidCategoryId', 'The snippet.categoryId property specifies an invalid category ID.', 'youtube.video');
    if (st.privacyStatus !== undefined && !['public', 'unlisted', 'private'].includes(String(st.privacyStatus))) return googleError(reply, 400, 'invalidVideoMetadata', 'The request metadata is invalid.', 'youtube.video');
    if (st.publishAt !== undefined && (st.privacyStatus !== 'private' || !(Date.parse(String(st.publishAt)) > Date.now()))) return googleError(reply, 400, 'invalidPublishAt', 'The request metadata specifies an invalid scheduled publishing time.', 'youtube.video');
    w.uploads++;
    const s: Session = { id: randomBytes(12).toString('base64url'), userId: t.userId, resource: { snippet: sn, status: st }, total, mimeType, received: [], receivedBytes: 0, gone: false };
    w.sessions.set(s.id, s);
    return reply.status(200).header('location', ctx.url(`/upload/youtube/v3/videos?uploadType=resumable&upload_id=${s.id}`)).send();
  });

  const sessionAnswer = (reply: FastifyReply, s: Session) => {
    if (s.video) return reply.status(200).send(videoJson(s.video, ['snippet', 'status']));
    if (s.receivedBytes > 0) reply.header('range', `bytes=0-${s.receivedBytes - 1}`);
    return reply.status(308).send();
  };

  app.put('/upload/youtube/v3/videos', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const s = w.sessions.get(q.upload_id ?? '');
    if (!s || s.gone) return googleError(reply, 404, 'notFound', 'Upload session not found or expired', 'global');
    const range = String(req.headers['content-range'] ?? '');
    const asking = /^bytes \*\/(\d+)$/.exec(range);
    if (asking) {
      if (Number(asking[1]) !== s.total) return googleError(reply, 400, 'badRequest', 'Content-Range total does not match', 'global');
      if (w.statusFailNext > 0) {
        w.statusFailNext--;
        return googleError(reply, 503, 'backendError', 'The service is currently unavailable.', 'global');
      }
      return sessionAnswer(reply, s);
    }
    const t = await auth(req, reply, ['youtube.upload', 'youtube']);
    if (!t) return reply;
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
    const chunk = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!m || Number(m[3]) !== s.total || Number(m[2]) - Number(m[1]) + 1 !== chunk.length) return googleError(reply, 400, 'badRequest', 'Invalid Content-Range', 'global');
    if (s.video) return sessionAnswer(reply, s);
    const start = Number(m[1]);
    if (start > s.receivedBytes) return googleError(reply, 400, 'badRequest', 'Content-Range starts past the bytes received', 'global');
    // Bytes already received are not taken twice.
    let fresh = chunk.subarray(s.receivedBytes - start);
    let interrupted = false;
    if (w.interruptNext > 0 && fresh.length > 1) {
      w.interruptNext--;
      fresh = fresh.subarray(0, Math.floor(fresh.length / 2));
      interrupted = true;
    }
    s.received.push(fresh);
    s.receivedBytes += fresh.length;
    if (interrupted) {
      reply.raw.destroy();
      return reply;
    }
    if (s.receivedBytes < s.total) return sessionAnswer(reply, s);
    const sn = s.resource.snippet;
    const st = s.resource.status;
    const asked = typeof st.privacyStatus === 'string' ? st.privacyStatus : 'public';
    const v: SimVideo = {
      id: videoId(), userId: s.userId, title: String(sn.title), description: typeof sn.description === 'string' ? sn.description : '',
      tags: Array.isArray(sn.tags) ? (sn.tags as string[]) : [], categoryId: typeof sn.categoryId === 'string' ? sn.categoryId : '22',
      privacyStatus: w.audited ? asked : 'private', locked: !w.audited && asked !== 'private',
      ...(typeof st.publishAt === 'string' ? { publishAt: st.publishAt } : {}),
      ...(typeof st.selfDeclaredMadeForKids === 'boolean' ? { madeForKids: st.selfDeclaredMadeForKids } : {}),
      publishedAt: new Date().toISOString(), bytes: s.total, thumbnail: false, views: 0, likes: 0, comments: 0,
    };
    s.video = v;
    w.videos.push(v);
    state.posts.push({ id: v.id, userId: s.userId, text: v.description, media: [`${s.mimeType}:${s.total}`], createdAt: v.publishedAt, raw: s.resource });
    if (await ctx.maybeHang(reply)) return reply;
    return sessionAnswer(reply, s);
  });

  app.post('/upload/youtube/v3/thumbnails/set', async (req, reply) => {
    const t = await auth(req, reply, ['youtube.upload', 'youtube']);
    if (!t || !charge(reply, 50)) return reply;
    const v = youtubeVideo(state, String((req.query as { videoId?: string }).videoId ?? ''));
    if (!v || v.userId !== t.userId) return googleError(reply, 404, 'videoNotFound', 'The video that you are trying to update cannot be found.', 'youtube.thumbnail');
    if (w.unverified.has(t.userId)) return googleError(reply, 403, 'forbidden', 'The thumbnail can\'t be set for the specified video. The request might not be properly authorized.', 'youtube.thumbnail');
    const img = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!/^image\/(jpeg|png)$|^application\/octet-stream$/.test(String(req.headers['content-type'] ?? ''))) return googleError(reply, 400, 'invalidImage', 'The provided image content is invalid.', 'youtube.thumbnail');
    if (img.length === 0) return googleError(reply, 400, 'mediaBodyRequired', 'The request does not include the image content.', 'youtube.thumbnail');
    if (img.length > 2 * 1024 * 1024) return googleError(reply, 413, 'mediaBodyTooLarge', 'The image is too large.', 'youtube.thumbnail');
    v.thumbnail = true;
    return { kind: 'youtube#thumbnailSetResponse', items: [{ default: { url: `https://i.ytimg.com/vi/${v.id}/default.jpg`, width: 120, height: 90 } }] };
  });

  app.get('/youtube/v3/playlistItems', async (req, reply) => {
    const t = await auth(req, reply, ['youtube.readonly', 'youtube']);
    if (!t || !charge(reply, 1)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const owner = [...state.users.keys(), t.userId].find((u) => uploadsId(u) === q.playlistId);
    if (!owner) return googleError(reply, 404, 'playlistNotFound', 'The playlist identified with the request\'s playlistId parameter cannot be found.', 'youtube.playlistItem');
    const all = w.videos.filter((v) => v.userId === owner && (owner === t.userId || v.privacyStatus === 'public')).reverse();
    const size = Math.min(Math.max(Number(q.maxResults ?? 5) || 5, 1), 50);
    const start = q.pageToken ? Number(Buffer.from(q.pageToken, 'base64url').toString()) || 0 : 0;
    const page = all.slice(start, start + size);
    return {
      kind: 'youtube#playlistItemListResponse', pageInfo: { totalResults: all.length, resultsPerPage: size },
      ...(start + size < all.length ? { nextPageToken: Buffer.from(String(start + size)).toString('base64url') } : {}),
      items: page.map((v) => ({ kind: 'youtube#playlistItem', id: `PLI${v.id}`, snippet: { publishedAt: v.publishedAt, channelId: channelId(v.userId), title: v.title, description: v.description, playlistId: q.playlistId, resourceId: { kind: 'youtube#video', videoId: v.id } } })),
    };
  });

  app.get('/youtube/v3/videos', async (req, reply) => {
    const t = await auth(req, reply, ['youtube.readonly', 'youtube']);
    if (!t || !charge(reply, 1)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const ids = (q.id ?? '').split(',');
    const parts = (q.part ?? '').split(',');
    // A video deleted on the network (DELETE /_sim/youtube/posts/:id) is gone from the list.
    const items = w.videos.filter((v) => ids.includes(v.id) && state.posts.some((p) => p.id === v.id) && (v.userId === t.userId || v.privacyStatus === 'public'));
    return { kind: 'youtube#videoListResponse', pageInfo: { totalResults: items.length, resultsPerPage: items.length }, items: items.map((v) => videoJson(v, parts)) };
  });
}
