// Calls to a Mastodon instance (https://docs.joinmastodon.org/methods/): the instance's base URL, the
// bearer header, and every call through the private-address guard, since the host was typed by a user.
// Errors are errors.ts's httpError: Mastodon's error body is `{ "error", "error_description"? }` and the
// HTTP status is what counts (https://docs.joinmastodon.org/entities/Error/); a 429's wait comes from
// X-RateLimit-Reset, an ISO 8601 time (https://docs.joinmastodon.org/api/rate-limits/), read by retryAfterMs.
import { httpError } from '../errors.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import type { ProviderDeps, TokenSet } from '../types.ts';

export const PROVIDER = 'mastodon';

export interface MastodonApi extends AdapterCalls {
  /** `https://{host}`, or the configured template (tests: "http://{host}/mastodon", the simulator). */
  base(host: string): string;
  bearer(tokens: TokenSet): Record<string, string>;
}

export function mastodonApi(deps: ProviderDeps): MastodonApi {
  const template = deps.settings.baseUrls.instance ?? 'https://{host}';
  return {
    ...adapterCalls(deps.http, {
      provider: PROVIDER,
      error: (operation, res) => httpError(PROVIDER, operation, res),
      defaults: { userSuppliedHost: true, retryUnsent: true },
    }),
    base: (host) => template.replace('{host}', host),
    bearer: (t) => ({ authorization: `Bearer ${t.accessToken}`, accept: 'application/json' }),
  };
}
