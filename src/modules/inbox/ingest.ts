// Storing what a network said: each item is one message per account and network id, however often it
// arrives (a poll that reads it again, later a push that brings it too), threaded into the conversation of
// its root, and the conversation's figures kept in step (count, last message, unread, question mark).
// A later state of a message (edited, deleted, hidden) replaces the earlier one; an older edit never
// replaces a newer one, and a deletion is final (the text is dropped, as the network dropped it).
// A message stored for the first time, written by someone else, is an inbox.message.created event in the
// same transaction (when the caller says from when messages are news): a duplicate that collapses on the
// network's id, the account's own messages (our replies among them) and its history are not.
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../infra/db/client.ts';
import type { InboxItem } from '../../providers/types.ts';
import { postTargets } from '../posts/schema.ts';
import { inboxConversationLabels, inboxConversations, inboxMessages, type Direction } from './schema.ts';
import { asksQuestion, languageOf, QUESTION_MARKS } from './language.ts';
import { excerpt, type InboxEvents } from './events.ts';

/** What ingesting needs of the account the items were collected for. */
export interface IngestAccount {
  id: string;
  workspaceId: string;
  provider: string;
  externalId: string;
  username: string;
}

export interface NewMessage {
  id: string;
  conversationId: string;
  remoteId: string;
  direction: Direction;
  createdOnNetwork: Date;
  deleted: boolean;
  /** Its text has a question mark. */
  asks: boolean;
  authorHandle: string;
  text: string;
}

export interface IngestResult {
  /** Messages seen for the first time. */
  created: NewMessage[];
  /** Messages whose state changed (edited, deleted, hidden). */
  changed: number;
  /** Conversations that got a message or a change. */
  conversations: string[];
}

const ROOT_TEXT_MAX = 5000;
const TEXT_MAX = 20_000;
const cut = (s: string | undefined, max: number) => (s === undefined ? null : s.slice(0, max));

type Row = Pick<typeof inboxMessages.$inferSelect, 'id' | 'remoteId' | 'conversationId' | 'text' | 'deleted' | 'hidden' | 'editedAt' | 'direction' | 'answerable'>;

export interface StoreOptions {
  /**
   * Messages written on the network from this time on are news: each new inbound one is an
   * inbox.message.created event. Without it (our own replies' copies) nothing is emitted.
   */
  eventsSince?: Date;
}

/** Called with the new inbound messages (news only), in the transaction that stored them. */
export type ClassifyHook = (tx: Tx, workspaceId: string, messageIds: string[]) => Promise<void>;

export class InboxIngest {
  constructor(private readonly d: { events?: InboxEvents; classify?: ClassifyHook } = {}) {}

  /** Stores a page of items in `tx` (the caller moves the cursor in the same transaction). */
  async store(tx: Tx, account: IngestAccount, page: InboxItem[], receivedAt: Date, opts: StoreOptions = {}): Promise<IngestResult> {
    // One item per id: a page that repeats one keeps its last state.
    const items = [...new Map(page.map((i) => [i.remoteId, i])).values()];
    if (items.length === 0) return { created: [], changed: 0, conversations: [] };
    const existing = await this.lockExisting(tx, account.id, items.map((i) => i.remoteId));
    const fresh = items.filter((i) => !existing.has(i.remoteId));
    const created: NewMessage[] = [];
    if (fresh.length > 0) {
      const conversations = await this.conversationsFor(tx, account, fresh);
      const rows = fresh.map((i) => this.row(account, i, conversations.get(i.rootRemoteId)!, receivedAt));
      const inserted = await tx.insert(inboxMessages).values(rows).onConflictDoNothing()
        .returning({ id: inboxMessages.id, remoteId: inboxMessages.remoteId });
      const won = new Set(inserted.map((r) => r.remoteId));
      for (const r of rows) {
        if (!won.has(r.remoteId)) continue;
        created.push({ id: r.id, conversationId: r.conversationId, remoteId: r.remoteId, direction: r.direction, createdOnNetwork: r.createdOnNetwork, deleted: r.deleted, asks: asksQuestion(r.text), authorHandle: r.authorHandle, text: r.text });
      }
      // Stored meanwhile by another collection of the same account (push and poll): an update, then.
      const lost = fresh.filter((i) => !won.has(i.remoteId));
      if (lost.length > 0) for (const [k, v] of await this.lockExisting(tx, account.id, lost.map((i) => i.remoteId))) existing.set(k, v);
    }
    await this.fillRoots(tx, account, items);
    const changes = items.filter((i) => existing.has(i.remoteId)).map((i) => ({ item: i, row: existing.get(i.remoteId)! })).filter((c) => this.differs(c.row, c.item));
    for (const c of changes) await this.apply(tx, c.row, c.item);

    const touched = new Set([...created.map((m) => m.conversationId), ...changes.map((c) => c.row.conversationId)]);
    await this.refreshConversations(tx, created, changes.map((c) => ({ conversationId: c.row.conversationId, deletedNow: c.item.deleted === true })));
    if (touched.size > 0) {
      await tx.execute(sql`update ${inboxConversationLabels} l set last_message_at = c.last_message_at from ${inboxConversations} c
        where c.id = l.conversation_id and l.conversation_id in ${[...touched]} and l.last_message_at <> c.last_message_at`);
    }
    if (opts.eventsSince) {
      const since = opts.eventsSince;
      const news = created.filter((m) => m.direction === 'inbound' && !m.deleted && m.createdOnNetwork >= since);
      await this.emit(tx, account, news);
      if (news.length > 0) await this.d.classify?.(tx, account.workspaceId, news.map((m) => m.id));
    }
    return { created, changed: changes.length, conversations: [...touched] };
  }

  private async emit(tx: Tx, account: IngestAccount, news: NewMessage[]): Promise<void> {
    await this.d.events?.emitMany(tx, account.workspaceId, 'inbox.message.created', news.map((m) => ({
      workspaceId: account.workspaceId, conversationId: m.conversationId, messageId: m.id, accountId: account.id, provider: account.provider,
      remoteId: m.remoteId, authorHandle: m.authorHandle, createdAt: m.createdOnNetwork.toISOString(), excerpt: excerpt(m.text),
    })));
  }

  private async lockExisting(tx: Tx, accountId: string, remoteIds: string[]): Promise<Map<string, Row>> {
    const rows = await tx.select({
      id: inboxMessages.id, remoteId: inboxMessages.remoteId, conversationId: inboxMessages.conversationId, text: inboxMessages.text,
      deleted: inboxMessages.deleted, hidden: inboxMessages.hidden, editedAt: inboxMessages.editedAt, direction: inboxMessages.direction,
      answerable: inboxMessages.answerable,
    }).from(inboxMessages).where(and(eq(inboxMessages.accountId, accountId), inArray(inboxMessages.remoteId, remoteIds))).for('update');
    return new Map(rows.map((r) => [r.remoteId, r]));
  }

  /** The conversation of each root among `items`, made when it is new (linked to the AllIN target that published the root, if one did). */
  private async conversationsFor(tx: Tx, account: IngestAccount, items: InboxItem[]): Promise<Map<string, string>> {
    const byRoot = new Map<string, InboxItem[]>();
    for (const i of items) byRoot.set(i.rootRemoteId, [...(byRoot.get(i.rootRemoteId) ?? []), i]);
    const roots = [...byRoot.keys()];
    const find = async () => new Map((await tx.select({ id: inboxConversations.id, root: inboxConversations.rootRemoteId }).from(inboxConversations)
      .where(and(eq(inboxConversations.accountId, account.id), inArray(inboxConversations.rootRemoteId, roots)))).map((r) => [r.root, r.id]));
    const found = await find();
    const missing = roots.filter((r) => !found.has(r));
    if (missing.length === 0) return found;
    const targets = new Map((await tx.select({ id: postTargets.id, remoteId: postTargets.remoteId }).from(postTargets)
      .where(and(eq(postTargets.accountId, account.id), inArray(postTargets.remoteId, missing)))).map((t) => [t.remoteId!, t.id]));
    const values = missing.map((root) => {
      const its = byRoot.get(root)!;
      const first = its.reduce((a, b) => (a.createdAt <= b.createdAt ? a : b));
      const withRoot = its.find((i) => i.root)?.root;
      const isMention = first.kind === 'mention';
      const rootIsMessage = first.remoteId === root;
      const ours = withRoot?.authorRemoteId === account.externalId;
      return {
        id: randomUUID(), workspaceId: account.workspaceId, accountId: account.id, provider: account.provider,
        kind: isMention ? 'mention' as const : 'post_thread' as const, rootRemoteId: root,
        rootUrl: withRoot?.url ?? (rootIsMessage ? first.url ?? null : null),
        rootText: withRoot?.text !== undefined ? cut(withRoot.text, ROOT_TEXT_MAX) : null,
        rootAuthorHandle: withRoot?.authorHandle ?? (ours ? account.username : rootIsMessage ? first.author.handle : null),
        rootCreatedAt: withRoot?.createdAt ?? (rootIsMessage ? first.createdAt : null),
        targetId: targets.get(root) ?? null,
        lastMessageAt: first.createdAt,
      };
    });
    await tx.insert(inboxConversations).values(values).onConflictDoNothing();
    return find();
  }

  /**
   * A conversation made from items that did not carry its root's text (Bluesky notifications) gets it from
   * the first later item that does (the reply tree): blanks only, so nothing the team saw changes.
   */
  private async fillRoots(tx: Tx, account: IngestAccount, items: InboxItem[]): Promise<void> {
    const roots = new Map<string, NonNullable<InboxItem['root']>>();
    for (const i of items) if (i.root?.text !== undefined && !roots.has(i.rootRemoteId)) roots.set(i.rootRemoteId, i.root);
    for (const [root, r] of roots) {
      await tx.update(inboxConversations).set({
        rootText: cut(r.text, ROOT_TEXT_MAX),
        rootUrl: sql`coalesce(${inboxConversations.rootUrl}, ${r.url ?? null})`,
        rootAuthorHandle: sql`coalesce(${inboxConversations.rootAuthorHandle}, ${r.authorHandle ?? (r.authorRemoteId === account.externalId ? account.username : null)})`,
        rootCreatedAt: sql`coalesce(${inboxConversations.rootCreatedAt}, ${r.createdAt?.toISOString() ?? null}::timestamptz)`,
      }).where(and(eq(inboxConversations.accountId, account.id), eq(inboxConversations.rootRemoteId, root), sql`${inboxConversations.rootText} is null`));
    }
  }

  private row(account: IngestAccount, i: InboxItem, conversationId: string, receivedAt: Date) {
    return {
      id: randomUUID(), workspaceId: account.workspaceId, accountId: account.id, conversationId, provider: account.provider,
      remoteId: i.remoteId, parentRemoteId: i.parentRemoteId ?? null, url: i.url ?? null,
      authorRemoteId: i.author.remoteId, authorHandle: i.author.handle, authorName: i.author.name ?? null, authorAvatarUrl: i.author.avatarUrl ?? null,
      text: i.deleted ? '' : i.text.slice(0, TEXT_MAX), language: languageOf(i.language),
      direction: (i.author.remoteId === account.externalId ? 'outbound' : 'inbound') as Direction,
      createdOnNetwork: i.createdAt, receivedAt, editedAt: i.editedAt ?? null, edited: i.editedAt !== undefined,
      deleted: i.deleted === true, hidden: i.hidden === true, answerable: i.answerable !== false,
    };
  }

  /** Whether the item says something new about a stored message. */
  private differs(row: Row, i: InboxItem): boolean {
    if (row.deleted) return false; // final
    if (i.deleted) return true;
    if (i.hidden !== undefined && i.hidden !== row.hidden) return true;
    if (i.answerable === true && !row.answerable) return true;
    return this.newerText(row, i);
  }

  /** An edit replaces the text when it is newer than the stored one (without edit times, the latest arrival wins). */
  private newerText(row: Row, i: InboxItem): boolean {
    if (i.text.slice(0, TEXT_MAX) === row.text) return false;
    if (!i.editedAt) return row.editedAt === null;
    return row.editedAt === null || i.editedAt.getTime() >= row.editedAt.getTime();
  }

  private async apply(tx: Tx, row: Row, i: InboxItem): Promise<void> {
    const set: Partial<typeof inboxMessages.$inferInsert> = i.deleted
      ? { deleted: true, text: '' }
      : {
        ...(i.hidden !== undefined ? { hidden: i.hidden } : {}),
        // Answerable once known to be (a tagged medium that @mentions the account in its caption too); never back.
        ...(i.answerable === true ? { answerable: true } : {}),
        ...(this.newerText(row, i) ? { text: i.text.slice(0, TEXT_MAX), edited: true, editedAt: i.editedAt ?? new Date() } : {}),
        ...(i.language ? { language: languageOf(i.language) } : {}),
      };
    await tx.update(inboxMessages).set(set).where(eq(inboxMessages.id, row.id));
  }

  /**
   * Each touched conversation's figures: message count, last message, last inbound message and the count of
   * inbound messages (what makes it unread), question mark. A new inbound message reopens a conversation that was done.
   */
  private async refreshConversations(tx: Tx, created: NewMessage[], changed: { conversationId: string; deletedNow: boolean }[]): Promise<void> {
    const per = new Map<string, { added: number; inbound: number; last: Date | null; lastIn: Date | null; asks: boolean; removed: number; recheck: boolean }>();
    const of = (id: string) => {
      let p = per.get(id);
      if (!p) per.set(id, (p = { added: 0, inbound: 0, last: null, lastIn: null, asks: false, removed: 0, recheck: false }));
      return p;
    };
    for (const m of created) {
      const p = of(m.conversationId);
      if (!p.last || m.createdOnNetwork > p.last) p.last = m.createdOnNetwork;
      if (m.deleted) continue;
      p.added++;
      if (m.direction !== 'inbound') continue;
      p.inbound++;
      if (!p.lastIn || m.createdOnNetwork > p.lastIn) p.lastIn = m.createdOnNetwork;
      p.asks ||= m.asks;
    }
    for (const c of changed) {
      const p = of(c.conversationId);
      if (c.deletedNow) p.removed++;
      p.recheck = true; // an edit or a deletion can add or take away the question mark
    }
    // In id order, so two collections touching the same conversations take their locks in one order.
    for (const [id, p] of [...per].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const hasQuestion = p.recheck
        ? sql`exists (select 1 from ${inboxMessages} m where m.conversation_id = ${id} and m.direction = 'inbound' and not m.deleted and m.text ~ ${`[${QUESTION_MARKS}]`})`
        : p.asks ? sql`true` : sql`has_question`;
      await tx.update(inboxConversations).set({
        messageCount: sql`greatest(0, message_count + ${p.added - p.removed})`,
        ...(p.last ? { lastMessageAt: sql`greatest(last_message_at, ${p.last.toISOString()}::timestamptz)` } : {}),
        ...(p.lastIn ? {
          lastInboundAt: sql`greatest(last_inbound_at, ${p.lastIn.toISOString()}::timestamptz)`,
          inboundSeq: sql`inbound_seq + ${p.inbound}`,
          state: sql`case when state = 'done' then (case when assignee_id is null then 'open' else 'assigned' end) else state end`,
        } : {}),
        hasQuestion,
        updatedAt: sql`now()`,
      }).where(eq(inboxConversations.id, id));
    }
  }
}
