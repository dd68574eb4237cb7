// LinkedIn, as AllIN uses it (docs/NETWORKS.md, Network facts: LinkedIn; learn.microsoft.com/linkedin). Served under
// /linkedin at the paths of the real hosts (www.linkedin.com for OAuth, api.linkedin.com for the rest):
//   GET  /oauth/v2/authorization            consent; no PKCE (ignored, as for LinkedIn web apps); unknown scope →
//                                           error=unauthorized_scope_error; denyConsent → error=user_cancelled_authorize
//   POST /oauth/v2/accessToken              authorization_code | refresh_token with client_id + client_secret in the form;
//                                           60-day access tokens; refresh tokens (365 days, not rotated) only when the
//                                           app has programmatic refresh (linkedInSimOptions)
//   POST /oauth/v2/revoke                   token, client_id, client_secret
//   GET  /v2/userinfo                       { sub, name, given_name, family_name, picture, locale } (openid + profile)
//   GET  /rest/organizationAcls?q=roleAssignee[&role][&state]   the member's Page roles (rw_organization_admin)
//   GET  /rest/organizations/:id            { id, localizedName, vanityName }
//   POST /rest/images?action=initializeUpload, PUT the uploadUrl, GET /rest/images/:urn (WAITING_UPLOAD → PROCESSING → AVAILABLE)
//   POST /rest/videos?action=initializeUpload, PUT each part (ETag), POST ?action=finalizeUpload, GET /rest/videos/:urn
//   POST /rest/posts                        201, empty body, x-restli-id; 422 DUPLICATE_POST for the same commentary again
//   GET  /rest/posts/:urn, GET /rest/posts?q=author&author=   read back (r_organization_social; r_member_social for members)
//   POST /rest/socialActions/:urn/comments  { actor, object, parentComment?, message: { text } } → 201 (a "first comment", or an
//                                           answer: under a comment URN with parentComment, a nested comment)
//   GET  /rest/socialActions/:urn/comments  the comments of a post or of a comment (start, count; commentsSummary counts nested ones)
//   GET|DELETE /rest/socialActions/:urn/comments/:id   one comment (DELETE ?actor=: the actor's own only)
//   POST /rest/reactions?actor=  { root, reactionType }; GET|DELETE /rest/reactions/(actor:…,entity:…)   409 for a second one
// Comments people write are the shared SimInbox's items (kind comment, postId a Page post, parentId the comment answered),
// shown as urn:li:comment:(<post>,<id>) with actor urn:li:person:<author id>; reading a Page's posts generates them at the
// inboxRatePerMinute knob. The inbox reads (the Page's posts, comments) spend inboxRateLimitAfter (a 429, without any
// header, as LinkedIn's), inboxExpireTokensAfter and inboxPageSize.
//   GET  /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=&shares=List(…)
// Every /rest call needs LinkedIn-Version (400 VERSION_MISSING without it, 426 NONEXISTENT_VERSION when it is not one
// of the last twelve months) and X-Restli-Protocol-Version: 2.0.0. Errors are LinkedIn's { status, serviceErrorCode,
// code, message } bodies; a 429 has no Retry-After, as on LinkedIn. Every member administers the same fixture Pages.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorStyle, NetworkState, SimNetworkContext, SimPost, SimToken } from '../core.ts';
import { DEFAULT_KNOBS } from '../core.ts';

/** What LinkedIn decides per developer app. */
export interface LinkedInSimOptions {
  /** Programmatic refresh tokens are issued only to approved (MDP / Community Management) apps. */
  programmaticRefreshTokens: boolean;
}
const OPTIONS = new WeakMap<NetworkState, LinkedInSimOptions>();
export function linkedInSimOptions(state: NetworkState): LinkedInSimOptions {
  let o = OPTIONS.get(state);
  if (!o) {
    o = { programmaticRefreshTokens: true };
    OPTIONS.set(state, o);
  }
  return o;
}

/** The Pages every simulated member has a role on. */
export const LINKEDIN_SIM_ORGS = [
  { id: '2414183', localizedName: 'Sandbox Industries', vanityName: 'sandbox-industries', role: 'ADMINISTRATOR', state: 'APPROVED' },
  { id: '5515715', localizedName: 'Sandbox Labs', vanityName: 'sandbox-labs', role: 'CONTENT_ADMINISTRATOR', state: 'APPROVED' },
  { id: '7777777', localizedName: 'Sandbox Analytics', vanityName: 'sandbox-analytics', role: 'ANALYST', state: 'APPROVED' },
  { id: '8888888', localizedName: 'Sandbox Pending', vanityName: 'sandbox-pending', role: 'ADMINISTRATOR', state: 'REQUESTED' },
];

const fail = (status: number, code: string, message: string, serviceErrorCode?: number) => ({ status, ...(serviceErrorCode !== undefined ? { serviceErrorCode } : {}), code, message });
const inputError = (status: number, field: string, code: string, description: string) => ({
  status, message: `ERROR :: ${field} :: ${description}`, errorDetailType: 'com.linkedin.common.error.BadRequest',
  errorDetails: { inputErrors: [{ description, input: { inputPath: { fieldPath: field } }, code }] },
});

const style: ErrorStyle = {
  rateLimited: () => ({ status: 429, headers: {}, body: fail(429, 'TOO_MANY_REQUESTS', 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.') }),
  serverError: () => ({ status: 500, body: { message: 'Internal Server Error', status: 500 } }),
};

const KNOWN_SCOPES = new Set([
  'openid', 'profile', 'email', 'w_member_social', 'r_member_social', 'r_member_postAnalytics', 'r_basicprofile',
  'w_organization_social', 'r_organization_social', 'rw_organization_admin', 'r_organization_admin',
]);
const POSTING_ROLES = new Set(['ADMINISTRATOR', 'CONTENT_ADMINISTRATOR']);
const SIXTY_DAYS = 60 * 86400;
const YEAR = 365 * 86400;
const PART_BYTES = 4 * 1024 * 1024;
const MB = 1024 * 1024;

interface Media {
  urn: string;
  kind: 'image' | 'video';
  owner: string;
  userId: string;
  status: 'WAITING_UPLOAD' | 'PROCESSING' | 'AVAILABLE' | 'PROCESSING_FAILED';
  size: number;
  parts: { firstByte: number; lastByte: number; data?: Buffer; etag?: string }[];
  uploadToken: string;
  usable: boolean;
  /** Read once while PROCESSING: the next read finds it done. */
  seen: boolean;
}

const sniffImage = (b: Buffer) => b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')) || (b[0] === 0xff && b[1] === 0xd8) || b.subarray(0, 4).toString('latin1') === 'GIF8';
const isMp4 = (b: Buffer) => b.subarray(4, 8).toString('latin1') === 'ftyp';
/** Little Text Format escapes removed, for counting what the member sees. */
const unescaped = (s: string) => s.replace(/\\([\\|{}@[\]()<>#*_~])/g, '$1');

export function registerLinkedIn(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const media = new Map<string, Media>();
  const uploadKeys = new Map<string, string>(); // upload key → media URN
  const refreshIssued = new Map<string, number>(); // refresh token → when first issued
  const clients = new Map<string, string>(); // access token → client id, for revocation by the issuing app

  const sub = (userId: string) => createHash('sha256').update(`linkedin:${userId}`).digest('base64url').slice(0, 10);
  const personUrn = (userId: string) => `urn:li:person:${sub(userId)}`;
  const roleOn = (orgUrn: string, roles: Set<string>) => LINKEDIN_SIM_ORGS.some((o) => `urn:li:organization:${o.id}` === orgUrn && o.state === 'APPROVED' && roles.has(o.role));
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.status(status).type('application/json').send(body);
  const denied = (reply: FastifyReply, what: string) => send(reply, 403, fail(403, 'ACCESS_DENIED', `Not enough permissions to access: ${what}`, 100));
  const restPath = () => new URL(ctx.url('/rest/')).pathname;

  // The versioned API refuses calls without a live LinkedIn-Version, and Rest.li 2.0 syntax needs its header.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(restPath())) return;
    const v = req.headers['linkedin-version'];
    if (typeof v !== 'string' || v === '') {
      send(reply, 400, fail(400, 'VERSION_MISSING', 'A version must be present. Please specify a version by adding the LinkedIn-Version header.'));
      return reply;
    }
    const m = /^(\d{4})(\d{2})(\.\d{2})?$/.exec(v);
    const now = new Date();
    const months = m ? Number(m[1]) * 12 + Number(m[2]) - 1 : NaN;
    const current = now.getUTCFullYear() * 12 + now.getUTCMonth();
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || months > current || months < current - 12) {
      send(reply, 426, fail(426, 'NONEXISTENT_VERSION', `Requested version ${v} is not active`));
      return reply;
    }
    if (req.headers['x-restli-protocol-version'] !== '2.0.0') {
      send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'X-Restli-Protocol-Version: 2.0.0 is required for this request'));
      return reply;
    }
  });

  // Image bytes and video parts arrive raw.
  app.addContentTypeParser(['application/octet-stream', 'image/jpeg', 'image/png', 'image/gif', 'video/mp4'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const tokenOf = (req: FastifyRequest) => /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const auth = (req: FastifyRequest, reply: FastifyReply): SimToken | null => {
    const t = state.bearer(req);
    if (typeof t !== 'string') return t;
    const raw = state.tokens.get(tokenOf(req) ?? '');
    if (raw?.revoked) send(reply, 401, fail(401, 'REVOKED_ACCESS_TOKEN', 'The token used in the request has been revoked by the user', 65601));
    else if (t === 'expired') send(reply, 401, fail(401, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired'));
    else send(reply, 401, fail(401, 'INVALID_ACCESS_TOKEN', 'Invalid access token', 65600));
    return null;
  };
  /** May the token act as this author? Members act as themselves, Pages through a posting role. */
  const mayWrite = (t: SimToken, author: string) => (author === personUrn(t.userId) && t.scope.includes('w_member_social'))
    || (author.startsWith('urn:li:organization:') && roleOn(author, POSTING_ROLES) && t.scope.includes('w_organization_social'));
  const mayRead = (t: SimToken, author: string) => (author === personUrn(t.userId) && t.scope.includes('r_member_social'))
    || (author.startsWith('urn:li:organization:') && roleOn(author, POSTING_ROLES) && t.scope.includes('r_organization_social'));

  /** A registered app must send its secret; unregistered client ids are taken as they come (standalone use). */
  const clientOk = (b: Record<string, string>) => {
    if (!b.client_id || !b.client_secret) return false;
    const registered = state.apps.get(b.client_id);
    return !registered || registered.clientSecret === b.client_secret;
  };
  /** LinkedIn issues 60-day tokens; a test that sets the knob gets its own lifetime. */
  const ttl = () => (state.knobs.accessTokenTtlSeconds !== DEFAULT_KNOBS.accessTokenTtlSeconds ? state.knobs.accessTokenTtlSeconds : SIXTY_DAYS);

  app.get('/oauth/v2/authorization', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const page = (msg: string) => reply.status(400).type('text/html').send(`<!doctype html><title>LinkedIn</title><p>${msg}</p>`);
    if (q.response_type !== 'code' || !q.client_id || !q.redirect_uri) return page('Bummer, something went wrong: response_type=code, client_id and redirect_uri are required.');
    const registered = state.apps.get(q.client_id);
    if (registered && registered.redirectUris.length > 0 && !registered.redirectUris.includes(q.redirect_uri)) return page('The redirect_uri does not match the registered value');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    const scopes = (q.scope ?? '').split(/[ ,]+/).filter(Boolean);
    const unknown = scopes.find((s) => !KNOWN_SCOPES.has(s));
    if (scopes.length === 0 || unknown) {
      back.searchParams.set('error', 'unauthorized_scope_error');
      back.searchParams.set('error_description', `Scope "${unknown ?? ''}" is not authorized for your application`);
      return reply.redirect(back.toString());
    }
    if (state.knobs.denyConsent) {
      back.searchParams.set('error', 'user_cancelled_authorize');
      back.searchParams.set('error_description', 'The user cancelled the authorization');
      return reply.redirect(back.toString());
    }
    const user = state.user(q.login_hint || 'u1');
    // No PKCE for web apps: a code_challenge is not bound to the code.
    const code = state.issueCode(user.id, q.client_id, q.redirect_uri, scopes);
    state.codes.get(code)!.expiresAt = Date.now() + 30 * 60_000; // LinkedIn: codes live 30 minutes
    back.searchParams.set('code', code);
    return reply.redirect(back.toString());
  });

  app.post('/oauth/v2/accessToken', async (req, reply) => {
    if (await ctx.interfere(reply, style)) return reply;
    const b = (req.body ?? {}) as Record<string, string>;
    if (!b.client_id || !b.client_secret) return send(reply, 400, { error: 'invalid_request', error_description: `A required parameter "${b.client_id ? 'client_secret' : 'client_id'}" is missing` });
    if (!clientOk(b)) return send(reply, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    const programmatic = linkedInSimOptions(state).programmaticRefreshTokens;
    if (b.grant_type === 'authorization_code') {
      const issued = state.codes.get(b.code ?? '');
      const r = issued && issued.clientId !== b.client_id ? 'invalid_grant' : state.redeemCode(b.code ?? '', b.redirect_uri ?? '');
      if (typeof r === 'string') {
        return send(reply, 400, { error: 'invalid_request', error_description: 'Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists' });
      }
      const t = state.issueToken(r.userId, r.scope);
      t.expiresAt = Date.now() + ttl() * 1000;
      clients.set(t.accessToken, b.client_id);
      if (!programmatic) state.refresh.delete(t.refreshToken);
      else refreshIssued.set(t.refreshToken, Date.now());
      return {
        access_token: t.accessToken, expires_in: ttl(), scope: r.scope.join(','), token_type: 'Bearer',
        ...(programmatic ? { refresh_token: t.refreshToken, refresh_token_expires_in: YEAR } : {}),
      };
    }
    if (b.grant_type === 'refresh_token') {
      const old = state.refresh.get(b.refresh_token ?? '');
      const since = refreshIssued.get(b.refresh_token ?? '') ?? 0;
      state.refreshCalls++;
      if (!old || old.revoked || Date.now() - since > YEAR * 1000) return send(reply, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      // Not rotated: a new access token, the same refresh token counting down to its first expiry.
      const t: SimToken = { ...old, accessToken: `at_linkedin_${randomBytes(12).toString('hex')}`, expiresAt: Date.now() + ttl() * 1000 };
      state.tokens.set(t.accessToken, t);
      state.refresh.set(t.refreshToken, t);
      clients.set(t.accessToken, b.client_id);
      return {
        access_token: t.accessToken, expires_in: ttl(), scope: t.scope.join(','), token_type: 'Bearer',
        refresh_token: t.refreshToken, refresh_token_expires_in: Math.max(0, Math.floor(YEAR - (Date.now() - since) / 1000)),
      };
    }
    return send(reply, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be authorization_code or refresh_token' });
  });

  app.post('/oauth/v2/revoke', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, string>;
    if (!clientOk(b)) return send(reply, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    const t = state.tokens.get(b.token ?? '');
    if (t && (clients.get(t.accessToken) ?? b.client_id) === b.client_id) t.revoked = true;
    return reply.status(200).send();
  });

  app.get('/v2/userinfo', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (!t.scope.includes('openid') || !t.scope.includes('profile')) return denied(reply, 'userinfo.GET.NO_VERSION');
    if (await ctx.interfere(reply, style)) return reply;
    const u = state.user(t.userId);
    const [given, ...rest] = u.name.split(' ');
    return {
      sub: sub(u.id), name: u.name, given_name: given, family_name: rest.join(' '), picture: ctx.url(`/media/profile/${sub(u.id)}.jpg`),
      locale: { country: 'US', language: 'en' },
    };
  });

  app.get('/rest/organizationAcls', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (!t.scope.includes('rw_organization_admin') && !t.scope.includes('r_organization_admin')) return denied(reply, 'organizationAcls.FINDER-roleAssignee');
    if (await ctx.interfere(reply, style)) return reply;
    const q = req.query as Record<string, string | undefined>;
    if (q.q !== 'roleAssignee') return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'q must be roleAssignee'));
    const start = Number(q.start ?? 0);
    const count = Number(q.count ?? 10);
    const all = LINKEDIN_SIM_ORGS.filter((o) => (!q.role || o.role === q.role) && (!q.state || o.state === q.state)).map((o) => ({
      roleAssignee: personUrn(t.userId), state: o.state, role: o.role, organization: `urn:li:organization:${o.id}`,
      lastModified: { actor: personUrn(t.userId), time: 1_700_000_000_000 }, created: { actor: personUrn(t.userId), time: 1_700_000_000_000 },
    }));
    return { paging: { start, count, links: [], total: all.length }, elements: all.slice(start, start + count) };
  });

  app.get('/rest/organizations/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const o = LINKEDIN_SIM_ORGS.find((x) => x.id === (req.params as { id: string }).id);
    if (!o) return send(reply, 404, fail(404, 'NOT_FOUND', 'Organization not found'));
    return { id: Number(o.id), localizedName: o.localizedName, vanityName: o.vanityName, name: { localized: { en_US: o.localizedName }, preferredLocale: { country: 'US', language: 'en' } } };
  });

  const mediaView = (m: Media) => {
    // Processing takes one look: the first read after the upload says PROCESSING.
    if (m.status === 'PROCESSING' && m.seen) m.status = m.usable ? 'AVAILABLE' : 'PROCESSING_FAILED';
    else if (m.status === 'PROCESSING') m.seen = true;
    const sm = state.media.get(m.urn);
    if (sm) sm.state = m.status === 'AVAILABLE' ? 'ready' : m.status === 'PROCESSING_FAILED' ? 'failed' : m.status === 'PROCESSING' ? 'processing' : 'pending';
    return { id: m.urn, owner: m.owner, status: m.status, ...(m.kind === 'video' ? { duration: 0 } : {}) };
  };

  const initialize = (kind: 'image' | 'video') => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const b = (req.body ?? {}) as { initializeUploadRequest?: { owner?: unknown; fileSizeBytes?: unknown }; finalizeUploadRequest?: { video?: unknown; uploadToken?: unknown; uploadedPartIds?: unknown } };
    if (kind === 'video' && q.action === 'finalizeUpload') {
      const f = b.finalizeUploadRequest;
      const m = typeof f?.video === 'string' ? media.get(f.video) : undefined;
      if (!m || m.kind !== 'video' || m.userId !== t.userId) return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'finalizeUploadRequest.video is not an upload of this member'));
      const etags = m.parts.map((p) => p.etag);
      const sent: unknown[] = Array.isArray(f?.uploadedPartIds) ? f.uploadedPartIds : [];
      if (f?.uploadToken !== m.uploadToken || sent.length !== etags.length || etags.some((e, i) => !e || sent[i] !== e)) {
        return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'uploadedPartIds must list the ETag of every part, in order, with the uploadToken'));
      }
      const whole = Buffer.concat(m.parts.map((p) => p.data!));
      m.usable = isMp4(whole);
      m.status = 'PROCESSING';
      return reply.status(200).send();
    }
    if (q.action !== 'initializeUpload') return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', `action must be initializeUpload${kind === 'video' ? ' or finalizeUpload' : ''}`));
    const owner = b.initializeUploadRequest?.owner;
    if (typeof owner !== 'string') return send(reply, 422, inputError(422, '/initializeUploadRequest/owner', 'FIELD_VALUE_MISSING', 'owner is required'));
    if (!mayWrite(t, owner)) return denied(reply, `${kind}s.ACTION-initializeUpload`);
    const id = state.nextId();
    const urn = `urn:li:${kind}:C4E${id}`;
    const key = randomBytes(12).toString('hex');
    uploadKeys.set(key, urn);
    const expires = Date.now() + 86_400_000;
    if (kind === 'image') {
      media.set(urn, { urn, kind, owner, userId: t.userId, status: 'WAITING_UPLOAD', size: 0, parts: [], uploadToken: '', usable: false, seen: false });
      state.media.set(urn, { id: urn, userId: t.userId, mimeType: 'image/*', bytes: 0, state: 'pending' });
      return { value: { uploadUrlExpiresAt: expires, uploadUrl: ctx.url(`/dms-uploads/${key}`), image: urn } };
    }
    const size = b.initializeUploadRequest?.fileSizeBytes;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 75 * 1024 || size > 500 * MB) {
      return send(reply, 422, inputError(422, '/initializeUploadRequest/fileSizeBytes', 'INVALID_VALUE', 'fileSizeBytes must be between 75 KB and 500 MB'));
    }
    const parts: Media['parts'] = [];
    for (let first = 0; first < size; first += PART_BYTES) parts.push({ firstByte: first, lastByte: Math.min(size, first + PART_BYTES) - 1 });
    const uploadToken = parts.length > 1 ? randomBytes(16).toString('hex') : '';
    media.set(urn, { urn, kind, owner, userId: t.userId, status: 'WAITING_UPLOAD', size, parts, uploadToken, usable: false, seen: false });
    state.media.set(urn, { id: urn, userId: t.userId, mimeType: 'video/mp4', bytes: size, state: 'pending' });
    return {
      value: {
        uploadUrlsExpireAt: expires, video: urn, uploadToken,
        uploadInstructions: parts.map((p, i) => ({ uploadUrl: ctx.url(`/dms-uploads/${key}/${i}`), firstByte: p.firstByte, lastByte: p.lastByte })),
      },
    };
  };
  app.post('/rest/images', initialize('image'));
  app.post('/rest/videos', initialize('video'));

  const upload = async (req: FastifyRequest, reply: FastifyReply) => {
    const { key, part } = req.params as { key: string; part?: string };
    const m = media.get(uploadKeys.get(key) ?? '');
    if (!m) return reply.status(404).send();
    const data = Buffer.isBuffer(req.body) ? req.body : undefined;
    if (!data) return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'the body must be the raw bytes'));
    if (m.kind === 'image') {
      // Image uploads are authenticated with the member's token.
      const t = auth(req, reply);
      if (!t) return reply;
      if (t.userId !== m.userId) return denied(reply, 'dms-uploads');
      m.size = data.length;
      m.usable = sniffImage(data);
      m.status = 'PROCESSING';
      state.media.get(m.urn)!.bytes = data.length;
      return reply.status(201).send();
    }
    const p = m.parts[Number(part)];
    if (!p) return reply.status(404).send();
    if (data.length !== p.lastByte - p.firstByte + 1) return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', `part ${part} must be bytes ${p.firstByte}-${p.lastByte}`));
    p.data = data;
    p.etag = createHash('md5').update(data).digest('hex');
    return reply.status(200).header('etag', `"${p.etag}"`).send();
  };
  app.put('/dms-uploads/:key', upload);
  app.put('/dms-uploads/:key/:part', upload);

  const mediaStatus = (kind: 'image' | 'video') => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const m = media.get((req.params as { urn: string }).urn);
    if (!m || m.kind !== kind) return send(reply, 404, fail(404, 'NOT_FOUND', `${kind} not found`));
    if (m.userId !== t.userId) return denied(reply, `${kind}s.GET`);
    return mediaView(m);
  };
  app.get('/rest/images/:urn', mediaStatus('image'));
  app.get('/rest/videos/:urn', mediaStatus('video'));

  const isComment = (p: SimPost) => p.id.startsWith('urn:li:comment:');
  const postView = (p: SimPost) => {
    const raw = p.raw as Record<string, unknown>;
    const at = Date.parse(p.createdAt);
    return {
      id: p.id, author: raw.author, commentary: raw.commentary, visibility: raw.visibility, distribution: raw.distribution,
      lifecycleState: 'PUBLISHED', isReshareDisabledByAuthor: raw.isReshareDisabledByAuthor ?? false, ...(raw.content ? { content: raw.content } : {}),
      createdAt: at, publishedAt: at, lastModifiedAt: at, lifecycleStateInfo: { isEditedByAuthor: false },
    };
  };

  app.post('/rest/posts', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const missing = ['author', 'commentary', 'visibility', 'distribution', 'lifecycleState'].find((f) => b[f] === undefined);
    if (missing) return send(reply, 422, inputError(422, `/${missing}`, 'FIELD_VALUE_MISSING', `${missing} is required`));
    if (typeof b.author !== 'string' || !/^urn:li:(person|organization):/.test(b.author)) return send(reply, 422, inputError(422, '/author', 'INVALID_URN_TYPE', 'author must be a person or organization URN'));
    if (typeof b.commentary !== 'string') return send(reply, 422, inputError(422, '/commentary', 'INVALID_VALUE', 'commentary must be a string'));
    if (unescaped(b.commentary).length > 3000) return send(reply, 422, inputError(422, '/commentary', 'MAX_LENGTH_EXCEEDED', 'commentary is longer than 3000 characters'));
    if (!['PUBLIC', 'CONNECTIONS', 'LOGGED_IN'].includes(String(b.visibility))) return send(reply, 422, inputError(422, '/visibility', 'INVALID_ENUM_VALUE', 'visibility is not valid'));
    const dist = b.distribution as { feedDistribution?: unknown } | null;
    if (!dist || !['MAIN_FEED', 'NONE'].includes(String(dist.feedDistribution))) return send(reply, 422, inputError(422, '/distribution/feedDistribution', 'INVALID_ENUM_VALUE', 'feedDistribution is not valid'));
    if (b.lifecycleState !== 'PUBLISHED') return send(reply, 422, inputError(422, '/lifecycleState', 'INVALID_ENUM_VALUE', 'lifecycleState must be PUBLISHED'));
    if (!mayWrite(t, b.author)) return denied(reply, 'partnerApiPostsExternal.CREATE');
    const content = b.content as { media?: { id?: unknown }; multiImage?: { images?: { id?: unknown }[] } } | undefined;
    const ids = content?.media ? [content.media.id] : content?.multiImage ? (content.multiImage.images ?? []).map((i) => i.id) : [];
    if (content?.multiImage && (ids.length < 2 || ids.length > 20)) return send(reply, 422, inputError(422, '/content/multiImage/images', 'INVALID_VALUE', 'multiImage takes 2 to 20 images'));
    for (const id of ids) {
      const m = typeof id === 'string' ? media.get(id) : undefined;
      if (!m || m.owner !== b.author) return send(reply, 422, inputError(422, '/content', 'INVALID_VALUE', `${String(id)} is not media of this author`));
      if (content?.multiImage && m.kind !== 'image') return send(reply, 422, inputError(422, '/content/multiImage/images', 'INVALID_VALUE', 'multiImage takes images only'));
      if (m.status !== 'AVAILABLE') return send(reply, 422, inputError(422, '/content', 'INVALID_VALUE', `${m.urn} is not AVAILABLE (${m.status})`));
    }
    const earlier = state.posts.find((p) => !isComment(p) && (p.raw as { author?: string }).author === b.author && p.text === b.commentary);
    if (earlier) {
      const description = `Content is a duplicate of ${earlier.id}`;
      return send(reply, 422, { ...inputError(422, '/commentary', 'DUPLICATE_POST', description), message: description });
    }
    const isVideo = ids.some((id) => media.get(String(id))?.kind === 'video');
    const urn = `urn:li:${isVideo ? 'ugcPost' : 'share'}:7${state.nextId()}${String(Date.now()).slice(-6)}`;
    state.posts.push({ id: urn, userId: t.userId, text: b.commentary, media: ids.map(String), createdAt: new Date().toISOString(), raw: b });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).header('x-restli-id', urn).send();
  });

  app.get('/rest/posts/:urn', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const p = state.posts.find((x) => x.id === (req.params as { urn: string }).urn && !isComment(x));
    if (!p) return send(reply, 404, fail(404, 'NOT_FOUND', 'Post not found'));
    if (!mayRead(t, String((p.raw as { author?: string }).author))) return denied(reply, 'partnerApiPostsExternal.GET');
    return postView(p);
  });

  app.get('/rest/posts', async (req, reply) => {
    inboxExpiry();
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const q = req.query as Record<string, string | undefined>;
    if (q.q !== 'author' || !q.author) return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'q=author and author are required'));
    if (!mayRead(t, q.author)) return denied(reply, 'partnerApiPostsExternal.FINDER-author');
    if (inboxThrottled(reply)) return reply;
    const start = Number(q.start ?? 0);
    const count = Math.min(100, Number(q.count ?? 10), state.knobs.inboxPageSize);
    const all = state.posts.filter((p) => !isComment(p) && (p.raw as { author?: string }).author === q.author).reverse();
    if (q.author.startsWith('urn:li:organization:')) {
      state.inbox.generate(t.userId, all.filter((p) => p.userId === t.userId).reverse().map((p) => ({ id: p.id, userId: t.userId })), state.knobs.inboxRatePerMinute);
    }
    return { paging: { start, count, links: [], total: all.length }, elements: all.slice(start, start + count).map(postView) };
  });

  const commentUrnOf = (postId: string, id: string) => `urn:li:comment:(${postId},${id})`;
  /** A comment as LinkedIn shows it, whoever wrote it: the API's own (SimPosts) or people's (SimInbox items). */
  interface SimComment { urn: string; id: string; actor: string; object: string; parent?: string; text: string; created: number; modified: number; deleted: boolean; inboxId?: string; post?: SimPost }
  const allComments = (): SimComment[] => {
    const out: SimComment[] = [];
    for (const i of state.inbox.items.values()) {
      if (i.kind !== 'comment' || !i.postId) continue;
      const parent = i.parentId ? (i.parentId.startsWith('urn:') ? i.parentId : commentUrnOf(i.postId, i.parentId)) : undefined;
      out.push({
        urn: commentUrnOf(i.postId, i.id), id: i.id, actor: `urn:li:person:${i.author.id}`, object: i.postId, ...(parent ? { parent } : {}), text: i.text,
        created: Date.parse(i.createdAt), modified: Date.parse(i.editedAt ?? i.createdAt), deleted: i.deleted, inboxId: i.id,
      });
    }
    for (const p of state.posts) {
      if (!isComment(p)) continue;
      const raw = p.raw as { actor: string; object: string; parentComment?: string; deleted?: boolean };
      out.push({
        urn: p.id, id: p.id.slice(p.id.lastIndexOf(',') + 1, -1), actor: raw.actor, object: raw.object, ...(raw.parentComment ? { parent: raw.parentComment } : {}),
        text: p.text, created: Date.parse(p.createdAt), modified: Date.parse(p.createdAt), deleted: raw.deleted === true, post: p,
      });
    }
    return out.filter((c) => !c.deleted).sort((a, b) => a.created - b.created);
  };
  const commentJson = (c: SimComment, all: SimComment[]) => {
    const nested = all.filter((x) => x.parent === c.urn).length;
    return {
      actor: c.actor, commentUrn: c.urn, id: c.id, object: c.object, ...(c.parent ? { parentComment: c.parent } : {}), message: { text: c.text },
      created: { actor: c.actor, time: c.created }, lastModified: { actor: c.actor, time: c.modified },
      commentsSummary: { totalFirstLevelComments: nested, aggregatedTotalComments: nested },
    };
  };
  const authorOfPost = (urn: string) => String((state.posts.find((p) => p.id === urn && !isComment(p))?.raw as { author?: string } | undefined)?.author ?? '');
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
  const reactions = new Set<string>(); // actor|entity

  app.post('/rest/socialActions/:urn/comments', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const parent = (req.params as { urn: string }).urn;
    const b = (req.body ?? {}) as { actor?: unknown; object?: unknown; parentComment?: unknown; message?: { text?: unknown } };
    if (typeof b.actor !== 'string') return send(reply, 422, inputError(422, '/actor', 'FIELD_VALUE_MISSING', 'actor is required'));
    if (typeof b.message?.text !== 'string' || b.message.text === '') return send(reply, 422, inputError(422, '/message/text', 'FIELD_VALUE_MISSING', 'message.text is required'));
    let object = parent;
    if (parent.startsWith('urn:li:comment:')) {
      const c = allComments().find((x) => x.urn === parent);
      if (!c) return send(reply, 404, fail(404, 'NOT_FOUND', 'Comment not found'));
      if (b.parentComment !== parent) return send(reply, 422, inputError(422, '/parentComment', 'INVALID_VALUE', 'parentComment must be the comment in the path'));
      object = c.object;
    }
    if (b.object !== object) return send(reply, 422, inputError(422, '/object', 'INVALID_VALUE', 'object must be the post commented on'));
    if (!state.posts.some((p) => p.id === object && !isComment(p))) return send(reply, 404, fail(404, 'NOT_FOUND', 'Post not found'));
    if (!mayWrite(t, b.actor)) return denied(reply, 'comments.CREATE');
    const id = `7${state.nextId()}${String(Date.now()).slice(-6)}`;
    const commentUrn = commentUrnOf(object, id);
    const now = Date.now();
    state.posts.push({ id: commentUrn, userId: t.userId, text: b.message.text, media: [], replyTo: parent, createdAt: new Date(now).toISOString(), raw: { ...b, object } });
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).header('x-restli-id', commentUrn).type('application/json').send({
      actor: b.actor, commentUrn, id, object, ...(parent !== object ? { parentComment: parent } : {}), message: { text: b.message.text },
      created: { actor: b.actor, time: now }, lastModified: { actor: b.actor, time: now },
    });
  });

  app.get('/rest/socialActions/:urn/comments', async (req, reply) => {
    inboxExpiry();
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const target = (req.params as { urn: string }).urn;
    const all = allComments();
    const post = target.startsWith('urn:li:comment:') ? all.find((c) => c.urn === target)?.object : target;
    if (!post || !state.posts.some((p) => p.id === post && !isComment(p))) return send(reply, 404, fail(404, 'NOT_FOUND', 'Not found'));
    if (!mayRead(t, authorOfPost(post))) return denied(reply, 'comments.GET_ALL');
    if (inboxThrottled(reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const start = Number(q.start ?? 0);
    const count = Math.min(100, Number(q.count ?? 10), state.knobs.inboxPageSize);
    const under = all.filter((c) => (target === post ? c.object === post && !c.parent : c.parent === target));
    return { paging: { start, count, links: [], total: under.length }, elements: under.slice(start, start + count).map((c) => commentJson(c, all)) };
  });

  const oneComment = (req: FastifyRequest) => {
    const { urn, id } = req.params as { urn: string; id: string };
    return allComments().find((c) => c.id === id && (c.object === urn || c.parent === urn));
  };
  app.get('/rest/socialActions/:urn/comments/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const c = oneComment(req);
    if (!c) return send(reply, 404, fail(404, 'NOT_FOUND', 'Comment not found'));
    if (!mayRead(t, authorOfPost(c.object))) return denied(reply, 'comments.GET');
    return commentJson(c, allComments());
  });

  app.delete('/rest/socialActions/:urn/comments/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const actor = (req.query as Record<string, string | undefined>).actor ?? '';
    const c = oneComment(req);
    if (!c) return send(reply, 404, fail(404, 'NOT_FOUND', 'Comment not found'));
    if (c.actor !== actor || !mayWrite(t, actor)) return denied(reply, 'comments.DELETE');
    if (c.inboxId) state.inbox.change(c.inboxId, { deleted: true });
    else if (c.post) (c.post.raw as { deleted?: boolean }).deleted = true;
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(204).send();
  });

  const reactionKey = (raw: string) => /^\(actor:(.+?),entity:(.+)\)$/.exec(raw);
  app.post('/rest/reactions', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const actor = (req.query as Record<string, string | undefined>).actor ?? '';
    const b = (req.body ?? {}) as { root?: unknown; reactionType?: unknown };
    if (typeof b.root !== 'string') return send(reply, 422, inputError(422, '/root', 'FIELD_VALUE_MISSING', 'root is required'));
    if (!['LIKE', 'PRAISE', 'EMPATHY', 'INTEREST', 'APPRECIATION', 'ENTERTAINMENT'].includes(String(b.reactionType))) return send(reply, 422, inputError(422, '/reactionType', 'INVALID_ENUM_VALUE', 'reactionType is not valid'));
    if (!mayWrite(t, actor)) return denied(reply, 'reactions.CREATE');
    const exists = b.root.startsWith('urn:li:comment:') ? allComments().some((c) => c.urn === b.root) : state.posts.some((p) => p.id === b.root);
    if (!exists) return send(reply, 404, fail(404, 'NOT_FOUND', 'Entity not found'));
    const key = `${actor}|${b.root}`;
    if (reactions.has(key)) return send(reply, 409, fail(409, 'CONFLICT', 'The actor has already reacted to this entity'));
    reactions.add(key);
    if (await ctx.maybeHang(reply)) return reply;
    return reply.status(201).header('x-restli-id', `urn:li:reaction:(${actor},${b.root})`).send();
  });
  const reaction = (method: 'GET' | 'DELETE') => async (req: FastifyRequest, reply: FastifyReply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const m = reactionKey((req.params as { key: string }).key);
    if (!m) return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'the key must be (actor:…,entity:…)'));
    const [, actor, entity] = m;
    if (method === 'DELETE' && !mayWrite(t, actor!)) return denied(reply, 'reactions.DELETE');
    const key = `${actor}|${entity}`;
    if (!reactions.has(key)) return send(reply, 404, fail(404, 'NOT_FOUND', 'Reaction not found'));
    if (method === 'DELETE') {
      reactions.delete(key);
      return reply.status(204).send();
    }
    return { root: entity, reactionType: 'LIKE', created: { actor, time: Date.now() } };
  };
  app.get('/rest/reactions/:key', reaction('GET'));
  app.delete('/rest/reactions/:key', reaction('DELETE'));

  app.get('/rest/organizationalEntityShareStatistics', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    const q = req.query as Record<string, string | undefined>;
    const org = q.organizationalEntity ?? '';
    if (!(t.scope.includes('r_organization_social') || t.scope.includes('rw_organization_admin')) || !roleOn(org, POSTING_ROLES)) {
      return denied(reply, 'organizationalEntityShareStatistics.FINDER-organizationalEntity');
    }
    if (await ctx.interfere(reply, style)) return reply;
    if (q.q !== 'organizationalEntity') return send(reply, 400, fail(400, 'ILLEGAL_ARGUMENT', 'q must be organizationalEntity'));
    const list = (v: string | undefined) => (v ? /^List\((.*)\)$/.exec(v)?.[1]?.split(',').map(decodeURIComponent).filter(Boolean) ?? [] : []);
    const wanted = [...list(q.shares).map((u) => ['share', u] as const), ...list(q.ugcPosts).map((u) => ['ugcPost', u] as const)];
    const elements = wanted.map(([key, urn]) => {
      const p = state.posts.find((x) => x.id === urn && (x.raw as { author?: string }).author === org);
      if (!p) return undefined;
      const age = Math.floor((Date.now() - Date.parse(p.createdAt)) / 1000);
      const n = Number(urn.slice(-3)) % 7;
      const comments = state.posts.filter((c) => c.replyTo === urn).length;
      return {
        organizationalEntity: org, [key]: urn,
        totalShareStatistics: {
          uniqueImpressionsCount: 5 * (n + 1) + age, shareCount: Math.floor(n / 2), engagement: 0.01 * n, clickCount: n, likeCount: n + Math.floor(age / 10),
          impressionCount: 10 * (n + 1) + age, commentCount: comments,
        },
      };
    }).filter(Boolean);
    return { paging: { start: 0, count: 10, links: [] }, elements };
  });

  app.get('/media/profile/:file', async (_req, reply) => reply.type('image/jpeg').send(Buffer.from('ffd8ffe000104a464946', 'hex')));
}
