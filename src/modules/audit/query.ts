// The query of an audit list (a workspace's log, a user's own security events): a keyset page, and the
// older `before` (an event id) that paged it before cursors, still accepted.
import { Type } from 'typebox';
import { pageQuery } from '../../http/paging.ts';

export const AuditQuery = Type.Object({
  ...pageQuery('events', 200),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Only events with a smaller id (older clients\' way to page; prefer cursor)' })),
}, { additionalProperties: false });
