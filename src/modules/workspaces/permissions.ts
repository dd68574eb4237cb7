// Who may do what in a workspace. One table, used by every workspace route and documented in
// docs/PERMISSIONS.md (a test keeps the two in step).
import type { Role } from './schema.ts';

export const PERMISSIONS = {
  'workspace.read': ['owner', 'admin', 'editor', 'viewer'],
  'workspace.rename': ['owner', 'admin'],
  'workspace.delete': ['owner'],
  'workspace.transfer': ['owner'],
  'workspace.security': ['owner'],
  'sso.manage': ['owner', 'admin'],
  'members.read': ['owner', 'admin', 'editor', 'viewer'],
  'members.manage': ['owner', 'admin'],
  'posts.read': ['owner', 'admin', 'editor', 'viewer'],
  'posts.write': ['owner', 'admin', 'editor'],
  'posts.approve': ['owner', 'admin'],
  'accounts.read': ['owner', 'admin', 'editor', 'viewer'],
  'accounts.manage': ['owner', 'admin'],
  'apikeys.manage': ['owner', 'admin'],
  'webhooks.manage': ['owner', 'admin'],
  'audit.read': ['owner', 'admin'],
  'inbox.read': ['owner', 'admin', 'editor', 'viewer'],
  'inbox.write': ['owner', 'admin', 'editor'],
  'inbox.approve': ['owner', 'admin'],
  'analytics.read': ['owner', 'admin', 'editor', 'viewer'],
  'analytics.manage': ['owner', 'admin'],
  'assistant.use': ['owner', 'admin', 'editor'],
  'assistant.manage': ['owner', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export const PERMISSION_DESCRIPTIONS: Record<Permission, string> = {
  'workspace.read': 'see the workspace and its settings',
  'workspace.rename': 'rename the workspace and change its settings',
  'workspace.delete': 'delete the workspace',
  'workspace.transfer': 'transfer ownership',
  'workspace.security': 'require a second factor of every member',
  'sso.manage': 'set up single sign-on (identity provider, default role, SSO only) and verify email domains',
  'members.read': 'see members and pending invitations',
  'members.manage': 'invite, remove and change roles of members (admins cannot touch owners)',
  'posts.read': 'see posts, the calendar, results, the media library, feeds, templates and hashtag groups',
  'posts.write': 'create, edit, schedule and delete posts (submitted for approval when the workspace requires it); upload, organise and delete media; add, change and delete feeds, templates and hashtag groups',
  'posts.approve': 'approve or reject posts, and schedule without approval',
  'accounts.read': 'see connected social accounts',
  'accounts.manage': 'connect, reconnect and disconnect social accounts',
  'apikeys.manage': 'create and revoke API keys',
  'webhooks.manage': 'create and delete webhooks, read their delivery log',
  'audit.read': 'read the audit log',
  'inbox.read': 'see the inbox: conversations, messages, notes, labels and saved replies',
  'inbox.write': 'act in the inbox: answer messages, like, hide or delete them, mark done, assign, label, add notes; manage labels and saved replies',
  'inbox.approve': 'approve or reject replies waiting for approval, and answer without approval',
  'analytics.read': 'see analytics: accounts\' daily figures, the overview of a period, the post table, best times, labels, clicks on short links, CSV exports, reports and the list of scheduled reports',
  'analytics.manage': 'create, change and delete the workspace\'s scheduled reports (mailed weekly or monthly to chosen addresses)',
  'assistant.use': 'ask the writing assistant for suggestions (drafts, rewrites, adaptations, hashtags, translations), within the workspace\'s token budget',
  'assistant.manage': 'set the workspace\'s model provider, key, token budget and brand voice, and read the assistant\'s usage',
};

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

/** API key scopes, and the permissions each grants (never more than the role of the key's creator). */
export const SCOPES = {
  read: ['workspace.read', 'members.read', 'posts.read', 'accounts.read', 'inbox.read', 'analytics.read'],
  write: ['workspace.read', 'members.read', 'posts.read', 'accounts.read', 'posts.write', 'inbox.read', 'inbox.write', 'analytics.read', 'assistant.use'],
  admin: ['workspace.read', 'members.read', 'posts.read', 'accounts.read', 'posts.write', 'posts.approve', 'accounts.manage',
    'members.manage', 'webhooks.manage', 'audit.read', 'workspace.rename', 'inbox.read', 'inbox.write', 'inbox.approve', 'analytics.read',
    'analytics.manage', 'assistant.use', 'assistant.manage'],
  // Analytics alone, for a reporting tool that should read nothing else.
  'analytics:read': ['workspace.read', 'analytics.read'],
} as const satisfies Record<string, readonly Permission[]>;

export type Scope = keyof typeof SCOPES;

export function scopesAllow(scopes: readonly string[], permission: Permission): boolean {
  return scopes.some((s) => (SCOPES[s as Scope] as readonly Permission[] | undefined)?.includes(permission));
}

export const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };
