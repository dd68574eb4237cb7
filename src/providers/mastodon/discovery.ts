// What an instance's OAuth server supports, from its RFC 8414 metadata (4.3+:
// https://docs.joinmastodon.org/methods/oauth/, GET /.well-known/oauth-authorization-server), and the
// scopes AllIN asks for there (https://docs.joinmastodon.org/api/oauth-scopes/). Older servers answer 404:
// no PKCE and no `profile` scope. Kept an hour per host, for a bounded number of hosts.
import { LRUCache } from 'lru-cache';
import type { MastodonApi } from './api.ts';

const HOUR = 3_600_000;
/** Instances whose metadata is kept in memory at once (least recently used go first). */
export const MAX_HOSTS_KEPT = 1000;

export interface Discovery { pkce: boolean; profileScope: boolean; at: number }

export type Discover = (host: string) => Promise<Discovery>;

export function oauthDiscovery(api: MastodonApi): Discover {
  const discoveries = new LRUCache<string, Discovery>({ max: MAX_HOSTS_KEPT, ttl: HOUR });
  return async (host) => {
    const cached = discoveries.get(host);
    if (cached) return cached;
    const res = await api.send({ method: 'GET', url: `${api.base(host)}/.well-known/oauth-authorization-server`, operation: 'oauth_discovery', headers: { accept: 'application/json' } });
    let d: Discovery;
    if (res.status === 404) {
      d = { pkce: false, profileScope: false, at: Date.now() };
    } else if (res.status >= 200 && res.status < 300) {
      const m = api.read<{ code_challenge_methods_supported?: unknown; scopes_supported?: unknown }>(res, 'oauth_discovery');
      d = {
        pkce: Array.isArray(m.code_challenge_methods_supported) && m.code_challenge_methods_supported.includes('S256'),
        profileScope: Array.isArray(m.scopes_supported) && m.scopes_supported.includes('profile'),
        at: Date.now(),
      };
    } else {
      throw api.fail('oauth_discovery', res);
    }
    discoveries.set(host, d);
    return d;
  };
}

// `profile` (4.3+) only allows verify_credentials; older servers need read:accounts. read:statuses
// reads metrics and own statuses (without it those reads answer 403 when a token is sent); read:notifications
// reads the mentions the inbox collects (https://docs.joinmastodon.org/methods/notifications/); write:favourites
// likes them (https://docs.joinmastodon.org/methods/statuses/#favourite).
export const scopesFor = (d: Discovery): string[] => [d.profileScope ? 'profile' : 'read:accounts', 'read:statuses', 'read:notifications', 'write:statuses', 'write:media', 'write:favourites'];

/**
 * Whether a registration's scopes cover what AllIN does. An app registered with read:accounts before
 * the instance learnt `profile` still does: registering again would leave its tokens unrevocable
 * (revocation needs the credentials of the app that issued the token). One registered before AllIN read
 * notifications (or liked them) does not: the inbox needs read:notifications and write:favourites, so AllIN registers again, and revoking a token
 * of the old registration is then refused (the user revokes it in the instance's settings).
 */
export const coversScopes = (scopes: string[]): boolean => [['profile', 'read:accounts', 'read'], ['read:statuses', 'read'], ['read:notifications', 'read'], ['write:statuses', 'write'], ['write:media', 'write'], ['write:favourites', 'write']]
  .every((any) => any.some((x) => scopes.includes(x)));
