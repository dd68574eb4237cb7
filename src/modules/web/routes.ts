// The web app (web/, built by Vite into web/dist) served at `/`: its hashed assets are immutable, its
// page is never cached without asking again and runs under a strict Content-Security-Policy (scripts
// and styles from this origin only, nothing inline). The page is answered at `/` and at each of the
// app's own paths (APP_PATHS, for deep links and the links in mails); every other unknown URL keeps the
// API's JSON 404. Without web/dist (an installation that did not build the app), `/` says where the
// API documentation is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { PROJECT_ROOT } from '../../paths.ts';

export const WEB_DIST = join(PROJECT_ROOT, 'web', 'dist');

/**
 * First segments of the app's routes (web/src/routes.ts). Mails link to /verify-email, /reset-password,
 * /sign-in, /forgot-password, /invitations, /accounts, /posts/{id} and /sso/verify-domain; the OAuth callback redirects to
 * /accounts. None may be a server path (/api, /docs, /media, /metrics, /health, /.well-known).
 */
export const APP_PATHS = [
  'sign-in', 'sign-up', 'verify-email', 'forgot-password', 'reset-password', 'invitations', 'dev-mail', 'workspaces',
  'accounts', 'compose', 'posts', 'calendar', 'queue', 'feeds', 'library', 'approvals', 'inbox', 'members', 'settings', 'security', 'analytics', 'sso',
] as const;

/** The policy of the app's page: everything from this origin; images also from blob: (previews) and https: (avatars). */
export const APP_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data: https:", "media-src 'self' blob:",
  "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy': APP_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

export const webAppRoutes: FastifyPluginAsync<{ dir?: string; version: string }> = async (app, opts) => {
  const dir = opts.dir ?? WEB_DIST;
  const hidden = { schema: { hide: true } };
  // Read once: a new build is served after a restart (`npm start` builds before it starts).
  let page: Buffer | undefined;
  try {
    page = readFileSync(join(dir, 'index.html'));
  } catch {
    page = undefined;
  }
  if (!page) {
    app.log.info({ dir }, 'the web app is not built (no web/dist/index.html): / points to /docs; `npm run build:web` builds it');
    app.get('/', hidden, async (_req, reply) => {
      reply.header('cache-control', 'no-cache');
      return {
        name: 'AllIN', version: opts.version,
        message: 'This installation has no web app (web/dist is missing; `npm run build:web` builds it). The API is described at /docs.',
        docs: '/docs', openapi: '/openapi.json', health: '/api/health',
      };
    });
    return;
  }

  const body = page;
  const sendPage = (reply: FastifyReply) => reply.headers(PAGE_HEADERS).send(body);

  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // One route per built file (no catch-all), so unknown URLs stay the API's 404.
    wildcard: false,
    index: false,
    globIgnore: ['index.html'],
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header('x-content-type-options', 'nosniff');
      // Vite names every file under assets/ by its content hash: a changed file is a new URL.
      reply.header('cache-control', /[/\\]assets[/\\]/.test(path) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    },
  });
  app.get('/', hidden, async (_req, reply) => sendPage(reply));
  app.get('/index.html', hidden, async (_req, reply) => sendPage(reply));
  for (const p of APP_PATHS) {
    app.get(`/${p}`, hidden, async (_req, reply) => sendPage(reply));
    app.get(`/${p}/*`, hidden, async (_req, reply) => sendPage(reply));
  }
};
