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
import { createHash } from 'node:crypto';
import twitter from 'twitter-text';
import type { HttpResponse } from '../infra/http/client.ts';
import { bodySnippet, malformed, transportError } from './errors.ts';
import { parseJson, readJson, redactSecrets } from './http.ts';
import { blueskyTextProblem, graphemeLength, utf8Length } from './text.ts';
import {
  ProviderError, type AccountRef, type ConnectedIdentity, type MediaItem, type PostMetrics, type Provider, type ProviderDeps,
  type ProviderMetadata, type PublishRequest, type PublishedPost, type TokenSet,
} from './types.ts';
import { postMetrics } from './post-metrics.ts';

const PROVIDER = 'bluesky';
const POST = 'app.bsky.feed.post';
/**
 * Lexicon maxSize of an image blob: 1,000,000 bytes in the docs; raised to 2,000,000 in the atproto
 * repository in 2026, which is UNCONFIRMED for every PDS and AppView (docs/NETWORKS.md, Network facts: Bluesky), so the safe value.
 */
const MAX_IMAGE_BYTES = 1_000_000;
/**
 * Extra field on AllIN's post records holding a hash of the publish marker, so that a post whose
 * creation got no answer can be found again with listRecords. Lexicon data objects are open: fields a
 * schema does not name are ignored by validators (atproto.com/specs/lexicon), as other clients'
 * extension fields are. A hash rather than the marker, so nothing internal is published.
 */
export const MARKER_FIELD = 'allinMarker';

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

/** A strong reference to a record: what a reply needs of its parent and root. */
export interface StrongRef { uri: string; cid: string }

/** remoteId = "<at-uri>|<cid>": a later reply needs both. */
export function toRemoteId(ref: StrongRef): string {
  return `${ref.uri}|${ref.cid}`;
}

export function parseRemoteId(remoteId: string): StrongRef & { did: string; collection: string; rkey: string } {
  const [uri = '', cid = ''] = remoteId.split('|');
  const m = /^at:\/\/(did:[a-z]+:[a-zA-Z0-9._:%-]+)\/([a-zA-Z0-9.-]+)\/([a-zA-Z0-9._~:-]{1,512})$/.exec(uri);
  if (!m || !cid) throw new ProviderError('permanent', `bluesky: "${remoteId.slice(0, 200)}" is not a post reference (at-uri|cid)`, { provider: PROVIDER, reason: 'invalid_remote_id' });
  return { uri, cid, did: m[1]!, collection: m[2]!, rkey: m[3]! };
}

// ---------------------------------------------------------------------------------------------------
// Rich text facets (https://docs.bsky.app/docs/advanced-guides/post-richtext): byte offsets are UTF-8, start inclusive, end exclusive, no overlaps.

export type FacetFeature =
  | { $type: 'app.bsky.richtext.facet#link'; uri: string }
  | { $type: 'app.bsky.richtext.facet#mention'; did: string }
  | { $type: 'app.bsky.richtext.facet#tag'; tag: string };
export interface Facet { index: { byteStart: number; byteEnd: number }; features: FacetFeature[] }

/** What detectFacets finds; mentions still carry the handle, to be resolved to a DID. */
export interface DetectedFacet {
  byteStart: number;
  byteEnd: number;
  kind: 'link' | 'mention' | 'tag';
  /** The URL (scheme added to bare domains), the handle (no @), or the tag (no #). */
  value: string;
}

/** atproto handle syntax (atproto.com/specs/handle): DNS labels, at least two, the last starting with a letter. */
const HANDLE_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
export const isHandle = (s: string) => s.length <= 253 && HANDLE_RE.test(s);

// Characters that end a hashtag besides whitespace: soft hyphen, word joiner, hair/zero-width spaces,
// ZWNJ, ZWJ, combining enclosing keycap (as Bluesky's own detection treats them).
const TAG_STOP = new Set([0x00ad, 0x2060, 0x200a, 0x200b, 0x200c, 0x200d, 0x20e2]);
const endsTag = (ch: string) => TAG_STOP.has(ch.codePointAt(0)!) || /\s/u.test(ch);

/**
 * Finds links, mentions and hashtags the way Bluesky's app does (docs.bsky.app/docs/advanced-guides/post-richtext): links with http(s)
 * anywhere after whitespace or "(", bare domains with a known TLD (twitter-text's list) turned into
 * https URLs, trailing punctuation left out; mentions "@handle"; hashtags "#tag" (or the full-width
 * "＃") after whitespace, not only digits and punctuation, at most 64 graphemes.
 */
export function detectFacets(text: string): DetectedFacet[] {
  const found: { start: number; end: number; kind: DetectedFacet['kind']; value: string }[] = [];

  for (const m of text.matchAll(/(^|[\s(])(https?:\/\/\S+)/giu)) {
    const start = m.index + m[1]!.length;
    let uri = m[2]!;
    // Trailing sentence punctuation and an unbalanced closing parenthesis are not part of the link.
    for (;;) {
      if (/[.,;:!?"'»”’]$/u.test(uri)) uri = uri.slice(0, -1);
      else if (uri.endsWith(')') && (uri.match(/\(/g)?.length ?? 0) < (uri.match(/\)/g)?.length ?? 0)) uri = uri.slice(0, -1);
      else break;
    }
    if (!URL.canParse(uri)) continue;
    found.push({ start, end: start + uri.length, kind: 'link', value: uri });
  }
  for (const u of twitter.extractUrlsWithIndices(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(u.url)) continue; // with a scheme: handled above
    const before = u.indices[0] > 0 ? text[u.indices[0] - 1]! : ' ';
    if (!/[\s(]/u.test(before)) continue;
    found.push({ start: u.indices[0], end: u.indices[1], kind: 'link', value: `https://${u.url}` });
  }
  for (const m of text.matchAll(/(^|[\s(])@([a-zA-Z0-9.-]+)/gu)) {
    const handle = m[2]!.replace(/[.-]+$/, '');
    if (!isHandle(handle)) continue;
    const start = m.index + m[1]!.length;
    found.push({ start, end: start + 1 + handle.length, kind: 'mention', value: handle });
  }
  for (const m of text.matchAll(/(^|\s)[#＃]/gu)) {
    const start = m.index + m[1]!.length;
    let end = start + 1;
    while (end < text.length) {
      const ch = String.fromCodePoint(text.codePointAt(end)!);
      if (endsTag(ch)) break;
      end += ch.length;
    }
    const tag = text.slice(start + 1, end).replace(/\p{P}+$/u, '');
    if (!tag || tag.startsWith('\uFE0F') || /^[\d\p{P}]+$/u.test(tag)) continue;
    if (graphemeLength(tag) > 64 || utf8Length(tag) > 640) continue;
    found.push({ start, end: start + 1 + tag.length, kind: 'tag', value: tag });
  }

  // Facets must not overlap: keep the earliest (a link before a mention or tag starting at the same place).
  const order = { link: 0, mention: 1, tag: 2 };
  found.sort((a, b) => a.start - b.start || order[a.kind] - order[b.kind]);
  const out: DetectedFacet[] = [];
  let until = 0;
  for (const f of found) {
    if (f.start < until) continue;
    out.push({ byteStart: utf8Length(text.slice(0, f.start)), byteEnd: utf8Length(text.slice(0, f.end)), kind: f.kind, value: f.value });
    until = f.end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

/** A TID record key's time (53-bit microseconds since the epoch, then 10 bits of clock id), or null. */
export function tidTime(rkey: string): number | null {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz';
  if (!/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/.test(rkey)) return null;
  let v = 0n;
  for (const c of rkey) v = v * 32n + BigInt(alphabet.indexOf(c));
  return Number((v >> 10n) / 1000n);
}

export function markerHash(marker: string): string {
  return createHash('sha256').update(marker).digest('base64url').slice(0, 22);
}

function jwtClaims(token: string): { exp?: number; scope?: string } {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown; scope?: unknown };
    return { ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}), ...(typeof payload.scope === 'string' ? { scope: payload.scope } : {}) };
  } catch {
    return {};
  }
}

/** Session tokens; lifetimes come from the JWTs themselves (PDS defaults: access 2 h, refresh 90 days). */
function toTokens(s: { accessJwt: string; refreshJwt: string }): TokenSet {
  const access = jwtClaims(s.accessJwt);
  const refresh = jwtClaims(s.refreshJwt);
  return {
    accessToken: s.accessJwt,
    refreshToken: s.refreshJwt,
    ...(access.exp ? { expiresAt: new Date(access.exp * 1000) } : {}),
    ...(refresh.exp ? { refreshExpiresAt: new Date(refresh.exp * 1000) } : {}),
    // com.atproto.appPass for an app password, com.atproto.access for the account's main password.
    ...(access.scope ? { scope: [access.scope] } : {}),
  };
}

/** Seconds in Retry-After, or RateLimit-Reset as epoch seconds (https://docs.bsky.app/docs/advanced-guides/rate-limits). */
function retryAfter(headers: Record<string, string>): number | undefined {
  const ra = Number(headers['retry-after']);
  if (Number.isFinite(ra) && headers['retry-after'] !== undefined) return Math.max(0, ra * 1000);
  const reset = Number(headers['ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 1e9) return Math.max(0, reset * 1000 - Date.now());
  return undefined;
}

function xrpcBody(res: HttpResponse): { error: string; message: string } {
  const b = parseJson(res) as { error?: unknown; message?: unknown } | null | undefined;
  return { error: typeof b?.error === 'string' ? b.error : '', message: typeof b?.message === 'string' ? b.message : '' };
}

/**
 * An XRPC error as a ProviderError. ExpiredToken and InvalidToken come as HTTP 400, not 401 (docs/NETWORKS.md, Network facts: Bluesky). A
 * 5xx to a creating call may have been committed behind a gateway, so it is an unknown outcome.
 */
function xrpcError(what: string, res: HttpResponse, creates: boolean): ProviderError {
  const { error, message } = xrpcBody(res);
  const reason = redactSecrets([error, message].filter(Boolean).join(': ')).slice(0, 300) || bodySnippet(res);
  const details = { provider: PROVIDER, status: res.status, reason };
  if (error === 'ExpiredToken' || error === 'InvalidToken' || res.status === 401) {
    return new ProviderError('auth_expired', `bluesky: ${what} refused the session (${reason})`, details);
  }
  if (res.status === 429) {
    const wait = retryAfter(res.headers);
    return new ProviderError('rate_limited', `bluesky: ${what} is rate limited`, { ...details, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status >= 500) {
    return creates
      ? new ProviderError('unknown_outcome', `bluesky: ${what} failed on the server (${res.status}); the record may have been written`, details)
      : new ProviderError('transient', `bluesky: ${what} failed on the network's side (${res.status})`, details);
  }
  return new ProviderError('permanent', `bluesky: ${what} was refused (${reason})`, details);
}

interface XrpcCall {
  method: 'GET' | 'POST';
  base: string;
  nsid: string;
  what: string;
  creates?: boolean;
  token?: string;
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Carries file bytes: the client's media deadline. */
  media?: boolean;
}

interface Session { accessJwt?: unknown; refreshJwt?: unknown; did?: unknown; handle?: unknown; didDoc?: unknown; active?: unknown; status?: unknown }
interface RecordAnswer { uri?: unknown; cid?: unknown; value?: Record<string, unknown> }

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
