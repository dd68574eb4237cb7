// Bulk upload: many scheduled posts from one CSV file, all of them or none. The file (RFC 4180, parsed by
// csv-parse) has a header row naming the columns `time` and `text`, then one post per row. `time` is a
// wall-clock time in the upload's zone (2027-03-28 09:30 or 2027-03-28T09:30) or an instant with its
// offset (2027-03-28T09:30:00+02:00). Everything wrong with the file, and every row a network would
// refuse, is reported at once, by line, before any post is made.
import { CsvError, parse } from 'csv-parse/sync';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { DomainError, Invalid, UnprocessableContent } from '../../domain/errors.ts';
import { socialAccounts } from '../accounts/index.ts';
import type { Actor, ScheduleSpec } from './model.ts';
import { PostInvalid } from './validation.ts';
import { assertActive } from './scheduling.ts';
import type { PostWriter } from './write.ts';

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
  let records: { record: Record<string, string>; info: { lines: number } }[];
  let header: string[] = [];
  try {
    records = parse(csv, {
      bom: true, skip_empty_lines: true, info: true,
      columns: (names: string[]) => (header = names.map((n) => n.trim().toLowerCase())),
    }) as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = (err as CsvError & { lines?: number }).lines;
    throw new Invalid('VALIDATION_FAILED', `body.csv${line ? `, line ${line}` : ''}: ${err.message.replace(/^Invalid \w+ [Ll]ength: /, '')}`,
      [{ field: 'body.csv', message: err.code }]);
  }
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
  let line = 1;
  for (const { record, info } of records) {
    // info.lines is the line the record ends on; a quoted text can span several.
    const start = line + 1;
    line = info.lines;
    const time = (record.time ?? '').trim();
    const text = record.text ?? '';
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
  constructor(private readonly d: { db: Db; writer: PostWriter }) {}

  /**
   * Many scheduled posts at once: all are created, or none. Each row's refusal is collected with its
   * line number, so that one answer lists everything to fix. `dryRun` checks only.
   */
  async createMany(workspaceId: string, userId: string | null, rows: BulkRow[], accountIds: string[], actor: Actor, dryRun: boolean): Promise<{ line: number; postId: string; publishAt: Date | null }[]> {
    // The accounts are the same for every row: refuse them once, not once per line.
    const found = await this.d.db.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), inArray(socialAccounts.id, accountIds)));
    const unknown = accountIds.filter((id) => !found.some((a) => a.id === id));
    if (unknown.length) {
      throw new Invalid('VALIDATION_FAILED', `body.accountIds: no such social account in this workspace: ${unknown.join(', ')}.`, unknown.map(() => ({ field: 'body.accountIds', message: 'unknown account' })));
    }
    assertActive(found);
    const ROLLBACK = new Error('dry run');
    let created: { line: number; postId: string; publishAt: Date | null }[] = [];
    try {
      await this.d.db.transaction(async (tx) => {
        const out: typeof created = [];
        const problems: { line: number; field: string; message: string }[] = [];
        for (const row of rows) {
          // Each row in a savepoint: a refused row leaves the transaction usable for the next one.
          try {
            const made = await tx.transaction((sp) => this.d.writer.createIn(sp, workspaceId, userId, { text: row.text, targets: accountIds.map((accountId) => ({ accountId })) }, actor, { spec: row.spec, recurrence: null }));
            out.push({ line: row.line, postId: made.id, publishAt: made.publishAt });
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
            // A post's rule problems name their network and field; other refusals say it in their message.
            if (err instanceof PostInvalid) {
              for (const d of err.problems) problems.push({ line: row.line, field: d.field, message: `line ${row.line}: ${d.message}` });
            } else {
              problems.push({ line: row.line, field: 'row', message: `line ${row.line}: ${err.message}` });
            }
          }
        }
        if (problems.length) {
          throw new UnprocessableContent('BULK_INVALID', `${new Set(problems.map((p) => p.line)).size} of ${rows.length} rows cannot be scheduled, so nothing was created: ${problems.map((p) => p.message).join(' ')}`, problems);
        }
        created = out;
        if (dryRun) throw ROLLBACK;
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    }
    return created;
  }
}
