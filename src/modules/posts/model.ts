// What a post is to every part of this module (writing, scheduling, the queue, bulk upload, the
// calendar): its rows, the input that writes one, the ways to schedule it, and the status a person reads.
import type { AuditEntry } from '../audit/index.ts';
import type { socialAccounts } from '../accounts/index.ts';
import type { DbOrTx } from '../../infra/db/client.ts';
import { NotFound } from '../../domain/errors.ts';
import type { posts, postTargets, TargetState, Variant } from './schema.ts';
import type { MediaFacts } from './validate.ts';

export type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;
export type Post = typeof posts.$inferSelect;
export type Target = typeof postTargets.$inferSelect;
export type Account = typeof socialAccounts.$inferSelect;

export interface MediaLookup {
  /** Facts of the workspace's media with these ids; an id that is not the workspace's is an error naming it. */
  describe(workspaceId: string, ids: string[], tx?: DbOrTx): Promise<MediaFacts[]>;
}

export interface TargetInput {
  accountId: string;
  text?: string;
  mediaIds?: string[];
  thread?: { text: string; mediaIds?: string[] }[];
  firstComment?: string;
  options?: Record<string, unknown>;
}

/** Who changes a post: whether they may approve posts in its workspace decides what their edit does. */
export interface Editor {
  userId: string | null;
  mayApprove: boolean;
}

export interface PostInput {
  text: string;
  mediaIds?: string[];
  targets: TargetInput[];
}

export type ScheduleSpec =
  | { mode: 'at'; at: string }
  | { mode: 'local'; localTime: string; timeZone: string }
  | { mode: 'now' }
  | { mode: 'queue' };

export const notFound = () => new NotFound('NOT_FOUND', 'No such post in this workspace.');

/** Target states whose content and time may still change (nothing of them is on a network yet). */
export const EDITABLE: readonly TargetState[] = ['draft', 'pending_approval', 'scheduled', 'cancelled'];

/** The latest occurrence of a recurring post on this account (0 for a post that does not repeat). */
export function maxOccurrence(targets: Target[], accountId: string): number {
  return Math.max(...targets.filter((t) => t.accountId === accountId).map((t) => t.occurrence));
}

/** What a target stores of its own: only the fields that differ from the post's. */
export function variantOf(t: TargetInput): Variant {
  return {
    ...(t.text !== undefined ? { text: t.text } : {}),
    ...(t.mediaIds !== undefined ? { mediaIds: t.mediaIds } : {}),
    ...(t.thread !== undefined && t.thread.length ? { thread: t.thread } : {}),
    ...(t.firstComment !== undefined ? { firstComment: t.firstComment } : {}),
    ...(t.options !== undefined ? { options: t.options } : {}),
  };
}

/** The status a person reads for a post: where its targets are, taken together. */
export function aggregateStatus(post: Post, targets: Target[]): string {
  if (post.status !== 'scheduled') return post.status;
  // A recurring post is judged by each account's latest occurrence.
  const live = targets.filter((t) => t.state !== 'cancelled' && t.state !== 'draft' && t.occurrence === maxOccurrence(targets, t.accountId));
  const has = (s: TargetState) => live.some((t) => t.state === s);
  if (has('publishing')) return 'publishing';
  if (live.every((t) => t.state === 'published')) return 'published';
  if (has('scheduled')) return has('published') || has('failed') || has('unknown') ? 'partially_published' : 'scheduled';
  if (has('published')) return 'partially_published';
  if (has('unknown')) return 'unknown';
  return 'failed';
}
