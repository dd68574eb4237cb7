// Connecting a TikTok account with Login Kit for Web, OAuth 2.0 authorization code
// (https://developers.tiktok.com/doc/login-kit-web, https://developers.tiktok.com/doc/oauth-user-access-token-management):
// the user is sent to https://www.tiktok.com/v2/auth/authorize/ with client_key, response_type=code, the scopes
// (comma-separated), redirect_uri and state; the code is exchanged at POST https://open.tiktokapis.com/v2/oauth/token/
// as a form with client_key and client_secret (not HTTP Basic, and client_key, not client_id); the answer has
// access_token (24 hours), refresh_token (365 days), refresh_expires_in, open_id and the scopes granted. A refresh is
// grant_type=refresh_token there too; its answer carries a refresh token which may differ from the one sent
// (UNCONFIRMED whether the old one dies), so refreshes are treated as rotating (serialised, the new one kept).
// Errors of the token endpoint are {error, error_description, log_id}, possibly with HTTP 200 (UNCONFIRMED): any
// `error` in the answer is read. Revocation: POST /v2/oauth/revoke/ with client_key, client_secret and the token.
import { toTokenSet } from '../oauth2.ts';
import { malformed, transportError } from '../errors.ts';
import { parseJson } from '../http.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import { PROVIDER, tiktokError, tiktokReason, type TikTokApi } from './api.ts';

/**
 * user.info.basic: open_id, avatar, display name; user.info.profile: username and profile link; user.info.stats:
 * follower, following, likes and video counts; video.publish: creator_info and direct posts; video.upload: drafts in
 * the creator's inbox; video.list: the creator's videos (reconciliation and figures, /v2/video/list/ and /v2/video/query/)
 * (https://developers.tiktok.com/doc/tiktok-api-scopes).
 */
export const TIKTOK_SCOPES = ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list', 'video.publish', 'video.upload'];

export function tiktokOAuth(api: TikTokApi, authBase: string, client: { clientKey: string; clientSecret: string }) {
  const auth = authBase.replace(/\/+$/, '');
  const form = async (path: string, params: Record<string, string>, operation: 'oauth_exchange' | 'oauth_refresh' | 'oauth_revoke') => {
    const body = new URLSearchParams({ client_key: client.clientKey, client_secret: client.clientSecret, ...params });
    let res;
    try {
      res = await api.http.request({ method: 'POST', url: `${api.base}/v2/oauth/${path}/`, provider: PROVIDER, operation, headers: { accept: 'application/json', 'cache-control': 'no-cache' }, body, retryUnsent: true });
    } catch (err) {
      throw transportError(PROVIDER, operation, err, false);
    }
    const b = parseJson(res) as Record<string, unknown> | null;
    const code = typeof b?.error === 'string' ? b.error : undefined;
    if (code === 'invalid_grant') throw new ProviderError('auth_expired', `TikTok: the authorisation is no longer accepted (${tiktokReason(res).message ?? code}); reconnect the account`, { provider: PROVIDER, status: res.status, reason: 'invalid_grant' });
    if (code === 'invalid_client' || (res.status === 401 && !code)) throw new ProviderError('permanent', 'TikTok: TikTok refused AllIN\'s app credentials (invalid_client); check TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET', { provider: PROVIDER, status: res.status, reason: 'invalid_client' });
    if (code || res.status < 200 || res.status >= 300) throw tiktokError(operation, res, false);
    return { res, b: b ?? {} };
  };
  const tokens = (res: Awaited<ReturnType<typeof form>>, operation: string, previous?: string): TokenSet => {
    const a = res.b;
    try {
      return toTokenSet({ ...a, refresh_token_expires_in: a.refresh_expires_in }, previous);
    } catch {
      throw malformed(PROVIDER, operation, false, res.res.status);
    }
  };
  return {
    authorizationUrl(req: AuthorizeRequest): string {
      const q = new URLSearchParams({ client_key: client.clientKey, response_type: 'code', scope: TIKTOK_SCOPES.join(','), redirect_uri: req.redirectUri, state: req.state });
      return `${auth}/v2/auth/authorize/?${q.toString()}`;
    },
    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const t = tokens(await form('token', { code: req.code, grant_type: 'authorization_code', redirect_uri: req.redirectUri }, 'oauth_exchange'), 'oauth_exchange');
      const missing = TIKTOK_SCOPES.filter((s) => t.scope && !t.scope.includes(s));
      if (missing.length > 0) throw new ProviderError('permanent', `TikTok: the consent left out ${missing.join(' and ')}; connect again and allow them`, { provider: PROVIDER, reason: 'scope_declined' });
      return t;
    },
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'TikTok: no refresh token was issued; reconnect the account', { provider: PROVIDER, reason: 'no_refresh_token' });
      return tokens(await form('token', { grant_type: 'refresh_token', refresh_token: rt }, 'oauth_refresh'), 'oauth_refresh', rt);
    },
    async revoke(account: AccountRef): Promise<void> {
      await form('revoke', { token: account.tokens.accessToken }, 'oauth_revoke');
    },
  };
}
