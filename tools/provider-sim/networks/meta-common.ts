// What the simulated Meta networks (facebook.ts, instagram.ts, threads.ts) share: the Graph error envelope
// { error: { message, type, code, error_subcode, fbtrace_id } }, knob failures shaped like Meta's (throttling
// codes with X-App-Usage / X-Business-Use-Case-Usage headers), access_token checks with code 190, parameters
// read from the query, a form, JSON or multipart (Graph takes them anywhere), media fetched from the URL a
// client gives (as Meta does), media containers, and a tiny media host for tests and demos.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorStyle, NetworkState, SimMedia, SimNetworkContext, SimToken, SimUser } from '../core.ts';

export const GRAPH_VERSION = /^v\d+\.\d+$/;
/** expires_in of long-lived Facebook, Instagram and Threads tokens in the docs. */
export const LONG_LIVED_SECONDS = 5_183_944;
export const DAY_MS = 24 * 3600_000;

export const fbtrace = () => randomBytes(8).toString('base64url');

export interface GraphErr {
  message: string;
  code: number;
  type?: string;
  subcode?: number;
  userMessage?: string;
  transient?: boolean;
}

export function graphErrorBody(e: GraphErr): { error: Record<string, unknown> } {
  return {
    error: {
      message: e.message, type: e.type ?? 'OAuthException', code: e.code,
      ...(e.subcode !== undefined ? { error_subcode: e.subcode } : {}),
      ...(e.userMessage ? { error_user_title: 'Error', error_user_msg: e.userMessage } : {}),
      ...(e.transient ? { is_transient: true } : {}),
      fbtrace_id: fbtrace(),
    },
  };
}

export function sendGraphError(reply: FastifyReply, status: number, e: GraphErr, headers: Record<string, string> = {}): FastifyReply {
  return reply.status(status).headers(headers).send(graphErrorBody(e));
}

/**
 * Knob failures in Meta's shapes. Throttling is a Graph error (HTTP 400) with the usage headers: a Business
 * Use Case limit (Page or Instagram tokens) names the object and `estimated_time_to_regain_access` in
 * minutes; a platform limit (user or app tokens) only reports percentages in X-App-Usage.
 */
export function metaStyle(limit: { code: number; message: string; buc?: { id: string; type: string } }): ErrorStyle {
  return {
    rateLimited: (seconds) => {
      const headers: Record<string, string> = { 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 12, total_time: 20 }) };
      if (limit.buc) {
        headers['x-business-use-case-usage'] = JSON.stringify({
          [limit.buc.id]: [{ type: limit.buc.type, call_count: 100, total_cputime: 20, total_time: 30, estimated_time_to_regain_access: Math.max(1, Math.ceil(seconds / 60)) }],
        });
      }
      return { status: 400, headers, body: graphErrorBody({ message: limit.message, code: limit.code, transient: true }) };
    },
    serverError: () => ({
      status: 500, body: graphErrorBody({ message: 'An unexpected error has occurred. Please retry your request later.', code: 2, transient: true }),
    }),
  };
}

export const appLimit = metaStyle({ code: 4, message: '(#4) Application request limit reached' });

export interface Upload {
  buffer: Buffer;
  mimetype: string;
}

/** Parameters from the query string and the body (form, JSON or multipart), and uploaded files. */
export async function readParams(req: FastifyRequest): Promise<{ params: Record<string, string>; files: Record<string, Upload> }> {
  const params: Record<string, string> = {};
  const files: Record<string, Upload> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) if (v !== undefined) params[k] = String(v);
  if (req.isMultipart()) {
    for await (const part of req.parts()) {
      if (part.type === 'file') files[part.fieldname] = { buffer: await part.toBuffer(), mimetype: part.mimetype };
      else params[part.fieldname] = String(part.value);
    }
  } else if (req.body && typeof req.body === 'object') {
    for (const [k, v] of Object.entries(req.body as Record<string, unknown>)) {
      if (v !== undefined) params[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
  return { params, files };
}

/** What the simulator knows of a token beyond core's SimToken. */
export interface TokenInfo {
  kind: 'short' | 'long' | 'page';
  clientId: string;
  issuedAt: number;
  pageId?: string;
}

const infos = new WeakMap<SimToken, TokenInfo>();

export const tokenInfo = (t: SimToken): TokenInfo | undefined => infos.get(t);

export function issueToken(state: NetworkState, userId: string, scope: string[], info: Omit<TokenInfo, 'issuedAt'>, ttlSeconds: number): SimToken {
  const t = state.issueToken(userId, scope);
  state.refresh.delete(t.refreshToken); // Meta tokens have no refresh token
  t.expiresAt = Date.now() + ttlSeconds * 1000;
  infos.set(t, { ...info, issuedAt: Date.now() });
  return t;
}

/** The token of a request (Authorization header or access_token parameter) as a Graph error, or null. */
export function requireToken(state: NetworkState, req: FastifyRequest, reply: FastifyReply, params: Record<string, string>, status = 400): SimToken | null {
  const h = req.headers.authorization;
  const m = h ? /^(?:Bearer|OAuth)\s+(.+)$/i.exec(h) : null;
  const token = m?.[1] ?? params.access_token;
  if (!token) {
    sendGraphError(reply, 400, { message: 'An active access token must be used to query information about the current user.', code: 2500 });
    return null;
  }
  const t = state.tokens.get(token);
  if (!t || t.revoked) {
    sendGraphError(reply, status, { message: t ? 'Error validating access token: The user has not authorized application.' : 'Invalid OAuth access token - Cannot parse access token', code: 190, ...(t ? { subcode: 458 } : {}) },
      { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"' });
    return null;
  }
  if (t.expiresAt < Date.now()) {
    sendGraphError(reply, status, { message: `Error validating access token: Session has expired on ${new Date(t.expiresAt).toUTCString()}.`, code: 190, subcode: 463 });
    return null;
  }
  return t;
}

/** The path's version segment; a bad one is answered like Graph's unknown path. */
export function versionOk(req: FastifyRequest, reply: FastifyReply, pattern = GRAPH_VERSION): boolean {
  const v = (req.params as { version?: string }).version ?? '';
  if (pattern.test(v)) return true;
  sendGraphError(reply, 400, { message: `Unknown path components: /${v}`, code: 2500 });
  return false;
}

/** Top-level names of a Graph `fields` parameter (`a,b.summary(x),c{d,e}` → a, b, c); null when absent. */
export function fieldNames(fields: string | undefined): Set<string> | null {
  if (!fields) return null;
  const out = new Set<string>();
  let depth = 0;
  let cur = '';
  for (const ch of fields) {
    if (ch === '{' || ch === '(') depth++;
    if (ch === '}' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.add(cur.split(/[.{(]/)[0]!.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.add(cur.split(/[.{(]/)[0]!.trim());
  return out;
}

/** Keeps the requested fields of an object (Graph answers only what was asked, plus id). */
export function pick(obj: Record<string, unknown>, fields: string | undefined, fallback: string[]): Record<string, unknown> {
  const names = fieldNames(fields) ?? new Set(fallback);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if ((names.has(k) || k === 'id') && v !== undefined) out[k] = v;
  return out;
}

/** Graph's timestamp form, 2026-11-26T10:00:00+0000. */
export const graphTime = (iso: string | number) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** A stable numeric id per name, so a login hint always maps to the same account. */
export function numericId(prefix: string, name: string): string {
  return prefix + String(parseInt(createHash('sha256').update(name).digest('hex').slice(0, 10), 16)).padStart(13, '0');
}

/** The user a consent screen logs in, created on first use with a numeric id like Meta's. */
export function metaUser(state: NetworkState, prefix: string, hint: string): SimUser {
  const id = numericId(prefix, hint);
  let u = state.users.get(id);
  if (!u) {
    u = { id, username: `${hint.replace(/[^a-z0-9_.]/gi, '_').toLowerCase()}.sim`, name: `Simulated ${state.network} ${hint}` };
    state.users.set(id, u);
  }
  return u;
}

/**
 * The app's secret: the first one presented for a client_id is remembered, a different one later is
 * refused (Meta checks the secret against the app; the simulator has no app dashboard).
 */
export function clientOk(state: NetworkState, clientId: string | undefined, secret: string | undefined): boolean {
  if (!clientId || !secret) return false;
  const app = state.apps.get(clientId);
  if (!app) {
    state.apps.set(clientId, { clientId, clientSecret: secret, redirectUris: [], name: `app ${clientId}` });
    return true;
  }
  return app.clientSecret === secret;
}

/**
 * The consent screen: redirects back with a code (or the user's refusal). Meta appends a fragment to the
 * redirect (`#_=_` for Facebook, `#_` for Instagram), which is not part of the code.
 */
export function consent(ctx: SimNetworkContext, reply: FastifyReply, q: Record<string, string>, user: () => SimUser, fragment: string): FastifyReply {
  const { state } = ctx;
  if (!q.client_id || !q.redirect_uri || (q.response_type ?? 'code') !== 'code') {
    return reply.status(400).type('text/html').send('<h1>Invalid request</h1><p>client_id, redirect_uri and response_type=code are required.</p>');
  }
  let back: URL;
  try {
    back = new URL(q.redirect_uri);
  } catch {
    return reply.status(400).type('text/html').send('<h1>Invalid redirect_uri</h1>');
  }
  if (state.knobs.denyConsent) {
    back.searchParams.set('error', 'access_denied');
    back.searchParams.set('error_reason', 'user_denied');
    back.searchParams.set('error_description', 'The user denied your request.');
  } else {
    const scope = (q.scope ?? '').split(/[ ,]+/).filter(Boolean);
    back.searchParams.set('code', state.issueCode(user().id, q.client_id, q.redirect_uri, scope));
  }
  if (q.state) back.searchParams.set('state', q.state);
  return reply.redirect(`${back.toString()}${fragment}`);
}

export type FetchedMedia = { ok: true; bytes: Buffer; type: string | undefined } | { ok: false; reason: string };

/** Downloads media the way Meta does (it "cURLs" the URL): only a reachable URL works. */
export async function fetchMedia(url: string | undefined, timeoutMs = 5000): Promise<FetchedMedia> {
  if (!url) return { ok: false, reason: 'no URL' };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, reason: 'not an HTTP(S) URL' };
  try {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { ok: false, reason: `HTTP ${res.status}` };
    const bytes = Buffer.from(await res.arrayBuffer());
    return { ok: true, bytes, type: sniff(bytes) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** The media type from the file's first bytes, as a decoder would see it (the Content-Type is not trusted). */
export function sniff(b: Buffer): string | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (b.subarray(0, 2).toString('latin1') === 'BM') return 'image/bmp';
  if (b.subarray(0, 4).equals(Buffer.from([0x49, 0x49, 0x2a, 0x00])) || b.subarray(0, 4).equals(Buffer.from([0x4d, 0x4d, 0x00, 0x2a]))) return 'image/tiff';
  if (b.subarray(4, 8).toString('latin1') === 'ftyp') return b.subarray(8, 10).toString('latin1') === 'qt' ? 'video/quicktime' : 'video/mp4';
  return undefined;
}

/** A media container of Instagram or Threads (kept beside core's SimMedia entry of the same id). */
export interface SimContainer {
  id: string;
  userId: string;
  mediaType: string;
  text?: string;
  isCarouselItem: boolean;
  children: string[];
  replyTo?: string;
  createdAt: number;
  /** Status reads still to be answered IN_PROGRESS (see PROCESSING_READS). */
  readsLeft: number;
  /** Set when processing failed: the status becomes ERROR once processing is over. */
  error?: string;
  /** The media id once published. */
  publishedAs?: string;
  params: Record<string, string>;
}

const containers = new WeakMap<SimMedia, SimContainer>();

export function putContainer(state: NetworkState, c: SimContainer, mimeType: string, bytes: number): void {
  const m: SimMedia = { id: c.id, userId: c.userId, mimeType, bytes, state: c.readsLeft > 0 ? 'processing' : c.error ? 'failed' : 'ready' };
  state.media.set(c.id, m);
  containers.set(m, c);
}

export function getContainer(state: NetworkState, id: string): SimContainer | undefined {
  const m = state.media.get(id);
  return m ? containers.get(m) : undefined;
}

/** IN_PROGRESS → FINISHED | ERROR, then PUBLISHED; unpublished containers expire after 24 h. Not a read: nothing advances. */
export function containerStatus(c: SimContainer): 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED' {
  if (c.publishedAs) return 'PUBLISHED';
  if (Date.now() - c.createdAt > DAY_MS) return 'EXPIRED';
  if (c.readsLeft > 0) return 'IN_PROGRESS';
  return c.error ? 'ERROR' : 'FINISHED';
}

/**
 * A status read of the container's own endpoint: a container still processing advances by one read,
 * unless the holdProcessing knob holds it IN_PROGRESS.
 */
export function readContainerStatus(state: NetworkState, c: SimContainer): ReturnType<typeof containerStatus> {
  const status = containerStatus(c);
  if (status !== 'IN_PROGRESS') return status;
  if (!state.knobs.holdProcessing) c.readsLeft--;
  return status;
}

/**
 * How many status reads a new container answers IN_PROGRESS before it is FINISHED (or ERROR). Processing
 * is counted in reads, not in milliseconds: with a clock, a machine busy enough to delay the first read
 * past the processing time would see FINISHED at once, so whether a client met IN_PROGRESS (and acted in
 * that window) would depend on the machine's load. A video is IN_PROGRESS at its first read, so every
 * video publish shows the client polling; an image is FINISHED at once. A Facebook Reel after finish
 * (facebook.ts) counts its processing the same way.
 */
export const PROCESSING_READS = { image: 0, video: 1 };

/** Figures that move with a post's age, so successive collections differ (like the sandbox's). */
export function engagement(id: string, createdAt: string): { n: number; age: number } {
  const n = Number(id.replace(/\D/g, '').slice(-6) || '0') % 7;
  return { n, age: Math.floor((Date.now() - Date.parse(createdAt)) / 1000) };
}

/** Unique links of a text (what Threads limits to 5). */
export const uniqueLinks = (text: string) => new Set(text.match(/https?:\/\/[^\s]+/gi) ?? []).size;

/** A 1×1 grey baseline JPEG (SOI, JFIF, DQT, SOF0, two one-code Huffman tables, SOS, one block, EOI). */
export const SAMPLE_JPEG = Buffer.from(
  'ffd8ffe000104a46494600010100000100010000' +
  'ffdb004300' + '01'.repeat(64) +
  'ffc0000b080001000101011100' +
  'ffc400140001' + '00'.repeat(15) + '00' +
  'ffc400141001' + '00'.repeat(15) + '00' +
  'ffda0008010100003f00' + '3f' + 'ffd9', 'hex');

/** The start of an MP4 file (an ftyp box and an empty moov): enough for the simulator's format check. */
export const SAMPLE_MP4 = Buffer.concat([
  Buffer.from('00000018667479706d7034320000000069736f6d6d703432', 'hex'),
  Buffer.from('000000086d6f6f76', 'hex'),
]);

/**
 * A stand-in for the public host Meta downloads media from: serves the given files on 127.0.0.1 (the
 * real networks require public HTTPS URLs; the simulator fetches whatever URL it is given).
 */
export async function startMediaHost(files: Record<string, { type: string; body: Buffer }>): Promise<{ url(path: string): string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    const f = files[(req.url ?? '').split('?')[0]!];
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length }).end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Instagram Login and Threads: short → long-lived exchange and the refresh of long-lived tokens
 *   GET /access_token?grant_type={exchange}&client_secret&access_token={short}
 *   GET /refresh_access_token?grant_type={refresh}&access_token={long}   (≥ 24 h old, unexpired; a new 60-day token)
 * The refreshed-from token stays valid until its own expiry: the docs do not say it dies (UNCONFIRMED).
 */
export function tokenLifecycleRoutes(ctx: SimNetworkContext, o: { exchangeGrant: string; refreshGrant: string; authStatus: number }): void {
  const { app, state } = ctx;
  const answer = (t: SimToken) => ({ access_token: t.accessToken, token_type: 'bearer', expires_in: LONG_LIVED_SECONDS });

  app.get('/access_token', async (req, reply) => {
    const q = req.query as Record<string, string>;
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (q.grant_type !== o.exchangeGrant) return sendGraphError(reply, 400, { message: `(#100) grant_type must be ${o.exchangeGrant}`, code: 100 });
    const t = requireToken(state, req, reply, q, o.authStatus);
    if (!t) return reply;
    const info = tokenInfo(t);
    if (!info || info.kind !== 'short') return sendGraphError(reply, 400, { message: '(#100) Only a short-lived token can be exchanged', code: 100 });
    if (state.apps.get(info.clientId)?.clientSecret !== q.client_secret) return sendGraphError(reply, 400, { message: 'Error validating client secret.', code: 1 });
    return answer(issueToken(state, t.userId, t.scope, { kind: 'long', clientId: info.clientId }, LONG_LIVED_SECONDS));
  });

  app.get('/refresh_access_token', async (req, reply) => {
    const q = req.query as Record<string, string>;
    if (await ctx.interfere(reply, appLimit)) return reply;
    if (q.grant_type !== o.refreshGrant) return sendGraphError(reply, 400, { message: `(#100) grant_type must be ${o.refreshGrant}`, code: 100 });
    const t = requireToken(state, req, reply, q, o.authStatus);
    if (!t) return reply;
    state.refreshCalls++;
    const info = tokenInfo(t);
    if (!info || info.kind !== 'long') return sendGraphError(reply, 400, { message: '(#100) Only a long-lived token can be refreshed', code: 100 });
    // The docs require the token to be at least 24 h old; the error Meta gives otherwise is UNCONFIRMED.
    if (Date.now() - info.issuedAt < DAY_MS) return sendGraphError(reply, 400, { message: '(#10) The access token must be at least 24 hours old to be refreshed', code: 10 });
    return answer(issueToken(state, t.userId, t.scope, { kind: 'long', clientId: info.clientId }, LONG_LIVED_SECONDS));
  });
}
