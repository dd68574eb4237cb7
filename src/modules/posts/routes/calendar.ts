// The calendar view over HTTP: a workspace's targets between two days, grouped by day in a time zone.
import { Type } from 'typebox';
import { WorkspaceParams, errors } from '../../workspaces/input.ts';
import { tags, type PostRouteKit, type PostsApp } from './common.ts';

export function calendarRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, read } = k;

  app.get('/api/workspaces/:workspaceId/calendar', {
    preHandler: read,
    schema: {
      tags, summary: 'Targets between two dates, grouped by day in a time zone', params: WorkspaceParams,
      querystring: Type.Object({
        from: Type.String({ format: 'date', description: 'First day, YYYY-MM-DD' }), to: Type.String({ format: 'date', description: 'Last day (included)' }),
        timeZone: Type.String({ maxLength: 64, default: 'UTC' }), accountId: Type.Optional(Type.String({ format: 'uuid' })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          timeZone: Type.String(),
          days: Type.Array(Type.Object({ date: Type.String(), targets: Type.Array(Type.Object({
            postId: Type.String(), targetId: Type.String(), accountId: Type.String(), provider: Type.String(), state: Type.String(),
            at: Type.String(), localTime: Type.String(), text: Type.String(), queued: Type.Boolean(), url: Type.Union([Type.String(), Type.Null()]),
            networks: Type.Integer({ description: 'How many targets this post has (this occurrence); with more than one, each can be moved alone' }),
          })) })),
        }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => d.posts.calendar.days(req.params.workspaceId, req.query.from, req.query.to, req.query.timeZone, req.query.accountId));
}
