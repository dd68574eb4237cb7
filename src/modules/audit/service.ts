// The audit log: who did what, when, from where. Written in the caller's transaction where there is one.
import { and, desc, eq, lt } from 'drizzle-orm';
import type { DbOrTx } from '../../infra/db/client.ts';
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

/** The INSERT for an entry. (Sign-in writes its entry in the session's own statement: sessions.ts.) */
function auditInsert(db: DbOrTx, entry: AuditEntry) {
  return db.insert(auditLog).values({
    action: entry.action,
    workspaceId: entry.workspaceId ?? null,
    actorUserId: entry.actorUserId ?? null,
    actorApiKeyId: entry.actorApiKeyId ?? null,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent?.slice(0, 400) ?? null,
    details: entry.details ?? {},
  });
}

export async function listAudit(db: DbOrTx, where: { workspaceId?: string; actorUserId?: string }, opts: { limit: number; before?: number }) {
  const conds = [
    where.workspaceId ? eq(auditLog.workspaceId, where.workspaceId) : undefined,
    where.actorUserId ? eq(auditLog.actorUserId, where.actorUserId) : undefined,
    opts.before ? lt(auditLog.id, opts.before) : undefined,
  ].filter((c) => c !== undefined);
  return db.select().from(auditLog).where(and(...conds)).orderBy(desc(auditLog.id)).limit(opts.limit);
}
