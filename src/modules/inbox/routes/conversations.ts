// Conversations over HTTP: the list (filters, search, keyset pages), one conversation with its post, labels,
// notes and first messages, further messages, triage one at a time or in bulk, read state, notes, and a
// saved reply filled in for an answer.
import type { FastifyRequest } from 'fastify';
import type { InboxService } from '../service.ts';
import { Type, type Static } from 'typebox';
import { Invalid } from '../../../domain/errors.ts';
import { PROVIDER_IDS } from '../../../providers/types.ts';
import { auditActor } from '../../workspaces/index.ts';
import { DateTime, NullableDateTime, Uuid, WorkspaceParams, errors, isoOrNull } from '../../workspaces/index.ts';
import { CONVERSATION_STATES, MESSAGE_INTENTS } from '../schema.ts';
import { BULK_MAX, type TriageChange } from '../triage.ts';
import { NOTE_MAX_CHARS } from '../notes.ts';
import { NOTES_MAX, UNREAD_COUNT_MAX } from '../read.ts';
import { REPLIES_MAX } from '../replies.ts';
import { ACTIONS_LISTED } from '../actions.ts';
import { PRESENCE_TTL_MS } from '../presence.ts';
import {
  ActionSchema, BASE, ConversationParams, ConversationSchema, Cursor, MessageSchema, NextCursor, NoteSchema, ReplySchema, presentConversation, presentMessage, presentNote,
  presentAction, presentReply, tags, userIdOf,
  type InboxApp, type InboxRouteKit,
} from './common.ts';

const MESSAGES_FIRST_PAGE = 100;

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'How many conversations (1-100), newest message first' }),
  cursor: Cursor,
  accountId: Type.Optional(Uuid('Only this social account\'s')),
  provider: Type.Optional(Type.Enum([...PROVIDER_IDS], { description: 'Only this network\'s' })),
  state: Type.Optional(Type.Enum([...CONVERSATION_STATES])),
  assignee: Type.Optional(Type.String({ maxLength: 36, description: 'A member\'s id, "me" (the caller) or "none" (unassigned)' })),
  labelId: Type.Optional(Uuid('Only conversations with this label')),
  question: Type.Optional(Type.Boolean({ description: 'true: only conversations where someone asks a question (a question mark in an inbound message)' })),
  unread: Type.Optional(Type.Boolean({ description: 'true: only conversations with messages the caller has not read' })),
  intent: Type.Optional(Type.Enum([...MESSAGE_INTENTS], { description: 'Only conversations whose newest classified inbound message the assistant read as this (docs/ASSISTANT.md)' })),
  urgent: Type.Optional(Type.Boolean({ description: 'true: only conversations whose newest classified inbound message the assistant read as urgent' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Last message at or after this instant' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Last message before this instant' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Full-text search over the messages and their authors: words, "a phrase", -not, or. Words match as written, and stemmed in lang (messages are indexed stemmed in their own language).' })),
  lang: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$', maxLength: 35, description: 'The language of q (ISO 639-1 or a BCP 47 tag; default en), for stemming: "Lieferung" finds "Lieferungen" with lang=de' })),
}, { additionalProperties: false });

const TriageFields = {
  state: Type.Optional(Type.Enum(['open', 'done'], { description: 'done; or open to reopen (assigned again when it has an assignee)' })),
  assigneeId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Literal('me'), Type.Null()], {
    description: 'A member who may act in the inbox (editor, admin, owner), "me", or null to unassign. Assigning makes the conversation assigned.',
  })),
  addLabelIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 20, uniqueItems: true })),
  removeLabelIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 20, uniqueItems: true })),
};
const TriageBody = Type.Object(TriageFields, { additionalProperties: false, minProperties: 1 });
const BulkBody = Type.Object({
  ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: BULK_MAX, uniqueItems: true, description: `Conversations to change (at most ${BULK_MAX}): all of them, or none` }),
  ...TriageFields,
}, { additionalProperties: false, minProperties: 2 });

const ConversationView = Type.Object({
  ...ConversationSchema.properties,
  post: Type.Union([Type.Object({
    postId: Type.String({ format: 'uuid' }), targetId: Type.String({ format: 'uuid' }), text: Type.String(), state: Type.String(),
    url: Type.Union([Type.String(), Type.Null()]), publishedAt: NullableDateTime,
  }, { description: 'The AllIN post whose publication is the root' }), Type.Null()]),
  notes: Type.Array(NoteSchema, { description: `Internal notes, oldest first (at most ${NOTES_MAX})` }),
  messages: Type.Array(MessageSchema, { description: `The first ${MESSAGES_FIRST_PAGE} messages, oldest first; parentRemoteId gives the reply tree` }),
  replies: Type.Array(ReplySchema, { description: `Replies written in AllIN, oldest first (at most ${REPLIES_MAX}), with their author and state; a published one is also among the messages` }),
  actions: Type.Array(ActionSchema, { description: `Likes, hiding and deletions asked for in AllIN (the newest ${ACTIONS_LISTED}), oldest first, with their author and state; each message shows its own state (liked, hidden, deleted)` }),
  replying: Type.Array(Type.Object({
    userId: Type.String({ format: 'uuid' }), name: Type.Union([Type.String(), Type.Null()]),
    messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The message they are answering, when they said' }),
    since: DateTime,
  }), { description: 'Other members with the reply box open now ("someone is replying"), first to start first; the caller is left out' }),
  nextMessagesCursor: Type.Union([Type.String(), Type.Null()], { description: 'More messages: GET …/messages?cursor=' }),
});

const lower = (s: string) => s.toLowerCase();

/** "me" is the caller; a caller that is no person cannot say it. */
function member(req: FastifyRequest, value: string, field: string): string {
  return personOf(userIdOf(req), value, field);
}

function personOf(me: string | null, value: string, field: string): string {
  if (value !== 'me') return lower(value);
  if (!me) throw new Invalid('VALIDATION_FAILED', `${field} "me" needs a signed-in member (this API key has no member behind it); give a member's id.`, [{ field, message: 'no member' }]);
  return me;
}

function triageChange(req: FastifyRequest, b: Omit<Static<typeof BulkBody>, 'ids'>): TriageChange {
  return {
    ...(b.state !== undefined ? { state: b.state } : {}),
    ...(b.assigneeId !== undefined ? { assigneeId: b.assigneeId === null ? null : member(req, b.assigneeId, 'body.assigneeId') } : {}),
    ...(b.addLabelIds ? { addLabelIds: b.addLabelIds.map(lower) } : {}),
    ...(b.removeLabelIds ? { removeLabelIds: b.removeLabelIds.map(lower) } : {}),
  };
}

/** A page of a workspace's conversations, filtered as the list query says (the route's answer, and the MCP tool's). */
export async function listConversations(inbox: InboxService, workspaceId: string, me: string | null, q: Static<typeof ListQuery>) {
  const assignee = q.assignee === undefined ? undefined : q.assignee === 'none' ? null : personOf(me, q.assignee, 'querystring.assignee');
  if (assignee && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(assignee)) {
    throw new Invalid('VALIDATION_FAILED', 'querystring.assignee must be a member\'s id, "me" or "none".', [{ field: 'querystring.assignee', message: 'not an id, me or none' }]);
  }
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from >= to) throw new Invalid('VALIDATION_FAILED', 'querystring.to must be after from.', [{ field: 'querystring.to', message: 'not after from' }]);
  const page = await inbox.reader.list(workspaceId, me, {
    ...(q.accountId ? { accountId: lower(q.accountId) } : {}), ...(q.provider ? { provider: q.provider } : {}), ...(q.state ? { state: q.state } : {}),
    ...(assignee !== undefined ? { assigneeId: assignee } : {}), ...(q.labelId ? { labelId: lower(q.labelId) } : {}),
    ...(q.question ? { question: true } : {}), ...(q.unread ? { unread: true } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}),
    ...(q.intent ? { intent: q.intent } : {}), ...(q.urgent ? { urgent: true } : {}),
    ...(q.q?.trim() ? { q: q.q.trim() } : {}), ...(q.lang ? { lang: q.lang } : {}),
  }, { limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) });
  return { conversations: page.items.map(presentConversation), nextCursor: page.nextCursor };
}

/** One conversation with its post, notes, first messages, replies and actions (the route's answer, and the MCP tool's). */
export async function conversationView(inbox: InboxService, workspaceId: string, me: string | null, conversationId: string) {
  const c = await inbox.reader.one(workspaceId, me, conversationId);
  const [post, notes, messages, replies, actions, replying] = await Promise.all([
    c.target ? inbox.reader.post(workspaceId, c.target.id) : null,
    inbox.reader.notes(workspaceId, conversationId),
    inbox.reader.messages(workspaceId, conversationId, { limit: MESSAGES_FIRST_PAGE }),
    inbox.replies.list(workspaceId, conversationId),
    inbox.actions.list(workspaceId, { conversationId }),
    inbox.presence.who(workspaceId, conversationId, me),
  ]);
  return {
    ...presentConversation(c),
    post: post ? { ...post, publishedAt: isoOrNull(post.publishedAt) } : null,
    notes: notes.map(presentNote), messages: messages.items.map((m) => presentMessage(m, inbox.messageCan(c.provider, c.kind, m))), nextMessagesCursor: messages.nextCursor, replies: replies.map(presentReply),
    actions: actions.map(presentAction),
    replying: replying.map((r) => ({ userId: r.userId, name: r.name, messageId: r.messageId, since: r.since.toISOString() })),
  };
}

export function conversationRoutes(app: InboxApp, k: InboxRouteKit): void {
  const { d, read, write } = k;
  const one = `${BASE}/conversations/:conversationId`;

  app.get(`${BASE}/conversations`, {
    preHandler: read,
    schema: {
      tags, summary: 'The workspace\'s conversations, newest message first, with filters and full-text search',
      description: 'Only networks AllIN collects appear (GET …/inbox/sources says which, per account; docs/INBOX.md).',
      params: WorkspaceParams, querystring: ListQuery,
      response: { 200: Type.Object({ conversations: Type.Array(ConversationSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => listConversations(d.inbox, req.params.workspaceId, userIdOf(req), req.query));

  app.get(one, {
    preHandler: read,
    schema: {
      tags, summary: 'One conversation: its post, labels, notes, first messages and replies written in AllIN', params: ConversationParams,
      response: { 200: ConversationView, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => conversationView(d.inbox, req.params.workspaceId, userIdOf(req), req.params.conversationId));

  app.put(`${one}/replying`, {
    preHandler: write,
    schema: {
      tags, summary: 'Say the caller is replying in this conversation ("someone is replying" for the others)',
      description: `Lasts ${PRESENCE_TTL_MS / 1000} s: repeat it every few seconds while the reply box is open; DELETE (or sending the reply) ends it. `
        + 'The others see it in GET …/conversations/{id} (replying), and open Inbox screens are told (conversation.changed, replying).',
      params: ConversationParams,
      body: Type.Object({ messageId: Type.Optional(Uuid('The message being answered')) }, { additionalProperties: false }),
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    await d.inbox.presence.replying(req.params.workspaceId, req.params.conversationId, member(req, 'me', 'caller'), req.body.messageId?.toLowerCase() ?? null);
    reply.status(204);
    return null;
  });

  app.delete(`${one}/replying`, {
    preHandler: write,
    schema: { tags, summary: 'Say the caller stopped replying (closed the reply box)', params: ConversationParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    await d.inbox.reader.assertExists(req.params.workspaceId, req.params.conversationId);
    await d.inbox.presence.stopped(req.params.workspaceId, req.params.conversationId, member(req, 'me', 'caller'));
    reply.status(204);
    return null;
  });

  app.get(`${one}/messages`, {
    preHandler: read,
    schema: {
      tags, summary: 'A conversation\'s messages, oldest first', params: ConversationParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }), cursor: Cursor }, { additionalProperties: false }),
      response: { 200: Type.Object({ messages: Type.Array(MessageSchema), nextCursor: NextCursor }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const page = await d.inbox.reader.messages(req.params.workspaceId, req.params.conversationId, { limit: req.query.limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) });
    const c = await d.inbox.reader.one(req.params.workspaceId, userIdOf(req), req.params.conversationId);
    return { messages: page.items.map((m) => presentMessage(m, d.inbox.messageCan(c.provider, c.kind, m))), nextCursor: page.nextCursor };
  });

  app.patch(one, {
    preHandler: write,
    schema: {
      tags, summary: 'Mark done or reopen, assign or unassign, add or remove labels', params: ConversationParams, body: TriageBody,
      response: { 200: ConversationSchema, ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const { workspaceId, conversationId } = req.params;
    await d.inbox.triage.change(workspaceId, [conversationId], triageChange(req, req.body), auditActor(req));
    return presentConversation(await d.inbox.reader.one(workspaceId, userIdOf(req), conversationId));
  });

  app.post(`${BASE}/conversations/bulk`, {
    preHandler: write,
    schema: {
      tags, summary: `The same change to many conversations (at most ${BULK_MAX}): all of them, or none`,
      description: 'A conversation that is not this workspace\'s makes the whole request 404, naming it.',
      params: WorkspaceParams, body: BulkBody,
      response: { 200: Type.Object({ conversations: Type.Array(ConversationSchema) }), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req) => {
    const ids = req.body.ids.map(lower);
    await d.inbox.triage.change(req.params.workspaceId, ids, triageChange(req, req.body), auditActor(req));
    const rows = await d.inbox.reader.byIds(req.params.workspaceId, userIdOf(req), ids);
    return { conversations: ids.map((id) => rows.find((r) => r.id === id)).filter((r) => r !== undefined).map(presentConversation) };
  });

  app.get(`${BASE}/unread`, {
    preHandler: read,
    schema: {
      tags, summary: 'How many conversations have messages the caller has not read (the Inbox badge)',
      description: `Per member and per workspace: the conversations that \`unread=true\` lists for the caller, counted up to ${UNREAD_COUNT_MAX} `
        + '(`more` past it). Marking a conversation read or unread (…/read) and new inbound messages change it; the events stream tells both '
        + '(`conversation.changed` with `read`, `message.created`). An API key counts for the member who made it; one whose maker is gone has no read state (400).',
      params: WorkspaceParams,
      response: {
        200: Type.Object({
          count: Type.Integer({ minimum: 0, maximum: UNREAD_COUNT_MAX, description: `Unread conversations, at most ${UNREAD_COUNT_MAX}` }),
          more: Type.Boolean({ description: `More than ${UNREAD_COUNT_MAX} are unread` }),
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => d.inbox.reader.unreadCount(req.params.workspaceId, member(req, 'me', 'caller')));

  const readState = { tags, params: ConversationParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) } };
  app.post(`${one}/read`, { preHandler: read, schema: { ...readState, summary: 'Mark read, for the caller' } }, async (req, reply) => {
    await d.inbox.readState.markRead(req.params.workspaceId, req.params.conversationId, member(req, 'me', 'caller'));
    reply.status(204);
    return null;
  });
  app.delete(`${one}/read`, { preHandler: read, schema: { ...readState, summary: 'Mark unread again, for the caller' } }, async (req, reply) => {
    await d.inbox.readState.markUnread(req.params.workspaceId, req.params.conversationId, member(req, 'me', 'caller'));
    reply.status(204);
    return null;
  });

  app.post(`${one}/notes`, {
    preHandler: write,
    schema: {
      tags, summary: 'Add an internal note (for the team; never sent to the network)', params: ConversationParams,
      body: Type.Object({ text: Type.String({ minLength: 1, maxLength: NOTE_MAX_CHARS }) }, { additionalProperties: false }),
      response: { 201: NoteSchema, ...errors(400, 401, 403, 404, 409, 429) },
    },
  }, async (req, reply) => {
    const note = await d.inbox.notes.add(req.params.workspaceId, req.params.conversationId, userIdOf(req), req.body.text, auditActor(req));
    reply.status(201);
    return presentNote(note);
  });

  app.delete(`${one}/notes/:noteId`, {
    preHandler: write,
    schema: {
      tags, summary: 'Delete an internal note',
      params: Type.Object({ workspaceId: Uuid('Workspace id'), conversationId: Uuid('Conversation id'), noteId: Uuid('Note id') }),
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 429) },
    },
  }, async (req, reply) => {
    await d.inbox.notes.delete(req.params.workspaceId, req.params.conversationId, req.params.noteId, auditActor(req));
    reply.status(204);
    return null;
  });

  app.post(`${one}/render-reply`, {
    preHandler: read,
    schema: {
      tags, summary: 'A saved reply filled in for an answer in this conversation',
      description: 'The variables take the values of the message answered (by default the newest inbound one), the account and the caller. Nothing is sent.',
      params: ConversationParams,
      body: Type.Object({ savedReplyId: Uuid('Saved reply id'), messageId: Type.Optional(Uuid('The message answered')) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          text: Type.String(), messageId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
          missing: Type.Array(Type.String(), { description: 'Variables with no value here (left empty in text)' }),
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => d.inbox.savedReplies.render(req.params.workspaceId, lower(req.body.savedReplyId), req.params.conversationId,
    req.body.messageId ? lower(req.body.messageId) : undefined, userIdOf(req)));
}

