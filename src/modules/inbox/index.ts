// The inbox module's public surface: the service the composition root builds, its task, its routes.
export { InboxService, collectInboxTask, sendInboxReplyTask, INBOX_READ_BUDGETS } from './service.ts';
export { COLLECT_INBOX_TASK, SEND_INBOX_REPLY_TASK } from './jobs.ts';
export { RESOLVE_INBOX_PUSH_TASK, resolveInboxPushTask } from './push.ts';
export { collectInboxMetrics } from './metrics.ts';
export { inboxRoutes } from './routes.ts';
export { metaWebhookRoutes } from './routes/meta-webhooks.ts';
// What the MCP tools share with the inbox routes: the request schemas and how conversations, messages and replies are shown.
export { presentConversation, presentMessage, presentReply } from './routes/common.ts';
export { ListQuery as ConversationListQuery, conversationView, listConversations } from './routes/conversations.ts';
export { ReplyBody } from './routes/replies.ts';
// What the writing assistant reads to suggest a reply (read-only).
export { replyContext, type ReplyContext } from './reply-context.ts';
