// Connecting a Mastodon account (https://docs.joinmastodon.org/methods/oauth/,
// https://docs.joinmastodon.org/spec/oauth/): the authorisation URL with the registered app's scopes
// (PKCE where the instance announces S256), the code exchange, revocation, and the check that a token still
// works (https://docs.joinmastodon.org/methods/accounts/#verify_credentials). Tokens never expire and there
// is no refresh token. The token endpoint calls are form POSTs through api.ts rather than oauth2.ts's
// helpers, because the instance is a user-supplied host and must go through the private-address guard.
import { malformed } from '../errors.ts';
import { parseJson } from '../http.ts';
import { readTokenSet } from '../oauth2.ts';
import { ProviderError, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import { PROVIDER, type MastodonApi } from './api.ts';
import type { MastodonApps } from './apps.ts';
import type { Discover } from './discovery.ts';

export interface MastodonOAuth {
  authorizationUrl(host: string, req: AuthorizeRequest): Promise<string>;
  exchangeCode(host: string, req: ExchangeRequest): Promise<TokenSet>;
  revoke(host: string, token: string): Promise<void>;
  /** The token's own account; a dead token answers 401 (auth_expired). */
  verify(host: string, tokens: TokenSet): Promise<VerifiedAccount>;
}

export interface VerifiedAccount { id: string; username: string; acct?: unknown; display_name?: unknown; url?: unknown; avatar?: unknown }

export function mastodonOAuth(api: MastodonApi, discover: Discover, apps: MastodonApps): MastodonOAuth {
  const formPost = (operation: string, url: string, params: Record<string, string>) =>
    api.send({ method: 'POST', url, operation, headers: { accept: 'application/json' }, body: new URLSearchParams(params) });

  return {
    async authorizationUrl(host, req) {
      const d = await discover(host);
      const app = await apps.forRedirect(host, req.redirectUri);
      const u = new URL(`${api.base(host)}/oauth/authorize`);
      u.search = new URLSearchParams({
        // Requested scopes must be a subset of the registered ones: ask for exactly those.
        response_type: 'code', client_id: app.clientId, redirect_uri: req.redirectUri, scope: app.scopes.join(' '), state: req.state,
        // PKCE from 4.3 (S256 only); what older servers do with the parameters is unconfirmed, so they get none.
        ...(d.pkce ? { code_challenge: req.codeChallenge, code_challenge_method: 'S256' } : {}),
      }).toString();
      return u.toString();
    },

    async exchangeCode(host, req) {
      const app = await apps.stored(host);
      if (!app) {
        throw new ProviderError('permanent', `mastodon: AllIN has no app registration with ${host} any more; connect again`, { provider: PROVIDER, reason: 'no_app' });
      }
      const d = await discover(host);
      const res = await formPost('oauth_exchange', `${api.base(host)}/oauth/token`, {
        grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, client_id: app.clientId, client_secret: app.clientSecret,
        ...(d.pkce ? { code_verifier: req.codeVerifier } : {}),
      });
      if (res.status === 400 || res.status === 401) {
        const code = String((parseJson(res) as { error?: unknown } | null)?.error ?? '');
        if (code === 'invalid_client') {
          // Servers before 4.3 purge unused apps: register afresh so the next attempt works.
          await apps.register(host, req.redirectUri);
          throw new ProviderError('permanent', `mastodon: ${host} no longer knew AllIN's app registration; it has been renewed, connect again`, { provider: PROVIDER, status: res.status, reason: 'invalid_client' });
        }
        throw new ProviderError('auth_expired', `mastodon: ${host} refused the authorisation code (${code || res.status})`, { provider: PROVIDER, status: res.status, reason: code || 'invalid_grant' });
      }
      if (res.status < 200 || res.status >= 300) throw api.fail('oauth_exchange', res);
      return readTokenSet(res, PROVIDER, 'oauth_exchange');
    },

    async revoke(host, token) {
      const app = await apps.stored(host);
      if (!app) throw new ProviderError('permanent', `mastodon: AllIN has no app registration with ${host}, so it cannot revoke the token there`, { provider: PROVIDER, reason: 'no_app' });
      const res = await formPost('oauth_revoke', `${api.base(host)}/oauth/revoke`, { client_id: app.clientId, client_secret: app.clientSecret, token });
      if (res.status === 403) {
        // The token was issued to an earlier registration, whose credentials are no longer kept.
        throw new ProviderError('permanent', `mastodon: ${host} says the token belongs to another app registration, so AllIN cannot revoke it; the user can revoke it in the instance's settings`,
          { provider: PROVIDER, status: 403, reason: 'unauthorized_client' });
      }
      if (res.status < 200 || res.status >= 300) throw api.fail('oauth_revoke', res);
    },

    async verify(host, tokens) {
      const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v1/accounts/verify_credentials`, operation: 'profile', headers: api.bearer(tokens) });
      const me = api.read<{ id?: unknown; username?: unknown; acct?: unknown; display_name?: unknown; url?: unknown; avatar?: unknown }>(res, 'profile');
      if (typeof me.id !== 'string' || typeof me.username !== 'string') throw malformed(PROVIDER, 'profile', false);
      return me as VerifiedAccount;
    },
  };
}
