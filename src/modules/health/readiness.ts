// Readiness: one check per dependency, each with a status and its latency. The result is cached for a
// short TTL (and says so), so a load balancer polling /api/health does not become load itself.
import { TtlCache } from '../../infra/cache.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { errorSummary } from '../../infra/retry.ts';

export interface Check {
  name: string;
  /** A failing critical check makes the whole result fail (503). */
  critical: boolean;
  run(): Promise<string | void>;
}

export interface CheckResult {
  status: 'pass' | 'fail' | 'warn';
  latencyMs: number;
  critical: boolean;
  message?: string;
}

export interface Readiness {
  status: 'pass' | 'fail';
  checkedAt: string;
  checks: Record<string, CheckResult>;
}

const CHECK_TIMEOUT_MS = 2000;

async function runCheck(check: Check): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const message = await Promise.race([
      check.run(),
      new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS); }),
    ]);
    return { status: 'pass', latencyMs: round(performance.now() - started), critical: check.critical, ...(message ? { message } : {}) };
  } catch (err) {
    return {
      status: check.critical ? 'fail' : 'warn', latencyMs: round(performance.now() - started), critical: check.critical,
      message: errorSummary(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export class ReadinessService {
  private readonly cache: TtlCache<Readiness>;
  private shuttingDown = false;

  constructor(private readonly checks: Check[], private readonly metrics: Metrics, ttlMs: number) {
    this.cache = new TtlCache('readiness', ttlMs, metrics);
    metrics.onCollect(async () => {
      const { value } = await this.get();
      for (const [name, r] of Object.entries(value.checks)) metrics.dependencyUp.labels(name).set(r.status === 'pass' ? 1 : 0);
    });
  }

  /** Once shutdown starts, readiness fails at once so load balancers stop sending traffic. */
  markShuttingDown(): void {
    this.shuttingDown = true;
    this.cache.invalidate('all');
  }

  async get(): Promise<{ value: Readiness; cached: boolean }> {
    return this.cache.get('all', () => this.check());
  }

  private async check(): Promise<Readiness> {
    const results = await Promise.all(this.checks.map(runCheck));
    const checks = Object.fromEntries(this.checks.map((c, i) => [c.name, results[i]!]));
    if (this.shuttingDown) checks.shutdown = { status: 'fail', latencyMs: 0, critical: true, message: 'shutting down' };
    const failed = Object.values(checks).some((r) => r.status === 'fail');
    return { status: failed ? 'fail' : 'pass', checkedAt: new Date().toISOString(), checks };
  }
}
