// Authentication runs before a request's body is read or validated. A caller without valid credentials
// is answered 401 (or 429) whatever it sent, instead of learning from a 400 what a route accepts, and an
// anonymous flood costs no body parsing. Route modules list their guards among their preHandler hooks,
// where they read naturally; this onRoute hook moves those guard functions to the route's onRequest, in
// the order they were listed. Checks that need validated input (the workspace gate) stay where they are.
import type { FastifyInstance } from 'fastify';

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function authenticateFirst(app: FastifyInstance, guards: readonly unknown[]): void {
  app.addHook('onRoute', (route) => {
    const pre = asArray(route.preHandler);
    const moved = pre.filter((h) => guards.includes(h));
    if (moved.length === 0) return;
    route.preHandler = pre.filter((h) => !guards.includes(h)) as typeof route.preHandler;
    route.onRequest = [...asArray(route.onRequest), ...moved] as typeof route.onRequest;
  });
}
