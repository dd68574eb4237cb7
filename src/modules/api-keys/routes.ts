// /api/workspaces/:workspaceId/api-keys: create, list and revoke workspace API keys. Managing keys is
// for signed-in owners and admins only (no scope grants apikeys.manage, so a key cannot mint keys).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import { userOf } from '../auth/index.ts';
import { accessOf, auditActor, type WorkspaceAccessFactory } from '../workspaces/index.ts';
import { SCOPES, type Scope } from '../workspaces/index.ts';
import { DateTime, NameSchema, NullableDateTime, Uuid, WorkspaceParams, cleanName, errors, iso, isoOrNull } from '../workspaces/index.ts';
import type { ApiKeyService } from './service.ts';

export interface ApiKeyRouteDeps {
  apiKeys: ApiKeyService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const ScopeSchema = Type.Enum(Object.keys(SCOPES) as Scope[], { description: 'read, write, admin or analytics:read (see docs/PERMISSIONS.md)' });
const KeyParams = Type.Object({ workspaceId: Uuid('Workspace id'), keyId: Uuid('API key id') });

const ApiKeyItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({ description: 'The visible part of the key (allin_<prefix>_…), to recognise it' }),
  scopes: Type.Array(ScopeSchema),
  createdBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  createdAt: DateTime,
  lastUsedAt: NullableDateTime,
  revokedAt: NullableDateTime,
});

const CreatedKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  workspaceId: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(ScopeSchema),
  createdAt: DateTime,
  key: Type.String({ description: 'The whole key. Shown this once: AllIN keeps only its hash.' }),
});

export const apiKeyRoutes: FastifyPluginAsyncTypebox<ApiKeyRouteDeps> = async (app, d) => {
  const { guards, workspaceAccess: access } = d;
  const tags = ['api-keys'];

  app.post('/api-keys', {
    preHandler: [guards.any, access('apikeys.manage'), guards.freshSecondFactor],
    schema: {
      tags, summary: 'Create an API key; the key is in this answer and nowhere else',
      description: 'Send it as Authorization: Bearer <key>. A key works only on its workspace, can do what its scopes allow and never more than its creator currently may. A member with a second factor must have proven it in this session within the last 5 minutes (403 STEP_UP_REQUIRED: POST /api/auth/step-up).',
      params: WorkspaceParams,
      body: Type.Object({
        name: NameSchema('Key name'),
        scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: Object.keys(SCOPES).length, uniqueItems: true }),
      }, { additionalProperties: false }),
      response: { 201: CreatedKey, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const name = cleanName(req.body.name, 'body.name');
    const role = accessOf(req).role!;
    const k = await d.apiKeys.create(req.params.workspaceId, { name, scopes: req.body.scopes as Scope[] }, { userId: userOf(req).userId, role }, auditActor(req));
    reply.status(201).header('cache-control', 'no-store');
    return { id: k.id, workspaceId: k.workspaceId, name: k.name, prefix: k.prefix, scopes: k.scopes as Scope[], createdAt: iso(k.createdAt), key: k.key };
  });

  app.get('/api-keys', {
    preHandler: [guards.any, access('apikeys.manage')],
    schema: {
      tags, summary: 'The workspace\'s API keys, newest first, revoked ones included (never the secret), a page at a time',
      params: WorkspaceParams, querystring: Type.Object(pageQuery('keys', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeyItem), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.apiKeys.list(req.params.workspaceId, req.query);
    return {
      apiKeys: items.map(({ cursorKey: _, ...k }) => ({
        ...k, scopes: k.scopes as Scope[], createdAt: iso(k.createdAt), lastUsedAt: isoOrNull(k.lastUsedAt), revokedAt: isoOrNull(k.revokedAt),
      })),
      nextCursor,
    };
  });

  app.delete('/api-keys/:keyId', {
    preHandler: [guards.any, access('apikeys.manage')],
    schema: {
      tags, summary: 'Revoke an API key; it stops working at once',
      params: KeyParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    await d.apiKeys.revoke(req.params.workspaceId, req.params.keyId, auditActor(req));
    reply.status(204);
    return null;
  });
};
