// What the writing assistant needs to suggest a reply (docs/ASSISTANT.md, *Suggested replies*): the
// conversation's latest messages, the message answered, the workspace's saved replies, and the account's
// network with the check a reply must pass (the same as InboxReplies.create). Read-only: it queues nothing.
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { NotFound } from '../../domain/errors.ts';
import type { ProviderId, ProviderLimits } from '../../providers/types.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { socialAccounts } from '../accounts/index.ts';
import { conversationNotFound } from './read.ts';
import { textProblem } from './replies.ts';
import { inboxConversations, inboxMessages, inboxSavedReplies } from './schema.ts';

/** The latest messages given to the model: enough for the thread, bounded for tokens. */
const CONTEXT_MESSAGES = 20;
const CONTEXT_SAVED_REPLIES = 20;

export interface ReplyContext {
  accountId: string;
  provider: string;
  /** "Mastodon (@shop)". */
  networkName: string;
  maxLength: number;
  /** Oldest first; `ours` for what the account itself wrote. */
  messages: { from: string; ours: boolean; text: string }[];
  answering: { id: string; from: string; text: string };
  savedReplies: { name: string; text: string }[];
  /** Why `text` cannot be sent as a reply here, or null when it fits. */
  problem(text: string): string | null;
}

export async function replyContext(d: { db: Db; registry: ProviderRegistry }, workspaceId: string, conversationId: string, messageId?: string): Promise<ReplyContext> {
  const [c] = await d.db.select({ id: inboxConversations.id, accountId: inboxConversations.accountId }).from(inboxConversations)
    .where(and(eq(inboxConversations.id, conversationId), eq(inboxConversations.workspaceId, workspaceId)));
  if (!c) throw conversationNotFound();
  const rows = (await d.db.select({
    id: inboxMessages.id, text: inboxMessages.text, direction: inboxMessages.direction, deleted: inboxMessages.deleted,
    authorName: inboxMessages.authorName, authorHandle: inboxMessages.authorHandle,
  }).from(inboxMessages).where(and(eq(inboxMessages.conversationId, conversationId), eq(inboxMessages.workspaceId, workspaceId)))
    .orderBy(desc(inboxMessages.createdOnNetwork), desc(inboxMessages.id)).limit(CONTEXT_MESSAGES)).reverse();
  const from = (r: (typeof rows)[number]) => r.authorName ?? r.authorHandle ?? 'someone';
  let answered = messageId ? rows.find((r) => r.id === messageId) : [...rows].reverse().find((r) => r.direction === 'inbound' && !r.deleted);
  if (messageId && !answered) {
    // An older message than the latest CONTEXT_MESSAGES: read it alone.
    [answered] = await d.db.select({
      id: inboxMessages.id, text: inboxMessages.text, direction: inboxMessages.direction, deleted: inboxMessages.deleted,
      authorName: inboxMessages.authorName, authorHandle: inboxMessages.authorHandle,
    }).from(inboxMessages).where(and(eq(inboxMessages.id, messageId), eq(inboxMessages.conversationId, conversationId), eq(inboxMessages.workspaceId, workspaceId)));
  }
  if (!answered) {
    throw new NotFound('MESSAGE_NOT_FOUND', messageId ? 'No such message in this conversation (body.messageId).' : 'This conversation has no message to answer.',
      [{ field: 'body.messageId', message: 'not in this conversation' }]);
  }
  const [account] = await d.db.select().from(socialAccounts).where(eq(socialAccounts.id, c.accountId));
  if (!account) throw conversationNotFound();
  const provider = d.registry.get(account.provider as ProviderId);
  const limits = (account.data as { limits?: ProviderLimits }).limits ?? provider.meta.limits;
  const saved = await d.db.select({ name: inboxSavedReplies.name, text: inboxSavedReplies.text }).from(inboxSavedReplies)
    .where(eq(inboxSavedReplies.workspaceId, workspaceId)).orderBy(inboxSavedReplies.name).limit(CONTEXT_SAVED_REPLIES);
  return {
    accountId: account.id, provider: account.provider, networkName: `${provider.meta.displayName} (${account.username})`, maxLength: limits.maxTextLength,
    messages: rows.filter((r) => !r.deleted).map((r) => ({ from: from(r), ours: r.direction !== 'inbound', text: r.text })),
    answering: { id: answered.id, from: from(answered), text: answered.text },
    savedReplies: saved,
    problem: (text) => textProblem(provider.meta.displayName, account.provider, limits, text)?.message ?? null,
  };
}
