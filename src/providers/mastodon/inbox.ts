// Collecting an account's mentions (docs/NETWORKS.md, Network facts: Mastodon, "inbox"). Source
// "notifications": GET /api/v1/notifications?types[]=mention (https://docs.joinmastodon.org/methods/notifications/),
// read forward with min_id (the page immediately newer than the cursor) and carried on from the Link header's
// rel="prev" URL, whose min_id is the newest notification of the page. A reply to the account's status arrives
// as a mention too, so this one source brings comments and mentions. A status that answers another is placed
// in its thread with GET /api/v1/statuses/:id/context (https://docs.joinmastodon.org/methods/statuses/#context):
// the first ancestor is the thread's root. Needs read:notifications; a token without it (accounts connected
// before AllIN asked for it) is told to reconnect rather than retried.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type InboxItem, type InboxPage, type InboxPageRequest } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import { statusText } from './content.ts';
import { linkOf } from './paging.ts';

export const NOTIFICATIONS = 'notifications';
/** Mastodon's default page of notifications (its most is 80). */
const PAGE_SIZE = 40;
/**
 * Calls this account keeps for publishing: thread look-ups stop (rate_limited until X-RateLimit-Reset) when
 * X-RateLimit-Remaining falls to this (https://docs.joinmastodon.org/api/rate-limits/: 300 per 5 minutes).
 */
const KEEP_FOR_PUBLISHING = 30;

interface MAccount { id?: unknown; acct?: unknown; display_name?: unknown; avatar?: unknown }
interface MStatus {
  id?: unknown; created_at?: unknown; edited_at?: unknown; in_reply_to_id?: unknown; in_reply_to_account_id?: unknown;
  visibility?: unknown; language?: unknown; url?: unknown; uri?: unknown; content?: unknown; account?: MAccount;
}
interface MNotification { id?: unknown; type?: unknown; status?: MStatus | null }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const date = (v: unknown): Date | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? new Date(t) : undefined;
};
/** Mastodon ids are numbers written in decimal: longer is newer, then by text. */
const newer = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);

export async function collectMentions(api: MastodonApi, account: AccountRef, host: string, req: InboxPageRequest): Promise<InboxPage> {
  if (req.source !== NOTIFICATIONS) throw new ProviderError('permanent', `mastodon: no inbox source "${req.source}"`, { provider: PROVIDER, reason: 'unknown_source' });
  const me = typeof account.data.accountId === 'string' ? account.data.accountId : account.externalId;
  const q = new URLSearchParams({ 'types[]': 'mention', limit: String(PAGE_SIZE), ...(req.cursor ? { min_id: req.cursor } : {}) });
  const res = await api.send({ method: 'GET', url: `${api.base(host)}/api/v1/notifications?${q.toString()}`, operation: 'inbox', headers: api.bearer(account.tokens) });
  if (res.status === 403) {
    // The token was granted before AllIN asked for read:notifications: only reconnecting grants it. Not
    // auth_expired, which would mark the whole account as needing reconnection and stop its publishing too:
    // the inbox alone waits (the collector retries such a source at its longest backoff).
    throw new ProviderError('permanent', 'mastodon: reconnect the account to allow reading notifications (it was connected before AllIN asked for read:notifications)',
      { provider: PROVIDER, status: 403, reason: 'missing_scope' });
  }
  if (res.status < 200 || res.status >= 300) throw api.fail('inbox', res);
  const list = api.read<MNotification[]>(res, 'inbox');
  if (!Array.isArray(list)) throw malformed(PROVIDER, 'inbox', false);
  let remaining = Number(res.headers['x-ratelimit-remaining'] ?? Infinity);

  const contexts = new Map<string, MStatus[]>();
  const ancestorsOf = async (id: string): Promise<MStatus[]> => {
    const known = contexts.get(id);
    if (known) return known;
    if (remaining <= KEEP_FOR_PUBLISHING) {
      throw new ProviderError('rate_limited', 'mastodon: the account\'s rate limit is nearly spent; the rest is kept for publishing',
        { provider: PROVIDER, reason: 'budget_kept', retryAfterMs: Math.max(1000, (date(res.headers['x-ratelimit-reset'])?.getTime() ?? Date.now() + 60_000) - Date.now()) });
    }
    const c = await api.call({ method: 'GET', url: `${api.base(host)}/api/v1/statuses/${encodeURIComponent(id)}/context`, operation: 'inbox_context', headers: api.bearer(account.tokens) }).catch((err: unknown) => {
      // The status was deleted since the notification was read: the thread ends there.
      if (err instanceof ProviderError && err.details.status === 404) return null;
      throw err;
    });
    if (c) remaining = Number(c.headers['x-ratelimit-remaining'] ?? remaining);
    const body = c ? api.read<{ ancestors?: MStatus[] }>(c, 'inbox_context') : { ancestors: [] };
    const ancestors = Array.isArray(body.ancestors) ? body.ancestors : [];
    contexts.set(id, ancestors);
    return ancestors;
  };

  const items: InboxItem[] = [];
  let newest = req.cursor;
  for (const n of [...list].reverse()) {
    const nid = str(n.id);
    if (!nid) throw malformed(PROVIDER, 'inbox', false);
    if (!newest || newer(nid, newest)) newest = nid;
    const s = n.status;
    // A status deleted as the page was read comes without it; private mentions are left out, since a reply
    // goes with the account's default visibility and would make a direct conversation public.
    if (n.type !== 'mention' || !s || s.visibility === 'direct') continue;
    const item = toItem(s, me);
    if (!item) throw malformed(PROVIDER, 'inbox', false);
    if (item.parentRemoteId) {
      const ancestors = await ancestorsOf(item.remoteId);
      const first = ancestors[0];
      // The first ancestor is the root, unless it answers a status that is gone: then that gone one is.
      item.rootRemoteId = (first ? str(first.in_reply_to_id) ?? str(first.id) : undefined) ?? item.parentRemoteId;
      if (first && !str(first.in_reply_to_id) && str(first.id)) {
        const author = str(first.account?.id);
        item.root = {
          remoteId: str(first.id)!, ...(str(first.url) ?? str(first.uri) ? { url: (str(first.url) ?? str(first.uri))! } : {}),
          text: statusText(str(first.content) ?? ''), ...(author ? { authorRemoteId: author } : {}),
          ...(str(first.account?.acct) ? { authorHandle: str(first.account?.acct)! } : {}), ...(date(first.created_at) ? { createdAt: date(first.created_at)! } : {}),
        };
        if (author === me) item.kind = 'comment';
      }
      if (str(s.in_reply_to_account_id) === me) item.kind = 'comment';
    }
    items.push(item);
  }
  // The Link header's rel="prev" carries the newest id of the page as min_id; the ids read say the same.
  const prev = linkOf(res.headers.link, 'prev');
  const fromLink = prev ? new URL(prev).searchParams.get('min_id') : null;
  // A first read (no cursor) takes the newest page; when the account has no mention at all yet, every later one
  // is new, so the cursor becomes "0" (min_id=0: from the first) rather than staying at "the newest page".
  const cursor = fromLink && (!newest || !newer(newest, fromLink)) ? fromLink : newest ?? '0';
  // A page with anything in it may not be the last (instances may answer fewer than asked): ask again at once;
  // the empty answer after it ends the run.
  return { items, cursor, more: list.length > 0 };
}

function toItem(s: MStatus, me: string): InboxItem | null {
  const id = str(s.id);
  const created = date(s.created_at);
  const author = s.account;
  if (!id || !created || !str(author?.id)) return null;
  const parent = str(s.in_reply_to_id);
  const url = str(s.url) ?? str(s.uri);
  const edited = date(s.edited_at);
  return {
    remoteId: id, kind: str(s.in_reply_to_account_id) === me ? 'comment' : 'mention', rootRemoteId: parent ?? id,
    ...(parent ? { parentRemoteId: parent } : {}),
    author: {
      remoteId: str(author!.id)!, handle: str(author!.acct) ?? str(author!.id)!,
      ...(str(author!.display_name) ? { name: str(author!.display_name)! } : {}), ...(str(author!.avatar) ? { avatarUrl: str(author!.avatar)! } : {}),
    },
    text: statusText(str(s.content) ?? ''), ...(url ? { url } : {}), ...(str(s.language) ? { language: str(s.language)! } : {}),
    createdAt: created, ...(edited ? { editedAt: edited } : {}),
  };
}
