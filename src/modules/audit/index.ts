// The audit module's public surface: what other modules use of it.
export { AuditQuery } from './query.ts';
export { audit, auditManySql, listAudit } from './service.ts';
export type { AuditEntry, RequestContext } from './service.ts';
