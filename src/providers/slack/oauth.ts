// Installing AllIN's Slack app in a workspace, OAuth v2 (https://docs.slack.dev/authentication/installing-with-oauth):
// the user is sent to https://slack.com/oauth/v2/authorize with the bot scopes, and the code is exchanged at
// oauth.v2.access (client_id and client_secret in the form: https://docs.slack.dev/reference/methods/oauth.v2.access)
// for a bot token. Without token rotation a bot token never expires; with it (an app setting) it lasts 12 hours and
// comes with a refresh token that is exchanged at the same method with grant_type=refresh_token, the old refresh token
// being revoked (https://docs.slack.dev/authentication/using-token-rotation). auth.revoke ends the token
// (https://docs.slack.dev/reference/methods/auth.revoke). Errors are Slack's {ok:false, error} answers.
import { ProviderError, type AccountRef, type AuthorizeRequest, type ExchangeRequest, type TokenSet } from '../types.ts';
import type { SlackApi } from './api.ts';
import { PROVIDER } from './errors.ts';

/**
 * Bot scopes: posting (chat:write), files (files:write), finding the channels the app is in (channels:read,
 * groups:read), reading a channel back to reconcile by the message's metadata (channels:history, groups:history),
 * and reactions as figures (reactions:read).
 */
export const SLACK_SCOPES = ['chat:write', 'files:write', 'channels:read', 'groups:read', 'channels:history', 'groups:history', 'reactions:read'];

interface AccessAnswer {
  access_token?: string;
  token_type?: string;
  scope?: string;
  expires_in?: number;
  refresh_token?: string;
  bot_user_id?: string;
  team?: { id?: string; name?: string };
}

const DEAD_GRANT = new Set(['invalid_code', 'invalid_refresh_token', 'invalid_grant', 'code_already_used', 'token_revoked']);
const BAD_APP = new Set(['invalid_client_id', 'bad_client_secret', 'bad_redirect_uri', 'token_rotation_not_enabled']);

export function slackOAuth(api: SlackApi, authBase: string, clientId: string, clientSecret: string) {
  const access = async (args: Record<string, string>, previousRefresh?: string): Promise<TokenSet> => {
    let a: AccessAnswer;
    try {
      a = await api.write<AccessAnswer>('', 'oauth.v2.access', { client_id: clientId, client_secret: clientSecret, ...args }, { form: true, noToken: true });
    } catch (err) {
      const code = err instanceof ProviderError ? err.details.reason ?? '' : '';
      if (DEAD_GRANT.has(code)) throw new ProviderError('auth_expired', `Slack: the authorisation is no longer valid (${code}); reconnect the workspace`, { provider: PROVIDER, reason: code });
      if (BAD_APP.has(code)) throw new ProviderError('permanent', `Slack: Slack refused AllIN's app settings (${code}); check SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and the redirect URL`, { provider: PROVIDER, reason: code });
      throw err;
    }
    if (!a.access_token) throw new ProviderError('transient', 'Slack: oauth.v2.access answered without an access token', { provider: PROVIDER, reason: 'malformed_response' });
    if (a.token_type !== undefined && a.token_type !== 'bot') throw new ProviderError('permanent', `Slack: expected a bot token, got a ${a.token_type} token`, { provider: PROVIDER, reason: 'not_a_bot_token' });
    const refresh = a.refresh_token ?? previousRefresh;
    return {
      accessToken: a.access_token,
      ...(refresh ? { refreshToken: refresh } : {}),
      ...(typeof a.expires_in === 'number' ? { expiresAt: new Date(Date.now() + a.expires_in * 1000) } : {}),
      ...(a.scope ? { scope: a.scope.split(',').filter(Boolean) } : {}),
    };
  };
  return {
    authorizationUrl(req: AuthorizeRequest): string {
      // Bot scopes go in `scope`, comma-separated; no user scopes are asked for. PKCE is not sent: it is not
      // part of the documented flow for apps with a client secret (UNCONFIRMED whether Slack checks it).
      const q = new URLSearchParams({ client_id: clientId, scope: SLACK_SCOPES.join(','), redirect_uri: req.redirectUri, state: req.state });
      return `${authBase.replace(/\/+$/, '')}/oauth/v2/authorize?${q.toString()}`;
    },
    exchangeCode: (req: ExchangeRequest) => access({ code: req.code, redirect_uri: req.redirectUri }),
    async refresh(account: AccountRef): Promise<TokenSet> {
      const rt = account.tokens.refreshToken;
      // Without token rotation the token does not expire: refreshing checks it still works.
      if (!rt) {
        await api.write(account.tokens.accessToken, 'auth.test', {});
        return account.tokens;
      }
      return access({ grant_type: 'refresh_token', refresh_token: rt }, rt);
    },
    async revoke(account: AccountRef): Promise<void> {
      try {
        await api.write(account.tokens.accessToken, 'auth.revoke', {}, { form: true });
      } catch (err) {
        // A token that no longer works is as good as revoked.
        if (err instanceof ProviderError && err.kind === 'auth_expired') return;
        throw err;
      }
    },
  };
}
