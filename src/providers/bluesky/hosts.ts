// The servers a Bluesky adapter talks to (https://docs.bsky.app/docs/advanced-guides/api-directory):
// `service` (default https://bsky.social) is where sessions are made for accounts Bluesky hosts; `plc`
// (https://plc.directory) resolves did:plc; `appview` (https://public.api.bsky.app, unauthenticated)
// answers app.bsky.* reads; `web` (https://bsky.app) builds public links. These are trusted configuration;
// a PDS named by a user or by a DID document is not, and goes through the private-address guard. Server
// addresses as typed are reduced to a base URL here.
import { ProviderError, type AccountRef, type ProviderDeps } from '../types.ts';

const PROVIDER = 'bluesky';

export interface BlueskyHosts {
  service: string;
  plc: string;
  appview: string;
  web: string;
  /** Origins of the configured servers: calls to them skip the private-address guard. */
  trusted: Set<string>;
  /** A PDS or entryway as typed ("pds.example.com") or as a URL, reduced to its base URL. */
  serviceUrl(input: string): string;
  /** What is stored as the account's host: a bare host name when that says it all. */
  hostLabel(base: string): string;
  /** The server the account signed in at (its host), else the configured service. */
  serviceOf(account: { host?: string | undefined }): string;
  /** The account's PDS, as found when it connected, else its service. */
  pdsFor(account: AccountRef): string;
  /** A post's public link. */
  postUrl(did: string, rkey: string): string;
}

const trim = (u: string) => u.replace(/\/+$/, '');

export function blueskyHosts(deps: ProviderDeps): BlueskyHosts {
  const urls = deps.settings.baseUrls;
  const service = trim(urls.service ?? 'https://bsky.social');
  const plc = trim(urls.plc ?? 'https://plc.directory');
  const appview = trim(urls.appview ?? 'https://public.api.bsky.app');
  const web = trim(urls.web ?? 'https://bsky.app');
  // Plain http only where the configured service itself is plain http (a local simulator).
  const httpAllowed = new URL(service).protocol === 'http:';

  const invalidHost = (input: string) =>
    new ProviderError('permanent', `bluesky: "${input.slice(0, 100)}" is not a server address such as bsky.social or https://pds.example.com`, { provider: PROVIDER, reason: 'invalid_host' });

  const serviceUrl = (input: string): string => {
    const raw = input.trim();
    let u: URL;
    try {
      u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
    } catch {
      throw invalidHost(input);
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && httpAllowed)) throw invalidHost(input);
    if (u.username || u.password || u.search || u.hash) throw invalidHost(input);
    return trim(`${u.origin}${u.pathname}`);
  };
  const serviceOf = (account: { host?: string | undefined }) => (account.host ? serviceUrl(account.host) : service);

  return {
    service, plc, appview, web,
    trusted: new Set([service, plc, appview].map((u) => new URL(u).origin)),
    serviceUrl,
    hostLabel(base) {
      const u = new URL(base);
      return u.protocol === 'https:' && (u.pathname === '/' || u.pathname === '') ? u.host : base;
    },
    serviceOf,
    pdsFor: (account) => (typeof account.data.pds === 'string' ? serviceUrl(account.data.pds) : serviceOf(account)),
    postUrl: (did, rkey) => `${web}/profile/${did}/post/${rkey}`,
  };
}
