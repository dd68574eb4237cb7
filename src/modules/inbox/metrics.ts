// allin_inbox_backlog{provider} and allin_inbox_backlog_oldest_seconds{provider}: collections (an account's
// source) that are due and not running, and how long the most overdue one has waited, read from the
// database when /metrics is scraped (a range of the due index). A backlog that grows, or an age far past the
// poll interval, means the workers do not keep up (or a network keeps refusing). Every process exports the
// same figures: aggregate with max(), not sum().
import type pg from 'pg';
import type { Metrics } from '../../infra/metrics.ts';

export function collectInboxMetrics(pool: pg.Pool, metrics: Metrics, providers: () => string[]): void {
  metrics.onCollect(async () => {
    const res = await pool.query<{ provider: string; n: number; oldest: string }>(`
      select c.provider, count(*)::int as n, extract(epoch from now() - min(c.next_poll_at)) as oldest
        from inbox_collection_cursors c join social_accounts a on a.id = c.account_id and a.status = 'active'
       where c.next_poll_at < now() and (c.lease_until is null or c.lease_until < now()) and c.provider = any($1)
       group by c.provider`, [providers()]);
    metrics.inboxBacklog.reset();
    metrics.inboxBacklogAge.reset();
    for (const p of providers()) {
      metrics.inboxBacklog.labels(p).set(0);
      metrics.inboxBacklogAge.labels(p).set(0);
    }
    for (const r of res.rows) {
      metrics.inboxBacklog.labels(r.provider).set(r.n);
      metrics.inboxBacklogAge.labels(r.provider).set(Number(r.oldest));
    }
  });
}
