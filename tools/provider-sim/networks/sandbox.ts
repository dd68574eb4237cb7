// The Sandbox network: AllIN's own practice network, so a new user can connect an account and publish
// without any real one. Its API is deliberately plain OAuth 2.0 (authorization code + PKCE S256,
// rotating refresh tokens, RFC 7009 revocation) and a small JSON posting API:
//   GET  /oauth/authorize         consents at once (or denies, with the denyConsent knob)
//   POST /oauth/token             authorization_code | refresh_token (form-encoded)
//   POST /oauth/revoke            token=… (form-encoded)
//   GET  /api/me                  { id, username, name, avatar_url }
//   GET  /api/me/stats            { followers_count, following_count, posts_count } (growing over time; none with the
//                                 profileCountsOmitted knob); needs the `profile` scope (else 403 { error: "insufficient_scope" })
//   GET  /api/me/insights?since=YYYY-MM-DD  the user's daily figures from `since` (at most 90 days back) to
//                                 yesterday (UTC days): { days: [{ date, followers, reach, impressions,
//                                 profile_views, engagement }] }; needs the `insights` scope (else 403
//                                 { error: "insufficient_scope" })
//   POST /api/media               multipart "file" → { id }
//   POST /api/posts               { text, media_ids?, reply_to? } + Idempotency-Key → 201 { id, url }
//   GET  /api/posts?since=ISO     the user's recent posts, newest first
//   GET  /api/posts/:id/metrics   { likes, reposts, replies, impressions }
//   GET  /api/inbox?cursor=&limit= what people said to the user (comments on its posts, replies to them,
//                                 mentions), a change feed: { items, next_cursor, has_more }; an edited,
//                                 deleted or hidden item comes again with its new state
//   POST /api/comments/:id/replies { text } + Idempotency-Key → 201 { id, url }: the user answers a comment or
//                                 a mention addressed to it (the answer comes in the inbox feed too, by the user)
//   GET  /api/comments/:id/replies the answers under a comment, oldest first: { replies: [{ id, url, text,
//                                 author_id, created_at, idempotency_key (the caller's own only) }] }
//   GET  /api/comments/:id        one comment or mention addressed to the user, as the user sees it: { id, deleted,
//                                 hidden, liked } (a deleted one answers too, as a tombstone); 404: not the user's
//   POST/DELETE /api/comments/:id/like  like it, or take the like back (either twice changes nothing) → { liked }
//   POST/DELETE /api/comments/:id/hide  hide from the public, or show again, a comment by someone else under the
//                                 user's own post (anything else: 403) → { hidden }
//   DELETE /api/comments/:id      delete the user's own answer, or a comment under the user's own post (anything
//                                 else: 403; one already deleted: 204 again)
//   GET  /p/:id                   the public page of a post (or of a comment)
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, simDay, simDayInsights, type ErrorStyle, type SimNetworkContext, type SimToken } from '../core.ts';
import type { SimInboxItem } from '../inbox.ts';

const style: ErrorStyle = {
  rateLimited: (s) => ({ status: 429, headers: { 'retry-after': String(s) }, body: { error: 'rate_limited', message: 'Too many requests' } }),
  serverError: () => ({ status: 500, body: { error: 'server_error', message: 'Something broke' } }),
};

export function registerSandbox(ctx: SimNetworkContext): void {
  const { app, state } = ctx;

  const auth = (req: FastifyRequest, reply: FastifyReply): SimToken | null => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      reply.status(401).header('www-authenticate', `Bearer error="invalid_token"`).send({ error: 'invalid_token', message: `token ${t}` });
      return null;
    }
    return t;
  };

  app.get('/oauth/authorize', async (req, reply) => {
    const q = req.query as Record<string, string>;
    if (q.response_type !== 'code' || !q.client_id || !q.redirect_uri) return reply.status(400).send({ error: 'invalid_request' });
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the request');
      return reply.redirect(back.toString());
    }
    if (q.code_challenge && q.code_challenge_method !== 'S256') return reply.status(400).send({ error: 'invalid_request', message: 'S256 only' });
    const user = state.user(q.login_hint || 'u1');
    // The person may untick permissions on the consent page: those scopes are not granted.
    const scope = (q.scope ?? '').split(' ').filter((x) => x && !state.knobs.declineScopes.includes(x));
    back.searchParams.set('code', state.issueCode(user.id, q.client_id, q.redirect_uri, scope, q.code_challenge));
    return reply.redirect(back.toString());
  });

  app.post('/oauth/token', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, string>;
    if (await ctx.interfere(reply, style)) return reply;
    if (b.grant_type === 'authorization_code') {
      const r = state.redeemCode(b.code ?? '', b.redirect_uri ?? '', b.code_verifier);
      if (typeof r === 'string') return reply.status(400).send({ error: r });
      const t = state.issueToken(r.userId, r.scope);
      return { token_type: 'bearer', access_token: t.accessToken, refresh_token: t.refreshToken, expires_in: state.knobs.accessTokenTtlSeconds, scope: r.scope.join(' ') };
    }
    if (b.grant_type === 'refresh_token') {
      const t = state.refreshToken(b.refresh_token ?? '');
      if (!t) return reply.status(400).send({ error: 'invalid_grant', error_description: 'refresh token invalid or already used' });
      return { token_type: 'bearer', access_token: t.accessToken, refresh_token: t.refreshToken, expires_in: state.knobs.accessTokenTtlSeconds, scope: t.scope.join(' ') };
    }
    return reply.status(400).send({ error: 'unsupported_grant_type' });
  });

  app.post('/oauth/revoke', async (req) => {
    const token = ((req.body ?? {}) as Record<string, string>).token ?? '';
    const t = state.tokens.get(token) ?? state.refresh.get(token);
    if (t) t.revoked = true;
    return {}; // RFC 7009: 200 whether or not the token was known
  });

  app.get('/api/me', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const u = state.user(t.userId);
    return { id: u.id, username: u.username, name: u.name, avatar_url: ctx.url(`/avatar/${u.id}.png`) };
  });

  app.get('/api/me/stats', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (!t.scope.includes('profile')) return reply.status(403).send({ error: 'insufficient_scope', message: 'This token was not granted the profile scope' });
    if (await ctx.interfere(reply, style)) return reply;
    if (state.knobs.profileCountsOmitted) return {};
    const a = simAudience(t.userId, Date.now());
    return { followers_count: a.followers, following_count: a.following, posts_count: state.posts.filter((p) => p.userId === t.userId).length };
  });

  app.get('/api/me/insights', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (!t.scope.includes('insights')) return reply.status(403).send({ error: 'insufficient_scope', message: 'This token was not granted the insights scope' });
    if (await ctx.interfere(reply, style)) return reply;
    const since = String((req.query as Record<string, string>).since ?? '');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(since) || Number.isNaN(Date.parse(since))) return reply.status(400).send({ error: 'invalid_request', message: 'since must be a day, YYYY-MM-DD' });
    const today = Date.parse(`${simDay(Date.now())}T00:00:00Z`);
    const days = [];
    for (let d = Math.max(Date.parse(`${since}T00:00:00Z`), today - 90 * 86_400_000); d < today; d += 86_400_000) {
      const date = simDay(d);
      const i = simDayInsights(t.userId, date);
      days.push({ date, followers: simAudience(t.userId, d + 86_399_999).followers, reach: i.reach, impressions: i.impressions, profile_views: i.profileViews, engagement: i.engagement });
    }
    return { days };
  });

  app.post('/api/media', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const file = await req.file();
    if (!file) return reply.status(400).send({ error: 'invalid_request', message: 'multipart field "file" is required' });
    const buf = await file.toBuffer();
    const id = `m${state.nextId()}`;
    state.media.set(id, { id, userId: t.userId, mimeType: file.mimetype, bytes: buf.length, state: 'ready' });
    return reply.status(201).send({ id });
  });

  app.post('/api/posts', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    const b = (req.body ?? {}) as { text?: unknown; media_ids?: unknown; reply_to?: unknown };
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && !state.knobs.ignoreIdempotencyKey) {
      const seen = state.posts.find((p) => p.key === key && p.userId === t.userId);
      if (seen) return reply.status(201).send({ id: seen.id, url: ctx.url(`/p/${seen.id}`) });
    }
    if (await ctx.interfere(reply, style)) return reply;
    if (typeof b.text !== 'string' || b.text.length === 0 || [...b.text].length > 1000) {
      return reply.status(422).send({ error: 'invalid_post', message: 'text must be 1 to 1000 characters' });
    }
    const mediaIds = Array.isArray(b.media_ids) ? b.media_ids.map(String) : [];
    if (mediaIds.some((m) => state.media.get(m)?.userId !== t.userId)) return reply.status(422).send({ error: 'invalid_post', message: 'unknown media id' });
    if (b.reply_to !== undefined && !state.posts.some((p) => p.id === String(b.reply_to))) {
      return reply.status(422).send({ error: 'invalid_post', message: 'reply_to: no such post' });
    }
    const id = state.nextId();
    state.posts.push({
      id, userId: t.userId, text: b.text, media: mediaIds, ...(b.reply_to !== undefined ? { replyTo: String(b.reply_to) } : {}),
      ...(typeof key === 'string' ? { key } : {}), createdAt: new Date().toISOString(), raw: b,
    });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).send({ id, url: ctx.url(`/p/${id}`) });
  });

  app.get('/api/posts', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    const since = Date.parse(String((req.query as Record<string, string>).since ?? 0)) || 0;
    const posts = state.posts.filter((p) => p.userId === t.userId && Date.parse(p.createdAt) >= since).reverse()
      .map((p) => ({ id: p.id, text: p.text, url: ctx.url(`/p/${p.id}`), created_at: p.createdAt, idempotency_key: p.key ?? null }));
    return { posts };
  });

  app.get('/api/posts/:id/metrics', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const p = state.posts.find((x) => x.id === (req.params as { id: string }).id && x.userId === t.userId);
    if (!p) return reply.status(404).send({ error: 'not_found' });
    // Deterministic, growing with age, so collected figures move over time.
    const age = Math.floor((Date.now() - Date.parse(p.createdAt)) / 1000);
    const n = Number(p.id) % 7;
    return { likes: n + Math.floor(age / 10), reposts: Math.floor(n / 2), replies: n % 3, impressions: 10 * (n + 1) + age };
  });

  const itemJson = (i: SimInboxItem) => {
    const post = i.postId ? state.posts.find((p) => p.id === i.postId) : undefined;
    return {
      id: i.id, type: i.kind, post_id: i.postId, parent_id: i.parentId, url: ctx.url(`/p/${i.id}`),
      author: { id: i.author.id, username: i.author.username, name: i.author.name, avatar_url: ctx.url(`/avatar/${i.author.id}.png`) },
      text: i.text, lang: i.lang, created_at: i.createdAt, edited_at: i.editedAt, deleted: i.deleted, hidden: i.hidden,
      post: post ? { id: post.id, text: post.text, url: ctx.url(`/p/${post.id}`), author_id: post.userId, created_at: post.createdAt } : null,
    };
  };

  // The inbox feed. Its own knobs only (inboxRateLimitAfter, inboxExpireTokensAfter), so the publishing
  // knobs a test turns are never spent by a collection running beside it.
  app.get('/api/inbox', async (req, reply) => {
    const k = state.knobs;
    if (k.inboxExpireTokensAfter === 0) {
      k.inboxExpireTokensAfter = -1;
      state.expireTokens();
    } else if (k.inboxExpireTokensAfter > 0) {
      k.inboxExpireTokensAfter--;
    }
    const t = auth(req, reply);
    if (!t) return reply;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      return reply.status(429).header('retry-after', String(k.retryAfterSeconds)).send({ error: 'rate_limited', message: 'Too many requests' });
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    const q = req.query as Record<string, string | undefined>;
    const after = q.cursor ? Number(q.cursor) : 0;
    if (!Number.isInteger(after) || after < 0) return reply.status(400).send({ error: 'invalid_request', message: 'cursor is not one this API gave' });
    const limit = Math.min(Math.max(Number(q.limit) || k.inboxPageSize, 1), k.inboxPageSize);
    state.inbox.generate(t.userId, state.posts, k.inboxRatePerMinute);
    const page = state.inbox.page(t.userId, after, limit);
    return { items: page.items.map(itemJson), next_cursor: String(page.next), has_more: page.more };
  });

  // Answering a comment or a mention. The parent must be addressed to the user (a comment on its post, a
  // reply to one, a mention of it) and not deleted; the answer joins the parent's thread.
  app.post('/api/comments/:id/replies', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && !state.knobs.ignoreIdempotencyKey) {
      const seen = [...state.inbox.items.values()].find((i) => i.key === key && i.author.id === t.userId);
      if (seen) return reply.status(201).send({ id: seen.id, url: ctx.url(`/p/${seen.id}`) });
    }
    if (await ctx.interfere(reply, style)) return reply;
    const parent = state.inbox.items.get((req.params as { id: string }).id);
    if (!parent || parent.userId !== t.userId) return reply.status(404).send({ error: 'not_found', message: 'No such comment' });
    if (parent.deleted) return reply.status(422).send({ error: 'invalid_reply', message: 'The comment was deleted by its author' });
    const b = (req.body ?? {}) as { text?: unknown };
    if (typeof b.text !== 'string' || b.text.trim().length === 0 || [...b.text].length > 1000) {
      return reply.status(422).send({ error: 'invalid_reply', message: 'text must be 1 to 1000 characters' });
    }
    const u = state.user(t.userId);
    const item = state.inbox.add({
      userId: t.userId, kind: 'comment', postId: parent.postId ?? parent.id, parentId: parent.id,
      author: { id: u.id, username: u.username, name: u.name }, text: b.text, lang: null, ...(typeof key === 'string' ? { key } : {}),
    });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).send({ id: item.id, url: ctx.url(`/p/${item.id}`) });
  });

  app.get('/api/comments/:id/replies', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const id = (req.params as { id: string }).id;
    const parent = state.inbox.items.get(id);
    if (!parent || parent.userId !== t.userId) return reply.status(404).send({ error: 'not_found', message: 'No such comment' });
    const replies = [...state.inbox.items.values()].filter((i) => i.parentId === id && !i.deleted).sort((a, b) => a.seq - b.seq).map((i) => ({
      id: i.id, url: ctx.url(`/p/${i.id}`), text: i.text, author_id: i.author.id, created_at: i.createdAt,
      idempotency_key: i.author.id === t.userId ? i.key ?? null : null,
    }));
    return { replies };
  });

  // Acting on a comment or a mention addressed to the user. Every change applies before the answer, so the
  // acceptThenHangNext knob leaves it applied and unanswered.
  const addressed = (req: FastifyRequest, reply: FastifyReply, t: SimToken): SimInboxItem | null => {
    const item = state.inbox.items.get((req.params as { id: string }).id);
    if (!item || item.userId !== t.userId) {
      reply.status(404).send({ error: 'not_found', message: 'No such comment' });
      return null;
    }
    return item;
  };
  /** A comment by someone else under one of the user's own posts: what the user may hide or delete. */
  const underOwnPost = (i: SimInboxItem, userId: string) => i.kind === 'comment' && i.author.id !== userId
    && state.posts.some((p) => p.id === i.postId && p.userId === userId);

  app.get('/api/comments/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const i = addressed(req, reply, t);
    if (!i) return reply;
    return { id: i.id, deleted: i.deleted, hidden: i.hidden, liked: i.liked };
  });

  for (const liked of [true, false]) {
    app.route({
      method: liked ? 'POST' : 'DELETE', url: '/api/comments/:id/like',
      handler: async (req, reply) => {
        const t = auth(req, reply);
        if (!t) return reply;
        if (await ctx.interfere(reply, style)) return reply;
        const i = addressed(req, reply, t);
        if (!i) return reply;
        if (i.deleted && liked) return reply.status(422).send({ error: 'invalid_request', message: 'The comment was deleted by its author' });
        i.liked = liked;
        if (await ctx.maybeHang(reply)) return reply;
        return { liked };
      },
    });
  }

  for (const hidden of [true, false]) {
    app.route({
      method: hidden ? 'POST' : 'DELETE', url: '/api/comments/:id/hide',
      handler: async (req, reply) => {
        const t = auth(req, reply);
        if (!t) return reply;
        if (await ctx.interfere(reply, style)) return reply;
        const i = addressed(req, reply, t);
        if (!i) return reply;
        if (!underOwnPost(i, t.userId)) return reply.status(403).send({ error: 'forbidden', message: 'Only comments by others under your own posts can be hidden' });
        if (i.deleted) return reply.status(422).send({ error: 'invalid_request', message: 'The comment was deleted by its author' });
        if (i.hidden !== hidden) state.inbox.change(i.id, { hidden });
        if (await ctx.maybeHang(reply)) return reply;
        return { hidden };
      },
    });
  }

  app.delete('/api/comments/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const i = addressed(req, reply, t);
    if (!i) return reply;
    if (i.author.id !== t.userId && !underOwnPost(i, t.userId)) {
      return reply.status(403).send({ error: 'forbidden', message: 'Only your own answers and comments under your own posts can be deleted' });
    }
    if (!i.deleted) state.inbox.change(i.id, { deleted: true });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(204).send();
  });

  app.get('/p/:id', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const c = state.inbox.items.get(id);
    if (c && !c.deleted) {
      const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
      return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Sandbox comment ${c.id}</title><p><b>@${esc(c.author.username)}</b>: ${esc(c.text)}</p>`);
    }
    const p = state.posts.find((x) => x.id === id);
    if (!p) return reply.status(404).type('text/html').send('<h1>No such post</h1>');
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Sandbox post ${p.id}</title><h1>Sandbox post</h1><p>${esc(p.text)}</p><p><small>${p.createdAt}</small></p>`);
  });
}
