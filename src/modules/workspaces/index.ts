// The workspaces module's public surface: what other modules use of it.
export { accessOf, auditActor, forbidden, keyAccess } from './access.ts';
export type { MembershipLookup, SecondFactorLookup, WorkspaceAccess, WorkspaceAccessFactory } from './access.ts';
export { holdWorkspace } from './hold.ts';
export { DateTime, NameSchema, NullableDateTime, Uuid, WorkspaceParams, cleanName, errors, iso, isoOrNull, lowerCaseIds } from './input.ts';
export { PERMISSION_DESCRIPTIONS, SCOPES, can } from './permissions.ts';
export type { Permission, Scope } from './permissions.ts';
export type { WorkspaceService } from './service.ts';
export { WORKSPACE_PREFIX, workspaceScope } from './scope.ts';
