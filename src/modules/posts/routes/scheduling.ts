// The scheduling state machine over HTTP: schedule (or move some networks), unschedule, submit for
// approval, approve or reject, retry failures, settle an unknown outcome, and the list waiting for approval.
import { Type } from 'typebox';
import { ApiError } from '../../../http/errors.ts';
import { NextCursor, pageQuery } from '../../../http/paging.ts';
import { auditActor } from '../../workspaces/index.ts';
import { Uuid, WorkspaceParams, errors } from '../../workspaces/index.ts';
import type { Recurrence } from '../schema.ts';
import { PostParams, PostSchema, RescheduleBody, ScheduleBody, presentPost, specOf, tags, userIdOf, type PostRouteKit, type PostsApp } from './common.ts';

export function schedulingRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, read, write, approve, one, mayScheduleDirectly } = k;

  app.post('/posts/:postId/schedule', {
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
      await d.posts.scheduling.rescheduleTargets(req.params.workspaceId, req.params.postId, [...new Set(targetIds)], spec, auditActor(req));
    } else {
      await d.posts.scheduling.schedule(req.params.workspaceId, req.params.postId, spec, when.recurrence as Recurrence | null | undefined, auditActor(req));
    }
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/posts/:postId/unschedule', {
    preHandler: write,
    schema: { tags, summary: 'Back to draft', params: PostParams, response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409) } },
  }, async (req) => {
    await d.posts.scheduling.unschedule(req.params.workspaceId, req.params.postId, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/posts/:postId/submit', {
    preHandler: write,
    schema: { tags, summary: 'Submit a draft for approval, with the schedule it should get', params: PostParams, body: ScheduleBody, response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409, 422) } },
  }, async (req) => {
    await d.posts.scheduling.submit(req.params.workspaceId, req.params.postId, specOf(req.body), req.body.recurrence as Recurrence | null | undefined, userIdOf(req), auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/posts/:postId/approve', {
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
    await d.posts.scheduling.approve(req.params.workspaceId, req.params.postId, req.body.version, userIdOf(req), req.body.comment, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/posts/:postId/reject', {
    preHandler: approve,
    schema: {
      tags, summary: 'Reject a submitted post with a comment: it returns to draft', params: PostParams,
      body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 2000, description: 'What to change' }) }, { additionalProperties: false }),
      response: { 200: PostSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await d.posts.scheduling.reject(req.params.workspaceId, req.params.postId, userIdOf(req), req.body.comment, auditActor(req));
    return one(req.params.workspaceId, req.params.postId);
  });

  app.post('/posts/:postId/retry', {
    preHandler: write,
    schema: {
      tags, summary: 'Retry the failed targets of a post (or only those listed)', params: PostParams,
      body: Type.Object({ targetIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await mayScheduleDirectly(req, req.params.workspaceId);
    await d.posts.reader.get(req.params.workspaceId, req.params.postId);
    return { retried: await d.posts.scheduling.retryFailed(req.params.workspaceId, { postIds: [req.params.postId], ...(req.body.targetIds ? { targetIds: req.body.targetIds } : {}) }, auditActor(req)) };
  });

  app.post('/posts/retry-failed', {
    preHandler: write,
    schema: {
      tags, summary: 'Bulk retry: every failed target of these posts (or of the whole workspace)', params: WorkspaceParams,
      body: Type.Object({ postIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    await mayScheduleDirectly(req, req.params.workspaceId);
    return { retried: await d.posts.scheduling.retryFailed(req.params.workspaceId, req.body.postIds ? { postIds: req.body.postIds } : {}, auditActor(req)) };
  });

  app.post('/posts/:postId/targets/:targetId/resolve', {
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
    await d.posts.scheduling.resolveUnknown(req.params.workspaceId, req.params.postId, req.params.targetId, req.body, auditActor(req));
    return one(req.params.workspaceId, req.params.postId, true);
  });

  app.get('/approvals', {
    preHandler: read,
    schema: {
      tags, summary: 'Posts waiting for approval, newest first, a page at a time', params: WorkspaceParams,
      querystring: Type.Object(pageQuery('posts', 200), { additionalProperties: false }),
      response: { 200: Type.Object({ posts: Type.Array(PostSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.posts.reader.list(req.params.workspaceId, { ...req.query, status: 'pending_approval' });
    return { posts: items.map((r) => presentPost(r.post, r.targets)), nextCursor };
  });
}
