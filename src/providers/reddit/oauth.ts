// Connecting a Reddit account (https://github.com/reddit-archive/reddit/wiki/OAuth2): a "web app" client sends the
// user to https://www.reddit.com/api/v1/authorize with response_type=code, duration=permanent (for a refresh token)
// and the scopes; the code is exchanged at https://www.reddit.com/api/v1/access_token with the client id and secret as
// HTTP Basic; a refresh is grant_type=refresh_token there too; revoke_token ends a token. Reddit answers some token
// refusals with HTTP 200 and `{"error": "invalid_grant"}` (UNCONFIRMED which ones), so the body is read whatever the
// status. No PKCE: it is not part of Reddit's documented flow.
import { parseJson } from '../http.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import type { RedditApi } from './api.ts';
import { PROVIDER } from './errors.ts';

/** identity: who; submit: posts and comments; read: the user's posts back, subreddit rules; flair: a subreddit's flairs. */
export const REDDIT_SCOPES = ['identity', 'submit', 'read', 'flair'];

interface TokenAnswer { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown; error?: unknown }

export function redditOAuth(api: RedditApi, authBase: string, clientId: string, clientSecret: string, userAgent: string) {
  const base = authBase.replace(/\/+$/, '');
  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const token = async (operation: 'oauth_exchange' | 'oauth_refresh', params: Record<string, string>, previousRefresh?: string): Promise<TokenSet> => {
    const res = await api.send({
      method: 'POST', url: `${base}/api/v1/access_token`, operation, headers: { authorization: basic, 'user-agent': userAgent, accept: 'application/json' },
      body: new URLSearchParams(params), retryUnsent: true,
    });
    if (res.status === 401) throw new ProviderError('permanent', 'Reddit: Reddit refused AllIN\'s app credentials; check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET', { provider: PROVIDER, status: 401, reason: 'invalid_client' });
    const a = (res.status < 500 ? parseJson(res) ?? {} : {}) as TokenAnswer;
    if (a.error === 'invalid_grant') throw new ProviderError('auth_expired', 'Reddit: the authorisation is no longer valid (invalid_grant); reconnect the account', { provider: PROVIDER, status: res.status, reason: 'invalid_grant' });
    if (res.status < 200 || res.status >= 300) throw api.fail(operation, res);
    if (a.access_token === undefined && a.error === undefined) api.read<TokenAnswer>(res, operation);
    if (typeof a.access_token !== 'string' || a.access_token === '') {
      throw new ProviderError('permanent', `Reddit: the token endpoint refused (${typeof a.error === 'string' ? a.error.slice(0, 60) : 'no access_token'})`, { provider: PROVIDER, status: res.status, reason: typeof a.error === 'string' ? a.error.slice(0, 60) : 'no_access_token' });
    }
    const refresh = typeof a.refresh_token === 'string' && a.refresh_token !== '' ? a.refresh_token : previousRefresh;
    return {
      accessToken: a.access_token,
      ...(refresh ? { refreshToken: refresh } : {}),
      ...(typeof a.expires_in === 'number' ? { expiresAt: new Date(Date.now() + a.expires_in * 1000) } : {}),
      ...(typeof a.scope === 'string' ? { scope: a.scope.split(/[ ,]+/).filter(Boolean) } : {}),
    };
  };
  return {
    authorizationUrl(req: AuthorizeRequest): string {
      const q = new URLSearchParams({ client_id: clientId, response_type: 'code', state: req.state, redirect_uri: req.redirectUri, duration: 'permanent', scope: REDDIT_SCOPES.join(' ') });
      return `${base}/api/v1/authorize?${q.toString()}`;
    },
    exchangeCode: (req: ExchangeRequest) => token('oauth_exchange', { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri }),
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'Reddit: no refresh token was issued; reconnect the account', { provider: PROVIDER, reason: 'no_refresh_token' });
      return token('oauth_refresh', { grant_type: 'refresh_token', refresh_token: rt }, rt);
    },
    async revoke(account: AccountRef): Promise<void> {
      // The refresh token: revoking it ends the access tokens issued from it too (UNCONFIRMED; the access token is revoked as well).
      for (const [value, hint] of [[account.tokens.refreshToken, 'refresh_token'], [account.tokens.accessToken, 'access_token']] as const) {
        if (!value) continue;
        await api.call({ method: 'POST', url: `${base}/api/v1/revoke_token`, operation: 'oauth_revoke', headers: { authorization: basic, 'user-agent': userAgent }, body: new URLSearchParams({ token: value, token_type_hint: hint }), retryUnsent: true });
      }
    },
  };
}
