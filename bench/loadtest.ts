// `npm run bench -- loadtest`: the load-test regression check. A fresh `allin start` (its usual defaults
// and limits), then `allin loadtest baseline` and `allin loadtest scaled --short` against it, compared with
// the last committed result, bench/results/loadtest.json: exits 1 when a figure is more than the threshold
// worse (throughput, p50, p95, p99: 10 %; success rate: 1 point). `--update` writes this run as the new
// committed result; `--threshold=N` changes the threshold (percent); `--rounds=N` runs each scenario N times
// (default 5) and compares them pooled (latency histograms added together, requests summed).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, ALLIN_BIN, ROOT } from './lib.ts';
import { runLoadtest } from '../src/loadtest/runner.ts';
import { defaults, type LoadOptions, type ScenarioName } from '../src/loadtest/scenarios.ts';
import { renderText, REPORT_SET_SCHEMA, type Report, type ReportSet } from '../src/loadtest/report.ts';
import { renderHtml } from '../src/loadtest/html.ts';
import { compareReports, poolReports, readReports, renderComparison, DEFAULT_COMPARE } from '../src/loadtest/compare.ts';

export const LOADTEST_RESULT = join(ROOT, 'bench', 'results', 'loadtest.json');

/** The fixed set: baseline and scaled, the previous AllIN backend's two load tests (see src/loadtest/scenarios.ts), scaled shortened (the same users and think time; 500 requests, 5 s ramp-up). */
export const LOADTEST_SET: [ScenarioName, boolean][] = [['baseline', false], ['scaled', true]];

export async function benchLoadtest(args: string[]): Promise<number> {
  const update = args.includes('--update');
  const threshold = Number(args.find((a) => a.startsWith('--threshold='))?.split('=')[1] ?? DEFAULT_COMPARE.threshold * 100) / 100;
  const opts = { ...DEFAULT_COMPARE, threshold };
  console.log(`loadtest bench: ${LOADTEST_SET.map(([s, short]) => `${s}${short ? ' --short' : ''}`).join(' + ')} against a fresh allin start`);
  const server = await startServer([ALLIN_BIN, 'start'], { PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
  const rounds = Math.max(1, Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5));
  const reports: Report[] = [];
  try {
    for (const [scenario, short] of LOADTEST_SET) {
      const runs: Report[] = [];
      for (let i = 0; i < rounds; i++) {
        const o: LoadOptions = { ...defaults(scenario, short), url: server.url, metricsToken: process.env.METRICS_TOKEN };
        runs.push(await runLoadtest(o, { log: (l) => console.log(`  ${l}`) }));
        const s = runs.at(-1)!.summary;
        console.log(`  ${scenario} round ${i + 1}/${rounds}: ${s.achievedRate}/s, success ${(s.successRate * 100).toFixed(2)}%, p50 ${s.latency.p50} ms, p95 ${s.latency.p95} ms, p99 ${s.latency.p99} ms`);
      }
      const r = poolReports(runs);
      console.log(`\n${renderText(r)}\n`);
      reports.push(r);
    }
  } finally {
    await server.stop();
  }
  const set: ReportSet = { schema: REPORT_SET_SCHEMA, createdAt: new Date().toISOString(), note: `npm run bench -- loadtest: baseline and scaled --short against a fresh allin start, ${rounds} runs of each pooled`, reports };
  const latest = join(tmpdir(), 'allin-loadtest-latest.json');
  writeFileSync(latest, `${JSON.stringify(set, null, 2)}\n`);
  for (const r of reports) writeFileSync(join(tmpdir(), `allin-loadtest-${r.scenario}.html`), renderHtml(r));
  console.log(`this run: ${latest} (HTML: ${reports.map((r) => join(tmpdir(), `allin-loadtest-${r.scenario}.html`)).join(', ')})`);

  let code = 0;
  if (existsSync(LOADTEST_RESULT)) {
    const c = compareReports(readReports(LOADTEST_RESULT), reports, opts);
    console.log(`\n${renderComparison(c, opts, 'bench/results/loadtest.json')}`);
    if (c.regressions.length > 0) code = 1;
  } else if (!update) {
    console.log('\nno committed result yet (bench/results/loadtest.json): run with --update to make this run the reference');
  }
  if (update) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(LOADTEST_RESULT, `${JSON.stringify(set, null, 2)}\n`);
    console.log(`wrote ${LOADTEST_RESULT}: commit it as the new reference`);
    code = 0;
  }
  return code;
}
