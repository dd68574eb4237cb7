// Mastodon instance hosts as users type them, reduced to host[:port] before any call. Every instance is its
// own server at https://{host} (https://docs.joinmastodon.org/; docs/NETWORKS.md, Network facts: Mastodon).
// Anything that is not a plain host name is refused, so a user cannot point AllIN at a path or slip
// credentials into the URL; the private-address guard then decides where the name may lead (api.ts sends
// every call with userSuppliedHost).
import { ProviderError } from '../types.ts';

const PROVIDER = 'mastodon';

/**
 * A host name as typed ("mastodon.social", "https://Mastodon.Social/", "social.example:8443") reduced
 * to host[:port]; anything with a user, a path or odd characters is refused.
 */
export function normalizeMastodonHost(input: string): string {
  const trimmed = input.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  let u: URL;
  try {
    u = new URL(`https://${trimmed}`);
  } catch {
    throw invalidHost(input);
  }
  if (u.username || u.password || u.pathname !== '/' || u.search || u.hash || !/^[a-z0-9.-]+(:\d+)?$|^\[[0-9a-f:.]+\](:\d+)?$/.test(u.host)) {
    throw invalidHost(input);
  }
  return u.host;
}

/** The account's (or the request's) instance, normalised; a call without one is refused. */
export function requireHost(host: string | undefined, what: string): string {
  if (!host) throw new ProviderError('permanent', `mastodon: ${what} needs the instance host`, { provider: PROVIDER, reason: 'invalid_host' });
  return normalizeMastodonHost(host);
}

function invalidHost(input: string): ProviderError {
  return new ProviderError('permanent', `mastodon: "${input.slice(0, 100)}" is not an instance host name such as mastodon.social`, { provider: PROVIDER, reason: 'invalid_host' });
}
