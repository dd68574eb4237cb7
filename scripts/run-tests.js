// Runs test files with node:test's run() and reads its structured events, not a reporter's text: the
// spec reporter prints to the terminal, and the counts and each file's time come from the events.
// Started by scripts/test.js as `node --import tsx scripts/run-tests.js <concurrency> <timeoutMs> <resultFile> [--test-name-pattern=P] files…`
// (test files inherit --import tsx). Writes { pass, fail, skipped, cancelled, files: { [file]: ms } } to resultFile.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const [concurrency, timeout, resultFile, ...rest] = process.argv.slice(2);
const patterns = rest.filter((a) => a.startsWith('--test-name-pattern=')).map((a) => new RegExp(a.slice('--test-name-pattern='.length)));
const files = rest.filter((a) => !a.startsWith('--'));

const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
/** Wall time per file: each file runs as a test of its own (named by its path) whose duration includes start-up. */
const times = {};
const fileOf = (data) => (data.file ? relative(process.cwd(), data.file) : undefined);

const stream = run({ files, concurrency: Number(concurrency), timeout: Number(timeout), ...(patterns.length ? { testNamePatterns: patterns } : {}) });
stream.on('test:complete', (data) => {
  const f = fileOf(data);
  if (f && data.nesting === 0 && data.name === f) times[f] = Math.round(data.details.duration_ms);
});
// The run's own summary, as diagnostics at the end ("pass 12", "fail 0", …): the same figures the
// reporter prints, taken from the event rather than from its text.
stream.on('test:diagnostic', (data) => {
  if (data.nesting !== 0 || data.file) return;
  const m = /^(pass|fail|skipped|cancelled) (\d+)$/.exec(data.message);
  if (m) counts[m[1]] = Number(m[2]);
});
stream.compose(spec).pipe(process.stdout);
stream.on('end', () => {
  writeFileSync(resultFile, JSON.stringify({ ...counts, files: times }));
  if (counts.fail > 0 || counts.cancelled > 0) process.exitCode = 1;
});
