// /api/workspaces/:workspaceId/webhooks: endpoints that receive the workspace's events, their delivery
// log, test pings and redelivery (docs/WEBHOOKS.md). Everything here needs webhooks.manage. The signing
// secret is in the answers of create and rotate-secret only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import { auditActor, type WorkspaceAccessFactory } from '../workspaces/index.ts';
import { DateTime, NullableDateTime, Uuid, WorkspaceParams, errors } from '../workspaces/index.ts';
import { WEBHOOK_EVENTS, type WebhookEvent } from './schema.ts';
import { MAX_WEBHOOKS_PER_WORKSPACE, TEST_EVENT, publicDelivery, publicWebhook, type WebhookService } from './service.ts';

export interface WebhookRouteDeps {
  webhooks: WebhookService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const EventSchema = Type.Enum([...WEBHOOK_EVENTS], { description: WEBHOOK_EVENTS.join(', ') });
const Events = Type.Array(EventSchema, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true, description: 'The events this endpoint receives' });
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'Where events are POSTed: https:// (http:// outside production); no credentials; not a private or loopback address' });
const Description = Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { description: 'A note for people (up to 200 characters)' });
const WebhookParams = Type.Object({ workspaceId: Uuid('Workspace id'), webhookId: Uuid('Webhook id') });
const DeliveryParams = Type.Object({ workspaceId: Uuid('Workspace id'), webhookId: Uuid('Webhook id'), deliveryId: Uuid('Delivery id') });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

const WebhookSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  description: NullableString,
  events: Type.Array(Type.String()),
  active: Type.Boolean(),
  createdBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  createdAt: DateTime,
  updatedAt: DateTime,
});
const WithSecret = Type.Object({
  webhook: WebhookSchema,
  secret: Type.String({ description: 'whsec_… signing secret. Shown in this answer only: AllIN keeps it encrypted and never shows it again.' }),
});

const DeliverySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  webhookId: Type.String({ format: 'uuid' }),
  event: Type.String(),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The body sent: { id, type, timestamp, data }' }),
  status: Type.String({ description: 'pending, delivered or failed' }),
  attempts: Type.Integer({ description: 'Tries so far' }),
  lastStatusCode: NullableInt,
  lastError: NullableString,
  nextAttemptAt: NullableDateTime,
  createdAt: DateTime,
  deliveredAt: NullableDateTime,
  log: Type.Array(Type.Object({
    at: DateTime, statusCode: NullableInt, durationMs: NullableInt,
    error: Type.Union([Type.String({ description: 'What went wrong: the status and the start of the answer, or the connection problem' }), Type.Null()]),
  })),
});

export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteDeps> = async (app, d) => {
  const tags = ['webhooks'];
  const pre = [d.guards.any, d.workspaceAccess('webhooks.manage')];
  const base = '/webhooks';

  app.post(base, {
    preHandler: pre,
    schema: {
      tags, summary: 'Add a webhook; its signing secret is in this answer and nowhere else',
      description: `Events are POSTed as JSON, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); see docs/WEBHOOKS.md. At most ${MAX_WEBHOOKS_PER_WORKSPACE} per workspace.`,
      params: WorkspaceParams,
      body: Type.Object({
        url: Url, events: Events, description: Type.Optional(Description),
        active: Type.Optional(Type.Boolean({ default: true })),
      }, { additionalProperties: false }),
      response: { 201: WithSecret, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const actor = auditActor(req);
    const { webhook, secret } = await d.webhooks.create(req.params.workspaceId, {
      url: req.body.url, events: req.body.events as WebhookEvent[], description: req.body.description ?? null, ...(req.body.active !== undefined ? { active: req.body.active } : {}),
    }, actor.actorUserId ?? null, actor);
    reply.status(201).header('cache-control', 'no-store');
    return { webhook: publicWebhook(webhook), secret };
  });

  app.get(base, {
    preHandler: pre,
    schema: { tags, summary: 'The workspace\'s webhooks (never their secrets)', params: WorkspaceParams,
      description: `Not paged: a workspace has at most ${MAX_WEBHOOKS_PER_WORKSPACE} webhooks.`,
      response: { 200: Type.Object({ webhooks: Type.Array(WebhookSchema) }), ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => ({ webhooks: (await d.webhooks.list(req.params.workspaceId)).map(publicWebhook) }));

  app.get(`${base}/:webhookId`, {
    preHandler: pre,
    schema: { tags, summary: 'One webhook (never its secret)', params: WebhookParams, response: { 200: WebhookSchema, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => publicWebhook(await d.webhooks.get(req.params.workspaceId, req.params.webhookId)));

  app.patch(`${base}/:webhookId`, {
    preHandler: pre,
    schema: {
      tags, summary: 'Change a webhook\'s URL, events, description, or turn it off and on',
      description: 'A disabled webhook receives no new events, and its pending deliveries are marked failed when their turn comes.',
      params: WebhookParams,
      body: Type.Object({ url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description), active: Type.Optional(Type.Boolean()) },
        { additionalProperties: false, minProperties: 1 }),
      response: { 200: WebhookSchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const b = req.body;
    return publicWebhook(await d.webhooks.update(req.params.workspaceId, req.params.webhookId, {
      ...(b.url !== undefined ? { url: b.url } : {}), ...(b.events !== undefined ? { events: b.events as WebhookEvent[] } : {}),
      ...(b.description !== undefined ? { description: b.description } : {}), ...(b.active !== undefined ? { active: b.active } : {}),
    }, auditActor(req)));
  });

  app.delete(`${base}/:webhookId`, {
    preHandler: pre,
    schema: { tags, summary: 'Delete a webhook and its delivery log', params: WebhookParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.webhooks.delete(req.params.workspaceId, req.params.webhookId, auditActor(req));
    reply.status(204);
    return null;
  });

  app.post(`${base}/:webhookId/rotate-secret`, {
    preHandler: pre,
    schema: {
      tags, summary: 'Replace the signing secret; the new one is in this answer and nowhere else',
      description: 'Every try from now on, retries of earlier events included, is signed with the new secret.',
      params: WebhookParams, response: { 200: WithSecret, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    const { webhook, secret } = await d.webhooks.rotateSecret(req.params.workspaceId, req.params.webhookId, auditActor(req));
    reply.header('cache-control', 'no-store');
    return { webhook: publicWebhook(webhook), secret };
  });

  app.post(`${base}/:webhookId/ping`, {
    preHandler: pre,
    schema: {
      tags, summary: `Send a ${TEST_EVENT} event now and answer how it went`,
      description: 'One try, no retries; it appears in the delivery log like any delivery. Works on a disabled webhook too.',
      params: WebhookParams,
      response: {
        200: Type.Object({
          deliveryId: Type.String({ format: 'uuid' }), delivered: Type.Boolean(), statusCode: NullableInt, durationMs: Type.Integer(), error: NullableString,
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => d.webhooks.ping(req.params.workspaceId, req.params.webhookId));

  app.get(`${base}/:webhookId/deliveries`, {
    preHandler: pre,
    schema: {
      tags, summary: 'The delivery log, newest first, each delivery with its tries',
      params: WebhookParams,
      querystring: Type.Object({
        ...pageQuery('deliveries', 100, 20),
        status: Type.Optional(Type.Enum(['pending', 'delivered', 'failed'])),
        before: Type.Optional(Uuid('Only deliveries older than this one (older clients\' way to page: nextBefore of the previous page; prefer cursor)')),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          deliveries: Type.Array(DeliverySchema), nextCursor: NextCursor,
          nextBefore: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The last delivery\'s id when there is a next page (kept for older clients)' }),
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const r = await d.webhooks.deliveries(req.params.workspaceId, req.params.webhookId, { ...req.query, before: req.query.before?.toLowerCase() });
    return { deliveries: r.deliveries.map((x) => publicDelivery(x.delivery, x.attempts)), nextCursor: r.nextCursor, nextBefore: r.nextBefore };
  });

  app.post(`${base}/:webhookId/deliveries/:deliveryId/redeliver`, {
    preHandler: pre,
    schema: {
      tags, summary: 'Send a delivered or failed event again (a new delivery with the same payload and webhook-id)',
      params: DeliveryParams, response: { 202: DeliverySchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const delivery = await d.webhooks.redeliver(req.params.workspaceId, req.params.webhookId, req.params.deliveryId);
    reply.status(202);
    return publicDelivery(delivery);
  });
};
