// The inbox module's parts, built once from its dependencies. Each part has one job: storing what the
// networks said (ingest.ts), collecting one source of one account (collect.ts), keeping every collection
// scheduled (schedule.ts), reading conversations and messages (read.ts), triage (triage.ts), each member's
// read state (read-state.ts), notes (notes.ts), labels (labels.ts), saved replies (saved-replies.ts),
// what is collected per account (sources.ts), what networks push (push.ts), and answering: queuing a reply (replies.ts) or an action on a
// message (actions.ts) and sending either exactly once (reply-sender.ts).
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { NetworkBudgets } from '../../infra/network-budget.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { InboxAction } from '../../providers/types.ts';
import { capabilitiesOf, INBOX_ACTIONS, type MessageFacts } from './capabilities.ts';
import type { ConversationKind } from './schema.ts';
import type { AccountService } from '../accounts/index.ts';
import { InboxIngest, type ClassifyHook } from './ingest.ts';
import { InboxPush } from './push.ts';
import { InboxCollector, type CollectOptions } from './collect.ts';
import { InboxScheduler, collectedSources } from './schedule.ts';
import { InboxReader } from './read.ts';
import { InboxTriage } from './triage.ts';
import { InboxReadState } from './read-state.ts';
import { InboxNotes } from './notes.ts';
import { InboxLabels } from './labels.ts';
import { InboxSavedReplies } from './saved-replies.ts';
import { InboxSources } from './sources.ts';
import { InboxReplies } from './replies.ts';
import { InboxActions } from './actions.ts';
import { InboxPresence } from './presence.ts';
import { InboxReplySender, type ReplySenderOptions } from './reply-sender.ts';
import type { Role } from '../workspaces/schema.ts';
import type { InboxEvents } from './events.ts';
import { InboxLive } from './live.ts';
import { LocalChannels, type Channels } from '../../infra/stores/channels.ts';

/**
 * Reads each account may make per window on each network for its inbox, "points/seconds", shared by every
 * worker. A network's adapter that collects adds its documented read limit here (docs/INBOX.md).
 */
export const INBOX_READ_BUDGETS: Record<string, string> = {
  sandbox: '300/300', // AllIN's practice network: Mastodon's documented 300 calls per 5 minutes per account, to exercise the budget
  // Pages of notifications per account per 5 minutes: a page may also read threads, and Mastodon's 300 calls
  // per 5 minutes (https://docs.joinmastodon.org/api/rate-limits/) are shared with publishing; the adapter
  // also stops reading threads when X-RateLimit-Remaining runs low.
  mastodon: '60/300',
  // Pages per account per 5 minutes, each one call (a page of notifications, the list of posts, or one post's
  // reply tree). Reads cost no write points; the limit that binds is 3,000 requests per 5 minutes per client
  // IP (https://docs.bsky.app/docs/advanced-guides/rate-limits), which every account of this AllIN shares.
  bluesky: '120/300',
  // Pages per Page per 5 minutes; a page lists up to 10 posts and reads their comments (up to 10 reads each).
  // Page tokens fall under Business Use Case limits whose figures Meta computes per Page and reports in
  // X-Business-Use-Case-Usage (https://developers.facebook.com/docs/graph-api/overview/rate-limiting); a
  // throttled call says how long to wait, which the collector honours.
  facebook: '30/300',
  // The same for Instagram: Instagram Business Use Case limits, reported per account in the same header.
  instagram: '30/300',
  // Threads: the same shape of page (posts, then each one's conversation); its limits are per profile (X-App-Usage).
  threads: '30/300',
  // LinkedIn: pages per Page per 5 minutes (a page lists up to 10 posts and reads their comments). Its quotas are
  // daily per app and per member and not published (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits).
  linkedin: '20/300',
  // X: pages per account per 5 minutes (a page is one call of mentions, or a list of posts and their replies by
  // recent search). X's own windows are per endpoint per 15 minutes, reported in x-rate-limit-* headers, which the
  // adapter honours; reads are billed per post on pay-per-use plans, so the budget stays small.
  x: '20/300',
};

/** The publishing defaults (PUBLISH_LEASE_SECONDS and the rest, src/config.ts), for a service built without settings. */
const DEFAULT_REPLY_OPTIONS: ReplySenderOptions = { leaseMs: 300_000, attemptMaxMs: 900_000, maxAttempts: 8, backoffBaseMs: 30_000, backoffMaxMs: 3_600_000 };

export interface InboxDeps {
  db: Db;
  store: KeyValueStore;
  registry: ProviderRegistry;
  accounts: AccountService;
  metrics: Metrics;
  log: Logger;
  options: Omit<CollectOptions, 'leaseMs'> & { leaseMs?: number };
  /** Read budgets by network (default INBOX_READ_BUDGETS). */
  budgets?: Record<string, string>;
  /** A member's role in a workspace (assignees must be members who may act); null when not a member. */
  roleOf?: (workspaceId: string, userId: string) => Promise<Role | null>;
  /** Sending replies: the publishing settings (lease, ceiling, tries, backoff), since a reply is published as a post is. */
  replies?: ReplySenderOptions;
  /** Workspace events (webhooks): a message collected, a conversation assigned, a reply published, failed or unknown. */
  events?: InboxEvents;
  /** New inbound messages, in the transaction that stored them: the assistant queues their classification. */
  classify?: ClassifyHook;
  /** Where live updates for the open Inbox screens go (every change, once committed); default: this process only. */
  channels?: Channels;
  /** Ends the network calls of a reply attempt past its ceiling (the HttpClient). */
  outbound?: { withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> };
}

export class InboxService {
  readonly ingest: InboxIngest;
  readonly collector: InboxCollector;
  /** What networks push (Meta webhooks), stored as a polled page is. */
  readonly push: InboxPush;
  readonly scheduler: InboxScheduler;
  readonly reader: InboxReader;
  readonly triage: InboxTriage;
  readonly readState: InboxReadState;
  readonly notes: InboxNotes;
  readonly labels: InboxLabels;
  readonly savedReplies: InboxSavedReplies;
  readonly sources: InboxSources;
  readonly replies: InboxReplies;
  readonly actions: InboxActions;
  readonly presence: InboxPresence;
  readonly replySender: InboxReplySender;
  /** Live updates of each workspace's inbox (the events stream). */
  readonly live: InboxLive;

  constructor(private readonly d: InboxDeps) {
    const leaseMs = d.options.leaseMs ?? 120_000;
    this.live = new InboxLive({ channels: d.channels ?? new LocalChannels(d.log), log: d.log });
    const live = { live: this.live };
    this.ingest = new InboxIngest({ ...(d.events ? { events: d.events } : {}), ...(d.classify ? { classify: d.classify } : {}) });
    // One read budget per account, shared by polling and the reads a push asks for.
    const budgets = new NetworkBudgets(d.store, 'inbox-read-budget', d.budgets ?? INBOX_READ_BUDGETS);
    this.collector = new InboxCollector({
      db: d.db, registry: d.registry, accounts: d.accounts, ingest: this.ingest, metrics: d.metrics, log: d.log,
      budgets,
      options: { ...d.options, leaseMs }, ...live,
    });
    this.push = new InboxPush({ db: d.db, accounts: d.accounts, ingest: this.ingest, metrics: d.metrics, log: d.log, registry: d.registry, budgets, ...live });
    this.scheduler = new InboxScheduler({ db: d.db, registry: d.registry, leaseMs });
    const { db } = d;
    this.reader = new InboxReader({ db });
    this.triage = new InboxTriage({ db, roleOf: d.roleOf ?? (async () => null), ...(d.events ? { events: d.events } : {}), ...live });
    this.readState = new InboxReadState({ db, ...live });
    this.notes = new InboxNotes({ db, ...live });
    this.labels = new InboxLabels({ db });
    this.savedReplies = new InboxSavedReplies({ db });
    this.sources = new InboxSources({ db, registry: d.registry });
    this.replies = new InboxReplies({ db, registry: d.registry, ...live });
    this.actions = new InboxActions({ db, registry: d.registry, ...live });
    this.presence = new InboxPresence({ db, store: d.store, reader: this.reader, ...live });
    this.replySender = new InboxReplySender({
      db, registry: d.registry, accounts: d.accounts, ingest: this.ingest, metrics: d.metrics, log: d.log, options: d.replies ?? DEFAULT_REPLY_OPTIONS,
      ...(d.outbound ? { outbound: d.outbound } : {}), ...(d.events ? { events: d.events } : {}), ...live,
    });
  }

  /** What AllIN can do to the message, by the rules the API enforces (capabilities.ts): the conversation's `can`. */
  messageCan(provider: string, kind: ConversationKind, m: MessageFacts): Record<InboxAction, boolean> {
    // A network this AllIN no longer offers (its keys removed after the messages were collected, or seeded
    // data): nothing can be sent to it, and the conversation still opens.
    if (!this.d.registry.isEnabled(provider)) return Object.fromEntries(INBOX_ACTIONS.map((a) => [a, false])) as Record<InboxAction, boolean>;
    return capabilitiesOf(this.d.registry.get(provider), kind, m);
  }

  /** The networks whose inbox this AllIN collects. */
  collectedProviders(): string[] {
    return [...new Set(collectedSources(this.d.registry).map((s) => s.provider))];
  }
}

/** The collect_inbox task: one run over the account and source named in the payload. */
export function collectInboxTask(inbox: InboxService) {
  return async (payload: unknown): Promise<void> => {
    const p = payload as { accountId?: unknown; source?: unknown } | null;
    if (typeof p?.accountId !== 'string' || typeof p.source !== 'string') return;
    await inbox.collector.run(p.accountId, p.source);
  };
}

/** The send_inbox_reply task: one run over the reply named in the payload. */
export function sendInboxReplyTask(inbox: InboxService, processId: string) {
  return async (payload: unknown): Promise<void> => {
    const p = payload as { replyId?: unknown } | null;
    if (typeof p?.replyId !== 'string') return;
    await inbox.replySender.run(p.replyId, processId);
  };
}
