// One Ajv configuration for every request AllIN validates: Fastify's route schemas (app.ts hands these
// options and plugins to Fastify) and the MCP tools' arguments, which are checked against the same TypeBox
// schemas by the validator below, so a bad value gets the same 400 VALIDATION_FAILED wherever it is sent.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { safeNumberKeyword, normaliseRequestSchema } from './request-schemas.ts';
import { ApiError, describeValidation, type ValidationIssue } from './errors.ts';

/** "uuid" means the canonical 36-character form: Ajv's own also accepts "urn:uuid:…", which PostgreSQL refuses. */
export function canonicalUuid<A extends { addFormat(name: string, re: RegExp): unknown }>(ajv: A): A {
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  return ajv;
}

/**
 * Unknown fields are refused, not silently dropped (a typo in a field name is the caller's to know); the
 * first problem is reported (allErrors would let a crafted body cost quadratic time).
 */
export const REQUEST_AJV_OPTIONS = { allErrors: false, removeAdditional: false } as const;

/** ajv-formats first, so that our own uuid format replaces its one. */
export const REQUEST_AJV_PLUGINS = [addFormats as never, canonicalUuid as never, safeNumberKeyword as never];

/** Checks values against request schemas outside Fastify, with Fastify's defaults (coercion, defaults filled in). */
export class RequestValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new WeakMap<object, ValidateFunction>();

  constructor() {
    // Fastify's own defaults (@fastify/ajv-compiler), then ours.
    this.ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, addUsedSchema: false, ...REQUEST_AJV_OPTIONS });
    for (const plugin of REQUEST_AJV_PLUGINS) (plugin as (a: Ajv) => Ajv)(this.ajv);
  }

  /**
   * The value, defaults filled in, or a 400 VALIDATION_FAILED naming the field as `context`.field, the way
   * the HTTP edge names a body's or query's fields.
   */
  check<T>(schema: object, value: unknown, context: string): T {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(normaliseRequestSchema(schema) as object);
      this.compiled.set(schema, validate);
    }
    if (!validate(value)) {
      const { message, details } = describeValidation(context, (validate.errors ?? []) as ValidationIssue[]);
      throw new ApiError(400, 'VALIDATION_FAILED', message, details);
    }
    return value as T;
  }
}
