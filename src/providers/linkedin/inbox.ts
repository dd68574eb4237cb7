// A LinkedIn Page's inbox: the comments (and the comments on comments) under the Page's recent posts, collected by
// polling, and answering, liking and deleting through the Community Management API. Documentation:
//   https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api
//     (Get Comments on Shares, Get Comments on Comments, Get a Comment, Create a Comment with `parentComment` for a
//     nested comment, Delete a Comment; r_organization_social reads a Page's comments, w_organization_social writes
//     them; r_member_social, needed for a member's own, is "granted to select developers only")
//   https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/reactions-api
//     (Create a Reaction on a Comment, Delete a Reaction, Get a Reaction; reactions replace the old likes)
//   https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api (q=author, the Page's posts)
// The calls go to the versioned /rest endpoints with LinkedIn-Version, as publishing does (api.ts).
// One source ("comments") sweeps the Page's posts of the last RECENT_DAYS, a few per page, and reads every
// comment under each (and the nested ones under a comment that has any). LinkedIn lists no deleted comment and has
// no hiding of a comment by the Page: a deletion after collection is not seen, and nothing is hidden.
// UNCONFIRMED (not in the pages above as read): the order comments are listed in (so every comment of a post is
// read, up to MAX_READS_PER_POST pages, rather than down to the previous sweep); that a nested comment is created
// at the parent comment's path with the post as `object`; that a second reaction by the same actor is refused
// with 409 (taken as already liked) and deleting a missing one answers 404 (taken as not liked).
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type FindReplyRequest, type InboxItem, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState, type PublishedPost, type ReplyRequest } from '../types.ts';
import { PROVIDER, postUrl, type LinkedInApi } from './api.ts';
import type { Attempts } from './attempts.ts';
import { findByMarker } from './reconcile.ts';

export const COMMENTS = 'comments';
export const RECENT_DAYS = 14;
const POSTS_PER_PAGE = 10;
const COMMENTS_PER_READ = 100;
const MAX_READS_PER_POST = 10;

const isOrganization = (urn: string) => urn.startsWith('urn:li:organization:');
const enc = encodeURIComponent;

interface LComment {
  id?: unknown; commentUrn?: unknown; actor?: unknown; object?: unknown; parentComment?: unknown;
  message?: { text?: unknown }; created?: { time?: unknown }; lastModified?: { time?: unknown };
  commentsSummary?: { aggregatedTotalComments?: unknown; totalFirstLevelComments?: unknown };
}
interface LPost { id?: unknown; commentary?: unknown; createdAt?: unknown; publishedAt?: unknown; lastModifiedAt?: unknown }
type Listed<T> = { elements?: T[]; paging?: { start?: unknown; count?: unknown; total?: unknown } };

/** Where the sweep is: `s`, when it started (posts created RECENT_DAYS before it are read); `a`, the offset in the Page's posts. */
interface Cursor { s?: number; a?: number }
function parseCursor(raw: string | null): Cursor {
  if (!raw) return {};
  try {
    const c = JSON.parse(raw) as Cursor;
    return { ...(typeof c.s === 'number' ? { s: c.s } : {}), ...(typeof c.a === 'number' && c.a >= 0 ? { a: c.a } : {}) };
  } catch {
    return {};
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const time = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The Page only: a member's comments need r_member_social, which LinkedIn grants to select developers only. */
function requirePage(account: AccountRef, what: string): void {
  if (!isOrganization(account.externalId)) {
    throw new ProviderError('permanent', `linkedin: ${what}: LinkedIn lets AllIN read and answer comments of organisation Pages only (a member's need r_member_social, granted to select developers)`,
      { provider: PROVIDER, reason: 'missing_scope' });
  }
}

export async function collectComments(api: LinkedInApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== COMMENTS) throw new ProviderError('permanent', `linkedin: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
  requirePage(account, 'inbox');
  const cur = parseCursor(req.cursor);
  const sweepStart = cur.s ?? now;
  const offset = cur.a ?? 0;
  const headers = api.rest(account.tokens);
  const q = `q=author&author=${enc(account.externalId)}&start=${offset}&count=${POSTS_PER_PAGE}&sortBy=LAST_MODIFIED`;
  const res = await api.call({ method: 'GET', url: `${api.base}/rest/posts?${q}`, operation: 'inbox', headers: { ...headers, 'x-restli-method': 'FINDER' } });
  const body = api.read<Listed<LPost>>(res, 'inbox');
  const posts = body.elements;
  if (!Array.isArray(posts)) throw malformed(PROVIDER, 'inbox', false);
  const from = sweepStart - RECENT_DAYS * 86_400_000;
  const items: InboxItem[] = [];
  // The last page: past the total LinkedIn gives, or (without one) an empty page, since a page may hold fewer than asked.
  const total = Number(body.paging?.total);
  let older = Number.isFinite(total) ? offset + posts.length >= total : posts.length === 0;
  for (const p of posts) {
    const id = str(p.id);
    if (!id) throw malformed(PROVIDER, 'inbox', false);
    const created = time(p.createdAt) ?? time(p.publishedAt);
    // Sorted by last modification, newest first: once posts were last touched before the window, the rest were too.
    if ((time(p.lastModifiedAt) ?? created ?? 0) < from) older = true;
    if (created !== undefined && created < from) continue;
    const root: InboxItem['root'] = {
      remoteId: id, url: postUrl(id), authorRemoteId: account.externalId, authorHandle: account.username,
      ...(typeof p.commentary === 'string' ? { text: p.commentary } : {}), ...(created !== undefined ? { createdAt: new Date(created) } : {}),
    };
    for (const c of await listComments(api, account, id)) {
      items.push(toItem(account, c, id, root));
      const nested = Number(c.commentsSummary?.aggregatedTotalComments ?? 0);
      const urn = str(c.commentUrn);
      if (urn && nested > 0) for (const n of await listComments(api, account, urn)) items.push(toItem(account, n, id, root, urn));
    }
  }
  items.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  if (!older) return { items, cursor: JSON.stringify({ s: sweepStart, a: offset + posts.length } satisfies Cursor), more: true };
  // The sweep is over: the next one starts afresh from the newest post.
  return { items, cursor: JSON.stringify({} satisfies Cursor), more: false };
}

/** Every comment directly under a post or a comment, page by page (start/count). */
async function listComments(api: LinkedInApi, account: AccountRef, target: string): Promise<LComment[]> {
  const out: LComment[] = [];
  for (let read = 0; read < MAX_READS_PER_POST; read++) {
    const res = await api.send({ method: 'GET', url: `${api.base}/rest/socialActions/${enc(target)}/comments?start=${read * COMMENTS_PER_READ}&count=${COMMENTS_PER_READ}`, operation: 'inbox_comments', headers: api.rest(account.tokens) });
    // A post or comment deleted since it was listed: nothing under it any more.
    if (res.status === 404) return out;
    if (res.status < 200 || res.status >= 300) throw api.fail('inbox_comments', res);
    const body = api.read<Listed<LComment>>(res, 'inbox_comments');
    const els = body.elements;
    if (!Array.isArray(els)) throw malformed(PROVIDER, 'inbox_comments', false);
    out.push(...els);
    const total = Number(body.paging?.total);
    if (els.length < COMMENTS_PER_READ || (Number.isFinite(total) && out.length >= total)) break;
  }
  return out;
}

function toItem(account: AccountRef, c: LComment, postId: string, root: InboxItem['root'], parent?: string): InboxItem {
  const urn = str(c.commentUrn);
  const actor = str(c.actor);
  const created = time(c.created?.time);
  if (!urn || !actor || created === undefined) throw malformed(PROVIDER, 'inbox_comments', false);
  const modified = time(c.lastModified?.time);
  const parentUrn = str(c.parentComment) ?? parent;
  const mine = actor === account.externalId;
  return {
    remoteId: urn, kind: 'comment', rootRemoteId: postId, ...(parentUrn ? { parentRemoteId: parentUrn } : {}),
    // LinkedIn names a commenter by URN only; their profile may not be looked up and stored (Comments API, permissions).
    author: mine ? { remoteId: account.externalId, handle: account.username } : { remoteId: actor, handle: actor },
    text: typeof c.message?.text === 'string' ? c.message.text : '', url: postUrl(postId),
    createdAt: new Date(created), ...(modified !== undefined && modified > created ? { editedAt: new Date(modified) } : {}),
    ...(root ? { root } : {}),
  };
}

/** `urn:li:comment:(<post or activity urn>,<id>)` → the thing commented on and the comment's id. */
export function commentParts(urn: string): { target: string; id: string } {
  const m = /^urn:li:comment:\((.+),([^,()]+)\)$/.exec(urn);
  if (!m) throw new ProviderError('permanent', `linkedin: ${urn} is not a comment URN`, { provider: PROVIDER, reason: 'not_a_comment' });
  return { target: m[1]!, id: m[2]! };
}

/**
 * A comment under the message answered, as the Page: under the post when the message is the post itself, else a
 * nested comment (parentComment). Written down in the send journal before it goes out, so findReply can match the
 * comments under the parent after an unknown outcome (LinkedIn has no idempotency key).
 */
export async function replyToComment(api: LinkedInApi, attempts: Attempts, account: AccountRef, req: ReplyRequest): Promise<PublishedPost> {
  requirePage(account, 'reply');
  const nested = req.parentRemoteId.startsWith('urn:li:comment:');
  const object = nested ? commentParts(req.parentRemoteId).target : req.parentRemoteId;
  await attempts.record(account.externalId, req.marker, { commentary: req.text, replyTo: req.parentRemoteId, author: account.externalId });
  const res = await api.call({
    method: 'POST', url: `${api.base}/rest/socialActions/${enc(req.parentRemoteId)}/comments`, operation: 'reply', headers: api.rest(account.tokens),
    body: { actor: account.externalId, object, ...(nested ? { parentComment: req.parentRemoteId } : {}), message: { text: req.text } }, retryUnsent: true,
  }, true);
  let id = res.headers['x-restli-id'];
  if (!id?.startsWith('urn:li:comment:') && res.text) id = str(api.read<{ commentUrn?: unknown }>(res, 'reply', true).commentUrn) ?? id;
  if (!id) throw malformed(PROVIDER, 'reply', true);
  return { remoteId: id, url: postUrl(req.rootRemoteId) };
}

export function findCommentReply(api: LinkedInApi, attempts: Attempts, account: AccountRef, req: FindReplyRequest): Promise<PublishedPost | null> {
  return findByMarker(api, attempts, account, req.marker, req.since);
}

/** Deletes the Page's own comment: DELETE /rest/socialActions/{target}/comments/{id}?actor=; one already gone counts as deleted. */
export async function deleteComment(api: LinkedInApi, account: AccountRef, req: MessageActionRequest): Promise<void> {
  requirePage(account, 'delete');
  const { target, id } = commentParts(req.remoteId);
  const res = await api.send({ method: 'DELETE', url: `${api.base}/rest/socialActions/${enc(target)}/comments/${enc(id)}?actor=${enc(account.externalId)}`, operation: 'delete', headers: api.rest(account.tokens) }, true);
  if (res.status === 404) return;
  if (res.status < 200 || res.status >= 300) throw api.fail('delete', res, true);
}

const reactionKey = (actor: string, entity: string) => `(actor:${enc(actor)},entity:${enc(entity)})`;

/** A LIKE reaction by the Page on the comment (POST /rest/reactions?actor=), or taken back (DELETE /rest/reactions/(actor:…,entity:…)). */
export async function react(api: LinkedInApi, account: AccountRef, req: MessageActionRequest, on: boolean): Promise<void> {
  requirePage(account, on ? 'like' : 'unlike');
  const operation = on ? 'like' : 'unlike';
  const res = on
    ? await api.send({ method: 'POST', url: `${api.base}/rest/reactions?actor=${enc(account.externalId)}`, operation, headers: api.rest(account.tokens), body: { root: req.remoteId, reactionType: 'LIKE' } }, true)
    : await api.send({ method: 'DELETE', url: `${api.base}/rest/reactions/${reactionKey(account.externalId, req.remoteId)}`, operation, headers: api.rest(account.tokens) }, true);
  // Already liked, or not liked: the state asked for is there.
  if ((on && res.status === 409) || (!on && res.status === 404)) return;
  if (res.status < 200 || res.status >= 300) throw api.fail(operation, res, true);
}

/** The comment as the Page sees it: Get a Comment (404: gone) and Get a Reaction by the Page (404: not liked). */
export async function commentState(api: LinkedInApi, account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
  requirePage(account, 'message_state');
  const { target, id } = commentParts(req.remoteId);
  const c = await api.send({ method: 'GET', url: `${api.base}/rest/socialActions/${enc(target)}/comments/${enc(id)}`, operation: 'message_state', headers: api.rest(account.tokens) });
  if (c.status === 404) return { deleted: true };
  if (c.status < 200 || c.status >= 300) throw api.fail('message_state', c);
  const r = await api.send({ method: 'GET', url: `${api.base}/rest/reactions/${reactionKey(account.externalId, req.remoteId)}`, operation: 'message_state', headers: api.rest(account.tokens) });
  if (r.status === 404) return { deleted: false, likedByMe: false };
  if (r.status < 200 || r.status >= 300) throw api.fail('message_state', r);
  const reaction = api.read<{ reactionType?: unknown }>(r, 'message_state');
  return { deleted: false, likedByMe: typeof reaction.reactionType === 'string' };
}
