// Acting on a message from AllIN: like, unlike, hide, show again (unhide), delete. Each is queued (202) and
// done exactly once by the sending job (docs/INBOX.md, Acting on a message); its state is read back here or
// in the conversation (actions). inbox.write acts; inbox.read reads.
import { Type } from 'typebox';
import { MESSAGE_ACTIONS, type MessageAction } from '../../../providers/types.ts';
import { auditActor } from '../../workspaces/index.ts';
import { Uuid, errors } from '../../workspaces/index.ts';
import { ActionSchema, BASE, presentAction, tags, userIdOf, type InboxApp, type InboxRouteKit } from './common.ts';

const SUMMARY: Record<MessageAction, string> = {
  like: 'Like the message as the conversation\'s account',
  unlike: 'Take the account\'s like of the message back',
  hide: 'Hide a reply under the account\'s own post from the public',
  unhide: 'Show a hidden reply again',
  delete: 'Delete the message on the network (the account\'s own; on some networks also comments under its own posts)',
};

export function actionRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read, write } = k;
  const params = Type.Object({ workspaceId: Uuid('Workspace id'), messageId: Uuid('Message id (GET …/conversations/{id} lists them)') });

  for (const action of MESSAGE_ACTIONS) {
    app.post(`${BASE}/messages/:messageId/${action}`, {
      preHandler: write,
      schema: {
        tags, summary: SUMMARY[action],
        description: 'Queued (202) and done once by a job, with the guarantees of a reply: a try whose answer never came is settled by reading the message\'s '
          + 'state back from the network before anything is sent again, and one that cannot be settled is `unknown`. The message shows the result once done '
          + '(liked, hidden, deleted). 409 ACTION_NOT_SUPPORTED: the network has no such call (docs/INBOX.md says which has which); 409 CANNOT_HIDE, '
          + 'CANNOT_DELETE: not this message; 409 ACTION_PENDING: another action on it is still being sent; 409 MESSAGE_DELETED; 409 ACCOUNT_NEEDS_RECONNECT.',
        params,
        response: { 202: ActionSchema, ...errors(400, 401, 403, 404, 409, 429) },
      },
    }, async (req, reply) => {
      const a = await d.inbox.actions.create(req.params.workspaceId, req.params.messageId.toLowerCase(), action, userIdOf(req), auditActor(req));
      reply.status(202);
      return presentAction(a);
    });
  }

  app.get(`${BASE}/actions/:actionId`, {
    preHandler: read,
    schema: {
      tags, summary: 'One action on a message, with its state',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), actionId: Uuid('Action id') }),
      response: { 200: ActionSchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => presentAction(await d.inbox.actions.one(req.params.workspaceId, req.params.actionId.toLowerCase())));
}
