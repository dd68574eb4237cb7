// Connecting a YouTube channel with Google's OAuth 2.0 for web server apps
// (https://developers.google.com/identity/protocols/oauth2/web-server): the user is sent to
// https://accounts.google.com/o/oauth2/v2/auth with response_type=code, access_type=offline (for a refresh token),
// prompt=consent (Google sends a refresh token again only on a fresh consent), PKCE S256 and the scopes; the code is
// exchanged at https://oauth2.googleapis.com/token with the client id and secret in the body; a refresh is
// grant_type=refresh_token there too (Google keeps the refresh token: the answer carries none, the old one is kept);
// disconnecting POSTs the token to https://oauth2.googleapis.com/revoke, which ends the whole grant (revoking a
// refresh token, or an access token that has one, revokes both).
import { tokenRequest, type ClientAuth } from '../oauth2.ts';
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import type { YouTubeApi } from './api.ts';
import { PROVIDER, googleReason } from './errors.ts';

/**
 * youtube.upload: videos.insert and thumbnails.set; youtube.readonly: channels.list, playlistItems.list and videos.list
 * (https://developers.google.com/youtube/v3/guides/auth/server-side-web-apps#identify-access-scopes).
 */
export const YOUTUBE_SCOPES = ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube.readonly'];

export function youtubeOAuth(api: YouTubeApi, authBase: string, tokenBase: string, client: { clientId: string; clientSecret: string }) {
  const auth = authBase.replace(/\/+$/, '');
  const token = tokenBase.replace(/\/+$/, '');
  const clientAuth: ClientAuth = { clientId: client.clientId, clientSecret: client.clientSecret, method: 'body' };
  return {
    authorizationUrl(req: AuthorizeRequest): string {
      const q = new URLSearchParams({
        client_id: client.clientId, redirect_uri: req.redirectUri, response_type: 'code', scope: YOUTUBE_SCOPES.join(' '),
        access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true', state: req.state,
        code_challenge: req.codeChallenge, code_challenge_method: 'S256',
      });
      return `${auth}/o/oauth2/v2/auth?${q.toString()}`;
    },
    async exchangeCode(req: ExchangeRequest): Promise<TokenSet> {
      const t = await tokenRequest(api.http, {
        provider: PROVIDER, operation: 'oauth_exchange', url: `${token}/token`, auth: clientAuth,
        params: { grant_type: 'authorization_code', code: req.code, redirect_uri: req.redirectUri, code_verifier: req.codeVerifier },
      });
      const missing = YOUTUBE_SCOPES.filter((s) => t.scope && !t.scope.includes(s));
      if (missing.length > 0) {
        throw new ProviderError('permanent', `YouTube: the consent left out ${missing.map((s) => s.split('/').pop()).join(' and ')}; connect again and allow them`, { provider: PROVIDER, reason: 'scope_declined' });
      }
      return t;
    },
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      if (!rt) throw new ProviderError('auth_expired', 'YouTube: Google issued no refresh token; reconnect the channel', { provider: PROVIDER, reason: 'no_refresh_token' });
      return tokenRequest(api.http, { provider: PROVIDER, operation: 'oauth_refresh', url: `${token}/token`, auth: clientAuth, params: { grant_type: 'refresh_token', refresh_token: rt }, previousRefresh: rt });
    },
    async revoke(account: AccountRef): Promise<void> {
      const value = account.tokens.refreshToken ?? account.tokens.accessToken;
      const res = await api.send({ method: 'POST', url: `${token}/revoke`, operation: 'oauth_revoke', body: new URLSearchParams({ token: value }), retryUnsent: true });
      // A token Google no longer knows (revoked by the user already) is as revoked as it gets.
      if (res.status === 400 && googleReason(res).reason === 'invalid_token') return;
      if (res.status < 200 || res.status >= 300) throw api.fail('oauth_revoke', res);
    },
  };
}
