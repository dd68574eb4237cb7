// The audit log: who did what, when, from where. Written in the caller's transaction where there is one.
import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  action: string;
  workspaceId?: string | null;
  actorUserId?: string | null;
  actorApiKeyId?: string | null;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export async function audit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  await auditInsert(db, entry);
}

/**
 * The INSERT of many entries (a bulk upload's posts), for the caller's statement (as a CTE) or on its own
 * (`db.execute`). The rows go as one JSON document (json_to_recordset), so the statement is the same size
 * whatever their number (a multi-row VALUES through the query builder took half a second to build for 350).
 */
export function auditManySql(entries: AuditEntry[]): SQL {
  const rows = JSON.stringify(entries.map(auditRow).map((r) => ({
    action: r.action, workspace_id: r.workspaceId, actor_user_id: r.actorUserId, actor_api_key_id: r.actorApiKeyId, target_type: r.targetType,
    target_id: r.targetId, ip: r.ip, user_agent: r.userAgent, details: r.details,
  })));
  return sql`insert into ${auditLog} (action, workspace_id, actor_user_id, actor_api_key_id, target_type, target_id, ip, user_agent, details)
    select * from json_to_recordset(${rows}::json)
      as a(action text, workspace_id uuid, actor_user_id uuid, actor_api_key_id uuid, target_type text, target_id text, ip text, user_agent text, details jsonb)`;
}

/** The INSERT for an entry. (Sign-in writes its entry in the session's own statement: sessions.ts.) */
function auditInsert(db: DbOrTx, entry: AuditEntry) {
  return db.insert(auditLog).values(auditRow(entry));
}

function auditRow(entry: AuditEntry) {
  return {
    action: entry.action,
    workspaceId: entry.workspaceId ?? null,
    actorUserId: entry.actorUserId ?? null,
    actorApiKeyId: entry.actorApiKeyId ?? null,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent?.slice(0, 400) ?? null,
    details: entry.details ?? {},
  };
}

const auditList = keyset('audit', { id: [auditLog.id, 'int'] }, 'desc');

/**
 * Newest first, a page at a time: a workspace's events (audit_log_workspace_list_idx) or a user's own
 * (audit_log_actor_list_idx). `before` (an event id) is the older way to ask for the next page.
 */
export async function listAudit(db: DbOrTx, where: { workspaceId: string } | { actorUserId: string }, opts: PageRequest & { before?: number | undefined }) {
  const rows = await db.select({ event: auditLog, cursorKey: auditList.fields.cursorKey }).from(auditLog).where(and(
    'workspaceId' in where ? eq(auditLog.workspaceId, where.workspaceId) : eq(auditLog.actorUserId, where.actorUserId),
    opts.before !== undefined ? lt(auditLog.id, opts.before) : undefined,
    auditList.startAfter(opts),
  )).orderBy(...auditList.orderBy).limit(opts.limit + 1);
  const { items, nextCursor } = auditList.page(rows, opts.limit);
  return { events: items.map((r) => r.event), nextCursor };
}
