// Every route under /api/workspaces/:workspaceId is registered through this one plugin: the modules give
// their paths relative to it, ids in the path are lowered once here, and a route that does not pass a
// workspace gate (workspaceAccess(permission): membership, then the permission) cannot be registered at
// all, so no workspace resource can be reached without the membership check.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { lowerCaseIds } from './input.ts';

export const WORKSPACE_PREFIX = '/api/workspaces/:workspaceId';

const asArray = (h: unknown): unknown[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);

/**
 * Registers what `routes` registers under WORKSPACE_PREFIX. `isGate` tells a workspace gate from other hooks;
 * a route without one, or whose path repeats the prefix, fails at start-up with the route named.
 */
export async function workspaceScope(app: FastifyInstance, isGate: (hook: unknown) => boolean, routes: (scope: FastifyInstance) => Promise<void>): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route: RouteOptions) => {
      const path = route.url.slice(WORKSPACE_PREFIX.length);
      if (path.includes('/api/')) {
        throw new Error(`${String(route.method)} ${route.url}: a route in the workspace scope gives its path relative to ${WORKSPACE_PREFIX} (e.g. '${path.slice(path.lastIndexOf('/api/workspaces/:workspaceId') + WORKSPACE_PREFIX.length) || ''}').`);
      }
      const hooks = [...asArray(route.onRequest), ...asArray(route.preValidation), ...asArray(route.preHandler)];
      if (!hooks.some(isGate)) {
        throw new Error(`${String(route.method)} ${route.url}: a workspace route needs a workspaceAccess(permission) gate in its preHandler.`);
      }
    });
    scope.addHook('preHandler', lowerCaseIds);
    await routes(scope);
  }, { prefix: WORKSPACE_PREFIX });
}
