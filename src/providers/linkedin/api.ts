// Calls to LinkedIn's APIs: the /rest calls carry the pinned LinkedIn-Version (YYYYMM, monthly, retired about
// a year after release: https://learn.microsoft.com/en-us/linkedin/marketing/versioning) and
// X-Restli-Protocol-Version 2.0.0; /v2/userinfo takes the bearer alone. Errors are mapped by errors.ts.
// Upload URLs are LinkedIn's own, and the token goes only to LinkedIn hosts (or the configured API host).
import { adapterCalls, type AdapterCalls } from '../request.ts';
import type { ProviderDeps, TokenSet } from '../types.ts';
import { linkedInError } from './errors.ts';

export const PROVIDER = 'linkedin';

/** A post's public link (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api). */
export const postUrl = (urn: string): string => `https://www.linkedin.com/feed/update/${urn}`;

export interface LinkedInApi extends AdapterCalls {
  /** `https://api.linkedin.com`, or the configured API host. */
  readonly base: string;
  bearer(tokens: TokenSet): Record<string, string>;
  /** The headers of every /rest call. */
  rest(tokens: TokenSet): Record<string, string>;
  /** The headers of an upload PUT: the bearer only when the URL is LinkedIn's. */
  uploadHeaders(tokens: TokenSet, url: string): Record<string, string>;
}

export function linkedInApi(deps: ProviderDeps, version: string): LinkedInApi {
  const base = deps.settings.baseUrls.api ?? 'https://api.linkedin.com';
  const apiOrigin = new URL(base).origin;
  const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}` });
  return {
    ...adapterCalls(deps.http, { provider: PROVIDER, error: linkedInError }),
    base,
    bearer,
    rest: (t) => ({ ...bearer(t), 'linkedin-version': version, 'x-restli-protocol-version': '2.0.0' }),
    uploadHeaders(tokens, url) {
      const u = new URL(url);
      const ours = u.origin === apiOrigin || (u.protocol === 'https:' && (u.hostname === 'linkedin.com' || u.hostname.endsWith('.linkedin.com')));
      return { 'content-type': 'application/octet-stream', ...(ours ? bearer(tokens) : {}) };
    },
  };
}
