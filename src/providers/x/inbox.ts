// An X account's inbox: posts that mention it (replies to it included) and the replies in the conversations its
// recent posts started, collected by polling; answering, liking, hiding and deleting. Documentation:
//   https://docs.x.com/x-api/posts/timelines/quickstart/user-mention-quickstart   (GET /2/users/{id}/mentions: newest
//     first, max_results 5–100, since_id, pagination_token; "up to the most recent 800" posts can be paged through)
//   https://developer.x.com/en/docs/x-api/conversation-id   (every reply carries the conversation_id of the post that
//     started the conversation; GET /2/tweets/search/recent with `conversation_id:` finds a conversation's replies)
//   https://docs.x.com/x-api/posts/hide-replies/introduction   (PUT /2/tweets/{id}/hidden { hidden }, replies in
//     conversations the user started, tweet.moderate.write; hiding a hidden one succeeds)
//   https://docs.x.com/x-api/posts/likes/quickstart/manage-likes   (POST /2/users/{id}/likes { tweet_id },
//     DELETE /2/users/{id}/likes/{tweet_id}; like.write)
//   https://docs.x.com/x-api/fundamentals/rate-limits, https://docs.x.com/x-api/fundamentals/response-codes-and-errors
// Two sources. "mentions" reads the mentions timeline down to the newest post of the previous sweep (since_id),
// following pagination_token; a first read takes the newest page only. "replies" lists the account's own posts of
// the last 7 days (recent search covers 7 days), 10 a page, and asks recent search for the replies in their
// conversations (`conversation_id:A OR conversation_id:B …`, one query per page of posts) from the previous sweep
// less an hour. Recent search is not part of every access level: a 403 naming the access level (client-forbidden /
// client-not-enrolled) is reported as `access_level`, which the collector asks again only at its longest backoff.
// Within a page the adapter stops (rate_limited until x-rate-limit-reset) once x-rate-limit-remaining says 0.
// An edited post on X is a new post whose edit_history_tweet_ids starts with the original: the original's id is the
// message's id, so an edit replaces the text of the message collected before (timelines and search give the latest
// version: https://docs.x.com/x-api/fundamentals/edit-posts). X's API says nothing of a reply being hidden when reading it: hidden is not read.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest, type MessageActionRequest, type MessageState } from '../types.ts';
import type { HttpResponse } from '../../infra/http/client.ts';
import { PROVIDER, postUrl, type XApi } from './api.ts';
import { problemOf, xRetryAfterMs } from './errors.ts';

export const MENTIONS = 'mentions';
export const REPLIES = 'replies';
export const RECENT_DAYS = 7;
const OVERLAP_MS = 3_600_000;
const POSTS_PER_PAGE = 10;
const MAX_SEARCH_READS = 10;
const TWEET_FIELDS = 'created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,edit_history_tweet_ids';
const EXPANSIONS = 'author_id,referenced_tweets.id,referenced_tweets.id.author_id';
const USER_FIELDS = 'username,name,profile_image_url';

interface XPost {
  id?: unknown; text?: unknown; created_at?: unknown; author_id?: unknown; conversation_id?: unknown; in_reply_to_user_id?: unknown;
  referenced_tweets?: { type?: unknown; id?: unknown }[]; lang?: unknown; edit_history_tweet_ids?: unknown;
}
interface XUser { id?: unknown; username?: unknown; name?: unknown; profile_image_url?: unknown }
interface XList { data?: XPost[]; includes?: { users?: XUser[]; tweets?: XPost[] }; meta?: { newest_id?: unknown; next_token?: unknown; result_count?: unknown } }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const enc = encodeURIComponent;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** X's refusals that asking again cannot change: an access level without the endpoint, a scope not granted. */
function refusal(what: string, res: HttpResponse): ProviderError | null {
  if (res.status !== 403) return null;
  const p = problemOf(res) as ReturnType<typeof problemOf> & { reason?: string; required_enrollment?: string };
  if (p.reason === 'client-not-enrolled' || p.type?.endsWith('/client-forbidden')) {
    const level = p.required_enrollment ? ` (X requires: ${p.required_enrollment})` : '';
    return new ProviderError('permanent', `x: ${what}: the X app's API access level does not include this endpoint${level}; collecting it needs a higher level (docs/INBOX.md, X)`,
      { provider: PROVIDER, status: 403, reason: 'access_level' });
  }
  if (/scope/i.test(`${p.detail ?? ''} ${p.title ?? ''}`)) {
    return new ProviderError('permanent', `x: ${what}: reconnect the account to grant AllIN the scope this needs (${p.detail ?? 'forbidden'})`, { provider: PROVIDER, status: 403, reason: 'missing_scope' });
  }
  return null;
}

/** A read, with X's refusals named and the window's last call kept for later (rate_limited until its reset). */
async function read(api: XApi, account: AccountRef, url: string, operation: string): Promise<{ body: XList; spent: boolean; res: HttpResponse }> {
  const res = await api.send({ method: 'GET', url, operation, headers: api.bearer(account.tokens) });
  const refused = refusal(operation, res);
  if (refused) throw refused;
  if (res.status < 200 || res.status >= 300) throw api.fail(operation, res);
  return { body: api.read<XList>(res, operation), spent: res.headers['x-rate-limit-remaining'] === '0', res };
}
function spentError(res: HttpResponse): ProviderError {
  return new ProviderError('rate_limited', 'x: the endpoint\'s 15-minute window is spent; the rest waits for its reset',
    { provider: PROVIDER, reason: 'window_spent', retryAfterMs: xRetryAfterMs({ ...res.headers, 'x-rate-limit-remaining': '0' }) ?? 60_000 });
}

function toItem(account: AccountRef, p: XPost, users: Map<string, XUser>, referenced: Map<string, XPost>): InboxItem {
  const id = str(p.id);
  const created = typeof p.created_at === 'string' ? Date.parse(p.created_at) : NaN;
  const authorId = str(p.author_id);
  if (!id || !Number.isFinite(created) || !authorId) throw malformed(PROVIDER, 'inbox', false);
  const history = Array.isArray(p.edit_history_tweet_ids) ? p.edit_history_tweet_ids.filter((x): x is string => typeof x === 'string') : [];
  const original = history[0] ?? id;
  const parent = str(p.referenced_tweets?.find((r) => r.type === 'replied_to')?.id);
  const conversation = str(p.conversation_id) ?? id;
  const parentPost = parent ? referenced.get(parent) : undefined;
  const toMe = str(p.in_reply_to_user_id) === account.externalId || str(parentPost?.author_id) === account.externalId;
  const u = users.get(authorId);
  const handle = str(u?.username) ?? authorId;
  const mine = authorId === account.externalId;
  return {
    remoteId: original, kind: parent && (toMe || mine) ? 'comment' : 'mention', rootRemoteId: conversation,
    ...(parent && parent !== conversation ? { parentRemoteId: parent } : {}),
    author: mine ? { remoteId: account.externalId, handle: account.username } : {
      remoteId: authorId, handle, ...(str(u?.name) ? { name: str(u?.name)! } : {}), ...(str(u?.profile_image_url) ? { avatarUrl: str(u?.profile_image_url)! } : {}),
    },
    text: typeof p.text === 'string' ? p.text : '', url: postUrl(mine ? account.username : handle, original),
    ...(str(p.lang) && p.lang !== 'und' && p.lang !== 'zxx' ? { language: str(p.lang)! } : {}),
    // An edit is a new post: its creation is the edit's time, the original's is not given.
    createdAt: new Date(created), ...(history.length > 1 ? { editedAt: new Date(created) } : {}),
  };
}

function itemsOf(account: AccountRef, body: XList): InboxItem[] {
  const users = new Map((body.includes?.users ?? []).map((u) => [String(u.id), u]));
  const referenced = new Map((body.includes?.tweets ?? []).map((t) => [String(t.id), t]));
  if (body.data !== undefined && !Array.isArray(body.data)) throw malformed(PROVIDER, 'inbox', false);
  return (body.data ?? []).map((p) => toItem(account, p, users, referenced));
}

/**
 * Where the mentions timeline is read from: `since`, the newest post of the previous sweep; `top`, this sweep's newest;
 * `next`, its pagination token; `all`, the account had no mention at all when first read, so every later one is new.
 */
interface MentionsCursor { since?: string; top?: string; next?: string; all?: boolean }
/** Where the replies sweep is: `w`, the previous sweep's start (ms); `s`, this one's; `a`, the pagination token of the account's posts. */
interface RepliesCursor { w?: number; s?: number; a?: string }
function parse<T extends object>(raw: string | null): T {
  if (!raw) return {} as T;
  try {
    const c = JSON.parse(raw) as unknown;
    return c && typeof c === 'object' ? c as T : {} as T;
  } catch {
    return {} as T;
  }
}

export async function collectX(api: XApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source === MENTIONS) return mentions(api, account, parse<MentionsCursor>(req.cursor));
  if (req.source === REPLIES) return replies(api, account, parse<RepliesCursor>(req.cursor), now);
  throw new ProviderError('permanent', `x: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
}

async function mentions(api: XApi, account: AccountRef, cur: MentionsCursor): Promise<InboxPage> {
  const q = new URLSearchParams({ max_results: '100', 'tweet.fields': TWEET_FIELDS, expansions: EXPANSIONS, 'user.fields': USER_FIELDS });
  if (cur.since) q.set('since_id', cur.since);
  if (cur.next) q.set('pagination_token', cur.next);
  const { body } = await read(api, account, `${api.base}/2/users/${enc(account.externalId)}/mentions?${q}`, 'inbox');
  const items = itemsOf(account, body);
  const top = cur.top ?? str(body.meta?.newest_id);
  const next = str(body.meta?.next_token);
  // A first read (no since) takes the newest page only; later ones page back to the previous sweep's newest.
  if (next && (cur.since || cur.all)) {
    return { items, cursor: JSON.stringify({ ...(cur.since ? { since: cur.since } : { all: true }), ...(top ? { top } : {}), next } satisfies MentionsCursor), more: true };
  }
  const since = top ?? cur.since;
  return { items, cursor: JSON.stringify(since ? { since } : { all: true } satisfies MentionsCursor), more: false };
}

async function replies(api: XApi, account: AccountRef, cur: RepliesCursor, now: number): Promise<InboxPage> {
  const sweepStart = cur.s ?? now;
  // Recent search answers the last 7 days; a little less, so start_time is never refused as too old.
  const windowStart = sweepStart - RECENT_DAYS * 86_400_000 + 60_000;
  const q = new URLSearchParams({ max_results: String(POSTS_PER_PAGE), exclude: 'retweets,replies', 'tweet.fields': 'created_at', start_time: iso(windowStart) });
  if (cur.a) q.set('pagination_token', cur.a);
  const own = await read(api, account, `${api.base}/2/users/${enc(account.externalId)}/tweets?${q}`, 'inbox');
  const posts = (own.body.data ?? []).map((p) => str(p.id)).filter((x): x is string => Boolean(x));
  const items: InboxItem[] = [];
  if (posts.length > 0) {
    if (own.spent) throw spentError(own.res);
    const from = Math.max(windowStart, cur.w ? cur.w - OVERLAP_MS : 0);
    let token: string | undefined;
    for (let reads = 0; reads < MAX_SEARCH_READS; reads++) {
      const s = new URLSearchParams({
        query: posts.map((id) => `conversation_id:${id}`).join(' OR '), max_results: '100', start_time: iso(from),
        'tweet.fields': TWEET_FIELDS, expansions: EXPANSIONS, 'user.fields': USER_FIELDS,
      });
      if (token) s.set('next_token', token);
      const found = await read(api, account, `${api.base}/2/tweets/search/recent?${s}`, 'inbox_replies');
      items.push(...itemsOf(account, found.body).map((i) => ({ ...i, kind: 'comment' as const })));
      token = str(found.body.meta?.next_token);
      if (!token) break;
      if (found.spent) throw spentError(found.res);
    }
  }
  items.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const a = str(own.body.meta?.next_token);
  if (a) return { items, cursor: JSON.stringify({ ...(cur.w ? { w: cur.w } : {}), s: sweepStart, a } satisfies RepliesCursor), more: true };
  return { items, cursor: JSON.stringify({ w: sweepStart } satisfies RepliesCursor), more: false };
}

/** A call that sets a state (like, hide, delete), with X's refusals named. */
async function act(api: XApi, account: AccountRef, operation: string, req: { method: 'POST' | 'PUT' | 'DELETE'; url: string; body?: unknown }): Promise<HttpResponse> {
  const res = await api.send({ ...req, operation, headers: api.bearer(account.tokens) }, true);
  const refused = refusal(operation, res);
  if (refused) throw refused;
  if (res.status < 200 || res.status >= 300) throw api.fail(operation, res, true);
  return res;
}

export async function setLike(api: XApi, account: AccountRef, req: MessageActionRequest, on: boolean): Promise<void> {
  const me = enc(account.externalId);
  if (on) await act(api, account, 'like', { method: 'POST', url: `${api.base}/2/users/${me}/likes`, body: { tweet_id: req.remoteId } });
  else await act(api, account, 'unlike', { method: 'DELETE', url: `${api.base}/2/users/${me}/likes/${enc(req.remoteId)}` });
}

export async function setHidden(api: XApi, account: AccountRef, req: MessageActionRequest, hidden: boolean): Promise<void> {
  await act(api, account, hidden ? 'hide' : 'unhide', { method: 'PUT', url: `${api.base}/2/tweets/${enc(req.remoteId)}/hidden`, body: { hidden } });
}

/** Deletes the account's own post (DELETE /2/tweets/{id}: https://docs.x.com/x-api/posts/delete-post); one already gone counts as deleted. */
export async function deletePost(api: XApi, account: AccountRef, req: MessageActionRequest): Promise<void> {
  const res = await api.send({ method: 'DELETE', url: `${api.base}/2/tweets/${enc(req.remoteId)}`, operation: 'delete', headers: api.bearer(account.tokens) }, true);
  if (res.status === 404) return;
  const refused = refusal('delete', res);
  if (refused) throw refused;
  if (res.status < 200 || res.status >= 300) throw api.fail('delete', res, true);
}

/**
 * The post as the account sees it: GET /2/tweets/{id} (errors[] resource-not-found: deleted), and whether the account
 * likes it from its newest liked posts (GET /2/users/{id}/liked_tweets, like.read): found, liked; not found on a
 * list that ends, not liked; otherwise not said. Hidden is not readable.
 */
export async function postState(api: XApi, account: AccountRef, req: MessageActionRequest): Promise<MessageState> {
  const res = await api.send({ method: 'GET', url: `${api.base}/2/tweets/${enc(req.remoteId)}`, operation: 'message_state', headers: api.bearer(account.tokens) });
  if (res.status === 404) return { deleted: true };
  if (res.status < 200 || res.status >= 300) throw api.fail('message_state', res);
  const body = api.read<{ data?: { id?: unknown }; errors?: { type?: unknown }[] }>(res, 'message_state');
  if (!body.data) {
    if (body.errors?.some((e) => typeof e.type === 'string' && e.type.endsWith('/resource-not-found'))) return { deleted: true };
    throw malformed(PROVIDER, 'message_state', false);
  }
  const liked = await read(api, account, `${api.base}/2/users/${enc(account.externalId)}/liked_tweets?max_results=100`, 'message_state');
  const ids = new Set((liked.body.data ?? []).map((p) => str(p.id)));
  if (ids.has(req.remoteId)) return { deleted: false, likedByMe: true };
  return { deleted: false, ...(liked.body.meta?.next_token ? {} : { likedByMe: false }) };
}
