// Mastodon, any instance. API documentation: https://docs.joinmastodon.org/methods/ (apps, oauth,
// accounts, instance, statuses, media); OAuth: https://docs.joinmastodon.org/spec/oauth/; rate limits:
// https://docs.joinmastodon.org/api/rate-limits/. The facts used here, each with its page, are in
// docs/NETWORKS.md (Network facts: Mastodon).
//
// The instance is typed by the user, so every call goes through the private-address guard
// (`userSuppliedHost: true`). AllIN registers itself as an OAuth app with each instance on first use
// (POST /api/v1/apps); the registration is kept in a MastodonAppStore (the accounts module can give a
// database-backed one; the default lives in memory, so after a restart AllIN registers again).
// Tokens never expire and there is no refresh token: `refresh` only checks the token still works.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { HttpResponse } from '../infra/http/client.ts';
import { httpError, malformed, transportError } from './errors.ts';
import { parseJson, readJson } from './http.ts';
import { readTokenSet } from './oauth2.ts';
import {
  ProviderError, type AccountRef, type AuthorizeRequest, type ConnectedIdentity, type ExchangeRequest, type MediaItem, type PostMetrics,
  type Provider, type ProviderDeps, type ProviderLimits, type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';
import { postMetrics } from './post-metrics.ts';

const PROVIDER = 'mastodon';
const CLIENT_NAME = 'AllIN';
/** What an unmodified Mastodon server lists (GET /api/v2/instance); the instance's own lists are in each account's data. */
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic', 'image/heif', 'image/avif'];
const VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime', 'video/ogg'];

const meta: ProviderMetadata = {
  id: 'mastodon',
  displayName: 'Mastodon',
  docsUrl: 'https://docs.joinmastodon.org/methods/statuses/',
  connect: 'oauth2',
  refreshTokenRotates: false,
  supportsRevocation: true,
  userSuppliedHost: true,
  // Stock defaults; identities() reads each instance's real limits (forks raise max_characters).
  limits: {
    textCounting: 'mastodon', maxTextLength: 500, threads: true, firstComment: true,
    media: {
      maxCount: 4, imageTypes: IMAGE_TYPES, videoTypes: VIDEO_TYPES,
      maxImageBytes: 16_777_216, maxVideoBytes: 103_809_024, mixing: false, required: false,
    },
  },
};

/** AllIN's registration with one instance (POST /api/v1/apps). */
export interface MastodonApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
  registeredAt: string;
}

/** Where app registrations are kept, keyed by instance host. */
export interface MastodonAppStore {
  get(host: string): Promise<MastodonApp | null>;
  put(host: string, app: MastodonApp): Promise<void>;
}

export function memoryAppStore(): MastodonAppStore {
  const apps = new Map<string, MastodonApp>();
  return {
    get: async (host) => apps.get(host) ?? null,
    put: async (host, app) => { apps.set(host, app); },
  };
}

/** What `GET /api/v2/instance` (or v1 on 3.4–3.5) says about limits, kept in each account's data. */
export interface MastodonInstanceInfo {
  version: string;
  apiVersion?: number;
  maxCharacters: number;
  maxMediaAttachments: number;
  charactersReservedPerUrl: number;
  supportedMimeTypes: string[];
  imageSizeLimit: number;
  imageMatrixLimit?: number;
  videoSizeLimit: number;
  videoFrameRateLimit?: number;
  videoMatrixLimit?: number;
  descriptionLimit?: number;
}

/** The limits of one instance, in the shape the composer's validation uses. */
export function mastodonLimits(instance: MastodonInstanceInfo): ProviderLimits {
  const types = instance.supportedMimeTypes;
  return {
    ...meta.limits,
    maxTextLength: instance.maxCharacters,
    media: {
      ...meta.limits.media,
      maxCount: instance.maxMediaAttachments,
      imageTypes: types.length ? types.filter((t) => t.startsWith('image/')) : IMAGE_TYPES,
      videoTypes: types.length ? types.filter((t) => t.startsWith('video/')) : VIDEO_TYPES,
      maxImageBytes: instance.imageSizeLimit,
      maxVideoBytes: instance.videoSizeLimit,
    },
  };
}

export interface MastodonProvider extends Provider {
  /** Registers AllIN with an instance and stores the result (also done by authorizationUrl when needed). */
  registerApp(host: string, redirectUri: string): Promise<MastodonApp>;
  /** The instance's limits (cached for an hour). */
  instance(host: string): Promise<MastodonInstanceInfo>;
  /** Deletes a status; one that is already gone counts as deleted. */
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

/**
 * A host name as typed ("mastodon.social", "https://Mastodon.Social/", "social.example:8443") reduced
 * to host[:port]; anything with a user, a path or odd characters is refused.
 */
export function normalizeMastodonHost(input: string): string {
  const trimmed = input.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  let u: URL;
  try {
    u = new URL(`https://${trimmed}`);
  } catch {
    throw invalidHost(input);
  }
  if (u.username || u.password || u.pathname !== '/' || u.search || u.hash || !/^[a-z0-9.-]+(:\d+)?$|^\[[0-9a-f:.]+\](:\d+)?$/.test(u.host)) {
    throw invalidHost(input);
  }
  return u.host;
}

function invalidHost(input: string): ProviderError {
  return new ProviderError('permanent', `mastodon: "${input.slice(0, 100)}" is not an instance host name such as mastodon.social`, { provider: PROVIDER, reason: 'invalid_host' });
}

const HOUR = 3_600_000;
/** Instances whose registration and metadata are kept in memory at once (least recently used go first). */
const MAX_HOSTS_KEPT = 1000;
/** Mastodon remembers an Idempotency-Key for one hour (PostStatusService); a little margin for clock skew. */
const IDEMPOTENCY_WINDOW_MS = HOUR - 5 * 60_000;

interface Discovery { pkce: boolean; profileScope: boolean; at: number }
interface Status {
  id?: unknown; url?: unknown; uri?: unknown; created_at?: unknown;
  favourites_count?: unknown; reblogs_count?: unknown; replies_count?: unknown;
  application?: { name?: unknown } | null;
}

export function createMastodon(deps: ProviderDeps, appStore: MastodonAppStore = memoryAppStore()): MastodonProvider {
  const { http } = deps;
  // `{host}` is replaced by the instance host. Tests point it at the simulator ("http://{host}/mastodon").
  const template = deps.settings.baseUrls.instance ?? 'https://{host}';
  const baseOf = (host: string) => template.replace('{host}', host);

  // Hosts are typed by users, so what is kept per host is bounded: registrations read from the app store,
  // and what an instance says about itself for an hour. `registering` holds only calls in flight.
  const apps = new LRUCache<string, MastodonApp>({ max: MAX_HOSTS_KEPT });
  const registering = new Map<string, Promise<MastodonApp>>();
  const discoveries = new LRUCache<string, Discovery>({ max: MAX_HOSTS_KEPT, ttl: HOUR });
  const instances = new LRUCache<string, MastodonInstanceInfo>({ max: MAX_HOSTS_KEPT, ttl: HOUR });

  const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}`, accept: 'application/json' });

  /** A non-2xx answer as a ProviderError; Mastodon's X-RateLimit-Reset is an ISO 8601 time, not epoch seconds. */
  const fail = (what: string, res: HttpResponse): ProviderError => {
    const err = httpError(PROVIDER, what, res);
    if (err.kind === 'rate_limited' && err.details.retryAfterMs === undefined) {
      const reset = Date.parse(res.headers['x-ratelimit-reset'] ?? '');
      if (Number.isFinite(reset)) return new ProviderError('rate_limited', err.message, { ...err.details, retryAfterMs: Math.max(0, reset - Date.now()) });
    }
    return err;
  };

  const send = async (what: string, creates: boolean, req: { method: 'GET' | 'POST' | 'DELETE'; url: string; headers?: Record<string, string>; body?: unknown; media?: boolean }): Promise<HttpResponse> => {
    try {
      return await http.request({ ...req, provider: PROVIDER, operation: what, userSuppliedHost: true, retryUnsent: true });
    } catch (err) {
      throw transportError(PROVIDER, what, err, creates);
    }
  };
  const ok = async (what: string, creates: boolean, req: Parameters<typeof send>[2]): Promise<HttpResponse> => {
    const res = await send(what, creates, req);
    if (res.status < 200 || res.status >= 300) throw fail(what, res);
    return res;
  };
  const read = <T>(res: HttpResponse, what: string, creates: boolean): T => readJson<T>(res, { provider: PROVIDER, operation: what, creates });

  const hostOf = (host: string | undefined, what: string): string => {
    if (!host) throw new ProviderError('permanent', `mastodon: ${what} needs the instance host`, { provider: PROVIDER, reason: 'invalid_host' });
    return normalizeMastodonHost(host);
  };

  /** RFC 8414 metadata (4.3+). A 404 means an older server: no PKCE, no `profile` scope. */
  const discover = async (host: string): Promise<Discovery> => {
    const cached = discoveries.get(host);
    if (cached) return cached;
    const res = await send('oauth_discovery', false, { method: 'GET', url: `${baseOf(host)}/.well-known/oauth-authorization-server`, headers: { accept: 'application/json' } });
    let d: Discovery;
    if (res.status === 404) {
      d = { pkce: false, profileScope: false, at: Date.now() };
    } else if (res.status >= 200 && res.status < 300) {
      const m = read<{ code_challenge_methods_supported?: unknown; scopes_supported?: unknown }>(res, 'oauth_discovery', false);
      d = {
        pkce: Array.isArray(m.code_challenge_methods_supported) && m.code_challenge_methods_supported.includes('S256'),
        profileScope: Array.isArray(m.scopes_supported) && m.scopes_supported.includes('profile'),
        at: Date.now(),
      };
    } else {
      throw fail('oauth_discovery', res);
    }
    discoveries.set(host, d);
    return d;
  };

  // `profile` (4.3+) only allows verify_credentials; older servers need read:accounts. read:statuses
  // reads metrics and own statuses (without it those reads answer 403 when a token is sent).
  const scopesFor = (d: Discovery) => [d.profileScope ? 'profile' : 'read:accounts', 'read:statuses', 'write:statuses', 'write:media'];

  const registerApp = async (hostInput: string, redirectUri: string): Promise<MastodonApp> => {
    const host = normalizeMastodonHost(hostInput);
    const scopes = scopesFor(await discover(host));
    const res = await ok('app_register', false, {
      method: 'POST', url: `${baseOf(host)}/api/v1/apps`, headers: { accept: 'application/json' },
      body: { client_name: CLIENT_NAME, redirect_uris: redirectUri, scopes: scopes.join(' ') },
    });
    const a = read<{ client_id?: unknown; client_secret?: unknown }>(res, 'app_register', false);
    if (typeof a.client_id !== 'string' || typeof a.client_secret !== 'string' || !a.client_id || !a.client_secret) throw malformed(PROVIDER, 'app_register', false);
    const app: MastodonApp = { clientId: a.client_id, clientSecret: a.client_secret, redirectUri, scopes, registeredAt: new Date().toISOString() };
    await appStore.put(host, app);
    apps.set(host, app);
    return app;
  };

  const storedApp = async (host: string): Promise<MastodonApp | null> => {
    const cached = apps.get(host);
    if (cached) return cached;
    const stored = await appStore.get(host);
    if (stored) apps.set(host, stored);
    return stored;
  };

  /**
   * Whether a registration's scopes cover what AllIN does. An app registered with read:accounts before
   * the instance learnt `profile` still does: registering again would leave its tokens unrevocable
   * (revocation needs the credentials of the app that issued the token).
   */
  const covers = (scopes: string[]) => [['profile', 'read:accounts', 'read'], ['read:statuses', 'read'], ['write:statuses', 'write'], ['write:media', 'write']]
    .every((any) => any.some((x) => scopes.includes(x)));

  /** The registration for (host, redirect URI), registering once when there is none that fits. */
  const appFor = async (host: string, redirectUri: string): Promise<MastodonApp> => {
    const existing = await storedApp(host);
    if (existing && existing.redirectUri === redirectUri && covers(existing.scopes)) return existing;
    // One registration at a time per host, so two users connecting at once do not register twice.
    let pending = registering.get(host);
    if (!pending) {
      pending = registerApp(host, redirectUri).finally(() => registering.delete(host));
      registering.set(host, pending);
    }
    return pending;
  };

  /** A form POST to /oauth/*, through the guard (oauth2.ts's helpers do not take userSuppliedHost). */
  const oauthPost = (what: string, url: string, params: Record<string, string>) =>
    send(what, false, { method: 'POST', url, headers: { accept: 'application/json' }, body: new URLSearchParams(params) });

  const fetchInstance = async (host: string): Promise<MastodonInstanceInfo> => {
    const cached = instances.get(host);
    if (cached) return cached;
    let res = await send('instance', false, { method: 'GET', url: `${baseOf(host)}/api/v2/instance`, headers: { accept: 'application/json' } });
    // 3.4.2–3.5.x have no v2 endpoint but the same `configuration` block in v1.
    if (res.status === 404) res = await send('instance', false, { method: 'GET', url: `${baseOf(host)}/api/v1/instance`, headers: { accept: 'application/json' } });
    if (res.status < 200 || res.status >= 300) throw fail('instance', res);
    const body = read<{ version?: unknown; api_versions?: { mastodon?: unknown }; configuration?: Record<string, Record<string, unknown> | undefined> }>(res, 'instance', false);
    const statuses = body.configuration?.statuses ?? {};
    const media = body.configuration?.media_attachments ?? {};
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
    // Older servers without `configuration` run the stock limits (https://docs.joinmastodon.org/methods/instance/#v2).
    const info: MastodonInstanceInfo = {
      version: typeof body.version === 'string' ? body.version : 'unknown',
      ...(typeof body.api_versions?.mastodon === 'number' ? { apiVersion: body.api_versions.mastodon } : {}),
      maxCharacters: num(statuses.max_characters) ?? 500,
      maxMediaAttachments: num(statuses.max_media_attachments) ?? 4,
      charactersReservedPerUrl: num(statuses.characters_reserved_per_url) ?? 23,
      supportedMimeTypes: Array.isArray(media.supported_mime_types) ? media.supported_mime_types.filter((t): t is string => typeof t === 'string') : [],
      imageSizeLimit: num(media.image_size_limit) ?? 16_777_216,
      videoSizeLimit: num(media.video_size_limit) ?? 103_809_024,
    };
    const imageMatrixLimit = num(media.image_matrix_limit);
    const videoFrameRateLimit = num(media.video_frame_rate_limit);
    const videoMatrixLimit = num(media.video_matrix_limit);
    const descriptionLimit = num(media.description_limit);
    if (imageMatrixLimit) info.imageMatrixLimit = imageMatrixLimit;
    if (videoFrameRateLimit) info.videoFrameRateLimit = videoFrameRateLimit;
    if (videoMatrixLimit) info.videoMatrixLimit = videoMatrixLimit;
    if (descriptionLimit) info.descriptionLimit = descriptionLimit;
    instances.set(host, info);
    return info;
  };

  const verify = async (tokens: TokenSet, host: string) => {
    const res = await ok('profile', false, { method: 'GET', url: `${baseOf(host)}/api/v1/accounts/verify_credentials`, headers: bearer(tokens) });
    const me = read<{ id?: unknown; username?: unknown; acct?: unknown; display_name?: unknown; url?: unknown; avatar?: unknown }>(res, 'profile', false);
    if (typeof me.id !== 'string' || typeof me.username !== 'string') throw malformed(PROVIDER, 'profile', false);
    return me as { id: string; username: string; acct?: unknown; display_name?: unknown; url?: unknown; avatar?: unknown };
  };

  const uploadMedia = async (account: AccountRef, host: string, m: MediaItem, i: number): Promise<string> => {
    const form = new FormData();
    form.set('file', new Blob([await m.read()], { type: m.mimeType }), `media-${i}`);
    if (m.altText) form.set('description', m.altText);
    const res = await ok('media_upload', false, { method: 'POST', url: `${baseOf(host)}/api/v2/media`, headers: bearer(account.tokens), body: form, media: true });
    const media = read<{ id?: unknown; url?: unknown }>(res, 'media_upload', false);
    if (typeof media.id !== 'string') throw malformed(PROVIDER, 'media_upload', false);
    // 200: processed already; 202: still processing, poll until the server answers 200 (https://docs.joinmastodon.org/methods/media/#v2).
    if (res.status === 202 || media.url === null) await waitForMedia(account, host, media.id);
    return media.id;
  };

  const MEDIA_WAIT_MS = 5 * 60_000;
  const waitForMedia = async (account: AccountRef, host: string, id: string): Promise<void> => {
    const deadline = Date.now() + MEDIA_WAIT_MS;
    for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
      if (Date.now() + delay > deadline) {
        throw new ProviderError('transient', `mastodon: media ${id} was still processing after ${MEDIA_WAIT_MS / 60_000} minutes`, { provider: PROVIDER, reason: 'media_processing' });
      }
      await new Promise((r) => setTimeout(r, delay));
      const res = await send('media_status', false, { method: 'GET', url: `${baseOf(host)}/api/v1/media/${encodeURIComponent(id)}`, headers: bearer(account.tokens) });
      if (res.status === 206) continue;
      if (res.status === 200) {
        const m = read<{ url?: unknown }>(res, 'media_status', false);
        if (m.url !== null && m.url !== undefined) return;
        continue;
      }
      throw fail('media_status', res);
    }
  };

  const toPublished = (s: Status, what: string): PublishedPost => {
    if (typeof s.id !== 'string' || !s.id) throw malformed(PROVIDER, what, true);
    const url = typeof s.url === 'string' ? s.url : typeof s.uri === 'string' ? s.uri : undefined;
    return { remoteId: s.id, ...(url ? { url } : {}) };
  };

  /** Only options Mastodon knows, with the right types; anything else would be an error at the server. */
  const statusOptions = (o: Record<string, unknown> | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (!o) return out;
    if (typeof o.visibility === 'string' && ['public', 'unlisted', 'private', 'direct'].includes(o.visibility)) out.visibility = o.visibility;
    if (typeof o.language === 'string' && /^[a-z]{2,3}$/i.test(o.language)) out.language = o.language.toLowerCase();
    if (typeof o.spoilerText === 'string' && o.spoilerText) out.spoiler_text = o.spoilerText;
    if (typeof o.sensitive === 'boolean') out.sensitive = o.sensitive;
    return out;
  };

  /**
   * Statuses do not show the Idempotency-Key, so outside the key's hour the only evidence is the
   * account's own statuses: if none since `since` was posted through AllIN, nothing was created.
   */
  const anyOwnStatusSince = async (account: AccountRef, host: string, since: Date): Promise<boolean> => {
    const accountId = typeof account.data.accountId === 'string' ? account.data.accountId : account.externalId;
    let url = `${baseOf(host)}/api/v1/accounts/${encodeURIComponent(accountId)}/statuses?limit=40&exclude_reblogs=true`;
    for (let page = 0; page < 10; page++) {
      const res = await ok('find_post', false, { method: 'GET', url, headers: bearer(account.tokens) });
      const list = read<Status[]>(res, 'find_post', false);
      if (!Array.isArray(list)) throw malformed(PROVIDER, 'find_post', false);
      for (const s of list) {
        const at = typeof s.created_at === 'string' ? Date.parse(s.created_at) : NaN;
        if (at < since.getTime()) return false;
        if (s.application?.name === CLIENT_NAME) return true;
      }
      const next = nextLink(res.headers.link);
      if (list.length === 0 || !next) return false; // every status of the account was seen
      // The bearer token only goes back to the instance itself, whatever the Link header says.
      if (new URL(next).origin !== new URL(baseOf(host)).origin) return true;
      url = next;
    }
    return true; // ten pages of statuses since `since` and none older: too many to be sure
  };

  const provider: MastodonProvider = {
    meta,
    registerApp,
    instance: (host) => fetchInstance(normalizeMastodonHost(host)),

    async authorizationUrl(req: AuthorizeRequest) {
      const host = hostOf(req.host, 'authorization');
      const d = await discover(host);
      const app = await appFor(host, req.redirectUri);
      const u = new URL(`${baseOf(host)}/oauth/authorize`);
      u.search = new URLSearchParams({
        // Requested scopes must be a subset of the registered ones: ask for exactly those.
        response_type: 'code', client_id: app.clientId, redirect_uri: req.redirectUri, scope: app.scopes.join(' '), state: req.state,
        // PKCE from 4.3 (S256 only); what older servers do with the parameters is unconfirmed, so they get none.
        ...(d.pkce ? { code_challenge: req.codeChallenge, code_challenge_method: 'S256' } : {}),
      }).toString();
      return u.toString();
    },

    async exchangeCode(req: ExchangeRequest) {
      const host = hostOf(req.host, 'exchange');
      const app = await storedApp(host);
      if (!app) {
        throw new ProviderError('permanent', `mastodon: AllIN has no app registration with ${host} any more; connect again`, { provider: PROVIDER, reason: 'no_app' });
      }
      const d = await discover(host);
      const res = await oauthPost('oauth_exchange', `${baseOf(host)}/oauth/token`, {
        grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, client_id: app.clientId, client_secret: app.clientSecret,
        ...(d.pkce ? { code_verifier: req.codeVerifier } : {}),
      });
      if (res.status === 400 || res.status === 401) {
        const code = String((parseJson(res) as { error?: unknown } | null)?.error ?? '');
        if (code === 'invalid_client') {
          // Servers before 4.3 purge unused apps: register afresh so the next attempt works.
          await registerApp(host, req.redirectUri);
          throw new ProviderError('permanent', `mastodon: ${host} no longer knew AllIN's app registration; it has been renewed, connect again`, { provider: PROVIDER, status: res.status, reason: 'invalid_client' });
        }
        throw new ProviderError('auth_expired', `mastodon: ${host} refused the authorisation code (${code || res.status})`, { provider: PROVIDER, status: res.status, reason: code || 'invalid_grant' });
      }
      if (res.status < 200 || res.status >= 300) throw fail('oauth_exchange', res);
      return readTokenSet(res, PROVIDER, 'oauth_exchange');
    },

    async refresh(account: AccountRef) {
      // Mastodon tokens do not expire and cannot be refreshed: either this one still works, or the
      // account must reconnect (verify answers 401 → auth_expired).
      await verify(account.tokens, hostOf(account.host, 'refresh'));
      return account.tokens;
    },

    async revoke(account: AccountRef) {
      const host = hostOf(account.host, 'revoke');
      const app = await storedApp(host);
      if (!app) throw new ProviderError('permanent', `mastodon: AllIN has no app registration with ${host}, so it cannot revoke the token there`, { provider: PROVIDER, reason: 'no_app' });
      const res = await oauthPost('oauth_revoke', `${baseOf(host)}/oauth/revoke`, { client_id: app.clientId, client_secret: app.clientSecret, token: account.tokens.accessToken });
      if (res.status === 403) {
        // The token was issued to an earlier registration, whose credentials are no longer kept.
        throw new ProviderError('permanent', `mastodon: ${host} says the token belongs to another app registration, so AllIN cannot revoke it; the user can revoke it in the instance's settings`,
          { provider: PROVIDER, status: 403, reason: 'unauthorized_client' });
      }
      if (res.status < 200 || res.status >= 300) throw fail('oauth_revoke', res);
    },

    async identities(tokens: TokenSet, hostInput?: string): Promise<ConnectedIdentity[]> {
      const host = hostOf(hostInput, 'identities');
      const me = await verify(tokens, host);
      const instance = await fetchInstance(host);
      // The token's own account is local, so acct = username and the full handle is user@host.
      return [{
        externalId: me.id,
        kind: 'person',
        username: `${me.username}@${host}`,
        displayName: typeof me.display_name === 'string' && me.display_name ? me.display_name : me.username,
        ...(typeof me.avatar === 'string' && me.avatar ? { avatarUrl: me.avatar } : {}),
        ...(typeof me.url === 'string' && me.url ? { profileUrl: me.url } : {}),
        data: { host, accountId: me.id, instance, limits: mastodonLimits(instance) },
      }];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const host = hostOf(account.host, 'publish');
      const mediaIds: string[] = [];
      for (const [i, m] of post.media.entries()) mediaIds.push(await uploadMedia(account, host, m, i));
      const res = await send('publish', true, {
        method: 'POST', url: `${baseOf(host)}/api/v1/statuses`,
        // The server remembers the key for an hour and answers a repeat with the status it created.
        headers: { ...bearer(account.tokens), 'idempotency-key': idempotencyKey(post.marker) },
        body: {
          status: post.text,
          ...(mediaIds.length ? { media_ids: mediaIds } : {}),
          ...(post.replyTo ? { in_reply_to_id: post.replyTo } : {}),
          ...statusOptions(post.options),
        },
      });
      if (res.status === 422 && /not finished processing/i.test(res.text)) {
        throw new ProviderError('transient', 'mastodon: the media has not finished processing', { provider: PROVIDER, status: 422, reason: 'media_processing' });
      }
      if (res.status < 200 || res.status >= 300) throw fail('publish', res);
      return toPublished(read<Status>(res, 'publish', true), 'publish');
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const host = hostOf(account.host, 'find_post');
      if (Date.now() - since.getTime() <= IDEMPOTENCY_WINDOW_MS) {
        // Mastodon checks the Idempotency-Key before anything else (PostStatusService#call, in every
        // version since the key exists): a request with a known key returns the status it created; with
        // an unknown key it goes on to validation, where an empty status without media is refused (422
        // "Text can't be blank"), creating nothing. That forks keep both behaviours is UNCONFIRMED.
        const res = await send('find_post', false, {
          method: 'POST', url: `${baseOf(host)}/api/v1/statuses`,
          headers: { ...bearer(account.tokens), 'idempotency-key': idempotencyKey(marker) }, body: { status: '' },
        });
        if (res.status === 422) return null;
        if (res.status < 200 || res.status >= 300) throw fail('find_post', res);
        return toPublished(read<Status>(res, 'find_post', false), 'find_post');
      }
      if (await anyOwnStatusSince(account, host, since)) {
        throw new ProviderError('permanent', 'mastodon: the instance forgets Idempotency-Keys after an hour and statuses do not carry them; posts made through AllIN since then exist, so whether this one was published cannot be told', { provider: PROVIDER, reason: 'cannot_reconcile' });
      }
      return null;
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const host = hostOf(account.host, 'metrics');
      const res = await ok('metrics', false, { method: 'GET', url: `${baseOf(host)}/api/v1/statuses/${encodeURIComponent(remoteId)}`, headers: bearer(account.tokens) });
      const s = read<Status>(res, 'metrics', false);
      // Counts are what this instance knows; interactions from other servers may lag (docs/NETWORKS.md, Network facts: Mastodon).
      return postMetrics({ likes: s.favourites_count, reposts: s.reblogs_count, replies: s.replies_count });
    },

    async deletePost(account: AccountRef, remoteId: string) {
      const host = hostOf(account.host, 'delete_post');
      const res = await send('delete_post', false, { method: 'DELETE', url: `${baseOf(host)}/api/v1/statuses/${encodeURIComponent(remoteId)}`, headers: bearer(account.tokens) });
      if (res.status === 404) return; // already gone: deletion is idempotent
      if (res.status < 200 || res.status >= 300) throw fail('delete_post', res);
    },
  };
  return provider;
}

/**
 * The Idempotency-Key sent for a marker. Mastodon keeps it in Redis inside a key name, so it is hashed
 * to a fixed, plain form whatever the marker looks like.
 */
export function idempotencyKey(marker: string): string {
  return `allin-${createHash('sha256').update(marker).digest('base64url').slice(0, 32)}`;
}

/** The rel="next" URL of an RFC 8288 Link header (Mastodon's pagination). */
function nextLink(link: string | undefined): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (m && m[2]!.split(/\s+/).includes('next')) return m[1]!;
  }
  return null;
}
