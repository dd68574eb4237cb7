// Answering from AllIN: a reply to one message of a conversation, queued and sent exactly once by its job
// (docs/INBOX.md, Answering), and one reply's state; where the workspace requires approval of replies, the
// list waiting for it, approving and rejecting. inbox.write answers; inbox.read reads; inbox.approve decides.
import { Type } from 'typebox';
import { accessOf, auditActor } from '../../workspaces/index.ts';
import { PENDING_LISTED } from '../replies.ts';
import { UnprocessableContent } from '../../../domain/errors.ts';
import { Uuid, errors } from '../../workspaces/index.ts';
import { BASE, ConversationParams, ReplySchema, presentReply, tags, userIdOf, type InboxApp, type InboxRouteKit } from './common.ts';

const REASON_MAX_CHARS = 1000;

/** A bound far above every network's limit (Mastodon forks allow a few thousand), so the network's own rule speaks. */
const REPLY_MAX_CHARS = 20_000;

export const ReplyBody = Type.Object({
  messageId: Uuid('The message answered (one of the conversation\'s messages)'),
  text: Type.String({ minLength: 1, maxLength: REPLY_MAX_CHARS, description: 'The reply, within the network\'s limit (GET /api/networks)' }),
}, { additionalProperties: false });

export function replyRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read, write, approve } = k;
  const one = `${BASE}/conversations/:conversationId`;

  app.post(`${one}/replies`, {
    preHandler: write,
    schema: {
      tags, summary: 'Answer a message of the conversation, as the conversation\'s account',
      description: 'The text is checked by the network\'s own rules as the server counts them (422 REPLY_INVALID says by how much it is over); '
        + 'the reply is then queued (202) and sent once by a job, with the same guarantees as publishing: a try whose answer never came is looked for '
        + 'on the network before anything is sent again, and a reply that may or may not have arrived is `unknown`, never sent twice. '
        + 'Follow its state in GET …/conversations/{id} (replies) or GET …/replies/{replyId}. 409 REPLY_NOT_SUPPORTED: AllIN cannot answer on this network yet; '
        + '409 MESSAGE_DELETED: the message is gone; 409 ACCOUNT_NEEDS_RECONNECT. Where the workspace requires approval of replies '
        + '(settings.requireReplyApproval), a reply by a member without inbox.approve is `pending_approval` instead, and is sent once an owner or admin approves it.',
      params: ConversationParams,
      body: ReplyBody,
      response: { 202: ReplySchema, ...errors(400, 401, 403, 404, 409, 422, 429) },
    },
  }, async (req, reply) => {
    const r = await d.inbox.replies.create(req.params.workspaceId, req.params.conversationId, { messageId: req.body.messageId.toLowerCase(), text: req.body.text }, userIdOf(req),
      { ...auditActor(req), mayApprove: accessOf(req).permissions.has('inbox.approve') });
    // Sent (or submitted): the author no longer has the reply box open.
    const author = userIdOf(req);
    if (author) await d.inbox.presence.stopped(req.params.workspaceId, req.params.conversationId, author);
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

  app.get(`${BASE}/replies/pending`, {
    preHandler: approve,
    schema: {
      tags, summary: 'Replies waiting for approval, oldest first',
      description: `The workspace's replies written by members who may not approve, while it requires approval of replies (at most ${PENDING_LISTED}, the oldest first). Owners and admins.`,
      params: Type.Object({ workspaceId: Uuid('Workspace id') }),
      response: { 200: Type.Object({ replies: Type.Array(Type.Object({ ...ReplySchema.properties, conversationId: Type.String({ format: 'uuid' }) })) }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => ({ replies: (await d.inbox.replies.pending(req.params.workspaceId)).map((r) => ({ ...presentReply(r), conversationId: r.conversationId })) }));

  const ReviewParams = Type.Object({ workspaceId: Uuid('Workspace id'), replyId: Uuid('Reply id') });
  app.post(`${BASE}/replies/:replyId/approve`, {
    preHandler: approve,
    schema: {
      tags, summary: 'Approve a reply waiting for approval: it is queued and sent once',
      description: '409 NOT_PENDING_APPROVAL: it was already approved or rejected (by someone else, perhaps): nothing changed, nothing is sent again.',
      params: ReviewParams,
      response: { 200: ReplySchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req) => presentReply(await d.inbox.replies.review(req.params.workspaceId, req.params.replyId.toLowerCase(), { approve: true }, userIdOf(req), auditActor(req))));

  app.post(`${BASE}/replies/:replyId/reject`, {
    preHandler: approve,
    schema: {
      tags, summary: 'Reject a reply waiting for approval, with the reason: it is never sent',
      params: ReviewParams,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: REASON_MAX_CHARS, description: 'Why, for the member who wrote it' }) }, { additionalProperties: false }),
      response: { 200: ReplySchema, ...errors(400, 401, 403, 404, 409, 422, 429) },
    },
  }, async (req) => {
    const reason = req.body.reason.trim();
    if (!reason) throw new UnprocessableContent('REASON_REQUIRED', 'body.reason is blank; say why the reply is rejected.', [{ field: 'body.reason', message: 'blank' }]);
    return presentReply(await d.inbox.replies.review(req.params.workspaceId, req.params.replyId.toLowerCase(), { approve: false, reason }, userIdOf(req), auditActor(req)));
  });
}
