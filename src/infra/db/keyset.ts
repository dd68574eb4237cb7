// Keyset paging, the one way every list pages: rows come in the order of a few columns that end in a
// unique one, and the next page starts after the last row's values (a row comparison the list's index
// serves), so a page costs the same on the first page and the thousandth. The cursor a client gets holds
// those values, exactly as PostgreSQL has them (times to the microsecond: a JavaScript Date would round
// them to the millisecond and skip rows), in opaque base64url JSON with the list's name; it is checked
// when it comes back.
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { Invalid } from '../../domain/errors.ts';

export type KeyKind = 'time' | 'uuid' | 'int' | 'text' | 'date';
type Columns = Record<string, readonly [AnyColumn | SQL, KeyKind]>;
/** A decoded cursor: each ordering column's value, as text PostgreSQL reads back exactly. */
export type Key<C extends Columns> = { [N in keyof C]: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const INT = /^-?\d{1,18}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CAST: Record<KeyKind, string> = { time: 'timestamptz', uuid: 'uuid', int: 'bigint', text: 'text', date: 'date' };

function valid(kind: KeyKind, v: unknown): v is string {
  if (typeof v !== 'string') return false;
  switch (kind) {
    case 'uuid': return UUID.test(v);
    case 'int': return INT.test(v);
    case 'text': return v.length <= 1000 && !v.includes('\u0000');
    case 'date': {
      const d = new Date(`${v}T00:00:00Z`);
      return DATE.test(v) && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
    }
    case 'time': {
      if (!TIME.test(v)) return false;
      const ms = new Date(`${v.slice(0, 23)}Z`);
      return !Number.isNaN(ms.getTime()) && ms.toISOString().slice(0, 23) === v.slice(0, 23);
    }
  }
}

/** The column as text that casts back to the same value (times in UTC with all six fractional digits). */
function asText(column: AnyColumn | SQL, kind: KeyKind): SQL {
  return kind === 'time' ? sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` : sql`${column}::text`;
}

/** What a list is asked for: how many, and from which cursor (the previous page's nextCursor; none for the first). */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
  /** The parameter the cursor came in, named by a 400 (querystring.cursor unless said). */
  cursorField?: string | undefined;
}

export interface Keyset<C extends Columns> {
  /** Select these beside the row's own columns: the page reads its next cursor from them. */
  readonly fields: { cursorKey: SQL<string[]> };
  /** ORDER BY of the list: every column, in the list's direction. */
  readonly orderBy: SQL[];
  /** The condition "comes after this key in the list's order" (undefined for the first page). */
  after(key: Key<C> | undefined): SQL | undefined;
  /** The condition where the page asked for starts: after its cursor's key (undefined for the first page). */
  startAfter(page: PageRequest): SQL | undefined;
  /** The key a cursor holds; a cursor this list did not give out is refused, naming `field` (400). */
  decode(cursor: string, field?: string): Key<C>;
  /** The cursor after a row, from its `cursorKey` (for a query that pages some other way than `page`). */
  cursorOf(cursorKey: string[]): string;
  /** Rows fetched with `limit + 1` (and `fields`): the page, and the cursor of the next one (null on the last). */
  page<R extends { cursorKey: string[] }>(rows: R[], limit: number): { items: R[]; nextCursor: string | null };
}

/**
 * A list's keyset: its name (which goes in its cursors, so that one list refuses another's cursor), its
 * ordering columns in order (the last one unique, so the order is total and no row is skipped or repeated),
 * and the direction they all run in. The index that serves the list has the list's equality filters first,
 * then these columns in this order.
 */
export function keyset<const C extends Columns>(name: string, columns: C, direction: 'asc' | 'desc'): Keyset<C> {
  const names = Object.keys(columns) as (keyof C & string)[];
  const cols = names.map((n) => columns[n]!);
  const refuse = (field: string): never => {
    throw new Invalid('VALIDATION_FAILED',
      `${field}: not a cursor of this list; pass the nextCursor of the previous page unchanged, or leave it out for the first page.`,
      [{ field, message: 'is not a valid cursor' }]);
  };
  const self: Keyset<C> = {
    fields: { cursorKey: sql<string[]>`array[${sql.join(cols.map(([c, kind]) => asText(c, kind)), sql`, `)}]` },
    orderBy: cols.map(([c]) => (direction === 'asc' ? sql`${c} asc` : sql`${c} desc`)),
    after(key) {
      if (!key) return undefined;
      const left = sql.join(cols.map(([c]) => sql`${c}`), sql`, `);
      const right = sql.join(names.map((n, i) => sql`${key[n]}::${sql.raw(CAST[cols[i]![1]])}`), sql`, `);
      return direction === 'asc' ? sql`(${left}) > (${right})` : sql`(${left}) < (${right})`;
    },
    startAfter(page) {
      return page.cursor === undefined ? undefined : self.after(self.decode(page.cursor, page.cursorField));
    },
    decode(cursor, field = 'querystring.cursor') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        return refuse(field);
      }
      if (!Array.isArray(parsed) || parsed.length !== names.length + 1 || parsed[0] !== name) return refuse(field);
      const key: Record<string, string> = {};
      names.forEach((n, i) => {
        const v: unknown = parsed[i + 1];
        if (!valid(cols[i]![1], v)) refuse(field);
        key[n] = v as string;
      });
      return key as Key<C>;
    },
    cursorOf(cursorKey) {
      return Buffer.from(JSON.stringify([name, ...cursorKey])).toString('base64url');
    },
    page(rows, limit) {
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? self.cursorOf(last.cursorKey) : null };
    },
  };
  return self;
}
