// /api/workspaces/:workspaceId/audit: the workspace's audit log, newest first, a page at a time.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Db } from '../../infra/db/client.ts';
import { NextCursor } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { DateTime, WorkspaceParams, errors, iso } from '../workspaces/index.ts';
import { listAudit } from './service.ts';
import { AuditQuery } from './query.ts';

export interface AuditRouteDeps {
  db: Db;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const NullableString = Type.Union([Type.String(), Type.Null()]);
const AuditEvent = Type.Object({
  id: Type.Integer({ description: 'Increasing: newer events have larger ids' }),
  action: Type.String({ description: 'e.g. workspace.renamed, member.role_changed, apikey.created' }),
  actorUserId: NullableString,
  actorApiKeyId: NullableString,
  targetType: NullableString,
  targetId: NullableString,
  ip: NullableString,
  userAgent: NullableString,
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: DateTime,
});

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRouteDeps> = async (app, d) => {
  app.get('/audit', {
    preHandler: [d.guards.any, d.workspaceAccess('audit.read')],
    schema: {
      tags: ['audit'], summary: 'The workspace audit log, newest first',
      params: WorkspaceParams,
      querystring: AuditQuery,
      response: { 200: Type.Object({ events: Type.Array(AuditEvent), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { events, nextCursor } = await listAudit(d.db, { workspaceId: req.params.workspaceId }, req.query);
    return {
      nextCursor,
      events: events.map((r) => ({
        id: r.id, action: r.action, actorUserId: r.actorUserId, actorApiKeyId: r.actorApiKeyId, targetType: r.targetType, targetId: r.targetId,
        ip: r.ip, userAgent: r.userAgent, details: r.details, createdAt: iso(r.createdAt),
      })),
    };
  });
};
