// The contract every social network adapter implements, one file per network in src/providers/.
// Adapters speak the network's published API exactly (its documentation URL heads each file) and know
// nothing of AllIN's database: the accounts and publishing modules hand them decrypted tokens and
// store what they return. Every outbound call goes through the injected HttpClient (timeouts, bounded
// retries of idempotent calls, metrics, and the private-address guard for user-supplied hosts).
import type { HttpClient } from '../infra/http/client.ts';
import type { SendJournal } from './send-journal.ts';

export const PROVIDER_IDS = ['x', 'linkedin', 'facebook', 'instagram', 'threads', 'mastodon', 'bluesky', 'telegram', 'discord', 'nostr', 'lemmy', 'slack', 'reddit', 'youtube', 'pinterest', 'tiktok', 'tumblr', 'sandbox'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** How the network counts text, so a composer can count as the server does (see src/providers/text.ts). */
export type TextCounting = 'twitter' | 'graphemes' | 'mastodon' | 'unicode' | 'utf16';

export interface MediaLimits {
  maxCount: number;
  imageTypes: string[];
  videoTypes: string[];
  maxImageBytes: number;
  maxVideoBytes: number;
  maxVideoSeconds?: number;
  /** Shorter videos are refused (Reels last at least 3 s). */
  minVideoSeconds?: number;
  /** Images and a video in one post. */
  mixing: boolean;
  /** A post without media is refused (Instagram). */
  required: boolean;
}

export interface ProviderLimits {
  textCounting: TextCounting;
  maxTextLength: number;
  /** With media attached the text is a caption, which holds at most this many (Telegram: 1,024); absent: maxTextLength. */
  maxCaptionLength?: number;
  media: MediaLimits;
  /** Replies to the account's own post are how threads are built. */
  threads: boolean;
  /** A first comment can be added under the post. */
  firstComment: boolean;
}

export interface ProviderMetadata {
  id: ProviderId;
  displayName: string;
  docsUrl: string;
  /**
   * oauth2: redirect to the network; app_password: the user types a handle and an app password;
   * bot_token: the user types the chat to post to and a bot's token (Telegram), through signIn(chat, token);
   * webhook_url: the user pastes a channel's webhook URL (Discord), through signIn(_, url);
   * secret_key: the user types where to publish (Nostr relays) and a secret key, through signIn(relays, key);
   * login: the user types a server, a username and the account's password (Lemmy), through signIn(user, password, host).
   */
  connect: 'oauth2' | 'app_password' | 'bot_token' | 'webhook_url' | 'secret_key' | 'login';
  /** Refreshing returns a new refresh token and kills the old one: refreshes must be serialised. */
  refreshTokenRotates: boolean;
  supportsRevocation: boolean;
  /** A server of the user's choosing (Mastodon instance, Bluesky PDS). */
  userSuppliedHost: boolean;
  limits: ProviderLimits;
  /** What AllIN's inbox collects from this network; absent: nothing (the adapter has no collectInbox yet). */
  inbox?: InboxCapabilities;
  /** The account-level figures the network gives (backed by the adapter's accountMetrics); absent: none. */
  accountMetrics?: AccountMetricsCapabilities;
}

/** An account-level figure: counts as of a moment (followers, following, posts) or a day's insights. */
export const ACCOUNT_METRIC_FIELDS = ['followers', 'following', 'posts', 'reach', 'impressions', 'profileViews', 'engagement'] as const;
export type AccountMetricField = (typeof ACCOUNT_METRIC_FIELDS)[number];
/** The figures a network gave; a figure it did not give is absent, never 0. */
export type AccountFigures = Partial<Record<AccountMetricField, number>>;

/** What a network's adapter offers for account metrics (docs/ANALYTICS.md, each with its page). */
export interface AccountMetricsCapabilities {
  /** The fields the network documents; every other field is stored as null for its accounts. */
  fields: AccountMetricField[];
  /** How many past days the network reports figures for when asked (0: it keeps no history to read). */
  historyDays: number;
  /** Where the network documents them. */
  docs: string;
}

/** Asks for the account's figures now and for past days from `since` (a UTC day, YYYY-MM-DD) to yesterday. */
export interface AccountMetricsRequest {
  since?: string;
  /** False after the network refused the insights to this account: only the counts are asked for. */
  insights: boolean;
}

export interface AccountMetricsAnswer {
  /** The counts as of now (the collection's day). */
  now: AccountFigures;
  /** Figures the network reports per past day (its day, a UTC date), oldest first. */
  days: { date: string; figures: AccountFigures }[];
  /**
   * The network gave the counts but refused the insights to this account (a missing scope, an account type
   * without insights): why, in words a person can act on.
   */
  insightsRefused?: string;
}

/** What a network's adapter offers the inbox (docs/INBOX.md). */
export interface InboxCapabilities {
  /** The feeds AllIN polls, each with a cursor of its own per account. */
  sources: InboxSource[];
  /**
   * What AllIN can do to a collected message through this network's API, each backed by the adapter's
   * method of the same name (reply: `reply` and `findReply`; every other action also by `messageState`,
   * which reads the result back after an unknown outcome). Absent or empty: the inbox only reads.
   */
  actions?: InboxAction[];
  /**
   * Whose messages `delete` removes: `own`, the account's own only (Mastodon, Bluesky); `own_and_comments`,
   * also others' comments under the account's own posts (the Sandbox, as a Facebook Page may).
   */
  deletes?: 'own' | 'own_and_comments';
  /**
   * What of `actions` the network's API allows on a message in a mention conversation (someone else's thread),
   * where the account owns nothing but its own answers; absent: all of them. Hide and unhide never apply there.
   */
  mentionActions?: InboxAction[];
  /** Why a message collected as not answerable (InboxItem.answerable false) cannot be answered, for the 409. */
  unanswerable?: string;
  /**
   * The kinds of account the network lets AllIN read (LinkedIn: organisation Pages only); absent: every kind.
   * Accounts of another kind get no collection and are shown as not collected, with `notCollected` as why.
   */
  accountKinds?: ConnectedIdentity['kind'][];
  /** What is not collected from this network and why, in a sentence for people (the account screen shows it). */
  notCollected?: string;
}

/** An action on a collected message (docs/INBOX.md, Answering and Acting on a message). */
export type InboxAction = 'reply' | MessageAction;
/** What can be done to a collected message besides answering it; each is a state the network can be asked for. */
export const MESSAGE_ACTIONS = ['like', 'unlike', 'hide', 'unhide', 'delete'] as const;
export type MessageAction = (typeof MESSAGE_ACTIONS)[number];

/** The message an action is done to. */
export interface MessageActionRequest {
  /** The network's id of the message. */
  remoteId: string;
  /** The network's id of the thread's root (hiding on Bluesky is a setting of the root post). */
  rootRemoteId: string;
  /** The action's own key: one per action, so every try of it is the same request. */
  marker: string;
  /** The message is in a mention conversation: someone else's thread. */
  mention?: boolean;
}

/**
 * A message as the network shows it to the account now, read back after an action whose outcome is unknown.
 * A field the network does not say is absent (an action that needs it then ends unknown).
 */
export interface MessageState {
  /** Gone from the network (deleted by its author or by the account), or never visible to the account. */
  deleted: boolean;
  likedByMe?: boolean;
  hidden?: boolean;
}

/** A reply to a collected message, published as the account. */
export interface ReplyRequest {
  text: string;
  /** The network's id of the message answered. */
  parentRemoteId: string;
  /** The network's id of the thread's root (some networks need it to thread the reply: Bluesky's root ref). */
  rootRemoteId: string;
  /** The idempotency key the network gets, and what findReply looks for after an unknown outcome. */
  marker: string;
  /** The message answered is in a mention conversation: someone else's thread (Instagram answers there otherwise). */
  mention?: boolean;
}

/** Where to look for a reply sent with `marker`, after a try whose outcome is unknown. */
export interface FindReplyRequest {
  parentRemoteId: string;
  rootRemoteId: string;
  marker: string;
  /** The try started after this instant. */
  since: Date;
  /** As ReplyRequest.mention. */
  mention?: boolean;
}

export interface InboxSource {
  /** Stable name, stored with the account's cursor (e.g. "notifications", "comments"). */
  id: string;
  /** What arrives through it. */
  collects: ('comments' | 'replies' | 'mentions')[];
  /** For people: what the source reads and its limits, with the network's documentation page. */
  description: string;
}

/** Asks for the next page of a source after `cursor` (null: from where the network starts a new reader). */
export interface InboxPageRequest {
  source: string;
  cursor: string | null;
}

export interface InboxPage {
  items: InboxItem[];
  /** Where the next request carries on (kept even when nothing came, so a reader never goes back). */
  cursor: string | null;
  /** More is waiting now: ask again at once. */
  more: boolean;
}

/** A comment, a reply or a mention, as the network shows it now. */
export interface InboxItem {
  remoteId: string;
  /** comment: under a post of the account (or under a comment there); mention: a post that names the account. */
  kind: 'comment' | 'mention';
  /** The network's id of the thread's root post (the item's own id for a mention that starts a thread). */
  rootRemoteId: string;
  /** What it answers; absent: it answers the root (or is the root). */
  parentRemoteId?: string;
  author: { remoteId: string; handle: string; name?: string; avatarUrl?: string };
  /** Empty for a deleted item. */
  text: string;
  url?: string;
  /** The language the network says the text is in (BCP 47 tag), when it says. */
  language?: string;
  createdAt: Date;
  editedAt?: Date;
  deleted?: boolean;
  /**
   * Hidden from the public by the account (the network still shows it to the account): true, or false when
   * shown; absent when this source does not tell (a stored message keeps its state).
   */
  hidden?: boolean;
  /**
   * false: the network does not let the account answer it (Instagram: a medium it is only tagged in); true: it
   * does, which a later arrival saying false does not undo (the same medium @mentioning it in the caption);
   * absent: by the network's rules (a stored message keeps what it had).
   */
  answerable?: boolean;
  /** The root post, when the network includes it. */
  root?: { remoteId: string; url?: string; text?: string; authorRemoteId?: string; authorHandle?: string; createdAt?: Date };
}

/** What a network pushed about one of its identities (a Page), in the shape collection gives. */
export interface PushedItems {
  /** The network's id of the identity the items are addressed to (a Page id). */
  externalId: string;
  /** The inbox source the items belong to (the one that polls them too). */
  source: string;
  items: InboxItem[];
  /**
   * What the push only names (Instagram's mentions carry ids, not the comment): references the adapter reads with
   * the account's token (`InboxWebhook.lookup`), in a job after the push is answered.
   */
  lookups?: string[];
}

/** Events a network pushes to AllIN's public callback (Meta webhooks), checked and read by the adapter. */
export interface InboxWebhook {
  /** Whether the signature header proves the raw body came from the network (signed with the app's secret). False when the app has no secret. */
  verify(rawBody: Buffer, signatureHeader: string | undefined): boolean;
  /** What a verified notification says; what it cannot use (another field, a malformed entry) is left out. */
  parse(body: unknown): PushedItems[];
  /** Reads what a push only named (PushedItems.lookups) as the account sees it; one gone from the network is left out. */
  lookup?(account: AccountRef, refs: string[]): Promise<InboxItem[]>;
}

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: Date;
  refreshExpiresAt?: Date;
  scope?: string[];
}

/** One account the user can publish as, found after authorisation (a member, a page, an organisation). */
export interface ConnectedIdentity {
  externalId: string;
  kind: 'person' | 'page' | 'organization';
  username: string;
  displayName: string;
  avatarUrl?: string;
  profileUrl?: string;
  /** Tokens of this identity when they differ from the user's (a Facebook Page token). */
  tokens?: TokenSet;
  /** What the adapter needs again later (author URN, DID, PDS host…), stored with the account. */
  data?: Record<string, unknown>;
}

export interface AuthorizeRequest {
  redirectUri: string;
  state: string;
  /** PKCE S256 challenge of the verifier kept on the server. */
  codeChallenge: string;
  /** Mastodon instance host chosen by the user. */
  host?: string;
}

export interface ExchangeRequest {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  host?: string;
}

/** What an adapter gets to act as one connected account. */
export interface AccountRef {
  externalId: string;
  username: string;
  tokens: TokenSet;
  host?: string;
  data: Record<string, unknown>;
}

export interface MediaItem {
  mimeType: string;
  bytes: number;
  width?: number;
  height?: number;
  durationSeconds?: number;
  altText?: string;
  /** A public HTTPS URL the network can fetch (Instagram, Threads fetch media themselves). */
  publicUrl?: string;
  read(): Promise<Buffer>;
}

export interface PublishRequest {
  text: string;
  media: MediaItem[];
  /** Remote id of the post this one answers (the previous part of a thread, or the post of a first comment). */
  replyTo?: string;
  /** An idempotency key and a marker to find the post again after an unknown outcome. */
  marker: string;
  options?: Record<string, unknown>;
}

export interface PublishedPost {
  remoteId: string;
  url?: string;
}

export interface PostMetrics {
  likes?: number;
  reposts?: number;
  replies?: number;
  impressions?: number;
  collectedAt: Date;
}

export interface Provider {
  readonly meta: ProviderMetadata;
  /** Where to send the user to authorise AllIN (may register an app with the host first). */
  authorizationUrl?(req: AuthorizeRequest): Promise<string>;
  exchangeCode?(req: ExchangeRequest): Promise<TokenSet>;
  /**
   * Handle + app password (Bluesky), chat + bot token (Telegram), or a webhook URL as the password (Discord). `identities`, when the sign-in already
   * found them (a bot token alone does not say which chat: the chat is part of the sign-in).
   */
  signIn?(identifier: string, password: string, host?: string): Promise<{ tokens: TokenSet; host?: string; identities?: ConnectedIdentity[] }>;
  refresh(account: AccountRef): Promise<TokenSet>;
  revoke?(account: AccountRef): Promise<void>;
  /** The accounts these tokens can publish as. */
  identities(tokens: TokenSet, host?: string): Promise<ConnectedIdentity[]>;
  publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost>;
  /** A post published recently carrying the marker, for reconciling an unknown outcome. */
  findByMarker(account: AccountRef, marker: string, since: Date): Promise<PublishedPost | null>;
  metrics?(account: AccountRef, remoteId: string): Promise<PostMetrics>;
  /**
   * The account's own figures (declared in meta.accountMetrics). A `permanent` ProviderError means the
   * network refuses them to this account altogether (its reason says why).
   */
  accountMetrics?(account: AccountRef, req: AccountMetricsRequest): Promise<AccountMetricsAnswer>;
  /** Events the network pushes (Meta webhooks); polling the same source goes on as a safety net. */
  readonly webhook?: InboxWebhook;
  /** One page of an inbox source (declared in meta.inbox). Errors are ProviderErrors like every call's. */
  collectInbox?(account: AccountRef, req: InboxPageRequest): Promise<InboxPage>;
  /** Publishes a reply under a collected message (declared by 'reply' in meta.inbox.actions). */
  reply?(account: AccountRef, req: ReplyRequest): Promise<PublishedPost>;
  /**
   * The reply sent with the marker under the parent, for reconciling an unknown outcome: null when it is
   * surely not there; throws a `permanent` ProviderError when the network cannot tell.
   */
  findReply?(account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null>;
  /** Likes the message as the account (declared by 'like'); liking a liked message changes nothing. */
  like?(account: AccountRef, req: MessageActionRequest): Promise<void>;
  /** Takes the account's like back (declared by 'unlike'); a message not liked stays so. */
  unlike?(account: AccountRef, req: MessageActionRequest): Promise<void>;
  /** Hides a reply under the account's own post from the public (declared by 'hide'). */
  hide?(account: AccountRef, req: MessageActionRequest): Promise<void>;
  /** Shows a hidden reply again (declared by 'unhide'). */
  unhide?(account: AccountRef, req: MessageActionRequest): Promise<void>;
  /** Deletes the message (declared by 'delete', for the messages `meta.inbox.deletes` says); one already gone counts as deleted. */
  delete?(account: AccountRef, req: MessageActionRequest): Promise<void>;
  /**
   * The message as the network shows it to the account, for reconciling an action whose outcome is unknown;
   * throws a `permanent` ProviderError when the network cannot tell.
   */
  messageState?(account: AccountRef, req: MessageActionRequest): Promise<MessageState>;
}

export interface ProviderDeps {
  http: HttpClient;
  /** Base URLs (overridable so tests point them at the simulator) and app credentials. */
  settings: ProviderSettings;
  /**
   * Where adapters without an idempotency key write down what they send before sending it, to reconcile
   * an unknown outcome later (src/providers/send-journal.ts). The app passes one kept in PostgreSQL and
   * shared by every worker; without it an adapter keeps its own in memory, lost on restart.
   */
  journal?: SendJournal;
  /** Fetches the card of a link for networks where the poster builds it (Bluesky); none: no cards. */
  linkCards?: LinkCardSource;
}

/** A link's card: what the page says about itself (src/modules/link-preview). */
export interface LinkCard {
  /** The link as it was written in the post (not where it redirected to). */
  uri: string;
  title: string;
  description: string;
  thumb?: { bytes: Buffer; mimeType: string };
}

export interface LinkCardSource {
  /** Never throws: null when the page cannot be read or says nothing. */
  card(url: string): Promise<LinkCard | null>;
}

export interface ProviderSettings {
  clientId?: string;
  clientSecret?: string;
  /** Keyed by the adapter's own names, e.g. { api: 'https://api.x.com', auth: 'https://x.com' }. */
  baseUrls: Record<string, string>;
  /** Development only (ALLOW_PRIVATE_HOSTS): user-typed ws:// and http:// addresses are taken (Nostr relays, media servers). */
  allowPlainSchemes?: boolean;
}

/** Error classes every adapter maps the network's answers into. */
export type ProviderErrorKind =
  | 'auth_expired' // the token is no longer valid: refresh once, then the account needs reconnecting
  | 'rate_limited' // wait retryAfterMs, nothing was created
  | 'transient' // nothing was created; retry with backoff
  | 'permanent' // the network refused this post or call for good (reason says why)
  | 'unknown_outcome'; // the request may have been accepted: reconcile before any retry

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly details: { provider: string; status?: number; reason?: string; retryAfterMs?: number } ,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
