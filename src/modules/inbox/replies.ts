// Answering a collected message from AllIN (docs/INBOX.md, Answering): the reply is checked by the
// network's own rules with the server's counting code, written down as a row (queued) and its sending
// job added in the same transaction; reply-sender.ts sends it exactly once. The conversation shows each
// reply with its author and state.
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
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

export class InboxReplies {
  constructor(private readonly d: { db: Db; registry: ProviderRegistry; live?: InboxLive }) {}

  /** Queues a reply to `messageId` of the conversation, checked by the network's limits; its job sends it. */
  async create(workspaceId: string, conversationId: string, input: { messageId: string; text: string }, authorId: string | null, actor: Actor): Promise<Reply> {
    const reply = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      // The conversation's row serialises the count check of two replies queued at once.
      const [c] = await tx.select({ id: inboxConversations.id, rootRemoteId: inboxConversations.rootRemoteId }).from(inboxConversations)
        .where(and(eq(inboxConversations.id, conversationId), eq(inboxConversations.workspaceId, workspaceId))).for('no key update');
      if (!c) throw conversationNotFound();
      const [m] = await tx.select({
        id: inboxMessages.id, remoteId: inboxMessages.remoteId, deleted: inboxMessages.deleted, accountId: inboxMessages.accountId,
      }).from(inboxMessages).where(and(eq(inboxMessages.id, input.messageId), eq(inboxMessages.conversationId, conversationId)));
      if (!m) throw new NotFound('MESSAGE_NOT_FOUND', 'No such message in this conversation (body.messageId).', [{ field: 'body.messageId', message: 'not in this conversation' }]);
      if (m.deleted) throw new Conflict('MESSAGE_DELETED', 'The message was deleted on the network; it cannot be answered.');
      const [account] = await tx.select().from(socialAccounts).where(eq(socialAccounts.id, m.accountId));
      if (!account) throw conversationNotFound();
      const provider = this.d.registry.get(account.provider as ProviderId);
      if (!provider.meta.inbox?.actions?.includes('reply') || !provider.reply || !provider.findReply) {
        throw new Conflict('REPLY_NOT_SUPPORTED', `AllIN cannot answer on ${provider.meta.displayName} yet; answer on the network itself.`);
      }
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
        parentRemoteId: m.remoteId, rootRemoteId: c.rootRemoteId, authorId, text: input.text,
      }).returning();
      await enqueueReply(tx, row!.id, new Date());
      await audit(tx, { action: 'inbox.reply.queued', workspaceId, targetType: 'inbox_conversation', targetId: conversationId, details: { replyId: row!.id, messageId: m.id }, ...actor });
      return (await this.list(workspaceId, conversationId, tx, row!.id))[0]!;
    });
    this.d.live?.publish(workspaceId, [{ type: 'reply', conversationId, replyId: reply.id, state: reply.state }]);
    return reply;
  }

  /** The conversation's replies, oldest first (or the one with `id`). */
  async list(workspaceId: string, conversationId: string, db: Pick<Db, 'execute'> = this.d.db, id?: string): Promise<Reply[]> {
    const res = await db.execute<Record<string, unknown>>(sql`
      select r.*, u.name as author_name from ${inboxReplies} r left join users u on u.id = r.author_id
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
  };
}
