// What AllIN can do to one collected message (docs/INBOX.md, Acting on a message and Answering): the one set of
// rules the API enforces (replies.ts, actions.ts answer 409 with the refusal's code) and the conversation shows
// (each message's `can`), so the web app never offers what the API would refuse. A network declares its actions
// (meta.inbox.actions) and, for mentions (someone else's thread), the ones its API allows there (mentionActions);
// a message the network will not let the account answer (Instagram: a medium it is only tagged in) says so.
import { Conflict } from '../../domain/errors.ts';
import { MESSAGE_ACTIONS, type InboxAction, type Provider } from '../../providers/types.ts';
import type { ConversationKind, Direction } from './schema.ts';

export const INBOX_ACTIONS = ['reply', ...MESSAGE_ACTIONS] as const satisfies readonly InboxAction[];

export interface MessageFacts {
  direction: Direction;
  deleted: boolean;
  /** False when the network does not let the account answer it (inbox_messages.answerable). */
  answerable: boolean;
}

/** Why an action is refused: the 409's code and message. */
export interface Refusal {
  code: string;
  message: string;
}

const VERB: Record<InboxAction, string> = { reply: 'answer', like: 'like', unlike: 'unlike', hide: 'hide', unhide: 'show again', delete: 'delete' };

/** Whether the adapter backs the action with its methods (a declaration without them is refused too). */
function implemented(p: Provider, a: InboxAction): boolean {
  return a === 'reply' ? !!p.reply && !!p.findReply : !!p[a] && !!p.messageState;
}

/** Null when `action` may be done to the message, or why not. */
export function refusalOf(p: Provider, kind: ConversationKind, m: MessageFacts, action: InboxAction): Refusal | null {
  const inbox = p.meta.inbox;
  const name = p.meta.displayName;
  if (!inbox?.actions?.includes(action) || !implemented(p, action)) {
    return action === 'reply'
      ? { code: 'REPLY_NOT_SUPPORTED', message: `AllIN cannot answer on ${name} yet; answer on the network itself.` }
      : { code: 'ACTION_NOT_SUPPORTED', message: `AllIN cannot ${VERB[action]} a message on ${name}; do it on the network itself.` };
  }
  if (m.deleted) return { code: 'MESSAGE_DELETED', message: `The message was deleted on the network; it cannot be ${action === 'reply' ? 'answered' : 'acted on'}.` };
  const ownPostReply = m.direction === 'inbound' && kind === 'post_thread';
  if (action === 'hide' || action === 'unhide') {
    if (!ownPostReply) {
      return { code: 'CANNOT_HIDE', message: `Only replies by others under the account's own post can be hidden on ${name}; this message is ${m.direction === 'outbound' ? 'the account\'s own' : 'in a thread of someone else (a mention)'}.` };
    }
    return null;
  }
  if (kind === 'mention' && !(inbox.mentionActions ?? inbox.actions).includes(action)) {
    return action === 'reply'
      ? { code: 'CANNOT_REPLY', message: `${name}'s API does not let AllIN answer in a thread of someone else (a mention); answer on the network itself.` }
      : { code: 'ACTION_NOT_SUPPORTED', message: `${name}'s API does not let AllIN ${VERB[action]} a message in a thread of someone else (a mention); do it on the network itself.` };
  }
  if (action === 'reply') {
    if (!m.answerable) return { code: 'CANNOT_REPLY', message: inbox.unanswerable ?? `${name} does not let the account answer this message; answer on the network itself.` };
    if (kind === 'mention' && m.direction === 'outbound') return { code: 'CANNOT_REPLY', message: 'This is the account\'s own answer in someone else\'s thread; answer the mention itself.' };
    return null;
  }
  if (action === 'delete' && m.direction !== 'outbound' && !(inbox.deletes === 'own_and_comments' && ownPostReply)) {
    return {
      code: 'CANNOT_DELETE', message: inbox.deletes === 'own_and_comments'
        ? `${name} lets the account delete its own messages and comments under its own posts; this message is neither.`
        : `${name} lets the account delete only its own messages; hide it or answer it instead.`,
    };
  }
  return null;
}

/** Throws the refusal as a 409, when there is one. */
export function assertCan(p: Provider, kind: ConversationKind, m: MessageFacts, action: InboxAction): void {
  const r = refusalOf(p, kind, m, action);
  if (r) throw new Conflict(r.code, r.message);
}

/** Each action's answer for the message: what the conversation shows as `can`. */
export function capabilitiesOf(p: Provider, kind: ConversationKind, m: MessageFacts): Record<InboxAction, boolean> {
  return Object.fromEntries(INBOX_ACTIONS.map((a) => [a, refusalOf(p, kind, m, a) === null])) as Record<InboxAction, boolean>;
}
