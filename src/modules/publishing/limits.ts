// What keeps AllIN under each network's limits while publishing: how many publishes run at once per
// network and per account (in this process), and a per-account budget of posts per window shared by all
// workers through the store (infra/network-budget.ts). Budgets are the networks' documented posting
// limits (each with its page in docs/NETWORKS.md, Network facts), or none where the network publishes no number.
import { Semaphore } from '../../infra/semaphore.ts';
import { NetworkBudgets, type BudgetAnswer } from '../../infra/network-budget.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';

/** points/seconds per account. */
export const PUBLISH_BUDGETS: Record<string, string> = {
  x: '100/900', // POST /2/tweets: 100 per 15 min per user (docs.x.com rate limits)
  threads: '250/86400', // 250 posts per profile per rolling 24 h (threads_publishing_limit)
  instagram: '50/86400', // the content_publishing_limit reference says 50 (the guide says 100): the lower one
  mastodon: '300/10800', // statuses: 300 per 3 h per account (Mastodon's rack-attack config)
  bluesky: '1600/3600', // 5,000 write points an hour, a create costs 3
};

export interface PublishLimitOptions {
  perNetwork: number;
  perAccount: number;
  /** Budgets by network, "points/seconds"; a network missing here has none. */
  budgets?: Record<string, string>;
}

export class PublishLimits {
  private readonly networks = new Map<string, Semaphore>();
  private readonly accounts = new Map<string, { sem: Semaphore; users: number }>();
  private readonly budgets: NetworkBudgets;

  constructor(store: KeyValueStore, private readonly opts: PublishLimitOptions) {
    this.budgets = new NetworkBudgets(store, 'publish-budget', opts.budgets ?? PUBLISH_BUDGETS);
  }

  /** Takes one post from the account's budget; refused with the wait until the next one is free. */
  takeBudget(provider: string, accountId: string): Promise<BudgetAnswer> {
    return this.budgets.take(provider, accountId);
  }

  /** Runs `fn` holding a place for the network and the account (waiting, within the lease, for one). */
  async run<T>(provider: string, accountId: string, fn: () => Promise<T>): Promise<T> {
    let net = this.networks.get(provider);
    if (!net) this.networks.set(provider, (net = new Semaphore(`publishing on ${provider}`, this.opts.perNetwork, 60_000)));
    let acc = this.accounts.get(accountId);
    if (!acc) this.accounts.set(accountId, (acc = { sem: new Semaphore(`publishing as ${accountId}`, this.opts.perAccount, 60_000), users: 0 }));
    acc.users++;
    try {
      return await acc.sem.run(() => net.run(fn));
    } finally {
      if (--acc.users === 0) this.accounts.delete(accountId);
    }
  }
}
