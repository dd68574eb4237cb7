// What the inbox collects for each account of the workspace, and how collection stands.
import { Type } from 'typebox';
import { NullableDateTime, WorkspaceParams, errors, isoOrNull } from '../../workspaces/index.ts';
import { BASE, Cursor, NextCursor, tags, type InboxApp, type InboxRouteKit } from './common.ts';

const SourceSchema = Type.Object({
  id: Type.String(), collects: Type.Array(Type.String()), description: Type.String(),
  lastPolledAt: NullableDateTime, lastSuccessAt: NullableDateTime, nextPollAt: NullableDateTime,
  lastError: Type.Union([Type.String(), Type.Null()]), lastErrorAt: NullableDateTime,
  failures: Type.Integer({ description: 'Failed polls in a row' }), backoffUntil: NullableDateTime,
});

export function sourceRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read } = k;
  app.get(`${BASE}/sources`, {
    preHandler: read,
    schema: {
      tags, summary: 'What the inbox collects for each account, and how collection stands',
      description: 'collection: collected; paused (the account needs reconnecting); not_collected (AllIN does not collect that network yet, with why).',
      params: WorkspaceParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }), cursor: Cursor }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          accounts: Type.Array(Type.Object({
            accountId: Type.String({ format: 'uuid' }), provider: Type.String(), username: Type.String(),
            collection: Type.Enum(['collected', 'paused', 'not_collected']), why: Type.Union([Type.String(), Type.Null()]),
            sources: Type.Array(SourceSchema),
          })),
          nextCursor: NextCursor,
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const page = await d.inbox.sources.list(req.params.workspaceId, { limit: req.query.limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) });
    return {
      accounts: page.items.map((a) => ({
        ...a,
        sources: a.sources.map((s) => ({
          ...s, lastPolledAt: isoOrNull(s.lastPolledAt), lastSuccessAt: isoOrNull(s.lastSuccessAt), nextPollAt: isoOrNull(s.nextPollAt),
          lastErrorAt: isoOrNull(s.lastErrorAt), backoffUntil: isoOrNull(s.backoffUntil),
        })),
      })),
      nextCursor: page.nextCursor,
    };
  });
}
