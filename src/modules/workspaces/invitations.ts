// Invitations: a mailed, single-use link that adds its holder to a workspace, provided they are signed
// in with the invited address. The token is stored only as a SHA-256 hash and is never returned by the
// API: the mail is the only place it exists.
// Each invitation mails someone who did not ask for it, so sending is limited per workspace and per
// sender (LIMIT_INVITATIONS_*): a quota is taken before the mail is queued and given back if it is not.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import { Forbidden, Invalid, NotFound } from '../../domain/errors.ts';
import { consume, tooMany, type Limiter } from '../../infra/rate-limit.ts';
import { audit } from '../audit/index.ts';
import { users } from '../auth/schema.ts';
import { newSecret, sha256 } from '../auth/index.ts';
import { normaliseEmail } from '../auth/index.ts';
import { apiKeys } from '../api-keys/schema.ts';
import { queueMail, templates } from '../mail/index.ts';
import { ROLE_RANK } from './permissions.ts';
import { invitations, memberships, workspaces, type Role } from './schema.ts';
import type { Actor, WorkspaceService } from './service.ts';

export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

const pending = () => and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, sql`now()`));

const publicColumns = {
  id: invitations.id, email: invitations.email, role: invitations.role, invitedBy: invitations.invitedBy,
  createdAt: invitations.createdAt, expiresAt: invitations.expiresAt,
};
const invitationList = keyset('invitations', { createdAt: [invitations.createdAt, 'time'], id: [invitations.id, 'uuid'] }, 'desc');

export interface InvitationLimits {
  /** Invitation mails per workspace. */
  workspace: Limiter;
  /** Invitation mails per sender: a user, or the user who created the API key that sends. */
  sender: Limiter;
}

/** "24 hours", "15 minutes": a limit's window in words. */
function windowInWords(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
  return n === 1 ? unit : `${n} ${unit}s`;
}

export class InvitationService {
  constructor(private readonly d: { db: Db; workspaces: WorkspaceService; publicUrl: string; limits: InvitationLimits }) {}

  /**
   * `actingAs`: the caller's role, or admin for an API key. Inviting an address again replaces its
   * pending invitation. A current member may be invited: accepting never lowers their role.
   */
  async create(workspaceId: string, input: { email: string; role: Role }, actingAs: Role, actor: Actor) {
    if (input.role === 'owner' && actingAs !== 'owner') {
      throw new Forbidden('FORBIDDEN', 'Only an owner can invite someone as owner; admins cannot.', { role: input.role });
    }
    const email = normaliseEmail(input.email);
    const token = newSecret('inv');
    const refund = await this.takeMailQuota(workspaceId, actor);
    try {
      return await this.insertAndMail(workspaceId, email, input.role, token, actor);
    } catch (err) {
      await refund();
      throw err;
    }
  }

  /**
   * One invitation mail off the workspace's and the sender's allowance, or 429 naming the one used up.
   * Resolves with the refund, for a mail that ends up not being sent.
   */
  private async takeMailQuota(workspaceId: string, actor: Actor): Promise<() => Promise<void>> {
    const limits = this.d.limits;
    const sender = await this.senderKey(actor);
    const taken: [Limiter, string][] = [];
    const refund = async () => {
      // A refund lost to a store outage only costs the sender one mail of allowance.
      for (const [l, key] of taken) await l.impl.reward(key, 1).catch(() => {});
    };
    const ws = await consume(limits.workspace, workspaceId);
    if (!ws.ok) {
      throw tooMany(limits.workspace, ws.res,
        `This workspace has used its allowance of ${limits.workspace.points} invitation mails per ${windowInWords(limits.workspace.duration)} (LIMIT_INVITATIONS_WORKSPACE).`);
    }
    taken.push([limits.workspace, workspaceId]);
    if (sender) {
      const own = await consume(limits.sender, sender);
      if (!own.ok) {
        await refund();
        throw tooMany(limits.sender, own.res,
          `You have used your allowance of ${limits.sender.points} invitation mails per ${windowInWords(limits.sender.duration)} (LIMIT_INVITATIONS_USER), counted over all your workspaces.`);
      }
      taken.push([limits.sender, sender]);
    }
    return refund;
  }

  /** Who is counted as the sender: the user, or the user behind the API key (so keys do not multiply the allowance). */
  private async senderKey(actor: Actor): Promise<string | null> {
    if (actor.actorUserId) return `user:${actor.actorUserId}`;
    if (!actor.actorApiKeyId) return null;
    const [k] = await this.d.db.select({ createdBy: apiKeys.createdBy }).from(apiKeys).where(eq(apiKeys.id, actor.actorApiKeyId));
    return k?.createdBy ? `user:${k.createdBy}` : `key:${actor.actorApiKeyId}`;
  }

  private async insertAndMail(workspaceId: string, email: string, role: Role, token: string, actor: Actor) {
    return this.d.db.transaction(async (tx) => {
      const ws = await this.d.workspaces.lock(tx, workspaceId);
      const replaced = await tx.update(invitations).set({ revokedAt: sql`now()` })
        .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.email, email), pending()))
        .returning({ id: invitations.id });
      const [inv] = await tx.insert(invitations).values({
        workspaceId, email, role, tokenHash: sha256(token), invitedBy: actor.actorUserId ?? null,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      }).returning(publicColumns);
      const inviter = await this.inviterName(tx, actor);
      const link = `${this.d.publicUrl}/invitations#token=${encodeURIComponent(token)}`;
      await queueMail(tx, email, templates.invitation(ws.name, inviter, role, link));
      await audit(tx, {
        action: 'invitation.created', workspaceId, targetType: 'invitation', targetId: inv!.id,
        details: { email, role, ...(replaced.length ? { replaced: replaced.map((r) => r.id) } : {}) }, ...actor,
      });
      return inv!;
    });
  }

  private async inviterName(tx: Tx, actor: Actor): Promise<string> {
    if (actor.actorUserId) {
      const [u] = await tx.select({ name: users.name }).from(users).where(eq(users.id, actor.actorUserId));
      if (u) return u.name;
    }
    if (actor.actorApiKeyId) {
      const [k] = await tx.select({ name: apiKeys.name }).from(apiKeys).where(eq(apiKeys.id, actor.actorApiKeyId));
      if (k) return `The API key "${k.name}"`;
    }
    return 'A workspace admin';
  }

  /** Newest first, a page at a time (invitations_pending_idx). */
  async listPending(workspaceId: string, page: PageRequest) {
    const rows = await this.d.db.select({ ...publicColumns, cursorKey: invitationList.fields.cursorKey }).from(invitations)
      .where(and(eq(invitations.workspaceId, workspaceId), pending(), invitationList.startAfter(page)))
      .orderBy(...invitationList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = invitationList.page(rows, page.limit);
    return { items: items.map(({ cursorKey: _, ...i }) => i), nextCursor };
  }

  async revoke(workspaceId: string, invitationId: string, actingAs: Role, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await this.d.workspaces.lock(tx, workspaceId);
      const [inv] = await tx.select().from(invitations)
        .where(and(eq(invitations.id, invitationId), eq(invitations.workspaceId, workspaceId), pending())).for('update');
      if (!inv) throw new NotFound('NOT_FOUND', 'This workspace has no pending invitation with this id.');
      // Admins cannot touch owners, and an invitation to become owner is an owner's decision.
      if (inv.role === 'owner' && actingAs !== 'owner') throw new Forbidden('FORBIDDEN', 'Only an owner can revoke an invitation to become owner.');
      await tx.update(invitations).set({ revokedAt: sql`now()` }).where(eq(invitations.id, invitationId));
      await audit(tx, { action: 'invitation.revoked', workspaceId, targetType: 'invitation', targetId: invitationId, details: { email: inv.email, role: inv.role }, ...actor });
    });
  }

  /**
   * Marks the invitation accepted and adds the membership in one transaction: the conditional update
   * lets exactly one of two concurrent accepts through. A refusal (wrong account) rolls back, so the
   * invitation stays usable by the invited person.
   */
  /**
   * What an invitation offers, for its holder to read before accepting: the workspace, the role, who
   * invited whom and until when. The token is the capability, as for accepting; nothing changes.
   * `forYou` says whether the signed-in user is the invited address (only they can accept).
   */
  async preview(token: string, userId: string) {
    const [row] = await this.d.db.select({
      workspace: { id: workspaces.id, name: workspaces.name }, email: invitations.email, role: invitations.role,
      expiresAt: invitations.expiresAt, inviter: users.name,
    }).from(invitations)
      .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
      .leftJoin(users, eq(users.id, invitations.invitedBy))
      .where(and(eq(invitations.tokenHash, sha256(token)), pending()));
    if (!row) throw new Invalid('INVALID_TOKEN', 'This invitation is invalid, already used, revoked or expired. Ask for a new one.');
    const [me] = await this.d.db.select({ email: users.email }).from(users).where(eq(users.id, userId));
    return {
      workspace: row.workspace, role: row.role, email: row.email, expiresAt: row.expiresAt.toISOString(),
      invitedBy: row.inviter ?? null, forYou: me !== undefined && normaliseEmail(me.email) === row.email,
    };
  }

  async accept(token: string, userId: string, actor: Actor): Promise<{ workspace: { id: string; name: string }; role: Role }> {
    const invalid = () => new Invalid('INVALID_TOKEN', 'This invitation is invalid, already used, revoked or expired. Ask for a new one.');
    const tokenHash = sha256(token);
    const accepted = await this.d.db.transaction(async (tx) => {
      const [found] = await tx.select({ workspaceId: invitations.workspaceId }).from(invitations).where(eq(invitations.tokenHash, tokenHash));
      if (!found) throw invalid();
      // The workspace lock first, as every membership change takes it: taking the invitation's row
      // first could deadlock with an invitation being created for the same address.
      const [ws] = await tx.select({ id: workspaces.id, name: workspaces.name }).from(workspaces).where(eq(workspaces.id, found.workspaceId)).for('update');
      if (!ws) throw invalid();
      const [inv] = await tx.update(invitations).set({ acceptedAt: sql`now()` })
        .where(and(eq(invitations.tokenHash, tokenHash), pending()))
        .returning();
      if (!inv) throw invalid();
      const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId));
      if (!user || normaliseEmail(user.email) !== inv.email) {
        throw new Forbidden('EMAIL_MISMATCH', 'This invitation was sent to another email address. Sign in with the account of the invited address to accept it.');
      }
      const [current] = await tx.select({ role: memberships.role }).from(memberships)
        .where(and(eq(memberships.workspaceId, inv.workspaceId), eq(memberships.userId, userId)));
      let role: Role = inv.role;
      if (!current) {
        await tx.insert(memberships).values({ workspaceId: inv.workspaceId, userId, role });
      } else if (ROLE_RANK[current.role] >= ROLE_RANK[inv.role]) {
        role = current.role;
      } else {
        await tx.update(memberships).set({ role }).where(and(eq(memberships.workspaceId, inv.workspaceId), eq(memberships.userId, userId)));
      }
      await audit(tx, {
        action: 'invitation.accepted', workspaceId: inv.workspaceId, targetType: 'invitation', targetId: inv.id,
        details: { email: inv.email, invitedRole: inv.role, role, ...(current ? { previousRole: current.role } : {}) }, ...actor,
      });
      return { workspace: { id: ws.id, name: ws.name }, role };
    });
    await this.d.workspaces.notifyChanged([userId]);
    return accepted;
  }
}

