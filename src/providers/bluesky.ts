// Bluesky (AT Protocol). Documentation: https://docs.bsky.app/docs/advanced-guides/posts (posts,
// facets, images, replies, website card embeds), https://docs.bsky.app/docs/api/com-atproto-server-create-session (sessions),
// https://atproto.com/specs/xrpc, https://atproto.com/specs/did (PDS discovery),
// https://docs.bsky.app/docs/advanced-guides/rate-limits. The facts used here, each with its page, are in
// docs/NETWORKS.md (Network facts: Bluesky, and How text is counted).
//
// XRPC is spoken directly over AllIN's HttpClient rather than through @atproto/api: its current
// releases require Node ≥ 22 (AllIN runs on Node 20), and it would send requests with its own fetch,
// past the HttpClient's timeouts, metrics and private-address guard.
//
// Hosts: `settings.baseUrls.service` (default https://bsky.social) is where sessions are made for
// accounts hosted by Bluesky; `plc` (https://plc.directory) resolves did:plc; `appview`
// (https://public.api.bsky.app, unauthenticated) answers app.bsky.* reads for metrics; `web`
// (https://bsky.app) builds public links. These are trusted configuration; a PDS named by a user or by
// a DID document is not, and goes through the private-address guard.
//
// The adapter is in parts: bluesky/session.ts (session tokens), bluesky/xrpc.ts (calls and their errors),
// bluesky/facets.ts (rich text), bluesky/records.ts (remote ids, TIDs, the marker field); this file holds
// the sign-in, PDS discovery, posting, reconciliation and metrics that use them.
import type { HttpResponse } from '../infra/http/client.ts';
import { malformed, transportError } from './errors.ts';
import { readJson } from './http.ts';
import { blueskyTextProblem } from './text.ts';
import { detectFacets, isHandle, type Facet } from './bluesky/facets.ts';
import { MARKER_FIELD, markerHash, parseRemoteId, tidTime, toRemoteId, type StrongRef } from './bluesky/records.ts';
import { toTokens, type Session } from './bluesky/session.ts';
import { xrpcBody, xrpcError, type RecordAnswer, type XrpcCall } from './bluesky/xrpc.ts';
import {
  ProviderError, type AccountRef, type ConnectedIdentity, type MediaItem, type PostMetrics, type Provider, type ProviderDeps,
  type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';
import { postMetrics } from './post-metrics.ts';

export { detectFacets, isHandle, type DetectedFacet, type Facet, type FacetFeature } from './bluesky/facets.ts';
export { MARKER_FIELD, markerHash, parseRemoteId, tidTime, toRemoteId, type StrongRef } from './bluesky/records.ts';

const PROVIDER = 'bluesky';
const POST = 'app.bsky.feed.post';
/**
 * Lexicon maxSize of an image blob: 1,000,000 bytes in the docs; raised to 2,000,000 in the atproto
 * repository in 2026, which is UNCONFIRMED for every PDS and AppView (docs/NETWORKS.md, Network facts: Bluesky), so the safe value.
 */
const MAX_IMAGE_BYTES = 1_000_000;

const meta: ProviderMetadata = {
  id: 'bluesky',
  displayName: 'Bluesky',
  docsUrl: 'https://docs.bsky.app/docs/advanced-guides/posts',
  connect: 'app_password',
  refreshTokenRotates: true,
  supportsRevocation: true,
  userSuppliedHost: true,
  limits: {
    // 300 graphemes and also 3,000 UTF-8 bytes (checked by publish; see blueskyTextProblem).
    textCounting: 'graphemes', maxTextLength: 300, threads: true, firstComment: true,
    media: {
      // Video goes through a separate video service this adapter does not use.
      maxCount: 4, imageTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'], videoTypes: [],
      maxImageBytes: MAX_IMAGE_BYTES, maxVideoBytes: 0, mixing: false, required: false,
    },
  },
};

export interface BlueskyProvider extends Provider {
  /** Deletes a post; a post that is already gone counts as deleted (deleteRecord is idempotent). */
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

export function createBluesky(deps: ProviderDeps): BlueskyProvider {
  const { http } = deps;
  const urls = deps.settings.baseUrls;
  const trim = (u: string) => u.replace(/\/+$/, '');
  const service = trim(urls.service ?? 'https://bsky.social');
  const plc = trim(urls.plc ?? 'https://plc.directory');
  const appview = trim(urls.appview ?? 'https://public.api.bsky.app');
  const web = trim(urls.web ?? 'https://bsky.app');
  const trusted = new Set([service, plc, appview].map((u) => new URL(u).origin));
  // Plain http only where the configured service itself is plain http (a local simulator).
  const httpAllowed = new URL(service).protocol === 'http:';

  const invalidHost = (input: string) =>
    new ProviderError('permanent', `bluesky: "${input.slice(0, 100)}" is not a server address such as bsky.social or https://pds.example.com`, { provider: PROVIDER, reason: 'invalid_host' });

  /** A PDS or entryway as typed ("pds.example.com") or as a URL, reduced to its base URL. */
  const serviceUrl = (input: string): string => {
    const raw = input.trim();
    let u: URL;
    try {
      u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
    } catch {
      throw invalidHost(input);
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && httpAllowed)) throw invalidHost(input);
    if (u.username || u.password || u.search || u.hash) throw invalidHost(input);
    return trim(`${u.origin}${u.pathname}`);
  };
  /** What is stored as the account's host: a bare host name when that says it all. */
  const hostLabel = (base: string): string => {
    const u = new URL(base);
    return u.protocol === 'https:' && (u.pathname === '/' || u.pathname === '') ? u.host : base;
  };

  const send = async (c: XrpcCall): Promise<HttpResponse> => {
    const u = new URL(`${c.base}/xrpc/${c.nsid}`);
    for (const [k, v] of Object.entries(c.query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
    }
    try {
      return await http.request({
        method: c.method, url: u.toString(), provider: PROVIDER, operation: c.what,
        headers: { accept: 'application/json', ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...c.headers },
        ...(c.body !== undefined ? { body: c.body } : {}),
        userSuppliedHost: !trusted.has(u.origin),
        retryUnsent: true,
        ...(c.media ? { media: true } : {}),
      });
    } catch (err) {
      throw transportError(PROVIDER, c.what, err, c.creates ?? false);
    }
  };
  const call = async (c: XrpcCall): Promise<HttpResponse> => {
    const res = await send(c);
    if (res.status < 200 || res.status >= 300) throw xrpcError(c.what, res, c.creates ?? false);
    return res;
  };
  const read = <T>(res: HttpResponse, what: string, creates = false): T => readJson<T>(res, { provider: PROVIDER, operation: what, creates });

  /** The PDS a DID document names (the service with id #atproto_pds). */
  const pdsOf = (doc: unknown): string | null => {
    const services = (doc as { service?: unknown } | null)?.service;
    if (!Array.isArray(services)) return null;
    for (const s of services as { id?: unknown; type?: unknown; serviceEndpoint?: unknown }[]) {
      if (typeof s.id === 'string' && s.id.endsWith('#atproto_pds') && s.type === 'AtprotoPersonalDataServer' && typeof s.serviceEndpoint === 'string') {
        return serviceUrl(s.serviceEndpoint);
      }
    }
    return null;
  };

  /** did:plc from the PLC directory, did:web from https://<host>/.well-known/did.json; null when unknown. */
  const didDocument = async (did: string): Promise<unknown> => {
    let url: string;
    let guarded: boolean;
    if (did.startsWith('did:plc:')) {
      url = `${plc}/${encodeURIComponent(did)}`;
      guarded = false;
    } else if (did.startsWith('did:web:')) {
      const host = decodeURIComponent(did.slice('did:web:'.length));
      if (host.includes(':') && !/^[^:]+:\d+$/.test(host)) return null; // did:web with a path is not used by atproto
      url = `https://${host}/.well-known/did.json`;
      guarded = true;
    } else {
      return null;
    }
    let res: HttpResponse;
    try {
      res = await http.request({ method: 'GET', url, provider: PROVIDER, operation: 'did_document', headers: { accept: 'application/json' }, userSuppliedHost: guarded });
    } catch (err) {
      throw transportError(PROVIDER, 'did_document', err, false);
    }
    if (res.status === 404 || res.status === 410) return null;
    if (res.status < 200 || res.status >= 300) throw xrpcError('did_document', res, false);
    return read<unknown>(res, 'did_document');
  };

  /** Handle → DID through the configured service (which resolves any handle); null when it cannot. */
  const resolveHandle = async (handle: string): Promise<string | null> => {
    const res = await send({ method: 'GET', base: service, nsid: 'com.atproto.identity.resolveHandle', what: 'resolve_handle', query: { handle } });
    if (res.status === 400 || res.status === 404) return null;
    if (res.status < 200 || res.status >= 300) throw xrpcError('resolve_handle', res, false);
    const { did } = read<{ did?: unknown }>(res, 'resolve_handle');
    return typeof did === 'string' && did.startsWith('did:') ? did : null;
  };

  /**
   * Where to sign in when the user named no server (https://atproto.com/specs/did): the PDS of the handle's DID
   * document. Accounts on Bluesky's own PDSes (*.host.bsky.network) sign in at the entryway, i.e. the
   * configured service (docs.bsky.app/docs/advanced-guides/api-directory), as do e-mail identifiers and handles that do not resolve; so a
   * password is only ever sent to the configured service or to the account's own PDS.
   */
  const loginServiceFor = async (identifier: string): Promise<string> => {
    if (identifier.includes('@')) return service;
    const did = identifier.startsWith('did:') ? identifier : isHandle(identifier) ? await resolveHandle(identifier) : null;
    if (!did) return service;
    const pds = pdsOf(await didDocument(did));
    if (!pds) return service;
    const host = new URL(pds).host;
    if (host.endsWith('.host.bsky.network') || host === new URL(service).host) return service;
    return pds;
  };

  const serviceOf = (account: { host?: string | undefined }) => (account.host ? serviceUrl(account.host) : service);
  const pdsFor = (account: AccountRef) => (typeof account.data.pds === 'string' ? serviceUrl(account.data.pds) : serviceOf(account));

  const readSession = (res: HttpResponse, what: string): Session & { accessJwt: string; refreshJwt: string; did: string; handle: string } => {
    const s = read<Session>(res, what);
    if (typeof s.accessJwt !== 'string' || typeof s.refreshJwt !== 'string' || typeof s.did !== 'string' || typeof s.handle !== 'string') throw malformed(PROVIDER, what, false);
    return s as Session & { accessJwt: string; refreshJwt: string; did: string; handle: string };
  };

  /** Resolves each mentioned handle once; an unresolvable handle stays plain text (no facet). */
  const facetsFor = async (text: string): Promise<Facet[]> => {
    const detected = detectFacets(text);
    const dids = new Map<string, string | null>();
    const facets: Facet[] = [];
    for (const f of detected) {
      const index = { byteStart: f.byteStart, byteEnd: f.byteEnd };
      if (f.kind === 'link') facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#link', uri: f.value }] });
      else if (f.kind === 'tag') facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#tag', tag: f.value }] });
      else {
        const key = f.value.toLowerCase();
        if (!dids.has(key)) dids.set(key, await resolveHandle(key));
        const did = dids.get(key);
        if (did) facets.push({ index, features: [{ $type: 'app.bsky.richtext.facet#mention', did }] });
      }
    }
    return facets;
  };

  /** The blob exactly as returned: the record must reference what the PDS stored. */
  const uploadBlob = async (account: AccountRef, pds: string, bytes: Buffer, mimeType: string) => {
    const res = await call({
      method: 'POST', base: pds, nsid: 'com.atproto.repo.uploadBlob', what: 'media_upload', token: account.tokens.accessToken,
      headers: { 'content-type': mimeType }, body: bytes, media: true,
    });
    const { blob } = read<{ blob?: { ref?: { $link?: unknown }; mimeType?: unknown; size?: unknown } }>(res, 'media_upload');
    if (!blob || typeof blob.ref?.$link !== 'string') throw malformed(PROVIDER, 'media_upload', false);
    return blob;
  };

  const uploadImage = async (account: AccountRef, pds: string, m: MediaItem) => {
    const blob = await uploadBlob(account, pds, await m.read(), m.mimeType);
    const w = m.width !== undefined ? Math.round(m.width) : 0;
    const h = m.height !== undefined ? Math.round(m.height) : 0;
    return {
      image: blob,
      alt: m.altText ?? '',
      ...(w >= 1 && h >= 1 ? { aspectRatio: { width: w, height: h } } : {}),
    };
  };

  /** The record at a strong ref: from our own PDS when it is ours, otherwise from the AppView. */
  const recordAt = async (account: AccountRef, pds: string, ref: ReturnType<typeof parseRemoteId>): Promise<Record<string, unknown> | null> => {
    if (ref.did === account.externalId) {
      const res = await send({ method: 'GET', base: pds, nsid: 'com.atproto.repo.getRecord', what: 'get_record', query: { repo: ref.did, collection: ref.collection, rkey: ref.rkey } });
      if (res.status === 400 && xrpcBody(res).error === 'RecordNotFound') return null;
      if (res.status < 200 || res.status >= 300) throw xrpcError('get_record', res, false);
      const r = read<RecordAnswer>(res, 'get_record');
      return r.value && typeof r.value === 'object' ? r.value : null;
    }
    const res = await call({ method: 'GET', base: appview, nsid: 'app.bsky.feed.getPosts', what: 'get_record', query: { uris: [ref.uri] } });
    const { posts } = read<{ posts?: { uri?: unknown; record?: Record<string, unknown> }[] }>(res, 'get_record');
    const p = Array.isArray(posts) ? posts.find((x) => x.uri === ref.uri) : undefined;
    return p?.record && typeof p.record === 'object' ? p.record : null;
  };

  /** reply.root is the parent's root when the parent is itself a reply, else the parent (https://docs.bsky.app/docs/advanced-guides/posts). */
  const replyRefs = async (account: AccountRef, pds: string, replyTo: string): Promise<{ root: StrongRef; parent: StrongRef }> => {
    const parentRef = parseRemoteId(replyTo);
    const parent = { uri: parentRef.uri, cid: parentRef.cid };
    const value = await recordAt(account, pds, parentRef);
    if (!value) {
      throw new ProviderError('permanent', `bluesky: the post being replied to (${parent.uri}) does not exist`, { provider: PROVIDER, reason: 'reply_target_missing' });
    }
    const root = (value.reply as { root?: { uri?: unknown; cid?: unknown } } | undefined)?.root;
    return { root: root && typeof root.uri === 'string' && typeof root.cid === 'string' ? { uri: root.uri, cid: root.cid } : parent, parent };
  };

  const langsOf = (o: Record<string, unknown> | undefined): string[] => {
    const raw = Array.isArray(o?.langs) ? o.langs : typeof o?.language === 'string' ? [o.language] : [];
    return raw.filter((l): l is string => typeof l === 'string' && /^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{1,8})*$/.test(l)).slice(0, 3);
  };

  const postUrl = (did: string, rkey: string) => `${web}/profile/${did}/post/${rkey}`;

  const provider: BlueskyProvider = {
    meta,

    async signIn(identifier: string, password: string, host?: string) {
      const id = identifier.trim().replace(/^@/, '');
      const login = host ? serviceUrl(host) : await loginServiceFor(id);
      const res = await send({ method: 'POST', base: login, nsid: 'com.atproto.server.createSession', what: 'sign_in', body: { identifier: id, password } });
      if (res.status === 401 || (res.status === 400 && ['AccountTakedown', 'AuthFactorTokenRequired'].includes(xrpcBody(res).error))) {
        const { error, message } = xrpcBody(res);
        const why = error === 'AuthFactorTokenRequired'
          ? 'this sign-in needs an e-mailed code; use an app password (Settings → App Passwords) instead'
          : error === 'AccountTakedown' ? 'the account has been taken down' : 'wrong handle or app password';
        throw new ProviderError('permanent', `bluesky: ${why}`, { provider: PROVIDER, status: res.status, reason: [error || 'invalid_credentials', message].filter(Boolean).join(': ') });
      }
      if (res.status < 200 || res.status >= 300) throw xrpcError('sign_in', res, false);
      const s = readSession(res, 'sign_in');
      return { tokens: toTokens(s), host: hostLabel(login) };
    },

    async refresh(account: AccountRef) {
      if (!account.tokens.refreshToken) {
        throw new ProviderError('auth_expired', 'bluesky: the account has no refresh token; sign in again', { provider: PROVIDER, reason: 'no_refresh_token' });
      }
      // The refresh JWT is the bearer; the answer rotates it (the old one keeps working for a short grace).
      const res = await call({ method: 'POST', base: serviceOf(account), nsid: 'com.atproto.server.refreshSession', what: 'oauth_refresh', token: account.tokens.refreshToken });
      const s = readSession(res, 'oauth_refresh');
      if (s.did !== account.externalId) {
        throw new ProviderError('permanent', `bluesky: the session belongs to ${s.did}, not ${account.externalId}`, { provider: PROVIDER, reason: 'different_account' });
      }
      return toTokens(s);
    },

    async revoke(account: AccountRef) {
      const token = account.tokens.refreshToken;
      if (!token) return; // nothing to end: access JWTs are not revocable and expire on their own
      const res = await send({ method: 'POST', base: serviceOf(account), nsid: 'com.atproto.server.deleteSession', what: 'oauth_revoke', token });
      if (res.status >= 200 && res.status < 300) return;
      // An expired or unknown refresh token means the session is already over.
      if (['ExpiredToken', 'InvalidToken'].includes(xrpcBody(res).error)) return;
      throw xrpcError('oauth_revoke', res, false);
    },

    async identities(tokens: TokenSet, host?: string): Promise<ConnectedIdentity[]> {
      const base = host ? serviceUrl(host) : service;
      const res = await call({ method: 'GET', base, nsid: 'com.atproto.server.getSession', what: 'profile', token: tokens.accessToken });
      const s = read<Session>(res, 'profile');
      if (typeof s.did !== 'string' || typeof s.handle !== 'string') throw malformed(PROVIDER, 'profile', false);
      if (s.active === false) {
        throw new ProviderError('permanent', `bluesky: the account is ${typeof s.status === 'string' ? s.status : 'not active'}`, { provider: PROVIDER, reason: 'inactive_account' });
      }
      const pds = pdsOf(s.didDoc) ?? pdsOf(await didDocument(s.did)) ?? base;
      // The display name is in the account's own profile record; a new account may have none.
      const prof = await send({ method: 'GET', base: pds, nsid: 'com.atproto.repo.getRecord', what: 'profile', query: { repo: s.did, collection: 'app.bsky.actor.profile', rkey: 'self' } });
      let displayName = s.handle;
      if (prof.status >= 200 && prof.status < 300) {
        const name = read<RecordAnswer>(prof, 'profile').value?.displayName;
        if (typeof name === 'string' && name.trim()) displayName = name;
      } else if (!(prof.status === 400 && xrpcBody(prof).error === 'RecordNotFound')) {
        throw xrpcError('profile', prof, false);
      }
      return [{
        externalId: s.did, kind: 'person', username: s.handle, displayName, profileUrl: `${web}/profile/${s.did}`,
        data: { did: s.did, handle: s.handle, pds, service: base },
      }];
    },

    async publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost> {
      const did = account.externalId;
      const pds = pdsFor(account);
      const tooLong = blueskyTextProblem(post.text);
      if (tooLong) throw new ProviderError('permanent', `bluesky: ${tooLong}`, { provider: PROVIDER, reason: 'text_too_long' });
      if (post.media.length > meta.limits.media.maxCount) {
        throw new ProviderError('permanent', `bluesky: a post holds at most ${meta.limits.media.maxCount} images`, { provider: PROVIDER, reason: 'too_many_media' });
      }
      for (const m of post.media) {
        if (!meta.limits.media.imageTypes.includes(m.mimeType)) {
          throw new ProviderError('permanent', `bluesky: ${m.mimeType} cannot be attached (images only: ${meta.limits.media.imageTypes.join(', ')})`, { provider: PROVIDER, reason: 'unsupported_media' });
        }
        if (m.bytes > MAX_IMAGE_BYTES) {
          throw new ProviderError('permanent', `bluesky: an image may be at most ${MAX_IMAGE_BYTES} bytes (this one is ${m.bytes})`, { provider: PROVIDER, reason: 'media_too_large' });
        }
      }
      const facets = await facetsFor(post.text);
      const reply = post.replyTo ? await replyRefs(account, pds, post.replyTo) : undefined;
      // A post without images shows its first link as a card, which the poster builds (docs.bsky.app/docs/advanced-guides/posts#website-card-embeds).
      const link = post.media.length === 0 && post.options?.linkCard !== false && deps.linkCards
        ? facets.flatMap((f) => f.features).find((f) => f.$type === 'app.bsky.richtext.facet#link') : undefined;
      const card = link ? await deps.linkCards!.card((link as { uri: string }).uri) : null;
      // Uploaded last: unreferenced blobs are garbage-collected soon, so the record follows at once.
      const images: Awaited<ReturnType<typeof uploadImage>>[] = [];
      for (const m of post.media) images.push(await uploadImage(account, pds, m));
      const thumb = card?.thumb ? await uploadBlob(account, pds, card.thumb.bytes, card.thumb.mimeType) : undefined;
      const external = card ? { $type: 'app.bsky.embed.external', external: { uri: card.uri, title: card.title, description: card.description, ...(thumb ? { thumb } : {}) } } : undefined;
      const langs = langsOf(post.options);
      const record = {
        $type: POST,
        text: post.text,
        createdAt: new Date().toISOString(),
        ...(langs.length ? { langs } : {}),
        ...(facets.length ? { facets } : {}),
        ...(images.length ? { embed: { $type: 'app.bsky.embed.images', images } } : external ? { embed: external } : {}),
        ...(reply ? { reply } : {}),
        [MARKER_FIELD]: markerHash(post.marker),
      };
      const res = await call({
        method: 'POST', base: pds, nsid: 'com.atproto.repo.createRecord', what: 'publish', creates: true, token: account.tokens.accessToken,
        body: { repo: did, collection: POST, record },
      });
      const created = read<{ uri?: unknown; cid?: unknown }>(res, 'publish', true);
      let ref: ReturnType<typeof parseRemoteId>;
      try {
        ref = parseRemoteId(toRemoteId({ uri: String(created.uri ?? ''), cid: String(created.cid ?? '') }));
      } catch {
        throw malformed(PROVIDER, 'publish', true);
      }
      return { remoteId: toRemoteId(ref), url: postUrl(ref.did, ref.rkey) };
    },

    async findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null> {
      const want = markerHash(marker);
      const pds = pdsFor(account);
      // Record keys are TIDs made from the PDS's clock: allow for skew against ours.
      const oldest = since.getTime() - 10 * 60_000;
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await call({
          method: 'GET', base: pds, nsid: 'com.atproto.repo.listRecords', what: 'find_post',
          query: { repo: account.externalId, collection: POST, limit: '100', cursor },
        });
        const body = read<{ records?: RecordAnswer[]; cursor?: unknown }>(res, 'find_post');
        const records = Array.isArray(body.records) ? body.records : [];
        for (const r of records) {
          if (typeof r.uri !== 'string' || typeof r.cid !== 'string') continue;
          if (r.value?.[MARKER_FIELD] === want) {
            const ref = parseRemoteId(toRemoteId({ uri: r.uri, cid: r.cid }));
            return { remoteId: toRemoteId(ref), url: postUrl(ref.did, ref.rkey) };
          }
          const rkey = r.uri.slice(r.uri.lastIndexOf('/') + 1);
          const at = tidTime(rkey) ?? Date.parse(String(r.value?.createdAt ?? ''));
          if (at < oldest) return null; // newest first: everything further is older than the attempt
        }
        if (records.length === 0 || typeof body.cursor !== 'string' || !body.cursor) return null;
        cursor = body.cursor;
      }
      throw new ProviderError('permanent', 'bluesky: over 2,000 posts since the attempt; whether this one was published cannot be told', { provider: PROVIDER, reason: 'cannot_reconcile' });
    },

    async metrics(account: AccountRef, remoteId: string): Promise<PostMetrics> {
      const ref = parseRemoteId(remoteId);
      // Counts live in the AppView, not the PDS (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts); the public one needs no session.
      const res = await call({ method: 'GET', base: appview, nsid: 'app.bsky.feed.getPosts', what: 'metrics', query: { uris: [ref.uri] } });
      const { posts } = read<{ posts?: { uri?: unknown; likeCount?: unknown; repostCount?: unknown; replyCount?: unknown }[] }>(res, 'metrics');
      const p = Array.isArray(posts) ? posts.find((x) => x.uri === ref.uri) : undefined;
      if (!p) {
        if (await recordAt(account, pdsFor(account), ref)) {
          throw new ProviderError('transient', 'bluesky: the post is not in the AppView yet', { provider: PROVIDER, reason: 'not_indexed' });
        }
        throw new ProviderError('permanent', 'bluesky: the post no longer exists', { provider: PROVIDER, reason: 'deleted' });
      }
      return postMetrics({ likes: p.likeCount, reposts: p.repostCount, replies: p.replyCount });
    },

    async deletePost(account: AccountRef, remoteId: string) {
      const ref = parseRemoteId(remoteId);
      await call({
        method: 'POST', base: pdsFor(account), nsid: 'com.atproto.repo.deleteRecord', what: 'delete_post', token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: ref.collection, rkey: ref.rkey },
      });
    },
  };
  return provider;
}
