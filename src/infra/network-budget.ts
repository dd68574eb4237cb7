// A per-account allowance of calls to each network, shared by every process through the store (Redis when
// there is one): publishing spends one from its budget per post, the inbox one from its own per page it
// reads. Each budget is a network's documented limit ("points/seconds"); a network without one has none.
import { consume, createLimiter, type Limiter } from './rate-limit.ts';
import type { KeyValueStore } from './stores/types.ts';

export type BudgetAnswer = { ok: true } | { ok: false; retryAfterMs: number };

export class NetworkBudgets {
  private readonly limiters = new Map<string, Limiter>();

  /** `name` prefixes the limiters' keys (`${name}-${network}`); `budgets` are "points/seconds" by network. */
  constructor(store: KeyValueStore, name: string, budgets: Record<string, string>) {
    for (const [network, limit] of Object.entries(budgets)) this.limiters.set(network, createLimiter(store, `${name}-${network}`, limit));
  }

  /** Takes one call from the account's budget on the network; refused with the wait until the next one is free (at least 1 s). */
  async take(network: string, accountId: string): Promise<BudgetAnswer> {
    const l = this.limiters.get(network);
    if (!l) return { ok: true };
    const r = await consume(l, accountId);
    return r.ok ? { ok: true } : { ok: false, retryAfterMs: Math.max(1000, r.res.msBeforeNext) };
  }
}
