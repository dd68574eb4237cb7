// Answering from AllIN: a reply to one message of a conversation, queued and sent exactly once by its job
// (docs/INBOX.md, Answering), and one reply's state. inbox.write answers; inbox.read reads.
import { Type } from 'typebox';
import { auditActor } from '../../workspaces/index.ts';
import { Uuid, errors } from '../../workspaces/index.ts';
import { BASE, ConversationParams, ReplySchema, presentReply, tags, userIdOf, type InboxApp, type InboxRouteKit } from './common.ts';

/** A bound far above every network's limit (Mastodon forks allow a few thousand), so the network's own rule speaks. */
const REPLY_MAX_CHARS = 20_000;

export function replyRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read, write } = k;
  const one = `${BASE}/conversations/:conversationId`;

  app.post(`${one}/replies`, {
    preHandler: write,
    schema: {
      tags, summary: 'Answer a message of the conversation, as the conversation\'s account',
      description: 'The text is checked by the network\'s own rules as the server counts them (422 REPLY_INVALID says by how much it is over); '
        + 'the reply is then queued (202) and sent once by a job, with the same guarantees as publishing: a try whose answer never came is looked for '
        + 'on the network before anything is sent again, and a reply that may or may not have arrived is `unknown`, never sent twice. '
        + 'Follow its state in GET …/conversations/{id} (replies) or GET …/replies/{replyId}. 409 REPLY_NOT_SUPPORTED: AllIN cannot answer on this network yet; '
        + '409 MESSAGE_DELETED: the message is gone; 409 ACCOUNT_NEEDS_RECONNECT.',
      params: ConversationParams,
      body: Type.Object({
        messageId: Uuid('The message answered (one of the conversation\'s messages)'),
        text: Type.String({ minLength: 1, maxLength: REPLY_MAX_CHARS, description: 'The reply, within the network\'s limit (GET /api/networks)' }),
      }, { additionalProperties: false }),
      response: { 202: ReplySchema, ...errors(400, 401, 403, 404, 409, 422, 429) },
    },
  }, async (req, reply) => {
    const r = await d.inbox.replies.create(req.params.workspaceId, req.params.conversationId, { messageId: req.body.messageId.toLowerCase(), text: req.body.text }, userIdOf(req), auditActor(req));
    reply.status(202);
    return presentReply(r);
  });

  app.get(`${one}/replies/:replyId`, {
    preHandler: read,
    schema: {
      tags, summary: 'One reply written in AllIN, with its state',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), conversationId: Uuid('Conversation id'), replyId: Uuid('Reply id') }),
      response: { 200: ReplySchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => presentReply(await d.inbox.replies.one(req.params.workspaceId, req.params.conversationId, req.params.replyId)));
}
