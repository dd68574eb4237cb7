// HTTP metrics, by route template (never the raw URL: an unmatched URL is route="unmatched", so random
// URLs add no series). Each route gets its own hooks with its template closed over, and series handles
// are looked up once per (method, route, status): the per-request cost is a few additions.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onResponseHookHandler } from 'fastify';
import type { Metrics } from '../infra/metrics.ts';
import type { Series } from '../infra/hot-histogram.ts';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export interface HttpMetrics {
  /** Counts a request as started; called from the app's single onRequest hook (one hook, not two, per request). */
  started(): void;
  /** Called by the not-found handler: unmatched URLs are counted there, not by a hook on every request. */
  trackUnmatched(request: FastifyRequest, reply: FastifyReply): void;
}

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): HttpMetrics {
  // Plain numbers on the hot path, copied into the gauges at scrape time.
  let connections = 0;
  let inFlight = 0;
  metrics.onCollect(() => {
    metrics.activeConnections.set(connections);
    metrics.inFlight.set(inFlight);
  });
  app.server.on('connection', (socket) => {
    connections++;
    socket.once('close', () => connections--);
  });

  const settled = new WeakSet<FastifyRequest>();
  const settle = (request: FastifyRequest) => {
    if (settled.has(request)) return;
    settled.add(request);
    inFlight--;
  };

  const recorder = (route: string) => {
    const byStatus = new Map<string, Series>();
    return (request: FastifyRequest, reply: FastifyReply) => {
      settle(request);
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

  // A client that goes away before the answer ends the request too (and may never reach onResponse).
  app.addHook('onRequestAbort', (request: FastifyRequest, done: HookHandlerDoneFunction) => {
    settle(request);
    done();
  });

  // Unmatched URLs: one series, whatever the URL.
  const recordUnmatched = recorder('unmatched');
  return {
    started() {
      inFlight++;
    },
    trackUnmatched(request, reply) {
      reply.raw.once('close', () => recordUnmatched(request, reply));
    },
  };
}
