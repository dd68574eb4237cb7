// Analytics read with analytics.read (API keys: the read, write, admin and analytics:read scopes): an
// account's daily snapshots over a range of UTC days, keyset-paged by day, with where their collection
// stands; and the overview of a period (days in a named time zone) for a set of the workspace's accounts.
// docs/ANALYTICS.md says what each figure is and which network gives it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { Uuid, errors } from '../workspaces/index.ts';
import { Invalid } from '../../domain/errors.ts';
import { keyset } from '../../infra/db/keyset.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import { accountSnapshots } from './schema.ts';
import { ACCOUNT_METRIC_FIELDS } from '../../providers/types.ts';
import type { AccountMetricsService } from './account-metrics.ts';
import { EXTREMES, MAX_OVERVIEW_ACCOUNTS, type AnalyticsOverview } from './overview.ts';
import { PostRowSchema } from './performance-routes.ts';
import { MAX_RANGE_DAYS, metricsRange } from './service.ts';

export interface InsightsRouteDeps {
  accountMetrics: AccountMetricsService;
  overview: AnalyticsOverview;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  now?: () => Date;
}

const tags = ['analytics'];
/** The snapshots list's cursor: the last day of the page. */
export const snapshotList = keyset('account_snapshots', { day: [accountSnapshots.day, 'date'] }, 'asc');
const SNAPSHOT_DAYS_MAX = 3660;
const DAY_RE = '^\\d{4}-\\d{2}-\\d{2}$';
const UUID_LIST = '^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36})*$';

const Nullable = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const FieldEnum = Type.Enum([...ACCOUNT_METRIC_FIELDS]);
const SnapshotSchema = Type.Object({
  day: Type.String({ description: 'The UTC day the figures are for' }),
  followers: Nullable('Followers at the day\'s last collection (for a past day the network reports, at its end); null when the network does not give it'),
  following: Nullable('Accounts it follows'),
  posts: Nullable('Posts (statuses) the network counts for the account'),
  reach: Nullable('Distinct accounts that saw its content that day'),
  impressions: Nullable('Times its content was shown that day'),
  profileViews: Nullable('Views of its profile that day'),
  engagement: Nullable('Interactions with its content that day, as the network counts them'),
  collectedAt: Type.String({ format: 'date-time' }),
});
const CollectionSchema = Type.Object({
  state: Type.Enum(['collected', 'refused', 'not_offered'], { description: 'refused: the network refuses this account\'s figures until it is reconnected (reason says why); not_offered: AllIN reads none from this network' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  insightsRefused: Type.Union([Type.String(), Type.Null()], { description: 'Why the network refuses the insights (the counts still come)' }),
  fields: Type.Array(FieldEnum, { description: 'The figures this network gives; the others are always null' }),
  historyDays: Type.Integer({ description: 'Days of history read when the account was connected' }),
  lastSuccessAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  nextAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
});

const Num = Type.Union([Type.Number(), Type.Null()]);
const ChangeSchema = Type.Object({
  current: Num, previous: Num,
  change: Type.Union([Type.Number(), Type.Null()], { description: 'current − previous; null when either is unknown' }),
  changePct: Type.Union([Type.Number(), Type.Null()], { description: 'change as a percentage of previous, one decimal; null when previous is 0 or unknown' }),
});
const FigureChanges = {
  posts: ChangeSchema, likes: ChangeSchema, reposts: ChangeSchema, replies: ChangeSchema, impressions: ChangeSchema,
  engagement: Type.Object(ChangeSchema.properties, { description: 'likes + reposts + replies, as the networks report them' }),
};
const DaySums = {
  posts: Type.Integer(), likes: Num, reposts: Num, replies: Num, impressions: Num, engagement: Num,
};
const OverviewSchema = Type.Object({
  from: Type.String(), to: Type.String(), timeZone: Type.String(),
  previous: Type.Object({ from: Type.String(), to: Type.String() }, { description: 'The period of as many days just before' }),
  accounts: Type.Array(Type.Object({ accountId: Type.String(), provider: Type.String(), username: Type.String() })),
  totals: Type.Object(FigureChanges, { description: 'Posts published in the period and their latest figures, summed; null where no post reports a figure' }),
  networks: Type.Array(Type.Object({ provider: Type.String(), ...FigureChanges })),
  followers: Type.Object({
    growth: ChangeSchema,
    accounts: Type.Array(Type.Object({
      accountId: Type.String(), provider: Type.String(),
      first: Type.Union([Type.Integer(), Type.Null()], { description: 'Followers on the first UTC day of the period with a count' }),
      last: Type.Union([Type.Integer(), Type.Null()], { description: 'Followers on the last UTC day of the period with a count' }),
      growth: ChangeSchema,
    })),
  }),
  days: Type.Array(Type.Object({ date: Type.String({ description: 'Day of publishing in timeZone' }), ...DaySums })),
  byAccount: Type.Array(Type.Object({ accountId: Type.String(), provider: Type.String(), ...FigureChanges }), { description: 'Per account: its posts\' figures, against the period before' }),
  byLabel: Type.Array(Type.Object({ labelId: Type.String(), name: Type.String(), color: Type.String(), ...FigureChanges }), {
    description: 'Per label carried by a post published in either period (a post with two labels counts in both)',
  }),
  byWeekdayHour: Type.Array(Type.Object({
    weekday: Type.Integer({ description: 'ISO weekday of publishing in timeZone, 1 = Monday' }), hour: Type.Integer({ description: 'Hour of publishing in timeZone, 0-23' }), ...DaySums,
  }), { description: '7 × 24 cells; an hour a DST change skips holds nothing, one it repeats holds both' }),
  top: Type.Array(PostRowSchema, { description: `The period's ${EXTREMES} posts with the most engagement` }),
  bottom: Type.Array(PostRowSchema, { description: `The period's ${EXTREMES} posts with the least engagement, among those that report it` }),
  generatedAt: Type.String({ format: 'date-time' }),
});

export const SnapshotsQuery = Type.Object({
  from: Type.Optional(Type.String({ pattern: DAY_RE, description: 'First UTC day, YYYY-MM-DD (default: 29 days before to)' })),
  to: Type.Optional(Type.String({ pattern: DAY_RE, description: `Last UTC day, included (default: today); at most ${SNAPSHOT_DAYS_MAX} days in all` })),
  ...pageQuery('days', 366, 100),
}, { additionalProperties: false });

export const OverviewQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date', description: 'First day, YYYY-MM-DD (default: 29 days before to)' })),
  to: Type.Optional(Type.String({ format: 'date', description: `Last day, included (default: today in timeZone); at most ${MAX_RANGE_DAYS} days in all` })),
  timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone the days are in (default UTC); follower counts are per UTC day' })),
  accounts: Type.Optional(Type.String({ pattern: UUID_LIST, maxLength: 37 * MAX_OVERVIEW_ACCOUNTS, description: `Account ids, comma-separated, at most ${MAX_OVERVIEW_ACCOUNTS} (default: every account of the workspace)` })),
}, { additionalProperties: false });

/** One page of an account's daily snapshots with where their collection stands (the route's answer, and the MCP tool's). */
export async function snapshotsPage(accountMetrics: AccountMetricsService, workspaceId: string, accountIdIn: string, query: Static<typeof SnapshotsQuery>, now: Date) {
  const range = metricsRange({ ...(query.from ? { from: query.from } : {}), ...(query.to ? { to: query.to } : {}), timeZone: 'UTC' }, now, SNAPSHOT_DAYS_MAX);
  const after = query.cursor ? snapshotList.decode(query.cursor).day : undefined;
  const status = await accountMetrics.status(workspaceId, accountIdIn);
  const page = await accountMetrics.snapshots(workspaceId, accountIdIn, { from: range.from, to: range.to, limit: query.limit, ...(after ? { after } : {}) });
  const { accountId, provider, ...collection } = status;
  return { accountId, provider, collection, items: page.items, nextCursor: page.nextAfter ? snapshotList.cursorOf([page.nextAfter]) : null };
}

/** The overview of a period for some (or all) of a workspace's accounts (the route's answer, and the MCP tool's). */
export async function overviewOf(overview: AnalyticsOverview, workspaceId: string, query: Static<typeof OverviewQuery>, now: Date) {
  const range = metricsRange(query, now);
  const ids = query.accounts?.toLowerCase().split(',');
  if (ids && ids.length > MAX_OVERVIEW_ACCOUNTS) throw new Invalid('VALIDATION_FAILED', `At most ${MAX_OVERVIEW_ACCOUNTS} accounts in one overview; ask for fewer.`, [{ field: 'querystring.accounts', message: 'too many' }]);
  return overview.overview(workspaceId, range, ids);
}

export const insightsRoutes: FastifyPluginAsyncTypebox<InsightsRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('analytics.read')];
  const now = d.now ?? (() => new Date());

  app.get('/accounts/:accountId/snapshots', {
    preHandler: read,
    schema: {
      tags, summary: 'An account\'s daily figures (followers, following, posts and the insights its network gives) over a range of UTC days, oldest first',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), accountId: Uuid('Social account id') }),
      querystring: SnapshotsQuery,
      response: { 200: Type.Object({ accountId: Type.String(), provider: Type.String(), collection: CollectionSchema, items: Type.Array(SnapshotSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => snapshotsPage(d.accountMetrics, req.params.workspaceId, req.params.accountId, req.query, now()));

  app.get('/analytics/overview', {
    preHandler: read,
    schema: {
      tags, summary: 'A period\'s posts, their figures per network and per day, and follower growth, each against the period before',
      params: Type.Object({ workspaceId: Uuid('Workspace id') }),
      querystring: OverviewQuery,
      response: { 200: OverviewSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => overviewOf(d.overview, req.params.workspaceId, req.query, now()));
};
