// Short-lived values that must survive the shared store being unreachable, as far as one process can:
// a write the store refuses is kept in this process's memory, and a read looks in both. A value kept
// here is known to this process only, so a flow that comes back through another process fails the way
// a lost value does (for OAuth state: `invalid_state`), never with an error.
import type { KeyValueStore } from './types.ts';
import { MemoryStore } from './memory.ts';

export class LocalFallback {
  /** Made on the first write the store refuses: a process that never sees an outage keeps no timer. */
  private local: MemoryStore | undefined;

  constructor(private readonly store: KeyValueStore) {}

  /** Stores the value; true when it went to the shared store, false when only this process has it. */
  async set(key: string, value: string, ttlMs: number): Promise<boolean> {
    try {
      await this.store.set(key, value, ttlMs);
      return true;
    } catch {
      this.local ??= new MemoryStore();
      await this.local.set(key, value, ttlMs);
      return false;
    }
  }

  /** Reads and deletes, atomically in whichever place holds the value; null when neither can give it. */
  async getDel(key: string): Promise<string | null> {
    const shared = await this.store.getDel(key).catch(() => null);
    if (shared !== null) return shared;
    return (await this.local?.getDel(key)) ?? null;
  }
}
