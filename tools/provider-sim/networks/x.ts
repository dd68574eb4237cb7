// X (Twitter) API v2, as AllIN uses it (docs/NETWORKS.md, Network facts: X; docs.x.com). Served under /x at the
// paths of the real hosts (x.com for the consent page, api.x.com for the rest):
//   GET  /i/oauth2/authorize                 consent (PKCE S256 required, state required); denyConsent → error=access_denied
//   POST /2/oauth2/token                     authorization_code | refresh_token, form-encoded; HTTP Basic for a registered
//                                            confidential app (state.apps), client_id in the form otherwise
//   POST /2/oauth2/revoke                    token=…&token_type_hint=…
//   GET  /2/users/me                         { data: { id, name, username, profile_image_url, verified, verified_type } }, and
//                                            public_metrics { followers_count, following_count, tweet_count } when user.fields asks
//   POST /2/tweets                           { text, media?: { media_ids }, reply?: { in_reply_to_tweet_id } } → 201 { data }
//   GET  /2/tweets/:id                       { data: { id, text, public_metrics? } }, or 200 { errors } when unknown
//   GET  /2/users/:id/tweets                 the user's posts, newest first (max_results, pagination_token, start_time,
//                                            end_time, exclude, tweet.fields); no `data` key when empty
//   POST /2/media/upload                     one-shot multipart (media, media_category)
//   POST /2/media/upload/initialize          { media_type, total_bytes, media_category }
//   POST /2/media/upload/:id/append          multipart (segment_index, media)
//   POST /2/media/upload/:id/finalize        → processing_info { state: pending, check_after_secs }
//   GET  /2/media/upload?command=STATUS      pending → in_progress → succeeded (or failed for a file that is not MP4/MOV)
//   POST /2/media/metadata                   { id, metadata: { alt_text: { text } } }
//   GET  /2/users/:id/mentions               what people said to the user (the shared SimInbox), newest first: since_id,
//                                            pagination_token, max_results; includes.users for the authors
//   GET  /2/tweets/search/recent             query `conversation_id:A OR conversation_id:B …` only: the replies in those
//                                            conversations (people's and the user's own), newest first, next_token, start_time
//                                            within 7 days
//   POST /2/users/:id/likes, DELETE /2/users/:id/likes/:tweet_id, GET /2/users/:id/liked_tweets (newest first)
//   PUT  /2/tweets/:id/hidden                { hidden }: replies in conversations the user started
//   DELETE /2/tweets/:id                     the user's own posts
// People's posts are SimInbox items (a comment: a reply in the conversation of the user's post postId, answering
// parentId or the post; a mention: a post of its own). An edited one is shown as X shows an edit, a new post id whose
// edit_history_tweet_ids starts with the original's. The access level is an app setting (xSimOptions): `free` is
// refused mentions and search with X's 403 client-forbidden / client-not-enrolled. Mentions and search spend the
// inbox knobs (inboxRateLimitAfter: a 429 with x-rate-limit-* reset headers; inboxExpireTokensAfter; inboxPageSize),
// and reading mentions generates people's posts at inboxRatePerMinute. Simplification: inbox views carry every
// field, whatever tweet.fields asks.
// Errors are X's problem JSON ({ title, detail, type, status }), 429s carry x-rate-limit-* headers, the token
// endpoint answers OAuth errors the way X does (invalid_request for a bad code or refresh token, 401
// unauthorized_client without valid Basic credentials). Like X, the text that comes back has links wrapped in
// t.co, a t.co link appended for media and &, <, > as HTML entities. Simplifications: only PKCE S256 (X also
// takes plain; AllIN never sends it); users have fixed numeric ids. The 280 limit is counted with twitter-text's
// parseTweet (config v3), the library X publishes for exactly this.
import { createHash } from 'node:crypto';
import twitter from 'twitter-text';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimPost, type SimToken } from '../core.ts';
import { rootOf, type SimInboxItem } from '../inbox.ts';

/** What X decides per developer app: its API access level (pay-per-use plans read like `basic`). */
export interface XSimOptions {
  accessLevel: 'free' | 'basic' | 'pro';
}
const OPTIONS = new WeakMap<NetworkState, XSimOptions>();
export function xSimOptions(state: NetworkState): XSimOptions {
  let o = OPTIONS.get(state);
  if (!o) {
    o = { accessLevel: 'basic' };
    OPTIONS.set(state, o);
  }
  return o;
}

const problem = (status: number, title: string, detail: string, type = 'about:blank') => ({ title, detail, type, status });

const style: ErrorStyle = {
  rateLimited: (s) => ({
    status: 429,
    headers: {
      'x-rate-limit-limit': '100', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + s),
      'content-type': 'application/json',
    },
    body: problem(429, 'Too Many Requests', 'Too Many Requests', 'https://api.x.com/2/problems/rate-limit-exceeded'),
  }),
  serverError: () => ({ status: 503, body: problem(503, 'Service Unavailable', 'Service Unavailable') }),
};

const KNOWN_SCOPES = new Set([
  'tweet.read', 'tweet.write', 'tweet.moderate.write', 'users.read', 'users.email', 'follows.read', 'follows.write', 'offline.access',
  'space.read', 'mute.read', 'mute.write', 'like.read', 'like.write', 'list.read', 'list.write', 'block.read', 'block.write',
  'bookmark.read', 'bookmark.write', 'media.write', 'dm.read', 'dm.write',
]);
const POST_SCOPES = ['tweet.read', 'tweet.write', 'users.read'];
const READ_SCOPES = ['tweet.read', 'users.read'];
const MEDIA_SCOPES = ['media.write'];

const MB = 1024 * 1024;
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime']);
const CODE_TTL_MS = 30_000; // X: an authorization code is valid for 30 seconds
const DUPLICATE_DETAIL = 'You are not allowed to create a Tweet with duplicate content.';
// The wording X uses for the February 2026 reply restriction is not in its docs; this is the reported message.
const REPLY_DETAIL = 'Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.';

const tco = (seed: string) => `https://t.co/${createHash('sha256').update(seed).digest('base64url').slice(0, 10)}`;

/** The text of a post as X gives it back (see the head of this file). */
function rendered(p: SimPost): string {
  let t = p.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\bhttps?:\/\/[^\s]+/g, (u) => tco(u));
  if (p.media.length > 0) t = `${t} ${tco(`media:${p.id}`)}`;
  return t;
}

function sniff(buf: Buffer): string | undefined {
  if (buf.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'))) return 'image/png';
  if (buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'image/jpeg';
  if (buf.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (buf.subarray(0, 4).toString('latin1') === 'RIFF' && buf.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (buf.subarray(4, 8).toString('latin1') === 'ftyp') return 'video/mp4';
  return undefined;
}

interface Upload {
  id: string;
  userId: string;
  mediaType: string;
  category: string;
  totalBytes: number;
  segments: Map<number, Buffer>;
  finalized: boolean;
  polls: number;
  playable: boolean;
  altText?: string;
}

export function registerX(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const uploads = new Map<string, Upload>();
  // X user ids are numeric; the simulator's users are named u1, u2…
  const numericId = (userId: string) => String(1_500_000_000_000_000_000n + BigInt(`0x${createHash('sha256').update(userId).digest('hex').slice(0, 12)}`));
  const userByNumericId = (id: string) => [...state.users.values()].find((u) => numericId(u.id) === id);
  const likes = new Set<string>(); // `${userId}|${post id}`

  /** People's posts: an item by its id, or by the id X gives its edited version. */
  const itemById = (id: string): SimInboxItem | undefined => state.inbox.items.get(id) ?? state.inbox.items.get(editedIds.get(id) ?? '');
  const editedIds = new Map<string, string>();
  const versionId = (i: SimInboxItem) => {
    if (!i.editedAt) return i.id;
    const v = `${i.id}0${Date.parse(i.editedAt) % 1_000_000}`;
    editedIds.set(v, i.id);
    return v;
  };
  const index = (i: SimInboxItem) => [...state.inbox.items.keys()].indexOf(i.id);
  /** The order of people's posts: a version's time (an edit is a new post), then the order they were made in. */
  const keyOf = (i: SimInboxItem): [number, number] => [Date.parse(i.editedAt ?? i.createdAt), index(i)];
  const exists = (id: string) => state.posts.some((p) => p.id === id) || Boolean(itemById(id) && !itemById(id)!.deleted);
  /** The post that started the conversation of a post or of people's post. */
  const conversationOf = (id: string): string => {
    for (let cur = id, hops = 0; hops < 100; hops++) {
      const p = state.posts.find((x) => x.id === cur);
      if (p) {
        if (!p.replyTo) return p.id;
        cur = p.replyTo;
        continue;
      }
      const i = itemById(cur);
      if (!i) return cur;
      return i.kind === 'comment' && i.postId ? rootOf(state.posts, i.postId) : i.id;
    }
    return id;
  };
  /** The numeric id of a post's author. */
  const authorOf = (id: string): string | undefined => {
    const p = state.posts.find((x) => x.id === id);
    if (p) return numericId(p.userId);
    const i = itemById(id);
    return i ? numericId(i.author.id) : undefined;
  };
  const itemView = (i: SimInboxItem) => {
    const v = versionId(i);
    const parent = i.kind === 'comment' ? i.parentId ?? i.postId : null;
    return {
      id: v, text: i.text, edit_history_tweet_ids: v === i.id ? [i.id] : [i.id, v], created_at: i.editedAt ?? i.createdAt, author_id: numericId(i.author.id),
      conversation_id: conversationOf(i.id), ...(parent ? { in_reply_to_user_id: authorOf(parent), referenced_tweets: [{ type: 'replied_to', id: parent }] } : {}),
      ...(i.lang ? { lang: i.lang } : {}),
    };
  };
  const offsetOf = (token: string | undefined) => (token ? Number(Buffer.from(token, 'base64url').toString()) || 0 : 0);
  type Listed = { key: [number, number]; view: { id: string }; author: SimInboxItem['author'] | undefined };
  /** A page of a newest-first list, with its authors, and X's rate-limit headers. */
  const listAnswer = (reply: FastifyReply, list: Listed[], offset: number, max: number, paging: 'pagination' | 'search' | undefined) => {
    list.sort((a, b) => b.key[0] - a.key[0] || b.key[1] - a.key[1]);
    const size = Math.min(max, state.knobs.inboxPageSize);
    const page = list.slice(offset, offset + size);
    const next = offset + size < list.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
    const users = new Map<string, { id: string; username: string; name: string }>();
    for (const x of page) if (x.author) users.set(numericId(x.author.id), { id: numericId(x.author.id), username: x.author.username, name: x.author.name });
    for (const x of page) {
      const own = state.posts.find((p) => p.id === x.view.id);
      if (own) users.set(numericId(own.userId), { id: numericId(own.userId), username: state.user(own.userId).username, name: state.user(own.userId).name });
    }
    reply.headers({ 'x-rate-limit-limit': '300', 'x-rate-limit-remaining': '299', 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 900) });
    return {
      ...(page.length > 0 ? { data: page.map((x) => x.view), includes: { users: [...users.values()] } } : {}),
      meta: {
        result_count: page.length, ...(page.length > 0 ? { newest_id: page[0]!.view.id, oldest_id: page.at(-1)!.view.id } : {}),
        ...(next && paging ? { next_token: next } : {}),
      },
    };
  };
  /** The app's access level: `free` reads no timeline and no search (X's answer for an endpoint outside the level). */
  const levelRefuses = (reply: FastifyReply): boolean => {
    if (xSimOptions(state).accessLevel !== 'free') return false;
    send(reply, 403, {
      client_id: 'sim', detail: 'When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.',
      registration_url: 'https://developer.x.com/en/docs/projects/overview', required_enrollment: 'Appropriate Level of API Access', reason: 'client-not-enrolled',
      title: 'Client Forbidden', type: 'https://api.x.com/2/problems/client-forbidden',
    });
    return true;
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
      const r = style.rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers).send(r.body);
      return true;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return false;
  };

  const send = (reply: FastifyReply, status: number, body: unknown) => reply.status(status).type('application/json').send(body);
  const invalid = (reply: FastifyReply, message: string, parameter?: string) => send(reply, 400, {
    errors: [{ ...(parameter ? { parameters: { [parameter]: [] } } : {}), message }],
    title: 'Invalid Request', detail: 'One or more parameters to your request was invalid.', type: 'https://api.x.com/2/problems/invalid-request',
  });

  /** Bearer token with the scopes the endpoint's OpenAPI security block names. */
  const auth = (req: FastifyRequest, reply: FastifyReply, scopes: string[]): SimToken | null => {
    const t = state.bearer(req);
    if (typeof t === 'string') {
      send(reply, 401, problem(401, 'Unauthorized', 'Unauthorized'));
      return null;
    }
    const missing = scopes.filter((s) => !t.scope.includes(s));
    if (missing.length > 0) {
      send(reply, 403, problem(403, 'Forbidden', `The token lacks the scope(s) this endpoint requires: ${missing.join(', ')}.`));
      return null;
    }
    return t;
  };

  /** Client authentication at the token and revoke endpoints. */
  const client = (req: FastifyRequest): { clientId: string } | null => {
    const b = (req.body ?? {}) as Record<string, string>;
    const h = req.headers.authorization;
    let basic: { id: string; secret: string } | undefined;
    if (h?.startsWith('Basic ')) {
      const raw = Buffer.from(h.slice(6), 'base64').toString('utf8');
      const i = raw.indexOf(':');
      if (i > 0) basic = { id: decodeURIComponent(raw.slice(0, i)), secret: decodeURIComponent(raw.slice(i + 1)) };
    }
    const clientId = basic?.id ?? b.client_id;
    if (!clientId) return null;
    const registered = state.apps.get(clientId);
    // A registered confidential app must send its secret with HTTP Basic; unknown apps are taken as public clients.
    if (registered?.clientSecret && (!basic || basic.secret !== registered.clientSecret)) return null;
    return { clientId };
  };
  const unauthorizedClient = (reply: FastifyReply) => send(reply, 401, { error: 'unauthorized_client', error_description: 'Missing valid authorization header' });

  const tokenAnswer = (t: SimToken) => ({
    token_type: 'bearer', expires_in: state.knobs.accessTokenTtlSeconds, access_token: t.accessToken, scope: t.scope.join(' '),
    ...(t.scope.includes('offline.access') ? { refresh_token: t.refreshToken } : {}),
  });

  app.get('/i/oauth2/authorize', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const page = (msg: string) => reply.status(400).type('text/html').send(`<!doctype html><title>X</title><p>Something went wrong. ${msg}</p>`);
    if (q.response_type !== 'code') return page('response_type must be code.');
    if (!q.client_id || !q.redirect_uri) return page('client_id and redirect_uri are required.');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return page('The callback URL does not match the app settings.');
    if (!q.state || q.state.length > 500) return page('state is required (at most 500 characters).');
    if (!q.code_challenge) return page('PKCE is required: code_challenge is missing.');
    if (q.code_challenge_method !== 'S256') return page('This simulator supports code_challenge_method=S256 only.');
    const scopes = (q.scope ?? '').split(' ').filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !KNOWN_SCOPES.has(s))) return page('Invalid scope.');
    const back = new URL(q.redirect_uri);
    back.searchParams.set('state', q.state);
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'access_denied');
      return reply.redirect(back.toString());
    }
    const user = state.user(q.login_hint || 'u1');
    const code = state.issueCode(user.id, q.client_id, q.redirect_uri, scopes, q.code_challenge);
    state.codes.get(code)!.expiresAt = Date.now() + CODE_TTL_MS;
    back.searchParams.set('code', code);
    return reply.redirect(back.toString());
  });

  app.post('/2/oauth2/token', async (req, reply) => {
    if (await ctx.interfere(reply, style)) return reply;
    const c = client(req);
    if (!c) return unauthorizedClient(reply);
    const b = (req.body ?? {}) as Record<string, string>;
    if (b.grant_type === 'authorization_code') {
      const issued = state.codes.get(b.code ?? '');
      const r = issued && issued.clientId !== c.clientId ? 'invalid_grant' : state.redeemCode(b.code ?? '', b.redirect_uri ?? '', b.code_verifier);
      if (typeof r === 'string') return send(reply, 400, { error: 'invalid_request', error_description: 'Value passed for the authorization code was invalid.' });
      return tokenAnswer(state.issueToken(r.userId, r.scope));
    }
    if (b.grant_type === 'refresh_token') {
      const known = state.refresh.get(b.refresh_token ?? '');
      const t = known && known.scope.includes('offline.access') ? state.refreshToken(b.refresh_token ?? '') : null;
      if (!t) return send(reply, 400, { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' });
      return tokenAnswer(t);
    }
    return send(reply, 400, { error: 'unsupported_grant_type', error_description: 'Only authorization_code and refresh_token are supported.' });
  });

  app.post('/2/oauth2/revoke', async (req, reply) => {
    if (!client(req)) return unauthorizedClient(reply);
    const token = ((req.body ?? {}) as Record<string, string>).token ?? '';
    const t = state.tokens.get(token) ?? state.refresh.get(token);
    if (t) t.revoked = true;
    return { revoked: true };
  });

  app.get('/2/users/me', async (req, reply) => {
    const t = auth(req, reply, READ_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const u = state.user(t.userId);
    const id = numericId(u.id);
    // public_metrics comes only when user.fields asks for it, as on X.
    const fields = String((req.query as Record<string, unknown>)['user.fields'] ?? '').split(',');
    const a = simAudience(u.id, Date.now());
    const metrics = fields.includes('public_metrics') && !state.knobs.profileCountsOmitted
      ? { public_metrics: { followers_count: a.followers, following_count: a.following, tweet_count: state.posts.filter((p) => p.userId === t.userId).length, listed_count: 0 } } : {};
    return { data: { id, name: u.name, username: u.username, profile_image_url: ctx.url(`/profile_images/${id}/avatar_normal.jpg`), verified: false, verified_type: 'none', ...metrics } };
  });

  app.post('/2/tweets', async (req, reply) => {
    const t = auth(req, reply, POST_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = req.body as { text?: unknown; media?: { media_ids?: unknown }; reply?: { in_reply_to_tweet_id?: unknown } } | undefined;
    if (!b || typeof b !== 'object') return invalid(reply, 'The request body must be a JSON object.');
    const mediaIds = b.media?.media_ids;
    if (mediaIds !== undefined && (!Array.isArray(mediaIds) || mediaIds.length < 1 || mediaIds.length > 4 || mediaIds.some((m) => typeof m !== 'string'))) {
      return invalid(reply, 'media.media_ids must hold 1 to 4 media ids (strings).', 'media.media_ids');
    }
    const ids = (mediaIds ?? []) as string[];
    const text = typeof b.text === 'string' ? b.text : '';
    if (b.text !== undefined && typeof b.text !== 'string') return invalid(reply, 'text must be a string.', 'text');
    if (text.trim() === '' && ids.length === 0) return invalid(reply, 'Post text or media is required.', 'text');
    // The limit X applies to standard accounts; how the API answers an over-long text is not documented,
    // so the simulator uses its usual invalid-request shape.
    if (twitter.parseTweet(text).weightedLength > 280) return invalid(reply, 'The text of your Post is too long.', 'text');
    const media = ids.map((id) => state.media.get(id));
    if (media.some((m) => !m || m.userId !== t.userId || m.state !== 'ready')) return invalid(reply, 'Your media IDs are invalid.', 'media.media_ids');
    if (media.some((m) => !IMAGE_TYPES.has(m!.mimeType) || m!.mimeType === 'image/gif') && media.length > 1) {
      return invalid(reply, 'A Post takes up to 4 images, or 1 GIF, or 1 video.', 'media.media_ids');
    }
    let replyTo: string | undefined;
    if (b.reply !== undefined) {
      if (typeof b.reply?.in_reply_to_tweet_id !== 'string') return invalid(reply, 'reply.in_reply_to_tweet_id must be a post id.', 'reply.in_reply_to_tweet_id');
      replyTo = b.reply.in_reply_to_tweet_id;
      const parent = state.posts.find((p) => p.id === replyTo);
      const said = parent ? undefined : itemById(replyTo);
      if (!parent && (!said || said.deleted)) return send(reply, 403, problem(403, 'Forbidden', 'You attempted to reply to a Tweet that is deleted or not visible to you.'));
      // Replies only where the parent's author summoned the replier (mention or quote). Replying to one's own
      // post is taken as allowed, as thread-building clients still do it (X's docs leave it open); so is answering
      // a post addressed to the user (a mention, or a reply in the user's conversation, which names the user).
      const me = state.user(t.userId);
      if (parent && parent.userId !== t.userId && !new RegExp(`(^|[^\\w])@${me.username}\\b`, 'i').test(parent.text)) {
        return send(reply, 403, problem(403, 'Forbidden', REPLY_DETAIL));
      }
      if (said && said.userId !== t.userId) return send(reply, 403, problem(403, 'Forbidden', REPLY_DETAIL));
      if (said) replyTo = said.id;
    }
    if (state.posts.some((p) => p.userId === t.userId && p.text === text && text !== '')) return send(reply, 403, problem(403, 'Forbidden', DUPLICATE_DETAIL));
    const post: SimPost = {
      id: state.nextId() + String(Date.now()).slice(-6), userId: t.userId, text, media: ids, ...(replyTo ? { replyTo } : {}),
      createdAt: new Date().toISOString(), raw: b,
    };
    state.posts.push(post);
    if (await ctx.maybeHang(reply)) return reply;
    return send(reply, 201, { data: { id: post.id, text: rendered(post), edit_history_tweet_ids: [post.id] } });
  });

  const view = (p: SimPost, fields: Set<string>) => {
    const age = Math.floor((Date.now() - Date.parse(p.createdAt)) / 1000);
    const n = Number(p.id.slice(-3)) % 7;
    return {
      id: p.id, text: rendered(p), edit_history_tweet_ids: [p.id],
      ...(fields.has('created_at') ? { created_at: p.createdAt } : {}),
      ...(fields.has('author_id') ? { author_id: numericId(p.userId) } : {}),
      ...(fields.has('referenced_tweets') && p.replyTo ? { referenced_tweets: [{ type: 'replied_to', id: p.replyTo }] } : {}),
      ...(fields.has('conversation_id') ? { conversation_id: conversationOf(p.id) } : {}),
      ...(fields.has('in_reply_to_user_id') && p.replyTo && authorOf(p.replyTo) ? { in_reply_to_user_id: authorOf(p.replyTo) } : {}),
      ...(fields.has('attachments') && p.media.length > 0 ? { attachments: { media_keys: p.media.map((m) => `3_${m}`) } } : {}),
      // Deterministic, growing with age, so collected figures move over time.
      ...(fields.has('public_metrics') ? {
        public_metrics: { retweet_count: Math.floor(n / 2), reply_count: n % 3, like_count: n + Math.floor(age / 10), quote_count: 0, bookmark_count: n % 2, impression_count: 10 * (n + 1) + age },
      } : {}),
    };
  };
  const fieldsOf = (q: Record<string, string | undefined>) => new Set((q['tweet.fields'] ?? q['post.fields'] ?? '').split(',').filter(Boolean));

  app.get('/2/tweets/:id', async (req, reply) => {
    const t = auth(req, reply, READ_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const id = (req.params as { id: string }).id;
    if (!/^[0-9]{1,19}$/.test(id)) return invalid(reply, `The \`id\` query parameter value [${id}] is not valid`, 'id');
    const p = state.posts.find((x) => x.id === id);
    const said = p ? undefined : itemById(id);
    if (said && !said.deleted) return { data: itemView(said) };
    if (!p) {
      return { errors: [{ value: id, detail: `Could not find tweet with id: [${id}].`, title: 'Not Found Error', resource_type: 'tweet', parameter: 'id', resource_id: id, type: 'https://api.x.com/2/problems/resource-not-found' }] };
    }
    return { data: view(p, fieldsOf(req.query as Record<string, string>)) };
  });

  app.get('/2/users/:id/tweets', async (req, reply) => {
    const t = auth(req, reply, READ_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, string | undefined>;
    if (!/^[0-9]{1,19}$/.test(id)) return invalid(reply, `The \`id\` query parameter value [${id}] is not valid`, 'id');
    const max = q.max_results === undefined ? 10 : Number(q.max_results);
    if (!Number.isInteger(max) || max < 5 || max > 100) return invalid(reply, `The \`max_results\` query parameter value [${q.max_results}] is not between 5 and 100`, 'max_results');
    const start = q.start_time !== undefined ? Date.parse(q.start_time) : -Infinity;
    const end = q.end_time !== undefined ? Date.parse(q.end_time) : Infinity;
    if (Number.isNaN(start) || Number.isNaN(end)) return invalid(reply, 'start_time and end_time must be ISO 8601 timestamps.', 'start_time');
    const exclude = new Set((q.exclude ?? '').split(',').filter(Boolean));
    const user = userByNumericId(id);
    const all = user ? state.posts.filter((p) => p.userId === user.id && !(exclude.has('replies') && p.replyTo))
      .filter((p) => Date.parse(p.createdAt) >= start && Date.parse(p.createdAt) <= end).reverse() : [];
    const offset = q.pagination_token ? Number(Buffer.from(q.pagination_token, 'base64url').toString()) || 0 : 0;
    const page = all.slice(offset, offset + max);
    const fields = fieldsOf(q);
    const next = offset + max < all.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
    return {
      ...(page.length > 0 ? { data: page.map((p) => view(p, fields)) } : {}),
      meta: { result_count: page.length, ...(page.length > 0 ? { newest_id: page[0]!.id, oldest_id: page[page.length - 1]!.id } : {}), ...(next ? { next_token: next } : {}) },
    };
  });

  /** Multipart fields and files of a request. */
  const parts = async (req: FastifyRequest): Promise<{ fields: Record<string, string>; files: Record<string, { mimetype: string; data: Buffer }> }> => {
    const fields: Record<string, string> = {};
    const files: Record<string, { mimetype: string; data: Buffer }> = {};
    for await (const part of req.parts()) {
      if (part.type === 'file') files[part.fieldname] = { mimetype: part.mimetype, data: await part.toBuffer() };
      else fields[part.fieldname] = String(part.value);
    }
    return { fields, files };
  };
  const mediaData = (id: string, mediaType: string, size: number) => ({
    id, media_key: `${mediaType.startsWith('video/') ? 7 : mediaType === 'image/gif' ? 16 : 3}_${id}`, size, expires_after_secs: 86400,
  });

  app.post('/2/media/upload', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    if (!req.isMultipart()) return invalid(reply, 'Send the media as multipart/form-data.', 'media');
    const { fields, files } = await parts(req);
    const file = files.media;
    if (!file) return invalid(reply, 'media is required.', 'media');
    const category = fields.media_category ?? 'tweet_image';
    const type = sniff(file.data);
    if (!type || !IMAGE_TYPES.has(type)) return invalid(reply, 'media type unrecognized.', 'media');
    if (category === 'tweet_image' && file.data.length > 5 * MB) return invalid(reply, 'Image file size must be <= 5242880 bytes', 'media');
    const id = state.nextId() + String(Date.now()).slice(-6);
    state.media.set(id, { id, userId: t.userId, mimeType: type, bytes: file.data.length, state: 'ready' });
    return { data: mediaData(id, type, file.data.length) };
  });

  app.get('/2/media/upload', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = req.query as Record<string, string | undefined>;
    if (q.command !== 'STATUS') return invalid(reply, 'command must be STATUS.', 'command');
    const u = uploads.get(q.media_id ?? '');
    if (!u || u.userId !== t.userId || !u.finalized) return invalid(reply, 'media_id is not a finalized upload.', 'media_id');
    const m = state.media.get(u.id)!;
    u.polls++;
    let info: Record<string, unknown>;
    if (!u.playable) {
      m.state = 'failed';
      info = { state: 'failed', progress_percent: 10, error: { code: 1, name: 'InvalidMedia', message: 'Invalid or Unsupported media, Reason: UnsupportedMedia.' } };
    } else if (u.polls === 1) {
      info = { state: 'in_progress', check_after_secs: 1, progress_percent: 50 };
    } else {
      m.state = 'ready';
      info = { state: 'succeeded', progress_percent: 100 };
    }
    return { data: { ...mediaData(u.id, u.mediaType, u.totalBytes), processing_info: info } };
  });

  app.post('/2/media/upload/initialize', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = (req.body ?? {}) as { media_type?: unknown; total_bytes?: unknown; media_category?: unknown };
    if (typeof b.media_type !== 'string' || !(IMAGE_TYPES.has(b.media_type) || VIDEO_TYPES.has(b.media_type))) return invalid(reply, 'media_type is not supported.', 'media_type');
    const limit = VIDEO_TYPES.has(b.media_type) ? 512 * MB : b.media_type === 'image/gif' ? 15 * MB : 5 * MB;
    if (typeof b.total_bytes !== 'number' || !Number.isInteger(b.total_bytes) || b.total_bytes < 1 || b.total_bytes > limit) {
      return invalid(reply, `total_bytes must be between 1 and ${limit}.`, 'total_bytes');
    }
    const category = typeof b.media_category === 'string' ? b.media_category : 'tweet_image';
    if (!['tweet_image', 'tweet_gif', 'tweet_video', 'amplify_video'].includes(category)) return invalid(reply, 'media_category is not valid.', 'media_category');
    const id = state.nextId() + String(Date.now()).slice(-6);
    uploads.set(id, { id, userId: t.userId, mediaType: b.media_type, category, totalBytes: b.total_bytes, segments: new Map(), finalized: false, polls: 0, playable: false });
    state.media.set(id, { id, userId: t.userId, mimeType: b.media_type, bytes: b.total_bytes, state: 'pending' });
    return { data: { id, media_key: mediaData(id, b.media_type, 0).media_key, expires_after_secs: 86400 } };
  });

  app.post('/2/media/upload/:id/append', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const u = uploads.get((req.params as { id: string }).id);
    if (!u || u.userId !== t.userId || u.finalized) return invalid(reply, 'The media id is not an open upload.', 'id');
    if (!req.isMultipart()) return invalid(reply, 'Send the segment as multipart/form-data.', 'media');
    const { fields, files } = await parts(req);
    const index = Number(fields.segment_index);
    if (!Number.isInteger(index) || index < 0 || index > 999) return invalid(reply, 'segment_index must be between 0 and 999.', 'segment_index');
    if (!files.media) return invalid(reply, 'media is required.', 'media');
    if (files.media.data.length > 8 * MB) return invalid(reply, 'A segment must be at most 8 MB.', 'media');
    u.segments.set(index, files.media.data);
    return { data: { expires_at: Math.floor(Date.now() / 1000) + 86400 } };
  });

  app.post('/2/media/upload/:id/finalize', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const u = uploads.get((req.params as { id: string }).id);
    if (!u || u.userId !== t.userId || u.finalized) return invalid(reply, 'The media id is not an open upload.', 'id');
    const ordered = [...u.segments.entries()].sort(([a], [b]) => a - b).map(([, buf]) => buf);
    const whole = Buffer.concat(ordered);
    if (whole.length !== u.totalBytes) return invalid(reply, `File size mismatch: initialize said ${u.totalBytes} bytes, ${whole.length} were appended.`, 'id');
    u.finalized = true;
    // Processing decodes the file: a video that is not an MP4/MOV container fails, as on X.
    const type = sniff(whole);
    u.playable = VIDEO_TYPES.has(u.mediaType) ? type === 'video/mp4' : type === u.mediaType;
    state.media.get(u.id)!.state = 'processing';
    return { data: { ...mediaData(u.id, u.mediaType, u.totalBytes), processing_info: { state: 'pending', check_after_secs: 1 } } };
  });

  app.post('/2/media/metadata', async (req, reply) => {
    const t = auth(req, reply, MEDIA_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = (req.body ?? {}) as { id?: unknown; metadata?: { alt_text?: { text?: unknown } } };
    const m = typeof b.id === 'string' ? state.media.get(b.id) : undefined;
    if (!m || m.userId !== t.userId) return invalid(reply, 'id is not a media id of this user.', 'id');
    const alt = b.metadata?.alt_text?.text;
    if (typeof alt !== 'string' || alt.length > 1000) return invalid(reply, 'metadata.alt_text.text must be a string of at most 1000 characters.', 'metadata.alt_text.text');
    const u = uploads.get(m.id);
    if (u) u.altText = alt;
    else uploads.set(m.id, { id: m.id, userId: m.userId, mediaType: m.mimeType, category: 'tweet_image', totalBytes: m.bytes, segments: new Map(), finalized: true, polls: 0, playable: true, altText: alt });
    return { data: { id: m.id, associated_metadata: { alt_text: { text: alt } } } };
  });

  app.get('/2/users/:id/mentions', async (req, reply) => {
    inboxExpiry();
    const t = auth(req, reply, READ_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    if (levelRefuses(reply)) return reply;
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, string | undefined>;
    if (!/^[0-9]{1,19}$/.test(id)) return invalid(reply, `The \`id\` query parameter value [${id}] is not valid`, 'id');
    const max = q.max_results === undefined ? 10 : Number(q.max_results);
    if (!Number.isInteger(max) || max < 5 || max > 100) return invalid(reply, `The \`max_results\` query parameter value [${q.max_results}] is not between 5 and 100`, 'max_results');
    if (inboxThrottled(reply)) return reply;
    const user = userByNumericId(id);
    if (!user) return listAnswer(reply, [], 0, max, undefined);
    state.inbox.generate(user.id, state.posts.filter((p) => p.userId === user.id).map((p) => ({ id: p.id, userId: p.userId, ...(p.replyTo ? { replyTo: p.replyTo } : {}) })), state.knobs.inboxRatePerMinute);
    let list = [...state.inbox.items.values()].filter((i) => i.userId === user.id && !i.deleted).map((i) => ({ key: keyOf(i), view: itemView(i), author: i.author }));
    if (q.since_id) {
      const since = itemById(q.since_id);
      if (since) list = list.filter((x) => x.key > keyOf(since));
    }
    return listAnswer(reply, list, offsetOf(q.pagination_token), max, 'pagination');
  });

  app.get('/2/tweets/search/recent', async (req, reply) => {
    inboxExpiry();
    const t = auth(req, reply, READ_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    if (levelRefuses(reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const query = q.query ?? '';
    if (query.length > 512) return invalid(reply, 'query is longer than 512 characters.', 'query');
    if (!/^conversation_id:\d{1,19}( OR conversation_id:\d{1,19})*$/.test(query)) return invalid(reply, 'This simulator answers `conversation_id:` queries joined by OR only.', 'query');
    const max = q.max_results === undefined ? 10 : Number(q.max_results);
    if (!Number.isInteger(max) || max < 10 || max > 100) return invalid(reply, `The \`max_results\` query parameter value [${q.max_results}] is not between 10 and 100`, 'max_results');
    const start = q.start_time !== undefined ? Date.parse(q.start_time) : Date.now() - 7 * 86_400_000;
    if (Number.isNaN(start) || start < Date.now() - 7 * 86_400_000) return invalid(reply, 'start_time must be a time within the last 7 days.', 'start_time');
    if (inboxThrottled(reply)) return reply;
    const ids = new Set(query.split(' OR ').map((x) => x.slice('conversation_id:'.length)));
    const people = [...state.inbox.items.values()].filter((i) => i.kind === 'comment' && !i.deleted && ids.has(conversationOf(i.id)))
      .map((i) => ({ key: keyOf(i), view: itemView(i), author: i.author }));
    const own = state.posts.filter((p) => p.replyTo && ids.has(conversationOf(p.id)))
      .map((p) => ({ key: [Date.parse(p.createdAt), 0] as [number, number], view: view(p, new Set(['created_at', 'author_id', 'referenced_tweets', 'conversation_id', 'in_reply_to_user_id'])), author: undefined }));
    const list = [...people, ...own].filter((x) => x.key[0] >= start);
    return listAnswer(reply, list, offsetOf(q.next_token), max, 'search');
  });

  const likeScopes = ['tweet.read', 'users.read', 'like.write'];
  app.post('/2/users/:id/likes', async (req, reply) => {
    const t = auth(req, reply, likeScopes);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    if ((req.params as { id: string }).id !== numericId(t.userId)) return send(reply, 403, problem(403, 'Forbidden', 'You are not permitted to like on behalf of this user.'));
    const target = String((req.body as { tweet_id?: unknown } | undefined)?.tweet_id ?? '');
    if (!exists(target)) return invalid(reply, 'tweet_id is not a post id.', 'tweet_id');
    likes.add(`${t.userId}|${target}`);
    const said = itemById(target);
    if (said && said.userId === t.userId) said.liked = true;
    if (await ctx.maybeHang(reply)) return reply;
    return { data: { liked: true } };
  });
  app.delete('/2/users/:id/likes/:tweet', async (req, reply) => {
    const t = auth(req, reply, likeScopes);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const { id, tweet } = req.params as { id: string; tweet: string };
    if (id !== numericId(t.userId)) return send(reply, 403, problem(403, 'Forbidden', 'You are not permitted to unlike on behalf of this user.'));
    likes.delete(`${t.userId}|${tweet}`);
    const said = itemById(tweet);
    if (said && said.userId === t.userId) said.liked = false;
    return { data: { liked: false } };
  });
  app.get('/2/users/:id/liked_tweets', async (req, reply) => {
    const t = auth(req, reply, ['tweet.read', 'users.read', 'like.read']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const user = userByNumericId((req.params as { id: string }).id);
    const liked = user ? [...likes].filter((k) => k.startsWith(`${user.id}|`)).map((k) => k.slice(k.indexOf('|') + 1)).reverse() : [];
    const page = liked.slice(0, 100);
    return { ...(page.length > 0 ? { data: page.map((id) => ({ id, text: '' })) } : {}), meta: { result_count: page.length } };
  });

  app.put('/2/tweets/:id/hidden', async (req, reply) => {
    const t = auth(req, reply, ['tweet.read', 'users.read', 'tweet.moderate.write']);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const hidden = (req.body as { hidden?: unknown } | undefined)?.hidden;
    if (typeof hidden !== 'boolean') return invalid(reply, 'hidden must be true or false.', 'hidden');
    const said = itemById((req.params as { id: string }).id);
    const root = said && said.kind === 'comment' ? state.posts.find((p) => p.id === conversationOf(said.id)) : undefined;
    if (!said || said.deleted || !root || root.userId !== t.userId) {
      return send(reply, 403, problem(403, 'Forbidden', 'You can only hide or unhide replies to conversations you authored.'));
    }
    state.inbox.change(said.id, { hidden });
    if (await ctx.maybeHang(reply)) return reply;
    return { data: { hidden } };
  });

  app.delete('/2/tweets/:id', async (req, reply) => {
    const t = auth(req, reply, POST_SCOPES);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const id = (req.params as { id: string }).id;
    const at = state.posts.findIndex((p) => p.id === id);
    if (at < 0) {
      if (itemById(id)) return send(reply, 403, problem(403, 'Forbidden', 'You are not allowed to delete a Tweet that is not yours.'));
      return send(reply, 404, problem(404, 'Not Found Error', `Could not find tweet with id: [${id}].`, 'https://api.x.com/2/problems/resource-not-found'));
    }
    if (state.posts[at]!.userId !== t.userId) return send(reply, 403, problem(403, 'Forbidden', 'You are not allowed to delete a Tweet that is not yours.'));
    state.posts.splice(at, 1);
    if (await ctx.maybeHang(reply)) return reply;
    return { data: { deleted: true } };
  });

  app.get('/profile_images/:id/:file', async (_req, reply) => reply.type('image/png').send(Buffer.from('89504e470d0a1a0a', 'hex')));
}
