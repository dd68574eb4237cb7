// Connecting a LinkedIn member (https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow):
// the authorisation URL, the code exchange and the refresh
// (https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens), by oauth2.ts's
// shared token calls. Web apps authenticate with client_id and client_secret in the form and use no PKCE
// (LinkedIn enables it only for native apps on a loopback redirect, on request).
import { revokeRequest, tokenRequest, type ClientAuth } from '../oauth2.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type ProviderDeps, type TokenSet } from '../types.ts';
import { PROVIDER } from './api.ts';

/**
 * Member posting and identity (OpenID Connect), plus the Community Management scopes for Pages. An app
 * without that product is refused these scopes on the consent page (unauthorized_scope_error).
 */
export const LINKEDIN_SCOPES = ['openid', 'profile', 'w_member_social', 'w_organization_social', 'r_organization_social', 'rw_organization_admin'];

export interface LinkedInOAuth {
  authorizationUrl(req: AuthorizeRequest): string;
  exchangeCode(req: ExchangeRequest): Promise<TokenSet>;
  refresh(account: AccountRef): Promise<TokenSet>;
  revoke(account: AccountRef): Promise<void>;
}

export function linkedInOAuth(deps: ProviderDeps, clientId: string, clientSecret: string): LinkedInOAuth {
  const { http } = deps;
  const authBase = deps.settings.baseUrls.auth ?? 'https://www.linkedin.com';
  const auth: ClientAuth = { clientId, clientSecret, method: 'body' };
  const tokenUrl = `${authBase}/oauth/v2/accessToken`;
  return {
    authorizationUrl(req) {
      // No code_challenge: LinkedIn web apps do not use PKCE (the verifier the caller keeps goes unused).
      const params: Record<string, string> = {
        response_type: 'code', client_id: auth.clientId, redirect_uri: req.redirectUri, state: req.state, scope: LINKEDIN_SCOPES.join(' '),
      };
      return `${authBase}/oauth/v2/authorization?${Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    },

    exchangeCode(req) {
      return tokenRequest(http, {
        provider: PROVIDER, operation: 'oauth_exchange', url: tokenUrl, auth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri },
      });
    },

    async refresh(account) {
      const rt = account.tokens.refreshToken;
      if (!rt) {
        // Programmatic refresh tokens are issued only to approved apps; the others reconnect before day 60.
        throw new ProviderError('auth_expired', 'linkedin: LinkedIn issued no refresh token to this app; the member must reconnect', { provider: PROVIDER, reason: 'no_refresh_token' });
      }
      // Not rotated: the same refresh token (with its original expiry) stays valid; keep it when the answer omits it.
      return tokenRequest(http, {
        provider: PROVIDER, operation: 'oauth_refresh', url: tokenUrl, auth, previousRefresh: rt,
        params: { grant_type: 'refresh_token', refresh_token: rt },
      });
    },

    async revoke(account) {
      // POST /oauth/v2/revoke (token, client_id, client_secret) is what several clients use; LinkedIn's own
      // page for it was not found (UNCONFIRMED). The access token is revoked, as those clients do.
      await revokeRequest(http, { provider: PROVIDER, url: `${authBase}/oauth/v2/revoke`, token: account.tokens.accessToken, auth });
    },
  };
}
