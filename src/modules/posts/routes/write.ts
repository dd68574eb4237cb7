// Writing posts over HTTP: create (optionally scheduled at once), check against the networks' rules,
// list, read, replace and delete.
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../../http/paging.ts';
import { accessOf, auditActor } from '../../workspaces/index.ts';
import { WorkspaceParams, errors } from '../../workspaces/index.ts';
import { POST_STATUSES, type Recurrence } from '../schema.ts';
import type { PostInput } from '../model.ts';
import { PostBody, PostParams, PostSchema, ScheduleBody, presentPost, specOf, tags, userIdOf, type PostRouteKit, type PostsApp } from './common.ts';

export function writeRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, read, write, one, mayScheduleDirectly } = k;

  app.post('/posts', {
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
    const id = await d.posts.writer.create(req.params.workspaceId, userIdOf(req), input as PostInput, auditActor(req),
      spec ? { spec, recurrence: (schedule!.recurrence ?? null) as Recurrence | null } : undefined);
    reply.status(201);
    return one(req.params.workspaceId, id);
  });

  app.post('/posts/validate', {
    preHandler: write,
    schema: {
      tags, summary: 'Check a post against each network\'s rules without saving it: counts per target and field, and problems',
      params: WorkspaceParams, body: PostBody,
      response: { 200: Type.Object({ valid: Type.Boolean(), problems: Type.Array(Type.Object({ accountId: Type.String(), provider: Type.String(), field: Type.String(), message: Type.String() })), counts: Type.Unknown() }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const r = await d.posts.validator.validate(req.params.workspaceId, req.body as PostInput);
    return { valid: r.problems.length === 0, problems: r.problems, counts: r.counts };
  });

  app.get('/posts', {
    preHandler: read,
    schema: {
      tags, summary: 'Posts, newest first, a page at a time', params: WorkspaceParams,
      querystring: Type.Object({
        status: Type.Optional(Type.Enum([...POST_STATUSES])),
        before: Type.Optional(Type.String({ format: 'date-time', description: 'Only posts created before this instant' })),
        ...pageQuery('posts', 200),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ posts: Type.Array(PostSchema), nextCursor: NextCursor, next: Type.Union([Type.String(), Type.Null()], { description: 'The same as nextCursor (kept for older clients)' }) }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => {
    const { items, nextCursor } = await d.posts.reader.list(req.params.workspaceId, req.query);
    return { posts: items.map((r) => presentPost(r.post, r.targets)), nextCursor, next: nextCursor };
  });

  app.get('/posts/:postId', {
    preHandler: read,
    schema: { tags, summary: 'One post with its targets, their results and every attempt', params: PostParams, response: { 200: PostSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => one(req.params.workspaceId, req.params.postId, true));

  app.put('/posts/:postId', {
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
    await d.posts.writer.update(req.params.workspaceId, req.params.postId, input as PostInput, version, auditActor(req),
      { userId: userIdOf(req), mayApprove: accessOf(req).permissions.has('posts.approve') });
    return one(req.params.workspaceId, req.params.postId);
  });

  app.delete('/posts/:postId', {
    preHandler: write,
    schema: { tags, summary: 'Delete a post (what is already on the networks stays there)', params: PostParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) } },
  }, async (req, reply) => {
    await d.posts.writer.remove(req.params.workspaceId, req.params.postId, auditActor(req));
    return reply.status(204).send(null);
  });
}
