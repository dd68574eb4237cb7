// What every inbox route file shares: its dependencies, the guards (inbox.read to read, inbox.write to act),
// the answer schemas and how a conversation, a message, a note, a label and a saved reply are shown.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuthGuards } from '../../auth/index.ts';
import type { WorkspaceAccessFactory } from '../../workspaces/index.ts';
import { DateTime, NullableDateTime, Uuid, isoOrNull } from '../../workspaces/index.ts';
import type { InboxService } from '../service.ts';
import type { Metrics } from '../../../infra/metrics.ts';
import type { ConversationSummary, Message, Note } from '../read.ts';
import type { Label } from '../labels.ts';
import type { SavedReply } from '../saved-replies.ts';
import type { Reply } from '../replies.ts';
import type { MessageActionRow } from '../actions.ts';
import { MESSAGE_ACTIONS } from '../../../providers/types.ts';
import { INBOX_ACTIONS } from '../capabilities.ts';
import { CONVERSATION_KINDS, CONVERSATION_STATES, DIRECTIONS, MESSAGE_INTENTS, MESSAGE_SENTIMENTS, MESSAGE_URGENCIES, REPLY_STATES } from '../schema.ts';

/** The live events stream's limits and access check (routes/events.ts). */
export interface InboxStreamOptions {
  /** Streams this process keeps open at once (INBOX_STREAMS_MAX). */
  max: number;
  /** Between two heartbeats (INBOX_STREAM_HEARTBEAT_SECONDS), in milliseconds. */
  heartbeatMs: number;
  /** Whether the caller of a stream may still read the workspace (session not revoked, still a member; an API key not revoked). */
  stillAllowed(req: FastifyRequest, workspaceId: string): Promise<boolean>;
  metrics?: Metrics;
}

export interface InboxRouteDeps {
  inbox: InboxService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
  /** The live events stream's limits and access check (routes/events.ts). */
  streams: InboxStreamOptions;
}

/** The Fastify instance the inbox routes are added to (with the TypeBox type provider). */
export type InboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

export const tags = ['inbox'];
export const BASE = '/inbox';

const NullableString = Type.Union([Type.String(), Type.Null()]);
export const Cursor = Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'nextCursor of the previous page; leave out for the first page' }));
export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' });
export const ConversationParams = Type.Object({ workspaceId: Uuid('Workspace id'), conversationId: Uuid('Conversation id') });

export const LabelSchema = Type.Object({
  id: Type.String({ format: 'uuid' }), name: Type.String(), color: Type.Union([Type.String({ description: '#rrggbb' }), Type.Null()]),
  createdAt: DateTime, updatedAt: DateTime,
});

export const Intent = Type.Enum([...MESSAGE_INTENTS], { description: 'question, complaint, praise, spam or other' });
const Urgency = Type.Enum([...MESSAGE_URGENCIES], { description: 'high: needs an answer today; normal; low: no answer needed' });

export const ConversationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  accountId: Type.String({ format: 'uuid' }),
  provider: Type.String(),
  kind: Type.Enum([...CONVERSATION_KINDS], { description: 'post_thread: a post of the account and the replies under it; mention: a post that names the account' }),
  state: Type.Enum([...CONVERSATION_STATES]),
  assigneeId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  labels: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), color: NullableString })),
  hasQuestion: Type.Boolean({ description: 'An inbound message, not deleted, has a question mark' }),
  unread: Type.Boolean({ description: 'Messages arrived since the caller last marked it read' }),
  messageCount: Type.Integer({ description: 'Messages, deleted ones left out' }),
  lastMessageAt: DateTime,
  lastInboundAt: NullableDateTime,
  root: Type.Object({
    remoteId: Type.String({ description: 'The network\'s id of the thread\'s root post' }), url: NullableString,
    text: Type.Union([Type.String(), Type.Null()], { description: 'The root post\'s text as the network gave it (for a mention, the mention itself is the first message)' }),
    authorHandle: NullableString, createdAt: NullableDateTime,
  }),
  target: Type.Union([Type.Object({ id: Type.String({ format: 'uuid' }), postId: Type.String({ format: 'uuid' }) }, { description: 'The AllIN post that published the root' }), Type.Null()]),
  lastMessage: Type.Union([Type.Object({
    text: Type.String({ description: 'Up to 280 characters' }), authorName: NullableString, authorHandle: NullableString,
    direction: Type.Enum([...DIRECTIONS]), at: DateTime, deleted: Type.Boolean(),
  }), Type.Null()]),
  classification: Type.Union([Type.Object({ intent: Intent, urgency: Urgency }, {
    description: 'The assistant\'s reading of the newest classified inbound message (docs/ASSISTANT.md): labels for people, never acted on',
  }), Type.Null()]),
});

export const MessageSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  remoteId: Type.String({ description: 'The network\'s id' }),
  parentRemoteId: Type.Union([Type.String(), Type.Null()], { description: 'The network\'s id of what it answers (null: the root post)' }),
  url: NullableString,
  author: Type.Object({ remoteId: NullableString, handle: NullableString, name: NullableString, avatarUrl: NullableString }),
  text: Type.String({ description: 'Empty when deleted' }),
  language: Type.Union([Type.String(), Type.Null()], { description: 'ISO 639-1, as the network said' }),
  direction: Type.Enum([...DIRECTIONS], { description: 'outbound: written by the account itself' }),
  createdAt: DateTime, receivedAt: DateTime, editedAt: NullableDateTime,
  edited: Type.Boolean(), deleted: Type.Boolean(), hidden: Type.Boolean({ description: 'Hidden from the public by the account' }),
  liked: Type.Boolean({ description: 'Liked by the account through AllIN' }),
  can: Type.Object(Object.fromEntries(INBOX_ACTIONS.map((a) => [a, Type.Boolean()])) as Record<(typeof INBOX_ACTIONS)[number], ReturnType<typeof Type.Boolean>>, {
    description: 'What AllIN can do to this message now, by the rules the API applies (POST …/replies with it as messageId, POST …/messages/{id}/{action}): '
      + 'false is a 409 there. Its network\'s declared actions; for a mention (someone else\'s thread) only what the network\'s API allows there; '
      + 'hide and unhide for others\' replies under the account\'s own posts; nothing for a deleted message. like and unlike (hide and unhide) are both '
      + 'true where either is: the message\'s liked (hidden) says which applies. The account needing reconnection is not reflected here.',
  }),
  classification: Type.Union([Type.Object({ intent: Intent, sentiment: Type.Enum([...MESSAGE_SENTIMENTS]), urgency: Urgency }, {
    description: 'What the workspace\'s model read in this inbound message, when the assistant was on as it arrived; null: not classified',
  }), Type.Null()]),
});

export const NoteSchema = Type.Object({
  id: Type.String({ format: 'uuid' }), text: Type.String(), authorId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), authorName: NullableString, createdAt: DateTime,
});

export const ReplySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The message answered (null once it is gone from AllIN)' }),
  parentRemoteId: Type.String({ description: 'The network\'s id of the message answered' }),
  text: Type.String(),
  state: Type.Enum([...REPLY_STATES.filter((s) => s !== 'done')], {
    description: 'pending_approval: waiting for an owner or admin (the workspace requires approval of replies); rejected: not sent (review says why); queued: waiting to be sent; sending; published; failed (the network refused it: error says why); unknown (it was sent and whether it arrived cannot be told: check the network before answering again)',
  }),
  author: Type.Object({ id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), name: NullableString }, { description: 'The member who wrote it' }),
  remoteId: Type.Union([Type.String(), Type.Null()], { description: 'The network\'s id, once published (the same message is in messages)' }),
  url: NullableString,
  error: Type.Union([Type.Object({ class: Type.String(), message: Type.String(), status: Type.Union([Type.Integer(), Type.Null()], { description: 'The network\'s HTTP status' }) }), Type.Null()]),
  attempts: Type.Integer({ description: 'Tries so far' }),
  createdAt: DateTime, publishedAt: NullableDateTime,
  review: Type.Union([Type.Object({
    by: Type.Object({ id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), name: NullableString }),
    at: DateTime,
    comment: Type.Union([Type.String(), Type.Null()], { description: 'The reason given for a rejection' }),
  }, { description: 'Who approved or rejected the reply, when it waited for approval' }), Type.Null()]),
});

export const ActionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  conversationId: Type.String({ format: 'uuid' }),
  messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The message acted on (null once it is gone from AllIN)' }),
  remoteId: Type.String({ description: 'The network\'s id of the message acted on' }),
  action: Type.Enum([...MESSAGE_ACTIONS]),
  state: Type.Enum(['queued', 'sending', 'done', 'failed', 'unknown'], {
    description: 'queued: waiting to be sent; sending; done (the message shows it); failed (the network refused: error says why); unknown (sent, and whether it took effect cannot be told: check the message on the network)',
  }),
  author: Type.Object({ id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), name: NullableString }, { description: 'The member who asked for it' }),
  error: Type.Union([Type.Object({ class: Type.String(), message: Type.String(), status: Type.Union([Type.Integer(), Type.Null()], { description: 'The network\'s HTTP status' }) }), Type.Null()]),
  attempts: Type.Integer({ description: 'Tries so far' }),
  createdAt: DateTime, doneAt: NullableDateTime,
});

export const SavedReplySchema = Type.Object({
  id: Type.String({ format: 'uuid' }), name: Type.String(), text: Type.String(),
  variables: Type.Array(Type.String(), { description: 'The {variables} the text uses' }),
  createdBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), createdAt: DateTime, updatedAt: DateTime,
});

export function presentConversation(c: ConversationSummary) {
  return {
    id: c.id, accountId: c.accountId, provider: c.provider, kind: c.kind, state: c.state, assigneeId: c.assigneeId, labels: c.labels,
    hasQuestion: c.hasQuestion, unread: c.unread, messageCount: c.messageCount, lastMessageAt: c.lastMessageAt.toISOString(), lastInboundAt: isoOrNull(c.lastInboundAt),
    root: { remoteId: c.root.remoteId, url: c.root.url, text: c.root.text, authorHandle: c.root.authorHandle, createdAt: isoOrNull(c.root.createdAt) },
    target: c.target,
    lastMessage: c.lastMessage ? { ...c.lastMessage, text: c.lastMessage.text.slice(0, 280), at: c.lastMessage.at.toISOString() } : null,
    classification: c.classification,
  };
}

export function presentMessage(m: Message, can: Record<(typeof INBOX_ACTIONS)[number], boolean>) {
  return {
    can,
    id: m.id, remoteId: m.remoteId, parentRemoteId: m.parentRemoteId, url: m.url, author: m.author, text: m.text, language: m.language, direction: m.direction,
    createdAt: m.createdAt.toISOString(), receivedAt: m.receivedAt.toISOString(), editedAt: isoOrNull(m.editedAt), edited: m.edited, deleted: m.deleted, hidden: m.hidden, liked: m.liked,
    classification: m.classification,
  };
}

export const presentReply = (r: Reply) => ({
  id: r.id, messageId: r.messageId, parentRemoteId: r.parentRemoteId, text: r.text, author: r.author, remoteId: r.remoteId, url: r.url,
  error: r.error, attempts: r.attempts, createdAt: r.createdAt.toISOString(), publishedAt: isoOrNull(r.publishedAt),
  state: r.state as Exclude<Reply['state'], 'done'>,
  review: r.review ? { by: r.review.by, at: r.review.at.toISOString(), comment: r.review.comment } : null,
});
export const presentAction = (a: MessageActionRow) => ({
  id: a.id, conversationId: a.conversationId, messageId: a.messageId, remoteId: a.remoteId, action: a.action, state: a.state as 'queued' | 'sending' | 'done' | 'failed' | 'unknown',
  author: a.author, error: a.error, attempts: a.attempts, createdAt: a.createdAt.toISOString(), doneAt: isoOrNull(a.doneAt),
});
export const presentNote = (n: Note) => ({ id: n.id, text: n.text, authorId: n.authorId, authorName: n.authorName, createdAt: n.createdAt.toISOString() });
export const presentLabel = (l: Label) => ({ id: l.id, name: l.name, color: l.color, createdAt: l.createdAt.toISOString(), updatedAt: l.updatedAt.toISOString() });
export const presentSavedReply = (r: SavedReply) => ({
  id: r.id, name: r.name, text: r.text, variables: r.variables, createdBy: r.createdBy, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString(),
});

/** The person behind the caller: the signed-in user, or the member who created the API key. */
export const userIdOf = (req: FastifyRequest) => (req.caller?.kind === 'user' ? req.caller.userId : req.caller?.kind === 'apiKey' ? req.caller.createdBy : null);

export function inboxRouteKit(d: InboxRouteDeps) {
  return {
    d,
    read: [d.guards.any, d.workspaceAccess('inbox.read')],
    write: [d.guards.any, d.workspaceAccess('inbox.write')],
    approve: [d.guards.any, d.workspaceAccess('inbox.approve')],
  };
}

export type InboxRouteKit = ReturnType<typeof inboxRouteKit>;
