// What the inbox collects for each of a workspace's accounts, and how collection stands: honest per
// account, so a team sees which networks are not collected (yet) and why a source is behind.
import { sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

export interface SourceStatus {
  id: string;
  collects: string[];
  description: string;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  nextPollAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  failures: number;
  backoffUntil: Date | null;
}

export interface AccountCollection {
  accountId: string;
  provider: string;
  username: string;
  /** collected; paused (the account needs reconnecting); not_collected (AllIN does not collect this network yet). */
  collection: 'collected' | 'paused' | 'not_collected';
  why: string | null;
  sources: SourceStatus[];
}

const dateOr = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as Date));

export class InboxSources {
  constructor(private readonly d: { db: Db; registry: ProviderRegistry }) {}

  async list(workspaceId: string, page: { limit: number; cursor?: string }): Promise<{ items: AccountCollection[]; nextCursor: string | null }> {
    const after = page.cursor ? String(decodeCursor(page.cursor, ['uuid'])[0]) : null;
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select a.id, a.provider, a.username, a.status, a.kind, c.source, c.last_polled_at, c.last_success_at, c.next_poll_at, c.last_error, c.last_error_at, c.failures, c.backoff_until
        from (select id, provider, username, status, kind from social_accounts
               where workspace_id = ${workspaceId} and status <> 'disconnected' ${after ? sql`and id > ${after}::uuid` : sql``}
               order by id limit ${page.limit + 1}) a
        left join inbox_collection_cursors c on c.account_id = a.id
       order by a.id, c.source`);
    const accounts = new Map<string, { row: Record<string, unknown>; cursors: Record<string, unknown>[] }>();
    for (const r of res.rows) {
      const id = String(r.id);
      if (!accounts.has(id)) accounts.set(id, { row: r, cursors: [] });
      if (r.source !== null) accounts.get(id)!.cursors.push(r);
    }
    const all = [...accounts.values()];
    const pageRows = all.slice(0, page.limit);
    return {
      items: pageRows.map(({ row, cursors }) => this.describe(row, cursors)),
      nextCursor: all.length > page.limit ? encodeCursor([String(pageRows.at(-1)!.row.id)]) : null,
    };
  }

  private describe(a: Record<string, unknown>, cursors: Record<string, unknown>[]): AccountCollection {
    const provider = String(a.provider);
    const adapter = this.d.registry.isEnabled(provider) ? this.d.registry.get(provider as ProviderId) : undefined;
    const declared = adapter?.collectInbox ? adapter.meta.inbox?.sources ?? [] : [];
    const base = { accountId: String(a.id), provider, username: String(a.username) };
    if (declared.length === 0) {
      const name = adapter?.meta.displayName ?? provider;
      return { ...base, collection: 'not_collected', why: `AllIN does not collect comments or mentions from ${name} yet (docs/INBOX.md).`, sources: [] };
    }
    const kinds = adapter?.meta.inbox?.accountKinds;
    if (kinds && !kinds.includes(String(a.kind) as (typeof kinds)[number])) {
      const name = adapter?.meta.displayName ?? provider;
      return { ...base, collection: 'not_collected', why: adapter?.meta.inbox?.notCollected ?? `AllIN does not collect this kind of ${name} account.`, sources: [] };
    }
    const sources = declared.map((s): SourceStatus => {
      const c = cursors.find((x) => x.source === s.id);
      return {
        id: s.id, collects: s.collects, description: s.description,
        lastPolledAt: dateOr(c?.last_polled_at), lastSuccessAt: dateOr(c?.last_success_at), nextPollAt: dateOr(c?.next_poll_at),
        lastError: c?.last_error === null || c?.last_error === undefined ? null : String(c.last_error), lastErrorAt: dateOr(c?.last_error_at),
        failures: Number(c?.failures ?? 0), backoffUntil: dateOr(c?.backoff_until),
      };
    });
    if (a.status !== 'active') return { ...base, collection: 'paused', why: 'The account needs reconnecting; collection resumes where it stopped once it is reconnected.', sources };
    return { ...base, collection: 'collected', why: null, sources };
  }
}
