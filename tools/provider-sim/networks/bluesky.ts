// Bluesky / AT Protocol, as AllIN's adapter uses it (docs/NETWORKS.md, Network facts: Bluesky). Under /bluesky:
//   (root)         the entryway (like bsky.social): sessions and handle resolution for accounts it hosts
//   /pds           the PDS of those accounts: sessions, handle resolution and the repository
//   /selfhosted    a self-hosted PDS, announced in DID documents as http://localhost:PORT/…, i.e. on
//                  another host than the entryway (a PDS the user runs)
//   /plc/:did      a PLC directory (DID documents)
//   /appview       app.bsky.feed.getPosts (metrics), app.bsky.actor.getProfile (account counts, growing over time;
//                  without them when the profileCountsOmitted knob is on, as the lexicon allows)
// XRPC under each: /xrpc/com.atproto.server.{createSession,refreshSession,getSession,deleteSession},
// com.atproto.identity.resolveHandle, com.atproto.repo.{uploadBlob,createRecord,putRecord,getRecord,listRecords,
// deleteRecord}. Errors are {error, message}; ExpiredToken/InvalidToken are HTTP 400 as on a real PDS.
// The PDSes also answer, with the session, the AppView reads the inbox makes (as a PDS proxies app.bsky.*):
// app.bsky.notification.listNotifications (reply, mention and quote notifications made from the posts,
// newest first), app.bsky.feed.getAuthorFeed and app.bsky.feed.getPostThread (a deleted post that still has
// replies shows as notFoundPost; one whose author and the viewer are blocked, `blueskyBlock`, as
// blockedPost). Those three reads spend only the inbox knobs: inboxRateLimitAfter (a 429 with the
// RateLimit-* headers, once), inboxExpireTokensAfter (every access JWT expires) and inboxPageSize.
// Signing in at the entryway (or a PDS) with an unknown handle creates the account with that password,
// so `allin sim` works with any handle; tests create accounts with `blueskyAccount(state, …)`.
// app.bsky.feed.post records are validated as the lexicon says (300 graphemes and 3,000 UTF-8 bytes of text,
// ≤ 4 images of ≤ 1,000,000 bytes with alt text, facets, reply strong refs, ≤ 3 langs) and kept in state.posts
// (id = at-uri, key = the record's allinMarker). Likes (app.bsky.feed.like: a subject strong ref) and threadgates
// (app.bsky.feed.threadgate: at the rkey of the account's own post, hiddenReplies ≤ 300) are kept apart, in the
// world's records; com.atproto.repo.putRecord writes those two with swapRecord compare-and-swap (InvalidSwap).
// The PDS-proxied getPosts shows the session's like as viewer.like.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { simAudience, type ErrorStyle, type NetworkState, type SimNetworkContext, type SimPost, type SimToken } from '../core.ts';
import { graphemeLength } from '../../../src/providers/text.ts';

export interface SimBlueskyAccount {
  did: string;
  handle: string;
  password: string;
  email: string;
  /** bsky: hosted by the entryway's PDS; selfhosted: the /selfhosted PDS; or any PDS URL (a DID document only). */
  home: 'bsky' | 'selfhosted' | string;
  displayName?: string;
}

interface World {
  accounts: Map<string, SimBlueskyAccount>; // by DID
  /** Deleted posts, by at-uri: what they answered (a thread shows one that still has replies as notFoundPost). */
  deleted: Map<string, { parent?: string }>;
  /** Blocks, as "blocker|blocked". */
  blocks: Set<string>;
  /** A rotated refresh token stays usable for a grace period, answering with its successor. */
  grace: Map<string, { successor: string; until: number }>;
  /** Likes and threadgates, by at-uri. */
  records: Map<string, SimRecord>;
  lastTid: number;
}
interface SimRecord { did: string; collection: string; rkey: string; cid: string; value: Record<string, unknown> }
const LIKE = 'app.bsky.feed.like';
const THREADGATE = 'app.bsky.feed.threadgate';
const worlds = new WeakMap<NetworkState, World>();
function world(state: NetworkState): World {
  let w = worlds.get(state);
  if (!w) {
    w = { accounts: new Map(), deleted: new Map(), blocks: new Set(), grace: new Map(), records: new Map(), lastTid: 0 };
    worlds.set(state, w);
  }
  return w;
}

/** Creates (or returns) an account. */
export function blueskyAccount(state: NetworkState, opts: { handle: string; password: string; home?: SimBlueskyAccount['home']; displayName?: string }): SimBlueskyAccount {
  const w = world(state);
  const existing = [...w.accounts.values()].find((a) => a.handle === opts.handle.toLowerCase());
  if (existing) return existing;
  const did = `did:plc:${createHash('sha256').update(opts.handle.toLowerCase()).digest('hex').slice(0, 24).replace(/[0-1]/g, 'a').replace(/[8-9]/g, 'b')}`;
  const a: SimBlueskyAccount = {
    did, handle: opts.handle.toLowerCase(), password: opts.password, email: `${opts.handle.toLowerCase()}@mail.test`, home: opts.home ?? 'bsky',
    ...(opts.displayName ? { displayName: opts.displayName } : {}),
  };
  w.accounts.set(did, a);
  state.users.set(did, { id: did, username: a.handle, name: opts.displayName ?? a.handle });
  return a;
}

/** `blocker` blocks `blocked` (by DID): their posts are withheld from each other in threads. */
export function blueskyBlock(state: NetworkState, blocker: string, blocked: string): void {
  world(state).blocks.add(`${blocker}|${blocked}`);
}

const HANDLE_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const TID_CHARS = '234567abcdefghijklmnopqrstuvwxyz';
const MAX_IMAGE_BYTES = 1_000_000;
const MAX_BLOB_BYTES = 50 * 1024 * 1024;
const GRACE_MS = 2 * 3600_000;

const b32 = (buf: Buffer) => {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += 'abcdefghijklmnopqrstuvwxyz234567'[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += 'abcdefghijklmnopqrstuvwxyz234567'[(value << (5 - bits)) & 31];
  return out;
};
const cidOf = (prefix: string, data: Buffer | string) => prefix + b32(createHash('sha256').update(data).digest());

const style: ErrorStyle = {
  rateLimited: (s) => ({
    status: 429,
    headers: { 'ratelimit-limit': '3000', 'ratelimit-remaining': '0', 'ratelimit-reset': String(Math.ceil(Date.now() / 1000) + s), 'ratelimit-policy': '3000;w=300' },
    body: { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
  }),
  serverError: () => ({ status: 500, body: { error: 'InternalServerError', message: 'Internal Server Error' } }),
};

type Location = 'entryway' | 'pds' | 'selfhosted';

export function registerBluesky(ctx: SimNetworkContext): void {
  const { app, state } = ctx;
  const w = world(state);

  const pdsUrl = (a: SimBlueskyAccount): string => {
    if (a.home === 'bsky') return ctx.url('/pds');
    if (a.home === 'selfhosted') {
      const u = new URL(ctx.url('/selfhosted'));
      u.hostname = 'localhost';
      return u.toString().replace(/\/$/, '');
    }
    return a.home;
  };
  const didDoc = (a: SimBlueskyAccount) => ({
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: a.did, alsoKnownAs: [`at://${a.handle}`],
    verificationMethod: [{ id: `${a.did}#atproto`, type: 'Multikey', controller: a.did, publicKeyMultibase: 'zQ3shSimulatedKey' }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: pdsUrl(a) }],
  });
  const served = (loc: Location, a: SimBlueskyAccount) => (loc === 'selfhosted' ? a.home === 'selfhosted' : a.home === 'bsky');
  const byHandle = (h: string) => [...w.accounts.values()].find((a) => a.handle === h.toLowerCase().replace(/^@/, ''));
  const byRepo = (repo: string) => (repo.startsWith('did:') ? w.accounts.get(repo) : byHandle(repo));

  const xerr = (reply: FastifyReply, status: number, error: string, message: string) => reply.status(status).send({ error, message });

  const jwt = (claims: Record<string, unknown>) => [
    Buffer.from(JSON.stringify({ typ: claims.scope === 'com.atproto.refresh' ? 'refresh+jwt' : 'at+jwt', alg: 'HS256' })).toString('base64url'),
    Buffer.from(JSON.stringify(claims)).toString('base64url'),
    randomBytes(32).toString('base64url'),
  ].join('.');

  /** A new session: access JWT (knob lifetime) and refresh JWT (90 days), stored in the shared token maps. */
  const issue = (did: string, refreshJwt?: string): SimToken => {
    const now = Math.floor(Date.now() / 1000);
    const ttl = state.knobs.accessTokenTtlSeconds;
    const t: SimToken = {
      accessToken: jwt({ scope: 'com.atproto.appPass', sub: did, aud: 'did:web:pds.sim', iat: now, exp: now + ttl }),
      refreshToken: refreshJwt ?? jwt({ scope: 'com.atproto.refresh', sub: did, aud: 'did:web:pds.sim', iat: now, exp: now + 90 * 86400, jti: randomBytes(12).toString('base64url') }),
      userId: did, expiresAt: Date.now() + ttl * 1000, scope: ['com.atproto.appPass'], revoked: false,
    };
    state.tokens.set(t.accessToken, t);
    state.refresh.set(t.refreshToken, t);
    return t;
  };
  const sessionJson = (a: SimBlueskyAccount, t: SimToken) => ({
    accessJwt: t.accessToken, refreshJwt: t.refreshToken, handle: a.handle, did: a.did, didDoc: didDoc(a), email: a.email, emailConfirmed: true, active: true,
  });

  const bearerToken = (req: FastifyRequest) => /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  /** The session of an access JWT; answers the XRPC error itself when there is none. */
  const auth = (req: FastifyRequest, reply: FastifyReply): { t: SimToken; a: SimBlueskyAccount } | null => {
    const t = state.bearer(req);
    const a = typeof t === 'string' ? undefined : w.accounts.get(t.userId);
    if (typeof t !== 'string' && a) return { t, a };
    if (t === 'missing') xerr(reply, 401, 'AuthMissing', 'Authentication Required');
    else if (t === 'expired') xerr(reply, 400, 'ExpiredToken', 'Token has expired');
    else xerr(reply, 400, 'InvalidToken', 'Token could not be verified');
    return null;
  };

  const nextTid = (): string => {
    let ts = Date.now() * 1000;
    if (ts <= w.lastTid) ts = w.lastTid + 1;
    w.lastTid = ts;
    let v = (BigInt(ts) << 10n) | BigInt(Math.floor(Math.random() * 1024));
    let out = '';
    for (let i = 0; i < 13; i++) {
      out = TID_CHARS[Number(v & 31n)] + out;
      v >>= 5n;
    }
    return out;
  };

  const rkeyOf = (p: SimPost) => (p.raw as { rkey: string }).rkey;
  const recordsOf = (did: string, collection: string) =>
    state.posts.filter((p) => p.userId === did && p.id.startsWith(`at://${did}/${collection}/`)).sort((x, y) => (rkeyOf(x) < rkeyOf(y) ? 1 : -1));
  const recordJson = (p: SimPost) => ({ uri: p.id, cid: (p.raw as { cid: string }).cid, value: (p.raw as { record: unknown }).record });

  /** Lexicon validation of an app.bsky.feed.post record; the message as the PDS words it, or null. */
  const invalidPost = (r: Record<string, unknown>, did: string): string | null => {
    const bad = (m: string) => `Invalid app.bsky.feed.post record: ${m}`;
    if (typeof r.text !== 'string') return bad('Record must have the property "text"');
    if (graphemeLength(r.text) > 300) return bad('Record/text must not be longer than 300 graphemes');
    if (Buffer.byteLength(r.text, 'utf8') > 3000) return bad('Record/text must not be longer than 3000 characters');
    if (typeof r.createdAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(r.createdAt) || !Number.isFinite(Date.parse(r.createdAt))) {
      return bad('Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)');
    }
    if (r.langs !== undefined) {
      if (!Array.isArray(r.langs) || r.langs.some((l) => typeof l !== 'string')) return bad('Record/langs must be an array of strings');
      if (r.langs.length > 3) return bad('Record/langs must not have more than 3 elements');
    }
    if (r.facets !== undefined) {
      if (!Array.isArray(r.facets)) return bad('Record/facets must be an array');
      for (const [i, f] of (r.facets as { index?: { byteStart?: unknown; byteEnd?: unknown }; features?: unknown }[]).entries()) {
        const at = `Record/facets/${i}`;
        const okInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
        if (!f?.index || !okInt(f.index.byteStart) || !okInt(f.index.byteEnd)) return bad(`${at}/index must have integer byteStart and byteEnd ≥ 0`);
        if (!Array.isArray(f.features)) return bad(`${at} must have the property "features"`);
        for (const feat of f.features as Record<string, unknown>[]) {
          if (feat.$type === 'app.bsky.richtext.facet#mention' && !(typeof feat.did === 'string' && /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(feat.did))) return bad(`${at}/features/0/did must be a valid did`);
          if (feat.$type === 'app.bsky.richtext.facet#link' && !(typeof feat.uri === 'string' && /^[a-z][a-z0-9+.-]*:\S+$/i.test(feat.uri))) return bad(`${at}/features/0/uri must be a uri`);
          if (feat.$type === 'app.bsky.richtext.facet#tag' && !(typeof feat.tag === 'string' && feat.tag.length > 0 && graphemeLength(feat.tag) <= 64 && Buffer.byteLength(feat.tag) <= 640)) {
            return bad(`${at}/features/0/tag must not be longer than 64 graphemes`);
          }
        }
      }
    }
    if (r.reply !== undefined) {
      const ref = (x: unknown) => !!x && typeof (x as { uri?: unknown }).uri === 'string' && /^at:\/\//.test((x as { uri: string }).uri) && typeof (x as { cid?: unknown }).cid === 'string';
      const reply = r.reply as { root?: unknown; parent?: unknown };
      if (!ref(reply.root)) return bad('Record/reply/root must be a strongRef with uri and cid');
      if (!ref(reply.parent)) return bad('Record/reply/parent must be a strongRef with uri and cid');
    }
    const blobProblem = (at: string, ref: { $type?: unknown; ref?: { $link?: unknown } } | undefined): string | null => {
      const cid = ref?.ref?.$link;
      if (ref?.$type !== 'blob' || typeof cid !== 'string') return bad(`${at} should be a blob ref`);
      const blob = state.media.get(cid);
      if (!blob || blob.userId !== did) return `Could not find blob: ${cid}`;
      if (!blob.mimeType.startsWith('image/')) return bad(`${at} mime type not accepted: ${blob.mimeType}`);
      if (blob.bytes > MAX_IMAGE_BYTES) return bad(`${at} file too big (max ${MAX_IMAGE_BYTES} bytes)`);
      return null;
    };
    if (r.embed !== undefined && (r.embed as { $type?: unknown }).$type === 'app.bsky.embed.external') {
      // app.bsky.embed.external: uri, title and description required (may be empty), thumb an image blob.
      const e = (r.embed as { external?: { uri?: unknown; title?: unknown; description?: unknown; thumb?: { $type?: unknown; ref?: { $link?: unknown } } } }).external;
      if (!e || typeof e !== 'object') return bad('Record/embed must have the property "external"');
      if (typeof e.uri !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(e.uri)) return bad('Record/embed/external/uri must be a uri');
      if (typeof e.title !== 'string') return bad('Record/embed/external must have the property "title"');
      if (typeof e.description !== 'string') return bad('Record/embed/external must have the property "description"');
      if (e.thumb !== undefined) return blobProblem('Record/embed/external/thumb', e.thumb);
    } else if (r.embed !== undefined && (r.embed as { $type?: unknown }).$type === 'app.bsky.embed.record') {
      // A quote: app.bsky.embed.record names the quoted record by a strong ref.
      const q = (r.embed as { record?: { uri?: unknown; cid?: unknown } }).record;
      if (!q || typeof q.uri !== 'string' || !/^at:\/\//.test(q.uri) || typeof q.cid !== 'string') return bad('Record/embed/record must be a strongRef with uri and cid');
    } else if (r.embed !== undefined) {
      const e = r.embed as { $type?: unknown; images?: unknown };
      if (e.$type !== 'app.bsky.embed.images') return bad(`Record/embed $type ${String(e.$type)} is not supported by this simulator`);
      if (!Array.isArray(e.images) || e.images.length === 0) return bad('Record/embed/images must be a non-empty array');
      if (e.images.length > 4) return bad('Record/embed/images must not have more than 4 elements');
      for (const [i, img] of (e.images as { image?: { $type?: unknown; ref?: { $link?: unknown }; mimeType?: unknown; size?: unknown }; alt?: unknown; aspectRatio?: { width?: unknown; height?: unknown } }[]).entries()) {
        const at = `Record/embed/images/${i}`;
        if (typeof img.alt !== 'string') return bad(`${at} must have the property "alt"`);
        const problem = blobProblem(`${at}/image`, img.image);
        if (problem) return problem;
        if (img.aspectRatio !== undefined) {
          const { width, height } = img.aspectRatio;
          if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) < 1 || (height as number) < 1) return bad(`${at}/aspectRatio must have integer width and height ≥ 1`);
        }
      }
    }
    return null;
  };

  const isAtUri = (v: unknown): v is string => typeof v === 'string' && /^at:\/\/did:[a-z]+:[a-zA-Z0-9._:%-]+\/[a-zA-Z0-9.-]+\/[a-zA-Z0-9._~:-]{1,512}$/.test(v);
  /** Lexicon validation of a like or threadgate record at `rkey` of `did`'s repository; the message, or null. */
  const invalidOther = (collection: string, r: Record<string, unknown>, did: string, rkey: string): string | null => {
    const bad = (m: string) => `Invalid ${collection} record: ${m}`;
    if (typeof r.createdAt !== 'string' || !Number.isFinite(Date.parse(r.createdAt))) return bad('Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)');
    if (collection === LIKE) {
      const sub = r.subject as { uri?: unknown; cid?: unknown } | undefined;
      return sub && isAtUri(sub.uri) && typeof sub.cid === 'string' ? null : bad('Record/subject must be a strongRef with uri and cid');
    }
    // The lexicon: the threadgate's rkey is its root post's, in the same repository. The AppView ignores one
    // that is not; the simulator refuses it, so that such a mistake shows in tests.
    if (r.post !== `at://${did}/app.bsky.feed.post/${rkey}`) return bad('Record/post must be the at-uri of the post with the same rkey in this repository');
    if (r.allow !== undefined && !Array.isArray(r.allow)) return bad('Record/allow must be an array');
    if (r.hiddenReplies !== undefined) {
      if (!Array.isArray(r.hiddenReplies) || r.hiddenReplies.some((u) => !isAtUri(u))) return bad('Record/hiddenReplies must be an array of at-uris');
      if (r.hiddenReplies.length > 300) return bad('Record/hiddenReplies must not have more than 300 elements');
    }
    return null;
  };
  /** createRecord (put: false) or putRecord (put: true) of a like or threadgate, answered as the PDS does. */
  const writeOther = async (reply: FastifyReply, did: string, b: { collection?: unknown; rkey?: unknown; record?: unknown; swapRecord?: unknown }, put: boolean) => {
    const collection = String(b.collection);
    const record = b.record as Record<string, unknown> | undefined;
    if (!record || typeof record !== 'object') return xerr(reply, 400, 'InvalidRequest', 'Input must have the property "record"');
    if (record.$type !== collection) return xerr(reply, 400, 'InvalidRequest', `Invalid $type: expected ${collection}, got ${String(record.$type)}`);
    if (put && typeof b.rkey !== 'string') return xerr(reply, 400, 'InvalidRequest', 'Input must have the property "rkey"');
    if (b.rkey !== undefined && (typeof b.rkey !== 'string' || !/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/.test(b.rkey))) return xerr(reply, 400, 'InvalidRequest', 'Invalid rkey: expected a TID');
    const rkey = typeof b.rkey === 'string' ? b.rkey : nextTid();
    const problem = invalidOther(collection, record, did, rkey);
    if (problem) return xerr(reply, 400, 'InvalidRequest', problem);
    const uri = `at://${did}/${collection}/${rkey}`;
    const existing = w.records.get(uri);
    if (!put && existing) return xerr(reply, 500, 'InternalServerError', 'Internal Server Error');
    if (put && b.swapRecord !== undefined && (b.swapRecord === null ? !!existing : existing?.cid !== b.swapRecord)) {
      return xerr(reply, 400, 'InvalidSwap', `Record was at ${existing?.cid ?? 'null'}`);
    }
    const cid = cidOf('bafyrei', `${uri}:${JSON.stringify(record)}`);
    w.records.set(uri, { did, collection, rkey, cid, value: record });
    if (await ctx.maybeHang(reply)) return reply;
    return { uri, cid, commit: { cid: cidOf('bafyrei', `${uri}:${cid}:commit`), rev: nextTid() }, validationStatus: 'valid' };
  };
  /** The like `did` has given the post at `uri`, if any. */
  const likeOf = (did: string, uri: string) => [...w.records.values()].find((r) => r.did === did && r.collection === LIKE && (r.value.subject as { uri?: unknown }).uri === uri);

  const recordOf = (p: SimPost) => (p.raw as { record: { reply?: { root?: { uri?: string }; parent?: { uri?: string } }; facets?: { features?: { $type?: string; did?: string }[] }[]; embed?: { $type?: string; record?: { uri?: string } } } }).record;
  const didIn = (uri: string | undefined) => (uri ? /^at:\/\/([^/]+)\//.exec(uri)?.[1] : undefined);
  /** Why `me` is notified of post `p`: a reply under its post or to it, a mention in the facets, a quote of its post. */
  const reasonFor = (p: SimPost, me: string): 'reply' | 'mention' | 'quote' | null => {
    const r = recordOf(p);
    if (didIn(r.reply?.parent?.uri) === me || didIn(r.reply?.root?.uri) === me) return 'reply';
    if ((r.facets ?? []).some((f) => (f.features ?? []).some((x) => x.$type === 'app.bsky.richtext.facet#mention' && x.did === me))) return 'mention';
    if (r.embed?.$type === 'app.bsky.embed.record' && didIn(r.embed.record?.uri) === me) return 'quote';
    return null;
  };
  const profileOf = (did: string) => {
    const a = w.accounts.get(did);
    return { did, handle: a?.handle ?? 'handle.invalid', ...(a?.displayName ? { displayName: a.displayName } : {}) };
  };
  /** app.bsky.feed.defs#postView. */
  const postView = (p: SimPost) => {
    // Deterministic and growing with age, so collected figures move over time.
    const age = Math.floor((Date.now() - Date.parse(p.createdAt)) / 1000);
    const n = rkeyOf(p).charCodeAt(12) % 7;
    return {
      uri: p.id, cid: (p.raw as { cid: string }).cid, author: profileOf(p.userId),
      record: (p.raw as { record: unknown }).record, replyCount: state.posts.filter((x) => x.replyTo === p.id).length,
      repostCount: Math.floor(n / 2), likeCount: n + Math.floor(age / 10), quoteCount: 0, bookmarkCount: 0, indexedAt: p.createdAt, labels: [],
    };
  };
  /** The inbox reads' own knobs (as the Sandbox's feed), then the session. */
  const inboxGate = (req: FastifyRequest, reply: FastifyReply): { t: SimToken; a: SimBlueskyAccount } | null => {
    const k = state.knobs;
    if (k.inboxExpireTokensAfter === 0) {
      k.inboxExpireTokensAfter = -1;
      state.expireTokens();
    } else if (k.inboxExpireTokensAfter > 0) {
      k.inboxExpireTokensAfter--;
    }
    const who = auth(req, reply);
    if (!who) return null;
    if (k.inboxRateLimitAfter === 0) {
      k.inboxRateLimitAfter = -1;
      const r = style.rateLimited(k.retryAfterSeconds);
      reply.status(r.status).headers(r.headers).send(r.body);
      return null;
    }
    if (k.inboxRateLimitAfter > 0) k.inboxRateLimitAfter--;
    return who;
  };

  /** With a session (`viewer`), each post says the viewer's like (app.bsky.feed.defs#viewerState). */
  const getPosts = (req: FastifyRequest, reply: FastifyReply, viewer?: string) => {
    const raw = (req.query as Record<string, unknown>).uris;
    const uris = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    if (uris.length === 0) return xerr(reply, 400, 'InvalidRequest', 'Params must have the property "uris"');
    if (uris.length > 25) return xerr(reply, 400, 'InvalidRequest', 'uris must not have more than 25 elements');
    const posts = uris.map((u) => state.posts.find((p) => p.id === u)).filter((p): p is SimPost => !!p).map((p) => {
      if (!viewer) return postView(p);
      const like = likeOf(viewer, p.id);
      return { ...postView(p), viewer: like ? { like: `at://${like.did}/${LIKE}/${like.rkey}` } : {} };
    });
    return reply.send({ posts });
  };
  const routes = (s: FastifyInstance, loc: Location) => {
    s.post('/xrpc/com.atproto.server.createSession', async (req, reply) => {
      if (await ctx.interfere(reply, style)) return reply;
      const b = (req.body ?? {}) as { identifier?: unknown; password?: unknown };
      if (typeof b.identifier !== 'string' || typeof b.password !== 'string' || !b.password) return xerr(reply, 400, 'InvalidRequest', 'Input must have the properties "identifier" and "password"');
      const id = b.identifier.trim().toLowerCase();
      let a = id.startsWith('did:') ? w.accounts.get(id) : id.includes('@') ? [...w.accounts.values()].find((x) => x.email === id) : byHandle(id);
      // Unknown handles sign up on first sign-in, hosted here (so `allin sim` works with any handle).
      if (!a && loc !== 'selfhosted' && HANDLE_RE.test(id)) a = blueskyAccount(state, { handle: id, password: b.password });
      if (!a || !served(loc, a) || a.password !== b.password) return xerr(reply, 401, 'AuthenticationRequired', 'Invalid identifier or password');
      return sessionJson(a, issue(a.did));
    });

    s.post('/xrpc/com.atproto.server.refreshSession', async (req, reply) => {
      if (await ctx.interfere(reply, style)) return reply;
      state.refreshCalls++;
      const token = bearerToken(req) ?? '';
      let old = state.refresh.get(token);
      const grace = w.grace.get(token);
      if (!old && grace && grace.until > Date.now()) old = state.refresh.get(grace.successor);
      if (!old || old.revoked) return xerr(reply, 400, 'InvalidToken', 'Token has been revoked');
      const a = w.accounts.get(old.userId);
      if (!a) return xerr(reply, 400, 'InvalidToken', 'Token could not be verified');
      let t: SimToken;
      if (grace || !state.knobs.rotateRefreshTokens) {
        t = issue(a.did, old.refreshToken); // within the grace period: a new access token, the same successor
      } else {
        state.refresh.delete(old.refreshToken);
        t = issue(a.did);
        w.grace.set(old.refreshToken, { successor: t.refreshToken, until: Date.now() + GRACE_MS });
      }
      const { email: _email, emailConfirmed: _confirmed, ...session } = sessionJson(a, t);
      return session;
    });

    s.get('/xrpc/com.atproto.server.getSession', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      if (await ctx.interfere(reply, style)) return reply;
      return { handle: who.a.handle, did: who.a.did, email: who.a.email, emailConfirmed: true, didDoc: didDoc(who.a), active: true };
    });

    s.post('/xrpc/com.atproto.server.deleteSession', async (req, reply) => {
      const token = bearerToken(req) ?? '';
      const t = state.refresh.get(token);
      if (!t) return xerr(reply, 400, 'InvalidToken', 'Token could not be verified');
      // Ends the session: its refresh token (and any grace successor) stops working. Access JWTs are
      // stateless and run out on their own.
      state.refresh.delete(token);
      for (const [k, g] of w.grace) if (g.successor === token) w.grace.delete(k);
      return reply.status(200).send();
    });

    s.get('/xrpc/com.atproto.identity.resolveHandle', async (req, reply) => {
      const handle = String((req.query as Record<string, unknown>).handle ?? '');
      if (!HANDLE_RE.test(handle)) return xerr(reply, 400, 'InvalidRequest', 'Error: handle must be a valid handle');
      const a = byHandle(handle);
      if (!a) return xerr(reply, 400, 'InvalidRequest', 'Unable to resolve handle');
      return { did: a.did };
    });

    if (loc === 'entryway') return; // the repository lives on the PDSes

    // Blobs arrive as raw bytes with their own Content-Type.
    s.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    s.post('/xrpc/com.atproto.repo.uploadBlob', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      if (await ctx.interfere(reply, style)) return reply;
      if (!served(loc, who.a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${who.a.did}`);
      const bytes = Buffer.isBuffer(req.body) ? req.body : null;
      if (!bytes || bytes.length === 0) return xerr(reply, 400, 'InvalidRequest', 'Request body is required');
      if (bytes.length > MAX_BLOB_BYTES) return xerr(reply, 413, 'PayloadTooLarge', 'request entity too large');
      const mimeType = String(req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]!.trim();
      const cid = cidOf('bafkrei', bytes);
      state.media.set(cid, { id: cid, userId: who.a.did, mimeType, bytes: bytes.length, state: 'ready' });
      return { blob: { $type: 'blob', ref: { $link: cid }, mimeType, size: bytes.length } };
    });

    s.post('/xrpc/com.atproto.repo.createRecord', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      if (await ctx.interfere(reply, style)) return reply;
      const b = (req.body ?? {}) as { repo?: unknown; collection?: unknown; rkey?: unknown; validate?: unknown; record?: unknown };
      if (typeof b.repo !== 'string' || byRepo(b.repo)?.did !== who.a.did) return xerr(reply, 400, 'InvalidRequest', 'Invalid repo: it must be the session\'s own');
      if (!served(loc, who.a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${who.a.did}`);
      if (b.collection === LIKE || b.collection === THREADGATE) return writeOther(reply, who.a.did, b, false);
      if (b.collection !== 'app.bsky.feed.post') return xerr(reply, 400, 'InvalidRequest', `Lexicon not found: ${String(b.collection)}`);
      const record = b.record as Record<string, unknown> | undefined;
      if (!record || typeof record !== 'object') return xerr(reply, 400, 'InvalidRequest', 'Input must have the property "record"');
      if (record.$type !== b.collection) return xerr(reply, 400, 'InvalidRequest', `Invalid $type: expected ${b.collection}, got ${String(record.$type)}`);
      const problem = invalidPost(record, who.a.did);
      if (problem) return xerr(reply, 400, 'InvalidRequest', problem);
      let rkey: string;
      if (b.rkey !== undefined) {
        if (typeof b.rkey !== 'string' || !/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/.test(b.rkey)) return xerr(reply, 400, 'InvalidRequest', 'Invalid rkey: expected a TID');
        // A second write at the same key fails inside the repository (status UNCONFIRMED, likely 500).
        if (state.posts.some((p) => p.id === `at://${who.a.did}/${b.collection}/${b.rkey}`)) return xerr(reply, 500, 'InternalServerError', 'Internal Server Error');
        rkey = b.rkey;
      } else {
        rkey = nextTid();
      }
      const uri = `at://${who.a.did}/${b.collection}/${rkey}`;
      const cid = cidOf('bafyrei', JSON.stringify(record));
      const reply_ = record.reply as { parent?: { uri?: string } } | undefined;
      const embed = record.embed as { images?: { image: { ref: { $link: string } } }[] } | undefined;
      const marker = record.allinMarker;
      state.posts.push({
        id: uri, userId: who.a.did, text: record.text as string, media: (embed?.images ?? []).map((i) => i.image.ref.$link),
        ...(reply_?.parent?.uri ? { replyTo: reply_.parent.uri } : {}), ...(typeof marker === 'string' ? { key: marker } : {}),
        createdAt: new Date().toISOString(), raw: { rkey, cid, record },
      });
      if (await ctx.maybeHang(reply)) return reply;
      return { uri, cid, commit: { cid: cidOf('bafyrei', `${uri}:${cid}:commit`), rev: nextTid() }, validationStatus: 'valid' };
    });

    // https://docs.bsky.app/docs/api/com-atproto-repo-put-record; this simulator puts likes and threadgates only.
    s.post('/xrpc/com.atproto.repo.putRecord', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      if (await ctx.interfere(reply, style)) return reply;
      const b = (req.body ?? {}) as { repo?: unknown; collection?: unknown; rkey?: unknown; record?: unknown; swapRecord?: unknown };
      if (typeof b.repo !== 'string' || byRepo(b.repo)?.did !== who.a.did) return xerr(reply, 400, 'InvalidRequest', 'Invalid repo: it must be the session\'s own');
      if (!served(loc, who.a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${who.a.did}`);
      if (b.collection !== LIKE && b.collection !== THREADGATE) return xerr(reply, 400, 'InvalidRequest', `Lexicon not found: ${String(b.collection)}`);
      return writeOther(reply, who.a.did, b, true);
    });

    s.get('/xrpc/com.atproto.repo.getRecord', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const a = byRepo(q.repo ?? '');
      if (!a || !served(loc, a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${q.repo ?? ''}`);
      if (q.collection === 'app.bsky.actor.profile' && q.rkey === 'self' && a.displayName) {
        const value = { $type: 'app.bsky.actor.profile', displayName: a.displayName };
        return { uri: `at://${a.did}/app.bsky.actor.profile/self`, cid: cidOf('bafyrei', JSON.stringify(value)), value };
      }
      const other = w.records.get(`at://${a.did}/${q.collection}/${q.rkey}`);
      if (other) return { uri: `at://${a.did}/${q.collection}/${q.rkey}`, cid: other.cid, value: other.value };
      const p = state.posts.find((x) => x.id === `at://${a.did}/${q.collection}/${q.rkey}`);
      if (!p) return xerr(reply, 400, 'RecordNotFound', `Could not locate record: at://${a.did}/${q.collection}/${q.rkey}`);
      return recordJson(p);
    });

    s.get('/xrpc/com.atproto.repo.listRecords', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const a = byRepo(q.repo ?? '');
      if (!a || !served(loc, a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${q.repo ?? ''}`);
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return xerr(reply, 400, 'InvalidRequest', 'limit must be an integer from 1 to 100');
      const others = [...w.records.values()].filter((r) => r.did === a.did && r.collection === q.collection).sort((x, y) => (x.rkey < y.rkey ? 1 : -1))
        .map((r) => ({ rkey: r.rkey, json: { uri: `at://${r.did}/${r.collection}/${r.rkey}`, cid: r.cid, value: r.value } }));
      let list = others.length ? others : recordsOf(a.did, q.collection ?? '').map((p) => ({ rkey: rkeyOf(p), json: recordJson(p) }));
      if (q.reverse === 'true') list = list.reverse();
      if (q.cursor) list = list.filter((p) => (q.reverse === 'true' ? p.rkey > q.cursor! : p.rkey < q.cursor!));
      const page = list.slice(0, limit);
      return { records: page.map((p) => p.json), ...(page.length ? { cursor: page[page.length - 1]!.rkey } : {}) };
    });

    s.post('/xrpc/com.atproto.repo.deleteRecord', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      const b = (req.body ?? {}) as { repo?: unknown; collection?: unknown; rkey?: unknown };
      if (typeof b.repo !== 'string' || byRepo(b.repo)?.did !== who.a.did) return xerr(reply, 400, 'InvalidRequest', 'Invalid repo: it must be the session\'s own');
      if (!served(loc, who.a)) return xerr(reply, 400, 'InvalidRequest', `Could not find repo: ${who.a.did}`);
      // "Delete or ensure it doesn't exist": a missing record is not an error.
      w.records.delete(`at://${who.a.did}/${String(b.collection)}/${String(b.rkey)}`);
      const at = state.posts.findIndex((p) => p.id === `at://${who.a.did}/${String(b.collection)}/${String(b.rkey)}`);
      if (at >= 0) {
        const gone = state.posts[at]!;
        w.deleted.set(gone.id, gone.replyTo ? { parent: gone.replyTo } : {});
        state.posts.splice(at, 1);
      }
      return { commit: { cid: cidOf('bafyrei', `${String(b.rkey)}:delete`), rev: nextTid() } };
    });

    // AppView reads, proxied by the PDS for the session's account: getPosts, and the inbox's three.
    s.get('/xrpc/app.bsky.feed.getPosts', async (req, reply) => {
      const who = auth(req, reply);
      if (!who) return reply;
      return getPosts(req, reply, who.a.did);
    });
    s.get('/xrpc/app.bsky.notification.listNotifications', async (req, reply) => {
      const who = inboxGate(req, reply);
      if (!who) return reply;
      const q = req.query as Record<string, string | string[] | undefined>;
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return xerr(reply, 400, 'InvalidRequest', 'limit must be an integer from 1 to 100');
      const reasons = q.reasons === undefined ? null : new Set(Array.isArray(q.reasons) ? q.reasons : [q.reasons]);
      const me = who.a.did;
      const all = state.posts.filter((p) => p.userId !== me && p.id.includes('/app.bsky.feed.post/')).flatMap((p) => {
        const reason = reasonFor(p, me);
        return reason && (!reasons || reasons.has(reason)) ? [{ p, reason }] : [];
      }).sort((x, y) => (x.p.createdAt === y.p.createdAt ? (x.p.id < y.p.id ? 1 : -1) : x.p.createdAt < y.p.createdAt ? 1 : -1));
      const cursor = typeof q.cursor === 'string' ? q.cursor : undefined;
      const after = cursor ? all.findIndex(({ p }) => `${p.createdAt}|${p.id}` === cursor) : -1;
      if (cursor && after < 0 && !/^\d{4}-/.test(cursor)) return xerr(reply, 400, 'InvalidRequest', 'Malformed cursor');
      const rest = cursor ? (after >= 0 ? all.slice(after + 1) : all.filter(({ p }) => `${p.createdAt}|${p.id}` < cursor)) : all;
      const page = rest.slice(0, Math.min(limit, state.knobs.inboxPageSize));
      const last = page.at(-1)?.p;
      return {
        notifications: page.map(({ p, reason }) => ({
          uri: p.id, cid: (p.raw as { cid: string }).cid, author: profileOf(p.userId), reason,
          ...(reason === 'reply' || reason === 'quote' ? { reasonSubject: reason === 'reply' ? recordOf(p).reply?.parent?.uri : recordOf(p).embed?.record?.uri } : {}),
          record: recordOf(p), isRead: false, indexedAt: p.createdAt, labels: [],
        })),
        ...(last && rest.length > page.length ? { cursor: `${last.createdAt}|${last.id}` } : {}),
      };
    });

    s.get('/xrpc/app.bsky.feed.getAuthorFeed', async (req, reply) => {
      const who = inboxGate(req, reply);
      if (!who) return reply;
      const q = req.query as Record<string, string | undefined>;
      const actor = byRepo(q.actor ?? '');
      if (!actor) return xerr(reply, 400, 'InvalidRequest', 'Profile not found');
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return xerr(reply, 400, 'InvalidRequest', 'limit must be an integer from 1 to 100');
      let list = recordsOf(actor.did, 'app.bsky.feed.post');
      if (q.filter === 'posts_no_replies') list = list.filter((p) => !recordOf(p).reply);
      if (q.cursor) list = list.filter((p) => rkeyOf(p) < q.cursor!);
      const page = list.slice(0, limit);
      return { feed: page.map((p) => ({ post: postView(p) })), ...(page.length && list.length > page.length ? { cursor: rkeyOf(page.at(-1)!) } : {}) };
    });

    s.get('/xrpc/app.bsky.feed.getPostThread', async (req, reply) => {
      const who = inboxGate(req, reply);
      if (!who) return reply;
      const q = req.query as Record<string, string | undefined>;
      const depth = q.depth === undefined ? 6 : Number(q.depth);
      if (!Number.isInteger(depth) || depth < 0 || depth > 1000) return xerr(reply, 400, 'InvalidRequest', 'depth must be an integer from 0 to 1000');
      const p = state.posts.find((x) => x.id === q.uri);
      if (!p) return xerr(reply, 400, 'NotFound', `Post not found: ${q.uri ?? ''}`);
      const viewer = who.a.did;
      const blocked = (did: string) => w.blocks.has(`${viewer}|${did}`) || w.blocks.has(`${did}|${viewer}`);
      const childrenOf = (uri: string) => state.posts.filter((x) => x.replyTo === uri).sort((a, b) => (rkeyOf(a) < rkeyOf(b) ? -1 : 1));
      const hasLiveReplies = (uri: string): boolean => childrenOf(uri).length > 0 || [...w.deleted].some(([d, v]) => v.parent === uri && hasLiveReplies(d));
      const node = (x: SimPost, left: number): Record<string, unknown> => {
        const replies: unknown[] = [];
        if (left > 0) {
          for (const c of childrenOf(x.id)) {
            replies.push(blocked(c.userId) ? { $type: 'app.bsky.feed.defs#blockedPost', uri: c.id, blocked: true, author: { did: c.userId, viewer: { blocking: c.id } } } : node(c, left - 1));
          }
          for (const [d, v] of w.deleted) if (v.parent === x.id && hasLiveReplies(d)) replies.push({ $type: 'app.bsky.feed.defs#notFoundPost', uri: d, notFound: true });
        }
        return { $type: 'app.bsky.feed.defs#threadViewPost', post: postView(x), ...(left > 0 ? { replies } : {}) };
      };
      // app.bsky.feed.defs#threadgateView of the post's own threadgate (the author's hidden replies among it).
      const gateUri = `at://${p.userId}/${THREADGATE}/${rkeyOf(p)}`;
      const gate = w.records.get(gateUri);
      return { thread: node(p, depth), ...(gate ? { threadgate: { uri: gateUri, cid: gate.cid, record: gate.value, lists: [] } } : {}) };
    });
  };

  app.register(async (s) => routes(s, 'entryway'));
  app.register(async (s) => routes(s, 'pds'), { prefix: '/pds' });
  app.register(async (s) => routes(s, 'selfhosted'), { prefix: '/selfhosted' });

  app.get('/plc/:did', async (req, reply) => {
    const a = w.accounts.get(decodeURIComponent((req.params as { did: string }).did));
    if (!a) return reply.status(404).send({ message: 'DID not registered' });
    return didDoc(a);
  });

  app.get('/appview/xrpc/app.bsky.feed.getPosts', async (req, reply) => getPosts(req, reply));

  app.get('/appview/xrpc/app.bsky.actor.getProfile', async (req, reply) => {
    if (await ctx.interfere(reply, style)) return reply;
    const actor = String((req.query as Record<string, unknown>).actor ?? '').toLowerCase();
    if (!actor) return xerr(reply, 400, 'InvalidRequest', 'Params must have the property "actor"');
    const a = actor.startsWith('did:') ? w.accounts.get(actor) : byHandle(actor);
    if (!a) return xerr(reply, 400, 'InvalidRequest', 'Profile not found');
    const counts = state.knobs.profileCountsOmitted ? {} : {
      followersCount: simAudience(a.did, Date.now()).followers, followsCount: simAudience(a.did, Date.now()).following,
      postsCount: state.posts.filter((p) => p.userId === a.did).length,
    };
    return { did: a.did, handle: a.handle, ...(a.displayName ? { displayName: a.displayName } : {}), ...counts, createdAt: '2024-01-01T00:00:00.000Z' };
  });
}
