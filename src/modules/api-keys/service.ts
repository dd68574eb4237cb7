// Workspace API keys: `allin_<prefix>_<secret>`. The prefix is stored in clear (to find the key and to
// show it in lists); the whole key only as a SHA-256 hash, compared in constant time.
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { sha256 } from '../auth/tokens.ts';
import { apiKeys } from './schema.ts';

export interface AuthenticatedKey {
  id: string;
  workspaceId: string;
  scopes: string[];
  createdBy: string | null;
}

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class ApiKeyService {
  private readonly lastUsedWritten = new Map<string, number>();

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
}
