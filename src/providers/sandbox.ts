// Sandbox: AllIN's practice network, served by the network simulator (tools/provider-sim/networks/
// sandbox.ts documents its API). It behaves like a real network (OAuth 2.0 with PKCE and rotating
// refresh tokens, Idempotency-Key on posts, 401/429/5xx), so it exercises the same paths as X or
// Mastodon while needing no account anywhere.
import type { HttpResponse } from '../infra/http/client.ts';
import { httpError, malformed, transportError } from './errors.ts';
import { ProviderError } from './types.ts';
import { readJson } from './http.ts';
import { postMetrics } from './post-metrics.ts';
import { accountFigures, yesterdayUtc } from './account-metrics.ts';
import { revokeRequest, tokenRequest, type ClientAuth } from './oauth2.ts';
import type {
  AccountMetricsAnswer, AccountMetricsRequest, AccountRef, AuthorizeRequest, ConnectedIdentity, ExchangeRequest, FindReplyRequest, InboxItem, InboxPage, InboxPageRequest, MessageActionRequest, MessageState,
  PostMetrics, Provider, ProviderDeps, ProviderMetadata, PublishRequest, PublishedPost, ReplyRequest, TokenSet,
} from './types.ts';

const meta: ProviderMetadata = {
  id: 'sandbox',
  displayName: 'Sandbox',
  docsUrl: 'tools/provider-sim/networks/sandbox.ts',
  connect: 'oauth2',
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    textCounting: 'unicode', maxTextLength: 1000, threads: true, firstComment: true,
    media: {
      maxCount: 4, imageTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], videoTypes: ['video/mp4'],
      maxImageBytes: 10 * 1024 * 1024, maxVideoBytes: 100 * 1024 * 1024, mixing: false, required: false,
    },
  },
  inbox: {
    sources: [{
      id: 'inbox', collects: ['comments', 'replies', 'mentions'],
      description: 'GET /api/inbox: every comment on the account\'s posts, reply to those comments and mention, as a change feed with a cursor (edits, deletions and hiding come again); pages of up to 50.',
    }],
    // POST /api/comments/:id/replies under an Idempotency-Key; GET of the same path finds a reply by it.
    // Likes, hiding and deleting set a state (doing one twice changes nothing); GET /api/comments/:id reads it back.
    actions: ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete'],
    deletes: 'own_and_comments',
  },
  // GET /api/me/stats (the `profile` scope) for the counts, GET /api/me/insights (the `insights` scope) for 90 days of daily figures.
  accountMetrics: { fields: ['followers', 'following', 'posts', 'reach', 'impressions', 'profileViews', 'engagement'], historyDays: 90, docs: 'tools/provider-sim/networks/sandbox.ts' },
};

/** An item of the Sandbox inbox feed (tools/provider-sim/networks/sandbox.ts). */
interface FeedItem {
  id: string;
  type: 'comment' | 'mention';
  post_id: string | null;
  parent_id: string | null;
  url?: string;
  author: { id: string; username: string; name?: string; avatar_url?: string };
  text: string;
  lang: string | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  hidden: boolean;
  post: { id: string; text: string; url: string; author_id: string; created_at: string } | null;
}

const PAGE_SIZE = 50;

function inboxItem(i: FeedItem): InboxItem {
  const created = new Date(i.created_at);
  if (!i.id || !i.author?.id || Number.isNaN(created.getTime())) throw malformed('sandbox', 'inbox', false);
  return {
    remoteId: i.id, kind: i.type === 'mention' ? 'mention' : 'comment', rootRemoteId: i.post_id ?? i.id,
    ...(i.parent_id ? { parentRemoteId: i.parent_id } : {}),
    author: { remoteId: i.author.id, handle: i.author.username, ...(i.author.name ? { name: i.author.name } : {}), ...(i.author.avatar_url ? { avatarUrl: i.author.avatar_url } : {}) },
    text: i.text ?? '', ...(i.url ? { url: i.url } : {}), ...(i.lang ? { language: i.lang } : {}), createdAt: created,
    ...(i.edited_at ? { editedAt: new Date(i.edited_at) } : {}), ...(i.deleted ? { deleted: true } : {}), hidden: i.hidden === true,
    ...(i.post ? { root: { remoteId: i.post.id, url: i.post.url, text: i.post.text, authorRemoteId: i.post.author_id, createdAt: new Date(i.post.created_at) } } : {}),
  };
}

export function createSandbox(deps: ProviderDeps): Provider {
  const { http } = deps;
  const base = deps.settings.baseUrls.api!;
  const auth: ClientAuth = { clientId: deps.settings.clientId ?? 'allin-sandbox', method: 'body' };
  const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}` });

  const call = async (what: string, creates: boolean, send: () => Promise<HttpResponse>): Promise<HttpResponse> => {
    let res;
    try {
      res = await send();
    } catch (err) {
      throw transportError('sandbox', what, err, creates);
    }
    if (res.status < 200 || res.status >= 300) throw httpError('sandbox', what, res);
    return res;
  };
  const read = <T>(res: HttpResponse, what: string, creates: boolean): T => readJson<T>(res, { provider: 'sandbox', operation: what, creates });

  return {
    meta,

    async authorizationUrl(req: AuthorizeRequest) {
      const u = new URL(`${base}/oauth/authorize`);
      u.search = new URLSearchParams({
        response_type: 'code', client_id: auth.clientId, redirect_uri: req.redirectUri, state: req.state,
        code_challenge: req.codeChallenge, code_challenge_method: 'S256', scope: 'profile posts offline insights',
      }).toString();
      return u.toString();
    },

    exchangeCode(req: ExchangeRequest) {
      return tokenRequest(http, {
        provider: 'sandbox', operation: 'oauth_exchange', url: `${base}/oauth/token`, auth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, code_verifier: req.codeVerifier },
      });
    },

    refresh(account: AccountRef) {
      if (!account.tokens.refreshToken) return Promise.reject(new Error('no refresh token'));
      return tokenRequest(http, {
        provider: 'sandbox', operation: 'oauth_refresh', url: `${base}/oauth/token`, auth, previousRefresh: account.tokens.refreshToken,
        params: { grant_type: 'refresh_token', refresh_token: account.tokens.refreshToken },
      });
    },

    async revoke(account: AccountRef) {
      const token = account.tokens.refreshToken ?? account.tokens.accessToken;
      await revokeRequest(http, { provider: 'sandbox', url: `${base}/oauth/revoke`, token, hint: account.tokens.refreshToken ? 'refresh_token' : 'access_token', auth });
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const res = await call('profile', false, () => http.request({ method: 'GET', url: `${base}/api/me`, provider: 'sandbox', operation: 'profile', headers: bearer(tokens) }));
      const me = read<{ id: string; username: string; name: string; avatar_url?: string }>(res, 'profile', false);
      return [{ externalId: me.id, kind: 'person', username: me.username, displayName: me.name, ...(me.avatar_url ? { avatarUrl: me.avatar_url } : {}) }];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const mediaIds: string[] = [];
      for (const [i, m] of post.media.entries()) {
        const form = new FormData();
        form.set('file', new Blob([await m.read()], { type: m.mimeType }), `media-${i}`);
        const res = await call('media_upload', false, () => http.request({
          method: 'POST', url: `${base}/api/media`, provider: 'sandbox', operation: 'media_upload', headers: bearer(account.tokens), body: form, retryUnsent: true, media: true,
        }));
        mediaIds.push(read<{ id: string }>(res, 'media_upload', false).id);
      }
      // The Idempotency-Key makes a retried request safe; the marker finds the post after a timeout.
      const res = await call('publish', true, () => http.request({
        method: 'POST', url: `${base}/api/posts`, provider: 'sandbox', operation: 'publish',
        headers: { ...bearer(account.tokens), 'idempotency-key': post.marker },
        body: { text: post.text, ...(mediaIds.length ? { media_ids: mediaIds } : {}), ...(post.replyTo ? { reply_to: post.replyTo } : {}) },
        retryUnsent: true,
      }));
      const created = read<{ id?: string; url?: string }>(res, 'publish', true);
      if (!created.id) throw malformed('sandbox', 'publish', true);
      return { remoteId: created.id, ...(created.url ? { url: created.url } : {}) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const res = await call('find_post', false, () => http.request({
        method: 'GET', url: `${base}/api/posts?since=${encodeURIComponent(since.toISOString())}`, provider: 'sandbox', operation: 'find_post', headers: bearer(account.tokens),
      }));
      const { posts } = read<{ posts: { id: string; url: string; idempotency_key: string | null }[] }>(res, 'find_post', false);
      const hit = posts.find((p) => p.idempotency_key === marker);
      return hit ? { remoteId: hit.id, url: hit.url } : null;
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const res = await call('metrics', false, () => http.request({
        method: 'GET', url: `${base}/api/posts/${encodeURIComponent(remoteId)}/metrics`, provider: 'sandbox', operation: 'metrics', headers: bearer(account.tokens),
      }));
      const m = read<{ likes: number; reposts: number; replies: number; impressions: number }>(res, 'metrics', false);
      return postMetrics(m);
    },

    async accountMetrics(account: AccountRef, req: AccountMetricsRequest): Promise<AccountMetricsAnswer> {
      // A token without the `profile` scope is answered 403: a permanent refusal of the account's figures.
      const res = await call('account_metrics', false, () => http.request({ method: 'GET', url: `${base}/api/me/stats`, provider: 'sandbox', operation: 'account_metrics', headers: bearer(account.tokens) }));
      const me = read<{ followers_count?: unknown; following_count?: unknown; posts_count?: unknown }>(res, 'account_metrics', false);
      const answer: AccountMetricsAnswer = { now: accountFigures({ followers: me.followers_count, following: me.following_count, posts: me.posts_count }), days: [] };
      if (!req.insights) return answer;
      const since = req.since ?? yesterdayUtc();
      const ins = await http.request({
        method: 'GET', url: `${base}/api/me/insights?since=${encodeURIComponent(since)}`, provider: 'sandbox', operation: 'account_insights', headers: bearer(account.tokens),
      }).catch((err: unknown) => { throw transportError('sandbox', 'account_insights', err, false); });
      if (ins.status === 403) {
        // The counts came; only the insights are refused (a connection made before the scope was asked for).
        return { ...answer, insightsRefused: 'Sandbox did not grant this connection the insights scope: reconnect the account to read its reach, impressions, profile views and engagement.' };
      }
      if (ins.status < 200 || ins.status >= 300) throw httpError('sandbox', 'account_insights', ins);
      const body = read<{ days?: { date?: unknown; followers?: unknown; reach?: unknown; impressions?: unknown; profile_views?: unknown; engagement?: unknown }[] }>(ins, 'account_insights', false);
      if (!Array.isArray(body.days)) throw malformed('sandbox', 'account_insights', false);
      answer.days = body.days.filter((d) => typeof d.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.date)).map((d) => ({
        date: d.date as string,
        figures: accountFigures({ followers: d.followers, reach: d.reach, impressions: d.impressions, profileViews: d.profile_views, engagement: d.engagement }),
      }));
      return answer;
    },

    async collectInbox(account: AccountRef, req: InboxPageRequest): Promise<InboxPage> {
      if (req.source !== 'inbox') throw new ProviderError('permanent', `sandbox: no inbox source "${req.source}"`, { provider: 'sandbox', reason: 'unknown_source' });
      const q = new URLSearchParams({ limit: String(PAGE_SIZE), ...(req.cursor ? { cursor: req.cursor } : {}) });
      const res = await call('inbox', false, () => http.request({
        method: 'GET', url: `${base}/api/inbox?${q.toString()}`, provider: 'sandbox', operation: 'inbox', headers: bearer(account.tokens),
      }));
      const page = read<{ items?: FeedItem[]; next_cursor?: string; has_more?: boolean }>(res, 'inbox', false);
      if (!Array.isArray(page.items)) throw malformed('sandbox', 'inbox', false);
      return { items: page.items.map(inboxItem), cursor: page.next_cursor ?? req.cursor, more: page.has_more === true };
    },

    async reply(account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
      // As for posts: the Idempotency-Key makes a retried request safe, and findReply looks for it.
      const res = await call('reply', true, () => http.request({
        method: 'POST', url: `${base}/api/comments/${encodeURIComponent(req.parentRemoteId)}/replies`, provider: 'sandbox', operation: 'reply',
        headers: { ...bearer(account.tokens), 'idempotency-key': req.marker }, body: { text: req.text }, retryUnsent: true,
      }));
      const created = read<{ id?: string; url?: string }>(res, 'reply', true);
      if (!created.id) throw malformed('sandbox', 'reply', true);
      return { remoteId: created.id, ...(created.url ? { url: created.url } : {}) };
    },

    async findReply(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
      const res = await call('find_reply', false, () => http.request({
        method: 'GET', url: `${base}/api/comments/${encodeURIComponent(req.parentRemoteId)}/replies`, provider: 'sandbox', operation: 'find_reply', headers: bearer(account.tokens),
      }));
      const { replies } = read<{ replies?: { id: string; url?: string; idempotency_key: string | null }[] }>(res, 'find_reply', false);
      if (!Array.isArray(replies)) throw malformed('sandbox', 'find_reply', false);
      const hit = replies.find((r) => r.idempotency_key === req.marker);
      return hit ? { remoteId: hit.id, ...(hit.url ? { url: hit.url } : {}) } : null;
    },

    like: (account, req) => act(account, 'POST', `${comment(req)}/like`, 'like'),
    unlike: (account, req) => act(account, 'DELETE', `${comment(req)}/like`, 'unlike'),
    hide: (account, req) => act(account, 'POST', `${comment(req)}/hide`, 'hide'),
    unhide: (account, req) => act(account, 'DELETE', `${comment(req)}/hide`, 'unhide'),
    delete: (account, req) => act(account, 'DELETE', comment(req), 'delete_comment'),

    async messageState(account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
      // A comment that was deleted answers as a tombstone; 404 means the network does not know it for this account.
      const res = await call('comment_state', false, () => http.request({ method: 'GET', url: comment(req), provider: 'sandbox', operation: 'comment_state', headers: bearer(account.tokens) }));
      const c = read<{ deleted?: unknown; hidden?: unknown; liked?: unknown }>(res, 'comment_state', false);
      if (typeof c.deleted !== 'boolean' || typeof c.hidden !== 'boolean' || typeof c.liked !== 'boolean') throw malformed('sandbox', 'comment_state', false);
      return { deleted: c.deleted, hidden: c.hidden, likedByMe: c.liked };
    },
  };

  function comment(req: MessageActionRequest): string {
    return `${base}/api/comments/${encodeURIComponent(req.remoteId)}`;
  }

  /** A change of state: an answer that never came is an unknown outcome (messageState settles it). */
  async function act(account: AccountRef, method: 'POST' | 'DELETE', url: string, what: string): Promise<void> {
    await call(what, true, () => http.request({ method, url, provider: 'sandbox', operation: what, headers: bearer(account.tokens), retryUnsent: true }));
  }
}
