// The shapes of the API answers the app reads. The main ones are the server's own, generated from
// /openapi.json into api-schema.d.ts (`npm run gen:api`): a change to a route's schema that the app does
// not follow fails `tsc -p web/tsconfig.json`.
import type { paths } from './api-schema.d.ts';
import type { ProviderLimits } from '../../src/providers/types.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The JSON body of an operation's answer with the given status (200 unless said). */
export type Answer<P extends keyof paths, M extends Method, S extends number = 200> =
  NonNullable<paths[P][M]> extends { responses: infer R }
    ? S extends keyof R ? (R[S] extends { content: { 'application/json': infer B } } ? B : never) : never
    : never;

/** The JSON body an operation takes. */
export type RequestBody<P extends keyof paths, M extends Method> =
  NonNullable<paths[P][M]> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

/** One page of a keyset-paged list: its items under `key`, and the cursor of the next page. */
export type Paged<K extends string, T> = { [P in K]: T[] } & { nextCursor: string | null };

export type Me = Answer<'/api/auth/me', 'get'>;
export type Workspace = Answer<'/api/workspaces/{workspaceId}', 'get'>;

/** The document leaves `limits` open; they are the server's ProviderLimits, shared with it directly. */
export type Network = Omit<Answer<'/api/networks', 'get'>['networks'][number], 'limits'> & { limits: ProviderLimits };
export type NetworkList = Omit<Answer<'/api/networks', 'get'>, 'networks'> & { networks: Network[] };

export type AccountList = Answer<'/api/workspaces/{workspaceId}/accounts', 'get'>;
export type Account = AccountList['accounts'][number];
export type Media = Answer<'/api/workspaces/{workspaceId}/media/{mediaId}', 'get'>;

type ApiPost = Answer<'/api/workspaces/{workspaceId}/posts/{postId}', 'get'>;
/** A target's own text, thread, first comment and options: what it was created with (the post's request
 *  schema; the answer's schema leaves `variant` open). */
export type Variant = Omit<RequestBody<'/api/workspaces/{workspaceId}/posts', 'post'>['targets'][number], 'accountId'>;
export type Target = Omit<ApiPost['targets'][number], 'variant'> & { variant: Variant };
export type Post = Omit<ApiPost, 'targets'> & { targets: Target[] };
export type TargetState = Target['state'];
export type ThreadPart = NonNullable<Variant['thread']>[number];
export type Attempt = NonNullable<Target['attemptLog']>[number];
export type PostList = Omit<Answer<'/api/workspaces/{workspaceId}/posts', 'get'>, 'posts'> & { posts: Post[] };
export type ApprovalList = Omit<Answer<'/api/workspaces/{workspaceId}/approvals', 'get'>, 'posts'> & { posts: Post[] };

export type QueuePage = Answer<'/api/workspaces/{workspaceId}/accounts/{accountId}/queue', 'get'>;
export type QueueItem = QueuePage['targets'][number];

export type CalendarAnswer = Answer<'/api/workspaces/{workspaceId}/calendar', 'get'>;
export type CalendarItem = CalendarAnswer['days'][number]['targets'][number];

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
}

export interface Session {
  id: string;
  current: boolean;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  rememberMe: boolean;
  /** How it was signed in: pwd, otp (authenticator app), recovery (a recovery code). */
  amr: string[];
}

export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  active: boolean;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  id: string;
  webhookId: string;
  event: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'delivered' | 'failed' | string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  log: { at: string; statusCode: number | null; durationMs: number | null; error: string | null }[];
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: ('read' | 'write' | 'admin')[];
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AuditEvent {
  id: number;
  action: string;
  actorUserId: string | null;
  actorApiKeyId: string | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface Slots {
  timeZone: string;
  slots: { weekday: number; time: string }[];
  next: string[];
}

export interface MailItem {
  id: string;
  to: string;
  subject: string;
  text: string;
  createdAt: string;
  sentAt: string | null;
}

export type { ProviderLimits };

export type ConversationList = Answer<'/api/workspaces/{workspaceId}/inbox/conversations', 'get'>;
export type Conversation = ConversationList['conversations'][number];
export type ConversationView = Answer<'/api/workspaces/{workspaceId}/inbox/conversations/{conversationId}', 'get'>;
export type InboxMessage = ConversationView['messages'][number];
export type InboxReply = ConversationView['replies'][number];
export type InboxNote = ConversationView['notes'][number];
export type InboxAction = ConversationView['actions'][number];
export type UnreadCount = Answer<'/api/workspaces/{workspaceId}/inbox/unread', 'get'>;
export type LabelList = Answer<'/api/workspaces/{workspaceId}/inbox/labels', 'get'>;
export type InboxLabel = LabelList['labels'][number];
export type SavedReplyList = Answer<'/api/workspaces/{workspaceId}/inbox/saved-replies', 'get'>;
export type SavedReply = SavedReplyList['savedReplies'][number];
export type RenderedReply = Answer<'/api/workspaces/{workspaceId}/inbox/conversations/{conversationId}/render-reply', 'post'>;

export type Overview = Answer<'/api/workspaces/{workspaceId}/analytics/overview', 'get'>;
export type Change = Overview['totals']['posts'];
export type PostRowPerf = Answer<'/api/workspaces/{workspaceId}/analytics/posts', 'get'>['items'][number];
export type PostPerformance = Answer<'/api/workspaces/{workspaceId}/analytics/posts/{postId}', 'get'>;
export type BestTimes = Answer<'/api/workspaces/{workspaceId}/analytics/accounts/{accountId}/best-times', 'get'>;
export type Snapshots = Answer<'/api/workspaces/{workspaceId}/accounts/{accountId}/snapshots', 'get'>;
export type AnalyticsLabel = Answer<'/api/workspaces/{workspaceId}/labels', 'get'>['items'][number];
export type PostSort = NonNullable<NonNullable<NonNullable<paths['/api/workspaces/{workspaceId}/analytics/posts']['get']['parameters']['query']>['sort']>>;
export type OverviewTable = NonNullable<paths['/api/workspaces/{workspaceId}/analytics/overview.csv']['get']['parameters']['query']>['table'];

export type AssistantStatus = Answer<'/api/workspaces/{workspaceId}/assistant', 'get'>;
export type AssistantSettingsAnswer = Answer<'/api/workspaces/{workspaceId}/assistant/settings', 'get'>;
export type AssistantSettings = NonNullable<AssistantSettingsAnswer['settings']>;
export type AssistantSettingsBody = RequestBody<'/api/workspaces/{workspaceId}/assistant/settings', 'put'>;
export type AssistantUsage = Answer<'/api/workspaces/{workspaceId}/assistant/usage', 'get'>;
export type AssistantResult = Answer<'/api/workspaces/{workspaceId}/assistant/rewrite', 'post'>;
export type Suggestion = AssistantResult['suggestions'][number];
export type SuggestionProblem = Suggestion['problems'][number];
export type ReportScheduleList = Answer<'/api/workspaces/{workspaceId}/analytics/report-schedules', 'get'>;
export type ReportSchedule = ReportScheduleList['items'][number];

export type LinkRules = Answer<'/api/workspaces/{workspaceId}/links/settings', 'get'>;
export type ShortLink = Answer<'/api/workspaces/{workspaceId}/links', 'get'>['items'][number];
export type LinkClicks = Answer<'/api/workspaces/{workspaceId}/links/{linkId}/clicks', 'get'>;
export type LinkOverview = Answer<'/api/workspaces/{workspaceId}/analytics/links', 'get'>;

export type Feed = Answer<'/api/workspaces/{workspaceId}/feeds/{feedId}', 'get'>;
export type FeedItem = Answer<'/api/workspaces/{workspaceId}/feeds/{feedId}/items', 'get'>['items'][number];
export type FeedFetch = Answer<'/api/workspaces/{workspaceId}/feeds/{feedId}/fetch', 'post'>;
export type NewFeed = RequestBody<'/api/workspaces/{workspaceId}/feeds', 'post'>;

export type MediaPage = Answer<'/api/workspaces/{workspaceId}/media', 'get'>;
export type MediaUses = Answer<'/api/workspaces/{workspaceId}/media/{mediaId}/uses', 'get'>;
export type Template = Answer<'/api/workspaces/{workspaceId}/templates/{templateId}', 'get'>;
export type TemplateBody = RequestBody<'/api/workspaces/{workspaceId}/templates', 'post'>;
export type RenderedTemplate = Answer<'/api/workspaces/{workspaceId}/templates/{templateId}/render', 'post'>;
export type HashtagGroup = Answer<'/api/workspaces/{workspaceId}/hashtag-groups/{groupId}', 'get'>;
export type MediaFolderList = Answer<'/api/workspaces/{workspaceId}/media-folders', 'get'>;
export type MediaFolder = MediaFolderList['folders'][number];
export type MediaTagList = Answer<'/api/workspaces/{workspaceId}/media-tags', 'get'>;
