// The inbox module's public surface: the service the composition root builds, its task, its routes.
export { InboxService, collectInboxTask, sendInboxReplyTask, INBOX_READ_BUDGETS } from './service.ts';
export { COLLECT_INBOX_TASK, SEND_INBOX_REPLY_TASK } from './jobs.ts';
export { collectInboxMetrics } from './metrics.ts';
export { inboxRoutes } from './routes.ts';
export { metaWebhookRoutes } from './routes/meta-webhooks.ts';
