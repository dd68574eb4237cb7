// Answering a collected message from AllIN (docs/INBOX.md, Answering): the reply is checked by the
// network's own rules with the server's counting code, written down as a row (queued) and its sending
// job added in the same transaction; reply-sender.ts sends it exactly once. The conversation shows each
// reply with its author and state. Where the workspace requires approval of replies (requireReplyApproval),
// a reply by a member who may not approve waits (pending_approval, no job) until an approver approves it
// (queued, its job added in that transaction: sent once) or rejects it with a reason.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { Conflict, NotFound, UnprocessableContent } from '../../domain/errors.ts';
import { blueskyTextProblem, countText } from '../../providers/text.ts';
import type { ProviderId, ProviderLimits } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { audit } from '../audit/index.ts';
import { socialAccounts } from '../accounts/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { workspaces } from '../workspaces/schema.ts';
import { assertCan } from './capabilities.ts';
import { enqueueReply } from './jobs.ts';
import { conversationNotFound } from './read.ts';
import { inboxConversations, inboxMessages, inboxReplies, type ReplyState } from './schema.ts';
import type { Actor } from './triage.ts';
import type { InboxLive } from './live.ts';

/** Replies a conversation may hold (a bound for the conversation view, which shows them all). */
export const REPLIES_MAX = 500;

export interface Reply {
  id: string;
  conversationId: string;
  messageId: string | null;
  parentRemoteId: string;
  text: string;
  state: ReplyState;
  author: { id: string | null; name: string | null };
  remoteId: string | null;
  url: string | null;
  error: { class: string; message: string; status: number | null } | null;
  attempts: number;
  createdAt: Date;
  publishedAt: Date | null;
  /** Who approved or rejected it (a reply that waited for approval), when, and why it was rejected. */
  review: { by: { id: string | null; name: string | null }; at: Date; comment: string | null } | null;
}

/** Replies the approvers' list shows at most (the oldest waiting first). */
export const PENDING_LISTED = 200;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

export class InboxReplies {
  constructor(private readonly d: { db: Db; registry: ProviderRegistry; live?: InboxLive }) {}

  /**
   * Queues a reply to `messageId` of the conversation, checked by the network's limits; its job sends it. Where
   * the workspace requires approval of replies and the author may not approve (`mayApprove`), it waits instead.
   */
  async create(workspaceId: string, conversationId: string, input: { messageId: string; text: string }, authorId: string | null, actor: Actor & { mayApprove?: boolean }): Promise<Reply> {
    const { mayApprove = false, ...who } = actor;
    const reply = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const waits = !mayApprove && await requiresReplyApproval(tx, workspaceId);
      // The conversation's row serialises the count check of two replies queued at once.
      const [c] = await tx.select({ id: inboxConversations.id, rootRemoteId: inboxConversations.rootRemoteId, kind: inboxConversations.kind }).from(inboxConversations)
        .where(and(eq(inboxConversations.id, conversationId), eq(inboxConversations.workspaceId, workspaceId))).for('no key update');
      if (!c) throw conversationNotFound();
      const [m] = await tx.select({
        id: inboxMessages.id, remoteId: inboxMessages.remoteId, deleted: inboxMessages.deleted, accountId: inboxMessages.accountId,
        direction: inboxMessages.direction, answerable: inboxMessages.answerable,
      }).from(inboxMessages).where(and(eq(inboxMessages.id, input.messageId), eq(inboxMessages.conversationId, conversationId)));
      if (!m) throw new NotFound('MESSAGE_NOT_FOUND', 'No such message in this conversation (body.messageId).', [{ field: 'body.messageId', message: 'not in this conversation' }]);
      if (m.deleted) throw new Conflict('MESSAGE_DELETED', 'The message was deleted on the network; it cannot be answered.');
      const [account] = await tx.select().from(socialAccounts).where(eq(socialAccounts.id, m.accountId));
      if (!account) throw conversationNotFound();
      const provider = this.d.registry.get(account.provider as ProviderId);
      assertCan(provider, c.kind, m, 'reply');
      if (account.status !== 'active') {
        throw new Conflict('ACCOUNT_NEEDS_RECONNECT', `The ${provider.meta.displayName} account ${account.username} needs reconnecting (${account.status}) before it can answer.`);
      }
      const limits = (account.data as { limits?: ProviderLimits }).limits ?? provider.meta.limits;
      const problem = textProblem(provider.meta.displayName, account.provider, limits, input.text);
      if (problem) throw new UnprocessableContent('REPLY_INVALID', problem.message, [{ field: 'body.text', message: problem.message, length: problem.length, max: limits.maxTextLength }]);
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(inboxReplies).where(and(eq(inboxReplies.conversationId, conversationId), eq(inboxReplies.kind, 'reply')));
      if (n >= REPLIES_MAX) throw new Conflict('TOO_MANY_REPLIES', `A conversation holds at most ${REPLIES_MAX} replies from AllIN; answer in a new conversation or on the network.`);
      const [row] = await tx.insert(inboxReplies).values({
        id: randomUUID(), workspaceId, accountId: account.id, conversationId, provider: account.provider, messageId: m.id,
        parentRemoteId: m.remoteId, rootRemoteId: c.rootRemoteId, authorId, text: input.text, ...(waits ? { state: 'pending_approval' as const } : {}),
      }).returning();
      if (!waits) await enqueueReply(tx, row!.id, new Date());
      await audit(tx, {
        action: waits ? 'inbox.reply.submitted' : 'inbox.reply.queued', workspaceId, targetType: 'inbox_conversation', targetId: conversationId,
        details: { replyId: row!.id, messageId: m.id }, ...who,
      });
      return (await this.list(workspaceId, conversationId, tx, row!.id))[0]!;
    });
    this.d.live?.publish(workspaceId, [{ type: 'reply', conversationId, replyId: reply.id, state: reply.state }]);
    return reply;
  }

  /**
   * An approver's decision on a reply waiting for approval: approved, it is queued and its job added in the
   * same transaction (the conditional update lets one decision win, so it is sent once); rejected, it stays
   * in the conversation with the reason and is never sent.
   */
  async review(workspaceId: string, replyId: string, decision: { approve: true } | { approve: false; reason: string }, reviewerId: string | null, actor: Actor): Promise<Reply> {
    const reply = await this.d.db.transaction(async (tx) => {
      const [row] = await tx.update(inboxReplies).set({
        state: decision.approve ? 'queued' : 'rejected', reviewedBy: reviewerId, reviewedAt: sql`now()`,
        reviewComment: decision.approve ? null : decision.reason, updatedAt: sql`now()`,
      }).where(and(eq(inboxReplies.id, replyId), eq(inboxReplies.workspaceId, workspaceId), eq(inboxReplies.kind, 'reply'), eq(inboxReplies.state, 'pending_approval')))
        .returning({ id: inboxReplies.id, conversationId: inboxReplies.conversationId });
      if (!row) {
        const [now] = await tx.select({ state: inboxReplies.state }).from(inboxReplies)
          .where(and(eq(inboxReplies.id, replyId), eq(inboxReplies.workspaceId, workspaceId), eq(inboxReplies.kind, 'reply')));
        if (!now) throw new NotFound('NOT_FOUND', 'No such reply in this workspace.');
        throw new Conflict('NOT_PENDING_APPROVAL', `This reply is ${now.state.replace('_', ' ')}, not waiting for approval; nothing was changed.`);
      }
      if (decision.approve) await enqueueReply(tx, row.id, new Date());
      await audit(tx, {
        action: decision.approve ? 'inbox.reply.approved' : 'inbox.reply.rejected', workspaceId, targetType: 'inbox_conversation', targetId: row.conversationId,
        details: { replyId: row.id, ...(decision.approve ? {} : { reason: decision.reason.slice(0, 300) }) }, ...actor,
      });
      return (await this.list(workspaceId, row.conversationId, tx, row.id))[0]!;
    });
    this.d.live?.publish(workspaceId, [{ type: 'reply', conversationId: reply.conversationId, replyId: reply.id, state: reply.state }]);
    return reply;
  }

  /** The workspace's replies waiting for approval, oldest first (at most PENDING_LISTED). */
  async pending(workspaceId: string): Promise<Reply[]> {
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select r.*, u.name as author_name, v.name as reviewer_name from ${inboxReplies} r left join users u on u.id = r.author_id left join users v on v.id = r.reviewed_by
       where r.workspace_id = ${workspaceId} and r.state = 'pending_approval'
       order by r.created_at, r.id limit ${PENDING_LISTED}`);
    return res.rows.map(replyOf);
  }

  /** The conversation's replies, oldest first (or the one with `id`). */
  async list(workspaceId: string, conversationId: string, db: Pick<Db, 'execute'> = this.d.db, id?: string): Promise<Reply[]> {
    const res = await db.execute<Record<string, unknown>>(sql`
      select r.*, u.name as author_name, v.name as reviewer_name from ${inboxReplies} r left join users u on u.id = r.author_id left join users v on v.id = r.reviewed_by
       where r.conversation_id = ${conversationId} and r.workspace_id = ${workspaceId} and r.kind = 'reply' ${id ? sql`and r.id = ${id}` : sql``}
       order by r.created_at, r.id limit ${REPLIES_MAX}`);
    return res.rows.map(replyOf);
  }

  /** One reply of the conversation. */
  async one(workspaceId: string, conversationId: string, replyId: string): Promise<Reply> {
    const [r] = await this.list(workspaceId, conversationId, this.d.db, replyId);
    if (!r) throw new NotFound('NOT_FOUND', 'No such reply in this conversation.');
    return r;
  }
}

/** The reply's text against the network's rules (as posts/validate.ts counts a post's text), or null when it fits. */
export function textProblem(displayName: string, provider: string, limits: ProviderLimits, text: string): { message: string; length: number } | null {
  const length = countText(limits.textCounting, text);
  if (text.trim() === '') return { message: 'body.text is empty; write the reply.', length };
  if (length > limits.maxTextLength) return { message: `${displayName} allows ${limits.maxTextLength} characters as it counts them; this reply is ${length} (${length - limits.maxTextLength} too many).`, length };
  if (provider === 'bluesky') {
    const p = blueskyTextProblem(text);
    if (p) return { message: `Bluesky: ${p}.`, length };
  }
  return null;
}

function replyOf(r: Record<string, unknown>): Reply {
  return {
    id: String(r.id), conversationId: String(r.conversation_id), messageId: str(r.message_id), parentRemoteId: String(r.parent_remote_id), text: String(r.text),
    state: r.state as ReplyState, author: { id: str(r.author_id), name: str(r.author_name) }, remoteId: str(r.remote_id), url: str(r.remote_url),
    error: r.error_class ? { class: String(r.error_class), message: String(r.error_message ?? ''), status: r.network_status === null || r.network_status === undefined ? null : Number(r.network_status) } : null,
    attempts: Number(r.attempts), createdAt: date(r.created_at), publishedAt: r.published_at ? date(r.published_at) : null,
    review: r.reviewed_at ? { by: { id: str(r.reviewed_by), name: str(r.reviewer_name) }, at: date(r.reviewed_at), comment: str(r.review_comment) } : null,
  };
}

/** Whether the workspace holds replies of members who may not approve for approval (its requireReplyApproval setting). */
async function requiresReplyApproval(tx: Pick<Db, 'select'>, workspaceId: string): Promise<boolean> {
  const [ws] = await tx.select({ settings: workspaces.settings }).from(workspaces).where(eq(workspaces.id, workspaceId));
  return ws?.settings?.requireReplyApproval === true;
}
