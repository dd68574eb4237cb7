// X (Twitter) API v2 adapter.
// Documentation (the facts used, each with its page, are in docs/NETWORKS.md, Network facts: X):
//   OAuth 2.0 + PKCE   https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
//                      https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
//   Profile            https://docs.x.com/x-api/users/get-my-user
//   Create post        https://docs.x.com/x-api/posts/create-post
//   Media upload       https://docs.x.com/x-api/media/introduction
//                      https://docs.x.com/x-api/media/quickstart/media-upload-chunked
//   User posts         https://docs.x.com/x-api/users/get-posts  (GET /2/users/{id}/tweets, for reconciliation)
//   Post lookup        https://docs.x.com/x-api/posts/get-post-by-id  (public_metrics)
//   Errors and limits  https://docs.x.com/x-api/fundamentals/response-codes-and-errors
//                      https://docs.x.com/x-api/fundamentals/rate-limits
//
// How a post is found again after an unknown outcome: X has no idempotency key and no client field that
// comes back on a post, and the text must go out exactly as the user wrote it (no invisible marker). So
// the adapter writes down, per account and marker, what it sends (text, reply target, first send time)
// before sending it, and reconciles by reading the account's own timeline for a post with the same text
// (compared after undoing what X does to text: t.co links, the trailing media link, HTML entities) created
// inside the window. X refuses an identical text from the same account as a duplicate, so at most one post
// can match. The record is the send journal (send-journal.ts), which the app keeps in PostgreSQL for every
// worker: a process that restarts after a crash, or another worker, still knows what was sent. Only a
// marker with no record at all makes findByMarker say the outcome cannot be known (unknown_outcome).
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpResponse } from '../infra/http/client.ts';
import { bodySnippet, malformed, retryAfterMs } from './errors.ts';
import { parseJson, redactSecrets } from './http.ts';
import { adapterCalls } from './request.ts';
import { revokeRequest, tokenRequest, type ClientAuth } from './oauth2.ts';
import {
  ProviderError, type AccountRef, type AuthorizeRequest, type ConnectedIdentity, type ExchangeRequest, type MediaItem, type PostMetrics,
  type Provider, type ProviderDeps, type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';
import { SentPosts } from './sent-posts.ts';

const MB = 1024 * 1024;

const meta: ProviderMetadata = {
  id: 'x',
  displayName: 'X',
  docsUrl: 'https://docs.x.com/x-api/posts/create-post',
  connect: 'oauth2',
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // twitter-text v3 weighted length; 25,000 for Premium is third-party only (UNCONFIRMED), so 280.
    textCounting: 'twitter', maxTextLength: 280, threads: true, firstComment: true,
    media: {
      // Up to 4 images, or 1 GIF, or 1 video. Animated GIFs may reach 15 MB; 5 MB is the still-image cap.
      maxCount: 4, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: ['video/mp4', 'video/quicktime'],
      maxImageBytes: 5 * MB, maxVideoBytes: 512 * MB, maxVideoSeconds: 140, mixing: false, required: false,
    },
  },
};

/** tweet.read+tweet.write+users.read for POST /2/tweets, media.write for uploads, offline.access for a refresh token. */
export const X_SCOPES = ['tweet.read', 'tweet.write', 'users.read', 'offline.access', 'media.write'];

/** 1 MB chunks are what the quickstart uses and proven in production; segment_index allows 0-999. */
const CHUNK_BYTES = 1 * MB;
/** Longest wait for X to process a video before giving up (nothing was posted yet, so transient). */
const PROCESSING_DEADLINE_MS = 10 * 60_000;
/** Clock difference allowed between AllIN and X when comparing created_at with the send time. */
const CLOCK_SKEW_MS = 2 * 60_000;
const TIMELINE_PAGES = 5;

interface XProblem {
  title?: string;
  detail?: string;
  type?: string;
  status?: number;
  errors?: { message?: string; detail?: string; title?: string; type?: string }[];
}

interface XTweet {
  id: string;
  text: string;
  created_at?: string;
  referenced_tweets?: { type: string; id: string }[];
}

interface XMediaAnswer {
  data?: {
    id?: string;
    processing_info?: { state?: string; check_after_secs?: number; progress_percent?: number; error?: { message?: string; name?: string } };
  };
}

/**
 * Wait for a 429. X sends no Retry-After; x-rate-limit-reset is the 15-minute window, and the daily caps
 * come as x-user-limit-24hour-* / x-app-limit-24hour-*. The latest reset of an exhausted window wins; a 429
 * can come while x-rate-limit-remaining is still above 0, so its reset counts when no window says 0.
 */
export function xRetryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const waits: number[] = [];
  for (const prefix of ['x-rate-limit', 'x-user-limit-24hour', 'x-app-limit-24hour']) {
    const reset = Number(headers[`${prefix}-reset`]);
    const remaining = headers[`${prefix}-remaining`];
    if (Number.isFinite(reset) && reset > 1e9 && remaining !== undefined && Number(remaining) <= 0) waits.push(reset * 1000 - now);
  }
  if (waits.length > 0) return Math.max(0, ...waits);
  return retryAfterMs(headers, now);
}

function problemOf(res: HttpResponse): XProblem {
  const p = parseJson(res);
  return p && typeof p === 'object' ? p as XProblem : {};
}

function describe(p: XProblem, res: HttpResponse): string {
  const parts = [p.detail ?? p.title, ...(p.errors ?? []).map((e) => e.message ?? e.detail)].filter((s): s is string => typeof s === 'string' && s !== '');
  return (parts.length > 0 ? redactSecrets([...new Set(parts)].join('; ')) : bodySnippet(res)).slice(0, 300);
}

const isDuplicate = (p: XProblem) => /duplicate content/i.test(`${p.detail ?? ''} ${(p.errors ?? []).map((e) => e.message ?? '').join(' ')}`);

/** A non-2xx answer from the X API as a ProviderError, with X's own cases named. */
export function xError(what: string, res: HttpResponse, opts: { creates?: boolean; reply?: boolean } = {}): ProviderError {
  const p = problemOf(res);
  const reason = describe(p, res);
  const base = { provider: 'x', status: res.status };
  if (res.status === 401) return new ProviderError('auth_expired', `x: ${what} refused the token (${reason})`, { ...base, reason });
  if (res.status === 429) {
    const wait = xRetryAfterMs(res.headers);
    const kind = p.type?.endsWith('/usage-capped') ? 'usage-capped' : 'rate-limit-exceeded';
    return new ProviderError('rate_limited', `x: ${what} is rate limited (${reason})`, { ...base, reason: kind, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status === 403 && isDuplicate(p)) {
    return new ProviderError('permanent', `x: ${what} was refused as a duplicate of an earlier post (${reason})`, { ...base, reason: 'duplicate_content' });
  }
  // Since 2026-02-23 replies are accepted only from accounts the parent's author summoned; not retryable.
  if (res.status === 403 && opts.reply && /repl/i.test(reason)) {
    return new ProviderError('permanent', `x: ${what} was refused: X does not allow this reply (${reason})`, { ...base, reason: 'reply_not_allowed' });
  }
  // A gateway timeout on a create was forwarded upstream and may have been acted on.
  if (res.status === 504 && opts.creates) {
    return new ProviderError('unknown_outcome', `x: ${what} timed out inside X (504); it may have been accepted`, { ...base, reason });
  }
  if (res.status >= 500) return new ProviderError('transient', `x: ${what} failed on X's side (${res.status})`, { ...base, reason });
  const kind = p.type && p.type !== 'about:blank' ? p.type.split('/').pop() : undefined;
  return new ProviderError('permanent', `x: ${what} was refused (${reason})`, { ...base, reason: kind ? `${kind}: ${reason}` : reason });
}

/**
 * The text as X gives it back compared with the text as sent: X wraps every link (also bare domains) in
 * t.co, appends a t.co link for attached media, and escapes &, < and > as HTML entities. Links are masked
 * on both sides and trailing links dropped, so a post matches whatever X did to its links.
 */
export function comparableText(text: string, fromX: boolean): string {
  let s = text.normalize('NFC').replace(/\r\n?/g, '\n');
  if (fromX) s = s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  // Each link becomes U+FFFC (object replacement character), which a written post does not contain.
  s = s.replace(/\bhttps?:\/\/\S+|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}(?:\/\S*)?/gi, '\uFFFC');
  return s.replace(/(?:\s*\uFFFC)+\s*$/, '').trim();
}

/** What one marker sent, kept so the post can be recognised on the timeline (see the head of this file). */
interface Attempt {
  text: string;
  replyTo?: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); // X documents YYYY-MM-DDTHH:mm:ssZ

function mediaCategory(m: MediaItem): 'tweet_image' | 'tweet_gif' | 'tweet_video' {
  if (m.mimeType === 'image/gif') return 'tweet_gif';
  return m.mimeType.startsWith('video/') ? 'tweet_video' : 'tweet_image';
}

export function createX(deps: ProviderDeps): Provider {
  const { http } = deps;
  const api = deps.settings.baseUrls.api ?? 'https://api.x.com';
  const authBase = deps.settings.baseUrls.auth ?? 'https://x.com';
  if (!deps.settings.clientId) throw new Error('x: X_CLIENT_ID is required');
  // Confidential clients (Web App) authenticate with HTTP Basic; public clients send client_id in the form.
  const auth: ClientAuth = { clientId: deps.settings.clientId, ...(deps.settings.clientSecret ? { clientSecret: deps.settings.clientSecret } : {}), method: deps.settings.clientSecret ? 'basic' : 'body' };
  const attempts = new SentPosts<Attempt>('x', deps.journal);
  const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}` });

  const calls = adapterCalls(http, { provider: 'x', error: (operation, res, creates) => xError(operation, res, { creates }) });
  const { call, read } = calls;
  const postUrl = (username: string, id: string) => (username ? `https://x.com/${encodeURIComponent(username)}/status/${id}` : `https://x.com/i/web/status/${id}`);

  async function waitProcessed(tokens: TokenSet, id: string, info: NonNullable<NonNullable<XMediaAnswer['data']>['processing_info']>): Promise<void> {
    const deadline = Date.now() + PROCESSING_DEADLINE_MS;
    let current = info;
    for (;;) {
      if (current.state === 'succeeded') return;
      if (current.state === 'failed') {
        const why = current.error?.message ?? current.error?.name ?? 'processing failed';
        throw new ProviderError('permanent', `x: X could not process the media (${why})`, { provider: 'x', reason: `media_processing_failed: ${why}` });
      }
      if (Date.now() >= deadline) throw new ProviderError('transient', 'x: the media was still processing when AllIN stopped waiting', { provider: 'x', reason: 'media_processing_timeout' });
      await sleep(Math.max(1, current.check_after_secs ?? 1) * 1000);
      const res = await call({
        method: 'GET', url: `${api}/2/media/upload?command=STATUS&media_id=${encodeURIComponent(id)}`, operation: 'media_status', headers: bearer(tokens),
      });
      const next = read<XMediaAnswer>(res, 'media_status').data?.processing_info;
      // STATUS without processing_info means there is nothing left to wait for.
      if (!next) return;
      current = next;
    }
  }

  async function upload(tokens: TokenSet, m: MediaItem): Promise<string> {
    const bytes = await m.read();
    const category = mediaCategory(m);
    let id: string;
    let processing: NonNullable<XMediaAnswer['data']>['processing_info'];
    if (category === 'tweet_image') {
      // Images: one multipart request.
      const form = new FormData();
      form.set('media_category', category);
      form.set('media', new Blob([bytes], { type: m.mimeType }), 'media');
      const res = await call({ method: 'POST', url: `${api}/2/media/upload`, operation: 'media_upload', headers: bearer(tokens), body: form, retryUnsent: true, media: true });
      const d = read<XMediaAnswer>(res, 'media_upload').data;
      if (!d?.id) throw malformed('x', 'media_upload', false);
      id = d.id;
      processing = d.processing_info;
    } else {
      // Video and GIF: initialize, append 1 MB segments, finalize, then poll STATUS while processing.
      const init = await call({
        method: 'POST', url: `${api}/2/media/upload/initialize`, operation: 'media_initialize', headers: bearer(tokens),
        body: { media_type: m.mimeType, total_bytes: bytes.length, media_category: category }, retryUnsent: true,
      });
      const initId = read<XMediaAnswer>(init, 'media_initialize').data?.id;
      if (!initId) throw malformed('x', 'media_initialize', false);
      id = initId;
      for (let offset = 0, segment = 0; offset < bytes.length; offset += CHUNK_BYTES, segment++) {
        const form = new FormData();
        form.set('segment_index', String(segment));
        form.set('media', new Blob([bytes.subarray(offset, offset + CHUNK_BYTES)], { type: 'application/octet-stream' }), 'media');
        await call({ method: 'POST', url: `${api}/2/media/upload/${encodeURIComponent(id)}/append`, operation: 'media_append', headers: bearer(tokens), body: form, retryUnsent: true, media: true });
      }
      const fin = await call({ method: 'POST', url: `${api}/2/media/upload/${encodeURIComponent(id)}/finalize`, operation: 'media_finalize', headers: bearer(tokens), retryUnsent: true });
      processing = read<XMediaAnswer>(fin, 'media_finalize').data?.processing_info;
    }
    if (processing) await waitProcessed(tokens, id, processing);
    if (m.altText) {
      await call({
        method: 'POST', url: `${api}/2/media/metadata`, operation: 'media_metadata', headers: bearer(tokens),
        body: { id, metadata: { alt_text: { text: m.altText } } }, retryUnsent: true,
      });
    }
    return id;
  }

  /** The post sent under an attempt, looked for on the account's own timeline. */
  async function search(account: AccountRef, a: Attempt & { firstSentAt: number }, since: Date): Promise<PublishedPost | null> {
    const from = Math.min(since.getTime(), a.firstSentAt) - CLOCK_SKEW_MS;
    const want = comparableText(a.text, false);
    const hits: XTweet[] = [];
    let token: string | undefined;
    for (let page = 0; page < TIMELINE_PAGES; page++) {
      // Replies are kept (a thread part is a reply); reposts cannot carry our text.
      const q = new URLSearchParams({ max_results: '100', exclude: 'retweets', 'tweet.fields': 'created_at,referenced_tweets', start_time: iso(from) });
      if (token) q.set('pagination_token', token);
      const res = await call({
        method: 'GET', url: `${api}/2/users/${encodeURIComponent(account.externalId)}/tweets?${q}`, operation: 'find_post', headers: bearer(account.tokens),
      });
      const body = read<{ data?: XTweet[]; meta?: { next_token?: string } }>(res, 'find_post');
      for (const t of body.data ?? []) {
        if (typeof t?.text !== 'string' || comparableText(t.text, true) !== want) continue;
        if (a.replyTo && !t.referenced_tweets?.some((r) => r.type === 'replied_to' && r.id === a.replyTo)) continue;
        if (t.created_at && Date.parse(t.created_at) < from) continue;
        hits.push(t);
      }
      token = body.meta?.next_token;
      if (!token) break;
    }
    // The earliest match is the first accepted attempt.
    hits.sort((x, y) => Date.parse(x.created_at ?? '') - Date.parse(y.created_at ?? ''));
    const hit = hits[0];
    return hit ? { remoteId: hit.id, url: postUrl(account.username, hit.id) } : null;
  }

  return {
    meta,

    async authorizationUrl(req: AuthorizeRequest) {
      const params: Record<string, string> = {
        response_type: 'code', client_id: auth.clientId, redirect_uri: req.redirectUri, scope: X_SCOPES.join(' '), state: req.state,
        code_challenge: req.codeChallenge, code_challenge_method: 'S256',
      };
      // %20 between scopes, as in X's examples.
      return `${authBase}/i/oauth2/authorize?${Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    },

    exchangeCode(req: ExchangeRequest) {
      return tokenRequest(http, {
        provider: 'x', operation: 'oauth_exchange', url: `${api}/2/oauth2/token`, auth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, code_verifier: req.codeVerifier },
      });
    },

    async refresh(account: AccountRef) {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'x: there is no refresh token (offline.access was not granted); the account must be reconnected', { provider: 'x', reason: 'no_refresh_token' });
      try {
        // No previousRefresh: X rotates refresh tokens and the old one is single-use, so keeping it would fail later.
        return await tokenRequest(http, {
          provider: 'x', operation: 'oauth_refresh', url: `${api}/2/oauth2/token`, auth,
          params: { grant_type: 'refresh_token', refresh_token: rt },
        });
      } catch (err) {
        // X answers a used, revoked or expired refresh token with 400 invalid_request ("Value passed for the
        // token was invalid."), not invalid_grant: the account needs reconnecting either way.
        if (err instanceof ProviderError && err.kind === 'permanent' && err.details.status === 400 && /^invalid_request\b/.test(err.details.reason ?? '')) {
          throw new ProviderError('auth_expired', `x: X no longer accepts this refresh token (${err.details.reason ?? 'invalid_request'})`, { ...err.details, reason: 'invalid_refresh_token' });
        }
        throw err;
      }
    },

    async revoke(account: AccountRef) {
      // Both tokens: revoking one is not documented to revoke the other.
      if (account.tokens.refreshToken) await revokeRequest(http, { provider: 'x', url: `${api}/2/oauth2/revoke`, token: account.tokens.refreshToken, hint: 'refresh_token', auth });
      await revokeRequest(http, { provider: 'x', url: `${api}/2/oauth2/revoke`, token: account.tokens.accessToken, hint: 'access_token', auth });
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const res = await call({
        method: 'GET', url: `${api}/2/users/me?user.fields=id,name,username,profile_image_url,verified,verified_type`, operation: 'profile', headers: bearer(tokens),
      });
      const me = read<{ data?: { id?: string; name?: string; username?: string; profile_image_url?: string; verified_type?: string } }>(res, 'profile').data;
      if (!me?.id || !me.username) throw malformed('x', 'profile', false);
      return [{
        externalId: me.id, kind: 'person', username: me.username, displayName: me.name ?? me.username,
        // _normal is 48x48; _400x400 is the same image larger.
        ...(me.profile_image_url ? { avatarUrl: me.profile_image_url.replace(/_normal(\.\w+)$/, '_400x400$1') } : {}),
        profileUrl: `https://x.com/${me.username}`,
        ...(me.verified_type ? { data: { verifiedType: me.verified_type } } : {}),
      }];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const moving = post.media.filter((m) => mediaCategory(m) !== 'tweet_image');
      if (post.media.length > 4 || (moving.length > 0 && post.media.length > 1)) {
        throw new ProviderError('permanent', 'x: a post takes up to 4 images, or 1 GIF, or 1 video', { provider: 'x', reason: 'media_not_allowed' });
      }
      const mediaIds: string[] = [];
      for (const m of post.media) mediaIds.push(await upload(account.tokens, m));
      const body = {
        text: post.text,
        ...(mediaIds.length > 0 ? { media: { media_ids: mediaIds } } : {}),
        ...(post.replyTo ? { reply: { in_reply_to_tweet_id: post.replyTo } } : {}),
      };
      // Written down before the request goes out, so that a crash during it still leaves the record.
      const earlier = await attempts.get(account.externalId, post.marker);
      const attempt = await attempts.record(account.externalId, post.marker, { text: post.text, ...(post.replyTo ? { replyTo: post.replyTo } : {}) });
      const res = await calls.send({ method: 'POST', url: `${api}/2/tweets`, operation: 'publish', headers: bearer(account.tokens), body, retryUnsent: true }, true);
      // The same marker was sent before and X now calls the text a duplicate: that earlier send was accepted.
      if (res.status === 403 && earlier && isDuplicate(problemOf(res))) {
        const found = await search(account, attempt, new Date(attempt.firstSentAt));
        if (found) return found;
      }
      if (res.status < 200 || res.status >= 300) throw xError('publish', res, { creates: true, reply: Boolean(post.replyTo) });
      const id = read<{ data?: { id?: unknown } }>(res, 'publish', true).data?.id;
      if (typeof id !== 'string' || id === '') throw malformed('x', 'publish', true);
      return { remoteId: id, url: postUrl(account.username, id) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const a = await attempts.get(account.externalId, marker);
      if (!a) {
        throw new ProviderError('unknown_outcome', 'x: there is no record of what was sent under the marker, and X has no client key to search by', { provider: 'x', reason: 'no_record_of_marker' });
      }
      return search(account, a, since);
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const res = await call({
        method: 'GET', url: `${api}/2/tweets/${encodeURIComponent(remoteId)}?tweet.fields=public_metrics`, operation: 'metrics', headers: bearer(account.tokens),
      });
      const body = read<{ data?: { public_metrics?: Record<string, number> }; errors?: XProblem['errors'] }>(res, 'metrics');
      if (!body.data) {
        // A lookup of a deleted post answers 200 with errors[] (resource-not-found) and no data.
        const e = body.errors?.[0];
        if (e) throw new ProviderError('permanent', `x: metrics: ${e.detail ?? e.title ?? 'no such post'}`, { provider: 'x', status: 200, reason: e.type?.split('/').pop() ?? 'not_found' });
        throw malformed('x', 'metrics', false);
      }
      const m = body.data.public_metrics ?? {};
      return { likes: m.like_count, reposts: m.retweet_count, replies: m.reply_count, impressions: m.impression_count, collectedAt: new Date() };
    },
  };
}
