// A table's row read as JSON (`to_jsonb(alias)` in a hand-written statement) turned into the object
// drizzle's own select returns: TypeScript keys, Dates for timestamps, parsed jsonb and arrays. Lets one
// statement return rows of several tables (a CTE that updates one and joins others) without listing
// their columns, so a column added to the schema is read here too.
import { getTableColumns, type Table } from 'drizzle-orm';

const columnsOf = new WeakMap<Table, [key: string, name: string, map: (v: unknown) => unknown][]>();

export function rowFromJson<T extends Table>(table: T, json: Record<string, unknown>): T['$inferSelect'] {
  let cols = columnsOf.get(table);
  if (!cols) {
    cols = Object.entries(getTableColumns(table)).map(([key, c]) => [key, c.name, (v: unknown) => c.mapFromDriverValue(v)]);
    columnsOf.set(table, cols);
  }
  const out: Record<string, unknown> = {};
  for (const [key, name, map] of cols) {
    const v = json[name];
    out[key] = v === null || v === undefined ? null : map(v);
  }
  return out as T['$inferSelect'];
}
