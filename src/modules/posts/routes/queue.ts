// Posting slots and the queue over HTTP: each account's weekly slots, its queued targets, and their order.
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../../http/paging.ts';
import { auditActor } from '../../workspaces/index.ts';
import { errors } from '../../workspaces/index.ts';
import type { Target } from '../model.ts';
import { AccountParams, tags, type PostRouteKit, type PostsApp } from './common.ts';

const QueuedTarget = Type.Object({ targetId: Type.String(), postId: Type.String(), publishAt: Type.String(), text: Type.String({ description: 'What this account will publish (its own text, else the post\'s), cut to 280 characters' }) });
const queuedTarget = (r: { target: Target; text: string }) => ({
  targetId: r.target.id, postId: r.target.postId, publishAt: r.target.publishAt!.toISOString(), text: [...(r.target.variant.text ?? r.text)].slice(0, 280).join(''),
});

const QueuePage = Type.Object({ targets: Type.Array(QueuedTarget), nextCursor: NextCursor });
/** The most targets one reorder names (the whole queue). */
const REORDER_MAX = 1000;

const SlotsBody = Type.Object({
  timeZone: Type.String({ maxLength: 64, description: 'IANA zone the slot times are in' }),
  slots: Type.Array(Type.Object({ weekday: Type.Integer({ minimum: 1, maximum: 7, description: '1 = Monday' }), time: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:mm' }) }, { additionalProperties: false }), { maxItems: 200 }),
}, { additionalProperties: false });
const SlotsAnswer = Type.Object({ ...SlotsBody.properties, next: Type.Array(Type.String({ description: 'The next free slots' })) });

export function queueRoutes(app: PostsApp, k: PostRouteKit): void {
  const { d, read, write, mayScheduleDirectly } = k;
  const slotsOf = async (workspaceId: string, accountId: string) => {
    await d.accounts.get(workspaceId, accountId);
    return d.posts.queue.slots(accountId);
  };

  app.get('/accounts/:accountId/slots', {
    preHandler: read,
    schema: { tags, summary: 'The account\'s weekly posting slots and its next free ones', params: AccountParams, response: { 200: SlotsAnswer, ...errors(400, 401, 403, 404) } },
  }, async (req) => slotsOf(req.params.workspaceId, req.params.accountId));

  app.put('/accounts/:accountId/slots', {
    preHandler: write,
    schema: { tags, summary: 'Set the account\'s weekly posting slots (in its time zone)', params: AccountParams, body: SlotsBody, response: { 200: SlotsAnswer, ...errors(400, 401, 403, 404) } },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    await d.posts.queue.setSlots(req.params.workspaceId, req.params.accountId, req.body.timeZone, req.body.slots, auditActor(req));
    return slotsOf(req.params.workspaceId, req.params.accountId);
  });

  app.get('/accounts/:accountId/queue', {
    preHandler: read,
    schema: {
      tags, summary: 'The account\'s queued targets, in slot order, a page at a time', params: AccountParams,
      querystring: Type.Object(pageQuery('queued targets', 200), { additionalProperties: false }),
      response: { 200: QueuePage, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    const { items, nextCursor } = await d.posts.queue.queueOf(req.params.workspaceId, req.params.accountId, req.query);
    return { targets: items.map(queuedTarget), nextCursor };
  });

  app.put('/accounts/:accountId/queue', {
    preHandler: write,
    schema: {
      tags, summary: 'Reorder the account\'s queue: the targets keep the same slots, in the order given',
      description: `Give every queued target once (at most ${REORDER_MAX}); the answer is the queue in its new order.`,
      params: AccountParams,
      body: Type.Object({ targetIds: Type.Array(Type.String({ format: 'uuid' }), { maxItems: REORDER_MAX }) }, { additionalProperties: false }),
      response: { 200: QueuePage, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await d.accounts.get(req.params.workspaceId, req.params.accountId);
    await mayScheduleDirectly(req, req.params.workspaceId);
    await d.posts.queue.reorderQueue(req.params.workspaceId, req.params.accountId, req.body.targetIds, auditActor(req));
    // The whole queue: a reorder names every queued target, so there are at most REORDER_MAX.
    const { items, nextCursor } = await d.posts.queue.queueOf(req.params.workspaceId, req.params.accountId, { limit: REORDER_MAX });
    return { targets: items.map(queuedTarget), nextCursor };
  });
}
