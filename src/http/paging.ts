// `limit` and `before` query parameters of keyset-paged lists. Numbers out of range (`1e400`, a numeral
// of hundreds of digits) are refused for every route by request-schemas.ts, not here.
import { Type } from 'typebox';

export const PagingQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'How many, newest first (1-200)' }),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Only items with a smaller id (the next page)' })),
});
