// The report of a period as a self-contained HTML page or a PDF, read with analytics.read (API keys: read,
// write, admin or analytics:read). Days are in the time zone asked for, else the workspace's. The figures are
// the overview's (docs/ANALYTICS.md, Reports). Scheduled reports are listed with analytics.read and created,
// changed and deleted with analytics.manage (owners and admins; API keys with the admin scope).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthGuards } from '../auth/index.ts';
import type { WorkspaceAccessFactory } from '../workspaces/index.ts';
import { Uuid, errors } from '../workspaces/index.ts';
import { NextCursor, pageQuery } from '../../http/paging.ts';
import { CADENCES, MAX_RECIPIENTS, type ScheduledReports } from './scheduled-reports.ts';
import { Invalid } from '../../domain/errors.ts';
import { MAX_OVERVIEW_ACCOUNTS } from './overview.ts';
import { reportFileName, reportHtml, type AnalyticsReports } from './report.ts';
import { reportPdf } from './report-pdf.ts';
import { MAX_RANGE_DAYS } from './service.ts';

export interface ReportRouteDeps {
  reports: AnalyticsReports;
  scheduled: ScheduledReports;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  now?: () => Date;
}

const tags = ['analytics'];
const UUID_LIST = '^[0-9a-fA-F-]{36}(,[0-9a-fA-F-]{36})*$';
const ReportQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date', description: 'First day, YYYY-MM-DD (default: 29 days before to)' })),
  to: Type.Optional(Type.String({ format: 'date', description: `Last day, included (default: today in timeZone); at most ${MAX_RANGE_DAYS} days in all` })),
  timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone the days are in (default: the workspace\'s time zone)' })),
  accounts: Type.Optional(Type.String({ pattern: UUID_LIST, maxLength: 37 * MAX_OVERVIEW_ACCOUNTS, description: `Account ids, comma-separated, at most ${MAX_OVERVIEW_ACCOUNTS} (default: every account)` })),
}, { additionalProperties: false });

function idsOf(list: string | undefined): string[] | undefined {
  if (!list) return undefined;
  const ids = [...new Set(list.toLowerCase().split(','))];
  if (ids.length > MAX_OVERVIEW_ACCOUNTS) throw new Invalid('VALIDATION_FAILED', `At most ${MAX_OVERVIEW_ACCOUNTS} accounts; ask for fewer.`, [{ field: 'querystring.accounts', message: 'too many' }]);
  return ids;
}

// The page loads nothing: no script, no outside style, font or image.
const PAGE_CSP = 'default-src \'none\'; style-src \'unsafe-inline\'; frame-ancestors \'none\'';

export const reportRoutes: FastifyPluginAsyncTypebox<ReportRouteDeps> = async (app, d) => {
  const read = [d.guards.any, d.workspaceAccess('analytics.read')];
  const now = d.now ?? (() => new Date());
  const params = Type.Object({ workspaceId: Uuid('Workspace id') });

  app.get('/analytics/report.html', {
    preHandler: read,
    schema: {
      tags, summary: 'The report of a period as one self-contained HTML page: the overview\'s figures against the period before, engagement per day, by network, followers and top posts, each chart with its numbers',
      params, querystring: ReportQuery,
      response: { 200: { description: 'HTML with inline CSS and SVG; it makes no request', content: { 'text/html': { schema: Type.String() } } }, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const r = await d.reports.build(req.params.workspaceId, { ...req.query, accounts: idsOf(req.query.accounts) }, now());
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
      .header('content-disposition', `inline; filename="${reportFileName(r.overview, 'html')}"`);
    return reportHtml(r);
  });

  app.get('/analytics/report.pdf', {
    preHandler: read,
    schema: {
      tags, summary: 'The same report as a PDF',
      params, querystring: ReportQuery,
      response: { 200: { description: 'PDF (A4)', content: { 'application/pdf': { schema: Type.String({ format: 'binary' }) } } }, ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const r = await d.reports.build(req.params.workspaceId, { ...req.query, accounts: idsOf(req.query.accounts) }, now());
    const pdf = await reportPdf(r);
    reply.type('application/pdf').header('content-disposition', `attachment; filename="${reportFileName(r.overview, 'pdf')}"`);
    return reply.send(pdf as unknown as string);
  });

  // ---------- scheduled reports ----------

  const manage = [d.guards.any, d.workspaceAccess('analytics.manage')];
  const Email = Type.String({ format: 'email', maxLength: 254 });
  const Recipients = Type.Array(Email, { minItems: 1, maxItems: MAX_RECIPIENTS, description: `Addresses the report is mailed to, 1 to ${MAX_RECIPIENTS}` });
  const Cadence = Type.Enum([...CADENCES], { description: 'weekly: each ISO week (Monday to Sunday), mailed on the Monday after; monthly: each calendar month, mailed on the 1st after (in timeZone)' });
  const Zone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone of the period\'s days (default: the workspace\'s)' });
  const Accounts = Type.Union([Type.Array(Uuid('Account id'), { minItems: 1, maxItems: MAX_OVERVIEW_ACCOUNTS }), Type.Null()], { description: 'The accounts reported on; null: every account of the workspace' });
  const ScheduleSchema = Type.Object({
    id: Type.String(), cadence: Cadence, timeZone: Type.String(), recipients: Type.Array(Type.String()), accounts: Type.Union([Type.Array(Type.String()), Type.Null()]),
    lastMailed: Type.Union([Type.Object({ from: Type.String(), to: Type.String(), mailedAt: Type.String({ format: 'date-time' }) }), Type.Null()], { description: 'The last period mailed' }),
    createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
  });
  const One = Type.Object({ workspaceId: Uuid('Workspace id'), scheduleId: Uuid('Scheduled report id') });

  app.get('/analytics/report-schedules', {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s scheduled reports, oldest first, a page at a time', params,
      querystring: Type.Object({ ...pageQuery('scheduled reports', 200, 50) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ScheduleSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.scheduled.list(req.params.workspaceId, req.query));

  app.post('/analytics/report-schedules', {
    preHandler: manage,
    schema: {
      tags, summary: 'Mail the report of each week or month to chosen addresses (the HTML in the mail, the PDF attached)', params,
      body: Type.Object({ cadence: Cadence, recipients: Recipients, timeZone: Type.Optional(Zone), accounts: Type.Optional(Accounts) }, { additionalProperties: false }),
      response: { 201: ScheduleSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    reply.status(201);
    return d.scheduled.create(req.params.workspaceId, req.body);
  });

  app.get('/analytics/report-schedules/:scheduleId', {
    preHandler: read,
    schema: { tags, summary: 'A scheduled report', params: One, response: { 200: ScheduleSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => d.scheduled.get(req.params.workspaceId, req.params.scheduleId));

  app.patch('/analytics/report-schedules/:scheduleId', {
    preHandler: manage,
    schema: {
      tags, summary: 'Change a scheduled report', params: One,
      body: Type.Object({ cadence: Type.Optional(Cadence), recipients: Type.Optional(Recipients), timeZone: Type.Optional(Zone), accounts: Type.Optional(Accounts) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: ScheduleSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => d.scheduled.update(req.params.workspaceId, req.params.scheduleId, req.body));

  app.delete('/analytics/report-schedules/:scheduleId', {
    preHandler: manage,
    schema: { tags, summary: 'Delete a scheduled report', params: One, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await d.scheduled.remove(req.params.workspaceId, req.params.scheduleId);
    reply.status(204);
    return null;
  });
};
