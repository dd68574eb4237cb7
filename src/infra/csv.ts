// CSV out, one way for every export: RFC 4180 (CRLF line ends, fields with a comma, quote, CR or LF quoted,
// quotes doubled; csv-stringify does the quoting) and safe to open in a spreadsheet: a text cell that starts
// with = + - @, a tab or a carriage return would be read as a formula, so it gets a leading apostrophe
// (OWASP, "CSV Injection"). Numbers are written as numbers, untouched. Rows come from an async iterable and
// leave as a stream with back-pressure, so an export of any length holds a page of rows in memory, not all.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell a spreadsheet would take as a formula, prefixed with an apostrophe; other values as they are. */
export function neutralise(cell: CsvCell): string | number | boolean | null {
  if (cell === undefined || cell === null) return null;
  if (typeof cell === 'string' && FORMULA_START.test(cell)) return `'${cell}`;
  return cell;
}

/**
 * A readable stream of CSV text: the header, then each row of `rows` (the cells in the header's order).
 * Reading is driven by the consumer: the next row is taken only when the stream wants more.
 */
export function csvStream(header: string[], rows: AsyncIterable<CsvCell[]> | Iterable<CsvCell[]>): Readable {
  const out = stringify({ header: true, columns: header.map((h) => String(neutralise(h))), record_delimiter: 'windows',
    // A lone LF or CR is a line break to most readers: quote it as RFC 4180 quotes CRLF.
    quoted_match: /[\r\n]/, cast: { boolean: (b) => (b ? 'true' : 'false') } });
  const source = Readable.from((async function* () {
    for await (const row of rows) yield row.map(neutralise);
  })(), { objectMode: true, highWaterMark: 64 });
  source.on('error', (err) => out.destroy(err));
  return source.pipe(out);
}
