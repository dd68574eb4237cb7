// Finding a status again after an unknown outcome, by its marker (docs/NETWORKS.md, Network facts: Mastodon,
// "idempotency" and "read back"). Within the Idempotency-Key's hour the key is replayed with an empty status:
// the server answers the status it created, or refuses the empty text when there is none, creating nothing
// (https://docs.joinmastodon.org/methods/statuses/#create). After the hour statuses do not show the key, so
// the only evidence is the account's own statuses (https://docs.joinmastodon.org/methods/accounts/#statuses):
// none posted through AllIN since the attempt means nothing was created; any means it cannot be told.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type PublishedPost } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import { CLIENT_NAME } from './apps.ts';
import { IDEMPOTENCY_WINDOW_MS, idempotencyKey } from './idempotency.ts';
import { nextLink } from './paging.ts';
import { toPublished, type Status } from './statuses.ts';

export async function findByMarker(api: MastodonApi, account: AccountRef, host: string, marker: string, since: Date): Promise<PublishedPost | null> {
  if (Date.now() - since.getTime() <= IDEMPOTENCY_WINDOW_MS) {
    // Mastodon checks the Idempotency-Key before anything else (PostStatusService#call, in every
    // version since the key exists): a request with a known key returns the status it created; with
    // an unknown key it goes on to validation, where an empty status without media is refused (422
    // "Text can't be blank"), creating nothing. That forks keep both behaviours is UNCONFIRMED.
    const res = await api.send({
      method: 'POST', url: `${api.base(host)}/api/v1/statuses`, operation: 'find_post',
      headers: { ...api.bearer(account.tokens), 'idempotency-key': idempotencyKey(marker) }, body: { status: '' },
    });
    if (res.status === 422) return null;
    if (res.status < 200 || res.status >= 300) throw api.fail('find_post', res);
    return toPublished(api.read<Status>(res, 'find_post'), 'find_post');
  }
  if (await anyOwnStatusSince(api, account, host, since)) {
    throw new ProviderError('permanent', 'mastodon: the instance forgets Idempotency-Keys after an hour and statuses do not carry them; posts made through AllIN since then exist, so whether this one was published cannot be told', { provider: PROVIDER, reason: 'cannot_reconcile' });
  }
  return null;
}

/** Whether the account posted anything through AllIN since `since` (ten pages at most, then "yes"). */
async function anyOwnStatusSince(api: MastodonApi, account: AccountRef, host: string, since: Date): Promise<boolean> {
  const accountId = typeof account.data.accountId === 'string' ? account.data.accountId : account.externalId;
  let url = `${api.base(host)}/api/v1/accounts/${encodeURIComponent(accountId)}/statuses?limit=40&exclude_reblogs=true`;
  for (let page = 0; page < 10; page++) {
    const res = await api.call({ method: 'GET', url, operation: 'find_post', headers: api.bearer(account.tokens) });
    const list = api.read<Status[]>(res, 'find_post');
    if (!Array.isArray(list)) throw malformed(PROVIDER, 'find_post', false);
    for (const s of list) {
      const at = typeof s.created_at === 'string' ? Date.parse(s.created_at) : NaN;
      if (at < since.getTime()) return false;
      if (s.application?.name === CLIENT_NAME) return true;
    }
    const next = nextLink(res.headers.link);
    if (list.length === 0 || !next) return false; // every status of the account was seen
    // The bearer token only goes back to the instance itself, whatever the Link header says.
    if (new URL(next).origin !== new URL(api.base(host)).origin) return true;
    url = next;
  }
  return true; // ten pages of statuses since `since` and none older: too many to be sure
}
