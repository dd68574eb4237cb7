// LinkedIn adapter: members and the organisation Pages they administer.
// Documentation (the facts used, each with its page, are in docs/NETWORKS.md, Network facts: LinkedIn):
//   OAuth 2.0          https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
//   Refresh tokens     https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
//   Member profile     https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2 (GET /v2/userinfo)
//   Organisation ACLs  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role
//   Posts API          https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
//   Images / Videos    https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
//                      https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api
//   Comments           https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api
//   Little Text Format https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
//   Org share stats    https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics
//   Rate limits        https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
//
// Every /rest call carries LinkedIn-Version (pinned in LINKEDIN_VERSION, monthly, sunset after about a year)
// and X-Restli-Protocol-Version: 2.0.0. An account is an author URN: urn:li:person:{sub} for the member,
// urn:li:organization:{id} for a Page; that URN is the identity's externalId.
//
// Finding a post again after an unknown outcome: LinkedIn has no idempotency key. Before sending, the adapter
// writes down, per account and marker, the commentary and when it was first sent, in the send journal
// (send-journal.ts; the app keeps it in PostgreSQL for every worker, so it survives a restart). Then (a) for a
// Page it lists the Page's recent posts (q=author, needs r_organization_social) and matches the commentary
// and creation time; (b) for a member that listing needs r_member_social, which LinkedIn grants to select
// partners only, so findByMarker says the outcome cannot be known (unknown_outcome). What makes a retry safe
// instead is LinkedIn's duplicate check: re-sending the same commentary answers 422 DUPLICATE_POST naming
// the earlier post's URN, and a retry under the same marker takes that URN as its result, also when the
// earlier send was made by a process that has died since.
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRequest, HttpResponse } from '../infra/http/client.ts';
import { bodySnippet, malformed, retryAfterMs, transportError } from './errors.ts';
import { parseJson, readJson, redactSecrets } from './http.ts';
import { revokeRequest, tokenRequest, type ClientAuth } from './oauth2.ts';
import {
  ProviderError, type AccountRef, type AuthorizeRequest, type ConnectedIdentity, type ExchangeRequest, type MediaItem, type PostMetrics,
  type Provider, type ProviderDeps, type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';
import { SentPosts } from './sent-posts.ts';

const MB = 1024 * 1024;

const meta: ProviderMetadata = {
  id: 'linkedin',
  displayName: 'LinkedIn',
  docsUrl: 'https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: false,
  limits: {
    // 3,000 and its unit are not in LinkedIn's reference (UNCONFIRMED): UTF-16 length never under-counts.
    textCounting: 'utf16', maxTextLength: 3000, threads: false, firstComment: true,
    media: {
      // 1-20 images, or 1 video; no mixing. LinkedIn documents images only in pixels (< 36,152,320);
      // 5 MB is the cap third-party schedulers apply (UNCONFIRMED). Video: MP4, 75 KB-500 MB, 3 s-30 min.
      maxCount: 20, imageTypes: ['image/jpeg', 'image/png', 'image/gif'], videoTypes: ['video/mp4'],
      maxImageBytes: 5 * MB, maxVideoBytes: 500 * MB, maxVideoSeconds: 1800, mixing: false, required: false,
    },
  },
};

/**
 * Member posting and identity (OpenID Connect), plus the Community Management scopes for Pages. An app
 * without that product is refused these scopes on the consent page (unauthorized_scope_error).
 */
export const LINKEDIN_SCOPES = ['openid', 'profile', 'w_member_social', 'w_organization_social', 'r_organization_social', 'rw_organization_admin'];
/** Page roles that may post as the Page (Super admin and Content admin). */
const POSTING_ROLES = new Set(['ADMINISTRATOR', 'CONTENT_ADMINISTRATOR']);
const CLOCK_SKEW_MS = 2 * 60_000;
const IMAGE_DEADLINE_MS = 60_000;
const VIDEO_DEADLINE_MS = 15 * 60_000;
const LIST_PAGES = 4;
const LIST_COUNT = 50;

interface LinkedInError {
  status?: number;
  serviceErrorCode?: number;
  code?: string;
  message?: string;
  errorDetails?: { inputErrors?: { code?: string; description?: string }[] };
  error?: string;
  error_description?: string;
}

function errorOf(res: HttpResponse): LinkedInError {
  const e = parseJson(res);
  return e && typeof e === 'object' ? e as LinkedInError : {};
}

/** Milliseconds to the next 00:00 UTC, when LinkedIn's daily quotas reset. */
export function untilUtcMidnight(now = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now;
}

/** The URN of the earlier post a 422 DUPLICATE_POST names, if the answer is one. */
export function duplicateOf(res: HttpResponse): string | undefined {
  if (res.status !== 422) return undefined;
  const e = errorOf(res);
  const texts = [e.message, ...(e.errorDetails?.inputErrors ?? []).map((i) => i.description)].filter((s): s is string => typeof s === 'string');
  const isDuplicate = (e.errorDetails?.inputErrors ?? []).some((i) => i.code === 'DUPLICATE_POST') || texts.some((t) => /duplicate/i.test(t));
  if (!isDuplicate) return undefined;
  for (const t of texts) {
    const m = /urn:li:(?:share|ugcPost):\d+/.exec(t);
    if (m) return m[0];
  }
  return '';
}

/** A non-2xx LinkedIn answer as a ProviderError. */
export function linkedInError(what: string, res: HttpResponse, creates = false): ProviderError {
  const e = errorOf(res);
  const reason = redactSecrets([e.code ?? e.error, e.message ?? e.error_description].filter(Boolean).join(': ')).slice(0, 300) || bodySnippet(res);
  const base = { provider: 'linkedin', status: res.status };
  if (res.status === 401) return new ProviderError('auth_expired', `linkedin: ${what} refused the token (${reason})`, { ...base, reason: e.code ?? 'unauthorized' });
  if (res.status === 429) {
    // No Retry-After from LinkedIn; its quotas are daily and reset at midnight UTC.
    const wait = retryAfterMs(res.headers) ?? untilUtcMidnight();
    return new ProviderError('rate_limited', `linkedin: ${what} is over LinkedIn's daily quota (${reason})`, { ...base, reason: e.code ?? 'throttled', retryAfterMs: wait });
  }
  if (res.status === 426) {
    return new ProviderError('permanent', `linkedin: the pinned LinkedIn-Version is no longer active; raise LINKEDIN_VERSION (${reason})`, { ...base, reason: 'NONEXISTENT_VERSION' });
  }
  const dup = duplicateOf(res);
  if (dup !== undefined) {
    return new ProviderError('permanent', `linkedin: ${what} was refused as a duplicate${dup ? ` of ${dup}` : ''}`, { ...base, reason: dup ? `duplicate_post ${dup}` : 'duplicate_post' });
  }
  if (res.status === 504 && creates) {
    return new ProviderError('unknown_outcome', `linkedin: ${what} timed out inside LinkedIn (504); it may have been accepted`, { ...base, reason });
  }
  if (res.status >= 500) return new ProviderError('transient', `linkedin: ${what} failed on LinkedIn's side (${res.status})`, { ...base, reason });
  return new ProviderError('permanent', `linkedin: ${what} was refused (${reason})`, { ...base, reason });
}

const RESERVED = /[\\|{}@[\]()<>#*_~]/g;
const MENTION = /@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)/g;

/**
 * Commentary is Little Text Format: the reserved characters are backslash-escaped (an unescaped one can cut
 * the text short), except inside mention tokens @[Name](urn:li:person|organization:…), kept as written.
 */
export function littleText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(MENTION)) {
    out += text.slice(last, m.index).replace(RESERVED, (c) => `\\${c}`) + m[0];
    last = m.index + m[0].length;
  }
  return out + text.slice(last).replace(RESERVED, (c) => `\\${c}`);
}

/** What one marker sent (see the head of this file). */
interface Attempt {
  commentary: string;
  replyTo?: string;
  author: string;
}

const isOrganization = (urn: string) => urn.startsWith('urn:li:organization:');
const postUrl = (urn: string) => `https://www.linkedin.com/feed/update/${urn}`;

export function createLinkedIn(deps: ProviderDeps): Provider {
  const { http } = deps;
  const api = deps.settings.baseUrls.api ?? 'https://api.linkedin.com';
  const authBase = deps.settings.baseUrls.auth ?? 'https://www.linkedin.com';
  const version = deps.settings.baseUrls.version;
  if (!deps.settings.clientId || !deps.settings.clientSecret) throw new Error('linkedin: LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET are required');
  if (!version || !/^\d{6}(\.\d{2})?$/.test(version)) throw new Error('linkedin: LINKEDIN_VERSION must be YYYYMM');
  // Web apps authenticate with client_id and client_secret in the form (no PKCE: LinkedIn enables it only
  // for native apps on a loopback redirect, on request).
  const auth: ClientAuth = { clientId: deps.settings.clientId, clientSecret: deps.settings.clientSecret, method: 'body' };
  const attempts = new SentPosts<Attempt>('linkedin', deps.journal);
  const apiOrigin = new URL(api).origin;
  const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}` });
  const rest = (t: TokenSet) => ({ ...bearer(t), 'linkedin-version': version, 'x-restli-protocol-version': '2.0.0' });

  const call = async (req: HttpRequest, creates = false): Promise<HttpResponse> => {
    let res;
    try {
      res = await http.request(req);
    } catch (err) {
      throw transportError('linkedin', req.operation, err, creates);
    }
    if (res.status < 200 || res.status >= 300) throw linkedInError(req.operation, res, creates);
    return res;
  };
  const read = <T>(res: HttpResponse, what: string, creates = false): T => readJson<T>(res, { provider: 'linkedin', operation: what, creates });
  /** Upload URLs are LinkedIn's own; the token goes only to LinkedIn hosts (or the configured API host). */
  const uploadHeaders = (tokens: TokenSet, url: string): Record<string, string> => {
    const u = new URL(url);
    const ours = u.origin === apiOrigin || (u.protocol === 'https:' && (u.hostname === 'linkedin.com' || u.hostname.endsWith('.linkedin.com')));
    return { 'content-type': 'application/octet-stream', ...(ours ? bearer(tokens) : {}) };
  };

  /** Polls an image or video until AVAILABLE; attaching earlier makes the post fail. */
  async function waitAvailable(tokens: TokenSet, kind: 'images' | 'videos', urn: string, deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
      let res;
      try {
        res = await http.request({ method: 'GET', url: `${api}/rest/${kind}/${encodeURIComponent(urn)}`, provider: 'linkedin', operation: 'media_status', headers: rest(tokens) });
      } catch (err) {
        throw transportError('linkedin', 'media_status', err, false);
      }
      // Member tokens have been reported unable to read images back (403). LinkedIn does not say which
      // behaviour is right (UNCONFIRMED): the upload itself succeeded, so carry on and let the post
      // creation say whether the media is ready.
      if (res.status === 403) return;
      if (res.status < 200 || res.status >= 300) throw linkedInError('media_status', res);
      const status = read<{ status?: string }>(res, 'media_status').status;
      if (status === 'AVAILABLE') return;
      if (status === 'PROCESSING_FAILED') {
        throw new ProviderError('permanent', `linkedin: LinkedIn could not process the ${kind === 'images' ? 'image' : 'video'}`, { provider: 'linkedin', reason: 'media_processing_failed' });
      }
      if (Date.now() + delay > deadline) throw new ProviderError('transient', 'linkedin: the media was still processing when AllIN stopped waiting', { provider: 'linkedin', reason: 'media_processing_timeout' });
      await sleep(delay);
    }
  }

  async function uploadImage(tokens: TokenSet, owner: string, m: MediaItem): Promise<string> {
    const init = await call({
      method: 'POST', url: `${api}/rest/images?action=initializeUpload`, provider: 'linkedin', operation: 'media_initialize', headers: rest(tokens),
      body: { initializeUploadRequest: { owner } }, retryUnsent: true,
    });
    const v = read<{ value?: { uploadUrl?: string; image?: string } }>(init, 'media_initialize').value;
    if (!v?.uploadUrl || !v.image) throw malformed('linkedin', 'media_initialize', false);
    // The whole file in one PUT: images are never chunked.
    await call({ method: 'PUT', url: v.uploadUrl, provider: 'linkedin', operation: 'media_upload', headers: uploadHeaders(tokens, v.uploadUrl), body: await m.read(), media: true });
    await waitAvailable(tokens, 'images', v.image, IMAGE_DEADLINE_MS);
    return v.image;
  }

  async function uploadVideo(tokens: TokenSet, owner: string, m: MediaItem): Promise<string> {
    const bytes = await m.read();
    const init = await call({
      method: 'POST', url: `${api}/rest/videos?action=initializeUpload`, provider: 'linkedin', operation: 'media_initialize', headers: rest(tokens),
      body: { initializeUploadRequest: { owner, fileSizeBytes: bytes.length, uploadCaptions: false, uploadThumbnail: false } }, retryUnsent: true,
    });
    const v = read<{ value?: { video?: string; uploadToken?: string; uploadInstructions?: { uploadUrl?: string; firstByte?: number; lastByte?: number }[] } }>(init, 'media_initialize').value;
    if (!v?.video || !Array.isArray(v.uploadInstructions) || v.uploadInstructions.length === 0) throw malformed('linkedin', 'media_initialize', false);
    // Each part is PUT as given (at most 4 MB); its ETag, in order, proves the part to finalizeUpload.
    const etags: string[] = [];
    for (const part of v.uploadInstructions) {
      if (!part.uploadUrl || typeof part.firstByte !== 'number' || typeof part.lastByte !== 'number') throw malformed('linkedin', 'media_initialize', false);
      const res = await call({
        method: 'PUT', url: part.uploadUrl, provider: 'linkedin', operation: 'media_upload', headers: uploadHeaders(tokens, part.uploadUrl),
        body: bytes.subarray(part.firstByte, part.lastByte + 1), media: true,
      });
      const etag = res.headers.etag?.replace(/^W\//, '').replace(/"/g, '');
      if (!etag) throw malformed('linkedin', 'media_upload', false);
      etags.push(etag);
    }
    await call({
      method: 'POST', url: `${api}/rest/videos?action=finalizeUpload`, provider: 'linkedin', operation: 'media_finalize', headers: rest(tokens),
      body: { finalizeUploadRequest: { video: v.video, uploadToken: v.uploadToken ?? '', uploadedPartIds: etags } }, retryUnsent: true,
    });
    await waitAvailable(tokens, 'videos', v.video, VIDEO_DEADLINE_MS);
    return v.video;
  }

  /** A comment on a post (AllIN's "first comment"): plain text, not Little Text Format. */
  async function comment(account: AccountRef, post: PublishRequest, parent: string): Promise<PublishedPost> {
    if (post.media.length > 0) {
      throw new ProviderError('permanent', 'linkedin: a comment is text only here (media in comments is not part of the documented flow AllIN uses)', { provider: 'linkedin', reason: 'media_not_allowed' });
    }
    await attempts.record(account.externalId, post.marker, { commentary: post.text, replyTo: parent, author: account.externalId });
    const res = await call({
      method: 'POST', url: `${api}/rest/socialActions/${encodeURIComponent(parent)}/comments`, provider: 'linkedin', operation: 'publish', headers: rest(account.tokens),
      body: { actor: account.externalId, object: parent, message: { text: post.text } }, retryUnsent: true,
    }, true);
    let id = res.headers['x-restli-id'];
    if (!id && res.text) {
      const body = read<{ commentUrn?: string; id?: string }>(res, 'publish', true);
      id = body.commentUrn ?? body.id;
    }
    if (!id) throw malformed('linkedin', 'publish', true);
    return { remoteId: id, url: postUrl(parent) };
  }

  /** The post or comment sent under an attempt, looked for where the token may read. */
  async function search(account: AccountRef, a: Attempt & { firstSentAt: number }, since: Date): Promise<PublishedPost | null> {
    const from = Math.min(since.getTime(), a.firstSentAt) - CLOCK_SKEW_MS;
    const refused = (res: HttpResponse) => new ProviderError('unknown_outcome',
      'linkedin: this token may not read the account\'s posts or comments (r_member_social is granted to select partners only), so the outcome cannot be established; a retry under the same marker is answered with the existing post if LinkedIn finds it a duplicate',
      { provider: 'linkedin', status: res.status, reason: 'cannot_read_back' });
    const get = async (url: string, headers: Record<string, string>) => {
      let res;
      try {
        res = await http.request({ method: 'GET', url, provider: 'linkedin', operation: 'find_post', headers });
      } catch (err) {
        throw transportError('linkedin', 'find_post', err, false);
      }
      if (res.status === 403) throw refused(res);
      if (res.status < 200 || res.status >= 300) throw linkedInError('find_post', res);
      return res;
    };
    if (a.replyTo) {
      for (let page = 0; page < LIST_PAGES; page++) {
        const res = await get(`${api}/rest/socialActions/${encodeURIComponent(a.replyTo)}/comments?start=${page * LIST_COUNT}&count=${LIST_COUNT}`, rest(account.tokens));
        const body = read<{ elements?: { actor?: string; commentUrn?: string; id?: string; message?: { text?: string }; created?: { time?: number } }[] }>(res, 'find_post');
        const els = body.elements ?? [];
        const hit = els.find((c) => c.actor === a.author && c.message?.text === a.commentary && (c.created?.time ?? Infinity) >= from);
        if (hit) return { remoteId: hit.commentUrn ?? hit.id ?? '', url: postUrl(a.replyTo) };
        if (els.length < LIST_COUNT) break;
      }
      return null;
    }
    for (let page = 0; page < LIST_PAGES; page++) {
      const q = `q=author&author=${encodeURIComponent(a.author)}&start=${page * LIST_COUNT}&count=${LIST_COUNT}&sortBy=LAST_MODIFIED`;
      const res = await get(`${api}/rest/posts?${q}`, { ...rest(account.tokens), 'x-restli-method': 'FINDER' });
      const els = read<{ elements?: { id?: string; commentary?: string; createdAt?: number; publishedAt?: number; lastModifiedAt?: number }[] }>(res, 'find_post').elements ?? [];
      const hit = els.find((p) => p.id && p.commentary === a.commentary && (p.createdAt ?? p.publishedAt ?? Infinity) >= from);
      if (hit?.id) return { remoteId: hit.id, url: postUrl(hit.id) };
      // Sorted by last modification, newest first: past the window, older pages cannot hold it.
      if (els.length < LIST_COUNT || els.every((p) => (p.lastModifiedAt ?? p.createdAt ?? 0) < from)) break;
    }
    return null;
  }

  return {
    meta,

    async authorizationUrl(req: AuthorizeRequest) {
      // No code_challenge: LinkedIn web apps do not use PKCE (the verifier the caller keeps goes unused).
      const params: Record<string, string> = {
        response_type: 'code', client_id: auth.clientId, redirect_uri: req.redirectUri, state: req.state, scope: LINKEDIN_SCOPES.join(' '),
      };
      return `${authBase}/oauth/v2/authorization?${Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    },

    exchangeCode(req: ExchangeRequest) {
      return tokenRequest(http, {
        provider: 'linkedin', operation: 'oauth_exchange', url: `${authBase}/oauth/v2/accessToken`, auth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri },
      });
    },

    async refresh(account: AccountRef) {
      const rt = account.tokens.refreshToken;
      if (!rt) {
        // Programmatic refresh tokens are issued only to approved apps; the others reconnect before day 60.
        throw new ProviderError('auth_expired', 'linkedin: LinkedIn issued no refresh token to this app; the member must reconnect', { provider: 'linkedin', reason: 'no_refresh_token' });
      }
      // Not rotated: the same refresh token (with its original expiry) stays valid; keep it when the answer omits it.
      return tokenRequest(http, {
        provider: 'linkedin', operation: 'oauth_refresh', url: `${authBase}/oauth/v2/accessToken`, auth, previousRefresh: rt,
        params: { grant_type: 'refresh_token', refresh_token: rt },
      });
    },

    async revoke(account: AccountRef) {
      // POST /oauth/v2/revoke (token, client_id, client_secret) is what several clients use; LinkedIn's own
      // page for it was not found (UNCONFIRMED). The access token is revoked, as those clients do.
      await revokeRequest(http, { provider: 'linkedin', url: `${authBase}/oauth/v2/revoke`, token: account.tokens.accessToken, auth });
    },

    async identities(tokens: TokenSet): Promise<ConnectedIdentity[]> {
      const res = await call({ method: 'GET', url: `${api}/v2/userinfo`, provider: 'linkedin', operation: 'profile', headers: bearer(tokens) });
      const me = read<{ sub?: string; name?: string; given_name?: string; family_name?: string; picture?: string }>(res, 'profile');
      if (!me.sub) throw malformed('linkedin', 'profile', false);
      const name = me.name ?? [me.given_name, me.family_name].filter(Boolean).join(' ');
      // OpenID Connect gives no handle (the vanity name needs the restricted r_basicprofile): the name stands in.
      const member: ConnectedIdentity = {
        externalId: `urn:li:person:${me.sub}`, kind: 'person', username: name || me.sub, displayName: name || me.sub,
        ...(me.picture ? { avatarUrl: me.picture } : {}),
      };
      const scope = tokens.scope;
      if (scope && !scope.some((s) => s === 'rw_organization_admin' || s === 'r_organization_admin')) return [member];

      // Pages the member may post as: approved ADMINISTRATOR or CONTENT_ADMINISTRATOR roles.
      const orgs = new Map<string, string>();
      for (let start = 0; ; start += 100) {
        let acl;
        try {
          acl = await http.request({
            method: 'GET', url: `${api}/rest/organizationAcls?q=roleAssignee&state=APPROVED&start=${start}&count=100`, provider: 'linkedin', operation: 'profile', headers: rest(tokens),
          });
        } catch (err) {
          throw transportError('linkedin', 'profile', err, false);
        }
        // Without the Community Management product the member is all there is.
        if (acl.status === 403) return [member];
        if (acl.status < 200 || acl.status >= 300) throw linkedInError('profile', acl);
        const els = read<{ elements?: { organization?: string; organizationTarget?: string; role?: string; state?: string }[] }>(acl, 'profile').elements ?? [];
        for (const e of els) {
          const org = e.organization ?? e.organizationTarget;
          if (org && e.role && POSTING_ROLES.has(e.role) && (e.state ?? 'APPROVED') === 'APPROVED' && !orgs.has(org)) orgs.set(org, e.role);
        }
        if (els.length < 100) break;
      }
      const pages: ConnectedIdentity[] = [];
      for (const [urn, role] of orgs) {
        const id = urn.slice('urn:li:organization:'.length);
        let res;
        try {
          res = await http.request({ method: 'GET', url: `${api}/rest/organizations/${encodeURIComponent(id)}`, provider: 'linkedin', operation: 'profile', headers: rest(tokens) });
        } catch (err) {
          throw transportError('linkedin', 'profile', err, false);
        }
        // A Page deleted since, or one the token may not look up, is not offered.
        if (res.status === 403 || res.status === 404) continue;
        if (res.status < 200 || res.status >= 300) throw linkedInError('profile', res);
        const o = read<{ localizedName?: string; vanityName?: string }>(res, 'profile');
        pages.push({
          externalId: urn, kind: 'organization', username: o.vanityName ?? id, displayName: o.localizedName ?? o.vanityName ?? id,
          profileUrl: `https://www.linkedin.com/company/${encodeURIComponent(o.vanityName ?? id)}`, data: { role },
        });
      }
      return [member, ...pages];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const author = account.externalId;
      if (!/^urn:li:(person|organization):/.test(author)) throw new ProviderError('permanent', `linkedin: ${author} is not an author URN`, { provider: 'linkedin', reason: 'bad_author' });
      // No threads on LinkedIn: an answer to a post is a comment under it.
      if (post.replyTo) return comment(account, post, post.replyTo);

      const videos = post.media.filter((m) => m.mimeType.startsWith('video/'));
      if (post.media.length > 20 || (videos.length > 0 && post.media.length > 1)) {
        throw new ProviderError('permanent', 'linkedin: a post takes 1-20 images or 1 video', { provider: 'linkedin', reason: 'media_not_allowed' });
      }
      const media: { id: string; altText?: string }[] = [];
      for (const m of post.media) {
        const id = m.mimeType.startsWith('video/') ? await uploadVideo(account.tokens, author, m) : await uploadImage(account.tokens, author, m);
        media.push({ id, ...(m.altText && !m.mimeType.startsWith('video/') ? { altText: m.altText } : {}) });
      }
      const content = media.length === 1 ? { content: { media: media[0] } } : media.length > 1 ? { content: { multiImage: { images: media } } } : {};
      const commentary = littleText(post.text);
      const body = {
        author, commentary, visibility: 'PUBLIC',
        distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
        lifecycleState: 'PUBLISHED', isReshareDisabledByAuthor: false, ...content,
      };
      // Written down before the request goes out, so that a crash during it still leaves the record.
      const earlier = await attempts.get(author, post.marker);
      await attempts.record(author, post.marker, { commentary, author });
      let res;
      try {
        res = await http.request({ method: 'POST', url: `${api}/rest/posts`, provider: 'linkedin', operation: 'publish', headers: rest(account.tokens), body, retryUnsent: true });
      } catch (err) {
        throw transportError('linkedin', 'publish', err, true);
      }
      // The same marker was sent before and LinkedIn names the post it duplicates: that is the earlier send.
      const dup = duplicateOf(res);
      if (dup && earlier) return { remoteId: dup, url: postUrl(dup) };
      if (res.status < 200 || res.status >= 300) throw linkedInError('publish', res, true);
      // 201 with an empty body; the post URN is in x-restli-id.
      const urn = res.headers['x-restli-id'];
      if (!urn || !/^urn:li:/.test(urn)) throw malformed('linkedin', 'publish', true);
      return { remoteId: urn, url: postUrl(urn) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const a = await attempts.get(account.externalId, marker);
      if (!a) {
        throw new ProviderError('unknown_outcome', 'linkedin: there is no record of what was sent under the marker, and LinkedIn has no client key to search by', { provider: 'linkedin', reason: 'no_record_of_marker' });
      }
      return search(account, a, since);
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      if (!isOrganization(account.externalId)) {
        // Member post analytics need r_member_postAnalytics, which AllIN does not request (its own product).
        throw new ProviderError('permanent', 'linkedin: statistics of a member\'s posts need the r_member_postAnalytics scope, which AllIN does not request', { provider: 'linkedin', reason: 'scope_not_granted' });
      }
      const list = remoteId.startsWith('urn:li:ugcPost:') ? 'ugcPosts' : 'shares';
      const q = `q=organizationalEntity&organizationalEntity=${encodeURIComponent(account.externalId)}&${list}=List(${encodeURIComponent(remoteId)})`;
      const res = await call({ method: 'GET', url: `${api}/rest/organizationalEntityShareStatistics?${q}`, provider: 'linkedin', operation: 'metrics', headers: rest(account.tokens) });
      const els = read<{ elements?: { totalShareStatistics?: Record<string, number> }[] }>(res, 'metrics').elements;
      if (!Array.isArray(els)) throw malformed('linkedin', 'metrics', false);
      // No element: LinkedIn has no figures for the post (yet); none are invented.
      const s = els[0]?.totalShareStatistics ?? {};
      return { likes: s.likeCount, replies: s.commentCount, reposts: s.shareCount, impressions: s.impressionCount, collectedAt: new Date() };
    },
  };
}
