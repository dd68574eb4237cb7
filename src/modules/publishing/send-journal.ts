// The send journal kept in PostgreSQL (table provider_send_journal), shared by every worker: what the
// adapters without an idempotency key sent under each marker survives the process that sent it, so the
// worker that takes over a target after a crash can still ask the network (see src/providers/send-journal.ts).
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Task } from 'graphile-worker';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { SendJournal, SendRecord } from '../../providers/send-journal.ts';
import { providerSendJournal } from './schema.ts';

/** Rows untouched this long are deleted: every retry and reconciliation of a marker is long over by then. */
export const SEND_JOURNAL_RETENTION_DAYS = 30;

/** Prunes old send journal rows; scheduled hourly (see runtime). */
export const PRUNE_SEND_JOURNAL_TASK = 'prune_send_journal';

export interface DatabaseSendJournal extends SendJournal {
  /** Deletes the rows untouched for `days` days; answers how many went. */
  prune(days?: number): Promise<number>;
}

export function databaseSendJournal(db: Db): DatabaseSendJournal {
  const t = providerSendJournal;
  return {
    async get<T extends object>(provider: string, key: string): Promise<SendRecord<T> | undefined> {
      const [row] = await db.select({ value: t.value, firstSentAt: t.firstSentAt }).from(t).where(and(eq(t.provider, provider), eq(t.key, key)));
      return row ? { value: row.value as T, firstSentAt: row.firstSentAt.getTime() } : undefined;
    },

    async put<T extends object>(provider: string, key: string, value: T): Promise<SendRecord<T>> {
      // One statement: a key written before keeps its first send time, whichever worker writes it again.
      const [row] = await db.insert(t).values({ provider, key, value: value as Record<string, unknown> })
        .onConflictDoUpdate({ target: [t.provider, t.key], set: { value: sql`excluded.value`, updatedAt: sql`now()` } })
        .returning({ value: t.value, firstSentAt: t.firstSentAt });
      return { value: row!.value as T, firstSentAt: row!.firstSentAt.getTime() };
    },

    async prune(days = SEND_JOURNAL_RETENTION_DAYS): Promise<number> {
      const r = await db.delete(t).where(lt(t.updatedAt, sql`now() - (${days} * interval '1 day')`));
      return r.rowCount ?? 0;
    },
  };
}

export function pruneSendJournalTask(journal: DatabaseSendJournal, log: Logger): Task {
  return async () => {
    const removed = await journal.prune();
    if (removed > 0) log.info({ removed }, 'pruned the send journal');
  };
}
