// Scheduled reports: per workspace, the report (report.ts) of the last complete week (Monday to Sunday) or
// calendar month in the schedule's time zone, mailed to chosen addresses with the page as the mail's HTML
// and the PDF attached. The send_scheduled_reports job (hourly) mails each due period exactly once: the
// period's row in analytics_report_deliveries is inserted in the same transaction as its mails in the outbox,
// so a second worker, a retry or a restart finds the row and sends nothing (its insert does nothing).
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { Logger } from '../../infra/logger.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { assertZone } from '../../shared/time.ts';
import { queueMail, templates } from '../mail/index.ts';
import type { WorkspaceService } from '../workspaces/index.ts';
import { MAX_OVERVIEW_ACCOUNTS } from './overview.ts';
import { reportFileName, reportHtml, type AnalyticsReports } from './report.ts';
import { reportPdf } from './report-pdf.ts';
import { reportSchedules } from './schema.ts';

export const SEND_REPORTS_TASK = 'send_scheduled_reports';
export const CADENCES = ['weekly', 'monthly'] as const;
export type Cadence = (typeof CADENCES)[number];
export const MAX_RECIPIENTS = 20;
export const MAX_SCHEDULES = 50;

export interface ReportSchedule {
  id: string;
  cadence: Cadence;
  timeZone: string;
  recipients: string[];
  /** null: every account of the workspace at the time of each report. */
  accounts: string[] | null;
  lastMailed: { from: string; to: string; mailedAt: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface ScheduleInput {
  cadence?: Cadence | undefined;
  timeZone?: string | undefined;
  recipients?: string[] | undefined;
  accounts?: string[] | null | undefined;
}

export const scheduleList = keyset('report_schedules', { createdAt: [reportSchedules.createdAt, 'time'], id: [reportSchedules.id, 'uuid'] }, 'asc');

const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

function cleanRecipients(list: string[]): string[] {
  const out = [...new Set(list.map((r) => r.trim().toLowerCase()))];
  if (out.length === 0) throw new Invalid('VALIDATION_FAILED', 'body.recipients: give at least one address to mail the report to.', [{ field: 'body.recipients', message: 'empty' }]);
  if (out.length > MAX_RECIPIENTS) throw new Invalid('VALIDATION_FAILED', `body.recipients: at most ${MAX_RECIPIENTS} addresses.`, [{ field: 'body.recipients', message: 'too many' }]);
  const bad = out.find((r) => !EMAIL.test(r) || r.length > 254);
  if (bad !== undefined) throw new Invalid('VALIDATION_FAILED', `body.recipients: "${bad}" is not an email address.`, [{ field: 'body.recipients', message: 'not an email address' }]);
  return out;
}

export class ScheduledReports {
  constructor(private readonly d: { db: Db; reports: AnalyticsReports; workspaces: Pick<WorkspaceService, 'get'>; log: Logger }) {}

  private async present(row: typeof reportSchedules.$inferSelect): Promise<ReportSchedule> {
    const last = (await this.d.db.execute<{ from: string; to: string; mailed_at: Date }>(sql`
      select period_from::text as from, period_to::text as to, mailed_at from analytics_report_deliveries
      where schedule_id = ${row.id} order by period_from desc limit 1`)).rows[0];
    return {
      id: row.id, cadence: row.cadence, timeZone: row.timeZone, recipients: row.recipients, accounts: row.accountIds ?? null,
      lastMailed: last ? { from: last.from, to: last.to, mailedAt: new Date(last.mailed_at).toISOString() } : null,
      createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString(),
    };
  }

  private async checkAccounts(workspaceId: string, ids: string[] | null | undefined): Promise<string[] | null | undefined> {
    if (!ids) return ids;
    const list = [...new Set(ids.map((id) => id.toLowerCase()))];
    if (list.length === 0) throw new Invalid('VALIDATION_FAILED', 'body.accounts: name at least one account, or null for every account.', [{ field: 'body.accounts', message: 'empty' }]);
    if (list.length > MAX_OVERVIEW_ACCOUNTS) throw new Invalid('VALIDATION_FAILED', `body.accounts: at most ${MAX_OVERVIEW_ACCOUNTS} accounts.`, [{ field: 'body.accounts', message: 'too many' }]);
    const found = new Set((await this.d.db.execute<{ id: string }>(sql`select id from social_accounts where id in ${list} and workspace_id = ${workspaceId}`)).rows.map((r) => String(r.id)));
    const missing = list.filter((id) => !found.has(id));
    if (missing.length > 0) throw new NotFound('NOT_FOUND', `No such account in this workspace: ${missing.join(', ')}.`);
    return list;
  }

  async list(workspaceId: string, page: PageRequest): Promise<{ items: ReportSchedule[]; nextCursor: string | null }> {
    const after = scheduleList.startAfter(page);
    const rows = await this.d.db.select({ row: reportSchedules, ...scheduleList.fields }).from(reportSchedules)
      .where(and(eq(reportSchedules.workspaceId, workspaceId), after)).orderBy(...scheduleList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = scheduleList.page(rows, page.limit);
    return { items: await Promise.all(items.map((r) => this.present(r.row))), nextCursor };
  }

  private async row(workspaceId: string, id: string) {
    const [row] = await this.d.db.select().from(reportSchedules).where(and(eq(reportSchedules.id, id), eq(reportSchedules.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such scheduled report in this workspace.');
    return row;
  }

  async get(workspaceId: string, id: string): Promise<ReportSchedule> {
    return this.present(await this.row(workspaceId, id));
  }

  async create(workspaceId: string, input: ScheduleInput & { cadence: Cadence; recipients: string[] }): Promise<ReportSchedule> {
    const recipients = cleanRecipients(input.recipients);
    let timeZone = input.timeZone;
    if (timeZone === undefined) {
      const own = ((await this.d.workspaces.get(workspaceId)).settings as Record<string, unknown> | null)?.timeZone;
      timeZone = typeof own === 'string' ? own : 'UTC';
    }
    assertZone(timeZone, 'body.timeZone');
    const accounts = await this.checkAccounts(workspaceId, input.accounts);
    const [{ n }] = (await this.d.db.execute<{ n: number }>(sql`select count(*)::int as n from analytics_report_schedules where workspace_id = ${workspaceId}`)).rows as [{ n: number }];
    if (n >= MAX_SCHEDULES) throw new Conflict('TOO_MANY_SCHEDULES', `A workspace has at most ${MAX_SCHEDULES} scheduled reports; delete one first.`);
    const [row] = await this.d.db.insert(reportSchedules).values({
      id: randomUUID(), workspaceId, cadence: input.cadence, timeZone, recipients, accountIds: accounts ?? null,
    }).returning();
    return this.present(row!);
  }

  async update(workspaceId: string, id: string, input: ScheduleInput): Promise<ReportSchedule> {
    await this.row(workspaceId, id);
    const set: Partial<typeof reportSchedules.$inferInsert> = {};
    if (input.cadence !== undefined) set.cadence = input.cadence;
    if (input.timeZone !== undefined) {
      assertZone(input.timeZone, 'body.timeZone');
      set.timeZone = input.timeZone;
    }
    if (input.recipients !== undefined) set.recipients = cleanRecipients(input.recipients);
    if (input.accounts !== undefined) set.accountIds = (await this.checkAccounts(workspaceId, input.accounts)) ?? null;
    const [row] = await this.d.db.update(reportSchedules).set({ ...set, updatedAt: sql`now()` })
      .where(and(eq(reportSchedules.id, id), eq(reportSchedules.workspaceId, workspaceId))).returning();
    if (!row) throw new NotFound('NOT_FOUND', 'No such scheduled report in this workspace.');
    return this.present(row);
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    const res = await this.d.db.delete(reportSchedules).where(and(eq(reportSchedules.id, id), eq(reportSchedules.workspaceId, workspaceId))).returning({ id: reportSchedules.id });
    if (res.length === 0) throw new NotFound('NOT_FOUND', 'No such scheduled report in this workspace.');
  }

  /**
   * The schedules whose last complete period (in their zone, as of `now`) ended after they were created and
   * has not been mailed. Weeks are ISO weeks (date_trunc('week') is Monday); a DST change moves nothing, the
   * period's days being local days.
   */
  async due(now: Date, limit: number) {
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select s.id, s.workspace_id, s.cadence, s.time_zone, s.recipients, s.account_ids, p.period_from::text as period_from, p.period_to::text as period_to
      from analytics_report_schedules s
      cross join lateral (select date_trunc(case s.cadence when 'weekly' then 'week' else 'month' end, ${now}::timestamptz at time zone s.time_zone)::date as end_day) e
      cross join lateral (select case s.cadence when 'weekly' then e.end_day - 7 else (e.end_day - interval '1 month')::date end as period_from,
        e.end_day - 1 as period_to) p
      where (e.end_day::timestamp at time zone s.time_zone) > s.created_at
        and not exists (select 1 from analytics_report_deliveries d where d.schedule_id = s.id and d.period_from = p.period_from)
      order by s.id limit ${limit}`);
    return res.rows.map((r) => ({
      id: String(r.id), workspaceId: String(r.workspace_id), cadence: r.cadence as Cadence, timeZone: String(r.time_zone),
      recipients: r.recipients as string[], accountIds: (r.account_ids as string[] | null) ?? null, from: String(r.period_from), to: String(r.period_to),
    }));
  }

  /** Mails every due period once; returns how many periods this call mailed (another worker's are not counted). */
  async sendDue(now: Date, limit = 100): Promise<{ due: number; mailed: number; failed: number }> {
    const due = await this.due(now, limit);
    let mailed = 0;
    let failed = 0;
    for (const s of due) {
      try {
        // Accounts deleted since the schedule was written drop out of its report.
        const accounts = s.accountIds === null ? undefined
          : (await this.d.db.execute<{ id: string }>(sql`select id from social_accounts where id = any(${`{${s.accountIds.join(',')}}`}::uuid[]) and workspace_id = ${s.workspaceId}`)).rows.map((r) => String(r.id));
        if (accounts && accounts.length === 0) {
          this.d.log.warn({ scheduleId: s.id }, 'scheduled report not sent: every account it names was removed; edit it');
          continue;
        }
        // Built before the transaction, on the pool: the transaction then holds its one connection only for the writes.
        const report = await this.d.reports.build(s.workspaceId, { from: s.from, to: s.to, timeZone: s.timeZone, accounts }, now);
        const html = reportHtml(report);
        const pdf = await reportPdf(report);
        const sent = await this.d.db.transaction(async (tx) => {
          const won = await tx.execute(sql`insert into analytics_report_deliveries (schedule_id, period_from, period_to)
            values (${s.id}, ${s.from}::date, ${s.to}::date) on conflict do nothing returning schedule_id`);
          if (won.rows.length === 0) return false; // another worker (or an earlier run) mailed this period
          const mail = templates.analyticsReport(report.workspace, s.cadence, s.from, s.to, s.timeZone, html, { filename: reportFileName(report.overview, 'pdf'), content: pdf });
          for (const to of s.recipients) await queueMail(tx, to, mail);
          return true;
        });
        if (sent) mailed++;
      } catch (err) {
        failed++;
        this.d.log.warn({ scheduleId: s.id, err: (err as Error).message }, 'scheduled report failed; it is tried again at the next run');
      }
    }
    return { due: due.length, mailed, failed };
  }
}

/** The send_scheduled_reports task: one bounded run over the due reports. */
export function sendReportsTask(service: ScheduledReports, log: Logger, now: () => Date = () => new Date()) {
  return async (): Promise<void> => {
    const r = await service.sendDue(now());
    if (r.due > 0) log.info(r, 'scheduled reports sent');
    if (r.failed > 0) throw new Error(`${r.failed} scheduled report(s) failed; see the log`);
  };
}
