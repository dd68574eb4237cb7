// Posts under a workspace: drafts, validation, scheduling (instant, local time in a zone, now, queue),
// approvals, retries, the calendar, and each account's posting slots and queue.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { DateTime as Luxon } from 'luxon';
import { ApiError } from '../../http/errors.ts';
import { BULK_ROWS_MAX, parseBulkCsv } from './bulk-csv.ts';
import type { AuthGuards } from '../auth/authenticate.ts';
import type { WorkspaceAccessFactory } from '../workspaces/access.ts';
import { accessOf, auditActor } from '../workspaces/access.ts';
import { DateTime, Uuid, WorkspaceParams, errors, isoOrNull } from '../workspaces/input.ts';
import type { AccountService } from '../accounts/index.ts';
import { aggregateStatus, type PostsService, type Post, type Target, type ScheduleSpec, type PostInput } from './service.ts';
import { POST_STATUSES, TARGET_STATES, type Recurrence } from './schema.ts';
import { assertZone, dayIn, startOfDay } from './time.ts';

export interface PostRouteDeps {
  posts: PostsService;
  accounts: AccountService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const tags = ['posts'];
const TEXT_MAX = 100_000;
const MediaIds = Type.Array(Type.String({ format: 'uuid' }), { maxItems: 20, description: 'Uploaded media ids (see /media), in order' });

const TargetInputSchema = Type.Object({
  accountId: Uuid('A social account of this workspace'),
  text: Type.Optional(Type.String({ maxLength: TEXT_MAX, description: 'This network\'s own text (else the post\'s)' })),
  mediaIds: Type.Optional(MediaIds),
  thread: Type.Optional(Type.Array(Type.Object({ text: Type.String({ maxLength: TEXT_MAX }), mediaIds: Type.Optional(MediaIds) }, { additionalProperties: false }),
    { maxItems: 25, description: 'Further parts, each published as a reply to the one before' })),
  firstComment: Type.Optional(Type.String({ maxLength: TEXT_MAX, description: 'Published as a reply to the post, right after it' })),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Network options passed to the adapter' })),
}, { additionalProperties: false });

const PostBody = Type.Object({
  text: Type.String({ maxLength: TEXT_MAX, description: 'The base text every target uses unless it has its own' }),
  mediaIds: Type.Optional(MediaIds),
  targets: Type.Array(TargetInputSchema, { minItems: 1, maxItems: 50 }),
}, { additionalProperties: false });

const RecurrenceSchema = Type.Union([
  Type.Object({ every: Type.Literal('days'), interval: Type.Integer({ minimum: 1, maximum: 365 }), until: Type.Optional(DateTime), count: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })) }, { additionalProperties: false }),
  Type.Object({
    every: Type.Literal('weeks'), interval: Type.Integer({ minimum: 1, maximum: 52 }),
    weekdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, description: 'ISO weekdays, 1 = Monday' }),
    until: Type.Optional(DateTime), count: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
  }, { additionalProperties: false }),
], { description: 'Repeat at the same local time: every N days, or every N weeks on given weekdays' });

const ScheduleBody = Type.Object({
  at: Type.Optional(Type.String({ format: 'date-time', description: 'An instant with its offset, e.g. 2027-03-28T09:30:00+02:00' })),
  localTime: Type.Optional(Type.String({ maxLength: 19, description: 'A wall-clock time, e.g. 2027-03-28T09:30, with timeZone' })),
  timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone of localTime, e.g. Europe/Berlin' })),
  now: Type.Optional(Type.Literal(true, { description: 'Publish at once' })),
  queue: Type.Optional(Type.Literal(true, { description: 'Take each account\'s next free posting slot' })),
  recurrence: Type.Optional(Type.Union([RecurrenceSchema, Type.Null()])),
}, { additionalProperties: false, description: 'Exactly one of at, localTime (with timeZone), now or queue' });

const RescheduleBody = Type.Object({
  ...ScheduleBody.properties,
  targetIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), {
    minItems: 1, maxItems: 50,
    description: 'Move only these targets of a scheduled post (one network, say); the others keep their times',
  })),
}, { additionalProperties: false, description: 'Exactly one of at, localTime (with timeZone), now or queue; with targetIds, only those targets move' });

const Attempt = Type.Object({
  at: Type.String(), part: Type.Integer(), outcome: Type.String(), errorClass: Type.Union([Type.String(), Type.Null()]),
  networkStatus: Type.Union([Type.Integer(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]), remoteId: Type.Union([Type.String(), Type.Null()]),
});

const TargetSchema = Type.Object({
  id: Type.String(), accountId: Type.String(), provider: Type.String(), occurrence: Type.Integer(),
  state: Type.Enum([...TARGET_STATES]), variant: Type.Unknown(),
  publishAt: Type.Union([Type.String(), Type.Null()]), nextAttemptAt: Type.Union([Type.String(), Type.Null()]), queued: Type.Boolean(),
  attempts: Type.Integer(), remoteId: Type.Union([Type.String(), Type.Null()]), url: Type.Union([Type.String(), Type.Null()]),
  publishedAt: Type.Union([Type.String(), Type.Null()]),
  parts: Type.Array(Type.Object({ remoteId: Type.String(), url: Type.Union([Type.String(), Type.Null()]) })),
  firstComment: Type.Union([Type.Object({ remoteId: Type.String(), url: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  error: Type.Union([Type.Object({ class: Type.String(), message: Type.String(), networkStatus: Type.Union([Type.Integer(), Type.Null()]) }), Type.Null()]),
  attemptLog: Type.Optional(Type.Array(Attempt)),
});

const PostSchema = Type.Object({
  id: Type.String(), workspaceId: Type.String(), text: Type.String(), mediaIds: Type.Array(Type.String()),
  status: Type.String({ description: 'draft, pending_approval or scheduled' }),
  aggregateStatus: Type.String({ description: 'draft, pending_approval, scheduled, publishing, published, partially_published, failed or unknown' }),
  schedule: Type.Union([Type.Object({
    mode: Type.Union([Type.String(), Type.Null()]), publishAt: Type.Union([Type.String(), Type.Null()]),
    localTime: Type.Union([Type.String(), Type.Null()]), timeZone: Type.Union([Type.String(), Type.Null()]), recurrence: Type.Unknown(),
  }), Type.Null()]),
  review: Type.Union([Type.Object({
    submittedBy: Type.Union([Type.String(), Type.Null()]), submittedAt: Type.Union([Type.String(), Type.Null()]),
    decision: Type.Union([Type.String(), Type.Null()]), comment: Type.Union([Type.String(), Type.Null()]),
    reviewedBy: Type.Union([Type.String(), Type.Null()]), reviewedAt: Type.Union([Type.String(), Type.Null()]),
  }), Type.Null()]),
  version: Type.Integer(), createdBy: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(), updatedAt: Type.String(),
  targets: Type.Array(TargetSchema),
});

function presentTarget(t: Target, attempts?: { targetId: string; startedAt: Date; part: number; outcome: string; errorClass: string | null; networkStatus: number | null; message: string | null; remoteId: string | null }[]) {
  return {
    id: t.id, accountId: t.accountId, provider: t.provider, occurrence: t.occurrence, state: t.state, variant: t.variant,
    publishAt: isoOrNull(t.publishAt), nextAttemptAt: isoOrNull(t.nextAttemptAt), queued: t.queued, attempts: t.attempts,
    remoteId: t.remoteId, url: t.remoteUrl, publishedAt: isoOrNull(t.publishedAt),
    parts: t.progress.parts.map((p) => ({ remoteId: p.remoteId, url: p.url ?? null })),
    firstComment: t.progress.comment ? { remoteId: t.progress.comment.remoteId, url: t.progress.comment.url ?? null } : null,
    error: t.errorClass ? { class: t.errorClass, message: t.errorMessage ?? '', networkStatus: t.networkStatus } : null,
    ...(attempts ? {
      attemptLog: attempts.filter((a) => a.targetId === t.id).map((a) => ({
        at: a.startedAt.toISOString(), part: a.part, outcome: a.outcome, errorClass: a.errorClass, networkStatus: a.networkStatus, message: a.message, remoteId: a.remoteId,
      })),
    } : {}),
  };
}

export function presentPost(post: Post, targets: Target[], attempts?: Parameters<typeof presentTarget>[1]) {
  return {
    id: post.id, workspaceId: post.workspaceId, text: post.text, mediaIds: post.mediaIds, status: post.status, aggregateStatus: aggregateStatus(post, targets),
    schedule: post.scheduleMode || post.publishAt ? { mode: post.scheduleMode, publishAt: isoOrNull(post.publishAt), localTime: post.localTime, timeZone: post.timeZone, recurrence: post.recurrence ?? null } : null,
    review: post.submittedAt || post.reviewDecision ? {
      submittedBy: post.submittedBy, submittedAt: isoOrNull(post.submittedAt), decision: post.reviewDecision, comment: post.reviewComment,
      reviewedBy: post.reviewedBy, reviewedAt: isoOrNull(post.reviewedAt),
    } : null,
    version: post.version, createdBy: post.createdBy, createdAt: post.createdAt.toISOString(), updatedAt: post.updatedAt.toISOString(),
    targets: targets.map((t) => presentTarget(t, attempts)),
  };
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) {
    throw new ApiError(400, 'VALIDATION_FAILED', 'cursor: not a cursor this API gave out; pass the `next` of the previous page as it is.', [{ field: 'querystring.cursor', message: 'invalid' }]);
  }
  return { createdAt, id };
}

/** Exactly one way of scheduling, checked here so the message names the fields. */
function specOf(body: Static<typeof ScheduleBody>): ScheduleSpec {
  const given = [body.at !== undefined && 'at', (body.localTime !== undefined || body.timeZone !== undefined) && 'localTime', body.now && 'now', body.queue && 'queue'].filter(Boolean);
  if (given.length !== 1) {
    throw new ApiError(400, 'VALIDATION_FAILED', given.length === 0 ? 'Say when: at (an instant with offset), localTime with timeZone, now: true, or queue: true.' : `Say when only one way; you gave ${given.join(' and ')}.`,
      [{ field: 'body', message: 'exactly one of at, localTime, now, queue' }]);
  }
  if (body.at !== undefined) return { mode: 'at', at: body.at };
  if (body.localTime !== undefined || body.timeZone !== undefined) {
    if (!body.localTime || !body.timeZone) throw new ApiError(400, 'VALIDATION_FAILED', 'localTime and timeZone go together (e.g. 2027-03-28T09:30 in Europe/Berlin).', [{ field: body.localTime ? 'body.timeZone' : 'body.localTime', message: 'required' }]);
    return { mode: 'local', localTime: body.localTime, timeZone: body.timeZone };
  }
  return body.now ? { mode: 'now' } : { mode: 'queue' };
}

const userIdOf = (req: FastifyRequest) => (req.caller?.kind === 'user' ? req.caller.userId : req.caller?.kind === 'apiKey' ? req.caller.createdBy : null);

export const postRoutes: FastifyPluginAsyncTypebox<PostRouteDeps> = async (app, d) => {
  const PostParams = Type.Object({ workspaceId: Uuid('Workspace id'), postId: Uuid('Post id') });
  const AccountParams = Type.Object({ workspaceId: Uuid('Workspace id'), accountId: Uuid('Social account id') });
  const read = [d.guards.any, d.workspaceAccess('posts.read')];
  const write = [d.guards.any, d.workspaceAccess('posts.write')];
  const approve = [d.guards.any, d.workspaceAccess('posts.approve')];
  const one = async (workspaceId: string, postId: string, withAttempts = false) => {
    const { post, targets } = await d.posts.get(workspaceId, postId);
    return presentPost(post, targets, withAttempts ? await d.posts.attempts(targets.map((t) => t.id)) : undefined);
  };

  /** Scheduling needs posts.approve where the workspace requires approval; an editor submits instead. */
  const mayScheduleDirectly = async (req: FastifyRequest, workspaceId: string) => {
    if (!(await d.posts.requiresApproval(workspaceId))) return;
    if (accessOf(req).permissions.has('posts.approve')) return;
    throw new ApiError(403, 'APPROVAL_REQUIRED', 'This workspace requires approval before posts are scheduled: submit the post for approval (POST …/submit) and an admin will schedule it.');
  };

  app.post('/api/workspaces/:workspaceId/posts', {
    preHandler: write,
    schema: {
      tags, summary: 'Create a draft (optionally scheduled at once with `schedule`)', params: WorkspaceParams,
      body: Type.Object({ ...PostBody.properties, schedule: Type.Optional(ScheduleBody) }, { additionalProperties: false }),
      response: { 201: PostSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
  }, async (req, reply) => {
    const { schedule, ...input } = req.body;
    const spec = schedule ? specOf(schedule) : undefined;
    if (spec) await mayScheduleDirectly(req, req.params.workspaceId);
    const id = await d.posts.create(req.params.workspaceId, userIdOf(req), input as PostInput, auditActor(req),
      spec ? { spec, recurrence: (schedule!.recurrence ?? null) as Recurrence | null } : undefined);
    reply.status(201);
    return one(req.params.workspaceId, id);
  });

  app.post('/api/workspaces/:workspaceId/posts/bulk', {
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
    const made = await d.posts.createMany(req.params.workspaceId, userIdOf(req), rows, req.body.accountIds, auditActor(req), dryRun);
    reply.status(dryRun ? 200 : 201);
    return {
      dryRun, created: dryRun ? 0 : made.length,
      posts: made.map((m) => ({ line: m.line, postId: dryRun ? null : m.postId, publishAt: isoOrNull(m.publishAt) })),
    };
  });

  app.post('/api/workspaces/:workspaceId/posts/validate', {
    preHandler: write,
    schema: {
      tags, summary: 'Check a post against each network\'s rules without saving it: counts per target and field, and problems',
      params: WorkspaceParams, body: PostBody,
      response: { 200: Type.Object({ valid: Type.Boolean(), problems: Type.Array(Type.Object({ accountId: Type.String(), provider: Type.String(), field: Type.String(), message: Type.String() })), counts: Type.Unknown() }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const r = await d.posts.validate(req.params.workspaceId, req.body as PostInput);
    return { valid: r.problems.length === 0, problems: r.problems, counts: r.counts };
  });

  app.get('/api/workspaces/:workspaceId/posts', {
    preHandler: read,
    schema: {
      tags, summary: 'Posts, newest first', params: WorkspaceParams,
      querystring: Type.Object({
        status: Type.Optional(Type.Enum([...POST_STATUSES])), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        before: Type.Optional(Type.String({ format: 'date-time', description: 'Only posts created before this instant' })),
        cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The `next` of the previous page' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ posts: Type.Array(PostSchema), next: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last' }) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const after = req.query.cursor ? decodeCursor(req.query.cursor) : undefined;
    const rows = await d.posts.list(req.params.workspaceId, {
      limit: req.query.limit, ...(req.query.status ? { status: req.query.status } : {}), ...(req.query.before ? { before: req.query.before } : {}), ...(after ? { after } : {}),
    });
    const last = rows.at(-1)?.post;
    return {
      posts: rows.map((r) => presentPost(r.post, r.targets)),
      next: rows.length === req.query.limit && last ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString('base64url') : null,
    };
  });

  app.get('/api/workspaces/:workspaceId/posts/:postId', {
    preHandler: read,
    schema: { tags, summary: 'One post with its targets, their results and every attempt', params: PostParams, response: { 200: PostSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => one(req.params.workspaceId, req.params.postId, true));

  app.put('/api/workspaces/:workspaceId/posts/:postId', {
    preHandler: write,
    schema: {
      tags, summary: 'Replace the content of a post that has not started publishing (a scheduled post keeps its time)',
      description: 'Where approval is required, someone who cannot approve may not change an approved, scheduled post (403 APPROVAL_REQUIRED); their change to a post waiting for approval submits it again, so an approval of the earlier version is refused.',
      params: PostParams,
      body: Type.Object({ ...PostBody.properties, version: Type.Optional(Type.Integer({ minimum: 1, description: 'The version you edited; a newer one answers 409' })) }, { additionalProperties: false }),
      response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
  }, async (req) => {
    const { version, ...input } = req.body;
    // Whether the editor may approve decides what the edit does to an approval (checked under the post's lock).
    await d.posts.update(req.params.workspaceId, req.params.postId, input as PostInput, version, auditActor(req),
      { userId: userIdOf(req), mayApprove: accessOf(req).permissions.has('posts.approve') });
    return one(req.params.workspaceId, req.params.postId);
  });

  app.delete('/api/workspaces/:workspaceId/posts/:postId', {
    preHandler: write,
    schema: { tags, summary: 'Delete a post (what is already on the networks stays there)', params: PostParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) } },
  }, async (req, reply) => {
    await d.posts.remove(req.params.workspaceId, req.params.postId, auditActor(req));
    return reply.status(204).send(null);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/schedule', {
    preHandler: write,
    schema: {
      tags, summary: 'Schedule (or reschedule) at an instant, a local time in a zone, now, or in the queue',
      description: 'Local times follow RFC 5545: a time skipped by a daylight-saving change moves forward by the gap; a repeated time is the first of the two.',
      params: PostParams, body: RescheduleBody, response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
  }, async (req) => {
    const { targetIds, ...when } = req.body;
    const spec = specOf(when);
    await mayScheduleDirectly(req, req.params.workspaceId);
    if (targetIds) {
      if (when.recurrence !== undefined) throw new ApiError(400, 'VALIDATION_FAILED', 'A repeat applies to the whole post; send recurrence without targetIds.', [{ field: 'body.recurrence', message: 'not with targetIds' }]);
      await d.posts.rescheduleTargets(req.params.workspaceId, req.params.postId, [...new Set(targetIds)], spec, auditActor(req));
    } else {
      await d.posts.schedule(req.params.workspaceId, req.params.postId, spec, when.recurrence as Recurrence | null | undefined, auditActor(req));
    }
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/unschedule', {
    preHandler: write,
    schema: { tags, summary: 'Back to draft', params: PostParams, response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409) } },
  }, async (req) => {
    await d.posts.unschedule(req.params.workspaceId, req.params.postId, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/submit', {
    preHandler: write,
    schema: { tags, summary: 'Submit a draft for approval, with the schedule it should get', params: PostParams, body: ScheduleBody, response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 422) } },
  }, async (req) => {
    await d.posts.submit(req.params.workspaceId, req.params.postId, specOf(req.body), req.body.recurrence as Recurrence | null | undefined, userIdOf(req), auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/approve', {
    preHandler: approve,
    schema: {
      tags, summary: 'Approve a submitted post: it is scheduled as submitted (now, if that time has passed)',
      description: 'Name the version you read: if the post was changed since, nothing is scheduled and the answer is 409 VERSION_CONFLICT.',
      params: PostParams,
      body: Type.Object({
        version: Type.Integer({ minimum: 1, description: 'The `version` of the post you read and approve' }),
        comment: Type.Optional(Type.String({ maxLength: 2000 })),
      }, { additionalProperties: false }),
      response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
  }, async (req) => {
    await d.posts.approve(req.params.workspaceId, req.params.postId, req.body.version, userIdOf(req), req.body.comment, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/reject', {
    preHandler: approve,
    schema: {
      tags, summary: 'Reject a submitted post with a comment: it returns to draft', params: PostParams,
      body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 2000, description: 'What to change' }) }, { additionalProperties: false }),
      response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await d.posts.reject(req.params.workspaceId, req.params.postId, userIdOf(req), req.body.comment, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/retry', {
    preHandler: write,
    schema: {
      tags, summary: 'Retry the failed targets of a post (or only those listed)', params: PostParams,
      body: Type.Object({ targetIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await mayScheduleDirectly(req, req.params.workspaceId);
    await d.posts.get(req.params.workspaceId, req.params.postId);
    return { retried: await d.posts.retryFailed(req.params.workspaceId, { postIds: [req.params.postId], ...(req.body.targetIds ? { targetIds: req.body.targetIds } : {}) }, auditActor(req)) };
  });

  app.post('/api/workspaces/:workspaceId/posts/retry-failed', {
    preHandler: write,
    schema: {
      tags, summary: 'Bulk retry: every failed target of these posts (or of the whole workspace)', params: WorkspaceParams,
      body: Type.Object({ postIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await mayScheduleDirectly(req, req.params.workspaceId);
    return { retried: await d.posts.retryFailed(req.params.workspaceId, req.body.postIds ? { postIds: req.body.postIds } : {}, auditActor(req)) };
  });

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
  }, async (req) => {
    const zone = req.query.timeZone;
    assertZone(zone, 'querystring.timeZone');
    const days = Luxon.fromISO(req.query.to).diff(Luxon.fromISO(req.query.from), 'days').days;
    if (days < 0 || days > 92) throw new ApiError(400, 'VALIDATION_FAILED', 'to must be on or after from, and at most 92 days later.', [{ field: 'querystring.to', message: 'range' }]);
    const from = startOfDay(req.query.from, zone);
    const to = startOfDay(Luxon.fromISO(req.query.to).plus({ days: 1 }).toFormat('yyyy-MM-dd'), zone);
    const rows = await d.posts.targetsBetween(req.params.workspaceId, from, to, req.query.accountId);
    const byDay = new Map<string, unknown[]>();
    for (let c = Luxon.fromISO(req.query.from); c <= Luxon.fromISO(req.query.to); c = c.plus({ days: 1 })) byDay.set(c.toFormat('yyyy-MM-dd'), []);
    for (const r of rows) {
      const at = r.target.publishedAt ?? r.target.publishAt!;
      byDay.get(dayIn(at, zone))?.push({
        postId: r.target.postId, targetId: r.target.id, accountId: r.target.accountId, provider: r.target.provider, state: r.target.state,
        at: at.toISOString(), localTime: Luxon.fromJSDate(at, { zone }).toFormat('HH:mm'), text: (r.target.variant.text ?? r.text).slice(0, 280), queued: r.target.queued, url: r.target.remoteUrl,
        networks: r.networks,
      });
    }
    return { timeZone: zone, days: [...byDay].map(([date, targets]) => ({ date, targets })) } as never;
  });

  const QueuedTarget = Type.Object({ targetId: Type.String(), postId: Type.String(), publishAt: Type.String(), text: Type.String({ description: 'What this account will publish (its own text, else the post\'s), cut to 280 characters' }) });
  const queued = (r: { target: Target; text: string }) => ({
    targetId: r.target.id, postId: r.target.postId, publishAt: r.target.publishAt!.toISOString(), text: [...(r.target.variant.text ?? r.text)].slice(0, 280).join(''),
  });

  const SlotsBody = Type.Object({
    timeZone: Type.String({ maxLength: 64, description: 'IANA zone the slot times are in' }),
    slots: Type.Array(Type.Object({ weekday: Type.Integer({ minimum: 1, maximum: 7, description: '1 = Monday' }), time: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:mm' }) }, { additionalProperties: false }), { maxItems: 200 }),
  }, { additionalProperties: false });
  const SlotsAnswer = Type.Object({ ...SlotsBody.properties, next: Type.Array(Type.String({ description: 'The next free slots' })) });

  const slotsOf = async (workspaceId: string, accountId: string) => {
    await d.accounts.get(workspaceId, accountId);
    return d.posts.slots(accountId);
  };

  app.get('/api/workspaces/:workspaceId/accounts/:accountId/slots', {
    preHandler: read,
    schema: { tags, summary: 'The account\'s weekly posting slots and its next free ones', params: AccountParams, response: { 200: SlotsAnswer, ...errors(400, 401, 403, 404) } },
  }, async (req) => slotsOf(req.params.workspaceId, req.params.accountId));

  app.put('/api/workspaces/:workspaceId/accounts/:accountId/slots', {
    preHandler: write,
    schema: { tags, summary: 'Set the account\'s weekly posting slots (in its time zone)', params: AccountParams, body: SlotsBody, response: { 200: SlotsAnswer, ...errors(400, 401, 403, 404) } },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    await d.posts.setSlots(req.params.workspaceId, req.params.accountId, req.body.timeZone, req.body.slots, auditActor(req));
    return slotsOf(req.params.workspaceId, req.params.accountId);
  });

  app.get('/api/workspaces/:workspaceId/accounts/:accountId/queue', {
    preHandler: read,
    schema: {
      tags, summary: 'The account\'s queued targets, in order', params: AccountParams,
      response: { 200: Type.Object({ targets: Type.Array(QueuedTarget) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    return { targets: (await d.posts.queueOf(req.params.workspaceId, req.params.accountId)).map(queued) };
  });

  app.put('/api/workspaces/:workspaceId/accounts/:accountId/queue', {
    preHandler: write,
    schema: {
      tags, summary: 'Reorder the account\'s queue: the targets keep the same slots, in the order given', params: AccountParams,
      body: Type.Object({ targetIds: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 1000 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ targets: Type.Array(QueuedTarget) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    await mayScheduleDirectly(req, req.params.workspaceId);
    await d.posts.reorderQueue(req.params.workspaceId, req.params.accountId, req.body.targetIds, auditActor(req));
    return { targets: (await d.posts.queueOf(req.params.workspaceId, req.params.accountId)).map(queued) };
  });

  app.post('/api/workspaces/:workspaceId/posts/:postId/targets/:targetId/resolve', {
    preHandler: write,
    schema: {
      tags, summary: 'Settle an unknown outcome after checking the account: it was published (give its link), or it was not (failed, so it can be retried)',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), postId: Uuid('Post id'), targetId: Uuid('Target id') }),
      body: Type.Object({
        outcome: Type.Union([Type.Literal('published'), Type.Literal('failed')]),
        url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000, description: 'The post on the network, when it was published' })),
        remoteId: Type.Optional(Type.String({ maxLength: 200 })),
      }, { additionalProperties: false }),
      response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await d.posts.resolveUnknown(req.params.workspaceId, req.params.postId, req.params.targetId, req.body, auditActor(req));
    return one(req.params.workspaceId, req.params.postId, true);
  });

  app.get('/api/workspaces/:workspaceId/approvals', {
    preHandler: read,
    schema: { tags, summary: 'Posts waiting for approval', params: WorkspaceParams, response: { 200: Type.Object({ posts: Type.Array(PostSchema) }), ...errors(400, 401, 403, 404) } },
  }, async (req) => ({
    posts: (await d.posts.list(req.params.workspaceId, { status: 'pending_approval', limit: 200 })).map((r) => presentPost(r.post, r.targets)),
  }));
};
