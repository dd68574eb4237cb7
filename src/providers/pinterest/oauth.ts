// Connecting a Pinterest account with OAuth 2.0, authorization code
// (https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/): the user is sent to
// https://www.pinterest.com/oauth/ with client_id, redirect_uri, response_type=code, the scopes (comma-separated) and
// state; the code is exchanged at POST https://api.pinterest.com/v5/oauth/token (grant_type=authorization_code, code,
// redirect_uri) with the app id and secret as HTTP Basic; a refresh is grant_type=refresh_token there too, with
// continuous_refresh=true (apps made before 25 September 2025 must ask for it; later ones have it anyway), and its
// answer carries a new refresh token (continuous refresh: 60 days, renewed at each refresh), so refreshes rotate.
// Pinterest's token revocation (POST /v5/oauth/token/revoke) takes only tokens of system users
// (https://developers.pinterest.com/docs/api/v5/token-revoke), so disconnecting forgets the tokens here and the user
// removes the app under Pinterest's Settings > Security (UNCONFIRMED the menu's exact name).
import { tokenRequest, type ClientAuth } from '../oauth2.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import { PROVIDER, type PinterestApi } from './api.ts';

/**
 * user_accounts:read: GET /v5/user_account and its analytics; boards:read: GET /v5/boards and sections, a board's Pins;
 * pins:read: GET /v5/pins/{id}, GET /v5/media/{id}; pins:write: POST /v5/pins and POST /v5/media. boards:write: the
 * reference lists it among the scopes of POST /v5/pins (https://developers.pinterest.com/docs/api/v5/pins-create);
 * UNCONFIRMED whether a Pin is refused without it, so it is asked for.
 */
export const PINTEREST_SCOPES = ['boards:read', 'boards:write', 'pins:read', 'pins:write', 'user_accounts:read'];

export function pinterestOAuth(api: PinterestApi, authBase: string, client: { clientId: string; clientSecret: string }) {
  const auth = authBase.replace(/\/+$/, '');
  const clientAuth: ClientAuth = { clientId: client.clientId, clientSecret: client.clientSecret, method: 'basic' };
  const tokenUrl = `${api.base}/v5/oauth/token`;
  /** Pinterest answers a dead code or refresh token with its own {code, message} (UNCONFIRMED which): any 400 there is the user's authorisation. */
  const dead = (err: unknown): never => {
    if (err instanceof ProviderError && err.kind === 'permanent' && err.details.status === 400) {
      throw new ProviderError('auth_expired', `Pinterest: the authorisation is no longer accepted (${err.details.reason ?? 'refused'}); reconnect the account`, { provider: PROVIDER, status: 400, reason: 'invalid_grant' });
    }
    throw err;
  };
  return {
    authorizationUrl(req: AuthorizeRequest): string {
      const q = new URLSearchParams({ client_id: client.clientId, redirect_uri: req.redirectUri, response_type: 'code', scope: PINTEREST_SCOPES.join(','), state: req.state });
      return `${auth}/oauth/?${q.toString()}`;
    },
    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const t = await tokenRequest(api.http, {
        provider: PROVIDER, operation: 'oauth_exchange', url: tokenUrl, auth: clientAuth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, continuous_refresh: 'true' },
      }).catch(dead);
      const missing = PINTEREST_SCOPES.filter((s) => t.scope && !t.scope.includes(s));
      if (missing.length > 0) throw new ProviderError('permanent', `Pinterest: the consent left out ${missing.join(' and ')}; connect again and allow them`, { provider: PROVIDER, reason: 'scope_declined' });
      return t;
    },
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'Pinterest: no refresh token was issued; reconnect the account', { provider: PROVIDER, reason: 'no_refresh_token' });
      return tokenRequest(api.http, {
        provider: PROVIDER, operation: 'oauth_refresh', url: tokenUrl, auth: clientAuth, previousRefresh: rt,
        params: { grant_type: 'refresh_token', refresh_token: rt, continuous_refresh: 'true' },
      }).catch(dead);
    },
  };
}
