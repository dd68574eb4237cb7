// The tables of docs/PERMISSIONS.md, generated from permissions.ts so the document cannot drift from the
// code (test/workspaces.test.ts compares). Rewrite them with:
//   node --import tsx src/modules/workspaces/permissions-doc.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PERMISSIONS, PERMISSION_DESCRIPTIONS, SCOPES, type Permission, type Scope } from './permissions.ts';
import { ROLES, type Role } from './schema.ts';

export const TABLES_START = '<!-- permissions:start (generated from src/modules/workspaces/permissions.ts) -->';
export const TABLES_END = '<!-- permissions:end -->';

const mark = (yes: boolean) => (yes ? '✓' : '—');
const cell = (s: string) => s.replaceAll('|', '\\|');

export function renderPermissionTables(): string {
  const permissions = Object.keys(PERMISSIONS) as Permission[];
  const roleRows = permissions.map((p) =>
    `| \`${p}\` | ${cell(PERMISSION_DESCRIPTIONS[p])} | ${ROLES.map((r) => mark((PERMISSIONS[p] as readonly Role[]).includes(r))).join(' | ')} |`);
  const scopes = Object.keys(SCOPES) as Scope[];
  const scopeRows = permissions.map((p) =>
    `| \`${p}\` | ${scopes.map((s) => mark((SCOPES[s] as readonly Permission[]).includes(p))).join(' | ')} |`);
  return [
    TABLES_START,
    '### Roles',
    '',
    `| permission | allows | ${ROLES.join(' | ')} |`,
    `|---|---|${ROLES.map(() => ':---:').join('|')}|`,
    ...roleRows,
    '',
    '### API key scopes',
    '',
    `| permission | ${scopes.join(' | ')} |`,
    `|---|${scopes.map(() => ':---:').join('|')}|`,
    ...scopeRows,
    TABLES_END,
  ].join('\n');
}

/** The document with its tables replaced by freshly generated ones. */
export function withPermissionTables(doc: string): string {
  const start = doc.indexOf(TABLES_START);
  const end = doc.indexOf(TABLES_END);
  if (start < 0 || end < start) throw new Error(`docs/PERMISSIONS.md lacks the ${TABLES_START} … ${TABLES_END} markers`);
  return doc.slice(0, start) + renderPermissionTables() + doc.slice(end + TABLES_END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = fileURLToPath(new URL('../../../docs/PERMISSIONS.md', import.meta.url));
  writeFileSync(path, withPermissionTables(readFileSync(path, 'utf8')));
  console.log(`Wrote the permission tables of ${path}.`);
}
