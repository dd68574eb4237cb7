// Triage: a conversation's state (open, assigned, done), its assignee and its labels, changed one at a time
// or in bulk (up to BULK_MAX at once, all or none). Every change is audited per conversation.
//   - Assigning a member makes the conversation assigned (unless the same change marks it done); the
//     assignee must be a member who may act in the inbox (viewers cannot answer).
//   - Unassigning makes it open (a done conversation stays done).
//   - done keeps the assignee; reopening gives back assigned or open.
//   - A change of assignee (to a member or to none) is an inbox.conversation.assigned event, in the same
//     transaction; assigning the same member again is not.
// Lock order (workspaces/hold.ts): the workspace row, then the conversations in id order, then their labels,
// then the workspace's webhooks (the event).
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../infra/db/client.ts';
import { Invalid, NotFound } from '../../domain/errors.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import type { Role } from '../workspaces/schema.ts';
import { can } from '../workspaces/index.ts';
import { inboxConversationLabels, inboxConversations, inboxLabels, type ConversationState } from './schema.ts';
import { conversationNotFound } from './read.ts';
import type { InboxEvents } from './events.ts';
import type { ConversationChange, InboxLive } from './live.ts';

export const BULK_MAX = 100;

export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;

export interface TriageChange {
  /** done, or open (reopen: assigned again when it has an assignee). */
  state?: 'open' | 'done';
  /** A member to assign, or null to unassign. */
  assigneeId?: string | null;
  addLabelIds?: string[];
  removeLabelIds?: string[];
}

type Row = Pick<typeof inboxConversations.$inferSelect, 'id' | 'state' | 'assigneeId' | 'lastMessageAt' | 'accountId' | 'provider'>;

export class InboxTriage {
  constructor(private readonly d: {
    db: Db;
    roleOf: (workspaceId: string, userId: string) => Promise<Role | null>;
    /** inbox.conversation.assigned when a conversation's assignee changes. */
    events?: InboxEvents;
    live?: InboxLive;
  }) {}

  /** Applies one change to every conversation in `ids`: all of them, or none when one is not the workspace's (404 naming it). */
  async change(workspaceId: string, ids: string[], change: TriageChange, actor: Actor): Promise<void> {
    const unique = [...new Set(ids)];
    if (change.assigneeId) await this.assertAssignable(workspaceId, change.assigneeId);
    const add = [...new Set(change.addLabelIds ?? [])];
    const remove = [...new Set(change.removeLabelIds ?? [])];
    const both = add.filter((l) => remove.includes(l));
    if (both.length) throw new Invalid('VALIDATION_FAILED', `Label ${both[0]} is both added and removed; say one.`, [{ field: 'body.addLabelIds', message: 'also in removeLabelIds' }]);
    const changed = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const rows = await tx.select({
        id: inboxConversations.id, state: inboxConversations.state, assigneeId: inboxConversations.assigneeId, lastMessageAt: inboxConversations.lastMessageAt,
        accountId: inboxConversations.accountId, provider: inboxConversations.provider,
      })
        .from(inboxConversations).where(and(eq(inboxConversations.workspaceId, workspaceId), inArray(inboxConversations.id, unique)))
        .orderBy(inboxConversations.id).for('update');
      if (rows.length !== unique.length) {
        const missing = unique.filter((id) => !rows.some((r) => r.id === id));
        if (unique.length === 1) throw conversationNotFound();
        throw new NotFound('NOT_FOUND', `No such conversation in this workspace: ${missing.join(', ')}. Nothing was changed.`, missing.map((id) => ({ field: 'body.ids', message: id })));
      }
      await this.assertLabels(tx, workspaceId, [...add, ...remove]);
      const assigned: Record<string, unknown>[] = [];
      const changed: { conversationId: string; changes: ConversationChange[] }[] = [];
      for (const row of rows) {
        const after = await this.apply(tx, workspaceId, row, change, add, remove, actor);
        if (after.changes.length > 0) changed.push({ conversationId: row.id, changes: after.changes });
        if (after.assigneeId === row.assigneeId) continue; // the same assignee again is no event
        assigned.push({
          workspaceId, conversationId: row.id, accountId: row.accountId, provider: row.provider,
          previousAssigneeId: row.assigneeId, assigneeId: after.assigneeId, state: after.state,
          assignedBy: actor.actorUserId ? { userId: actor.actorUserId } : actor.actorApiKeyId ? { apiKeyId: actor.actorApiKeyId } : null,
        });
      }
      await this.d.events?.emitMany(tx, workspaceId, 'inbox.conversation.assigned', assigned);
      return changed;
    });
    this.d.live?.publish(workspaceId, changed.map((c) => ({ type: 'conversation.changed' as const, ...c })));
  }

  /** Returns the conversation's assignee and state after the change, and what changed. */
  private async apply(tx: Tx, workspaceId: string, row: Row, change: TriageChange, add: string[], remove: string[], actor: Actor): Promise<{ assigneeId: string | null; state: ConversationState; changes: ConversationChange[] }> {
    const assigneeId = change.assigneeId !== undefined ? change.assigneeId : row.assigneeId;
    let state: ConversationState = row.state;
    if (change.state === 'done') state = 'done';
    else if (change.state === 'open') state = assigneeId ? 'assigned' : 'open';
    else if (change.assigneeId !== undefined) state = assigneeId ? 'assigned' : row.state === 'done' ? 'done' : 'open';
    const details: Record<string, unknown> = {};
    if (state !== row.state) details.state = { from: row.state, to: state };
    if (assigneeId !== row.assigneeId) details.assignee = { from: row.assigneeId, to: assigneeId };
    if (Object.keys(details).length > 0) {
      await tx.update(inboxConversations).set({ state, assigneeId, updatedAt: sql`now()` }).where(eq(inboxConversations.id, row.id));
    }
    if (add.length > 0) {
      const added = await tx.insert(inboxConversationLabels).values(add.map((labelId) => ({ conversationId: row.id, labelId, workspaceId, lastMessageAt: row.lastMessageAt })))
        .onConflictDoNothing().returning({ labelId: inboxConversationLabels.labelId });
      if (added.length) details.labelsAdded = added.map((l) => l.labelId);
    }
    if (remove.length > 0) {
      const removed = await tx.delete(inboxConversationLabels).where(and(eq(inboxConversationLabels.conversationId, row.id), inArray(inboxConversationLabels.labelId, remove)))
        .returning({ labelId: inboxConversationLabels.labelId });
      if (removed.length) details.labelsRemoved = removed.map((l) => l.labelId);
    }
    if (Object.keys(details).length > 0) {
      await audit(tx, { action: 'inbox.conversation.updated', workspaceId, targetType: 'inbox_conversation', targetId: row.id, details, ...actor });
    }
    const changes: ConversationChange[] = [];
    if (details.state) changes.push('state');
    if (details.assignee) changes.push('assignee');
    if (details.labelsAdded || details.labelsRemoved) changes.push('labels');
    return { assigneeId, state, changes };
  }

  private async assertAssignable(workspaceId: string, userId: string): Promise<void> {
    const role = await this.d.roleOf(workspaceId, userId);
    if (!role) {
      throw new Invalid('ASSIGNEE_NOT_MEMBER', `${userId} is not a member of this workspace; assign a member (GET …/members lists them).`, [{ field: 'body.assigneeId', message: 'not a member' }]);
    }
    if (!can(role, 'inbox.write')) {
      throw new Invalid('ASSIGNEE_CANNOT_ANSWER', `This member is a ${role} and cannot act in the inbox; assign an editor, admin or owner.`, [{ field: 'body.assigneeId', message: role }]);
    }
  }

  private async assertLabels(tx: Tx, workspaceId: string, labelIds: string[]): Promise<void> {
    if (labelIds.length === 0) return;
    const unique = [...new Set(labelIds)];
    const found = await tx.select({ id: inboxLabels.id }).from(inboxLabels).where(and(eq(inboxLabels.workspaceId, workspaceId), inArray(inboxLabels.id, unique))).for('key share');
    const missing = unique.filter((id) => !found.some((f) => f.id === id));
    if (missing.length) {
      throw new Invalid('LABEL_NOT_FOUND', `No such label in this workspace: ${missing.join(', ')} (GET …/inbox/labels lists them).`, missing.map((id) => ({ field: 'body.labelIds', message: id })));
    }
  }
}
