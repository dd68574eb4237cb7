// /api/workspaces/:workspaceId/templates and …/hashtag-groups: reusable post content (docs/TEMPLATES.md).
// Reading needs posts.read; adding, changing and deleting posts.write. Personal items are the member's own;
// API keys see and write the workspace's only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import { PROVIDER_IDS } from '../../providers/types.ts';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { DateTime, NameSchema, Uuid, auditActor, errors, iso, lowerCaseIds } from '../workspaces/index.ts';
import { FIELDS_MAX, FIELD_VALUE_MAX } from './fields.ts';
import { HASHTAGS_MAX } from './hashtags.ts';
import { TEMPLATE_MEDIA_MAX, TEMPLATE_TEXT_MAX, type HashtagGroupRow, type Template, type TemplateService, type Viewer } from './service.ts';

export interface TemplateRouteDeps {
  templates: TemplateService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const Ws = Uuid('Workspace id');
const TemplateParams = Type.Object({ workspaceId: Ws, templateId: Uuid('Template id') });
const GroupParams = Type.Object({ workspaceId: Ws, groupId: Uuid('Hashtag group id') });
const Query = Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Part of the name, ignoring case' }));
const Personal = Type.Boolean({ description: 'true: only you see and use it (not for API keys); false or left out: every member of the workspace' });

const Text = Type.String({ minLength: 1, maxLength: TEMPLATE_TEXT_MAX, description: `The post's text; {{field}} (lower-case letters, digits, _) is asked for when the template is used, at most ${FIELDS_MAX} fields` });
const Variants = Type.Record(Type.String({ enum: [...PROVIDER_IDS] }), Type.String({ minLength: 1, maxLength: TEMPLATE_TEXT_MAX }), {
  description: 'A text per network, used instead of `text` for that network (networks: GET /api/networks)',
});
const MediaIds = Type.Array(Uuid('Media id (the media library)'), { maxItems: TEMPLATE_MEDIA_MAX, description: `Files of the media library, in order (at most ${TEMPLATE_MEDIA_MAX}); a file a template uses cannot be deleted` });

const TemplateSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  personal: Type.Boolean(),
  text: Type.String(),
  variants: Type.Record(Type.String(), Type.String()),
  mediaIds: Type.Array(Type.String({ format: 'uuid' })),
  fields: Type.Array(Type.String(), { description: 'The {{fields}} its texts ask for, in order of first use' }),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  updatedAt: DateTime,
});
const publicTemplate = (t: Template) => ({
  id: t.id, name: t.name, personal: t.ownerId !== null, text: t.text, variants: t.variants, mediaIds: t.mediaIds, fields: t.fields,
  createdBy: t.createdBy, createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
});

const Hashtags = Type.Array(Type.String({ minLength: 1, maxLength: 101 }), {
  minItems: 1, maxItems: HASHTAGS_MAX, description: `Hashtags, with or without # (letters, digits, _); duplicates whatever their case are dropped; at most ${HASHTAGS_MAX}`,
});
const GroupSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  personal: Type.Boolean(),
  hashtags: Type.Array(Type.String(), { description: 'Each with its #' }),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
  updatedAt: DateTime,
});
const publicGroup = (g: HashtagGroupRow) => ({
  id: g.id, name: g.name, personal: g.ownerId !== null, hashtags: g.hashtags, createdBy: g.createdBy, createdAt: iso(g.createdAt), updatedAt: iso(g.updatedAt),
});

const viewerOf = (req: FastifyRequest): Viewer => ({
  workspaceId: (req.params as { workspaceId: string }).workspaceId, userId: req.caller?.kind === 'user' ? req.caller.userId : null,
});

export const templateRoutes: FastifyPluginAsyncTypebox<TemplateRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('posts.read')];
  const write = [d.guards.any, d.workspaceAccess('posts.write')];
  app.addHook('preHandler', lowerCaseIds);

  const tags = ['templates'];
  app.get('/templates', {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s templates and your personal ones, by name', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...pageQuery('templates', 100), q: Query }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(TemplateSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const page = await d.templates.listTemplates(viewerOf(req), req.query);
    return { items: page.items.map(publicTemplate), nextCursor: page.nextCursor };
  });

  app.post('/templates', {
    preHandler: write,
    schema: {
      tags, summary: 'Add a template', params: Type.Object({ workspaceId: Ws }),
      body: Type.Object({ name: NameSchema('The template\'s name, unique among yours and the workspace\'s'), text: Text, variants: Type.Optional(Variants), mediaIds: Type.Optional(MediaIds), personal: Type.Optional(Personal) }, { additionalProperties: false }),
      response: { 201: TemplateSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const t = await d.templates.createTemplate(viewerOf(req), req.body, auditActor(req));
    reply.status(201);
    return publicTemplate(t);
  });

  app.get('/templates/:templateId', {
    preHandler: read,
    schema: { tags, summary: 'One template', params: TemplateParams, response: { 200: TemplateSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => publicTemplate(await d.templates.getTemplate(viewerOf(req), req.params.templateId)));

  app.patch('/templates/:templateId', {
    preHandler: write,
    schema: {
      tags, summary: 'Change a template (what is left out stays)', params: TemplateParams,
      body: Type.Object({ name: Type.Optional(NameSchema('The template\'s name')), text: Type.Optional(Text), variants: Type.Optional(Variants), mediaIds: Type.Optional(MediaIds) }, { additionalProperties: false }),
      response: { 200: TemplateSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => publicTemplate(await d.templates.updateTemplate(viewerOf(req), req.params.templateId, req.body, auditActor(req))));

  app.delete('/templates/:templateId', {
    preHandler: write,
    schema: { tags, summary: 'Delete a template (posts made from it stay)', params: TemplateParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await d.templates.deleteTemplate(viewerOf(req), req.params.templateId, auditActor(req));
    reply.status(204);
  });

  app.post('/templates/:templateId/render', {
    preHandler: read,
    schema: {
      tags, summary: 'The template with its fields filled in: the text, per-network texts and media to put in a post (nothing is saved)',
      params: TemplateParams,
      body: Type.Object({
        values: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,39}$' }), Type.String({ maxLength: FIELD_VALUE_MAX }), { description: 'A value for each of the template\'s fields (one line each)', default: {} }),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ text: Type.String(), variants: Type.Record(Type.String(), Type.String()), mediaIds: Type.Array(Type.String({ format: 'uuid' })) }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => d.templates.render(viewerOf(req), req.params.templateId, req.body.values));

  const groupTags = ['hashtag groups'];
  app.get('/hashtag-groups', {
    preHandler: read,
    schema: {
      tags: groupTags, summary: 'The workspace\'s hashtag groups and your personal ones, by name', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...pageQuery('hashtag groups', 100), q: Query }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(GroupSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const page = await d.templates.listGroups(viewerOf(req), req.query);
    return { items: page.items.map(publicGroup), nextCursor: page.nextCursor };
  });

  app.post('/hashtag-groups', {
    preHandler: write,
    schema: {
      tags: groupTags, summary: 'Add a hashtag group', params: Type.Object({ workspaceId: Ws }),
      body: Type.Object({ name: NameSchema('The group\'s name'), hashtags: Hashtags, personal: Type.Optional(Personal) }, { additionalProperties: false }),
      response: { 201: GroupSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const g = await d.templates.createGroup(viewerOf(req), req.body, auditActor(req));
    reply.status(201);
    return publicGroup(g);
  });

  app.get('/hashtag-groups/:groupId', {
    preHandler: read,
    schema: { tags: groupTags, summary: 'One hashtag group', params: GroupParams, response: { 200: GroupSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => publicGroup(await d.templates.getGroup(viewerOf(req), req.params.groupId)));

  app.patch('/hashtag-groups/:groupId', {
    preHandler: write,
    schema: {
      tags: groupTags, summary: 'Rename a hashtag group or change its hashtags', params: GroupParams,
      body: Type.Object({ name: Type.Optional(NameSchema('The group\'s name')), hashtags: Type.Optional(Hashtags) }, { additionalProperties: false }),
      response: { 200: GroupSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => publicGroup(await d.templates.updateGroup(viewerOf(req), req.params.groupId, req.body, auditActor(req))));

  app.delete('/hashtag-groups/:groupId', {
    preHandler: write,
    schema: { tags: groupTags, summary: 'Delete a hashtag group', params: GroupParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await d.templates.deleteGroup(viewerOf(req), req.params.groupId, auditActor(req));
    reply.status(204);
  });
};
