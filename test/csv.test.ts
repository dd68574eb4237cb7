// The CSV writer every export uses (src/infra/csv.ts): RFC 4180 quoting (commas, quotes, embedded CR/LF,
// CRLF record ends), cells a spreadsheet would run as formulas neutralised, numbers untouched, rows read
// back equal with csv-parse, and a million rows streamed with the heap staying bounded (measured after
// forced collections, not timed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'csv-parse/sync';
import { csvStream, neutralise, type CsvCell } from '../src/infra/csv.ts';

async function text(header: string[], rows: CsvCell[][]): Promise<string> {
  let out = '';
  await pipeline(csvStream(header, rows), new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } }));
  return out;
}

test('RFC 4180: quotes, commas, embedded newlines, CRLF record ends; parsed back equal', async () => {
  const rows: CsvCell[][] = [
    ['plain', 'a,b', 'say "hi"'],
    ['line\nbreak', 'cr\r\nlf', ''],
    [42, null, true],
  ];
  const out = await text(['x', 'y', 'z'], rows);
  assert.equal(out, 'x,y,z\r\nplain,"a,b","say ""hi"""\r\n"line\nbreak","cr\r\nlf",\r\n42,,true\r\n');
  const back = parse(out, { relax_column_count: false }) as string[][];
  assert.deepEqual(back, [['x', 'y', 'z'], ['plain', 'a,b', 'say "hi"'], ['line\nbreak', 'cr\r\nlf', ''], ['42', '', 'true']]);
});

test('formula injection: text cells starting with = + - @ tab or CR are prefixed; numbers are not', async () => {
  for (const bad of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://evil")']) {
    assert.equal(neutralise(bad), `'${bad}`, bad);
  }
  for (const fine of ['hello', ' =1', '1-2', 'a=b', '']) assert.equal(neutralise(fine), fine);
  assert.equal(neutralise(-5), -5, 'a number stays a number');
  const out = await text(['=evil', 'n'], [['=cmd|\' /C calc\'!A0', -3], ['-1+1', 7]]);
  const back = parse(out) as string[][];
  assert.deepEqual(back, [["'=evil", 'n'], ["'=cmd|' /C calc'!A0", '-3'], ["'-1+1", '7']]);
});

test('a million rows stream through with a bounded heap', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const ROWS = 1_000_000;
  function* rows(): Generator<CsvCell[]> {
    for (let i = 0; i < ROWS; i++) yield [i, `post number ${i}, with "quotes"`, i % 7 === 0 ? '=not a formula' : 'text', i * 3];
  }
  let bytes = 0;
  let lines = 0;
  const heap: number[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      const before = lines;
      for (const b of chunk) if (b === 0x0a) lines++;
      // A sample after a full collection each time another 100,000 lines have gone by.
      if (Math.floor(lines / 100_000) > Math.floor(before / 100_000)) {
        gc();
        heap.push(process.memoryUsage().heapUsed);
      }
      cb();
    },
  });
  await pipeline(csvStream(['n', 'text', 'kind', 'x'], rows()), sink);
  assert.equal(lines, ROWS + 1, 'every row and the header');
  assert.ok(bytes > 50_000_000, `the output (${bytes} bytes) is far larger than the heap bound below`);
  assert.ok(heap.length >= 9, `samples: ${heap.length}`);
  const base = heap[0]!;
  const growth = Math.max(...heap) - base;
  assert.ok(growth < 16 * 1024 * 1024, `heap grew by ${Math.round(growth / 1024)} KiB over ${ROWS} rows (samples: ${heap.map((h) => Math.round(h / 1048576)).join(', ')} MiB)`);
});
