// Two rules every route's request schemas (body, querystring, params, headers) follow, applied once here
// instead of in each route:
// - A number is finite, and an integer is a safe integer. Ajv coerces "1e400" to Infinity and then skips
//   minimum/maximum for values that are not finite, so `?limit=1e400` passed `maximum: 100` and reached
//   SQL. A keyword of our own, added to every numeric schema, checks the value after coercion.
// - A property with a default is optional to the caller (Ajv fills it in), so it is not `required` in
//   the schema, nor in /openapi.json.
import type { FastifyInstance } from 'fastify';

export const SAFE_NUMBER = 'x-safe-number';

type Schema = Record<string | symbol, unknown>;

/** "must be an integer from 1 to 100": the schema's own bounds, within the safe range. */
function expected(integer: boolean, parent?: { minimum?: unknown; maximum?: unknown }): string {
  const lo = typeof parent?.minimum === 'number' ? Math.max(parent.minimum, Number.MIN_SAFE_INTEGER) : Number.MIN_SAFE_INTEGER;
  const hi = typeof parent?.maximum === 'number' ? Math.min(parent.maximum, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  return integer ? `must be an integer from ${lo} to ${hi}` : `must be a finite number${lo === Number.MIN_SAFE_INTEGER && hi === Number.MAX_SAFE_INTEGER ? '' : ` from ${lo} to ${hi}`}`;
}

function safeNumber(this: unknown, enabled: boolean, data: unknown, parent?: { type?: unknown; minimum?: unknown; maximum?: unknown }): boolean {
  if (!enabled || typeof data !== 'number') return true;
  const types = Array.isArray(parent?.type) ? parent.type : [parent?.type];
  const integer = types.includes('integer') && !types.includes('number');
  const ok = integer ? Number.isSafeInteger(data) : Number.isFinite(data);
  if (!ok) safeNumber.errors = [{ keyword: SAFE_NUMBER, message: expected(integer, parent), params: {} }];
  return ok;
}
safeNumber.errors = [] as { keyword: string; message: string; params: object }[];

/** An Ajv plugin (Fastify's `ajv.plugins`): defines the keyword. It has no `type`, so Ajv runs it on non-finite numbers too. */
export function safeNumberKeyword<A extends { addKeyword(definition: object): unknown }>(ajv: A): A {
  ajv.addKeyword({ keyword: SAFE_NUMBER, schemaType: 'boolean', errors: true, validate: safeNumber });
  return ajv;
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const SUBSCHEMA = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];

/** The schema with both rules applied; unchanged parts are shared, changed ones copied (route schemas are often shared constants). */
export function normaliseRequestSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  let out: Schema | undefined;
  const set = (key: string, value: unknown) => {
    out ??= { ...schema };
    out[key] = value;
  };
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if ((types.includes('integer') || types.includes('number')) && schema[SAFE_NUMBER] === undefined) set(SAFE_NUMBER, true);
  for (const key of SUBSCHEMA) {
    const sub = schema[key];
    if (isObject(sub)) {
      const n = normaliseRequestSchema(sub);
      if (n !== sub) set(key, n);
    }
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) {
      const n = list.map(normaliseRequestSchema);
      if (n.some((s, i) => s !== list[i])) set(key, n);
    }
  }
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map)) {
      const entries = Object.entries(map).map(([k, v]) => [k, normaliseRequestSchema(v)] as const);
      if (entries.some(([k, v]) => v !== map[k])) set(key, Object.fromEntries(entries));
    }
  }
  const properties = schema.properties;
  if (isObject(properties) && Array.isArray(schema.required)) {
    const required = (schema.required as string[]).filter((name) => !(isObject(properties[name]) && properties[name].default !== undefined));
    if (required.length !== schema.required.length) set('required', required);
  }
  return out ?? schema;
}

const PARTS = ['body', 'querystring', 'params', 'headers'] as const;

/** Applies the rules to every route registered after this call (register it before the route modules). */
export function normaliseRequestSchemas(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Schema | undefined;
    if (!schema) return;
    let out: Schema | undefined;
    for (const part of PARTS) {
      const n = normaliseRequestSchema(schema[part]);
      if (n !== schema[part]) {
        out ??= { ...schema };
        out[part] = n;
      }
    }
    if (out) route.schema = out;
  });
}
