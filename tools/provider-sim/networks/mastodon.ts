// Mastodon, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Mastodon; docs.joinmastodon.org). Every
// value of the Host header is its own instance: apps, accounts and tokens belong to the host they
// were made on, so "127.0.0.1:PORT" and "localhost:PORT" are two instances on one simulator. A test
// changes an instance (its version, its limits) with `mastodonInstance(state, host)`; versions before
// 4.3 have no RFC 8414 metadata, no PKCE and no `profile` scope, versions before 4.0 no /api/v2/instance.
//   GET  /.well-known/oauth-authorization-server   (4.3+)
//   POST /api/v1/apps                               client_name, redirect_uris, scopes → CredentialApplication
//   GET  /oauth/authorize                           consents at once as login_hint (default "u1"), or denies
//   POST /oauth/token                               authorization_code (+ PKCE S256 on 4.3+); no refresh token
//   POST /oauth/revoke                              client_id, client_secret, token → {}; 403 for another app's token
//   GET  /api/v1/accounts/verify_credentials
//   GET  /api/v2/instance, /api/v1/instance
//   POST /api/v2/media                              images 200 (processed), video/gif 202 then processing
//   GET  /api/v1/media/:id                          206 while processing, 200 when done
//   POST /api/v1/statuses                           Idempotency-Key honoured for an hour, checked before validation
//   GET  /api/v1/statuses/:id, DELETE /api/v1/statuses/:id (`favourited` for the token's account)
//   POST /api/v1/statuses/:id/favourite, /unfavourite  write:favourites; doing either twice changes nothing
//   GET  /api/v1/accounts/:id/statuses              newest first, Link rel="next"
//   GET  /@:username/:id                            the public page of a status
//   GET  /api/v1/notifications                      mentions only (types[]=mention), newest first; max_id, since_id,
//                                                   min_id, limit; Link rel="next"/"prev"; a deleted status's
//                                                   notification is gone, as on Mastodon
//   GET  /api/v1/statuses/:id/context               ancestors (oldest first, up to a deleted one) and descendants
// The two inbox reads spend only the inbox knobs (inboxRateLimitAfter: a 429 as rack-attack answers it;
// inboxPageSize caps limit), so a publishing test never meets them. `mastodonEditStatus` edits a status.
// Tokens never expire (Mastodon's do not): the accessTokenTtlSeconds knob does not apply here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimPost, type SimToken } from '../core.ts';
import { mastodonLength } from '../../../src/providers/text.ts';

export interface SimMastodonInstance {
  version: string;
  maxCharacters: number;
  maxMediaAttachments: number;
  charactersReservedPerUrl: number;
  supportedMimeTypes: string[];
  imageSizeLimit: number;
  videoSizeLimit: number;
  descriptionLimit: number;
  /** How long an uploaded video or GIF stays "processing". */
  processingMs: number;
}

const defaultInstance = (): SimMastodonInstance => ({
  version: '4.4.0', maxCharacters: 500, maxMediaAttachments: 4, charactersReservedPerUrl: 23,
  supportedMimeTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/heic', 'image/heif', 'image/webp', 'image/avif', 'video/webm', 'video/mp4', 'video/quicktime', 'video/ogg', 'audio/mpeg', 'audio/ogg', 'audio/wav'],
  imageSizeLimit: 16_777_216, videoSizeLimit: 103_809_024, descriptionLimit: 1500, processingMs: 300,
});

interface World {
  instances: Map<string, SimMastodonInstance>;
  /** client_id → the host it was registered on and its scopes. */
  appHosts: Map<string, { host: string; scopes: string[] }>;
  /** access token → host and app it was issued on. */
  tokenHosts: Map<string, { host: string; clientId: string }>;
  /** "host login" → account id; account id → host. */
  accounts: Map<string, string>;
  accountHost: Map<string, string>;
  mediaReadyAt: Map<string, number>;
  mediaMeta: Map<string, { description: string | null; attachedTo: string | null }>;
  /** "accountId postId" → notification id, given in the order statuses were made (ids grow with time). */
  notificationIds: Map<string, number>;
  notificationSeq: number;
  /** "accountId statusId": the statuses each account favourited. */
  favourites: Set<string>;
}

const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { instances: new Map(), appHosts: new Map(), tokenHosts: new Map(), accounts: new Map(), accountHost: new Map(), mediaReadyAt: new Map(), mediaMeta: new Map(), notificationIds: new Map(), notificationSeq: 100_000, favourites: new Set() };
    worlds.set(state, w);
  }
  return w;
}

/** The (mutable) settings of the instance answering at `host` ("127.0.0.1:4000"). */
export function mastodonInstance(state: NetworkState, host: string): SimMastodonInstance {
  const w = world(state);
  let i = w.instances.get(host.toLowerCase());
  if (!i) {
    i = defaultInstance();
    w.instances.set(host.toLowerCase(), i);
  }
  return i;
}

/** Edits a status as PUT /api/v1/statuses/:id would: new text, edited_at now. */
export function mastodonEditStatus(state: NetworkState, id: string, text: string): void {
  const p = state.posts.find((x) => x.id === id);
  if (!p) throw new Error(`no status ${id}`);
  p.text = text;
  (p.raw as { editedAt?: string }).editedAt = new Date().toISOString();
}

const atLeast = (version: string, want: [number, number]): boolean => {
  const [maj = 0, min = 0] = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return maj > want[0] || (maj === want[0] && min >= want[1]);
};

const SCOPES = ['read', 'write', 'push', 'follow', 'admin:read', 'admin:write',
  'read:accounts', 'read:blocks', 'read:bookmarks', 'read:favourites', 'read:filters', 'read:follows', 'read:lists', 'read:mutes',
  'read:notifications', 'read:search', 'read:statuses', 'write:accounts', 'write:blocks', 'write:bookmarks', 'write:conversations',
  'write:favourites', 'write:filters', 'write:follows', 'write:lists', 'write:media', 'write:mutes', 'write:notifications',
  'write:reports', 'write:statuses'];
const scopesOf = (version: string) => (atLeast(version, [4, 3]) ? [...SCOPES, 'profile'] : SCOPES);

const style: ErrorStyle = {
  // rack-attack's answer: no Retry-After, X-RateLimit-Reset as ISO 8601 with microseconds.
  rateLimited: (s) => ({
    status: 429,
    headers: { 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': new Date(Date.now() + s * 1000).toISOString().replace('Z', '000Z') },
    body: { error: 'Too many requests' },
  }),
  serverError: () => ({ status: 500, body: { error: 'We\'re sorry, but something went wrong on our end.' } }),
};

const NOT_FOUND = { error: 'Record not found' };
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.' };

export function registerMastodon(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  const hostOf = (req: FastifyRequest) => String(req.headers.host ?? 'localhost').toLowerCase();
  const originOf = (req: FastifyRequest) => `http://${hostOf(req)}/mastodon`;
  const instanceOf = (req: FastifyRequest) => mastodonInstance(state, hostOf(req));
  const params = (req: FastifyRequest): Record<string, unknown> => ({ ...((req.query ?? {}) as object), ...((req.body ?? {}) as object) });

  const accountFor = (host: string, login: string): string => {
    const key = `${host} ${login}`;
    let id = w.accounts.get(key);
    if (!id) {
      id = state.nextId();
      w.accounts.set(key, id);
      w.accountHost.set(id, host);
      state.users.set(id, { id, username: login, name: `Mastodon ${login}` });
    }
    return id;
  };

  /** The Bearer token of the request, on this instance; answers 401 itself when there is none. */
  const auth = (req: FastifyRequest, reply: FastifyReply): SimToken | null => {
    const t = state.bearer(req);
    const bound = typeof t === 'string' ? undefined : w.tokenHosts.get(t.accessToken);
    if (typeof t === 'string' || (bound && bound.host !== hostOf(req))) {
      reply.status(401).header('www-authenticate', 'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"').send({ error: 'The access token is invalid' });
      return null;
    }
    return t;
  };
  const scoped = (t: SimToken, reply: FastifyReply, any: string[]): boolean => {
    if (t.scope.some((s) => any.includes(s))) return true;
    reply.status(403).send({ error: 'This action is outside the authorized scopes' });
    return false;
  };

  /** Client authentication: HTTP Basic or client_id/client_secret in the body, on this instance. */
  const client = (req: FastifyRequest): string | null => {
    const p = params(req);
    let id = typeof p.client_id === 'string' ? p.client_id : '';
    let secret = typeof p.client_secret === 'string' ? p.client_secret : '';
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [u = '', s = ''] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      id = decodeURIComponent(u);
      secret = decodeURIComponent(s);
    }
    const a = state.apps.get(id);
    if (!a || a.clientSecret !== secret || w.appHosts.get(id)?.host !== hostOf(req)) return null;
    return id;
  };

  const user = (id: string) => state.users.get(id) ?? { id, username: id, name: id };
  const accountJson = (req: FastifyRequest, id: string) => {
    const u = user(id);
    const origin = originOf(req);
    return {
      id, username: u.username, acct: u.username, display_name: u.name, locked: false, bot: false, created_at: '2024-01-01T00:00:00.000Z',
      note: '', url: `${origin}/@${u.username}`, avatar: `${origin}/avatars/original/missing.png`, avatar_static: `${origin}/avatars/original/missing.png`,
      header: `${origin}/headers/original/missing.png`, followers_count: simAudience(id, Date.now()).followers, following_count: simAudience(id, Date.now()).following,
      statuses_count: state.posts.filter((p) => p.userId === id).length,
    };
  };
  const mediaJson = (id: string) => {
    const m = state.media.get(id);
    const ready = m?.state === 'ready';
    const type = m?.mimeType === 'image/gif' ? 'gifv' : m?.mimeType.startsWith('video/') ? 'video' : m?.mimeType.startsWith('audio/') ? 'audio' : 'image';
    return {
      id, type, url: ready ? ctx.url(`/system/media/${id}`) : null, preview_url: ctx.url(`/system/media/${id}/small`), remote_url: null,
      meta: {}, description: w.mediaMeta.get(id)?.description ?? null, blurhash: null,
    };
  };
  const counts = (p: SimPost) => {
    // Deterministic and growing with age, so collected figures move over time.
    const age = Math.floor((Date.now() - Date.parse(p.createdAt)) / 1000);
    const n = Number(p.id.slice(-3)) % 7;
    return { favourites_count: n + Math.floor(age / 10), reblogs_count: Math.floor(n / 2), replies_count: state.posts.filter((x) => x.replyTo === p.id).length };
  };
  /** The account of the request's valid token, if it has one. */
  const viewer = (req: FastifyRequest): string | null => {
    const t = state.bearer(req);
    return typeof t === 'string' ? null : t.userId;
  };
  const statusJson = (req: FastifyRequest, p: SimPost, withText = false) => {
    const raw = p.raw as { visibility: string; spoilerText: string; sensitive: boolean; language: string | null; appName: string | null };
    const u = user(p.userId);
    const origin = originOf(req);
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    const parent = p.replyTo ? state.posts.find((x) => x.id === p.replyTo) : undefined;
    return {
      id: p.id, created_at: p.createdAt, in_reply_to_id: p.replyTo ?? null, in_reply_to_account_id: parent?.userId ?? null,
      sensitive: raw.sensitive, spoiler_text: raw.spoilerText, visibility: raw.visibility, language: raw.language,
      uri: `${origin}/users/${u.username}/statuses/${p.id}`, url: `${origin}/@${u.username}/${p.id}`,
      ...counts(p), edited_at: (raw as { editedAt?: string }).editedAt ?? null, content: `<p>${esc(p.text)}</p>`, reblog: null,
      application: raw.appName ? { name: raw.appName, website: null } : null,
      account: accountJson(req, p.userId), media_attachments: p.media.map(mediaJson), mentions: [], tags: [], emojis: [], card: null, poll: null,
      ...(withText ? { text: p.text } : {}),
      // Only with a user token, as on Mastodon.
      ...(viewer(req) ? { favourited: w.favourites.has(`${viewer(req)} ${p.id}`) } : {}),
    };
  };

  app.get('/.well-known/oauth-authorization-server', async (req, reply) => {
    const i = instanceOf(req);
    if (!atLeast(i.version, [4, 3])) return reply.status(404).type('text/html').send('<h1>The page you are looking for isn\'t here.</h1>');
    const origin = originOf(req);
    return {
      issuer: `${origin}/`, service_documentation: 'https://docs.joinmastodon.org/',
      authorization_endpoint: `${origin}/oauth/authorize`, token_endpoint: `${origin}/oauth/token`, revocation_endpoint: `${origin}/oauth/revoke`,
      app_registration_endpoint: `${origin}/api/v1/apps`, scopes_supported: scopesOf(i.version), response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment', 'form_post'], grant_types_supported: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'], code_challenge_methods_supported: ['S256'],
      ...(atLeast(i.version, [4, 4]) ? { userinfo_endpoint: `${origin}/oauth/userinfo` } : {}),
    };
  });

  app.post('/api/v1/apps', async (req, reply) => {
    const i = instanceOf(req);
    const p = params(req);
    const name = typeof p.client_name === 'string' ? p.client_name.trim() : '';
    if (!name) return reply.status(422).send({ error: 'Validation failed: Application name can\'t be blank' });
    const raw = p.redirect_uris ?? p['redirect_uris[]'];
    const uris = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/\s+/) : []).filter((x): x is string => typeof x === 'string' && x !== '');
    const absolute = (u: string) => u === 'urn:ietf:wg:oauth:2.0:oob' || /^[a-z][a-z0-9+.-]*:\/\/[^\s/]+/i.test(u);
    if (uris.length === 0 || !uris.every(absolute)) return reply.status(422).send({ error: 'Validation failed: Redirect URI must be an absolute URI.' });
    const scopes = (typeof p.scopes === 'string' && p.scopes.trim() ? p.scopes : 'read').split(/\s+/).filter(Boolean);
    const known = scopesOf(i.version);
    if (!scopes.every((s) => known.includes(s))) return reply.status(422).send({ error: 'Validation failed: Scopes doesn\'t match configured on the server.' });
    const clientId = `mc_${state.nextId()}${Math.random().toString(36).slice(2, 10)}`;
    const clientSecret = `ms_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    state.apps.set(clientId, { clientId, clientSecret, redirectUris: uris, name });
    w.appHosts.set(clientId, { host: hostOf(req), scopes });
    return {
      id: state.nextId(), name, website: typeof p.website === 'string' ? p.website : null, redirect_uri: uris.join('\n'),
      ...(atLeast(i.version, [4, 3]) ? { scopes, redirect_uris: uris } : { vapid_key: 'BKx-sim' }),
      client_id: clientId, client_secret: clientSecret, ...(atLeast(i.version, [4, 4]) ? { client_secret_expires_at: 0 } : {}),
    };
  });

  app.get('/oauth/authorize', async (req, reply) => {
    const i = instanceOf(req);
    const q = req.query as Record<string, string | undefined>;
    const a = q.client_id ? state.apps.get(q.client_id) : undefined;
    const registered = q.client_id ? w.appHosts.get(q.client_id) : undefined;
    if (!a || registered?.host !== hostOf(req)) return reply.status(401).type('text/html').send('<h1>invalid_client</h1>');
    if (!q.redirect_uri || !a.redirectUris.includes(q.redirect_uri)) return reply.status(400).type('text/html').send('<h1>invalid_redirect_uri</h1>');
    const back = new URL(q.redirect_uri);
    if (q.state) back.searchParams.set('state', q.state);
    const refuse = (error: string, description: string) => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', description);
      return reply.redirect(back.toString());
    };
    if (q.response_type !== 'code') return refuse('unsupported_response_type', 'The authorization server does not support this response type.');
    const scopes = (q.scope ?? 'read').split(/\s+/).filter(Boolean);
    if (!scopes.every((s) => registered.scopes.includes(s))) return refuse('invalid_scope', 'The requested scope is invalid, unknown, or malformed.');
    const pkce = atLeast(i.version, [4, 3]) && q.code_challenge;
    if (pkce && q.code_challenge_method !== 'S256') return refuse('invalid_request', 'The code challenge method must be S256.');
    if (state.knobs.denyConsent) return refuse('access_denied', 'The resource owner or authorization server denied the request.');
    const userId = accountFor(hostOf(req), q.login_hint || 'u1');
    const code = state.issueCode(userId, a.clientId, q.redirect_uri, scopes, pkce ? q.code_challenge : undefined);
    // Out-of-band: the code is shown to the user instead of redirecting.
    if (q.redirect_uri === 'urn:ietf:wg:oauth:2.0:oob') return reply.type('text/html').send(`<p>Copy this authorization code: <code id="code">${code}</code></p>`);
    back.searchParams.set('code', code);
    return reply.redirect(back.toString());
  });

  app.post('/oauth/token', async (req, reply) => {
    const p = params(req) as Record<string, string | undefined>;
    const clientId = client(req);
    if (!clientId) return reply.status(401).send(INVALID_CLIENT);
    if (await ctx.interfere(reply, style)) return reply;
    if (p.grant_type !== 'authorization_code') {
      return reply.status(400).send({ error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server.' });
    }
    const invalidGrant = { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.' };
    if (state.codes.get(p.code ?? '')?.clientId !== clientId) return reply.status(400).send(invalidGrant);
    const r = state.redeemCode(p.code ?? '', p.redirect_uri ?? '', p.code_verifier);
    if (typeof r === 'string') return reply.status(400).send(r === 'invalid_grant' ? invalidGrant : { error: r, error_description: 'The code verifier is missing.' });
    const t = state.issueToken(r.userId, r.scope);
    t.expiresAt = Number.MAX_SAFE_INTEGER;
    state.refresh.delete(t.refreshToken); // Mastodon issues no refresh token
    w.tokenHosts.set(t.accessToken, { host: hostOf(req), clientId });
    return { access_token: t.accessToken, token_type: 'Bearer', scope: r.scope.join(' '), created_at: Math.floor(Date.now() / 1000) };
  });

  app.post('/oauth/revoke', async (req, reply) => {
    const clientId = client(req);
    if (!clientId) return reply.status(401).send(INVALID_CLIENT);
    const token = String(params(req).token ?? '');
    const t = state.tokens.get(token);
    if (t) {
      if (w.tokenHosts.get(token)?.clientId !== clientId) return reply.status(403).send({ error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' });
      t.revoked = true;
    }
    return {};
  });

  app.get('/api/v1/accounts/verify_credentials', async (req, reply) => {
    const t = auth(req, reply);
    if (!t || !scoped(t, reply, ['profile', 'read:accounts', 'read'])) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    return { ...accountJson(req, t.userId), source: { privacy: 'public', sensitive: false, language: '', note: '', fields: [] } };
  });

  const configuration = (i: SimMastodonInstance) => ({
    statuses: { max_characters: i.maxCharacters, max_media_attachments: i.maxMediaAttachments, characters_reserved_per_url: i.charactersReservedPerUrl },
    media_attachments: {
      supported_mime_types: i.supportedMimeTypes, image_size_limit: i.imageSizeLimit, image_matrix_limit: 33_177_600,
      video_size_limit: i.videoSizeLimit, video_frame_rate_limit: 120, video_matrix_limit: 8_294_400,
      ...(atLeast(i.version, [4, 4]) ? { description_limit: i.descriptionLimit } : {}),
    },
    polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2_629_746 },
  });

  app.get('/api/v2/instance', async (req, reply) => {
    const i = instanceOf(req);
    if (!atLeast(i.version, [4, 0])) return reply.status(404).send(NOT_FOUND);
    return {
      domain: hostOf(req), title: `Simulated Mastodon at ${hostOf(req)}`, version: i.version, source_url: 'https://github.com/mastodon/mastodon',
      description: 'A simulated instance', languages: ['en'], configuration: configuration(i),
      registrations: { enabled: true, approval_required: false, message: null }, rules: [],
      ...(atLeast(i.version, [4, 3]) ? { api_versions: { mastodon: atLeast(i.version, [4, 4]) ? 6 : 2 } } : {}),
    };
  });

  app.get('/api/v1/instance', async (req) => {
    const i = instanceOf(req);
    return { uri: hostOf(req), title: `Simulated Mastodon at ${hostOf(req)}`, version: i.version, languages: ['en'], configuration: configuration(i) };
  });

  app.post('/api/v2/media', async (req, reply) => {
    const t = auth(req, reply);
    if (!t || !scoped(t, reply, ['write:media', 'write'])) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const i = instanceOf(req);
    const fields: Record<string, string> = {};
    let file: { mimetype: string; buf: Buffer } | null = null;
    if (req.isMultipart()) {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const buf = await part.toBuffer();
          if (part.fieldname === 'file') file = { mimetype: part.mimetype, buf };
        } else {
          fields[part.fieldname] = String(part.value);
        }
      }
    }
    if (!file) return reply.status(400).send({ error: 'param is missing or the value is empty: file' });
    if (!i.supportedMimeTypes.includes(file.mimetype)) return reply.status(422).send({ error: 'Validation failed: File content type is invalid, File is invalid' });
    const video = file.mimetype.startsWith('video/') || file.mimetype.startsWith('audio/');
    const limit = video ? i.videoSizeLimit : i.imageSizeLimit;
    if (file.buf.length > limit) return reply.status(422).send({ error: `Validation failed: File file size must be less than ${Math.round(limit / 1_048_576)} MB` });
    const description = fields.description ?? null;
    if (description !== null && [...description].length > i.descriptionLimit) {
      return reply.status(422).send({ error: `Validation failed: Description is too long (maximum is ${i.descriptionLimit} characters)` });
    }
    const id = state.nextId();
    // Small images are processed at once (200); video and GIF (converted to gifv) are processed later (202).
    const later = video || file.mimetype === 'image/gif';
    state.media.set(id, { id, userId: t.userId, mimeType: file.mimetype, bytes: file.buf.length, state: later ? 'processing' : 'ready' });
    w.mediaMeta.set(id, { description, attachedTo: null });
    if (later) w.mediaReadyAt.set(id, Date.now() + i.processingMs);
    return reply.status(later ? 202 : 200).send(mediaJson(id));
  });

  app.get('/api/v1/media/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t) return reply;
    const id = (req.params as { id: string }).id;
    const m = state.media.get(id);
    if (!m || m.userId !== t.userId) return reply.status(404).send(NOT_FOUND);
    if (m.state === 'processing' && (w.mediaReadyAt.get(id) ?? 0) <= Date.now()) m.state = 'ready';
    return reply.status(m.state === 'ready' ? 200 : 206).send(mediaJson(id));
  });

  app.post('/api/v1/statuses', async (req, reply) => {
    const t = auth(req, reply);
    if (!t || !scoped(t, reply, ['write:statuses', 'write'])) return reply;
    if (await ctx.interfere(reply, style)) return reply;
    const i = instanceOf(req);
    const b = params(req);
    // The controller finds the replied-to status first (a before_action): 404 when it is not visible.
    const replyTo = b.in_reply_to_id === undefined || b.in_reply_to_id === null || b.in_reply_to_id === '' ? undefined : String(b.in_reply_to_id);
    if (replyTo !== undefined && !state.posts.some((p) => p.id === replyTo && w.accountHost.get(p.userId) === hostOf(req))) return reply.status(404).send(NOT_FOUND);
    // PostStatusService checks the Idempotency-Key before anything else, for an hour, per account.
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && key) {
      const seen = state.posts.find((p) => p.key === key && p.userId === t.userId && Date.now() - Date.parse(p.createdAt) < 3_600_000);
      if (seen) return statusJson(req, seen);
    }
    const text = typeof b.status === 'string' ? b.status : '';
    const spoilerText = typeof b.spoiler_text === 'string' ? b.spoiler_text : '';
    const rawIds = b.media_ids ?? b['media_ids[]'];
    const mediaIds = (Array.isArray(rawIds) ? rawIds : rawIds === undefined ? [] : [rawIds]).map(String);
    if (mediaIds.length > i.maxMediaAttachments) return reply.status(422).send({ error: `Validation failed: Cannot attach more than ${i.maxMediaAttachments} files` });
    const media = mediaIds.map((id) => state.media.get(id));
    if (media.some((m) => !m || m.userId !== t.userId || w.mediaMeta.get(m.id)?.attachedTo)) {
      return reply.status(422).send({ error: `Validation failed: Media attachments could not be found: ${mediaIds.join(', ')}` });
    }
    for (const m of media) if (m!.state === 'processing' && (w.mediaReadyAt.get(m!.id) ?? 0) <= Date.now()) m!.state = 'ready';
    if (media.some((m) => m!.state !== 'ready')) return reply.status(422).send({ error: 'Cannot attach files that have not finished processing. Try again in a moment!' });
    if (media.length > 1 && media.some((m) => !m!.mimeType.startsWith('image/') || m!.mimeType === 'image/gif')) {
      return reply.status(422).send({ error: 'Cannot attach a video to a post that already contains images' });
    }
    const visibility = b.visibility === undefined ? 'public' : String(b.visibility);
    if (!['public', 'unlisted', 'private', 'direct'].includes(visibility)) return reply.status(422).send({ error: 'Validation failed: Visibility is not included in the list' });
    if (text.trim() === '' && media.length === 0) return reply.status(422).send({ error: 'Validation failed: Text can\'t be blank' });
    if (mastodonLength(text, spoilerText, i.charactersReservedPerUrl) > i.maxCharacters) {
      return reply.status(422).send({ error: `Validation failed: Text character limit of ${i.maxCharacters} exceeded` });
    }
    const id = state.nextId();
    const clientId = w.tokenHosts.get(t.accessToken)?.clientId;
    const post: SimPost = {
      id, userId: t.userId, text, media: mediaIds, ...(replyTo !== undefined ? { replyTo } : {}), ...(typeof key === 'string' && key ? { key } : {}),
      createdAt: new Date().toISOString(),
      raw: {
        body: b, visibility, spoilerText, sensitive: b.sensitive === true || b.sensitive === 'true' || spoilerText !== '',
        language: typeof b.language === 'string' ? b.language : null, appName: clientId ? state.apps.get(clientId)?.name ?? null : null,
      },
    };
    for (const m of mediaIds) w.mediaMeta.get(m)!.attachedTo = id;
    state.posts.push(post);
    if (await ctx.maybeHang(reply)) return reply;
    return statusJson(req, post);
  });

  app.get('/api/v1/statuses/:id', async (req, reply) => {
    if (req.headers.authorization) {
      const t = auth(req, reply);
      if (!t || !scoped(t, reply, ['read:statuses', 'read'])) return reply;
    }
    const p = state.posts.find((x) => x.id === (req.params as { id: string }).id && w.accountHost.get(x.userId) === hostOf(req));
    if (!p) return reply.status(404).send(NOT_FOUND);
    return statusJson(req, p);
  });

  app.delete('/api/v1/statuses/:id', async (req, reply) => {
    const t = auth(req, reply);
    if (!t || !scoped(t, reply, ['write:statuses', 'write'])) return reply;
    const at = state.posts.findIndex((x) => x.id === (req.params as { id: string }).id && x.userId === t.userId);
    if (at < 0) return reply.status(404).send(NOT_FOUND);
    const [p] = state.posts.splice(at, 1);
    return statusJson(req, p!, true);
  });

  for (const on of [true, false]) {
    app.post(`/api/v1/statuses/:id/${on ? 'favourite' : 'unfavourite'}`, async (req, reply) => {
      const t = auth(req, reply);
      if (!t || !scoped(t, reply, ['write:favourites', 'write'])) return reply;
      if (await ctx.interfere(reply, style)) return reply;
      const p = state.posts.find((x) => x.id === (req.params as { id: string }).id && w.accountHost.get(x.userId) === hostOf(req));
      if (!p) return reply.status(404).send(NOT_FOUND);
      if (on) w.favourites.add(`${t.userId} ${p.id}`);
      else w.favourites.delete(`${t.userId} ${p.id}`);
      if (await ctx.maybeHang(reply)) return reply;
      return statusJson(req, p);
    });
  }

  app.get('/api/v1/accounts/:id/statuses', async (req, reply) => {
    if (req.headers.authorization) {
      const t = auth(req, reply);
      if (!t || !scoped(t, reply, ['read:statuses', 'read'])) return reply;
    }
    const id = (req.params as { id: string }).id;
    if (w.accountHost.get(id) !== hostOf(req)) return reply.status(404).send(NOT_FOUND);
    const q = req.query as Record<string, string | undefined>;
    const limit = Math.min(40, Math.max(1, Number(q.limit) || 20));
    const mine = state.posts.filter((p) => p.userId === id).reverse();
    const start = q.max_id ? mine.findIndex((p) => p.id === q.max_id) + 1 : 0;
    if (q.max_id && start === 0) return [];
    const page = mine.slice(start, start + limit);
    if (start + limit < mine.length && page.length > 0) {
      reply.header('link', `<${originOf(req)}/api/v1/accounts/${id}/statuses?limit=${limit}&max_id=${page[page.length - 1]!.id}>; rel="next"`);
    }
    return page.map((p) => statusJson(req, p));
  });

  // The inbox reads' own knobs (as the Sandbox's feed): a 429 once after inboxRateLimitAfter more reads.
  const inboxRefused = (reply: FastifyReply): boolean => {
    const k = state.knobs;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      const r = style.rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers ?? {}).send(r.body);
      return true;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return false;
  };
  const rateHeaders = (reply: FastifyReply) => reply.headers({ 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '299', 'x-ratelimit-reset': new Date(Date.now() + 300_000).toISOString() });

  /** The mentions of `accountId` on this instance, oldest first: replies to its statuses and statuses naming it. */
  const mentionsOf = (host: string, accountId: string): { id: number; post: SimPost }[] => {
    const name = user(accountId).username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const names = new RegExp(`(^|[^\\w@])@${name}(@[\\w.:-]+)?\\b`, 'i');
    const out: { id: number; post: SimPost }[] = [];
    for (const p of state.posts) {
      if (p.userId === accountId || w.accountHost.get(p.userId) !== host) continue;
      const parent = p.replyTo ? state.posts.find((x) => x.id === p.replyTo) : undefined;
      if (parent?.userId !== accountId && !names.test(p.text)) continue;
      const key = `${accountId} ${p.id}`;
      let id = w.notificationIds.get(key);
      if (id === undefined) {
        id = ++w.notificationSeq;
        w.notificationIds.set(key, id);
      }
      out.push({ id, post: p });
    }
    return out;
  };

  app.get('/api/v1/notifications', async (req, reply) => {
    const t = auth(req, reply);
    if (!t || !scoped(t, reply, ['read:notifications', 'read'])) return reply;
    if (inboxRefused(reply)) return reply;
    rateHeaders(reply);
    const q = req.query as Record<string, string | string[] | undefined>;
    const types = [q['types[]'] ?? q.types ?? []].flat();
    const one = (k: string) => (typeof q[k] === 'string' && /^\d+$/.test(q[k]) ? Number(q[k]) : undefined);
    const limit = Math.min(Math.max(Number(q.limit) || 40, 1), 80, state.knobs.inboxPageSize);
    let list = types.length > 0 && !types.includes('mention') ? [] : mentionsOf(hostOf(req), t.userId);
    const maxId = one('max_id');
    const sinceId = one('since_id');
    const minId = one('min_id');
    if (maxId !== undefined) list = list.filter((n) => n.id < maxId);
    if (sinceId !== undefined) list = list.filter((n) => n.id > sinceId);
    // min_id: the page immediately newer than it; otherwise the newest page.
    if (minId !== undefined) list = list.filter((n) => n.id > minId).slice(0, limit);
    else list = list.slice(-limit);
    const page = list.reverse();
    if (page.length > 0) {
      const base = `${originOf(req)}/api/v1/notifications?types[]=mention&limit=${limit}`;
      reply.header('link', `<${base}&max_id=${page.at(-1)!.id}>; rel="next", <${base}&min_id=${page[0]!.id}>; rel="prev"`);
    }
    return page.map((n) => ({ id: String(n.id), type: 'mention', created_at: n.post.createdAt, account: accountJson(req, n.post.userId), status: statusJson(req, n.post) }));
  });

  app.get('/api/v1/statuses/:id/context', async (req, reply) => {
    if (req.headers.authorization) {
      const t = auth(req, reply);
      if (!t || !scoped(t, reply, ['read:statuses', 'read'])) return reply;
    }
    if (inboxRefused(reply)) return reply;
    rateHeaders(reply);
    const here = (id: string | undefined) => state.posts.find((x) => x.id === id && w.accountHost.get(x.userId) === hostOf(req));
    const p = here((req.params as { id: string }).id);
    if (!p) return reply.status(404).send(NOT_FOUND);
    const ancestors: SimPost[] = [];
    for (let a = here(p.replyTo); a; a = here(a.replyTo)) ancestors.unshift(a);
    const descendants: SimPost[] = [];
    const walk = (id: string) => {
      for (const c of state.posts.filter((x) => x.replyTo === id)) {
        descendants.push(c);
        walk(c.id);
      }
    };
    walk(p.id);
    return { ancestors: ancestors.map((a) => statusJson(req, a)), descendants: descendants.map((d) => statusJson(req, d)) };
  });

  app.get('/@:username/:id', async (req, reply) => {
    const p = state.posts.find((x) => x.id === (req.params as { id: string }).id);
    if (!p) return reply.status(404).type('text/html').send('<h1>The page you are looking for isn\'t here.</h1>');
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    return reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>Mastodon status ${p.id}</title><p>${esc(p.text)}</p><p><small>${p.createdAt}</small></p>`);
  });
}
