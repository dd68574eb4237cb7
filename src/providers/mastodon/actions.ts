// Acting on a status from the inbox: like it (a favourite, https://docs.joinmastodon.org/methods/statuses/#favourite,
// User + write:favourites), take it back (#unfavourite), delete the account's own status (#delete, as for a post:
// statuses.ts). Favouriting a favourited status, or unfavouriting one that is not, changes nothing, so a try whose
// answer never came is safe to repeat; after one, the state is read back all the same (#get: `favourited`, "if the
// current token has an authorized user", https://docs.joinmastodon.org/entities/Status/#favourited; 404 when the
// status is gone). Mastodon has no way to hide a reply by someone else: not declared.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type MessageActionRequest, type MessageState } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import { deleteStatus } from './statuses.ts';

const status = (api: MastodonApi, host: string, id: string) => `${api.base(host)}/api/v1/statuses/${encodeURIComponent(id)}`;

export async function favourite(api: MastodonApi, account: AccountRef, host: string, req: MessageActionRequest, on: boolean): Promise<void> {
  const operation = on ? 'favourite' : 'unfavourite';
  const res = await api.send({ method: 'POST', url: `${status(api, host, req.remoteId)}/${operation}`, operation, headers: api.bearer(account.tokens) }, true);
  if (res.status === 403) {
    // A token granted before AllIN asked for write:favourites (scopes are fixed when a token is granted). Not
    // auth_expired, which would stop the account's publishing too: only liking waits for a reconnection.
    throw new ProviderError('permanent', 'mastodon: reconnect the account to allow likes (it was connected before AllIN asked for write:favourites)',
      { provider: PROVIDER, status: 403, reason: 'missing_scope' });
  }
  if (res.status < 200 || res.status >= 300) throw api.fail(operation, res, true);
}

export function deleteOwnStatus(api: MastodonApi, account: AccountRef, host: string, req: MessageActionRequest): Promise<void> {
  return deleteStatus(api, account, host, req.remoteId);
}

export async function statusState(api: MastodonApi, account: AccountRef, host: string, req: MessageActionRequest): Promise<MessageState> {
  const res = await api.send({ method: 'GET', url: status(api, host, req.remoteId), operation: 'status_state', headers: api.bearer(account.tokens) });
  if (res.status === 404) return { deleted: true };
  if (res.status < 200 || res.status >= 300) throw api.fail('status_state', res);
  const s = api.read<{ id?: unknown; favourited?: unknown }>(res, 'status_state');
  if (typeof s.id !== 'string') throw malformed(PROVIDER, 'status_state', false);
  return { deleted: false, ...(typeof s.favourited === 'boolean' ? { likedByMe: s.favourited } : {}) };
}
