// Bulk upload over HTTP: a CSV of times and texts becomes scheduled posts, all of them or none.
import { Type } from 'typebox';
import { ApiError } from '../../../http/errors.ts';
import { assertZone } from '../../../shared/time.ts';
import { auditActor } from '../../workspaces/index.ts';
import { Uuid, WorkspaceParams, errors, isoOrNull } from '../../workspaces/index.ts';
import { BULK_ROWS_MAX, parseBulkCsv } from '../bulk.ts';
import { tags, userIdOf, type PostRouteKit, type PostsApp } from './common.ts';

export function bulkRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, write, mayScheduleDirectly } = k;

  app.post('/posts/bulk', {
    preHandler: write,
    schema: {
      tags, summary: 'Schedule many posts from a CSV file (columns time and text): all of them, or none',
      description: `Every row becomes a post to the same accounts, scheduled at its time. All rows are checked first, each against every network's rules; if any row cannot be scheduled, nothing is created and the answer lists every problem by line. At most ${BULK_ROWS_MAX} rows.`,
      params: WorkspaceParams,
      body: Type.Object({
        csv: Type.String({ minLength: 1, maxLength: 2_000_000, description: 'RFC 4180 CSV: a header row "time,text", then one post per row. time: 2027-03-28 09:30 (in timeZone) or an instant with its offset' }),
        accountIds: Type.Array(Uuid('A social account of this workspace'), { minItems: 1, maxItems: 50, description: 'The accounts every post goes to' }),
        timeZone: Type.String({ maxLength: 64, description: 'IANA zone of the rows\' wall-clock times, e.g. Europe/Berlin' }),
        dryRun: Type.Optional(Type.Boolean({ description: 'Check every row and answer as if scheduled, but create nothing' })),
      }, { additionalProperties: false }),
      response: {
        ...Object.fromEntries([200, 201].map((code) => [code, Type.Object({
          dryRun: Type.Boolean(), created: Type.Integer(),
          posts: Type.Array(Type.Object({ line: Type.Integer(), postId: Type.Union([Type.String(), Type.Null()]), publishAt: Type.Union([Type.String(), Type.Null()]) })),
        })])),
        ...errors(400, 401, 403, 404, 409, 422),
      },
    },
  }, async (req, reply) => {
    assertZone(req.body.timeZone, 'body.timeZone');
    if (new Set(req.body.accountIds).size !== req.body.accountIds.length) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'body.accountIds names an account twice.', [{ field: 'body.accountIds', message: 'duplicate' }]);
    }
    await mayScheduleDirectly(req, req.params.workspaceId);
    const rows = parseBulkCsv(req.body.csv, req.body.timeZone);
    const dryRun = req.body.dryRun === true;
    const made = await d.posts.bulk.createMany(req.params.workspaceId, userIdOf(req), rows, req.body.accountIds, auditActor(req), dryRun);
    reply.status(dryRun ? 200 : 201);
    return {
      dryRun, created: dryRun ? 0 : made.length,
      posts: made.map((m) => ({ line: m.line, postId: dryRun ? null : m.postId, publishAt: isoOrNull(m.publishAt) })),
    };
  });
}
