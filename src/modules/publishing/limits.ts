// What keeps AllIN under each network's limits while publishing: how many publishes run at once per
// network and per account (in this process), and a per-account budget of posts per window shared by all
// workers through the store (infra/network-budget.ts). Budgets are the networks' documented posting
// limits (each with its page in docs/NETWORKS.md, Network facts), or none where the network publishes no number.
//
// A place for a network and an account is taken at once or not at all: a job for a busy account never
// waits for one while it holds a worker slot (the worker's few slots would all wait on one busy account,
// and every other account's posts behind them). It is sent back to the queue instead, to come back about
// when a place should be free: each job turned away takes the next turn in the account's line, spaced by
// the measured time of one publish shared by the places, so a burst of one account comes back at the
// pace it can be sent rather than all at once.
import { LRUCache } from 'lru-cache';
import { NetworkBudgets, type BudgetAnswer } from '../../infra/network-budget.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';

/** points/seconds per account. */
export const PUBLISH_BUDGETS: Record<string, string> = {
  x: '100/900', // POST /2/tweets: 100 per 15 min per user (docs.x.com rate limits)
  threads: '250/86400', // 250 posts per profile per rolling 24 h (threads_publishing_limit)
  instagram: '50/86400', // the content_publishing_limit reference says 50 (the guide says 100): the lower one
  mastodon: '300/10800', // statuses: 300 per 3 h per account (Mastodon's rack-attack config)
  bluesky: '1600/3600', // 5,000 write points an hour, a create costs 3
  telegram: '20/60', // a bot sends at most 20 messages a minute to one group (Bots FAQ); taken for channels too
  slack: '60/60', // chat.postMessage: about one message a second per channel, short bursts allowed (Special tier)
  reddit: '10/600', // AllIN's own: Reddit limits 100 calls a minute per app and posts per user by karma (RATELIMIT, waited out)
  // videos.insert has its own quota bucket of 100 calls a day per Google project (determine_quota_cost); shared by every
  // channel (APP_WIDE_BUDGETS). services.ts puts YOUTUBE_DAILY_UPLOADS here for a project whose quota was raised.
  youtube: '100/86400',
  // TikTok: the init endpoints (video, inbox video, photo) take 6 requests a minute per user token (the Content Posting
  // API references); creator_info, asked before each direct post, 20.
  tiktok: '6/60',
  tumblr: '250/86400', // 250 new published posts (reblogs included) per day per user (Rate Limits; Tumblr's calendar day)
  // pinterest: none. Its per-category limits are per user and app per minute (Standard) or per app per day (Trial:
  // 1,000 requests in all); its 429 is waited out.
  // discord: none. Its limits are not published ("should not be hard coded"); its 429 retry_after is waited instead.
  // lemmy: none. Each instance sets its own (rate_limit_error), and they differ; a 429 is waited out.
  // nostr: none. Every relay sets its own and says so only by refusing ("rate-limited:"), which is waited out.
};

/** Networks whose budget is the API project's (AllIN's app), shared by all its accounts, not each account's own. */
export const APP_WIDE_BUDGETS = new Set(['youtube']);

/** The shortest wait of a job turned away (the queue's poll interval makes shorter ones pointless). */
export const MIN_TURN_MS = 250;
/** The time one publish is taken to last until publishes on that network have been measured. */
const INITIAL_HOLD_MS = 1000;
/** Lines kept at once (accounts and networks turning jobs away now); the oldest go first. */
const MAX_LINES = 10_000;

export interface PublishLimitOptions {
  perNetwork: number;
  perAccount: number;
  /** Budgets by network, "points/seconds"; a network missing here has none. */
  budgets?: Record<string, string>;
}

/** A place taken (release it when the publish ends), or the wait before the job should come back. */
export type Place = { ok: true; release: () => void } | { ok: false; retryAfterMs: number; busy: 'account' | 'network' };

export class PublishLimits {
  /** Publishes running, by `account:<id>` and `network:<provider>`; a key with none is removed. */
  private readonly running = new Map<string, number>();
  /** By the same keys: when the last job turned away should have its turn. */
  private readonly lines = new LRUCache<string, number>({ max: MAX_LINES });
  /** By network: a moving average of how long one publish holds its place. */
  private readonly holdMs = new Map<string, number>();
  private readonly budgets: NetworkBudgets;

  constructor(store: KeyValueStore, private readonly opts: PublishLimitOptions) {
    this.budgets = new NetworkBudgets(store, 'publish-budget', opts.budgets ?? PUBLISH_BUDGETS);
  }

  /** Takes one post from the account's budget (or the app's, APP_WIDE_BUDGETS); refused with the wait until the next one is free. */
  takeBudget(provider: string, accountId: string): Promise<BudgetAnswer> {
    return this.budgets.take(provider, APP_WIDE_BUDGETS.has(provider) ? 'app' : accountId);
  }

  /** A place for the network and the account, now; or, when either is full, the wait for this job's turn. */
  take(provider: string, accountId: string): Place {
    const account = `account:${accountId}`;
    const network = `network:${provider}`;
    if (this.count(account) >= this.opts.perAccount) return this.turnAway(provider, account, this.opts.perAccount, 'account');
    if (this.count(network) >= this.opts.perNetwork) return this.turnAway(provider, network, this.opts.perNetwork, 'network');
    this.add(account, 1);
    this.add(network, 1);
    const started = performance.now();
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.add(account, -1);
        this.add(network, -1);
        const held = performance.now() - started;
        const avg = this.holdMs.get(provider);
        this.holdMs.set(provider, avg === undefined ? held : avg + 0.2 * (held - avg));
      },
    };
  }

  private count(key: string): number {
    return this.running.get(key) ?? 0;
  }

  private add(key: string, n: number): void {
    const v = this.count(key) + n;
    if (v > 0) this.running.set(key, v);
    else this.running.delete(key);
  }

  private turnAway(provider: string, key: string, places: number, busy: 'account' | 'network'): Place {
    const now = Date.now();
    const spacing = Math.max(MIN_TURN_MS, (this.holdMs.get(provider) ?? INITIAL_HOLD_MS) / places);
    const turn = Math.max(now, this.lines.get(key) ?? 0) + spacing;
    // Kept until the turn has passed: a line that is behind now starts again from now.
    this.lines.set(key, turn, { ttl: turn - now });
    return { ok: false, retryAfterMs: turn - now, busy };
  }
}
