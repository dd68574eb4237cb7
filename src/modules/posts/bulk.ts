// Bulk upload: many scheduled posts from one CSV file, all of them or none. The file (RFC 4180, parsed by
// csv-parse) has a header row naming the columns `time` and `text`, then one post per row. `time` is a
// wall-clock time in the upload's zone (2027-03-28 09:30 or 2027-03-28T09:30) or an instant with its
// offset (2027-03-28T09:30:00+02:00). Everything wrong with the file, and every row a network would
// refuse, is reported at once, by line, before any post is made.
import { randomUUID } from 'node:crypto';
import { CsvError, parse } from 'csv-parse/sync';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { DomainError, Invalid, UnprocessableContent } from '../../domain/errors.ts';
import { localResolver } from '../../shared/time.ts';
import { auditManySql } from '../audit/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { posts, postTargets } from './schema.ts';
import type { Actor, ScheduleSpec } from './model.ts';
import type { PostValidator } from './validation.ts';
import { assertActive, type PostScheduling } from './scheduling.ts';
import { enqueueManySql } from './jobs.ts';

export const BULK_ROWS_MAX = 350;
const COLUMNS = ['time', 'text'];
const LOCAL = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

export interface BulkRow {
  /** The line of the file the row starts on (the header is line 1). */
  line: number;
  text: string;
  spec: ScheduleSpec;
}

export function parseBulkCsv(csv: string, timeZone: string): BulkRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // Records as arrays, named here: csv-parse's own `columns` objects cost more than the rest of the parse.
    records = parse(csv, { bom: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = (err as CsvError & { lines?: number }).lines;
    const fields = err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' ? (err as CsvError & { record?: unknown[] }).record?.length : undefined;
    const why = fields !== undefined
      ? `this row has ${fields} field${fields === 1 ? '' : 's'} and the first line names 2 (time and text); put a text that has commas or line breaks in double quotes.`
      : err.message.replace(/^Invalid \w+ [Ll]ength: /, '');
    throw new Invalid('VALIDATION_FAILED', `body.csv${line ? `, line ${line}` : ''}: ${why}`, [{ field: 'body.csv', message: err.code }]);
  }
  const head = records.shift();
  const header = head ? head.record.map((n) => n.trim().toLowerCase()) : [];
  const missing = COLUMNS.filter((c) => !header.includes(c));
  const extra = header.filter((c) => !COLUMNS.includes(c));
  if (missing.length || extra.length) {
    throw new Invalid('VALIDATION_FAILED',
      `body.csv: the first line must name the columns time and text${missing.length ? ` (missing: ${missing.join(', ')})` : ''}${extra.length ? ` (unknown: ${extra.join(', ')})` : ''}.`,
      [{ field: 'body.csv', message: 'header' }]);
  }
  if (records.length === 0) throw new Invalid('VALIDATION_FAILED', 'body.csv has no rows under its header.', [{ field: 'body.csv', message: 'empty' }]);
  if (records.length > BULK_ROWS_MAX) {
    throw new Invalid('VALIDATION_FAILED', `body.csv has ${records.length} rows; upload at most ${BULK_ROWS_MAX} at a time.`, [{ field: 'body.csv', message: 'too many rows' }]);
  }
  const problems: { field: string; message: string }[] = [];
  const rows: BulkRow[] = [];
  const timeAt = header.indexOf('time');
  const textAt = header.indexOf('text');
  let line = head!.info.lines;
  for (const { record, info } of records) {
    // info.lines is the line the record ends on; a quoted text can span several.
    const start = line + 1;
    line = info.lines;
    const time = (record[timeAt] ?? '').trim();
    const text = record[textAt] ?? '';
    const local = LOCAL.exec(time);
    let spec: ScheduleSpec | undefined;
    if (local) spec = { mode: 'local', localTime: `${local[1]}T${local[2]}`, timeZone };
    else if (INSTANT.test(time) && Number.isFinite(Date.parse(time))) spec = { mode: 'at', at: time };
    else problems.push({ field: `line ${start}: time`, message: `line ${start}: "${time}" is not a time like 2027-03-28 09:30 (in ${timeZone}) or 2027-03-28T09:30:00+02:00.` });
    if (!text.trim()) problems.push({ field: `line ${start}: text`, message: `line ${start}: the text is empty.` });
    if (spec) rows.push({ line: start, text, spec });
  }
  if (problems.length) {
    throw new Invalid('VALIDATION_FAILED', problems.length === 1 ? problems[0]!.message : `${problems.length} problems in body.csv: ${problems.map((p) => p.message).join(' ')}`, problems);
  }
  return rows;
}

export class BulkUpload {
  constructor(private readonly d: { db: Db; validator: PostValidator; scheduling: PostScheduling }) {}

  /**
   * Many scheduled posts at once: all are created, or none. Every row is checked first, in memory (its
   * text by each account's network rules, its time), and each refusal is collected with its line number,
   * so that one answer lists everything to fix. Then the posts, their targets, their jobs and their audit
   * entries are written set by set in one statement, whatever the number of rows. `dryRun` checks only.
   */
  async createMany(workspaceId: string, userId: string | null, rows: BulkRow[], accountIds: string[], actor: Actor, dryRun: boolean): Promise<{ line: number; postId: string; publishAt: Date | null }[]> {
    // The accounts are the same for every row: refuse them once, not once per line.
    const found = await this.d.db.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, accountIds)));
    const unknown = accountIds.filter((id) => !found.some((a) => a.id === id));
    if (unknown.length) {
      throw new Invalid('VALIDATION_FAILED', `body.accountIds: no such social account in this workspace: ${unknown.join(', ')}.`, unknown.map(() => ({ field: 'body.accountIds', message: 'unknown account' })));
    }
    assertActive(found);
    const accounts = accountIds.map((id) => found.find((a) => a.id === id)!);
    const targets = accountIds.map((accountId) => ({ accountId }));
    const resolvers = new Map<string, (local: string, field: string) => Date>();
    const problems: { line: number; field: string; message: string }[] = [];
    const planned: { line: number; postId: string; text: string; spec: BulkRow['spec']; due: Date }[] = [];
    const published = await this.d.validator.publishedText(workspaceId);
    for (const row of rows) {
      const before = problems.length;
      // A post's rule problems name their network and field.
      for (const p of this.d.validator.check({ text: row.text, targets }, accounts, [], published).problems) problems.push({ line: row.line, field: p.field, message: `line ${row.line}: ${p.message}` });
      let due: Date | null = null;
      try {
        let local: ((t: string, f: string) => Date) | undefined;
        if (row.spec.mode === 'local') {
          const zone = row.spec.timeZone;
          local = resolvers.get(zone);
          if (!local) resolvers.set(zone, (local = localResolver(zone, 'body.timeZone')));
        }
        due = this.d.scheduling.instantOf(row.spec, local).due;
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        problems.push({ line: row.line, field: 'row', message: `line ${row.line}: ${err.message}` });
      }
      if (problems.length === before) planned.push({ line: row.line, postId: randomUUID(), text: row.text, spec: row.spec, due: due! });
    }
    if (problems.length) {
      throw new UnprocessableContent('BULK_INVALID', `${new Set(problems.map((p) => p.line)).size} of ${rows.length} rows cannot be scheduled, so nothing was created: ${problems.map((p) => p.message).join(' ')}`, problems);
    }
    const created = planned.map((p) => ({ line: p.line, postId: p.postId, publishAt: p.due }));
    if (dryRun) return created;

    const local = (p: (typeof planned)[number]) => (p.spec.mode === 'local' ? p.spec : null);
    const made = planned.flatMap((p) => accounts.map((a) => ({ id: randomUUID(), postId: p.postId, accountId: a.id, provider: a.provider, due: p.due })));
    // The rows go as one JSON document per table (json_to_recordset): serialised natively, parsed by PostgreSQL at once.
    const newPosts = JSON.stringify(planned.map((p) => ({ id: p.postId, text: p.text, mode: p.spec.mode, publish_at: p.due, local_time: local(p)?.localTime ?? null, time_zone: local(p)?.timeZone ?? null })));
    const newTargets = JSON.stringify(made.map((t) => ({ id: t.id, post_id: t.postId, account_id: t.accountId, provider: t.provider, publish_at: t.due })));
    // One statement, so all of it or none: each post as write.ts creates it and scheduling.ts schedules it
    // (version 2: created, then scheduled), its targets, their audit entries and jobs.
    await this.d.db.execute(sql`
      with new_posts as (
        insert into ${posts} (id, workspace_id, created_by, text, status, schedule_mode, publish_at, local_time, time_zone, version)
        select p.id, ${workspaceId}::uuid, ${userId}::uuid, p.text, 'scheduled', p.mode, p.publish_at, p.local_time, p.time_zone, 2
          from json_to_recordset(${newPosts}::json) as p(id uuid, text text, mode text, publish_at timestamptz, local_time text, time_zone text)),
      new_targets as (
        insert into ${postTargets} (id, post_id, workspace_id, account_id, provider, state, publish_at)
        select t.id, t.post_id, ${workspaceId}::uuid, t.account_id, t.provider, 'scheduled', t.publish_at
          from json_to_recordset(${newTargets}::json) as t(id uuid, post_id uuid, account_id uuid, provider text, publish_at timestamptz)),
      new_audit as (
        ${auditManySql(planned.map((p) => ({ action: 'post.created', workspaceId, targetType: 'post', targetId: p.postId, details: { targets: accounts.length, scheduled: p.spec.mode }, ...actor })))})
      select count(*) from ${enqueueManySql(made.map((t) => ({ id: t.id, accountId: t.accountId, runAt: t.due })))}`);
    return created;
  }
}
