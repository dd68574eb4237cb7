// Schema pieces shared by the workspace-scoped routes (workspaces, members, invitations, API keys, audit).
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Invalid } from '../../domain/errors.ts';
import { ROLES } from './schema.ts';

export { ErrorRef as Err, errors } from '../../http/errors.ts';

// The app's Ajv takes "uuid" as the canonical 36-character form (see app.ts).
export const Uuid = (description: string) => Type.String({ format: 'uuid', description });
export const WorkspaceParams = Type.Object({ workspaceId: Uuid('Workspace id') });
export const RoleSchema = Type.Enum([...ROLES], { description: 'owner, admin, editor or viewer (see docs/PERMISSIONS.md)' });
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const NAME_MAX = 100;
export const NameSchema = (description: string) => Type.String({ minLength: 1, maxLength: NAME_MAX, description: `${description}: 1 to ${NAME_MAX} characters, not blank, no control characters` });

// Checked here rather than with a schema pattern: Ajv would answer "must match pattern …", which
// tells a person nothing. Control characters are refused because PostgreSQL text cannot hold NUL and
// names end up in mail subjects.
const CONTROL = /\p{Cc}/u;
export function cleanName(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new Invalid('VALIDATION_FAILED', `${field} must not be blank`, [{ field, message: 'must not be blank' }]);
  if (CONTROL.test(value)) {
    throw new Invalid('VALIDATION_FAILED', `${field} must not contain control characters (line breaks, tabs, NUL…)`, [{ field, message: 'must not contain control characters' }]);
  }
  return trimmed;
}

export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A preHandler hook for the workspace plugins: ids are compared as strings (is this me? is this the
 * key's workspace?), and PostgreSQL answers uuids in lower case, so upper-case ids are lowered first.
 */
export async function lowerCaseIds(request: FastifyRequest): Promise<void> {
  const params = request.params as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(params ?? {})) if (k.endsWith('Id') && typeof v === 'string') params![k] = v.toLowerCase();
  const body = request.body as Record<string, unknown> | null | undefined;
  if (body && typeof body === 'object' && typeof body.userId === 'string') body.userId = body.userId.toLowerCase();
}
