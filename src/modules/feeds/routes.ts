// /api/workspaces/:workspaceId/feeds: RSS, Atom and JSON Feed sources whose new items become drafts or
// queued posts (docs/FEEDS.md). Reading needs posts.read; adding, changing, fetching and deleting posts.write.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { DateTime, NullableDateTime, Uuid, auditActor, errors, iso, isoOrNull, lowerCaseIds } from '../workspaces/index.ts';
import { DEFAULT_INTERVAL_MINUTES, MAX_FEED_ACCOUNTS, MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, type Feed, type FeedItemRow, type FeedService } from './service.ts';
import { DEFAULT_TEMPLATE, TEMPLATE_MAX, TEMPLATE_VARIABLES } from './template.ts';

export interface FeedRouteDeps {
  feeds: FeedService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

const tags = ['feeds'];
const Ws = Uuid('Workspace id');
const FeedParams = Type.Object({ workspaceId: Ws, feedId: Uuid('Feed id') });
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);

const Mode = Type.Union([Type.Literal('draft'), Type.Literal('queue')], {
  description: 'draft: each new item becomes a draft to review; queue: a post in each account\'s next free queue slot (submitted for approval instead when the workspace requires approval and the feed\'s creator may not approve)',
});
const AccountIds = Type.Array(Uuid('Social account id'), { minItems: 1, maxItems: MAX_FEED_ACCOUNTS, description: `The accounts the posts go to (1 to ${MAX_FEED_ACCOUNTS})` });
const Template = Type.String({
  minLength: 1, maxLength: TEMPLATE_MAX,
  description: `The post's text; ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')} are replaced by the item's. Default: ${JSON.stringify(DEFAULT_TEMPLATE)}`,
});
const Interval = Type.Integer({ minimum: MIN_INTERVAL_MINUTES, maximum: MAX_INTERVAL_MINUTES, description: `Minutes between fetches (${MIN_INTERVAL_MINUTES}-${MAX_INTERVAL_MINUTES}, default ${DEFAULT_INTERVAL_MINUTES})` });

const FeedSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  title: Nullable(Type.String({ description: 'The title the feed gives itself' })),
  mode: Mode,
  accountIds: Type.Array(Type.String({ format: 'uuid' })),
  template: Type.String(),
  intervalMinutes: Type.Integer(),
  paused: Type.Boolean(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('paused')], { description: 'failing: the last fetch could not read the feed (lastError says why); it is fetched again later, waiting longer after each failure' }),
  lastError: Nullable(Type.String()),
  errorCount: Type.Integer({ description: 'Failed fetches in a row' }),
  lastFetchedAt: NullableDateTime,
  lastSuccessAt: NullableDateTime,
  nextFetchAt: DateTime,
  createdBy: Nullable(Type.String({ description: 'User id; the posts it makes are theirs' })),
  createdAt: DateTime,
});

const publicFeed = (f: Feed) => ({
  id: f.id, url: f.url, title: f.title, mode: f.mode, accountIds: f.accountIds, template: f.template, intervalMinutes: f.intervalMinutes,
  paused: f.pausedAt !== null, status: f.pausedAt ? 'paused' as const : f.lastError ? 'failing' as const : 'ok' as const,
  lastError: f.lastError, errorCount: f.errorCount, lastFetchedAt: isoOrNull(f.lastFetchedAt), lastSuccessAt: isoOrNull(f.lastSuccessAt),
  nextFetchAt: iso(f.nextFetchAt), createdBy: f.createdBy, createdAt: iso(f.createdAt),
});

const ItemSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String({ description: 'The item\'s id in the feed (guid, Atom id, JSON Feed id), else its link' }),
  link: Nullable(Type.String()),
  title: Nullable(Type.String()),
  publishedAt: NullableDateTime,
  state: Type.Union([Type.Literal('seen'), Type.Literal('draft'), Type.Literal('scheduled'), Type.Literal('submitted'), Type.Literal('failed')], {
    description: 'seen: in the feed when it was added, not posted; draft, scheduled (queued) or submitted (for approval): the post made of it; failed: no post could be made (reason)',
  }),
  postId: Nullable(Type.String({ format: 'uuid', description: 'null when no post was made, or it was deleted since' })),
  reason: Nullable(Type.String({ description: 'Why it is a draft instead of queued, or why it failed' })),
  createdAt: DateTime,
});
const publicItem = (i: FeedItemRow) => ({
  id: i.id, key: i.key, link: i.link, title: i.title, publishedAt: isoOrNull(i.publishedAt), state: i.state, postId: i.postId, reason: i.reason, createdAt: iso(i.createdAt),
});

export const feedRoutes: FastifyPluginAsyncTypebox<FeedRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('posts.read')];
  const write = [d.guards.any, d.workspaceAccess('posts.write')];
  app.addHook('preHandler', lowerCaseIds);

  app.get('/feeds', {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s feeds, newest first', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...pageQuery('feeds', 100) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(FeedSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const page = await d.feeds.list(req.params.workspaceId, req.query);
    return { items: page.items.map(publicFeed), nextCursor: page.nextCursor };
  });

  app.post('/feeds', {
    preHandler: write,
    schema: {
      tags, summary: 'Add a feed: it is read once at once (an address that gives no feed is refused with the reason); the items it holds now are remembered, later ones become posts',
      params: Type.Object({ workspaceId: Ws }),
      body: Type.Object({
        url: Type.String({ minLength: 1, maxLength: 2000, description: 'The feed\'s address (RSS, Atom or JSON Feed), http or https' }),
        mode: Mode, accountIds: AccountIds, template: Type.Optional(Template), intervalMinutes: Type.Optional(Interval),
      }, { additionalProperties: false }),
      response: { 201: FeedSchema, ...errors(400, 401, 403, 404, 409, 422) },
    },
  }, async (req, reply) => {
    const caller = req.caller!;
    const feed = await d.feeds.create(req.params.workspaceId, caller.kind === 'user' ? caller.userId : caller.createdBy, req.body, auditActor(req));
    reply.status(201);
    return publicFeed(feed);
  });

  app.get('/feeds/:feedId', {
    preHandler: read,
    schema: { tags, summary: 'One feed, with its state', params: FeedParams, response: { 200: FeedSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => publicFeed(await d.feeds.get(req.params.workspaceId, req.params.feedId)));

  app.patch('/feeds/:feedId', {
    preHandler: write,
    schema: {
      tags, summary: 'Change a feed\'s rule, template or interval, or pause and resume it', params: FeedParams,
      body: Type.Object({
        mode: Type.Optional(Mode), accountIds: Type.Optional(AccountIds), template: Type.Optional(Template), intervalMinutes: Type.Optional(Interval),
        paused: Type.Optional(Type.Boolean({ description: 'true: not fetched until resumed' })),
      }, { additionalProperties: false }),
      response: { 200: FeedSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => publicFeed(await d.feeds.update(req.params.workspaceId, req.params.feedId, req.body, auditActor(req))));

  app.delete('/feeds/:feedId', {
    preHandler: write,
    schema: { tags, summary: 'Delete a feed (the posts it made stay)', params: FeedParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await d.feeds.remove(req.params.workspaceId, req.params.feedId, auditActor(req));
    reply.status(204);
  });

  app.post('/feeds/:feedId/fetch', {
    preHandler: write,
    schema: {
      tags, summary: 'Fetch the feed now: its new items become posts by its rule; a feed that cannot be read says why in lastError',
      params: FeedParams,
      response: { 200: Type.Object({ feed: FeedSchema, made: Type.Array(ItemSchema, { description: 'The items of this fetch that became posts (or failed to)' }) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const r = await d.feeds.fetchNow(req.params.workspaceId, req.params.feedId);
    return { feed: publicFeed(r.feed), made: r.made.map(publicItem) };
  });

  app.get('/feeds/:feedId/items', {
    preHandler: read,
    schema: {
      tags, summary: 'What the feed has shown and what became of each item, newest first', params: FeedParams,
      querystring: Type.Object({ ...pageQuery('items', 200) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ItemSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const page = await d.feeds.items(req.params.workspaceId, req.params.feedId, req.query);
    return { items: page.items.map(publicItem), nextCursor: page.nextCursor };
  });
};
