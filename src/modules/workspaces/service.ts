// Workspaces and membership. Every workspace resource is reached through the caller's membership: a
// workspace the caller is not a member of answers 404, exactly like one that does not exist.
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { ApiError } from '../../http/errors.ts';
import { memberships, workspaces, type Role } from './schema.ts';

export class WorkspaceService {
  constructor(private readonly db: Db) {}

  async listForUser(userId: string, db: DbOrTx = this.db) {
    return db.select({ id: workspaces.id, name: workspaces.name, role: memberships.role, createdAt: workspaces.createdAt })
      .from(memberships).innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(eq(memberships.userId, userId)).orderBy(workspaces.createdAt);
  }

  async roleOf(workspaceId: string, userId: string, db: DbOrTx = this.db): Promise<Role | null> {
    const [m] = await db.select({ role: memberships.role }).from(memberships)
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
    return m?.role ?? null;
  }

  /**
   * Before an account is deleted: workspaces where it is the only member go with it; a workspace it
   * is the last owner of, with other members, blocks the deletion until ownership is transferred.
   */
  async releaseForAccountDeletion(tx: DbOrTx, userId: string): Promise<void> {
    const owned = await tx.execute<{ workspace_id: string; name: string; members: string; owners: string }>(sql`
      select m.workspace_id, w.name,
             (select count(*) from memberships x where x.workspace_id = m.workspace_id) as members,
             (select count(*) from memberships x where x.workspace_id = m.workspace_id and x.role = 'owner') as owners
        from memberships m join workspaces w on w.id = m.workspace_id
       where m.user_id = ${userId} and m.role = 'owner'`);
    const blocking = owned.rows.filter((r) => Number(r.owners) === 1 && Number(r.members) > 1);
    if (blocking.length > 0) {
      throw new ApiError(409, 'LAST_OWNER', `You are the last owner of ${blocking.map((b) => `"${b.name}"`).join(', ')}. ` +
        'Transfer ownership to another member (or delete the workspace) first.', { workspaces: blocking.map((b) => b.workspace_id) });
    }
    for (const r of owned.rows.filter((x) => Number(x.members) === 1)) {
      await tx.delete(workspaces).where(eq(workspaces.id, r.workspace_id));
    }
    await tx.delete(memberships).where(and(eq(memberships.userId, userId), ne(memberships.role, 'owner')));
  }
}
