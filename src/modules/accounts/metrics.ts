// allin_social_accounts{provider,status}: connected accounts by network and status, read from the database
// when /metrics is scraped (one grouped count over social_accounts, which holds a row per connected account:
// small). Alerts use it to tell operators that accounts need reconnecting (the network refused a refresh).
// Every process exports the same figures: aggregate with max(), not sum().
import type pg from 'pg';
import type { Metrics } from '../../infra/metrics.ts';
import { ACCOUNT_STATUSES } from './schema.ts';

export function collectAccountMetrics(pool: pg.Pool, metrics: Metrics): void {
  metrics.onCollect(async () => {
    const res = await pool.query<{ provider: string; status: string; n: number }>(
      'select provider, status, count(*)::int as n from social_accounts group by provider, status');
    metrics.socialAccounts.reset();
    // Every status of a network that has accounts gets a series, 0 included, so a count that falls to
    // zero reads 0 rather than vanishing.
    for (const provider of new Set(res.rows.map((r) => r.provider))) {
      for (const status of ACCOUNT_STATUSES) metrics.socialAccounts.labels(provider, status).set(0);
    }
    for (const r of res.rows) metrics.socialAccounts.labels(r.provider, r.status).set(r.n);
  });
}
