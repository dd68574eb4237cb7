// Reading the inbox: the conversation list (filters, full-text search, keyset pages newest first), one
// conversation with its post, labels, notes and the first page of its messages, and further pages of
// messages. Each list reads an index that serves its filter in its order (schema.ts); the label filter is
// driven from the label's own index. Every read is bounded by the caller's workspace: a conversation of
// another workspace does not exist here.
import { sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { NotFound } from '../../domain/errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { searchQuery } from './language.ts';
import type { ConversationKind, ConversationState, Direction, MessageIntent, MessageSentiment, MessageUrgency } from './schema.ts';

export interface ConversationFilters {
  accountId?: string;
  provider?: string;
  state?: ConversationState;
  /** A member's id, or null: unassigned. */
  assigneeId?: string | null;
  labelId?: string;
  /** Only conversations where an inbound message asks a question. */
  question?: boolean;
  /** Last message at or after. */
  from?: Date;
  /** Last message before. */
  to?: Date;
  /** Full-text search (web search syntax) over the messages, their authors' handles and names. */
  q?: string;
  /** The searcher's language (ISO 639-1): q's words are also matched stemmed in it. */
  lang?: string;
  /** Only conversations with messages the viewer has not read. */
  unread?: boolean;
  /** The assistant's intent of the newest classified inbound message. */
  intent?: MessageIntent;
  /** Only conversations whose newest classified inbound message the assistant read as urgent. */
  urgent?: boolean;
}

/** What the assistant read in a message (null: not classified). */
export interface Classification {
  intent: MessageIntent;
  sentiment: MessageSentiment;
  urgency: MessageUrgency;
}

export interface LabelRef {
  id: string;
  name: string;
  color: string | null;
}

export interface ConversationSummary {
  id: string;
  accountId: string;
  provider: string;
  kind: ConversationKind;
  state: ConversationState;
  assigneeId: string | null;
  hasQuestion: boolean;
  messageCount: number;
  lastMessageAt: Date;
  lastInboundAt: Date | null;
  unread: boolean;
  root: { remoteId: string; url: string | null; text: string | null; authorHandle: string | null; createdAt: Date | null };
  target: { id: string; postId: string } | null;
  lastMessage: { text: string; authorName: string | null; authorHandle: string | null; direction: Direction; at: Date; deleted: boolean } | null;
  labels: LabelRef[];
  /** The assistant's reading of the newest classified inbound message. */
  classification: { intent: MessageIntent; urgency: MessageUrgency } | null;
}

export interface Message {
  id: string;
  remoteId: string;
  parentRemoteId: string | null;
  url: string | null;
  author: { remoteId: string | null; handle: string | null; name: string | null; avatarUrl: string | null };
  text: string;
  language: string | null;
  direction: Direction;
  createdAt: Date;
  receivedAt: Date;
  editedAt: Date | null;
  edited: boolean;
  deleted: boolean;
  hidden: boolean;
  liked: boolean;
  /** False when the network does not let the account answer it. */
  answerable: boolean;
  classification: Classification | null;
}

export interface Note {
  id: string;
  text: string;
  authorId: string | null;
  authorName: string | null;
  createdAt: Date;
}

/** Nobody's id: the read state of a caller that is not a person (an API key without its creator) is empty. */
/** Where the unread count stops counting: a badge needs no more. */
export const UNREAD_COUNT_MAX = 1000;

const NOBODY = '00000000-0000-0000-0000-000000000000';
/** Notes a conversation may hold (notes.ts refuses more), so a conversation shows all of them. */
export const NOTES_MAX = 500;

const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** A timestamp in the cursor with all its microseconds (a JS Date keeps milliseconds only). */
const KEY_TIME = (col: SQL) => sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export class InboxReader {
  constructor(private readonly d: { db: Db }) {}

  /** One page of the workspace's conversations, newest message first. */
  async list(workspaceId: string, viewer: string | null, f: ConversationFilters, page: { limit: number; cursor?: string }): Promise<{ items: ConversationSummary[]; nextCursor: string | null }> {
    const byLabel = f.labelId !== undefined;
    const keyAt = byLabel ? sql`l.last_message_at` : sql`c.last_message_at`;
    const keyId = byLabel ? sql`l.conversation_id` : sql`c.id`;
    const conds: SQL[] = [sql`c.workspace_id = ${workspaceId}`];
    if (byLabel) conds.push(sql`l.label_id = ${f.labelId}`, sql`l.workspace_id = ${workspaceId}`);
    if (f.accountId) conds.push(sql`c.account_id = ${f.accountId}`);
    if (f.provider) conds.push(sql`c.provider = ${f.provider}`);
    if (f.state) conds.push(sql`c.state = ${f.state}`);
    if (f.assigneeId !== undefined) conds.push(f.assigneeId === null ? sql`c.assignee_id is null` : sql`c.assignee_id = ${f.assigneeId}`);
    if (f.question) conds.push(sql`c.has_question`);
    if (f.from) conds.push(sql`${keyAt} >= ${f.from.toISOString()}::timestamptz`);
    if (f.to) conds.push(sql`${keyAt} < ${f.to.toISOString()}::timestamptz`);
    if (f.q) conds.push(sql`exists (select 1 from inbox_messages m where m.conversation_id = c.id and m.search @@ ${searchQuery(f.q, f.lang)})`);
    if (f.unread) conds.push(sql`c.inbound_seq > coalesce(r.seen_inbound_seq, 0)`);
    if (f.intent) conds.push(sql`c.ai_intent = ${f.intent}`);
    if (f.urgent) conds.push(sql`c.ai_urgency = 'high'`);
    if (page.cursor) {
      const [at, id] = decodeCursor(page.cursor, ['time', 'uuid']);
      conds.push(sql`(${keyAt}, ${keyId}) < (${at}::timestamptz, ${id}::uuid)`);
    }
    const from = byLabel ? sql`inbox_conversation_labels l join inbox_conversations c on c.id = l.conversation_id` : sql`inbox_conversations c`;
    const rows = await this.select(viewer, from, sql.join(conds, sql` and `), sql`order by ${keyAt} desc, ${keyId} desc limit ${page.limit + 1}`, KEY_TIME(keyAt));
    const items = rows.slice(0, page.limit);
    const last = rows.length > page.limit ? items.at(-1)! : null;
    return { items: await this.withLabels(this.d.db, items.map((r) => r.summary)), nextCursor: last ? encodeCursor([last.keyAt, last.summary.id]) : null };
  }

  /**
   * How many of the workspace's conversations have messages `userId` has not read, counted up to
   * UNREAD_COUNT_MAX (`more` past it: a badge says "1000+"). The workspace's conversations that ever had an
   * inbound message are read from an index alone (inbox_conversations_unread_idx), each looked up in the
   * member's read state, also an index alone (inbox_read_state_workspace_idx): no heap read. It stops at the
   * cap, so its cost is the cap when many are unread, and a pass over those conversations when few are.
   */
  async unreadCount(workspaceId: string, userId: string): Promise<{ count: number; more: boolean }> {
    const res = await this.d.db.execute<{ n: number }>(sql`
      select count(*)::int as n from (
        select 1 from inbox_conversations c
          left join inbox_read_state r on r.user_id = ${userId} and r.workspace_id = ${workspaceId} and r.conversation_id = c.id
         where c.workspace_id = ${workspaceId} and c.inbound_seq > 0 and c.inbound_seq > coalesce(r.seen_inbound_seq, 0)
         limit ${UNREAD_COUNT_MAX + 1}) x`);
    const n = Number(res.rows[0]?.n ?? 0);
    return { count: Math.min(n, UNREAD_COUNT_MAX), more: n > UNREAD_COUNT_MAX };
  }

  /** The workspace's conversations with these ids (in no order; those that are not the workspace's are absent). */
  async byIds(workspaceId: string, viewer: string | null, ids: string[], db: DbOrTx = this.d.db): Promise<ConversationSummary[]> {
    if (ids.length === 0) return [];
    const rows = await this.select(viewer, sql`inbox_conversations c`, sql`c.workspace_id = ${workspaceId} and c.id in ${ids}`, sql``, sql`null`, db);
    return this.withLabels(db, rows.map((r) => r.summary));
  }

  async one(workspaceId: string, viewer: string | null, conversationId: string, db: DbOrTx = this.d.db): Promise<ConversationSummary> {
    const [c] = await this.byIds(workspaceId, viewer, [conversationId], db);
    if (!c) throw conversationNotFound();
    return c;
  }

  private async select(viewer: string | null, from: SQL, where: SQL, tail: SQL, keyAt: SQL, db: DbOrTx = this.d.db) {
    const res = await db.execute<Record<string, unknown>>(sql`
      select c.*, ${keyAt} as key_at, t.post_id as target_post_id,
             c.inbound_seq > coalesce(r.seen_inbound_seq, 0) as unread,
             lm.text as lm_text, lm.author_name as lm_author_name, lm.author_handle as lm_author_handle, lm.direction as lm_direction,
             lm.created_on_network as lm_at, lm.deleted as lm_deleted
        from ${from}
        left join inbox_read_state r on r.user_id = ${viewer ?? NOBODY} and r.conversation_id = c.id
        left join post_targets t on t.id = c.target_id
        left join lateral (
          select m.text, m.author_name, m.author_handle, m.direction, m.created_on_network, m.deleted from inbox_messages m
           where m.conversation_id = c.id order by m.created_on_network desc, m.id desc limit 1
        ) lm on true
       where ${where} ${tail}`);
    return res.rows.map((r) => ({ keyAt: str(r.key_at) ?? '', summary: summaryOf(r) }));
  }

  private async withLabels(db: DbOrTx, items: ConversationSummary[]): Promise<ConversationSummary[]> {
    if (items.length === 0) return items;
    const res = await db.execute<{ conversation_id: string; id: string; name: string; color: string | null }>(sql`
      select cl.conversation_id, l.id, l.name, l.color from inbox_conversation_labels cl join inbox_labels l on l.id = cl.label_id
       where cl.conversation_id in ${items.map((i) => i.id)} order by lower(l.name)`);
    for (const r of res.rows) items.find((i) => i.id === r.conversation_id)?.labels.push({ id: r.id, name: r.name, color: r.color });
    return items;
  }

  /** A page of a conversation's messages, oldest first. */
  async messages(workspaceId: string, conversationId: string, page: { limit: number; cursor?: string }): Promise<{ items: Message[]; nextCursor: string | null }> {
    await this.assertExists(workspaceId, conversationId);
    const after = page.cursor ? decodeCursor(page.cursor, ['time', 'uuid']) : null;
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select m.id, m.remote_id, m.parent_remote_id, m.url, m.author_remote_id, m.author_handle, m.author_name, m.author_avatar_url, m.text,
             m.language, m.direction, m.created_on_network, m.received_at, m.edited_at, m.edited, m.deleted, m.hidden, m.liked, m.answerable,
             m.ai_intent, m.ai_sentiment, m.ai_urgency,
             ${KEY_TIME(sql`m.created_on_network`)} as key_at
        from inbox_messages m
       where m.conversation_id = ${conversationId} and m.workspace_id = ${workspaceId}
         ${after ? sql`and (m.created_on_network, m.id) > (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
       order by m.created_on_network, m.id limit ${page.limit + 1}`);
    const rows = res.rows.slice(0, page.limit);
    const last = res.rows.length > page.limit ? rows.at(-1)! : null;
    return { items: rows.map(messageOf), nextCursor: last ? encodeCursor([String(last.key_at), String(last.id)]) : null };
  }

  /** The conversation's notes, oldest first (at most NOTES_MAX exist). */
  async notes(workspaceId: string, conversationId: string): Promise<Note[]> {
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select n.id, n.text, n.author_id, u.name as author_name, n.created_at from inbox_notes n left join users u on u.id = n.author_id
       where n.conversation_id = ${conversationId} and n.workspace_id = ${workspaceId} order by n.created_at, n.id limit ${NOTES_MAX}`);
    return res.rows.map((r) => ({ id: String(r.id), text: String(r.text), authorId: str(r.author_id), authorName: str(r.author_name), createdAt: date(r.created_at) }));
  }

  /** The AllIN post a conversation's root was published by, as the conversation shows it. */
  async post(workspaceId: string, targetId: string): Promise<{ postId: string; targetId: string; text: string; state: string; url: string | null; publishedAt: Date | null } | null> {
    const res = await this.d.db.execute<Record<string, unknown>>(sql`
      select p.id as post_id, t.id as target_id, coalesce(t.variant->>'text', p.text) as text, t.state, t.remote_url, t.published_at
        from post_targets t join posts p on p.id = t.post_id where t.id = ${targetId} and t.workspace_id = ${workspaceId}`);
    const r = res.rows[0];
    return r ? { postId: String(r.post_id), targetId: String(r.target_id), text: String(r.text), state: String(r.state), url: str(r.remote_url), publishedAt: dateOrNull(r.published_at) } : null;
  }

  async assertExists(workspaceId: string, conversationId: string, db: DbOrTx = this.d.db): Promise<void> {
    const res = await db.execute(sql`select 1 from inbox_conversations where id = ${conversationId} and workspace_id = ${workspaceId}`);
    if (res.rows.length === 0) throw conversationNotFound();
  }
}

export const conversationNotFound = () => new NotFound('NOT_FOUND', 'No such conversation in this workspace.');

function summaryOf(r: Record<string, unknown>): ConversationSummary {
  return {
    id: String(r.id), accountId: String(r.account_id), provider: String(r.provider), kind: r.kind as ConversationKind, state: r.state as ConversationState,
    assigneeId: str(r.assignee_id), hasQuestion: Boolean(r.has_question), messageCount: Number(r.message_count),
    lastMessageAt: date(r.last_message_at), lastInboundAt: dateOrNull(r.last_inbound_at), unread: Boolean(r.unread),
    root: { remoteId: String(r.root_remote_id), url: str(r.root_url), text: str(r.root_text), authorHandle: str(r.root_author_handle), createdAt: dateOrNull(r.root_created_at) },
    target: r.target_id ? { id: String(r.target_id), postId: String(r.target_post_id) } : null,
    lastMessage: r.lm_at ? {
      text: String(r.lm_text ?? ''), authorName: str(r.lm_author_name), authorHandle: str(r.lm_author_handle), direction: r.lm_direction as Direction,
      at: date(r.lm_at), deleted: Boolean(r.lm_deleted),
    } : null,
    labels: [],
    classification: r.ai_intent ? { intent: r.ai_intent as MessageIntent, urgency: (r.ai_urgency ?? 'normal') as MessageUrgency } : null,
  };
}

function messageOf(r: Record<string, unknown>): Message {
  return {
    id: String(r.id), remoteId: String(r.remote_id), parentRemoteId: str(r.parent_remote_id), url: str(r.url),
    author: { remoteId: str(r.author_remote_id), handle: str(r.author_handle), name: str(r.author_name), avatarUrl: str(r.author_avatar_url) },
    text: String(r.text ?? ''), language: str(r.language), direction: r.direction as Direction, createdAt: date(r.created_on_network), receivedAt: date(r.received_at),
    editedAt: dateOrNull(r.edited_at), edited: Boolean(r.edited), deleted: Boolean(r.deleted), hidden: Boolean(r.hidden), liked: Boolean(r.liked),
    answerable: r.answerable === undefined ? true : Boolean(r.answerable),
    classification: r.ai_intent ? { intent: r.ai_intent as MessageIntent, sentiment: (r.ai_sentiment ?? 'neutral') as MessageSentiment, urgency: (r.ai_urgency ?? 'normal') as MessageUrgency } : null,
  };
}
