// `limit` and `before` query parameters. Ajv leaves a numeral too long for a double (hundreds of
// digits) unconverted and unbounded, and PostgreSQL would then refuse it: both are checked here too.
import { Type } from 'typebox';
import { ApiError } from './errors.ts';

export const PagingQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'How many, newest first (1-200)' }),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Only items with a smaller id (the next page)' })),
});

export function checkPaging(query: { limit?: unknown; before?: unknown }): { limit: number; before?: number } {
  for (const name of ['limit', 'before'] as const) {
    const value = query[name];
    if (value !== undefined && !Number.isSafeInteger(value)) {
      throw new ApiError(400, 'VALIDATION_FAILED', `querystring.${name} is too large`, [{ field: `querystring.${name}`, message: 'is too large' }]);
    }
  }
  return { limit: query.limit as number, ...(query.before !== undefined ? { before: query.before as number } : {}) };
}
