// The shapes of the API answers the app reads (the OpenAPI document at /openapi.json has every field).
import type { ProviderLimits } from '../../src/providers/types.ts';

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

export interface Me {
  id: string;
  email: string;
  name: string;
  /** The zone this user reads times in; null: each workspace's own. */
  timeZone: string | null;
  emailVerified: boolean;
  createdAt: string;
  workspaces: { id: string; name: string; role: Role }[];
}

export interface Workspace {
  id: string;
  name: string;
  role: Role | null;
  settings?: { requireApproval: boolean; timeZone: string };
  createdAt: string;
  updatedAt: string;
}

export interface Network {
  id: string;
  displayName: string;
  connect: 'oauth2' | 'app_password' | string;
  userSuppliedHost: boolean;
  docsUrl: string;
  limits: ProviderLimits;
}

export interface Account {
  id: string;
  provider: string;
  host: string | null;
  externalId: string;
  kind: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  profileUrl: string | null;
  status: 'active' | 'needs_reconnect' | 'disconnected' | string;
  statusReason: string | null;
  tokenExpiresAt: string | null;
  connectedAt: string;
  lastRefreshedAt: string | null;
}

export interface Media {
  id: string;
  fileName: string;
  mimeType: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  altText: string | null;
  uploadedBy: string | null;
  createdAt: string;
  contentUrl: string;
}

export interface ThreadPart {
  text: string;
  mediaIds?: string[];
}

export interface Variant {
  text?: string;
  mediaIds?: string[];
  thread?: ThreadPart[];
  firstComment?: string;
  options?: Record<string, unknown>;
}

export interface Attempt {
  at: string;
  part: number;
  outcome: string;
  errorClass: string | null;
  networkStatus: number | null;
  message: string | null;
  remoteId: string | null;
}

export type TargetState = 'draft' | 'pending_approval' | 'scheduled' | 'publishing' | 'published' | 'failed' | 'unknown' | 'cancelled';

export interface Target {
  id: string;
  accountId: string;
  provider: string;
  occurrence: number;
  state: TargetState;
  variant: Variant;
  publishAt: string | null;
  nextAttemptAt: string | null;
  queued: boolean;
  attempts: number;
  remoteId: string | null;
  url: string | null;
  publishedAt: string | null;
  parts: { remoteId: string; url: string | null }[];
  firstComment: { remoteId: string; url: string | null } | null;
  error: { class: string; message: string; networkStatus: number | null } | null;
  attemptLog?: Attempt[];
}

export interface Post {
  id: string;
  workspaceId: string;
  text: string;
  mediaIds: string[];
  status: 'draft' | 'pending_approval' | 'scheduled';
  aggregateStatus: string;
  schedule: { mode: string | null; publishAt: string | null; localTime: string | null; timeZone: string | null; recurrence: unknown } | null;
  review: {
    submittedBy: string | null; submittedAt: string | null; decision: string | null; comment: string | null;
    reviewedBy: string | null; reviewedAt: string | null;
  } | null;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  targets: Target[];
}

export interface CalendarItem {
  postId: string;
  targetId: string;
  accountId: string;
  provider: string;
  state: string;
  at: string;
  localTime: string;
  text: string;
  queued: boolean;
  url: string | null;
  /** How many networks the post goes to; with more than one, the Move dialog can move this one alone. */
  networks: number;
}

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
