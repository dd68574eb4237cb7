// `allin loadtest [scenario] --url BASE [options]` and `allin loadtest compare OLD.json NEW.json`.
// A pure client: it needs no database or secret of its own (only `allin users create` does, when it is
// how users are made), so it runs before the server configuration is read.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SCENARIOS, ENDPOINTS, defaults, type EndpointKey, type LoadOptions, type Rate, type ScenarioName } from './scenarios.ts';
import { runLoadtest } from './runner.ts';
import { renderText } from './report.ts';
import { renderHtml } from './html.ts';
import { compareReports, readReports, renderComparison, CompareError, DEFAULT_COMPARE, type CompareOptions } from './compare.ts';
import { SetupError } from './users.ts';
import { agencyRoutes } from './agency.ts';
import { BASELINE_WORKSPACE_NAME, LARGEST_WORKSPACE_NAME } from '../seed/plan.ts';

export const LOADTEST_USAGE = `Usage: allin loadtest [scenario] --url BASE [options]
       allin loadtest compare OLD.json NEW.json [--threshold PCT]

Load-tests a running AllIN and reports latency percentiles (HdrHistogram), success rate, status codes,
achieved against offered rate, and the server's own figures from /metrics.

Scenarios (default: baseline):
  baseline   the seed's: 5 virtual users, 100 requests, 60% GET /health, 40% POST /api/auth/login
  scaled     the seed's: 50 virtual users, 1,000 requests, 10 s ramp-up, 100–1,000 ms think time
  stress     steps of more virtual users until the error rate or P95 passes a limit: the knee and the
             first resource to give out (database pool, event loop, CPU, 503s, 429s, timeouts)
  journey    sign in, read account, accounts and calendar, write a draft, schedule it, refresh the
             token, delete the post, sign out (needs the Sandbox network or a connected account)
  open       a constant arrival rate; latency from the intended send time (no coordinated omission),
             requests that could not be sent on time counted
  agency     the list and calendar routes (the calendar as the web app asks it: month perDay=4, week
             perDay=12, the busiest day's first and next page of 50; posts pages with filters, approvals,
             queue, media, audit log, webhook deliveries, API keys, members, accounts, each list
             following its nextCursor) of the largest
             workspace of \`allin seed\` and of its 20-post workspace, route by route: P50/P95/P99,
             throughput and the ratio of the two, against the goals at agency scale, and the server's RSS.
             Signs in as the seed's owner (or --user); start the server with LIMIT_API_USER=1000000/60

Target:
  --url BASE               the AllIN to load, e.g. http://127.0.0.1:7000 (required)
  --metrics-token TOKEN    bearer token for /metrics (default: $METRICS_TOKEN)
  --no-metrics             do not read /metrics
  --timeout MS             a request without an answer by then counts as "timeout" (default 10000)

Load (defaults depend on the scenario):
  --vus N                  virtual users (closed model)
  --requests N             total requests, shared by the virtual users (baseline, scaled)
  --duration S             seconds to run (open; closed scenarios without --requests)
  --ramp-up S              start the virtual users evenly over S seconds
  --think MIN-MAX          think time between a user's requests in ms, e.g. 100-1000 (0: none)
  --mix K=P,…              endpoint mix in percent; K is one of ${Object.keys(ENDPOINTS).join(', ')}
                           (e.g. health=60,login=40, the default)
  --rate R                 open: arrivals per second (default 100)
  --max-inflight N         open: requests in flight at most; the others wait and count late (default 256)
  --late-ms MS             open: sent later than this after the intended time counts late (default 10)
  --steps N,N,…            stress: virtual users per step (default 10,50,100,250,500,1000)
  --step-duration S        stress: seconds per step (default 10)
  --max-error-rate PCT     stress: stop after a step with more failed requests (default 5%)
  --max-p95 MS             stress: stop after a step with a higher P95 (default 1000)
  --iterations N           journey: journeys per virtual user (default 4)
                           agency: --vus (default 10) and --step-duration, the seconds of each route on
                           each workspace (default 5; --short: 2)
  --workspace ID           agency: the large workspace (default: the one \`allin seed\` names "${LARGEST_WORKSPACE_NAME}")
  --baseline-workspace ID  agency: the small one to compare with (default: "${BASELINE_WORKSPACE_NAME}")
  --routes WORD[,WORD…]    agency: only the routes whose name contains one of the words (e.g. inbox, calendar)
  --keep-posts             journey: keep the scheduled posts (default: each journey deletes its post)
  --short                  a shorter variant of the scenario (what npm run bench uses)
  --seed N                 seed of the mix and think times (default 1)

Users (the load test never uses a built-in password; it makes its own users):
  --users N                users to make (default: enough to stay under the per-user limit)
  --create-users HOW       api: POST /api/auth/register + the mailed link from GET /api/dev/mail (any
                           non-production URL; uses sign-ups, LIMIT_REGISTER_IP); cli: allin users create
                           with this terminal's database; auto (default): cli for a loopback URL, else api
  --user EMAIL[,EMAIL…]    sign in as existing users instead (password from ALLIN_LOADTEST_PASSWORD; agency:
                           the seed's owner with the seed's password unless given)
  --user-limit N/S         the server's LIMIT_API_USER, to size the user pool (default 1200/60)
  --ip-limit N/S           the server's LIMIT_API_IP, to pace the journeys' refreshes (default 300/60)

Output:
  --json                   print the JSON report (schema allin-loadtest/1) instead of the table
  --save FILE              also write the JSON report to FILE
  --html FILE              write a self-contained HTML report (charts) to FILE
  --compare FILE           compare with an earlier JSON report: deltas of throughput, p50, p95, p99 and
                           success rate; exit 1 when one is worse than the threshold
  --threshold PCT          how much worse is a regression (default 10%; success rate: 1 point)
  --quiet                  no progress bar (it is only drawn on a terminal anyway)
  -h, --help               this text

Exit codes: 0 done, 1 regression (--compare), 64 bad usage, 65 unreadable report, 69 target or set-up failed.`;

export class UsageError extends Error {}

const num = (name: string, v: string | undefined, opts: { min?: number; int?: boolean } = {}): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < (opts.min ?? 0)) throw new UsageError(`--${name}: "${v}" is not ${opts.int ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`);
  return n;
};

/** "10%" or "10": a percentage, returned as a fraction. */
export function parsePercent(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(v.trim());
  if (!m) throw new UsageError(`--${name}: "${v}" is not a percentage (e.g. 10%)`);
  return Number(m[1]) / 100;
}

function parseRate(name: string, v: string): Rate {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) throw new UsageError(`--${name}: "${v}" is not count/seconds (e.g. 1200/60)`);
  return { count: Number(m[1]), seconds: Number(m[2]) };
}

function parseThink(v: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m) throw new UsageError(`--think: "${v}" is not MIN-MAX in ms (e.g. 100-1000)`);
  const a = Number(m[1]);
  const b = m[2] !== undefined ? Number(m[2]) : a;
  if (b < a) throw new UsageError(`--think: the maximum (${b}) is below the minimum (${a})`);
  return [a, b];
}

function parseMix(v: string): Partial<Record<EndpointKey, number>> {
  const mix: Partial<Record<EndpointKey, number>> = {};
  for (const part of v.split(',').filter(Boolean)) {
    const m = /^([a-z]+)=(\d+(?:\.\d+)?)%?$/.exec(part.trim());
    if (!m || !(m[1]! in ENDPOINTS)) throw new UsageError(`--mix: "${part}" is not ENDPOINT=PERCENT with ENDPOINT one of ${Object.keys(ENDPOINTS).join(', ')}`);
    mix[m[1] as EndpointKey] = Number(m[2]);
  }
  if (Object.values(mix).reduce((a, b) => a + (b ?? 0), 0) <= 0) throw new UsageError('--mix: the shares add up to nothing');
  return mix;
}

function parseSteps(v: string): number[] {
  const steps = v.split(',').map((s) => Number(s.trim()));
  if (steps.length === 0 || steps.some((s) => !Number.isInteger(s) || s < 1)) throw new UsageError(`--steps: "${v}" is not a list of whole numbers ≥ 1 (e.g. 10,50,100)`);
  for (let i = 1; i < steps.length; i++) if (steps[i]! <= steps[i - 1]!) throw new UsageError('--steps: each step must have more virtual users than the one before');
  return steps;
}

const OPTIONS = {
  url: { type: 'string' }, 'metrics-token': { type: 'string' }, 'no-metrics': { type: 'boolean' }, timeout: { type: 'string' },
  vus: { type: 'string' }, requests: { type: 'string' }, duration: { type: 'string' }, 'ramp-up': { type: 'string' }, think: { type: 'string' },
  mix: { type: 'string' }, rate: { type: 'string' }, 'max-inflight': { type: 'string' }, 'late-ms': { type: 'string' },
  steps: { type: 'string' }, 'step-duration': { type: 'string' }, 'max-error-rate': { type: 'string' }, 'max-p95': { type: 'string' },
  iterations: { type: 'string' }, 'keep-posts': { type: 'boolean' }, short: { type: 'boolean' }, seed: { type: 'string' },
  workspace: { type: 'string' }, 'baseline-workspace': { type: 'string' }, routes: { type: 'string' },
  users: { type: 'string' }, 'create-users': { type: 'string' }, user: { type: 'string', multiple: true }, 'user-limit': { type: 'string' }, 'ip-limit': { type: 'string' },
  json: { type: 'boolean' }, save: { type: 'string' }, html: { type: 'string' }, compare: { type: 'string' }, threshold: { type: 'string' },
  quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

export interface ParsedCommand {
  options: LoadOptions;
  output: { json: boolean; save?: string; html?: string; compare?: string; quiet: boolean };
  compare: CompareOptions;
}

/** Turns the command line into options (throws UsageError with a message for anything wrong). */
export function parseLoadtestArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`one scenario at a time (got ${positionals.join(', ')})`);
  const scenario = (positionals[0] ?? 'baseline') as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new UsageError(`unknown scenario "${scenario}" (one of ${SCENARIOS.join(', ')})`);
  if (!v.url) throw new UsageError('--url is required (the AllIN to load, e.g. --url http://127.0.0.1:7000)');
  let url: URL;
  try {
    url = new URL(v.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--url: "${v.url}" is not an http(s) URL`);
  }
  const o: LoadOptions = { ...defaults(scenario, Boolean(v.short)), url: url.toString(), metricsToken: v['metrics-token'] ?? env.METRICS_TOKEN };
  const set = <K extends keyof LoadOptions>(k: K, val: LoadOptions[K] | undefined) => {
    if (val !== undefined) o[k] = val;
  };
  set('timeoutMs', num('timeout', v.timeout, { min: 1 }));
  set('vus', num('vus', v.vus, { min: 1, int: true }));
  set('requests', num('requests', v.requests, { min: 1, int: true }));
  if (v.duration !== undefined) {
    o.durationSeconds = num('duration', v.duration, { min: 0.1 })!;
    if (v.requests === undefined && scenario !== 'open') o.requests = null;
  }
  set('rampUpSeconds', num('ramp-up', v['ramp-up']));
  if (v.think !== undefined) o.thinkMs = parseThink(v.think);
  if (v.mix !== undefined) o.mix = parseMix(v.mix);
  set('rate', num('rate', v.rate, { min: 0.1 }));
  set('maxInflight', num('max-inflight', v['max-inflight'], { min: 1, int: true }));
  set('lateMs', num('late-ms', v['late-ms']));
  if (v.steps !== undefined) o.steps = parseSteps(v.steps);
  set('stepSeconds', num('step-duration', v['step-duration'], { min: 0.5 }));
  if (v['max-error-rate'] !== undefined) o.maxErrorRate = parsePercent('max-error-rate', v['max-error-rate']);
  set('maxP95Ms', num('max-p95', v['max-p95'], { min: 1 }));
  set('iterations', num('iterations', v.iterations, { min: 1, int: true }));
  if (v['keep-posts']) o.keepPosts = true;
  for (const [flag, key] of [['workspace', 'workspaceId'], ['baseline-workspace', 'baselineWorkspaceId']] as const) {
    const id = v[flag];
    if (id === undefined) continue;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new UsageError(`--${flag}: "${id}" is not a workspace id (a UUID)`);
    o[key] = id.toLowerCase();
  }
  if (v.routes !== undefined) {
    if (scenario !== 'agency') throw new UsageError('--routes is for the agency scenario');
    const words = v.routes.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean);
    const names = agencyRoutes().map((r) => r.name);
    if (words.length === 0 || !names.some((n) => words.some((w) => n.toLowerCase().includes(w)))) {
      throw new UsageError(`--routes: no agency route's name contains ${words.map((w) => `"${w}"`).join(' or ') || 'nothing'} (they are: ${names.join('; ')})`);
    }
    o.routes = words;
  }
  set('seed', num('seed', v.seed, { int: true }));
  set('users', num('users', v.users, { min: 1, int: true }));
  if (v['create-users'] !== undefined) {
    if (!['auto', 'api', 'cli'].includes(v['create-users'])) throw new UsageError(`--create-users: "${v['create-users']}" is not auto, api or cli`);
    o.createUsers = v['create-users'] as LoadOptions['createUsers'];
  }
  if (v.user) o.existingUsers = v.user.flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);
  if (v['user-limit'] !== undefined) o.userLimit = parseRate('user-limit', v['user-limit']);
  if (v['ip-limit'] !== undefined) o.ipLimit = parseRate('ip-limit', v['ip-limit']);
  if (v['no-metrics']) o.metrics = false;
  if (o.requests === null && o.durationSeconds === null && (scenario === 'baseline' || scenario === 'scaled')) throw new UsageError('give --requests or --duration');
  const compare = { ...DEFAULT_COMPARE };
  if (v.threshold !== undefined) compare.threshold = parsePercent('threshold', v.threshold);
  return {
    options: o, compare,
    output: { json: Boolean(v.json), quiet: Boolean(v.quiet), ...(v.save ? { save: v.save } : {}), ...(v.html ? { html: v.html } : {}), ...(v.compare ? { compare: v.compare } : {}) },
  };
}

function progressBar(): ((fraction: number, text: string) => void) & { clear(): void } {
  let drawn = false;
  const draw = (fraction: number, text: string) => {
    const width = 28;
    const full = Math.round(fraction * width);
    process.stderr.write(`\r\x1b[2K[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${text}`);
    drawn = true;
  };
  return Object.assign(draw, { clear: () => drawn && process.stderr.write('\r\x1b[2K') });
}

/** The command; returns the exit code. */
export async function loadtestCommand(args: string[]): Promise<number> {
  if (args[0] === 'compare') return compareCommand(args.slice(1));
  let cmd: ParsedCommand | 'help';
  try {
    cmd = parseLoadtestArgs(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`allin loadtest: ${err.message}\n\n${LOADTEST_USAGE}`);
      return 64;
    }
    throw err;
  }
  if (cmd === 'help') {
    console.log(LOADTEST_USAGE);
    return 0;
  }
  const { options: o, output, compare } = cmd;
  let previous;
  if (output.compare) {
    try {
      previous = readReports(output.compare);
    } catch (err) {
      if (err instanceof CompareError) {
        console.error(`allin loadtest: ${err.message}`);
        return 65;
      }
      throw err;
    }
  }
  const tty = Boolean(process.stdout.isTTY && process.stderr.isTTY) && !output.quiet;
  const bar = tty ? progressBar() : undefined;
  const log = (line: string) => {
    bar?.clear();
    console.error(line);
  };
  let report;
  try {
    report = await runLoadtest(o, { log, ...(bar ? { progress: bar } : {}) });
  } catch (err) {
    bar?.clear();
    if (err instanceof SetupError) {
      console.error(`allin loadtest: ${err.message}`);
      return 69;
    }
    throw err;
  }
  bar?.clear();
  if (output.json) console.log(JSON.stringify(report, null, 2));
  else console.log(renderText(report));
  if (output.save) writeFileSync(output.save, `${JSON.stringify(report, null, 2)}\n`);
  if (output.html) {
    writeFileSync(output.html, renderHtml(report));
    (output.json ? console.error : console.log)(`\nHTML report: ${output.html}`);
  }
  if (previous) {
    const c = compareReports(previous, [report], compare);
    (output.json ? console.error : console.log)(`\n${renderComparison(c, compare, output.compare)}`);
    return c.regressions.length > 0 ? 1 : 0;
  }
  return 0;
}

/** `allin loadtest compare OLD.json NEW.json`: the deltas of two saved reports, exit 1 on a regression. */
export function compareCommand(args: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { threshold: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (!parsed.values.help && parsed.positionals.length !== 2) throw new UsageError('compare takes two report files: OLD.json NEW.json');
  } catch (err) {
    console.error(`allin loadtest: ${(err as Error).message}\n\n${LOADTEST_USAGE}`);
    return 64;
  }
  if (parsed.values.help) {
    console.log(LOADTEST_USAGE);
    return 0;
  }
  const opts = { ...DEFAULT_COMPARE };
  try {
    if (parsed.values.threshold !== undefined) opts.threshold = parsePercent('threshold', parsed.values.threshold);
  } catch (err) {
    console.error(`allin loadtest: ${(err as Error).message}`);
    return 64;
  }
  try {
    const [a, b] = parsed.positionals as [string, string];
    const c = compareReports(readReports(a), readReports(b), opts);
    console.log(renderComparison(c, opts, a));
    return c.regressions.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof CompareError) {
      console.error(`allin loadtest: ${err.message}`);
      return 65;
    }
    throw err;
  }
}
