// "Someone is replying": a member with the reply box of a conversation open says so (PUT …/replying), again
// every few seconds while it stays open; the conversation shows the others who are replying, so two members
// about to answer the same comment see each other before either sends. Presence is a short-lived key per
// member and conversation in the shared store (Redis; memory on one process): it may be lost, and it ends by
// itself when a member stops saying so (a closed tab, a dead connection). Sending a reply ends it.
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import { NotFound } from '../../domain/errors.ts';
import { memberships } from '../workspaces/schema.ts';
import { users } from '../auth/schema.ts';
import { inboxMessages } from './schema.ts';
import type { InboxLive } from './live.ts';
import type { InboxReader } from './read.ts';

/** How long a signal lasts: the web app repeats it every PRESENCE_TTL_MS / 3 while the reply box is open. */
export const PRESENCE_TTL_MS = 20_000;
/** Roles that can answer, hence can be replying (inbox.write). */
const ANSWERING_ROLES = ['owner', 'admin', 'editor'] as const;

export interface Replying {
  userId: string;
  name: string | null;
  /** The message they are answering, when they said. */
  messageId: string | null;
  /** When this member started replying (kept across the repeated signals). */
  since: Date;
}

const keyOf = (conversationId: string, userId: string) => `inbox-replying:${conversationId}:${userId}`;

export class InboxPresence {
  constructor(private readonly d: { db: Db; store: KeyValueStore; reader: InboxReader; live?: InboxLive }) {}

  /** The member is replying (to `messageId`) now; tells the open Inbox screens when they just started. */
  async replying(workspaceId: string, conversationId: string, userId: string, messageId: string | null): Promise<void> {
    await this.d.reader.assertExists(workspaceId, conversationId);
    if (messageId) {
      const [m] = await this.d.db.select({ id: inboxMessages.id }).from(inboxMessages)
        .where(and(eq(inboxMessages.id, messageId), eq(inboxMessages.conversationId, conversationId)));
      if (!m) throw new NotFound('MESSAGE_NOT_FOUND', 'No such message in this conversation (body.messageId).', [{ field: 'body.messageId', message: 'not in this conversation' }]);
    }
    const key = keyOf(conversationId, userId);
    const before = parse(await this.d.store.get(key));
    const since = before && before.messageId === messageId ? before.since : new Date();
    await this.d.store.set(key, JSON.stringify({ messageId, since: since.toISOString() }), PRESENCE_TTL_MS);
    if (!before || before.messageId !== messageId) this.tell(workspaceId, conversationId);
  }

  /** The member stopped replying (closed the box, or sent). */
  async stopped(workspaceId: string, conversationId: string, userId: string): Promise<void> {
    const key = keyOf(conversationId, userId);
    if ((await this.d.store.getDel(key)) !== null) this.tell(workspaceId, conversationId);
  }

  /** The members replying in the conversation now, but `except` (the caller), first to start first. */
  async who(workspaceId: string, conversationId: string, except: string | null): Promise<Replying[]> {
    const members = await this.d.db.select({ userId: memberships.userId, name: users.name }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.workspaceId, workspaceId), inArray(memberships.role, [...ANSWERING_ROLES])));
    const others = members.filter((m) => m.userId !== except);
    if (others.length === 0) return [];
    const values = await this.d.store.getMany(others.map((m) => keyOf(conversationId, m.userId)));
    const out: Replying[] = [];
    others.forEach((m, i) => {
      const p = parse(values[i] ?? null);
      if (p) out.push({ userId: m.userId, name: m.name, messageId: p.messageId, since: p.since });
    });
    return out.sort((a, b) => a.since.getTime() - b.since.getTime());
  }

  private tell(workspaceId: string, conversationId: string): void {
    this.d.live?.publish(workspaceId, [{ type: 'conversation.changed', conversationId, changes: ['replying'] }]);
  }
}

function parse(v: string | null): { messageId: string | null; since: Date } | null {
  if (!v) return null;
  try {
    const o = JSON.parse(v) as { messageId?: unknown; since?: unknown };
    const since = new Date(String(o.since));
    return Number.isNaN(since.getTime()) ? null : { messageId: typeof o.messageId === 'string' ? o.messageId : null, since };
  } catch {
    return null;
  }
}
