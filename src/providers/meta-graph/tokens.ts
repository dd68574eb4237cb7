// Tokens of the Meta logins: the app secret the code exchange needs, long-lived token answers, and the
// refresh of Instagram's and Threads' long-lived tokens (a token at least 24 h old becomes a new 60-day one).
// Documentation:
//   https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
//   https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token
//   https://developers.facebook.com/docs/threads/get-started/long-lived-tokens
import { malformed } from '../errors.ts';
import { toTokenSet } from '../oauth2.ts';
import type { ProviderSettings, TokenSet } from '../types.ts';
import type { GraphApi } from './call.ts';
import { permanent } from './errors.ts';

/** The Graph version used when the settings name none (the default of FACEBOOK_GRAPH_VERSION). */
export const DEFAULT_GRAPH_VERSION = 'v26.0';
/** Long-lived user tokens of Facebook, Instagram and Threads: "about 60 days" (expires_in 5183944 in the docs). */
export const LONG_LIVED_SECONDS = 60 * 24 * 3600;

/** The app secret, or a refusal naming the setting that lacks it. */
export function appSecret(provider: string, settings: ProviderSettings, setting: string): string {
  if (!settings.clientSecret) throw permanent(provider, `${setting} is not set: the code exchange needs the app secret`, 'not_configured');
  return settings.clientSecret;
}

/** A token answer as a TokenSet (malformed without access_token); `scope` is kept when the answer has none to give. */
export function tokenSetOf(provider: string, operation: string, answer: Record<string, unknown>, scope?: string[]): TokenSet {
  let t: TokenSet;
  try {
    t = toTokenSet(answer);
  } catch {
    throw malformed(provider, operation, false);
  }
  return { ...t, ...(scope ? { scope } : {}) };
}

/**
 * Instagram's and Threads' refresh: only a token at least 24 h old can be refreshed (a younger one is
 * still good for ~59 days and is returned as it is); the answer is a new long-lived token.
 */
export async function refreshLongLived(api: GraphApi, o: { url: string; grantType: string; tokens: TokenSet }): Promise<TokenSet> {
  const t = o.tokens;
  if (t.expiresAt && t.expiresAt.getTime() - Date.now() > (LONG_LIVED_SECONDS - 24 * 3600) * 1000) return t;
  const r = await api.call<Record<string, unknown>>({
    operation: 'oauth_refresh', method: 'GET', url: o.url, tokenCall: true, params: { grant_type: o.grantType, access_token: t.accessToken },
  });
  return tokenSetOf(api.provider, 'oauth_refresh', r, t.scope);
}
