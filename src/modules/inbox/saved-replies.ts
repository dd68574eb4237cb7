// Saved replies: a workspace's snippets for answering, with {variables} filled in from the conversation when
// one is rendered. The variables are VARIABLES' keys; a text naming any other {word} is refused when saved,
// so a snippet never goes out with a hole in it. Other braces are kept as they are.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../infra/db/client.ts';
import { Invalid, NotFound } from '../../domain/errors.ts';
import { audit } from '../audit/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { inboxSavedReplies } from './schema.ts';
import { assertRoom, cleanItemName, pageByName, uniqueName } from './named.ts';
import { conversationNotFound } from './read.ts';
import type { Actor } from './triage.ts';

export const SAVED_REPLIES_MAX = 500;
export const SAVED_REPLY_TEXT_MAX = 5000;

/** The variables a saved reply may use, and what each becomes. */
export const VARIABLES = {
  author_name: 'the name of the person answered (their handle when the network gives no name)',
  author_handle: 'the handle of the person answered, with @',
  account_name: 'the display name of the account that answers',
  account_handle: 'the handle of the account that answers, with @',
  member_name: 'the name of the member who answers',
} as const;
export type Variable = keyof typeof VARIABLES;

const TOKEN = /\{([a-z_]+)\}/g;

export interface SavedReply {
  id: string;
  name: string;
  text: string;
  variables: Variable[];
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const notFound = () => new NotFound('NOT_FOUND', 'No such saved reply in this workspace.');
const COLUMNS = sql`id, name, text, created_by, created_at, updated_at`;
const replyOf = (r: Record<string, unknown>): SavedReply => ({
  id: String(r.id), name: String(r.name), text: String(r.text), variables: variablesIn(String(r.text)),
  createdBy: r.created_by === null ? null : String(r.created_by), createdAt: new Date(r.created_at as Date), updatedAt: new Date(r.updated_at as Date),
});

/** The variables a text uses, in order of first use. */
export function variablesIn(text: string): Variable[] {
  return [...new Set([...text.matchAll(TOKEN)].map((m) => m[1]!))].filter((v): v is Variable => v in VARIABLES);
}

/** A saved reply's text as stored: trimmed, not blank, naming no variable that does not exist. */
export function checkText(text: string): string {
  const clean = text.trim();
  if (!clean) throw new Invalid('VALIDATION_FAILED', 'body.text must not be blank.', [{ field: 'body.text', message: 'blank' }]);
  const unknown = [...new Set([...clean.matchAll(TOKEN)].map((m) => m[1]!))].filter((v) => !(v in VARIABLES));
  if (unknown.length) {
    throw new Invalid('UNKNOWN_VARIABLE', `body.text uses {${unknown.join('}, {')}}, which AllIN cannot fill in; the variables are {${Object.keys(VARIABLES).join('}, {')}}.`,
      unknown.map((v) => ({ field: 'body.text', message: `unknown variable {${v}}` })));
  }
  return clean;
}

/** The text with every variable replaced; a variable without a value (a network that gives no handle) becomes empty and is named in `missing`. */
export function fill(text: string, values: Partial<Record<Variable, string | null>>): { text: string; missing: Variable[] } {
  const missing = new Set<Variable>();
  const out = text.replace(TOKEN, (whole, name: string) => {
    if (!(name in VARIABLES)) return whole;
    const v = values[name as Variable];
    if (v === null || v === undefined || v === '') {
      missing.add(name as Variable);
      return '';
    }
    return v;
  });
  return { text: out, missing: [...missing] };
}

export class InboxSavedReplies {
  constructor(private readonly d: { db: Db }) {}

  list(workspaceId: string, page: { limit: number; cursor?: string }) {
    return pageByName(this.d.db, inboxSavedReplies, workspaceId, page, COLUMNS, replyOf);
  }

  async get(workspaceId: string, id: string): Promise<SavedReply> {
    const res = await this.d.db.execute<Record<string, unknown>>(sql`select ${COLUMNS} from inbox_saved_replies where id = ${id} and workspace_id = ${workspaceId}`);
    if (!res.rows[0]) throw notFound();
    return replyOf(res.rows[0]);
  }

  async create(workspaceId: string, input: { name: string; text: string }, createdBy: string | null, actor: Actor): Promise<SavedReply> {
    const name = cleanItemName(input.name);
    const text = checkText(input.text);
    return uniqueName('a saved reply', name, () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      await assertRoom(tx, inboxSavedReplies, workspaceId, SAVED_REPLIES_MAX, 'saved replies');
      const [row] = await tx.insert(inboxSavedReplies).values({ id: randomUUID(), workspaceId, name, text, createdBy }).returning();
      await audit(tx, { action: 'inbox.saved_reply.created', workspaceId, targetType: 'inbox_saved_reply', targetId: row!.id, details: { name }, ...actor });
      return { ...row!, variables: variablesIn(text) };
    }));
  }

  async update(workspaceId: string, id: string, patch: { name?: string; text?: string }, actor: Actor): Promise<SavedReply> {
    const name = patch.name !== undefined ? cleanItemName(patch.name) : undefined;
    const text = patch.text !== undefined ? checkText(patch.text) : undefined;
    return uniqueName('a saved reply', name ?? '', () => this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.update(inboxSavedReplies).set({ ...(name !== undefined ? { name } : {}), ...(text !== undefined ? { text } : {}), updatedAt: sql`now()` })
        .where(and(eq(inboxSavedReplies.id, id), eq(inboxSavedReplies.workspaceId, workspaceId))).returning();
      if (!row) throw notFound();
      await audit(tx, { action: 'inbox.saved_reply.updated', workspaceId, targetType: 'inbox_saved_reply', targetId: id, details: { name: row.name, changed: Object.keys(patch) }, ...actor });
      return { ...row, variables: variablesIn(row.text) };
    }));
  }

  async delete(workspaceId: string, id: string, actor: Actor): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await holdWorkspace(tx, workspaceId);
      const [row] = await tx.delete(inboxSavedReplies).where(and(eq(inboxSavedReplies.id, id), eq(inboxSavedReplies.workspaceId, workspaceId))).returning({ name: inboxSavedReplies.name });
      if (!row) throw notFound();
      await audit(tx, { action: 'inbox.saved_reply.deleted', workspaceId, targetType: 'inbox_saved_reply', targetId: id, details: { name: row.name }, ...actor });
    });
  }

  /**
   * A saved reply filled in for an answer in a conversation: to the message `messageId` (by default its
   * newest inbound message), as the conversation's account, by the member `memberId`.
   */
  async render(workspaceId: string, id: string, conversationId: string, messageId: string | undefined, memberId: string | null): Promise<{ text: string; missing: Variable[]; messageId: string | null }> {
    const reply = await this.get(workspaceId, id);
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select a.display_name as account_name, a.username as account_handle, m.id as message_id, m.author_name, m.author_handle,
             (select u.name from users u where u.id = ${memberId}) as member_name
        from inbox_conversations c join social_accounts a on a.id = c.account_id
        left join lateral (
          select m.id, m.author_name, m.author_handle from inbox_messages m
           where m.conversation_id = c.id ${messageId ? sql`and m.id = ${messageId}` : sql`and m.direction = 'inbound' and not m.deleted`}
           order by m.created_on_network desc, m.id desc limit 1
        ) m on true
       where c.id = ${conversationId} and c.workspace_id = ${workspaceId}`);
    const r = res.rows[0];
    if (!r) throw conversationNotFound();
    if (messageId && !r.message_id) throw new NotFound('NOT_FOUND', 'No such message in this conversation.');
    const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
    const at = (v: string | null) => (v ? `@${v.replace(/^@/, '')}` : null);
    const filled = fill(reply.text, {
      author_name: s(r.author_name) ?? s(r.author_handle), author_handle: at(s(r.author_handle)),
      account_name: s(r.account_name), account_handle: at(s(r.account_handle)), member_name: s(r.member_name),
    });
    return { ...filled, messageId: s(r.message_id) };
  }
}
