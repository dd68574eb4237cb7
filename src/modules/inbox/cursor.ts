// The opaque `cursor` of the inbox's keyset-paged lists: the sort key of the last item of a page, as
// base64url JSON. A client passes back what it was given; anything else is refused with a message, not a 500.
import { Invalid } from '../../domain/errors.ts';

export type CursorKey = (string | number)[];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key a cursor holds, checked against the shape its list uses (`shape`: one type per position, 'time'
 * for an ISO instant).
 */
export function decodeCursor(cursor: string, shape: ('string' | 'time' | 'uuid' | 'number')[], field = 'querystring.cursor'): CursorKey {
  const bad = () => new Invalid('INVALID_CURSOR', `${field} is not a cursor this list gave; pass back nextCursor of the previous page, or leave it out for the first page.`, [{ field, message: 'unknown cursor' }]);
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw bad();
  shape.forEach((kind, i) => {
    const v = key[i];
    const ok = kind === 'number' ? Number.isSafeInteger(v)
      : typeof v === 'string' && v.length <= 500 && (kind !== 'time' || Number.isFinite(Date.parse(v))) && (kind !== 'uuid' || UUID.test(v));
    if (!ok) throw bad();
  });
  return key as CursorKey;
}
