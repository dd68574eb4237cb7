// Labels, post performance, best times and CSV exports over HTTP. Reads take analytics.read (API keys:
// read, write, admin or analytics:read); creating, changing and deleting labels and putting them on posts
// take posts.write. Every label, post and account named is checked to be the workspace's own (404).
// docs/ANALYTICS.md says what each figure is; the CSV is RFC 4180 and formula-safe (src/infra/csv.ts).
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { Uuid, errors } from '../workspaces/index.ts';
import { Invalid } from '../../domain/errors.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import { csvStream, type CsvCell } from '../../infra/csv.ts';
import type { LabelService } from './labels.ts';
import { MAX_POST_LABELS } from './labels.ts';
import { POST_SORTS, type PostPerformance, type PostRow, type PostSort, type SortOrder } from './performance.ts';
import { DEFAULT_WEEKS, MAX_WEEKS, type BestTimesService } from './best-times.ts';
import { MAX_OVERVIEW_ACCOUNTS, type AnalyticsOverview, type Change } from './overview.ts';
import { MAX_RANGE_DAYS, metricsRange } from './service.ts';

export interface PerformanceRouteDeps {
  labels: LabelService;
  performance: PostPerformance;
  bestTimes: BestTimesService;
  overview: AnalyticsOverview;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  now?: () => Date;
}

const tags = ['analytics'];
const UUID_LIST = '^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36})*$';
const Num = Type.Union([Type.Number(), Type.Null()]);
const Ws = Uuid('Workspace id');

const LabelSchema = Type.Object({
  id: Type.String(), name: Type.String(), color: Type.String({ description: '#rrggbb' }),
  createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
});
const LabelName = Type.String({ minLength: 1, maxLength: 60, description: 'Label name: 1 to 60 characters, unique in the workspace whatever its case' });
const LabelColor = Type.String({ minLength: 7, maxLength: 7, description: 'Colour, #rrggbb' });

const Figures = {
  likes: Num, reposts: Num, replies: Num, impressions: Num,
  engagement: Type.Union([Type.Number(), Type.Null()], { description: 'likes + reposts + replies as reported; null when none is' }),
  engagementRate: Type.Union([Type.Number(), Type.Null()], { description: 'engagement ÷ impressions (0.0123 = 1.23 %); null where the network gives no impressions' }),
};
export const PostRowSchema = Type.Object({
  targetId: Type.String(), postId: Type.String(), accountId: Type.String(), provider: Type.String(), username: Type.String(),
  publishedAt: Type.String({ format: 'date-time' }),
  collectedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the latest figures were collected; null before the first collection' }),
  url: Type.Union([Type.String(), Type.Null()]), text: Type.String({ description: 'The text published, at most 280 characters' }),
  labels: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  ...Figures,
});

const PeriodQuery = {
  from: Type.Optional(Type.String({ format: 'date', description: 'First day of publishing, YYYY-MM-DD (default: 29 days before to)' })),
  to: Type.Optional(Type.String({ format: 'date', description: `Last day, included (default: today in timeZone); at most ${MAX_RANGE_DAYS} days in all` })),
  timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone the days are in (default UTC)' })),
  accounts: Type.Optional(Type.String({ pattern: UUID_LIST, maxLength: 37 * MAX_OVERVIEW_ACCOUNTS, description: `Account ids, comma-separated, at most ${MAX_OVERVIEW_ACCOUNTS} (default: every account)` })),
};
const TableQuery = {
  from: PeriodQuery.from, to: PeriodQuery.to, timeZone: PeriodQuery.timeZone,
  account: Type.Optional(Uuid('Only this account\'s posts')),
  label: Type.Optional(Uuid('Only posts carrying this label')),
  sort: Type.Optional(Type.Enum([...POST_SORTS], { description: 'Sort key (default publishedAt); a post without the figure sorts lowest' })),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { description: 'default desc' })),
};

const OVERVIEW_TABLES = ['totals', 'networks', 'accounts', 'labels', 'days', 'hours', 'top', 'bottom'] as const;
type OverviewTable = (typeof OVERVIEW_TABLES)[number];

const csvResponse = { description: 'CSV (RFC 4180, CRLF line ends, a header row; text cells starting with = + - @, tab or CR are prefixed with \')', content: { 'text/csv': { schema: Type.String() } } };

/** The schema documents the CSV text; Fastify sends the stream that makes it as it is read. */
const asBody = (stream: Readable) => stream as unknown as string;

function idsOf(list: string | undefined): string[] | undefined {
  if (!list) return undefined;
  const ids = [...new Set(list.toLowerCase().split(','))];
  if (ids.length > MAX_OVERVIEW_ACCOUNTS) throw new Invalid('VALIDATION_FAILED', `At most ${MAX_OVERVIEW_ACCOUNTS} accounts; ask for fewer.`, [{ field: 'querystring.accounts', message: 'too many' }]);
  return ids;
}

const POST_COLUMNS = ['publishedAt', 'provider', 'username', 'accountId', 'postId', 'targetId', 'url', 'text', 'labels', 'likes', 'reposts', 'replies', 'impressions', 'engagement', 'engagementRate', 'collectedAt'];
const postCells = (r: PostRow): CsvCell[] => [r.publishedAt, r.provider, r.username, r.accountId, r.postId, r.targetId, r.url, r.text, r.labels.map((l) => l.name).join('; '),
  r.likes, r.reposts, r.replies, r.impressions, r.engagement, r.engagementRate, r.collectedAt];
const FIGURE_NAMES = ['posts', 'likes', 'reposts', 'replies', 'impressions', 'engagement'] as const;
const changeCells = (row: Record<string, unknown>): CsvCell[] => FIGURE_NAMES.flatMap((k) => {
  const c = row[k] as Change;
  return [c.current, c.previous, c.change, c.changePct];
});
const changeHeader = FIGURE_NAMES.flatMap((k) => [k, `${k}Previous`, `${k}Change`, `${k}ChangePct`]);

export const performanceRoutes: FastifyPluginAsyncTypebox<PerformanceRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('analytics.read')];
  const write = [d.guards.any, d.workspaceAccess('posts.write')];
  const now = d.now ?? (() => new Date());
  const LabelParams = Type.Object({ workspaceId: Ws, labelId: Uuid('Label id') });
  const PostParams = Type.Object({ workspaceId: Ws, postId: Uuid('Post id') });

  // ---------- labels ----------

  app.get('/labels', {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s labels (campaigns, tags), by name, a page at a time', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...pageQuery('labels', 200, 100) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(LabelSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.labels.list(req.params.workspaceId, req.query));

  app.post('/labels', {
    preHandler: write,
    schema: {
      tags, summary: 'Create a label', params: Type.Object({ workspaceId: Ws }),
      body: Type.Object({ name: LabelName, color: LabelColor }, { additionalProperties: false }),
      response: { 201: LabelSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    reply.status(201);
    return d.labels.create(req.params.workspaceId, req.body);
  });

  app.patch('/labels/:labelId', {
    preHandler: write,
    schema: {
      tags, summary: 'Rename or recolour a label', params: LabelParams,
      body: Type.Object({ name: Type.Optional(LabelName), color: Type.Optional(LabelColor) }, { additionalProperties: false }),
      response: { 200: LabelSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => d.labels.update(req.params.workspaceId, req.params.labelId, req.body));

  app.delete('/labels/:labelId', {
    preHandler: write,
    schema: { tags, summary: 'Delete a label (the posts that carried it keep their other labels)', params: LabelParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await d.labels.remove(req.params.workspaceId, req.params.labelId);
    reply.status(204);
    return null;
  });

  app.get('/posts/:postId/labels', {
    preHandler: read,
    schema: { tags, summary: 'The labels a post carries', params: PostParams, response: { 200: Type.Object({ items: Type.Array(LabelSchema) }), ...errors(400, 401, 403, 404) } },
  }, async (req) => ({ items: await d.labels.ofPost(req.params.workspaceId, req.params.postId) }));

  app.put('/posts/:postId/labels', {
    preHandler: write,
    schema: {
      tags, summary: 'Set the labels a post carries (replacing those it had)', params: PostParams,
      body: Type.Object({ labelIds: Type.Array(Uuid('Label id'), { maxItems: MAX_POST_LABELS, description: `At most ${MAX_POST_LABELS}; an empty list removes them all` }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(LabelSchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => ({ items: await d.labels.setForPost(req.params.workspaceId, req.params.postId, req.body.labelIds) }));

  // ---------- post performance ----------

  const tableQuery = (q: { from?: string | undefined; to?: string | undefined; timeZone?: string | undefined; account?: string | undefined; label?: string | undefined; sort?: PostSort | undefined; order?: SortOrder | undefined }) => ({
    range: metricsRange(q, now()), accountId: q.account?.toLowerCase(), labelId: q.label?.toLowerCase(), sort: q.sort ?? 'publishedAt', order: q.order ?? 'desc',
  });

  app.get('/analytics/posts', {
    preHandler: read,
    schema: {
      tags, summary: 'The post table: each published target of a period with its latest figures, sorted and a page at a time',
      params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...TableQuery, ...pageQuery('posts', 200, 50) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(PostRowSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.performance.table(req.params.workspaceId, tableQuery(req.query), { limit: req.query.limit, cursor: req.query.cursor }));

  app.get('/analytics/posts.csv', {
    preHandler: read,
    schema: {
      tags, summary: 'The post table of a period as CSV, every row, streamed', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object(TableQuery, { additionalProperties: false }),
      response: { 200: csvResponse, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const q = tableQuery(req.query);
    // Checked before the first byte: a refusal is still a 404, not a broken download.
    await d.performance.assertQuery(req.params.workspaceId, q);
    const rows = d.performance.allRows(req.params.workspaceId, q);
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="posts-${q.range.from}-${q.range.to}.csv"`);
    return reply.send(asBody(csvStream(POST_COLUMNS, (async function* () {
      for await (const r of rows) yield postCells(r);
    })())));
  });

  app.get('/analytics/posts/:postId', {
    preHandler: read,
    schema: {
      tags, summary: 'A post\'s performance per target: latest figures, growth curve, and against its account\'s median', params: PostParams,
      response: {
        200: Type.Object({
          postId: Type.String(), labels: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
          targets: Type.Array(Type.Object({
            targetId: Type.String(), accountId: Type.String(), provider: Type.String(), publishedAt: Type.String({ format: 'date-time' }),
            collectedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
            latest: Type.Object(Figures),
            curve: Type.Array(Type.Object({
              collectedAt: Type.String({ format: 'date-time' }), ageHours: Type.Number({ description: 'Hours after publishing' }),
              likes: Num, reposts: Num, replies: Num, impressions: Num, engagement: Num,
            }), { description: 'Every collection, oldest first' }),
            accountMedian: Type.Object({
              windowDays: Type.Integer({ description: 'The account\'s posts published in these days before this one make the median' }),
              posts: Type.Integer({ description: 'How many of them report engagement' }),
              engagement: Num, engagementRate: Num,
              engagementRatio: Type.Union([Type.Number(), Type.Null()], { description: 'engagement ÷ the median; null when either is unknown or the median is 0' }),
              engagementDiff: Type.Union([Type.Number(), Type.Null()], { description: 'engagement − the median' }),
            }),
          })),
        }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => d.performance.forPost(req.params.workspaceId, req.params.postId));

  // ---------- best times ----------

  app.get('/analytics/accounts/:accountId/best-times', {
    preHandler: read,
    schema: {
      tags, summary: 'Engagement per post by weekday and hour of publishing, in the account\'s time zone, with counts and 95 % intervals; "not enough data" below the minimum',
      params: Type.Object({ workspaceId: Ws, accountId: Uuid('Social account id') }),
      querystring: Type.Object({
        weeks: Type.Integer({ minimum: 1, maximum: MAX_WEEKS, default: DEFAULT_WEEKS, description: `Weeks of history (default ${DEFAULT_WEEKS})` }),
        timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone (default: the account\'s posting schedule\'s, else UTC)' })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          accountId: Type.String(), provider: Type.String(), timeZone: Type.String(),
          timeZoneSource: Type.Enum(['asked', 'posting_schedule', 'default_utc']),
          from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }),
          rule: Type.Object({ minPosts: Type.Integer(), minCellPosts: Type.Integer(), minAgeDays: Type.Integer() }, { description: 'How much data is enough (docs/ANALYTICS.md)' }),
          posts: Type.Integer({ description: 'Posts with figures in the window' }),
          enough: Type.Boolean(),
          needed: Type.Integer({ description: 'More posts with figures needed before the heatmap is shown (0 when enough)' }),
          mean: Num,
          cells: Type.Union([Type.Array(Type.Object({
            weekday: Type.Integer({ description: 'ISO weekday, 1 = Monday' }), hour: Type.Integer(), posts: Type.Integer(),
            mean: Num, low: Num, high: Num, index: Type.Union([Type.Number(), Type.Null()], { description: 'mean ÷ the account\'s mean' }),
          })), Type.Null()], { description: '7 × 24 cells; null when there is not enough data' }),
        }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => d.bestTimes.heatmap(req.params.workspaceId, req.params.accountId, req.query));

  // ---------- overview tables as CSV ----------

  app.get('/analytics/overview.csv', {
    preHandler: read,
    schema: {
      tags, summary: 'One table of the overview as CSV', params: Type.Object({ workspaceId: Ws }),
      querystring: Type.Object({ ...PeriodQuery, table: Type.Enum([...OVERVIEW_TABLES], { description: 'Which table' }) }, { additionalProperties: false }),
      response: { 200: csvResponse, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const range = metricsRange(req.query, now());
    const o = await d.overview.overview(req.params.workspaceId, range, idsOf(req.query.accounts));
    const table: OverviewTable = req.query.table;
    const sumsCells = (r: Record<string, unknown>) => FIGURE_NAMES.map((k) => r[k] as CsvCell);
    const [header, rows]: [string[], CsvCell[][]] = (() => {
      switch (table) {
        case 'totals': return [['from', 'to', ...changeHeader], [[o.from, o.to, ...changeCells(o.totals)]]];
        case 'networks': return [['provider', ...changeHeader], o.networks.map((r) => [r.provider, ...changeCells(r)])];
        case 'accounts': return [['accountId', 'provider', 'username', ...changeHeader, 'followersFirst', 'followersLast', 'followerGrowth', 'followerGrowthPrevious'],
          o.byAccount.map((r) => {
            const a = o.accounts.find((x) => x.accountId === r.accountId);
            const f = o.followers.accounts.find((x) => x.accountId === r.accountId);
            return [r.accountId, r.provider, a?.username, ...changeCells(r), f?.first, f?.last, f?.growth.current, f?.growth.previous];
          })];
        case 'labels': return [['labelId', 'name', ...changeHeader], o.byLabel.map((r) => [r.labelId, r.name, ...changeCells(r)])];
        case 'days': return [['date', ...FIGURE_NAMES], o.days.map((r) => [r.date, ...sumsCells(r)])];
        case 'hours': return [['weekday', 'hour', ...FIGURE_NAMES], o.byWeekdayHour.map((r) => [r.weekday, r.hour, ...sumsCells(r)])];
        case 'top': return [POST_COLUMNS, o.top.map(postCells)];
        case 'bottom': return [POST_COLUMNS, o.bottom.map(postCells)];
      }
    })();
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="overview-${table}-${o.from}-${o.to}.csv"`);
    return reply.send(asBody(csvStream(header, rows)));
  });
};
