// The analytics module's public surface: what other modules use of it.
export type { AnalyticsService } from './service.ts';
export type { AccountMetricsService } from './account-metrics.ts';
export type { AnalyticsOverview } from './overview.ts';
// What the MCP tools share with the analytics routes: the query schemas and the answers they build.
export { OverviewQuery, SnapshotsQuery, overviewOf, snapshotsPage } from './insights-routes.ts';
// The range of days a figure is asked over (querystring from, to, timeZone), shared with the links module's clicks.
export { MAX_RANGE_DAYS, metricsRange } from './service.ts';
