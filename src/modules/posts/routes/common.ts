// What every posts route file shares: the request and answer schemas of a post, how a post is shown,
// how a schedule is read from a body, and the guards and helpers built from the routes' dependencies.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '../../../http/errors.ts';
import { Forbidden } from '../../../domain/errors.ts';
import type { AuthGuards } from '../../auth/index.ts';
import type { WorkspaceAccessFactory } from '../../workspaces/index.ts';
import { accessOf } from '../../workspaces/index.ts';
import { DateTime, Uuid, isoOrNull } from '../../workspaces/index.ts';
import type { AccountService } from '../../accounts/index.ts';
import type { PostsService } from '../service.ts';
import { aggregateStatus, type Post, type Target, type ScheduleSpec } from '../model.ts';
import { TARGET_STATES } from '../schema.ts';

export interface PostRouteDeps {
  posts: PostsService;
  accounts: AccountService;
  guards: AuthGuards;
  workspaceAccess: WorkspaceAccessFactory;
}

/** The Fastify instance the posts routes are added to (with the TypeBox type provider). */
export type PostsApp = Parameters<FastifyPluginAsyncTypebox>[0];

export const tags = ['posts'];
const TEXT_MAX = 100_000;
const MediaIds = Type.Array(Type.String({ format: 'uuid' }), { maxItems: 20, description: 'Uploaded media ids (see /media), in order' });

const TargetInputSchema = Type.Object({
  accountId: Uuid('A social account of this workspace'),
  text: Type.Optional(Type.String({ maxLength: TEXT_MAX, description: 'This network\'s own text (else the post\'s)' })),
  mediaIds: Type.Optional(MediaIds),
  thread: Type.Optional(Type.Array(Type.Object({ text: Type.String({ maxLength: TEXT_MAX }), mediaIds: Type.Optional(MediaIds) }, { additionalProperties: false }),
    { maxItems: 25, description: 'Further parts, each published as a reply to the one before' })),
  firstComment: Type.Optional(Type.String({ maxLength: TEXT_MAX, description: 'Published as a reply to the post, right after it' })),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Network options passed to the adapter' })),
}, { additionalProperties: false });

export const PostBody = Type.Object({
  text: Type.String({ maxLength: TEXT_MAX, description: 'The base text every target uses unless it has its own' }),
  mediaIds: Type.Optional(MediaIds),
  targets: Type.Array(TargetInputSchema, { minItems: 1, maxItems: 50 }),
}, { additionalProperties: false });

const RecurrenceSchema = Type.Union([
  Type.Object({ every: Type.Literal('days'), interval: Type.Integer({ minimum: 1, maximum: 365 }), until: Type.Optional(DateTime), count: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })) }, { additionalProperties: false }),
  Type.Object({
    every: Type.Literal('weeks'), interval: Type.Integer({ minimum: 1, maximum: 52 }),
    weekdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, description: 'ISO weekdays, 1 = Monday' }),
    until: Type.Optional(DateTime), count: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
  }, { additionalProperties: false }),
], { description: 'Repeat at the same local time: every N days, or every N weeks on given weekdays' });

export const ScheduleBody = Type.Object({
  at: Type.Optional(Type.String({ format: 'date-time', description: 'An instant with its offset, e.g. 2027-03-28T09:30:00+02:00' })),
  localTime: Type.Optional(Type.String({ maxLength: 19, description: 'A wall-clock time, e.g. 2027-03-28T09:30, with timeZone' })),
  timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone of localTime, e.g. Europe/Berlin' })),
  now: Type.Optional(Type.Literal(true, { description: 'Publish at once' })),
  queue: Type.Optional(Type.Literal(true, { description: 'Take each account\'s next free posting slot' })),
  recurrence: Type.Optional(Type.Union([RecurrenceSchema, Type.Null()])),
}, { additionalProperties: false, description: 'Exactly one of at, localTime (with timeZone), now or queue' });

export const RescheduleBody = Type.Object({
  ...ScheduleBody.properties,
  targetIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), {
    minItems: 1, maxItems: 50,
    description: 'Move only these targets of a scheduled post (one network, say); the others keep their times',
  })),
}, { additionalProperties: false, description: 'Exactly one of at, localTime (with timeZone), now or queue; with targetIds, only those targets move' });

const Attempt = Type.Object({
  at: Type.String(), part: Type.Integer(), outcome: Type.String(), errorClass: Type.Union([Type.String(), Type.Null()]),
  networkStatus: Type.Union([Type.Integer(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]), remoteId: Type.Union([Type.String(), Type.Null()]),
});

const TargetSchema = Type.Object({
  id: Type.String(), accountId: Type.String(), provider: Type.String(), occurrence: Type.Integer(),
  state: Type.Enum([...TARGET_STATES]), variant: Type.Unknown(),
  publishAt: Type.Union([Type.String(), Type.Null()]), nextAttemptAt: Type.Union([Type.String(), Type.Null()]), queued: Type.Boolean(),
  attempts: Type.Integer(), remoteId: Type.Union([Type.String(), Type.Null()]), url: Type.Union([Type.String(), Type.Null()]),
  publishedAt: Type.Union([Type.String(), Type.Null()]),
  parts: Type.Array(Type.Object({ remoteId: Type.String(), url: Type.Union([Type.String(), Type.Null()]) })),
  firstComment: Type.Union([Type.Object({ remoteId: Type.String(), url: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  error: Type.Union([Type.Object({ class: Type.String(), message: Type.String(), networkStatus: Type.Union([Type.Integer(), Type.Null()]) }), Type.Null()]),
  attemptLog: Type.Optional(Type.Array(Attempt)),
});

export const PostSchema = Type.Object({
  id: Type.String(), workspaceId: Type.String(), text: Type.String(), mediaIds: Type.Array(Type.String()),
  status: Type.String({ description: 'draft, pending_approval or scheduled' }),
  aggregateStatus: Type.String({ description: 'draft, pending_approval, scheduled, publishing, published, partially_published, failed or unknown' }),
  schedule: Type.Union([Type.Object({
    mode: Type.Union([Type.String(), Type.Null()]), publishAt: Type.Union([Type.String(), Type.Null()]),
    localTime: Type.Union([Type.String(), Type.Null()]), timeZone: Type.Union([Type.String(), Type.Null()]), recurrence: Type.Unknown(),
  }), Type.Null()]),
  review: Type.Union([Type.Object({
    submittedBy: Type.Union([Type.String(), Type.Null()]), submittedAt: Type.Union([Type.String(), Type.Null()]),
    decision: Type.Union([Type.String(), Type.Null()]), comment: Type.Union([Type.String(), Type.Null()]),
    reviewedBy: Type.Union([Type.String(), Type.Null()]), reviewedAt: Type.Union([Type.String(), Type.Null()]),
  }), Type.Null()]),
  version: Type.Integer(), createdBy: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(), updatedAt: Type.String(),
  targets: Type.Array(TargetSchema),
});

function presentTarget(t: Target, attempts?: { targetId: string; startedAt: Date; part: number; outcome: string; errorClass: string | null; networkStatus: number | null; message: string | null; remoteId: string | null }[]) {
  return {
    id: t.id, accountId: t.accountId, provider: t.provider, occurrence: t.occurrence, state: t.state, variant: t.variant,
    publishAt: isoOrNull(t.publishAt), nextAttemptAt: isoOrNull(t.nextAttemptAt), queued: t.queued, attempts: t.attempts,
    remoteId: t.remoteId, url: t.remoteUrl, publishedAt: isoOrNull(t.publishedAt),
    parts: t.progress.parts.map((p) => ({ remoteId: p.remoteId, url: p.url ?? null })),
    firstComment: t.progress.comment ? { remoteId: t.progress.comment.remoteId, url: t.progress.comment.url ?? null } : null,
    error: t.errorClass ? { class: t.errorClass, message: t.errorMessage ?? '', networkStatus: t.networkStatus } : null,
    ...(attempts ? {
      attemptLog: attempts.filter((a) => a.targetId === t.id).map((a) => ({
        at: a.startedAt.toISOString(), part: a.part, outcome: a.outcome, errorClass: a.errorClass, networkStatus: a.networkStatus, message: a.message, remoteId: a.remoteId,
      })),
    } : {}),
  };
}

export function presentPost(post: Post, targets: Target[], attempts?: Parameters<typeof presentTarget>[1]) {
  return {
    id: post.id, workspaceId: post.workspaceId, text: post.text, mediaIds: post.mediaIds, status: post.status, aggregateStatus: aggregateStatus(post, targets),
    schedule: post.scheduleMode || post.publishAt ? { mode: post.scheduleMode, publishAt: isoOrNull(post.publishAt), localTime: post.localTime, timeZone: post.timeZone, recurrence: post.recurrence ?? null } : null,
    review: post.submittedAt || post.reviewDecision ? {
      submittedBy: post.submittedBy, submittedAt: isoOrNull(post.submittedAt), decision: post.reviewDecision, comment: post.reviewComment,
      reviewedBy: post.reviewedBy, reviewedAt: isoOrNull(post.reviewedAt),
    } : null,
    version: post.version, createdBy: post.createdBy, createdAt: post.createdAt.toISOString(), updatedAt: post.updatedAt.toISOString(),
    targets: targets.map((t) => presentTarget(t, attempts)),
  };
}

/** Exactly one way of scheduling, checked here so the message names the fields. */
export function specOf(body: Static<typeof ScheduleBody>): ScheduleSpec {
  const given = [body.at !== undefined && 'at', (body.localTime !== undefined || body.timeZone !== undefined) && 'localTime', body.now && 'now', body.queue && 'queue'].filter(Boolean);
  if (given.length !== 1) {
    throw new ApiError(400, 'VALIDATION_FAILED', given.length === 0 ? 'Say when: at (an instant with offset), localTime with timeZone, now: true, or queue: true.' : `Say when only one way; you gave ${given.join(' and ')}.`,
      [{ field: 'body', message: 'exactly one of at, localTime, now, queue' }]);
  }
  if (body.at !== undefined) return { mode: 'at', at: body.at };
  if (body.localTime !== undefined || body.timeZone !== undefined) {
    if (!body.localTime || !body.timeZone) throw new ApiError(400, 'VALIDATION_FAILED', 'localTime and timeZone go together (e.g. 2027-03-28T09:30 in Europe/Berlin).', [{ field: body.localTime ? 'body.timeZone' : 'body.localTime', message: 'required' }]);
    return { mode: 'local', localTime: body.localTime, timeZone: body.timeZone };
  }
  return body.now ? { mode: 'now' } : { mode: 'queue' };
}

export const userIdOf = (req: FastifyRequest) => (req.caller?.kind === 'user' ? req.caller.userId : req.caller?.kind === 'apiKey' ? req.caller.createdBy : null);

export const PostParams = Type.Object({ workspaceId: Uuid('Workspace id'), postId: Uuid('Post id') });
export const AccountParams = Type.Object({ workspaceId: Uuid('Workspace id'), accountId: Uuid('Social account id') });

/** Scheduling needs posts.approve where the workspace requires approval; an editor submits instead. */
export async function assertMayScheduleDirectly(posts: PostsService, workspaceId: string, mayApprove: boolean): Promise<void> {
  if (mayApprove || !(await posts.scheduling.requiresApproval(workspaceId))) return;
  throw new Forbidden('APPROVAL_REQUIRED', 'This workspace requires approval before posts are scheduled: submit the post for approval (POST …/submit) and an admin will schedule it.');
}

/** The guards of each kind of posts route, and the helpers their handlers share. */
export function postRouteKit(d: PostRouteDeps) {
  const read = [d.guards.any, d.workspaceAccess('posts.read')];
  const write = [d.guards.any, d.workspaceAccess('posts.write')];
  const approve = [d.guards.any, d.workspaceAccess('posts.approve')];
  const one = async (workspaceId: string, postId: string, withAttempts = false) => {
    const { post, targets } = await d.posts.reader.get(workspaceId, postId);
    return presentPost(post, targets, withAttempts ? await d.posts.reader.attempts(targets.map((t) => t.id)) : undefined);
  };

  const mayScheduleDirectly = (req: FastifyRequest, workspaceId: string) => assertMayScheduleDirectly(d.posts, workspaceId, accessOf(req).permissions.has('posts.approve'));
  return { d, read, write, approve, one, mayScheduleDirectly };
}

export type PostRouteKit = ReturnType<typeof postRouteKit>;
