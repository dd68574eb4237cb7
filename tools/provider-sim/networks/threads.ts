// Threads through the Threads API (doc URLs in ../../../src/providers/threads.ts). Both hosts share this prefix:
//   threads.net          GET  /oauth/authorize                 consent → redirect ?code&state (login_hint picks the user)
//   graph.threads.net    POST /oauth/access_token              form → { access_token, user_id } (user_id as a number, as some answers do)
//                        GET  /access_token · /refresh_access_token   (th_exchange_token, th_refresh_token)
//                        GET  /v1.0/me
//                        POST /v1.0/{user-id}/threads          containers: TEXT | IMAGE | VIDEO | carousel items | CAROUSEL, reply_to_id
//                        GET  /v1.0/{media-id}/conversation    every reply under a post, flattened, `reverse` (default true), paged
//                        POST /v1.0/{reply-id}/manage_reply    hide=true|false (top-level replies only) → { success }
//                        GET  /v1.0/{user-id}/mentions         others' posts tagging the profile (SimInbox items of kind mention), newest
//                                                              first, paged; needs threads_manage_mentions; the inbox knobs apply
// Replies are the profile's own (SimPosts answering something) and what people wrote (the shared SimInbox: items whose
// userId is the profile and postId one of its posts; parentId the reply answered). The inbox reads (the profile's
// threads, conversations) spend the inbox knobs: inboxRateLimitAfter, inboxExpireTokensAfter, inboxPageSize.
//                        GET  /v1.0/{container-id}?fields=status,error_message
//                        POST /v1.0/{user-id}/threads_publish  creation_id → { id } (the container must be FINISHED)
//                        GET  /v1.0/{user-id}/threads · /replies · /threads_publishing_limit · /v1.0/{id}/insights · /v1.0/{id}
// Token errors are HTTP 401 with code 190 here (client reports for Threads; Facebook and Instagram answer 400).
// Meta downloads media itself: only reachable image_url / video_url work.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NetworkState, SimNetworkContext, SimPost, SimToken } from '../core.ts';
import {
  DAY_MS, PROCESSING_READS, SAMPLE_JPEG, appLimit, clientOk, consent, containerStatus, engagement, fetchMedia, getContainer, graphErrorBody, graphTime, issueToken, metaUser, pick,
  putContainer, readContainerStatus, readParams, requireToken, sendGraphError, tokenLifecycleRoutes, uniqueLinks, versionOk, type SimContainer,
} from './meta-common.ts';

const QUOTA = { posts: 250, replies: 1000 };
const MAX_TEXT = 500;
const METRICS = ['views', 'likes', 'replies', 'reposts', 'quotes', 'shares'];
const AUTH_STATUS = 401;
const VERSION = /^v1\.0$/;

/** The docs' rule: emoji count their UTF-8 bytes; other characters are counted here by UTF-16 length. */
function threadsCount(text: string): number {
  let n = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) {
    n += /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u.test(segment) ? Buffer.byteLength(segment) : segment.length;
  }
  return n;
}

export function registerThreads(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const notFound = (reply: FastifyReply, id: string, verb = 'get') => sendGraphError(reply, 400, {
    message: `Unsupported ${verb} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33,
  });
  const start = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!versionOk(req, reply, VERSION)) return null;
    const { params } = await readParams(req);
    const t = requireToken(state, req, reply, params, AUTH_STATUS);
    return t ? { params, t } : null;
  };
  const owner = (reply: FastifyReply, t: SimToken, uid: string, scope?: string): boolean => {
    if (t.userId !== uid) {
      notFound(reply, uid, 'post');
      return false;
    }
    if (scope && !t.scope.includes(scope)) {
      sendGraphError(reply, 403, { message: `(#10) Application does not have permission for this action (${scope})`, code: 10 });
      return false;
    }
    return true;
  };
  const recent = (uid: string, replies: boolean) => state.posts.filter((p) => p.userId === uid && !!p.replyTo === replies && Date.parse(p.createdAt) > Date.now() - DAY_MS);
  const shortcode = (id: string) => Buffer.from(id).toString('base64url');
  interface SimReply { id: string; ownerId: string; rootId: string; parentId: string; username: string; own: boolean; text: string; createdAt: string; hidden: boolean }
  /** The profile's post a reply is under, following what it answers. */
  const rootOf = (id: string): string | undefined => {
    for (let hops = 0, cur: string | undefined = id; cur && hops < 100; hops++) {
      const p = state.posts.find((x) => x.id === cur);
      if (p && !p.replyTo) return p.id;
      if (p) { cur = p.replyTo; continue; }
      const i = state.inbox.items.get(cur);
      return i && !i.deleted && i.postId ? i.postId : undefined;
    }
    return undefined;
  };
  const allReplies = (): SimReply[] => {
    const out: SimReply[] = [];
    for (const i of state.inbox.items.values()) {
      const root = i.postId ? state.posts.find((x) => x.id === i.postId && !x.replyTo && x.userId === i.userId) : undefined;
      if (i.kind !== 'comment' || i.deleted || !root || (i.parentId && !rootOf(i.parentId))) continue;
      out.push({ id: i.id, ownerId: i.userId, rootId: root.id, parentId: i.parentId ?? root.id, username: i.author.username, own: false, text: i.text, createdAt: i.createdAt, hidden: i.hidden });
    }
    for (const p of state.posts) {
      const rootId = p.replyTo ? rootOf(p.replyTo) : undefined;
      const root = rootId ? state.posts.find((x) => x.id === rootId) : undefined;
      if (!root) continue;
      out.push({ id: p.id, ownerId: root.userId, rootId: root.id, parentId: p.replyTo!, username: state.user(p.userId).username, own: p.userId === root.userId, text: p.text, createdAt: p.createdAt, hidden: false });
    }
    return out.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  };
  const replyById = (id: string) => allReplies().find((r) => r.id === id);
  const replyJson = (r: SimReply, fields: string | undefined) => pick({
    id: r.id, text: r.text, username: r.username, permalink: ctx.url(`/t/${shortcode(r.id)}`), timestamp: graphTime(r.createdAt), media_type: 'TEXT_POST', is_reply: true,
    replied_to: { id: r.parentId }, root_post: { id: r.rootId }, hide_status: r.hidden ? 'HIDDEN' : 'NOT_HUSHED', is_reply_owned_by_me: r.own,
  }, fields, ['id']);
  const cursorOf = (i: number) => Buffer.from(String(i)).toString('base64url');
  const paged = <T>(req: FastifyRequest, params: Record<string, string>, list: T[], limit: number) => {
    const from = params.after ? Number(Buffer.from(params.after, 'base64url').toString()) || 0 : 0;
    const slice = list.slice(from, from + limit);
    const more = from + limit < list.length;
    const next = new URL(ctx.url(''));
    next.pathname = req.url.split('?')[0]!;
    if (more) {
      for (const [k, v] of Object.entries(params)) if (k !== 'access_token' && k !== 'after') next.searchParams.set(k, v);
      next.searchParams.set('after', cursorOf(from + limit));
    }
    return { slice, paging: { cursors: { before: cursorOf(from), after: cursorOf(from + slice.length) }, ...(more ? { next: next.toString() } : {}) } };
  };
  const inboxExpiry = () => {
    const k = state.knobs;
    if (k.inboxExpireTokensAfter === 0) {
      k.inboxExpireTokensAfter = -1;
      state.expireTokens();
    } else if (k.inboxExpireTokensAfter > 0) {
      k.inboxExpireTokensAfter--;
    }
  };
  const inboxThrottled = (reply: FastifyReply): boolean => {
    const k = state.knobs;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      const r = appLimit.rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers).send(r.body);
      return true;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return false;
  };
  const postFields = (p: SimPost, fields: string | undefined) => {
    const c = getContainer(state, p.media[0] ?? '');
    return pick({
      id: p.id, text: p.text || undefined, timestamp: graphTime(p.createdAt), permalink: ctx.url(`/t/${shortcode(p.id)}`), shortcode: shortcode(p.id),
      media_type: p.media.length > 1 ? 'CAROUSEL_ALBUM' : c?.mediaType === 'VIDEO' ? 'VIDEO' : c?.mediaType === 'IMAGE' ? 'IMAGE' : 'TEXT_POST',
      media_product_type: 'THREADS', username: state.user(p.userId).username, is_quote_post: false, is_reply: !!p.replyTo,
      ...(p.replyTo ? { replied_to: { id: p.replyTo } } : {}), has_replies: state.posts.some((x) => x.replyTo === p.id),
    }, fields, ['id']);
  };

  app.get('/oauth/authorize', async (req, reply) => {
    const q = req.query as Record<string, string>;
    return consent(ctx, reply, q, () => metaUser(state, '25', q.login_hint || 'u1'), '#_');
  });

  app.post('/oauth/access_token', async (req, reply) => {
    const { params: b } = await readParams(req);
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (b.grant_type !== 'authorization_code') return sendGraphError(reply, 400, { message: '(#100) grant_type must be authorization_code', code: 100 });
    if (!clientOk(state, b.client_id, b.client_secret)) return sendGraphError(reply, 400, { message: 'Error validating client secret.', code: 1 });
    const code = state.codes.get(b.code ?? '');
    if (!code || code.clientId !== b.client_id) return sendGraphError(reply, 400, { message: 'Invalid verification code format.', code: 100, subcode: 36009 });
    const r = state.redeemCode(b.code!, b.redirect_uri ?? '');
    if (typeof r === 'string') {
      return sendGraphError(reply, 400, { message: 'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request', code: 100, subcode: 36008 });
    }
    const t = issueToken(state, r.userId, r.scope, { kind: 'short', clientId: b.client_id! }, state.knobs.accessTokenTtlSeconds);
    return { access_token: t.accessToken, user_id: Number(r.userId) };
  });

  tokenLifecycleRoutes(ctx, { exchangeGrant: 'th_exchange_token', refreshGrant: 'th_refresh_token', authStatus: AUTH_STATUS });

  app.get('/:version/me', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    if (await ctx.interfere(reply, appLimit)) return reply;
    const u = state.user(s.t.userId);
    return pick({ id: u.id, username: u.username, name: u.name, threads_profile_picture_url: ctx.url(`/avatars/${u.id}.jpg`), threads_biography: '' }, s.params.fields, ['id']);
  });

  app.post('/:version/:uid/threads', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { uid } = req.params as { uid: string };
    if (!owner(reply, s.t, uid, 'threads_content_publish')) return reply;
    if (await ctx.interfere(reply, appLimit)) return reply;
    const p = s.params;
    const bad = (message: string, subcode?: number) => sendGraphError(reply, 400, { message, code: 100, ...(subcode ? { subcode } : {}) });
    const type = p.media_type ?? '';
    const item = p.is_carousel_item === 'true';
    const text = p.text ?? '';
    if (threadsCount(text) > MAX_TEXT) return bad(`(#100) The text is longer than ${MAX_TEXT} characters (emoji count their UTF-8 bytes)`);
    if (uniqueLinks(text) > 5) return bad('THREADS_API__LINK_LIMIT_EXCEEDED: a post may contain at most 5 unique links');
    if (p.reply_to_id !== undefined) {
      if (!s.t.scope.includes('threads_manage_replies')) return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (threads_manage_replies)', code: 10 });
      // Any public post can be answered: the profile's own, a reply under them, or someone else's post (a mention).
      const mention = state.inbox.items.get(p.reply_to_id);
      const othersPost = mention?.kind === 'mention' && !mention.deleted;
      if (!state.posts.some((x) => x.id === p.reply_to_id) && !replyById(p.reply_to_id) && !othersPost) return notFound(reply, p.reply_to_id);
    }
    const base: Omit<SimContainer, 'readsLeft' | 'mediaType'> = {
      id: state.nextId(), userId: uid, text: text || undefined, isCarouselItem: item, children: [], createdAt: Date.now(), params: p,
      ...(p.reply_to_id ? { replyTo: p.reply_to_id } : {}),
    };
    if (type === 'TEXT') {
      if (!text) return bad('(#100) text is required for media_type=TEXT');
      if (item) return bad('(#100) A text post cannot be a carousel item');
      putContainer(state, { ...base, mediaType: 'TEXT', readsLeft: 0 }, 'text/plain', Buffer.byteLength(text));
      return { id: base.id };
    }
    if (type === 'CAROUSEL') {
      const children = (p.children ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      if (children.length < 2 || children.length > 20) return bad('(#100) A carousel needs 2 to 20 children');
      for (const id of children) {
        const c = getContainer(state, id);
        if (!c || c.userId !== uid || !c.isCarouselItem || containerStatus(c) !== 'FINISHED') return bad(`(#100) Child ${id} is not a finished carousel item of this profile`);
      }
      putContainer(state, { ...base, mediaType: 'CAROUSEL', children, readsLeft: 0 }, 'application/x-carousel', 0);
      return { id: base.id };
    }
    if (type === 'IMAGE') {
      // How Threads reports an image it cannot download or read is UNCONFIRMED: refused at once here.
      const got = await fetchMedia(p.image_url);
      if (!got.ok) return bad(`(#100) The image could not be downloaded from image_url (${got.reason})`);
      if (got.type !== 'image/jpeg' && got.type !== 'image/png') return bad('(#100) Unsupported image format: JPEG or PNG only');
      if (got.bytes.length > 8 * 1024 * 1024) return bad('(#100) The image is larger than 8 MB');
      putContainer(state, { ...base, mediaType: 'IMAGE', readsLeft: PROCESSING_READS.image }, got.type, got.bytes.length);
      return { id: base.id };
    }
    if (type === 'VIDEO') {
      if (!p.video_url) return bad('(#100) video_url is required for media_type=VIDEO');
      // Downloaded and processed after the answer: problems show as status ERROR with error_message.
      const got = await fetchMedia(p.video_url);
      const error = !got.ok ? 'FAILED_DOWNLOADING_VIDEO' : got.type !== 'video/mp4' && got.type !== 'video/quicktime' ? 'FAILED_PROCESSING_VIDEO' : undefined;
      putContainer(state, { ...base, mediaType: 'VIDEO', readsLeft: PROCESSING_READS.video, ...(error ? { error } : {}) },
        got.ok ? got.type ?? 'application/octet-stream' : 'application/octet-stream', got.ok ? got.bytes.length : 0);
      return { id: base.id };
    }
    return bad('(#100) media_type must be one of TEXT, IMAGE, VIDEO, CAROUSEL');
  });

  app.post('/:version/:uid/threads_publish', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { uid } = req.params as { uid: string };
    if (!owner(reply, s.t, uid, 'threads_content_publish')) return reply;
    if (await ctx.interfere(reply, appLimit)) return reply;
    const c = getContainer(state, s.params.creation_id ?? '');
    if (!c || c.userId !== uid) return notFound(reply, s.params.creation_id ?? '', 'post');
    if (c.isCarouselItem) return sendGraphError(reply, 400, { message: '(#100) A carousel item cannot be published on its own', code: 100 });
    const status = containerStatus(c);
    // The code Threads gives for a container that is not ready (or already used) is UNCONFIRMED.
    if (status !== 'FINISHED') return sendGraphError(reply, 400, { message: `(#100) The media container is ${status}: only a FINISHED container can be published`, code: 100 });
    const reply_ = !!c.replyTo;
    if (recent(uid, reply_).length >= (reply_ ? QUOTA.replies : QUOTA.posts)) {
      // Enforced here per the docs; the error's code is UNCONFIRMED (a throttling code is used).
      return reply.status(400).send(graphErrorBody({ message: `(#4) The profile reached its ${reply_ ? 'reply' : 'post'} publishing limit for 24 hours`, code: 4 }));
    }
    const id = state.nextId();
    c.publishedAs = id;
    state.posts.push({
      id, userId: uid, text: c.text ?? '', media: c.mediaType === 'TEXT' ? [] : c.children.length ? c.children : [c.id],
      ...(c.replyTo ? { replyTo: c.replyTo } : {}), createdAt: new Date().toISOString(), raw: c.params,
    });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  const list = (replies: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!replies) inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { uid } = req.params as { uid: string };
    if (!owner(reply, s.t, uid)) return reply;
    if (!replies && inboxThrottled(reply)) return reply;
    const since = Number(s.params.since) * 1000 || 0;
    const until = Number(s.params.until) * 1000 || Infinity;
    const limit = Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize);
    const items = state.posts.filter((p) => p.userId === uid && !!p.replyTo === replies && Date.parse(p.createdAt) >= since && Date.parse(p.createdAt) <= until).reverse();
    const { slice, paging } = paged(req, s.params, items, limit);
    return { data: slice.map((p) => postFields(p, s.params.fields ?? 'id')), paging };
  };

  app.get('/:version/:uid/mentions', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { uid } = req.params as { uid: string };
    if (!owner(reply, s.t, uid, 'threads_manage_mentions')) return reply;
    if (inboxThrottled(reply)) return reply;
    const list = [...state.inbox.items.values()].filter((i) => i.kind === 'mention' && i.userId === uid && !i.deleted)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const { slice, paging } = paged(req, s.params, list, Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize));
    return { data: slice.map((i) => pick(threadsMentionJson(state, i.id, ctx.url('')), s.params.fields, ['id'])), paging };
  });

  app.get('/:version/:id/conversation', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { id } = req.params as { id: string };
    const root = state.posts.find((x) => x.id === id && !x.replyTo);
    if (!root || root.userId !== s.t.userId) return notFound(reply, id);
    if (!s.t.scope.includes('threads_read_replies')) return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (threads_read_replies)', code: 10 });
    if (inboxThrottled(reply)) return reply;
    let list = allReplies().filter((r) => r.rootId === id);
    if (s.params.reverse !== 'false') list = list.reverse();
    const { slice, paging } = paged(req, s.params, list, Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize));
    return { data: slice.map((r) => replyJson(r, s.params.fields)), paging };
  });

  app.post('/:version/:id/manage_reply', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { id } = req.params as { id: string };
    const r = replyById(id);
    if (!r || r.ownerId !== s.t.userId) return notFound(reply, id, 'post');
    if (!s.t.scope.includes('threads_manage_replies')) return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (threads_manage_replies)', code: 10 });
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (r.parentId !== r.rootId) return sendGraphError(reply, 400, { message: '(#100) Only a top-level reply can be hidden or unhidden', code: 100 });
    if (r.own) return sendGraphError(reply, 400, { message: '(#100) The profile cannot hide its own reply', code: 100 });
    state.inbox.change(r.id, { hidden: s.params.hide === 'true' || s.params.hide === '1' });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });
  app.get('/:version/:uid/threads', list(false));
  app.get('/:version/:uid/replies', list(true));

  app.get('/:version/:uid/threads_publishing_limit', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { uid } = req.params as { uid: string };
    if (!owner(reply, s.t, uid)) return reply;
    return {
      data: [pick({
        quota_usage: recent(uid, false).length, config: { quota_total: QUOTA.posts, quota_duration: 86400 },
        reply_quota_usage: recent(uid, true).length, reply_config: { quota_total: QUOTA.replies, quota_duration: 86400 },
      }, s.params.fields, ['quota_usage'])],
    };
  });

  app.get('/:version/:id/insights', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { id } = req.params as { id: string };
    const p = state.posts.find((x) => x.id === id);
    if (!p || p.userId !== s.t.userId) return notFound(reply, id);
    if (!s.t.scope.includes('threads_manage_insights')) return sendGraphError(reply, 403, { message: '(#10) Application does not have permission for this action (threads_manage_insights)', code: 10 });
    const metrics = (s.params.metric ?? '').split(',').filter(Boolean);
    const bad = metrics.find((m) => !METRICS.includes(m));
    if (metrics.length === 0 || bad) return sendGraphError(reply, 400, { message: `(#100) metric must be a list of: ${METRICS.join(', ')}`, code: 100 });
    const { n, age } = engagement(p.id, p.createdAt);
    const values: Record<string, number> = {
      views: 10 * (n + 1) + age, likes: n + Math.floor(age / 10), replies: state.posts.filter((x) => x.replyTo === p.id).length, reposts: n % 3, quotes: n % 2, shares: n % 4,
    };
    return { data: metrics.map((name) => ({ name, period: 'lifetime', values: [{ value: values[name] }], title: name, description: name, id: `${p.id}/insights/${name}/lifetime` })) };
  });

  app.get('/:version/:id', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { id } = req.params as { id: string };
    const c = getContainer(state, id);
    if (c && c.userId === s.t.userId) {
      const status = readContainerStatus(state, c);
      return pick({ id: c.id, status, ...(status === 'ERROR' ? { error_message: c.error } : {}) }, s.params.fields, ['id', 'status']);
    }
    const r = replyById(id);
    if (r && !r.own) return r.ownerId === s.t.userId ? replyJson(r, s.params.fields) : notFound(reply, id);
    const p = state.posts.find((x) => x.id === id);
    if (p) return postFields(p, s.params.fields);
    return notFound(reply, id);
  });

  app.get('/avatars/:file', async (_req, reply) => reply.type('image/jpeg').send(SAMPLE_JPEG));
  app.get('/t/:code', async (req, reply) => {
    const code = (req.params as { code: string }).code;
    const p = state.posts.find((x) => shortcode(x.id) === code);
    if (!p) return reply.status(404).type('text/html').send('<h1>Sorry, this page isn\'t available</h1>');
    const esc = (t: string) => t.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Threads post</title><p>${esc(p.text)}</p><p><small>${p.createdAt}</small></p>`);
  });
}

/**
 * A mention as Threads shows it: someone's post naming the profile (a SimInbox item of kind mention). With a
 * postId it replies to that post of the profile (parentId: the reply it answers), so its root is the profile's.
 */
function threadsMentionJson(state: NetworkState, id: string, base: string): Record<string, unknown> {
  const i = state.inbox.items.get(id)!;
  const root = i.postId ? state.posts.find((p) => p.id === i.postId) : undefined;
  return {
    id: i.id, text: i.text, username: i.author.username, permalink: `${base}/t/${Buffer.from(i.id).toString('base64url')}`, timestamp: graphTime(i.createdAt),
    media_type: 'TEXT_POST', is_reply: !!root,
    ...(root ? { replied_to: { id: i.parentId ?? root.id }, root_post: { id: root.id, owner_id: root.userId, username: state.user(root.userId).username } } : {}),
  };
}

/**
 * The Threads webhook Meta would send about a reply under the profile's post (`replies`) or a mention of it
 * (`mentions`; its payload is UNCONFIRMED, taken to be the same media object): one notification, as the
 * webhooks page shows it. Tests sign it with the Threads app secret.
 */
export function threadsNotification(state: NetworkState, itemId: string, base: string): Record<string, unknown> {
  const i = state.inbox.items.get(itemId);
  if (!i) throw new Error(`the simulator has no Threads item ${itemId}`);
  const field = i.kind === 'mention' ? 'mentions' : 'replies';
  const value = i.kind === 'mention' ? threadsMentionJson(state, i.id, base) : (() => {
    const root = state.posts.find((p) => p.id === i.postId)!;
    return {
      id: i.id, username: i.author.username, text: i.text, media_type: 'TEXT_POST', permalink: `${base}/t/${Buffer.from(i.id).toString('base64url')}`,
      replied_to: { id: i.parentId ?? root.id }, root_post: { id: root.id, owner_id: root.userId, username: state.user(root.userId).username },
      shortcode: Buffer.from(i.id).toString('base64url'), timestamp: graphTime(i.createdAt),
    };
  })();
  return { app_id: 'th-app', topic: 'moderate', target_id: i.userId, time: Math.floor(Date.parse(i.createdAt) / 1000), subscription_id: '234567', has_uid_field: false, values: { value, field } };
}
