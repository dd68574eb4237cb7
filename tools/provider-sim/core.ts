// The network simulator's shared machinery: one Fastify server, one path prefix per network
// (/x/…, /linkedin/…, /mastodon/…), and per network: OAuth codes and tokens (with expiry and
// refresh-token rotation), accepted posts (so a test can count duplicates), and knobs for latency,
// errors, 429 storms, token expiry and "accept the post, then time out".
import { randomBytes, createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SimInbox } from './inbox.ts';

export interface Knobs {
  /** Added to every answer. */
  latencyMs: number;
  /** Share of calls (token, profile, media, publishing) answered 500 before doing anything (0-1). */
  errorRate: number;
  /** The next N calls of the network are answered 429 with Retry-After: retryAfterSeconds. */
  rateLimitNext: number;
  retryAfterSeconds: number;
  /** Lifetime of issued access tokens. */
  accessTokenTtlSeconds: number;
  /** Refreshing returns a new refresh token and invalidates the old one. */
  rotateRefreshTokens: boolean;
  /** The next N publishing calls are accepted (the post exists) and then never answered. */
  acceptThenHangNext: number;
  /** The next N calls (token, profile, media, publishing) are answered with a malformed (non-JSON) body. */
  malformedNext: number;
  /** The authorization page answers "denied" instead of consenting. */
  denyConsent: boolean;
  /** Sandbox: a repeated Idempotency-Key creates another post, so a client that retries blindly shows up as a duplicate. */
  ignoreIdempotencyKey: boolean;
  /**
   * Instagram and Threads media containers, Facebook Reels after finish: while true, one still processing
   * stays so (status reads do not advance it), so a test can act while a client polls, before it publishes.
   */
  holdProcessing: boolean;
  /** Inbox: comments, replies and mentions people make per minute per user, generated when the user's inbox is read (0: none). */
  inboxRatePerMinute: number;
  /** Inbox: the most items one page of the inbox answers. */
  inboxPageSize: number;
  /**
   * Inbox reads (the other knobs above leave them alone, so a test of publishing never meets them): after
   * this many more answered reads, the next one is answered 429 with Retry-After: retryAfterSeconds, once.
   * -1: never.
   */
  inboxRateLimitAfter: number;
  /** Inbox reads: after this many more answered reads, every access token expires (401 until refreshed). -1: never. */
  inboxExpireTokensAfter: number;
  /** Account metrics: profiles answer without their counts (Bluesky's lexicon makes them optional). */
  profileCountsOmitted: boolean;
  /** Sandbox consent: the person unticks these scopes, so the token is granted the others only. */
  declineScopes: string[];
}

export const DEFAULT_KNOBS: Knobs = {
  latencyMs: 0, errorRate: 0, rateLimitNext: 0, retryAfterSeconds: 2, accessTokenTtlSeconds: 7200,
  rotateRefreshTokens: true, acceptThenHangNext: 0, malformedNext: 0, denyConsent: false, ignoreIdempotencyKey: false, holdProcessing: false,
  inboxRatePerMinute: 2, inboxPageSize: 50, inboxRateLimitAfter: -1, inboxExpireTokensAfter: -1,
  profileCountsOmitted: false, declineScopes: [],
};

export interface SimToken {
  accessToken: string;
  refreshToken: string;
  userId: string;
  expiresAt: number;
  scope: string[];
  revoked: boolean;
}

export interface SimPost {
  id: string;
  userId: string;
  text: string;
  media: string[];
  replyTo?: string;
  /** Idempotency key or marker, when the request carried one. */
  key?: string;
  createdAt: string;
  raw: unknown;
}

export interface SimMedia {
  id: string;
  userId: string;
  mimeType: string;
  bytes: number;
  state: 'pending' | 'processing' | 'ready' | 'failed';
}

/** A user on the simulated network (created on first consent; tests can name them). */
export interface SimUser {
  id: string;
  username: string;
  name: string;
}

export class NetworkState {
  knobs: Knobs = { ...DEFAULT_KNOBS };
  readonly codes = new Map<string, { userId: string; redirectUri: string; challenge?: string; clientId: string; scope: string[]; expiresAt: number }>();
  readonly tokens = new Map<string, SimToken>(); // by access token
  readonly refresh = new Map<string, SimToken>(); // by refresh token
  readonly posts: SimPost[] = [];
  readonly media = new Map<string, SimMedia>();
  readonly users = new Map<string, SimUser>();
  readonly apps = new Map<string, { clientId: string; clientSecret: string; redirectUris: string[]; name: string }>();
  /** Every request, for assertions (method, path, one header or two). */
  readonly log: { method: string; path: string; at: number }[] = [];
  /** Comments, replies and mentions addressed to the network's users. */
  readonly inbox = new SimInbox(() => this.nextId());
  refreshCalls = 0;
  private seq = 1000;

  constructor(readonly network: string) {}

  nextId(): string {
    return String(++this.seq) + randomBytes(3).toString('hex').replace(/[a-f]/g, '');
  }

  user(id = 'u1'): SimUser {
    let u = this.users.get(id);
    if (!u) {
      u = { id, username: `${this.network}_${id}`, name: `Sandbox ${this.network} ${id}` };
      this.users.set(id, u);
    }
    return u;
  }

  issueCode(userId: string, clientId: string, redirectUri: string, scope: string[], challenge?: string): string {
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { userId, clientId, redirectUri, scope, expiresAt: Date.now() + 60_000, ...(challenge ? { challenge } : {}) });
    return code;
  }

  /** Redeems a code once; PKCE S256 verified when the code was issued with a challenge. */
  redeemCode(code: string, redirectUri: string, verifier?: string): { userId: string; scope: string[] } | string {
    const c = this.codes.get(code);
    this.codes.delete(code);
    if (!c || c.expiresAt < Date.now()) return 'invalid_grant';
    if (c.redirectUri !== redirectUri) return 'invalid_grant';
    if (c.challenge) {
      if (!verifier) return 'invalid_request';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (computed !== c.challenge) return 'invalid_grant';
    }
    return { userId: c.userId, scope: c.scope };
  }

  issueToken(userId: string, scope: string[]): SimToken {
    const t: SimToken = {
      accessToken: `at_${this.network}_${randomBytes(12).toString('hex')}`,
      refreshToken: `rt_${this.network}_${randomBytes(12).toString('hex')}`,
      userId, scope, revoked: false,
      expiresAt: Date.now() + this.knobs.accessTokenTtlSeconds * 1000,
    };
    this.tokens.set(t.accessToken, t);
    this.refresh.set(t.refreshToken, t);
    return t;
  }

  /** Refresh: a new access token; with rotation, a new refresh token and the old one dead. */
  refreshToken(refreshToken: string): SimToken | null {
    this.refreshCalls++;
    const old = this.refresh.get(refreshToken);
    if (!old || old.revoked) return null;
    const t: SimToken = {
      ...old,
      accessToken: `at_${this.network}_${randomBytes(12).toString('hex')}`,
      expiresAt: Date.now() + this.knobs.accessTokenTtlSeconds * 1000,
    };
    if (this.knobs.rotateRefreshTokens) {
      this.refresh.delete(refreshToken);
      t.refreshToken = `rt_${this.network}_${randomBytes(12).toString('hex')}`;
    }
    this.tokens.set(t.accessToken, t);
    this.refresh.set(t.refreshToken, t);
    return t;
  }

  /** The token of a request's `Authorization: Bearer`, or why not. */
  bearer(req: FastifyRequest): SimToken | 'missing' | 'invalid' | 'expired' {
    const h = req.headers.authorization;
    const m = h ? /^(?:Bearer|OAuth)\s+(.+)$/i.exec(h) : null;
    const token = m?.[1] ?? (req.query as Record<string, string> | undefined)?.access_token
      ?? (req.body as Record<string, string> | undefined)?.access_token;
    if (!token) return 'missing';
    const t = this.tokens.get(token);
    if (!t || t.revoked) return 'invalid';
    if (t.expiresAt < Date.now()) return 'expired';
    return t;
  }

  reset(): void {
    this.knobs = { ...DEFAULT_KNOBS };
    this.codes.clear();
    this.tokens.clear();
    this.refresh.clear();
    this.posts.length = 0;
    this.media.clear();
    this.log.length = 0;
    this.inbox.reset();
    this.refreshCalls = 0;
  }

  /** Every access token expires now (refresh tokens keep working), as after a long night. */
  expireTokens(): number {
    for (const t of this.tokens.values()) t.expiresAt = Date.now() - 1000;
    return this.tokens.size;
  }
}

/** What a network module gets to register its routes. */
export interface SimNetworkContext {
  app: FastifyInstance;
  state: NetworkState;
  /** Full URL of a path under this network's prefix (for links the simulator returns). */
  url(path: string): string;
  /**
   * Applies the knobs to a publishing call: latency, injected 5xx/429/malformed answers. Returns true
   * when it already answered. `acceptThenHang` is for the network to apply after storing the post.
   */
  interfere(reply: FastifyReply, style: ErrorStyle): Promise<boolean>;
  /** After a post is stored: when the knob says so, never answer (the client times out). */
  maybeHang(reply: FastifyReply): Promise<boolean>;
}

/** How a network shapes its errors, so injected failures look like the real thing. */
export interface ErrorStyle {
  rateLimited(retryAfterSeconds: number): { status: number; headers: Record<string, string>; body: unknown };
  serverError(): { status: number; body: unknown };
}

export function makeContext(app: FastifyInstance, state: NetworkState, baseUrl: () => string, prefix: string): SimNetworkContext {
  return {
    app, state,
    url: (path) => `${baseUrl()}${prefix}${path}`,
    async interfere(reply, style) {
      const k = state.knobs;
      if (k.latencyMs > 0) await sleep(k.latencyMs);
      if (k.rateLimitNext > 0) {
        k.rateLimitNext--;
        const r = style.rateLimited(k.retryAfterSeconds);
        reply.status(r.status).headers(r.headers).send(r.body);
        return true;
      }
      if (k.errorRate > 0 && Math.random() < k.errorRate) {
        const r = style.serverError();
        reply.status(r.status).send(r.body);
        return true;
      }
      if (k.malformedNext > 0) {
        k.malformedNext--;
        reply.status(200).type('application/json').send('{"data": <html>upstream error');
        return true;
      }
      return false;
    },
    async maybeHang(reply) {
      if (state.knobs.acceptThenHangNext > 0) {
        state.knobs.acceptThenHangNext--;
        // Hold the answer far longer than any client waits; the post is already stored. The timer does
        // not keep the process alive, so a test that is done can exit.
        await sleep(120_000, undefined, { ref: false });
        reply.raw.destroy();
        return true;
      }
      return false;
    },
  };
}

// Account figures that grow over time, the same for a user and an instant on every run: each user starts
// from its own count on SIM_EPOCH and gains followers at its own rate, and each day has its own insights.
const SIM_EPOCH = Date.UTC(2024, 0, 1);
const SIM_DAY = 86_400_000;

function seedOf(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0);
}

/** A user's followers and following at `at` (ms): followers grow every day, following stays. */
export function simAudience(userId: string, at: number): { followers: number; following: number } {
  const h = seedOf(userId);
  const days = Math.max(0, Math.floor((at - SIM_EPOCH) / SIM_DAY));
  return { followers: 100 + (h % 900) + days * (2 + (h % 5)), following: 50 + ((h >>> 8) % 300) };
}

/** A user's insights for a UTC day (YYYY-MM-DD): impressions rise slowly over the days, the rest follows them. */
export function simDayInsights(userId: string, date: string): { reach: number; impressions: number; profileViews: number; engagement: number } {
  const h = seedOf(`${userId}|${date}`);
  const days = Math.max(0, Math.floor((Date.parse(`${date}T00:00:00Z`) - SIM_EPOCH) / SIM_DAY));
  const impressions = 200 + days + (h % 300);
  return {
    impressions,
    reach: Math.floor((impressions * (50 + ((h >>> 8) % 30))) / 100),
    profileViews: (h >>> 16) % 40,
    engagement: Math.floor((impressions * (1 + ((h >>> 24) % 8))) / 100),
  };
}

/** The UTC day of an instant, YYYY-MM-DD. */
export const simDay = (at: number): string => new Date(at).toISOString().slice(0, 10);
