// HTTP metrics, by route template (never the raw URL: an unmatched URL is route="unmatched", so random
// URLs add no series). Each route gets its own hooks with its template closed over, and series handles
// are looked up once per (method, route, status): the per-request cost is a few additions. (An
// in-flight request gauge was measured at 2-3 % of /health throughput, for the per-request abort
// listener it needs; open connections, which do fall when a client goes away, are counted per socket.)
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Metrics } from '../infra/metrics.ts';
import type { Series } from '../infra/hot-histogram.ts';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export interface HttpMetrics {
  /** Called by the not-found handler: unmatched URLs are counted there, not by a hook on every request. */
  trackUnmatched(request: FastifyRequest, reply: FastifyReply): void;
}

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): HttpMetrics {
  // A plain number on the hot path, copied into the gauge at scrape time.
  let connections = 0;
  metrics.onCollect(() => metrics.activeConnections.set(connections));
  app.server.on('connection', (socket) => {
    connections++;
    socket.once('close', () => connections--);
  });

  const recorder = (route: string) => {
    const byStatus = new Map<string, Series>();
    return (request: FastifyRequest, reply: FastifyReply) => {
      const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
      const key = `${method} ${reply.statusCode}`;
      let s = byStatus.get(key);
      if (!s) {
        s = metrics.httpDuration.series({ method, route, status_code: String(reply.statusCode) });
        byStatus.set(key, s);
      }
      s.observe(reply.elapsedTime / 1000);
    };
  };

  // Matched routes: hooks of their own, with the route template closed over.
  app.addHook('onRoute', (route) => {
    const record = recorder(route.url);
    const onResponse: onResponseHookHandler = (request, reply, done) => {
      record(request, reply);
      done();
    };
    route.onResponse = [...asArray(route.onResponse), onResponse] as typeof route.onResponse;
  });

  // Unmatched URLs: one series, whatever the URL.
  const recordUnmatched = recorder('unmatched');
  return {
    trackUnmatched(request, reply) {
      reply.raw.once('close', () => recordUnmatched(request, reply));
    },
  };
}
