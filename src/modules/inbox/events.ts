// What the inbox tells the workspace's webhooks, and the shape of each event's data (docs/WEBHOOKS.md).
// Every event is written in the transaction that makes the change it reports: no event for a change that
// rolled back, no change without its event.
import type { DbOrTx } from '../../infra/db/client.ts';

export type InboxEvent = 'inbox.message.created' | 'inbox.conversation.assigned' | 'inbox.reply.published' | 'inbox.reply.failed' | 'inbox.reply.unknown'
  | 'inbox.action.done' | 'inbox.action.failed' | 'inbox.action.unknown';

/** The webhooks module's emitter, as the inbox uses it. */
export interface InboxEvents {
  emit(tx: DbOrTx, workspaceId: string, event: InboxEvent, data: Record<string, unknown>): Promise<void>;
  /** Many events of one kind in two statements (a page of messages, a bulk assignment). */
  emitMany(tx: DbOrTx, workspaceId: string, event: InboxEvent, data: Record<string, unknown>[]): Promise<void>;
}

/** Characters of a message's text an event carries; the whole text is read through the API. */
export const EXCERPT_MAX = 280;

/**
 * A message's first EXCERPT_MAX characters, cut on a code point (never half a surrogate pair), with an
 * ellipsis when something was left off.
 */
export function excerpt(text: string): string {
  const chars = [...text];
  return chars.length <= EXCERPT_MAX ? text : `${chars.slice(0, EXCERPT_MAX - 1).join('')}…`;
}

/**
 * Messages written on the network this long before AllIN began collecting a source can still be news:
 * they arrived between the account being connected and its collection starting (the scheduler's interval).
 */
export const BACKFILL_GRACE_MS = 3_600_000;

/**
 * From when collected messages are news (an inbox.message.created each) rather than history: when AllIN
 * began collecting the source (its cursor row), or the account's connection if that was shortly before.
 * A first collection brings the account's recent past (hundreds of comments); like Buffer or Hootsuite,
 * which show that history in the inbox without notifying anyone of it, AllIN stores it without events.
 */
export function newsSince(cursorCreatedAt: Date, accountConnectedAt: Date): Date {
  const earliest = cursorCreatedAt.getTime() - BACKFILL_GRACE_MS;
  return new Date(Math.min(cursorCreatedAt.getTime(), Math.max(accountConnectedAt.getTime(), earliest)));
}
