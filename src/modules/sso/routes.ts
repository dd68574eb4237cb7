// Single sign-on routes (docs/SSO.md). The browser's part, /api/auth/sso/start and /api/auth/sso/callback, is
// navigated to, not fetched: success and refusal alike answer with a redirect, a refusal to the sign-in page
// with its code and a message for the person (`/sign-in?sso_error=CODE&sso_message=…`). The settings and
// domains live under /api/workspaces/:workspaceId/sso, for signed-in owners and admins (sso.manage).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../../domain/errors.ts';
import { REFRESH_COOKIE, requestContext, userOf, type AuthGuards } from '../auth/index.ts';
import { DateTime, Uuid, WorkspaceParams, errors, iso, isoOrNull, type WorkspaceAccessFactory } from '../workspaces/index.ts';
import { ADMIN_MAILBOXES, JIT_ROLES, type SsoDomain, type SsoService, type SsoSettings } from './service.ts';

export interface SsoRouteDeps {
  sso: SsoService;
  guards: AuthGuards;
  secureCookies: boolean;
  publicUrl: string;
}

const BINDING_COOKIE = 'allin_sso';
const BINDING_PATH = '/api/auth/sso';
const tags = ['sso'];
const Redirect = Type.Null({ description: 'A redirect (Location)' });

/** The browser's part: start, callback, and the mailed domain-verification link. */
export const ssoAuthRoutes: FastifyPluginAsyncTypebox<SsoRouteDeps> = async (app, d) => {
  const toSignIn = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof DomainError)) throw err;
    const q = new URLSearchParams({ sso_error: err.code, sso_message: err.message });
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${d.publicUrl}/sign-in?${q}`, 303);
  };

  app.get('/api/auth/sso/start', {
    preHandler: d.guards.anonymous,
    schema: {
      tags, summary: 'Start single sign-on: redirects to the workspace\'s identity provider',
      description: 'Give the work email address (its verified domain names the workspace) or the workspace id. Answers 302 to the identity provider, with a short-lived cookie that ties the sign-in to this browser; '
        + 'a refusal (no workspace signs in that domain with SSO, the provider unreachable) answers 303 to /sign-in?sso_error=CODE&sso_message=….',
      querystring: Type.Object({
        email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
        workspace: Type.Optional(Uuid('Workspace id')),
      }, { additionalProperties: false }),
      response: { 302: Redirect, 303: Redirect, ...errors(400, 429) },
    },
  }, async (req, reply) => {
    try {
      const r = await d.sso.start({ email: req.query.email, workspaceId: req.query.workspace });
      reply.setCookie(BINDING_COOKIE, r.binding, { httpOnly: true, secure: d.secureCookies, sameSite: 'lax', path: BINDING_PATH, maxAge: 600 });
      reply.header('cache-control', 'no-store');
      return reply.redirect(r.url, 302);
    } catch (err) {
      return toSignIn(reply, err);
    }
  });

  app.get('/api/auth/sso/callback', {
    preHandler: d.guards.anonymous,
    schema: {
      tags, summary: 'Where the identity provider sends the browser back (its redirect URI)',
      description: 'Checks state (single use, this browser), exchanges the code with PKCE, checks the ID token (signature, issuer, audience, expiry, nonce), then requires a verified email in a verified domain of the workspace. '
        + 'Success sets the refresh cookie (as a sign-in with refreshTokenTransport "cookie") and answers 303 to the app; a refusal answers 303 to /sign-in?sso_error=CODE&sso_message=….',
      // What OpenID Connect providers send back; others (session_state…) are kept for the code exchange.
      querystring: Type.Object({
        code: Type.Optional(Type.String({ maxLength: 4096 })),
        state: Type.Optional(Type.String({ maxLength: 512 })),
        iss: Type.Optional(Type.String({ maxLength: 512 })),
        error: Type.Optional(Type.String({ maxLength: 256 })),
        error_description: Type.Optional(Type.String({ maxLength: 1024 })),
      }, { additionalProperties: Type.String({ maxLength: 4096 }) }),
      response: { 303: Redirect, ...errors(400, 429) },
    },
  }, async (req, reply) => {
    const binding = req.cookies[BINDING_COOKIE];
    reply.clearCookie(BINDING_COOKIE, { path: BINDING_PATH, httpOnly: true, secure: d.secureCookies, sameSite: 'lax' });
    try {
      const query = Object.fromEntries(Object.entries(req.query as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const t = await d.sso.callback(query, binding, requestContext(req));
      reply.setCookie(REFRESH_COOKIE, t.refreshToken, { httpOnly: true, secure: d.secureCookies, sameSite: 'strict', path: '/api/auth', expires: t.sessionExpiresAt });
      reply.header('cache-control', 'no-store');
      return reply.redirect(`${d.publicUrl}/`, 303);
    } catch (err) {
      return toSignIn(reply, err);
    }
  });

  app.post('/api/sso/domains/verify', {
    preHandler: d.guards.anonymous,
    schema: {
      tags, summary: 'Verify a domain with the link mailed to its administrator',
      description: 'The token from the mailed link (after #token=). No sign-in needed: the domain\'s administrator may have no AllIN account. Works once.',
      body: Type.Object({ token: Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ domain: Type.String(), workspace: Type.String() }), ...errors(400, 409, 429) },
    },
  }, async (req) => d.sso.verifyByMailToken(req.body.token, requestContext(req)));
};

const SettingsSchema = Type.Object({
  configured: Type.Boolean(),
  issuer: Type.Union([Type.String(), Type.Null()]),
  clientId: Type.Union([Type.String(), Type.Null()]),
  defaultRole: Type.Union([Type.Enum([...JIT_ROLES]), Type.Null()]),
  ssoOnly: Type.Boolean({ description: 'People of the verified domains sign in only through SSO (password and passkey sign-in refused)' }),
  callbackUrl: Type.String({ description: 'The redirect URI to register at the identity provider' }),
  updatedAt: Type.Union([DateTime, Type.Null()]),
}, { description: 'The client secret is never returned.' });
const DomainSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  domain: Type.String(),
  verified: Type.Boolean(),
  verifiedAt: Type.Union([DateTime, Type.Null()]),
  verifiedBy: Type.Union([Type.Literal('dns'), Type.Literal('mail'), Type.Null()]),
  txtRecord: Type.Object({ name: Type.String(), value: Type.String() }, { description: 'The DNS TXT record that proves the domain' }),
  createdAt: DateTime,
});
const DomainParams = Type.Object({ workspaceId: Uuid('Workspace id'), domainId: Uuid('Domain id') });

const domainOut = (x: SsoDomain) => ({ ...x, verifiedAt: isoOrNull(x.verifiedAt), createdAt: iso(x.createdAt) });

/** Settings and domains, under /api/workspaces/:workspaceId (registered in the workspace scope). */
export const ssoWorkspaceRoutes: FastifyPluginAsyncTypebox<SsoRouteDeps & { workspaceAccess: WorkspaceAccessFactory }> = async (app, d) => {
  // People only: an API key cannot change how people sign in.
  const manage = [d.guards.user, d.workspaceAccess('sso.manage')];
  const settingsOut = (s: SsoSettings | null) => ({
    configured: s !== null, issuer: s?.issuer ?? null, clientId: s?.clientId ?? null, defaultRole: s?.defaultRole ?? null, ssoOnly: s?.ssoOnly ?? false,
    callbackUrl: d.sso.callbackUrl, updatedAt: s ? iso(s.updatedAt) : null,
  });

  app.get('/sso', {
    preHandler: manage,
    schema: { tags, summary: 'The workspace\'s single sign-on settings (never the client secret)', params: WorkspaceParams, response: { 200: SettingsSchema, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => settingsOut(await d.sso.settings(req.params.workspaceId)));

  app.put('/sso', {
    preHandler: manage,
    schema: {
      tags, summary: 'Set the workspace\'s OpenID Connect identity provider',
      description: 'The issuer\'s discovery document is read now (a wrong URL is said here). The client secret is stored encrypted and never shown again; leave it out to keep the stored one (refused when issuer or client id change). '
        + 'An issuer on a private or loopback address is refused unless the operator set SSO_ALLOW_PRIVATE_ISSUERS=true. Turning ssoOnly on ends the sessions of the verified domains\' people that were not opened by SSO.',
      params: WorkspaceParams,
      body: Type.Object({
        issuer: Type.String({ minLength: 1, maxLength: 500, description: 'The issuer URL, e.g. https://accounts.google.com or https://login.example.com/realms/acme' }),
        clientId: Type.String({ minLength: 1, maxLength: 500 }),
        clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
        defaultRole: Type.Enum([...JIT_ROLES], { description: 'The role of a person who joins by signing in for the first time' }),
        ssoOnly: Type.Boolean(),
      }, { additionalProperties: false }),
      response: { 200: SettingsSchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => settingsOut(await d.sso.configure(req.params.workspaceId, req.body, userOf(req).userId, requestContext(req))));

  app.delete('/sso', {
    preHandler: manage,
    schema: { tags, summary: 'Turn single sign-on off (domains stay verified)', params: WorkspaceParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.sso.remove(req.params.workspaceId, userOf(req).userId, requestContext(req));
    return reply.status(204).send(null);
  });

  app.get('/sso/domains', {
    preHandler: manage,
    schema: {
      tags, summary: 'The email domains the workspace claimed (at most 20, all in one answer)', params: WorkspaceParams,
      response: { 200: Type.Object({ items: Type.Array(DomainSchema) }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => ({ items: (await d.sso.domains(req.params.workspaceId)).map(domainOut) }));

  app.post('/sso/domains', {
    preHandler: manage,
    schema: {
      tags, summary: 'Claim an email domain; prove it with the TXT record or a mail to its administrator',
      description: 'A domain verified by another workspace answers 409 DOMAIN_TAKEN.',
      params: WorkspaceParams,
      body: Type.Object({ domain: Type.String({ minLength: 1, maxLength: 253, description: 'e.g. example.com' }) }, { additionalProperties: false }),
      response: { 201: DomainSchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    reply.status(201);
    return domainOut(await d.sso.claimDomain(req.params.workspaceId, req.body.domain, userOf(req).userId, requestContext(req)));
  });

  app.post('/sso/domains/:domainId/verify-dns', {
    preHandler: manage,
    schema: {
      tags, summary: 'Check the domain\'s TXT record now',
      description: '400 DOMAIN_NOT_VERIFIED while the record is not found (DNS changes take a while to show).',
      params: DomainParams, response: { 200: DomainSchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req) => domainOut(await d.sso.verifyByDns(req.params.workspaceId, req.params.domainId, userOf(req).userId, requestContext(req))));

  app.post('/sso/domains/:domainId/verification-mail', {
    preHandler: manage,
    schema: {
      tags, summary: 'Mail a single-use verification link to an administrator address of the domain',
      description: 'The link is valid 24 hours and replaces an earlier one; at most 5 mails per workspace and hour.',
      params: DomainParams,
      body: Type.Object({ mailbox: Type.Enum([...ADMIN_MAILBOXES], { description: 'The mailbox at the domain: admin, administrator, hostmaster, postmaster or webmaster' }) }, { additionalProperties: false }),
      response: { 202: Type.Object({ sentTo: Type.String(), expiresAt: DateTime }), ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const r = await d.sso.sendVerificationMail(req.params.workspaceId, req.params.domainId, req.body.mailbox, userOf(req).userId, requestContext(req));
    reply.status(202);
    return { sentTo: r.sentTo, expiresAt: iso(r.expiresAt) };
  });

  app.delete('/sso/domains/:domainId', {
    preHandler: manage,
    schema: { tags, summary: 'Give up a domain', params: DomainParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.sso.removeDomain(req.params.workspaceId, req.params.domainId, userOf(req).userId, requestContext(req));
    return reply.status(204).send(null);
  });
};
