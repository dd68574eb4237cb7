// Live updates of a workspace's inbox, for its open Inbox screens (the events stream, routes/events.ts): each
// change, once committed, is told on the workspace's channel, which every API process listening for that
// workspace hears (infra/stores/channels.ts: Redis pub/sub, or this process alone). An event says what
// changed and where, not the content: the screen reads that through the API, with the caller's own rights.
// Events are hints, told at most once: a stream that may have missed some is told to read again (`resync`).
import type { Channels } from '../../infra/stores/channels.ts';
import type { Logger } from '../../infra/logger.ts';

export type ConversationChange = 'state' | 'assignee' | 'labels' | 'read' | 'notes' | 'messages' | 'replying';

export type LiveEvent =
  /** Messages stored for the first time in a conversation (collected, or our published reply's copy). */
  | { type: 'message.created'; conversationId: string; accountId: string; messageIds: string[]; inbound: number }
  /** A conversation's state, assignee, labels, notes or messages (edited, deleted, hidden) changed; `read`: the member `userId` marked it read or unread. */
  | { type: 'conversation.changed'; conversationId: string; changes: ConversationChange[]; userId?: string }
  /** A reply written in AllIN was queued or reached an outcome. */
  | { type: 'reply'; conversationId: string; replyId: string; state: string }
  /** An action on a message (like, unlike, hide, unhide, delete) was queued or reached an outcome (done: the message shows it). */
  | { type: 'action'; conversationId: string; actionId: string; action: string; messageId: string | null; state: string };

export type LiveEventType = LiveEvent['type'];

const channelOf = (workspaceId: string) => `inbox:${workspaceId}`;

export interface InboxLiveListener {
  event(e: LiveEvent): void;
  /** Events may have been missed: read everything again. */
  resync(): void;
}

export class InboxLive {
  constructor(private readonly d: { channels: Channels; log: Logger }) {}

  /** Tells the workspace's listeners; call after the change is committed. Never throws, never waits for the listeners. */
  publish(workspaceId: string, events: LiveEvent[]): void {
    if (events.length === 0) return;
    void this.d.channels.publish(channelOf(workspaceId), JSON.stringify(events));
  }

  /** Listens to a workspace's events; the returned function stops. Throws when the channel cannot be listened to now. */
  subscribe(workspaceId: string, listener: InboxLiveListener): Promise<() => Promise<void>> {
    return this.d.channels.subscribe(channelOf(workspaceId), {
      message: (payload) => {
        let events: LiveEvent[];
        try {
          events = JSON.parse(payload) as LiveEvent[];
        } catch {
          this.d.log.warn('an unreadable inbox live update was ignored');
          return;
        }
        for (const e of events) listener.event(e);
      },
      gap: () => listener.resync(),
    });
  }
}
