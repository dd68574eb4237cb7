// Internal notes on a conversation: for the team, never sent to the network. Any member who may act in the
// inbox adds and deletes them (the audit log says who did); a conversation holds at most NOTES_MAX.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { Conflict, Invalid, NotFound } from '../../domain/errors.ts';
import { audit } from '../audit/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { inboxConversations, inboxNotes } from './schema.ts';
import { conversationNotFound, NOTES_MAX, type Note } from './read.ts';
import type { Actor } from './triage.ts';
import type { InboxLive } from './live.ts';

export const NOTE_MAX_CHARS = 5000;

export class InboxNotes {
  constructor(private readonly d: { db: Db; live?: InboxLive }) {}

  async add(workspaceId: string, conversationId: string, authorId: string | null, text: string, actor: Actor): Promise<Note> {
    const clean = text.trim();
    if (!clean) throw new Invalid('VALIDATION_FAILED', 'body.text must not be blank.', [{ field: 'body.text', message: 'blank' }]);
    const note = await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      // The conversation's row serialises the count check of two notes added at once.
      const [c] = await tx.select({ id: inboxConversations.id }).from(inboxConversations)
        .where(and(eq(inboxConversations.id, conversationId), eq(inboxConversations.workspaceId, workspaceId))).for('no key update');
      if (!c) throw conversationNotFound();
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(inboxNotes).where(eq(inboxNotes.conversationId, conversationId));
      if (n >= NOTES_MAX) throw new Conflict('TOO_MANY_NOTES', `A conversation holds at most ${NOTES_MAX} notes; delete old ones first.`);
      const [row] = await tx.insert(inboxNotes).values({ id: randomUUID(), workspaceId, conversationId, authorId, text: clean }).returning();
      await audit(tx, { action: 'inbox.note.created', workspaceId, targetType: 'inbox_conversation', targetId: conversationId, details: { noteId: row!.id }, ...actor });
      return { id: row!.id, text: row!.text, authorId: row!.authorId, authorName: null, createdAt: row!.createdAt };
    });
    this.d.live?.publish(workspaceId, [{ type: 'conversation.changed', conversationId, changes: ['notes'] }]);
    return note;
  }

  async delete(workspaceId: string, conversationId: string, noteId: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [gone] = await tx.delete(inboxNotes)
        .where(and(eq(inboxNotes.id, noteId), eq(inboxNotes.conversationId, conversationId), eq(inboxNotes.workspaceId, workspaceId)))
        .returning({ id: inboxNotes.id, authorId: inboxNotes.authorId });
      if (!gone) throw new NotFound('NOT_FOUND', 'No such note on this conversation.');
      await audit(tx, { action: 'inbox.note.deleted', workspaceId, targetType: 'inbox_conversation', targetId: conversationId, details: { noteId, authorId: gone.authorId }, ...actor });
    });
    this.d.live?.publish(workspaceId, [{ type: 'conversation.changed', conversationId, changes: ['notes'] }]);
  }
}
