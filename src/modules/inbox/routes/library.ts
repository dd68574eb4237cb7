// Labels and saved replies over HTTP: every member reads them, members who act in the inbox manage them.
import { Type } from 'typebox';
import { auditActor } from '../../workspaces/index.ts';
import { Uuid, WorkspaceParams, errors } from '../../workspaces/index.ts';
import { LABEL_NAME_MAX, LABELS_MAX } from '../labels.ts';
import { SAVED_REPLIES_MAX, SAVED_REPLY_TEXT_MAX, VARIABLES } from '../saved-replies.ts';
import {
  BASE, Cursor, LabelSchema, NextCursor, SavedReplySchema, presentLabel, presentSavedReply, tags, userIdOf, type InboxApp, type InboxRouteKit,
} from './common.ts';

const Page = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 100, description: 'How many, by name' }), cursor: Cursor }, { additionalProperties: false });
const LabelName = Type.String({ minLength: 1, maxLength: LABEL_NAME_MAX, description: `1 to ${LABEL_NAME_MAX} characters, unique in the workspace whatever the case` });
const Color = Type.Union([Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: '#rrggbb' }), Type.Null()]);
const LabelParams = Type.Object({ workspaceId: Uuid('Workspace id'), labelId: Uuid('Label id') });
const ReplyName = Type.String({ minLength: 1, maxLength: 100, description: '1 to 100 characters, unique in the workspace whatever the case' });
const ReplyText = Type.String({
  minLength: 1, maxLength: SAVED_REPLY_TEXT_MAX,
  description: `Up to ${SAVED_REPLY_TEXT_MAX} characters; may use ${Object.entries(VARIABLES).map(([k, v]) => `{${k}} (${v})`).join(', ')}`,
});
const ReplyParams = Type.Object({ workspaceId: Uuid('Workspace id'), savedReplyId: Uuid('Saved reply id') });

export function libraryRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read, write } = k;

  app.get(`${BASE}/labels`, {
    preHandler: read,
    schema: { tags, summary: 'The workspace\'s labels, by name', params: WorkspaceParams, querystring: Page,
      response: { 200: Type.Object({ labels: Type.Array(LabelSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => {
    const page = await d.inbox.labels.list(req.params.workspaceId, { limit: req.query.limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) });
    return { labels: page.items.map(presentLabel), nextCursor: page.nextCursor };
  });

  app.post(`${BASE}/labels`, {
    preHandler: write,
    schema: { tags, summary: `Add a label (at most ${LABELS_MAX} per workspace)`, params: WorkspaceParams,
      body: Type.Object({ name: LabelName, color: Type.Optional(Color) }, { additionalProperties: false }),
      response: { 201: LabelSchema, ...errors(400, 401, 403, 404, 409, 429) } },
  }, async (req, reply) => {
    const label = await d.inbox.labels.create(req.params.workspaceId, { name: req.body.name, ...(req.body.color !== undefined ? { color: req.body.color?.toLowerCase() ?? null } : {}) }, auditActor(req));
    reply.status(201);
    return presentLabel(label);
  });

  app.patch(`${BASE}/labels/:labelId`, {
    preHandler: write,
    schema: { tags, summary: 'Rename a label or change its colour', params: LabelParams,
      body: Type.Object({ name: Type.Optional(LabelName), color: Type.Optional(Color) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: LabelSchema, ...errors(400, 401, 403, 404, 409, 429) } },
  }, async (req) => presentLabel(await d.inbox.labels.update(req.params.workspaceId, req.params.labelId, {
    ...(req.body.name !== undefined ? { name: req.body.name } : {}), ...(req.body.color !== undefined ? { color: req.body.color?.toLowerCase() ?? null } : {}),
  }, auditActor(req))));

  app.delete(`${BASE}/labels/:labelId`, {
    preHandler: write,
    schema: { tags, summary: 'Delete a label (it comes off every conversation)', params: LabelParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.inbox.labels.delete(req.params.workspaceId, req.params.labelId, auditActor(req));
    reply.status(204);
    return null;
  });

  app.get(`${BASE}/saved-replies`, {
    preHandler: read,
    schema: { tags, summary: 'The workspace\'s saved replies, by name', params: WorkspaceParams, querystring: Page,
      response: { 200: Type.Object({ savedReplies: Type.Array(SavedReplySchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => {
    const page = await d.inbox.savedReplies.list(req.params.workspaceId, { limit: req.query.limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) });
    return { savedReplies: page.items.map(presentSavedReply), nextCursor: page.nextCursor };
  });

  app.get(`${BASE}/saved-replies/:savedReplyId`, {
    preHandler: read,
    schema: { tags, summary: 'One saved reply', params: ReplyParams, response: { 200: SavedReplySchema, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => presentSavedReply(await d.inbox.savedReplies.get(req.params.workspaceId, req.params.savedReplyId)));

  app.post(`${BASE}/saved-replies`, {
    preHandler: write,
    schema: { tags, summary: `Add a saved reply (at most ${SAVED_REPLIES_MAX} per workspace)`, params: WorkspaceParams,
      body: Type.Object({ name: ReplyName, text: ReplyText }, { additionalProperties: false }),
      response: { 201: SavedReplySchema, ...errors(400, 401, 403, 404, 409, 429) } },
  }, async (req, reply) => {
    const r = await d.inbox.savedReplies.create(req.params.workspaceId, req.body, userIdOf(req), auditActor(req));
    reply.status(201);
    return presentSavedReply(r);
  });

  app.patch(`${BASE}/saved-replies/:savedReplyId`, {
    preHandler: write,
    schema: { tags, summary: 'Rename a saved reply or change its text', params: ReplyParams,
      body: Type.Object({ name: Type.Optional(ReplyName), text: Type.Optional(ReplyText) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: SavedReplySchema, ...errors(400, 401, 403, 404, 409, 429) } },
  }, async (req) => presentSavedReply(await d.inbox.savedReplies.update(req.params.workspaceId, req.params.savedReplyId, req.body, auditActor(req))));

  app.delete(`${BASE}/saved-replies/:savedReplyId`, {
    preHandler: write,
    schema: { tags, summary: 'Delete a saved reply', params: ReplyParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.inbox.savedReplies.delete(req.params.workspaceId, req.params.savedReplyId, auditActor(req));
    reply.status(204);
    return null;
  });
}
