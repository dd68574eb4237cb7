// Who may call each operation, in /openapi.json: the security schemes, and each operation's `security`
// derived from the guards its route runs (an onRoute hook), so the document says what the code enforces
// and a route cannot be guarded without being documented as such. Generated clients and the /docs
// "Authorize" button read it.
import type { FastifyInstance } from 'fastify';

/** One way to satisfy an operation: scheme name → the scopes it must hold (any listed requirement suffices). */
export type SecurityRequirement = Record<string, string[]>;

export const SECURITY_SCHEMES = {
  accessToken: {
    type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
    description: 'A signed-in person: the accessToken from POST /api/auth/login or POST /api/auth/refresh (valid 15 minutes at most), sent as Authorization: Bearer <token>.',
  },
  apiKey: {
    type: 'http', scheme: 'bearer', bearerFormat: 'allin_…',
    description: 'A workspace API key (it starts with allin_), sent as Authorization: Bearer <key>. It works only in its own workspace; ' +
      'an operation lists the scopes that allow it (read, write, admin), and a key never does more than the member who created it may.',
  },
} as const;

/** Declared only when METRICS_TOKEN is set, with /metrics requiring it. */
export const METRICS_TOKEN_SCHEME = {
  type: 'http', scheme: 'bearer', description: 'The METRICS_TOKEN of this deployment, sent by Prometheus as Authorization: Bearer <token>.',
} as const;

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Who may call, and the refusals the guards themselves answer (401, 403, 404, 429), documented with the route's own. */
export interface OperationGuard {
  security: SecurityRequirement[];
  refusals: number[];
}

/**
 * Sets `schema.security` on every route registered after this call from `guardOf(hooks)`, given the
 * route's onRequest, preValidation and preHandler hooks, and adds the guards' refusals (in the error
 * shape) to its documented responses. A route that declares `security` itself keeps it.
 */
export function declareOperationSecurity(app: FastifyInstance, guardOf: (hooks: readonly unknown[]) => OperationGuard | undefined): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (schema?.security !== undefined) return;
    const guard = guardOf([...asArray(route.onRequest), ...asArray(route.preValidation), ...asArray(route.preHandler)]);
    if (!guard) return;
    const response = schema?.response as Record<string, unknown> | undefined;
    const missing = response && !response['4xx'] && !response.default ? guard.refusals.filter((c) => !(String(c) in response)) : [];
    route.schema = {
      ...schema, security: guard.security,
      ...(missing.length > 0 ? { response: { ...response, ...Object.fromEntries(missing.map((c) => [c, { $ref: 'Error' }])) } } : {}),
    } as typeof route.schema;
  });
}
