// Instagram professional accounts through the Instagram API with Instagram Login (doc URLs in
// ../../../src/providers/instagram.ts). The three hosts share this prefix:
//   www.instagram.com    GET  /oauth/authorize                consent → redirect ?code&state#_ (login_hint picks the user)
//   api.instagram.com    POST /oauth/access_token             form → { data: [{ access_token, user_id, permissions }] }
//   graph.instagram.com  GET  /access_token · /refresh_access_token   (ig_exchange_token, ig_refresh_token)
//                        GET  /{v}/me                         user_id, username, name, profile_picture_url, account_type
//                        POST /{v}/{ig-id}/media              containers: image_url | media_type=REELS&video_url | carousel items | CAROUSEL
//                                                             | media_type=STORIES with image_url or video_url (no caption)
//                        GET  /{v}/{container-id}?fields=status_code,status
//                        POST /{v}/{ig-id}/media_publish      creation_id → { id } (the container must be FINISHED)
//                        GET  /{v}/{ig-id}/content_publishing_limit · /{v}/{ig-id}/media · /{v}/{ig-id}/stories (the last 24 h)
//                        POST|GET /{v}/{media-id}/comments · GET /{v}/{media-id}/insights · GET /{v}/{id}
//                        GET|POST /{v}/{comment-id}/replies · POST /{v}/{comment-id} hide=true|false · DELETE /{v}/{comment-id}
//                        GET  /{v}/{ig-id}/tags · GET /{v}/{ig-id}?fields=mentioned_media.media_id(ID){…} | mentioned_comment.comment_id(ID){…}
// Mentions are SimInbox items of kind mention addressed to the account: with no postId, someone else's medium whose
// caption names the account (listed by /tags too: the simulator tags the account where it names it); with a postId,
// a comment naming it under that medium (someone else's). They are read with the same inbox knobs.
// Comments are the account's own (SimPosts answering a medium or a comment) and what people wrote (the shared
// SimInbox: items whose userId is the account and postId one of its media; parentId a top-level comment). Deleted
// ones are not listed; hidden ones are, with hidden: true. GET comments expands `replies{…}` (paged like the
// edge). The inbox reads (media, comments, replies) spend the inbox knobs: inboxRateLimitAfter (Graph's
// throttling, code 80002, once), inboxExpireTokensAfter (every token expires) and inboxPageSize (caps limit).
// Meta downloads media itself: the simulator fetches image_url / video_url, so only reachable URLs work.
// Images must be JPEG; a video answers IN_PROGRESS at its first status read, then FINISHED or ERROR (meta-common.ts, PROCESSING_READS).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NetworkState, SimNetworkContext, SimPost, SimToken } from '../core.ts';
import {
  DAY_MS, PROCESSING_READS, SAMPLE_JPEG, clientOk, consent, containerStatus, engagement, fetchMedia, getContainer, graphTime, issueToken, metaStyle, metaUser, pick, putContainer,
  readContainerStatus, readParams, requireToken, sendGraphError, tokenLifecycleRoutes, versionOk, type SimContainer,
} from './meta-common.ts';

const QUOTA_TOTAL = 100; // the content-publishing guide's figure (the reference still says 50)
const MAX_CAPTION = 2200;
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
const METRICS = ['views', 'reach', 'likes', 'comments', 'shares', 'saved', 'total_interactions', 'ig_reels_avg_watch_time'];
// Story insights (instagram-media/insights reference): no likes, comments or saves; replies and navigation.
const STORY_METRICS = ['views', 'reach', 'replies', 'shares', 'total_interactions', 'navigation', 'follows', 'profile_visits'];
const MAX_STORY_VIDEO_BYTES = 100 * 1024 * 1024;
const STATUS_TEXT: Record<string, string> = {
  IN_PROGRESS: 'In Progress: Media is still being processed.',
  FINISHED: 'Finished: Media has been uploaded and it is ready to be published.',
  PUBLISHED: 'Published: Media has been successfully published.',
  EXPIRED: 'Expired: The media container was not published within 24 hours.',
};

export function registerInstagram(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const style = (igId: string) => metaStyle({ code: 80002, message: '(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.', buc: { id: igId, type: 'instagram' } });
  const notFound = (reply: FastifyReply, id: string, verb = 'get') => sendGraphError(reply, 400, {
    message: `Unsupported ${verb} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33,
  });
  const start = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!versionOk(req, reply)) return null;
    const { params } = await readParams(req);
    const t = requireToken(state, req, reply, params);
    return t ? { params, t } : null;
  };
  /** Calls on an IG user: only its own token, with the permission the call needs. */
  const owner = (reply: FastifyReply, t: SimToken, igId: string, scope?: string): boolean => {
    if (t.userId !== igId) {
      notFound(reply, igId, 'post');
      return false;
    }
    if (scope && !t.scope.includes(scope)) {
      sendGraphError(reply, 403, { message: `(#10) Application does not have permission for this action (${scope})`, code: 10 });
      return false;
    }
    return true;
  };
  const posts = (userId: string) => state.posts.filter((p) => p.userId === userId && !p.replyTo);
  const isStory = (p: SimPost) => getContainer(state, p.media[0] ?? '')?.mediaType === 'STORIES';
  const shortcode = (id: string) => Buffer.from(id).toString('base64url');
  const mediaOf = (id: string): SimPost | undefined => state.posts.find((p) => p.id === id && !p.replyTo);
  interface SimComment { id: string; ownerId: string; mediaId: string; parentId: string | null; from: { id: string; username: string }; text: string; createdAt: string; hidden: boolean; own: boolean }
  /** The medium a comment is under (a reply's parent is a top-level comment). */
  const mediumOf = (id: string): string | undefined => {
    const m = mediaOf(id);
    if (m) return m.id;
    const p = state.posts.find((x) => x.id === id && x.replyTo);
    if (p) return mediumOf(p.replyTo!);
    const i = state.inbox.items.get(id);
    return i && !i.deleted && i.postId ? i.postId : undefined;
  };
  const allComments = (): SimComment[] => {
    const out: SimComment[] = [];
    for (const i of state.inbox.items.values()) {
      const m = i.postId ? mediaOf(i.postId) : undefined;
      if (i.kind !== 'comment' || i.deleted || !m || m.userId !== i.userId) continue;
      if (i.parentId && !mediumOf(i.parentId)) continue; // under a deleted comment
      out.push({ id: i.id, ownerId: i.userId, mediaId: m.id, parentId: i.parentId, from: { id: i.author.id, username: i.author.username }, text: i.text, createdAt: i.createdAt, hidden: i.hidden, own: false });
    }
    for (const p of state.posts) {
      const mediaId = p.replyTo ? mediumOf(p.replyTo) : undefined;
      // An answer to a mention is on someone else's medium: not among the account's comments.
      if (!mediaId || !mediaOf(mediaId)) continue;
      out.push({ id: p.id, ownerId: mediaOf(mediaId)!.userId, mediaId, parentId: p.replyTo === mediaId ? null : p.replyTo!, from: { id: p.userId, username: state.user(p.userId).username }, text: p.text, createdAt: p.createdAt, hidden: false, own: true });
    }
    return out.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  };
  const commentById = (id: string) => allComments().find((c) => c.id === id);
  const commentJson = (c: SimComment) => ({
    id: c.id, text: c.text, timestamp: graphTime(c.createdAt), username: c.from.username, from: c.from, hidden: c.hidden, ...(c.parentId ? { parent_id: c.parentId } : {}),
  });
  const cursorOf = (i: number) => Buffer.from(String(i)).toString('base64url');
  /** A slice with Graph's cursor paging; `path` is the edge that gives the next slice (for an expanded edge, its own). */
  const paged = <T>(path: string, params: Record<string, string>, list: T[], limit: number) => {
    const from = params.after ? Number(Buffer.from(params.after, 'base64url').toString()) || 0 : 0;
    const slice = list.slice(from, from + limit);
    const more = from + limit < list.length;
    const next = new URL(ctx.url(path));
    if (more) {
      for (const [k, v] of Object.entries(params)) if (k !== 'access_token' && k !== 'after') next.searchParams.set(k, v);
      next.searchParams.set('after', cursorOf(from + limit));
    }
    return { slice, paging: { cursors: { before: cursorOf(from), after: cursorOf(from + slice.length) }, ...(more ? { next: next.toString() } : {}) } };
  };
  const pageLimit = (params: Record<string, string>, dflt: number) => Math.min(100, Math.max(1, Number(params.limit) || dflt), state.knobs.inboxPageSize);
  /** The inbox reads' knobs: an expiry applies to this very read, so it comes before the token is looked at. */
  const inboxExpiry = () => {
    const k = state.knobs;
    if (k.inboxExpireTokensAfter === 0) {
      k.inboxExpireTokensAfter = -1;
      state.expireTokens();
    } else if (k.inboxExpireTokensAfter > 0) {
      k.inboxExpireTokensAfter--;
    }
  };
  const inboxThrottled = (reply: FastifyReply, igId: string): boolean => {
    const k = state.knobs;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      const r = style(igId).rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers).send(r.body);
      return true;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return false;
  };
  /** A call on a comment of the account's media: its own token with instagram_business_manage_comments. */
  const onComment = async (req: FastifyRequest, reply: FastifyReply, verb: string): Promise<{ c: SimComment; params: Record<string, string>; t: SimToken } | null> => {
    const s = await start(req, reply);
    if (!s) return null;
    const { id } = req.params as { id: string };
    const c = commentById(id);
    if (!c || c.ownerId !== s.t.userId) {
      notFound(reply, id, verb);
      return null;
    }
    if (!s.t.scope.includes('instagram_business_manage_comments')) {
      sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (instagram_business_manage_comments)', code: 10 });
      return null;
    }
    return { c, params: s.params, t: s.t };
  };
  const mediaFields = (p: SimPost, fields: string | undefined) => {
    const children = p.media.length > 1;
    const c = getContainer(state, p.media[0] ?? '');
    const story = c?.mediaType === 'STORIES';
    const video = !children && (c?.mediaType === 'REELS' || (story && !!c?.params.video_url));
    const { n, age } = engagement(p.id, p.createdAt);
    const username = state.user(p.userId).username;
    return pick({
      id: p.id, caption: p.text || undefined, media_type: children ? 'CAROUSEL_ALBUM' : video ? 'VIDEO' : 'IMAGE', media_product_type: story ? 'STORY' : video ? 'REELS' : 'FEED',
      permalink: story ? ctx.url(`/stories/${username}/${p.id}`) : ctx.url(`/p/${shortcode(p.id)}`), shortcode: shortcode(p.id), timestamp: graphTime(p.createdAt), username,
      ...(story ? {} : { like_count: n + Math.floor(age / 10), comments_count: state.posts.filter((x) => x.replyTo === p.id).length }),
    }, fields, ['id']);
  };

  app.get('/oauth/authorize', async (req, reply) => {
    const q = req.query as Record<string, string>;
    return consent(ctx, reply, q, () => metaUser(state, '1784', q.login_hint || 'u1'), '#_');
  });

  // The token endpoint of api.instagram.com has its own error shape: { error_type, code, error_message }.
  app.post('/oauth/access_token', async (req, reply) => {
    const { params: b } = await readParams(req);
    const fail = (message: string) => reply.status(400).send({ error_type: 'OAuthException', code: 400, error_message: message });
    if (await ctx.interfere(reply, metaStyle({ code: 4, message: '(#4) Application request limit reached' }))) return reply;
    if (b.grant_type !== 'authorization_code') return fail('Invalid grant_type: authorization_code is required');
    if (!clientOk(state, b.client_id, b.client_secret)) return fail('Invalid client secret');
    const code = state.codes.get(b.code ?? '');
    if (!code || code.clientId !== b.client_id) return fail('Invalid authorization code');
    const r = state.redeemCode(b.code!, b.redirect_uri ?? '');
    if (typeof r === 'string') return fail('Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request');
    const t = issueToken(state, r.userId, r.scope, { kind: 'short', clientId: b.client_id! }, state.knobs.accessTokenTtlSeconds);
    return { data: [{ access_token: t.accessToken, user_id: r.userId, permissions: r.scope.join(',') }] };
  });

  tokenLifecycleRoutes(ctx, { exchangeGrant: 'ig_exchange_token', refreshGrant: 'ig_refresh_token', authStatus: 400 });

  app.get('/:version/me', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    if (await ctx.interfere(reply, style(s.t.userId))) return reply;
    const u = state.user(s.t.userId);
    return pick({
      id: `as${u.id.slice(-8)}`, user_id: u.id, username: u.username, name: u.name, account_type: 'BUSINESS',
      profile_picture_url: ctx.url(`/avatars/${u.id}.jpg`), followers_count: 0, media_count: posts(u.id).length,
    }, s.params.fields, ['id']);
  });

  app.post('/:version/:igId/media', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId, 'instagram_business_content_publish')) return reply;
    if (await ctx.interfere(reply, style(igId))) return reply;
    const p = s.params;
    const item = p.is_carousel_item === 'true';
    const type = p.media_type ?? (p.image_url ? 'IMAGE' : '');
    const bad = (message: string, subcode?: number) => sendGraphError(reply, 400, { message, code: 100, ...(subcode ? { subcode } : {}) });
    const caption = p.caption ?? '';
    if (item && caption) return bad('(#100) Captions are not supported on carousel items');
    if (caption.length > MAX_CAPTION) return bad(`The caption is longer than ${MAX_CAPTION} characters`, 2207010);
    if ((caption.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > 30) return bad('(#100) A caption may have at most 30 hashtags');
    if ((caption.match(/@[\p{L}\p{N}_.]+/gu) ?? []).length > 20) return bad('(#100) A caption may mention at most 20 accounts');
    const base: Omit<SimContainer, 'readsLeft' | 'mediaType'> = {
      id: state.nextId(), userId: igId, text: caption || undefined, isCarouselItem: item, children: [], createdAt: Date.now(), params: p,
    };

    if (type === 'CAROUSEL') {
      const children = (p.children ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      if (children.length < 2 || children.length > 10) return bad('(#100) A carousel needs 2 to 10 children', 2207028);
      for (const id of children) {
        const c = getContainer(state, id);
        if (!c || c.userId !== igId || !c.isCarouselItem || containerStatus(c) !== 'FINISHED') {
          return bad(`(#100) Child ${id} is not a finished carousel item of this account`, 2207028);
        }
      }
      putContainer(state, { ...base, mediaType: 'CAROUSEL', children, readsLeft: 0 }, 'application/x-carousel', 0);
      return { id: base.id };
    }
    if (type === 'IMAGE') {
      const got = await fetchMedia(p.image_url);
      if (!got.ok) return sendGraphError(reply, 400, { message: 'Media download has failed. The media URI doesn\'t meet our requirements.', code: 9004, subcode: 2207052 });
      if (got.type !== 'image/jpeg') return sendGraphError(reply, 400, { message: 'The image format is not supported. Only JPEG images can be published.', code: 9004, subcode: 2207005 });
      if (got.bytes.length > MAX_IMAGE_BYTES) return sendGraphError(reply, 400, { message: 'The image is too large (8 MB at most).', code: 9004, subcode: 2207004 });
      putContainer(state, { ...base, mediaType: 'IMAGE', readsLeft: PROCESSING_READS.image }, got.type, got.bytes.length);
      return { id: base.id };
    }
    if (type === 'STORIES') {
      // A Story takes no caption (docs/NETWORKS.md, Network facts: Instagram; what the API answers to one is UNCONFIRMED: refused here).
      if (caption) return bad('(#100) Stories do not take a caption');
      if (!p.image_url === !p.video_url) return bad('(#100) A story needs either image_url or video_url');
      const got = await fetchMedia(p.image_url ?? p.video_url);
      if (!got.ok) return sendGraphError(reply, 400, { message: 'Media download has failed. The media URI doesn\'t meet our requirements.', code: 9004, subcode: 2207052 });
      if (p.image_url) {
        if (got.type !== 'image/jpeg') return sendGraphError(reply, 400, { message: 'The image format is not supported. Only JPEG images can be published.', code: 9004, subcode: 2207005 });
        if (got.bytes.length > MAX_IMAGE_BYTES) return sendGraphError(reply, 400, { message: 'The image is too large (8 MB at most).', code: 9004, subcode: 2207004 });
      }
      const error = p.video_url && got.type !== 'video/mp4' && got.type !== 'video/quicktime' ? 'The video format is not supported (2207026)'
        : got.bytes.length > (p.video_url ? MAX_STORY_VIDEO_BYTES : MAX_IMAGE_BYTES) ? 'The video is too large (2207026)' : undefined;
      putContainer(state, { ...base, mediaType: 'STORIES', readsLeft: p.video_url ? PROCESSING_READS.video : PROCESSING_READS.image, ...(error ? { error } : {}) },
        got.type ?? 'application/octet-stream', got.bytes.length);
      return { id: base.id };
    }
    if (type === 'REELS' || (type === 'VIDEO' && item)) {
      if (!p.video_url) return bad('(#100) video_url is required');
      // Videos are downloaded and processed after the answer: problems show as status ERROR.
      const got = await fetchMedia(p.video_url);
      const error = !got.ok ? 'Media download has failed (2207052)'
        : got.type !== 'video/mp4' && got.type !== 'video/quicktime' ? 'The video format is not supported (2207026)' : undefined;
      putContainer(state, { ...base, mediaType: type, readsLeft: PROCESSING_READS.video, ...(error ? { error } : {}) },
        got.ok ? got.type ?? 'application/octet-stream' : 'application/octet-stream', got.ok ? got.bytes.length : 0);
      return { id: base.id };
    }
    if (type === 'VIDEO') return bad('(#100) The VIDEO media type is no longer supported for feed posts; use REELS');
    return bad('(#100) media_type must be one of IMAGE, REELS, STORIES, CAROUSEL (or image_url given)');
  });

  app.post('/:version/:igId/media_publish', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId, 'instagram_business_content_publish')) return reply;
    if (await ctx.interfere(reply, style(igId))) return reply;
    const c = getContainer(state, s.params.creation_id ?? '');
    if (!c || c.userId !== igId) return sendGraphError(reply, 400, { message: 'Media ID is not available', code: 9007, subcode: 2207027 });
    if (c.isCarouselItem) return sendGraphError(reply, 400, { message: '(#100) A carousel item cannot be published on its own', code: 100 });
    const status = containerStatus(c);
    if (status === 'EXPIRED') return sendGraphError(reply, 400, { message: 'The media container has expired', code: 9007, subcode: 2207020 });
    if (status !== 'FINISHED') {
      return sendGraphError(reply, 400, { message: `Media ID is not available (${status})`, code: 9007, subcode: 2207027, userMessage: 'The media is not ready for publishing, please wait for a moment' });
    }
    if (posts(igId).filter((p) => Date.parse(p.createdAt) > Date.now() - DAY_MS).length >= QUOTA_TOTAL) {
      return sendGraphError(reply, 400, { message: 'Application request limit reached', code: 9, subcode: 2207042, userMessage: 'You have reached the maximum number of posts that can be published in 24 hours.' });
    }
    const id = state.nextId();
    c.publishedAs = id;
    state.posts.push({ id, userId: igId, text: c.text ?? '', media: c.children.length ? c.children : [c.id], createdAt: new Date().toISOString(), raw: c.params });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  app.get('/:version/:igId/content_publishing_limit', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId)) return reply;
    const usage = posts(igId).filter((p) => Date.parse(p.createdAt) > Date.now() - DAY_MS).length;
    return { data: [pick({ quota_usage: usage, config: { quota_total: QUOTA_TOTAL, quota_duration: 86400 } }, s.params.fields, ['quota_usage'])] };
  });

  app.get('/:version/:igId/media', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId)) return reply;
    if (inboxThrottled(reply, igId)) return reply;
    // Stories are not media of the feed: they are listed under /stories. Newest first.
    const { slice, paging } = paged(`/${(req.params as { version: string }).version}/${igId}/media`, s.params, posts(igId).filter((p) => !isStory(p)).reverse(), pageLimit(s.params, 25));
    return { data: slice.map((p) => mediaFields(p, s.params.fields ?? 'id')), paging };
  });

  /** Someone else's medium that names the account (a mention item without postId). */
  const mentionMedia = (id: string, igId: string) => {
    const i = state.inbox.items.get(id);
    return i && i.kind === 'mention' && !i.postId && !i.deleted && i.userId === igId ? i : undefined;
  };
  const mentionMediaJson = (i: { id: string; text: string; createdAt: string; author: { username: string } }) => ({
    id: i.id, caption: i.text, timestamp: graphTime(i.createdAt), username: i.author.username, permalink: ctx.url(`/p/${shortcode(i.id)}`), media_type: 'IMAGE',
  });
  app.get('/:version/:igId/tags', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { version, igId } = req.params as { version: string; igId: string };
    if (!owner(reply, s.t, igId, 'instagram_business_manage_comments')) return reply;
    if (inboxThrottled(reply, igId)) return reply;
    const tagged = [...state.inbox.items.values()].filter((i) => mentionMedia(i.id, igId)).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const { slice, paging } = paged(`/${version}/${igId}/tags`, s.params, tagged, pageLimit(s.params, 25));
    return { data: slice.map((i) => pick(mentionMediaJson(i), s.params.fields, ['id'])), paging };
  });

  // POST /{ig-user-id}/mentions (IG User Mentions): a comment on a medium whose caption @mentions the account
  // (media_id), or a reply under a comment that does (comment_id too). "Commenting on photos in which you were tagged
  // is not supported": a mention medium whose caption does not name the account (@username) is only tagged, refused.
  app.post('/:version/:igId/mentions', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId, 'instagram_business_manage_comments')) return reply;
    if (await ctx.interfere(reply, style(igId))) return reply;
    const { media_id: mediaId, comment_id: commentId, message } = s.params;
    if (!mediaId || !message) return sendGraphError(reply, 400, { message: `(#100) The parameter ${mediaId ? 'message' : 'media_id'} is required`, code: 100 });
    const m = mentionMedia(mediaId, igId);
    if (!m) return notFound(reply, mediaId);
    if (commentId) {
      const c = state.inbox.items.get(commentId);
      if (!c || c.kind !== 'mention' || c.postId !== mediaId || c.deleted || c.userId !== igId) return notFound(reply, commentId);
    } else if (!m.text.toLowerCase().includes(`@${state.user(igId).username.toLowerCase()}`)) {
      return sendGraphError(reply, 400, { message: '(#100) Commenting on media in which the user is only tagged is not supported', code: 100 });
    }
    const id = state.nextId();
    state.posts.push({ id, userId: igId, text: message, media: [], replyTo: commentId ?? mediaId, createdAt: new Date().toISOString(), raw: { ...s.params, mention: 'true' } });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  app.get('/:version/:igId/stories', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { igId } = req.params as { igId: string };
    if (!owner(reply, s.t, igId)) return reply;
    const live = posts(igId).filter((p) => isStory(p) && Date.parse(p.createdAt) > Date.now() - DAY_MS);
    return { data: live.reverse().map((p) => mediaFields(p, s.params.fields ?? 'id')), paging: { cursors: { before: 'QVFI', after: 'QVFI' } } };
  });

  app.post('/:version/:mediaId/comments', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { mediaId } = req.params as { mediaId: string };
    if (!mediaOf(mediaId)) return notFound(reply, mediaId, 'post');
    if (!s.t.scope.includes('instagram_business_manage_comments')) {
      return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (instagram_business_manage_comments)', code: 10 });
    }
    if (await ctx.interfere(reply, style(s.t.userId))) return reply;
    if (!s.params.message) return sendGraphError(reply, 400, { message: '(#100) The parameter message is required', code: 100 });
    const id = state.nextId();
    state.posts.push({ id, userId: s.t.userId, text: s.params.message, media: [], replyTo: mediaId, createdAt: new Date().toISOString(), raw: s.params });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  app.get('/:version/:mediaId/comments', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { version, mediaId } = req.params as { version: string; mediaId: string };
    const m = mediaOf(mediaId);
    if (!m || m.userId !== s.t.userId) return notFound(reply, mediaId);
    if (inboxThrottled(reply, m.userId)) return reply;
    const all = allComments().filter((c) => c.mediaId === mediaId);
    // Top-level comments, newest first, each with its replies when `replies{…}` is asked for.
    const top = all.filter((c) => c.parentId === null).reverse();
    const limit = pageLimit(s.params, 25);
    const wantsReplies = /(^|,)replies[{.(]|(^|,)replies(,|$)/.test(s.params.fields ?? '');
    const { slice, paging } = paged(`/${version}/${mediaId}/comments`, s.params, top, limit);
    return {
      data: slice.map((c) => {
        const base = pick(commentJson(c), s.params.fields, ['id', 'text', 'timestamp']);
        if (!wantsReplies) return base;
        const r = paged(`/${version}/${c.id}/replies`, { limit: String(limit) }, all.filter((x) => x.parentId === c.id), limit);
        return { ...base, replies: { data: r.slice.map(commentJson), paging: r.paging } };
      }),
      paging,
    };
  });

  app.get('/:version/:id/replies', async (req, reply) => {
    inboxExpiry();
    const m = await onComment(req, reply, 'get');
    if (!m) return reply;
    if (inboxThrottled(reply, m.c.ownerId)) return reply;
    const { version, id } = req.params as { version: string; id: string };
    const { slice, paging } = paged(`/${version}/${id}/replies`, m.params, allComments().filter((x) => x.parentId === id), pageLimit(m.params, 25));
    return { data: slice.map((c) => pick(commentJson(c), m.params.fields, ['id', 'text', 'timestamp'])), paging };
  });

  app.post('/:version/:id/replies', async (req, reply) => {
    const m = await onComment(req, reply, 'post');
    if (!m) return reply;
    if (await ctx.interfere(reply, style(m.t.userId))) return reply;
    if (!m.params.message) return sendGraphError(reply, 400, { message: '(#100) The parameter message is required', code: 100 });
    if (m.c.hidden) return sendGraphError(reply, 400, { message: '(#100) You cannot reply to a hidden comment', code: 100 });
    // Replies to a reply are added to the top-level comment.
    const id = state.nextId();
    state.posts.push({ id, userId: m.t.userId, text: m.params.message, media: [], replyTo: m.c.parentId ?? m.c.id, createdAt: new Date().toISOString(), raw: m.params });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  app.post('/:version/:id', async (req, reply) => {
    const m = await onComment(req, reply, 'post');
    if (!m) return reply;
    if (await ctx.interfere(reply, style(m.t.userId))) return reply;
    if (m.params.hide === undefined) return sendGraphError(reply, 400, { message: '(#100) The simulator updates only hide of a comment', code: 100 });
    if (m.c.own) return sendGraphError(reply, 400, { message: '(#100) The account cannot hide its own comment', code: 100 });
    state.inbox.change(m.c.id, { hidden: m.params.hide === 'true' || m.params.hide === '1' });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });

  app.delete('/:version/:id', async (req, reply) => {
    const m = await onComment(req, reply, 'delete');
    if (!m) return reply;
    if (await ctx.interfere(reply, style(m.t.userId))) return reply;
    if (m.c.own) state.posts.splice(state.posts.findIndex((p) => p.id === m.c.id), 1);
    else state.inbox.change(m.c.id, { deleted: true });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });

  app.get('/:version/:mediaId/insights', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { mediaId } = req.params as { mediaId: string };
    const p = mediaOf(mediaId);
    if (!p || p.userId !== s.t.userId) return notFound(reply, mediaId);
    if (!s.t.scope.includes('instagram_business_manage_insights')) {
      return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (instagram_business_manage_insights)', code: 10 });
    }
    const metrics = (s.params.metric ?? '').split(',').filter(Boolean);
    const allowed = isStory(p) ? STORY_METRICS : METRICS;
    const bad = metrics.find((m) => !allowed.includes(m));
    if (metrics.length === 0 || bad) {
      return sendGraphError(reply, 400, { message: `(#100) metric[${Math.max(0, metrics.indexOf(bad ?? ''))}] must be one of the following values: ${allowed.join(', ')}`, code: 100 });
    }
    const { n, age } = engagement(p.id, p.createdAt);
    const comments = state.posts.filter((c) => c.replyTo === p.id).length;
    const values: Record<string, number> = {
      views: 10 * (n + 1) + age, reach: 8 * (n + 1), likes: n + Math.floor(age / 10), comments, shares: n % 3, saved: n % 2,
      total_interactions: n + Math.floor(age / 10) + comments + (n % 3) + (n % 2), ig_reels_avg_watch_time: 1000 * n,
      replies: n % 4, navigation: 3 * n, follows: n % 2, profile_visits: n % 5,
    };
    return { data: metrics.map((name) => ({ name, period: 'lifetime', values: [{ value: values[name] }], title: name, description: name, id: `${p.id}/insights/${name}/lifetime` })) };
  });

  app.get('/:version/:id', async (req, reply) => {
    const mention = /^mentioned_(media|comment)\.(?:media_id|comment_id)\(([0-9A-Za-z_]+)\)/.exec((req.query as { fields?: string }).fields ?? '');
    if (mention) inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { id } = req.params as { id: string };
    if (mention) {
      // GET /{ig-user-id}?fields=mentioned_media.media_id(ID){…} | mentioned_comment.comment_id(ID){…}: one object, by id.
      if (!owner(reply, s.t, id, 'instagram_business_manage_comments')) return reply;
      if (inboxThrottled(reply, id)) return reply;
      const [, what, ref] = mention;
      if (what === 'media') {
        const m = mentionMedia(ref!, id);
        return m ? { mentioned_media: mentionMediaJson(m), id } : notFound(reply, ref!);
      }
      const c = state.inbox.items.get(ref!);
      if (!c || c.kind !== 'mention' || !c.postId || c.deleted || c.userId !== id) return notFound(reply, ref!);
      const m = mentionMedia(c.postId, id);
      return { mentioned_comment: { id: c.id, text: c.text, timestamp: graphTime(c.createdAt), username: c.author.username, like_count: 0, media: m ? mentionMediaJson(m) : { id: c.postId } }, id };
    }
    const c = getContainer(state, id);
    if (c && c.userId === s.t.userId) {
      const status = readContainerStatus(state, c);
      return pick({ id: c.id, status_code: status, status: status === 'ERROR' ? `Error: ${c.error}` : STATUS_TEXT[status] }, s.params.fields, ['id']);
    }
    const comment = commentById(id);
    if (comment) return comment.ownerId === s.t.userId ? pick(commentJson(comment), s.params.fields, ['id', 'text', 'timestamp']) : notFound(reply, id);
    const p = state.posts.find((x) => x.id === id);
    if (p && !p.replyTo) return mediaFields(p, s.params.fields);
    if (p) return pick({ id: p.id, text: p.text, timestamp: graphTime(p.createdAt), username: state.user(p.userId).username }, s.params.fields, ['id', 'text', 'timestamp']);
    return notFound(reply, id);
  });

  app.get('/avatars/:file', async (_req, reply) => reply.type('image/jpeg').send(SAMPLE_JPEG));
  app.get('/stories/:user/:id', async (req, reply) => {
    const p = state.posts.find((x) => x.id === (req.params as { id: string }).id && isStory(x));
    if (!p || Date.parse(p.createdAt) < Date.now() - DAY_MS) return reply.status(404).type('text/html').send('<h1>Sorry, this page isn\'t available.</h1>');
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Instagram story</title><p>A Story, until ${new Date(Date.parse(p.createdAt) + DAY_MS).toISOString()}</p>`);
  });
  app.get('/p/:code', async (req, reply) => {
    const code = (req.params as { code: string }).code;
    const p = state.posts.find((x) => !x.replyTo && shortcode(x.id) === code);
    if (!p) return reply.status(404).type('text/html').send('<h1>Sorry, this page isn\'t available.</h1>');
    const esc = (t: string) => t.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Instagram post</title><p>${esc(p.text)}</p><p><small>${p.createdAt}</small></p>`);
  });
}

/**
 * The Instagram webhook Meta would send about a new comment of the simulated network (someone's, from the shared
 * SimInbox): `object: "instagram"`, one entry for the account with a `comments` change. Tests sign it with the
 * app secret (X-Hub-Signature-256) and post it to AllIN's callback.
 */
export function instagramCommentNotification(state: NetworkState, commentId: string): Record<string, unknown> {
  const c = state.inbox.items.get(commentId);
  if (!c || !c.postId) throw new Error(`the simulator has no Instagram comment ${commentId}`);
  return {
    object: 'instagram',
    entry: [{
      id: c.userId, time: Math.floor(Date.parse(c.createdAt) / 1000),
      changes: [{
        field: 'comments',
        value: { id: c.id, text: c.text, from: { id: c.author.id, username: c.author.username }, media: { id: c.postId, media_product_type: 'FEED' }, ...(c.parentId ? { parent_id: c.parentId } : {}) },
      }],
    }],
  };
}

/**
 * The Instagram webhook Meta would send about a mention of the account (a mention item of the shared SimInbox):
 * the `mentions` field, naming the medium and, for a comment, the comment; nothing else (the shape is
 * UNCONFIRMED, see src/providers/instagram/mentions.ts).
 */
export function instagramMentionNotification(state: NetworkState, itemId: string): Record<string, unknown> {
  const i = state.inbox.items.get(itemId);
  if (!i || i.kind !== 'mention') throw new Error(`the simulator has no Instagram mention ${itemId}`);
  return {
    object: 'instagram',
    entry: [{
      id: i.userId, time: Math.floor(Date.parse(i.createdAt) / 1000),
      changes: [{ field: 'mentions', value: i.postId ? { media_id: i.postId, comment_id: i.id } : { media_id: i.id } }],
    }],
  };
}
