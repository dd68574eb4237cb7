// Connecting a Tumblr user with OAuth 2.0, authorization code (https://www.tumblr.com/docs/en/api/v2#oauth2-authorization):
// the user is sent to https://www.tumblr.com/oauth2/authorize with client_id, response_type=code, the scopes
// (space-delimited), state and redirect_uri; the code is exchanged at POST https://api.tumblr.com/v2/oauth2/token
// (grant_type=authorization_code, code, client_id, client_secret, redirect_uri), and a refresh is grant_type=refresh_token
// there too, answering "a new OAuth2 access token and refresh token" (so refreshes rotate; whether the old refresh
// token stops working at once is UNCONFIRMED, and AllIN keeps only the newest). Access tokens live 2,520 s in the
// reference's example. `offline_access` is what brings a refresh token. The reference documents no revocation
// endpoint, so disconnecting forgets the tokens and the user removes the app in Tumblr's settings (Apps).
// A refresh answered 401 is "refresh token has expired" (the reference); an `invalid_client` answer is AllIN's app.
import { transportError } from '../errors.ts';
import { parseJson } from '../http.ts';
import { readTokenSet } from '../oauth2.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import { PROVIDER, tumblrError, type TumblrApi } from './api.ts';

/** basic: read (user/info, a blog's posts and followers, notes); write: create posts; offline_access: a refresh token. */
export const TUMBLR_SCOPES = ['basic', 'write', 'offline_access'];

export function tumblrOAuth(api: TumblrApi, authBase: string, client: { clientId: string; clientSecret: string }) {
  const auth = authBase.replace(/\/+$/, '');
  const tokenUrl = `${api.base}/v2/oauth2/token`;

  const token = async (operation: 'oauth_exchange' | 'oauth_refresh', params: Record<string, string>, previousRefresh?: string): Promise<TokenSet> => {
    const body = new URLSearchParams({ ...params, client_id: client.clientId, client_secret: client.clientSecret });
    let res;
    try {
      res = await api.http.request({ method: 'POST', url: tokenUrl, provider: PROVIDER, operation, headers: { accept: 'application/json' }, body, retryUnsent: true });
    } catch (err) {
      throw transportError(PROVIDER, operation, err, false);
    }
    if (res.status === 400 || res.status === 401) {
      const code = String((parseJson(res) as { error?: unknown } | null)?.error ?? '');
      if (code === 'invalid_client') {
        throw new ProviderError('permanent', 'Tumblr: Tumblr refused AllIN\'s app credentials (invalid_client); check TUMBLR_CLIENT_ID and TUMBLR_CLIENT_SECRET', { provider: PROVIDER, status: res.status, reason: code });
      }
      // A dead code or refresh token (invalid_grant, or the refresh route's documented 401): the user's authorisation.
      if (code === 'invalid_grant' || (operation === 'oauth_refresh' && res.status === 401)) {
        throw new ProviderError('auth_expired', `Tumblr: the authorisation is no longer accepted (${code || 'refresh token expired'}); reconnect the account`, { provider: PROVIDER, status: res.status, reason: 'invalid_grant' });
      }
    }
    if (res.status < 200 || res.status >= 300) throw tumblrError(operation, res, false);
    return readTokenSet(res, PROVIDER, operation, previousRefresh);
  };

  return {
    authorizationUrl(req: AuthorizeRequest): string {
      const q = new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: TUMBLR_SCOPES.join(' '), state: req.state, redirect_uri: req.redirectUri });
      return `${auth}/oauth2/authorize?${q.toString()}`;
    },
    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const t = await token('oauth_exchange', { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri });
      const missing = TUMBLR_SCOPES.filter((s) => t.scope && !t.scope.includes(s) && !(s === 'basic' && t.scope.includes('write')));
      if (missing.length > 0) throw new ProviderError('permanent', `Tumblr: the consent left out ${missing.join(' and ')}; connect again and allow them`, { provider: PROVIDER, reason: 'scope_declined' });
      return t;
    },
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'Tumblr: no refresh token was issued; reconnect the account', { provider: PROVIDER, reason: 'no_refresh_token' });
      return token('oauth_refresh', { grant_type: 'refresh_token', refresh_token: rt }, rt);
    },
  };
}
