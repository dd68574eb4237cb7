// The one gate in front of every /api/workspaces/:workspaceId/... route: it resolves the caller's
// membership first and the permission second, so a workspace the caller cannot see answers 404 exactly
// like one that does not exist, and only members ever learn that a permission is missing (403).
// Later modules (posts, accounts, webhooks) reuse it: `preHandler: [guards.any, workspaceAccess('posts.write')]`.
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Forbidden, Unauthenticated } from '../../domain/errors.ts';
import type { AuditEntry } from '../audit/index.ts';
import { requestContext } from '../auth/index.ts';
import { PERMISSIONS, PERMISSION_DESCRIPTIONS, SCOPES, can, scopesAllow, type Permission, type Scope } from './permissions.ts';
import type { Role } from './schema.ts';
import { workspaceNotFound } from './not-found.ts';

export interface WorkspaceAccess {
  id: string;
  /** The signed-in user's role; null for an API key (a key has scopes, not a role). */
  role: Role | null;
  via: 'user' | 'apiKey';
  /** What the caller may do here: the role's permissions, or the key's scopes capped by its creator's current role. */
  permissions: ReadonlySet<Permission>;
  /** For refusal messages about API keys. */
  key?: { id: string; scopes: readonly string[]; creatorRole: Role | null };
}

declare module 'fastify' {
  interface FastifyRequest {
    workspace: WorkspaceAccess | null;
  }
}

export type WorkspaceAccessFactory = (permission: Permission) => preHandlerAsyncHookHandler;

const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export function rolePermissions(role: Role): Set<Permission> {
  return new Set(ALL_PERMISSIONS.filter((p) => can(role, p)));
}

/** A key can never do more than its creator currently may: demoting or removing the creator narrows the key. */
export function keyPermissions(scopes: readonly string[], creatorRole: Role | null): Set<Permission> {
  if (!creatorRole) return new Set();
  return new Set(ALL_PERMISSIONS.filter((p) => scopesAllow(scopes, p) && can(creatorRole, p)));
}

const orList = (items: readonly string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`);

export function forbidden(access: WorkspaceAccess, permission: Permission): Forbidden {
  const what = PERMISSION_DESCRIPTIONS[permission];
  const allowedRoles = PERMISSIONS[permission];
  if (access.via === 'user') {
    return new Forbidden('FORBIDDEN', `As ${access.role} you cannot ${what}; that needs the role ${orList(allowedRoles)}.`,
      { permission, role: access.role, allowedRoles });
  }
  const grantingScopes = (Object.keys(SCOPES) as Scope[]).filter((s) => (SCOPES[s] as readonly Permission[]).includes(permission));
  if (grantingScopes.length === 0) {
    return new Forbidden('USER_REQUIRED', `API keys cannot ${what}: sign in as a member with the role ${orList(allowedRoles)}.`, { permission });
  }
  const key = access.key!;
  if (scopesAllow(key.scopes, permission)) {
    const why = key.creatorRole ? `the member who created it is now ${key.creatorRole}` : 'the member who created it is no longer in this workspace';
    return new Forbidden('FORBIDDEN', `This API key cannot ${what}: ${why}, and a key never does more than its creator.`, { permission });
  }
  return new Forbidden('FORBIDDEN', `This API key cannot ${what}: that needs the scope ${orList(grantingScopes)} (the key has ${key.scopes.join(', ')}).`,
    { permission, scopes: key.scopes, neededScopes: grantingScopes });
}

/** For rules a route checks itself (e.g. leaving needs no permission, removing someone else does). */
export function assertCan(request: FastifyRequest, permission: Permission): WorkspaceAccess {
  const access = accessOf(request);
  if (!access.permissions.has(permission)) throw forbidden(access, permission);
  return access;
}

export function accessOf(request: FastifyRequest): WorkspaceAccess {
  if (!request.workspace) throw new Error('workspaceAccess() must run before this handler');
  return request.workspace;
}

/**
 * The role the caller acts with in the owner rules. A key acts as admin at most: ownership is for
 * people, so a key never touches owners whoever created it.
 */
export function actingRole(access: WorkspaceAccess): Role {
  return access.role ?? 'admin';
}

/** Who did it, for the audit log. */
export function auditActor(request: FastifyRequest): Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'> {
  const c = request.caller;
  return {
    actorUserId: c?.kind === 'user' ? c.userId : null,
    actorApiKeyId: c?.kind === 'apiKey' ? c.keyId : null,
    ...requestContext(request),
  };
}

/** Decorates the request once, at the root, and returns the preHandler factory. Runs after an auth guard. */
/** What the gate needs from the workspace service (an interface, so this file does not import it). */
export interface MembershipLookup {
  membership(workspaceId: string, userId: string): Promise<{ role: Role; requireSecondFactor: boolean } | null>;
}

/** What the gate needs of the auth module (passed in: workspaces build on auth, not the other way). */
export interface SecondFactorLookup {
  enrolled(userId: string): Promise<boolean>;
}

export const secondFactorRequired = (who: 'you' | 'key') => new Forbidden('SECOND_FACTOR_REQUIRED', who === 'you'
  ? 'This workspace requires a second factor of every member: add a passkey or set up an authenticator app first (Security in the web app, or POST /api/auth/passkeys/registration-options or /api/auth/second-factor/totp), then sign in again.'
  : 'This workspace requires a second factor of every member, and the member who created this API key has none: it works again once they set one up.');

/**
 * What an API key may do in its own workspace: its scopes, capped by the current role of the member who created
 * it; refused while the workspace requires a second factor its creator has not set up.
 */
export async function keyAccess(
  key: { keyId: string; workspaceId: string; scopes: string[]; createdBy: string | null },
  lookup: { workspaces: MembershipLookup; secondFactor: SecondFactorLookup },
): Promise<WorkspaceAccess> {
  const m = key.createdBy ? await lookup.workspaces.membership(key.workspaceId, key.createdBy) : null;
  if (m?.requireSecondFactor && !(await lookup.secondFactor.enrolled(key.createdBy!))) throw secondFactorRequired('key');
  const creatorRole = m?.role ?? null;
  return {
    id: key.workspaceId, role: null, via: 'apiKey', permissions: keyPermissions(key.scopes, creatorRole),
    key: { id: key.keyId, scopes: key.scopes, creatorRole },
  };
}

export function registerWorkspaceAccess(app: FastifyInstance, deps: { workspaces: MembershipLookup; secondFactor: SecondFactorLookup }): WorkspaceAccessFactory {
  app.decorateRequest('workspace', null);

  return (permission) => async (request) => {
    const caller = request.caller;
    if (!caller) throw new Unauthenticated('UNAUTHENTICATED', 'Sign in first.');
    const workspaceId = (request.params as { workspaceId?: unknown }).workspaceId;
    if (typeof workspaceId !== 'string') throw new Error('workspaceAccess() is for routes with a :workspaceId parameter');

    let access: WorkspaceAccess;
    if (caller.kind === 'user') {
      const m = await deps.workspaces.membership(workspaceId, caller.userId);
      if (!m) throw workspaceNotFound();
      // Members only (outsiders still see 404); the policy read comes with the membership, the factor only when it applies.
      if (m.requireSecondFactor && !(await deps.secondFactor.enrolled(caller.userId))) throw secondFactorRequired('you');
      access = { id: workspaceId, role: m.role, via: 'user', permissions: rolePermissions(m.role) };
    } else {
      // A key lives in one workspace; every other id is, for it, a workspace that does not exist.
      if (caller.workspaceId !== workspaceId.toLowerCase()) throw workspaceNotFound();
      access = await keyAccess({ ...caller, workspaceId }, deps);
    }
    request.workspace = access;
    if (!access.permissions.has(permission)) throw forbidden(access, permission);
  };
}
