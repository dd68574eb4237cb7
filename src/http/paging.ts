// The query parameters and the answer field of every keyset-paged list (src/infra/db/keyset.ts): `limit`
// with a documented maximum, an opaque `cursor`, and `nextCursor` in the answer. Numbers out of range
// (`1e400`, a numeral of hundreds of digits) are refused for every route by request-schemas.ts, not here.
import { Type } from 'typebox';

/** The `limit` and `cursor` query parameters of a list of `what`, at most `max` a page. */
export function pageQuery(what: string, max: number, defaultLimit = Math.min(50, max)) {
  return {
    limit: Type.Integer({ minimum: 1, maximum: max, default: defaultLimit, description: `How many ${what} in this page (1-${max}, default ${defaultLimit})` }),
    cursor: Type.Optional(Type.String({
      minLength: 1, maxLength: 2000, pattern: '^[A-Za-z0-9_-]+$',
      description: 'The `nextCursor` of the previous page, unchanged; leave it out for the first page',
    })),
  };
}

export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` to get the next page; null on the last page' });
