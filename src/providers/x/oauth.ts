// Connecting an X account with OAuth 2.0 authorization code and PKCE
// (https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code,
// https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token): the authorisation URL, the
// code exchange, the refresh (X rotates refresh tokens: each is single-use) and the revocation of both
// tokens, by oauth2.ts's shared token calls. Confidential clients (Web App) authenticate with HTTP Basic;
// public clients send client_id in the form.
import { revokeRequest, tokenRequest, type ClientAuth } from '../oauth2.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type ProviderDeps, type TokenSet } from '../types.ts';
import { PROVIDER, type XApi } from './api.ts';

/**
 * tweet.read+tweet.write+users.read for POST /2/tweets, media.write for uploads, offline.access for a refresh token;
 * like.read+like.write and tweet.moderate.write for liking and hiding replies from the inbox.
 */
export const X_SCOPES = ['tweet.read', 'tweet.write', 'users.read', 'offline.access', 'media.write', 'like.read', 'like.write', 'tweet.moderate.write'];

export interface XOAuth {
  authorizationUrl(req: AuthorizeRequest): string;
  exchangeCode(req: ExchangeRequest): Promise<TokenSet>;
  refresh(account: AccountRef): Promise<TokenSet>;
  revoke(account: AccountRef): Promise<void>;
}

export function xOAuth(deps: ProviderDeps, xapi: XApi, clientId: string, clientSecret: string | undefined): XOAuth {
  const { http } = deps;
  const api = xapi.base; // the token endpoints are on the API host
  const authBase = deps.settings.baseUrls.auth ?? 'https://x.com';
  const auth: ClientAuth = { clientId, ...(clientSecret ? { clientSecret } : {}), method: clientSecret ? 'basic' : 'body' };
  return {
    authorizationUrl(req) {
      const params: Record<string, string> = {
        response_type: 'code', client_id: auth.clientId, redirect_uri: req.redirectUri, scope: X_SCOPES.join(' '), state: req.state,
        code_challenge: req.codeChallenge, code_challenge_method: 'S256',
      };
      // %20 between scopes, as in X's examples.
      return `${authBase}/i/oauth2/authorize?${Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    },

    exchangeCode(req) {
      return tokenRequest(http, {
        provider: PROVIDER, operation: 'oauth_exchange', url: `${api}/2/oauth2/token`, auth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, code_verifier: req.codeVerifier },
      });
    },

    async refresh(account) {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'x: there is no refresh token (offline.access was not granted); the account must be reconnected', { provider: PROVIDER, reason: 'no_refresh_token' });
      try {
        // No previousRefresh: X rotates refresh tokens and the old one is single-use, so keeping it would fail later.
        return await tokenRequest(http, {
          provider: PROVIDER, operation: 'oauth_refresh', url: `${api}/2/oauth2/token`, auth,
          params: { grant_type: 'refresh_token', refresh_token: rt },
        });
      } catch (err) {
        // X answers a used, revoked or expired refresh token with 400 invalid_request ("Value passed for the
        // token was invalid."), not invalid_grant: the account needs reconnecting either way.
        if (err instanceof ProviderError && err.kind === 'permanent' && err.details.status === 400 && /^invalid_request\b/.test(err.details.reason ?? '')) {
          throw new ProviderError('auth_expired', `x: X no longer accepts this refresh token (${err.details.reason ?? 'invalid_request'})`, { ...err.details, reason: 'invalid_refresh_token' });
        }
        throw err;
      }
    },

    async revoke(account) {
      // Both tokens: revoking one is not documented to revoke the other.
      if (account.tokens.refreshToken) await revokeRequest(http, { provider: PROVIDER, url: `${api}/2/oauth2/revoke`, token: account.tokens.refreshToken, hint: 'refresh_token', auth });
      await revokeRequest(http, { provider: PROVIDER, url: `${api}/2/oauth2/revoke`, token: account.tokens.accessToken, hint: 'access_token', auth });
    },
  };
}
