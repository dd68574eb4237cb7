// AllIN's registration as an OAuth app with each instance (POST /api/v1/apps:
// https://docs.joinmastodon.org/methods/apps/), made on first use and kept in a MastodonAppStore (the
// accounts module gives a database-backed one; the default lives in memory, so after a restart AllIN
// registers again). Requested scopes must be a subset of the registered ones, and a token can only be
// revoked with the credentials of the app that issued it, so a registration that still fits is reused.
import { LRUCache } from 'lru-cache';
import { malformed } from '../errors.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import { MAX_HOSTS_KEPT, coversScopes, scopesFor, type Discover } from './discovery.ts';
import { normalizeMastodonHost } from './host.ts';

/** The name AllIN registers under; statuses posted through AllIN carry it as `application.name`. */
export const CLIENT_NAME = 'AllIN';

/** AllIN's registration with one instance (POST /api/v1/apps). */
export interface MastodonApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
  registeredAt: string;
}

/** Where app registrations are kept, keyed by instance host. */
export interface MastodonAppStore {
  get(host: string): Promise<MastodonApp | null>;
  put(host: string, app: MastodonApp): Promise<void>;
}

export function memoryAppStore(): MastodonAppStore {
  const apps = new Map<string, MastodonApp>();
  return {
    get: async (host) => apps.get(host) ?? null,
    put: async (host, app) => { apps.set(host, app); },
  };
}

export interface MastodonApps {
  /** Registers AllIN with an instance and stores the result. */
  register(host: string, redirectUri: string): Promise<MastodonApp>;
  /** The stored registration, if any. */
  stored(host: string): Promise<MastodonApp | null>;
  /** The registration for (host, redirect URI), registering once when there is none that fits. */
  forRedirect(host: string, redirectUri: string): Promise<MastodonApp>;
}

export function mastodonApps(api: MastodonApi, discover: Discover, store: MastodonAppStore): MastodonApps {
  // Hosts are typed by users, so what is kept per host is bounded: registrations read from the store.
  // `registering` holds only calls in flight.
  const apps = new LRUCache<string, MastodonApp>({ max: MAX_HOSTS_KEPT });
  const registering = new Map<string, Promise<MastodonApp>>();

  const register = async (hostInput: string, redirectUri: string): Promise<MastodonApp> => {
    const host = normalizeMastodonHost(hostInput);
    const scopes = scopesFor(await discover(host));
    const res = await api.call({
      method: 'POST', url: `${api.base(host)}/api/v1/apps`, operation: 'app_register', headers: { accept: 'application/json' },
      body: { client_name: CLIENT_NAME, redirect_uris: redirectUri, scopes: scopes.join(' ') },
    });
    const a = api.read<{ client_id?: unknown; client_secret?: unknown }>(res, 'app_register');
    if (typeof a.client_id !== 'string' || typeof a.client_secret !== 'string' || !a.client_id || !a.client_secret) throw malformed(PROVIDER, 'app_register', false);
    const app: MastodonApp = { clientId: a.client_id, clientSecret: a.client_secret, redirectUri, scopes, registeredAt: new Date().toISOString() };
    await store.put(host, app);
    apps.set(host, app);
    return app;
  };

  const stored = async (host: string): Promise<MastodonApp | null> => {
    const cached = apps.get(host);
    if (cached) return cached;
    const found = await store.get(host);
    if (found) apps.set(host, found);
    return found;
  };

  return {
    register,
    stored,
    async forRedirect(host, redirectUri) {
      const existing = await stored(host);
      if (existing && existing.redirectUri === redirectUri && coversScopes(existing.scopes)) return existing;
      // One registration at a time per host, so two users connecting at once do not register twice.
      let pending = registering.get(host);
      if (!pending) {
        pending = register(host, redirectUri).finally(() => registering.delete(host));
        registering.set(host, pending);
      }
      return pending;
    },
  };
}
