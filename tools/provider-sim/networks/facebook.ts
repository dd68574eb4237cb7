// Facebook Pages as the Graph API serves them (see ../../../src/providers/facebook.ts for the doc URLs).
// Paths carry the version, as on www.facebook.com and graph.facebook.com:
//   GET    /{v}/dialog/oauth                       consent → redirect ?code&state#_=_ (login_hint picks the user)
//   GET    /{v}/oauth/access_token                 code → short-lived user token; grant_type=fb_exchange_token → long-lived
//   GET    /{v}/me · /{v}/me/permissions           the token's user (or Page) · granted permissions
//   GET    /{v}/me/accounts                        the user's Pages with Page tokens (cursor paging, limit ≤ 100)
//   DELETE /{v}/{user-id}/permissions[/{perm}]     revoke all (de-authorise the app) or one permission
//   POST   /{v}/{page-id}/feed                     message, link, attached_media[i]={"media_fbid":…} → { id }
//   POST   /{v}/{page-id}/photos                   url | multipart source, caption, published → { id, post_id }
//   POST   /{v}/{object-id}/comments               message, attachment_url | source → { id }
//   GET    /{v}/{object-id}/comments · /{v}/{page-id}/published_posts · /{v}/{page-id}/tagged · /{v}/{post-id}/insights · /{v}/{id}
//   POST   /{v}/{page-id}/video_reels              upload_phase=start → { video_id, upload_url }; finish (video_id,
//                                                  video_state=PUBLISHED, description) → { success } (30 a day per Page)
//   POST   /video-upload/{v}/{video-id}            (rupload) Authorization: OAuth …, offset, file_size, raw bytes → { success }
//   GET    /{v}/{video-id}?fields=status           video_status and the uploading, processing and publishing phases; after
//                                                  finish a Reel is processing at its first status read, then published
//                                                  (meta-common.ts, PROCESSING_READS; the holdProcessing knob holds it)
//   GET    /{v}/{object-id}/comments               filter=toplevel|stream, order, fields, limit, after: comments and replies, the
//                                                  Page's own and what people wrote (the shared SimInbox: items whose userId is
//                                                  the Page and postId one of its posts); deleted ones are not listed, hidden ones are
//   GET    /{v}/{comment-id}                       id, message, from, parent, is_hidden, user_likes (as the Page sees it)
//   POST   /{v}/{comment-id}                       is_hidden=true|false (another's comment under the Page's post) → { success }
//   DELETE /{v}/{comment-id}                       the Page's own comment or anyone's under its posts → { success }
//   POST · DELETE /{v}/{comment-id}/likes          like or unlike as the Page → { success }
// The inbox reads (comments, published_posts) spend the inbox knobs: inboxRateLimitAfter (Graph's Page throttling,
// code 80001, once), inboxExpireTokensAfter (every token expires: code 190) and inboxPageSize (caps limit).
// The user "u1" (default) has three Pages, one of them without the CREATE_CONTENT task; "agency" has 105.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NetworkState, SimNetworkContext, SimPost, SimToken } from '../core.ts';
import {
  LONG_LIVED_SECONDS, PROCESSING_READS, SAMPLE_JPEG, appLimit, clientOk, consent, engagement, fetchMedia, fieldNames, graphTime, issueToken, metaStyle, metaUser, pick,
  readParams, requireToken, sendGraphError, sniff, tokenInfo, versionOk, type Upload,
} from './meta-common.ts';

interface SimPage {
  id: string;
  name: string;
  username?: string;
  ownerId: string;
  tasks: string[];
}

interface SimPhoto {
  published: boolean;
  attachedTo?: string;
}

const ALL_TASKS = ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'];
const MAX_MESSAGE = 63_206;
const MAX_PHOTO_BYTES = 4 * 1024 * 1024;
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/bmp', 'image/tiff'];
const NEED_POSTING = '(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission';
const REELS_PER_DAY = 30;

/** A Reel's upload session: the bytes arrive on rupload, then finish publishes it once processed. */
interface SimReel {
  id: string;
  pageId: string;
  bytes?: Buffer;
  /** Set by finish (it counts towards the 30 a day): the Reel is published when processing is over (or fails then). */
  finishedAt?: number;
  /** Status reads after finish still to be answered as processing (see PROCESSING_READS). */
  readsLeft: number;
  description?: string;
  error?: string;
}

export function registerFacebook(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  // Pages and photo details live beside core's state (users persist across resets there too).
  const pagesByUser = new Map<string, SimPage[]>();
  const pages = new Map<string, SimPage>();
  const photos = new WeakMap<object, SimPhoto>();
  const reels = new Map<string, SimReel>();

  const pagesOf = (userId: string, hint: string): SimPage[] => {
    let list = pagesByUser.get(userId);
    if (!list) {
      const make = (name: string, tasks = ALL_TASKS, username?: string): SimPage => {
        const p: SimPage = { id: state.nextId(), name, ownerId: userId, tasks, ...(username ? { username } : {}) };
        pages.set(p.id, p);
        return p;
      };
      list = hint === 'agency'
        ? Array.from({ length: 105 }, (_, i) => make(`Client Page ${i + 1}`))
        : [make(`${hint} Bakery`, ALL_TASKS, `${hint}bakery`), make(`${hint} Books`), make(`${hint} Archive`, ['ANALYZE'])];
      pagesByUser.set(userId, list);
    }
    return list;
  };
  const userOf = (hint: string) => {
    const u = metaUser(state, '1000', hint);
    pagesOf(u.id, hint);
    return u;
  };

  const pageStyle = (t: SimToken) => {
    const pageId = tokenInfo(t)?.pageId;
    // Page tokens fall under Business Use Case limits (reported per Page), user tokens under platform limits.
    return pageId
      ? metaStyle({ code: 80001, message: '(#80001) There have been too many calls to this Page account. Wait a bit and try again.', buc: { id: pageId, type: 'pages' } })
      : appLimit;
  };
  const start = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!versionOk(req, reply)) return null;
    const { params, files } = await readParams(req);
    const t = requireToken(state, req, reply, params);
    return t ? { params, files, t } : null;
  };
  /** A write as the Page: its own Page token and the permissions the call needs. */
  const asPage = (reply: FastifyReply, t: SimToken, pageId: string, scopes: string[], denied: string): SimPage | null => {
    const page = pages.get(pageId);
    if (!page) {
      sendGraphError(reply, 400, { message: `Unsupported post request. Object with ID '${pageId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
      return null;
    }
    if (tokenInfo(t)?.pageId !== pageId || !scopes.every((s) => t.scope.includes(s))) {
      sendGraphError(reply, 403, { message: denied, code: 200 });
      return null;
    }
    if (!page.tasks.includes('CREATE_CONTENT')) {
      sendGraphError(reply, 403, { message: '(#200) The user does not have the CREATE_CONTENT task on this Page', code: 200 });
      return null;
    }
    return page;
  };
  const permalink = (id: string) => ctx.url(`/posts/${id}`);
  const commentsOf = (id: string) => state.posts.filter((p) => p.replyTo === id);
  /** Comments the Page liked among its own (people's comments keep it on their SimInbox item). */
  const likedOwn = new Set<string>();

  /** A comment as Graph shows it: the Page's own (a SimPost answering something) or someone's (a SimInbox item). */
  interface SimComment { id: string; pageId: string; postId: string; parentId: string | null; from: { id: string; name: string }; text: string; createdAt: string; hidden: boolean; liked: boolean; own: boolean }
  /** The post a comment is under, following the comments it answers: a Page's own post, or a Page's post that tags a Page (a mention). */
  const rootPostOf = (id: string): string | undefined => {
    for (let hops = 0, cur: string | undefined = id; cur && hops < 100; hops++) {
      const p = state.posts.find((x) => x.id === cur);
      if (p && !p.replyTo) return p.id;
      if (p) { cur = p.replyTo; continue; }
      const item = state.inbox.items.get(cur);
      if (item && !item.deleted && item.kind === 'mention' && !item.postId && byPage(item)) return item.id;
      return item && !item.deleted && item.postId ? item.postId : undefined;
    }
    return undefined;
  };
  /** A mention item written by a Page (its author's id starts with "page-"): Graph gives its `from`, and a Page can comment on it. */
  const byPage = (i: { author: { id: string } }) => i.author.id.startsWith('page-');
  /** The Page a post belongs to: its own post's author, or the Page a mention tags. */
  const pageOfRoot = (root: string): string | undefined => state.posts.find((p) => p.id === root)?.userId ?? state.inbox.items.get(root)?.userId;
  const allComments = (): SimComment[] => {
    const out: SimComment[] = [];
    for (const i of state.inbox.items.values()) {
      if (i.kind !== 'comment' || i.deleted || !i.postId || !pages.has(i.userId)) continue;
      out.push({ id: i.id, pageId: i.userId, postId: i.postId, parentId: i.parentId, from: { id: i.author.id, name: i.author.name }, text: i.text, createdAt: i.createdAt, hidden: i.hidden, liked: i.liked, own: false });
    }
    for (const p of state.posts) {
      const page = pages.get(p.userId);
      const root = p.replyTo ? rootPostOf(p.replyTo) : undefined;
      if (!page || !root) continue;
      out.push({ id: p.id, pageId: page.id, postId: root, parentId: p.replyTo === root ? null : p.replyTo!, from: { id: page.id, name: page.name }, text: p.text, createdAt: p.createdAt, hidden: false, liked: likedOwn.has(p.id), own: true });
    }
    return out.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  };
  const commentById = (id: string) => allComments().find((c) => c.id === id);
  const commentJson = (c: SimComment, fields: string | undefined) => pick({
    id: c.id, message: c.text, created_time: graphTime(c.createdAt), from: c.from, ...(c.parentId ? { parent: { id: c.parentId } } : {}),
    is_hidden: c.hidden, can_hide: !c.own, user_likes: c.liked, permalink_url: permalink(c.id),
  }, fields, ['id', 'message', 'created_time', 'from']);
  /** The inbox reads' own knobs, before the token is looked at (an expiry applies to this very read). */
  const inboxExpiry = () => {
    const k = state.knobs;
    if (k.inboxExpireTokensAfter === 0) {
      k.inboxExpireTokensAfter = -1;
      state.expireTokens();
    } else if (k.inboxExpireTokensAfter > 0) {
      k.inboxExpireTokensAfter--;
    }
  };
  const inboxThrottled = (reply: FastifyReply, t: SimToken): boolean => {
    const k = state.knobs;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      const r = pageStyle(t).rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers).send(r.body);
      return true;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return false;
  };
  const cursorOf = (i: number) => Buffer.from(String(i)).toString('base64url');
  /** A slice of a list with Graph's cursor paging (paging.next only when more follows). */
  const paged = <T>(req: FastifyRequest, params: Record<string, string>, list: T[], limit: number) => {
    const from = params.after ? Number(Buffer.from(params.after, 'base64url').toString()) || 0 : 0;
    const slice = list.slice(from, from + limit);
    const more = from + limit < list.length;
    const next = new URL(ctx.url(''));
    next.pathname = req.url.split('?')[0]!;
    if (more) {
      for (const [k, v] of Object.entries(params)) if (k !== 'access_token') next.searchParams.set(k, v);
      next.searchParams.set('after', cursorOf(from + limit));
    }
    return { slice, paging: { cursors: { before: cursorOf(from), after: cursorOf(from + slice.length) }, ...(more ? { next: next.toString() } : {}) } };
  };
  /** A moderation call as the Page on a comment under one of its posts: its Page token with pages_manage_engagement. */
  const moderate = async (req: FastifyRequest, reply: FastifyReply): Promise<{ c: SimComment; params: Record<string, string> } | null> => {
    const s = await start(req, reply);
    if (!s) return null;
    const { objectId } = req.params as { objectId: string };
    const c = commentById(objectId);
    if (!c || tokenInfo(s.t)?.pageId !== c.pageId) {
      sendGraphError(reply, 400, { message: `Unsupported request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
      return null;
    }
    if (!s.t.scope.includes('pages_manage_engagement')) {
      sendGraphError(reply, 403, { message: '(#200) Moderating comments as the Page requires a Page access token with the pages_manage_engagement permission', code: 200 });
      return null;
    }
    if (await ctx.interfere(reply, pageStyle(s.t))) return null;
    return { c, params: s.params };
  };

  /** An image from a URL (Facebook downloads it) or an upload, checked like the photo endpoints do. */
  const image = async (reply: FastifyReply, url: string | undefined, upload: Upload | undefined): Promise<{ bytes: number; type: string } | null> => {
    let bytes: Buffer;
    if (url) {
      const got = await fetchMedia(url);
      if (!got.ok) {
        sendGraphError(reply, 400, { message: `(#324) Missing or invalid image file: could not download ${url} (${got.reason})`, code: 324 });
        return null;
      }
      bytes = got.bytes;
    } else if (upload) {
      bytes = upload.buffer;
    } else {
      sendGraphError(reply, 400, { message: '(#324) Requires upload file', code: 324 });
      return null;
    }
    const type = sniff(bytes);
    if (!type || !PHOTO_TYPES.includes(type) || bytes.length > MAX_PHOTO_BYTES) {
      sendGraphError(reply, 400, {
        message: 'Invalid parameter', code: 100, subcode: 1366046,
        userMessage: "Your photos couldn't be uploaded. Photos should be less than 4 MB and saved as JPG, PNG, GIF, TIFF, HEIF or WebP files.",
      });
      return null;
    }
    return { bytes: bytes.length, type };
  };

  app.get('/:version/dialog/oauth', async (req, reply) => {
    if (!versionOk(req, reply)) return reply;
    const q = req.query as Record<string, string>;
    return consent(ctx, reply, q, () => userOf(q.login_hint || 'u1'), '#_=_');
  });

  app.get('/:version/oauth/access_token', async (req, reply) => {
    if (!versionOk(req, reply)) return reply;
    const q = req.query as Record<string, string>;
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (!clientOk(state, q.client_id, q.client_secret)) return sendGraphError(reply, 400, { message: 'Error validating client secret.', code: 1 });
    if (q.grant_type === 'fb_exchange_token') {
      const t = q.fb_exchange_token ? state.tokens.get(q.fb_exchange_token) : undefined;
      const info = t && tokenInfo(t);
      if (!t || !info || t.revoked || t.expiresAt < Date.now() || info.kind === 'page' || info.clientId !== q.client_id) {
        return sendGraphError(reply, 400, { message: 'Error validating access token: the token to exchange is invalid or has expired.', code: 190 });
      }
      const long = issueToken(state, t.userId, t.scope, { kind: 'long', clientId: q.client_id! }, LONG_LIVED_SECONDS);
      return { access_token: long.accessToken, token_type: 'bearer', expires_in: LONG_LIVED_SECONDS };
    }
    const code = state.codes.get(q.code ?? '');
    if (!code || code.expiresAt < Date.now()) return sendGraphError(reply, 400, { message: 'Invalid verification code format.', code: 100, subcode: 36009 });
    if (code.clientId !== q.client_id) return sendGraphError(reply, 400, { message: 'Error validating verification code: the code was issued to another app.', code: 100 });
    const r = state.redeemCode(q.code!, q.redirect_uri ?? '');
    if (typeof r === 'string') {
      return sendGraphError(reply, 400, { message: 'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request', code: 100, subcode: 36008 });
    }
    const ttl = state.knobs.accessTokenTtlSeconds;
    const t = issueToken(state, r.userId, r.scope, { kind: 'short', clientId: q.client_id! }, ttl);
    return { access_token: t.accessToken, token_type: 'bearer', expires_in: ttl };
  });

  app.get('/:version/me', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    if (await ctx.interfere(reply, pageStyle(s.t))) return reply;
    const pageId = tokenInfo(s.t)?.pageId;
    const page = pageId ? pages.get(pageId) : undefined;
    const u = state.user(s.t.userId);
    return pick(page ? { id: page.id, name: page.name } : { id: u.id, name: u.name }, s.params.fields, ['id', 'name']);
  });

  app.get('/:version/me/permissions', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    return { data: s.t.scope.map((permission) => ({ permission, status: 'granted' })) };
  });

  app.get('/:version/me/accounts', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const info = tokenInfo(s.t);
    if (!info || info.kind === 'page') return sendGraphError(reply, 400, { message: '(#100) Tried accessing nonexisting field (accounts) on node type (Page)', code: 100 });
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (!s.t.scope.includes('pages_show_list')) return sendGraphError(reply, 403, { message: '(#200) Requires pages_show_list permission to manage the object', code: 200 });
    const list = pagesByUser.get(s.t.userId) ?? [];
    const limit = Math.min(100, Math.max(1, Number(s.params.limit) || 25));
    const from = s.params.after ? Number(Buffer.from(s.params.after, 'base64url').toString()) : 0;
    const slice = list.slice(from, from + limit);
    const data = slice.map((p) => {
      // Page tokens from a long-lived user token do not expire; from a short-lived one they end with it.
      const pt = issueToken(state, s.t.userId, s.t.scope, { kind: 'page', clientId: info.clientId, pageId: p.id },
        info.kind === 'long' ? 100 * 365 * 24 * 3600 : Math.max(0, Math.floor((s.t.expiresAt - Date.now()) / 1000)));
      return pick({
        id: p.id, name: p.name, username: p.username, access_token: pt.accessToken, tasks: p.tasks, category: 'Local business',
        picture: { data: { url: ctx.url(`/pictures/${p.id}.jpg`), width: 200, height: 200, is_silhouette: false } },
      }, s.params.fields, ['id', 'name', 'access_token', 'category', 'tasks']);
    });
    const cursor = (i: number) => Buffer.from(String(i)).toString('base64url');
    const more = from + limit < list.length;
    const next = new URL(ctx.url(''));
    next.pathname = req.url.split('?')[0]!;
    if (more) {
      for (const [k, v] of Object.entries(s.params)) if (k !== 'access_token') next.searchParams.set(k, v);
      next.searchParams.set('after', cursor(from + limit));
    }
    return { data, paging: { cursors: { before: cursor(from), after: cursor(from + slice.length) }, ...(more ? { next: next.toString() } : {}) } };
  });

  // Revocation, as the person would do it from their settings or an app with their (or the app's) token.
  const revoke = async (req: FastifyRequest, reply: FastifyReply, permission?: string) => {
    if (!versionOk(req, reply)) return reply;
    const { params } = await readParams(req);
    const { userId } = req.params as { userId: string };
    const h = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const given = h?.[1] ?? params.access_token ?? '';
    const [appId, appSecret] = given.split('|');
    const appToken = appSecret !== undefined && state.apps.get(appId ?? '')?.clientSecret === appSecret;
    if (!appToken) {
      const t = requireToken(state, req, reply, params);
      if (!t) return reply;
      if (t.userId !== userId || tokenInfo(t)?.kind === 'page') return sendGraphError(reply, 403, { message: '(#200) Only the user or the app can revoke these permissions', code: 200 });
    }
    for (const t of state.tokens.values()) {
      if (t.userId !== userId) continue;
      if (permission) t.scope = t.scope.filter((s) => s !== permission);
      else t.revoked = true; // de-authorising the app kills every token, Page tokens included
    }
    return { success: true };
  };
  app.delete('/:version/:userId/permissions', (req, reply) => revoke(req, reply));
  app.delete('/:version/:userId/permissions/:permission', (req, reply) => revoke(req, reply, (req.params as { permission: string }).permission));

  /** The start of a publishing call as the Page: token, permissions, then the knobs. */
  const pageWrite = async (req: FastifyRequest, reply: FastifyReply) => {
    const s = await start(req, reply);
    if (!s) return null;
    const page = asPage(reply, s.t, (req.params as { pageId: string }).pageId, ['pages_manage_posts', 'pages_read_engagement'], NEED_POSTING);
    if (!page) return null;
    if (await ctx.interfere(reply, pageStyle(s.t))) return null;
    return { s, page };
  };

  app.post('/:version/:pageId/feed', async (req, reply) => {
    const w = await pageWrite(req, reply);
    if (!w) return reply;
    const { s, page } = w;
    const p = s.params;
    if (p.published === 'false' || p.published === '0') {
      return sendGraphError(reply, 400, { message: '(#100) The simulator publishes feed posts at once: unpublished and scheduled posts are not simulated', code: 100 });
    }
    const message = p.message ?? '';
    if (message.length > MAX_MESSAGE) return sendGraphError(reply, 400, { message: `(#100) The message is longer than ${MAX_MESSAGE} characters`, code: 100 });
    // attached_media as the documented attached_media[i] fields, or one JSON array.
    const attached: string[] = [];
    const raw = Object.entries(p).filter(([k]) => /^attached_media\[\d+\]$/.test(k)).sort(([a], [b]) => Number(a.slice(15, -1)) - Number(b.slice(15, -1))).map(([, v]) => v);
    if (p.attached_media) {
      try {
        raw.push(...(JSON.parse(p.attached_media) as unknown[]).map((x) => JSON.stringify(x)));
      } catch {
        return sendGraphError(reply, 400, { message: '(#100) param attached_media must be an array', code: 100 });
      }
    }
    for (const [i, item] of raw.entries()) {
      let fbid: unknown;
      try {
        fbid = (JSON.parse(item) as { media_fbid?: unknown }).media_fbid;
      } catch { /* reported below */ }
      const m = typeof fbid === 'string' ? state.media.get(fbid) : undefined;
      const info = m && photos.get(m);
      if (!m || !info || m.userId !== page.id || info.published || info.attachedTo) {
        return sendGraphError(reply, 400, { message: `(#100) param attached_media[${i}] must be an unpublished photo of this Page that is not attached yet`, code: 100 });
      }
      attached.push(fbid as string);
    }
    if (!message && !p.link && attached.length === 0) return sendGraphError(reply, 400, { message: '(#100) Missing message or attachment', code: 100 });
    const last = state.posts.filter((x) => x.userId === page.id && !x.replyTo).at(-1);
    if (attached.length === 0 && message && last && last.text === message && last.media.length === 0) {
      return sendGraphError(reply, 400, { message: '(#506) Duplicate status message', code: 506 });
    }
    const id = `${page.id}_${state.nextId()}`;
    for (const a of attached) photos.get(state.media.get(a)!)!.attachedTo = id;
    state.posts.push({ id, userId: page.id, text: message, media: attached, createdAt: new Date().toISOString(), raw: p });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  app.post('/:version/:pageId/photos', async (req, reply) => {
    const w = await pageWrite(req, reply);
    if (!w) return reply;
    const { s, page } = w;
    const img = await image(reply, s.params.url, s.files.source);
    if (!img) return reply;
    const published = s.params.published !== 'false' && s.params.published !== '0';
    const id = state.nextId();
    state.media.set(id, { id, userId: page.id, mimeType: img.type, bytes: img.bytes, state: 'ready' });
    photos.set(state.media.get(id)!, { published });
    if (!published) return { id };
    const postId = `${page.id}_${id}`;
    state.posts.push({ id: postId, userId: page.id, text: s.params.caption ?? s.params.message ?? '', media: [id], createdAt: new Date().toISOString(), raw: s.params });
    if (await ctx.maybeHang(reply)) return reply;
    return { id, post_id: postId };
  });

  const findObject = (id: string): SimPost | undefined => state.posts.find((p) => p.id === id);

  app.post('/:version/:objectId/comments', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { objectId } = req.params as { objectId: string };
    // A mention: a Page's post that tags the Page can be commented on ("New Pages can comment as a Page on new Pages or
    // classic Pages", Object Comments); a person's post is refused here, Graph documenting no Page comment there.
    const mention = state.inbox.items.get(objectId);
    const onMention = mention?.kind === 'mention' && !mention.deleted && !mention.postId && byPage(mention);
    const target = findObject(objectId) ?? commentById(objectId) ?? (onMention ? mention : undefined);
    if (!target) {
      return sendGraphError(reply, 400, { message: `Unsupported post request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
    }
    const pageId = tokenInfo(s.t)?.pageId;
    if (!pageId || !s.t.scope.includes('pages_manage_engagement')) {
      return sendGraphError(reply, 403, { message: '(#200) Commenting as the Page requires a Page access token with the pages_manage_engagement permission', code: 200 });
    }
    if (await ctx.interfere(reply, pageStyle(s.t))) return reply;
    const media: string[] = [];
    if (s.params.attachment_url || s.files.source) {
      const img = await image(reply, s.params.attachment_url, s.files.source);
      if (!img) return reply;
      const mid = state.nextId();
      state.media.set(mid, { id: mid, userId: pageId, mimeType: img.type, bytes: img.bytes, state: 'ready' });
      media.push(mid);
    }
    if (!s.params.message && media.length === 0) return sendGraphError(reply, 400, { message: '(#100) Missing message or attachment', code: 100 });
    const id = `${objectId.split('_').at(-1)}_${state.nextId()}`;
    state.posts.push({ id, userId: pageId, text: s.params.message ?? '', media, replyTo: objectId, createdAt: new Date().toISOString(), raw: s.params });
    if (await ctx.maybeHang(reply)) return reply;
    return { id };
  });

  const listItem = (p: SimPost, fields: string | undefined) => pick({
    id: p.id, message: p.text || undefined, created_time: graphTime(p.createdAt), permalink_url: permalink(p.id),
    from: { id: p.userId, name: pages.get(p.userId)?.name ?? p.userId },
  }, fields, ['id', 'message', 'created_time']);

  app.get('/:version/:objectId/comments', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    const { objectId } = req.params as { objectId: string };
    const post = findObject(objectId);
    const root = post && !post.replyTo ? post.id : rootPostOf(objectId);
    const pageId = root ? pageOfRoot(root) : undefined;
    if (!root || !pageId) return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${objectId}' does not exist`, code: 100, subcode: 33 });
    if (inboxThrottled(reply, s.t)) return reply;
    // Comment ids and authors are given to the Page's own token (the MODERATE task); the simulator asks for its read permission.
    if (tokenInfo(s.t)?.pageId !== pageId || !s.t.scope.includes('pages_read_engagement')) {
      return sendGraphError(reply, 403, { message: '(#10) This endpoint requires the pages_read_engagement permission and a Page access token of the Page', code: 10 });
    }
    const under = allComments().filter((c) => c.postId === root);
    // toplevel (the default): the object's direct comments; stream: every comment under it, replies included.
    let list = s.params.filter === 'stream'
      ? (objectId === root ? under : under.filter((c) => { for (let p = c.parentId; p; p = commentById(p)?.parentId ?? null) if (p === objectId) return true; return false; }))
      : under.filter((c) => (objectId === root ? c.parentId === null : c.parentId === objectId));
    if (s.params.order === 'reverse_chronological') list = [...list].reverse();
    const limit = Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize);
    const { slice, paging } = paged(req, s.params, list, limit);
    return { data: slice.map((c) => commentJson(c, s.params.fields)), paging };
  });

  app.post('/:version/:objectId', async (req, reply) => {
    const m = await moderate(req, reply);
    if (!m) return reply;
    if (m.params.is_hidden === undefined) return sendGraphError(reply, 400, { message: '(#100) The simulator updates only is_hidden of a comment', code: 100 });
    if (m.c.own) return sendGraphError(reply, 400, { message: '(#100) The Page cannot hide its own comment', code: 100 });
    state.inbox.change(m.c.id, { hidden: m.params.is_hidden === 'true' || m.params.is_hidden === '1' });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });

  app.delete('/:version/:objectId', async (req, reply) => {
    const m = await moderate(req, reply);
    if (!m) return reply;
    if (m.c.own) state.posts.splice(state.posts.findIndex((p) => p.id === m.c.id), 1);
    else state.inbox.change(m.c.id, { deleted: true });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });

  const like = async (req: FastifyRequest, reply: FastifyReply, on: boolean) => {
    const m = await moderate(req, reply);
    if (!m) return reply;
    if (m.c.own) {
      if (on) likedOwn.add(m.c.id);
      else likedOwn.delete(m.c.id);
    } else {
      state.inbox.items.get(m.c.id)!.liked = on;
    }
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  };
  app.post('/:version/:objectId/likes', (req, reply) => like(req, reply, true));
  app.delete('/:version/:objectId/likes', (req, reply) => like(req, reply, false));

  app.post('/:version/:pageId/video_reels', async (req, reply) => {
    const w = await pageWrite(req, reply);
    if (!w) return reply;
    const { s, page } = w;
    const p = s.params;
    if (p.upload_phase === 'start') {
      const id = state.nextId();
      reels.set(id, { id, pageId: page.id, readsLeft: 0 });
      return { video_id: id, upload_url: ctx.url(`/video-upload/${(req.params as { version: string }).version}/${id}`) };
    }
    if (p.upload_phase !== 'finish') return sendGraphError(reply, 400, { message: '(#100) upload_phase must be one of start, finish', code: 100 });
    const reel = reels.get(p.video_id ?? '');
    if (!reel || reel.pageId !== page.id) return sendGraphError(reply, 400, { message: '(#100) Invalid video_id', code: 100 });
    if (!reel.bytes) return sendGraphError(reply, 400, { message: '(#6000) There was a problem uploading your video file. Please try again with another file.', code: 6000, subcode: 1363130 });
    if (p.video_state !== 'PUBLISHED') return sendGraphError(reply, 400, { message: '(#100) The simulator publishes Reels at once: video_state must be PUBLISHED', code: 100 });
    if ((p.description ?? '').length > MAX_MESSAGE) return sendGraphError(reply, 400, { message: `(#100) The description is longer than ${MAX_MESSAGE} characters`, code: 100 });
    const today = [...reels.values()].filter((r) => r.pageId === page.id && r.finishedAt && r.finishedAt > Date.now() - 24 * 3600_000).length;
    if (today >= REELS_PER_DAY) return sendGraphError(reply, 400, { message: `(#100) This Page published ${REELS_PER_DAY} Reels through the API in 24 hours, the limit`, code: 100 });
    if (reel.finishedAt) return { success: true };
    reel.finishedAt = Date.now();
    reel.readsLeft = PROCESSING_READS.video;
    reel.description = p.description ?? '';
    if (sniff(reel.bytes) !== 'video/mp4') reel.error = 'The video file you selected is in a format that we don\'t support.';
    else state.posts.push({ id: reel.id, userId: page.id, text: reel.description, media: [reel.id], createdAt: new Date().toISOString(), raw: { ...p, reel: 'true' } });
    if (await ctx.maybeHang(reply)) return reply;
    return { success: true };
  });

  // rupload.facebook.com: the Reel's bytes, with the token in an OAuth header (reels-publishing guide).
  app.register(async (s) => {
    s.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    s.post('/video-upload/:version/:videoId', async (req, reply) => {
      const auth = /^OAuth (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      const t = auth ? state.tokens.get(auth) : undefined;
      if (!t || (t.expiresAt !== undefined && t.expiresAt < Date.now())) return reply.status(401).send({ debug_info: { type: 'OAuthException', message: 'Invalid OAuth access token' } });
      const reel = reels.get((req.params as { videoId: string }).videoId);
      if (!reel || tokenInfo(t)?.pageId !== reel.pageId) return reply.status(400).send({ debug_info: { type: 'NotFoundError', message: 'Unknown video id' } });
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const offset = Number(req.headers.offset);
      const size = Number(req.headers.file_size);
      if (!Number.isInteger(offset) || !Number.isInteger(size)) return reply.status(400).send({ debug_info: { type: 'ParameterValidationError', message: 'HeaderValuePredicate: Header Offset not convertable to unsigned long' } });
      if (offset !== 0 || size !== body.length) return reply.status(400).send({ debug_info: { type: 'ParameterValidationError', message: `file_size ${size} at offset ${offset} does not match the ${body.length} bytes sent` } });
      reel.bytes = body;
      return { success: true };
    });
  });

  // Posts tagging the Page: SimInbox items of kind mention addressed to it, newest first; a person's post comes
  // without `from`, as Graph withholds it from anyone but its author; another Page's (author id "page-…") with it.
  app.get('/:version/:pageId/tagged', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    if (inboxThrottled(reply, s.t)) return reply;
    const { pageId } = req.params as { pageId: string };
    const page = pages.get(pageId);
    if (!page || tokenInfo(s.t)?.pageId !== pageId || page.ownerId !== s.t.userId) {
      return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${pageId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
    }
    const limit = Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize);
    // Posts only: a comment that @mentions the Page (a mention item under a post) is told by the `mention` webhook, not listed here.
    const list = [...state.inbox.items.values()].filter((i) => i.kind === 'mention' && !i.postId && i.userId === pageId && !i.deleted).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const { slice, paging } = paged(req, s.params, list, limit);
    return {
      data: slice.map((i) => pick({
        id: i.id, message: i.text, created_time: graphTime(i.createdAt), permalink_url: ctx.url(`/posts/${i.id}`), ...(byPage(i) ? { from: { id: i.author.id, name: i.author.name } } : {}),
      }, s.params.fields, ['id', 'message', 'created_time'])),
      paging,
    };
  });

  app.get('/:version/:pageId/published_posts', async (req, reply) => {
    inboxExpiry();
    const s = await start(req, reply);
    if (!s) return reply;
    if (inboxThrottled(reply, s.t)) return reply;
    const { pageId } = req.params as { pageId: string };
    const page = pages.get(pageId);
    if (!page || (tokenInfo(s.t)?.pageId ?? pageId) !== pageId || page.ownerId !== s.t.userId) {
      return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${pageId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
    }
    const since = Number(s.params.since) * 1000 || 0;
    const until = Number(s.params.until) * 1000 || Infinity;
    const limit = Math.min(100, Math.max(1, Number(s.params.limit) || 25), state.knobs.inboxPageSize);
    const list = state.posts.filter((p) => p.userId === pageId && !p.replyTo && Date.parse(p.createdAt) >= since && Date.parse(p.createdAt) <= until).reverse();
    const { slice, paging } = paged(req, s.params, list, limit);
    return { data: slice.map((p) => listItem(p, s.params.fields)), paging };
  });

  app.get('/:version/:objectId/insights', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { objectId } = req.params as { objectId: string };
    const post = findObject(objectId);
    if (!post || post.replyTo) return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${objectId}' does not exist`, code: 100, subcode: 33 });
    if (!s.t.scope.includes('read_insights')) return sendGraphError(reply, 403, { message: '(#10) This endpoint requires the read_insights permission', code: 10 });
    const { n, age } = engagement(post.id, post.createdAt);
    const values: Record<string, unknown> = {
      post_media_view: 10 * (n + 1) + age, post_total_media_view_unique: 8 * (n + 1) + Math.floor(age / 2),
      post_reactions_by_type_total: { like: n + Math.floor(age / 10), love: n % 2 }, post_clicks: n * 2,
    };
    const metrics = (s.params.metric ?? '').split(',').filter(Boolean);
    if (metrics.length === 0) return sendGraphError(reply, 400, { message: 'No metric was specified to be fetched. Please specify one or more metrics to be fetched and try again.', code: 3001, subcode: 1504028 });
    const bad = metrics.find((m) => !(m in values));
    if (bad) return sendGraphError(reply, 400, { message: `(#100) The value must be a valid insights metric (${bad})`, code: 100 });
    return {
      data: metrics.map((name) => ({ name, period: 'lifetime', values: [{ value: values[name] }], title: name, description: name, id: `${objectId}/insights/${name}/lifetime` })),
      paging: {},
    };
  });

  /**
   * A Reel's status as GET /{video-id}?fields=status shows it. Processing after finish is counted in status
   * reads, not in milliseconds, as for Instagram and Threads containers (meta-common.ts, PROCESSING_READS).
   */
  const reelStatus = (reel: SimReel) => {
    const processed = reel.finishedAt !== undefined && reel.readsLeft <= 0;
    const processing = !reel.finishedAt ? 'not_started' : reel.error && processed ? 'error' : processed ? 'complete' : 'in_progress';
    return {
      video_status: processing === 'error' ? 'error' : processing === 'complete' ? 'ready' : reel.bytes ? 'processing' : 'upload_pending',
      uploading_phase: { status: reel.bytes ? 'complete' : 'not_started', bytes_transferred: reel.bytes?.length ?? 0 },
      processing_phase: { status: processing, ...(processing === 'error' ? { errors: [{ code: 1363008, message: reel.error }] } : {}) },
      publishing_phase: { status: processing === 'complete' ? 'complete' : reel.finishedAt && processing !== 'error' ? 'in_progress' : 'not_started', ...(processing === 'complete' ? { publish_status: 'published' } : {}) },
    };
  };

  /** A read that asks for the status: the answer is what processing shows now, then processing advances by one read (unless held). */
  const readReelStatus = (reel: SimReel) => {
    const status = reelStatus(reel);
    if (reel.finishedAt !== undefined && reel.readsLeft > 0 && !state.knobs.holdProcessing) reel.readsLeft--;
    return status;
  };

  app.get('/:version/:objectId', async (req, reply) => {
    const s = await start(req, reply);
    if (!s) return reply;
    const { objectId } = req.params as { objectId: string };
    const f = s.params.fields;
    const wantsStatus = fieldNames(f)?.has('status') ?? false;
    const comment = commentById(objectId);
    if (comment && (comment.own || !findObject(objectId))) {
      if (tokenInfo(s.t)?.pageId !== comment.pageId) return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
      return commentJson(comment, f);
    }
    const page = pages.get(objectId);
    if (page) {
      return pick({
        id: page.id, name: page.name, username: page.username, link: `https://www.facebook.com/${page.id}`, fan_count: 0, followers_count: state.posts.filter((p) => p.userId === page.id).length,
        picture: { data: { url: ctx.url(`/pictures/${page.id}.jpg`) } },
      }, f, ['id', 'name']);
    }
    const post = findObject(objectId);
    const reel = reels.get(objectId);
    if (post) {
      const { n, age } = engagement(post.id, post.createdAt);
      const shares = n % 3;
      return pick({
        id: post.id, message: post.text || undefined, created_time: graphTime(post.createdAt), permalink_url: permalink(post.id),
        ...(reel && wantsStatus ? { status: readReelStatus(reel) } : {}),
        ...(post.replyTo ? {} : {
          reactions: { data: [], summary: { total_count: n + Math.floor(age / 10), viewer_reaction: 'NONE' } },
          comments: { data: [], summary: { total_count: commentsOf(post.id).length, order: 'ranked', can_comment: true } },
          ...(shares ? { shares: { count: shares } } : {}),
        }),
      }, f, ['id', 'created_time', 'message']);
    }
    if (reel) return pick({ id: reel.id, ...(wantsStatus ? { status: readReelStatus(reel) } : {}) }, f, ['id']);
    const photo = state.media.get(objectId);
    if (photo) return pick({ id: photo.id, link: permalink(photo.id), created_time: graphTime(Date.now()) }, f, ['id']);
    return sendGraphError(reply, 400, { message: `Unsupported get request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, code: 100, subcode: 33 });
  });

  app.get('/posts/:id', async (req, reply) => {
    const p = findObject((req.params as { id: string }).id);
    if (!p) return reply.status(404).type('text/html').send('<h1>This content isn\'t available</h1>');
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>${esc(pages.get(p.userId)?.name ?? 'Page')}</title><p>${esc(p.text)}</p><p><small>${p.createdAt}</small></p>`);
  });
  app.get('/pictures/:file', async (_req, reply) => reply.type('image/jpeg').send(SAMPLE_JPEG));
}

/**
 * The Page webhook Meta would send about a comment of the simulated network (someone's, from the shared
 * SimInbox): `object: "page"`, one entry for the Page with a `feed` change of `item: "comment"`. Tests sign it
 * with the app secret (X-Hub-Signature-256) and post it to AllIN's callback. `verb`: add, edited, hide, unhide, remove.
 */
export function facebookCommentNotification(state: NetworkState, commentId: string, verb = 'add'): Record<string, unknown> {
  const c = state.inbox.items.get(commentId);
  if (!c || !c.postId) throw new Error(`the simulator has no Facebook comment ${commentId}`);
  const at = Math.floor(Date.parse(c.createdAt) / 1000);
  return {
    object: 'page',
    entry: [{
      id: c.userId, time: Math.floor(Date.now() / 1000),
      changes: [{
        field: 'feed',
        value: {
          item: 'comment', verb, comment_id: c.id, post_id: c.postId, parent_id: c.parentId ?? c.postId, created_time: at,
          from: { id: c.author.id, name: c.author.name }, ...(verb === 'remove' ? {} : { message: c.text }),
        },
      }],
    }],
  };
}

/**
 * The Page webhook Meta would send when the Page is @mentioned (a mention item of the shared SimInbox): the `mention`
 * field, `item: "post"` for a post, `item: "comment"` (with comment_id) for a comment under `postId` (the shape is
 * UNCONFIRMED, see src/providers/facebook/webhooks.ts).
 */
export function facebookMentionNotification(state: NetworkState, itemId: string): Record<string, unknown> {
  const i = state.inbox.items.get(itemId);
  if (!i || i.kind !== 'mention') throw new Error(`the simulator has no Facebook mention ${itemId}`);
  const at = Math.floor(Date.parse(i.createdAt) / 1000);
  return {
    object: 'page',
    entry: [{
      id: i.userId, time: Math.floor(Date.now() / 1000),
      changes: [{
        field: 'mention',
        value: {
          item: i.postId ? 'comment' : 'post', verb: 'add', post_id: i.postId ?? i.id, ...(i.postId ? { comment_id: i.id } : {}),
          message: i.text, sender_id: i.author.id, sender_name: i.author.name, created_time: at,
        },
      }],
    }],
  };
}
