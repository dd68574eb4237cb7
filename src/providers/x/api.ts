// Calls to the X API v2 (https://docs.x.com/x-api/introduction): the base URL (https://api.x.com, or the
// configured API host), the bearer header of a user access token, and X's error mapping (errors.ts).
import { adapterCalls, type AdapterCalls } from '../request.ts';
import type { ProviderDeps, TokenSet } from '../types.ts';
import { xError } from './errors.ts';

export const PROVIDER = 'x';

/** A post's public link; without a username, X's own redirect to it. */
export const postUrl = (username: string, id: string): string =>
  (username ? `https://x.com/${encodeURIComponent(username)}/status/${id}` : `https://x.com/i/web/status/${id}`);

export interface XApi extends AdapterCalls {
  /** `https://api.x.com`, or the configured API host. */
  readonly base: string;
  bearer(tokens: TokenSet): Record<string, string>;
}

export function xApi(deps: ProviderDeps): XApi {
  return {
    ...adapterCalls(deps.http, { provider: PROVIDER, error: (operation, res, creates) => xError(operation, res, { creates }) }),
    base: deps.settings.baseUrls.api ?? 'https://api.x.com',
    bearer: (t) => ({ authorization: `Bearer ${t.accessToken}` }),
  };
}
