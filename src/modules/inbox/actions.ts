// Acting on a collected message from AllIN (docs/INBOX.md, Acting on a message): like or unlike it, hide or
// show it again, delete it. An action is queued as a reply is (a row of inbox_replies with its kind, and its
// sending job, in one transaction) and sent exactly once by the same job (reply-sender.ts), which settles an
// unknown outcome by reading the message's state back from the network. One action at a time per message:
// a like and an unlike racing in two jobs could land in either order.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { Conflict, NotFound } from '../../domain/errors.ts';
import { assertCan } from './capabilities.ts';
import type { MessageAction, ProviderId } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { audit } from '../audit/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { enqueueReply } from './jobs.ts';
import { inboxConversations, inboxMessages, inboxReplies, type ReplyState } from './schema.ts';
import type { Actor } from './triage.ts';
import type { InboxLive } from './live.ts';

/** Actions a conversation lists (the newest), a bound for the conversation view. */
export const ACTIONS_LISTED = 200;

export interface MessageActionRow {
  id: string;
  conversationId: string;
  messageId: string | null;
  remoteId: string;
  action: MessageAction;
  state: ReplyState;
  author: { id: string | null; name: string | null };
  error: { class: string; message: string; status: number | null } | null;
  attempts: number;
  createdAt: Date;
  doneAt: Date | null;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

export class InboxActions {
  constructor(private readonly d: { db: Db; registry: ProviderRegistry; live?: InboxLive }) {}

  /** Queues `action` on the workspace's message `messageId`; its job does it on the network. */
  async create(workspaceId: string, messageId: string, action: MessageAction, authorId: string | null, actor: Actor): Promise<MessageActionRow> {
    const a = await this.queue(workspaceId, messageId, action, authorId, actor);
    this.d.live?.publish(workspaceId, [{ type: 'action', conversationId: a.conversationId, actionId: a.id, action, messageId: a.messageId, state: a.state }]);
    return a;
  }

  private async queue(workspaceId: string, messageId: string, action: MessageAction, authorId: string | null, actor: Actor): Promise<MessageActionRow> {
    return this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      // The message's row serialises two actions queued on it at once.
      const [m] = await tx.select({
        id: inboxMessages.id, remoteId: inboxMessages.remoteId, deleted: inboxMessages.deleted, hidden: inboxMessages.hidden, liked: inboxMessages.liked,
        direction: inboxMessages.direction, accountId: inboxMessages.accountId, conversationId: inboxMessages.conversationId, answerable: inboxMessages.answerable,
      }).from(inboxMessages).where(and(eq(inboxMessages.id, messageId), eq(inboxMessages.workspaceId, workspaceId))).for('no key update');
      if (!m) throw new NotFound('MESSAGE_NOT_FOUND', 'No such message in this workspace.');
      const [c] = await tx.select({ kind: inboxConversations.kind, rootRemoteId: inboxConversations.rootRemoteId }).from(inboxConversations)
        .where(eq(inboxConversations.id, m.conversationId));
      const [account] = await tx.select().from(socialAccounts).where(eq(socialAccounts.id, m.accountId));
      if (!c || !account) throw new NotFound('MESSAGE_NOT_FOUND', 'No such message in this workspace.');
      const provider = this.d.registry.get(account.provider as ProviderId);
      assertCan(provider, c.kind, m, action);
      if (account.status !== 'active') {
        throw new Conflict('ACCOUNT_NEEDS_RECONNECT', `The ${provider.meta.displayName} account ${account.username} needs reconnecting (${account.status}) before it can act.`);
      }
      const [pending] = await tx.select({ id: inboxReplies.id, kind: inboxReplies.kind }).from(inboxReplies)
        .where(and(eq(inboxReplies.messageId, m.id), ne(inboxReplies.kind, 'reply'), inArray(inboxReplies.state, ['queued', 'sending'])));
      if (pending) {
        throw new Conflict('ACTION_PENDING', `A ${pending.kind} of this message is still being sent (action ${pending.id}); wait for its outcome, then act again.`,
          [{ field: 'messageId', message: 'an action is pending', actionId: pending.id }]);
      }
      const [row] = await tx.insert(inboxReplies).values({
        id: randomUUID(), workspaceId, accountId: account.id, conversationId: m.conversationId, provider: account.provider, kind: action, messageId: m.id,
        parentRemoteId: m.remoteId, rootRemoteId: c.rootRemoteId, authorId, text: '',
      }).returning();
      await enqueueReply(tx, row!.id, new Date());
      await audit(tx, { action: 'inbox.action.queued', workspaceId, targetType: 'inbox_conversation', targetId: m.conversationId, details: { actionId: row!.id, action, messageId: m.id }, ...actor });
      return (await this.list(workspaceId, { id: row!.id }, tx))[0]!;
    });
  }

  /** A conversation's actions (the newest ACTIONS_LISTED, oldest first), or one action of the workspace by id. */
  async list(workspaceId: string, by: { conversationId: string } | { id: string }, db: Pick<Db, 'execute'> = this.d.db): Promise<MessageActionRow[]> {
    const res = await db.execute<Record<string, unknown>>(sql`
      select * from (
        select r.*, u.name as author_name from ${inboxReplies} r left join users u on u.id = r.author_id
         where r.workspace_id = ${workspaceId} and r.kind <> 'reply'
           and ${'id' in by ? sql`r.id = ${by.id}` : sql`r.conversation_id = ${by.conversationId}`}
         order by r.created_at desc, r.id desc limit ${ACTIONS_LISTED}) x
       order by created_at, id`);
    return res.rows.map(actionOf);
  }

  async one(workspaceId: string, actionId: string): Promise<MessageActionRow> {
    const [a] = await this.list(workspaceId, { id: actionId });
    if (!a) throw new NotFound('NOT_FOUND', 'No such action in this workspace.');
    return a;
  }
}

function actionOf(r: Record<string, unknown>): MessageActionRow {
  return {
    id: String(r.id), conversationId: String(r.conversation_id), messageId: str(r.message_id), remoteId: String(r.parent_remote_id), action: r.kind as MessageAction,
    state: r.state as ReplyState, author: { id: str(r.author_id), name: str(r.author_name) },
    error: r.error_class ? { class: String(r.error_class), message: String(r.error_message ?? ''), status: r.network_status === null || r.network_status === undefined ? null : Number(r.network_status) } : null,
    attempts: Number(r.attempts), createdAt: date(r.created_at), doneAt: r.published_at ? date(r.published_at) : null,
  };
}
