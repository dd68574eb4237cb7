// Engagement figures of posts, read with posts.read: per post (each published target's latest figures
// and their series) and per account (totals, averages and a per-day series over a range of days).
// Answers come from a short cache (x-cache: hit | miss); the figures themselves are collected by the
// collect_post_metrics job on a schedule, so they are never fresher than the last collection.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { Uuid, errors } from '../workspaces/index.ts';
import { MAX_RANGE_DAYS, metricsRange, type AnalyticsService } from './service.ts';

export interface AnalyticsRouteDeps {
  analytics: AnalyticsService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  now?: () => Date;
}

const tags = ['analytics'];
const Count = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });
const FigureProps = {
  likes: Count('Likes (favourites); null when the network does not report them'),
  reposts: Count('Reposts (boosts, shares)'),
  replies: Count('Replies (comments)'),
  impressions: Count('Impressions (views)'),
};
const Point = Type.Object({ ...FigureProps, collectedAt: Type.String({ format: 'date-time' }) });

const PostMetricsSchema = Type.Object({
  postId: Type.String(),
  totals: Type.Object(FigureProps, { description: 'Latest figures summed over the published targets' }),
  targets: Type.Array(Type.Object({
    targetId: Type.String(), accountId: Type.String(), provider: Type.String(), occurrence: Type.Integer(),
    publishedAt: Type.String({ format: 'date-time' }), url: Type.Union([Type.String(), Type.Null()]),
    collection: Type.Enum(['not_offered', 'pending', 'collecting', 'done', 'stopped'], {
      description: 'not_offered: the network gives no figures; pending: none collected yet; collecting; done: past the last checkpoint; stopped: the network refused (post deleted)',
    }),
    nextCollectionAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    latest: Type.Union([Point, Type.Null()]),
    series: Type.Array(Point, { description: 'Every collection, oldest first' }),
  })),
  generatedAt: Type.String({ format: 'date-time' }),
});

const AccountMetricsSchema = Type.Object({
  accountId: Type.String(), provider: Type.String(), from: Type.String(), to: Type.String(), timeZone: Type.String(),
  posts: Type.Integer({ description: 'Posts published on this account in the range' }),
  postsWithMetrics: Type.Integer({ description: 'Of those, how many have figures' }),
  totals: Type.Object(FigureProps, { description: 'Latest figures of each post, summed' }),
  averages: Type.Object(FigureProps, { description: 'Per post that reports the figure, two decimals' }),
  days: Type.Array(Type.Object({ date: Type.String({ description: 'Day of publishing in timeZone' }), posts: Type.Integer(), ...FigureProps })),
  generatedAt: Type.String({ format: 'date-time' }),
});

export const analyticsRoutes: FastifyPluginAsyncTypebox<AnalyticsRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('posts.read')];
  const now = d.now ?? (() => new Date());

  app.get('/posts/:postId/metrics', {
    preHandler: read,
    schema: {
      tags, summary: 'Engagement figures of a post: per published target the latest figures and their series, and totals',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), postId: Uuid('Post id') }),
      response: { 200: PostMetricsSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const r = await d.analytics.forPost(req.params.workspaceId, req.params.postId);
    reply.header('x-cache', r.cached ? 'hit' : 'miss');
    return r.value;
  });

  app.get('/accounts/:accountId/metrics', {
    preHandler: read,
    schema: {
      tags, summary: 'Engagement figures of an account\'s posts published in a range of days: totals, averages per post, per day',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), accountId: Uuid('Social account id') }),
      querystring: Type.Object({
        from: Type.Optional(Type.String({ format: 'date', description: 'First day, YYYY-MM-DD (default: 29 days before to)' })),
        to: Type.Optional(Type.String({ format: 'date', description: `Last day, included (default: today in timeZone); at most ${MAX_RANGE_DAYS} days in all` })),
        timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone the days are in (default UTC)' })),
      }, { additionalProperties: false }),
      response: { 200: AccountMetricsSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const range = metricsRange(req.query, now());
    const r = await d.analytics.forAccount(req.params.workspaceId, req.params.accountId, range);
    reply.header('x-cache', r.cached ? 'hit' : 'miss');
    return r.value;
  });
};
