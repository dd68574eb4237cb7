// The composition root: every service, built once per process from its already-connected dependencies
// and passed down. Nothing here connects to anything.
import type { TaskList } from 'graphile-worker';
import type { Config } from './config.ts';
import type { Db } from './infra/db/client.ts';
import type { KeyValueStore } from './infra/stores/types.ts';
import type { Logger } from './infra/logger.ts';
import { createLimiter } from './infra/rate-limit.ts';
import { PasswordHasher } from './modules/auth/passwords.ts';
import { TokenService } from './modules/auth/tokens.ts';
import { SessionService } from './modules/auth/sessions.ts';
import { AuthService, type AuthLimits } from './modules/auth/service.ts';
import { AttemptLimits } from './modules/auth/attempt-limits.ts';
import { SecondFactorService } from './modules/auth/second-factor.ts';
import { PasskeyService } from './modules/auth/passkeys.ts';
import { WorkspaceService } from './modules/workspaces/service.ts';
import { InvitationService } from './modules/workspaces/invitations.ts';
import { SsoService } from './modules/sso/index.ts';
import { ApiKeyService, revokeKeysCreatedBy } from './modules/api-keys/service.ts';
import { createMailer, sendMailTask, type Mailer } from './modules/mail/mailer.ts';
import { SEND_MAIL_TASK } from './modules/mail/outbox.ts';
import type { Limiter } from './infra/rate-limit.ts';
import { HttpClient } from './infra/http/client.ts';
import { ProviderRegistry, providerSettings } from './providers/registry.ts';
import { TokenCipher } from './infra/crypto/token-cipher.ts';
import { parseEncryptionKeys } from './config.ts';
import { AccountService } from './modules/accounts/service.ts';
import { databaseAppStore } from './modules/accounts/mastodon-apps.ts';
import { createMastodon } from './providers/mastodon.ts';
import { can } from './modules/workspaces/permissions.ts';
import { MediaService, CLEANUP_MEDIA_TASK, MAKE_PREVIEWS_TASK, ALT_TEXT_MAX, cleanupMediaTask, makePreviewsTask } from './modules/media/service.ts';
import { LocalDiskStorage } from './modules/media/storage.ts';
import { mediaInUse, mediaUsers } from './modules/media/in-use.ts';
import { MediaLinks } from './modules/media/links.ts';
import { WebhookService, DELIVER_WEBHOOK_TASK, deliverWebhookTask } from './modules/webhooks/service.ts';
import { PostsService } from './modules/posts/service.ts';
import { PUBLISH_TASK } from './modules/posts/jobs.ts';
import { PublishingService } from './modules/publishing/service.ts';
import { AnalyticsService, COLLECT_POST_METRICS_TASK, collectPostMetricsTask } from './modules/analytics/service.ts';
import { ACCOUNT_METRICS_BUDGETS, AccountMetricsService, COLLECT_ACCOUNT_METRICS_TASK, collectAccountMetricsTask } from './modules/analytics/account-metrics.ts';
import { NetworkBudgets } from './infra/network-budget.ts';
import { AnalyticsOverview } from './modules/analytics/overview.ts';
import { AnalyticsReports } from './modules/analytics/report.ts';
import { SEND_REPORTS_TASK, ScheduledReports, sendReportsTask } from './modules/analytics/scheduled-reports.ts';
import { LabelService } from './modules/analytics/labels.ts';
import { PostPerformance } from './modules/analytics/performance.ts';
import { BestTimesService } from './modules/analytics/best-times.ts';
import { PublishLimits, PUBLISH_BUDGETS } from './modules/publishing/limits.ts';
import { CachedLinkCards, LinkPreviewer } from './modules/link-preview/previewer.ts';
import type { LinkCardSource } from './providers/types.ts';
import { databaseSendJournal, PRUNE_SEND_JOURNAL_TASK, pruneSendJournalTask } from './modules/publishing/send-journal.ts';
import { mailPostProblem } from './modules/posts/notify.ts';
import { InboxService, collectInboxTask, sendInboxReplyTask, resolveInboxPushTask, replyContext, COLLECT_INBOX_TASK, SEND_INBOX_REPLY_TASK, RESOLVE_INBOX_PUSH_TASK } from './modules/inbox/index.ts';
import { AssistantService, AssistantSettings, PromptBook, InboxClassifier, classifyInboxTask, enqueueClassification, mediaImage, CLASSIFY_INBOX_TASK } from './modules/assistant/index.ts';
import { ClickCounter, LinkRedirects, LinkService } from './modules/links/index.ts';
import { FeedFetcher, FeedService, FETCH_FEEDS_TASK } from './modules/feeds/index.ts';
import { TemplateService } from './modules/templates/index.ts';
import { hostname } from 'node:os';


/** Refreshes the tokens of accounts about to expire; scheduled every minute (see runtime). */
export const REFRESH_TOKENS_TASK = 'refresh_tokens';
import type { Metrics } from './infra/metrics.ts';
import type { InvalidationBus } from './infra/stores/invalidation.ts';
import type { Channels } from './infra/stores/channels.ts';

export interface Services {
  db: Db;
  store: KeyValueStore;
  hasher: PasswordHasher;
  tokens: TokenService;
  sessions: SessionService;
  auth: AuthService;
  secondFactor: SecondFactorService;
  passkeys: PasskeyService;
  workspaces: WorkspaceService;
  invitations: InvitationService;
  apiKeys: ApiKeyService;
  mailer: Mailer;
  authLimits: AuthLimits;
  apiLimits: { user: Limiter; apiKey: Limiter; ip: Limiter };
  tasks: TaskList;
  http: HttpClient;
  linkCards: LinkCardSource;
  registry: ProviderRegistry;
  accounts: AccountService;
  media: MediaService;
  webhooks: WebhookService;
  posts: PostsService;
  publishing: PublishingService;
  analytics: AnalyticsService;
  accountMetrics: AccountMetricsService;
  overview: AnalyticsOverview;
  reports: AnalyticsReports;
  scheduledReports: ScheduledReports;
  labels: LabelService;
  performance: PostPerformance;
  bestTimes: BestTimesService;
  inbox: InboxService;
  assistant: AssistantService;
  assistantSettings: AssistantSettings;
  links: LinkService;
  linkClicks: ClickCounter;
  linkRedirects: LinkRedirects;
  feeds: FeedService;
  sso: SsoService;
  templates: TemplateService;
}

export interface ServiceOptions {
  /** Base URL of the network simulator serving the Sandbox network, when there is one. */
  simulatorUrl?: string;
  /** Channels every process hears (live updates); default: this process only. */
  channels?: Channels;
  /** The clock authenticator codes are checked against (tests move it); default Date.now. */
  now?: () => number;
  /** DNS TXT lookups for domain verification (tests answer them); default node:dns. */
  resolveTxt?: (name: string) => Promise<string[][]>;
}

export function buildServices(config: Config, db: Db, store: KeyValueStore, log: Logger, metrics: Metrics, bus: InvalidationBus, opts: ServiceOptions = {}): Services {
  const hasher = new PasswordHasher({
    ...(config.HASH_CONCURRENCY > 0 ? { concurrency: config.HASH_CONCURRENCY } : {}), maxWaitMs: config.HASH_MAX_WAIT_MS,
    onShed: () => metrics.loadShed.labels('hashing').inc(),
  });
  const tokens = new TokenService({ secret: config.AUTH_SECRET!, issuer: config.PUBLIC_URL, accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS });
  const sessions = new SessionService(db, store, tokens, {
    ttlDays: config.SESSION_TTL_DAYS, rememberTtlDays: config.SESSION_REMEMBER_TTL_DAYS, graceSeconds: config.REFRESH_GRACE_SECONDS,
  });
  const authLimits: AuthLimits = {
    loginAccountIp: createLimiter(store, 'login-account-ip', config.LIMIT_LOGIN_FAILURES_ACCOUNT_IP),
    loginIp: createLimiter(store, 'login-ip', config.LIMIT_LOGIN_FAILURES_IP),
    loginAccount: createLimiter(store, 'login-account', config.LIMIT_LOGIN_FAILURES_ACCOUNT),
    register: createLimiter(store, 'register-ip', config.LIMIT_REGISTER_IP),
    passwordReset: createLimiter(store, 'mail-ip', config.LIMIT_PASSWORD_RESET_IP),
  };
  const apiLimits = {
    user: createLimiter(store, 'api-user', config.LIMIT_API_USER),
    apiKey: createLimiter(store, 'api-key', config.LIMIT_API_KEY),
    ip: createLimiter(store, 'api-ip', config.LIMIT_API_IP),
  };
  // The auth service caches /me; workspace changes tell it, through the bus, whose to drop.
  const workspaces = new WorkspaceService(db, { onMembershipChange: (userIds) => bus.publish('me', userIds), revokeKeysCreatedBy });
  const invitations = new InvitationService({
    db, workspaces, publicUrl: config.PUBLIC_URL,
    limits: { workspace: createLimiter(store, 'invitations-workspace', config.LIMIT_INVITATIONS_WORKSPACE), sender: createLimiter(store, 'invitations-user', config.LIMIT_INVITATIONS_USER) },
  });
  const apiKeys = new ApiKeyService(db);
  const cipher = new TokenCipher(parseEncryptionKeys(config.ENCRYPTION_KEYS!).keys);
  const attempts = new AttemptLimits(authLimits);
  const passkeys = new PasskeyService({ db, store, publicUrl: config.PUBLIC_URL, rpName: 'AllIN' });
  const secondFactor = new SecondFactorService({ db, cipher, hasher, attempts, sessions, passkeys, issuer: 'AllIN', now: opts.now ?? Date.now });
  // SSO builds on auth and the HTTP client; auth asks it, once built, whether an email signs in by SSO only.
  const late: { sso?: SsoService } = {};
  const auth = new AuthService({
    db, hasher, sessions, tokens, limits: authLimits, attempts, secondFactor, passkeys, workspaces, publicUrl: config.PUBLIC_URL, log, metrics, bus,
    ssoOnly: (email) => late.sso!.ssoOnlyWorkspace(email),
  });
  const mailer = createMailer({ url: config.MAIL_URL, from: config.MAIL_FROM, log });
  const http = new HttpClient({
    metrics, log, allowPrivateHosts: config.ALLOW_PRIVATE_HOSTS, defaultTimeoutMs: config.SOCIAL_API_TIMEOUT_MS, mediaTimeoutMs: config.SOCIAL_API_MEDIA_TIMEOUT_MS,
    maxBodyBytes: config.OUTBOUND_MAX_RESPONSE_BYTES, maxHeaderBytes: config.OUTBOUND_MAX_HEADER_BYTES,
  });
  const sso = new SsoService({
    db, store, cipher, http, metrics, bus, publicUrl: config.PUBLIC_URL, allowPrivateIssuers: config.SSO_ALLOW_PRIVATE_ISSUERS,
    allowHttpIssuers: config.NODE_ENV !== 'production', ...(opts.resolveTxt ? { resolveTxt: opts.resolveTxt } : {}),
    auth, revokeNonSsoSessions: (tx, domain) => sessions.revokeNonSso(domain, tx),
  });
  late.sso = sso;
  // What adapters without an idempotency key sent under each marker, kept in the database for every process.
  const sendJournal = databaseSendJournal(db);
  // Mastodon registers AllIN once per instance; the registration is kept in the database for every process.
  // Bluesky link cards, also previewed by the composer (POST …/link-card).
  const linkCards = new CachedLinkCards(new LinkPreviewer({ http, log }), metrics);
  const registry = new ProviderRegistry(http, providerSettings(config, opts.simulatorUrl ?? config.SIMULATOR_URL), {
    mastodon: (deps) => createMastodon(deps, databaseAppStore(db, cipher)),
  }, sendJournal, linkCards);
  const webhooks = new WebhookService({
    db, cipher, http, log, metrics,
    config: {
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, timeoutMs: config.WEBHOOK_TIMEOUT_MS, retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      allowPrivateHosts: config.ALLOW_PRIVATE_HOSTS, requireHttps: config.NODE_ENV === 'production',
    },
  });
  const accounts = new AccountService({
    db, store, cipher, registry, metrics, log, publicUrl: config.PUBLIC_URL, events: webhooks,
    mayManage: async (workspaceId, userId) => {
      const role = await workspaces.roleOf(workspaceId, userId);
      return role !== null && can(role, 'accounts.manage');
    },
  });
  const media = new MediaService({
    db, log, storage: new LocalDiskStorage(config.MEDIA_DIR), inUse: mediaInUse(db), users: mediaUsers(db), links: new MediaLinks(config.AUTH_SECRET!, config.PUBLIC_URL),
    limits: {
      maxImageBytes: config.MEDIA_MAX_IMAGE_BYTES, maxVideoBytes: config.MEDIA_MAX_VIDEO_BYTES, incompleteTtlHours: config.MEDIA_INCOMPLETE_TTL_HOURS,
      quotaBytes: config.MEDIA_WORKSPACE_QUOTA_BYTES, diskReserveBytes: config.MEDIA_DISK_RESERVE_BYTES,
    },
  });
  const labels = new LabelService({ db });
  // Tracked links: the post's first label is its campaign (utm_campaign).
  const links = new LinkService({
    db, publicUrl: config.PUBLIC_URL, metrics, bus,
    campaignOf: async (workspaceId, postId) => (await labels.ofPost(workspaceId, postId).catch(() => []))[0]?.name ?? null,
  });
  const linkClicks = new ClickCounter({ db, log });
  const linkRedirects = new LinkRedirects({ db, metrics, clicks: linkClicks });
  const posts = new PostsService({ db, registry, media, links });
  const publishing = new PublishingService({
    db, registry, accounts, posts: posts.scheduling, media, events: webhooks, metrics, log, outbound: http, links,
    notify: (tx, target, state, reason) => mailPostProblem(tx, config.PUBLIC_URL, target, state, reason),
    limits: new PublishLimits(store, { perNetwork: config.PUBLISH_CONCURRENCY_PER_NETWORK, perAccount: config.PUBLISH_CONCURRENCY_PER_ACCOUNT, budgets: { ...PUBLISH_BUDGETS, youtube: `${config.YOUTUBE_DAILY_UPLOADS}/86400` } }),
    options: {
      leaseMs: config.PUBLISH_LEASE_SECONDS * 1000, attemptMaxMs: config.PUBLISH_ATTEMPT_MAX_SECONDS * 1000, maxAttempts: config.PUBLISH_MAX_ATTEMPTS,
      backoffBaseMs: config.PUBLISH_BACKOFF_BASE_MS, backoffMaxMs: config.PUBLISH_BACKOFF_MAX_MS,
    },
  });
  const analytics = new AnalyticsService({ db, accounts, registry, metrics, log, bus });
  const overview = new AnalyticsOverview({ db });
  const reports = new AnalyticsReports({ overview, workspaces });
  const scheduledReports = new ScheduledReports({ db, reports, workspaces, log });
  const performance = new PostPerformance({ db });
  const bestTimes = new BestTimesService({ db });
  const accountMetrics = new AccountMetricsService({ db, accounts, registry, log, budgets: new NetworkBudgets(store, 'account-metrics-budget', ACCOUNT_METRICS_BUDGETS) });
  const inbox = new InboxService({
    db, store, registry, accounts, metrics, log, roleOf: (workspaceId, userId) => workspaces.roleOf(workspaceId, userId), outbound: http, events: webhooks,
    classify: enqueueClassification,
    ...(opts.channels ? { channels: opts.channels } : {}),
    options: { pollIntervalMs: config.INBOX_POLL_INTERVAL_SECONDS * 1000, pagesPerRun: config.INBOX_PAGES_PER_RUN, backoffMaxMs: config.INBOX_BACKOFF_MAX_SECONDS * 1000 },
    replies: {
      leaseMs: config.PUBLISH_LEASE_SECONDS * 1000, attemptMaxMs: config.PUBLISH_ATTEMPT_MAX_SECONDS * 1000, maxAttempts: config.PUBLISH_MAX_ATTEMPTS,
      backoffBaseMs: config.PUBLISH_BACKOFF_BASE_MS, backoffMaxMs: config.PUBLISH_BACKOFF_MAX_MS,
    },
  });
  const assistantSettings = new AssistantSettings({
    db, cipher,
    options: { allowPrivateHosts: config.AI_ALLOW_PRIVATE_HOSTS, production: config.NODE_ENV === 'production', defaultMonthlyTokenBudget: config.AI_DEFAULT_MONTHLY_TOKEN_BUDGET },
  });
  const prompts = new PromptBook();
  const assistant = new AssistantService({
    db, http, metrics, log, settings: assistantSettings, validator: posts.validator, registry, prompts,
    replyContext: (workspaceId, conversationId, messageId) => replyContext({ db, registry }, workspaceId, conversationId, messageId),
    image: mediaImage(media), altTextMax: ALT_TEXT_MAX,
    options: {
      timeoutMs: config.AI_TIMEOUT_MS, maxResponseBytes: config.AI_MAX_RESPONSE_BYTES, maxOutputTokens: config.AI_MAX_OUTPUT_TOKENS,
      allowPrivateHosts: config.AI_ALLOW_PRIVATE_HOSTS, retries: 2,
      backoff: { baseMs: 500, capMs: 4000, jitter: 'full', maxRetryAfterMs: config.AI_MAX_RETRY_AFTER_SECONDS * 1000 },
    },
  });
  const classifier = new InboxClassifier({ db, assistant, settings: assistantSettings, prompts, log, metrics, maxOutputTokens: config.AI_MAX_OUTPUT_TOKENS });
  const feeds = new FeedService({
    db, posts, log, fetcher: new FeedFetcher(http, { timeoutMs: config.FEED_TIMEOUT_MS, maxBytes: config.FEED_MAX_BYTES }),
    mayApprove: async (workspaceId, userId) => {
      const role = await workspaces.roleOf(workspaceId, userId);
      return role !== null && can(role, 'posts.approve');
    },
  });
  const templates = new TemplateService({ db, media });
  const workerId = `${hostname()}:${process.pid}`;
  const tasks: TaskList = {
    [PUBLISH_TASK]: async (payload) => {
      const { targetId } = payload as { targetId: string };
      await publishing.run(targetId, workerId);
    },
    [CLEANUP_MEDIA_TASK]: cleanupMediaTask(media, log),
    [MAKE_PREVIEWS_TASK]: makePreviewsTask(media),
    [PRUNE_SEND_JOURNAL_TASK]: pruneSendJournalTask(sendJournal, log),
    [SEND_MAIL_TASK]: sendMailTask(db, mailer, log),
    [DELIVER_WEBHOOK_TASK]: deliverWebhookTask(webhooks),
    [COLLECT_POST_METRICS_TASK]: collectPostMetricsTask(analytics, log),
    [COLLECT_ACCOUNT_METRICS_TASK]: collectAccountMetricsTask(accountMetrics, log),
    [COLLECT_INBOX_TASK]: collectInboxTask(inbox),
    [SEND_INBOX_REPLY_TASK]: sendInboxReplyTask(inbox, workerId),
    [RESOLVE_INBOX_PUSH_TASK]: resolveInboxPushTask(inbox.push),
    [CLASSIFY_INBOX_TASK]: classifyInboxTask(classifier),
    [SEND_REPORTS_TASK]: sendReportsTask(scheduledReports, log),
    [FETCH_FEEDS_TASK]: async () => {
      const n = await feeds.fetchDue();
      if (n) log.debug({ feeds: n }, 'feeds fetched');
    },
    [REFRESH_TOKENS_TASK]: async () => {
      const r = await accounts.refreshDue();
      if (r.refreshed || r.failed) log.info(r, 'token refresh run');
    },
  };
  return { db, store, hasher, tokens, sessions, auth, secondFactor, passkeys, workspaces, invitations, apiKeys, mailer, authLimits, apiLimits, tasks, http, linkCards, registry, accounts, webhooks, media, posts, publishing, analytics, accountMetrics, overview, reports, scheduledReports, labels, performance, bestTimes, inbox, assistant, assistantSettings, links, linkClicks, linkRedirects, feeds, sso, templates };
}
