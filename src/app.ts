// buildApp(deps): the Fastify instance with its plugins and route modules. Everything it needs is passed
// in, already connected: building the app never opens a connection (the previous AllIN backend failed
// to start because services built on import used Redis before it was connected).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { parseTrustProxy, type Config } from './config.ts';
import type { Logger } from './infra/logger.ts';
import type { Metrics } from './infra/metrics.ts';
import { registerErrorHandling, replyWithError, replyToClientError, ErrorBody } from './http/errors.ts';
import { trustProxyOption, timeoutOptions } from './http/server-options.ts';
import { normaliseRequestSchemas } from './http/request-schemas.ts';
import { REQUEST_AJV_OPTIONS, REQUEST_AJV_PLUGINS } from './http/request-validation.ts';
import { authenticateFirst } from './http/authenticate-first.ts';
import { declareOperationSecurity, SECURITY_SCHEMES, METRICS_TOKEN_SCHEME, type OperationGuard, type SecurityRequirement } from './http/openapi-security.ts';
import { genReqId, echoRequestId } from './http/request-id.ts';
import { registerHttpMetrics } from './http/metrics-hooks.ts';
import { registerLoadShedding } from './http/load-shedding.ts';
import { healthRoutes } from './modules/health/routes.ts';
import type { ReadinessService } from './modules/health/readiness.ts';
import { VERSION } from './version.ts';
import cookie from '@fastify/cookie';
import type { Services } from './services.ts';
import { registerAuthentication } from './modules/auth/authenticate.ts';
import { authRoutes } from './modules/auth/routes.ts';
import { devRoutes } from './modules/mail/dev-routes.ts';
import { registerWorkspaceAccess, type WorkspaceAccessFactory } from './modules/workspaces/access.ts';
import { SCOPES, type Permission, type Scope } from './modules/workspaces/permissions.ts';
import type { AuthGuards } from './modules/auth/authenticate.ts';
import { accountRoutes, networkRoutes } from './modules/accounts/routes.ts';
import { mediaLinkRoutes, mediaRoutes } from './modules/media/routes.ts';
import { feedRoutes } from './modules/feeds/index.ts';
import { templateRoutes } from './modules/templates/index.ts';
import { webhookRoutes } from './modules/webhooks/routes.ts';
import { postRoutes } from './modules/posts/routes.ts';
import { linkCardRoutes } from './modules/link-preview/routes.ts';
import { analyticsRoutes } from './modules/analytics/routes.ts';
import { insightsRoutes } from './modules/analytics/insights-routes.ts';
import { performanceRoutes } from './modules/analytics/performance-routes.ts';
import { reportRoutes } from './modules/analytics/report-routes.ts';
import { workspaceListRoutes, workspaceRoutes } from './modules/workspaces/routes.ts';
import { ssoAuthRoutes, ssoWorkspaceRoutes } from './modules/sso/index.ts';
import { workspaceScope } from './modules/workspaces/index.ts';
import { apiKeyRoutes } from './modules/api-keys/routes.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { webAppRoutes } from './modules/web/routes.ts';
import { inboxRoutes, metaWebhookRoutes } from './modules/inbox/index.ts';
import { assistantRoutes } from './modules/assistant/index.ts';
import { mcpRoutes } from './modules/mcp/index.ts';
import { linkRedirectRoutes, linkRoutes } from './modules/links/index.ts';

export type Role = 'start' | 'serve' | 'worker';

export interface AppDeps {
  services: Services;
  config: Config;
  log: Logger;
  metrics: Metrics;
  readiness: ReadinessService;
  role: Role;
}

/**
 * An operation's `security`, from the guards its route runs: a person's access token for `guards.user`
 * (an API key is refused with 403); for `guards.any`, also an API key, with the scopes that grant the
 * route's workspace permission (none: keys cannot, whatever their scopes), the gate answering 404 outside
 * the workspace and 403 inside it. Every guard answers 401 and, past its rate limit, 429. No guard: open.
 */
function operationGuard(hooks: readonly unknown[], guards: AuthGuards, permissionOf: WeakMap<object, Permission>): OperationGuard | undefined {
  const person: SecurityRequirement = { accessToken: [] };
  const permission = hooks.map((h) => (typeof h === 'function' ? permissionOf.get(h) : undefined)).find(Boolean);
  const refusals = [401, 429, ...(permission ? [403, 404] : [])];
  if (hooks.includes(guards.user)) return { security: [person], refusals: [...new Set([...refusals, 403])] };
  if (!hooks.includes(guards.any)) return undefined;
  if (!permission) return { security: [person, { apiKey: [] }], refusals };
  const scopes = (Object.keys(SCOPES) as Scope[]).filter((s) => (SCOPES[s] as readonly Permission[]).includes(permission));
  return { security: [person, ...scopes.map((s) => ({ apiKey: [s] }))], refusals };
}

/** Whether the caller of a long-lived answer (the inbox's events stream) may still read the workspace: a session not revoked, or an API key not revoked, of someone still a member. */
async function stillAllowed(services: Services, req: FastifyRequest, workspaceId: string): Promise<boolean> {
  const c = req.caller;
  if (c?.kind === 'user') return !(await services.sessions.isRevoked(c.sessionId)) && (await services.workspaces.roleOf(workspaceId, c.userId)) !== null;
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const key = token ? await services.apiKeys.authenticate(token) : null;
  return key !== null && key.createdBy !== null && (await services.workspaces.roleOf(workspaceId, key.createdBy)) !== null;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: !config.ACCESS_LOG }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(parseTrustProxy(config.TRUST_PROXY).value),
    ...timeoutOptions({
      headersMs: config.HTTP_HEADERS_TIMEOUT_MS, requestMs: config.HTTP_REQUEST_TIMEOUT_MS,
      idleMs: config.HTTP_IDLE_TIMEOUT_MS, keepAliveMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
    // Fastify's own refusals (a malformed URL, a parameter too long, a connection that is not HTTP) in the one error shape.
    frameworkErrors: (err, request, reply) => {
      reply.header('x-request-id', request.id);
      replyWithError(err, request, reply);
    },
    clientErrorHandler: replyToClientError,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    // The options and plugins every request check shares (http/request-validation.ts); ajv-formats is given
    // here so that Fastify does not add it after our own uuid format.
    ajv: { customOptions: { ...REQUEST_AJV_OPTIONS }, plugins: REQUEST_AJV_PLUGINS },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorBody);
  normaliseRequestSchemas(app);
  const httpMetrics = deps.metrics.enabled ? registerHttpMetrics(app, deps.metrics) : undefined;
  registerErrorHandling(app, { onNotFound: httpMetrics?.trackUnmatched });
  echoRequestId(app);
  registerLoadShedding(app, deps.metrics, {
    maxEventLoopDelayMs: config.SHED_EVENT_LOOP_DELAY_MS, maxHeapUsedRatio: config.SHED_HEAP_USED_RATIO, retryAfterSeconds: config.SHED_RETRY_AFTER_SECONDS,
  });
  const health = () => app.register(healthRoutes, {
    readiness: deps.readiness, metrics: deps.metrics, metricsToken: config.METRICS_TOKEN, version: VERSION, role: deps.role,
  });
  // A worker's port serves /health, /api/health and /metrics only: the API (sign-in included) is `allin
  // serve`'s, and a port opened for probes and scraping must not be a second, unguarded way in.
  if (deps.role === 'worker') {
    await health();
    return app;
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'AllIN API',
        version: VERSION,
        description: 'Schedule social media posts once and publish them exactly once. Errors share one shape: ' +
          '{ statusCode, code, message, details?, requestId }.',
      },
      servers: [{ url: config.PUBLIC_URL }],
      components: { securitySchemes: { ...SECURITY_SCHEMES, ...(config.METRICS_TOKEN ? { metricsToken: METRICS_TOKEN_SCHEME } : {}) } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(cookie);
  const { services } = deps;
  // Browsers accept Secure cookies over plain http only from localhost.
  const secureCookies = config.PUBLIC_URL.startsWith('https:') || new URL(config.PUBLIC_URL).hostname === 'localhost';
  const guards = registerAuthentication(app, {
    tokens: services.tokens, sessions: services.sessions, apiKeys: services.apiKeys, secondFactor: services.secondFactor, limits: services.apiLimits,
  });
  const permissionOf = new WeakMap<object, Permission>();
  declareOperationSecurity(app, (hooks) => operationGuard(hooks, guards, permissionOf));
  authenticateFirst(app, [guards.user, guards.any, guards.anonymous]);
  await app.register(authRoutes, {
    auth: services.auth, sessions: services.sessions, tokens: services.tokens, secondFactor: services.secondFactor, passkeys: services.passkeys, guards, db: services.db,
    secureCookies,
  });
  await app.register(ssoAuthRoutes, { sso: services.sso, guards, secureCookies, publicUrl: config.PUBLIC_URL });
  // Workspace-scoped modules share one membership and permission gate (404 outside, 403 inside).
  const accessGate = registerWorkspaceAccess(app, { workspaces: services.workspaces, secondFactor: services.secondFactor });
  // Each gate remembers its permission, for the operation's `security` in /openapi.json.
  const workspaceAccess: WorkspaceAccessFactory = (permission) => {
    const gate = accessGate(permission);
    permissionOf.set(gate, permission);
    return gate;
  };
  await app.register(workspaceListRoutes, { workspaces: services.workspaces, invitations: services.invitations, guards, workspaceAccess, secondFactor: services.secondFactor });
  await app.register(networkRoutes, { accounts: services.accounts, registry: services.registry, guards, workspaceAccess, secureCookies });
  await app.register(mediaLinkRoutes, { media: services.media, guards, workspaceAccess });
  // Public: short links (/l/{code}) answer anyone who follows them.
  await app.register(linkRedirectRoutes, { redirects: services.linkRedirects });
  // Public: Meta calls it (the signature and the verify token are its credentials).
  await app.register(metaWebhookRoutes, { inbox: services.inbox, registry: services.registry, verifyTokens: { facebook: config.FACEBOOK_WEBHOOK_VERIFY_TOKEN, instagram: config.INSTAGRAM_WEBHOOK_VERIFY_TOKEN, threads: config.THREADS_WEBHOOK_VERIFY_TOKEN } });
  // Everything under /api/workspaces/:workspaceId, each route behind a gate (see workspaces/scope.ts).
  await workspaceScope(app, (hook) => permissionOf.has(hook as object), async (scope) => {
    await scope.register(workspaceRoutes, { workspaces: services.workspaces, invitations: services.invitations, guards, workspaceAccess, secondFactor: services.secondFactor });
    await scope.register(ssoWorkspaceRoutes, { sso: services.sso, guards, secureCookies, publicUrl: config.PUBLIC_URL, workspaceAccess });
    await scope.register(apiKeyRoutes, { apiKeys: services.apiKeys, guards, workspaceAccess });
    await scope.register(auditRoutes, { db: services.db, guards, workspaceAccess });
    await scope.register(accountRoutes, { accounts: services.accounts, registry: services.registry, guards, workspaceAccess, secureCookies });
    await scope.register(mediaRoutes, { media: services.media, guards, workspaceAccess });
    await scope.register(feedRoutes, { feeds: services.feeds, guards, workspaceAccess });
    await scope.register(templateRoutes, { templates: services.templates, guards, workspaceAccess });
    await scope.register(webhookRoutes, { webhooks: services.webhooks, guards, workspaceAccess });
    await scope.register(postRoutes, { posts: services.posts, accounts: services.accounts, guards, workspaceAccess });
    await scope.register(linkCardRoutes, { cards: services.linkCards, guards, workspaceAccess });
    await scope.register(analyticsRoutes, { analytics: services.analytics, guards, workspaceAccess });
    await scope.register(insightsRoutes, { accountMetrics: services.accountMetrics, overview: services.overview, guards, workspaceAccess });
    await scope.register(linkRoutes, { links: services.links, guards, workspaceAccess });
    await scope.register(assistantRoutes, { assistant: services.assistant, settings: services.assistantSettings, guards, workspaceAccess });
    await scope.register(performanceRoutes, {
      labels: services.labels, performance: services.performance, bestTimes: services.bestTimes, overview: services.overview, guards, workspaceAccess,
    });
    await scope.register(reportRoutes, { reports: services.reports, scheduled: services.scheduledReports, guards, workspaceAccess });
    await scope.register(inboxRoutes, {
      inbox: services.inbox, guards, workspaceAccess,
      streams: {
        max: config.INBOX_STREAMS_MAX, heartbeatMs: config.INBOX_STREAM_HEARTBEAT_SECONDS * 1000, metrics: deps.metrics,
        stillAllowed: (req, workspaceId) => stillAllowed(services, req, workspaceId),
      },
    });
  });
  // AI agents: the Model Context Protocol at /mcp, with a workspace API key (docs/MCP.md).
  await app.register(mcpRoutes, { services, workspaces: services.workspaces, secondFactor: services.secondFactor, guards, version: VERSION });
  if (config.NODE_ENV !== 'production') await app.register(devRoutes, { db: services.db });
  // The web app (web/dist) at `/`.
  await app.register(webAppRoutes, { version: VERSION });

  await health();

  return app;
}
