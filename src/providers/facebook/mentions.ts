// Mentions of a Facebook Page: public posts in which the Page has been tagged, polled. Documentation:
//   https://developers.facebook.com/docs/graph-api/reference/page/tagged ("All public posts in which the page has been
//     tagged"; a Page access token of someone who can perform CREATE_CONTENT, MANAGE or MODERATE, with
//     pages_read_user_content and pages_show_list; the Page Public Content Access feature "may be required"; "For user
//     posts, the from field will only be returned if the user making the request is the same user who created the
//     post")
// Source "mentions" reads the list newest first (UNCONFIRMED: the page gives no order) back to where the previous
// sweep read, less an hour (a first sweep: 14 days). A person's post comes without its author (`from` is withheld):
// it is shown as a Facebook user, with its link. Posts and comments that @mention the Page are also pushed (the Page
// webhook's `mention` field, webhooks.ts). A Page's post is answered with a comment as the
// Page (https://developers.facebook.com/docs/graph-api/reference/object/comments: "New Pages can comment as a Page on
// new Pages or classic Pages"); a person's post (no `from`) is collected as not answerable: Graph documents no
// comment of a Page there.
import { malformed } from '../errors.ts';
import type { AccountRef, InboxItem, InboxPage, InboxPageRequest } from '../types.ts';
import { dataOf, need, parseGraphTime, permanent, type GraphApi } from '../meta-graph.ts';
import { newestFirstPage, type Paged } from '../meta-graph/sweep.ts';

export const MENTIONS = 'mentions';
const PER_PAGE = 25;
const OVERLAP_SECONDS = 3600;
const FIRST_SWEEP_DAYS = 14;
const FIELDS = 'id,message,created_time,from,permalink_url';

interface GPost { id?: unknown; message?: unknown; created_time?: unknown; from?: { id?: unknown; name?: unknown }; permalink_url?: unknown }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

function toItem(provider: string, p: GPost): InboxItem {
  const id = need(provider, 'inbox_mentions', false, p.id);
  const at = parseGraphTime(p.created_time);
  if (!Number.isFinite(at)) throw malformed(provider, 'inbox_mentions', false);
  const from = str(p.from?.id);
  const name = str(p.from?.name);
  return {
    remoteId: id, kind: 'mention', rootRemoteId: id,
    author: from ? { remoteId: from, handle: name ?? from, ...(name ? { name } : {}) } : { remoteId: 'unknown', handle: 'Facebook user' },
    // A Page's post (Graph names its author) can be commented on as the Page; a person's cannot (not documented).
    answerable: !!from,
    text: typeof p.message === 'string' ? p.message : '', createdAt: new Date(at), ...(str(p.permalink_url) ? { url: str(p.permalink_url)! } : {}),
  };
}

/** One page of the posts the Page is tagged in, newest first, down to where the previous sweep read less an hour. */
export async function collectTagged(g: GraphApi, account: AccountRef, req: InboxPageRequest, now = Date.now()): Promise<InboxPage> {
  if (req.source !== MENTIONS) throw permanent(g.provider, `no inbox source "${req.source}"`, 'unknown_source');
  return newestFirstPage(req.cursor, { now, firstDays: FIRST_SWEEP_DAYS, overlapSeconds: OVERLAP_SECONDS }, async (after) => {
    const r = await g.get<Paged<GPost>>('inbox_mentions', `${account.externalId}/tagged`, account.tokens.accessToken, { fields: FIELDS, limit: PER_PAGE, ...(after ? { after } : {}) });
    return { items: dataOf(g.provider, 'inbox_mentions', r).map((p) => toItem(g.provider, p)), after: r.paging?.next ? str(r.paging.cursors?.after) : undefined };
  });
}
