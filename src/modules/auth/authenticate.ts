// Who is calling: a signed-in user (access token) or a workspace API key, both as a Bearer token.
// Access tokens are checked against the shared revocation list on every request, so a revoked session
// stops working at once on every API process (PostgreSQL decides when the list cannot vouch: see
// SessionService.isRevoked). Each caller is rate limited (per user, per key); routes
// open to anonymous callers are limited per IP.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Forbidden, Unauthenticated } from '../../domain/errors.ts';
import { consume, rateLimitHeaders, tooMany, type Limiter } from '../../infra/rate-limit.ts';
import type { SessionService } from './sessions.ts';
import { TokenError, type TokenService } from './tokens.ts';
import type { RequestContext } from '../audit/index.ts';

export type Caller =
  | { kind: 'user'; userId: string; sessionId: string }
  | { kind: 'apiKey'; keyId: string; workspaceId: string; scopes: string[]; createdBy: string | null };

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export interface AuthGuards {
  /** A signed-in user (API keys are refused: account routes are for people). */
  user: preHandlerAsyncHookHandler;
  /** A signed-in user or an API key. */
  any: preHandlerAsyncHookHandler;
  /** No caller needed; limited per IP. */
  anonymous: preHandlerAsyncHookHandler;
  /**
   * After `user` or `any`: a person with a second factor must have proven it in this session within the
   * last 5 minutes (403 STEP_UP_REQUIRED). API keys pass (no key can reach what this guards).
   */
  freshSecondFactor: preHandlerAsyncHookHandler;
}

export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof ua === 'string' ? ua : null };
}

const unauthorized = (code: string, message: string) => new Unauthenticated(code, message, 'invalid');

export function userOf(request: FastifyRequest): { userId: string; sessionId: string } {
  const c = request.caller;
  if (c?.kind !== 'user') throw new Unauthenticated('UNAUTHENTICATED', 'Sign in first.');
  return c;
}

/** What authentication needs of the API keys (the api-keys module builds on auth, so it is passed in). */
export interface ApiKeyAuthenticator {
  authenticate(key: string): Promise<{ id: string; workspaceId: string; scopes: string[]; createdBy: string | null } | null>;
}

export function registerAuthentication(app: FastifyInstance, deps: {
  tokens: TokenService;
  sessions: SessionService;
  apiKeys: ApiKeyAuthenticator;
  secondFactor: { assertFresh(userId: string, sessionId: string): Promise<void> };
  limits: { user: Limiter; apiKey: Limiter; ip: Limiter };
}): AuthGuards {
  app.decorateRequest('caller', null);

  const limit = async (l: Limiter, key: string, reply: FastifyReply) => {
    const r = await consume(l, key);
    if (!r.ok) throw tooMany(l, r.res, 'Too many requests.');
    reply.headers(rateLimitHeaders(l, r.res));
  };

  const identify = async (request: FastifyRequest): Promise<Caller> => {
    const header = request.headers.authorization;
    if (!header) throw new Unauthenticated('UNAUTHENTICATED', 'Sign in first: send Authorization: Bearer <access token or API key>.', 'missing');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthorized('INVALID_TOKEN', 'The Authorization header must be "Bearer <token>"');
    const token = m[1]!;
    if (token.startsWith('allin_')) {
      const key = await deps.apiKeys.authenticate(token);
      if (!key) throw unauthorized('INVALID_API_KEY', 'This API key is not valid or was revoked');
      return { kind: 'apiKey', keyId: key.id, workspaceId: key.workspaceId, scopes: key.scopes, createdBy: key.createdBy };
    }
    let claims;
    try {
      claims = await deps.tokens.verifyAccess(token);
    } catch (err) {
      if (err instanceof TokenError) throw unauthorized(err.code, err.message);
      throw err;
    }
    if (await deps.sessions.isRevoked(claims.sessionId)) throw unauthorized('SESSION_REVOKED', 'This session was signed out; sign in again');
    return { kind: 'user', userId: claims.userId, sessionId: claims.sessionId };
  };

  return {
    async user(request, reply) {
      const caller = await identify(request);
      if (caller.kind !== 'user') throw new Forbidden('USER_REQUIRED', 'This route is for signed-in people, not API keys.');
      request.caller = caller;
      await limit(deps.limits.user, caller.userId, reply);
    },
    async any(request, reply) {
      const caller = await identify(request);
      request.caller = caller;
      await limit(caller.kind === 'user' ? deps.limits.user : deps.limits.apiKey, caller.kind === 'user' ? caller.userId : caller.keyId, reply);
    },
    async anonymous(request, reply) {
      await limit(deps.limits.ip, request.ip, reply);
    },
    async freshSecondFactor(request) {
      const c = request.caller;
      if (c?.kind === 'user') await deps.secondFactor.assertFresh(c.userId, c.sessionId);
    },
  };
}
