// Workspaces and membership. Every workspace resource is reached through the caller's membership: a
// workspace the caller is not a member of answers 404, exactly like one that does not exist (see
// access.ts). Membership changes lock the workspace row first, so two of them on one workspace run one
// after the other and the "at least one owner" rule cannot be raced (two owners demoting each other).
import { and, count, eq, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { retryOnDeadlock } from '../../infra/db/errors.ts';
import { Conflict, Forbidden, Invalid, NotFound } from '../../domain/errors.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { users } from '../auth/schema.ts';
import { memberships, workspaces, type Role } from './schema.ts';
import { workspaceNotFound } from './not-found.ts';

/** Who acts, for the audit log (see auditActor in access.ts). */
export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;

/**
 * What the service needs of the modules built on it, passed in (api-keys depends on workspaces, so
 * workspaces cannot import it): revoking the keys a person created when they leave or are deleted.
 */
export interface WorkspaceHooks {
  /** Some members' access changed: their cached /me is dropped. */
  onMembershipChange(userIds: string[]): Promise<void>;
  /** In `tx`: revoke the API keys `userId` created (in `workspaceId`, or everywhere when null). */
  revokeKeysCreatedBy(tx: DbOrTx, userId: string, workspaceId: string | null, reason: string, actor: Actor): Promise<number>;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: Date;
}

/** A user's workspaces in the order they joined them (memberships_user_list_idx). */
const workspaceList = keyset('workspaces', { joinedAt: [memberships.createdAt, 'time'], id: [memberships.workspaceId, 'uuid'] }, 'asc');
/** A workspace's members in the order they joined (memberships_workspace_list_idx). */
const memberList = keyset('members', { joinedAt: [memberships.createdAt, 'time'], userId: [memberships.userId, 'uuid'] }, 'asc');

const memberNotFound = () => new NotFound('NOT_FOUND', 'This user is not a member of this workspace.');
const lastOwner = (self: boolean) => new Conflict('LAST_OWNER', self
  ? 'You are the last owner of this workspace. Make another member owner (or transfer ownership) first, or delete the workspace.'
  : 'This member is the last owner of the workspace. Make another member owner (or transfer ownership) first.');

export class WorkspaceService {
  /**
   * `onMembershipChange` hears which users' view of their workspaces changed (the signed-in user's
   * /me caches it), after the change is committed.
   */
  constructor(private readonly db: Db, private readonly hooks: WorkspaceHooks) {}

  async notifyChanged(userIds: string[]): Promise<void> {
    await this.hooks.onMembershipChange(userIds);
  }

  private async memberIds(workspaceId: string, db: DbOrTx = this.db): Promise<string[]> {
    const rows = await db.select({ userId: memberships.userId }).from(memberships).where(eq(memberships.workspaceId, workspaceId));
    return rows.map((r) => r.userId);
  }

  /** The user's workspaces, in the order they joined them, a page at a time. */
  async listForUser(userId: string, page: PageRequest) {
    const rows = await this.db.select({ id: workspaces.id, name: workspaces.name, role: memberships.role, createdAt: workspaces.createdAt, cursorKey: workspaceList.fields.cursorKey })
      .from(memberships).innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(and(eq(memberships.userId, userId), workspaceList.startAfter(page)))
      .orderBy(...workspaceList.orderBy).limit(page.limit + 1);
    return workspaceList.page(rows, page.limit);
  }

  /** The member's role and the workspace's second-factor policy, in one read (the access gate's). */
  async membership(workspaceId: string, userId: string): Promise<{ role: Role; requireSecondFactor: boolean } | null> {
    const [m] = await this.db.select({ role: memberships.role, requireSecondFactor: workspaces.requireSecondFactor }).from(memberships)
      .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
    return m ?? null;
  }

  /** Owners' policy: every member needs a second factor to reach the workspace. */
  async setSecondFactorPolicy(workspaceId: string, required: boolean, actor: Actor) {
    return this.db.transaction(async (tx) => {
      const before = await this.lock(tx, workspaceId);
      const [ws] = await tx.update(workspaces).set({ requireSecondFactor: required, updatedAt: sql`now()` }).where(eq(workspaces.id, workspaceId)).returning();
      if (before.requireSecondFactor !== required) {
        await audit(tx, { action: 'workspace.second_factor_policy_changed', workspaceId, targetType: 'workspace', targetId: workspaceId, details: { requireSecondFactor: required }, ...actor });
      }
      return ws!;
    });
  }

  async roleOf(workspaceId: string, userId: string, db: DbOrTx = this.db): Promise<Role | null> {
    const [m] = await db.select({ role: memberships.role }).from(memberships)
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
    return m?.role ?? null;
  }

  async create(userId: string, name: string, actor: Actor) {
    const ws = await this.db.transaction(async (tx) => {
      const [ws] = await tx.insert(workspaces).values({ name: name.trim() }).returning();
      await tx.insert(memberships).values({ workspaceId: ws!.id, userId, role: 'owner' });
      await audit(tx, { action: 'workspace.created', workspaceId: ws!.id, targetType: 'workspace', targetId: ws!.id, details: { name: ws!.name }, ...actor });
      return ws!;
    });
    await this.notifyChanged([userId]);
    return ws;
  }

  async get(workspaceId: string) {
    const [ws] = await this.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
    if (!ws) throw workspaceNotFound();
    return ws;
  }

  async rename(workspaceId: string, name: string, actor: Actor) {
    const renamed = await this.db.transaction(async (tx) => {
      const before = await this.lock(tx, workspaceId);
      const [ws] = await tx.update(workspaces).set({ name: name.trim(), updatedAt: sql`now()` }).where(eq(workspaces.id, workspaceId)).returning();
      if (before.name !== ws!.name) {
        await audit(tx, { action: 'workspace.renamed', workspaceId, targetType: 'workspace', targetId: workspaceId, details: { from: before.name, to: ws!.name }, ...actor });
      }
      return ws!;
    });
    await this.notifyChanged(await this.memberIds(workspaceId));
    return renamed;
  }

  /** Merges settings (requireApproval, requireReplyApproval, timeZone) into the workspace's. */
  async updateSettings(workspaceId: string, settings: Record<string, unknown>, actor: Actor) {
    return this.db.transaction(async (tx) => {
      const before = await this.lock(tx, workspaceId);
      const [ws] = await tx.update(workspaces).set({ settings: { ...before.settings, ...settings }, updatedAt: sql`now()` }).where(eq(workspaces.id, workspaceId)).returning();
      await audit(tx, { action: 'workspace.settings_changed', workspaceId, targetType: 'workspace', targetId: workspaceId, details: settings, ...actor });
      return ws!;
    });
  }

  async delete(workspaceId: string, actor: Actor): Promise<void> {
    // The cascade locks every row of the workspace after its own row. A write that locked one of those
    // rows first and reaches the workspace row only later (its audit entry's foreign key) closes a cycle,
    // and PostgreSQL aborts one side. When that side is this one, nothing was kept and the other write
    // has finished by then: delete again. (Writes that hold the workspace first never cycle: hold.ts.)
    const members = await retryOnDeadlock(() => this.db.transaction(async (tx) => {
      const ws = await this.lock(tx, workspaceId);
      const ids = await this.memberIds(workspaceId, tx);
      await tx.delete(workspaces).where(eq(workspaces.id, workspaceId));
      // Not attached to the workspace: its own audit rows go with it (on delete cascade); this one stays
      // in the actor's account activity.
      await audit(tx, { action: 'workspace.deleted', workspaceId: null, targetType: 'workspace', targetId: workspaceId, details: { name: ws.name }, ...actor });
      return ids;
    }));
    await this.notifyChanged(members);
  }

  /** The members in the order they joined, a page at a time. */
  async members(workspaceId: string, page: PageRequest): Promise<{ items: Member[]; nextCursor: string | null }> {
    const rows = await this.db.select({ userId: memberships.userId, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt, cursorKey: memberList.fields.cursorKey })
      .from(memberships).innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.workspaceId, workspaceId), memberList.startAfter(page)))
      .orderBy(...memberList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = memberList.page(rows, page.limit);
    return { items: items.map(({ cursorKey: _, ...m }) => m), nextCursor };
  }

  private async member(tx: DbOrTx, workspaceId: string, userId: string): Promise<Member | undefined> {
    const [m] = await tx.select({ userId: memberships.userId, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
      .from(memberships).innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
    return m;
  }

  /** Takes the workspace's row lock for the rest of the transaction. A workspace deleted meanwhile answers 404. */
  async lock(tx: Tx, workspaceId: string) {
    const [ws] = await tx.select().from(workspaces).where(eq(workspaces.id, workspaceId)).for('update');
    if (!ws) throw workspaceNotFound();
    return ws;
  }

  private async ownerCount(tx: DbOrTx, workspaceId: string): Promise<number> {
    const [r] = await tx.select({ n: count() }).from(memberships).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')));
    return r?.n ?? 0;
  }

  /** `actingAs`: the caller's role, or admin for an API key (see actingRole in access.ts). */
  async changeRole(workspaceId: string, targetUserId: string, role: Role, actingAs: Role, actor: Actor): Promise<Member> {
    const changed = await this.db.transaction(async (tx) => {
      await this.lock(tx, workspaceId);
      const target = await this.member(tx, workspaceId, targetUserId);
      if (!target) throw memberNotFound();
      if (target.role === 'owner' && actingAs !== 'owner') {
        throw new Forbidden('FORBIDDEN', 'Only an owner can change the role of an owner; admins cannot.', { targetRole: 'owner' });
      }
      if (role === 'owner' && actingAs !== 'owner') {
        throw new Forbidden('FORBIDDEN', 'Only an owner can make someone an owner; admins cannot.', { role });
      }
      if (target.role === role) return target;
      if (target.role === 'owner' && await this.ownerCount(tx, workspaceId) <= 1) throw lastOwner(targetUserId === actor.actorUserId);
      await tx.update(memberships).set({ role }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, targetUserId)));
      await audit(tx, { action: 'member.role_changed', workspaceId, targetType: 'user', targetId: targetUserId, details: { from: target.role, to: role }, ...actor });
      return { ...target, role };
    });
    await this.notifyChanged([targetUserId]);
    return changed;
  }

  /**
   * Removes a member, or lets a member leave (`targetUserId` is the caller). The route checks
   * members.manage for removing someone else; leaving needs no permission. The last owner stays.
   */
  async removeMember(workspaceId: string, targetUserId: string, actingAs: Role, actor: Actor): Promise<void> {
    const leaving = targetUserId === actor.actorUserId;
    await this.db.transaction(async (tx) => {
      await this.lock(tx, workspaceId);
      const target = await this.member(tx, workspaceId, targetUserId);
      if (!target) throw memberNotFound();
      if (!leaving && target.role === 'owner' && actingAs !== 'owner') {
        throw new Forbidden('FORBIDDEN', 'Only an owner can remove an owner; admins cannot.', { targetRole: 'owner' });
      }
      if (target.role === 'owner' && await this.ownerCount(tx, workspaceId) <= 1) throw lastOwner(leaving);
      await tx.delete(memberships).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, targetUserId)));
      await audit(tx, {
        action: leaving ? 'member.left' : 'member.removed', workspaceId, targetType: 'user', targetId: targetUserId,
        details: { role: target.role, email: target.email }, ...actor,
      });
      // A key never outlives its creator's membership (it would grant nothing anyway; see keyPermissions).
      await this.hooks.revokeKeysCreatedBy(tx, targetUserId, workspaceId, leaving ? 'creator_left' : 'creator_removed', actor);
    });
    await this.notifyChanged([targetUserId]);
  }

  /** The target becomes owner and the caller, an owner, becomes admin. */
  async transferOwnership(workspaceId: string, fromUserId: string, toUserId: string, actor: Actor): Promise<{ newOwner: Member; previousOwner: Member }> {
    if (fromUserId === toUserId) throw new Invalid('INVALID_TARGET', 'You already own this workspace: choose another member.', [{ field: 'body.userId', message: 'is you' }]);
    const result = await this.db.transaction(async (tx) => {
      await this.lock(tx, workspaceId);
      const from = await this.member(tx, workspaceId, fromUserId);
      // Checked before the lock by workspaceAccess; checked again because a concurrent change may have won.
      if (from?.role !== 'owner') throw new Forbidden('FORBIDDEN', 'Only an owner can transfer ownership.');
      const to = await this.member(tx, workspaceId, toUserId);
      if (!to) throw new NotFound('NOT_FOUND', 'This user is not a member of this workspace; invite them first.', [{ field: 'body.userId', message: 'is not a member' }]);
      await tx.update(memberships).set({ role: 'owner' }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, toUserId)));
      await tx.update(memberships).set({ role: 'admin' }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, fromUserId)));
      await audit(tx, {
        action: 'workspace.ownership_transferred', workspaceId, targetType: 'user', targetId: toUserId,
        details: { from: fromUserId, to: toUserId, previousRoleOfNewOwner: to.role }, ...actor,
      });
      return { newOwner: { ...to, role: 'owner' as const }, previousOwner: { ...from, role: 'admin' as const } };
    });
    await this.notifyChanged([fromUserId, toUserId]);
    return result;
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
      throw new Conflict('LAST_OWNER', `You are the last owner of ${blocking.map((b) => `"${b.name}"`).join(', ')}. ` +
        'Transfer ownership to another member (or delete the workspace) first.', { workspaces: blocking.map((b) => b.workspace_id) });
    }
    for (const r of owned.rows.filter((x) => Number(x.members) === 1)) {
      await tx.delete(workspaces).where(eq(workspaces.id, r.workspace_id));
    }
    await tx.delete(memberships).where(and(eq(memberships.userId, userId), ne(memberships.role, 'owner')));
    // Keys the account created in workspaces that stay: revoked with it, not left orphaned.
    await this.hooks.revokeKeysCreatedBy(tx, userId, null, 'creator_deleted', { actorUserId: userId });
  }
}

