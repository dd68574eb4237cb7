// The inbox under a workspace (/api/workspaces/:workspaceId/inbox/…), one file per concern in routes/:
// conversations (list, one, messages, triage, read state, notes, saved reply rendering), labels and saved
// replies, what is collected per account, answering (replies), acting on a message (like, hide, delete), and the live events stream. inbox.read reads, inbox.write acts (docs/PERMISSIONS.md).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { inboxRouteKit, type InboxRouteDeps } from './routes/common.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { libraryRoutes } from './routes/library.ts';
import { sourceRoutes } from './routes/sources.ts';
import { replyRoutes } from './routes/replies.ts';
import { eventRoutes } from './routes/events.ts';
import { actionRoutes } from './routes/actions.ts';

export type { InboxRouteDeps } from './routes/common.ts';

export const inboxRoutes: FastifyPluginAsyncTypebox<InboxRouteDeps> = async (app, d) => {
  const k = inboxRouteKit(d);
  conversationRoutes(app, k);
  libraryRoutes(app, k);
  sourceRoutes(app, k);
  replyRoutes(app, k);
  eventRoutes(app, k);
  actionRoutes(app, k);
};
