// `allin bench [names]` / `npm run bench -- names`: benchmarks print figures and ratios against a
// baseline measured in the same run. They are not pass/fail tests: this machine is shared and noisy.
import { benchHealth } from './health.ts';
import { benchAuth } from './auth.ts';
import { benchPublish } from './publish.ts';
import { benchBulk } from './bulk.ts';
import { benchLoadtest } from './loadtest.ts';
import { benchStartup } from './startup.ts';
import { benchCalendar } from './calendar.ts';
import { benchLinks } from './links.ts';

const BENCHES: Record<string, { describe: string; run: (args: string[]) => Promise<void | number> }> = {
  health: { describe: 'GET /health: AllIN (metrics on and off) against a bare node:http server', run: benchHealth },
  auth: { describe: 'login throughput against raw argon2id; /api/auth/me and refresh latency at 50 clients', run: benchAuth },
  publish: { describe: '10,000 targets due at once (time to publish all, duplicates, lost) against the raw graphile-worker rate; 1,000 a minute (lateness)', run: benchPublish },
  bulk: { describe: 'bulk upload (CSV): posts a second accepted, against multi-row INSERTs of the same rows', run: benchBulk },
  startup: { describe: 'allin serve from the sources (tsx) and compiled (dist): time and CPU to /health and /api/health, RSS once ready and after 1,000 requests', run: benchStartup },
  calendar: { describe: 'GET …/calendar (a week, a month, one account) on allin seed data: the largest workspace against the 20-post one', run: benchCalendar },
  links: { describe: 'GET /l/{code}: server time of a short-link redirect (cache miss, hit, unknown code) against GET /health; the click counters\' flush', run: benchLinks },
  loadtest: { describe: 'allin loadtest baseline + scaled --short against a fresh allin start, compared with bench/results/loadtest.json (exit 1 on a regression; --update)', run: benchLoadtest },
};

export async function runBench(args: string[]): Promise<number> {
  const names = args.filter((a) => !a.startsWith('-'));
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  for (const name of selected) {
    if (!BENCHES[name]) {
      console.error(`Unknown benchmark "${name}". Available:\n${Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(10)} ${b.describe}`).join('\n')}`);
      return 64;
    }
  }
  let code = 0; // a bench may return an exit code (loadtest: 1 on a regression)
  for (const name of selected) code = Math.max(code, (await BENCHES[name]!.run(args)) ?? 0);
  return code;
}
