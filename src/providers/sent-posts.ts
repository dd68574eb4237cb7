// What an adapter sent under each marker, for networks that have no client key to find a post by: kept in
// the send journal (see send-journal.ts), durable and shared between workers when the app passes one, so
// that an unknown outcome can be reconciled by matching what was sent, also after a restart. A retried
// marker keeps its first send time.
import { MemorySendJournal, sendKey, type SendJournal } from './send-journal.ts';
import { ProviderError } from './types.ts';

export class SentPosts<T extends object> {
  constructor(private readonly provider: string, private readonly journal: SendJournal = new MemorySendJournal()) {}

  /** What was sent under the account's marker, or undefined when nothing was ever recorded. */
  async get(account: string, marker: string): Promise<(T & { firstSentAt: number }) | undefined> {
    const r = await journalCall(this.provider, 'read', () => this.journal.get<T>(this.provider, sendKey(account, marker)));
    return r ? { ...r.value, firstSentAt: r.firstSentAt } : undefined;
  }

  /** Records a send under the marker before it goes out, keeping the first send time of a retried marker. */
  async record(account: string, marker: string, a: T): Promise<T & { firstSentAt: number }> {
    const r = await journalCall(this.provider, 'write', () => this.journal.put(this.provider, sendKey(account, marker), a));
    return { ...r.value, firstSentAt: r.firstSentAt };
  }
}

/**
 * A journal call whose failure (the database is unreachable) is transient: a write failed before the
 * request was sent, so nothing was created; a read can be tried again later.
 */
export async function journalCall<R>(provider: string, what: 'read' | 'write', fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('transient', `${provider}: the record of what was sent could not be ${what === 'read' ? 'read' : 'written'} (${err instanceof Error ? err.message : String(err)})`,
      { provider, reason: 'send_journal_unavailable' });
  }
}
