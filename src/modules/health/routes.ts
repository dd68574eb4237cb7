// GET /health (liveness: no I/O), GET /api/health (readiness: a check per dependency, cached briefly),
// GET /metrics (Prometheus text; bearer token when METRICS_TOKEN is set).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Metrics } from '../../infra/metrics.ts';
import { ApiError, ErrorBody } from '../../http/errors.ts';
import type { ReadinessService } from './readiness.ts';

export interface HealthDeps {
  readiness: ReadinessService;
  metrics: Metrics;
  metricsToken: string | undefined;
  version: string;
  role: string;
}

const CheckSchema = Type.Object({
  status: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('warn')]),
  latencyMs: Type.Number(),
  critical: Type.Boolean(),
  message: Type.Optional(Type.String()),
});

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
  cached: Type.Boolean({ description: 'True when this result was served from the short readiness cache' }),
  checkedAt: Type.String({ format: 'date-time' }),
  version: Type.String(),
  role: Type.String({ description: 'start, serve or worker' }),
  uptimeSeconds: Type.Number(),
  checks: Type.Record(Type.String(), CheckSchema),
});

const sha = (s: string) => createHash('sha256').update(s).digest();

export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, deps) => {
  const started = Date.now();

  app.get('/health', {
    schema: {
      tags: ['health'], summary: 'Liveness: answers while the process runs; no I/O',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/api/health', {
    schema: {
      tags: ['health'], summary: 'Readiness: database, Redis and job runner checks; 503 when a critical one fails',
      response: { 200: ReadinessSchema, 503: ReadinessSchema },
    },
  }, async (_request, reply) => {
    const { value, cached } = await deps.readiness.get();
    reply.header('cache-control', 'no-store');
    reply.status(value.status === 'pass' ? 200 : 503);
    return { ...value, cached, version: deps.version, role: deps.role, uptimeSeconds: Math.round((Date.now() - started) / 1000) };
  });

  if (!deps.metrics.enabled) return;
  const expected = deps.metricsToken ? sha(`Bearer ${deps.metricsToken}`) : undefined;
  app.get('/metrics', {
    schema: {
      tags: ['health'], summary: 'Prometheus metrics (text exposition format)',
      ...(expected ? { security: [{ metricsToken: [] }] } : {}),
      response: {
        200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } },
        401: ErrorBody,
      },
    },
  }, async (request, reply) => {
    if (expected && !timingSafeEqual(sha(request.headers.authorization ?? ''), expected)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'This endpoint needs Authorization: Bearer <METRICS_TOKEN>', undefined,
        { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.render();
  });
};
