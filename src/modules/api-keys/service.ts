// Workspace API keys: `allin_<prefix>_<secret>`. The prefix is stored in clear (to find the key and to
// show it in lists); the whole key only as a SHA-256 hash, compared in constant time. Every request
// reads the key's row, so a revoked key stops working on every API process at once.
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Forbidden, NotFound } from '../../domain/errors.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { sha256 } from '../auth/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { PERMISSION_DESCRIPTIONS, SCOPES, can, type Permission, type Scope } from '../workspaces/index.ts';
import type { Role } from '../workspaces/schema.ts';
import { apiKeys } from './schema.ts';

const keyList = keyset('api-keys', { createdAt: [apiKeys.createdAt, 'time'], id: [apiKeys.id, 'uuid'] }, 'desc');

export interface AuthenticatedKey {
  id: string;
  workspaceId: string;
  scopes: string[];
  createdBy: string | null;
}

type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/** The scopes in `scopes` that grant something `role` may not do, with the first such permission. */
export function scopesBeyondRole(role: Role, scopes: readonly Scope[]): { scope: Scope; permission: Permission }[] {
  return scopes.flatMap((scope) => {
    const permission = (SCOPES[scope] as readonly Permission[]).find((p) => !can(role, p));
    return permission ? [{ scope, permission }] : [];
  });
}

/** Revokes the live keys a user created (in one workspace, or everywhere with null), each audited. */
export async function revokeKeysCreatedBy(tx: DbOrTx, userId: string, workspaceId: string | null, reason: string, actor: Actor): Promise<number> {
  const rows = await tx.update(apiKeys).set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.createdBy, userId), isNull(apiKeys.revokedAt), workspaceId ? eq(apiKeys.workspaceId, workspaceId) : undefined))
    .returning({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, name: apiKeys.name });
  for (const k of rows) {
    await audit(tx, { action: 'apikey.revoked', workspaceId: k.workspaceId, targetType: 'api_key', targetId: k.id, details: { name: k.name, reason }, ...actor });
  }
  return rows.length;
}

export class ApiKeyService {
  /** When this process last wrote each key's last_used_at; bounded (a key dropped here only costs one more write). */
  private readonly lastUsedWritten = new LRUCache<string, number>({ max: 10_000 });

  constructor(private readonly db: Db) {}

  static generate(): { key: string; prefix: string } {
    const prefix = randomBytes(6).toString('base64url');
    return { key: `allin_${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
  }

  async authenticate(key: string): Promise<AuthenticatedKey | null> {
    const m = /^allin_([A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43})$/.exec(key);
    if (!m) return null;
    const [row] = await this.db.select().from(apiKeys).where(and(eq(apiKeys.prefix, m[1]!), isNull(apiKeys.revokedAt)));
    if (!row || !timingSafeEqual(row.secretHash, sha256(key))) return null;
    // last_used_at is informational: write it at most once a minute per key, not on every request.
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(row.id) ?? 0) > LAST_USED_WRITE_INTERVAL_MS) {
      this.lastUsedWritten.set(row.id, now);
      await this.db.update(apiKeys).set({ lastUsedAt: sql`now()` }).where(eq(apiKeys.id, row.id));
    }
    return { id: row.id, workspaceId: row.workspaceId, scopes: row.scopes, createdBy: row.createdBy };
  }

  /** A new key; the full key is in the result and nowhere else (only its hash is stored). */
  async create(workspaceId: string, input: { name: string; scopes: Scope[] }, creator: { userId: string; role: Role }, actor: Actor) {
    const scopes = [...new Set(input.scopes)];
    const beyond = scopesBeyondRole(creator.role, scopes);
    if (beyond.length > 0) {
      const b = beyond[0]!;
      throw new Forbidden('FORBIDDEN', `As ${creator.role} you cannot grant the ${b.scope} scope: it would let the key ${PERMISSION_DESCRIPTIONS[b.permission]}.`,
        { scopes: beyond.map((x) => x.scope) });
    }
    const { key, prefix } = ApiKeyService.generate();
    return this.db.transaction(async (tx) => {
      // The workspace first (see workspaces/hold.ts): one deleted meanwhile answers 404.
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.insert(apiKeys).values({
        workspaceId, name: input.name.trim(), prefix, secretHash: sha256(key), scopes, createdBy: creator.userId,
      }).returning();
      await audit(tx, { action: 'apikey.created', workspaceId, targetType: 'api_key', targetId: row!.id, details: { name: row!.name, prefix, scopes }, ...actor });
      return { ...row!, key };
    });
  }

  /** Newest first, revoked keys included, a page at a time (api_keys_list_idx). */
  async list(workspaceId: string, page: PageRequest) {
    const rows = await this.db.select({
      id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, scopes: apiKeys.scopes, createdBy: apiKeys.createdBy,
      createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt, cursorKey: keyList.fields.cursorKey,
    }).from(apiKeys).where(and(eq(apiKeys.workspaceId, workspaceId), keyList.startAfter(page)))
      .orderBy(...keyList.orderBy).limit(page.limit + 1);
    return keyList.page(rows, page.limit);
  }

  /** Revoking a revoked key is a no-op; a key of another workspace is, from here, a key that does not exist. */
  async revoke(workspaceId: string, keyId: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.select({ id: apiKeys.id, name: apiKeys.name, revokedAt: apiKeys.revokedAt }).from(apiKeys)
        .where(and(eq(apiKeys.id, keyId), eq(apiKeys.workspaceId, workspaceId))).for('update');
      if (!row) throw new NotFound('NOT_FOUND', 'This workspace has no API key with this id.');
      if (row.revokedAt) return;
      await tx.update(apiKeys).set({ revokedAt: sql`now()` }).where(eq(apiKeys.id, keyId));
      await audit(tx, { action: 'apikey.revoked', workspaceId, targetType: 'api_key', targetId: keyId, details: { name: row.name, reason: 'revoked' }, ...actor });
    });
  }
}
