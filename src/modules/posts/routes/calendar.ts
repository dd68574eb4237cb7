// The calendar view over HTTP: a workspace's targets between two days, grouped by day in a time zone, at
// most perDay of them listed per day (each day says how many it has, and pages within itself by cursor).
import { Type } from 'typebox';
import { WorkspaceParams, errors } from '../../workspaces/index.ts';
import { PER_DAY_DEFAULT, PER_DAY_MAX } from '../calendar.ts';
import { tags, type PostRouteKit, type PostsApp } from './common.ts';

const Entry = Type.Object({
  postId: Type.String(), targetId: Type.String(), accountId: Type.String(), provider: Type.String(), state: Type.String(),
  at: Type.String({ description: 'Published at, else due at (ISO 8601, UTC)' }), localTime: Type.String({ description: 'HH:mm in timeZone' }),
  text: Type.String({ description: 'The network\'s own text, else the post\'s; at most 280 characters' }),
  queued: Type.Boolean(), url: Type.Union([Type.String(), Type.Null()]),
  networks: Type.Integer({ description: 'How many targets this post has (this occurrence); with more than one, each can be moved alone' }),
});

export const CalendarQuery = Type.Object({
  from: Type.String({ format: 'date', description: 'First day, YYYY-MM-DD' }),
  to: Type.String({ format: 'date', description: 'Last day (included), at most 92 days after from' }),
  timeZone: Type.String({ maxLength: 64, default: 'UTC', description: 'IANA time zone the days and local times are in' }),
  accountId: Type.Optional(Type.String({ format: 'uuid', description: 'Only this account\'s targets' })),
  perDay: Type.Integer({ minimum: 1, maximum: PER_DAY_MAX, default: PER_DAY_DEFAULT, description: `At most this many targets listed per day (1-${PER_DAY_MAX})` }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'A day\'s nextCursor, to list its targets after those already listed; only with from = to' })),
}, { additionalProperties: false });

export function calendarRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, read } = k;

  app.get('/calendar', {
    preHandler: read,
    schema: {
      tags, params: WorkspaceParams,
      summary: 'Targets between two dates, grouped by day in a time zone, the first perDay of each day',
      description: 'Each day lists at most perDay targets in time order and says how many it has (total). ' +
        'A month view asks a small perDay and shows "+N more"; to list the rest of one day, ask that day alone ' +
        '(from = to) with the nextCursor it gave, and again with each new nextCursor until it is null.',
      querystring: CalendarQuery,
      response: {
        200: Type.Object({
          timeZone: Type.String(),
          days: Type.Array(Type.Object({
            date: Type.String({ description: 'YYYY-MM-DD in timeZone' }),
            total: Type.Integer({ description: 'How many targets this day has, listed or not (with accountId, that account\'s)' }),
            nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor (from = to = date) for the targets after the listed ones; null when none' }),
            targets: Type.Array(Entry),
          })),
        }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => {
    const q = req.query;
    return d.posts.calendar.days(req.params.workspaceId, q.from, q.to, q.timeZone, { accountId: q.accountId, perDay: q.perDay, cursor: q.cursor });
  });
}
