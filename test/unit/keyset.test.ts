// The one keyset-paging helper (src/infra/db/keyset.ts) without a database: the cursor of a page's last row
// decodes to the same values, the next page's condition runs the list's way, and every cursor a client did
// not get from this list (garbage, another list's, tampered values, times that round or do not exist) is
// refused as a 400 naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PgDialect, pgTable, text, timestamp, uuid, bigserial } from 'drizzle-orm/pg-core';
import { keyset } from '../../src/infra/db/keyset.ts';
import { Invalid } from '../../src/domain/errors.ts';

const items = pgTable('items', { id: uuid('id').primaryKey(), name: text('name').notNull(), createdAt: timestamp('created_at', { withTimezone: true }).notNull() });
const events = pgTable('events', { id: bigserial('id', { mode: 'number' }).primaryKey() });
const list = keyset('items', { createdAt: [items.createdAt, 'time'], id: [items.id, 'uuid'] }, 'desc');
const byName = keyset('names', { name: [items.name, 'text'], id: [items.id, 'uuid'] }, 'asc');
const log = keyset('events', { id: [events.id, 'int'] }, 'desc');

const ID = '0b9a4a4e-2f53-4b8e-9a55-0d6b4f2c1e01';
const AT = '2027-01-01T00:00:00.000123Z';
const row = (cursorKey: string[]) => ({ cursorKey });
const cursorOf = (k: typeof list | typeof byName | typeof log, key: string[]) => k.page([row(key), row(key)], 1).nextCursor!;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const render = (q: ReturnType<typeof list.after>) => new PgDialect().sqlToQuery(q!);

test('a page: limit + 1 rows fetched, limit kept, a cursor only when there is more', () => {
  const rows = [row([AT, ID]), row([AT, ID]), row([AT, ID])];
  assert.equal(list.page(rows, 2).items.length, 2);
  assert.ok(list.page(rows, 2).nextCursor);
  assert.equal(list.page(rows, 3).nextCursor, null);
  assert.equal(list.page([], 3).nextCursor, null);
});

test('a cursor decodes to the last row\'s values, microseconds kept', () => {
  assert.deepEqual(list.decode(cursorOf(list, [AT, ID])), { createdAt: AT, id: ID });
  assert.deepEqual(byName.decode(cursorOf(byName, ['Zoë "quoted" ünïcode', ID])), { name: 'Zoë "quoted" ünïcode', id: ID });
  assert.deepEqual(log.decode(cursorOf(log, ['9007199254740993'])), { id: '9007199254740993' }, 'a bigint past 2^53 is kept as text, exactly');
});

test('the next page: a row comparison in the list\'s direction, each value cast to its column\'s type', () => {
  const desc = render(list.after({ createdAt: AT, id: ID }));
  assert.equal(desc.sql, '("items"."created_at", "items"."id") < ($1::timestamptz, $2::uuid)');
  assert.deepEqual(desc.params, [AT, ID]);
  assert.match(render(byName.after({ name: 'x', id: ID })).sql, /\) > \(\$1::text, \$2::uuid\)$/);
  assert.match(render(log.after({ id: '7' })).sql, /\("events"."id"\) < \(\$1::bigint\)$/);
  assert.equal(list.after(undefined), undefined, 'the first page has no condition');
});

test('a cursor this list did not give out is refused, naming the field', () => {
  const refused = (k: typeof list | typeof byName | typeof log, cursor: string, field?: string) => assert.throws(() => k.decode(cursor, field), (e: unknown) => {
    assert.ok(e instanceof Invalid);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.match(e.message, new RegExp(`^${(field ?? 'querystring.cursor').replace('.', '\\.')}: not a cursor of this list`));
    return true;
  }, cursor);
  for (const bad of ['garbage', '', '%%%', b64('items'), b64({ 0: 'items' }), b64(['items', AT]), b64(['items', AT, ID, 'extra']), b64([null, AT, ID])]) refused(list, bad);
  refused(list, cursorOf(byName, ['x', ID]), 'querystring.before');
  refused(byName, cursorOf(list, [AT, ID]));
  for (const time of ['2027-01-01T00:00:00Z', '2027-01-01T00:00:00.123Z', '2027-13-01T00:00:00.000000Z', '2027-02-30T00:00:00.000000Z', '2027-01-01 00:00:00.000000+00', 17]) {
    refused(list, b64(['items', time, ID]));
  }
  for (const id of [ID.toUpperCase(), 'not-a-uuid', `${ID}x`, 42]) refused(list, b64(['items', AT, id]));
  for (const n of ['1.5', '1e3', '0x10', '9'.repeat(19), 7]) refused(log, b64(['events', n]));
  refused(byName, b64(['names', 'a\u0000b', ID]));
});
