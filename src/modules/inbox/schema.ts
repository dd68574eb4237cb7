// The inbox's tables (docs/INBOX.md). A conversation is a post and its reply tree on one account, or a
// mention of the account; its messages are the comments and replies collected from the network (and the
// account's own answers). Lists page by key on (last_message_at, id) newest first (indexes in ascending order, read backwards): each filter has an
// index that serves it in that order, the label filter through a join table that carries the key too.
import { sql } from 'drizzle-orm';
import { bigserial, boolean, customType, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/schema.ts';
import { workspaces } from '../workspaces/schema.ts';
import { socialAccounts } from '../accounts/index.ts';
import { postTargets } from '../posts/schema.ts';
import { SEARCH_VECTOR } from './language.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
const at = (name: string) => timestamp(name, { withTimezone: true });

/** post_thread: a post of the account and the replies under it; mention: someone else's thread that names the account. */
export const CONVERSATION_KINDS = ['post_thread', 'mention'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];
/** assigned always has an assignee; done may keep the one it had. */
export const CONVERSATION_STATES = ['open', 'assigned', 'done'] as const;
export type ConversationState = (typeof CONVERSATION_STATES)[number];
export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/**
 * What the workspace's model (the assistant, when it is on) read in an inbound message: labels for people to
 * filter and sort by, never acted on by AllIN itself (src/modules/assistant/classify.ts).
 */
export const MESSAGE_INTENTS = ['question', 'complaint', 'praise', 'spam', 'other'] as const;
export type MessageIntent = (typeof MESSAGE_INTENTS)[number];
export const MESSAGE_SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export type MessageSentiment = (typeof MESSAGE_SENTIMENTS)[number];
export const MESSAGE_URGENCIES = ['low', 'normal', 'high'] as const;
export type MessageUrgency = (typeof MESSAGE_URGENCIES)[number];

export const inboxConversations = pgTable('inbox_conversations', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  kind: text('kind', { enum: CONVERSATION_KINDS }).notNull(),
  /** The network's id of the thread's root: the account's post, or the post that mentions it. */
  rootRemoteId: text('root_remote_id').notNull(),
  rootUrl: text('root_url'),
  /** The root post as the network showed it (its text is cut to 5,000 characters). */
  rootText: text('root_text'),
  rootAuthorHandle: text('root_author_handle'),
  rootCreatedAt: at('root_created_at'),
  /** The AllIN target that published the root, when it is one of ours. */
  targetId: uuid('target_id').references(() => postTargets.id, { onDelete: 'set null' }),
  state: text('state', { enum: CONVERSATION_STATES }).notNull().default('open'),
  assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
  /** Some inbound message, not deleted, has a question mark. */
  hasQuestion: boolean('has_question').notNull().default(false),
  messageCount: integer('message_count').notNull().default(0),
  lastMessageAt: at('last_message_at').notNull(),
  /** The newest inbound message's time on the network. */
  lastInboundAt: at('last_inbound_at'),
  /** Inbound messages that ever arrived (deleted ones too): read state compares with it (see inbox_read_state). */
  inboundSeq: integer('inbound_seq').notNull().default(0),
  /** The newest classified inbound message's intent and urgency (null: none classified), for the list's filters. */
  aiIntent: text('ai_intent', { enum: MESSAGE_INTENTS }),
  aiUrgency: text('ai_urgency', { enum: MESSAGE_URGENCIES }),
  /** That message's time on the network: an older message classified later does not replace it. */
  aiClassifiedMessageAt: at('ai_classified_message_at'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('inbox_conversations_root_key').on(t.accountId, t.rootRemoteId),
  index('inbox_conversations_recent_idx').on(t.workspaceId, t.lastMessageAt, t.id),
  index('inbox_conversations_state_idx').on(t.workspaceId, t.state, t.lastMessageAt, t.id),
  index('inbox_conversations_assignee_idx').on(t.workspaceId, t.assigneeId, t.lastMessageAt, t.id),
  index('inbox_conversations_account_idx').on(t.accountId, t.lastMessageAt, t.id),
  index('inbox_conversations_provider_idx').on(t.workspaceId, t.provider, t.lastMessageAt, t.id),
  index('inbox_conversations_question_idx').on(t.workspaceId, t.lastMessageAt, t.id).where(sql`has_question`),
  index('inbox_conversations_intent_idx').on(t.workspaceId, t.aiIntent, t.lastMessageAt, t.id).where(sql`ai_intent is not null`),
  index('inbox_conversations_urgent_idx').on(t.workspaceId, t.lastMessageAt, t.id).where(sql`ai_urgency = 'high'`),
  index('inbox_conversations_target_idx').on(t.targetId).where(sql`target_id is not null`),
  // The caller's unread count (read.ts, unreadCount): the workspace's conversations that ever had an inbound
  // message, in id order with their count, read from the index alone and looked up in the member's read state.
  index('inbox_conversations_unread_idx').on(t.workspaceId, t.id, t.inboundSeq).where(sql`inbound_seq > 0`),
]);

export const inboxMessages = pgTable('inbox_messages', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  conversationId: uuid('conversation_id').notNull().references(() => inboxConversations.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  /** The network's id: one message per account and id, however often (and however) it arrives. */
  remoteId: text('remote_id').notNull(),
  /** The network's id of what it answers (null: it answers the root, or it is a mention). */
  parentRemoteId: text('parent_remote_id'),
  url: text('url'),
  authorRemoteId: text('author_remote_id'),
  authorHandle: text('author_handle'),
  authorName: text('author_name'),
  authorAvatarUrl: text('author_avatar_url'),
  text: text('text').notNull().default(''),
  /** ISO 639-1 code the network gave (or null); the search stems the text in it. */
  language: text('language'),
  direction: text('direction', { enum: DIRECTIONS }).notNull(),
  createdOnNetwork: at('created_on_network').notNull(),
  receivedAt: at('received_at').notNull().defaultNow(),
  editedAt: at('edited_at'),
  edited: boolean('edited').notNull().default(false),
  deleted: boolean('deleted').notNull().default(false),
  hidden: boolean('hidden').notNull().default(false),
  /** Liked by the account, through AllIN (a like given on the network itself is not collected). */
  liked: boolean('liked').notNull().default(false),
  /** False when the network does not let the account answer it (Instagram: a medium it is only tagged in). */
  answerable: boolean('answerable').notNull().default(true),
  /** The model's reading of an inbound message (MESSAGE_INTENTS, …); null until classified. */
  aiIntent: text('ai_intent', { enum: MESSAGE_INTENTS }),
  aiSentiment: text('ai_sentiment', { enum: MESSAGE_SENTIMENTS }),
  aiUrgency: text('ai_urgency', { enum: MESSAGE_URGENCIES }),
  aiClassifiedAt: at('ai_classified_at'),
  search: tsvector('search').generatedAlwaysAs(SEARCH_VECTOR),
}, (t) => [
  uniqueIndex('inbox_messages_remote_key').on(t.accountId, t.remoteId),
  index('inbox_messages_conversation_idx').on(t.conversationId, t.createdOnNetwork, t.id),
  index('inbox_messages_search_idx').using('gin', t.search),
]);

/**
 * What each member has read of a conversation: its inbound_seq when they marked it read. Unread while the
 * conversation's count is higher, however late a message was collected and whatever its time on the network.
 */
export const inboxReadState = pgTable('inbox_read_state', {
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  conversationId: uuid('conversation_id').notNull().references(() => inboxConversations.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  seenInboundSeq: integer('seen_inbound_seq').notNull(),
  readAt: at('read_at').notNull(),
}, (t) => [
  primaryKey({ columns: [t.userId, t.conversationId] }),
  // What a member has read in one workspace, in conversation order, for the unread count (from the index alone).
  index('inbox_read_state_workspace_idx').on(t.userId, t.workspaceId, t.conversationId, t.seenInboundSeq),
]);

/** Internal notes on a conversation: for the team, never sent to the network. */
export const inboxNotes = pgTable('inbox_notes', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  conversationId: uuid('conversation_id').notNull().references(() => inboxConversations.id, { onDelete: 'cascade' }),
  authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
  text: text('text').notNull(),
  createdAt: at('created_at').notNull().defaultNow(),
}, (t) => [index('inbox_notes_conversation_idx').on(t.conversationId, t.createdAt, t.id)]);

export const inboxLabels = pgTable('inbox_labels', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  /** #rrggbb, or null for the app's default. */
  color: text('color'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('inbox_labels_name_key').on(t.workspaceId, sql`lower(${t.name})`)]);

/** A label on a conversation. last_message_at is the conversation's, kept in step, so the label filter pages on this table's index. */
export const inboxConversationLabels = pgTable('inbox_conversation_labels', {
  conversationId: uuid('conversation_id').notNull().references(() => inboxConversations.id, { onDelete: 'cascade' }),
  labelId: uuid('label_id').notNull().references(() => inboxLabels.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  lastMessageAt: at('last_message_at').notNull(),
}, (t) => [
  primaryKey({ columns: [t.conversationId, t.labelId] }),
  index('inbox_conversation_labels_label_idx').on(t.labelId, t.lastMessageAt, t.conversationId),
]);

/** Workspace snippets for answering, with {variables} filled in from the conversation (see saved-replies.ts). */
export const inboxSavedReplies = pgTable('inbox_saved_replies', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  text: text('text').notNull(),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
}, (t) => [uniqueIndex('inbox_saved_replies_name_key').on(t.workspaceId, sql`lower(${t.name})`)]);

/**
 * Where collection stands for one account and one of its network's sources (notifications, comments…):
 * the network's cursor, when to look next, and what went wrong last. One job per row (collect.ts).
 */
export const inboxCollectionCursors = pgTable('inbox_collection_cursors', {
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  source: text('source').notNull(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  /** Opaque to AllIN: what the adapter returned to carry on from (null: from the start). */
  cursor: text('cursor'),
  nextPollAt: at('next_poll_at').notNull().defaultNow(),
  /** While a run holds this row: which run (its writes are fenced on it), and until when (a run that died is overtaken after it). */
  holder: text('holder'),
  leaseUntil: at('lease_until'),
  lastPolledAt: at('last_polled_at'),
  lastSuccessAt: at('last_success_at'),
  lastError: text('last_error'),
  lastErrorAt: at('last_error_at'),
  /** Failed runs in a row (0 after a success): the backoff grows with it. */
  failures: integer('failures').notNull().default(0),
  /** After a 429 or errors: no run before this. */
  backoffUntil: at('backoff_until'),
  createdAt: at('created_at').notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.accountId, t.source] }), index('inbox_collection_cursors_due_idx').on(t.nextPollAt)]);

/**
 * pending_approval: a reply waiting for an approver (the workspace requires it), then queued or rejected;
 * queued: waiting for its turn; sending: a worker holds it; then published (a reply) or done (an action),
 * failed, or unknown (sent, and whether it arrived cannot be told).
 */
export const REPLY_STATES = ['pending_approval', 'rejected', 'queued', 'sending', 'published', 'done', 'failed', 'unknown'] as const;
export type ReplyState = (typeof REPLY_STATES)[number];
/** reply: an answer with a text; the others are actions on the message (src/providers/types.ts, MessageAction). */
export const REPLY_KINDS = ['reply', 'like', 'unlike', 'hide', 'unhide', 'delete'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

/**
 * What AllIN does on the network to a collected message: an answer written in AllIN (kind reply), or an
 * action on the message (like, hide, delete…), each sent by the send_inbox_reply job exactly once
 * (replies.ts, actions.ts, reply-sender.ts): the row is its state, its attempts are what was sent when.
 * For an action, parent_remote_id is the message acted on and text is empty.
 */
export const inboxReplies = pgTable('inbox_replies', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull().references(() => socialAccounts.id, { onDelete: 'cascade' }),
  conversationId: uuid('conversation_id').notNull().references(() => inboxConversations.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  kind: text('kind', { enum: REPLY_KINDS }).notNull().default('reply'),
  /** The message answered (null once it is gone from AllIN; parent_remote_id keeps what was answered). */
  messageId: uuid('message_id').references(() => inboxMessages.id, { onDelete: 'set null' }),
  parentRemoteId: text('parent_remote_id').notNull(),
  rootRemoteId: text('root_remote_id').notNull(),
  authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
  text: text('text').notNull(),
  state: text('state', { enum: REPLY_STATES }).notNull().default('queued'),
  /** Claims so far (each run that wins the reply counts one). */
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: at('next_attempt_at'),
  /** While a run holds the reply (sending): which run, and until when. */
  workerId: text('worker_id'),
  leaseUntil: at('lease_until'),
  remoteId: text('remote_id'),
  remoteUrl: text('remote_url'),
  errorClass: text('error_class'),
  errorMessage: text('error_message'),
  networkStatus: integer('network_status'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
  publishedAt: at('published_at'),
  /** Who approved or rejected a reply that waited for approval, when, and the reason given for a rejection. */
  reviewedBy: uuid('reviewed_by').references(() => users.id, { onDelete: 'set null' }),
  reviewedAt: at('reviewed_at'),
  reviewComment: text('review_comment'),
}, (t) => [
  index('inbox_replies_conversation_idx').on(t.conversationId, t.createdAt, t.id),
  index('inbox_replies_sending_idx').on(t.leaseUntil).where(sql`state = 'sending'`),
  // One action at a time per message (actions.ts): the one still waiting or sending is found by this.
  // The workspace's replies waiting for approval, oldest first (the approvers' list).
  index('inbox_replies_pending_approval_idx').on(t.workspaceId, t.createdAt, t.id).where(sql`state = 'pending_approval'`),
  index('inbox_replies_pending_action_idx').on(t.messageId).where(sql`kind <> 'reply' and state in ('queued', 'sending')`),
]);

/** Every call that could create a reply on the network, written down (in_flight, with its marker) before it is made. */
export const inboxReplyAttempts = pgTable('inbox_reply_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  replyId: uuid('reply_id').notNull().references(() => inboxReplies.id, { onDelete: 'cascade' }),
  marker: text('marker').notNull(),
  workerId: text('worker_id'),
  startedAt: at('started_at').notNull().defaultNow(),
  finishedAt: at('finished_at'),
  /** As publish_attempts: in_flight until answered, then published, retry, failed, unknown, reconciled (found), absent (not there). */
  outcome: text('outcome', { enum: ['in_flight', 'published', 'retry', 'failed', 'unknown', 'reconciled', 'absent'] }).notNull().default('in_flight'),
  errorClass: text('error_class'),
  networkStatus: integer('network_status'),
  message: text('message'),
  remoteId: text('remote_id'),
}, (t) => [index('inbox_reply_attempts_reply_idx').on(t.replyId, t.id)]);
