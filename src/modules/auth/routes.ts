// /api/auth/*: accounts and sessions. Paths are fixed (the `baseline` and `scaled` load tests, taken over
// from the previous AllIN backend, call /api/auth/login).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '../../http/errors.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthService, IssuedTokens } from './service.ts';
import type { AuthGuards } from './authenticate.ts';
import { requestContext, userOf } from './authenticate.ts';
import type { SessionService } from './sessions.ts';
import type { TokenService } from './tokens.ts';
import type { SecondFactorService } from './second-factor.ts';
import { listAudit } from '../audit/index.ts';
import { AuditQuery } from '../audit/index.ts';
import type { Db } from '../../infra/db/client.ts';
import { AuthenticationResponse, Proof, proofOf, secondFactorRoutes, WebAuthnOptions } from './second-factor-routes.ts';
import type { PasskeyService } from './passkeys.ts';

export interface AuthRouteDeps {
  auth: AuthService;
  sessions: SessionService;
  tokens: TokenService;
  secondFactor: SecondFactorService;
  passkeys: PasskeyService;
  guards: AuthGuards;
  db: Db;
  secureCookies: boolean;
}

export const REFRESH_COOKIE = 'allin_refresh';
const COOKIE_PATH = '/api/auth';

const Email = Type.String({ format: 'email', maxLength: 254, description: 'Email address' });
const Password = Type.String({ minLength: 1, maxLength: 512, description: '8 to 128 characters; common or easily guessed passwords are refused' });
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const OpaqueToken = Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });
const Accepted = Type.Object({ message: Type.String() });
const Err = Type.Ref('Error');
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Err]));

const TokenResponse = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  accessTokenExpiresAt: Type.String({ format: 'date-time' }),
  refreshToken: Type.Optional(Type.String({ description: 'Absent when it travels in the httpOnly cookie' })),
  session: Type.Object({ id: Type.String({ format: 'uuid' }), expiresAt: Type.String({ format: 'date-time' }) }),
  userId: Type.String({ format: 'uuid' }),
});

const ChallengeResponse = Type.Object({
  secondFactorRequired: Type.Literal(true),
  challengeToken: Type.String({ description: 'Send it with a code to POST /api/auth/login/second-factor. It is not a session: no other route accepts it.' }),
  challengeExpiresAt: Type.String({ format: 'date-time' }),
  methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('passkey'), Type.Literal('recovery_code')]), { description: 'The factors the account has for the next step' }),
}, { description: 'The password was right and the account has a second factor: no session yet.' });

const Amr = Type.Array(Type.String(), { description: 'How this session was signed in (RFC 8176 names): pwd (password), otp (authenticator app code), hwk or swk (a passkey bound to one authenticator, or synced), mfa (a passkey that verified the person), recovery (a recovery code)' });

const Transport = Type.Optional(Type.Union([Type.Literal('body'), Type.Literal('cookie')], {
  description: 'Where the refresh token travels: in the JSON body (API clients, the default) or in an httpOnly, Secure, SameSite=Strict cookie scoped to /api/auth (browsers).',
}));

const SessionItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  current: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  rememberMe: Type.Boolean(),
  amr: Amr,
});

const Me = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  timeZone: Type.Union([Type.String(), Type.Null()], { description: 'The IANA zone you read times in; null: each workspace\'s own' }),
  emailVerified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  workspaces: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), role: Type.String() })),
});

export const authRoutes: FastifyPluginAsyncTypebox<AuthRouteDeps> = async (app, d) => {
  const { guards } = d;
  const tags = ['auth'];

  const sendTokens = (reply: FastifyReply, t: IssuedTokens & { userId: string }, viaCookie: boolean): Static<typeof TokenResponse> => {
    if (viaCookie) {
      reply.setCookie(REFRESH_COOKIE, t.refreshToken, {
        httpOnly: true, secure: d.secureCookies, sameSite: 'strict', path: COOKIE_PATH, expires: t.sessionExpiresAt,
      });
    }
    reply.header('cache-control', 'no-store');
    return {
      tokenType: 'Bearer', accessToken: t.accessToken, accessTokenExpiresAt: t.accessTokenExpiresAt.toISOString(),
      ...(viaCookie ? {} : { refreshToken: t.refreshToken }),
      session: { id: t.sessionId, expiresAt: t.sessionExpiresAt.toISOString() }, userId: t.userId,
    };
  };
  const clearCookie = (reply: FastifyReply) => reply.clearCookie(REFRESH_COOKIE, { path: COOKIE_PATH, secure: d.secureCookies, httpOnly: true, sameSite: 'strict' });

  app.post('/api/auth/register', {
    schema: {
      tags, summary: 'Create an account; a verification link is mailed',
      description: 'Answers 202 the same way whether or not the email already has an account (the owner of an existing account is mailed instead).',
      body: Type.Object({ email: Email, password: Password, name: Name }, { additionalProperties: false }),
      response: { 202: Accepted, ...errors(400, 429, 503) },
    },
  }, async (req, reply) => {
    await d.auth.register(req.body, requestContext(req));
    reply.status(202);
    return { message: 'Check your inbox: we sent a link to confirm the address.' };
  });

  app.post('/api/auth/verify-email', {
    preHandler: guards.anonymous,
    schema: { tags, summary: 'Confirm an email address with the mailed token', body: Type.Object({ token: OpaqueToken }, { additionalProperties: false }),
      response: { 200: Type.Object({ verified: Type.Literal(true) }), ...errors(400, 429) } },
  }, async (req) => {
    await d.auth.verifyEmail(req.body.token, requestContext(req));
    return { verified: true as const };
  });

  app.post('/api/auth/resend-verification', {
    schema: { tags, summary: 'Mail a new verification link (answers the same whether or not the email has an account)',
      body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Accepted, ...errors(400, 429) } },
  }, async (req, reply) => {
    await d.auth.resendVerification(req.body.email, requestContext(req));
    reply.status(202);
    return { message: 'If that address has an unconfirmed account, a new link is on its way.' };
  });

  app.post('/api/auth/login', {
    schema: {
      tags, summary: 'Sign in; returns an access token and a refresh token, or the second-factor step',
      description: 'Failed attempts are limited per account and IP, per IP and per account; successful sign-ins are never counted. When password hashing is at capacity the answer is 503 with Retry-After. ' +
        'For an account with a second factor, a right password answers `secondFactorRequired: true` with a challenge token (valid 5 minutes, single use) and no session: finish with POST /api/auth/login/second-factor.',
      body: Type.Object({ email: Email, password: Password, rememberMe: Type.Optional(Type.Boolean()), refreshTokenTransport: Transport },
        { additionalProperties: false }),
      response: { 200: Type.Union([TokenResponse, ChallengeResponse]), ...errors(400, 401, 403, 429, 503) },
    },
  }, async (req, reply) => {
    const t = await d.auth.login(req.body, requestContext(req));
    if ('secondFactorRequired' in t) {
      reply.header('cache-control', 'no-store');
      return { ...t, challengeExpiresAt: t.challengeExpiresAt.toISOString() };
    }
    return sendTokens(reply, t, req.body.refreshTokenTransport === 'cookie');
  });

  app.post('/api/auth/login/second-factor', {
    preHandler: guards.anonymous,
    schema: {
      tags, summary: 'Finish signing in with a code from the authenticator app, a passkey, or a recovery code',
      description: 'Send the challenge token from POST /api/auth/login and one of `code` (6 digits), `passkey` (the assertion for the options of POST /api/auth/login/second-factor/passkey-options) or `recoveryCode`. A code works once; a recovery code works once. ' +
        'Wrong codes count against the account\'s failed sign-in limits (429 with Retry-After past them), and a challenge takes only a few before it must be asked for again.',
      body: Type.Object({ challengeToken: OpaqueToken, ...Proof, refreshTokenTransport: Transport }, { additionalProperties: false }),
      response: { 200: TokenResponse, ...errors(400, 401, 429) },
    },
  }, async (req, reply) => {
    const t = await d.auth.completeSecondFactor(req.body.challengeToken, proofOf(req.body), requestContext(req));
    return sendTokens(reply, t, req.body.refreshTokenTransport === 'cookie');
  });

  app.post('/api/auth/login/second-factor/passkey-options', {
    preHandler: guards.anonymous,
    schema: {
      tags, summary: 'Options for finishing a sign-in with a passkey: pass them to navigator.credentials.get()',
      description: 'The challenge is bound to the challenge token, works once and expires after 2 minutes; send the answer with the challenge token to POST /api/auth/login/second-factor as `passkey`.',
      body: Type.Object({ challengeToken: OpaqueToken }, { additionalProperties: false }),
      response: { 200: Type.Object({ options: WebAuthnOptions('PublicKeyCredentialRequestOptionsJSON, allowing the account\'s passkeys') }), ...errors(400, 401, 409, 429) },
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return { options: await d.secondFactor.secondFactorPasskeyOptions(req.body.challengeToken) };
  });

  app.post('/api/auth/passkey/options', {
    preHandler: guards.anonymous,
    schema: {
      tags, summary: 'Sign in with a passkey alone, step 1: options for navigator.credentials.get() and the ceremony token',
      description: 'No email needed: the browser offers the passkeys it has for this site. The challenge works once and expires after 2 minutes; it is bound to `ceremonyToken`, which only this answer carries: send both to POST /api/auth/passkey/login.',
      response: { 200: Type.Object({ ceremonyToken: Type.String(), options: WebAuthnOptions('PublicKeyCredentialRequestOptionsJSON, with user verification required') }), ...errors(429) },
    },
  }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return d.passkeys.signInOptions();
  });

  app.post('/api/auth/passkey/login', {
    preHandler: guards.anonymous,
    schema: {
      tags, summary: 'Sign in with a passkey alone, step 2: the authenticator\'s answer; returns the tokens',
      description: 'The passkey must verify you (a PIN or biometric): that and holding the key are two factors, so no password is asked and the session counts as having proven a second factor (amr: hwk or swk, and mfa). ' +
        'A refused passkey counts against its account\'s failed sign-in limits (429 with Retry-After past them).',
      body: Type.Object({
        ceremonyToken: OpaqueToken, response: AuthenticationResponse, rememberMe: Type.Optional(Type.Boolean()), refreshTokenTransport: Transport,
      }, { additionalProperties: false }),
      response: { 200: TokenResponse, ...errors(400, 401, 403, 429) },
    },
  }, async (req, reply) => {
    const t = await d.auth.passkeySignIn(req.body.ceremonyToken, req.body.response as Parameters<AuthService['passkeySignIn']>[1], req.body.rememberMe === true, requestContext(req));
    return sendTokens(reply, t, req.body.refreshTokenTransport === 'cookie');
  });

  app.post('/api/auth/refresh', {
    preHandler: guards.anonymous,
    schema: {
      tags, summary: 'Exchange a refresh token for new tokens (the refresh token rotates)',
      description: 'Send the refresh token in the body, or rely on the cookie set at sign-in. Re-sending the previous token within a short grace window returns the current one; an older token signs the session out.',
      body: Type.Optional(Type.Object({ refreshToken: Type.Optional(OpaqueToken) }, { additionalProperties: false })),
      response: { 200: TokenResponse, ...errors(400, 401, 429) },
    },
  }, async (req, reply) => {
    const fromBody = req.body?.refreshToken;
    const fromCookie = req.cookies[REFRESH_COOKIE];
    const token = fromBody ?? fromCookie;
    if (!token) throw new ApiError(400, 'VALIDATION_FAILED', 'body.refreshToken is required (or the refresh cookie set at sign-in)');
    try {
      const t = await d.auth.refresh(token, requestContext(req));
      return sendTokens(reply, t, !fromBody);
    } catch (err) {
      if (!fromBody) clearCookie(reply);
      throw err;
    }
  });

  app.post('/api/auth/logout', {
    // A client may sign out with no body at all (and no content type): that means this session.
    preValidation: async (req) => { if (req.body === undefined || req.body === null) req.body = {}; },
    preHandler: guards.user,
    schema: {
      tags, summary: 'Sign out this session, the other sessions, or all of them',
      body: Type.Optional(Type.Object({ scope: Type.Optional(Type.Union([Type.Literal('session'), Type.Literal('others'), Type.Literal('all')], { default: 'session' })) },
        { additionalProperties: false })),
      response: { 200: Type.Object({ revoked: Type.Integer() }), ...errors(400, 401) },
    },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    const scope = req.body?.scope ?? 'session';
    const revoked = await d.auth.logout(userId, sessionId, scope, requestContext(req));
    if (scope !== 'others') clearCookie(reply);
    return { revoked };
  });

  app.get('/api/auth/me', {
    preHandler: guards.user,
    schema: { tags, summary: 'The signed-in user and their workspaces', response: { 200: Me, ...errors(401) } },
  }, async (req) => {
    const me = await d.auth.me(userOf(req).userId);
    return { ...me, createdAt: me.createdAt.toISOString() };
  });

  app.patch('/api/auth/me', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'Change your name or time zone',
      description: 'Send only what changes. `timeZone` is an IANA zone (e.g. Europe/Berlin) the web app shows times in; null goes back to each workspace\'s own zone.',
      body: Type.Object({
        name: Type.Optional(Name),
        timeZone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
      }, { additionalProperties: false }),
      response: { 200: Me, ...errors(400, 401, 429) },
    },
  }, async (req) => {
    const me = await d.auth.updateProfile(userOf(req).userId, req.body, requestContext(req));
    return { ...me, createdAt: me.createdAt.toISOString() };
  });

  app.get('/api/auth/sessions', {
    preHandler: guards.user,
    schema: {
      tags, summary: 'My active sessions, newest sign-in first, a page at a time',
      querystring: Type.Object(pageQuery('sessions', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ sessions: Type.Array(SessionItem), nextCursor: NextCursor }), ...errors(400, 401) },
    },
  }, async (req) => {
    const { userId, sessionId } = userOf(req);
    const { items, nextCursor } = await d.sessions.list(userId, req.query);
    return {
      nextCursor,
      sessions: items.map((s) => ({
        ...s, current: s.id === sessionId, createdAt: s.createdAt.toISOString(), lastUsedAt: s.lastUsedAt.toISOString(), expiresAt: s.expiresAt.toISOString(),
      })),
    };
  });

  app.delete('/api/auth/sessions/:sessionId', {
    preHandler: guards.user,
    schema: { tags, summary: 'Sign out one of my sessions', params: Type.Object({ sessionId: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...errors(400, 401, 404) } },
  }, async (req, reply) => {
    await d.auth.revokeSession(userOf(req).userId, req.params.sessionId, requestContext(req));
    reply.status(204);
    return null;
  });

  app.post('/api/auth/password', {
    preHandler: guards.user,
    schema: { tags, summary: 'Change my password (signs out my other sessions)',
      description: 'A wrong current password counts as a failed sign-in of the account (429 with Retry-After past the limit). With a second factor, the session must have proven it in the last 5 minutes (403 STEP_UP_REQUIRED: see POST /api/auth/step-up).',
      body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
      response: { 200: Type.Object({ otherSessionsEnded: Type.Integer() }), ...errors(400, 401, 403, 429, 503) } },
  }, async (req) => {
    const { userId, sessionId } = userOf(req);
    return { otherSessionsEnded: await d.auth.changePassword(userId, sessionId, req.body.currentPassword, req.body.newPassword, requestContext(req)) };
  });

  app.post('/api/auth/forgot-password', {
    schema: { tags, summary: 'Mail a password-reset link (answers the same whether or not the email has an account)',
      body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Accepted, ...errors(400, 429) } },
  }, async (req, reply) => {
    await d.auth.forgotPassword(req.body.email, requestContext(req));
    reply.status(202);
    return { message: 'If that address has an account, a reset link is on its way. It works once, within an hour.' };
  });

  app.post('/api/auth/reset-password', {
    preHandler: guards.anonymous,
    schema: { tags, summary: 'Set a new password with the mailed token (signs out every session)',
      body: Type.Object({ token: OpaqueToken, newPassword: Password }, { additionalProperties: false }),
      response: { 200: Type.Object({ reset: Type.Literal(true) }), ...errors(400, 429, 503) } },
  }, async (req) => {
    await d.auth.resetPassword(req.body.token, req.body.newPassword, requestContext(req));
    return { reset: true as const };
  });

  app.delete('/api/auth/me', {
    preHandler: guards.user,
    schema: { tags, summary: 'Delete my account (confirm with the password)',
      description: 'Workspaces where you are the only member are deleted with it; if you are the last owner of a workspace with other members, transfer ownership first (409). A wrong password counts as a failed sign-in of the account (429 with Retry-After past the limit). With a second factor, the session must have proven it in the last 5 minutes (403 STEP_UP_REQUIRED).',
      body: Type.Object({ password: Password }, { additionalProperties: false }), response: { 204: Type.Null(), ...errors(400, 401, 403, 409, 429, 503) } },
  }, async (req, reply) => {
    const { userId, sessionId } = userOf(req);
    await d.auth.deleteAccount(userId, sessionId, req.body.password, requestContext(req));
    clearCookie(reply);
    reply.status(204);
    return null;
  });

  app.get('/api/auth/activity', {
    preHandler: guards.user,
    schema: { tags, summary: 'Security events of my account (sign-ins, failures, password changes, revocations)',
      querystring: AuditQuery,
      response: { 200: Type.Object({ events: Type.Array(Type.Object({
        id: Type.Integer(), action: Type.String(), createdAt: Type.String({ format: 'date-time' }),
        ip: Type.Union([Type.String(), Type.Null()]), userAgent: Type.Union([Type.String(), Type.Null()]),
        amr: Type.Optional(Amr),
      })), nextCursor: NextCursor }), ...errors(400, 401) } },
  }, async (req) => {
    const { events, nextCursor } = await listAudit(d.db, { actorUserId: userOf(req).userId }, req.query);
    return {
      events: events.map((r) => {
        const amr = (r.details as { amr?: unknown } | null)?.amr;
        return { id: r.id, action: r.action, createdAt: r.createdAt.toISOString(), ip: r.ip, userAgent: r.userAgent, ...(Array.isArray(amr) ? { amr: amr.map(String) } : {}) };
      }),
      nextCursor,
    };
  });

  secondFactorRoutes(app, { auth: d.auth, secondFactor: d.secondFactor, passkeys: d.passkeys, guards });

  app.get('/.well-known/jwks.json', {
    schema: { tags, summary: 'Public keys that verify AllIN access tokens (JWK Set)',
      response: { 200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }) } },
  }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return d.tokens.jwks();
  });
};

export type { FastifyRequest };
