// /api/workspaces/*: workspaces, their members and invitations, and /api/invitations/{preview,accept}.
// Every route under /api/workspaces/:workspaceId runs workspaceAccess(permission) after the auth guard:
// membership first (404 for anyone outside), then the permission (403 naming what the role cannot do).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import { userOf } from '../auth/index.ts';
import { accessOf, actingRole, assertCan, auditActor, type SecondFactorLookup, type WorkspaceAccessFactory } from './access.ts';
import { Conflict } from '../../domain/errors.ts';
import type { InvitationService } from './invitations.ts';
import type { Member, WorkspaceService } from './service.ts';
import { ApiError } from '../../http/errors.ts';
import { isValidZone } from '../../shared/time.ts';
import { DateTime, NameSchema, RoleSchema, Uuid, WorkspaceParams, cleanName, errors, iso } from './input.ts';

export interface WorkspaceRouteDeps {
  workspaces: WorkspaceService;
  invitations: InvitationService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  secondFactor: SecondFactorLookup;
}

const WorkspaceName = NameSchema('Workspace name');
const Workspace = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  role: Type.Union([RoleSchema, Type.Null()], { description: 'Your role; null when an API key asks' }),
  requireSecondFactor: Type.Optional(Type.Boolean({ description: 'Every member must have a second factor (PUT …/security)' })),
  settings: Type.Optional(Type.Object({
    requireApproval: Type.Boolean({ description: 'Editors submit posts for approval; owners and admins schedule' }),
    requireReplyApproval: Type.Boolean({ description: 'Replies written in the inbox by editors wait for an owner or admin to approve them before they are sent' }),
    timeZone: Type.String({ description: 'The workspace\'s default time zone (IANA)' }),
  })),
  createdAt: DateTime,
  updatedAt: DateTime,
});
const SettingsBody = Type.Object({
  requireApproval: Type.Optional(Type.Boolean()),
  requireReplyApproval: Type.Optional(Type.Boolean()),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Europe/Berlin' })),
}, { additionalProperties: false });
const settingsOf = (s: Record<string, unknown>) => ({ requireApproval: s.requireApproval === true, requireReplyApproval: s.requireReplyApproval === true, timeZone: typeof s.timeZone === 'string' ? s.timeZone : 'UTC' });
const MemberSchema = Type.Object({
  userId: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  joinedAt: DateTime,
});
const Invitation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: RoleSchema,
  invitedBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The inviting user; null when an API key invited' }),
  createdAt: DateTime,
  expiresAt: DateTime,
});
const MemberParams = Type.Object({ workspaceId: Uuid('Workspace id'), userId: Uuid('User id of the member') });
const InvitationParams = Type.Object({ workspaceId: Uuid('Workspace id'), invitationId: Uuid('Invitation id') });
const InvitationToken = Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'The token from the invitation link (after #token=)' });

const member = (m: Member) => ({ ...m, joinedAt: iso(m.joinedAt) });
const invitation = (i: { id: string; email: string; role: Member['role']; invitedBy: string | null; createdAt: Date; expiresAt: Date }) =>
  ({ ...i, createdAt: iso(i.createdAt), expiresAt: iso(i.expiresAt) });

/** Creating and listing workspaces, and answering invitations: outside any one workspace. */
export const workspaceListRoutes: FastifyPluginAsyncTypebox<WorkspaceRouteDeps> = async (app, d) => {
  const { guards } = d;

  app.post('/api/workspaces', {
    preHandler: guards.user,
    schema: {
      tags: ['workspaces'], summary: 'Create a workspace; you become its owner',
      body: Type.Object({ name: WorkspaceName }, { additionalProperties: false }),
      response: { 201: Workspace, ...errors(400, 401, 403, 429) },
    },
  }, async (req, reply) => {
    const name = cleanName(req.body.name, 'body.name');
    const ws = await d.workspaces.create(userOf(req).userId, name, auditActor(req));
    reply.status(201);
    return { id: ws.id, name: ws.name, role: 'owner' as const, createdAt: iso(ws.createdAt), updatedAt: iso(ws.updatedAt) };
  });
  app.get('/api/workspaces', {
    preHandler: guards.user,
    schema: {
      tags: ['workspaces'], summary: 'The workspaces I am a member of, with my role, in the order I joined them, a page at a time',
      querystring: Type.Object(pageQuery('workspaces', 200), { additionalProperties: false }),
      response: {
        200: Type.Object({ workspaces: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), role: RoleSchema, createdAt: DateTime })), nextCursor: NextCursor }),
        ...errors(400, 401, 403, 429),
      },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.workspaces.listForUser(userOf(req).userId, req.query);
    return { workspaces: items.map((w) => ({ id: w.id, name: w.name, role: w.role, createdAt: iso(w.createdAt) })), nextCursor };
  });
  app.post('/api/invitations/preview', {
    preHandler: guards.user,
    schema: {
      tags: ['invitations'], summary: 'What an invitation offers, before accepting it',
      description: 'The workspace, the role, the invited address, who sent it and when it expires. `forYou` is false when you are signed in with another address (then only the invited address can accept). Changes nothing. The token goes in the body, never in a URL.',
      body: Type.Object({ token: InvitationToken }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          workspace: Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }),
          role: RoleSchema,
          email: Type.String({ description: 'The invited address' }),
          invitedBy: Type.Union([Type.String(), Type.Null()], { description: 'The name of the member who sent it; null when sent by an API key or by an account since deleted' }),
          expiresAt: Type.String({ format: 'date-time' }),
          forYou: Type.Boolean({ description: 'You are signed in with the invited address' }),
        }),
        ...errors(400, 401, 403, 429),
      },
    },
  }, async (req) => d.invitations.preview(req.body.token, userOf(req).userId));
  app.post('/api/invitations/accept', {
    preHandler: guards.user,
    schema: {
      tags: ['invitations'], summary: 'Accept an invitation with the mailed token',
      description: 'You must be signed in with the invited address. The token works once; if you are already a member, you keep the higher of the two roles.',
      body: Type.Object({ token: InvitationToken }, { additionalProperties: false }),
      response: { 200: Type.Object({ workspace: Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }), role: RoleSchema }),
        ...errors(400, 401, 403, 429) },
    },
  }, async (req) => d.invitations.accept(req.body.token, userOf(req).userId, auditActor(req)));
};

/** Under /api/workspaces/:workspaceId (registered in the workspace scope, see workspaces/scope.ts). */
export const workspaceRoutes: FastifyPluginAsyncTypebox<WorkspaceRouteDeps> = async (app, d) => {
  const { guards, workspaceAccess: access } = d;

  app.get('', {
    preHandler: [guards.any, access('workspace.read')],
    schema: {
      tags: ['workspaces'], summary: 'A workspace I am a member of (or the workspace of the API key)',
      params: WorkspaceParams, response: { 200: Workspace, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const ws = await d.workspaces.get(req.params.workspaceId);
    return { id: ws.id, name: ws.name, role: accessOf(req).role, settings: settingsOf(ws.settings), requireSecondFactor: ws.requireSecondFactor, createdAt: iso(ws.createdAt), updatedAt: iso(ws.updatedAt) };
  });
  app.patch('', {
    preHandler: [guards.any, access('workspace.rename')],
    schema: {
      tags: ['workspaces'], summary: 'Rename a workspace or change its settings (owner, admin; API keys with the admin scope)',
      params: WorkspaceParams, body: Type.Object({ name: Type.Optional(WorkspaceName), settings: Type.Optional(SettingsBody) }, { additionalProperties: false }),
      response: { 200: Workspace, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    if (req.body.name === undefined && req.body.settings === undefined) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'Nothing to change: give body.name (a new name) or body.settings.', [{ field: 'body.name', message: 'body.name or body.settings is required' }]);
    }
    if (req.body.settings?.timeZone !== undefined && !isValidZone(req.body.settings.timeZone)) {
      throw new ApiError(400, 'VALIDATION_FAILED', `settings.timeZone: "${req.body.settings.timeZone}" is not an IANA time zone (for example Europe/Berlin).`, [{ field: 'body.settings.timeZone', message: 'unknown time zone' }]);
    }
    let ws = req.body.name !== undefined ? await d.workspaces.rename(req.params.workspaceId, cleanName(req.body.name, 'body.name'), auditActor(req)) : await d.workspaces.get(req.params.workspaceId);
    if (req.body.settings) ws = await d.workspaces.updateSettings(req.params.workspaceId, req.body.settings, auditActor(req));
    return { id: ws.id, name: ws.name, role: accessOf(req).role, settings: settingsOf(ws.settings), requireSecondFactor: ws.requireSecondFactor, createdAt: iso(ws.createdAt), updatedAt: iso(ws.updatedAt) };
  });
  app.put('/security', {
    preHandler: [guards.user, access('workspace.security')],
    schema: {
      tags: ['workspaces'], summary: 'Require a second factor of every member (owners only)',
      description: 'While required, a member without a second factor (or an API key whose creator has none) is refused everywhere in the workspace with 403 SECOND_FACTOR_REQUIRED until they set one up. The owner who turns it on must have one (409 otherwise).',
      params: WorkspaceParams,
      body: Type.Object({ requireSecondFactor: Type.Boolean() }, { additionalProperties: false }),
      response: { 200: Type.Object({ requireSecondFactor: Type.Boolean() }), ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req) => {
    if (req.body.requireSecondFactor && !(await d.secondFactor.enrolled(userOf(req).userId))) {
      throw new Conflict('OWN_SECOND_FACTOR_MISSING', 'Add a passkey or set up an authenticator app for yourself first: requiring a second factor would otherwise lock you out.');
    }
    const ws = await d.workspaces.setSecondFactorPolicy(req.params.workspaceId, req.body.requireSecondFactor, auditActor(req));
    return { requireSecondFactor: ws.requireSecondFactor };
  });
  app.delete('', {
    preHandler: [guards.any, access('workspace.delete')],
    schema: {
      tags: ['workspaces'], summary: 'Delete a workspace with everything in it (owners only)',
      params: WorkspaceParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    await d.workspaces.delete(req.params.workspaceId, auditActor(req));
    reply.status(204);
    return null;
  });
  app.get('/members', {
    preHandler: [guards.any, access('members.read')],
    schema: {
      tags: ['members'], summary: 'Members of the workspace and their roles, in the order they joined, a page at a time',
      params: WorkspaceParams, querystring: Type.Object(pageQuery('members', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ members: Type.Array(MemberSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.workspaces.members(req.params.workspaceId, req.query);
    return { members: items.map(member), nextCursor };
  });
  app.patch('/members/:userId', {
    preHandler: [guards.any, access('members.manage')],
    schema: {
      tags: ['members'], summary: 'Change the role of a member',
      description: 'Admins cannot change the role of an owner nor make anyone owner. The last owner cannot be demoted (409 LAST_OWNER).',
      params: MemberParams, body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
      response: { 200: MemberSchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req) => {
    const m = await d.workspaces.changeRole(req.params.workspaceId, req.params.userId, req.body.role, actingRole(accessOf(req)), auditActor(req));
    return member(m);
  });
  app.delete('/members/:userId', {
    preHandler: [guards.any, access('workspace.read')],
    schema: {
      tags: ['members'], summary: 'Remove a member, or leave the workspace (your own user id)',
      description: 'Removing someone else needs members.manage, and only owners remove owners. Anyone may leave, except the last owner (409 LAST_OWNER). ' +
        'The API keys the member created in this workspace are revoked.',
      params: MemberParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const a = accessOf(req);
    const self = req.caller?.kind === 'user' && req.caller.userId === req.params.userId;
    if (!self) assertCan(req, 'members.manage');
    await d.workspaces.removeMember(req.params.workspaceId, req.params.userId, actingRole(a), auditActor(req));
    reply.status(204);
    return null;
  });
  app.post('/transfer-ownership', {
    preHandler: [guards.any, access('workspace.transfer')],
    schema: {
      tags: ['members'], summary: 'Make another member owner; you become admin (owners only)',
      params: WorkspaceParams, body: Type.Object({ userId: Uuid('User id of the member who becomes owner') }, { additionalProperties: false }),
      response: { 200: Type.Object({ newOwner: MemberSchema, previousOwner: MemberSchema }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const r = await d.workspaces.transferOwnership(req.params.workspaceId, userOf(req).userId, req.body.userId, auditActor(req));
    return { newOwner: member(r.newOwner), previousOwner: member(r.previousOwner) };
  });
  app.post('/invitations', {
    preHandler: [guards.any, access('members.manage')],
    schema: {
      tags: ['invitations'], summary: 'Invite someone by email (the link is mailed, valid 7 days)',
      description: 'Admins cannot invite owners. Inviting an address again replaces its pending invitation. The token is only in the mail.',
      params: WorkspaceParams,
      body: Type.Object({ email: Type.String({ format: 'email', maxLength: 254, description: 'Email address' }), role: RoleSchema }, { additionalProperties: false }),
      response: { 201: Invitation, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const inv = await d.invitations.create(req.params.workspaceId, req.body, actingRole(accessOf(req)), auditActor(req));
    reply.status(201);
    return invitation(inv);
  });
  app.get('/invitations', {
    preHandler: [guards.any, access('members.read')],
    schema: {
      tags: ['invitations'], summary: 'Pending invitations (not accepted, revoked or expired), newest first, a page at a time',
      params: WorkspaceParams, querystring: Type.Object(pageQuery('invitations', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ invitations: Type.Array(Invitation), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.invitations.listPending(req.params.workspaceId, req.query);
    return { invitations: items.map(invitation), nextCursor };
  });
  app.delete('/invitations/:invitationId', {
    preHandler: [guards.any, access('members.manage')],
    schema: {
      tags: ['invitations'], summary: 'Revoke a pending invitation (its link stops working)',
      params: InvitationParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    await d.invitations.revoke(req.params.workspaceId, req.params.invitationId, actingRole(accessOf(req)), auditActor(req));
    reply.status(204);
    return null;
  });
};
