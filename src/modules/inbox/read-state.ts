// What each member has read. A conversation counts its inbound messages as they arrive (inbound_seq);
// marking it read keeps the count the member saw, so a message that arrives later, whatever its time on the
// network and however late it was collected, makes the conversation unread again.
import { sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { inboxReadState } from './schema.ts';
import { conversationNotFound } from './read.ts';
import type { InboxLive } from './live.ts';

export class InboxReadState {
  constructor(private readonly d: { db: Db; live?: InboxLive }) {}

  async markRead(workspaceId: string, conversationId: string, userId: string): Promise<void> {
    const res = await this.d.db.execute(sql`
      insert into ${inboxReadState} (user_id, conversation_id, workspace_id, seen_inbound_seq, read_at)
      select ${userId}, c.id, c.workspace_id, c.inbound_seq, now() from inbox_conversations c where c.id = ${conversationId} and c.workspace_id = ${workspaceId}
      on conflict (user_id, conversation_id) do update set seen_inbound_seq = greatest(${inboxReadState}.seen_inbound_seq, excluded.seen_inbound_seq), read_at = now()`);
    if ((res.rowCount ?? 0) === 0) throw conversationNotFound();
    this.d.live?.publish(workspaceId, [{ type: 'conversation.changed', conversationId, changes: ['read'], userId }]);
  }

  async markUnread(workspaceId: string, conversationId: string, userId: string): Promise<void> {
    const res = await this.d.db.execute(sql`select 1 from inbox_conversations where id = ${conversationId} and workspace_id = ${workspaceId}`);
    if (res.rows.length === 0) throw conversationNotFound();
    await this.d.db.execute(sql`delete from ${inboxReadState} where user_id = ${userId} and conversation_id = ${conversationId}`);
    this.d.live?.publish(workspaceId, [{ type: 'conversation.changed', conversationId, changes: ['read'], userId }]);
  }
}
