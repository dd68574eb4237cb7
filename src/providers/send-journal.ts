// What an adapter sent under each marker, written down BEFORE the request goes out, for networks that have
// no idempotency key and no field that comes back on a post (X, LinkedIn, Facebook, Instagram, Threads).
// Reconciling an unknown outcome there means recognising the post by what was sent (its text, the post it
// answers, when it was first sent, the container handed to media_publish), so the record must outlive
// the process that sent it: the app passes a PostgreSQL journal shared by every worker
// (src/modules/publishing/send-journal.ts); without one an adapter keeps it in memory (tests, tools).
//
// Entries are keyed by network and by `sendKey(account, marker)`. Values are JSON objects: dates go in as
// ISO strings or epoch milliseconds. A key written again keeps its first send time (a retried marker is
// looked for from its first try on).

/** One entry: the value last written and when the key was first written (epoch milliseconds). */
export interface SendRecord<T> {
  value: T;
  firstSentAt: number;
}

export interface SendJournal {
  get<T extends object>(provider: string, key: string): Promise<SendRecord<T> | undefined>;
  /** Writes the value under the key; a key written before keeps its first send time, which is returned. */
  put<T extends object>(provider: string, key: string, value: T): Promise<SendRecord<T>>;
}

/** The key of one account's marker (an account id may contain any character, so the pair is JSON). */
export const sendKey = (account: string, marker: string) => JSON.stringify([account, marker]);

/**
 * The journal of one process: bounded in size and age, oldest entries first out (a Map iterates in
 * insertion order). Values are copied through JSON, so what comes back is what PostgreSQL would give.
 */
export class MemorySendJournal implements SendJournal {
  private readonly entries = new Map<string, { json: string; firstSentAt: number }>();

  constructor(private readonly ttlMs = 7 * 24 * 3600_000, private readonly max = 20_000) {}

  async get<T extends object>(provider: string, key: string): Promise<SendRecord<T> | undefined> {
    const k = JSON.stringify([provider, key]);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.firstSentAt < Date.now() - this.ttlMs) {
      this.entries.delete(k);
      return undefined;
    }
    return { value: JSON.parse(e.json) as T, firstSentAt: e.firstSentAt };
  }

  async put<T extends object>(provider: string, key: string, value: T): Promise<SendRecord<T>> {
    const k = JSON.stringify([provider, key]);
    const prev = await this.get(provider, key);
    const json = JSON.stringify(value);
    const entry = { json, firstSentAt: prev?.firstSentAt ?? Date.now() };
    this.entries.delete(k);
    this.entries.set(k, entry);
    const cutoff = Date.now() - this.ttlMs;
    for (const [old, v] of this.entries) {
      if (this.entries.size <= this.max && v.firstSentAt >= cutoff) break;
      this.entries.delete(old);
    }
    return { value: JSON.parse(json) as T, firstSentAt: entry.firstSentAt };
  }
}
