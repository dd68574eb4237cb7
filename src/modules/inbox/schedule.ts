// Keeps every collection going: each active account of a network whose adapter collects gets a cursor row
// per source the network declares, and every row that is due (or soon due) and has no live job gets one.
// A run ends by adding its own next job (collect.ts); this is the net under it: a new account, an account
// reconnected, a job lost with a worker that died holding it. Every worker runs it on an interval; two
// running at once add nothing twice (job keys, ON CONFLICT).
import { sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { COLLECT_INBOX_TASK } from './jobs.ts';

export interface CollectedSource {
  provider: ProviderId;
  source: string;
  /** The kinds of account collected; null: every kind. */
  kinds: string[] | null;
}

/** The networks and sources this AllIN collects: enabled, with an adapter that has collectInbox. */
export function collectedSources(registry: ProviderRegistry): CollectedSource[] {
  return registry.enabled().flatMap((provider) => {
    const p = registry.get(provider);
    return p.collectInbox ? (p.meta.inbox?.sources ?? []).map((s) => ({ provider, source: s.id, kinds: p.meta.inbox?.accountKinds ?? null })) : [];
  });
}

export class InboxScheduler {
  constructor(private readonly d: { db: Db; registry: ProviderRegistry; leaseMs: number }) {}

  async run(): Promise<{ cursors: number; jobs: number }> {
    return { cursors: await this.ensureCursors(), jobs: await this.enqueueDue() };
  }

  /** A cursor row for every source of every active account of a network that collects; returns how many were new. */
  async ensureCursors(): Promise<number> {
    let cursors = 0;
    for (const s of collectedSources(this.d.registry)) {
      const r = await this.d.db.execute(sql`
        insert into inbox_collection_cursors (account_id, source, workspace_id, provider)
        select a.id, ${s.source}, a.workspace_id, a.provider from social_accounts a
        where a.provider = ${s.provider} and a.status = 'active' ${s.kinds ? sql`and a.kind in (${sql.join(s.kinds.map((k) => sql`${k}`), sql`, `)})` : sql``}
          and not exists (select 1 from inbox_collection_cursors c where c.account_id = a.id and c.source = ${s.source})
        on conflict do nothing`);
      cursors += r.rowCount ?? 0;
    }
    return cursors;
  }

  /** A job for every row due within a minute that has no live job; returns how many were added. */
  async enqueueDue(): Promise<number> {
    const sources = collectedSources(this.d.registry);
    if (sources.length === 0) return 0;
    const pairs = sql.join(sources.map((s) => sql`(${s.provider}, ${s.source})`), sql`, `);
    // A job a worker holds longer than a run's lease belongs to a dead worker: add_job then makes a new one.
    const jobs = await this.d.db.execute(sql`
      select graphile_worker.add_job(${COLLECT_INBOX_TASK}, json_build_object('accountId', c.account_id, 'source', c.source),
        run_at := greatest(c.next_poll_at, now()), job_key := 'inbox:' || c.account_id || ':' || c.source, max_attempts := 3)
      from inbox_collection_cursors c join social_accounts a on a.id = c.account_id and a.status = 'active'
      where c.next_poll_at <= now() + interval '1 minute'
        and (c.lease_until is null or c.lease_until < now())
        and (c.provider, c.source) in (${pairs})
        and not exists (select 1 from graphile_worker.jobs j where j.key = 'inbox:' || c.account_id || ':' || c.source
          and (j.locked_at is null or j.locked_at > now() - (${this.d.leaseMs} * interval '1 millisecond')))
      order by c.next_poll_at
      limit 1000`);
    return jobs.rows.length;
  }
}
