// HTTP metrics, by route template (never the raw URL: an unmatched URL is route="unmatched", so random
// URLs add no series). Label children are cached per (method, route, status) to keep the hot path short.
import type { FastifyInstance } from 'fastify';
import type { Counter, Histogram, LabelValues } from 'prom-client';
import type { Metrics } from '../infra/metrics.ts';

type Children = { duration: ReturnType<Histogram<'method' | 'route' | 'status_code'>['labels']>; count: ReturnType<Counter<'method' | 'route' | 'status_code'>['labels']> };

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  const children = new Map<string, Children>();
  const childrenFor = (method: string, route: string, status: number): Children => {
    const key = `${method} ${status} ${route}`;
    let c = children.get(key);
    if (!c) {
      const labels: LabelValues<'method' | 'route' | 'status_code'> = { method, route, status_code: String(status) };
      c = { duration: metrics.httpDuration.labels(labels), count: metrics.httpRequests.labels(labels) };
      children.set(key, c);
    }
    return c;
  };

  app.server.on('connection', (socket) => {
    metrics.activeConnections.inc();
    socket.once('close', () => metrics.activeConnections.dec());
  });

  app.addHook('onRequest', (request, reply, done) => {
    metrics.inFlight.inc();
    // 'close' fires after the response is sent and also when the client goes away first.
    reply.raw.once('close', () => metrics.inFlight.dec());
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
    const c = childrenFor(method, route, reply.statusCode);
    c.duration.observe(reply.elapsedTime / 1000);
    c.count.inc();
    done();
  });
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
