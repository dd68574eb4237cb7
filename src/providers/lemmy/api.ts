// Calls to a Lemmy instance, HTTP API v3 (https://join-lemmy.org/api/, the types of lemmy-js-client:
// https://github.com/LemmyNet/lemmy-js-client): the instance's base URL (`https://{host}`, the host the user
// typed), the JWT from login as `Authorization: Bearer`, and every call through the private-address guard
// and the HttpClient's deadline and size caps, since the host is the user's choice.
// Errors: Lemmy answers a refusal with a status (mostly 400) and `{"error": "<snake_case code>"}` (LemmyErrorType
// in the client's types). Codes that mean the session is gone (not_logged_in, incorrect_login after a password
// change) are auth_expired; rate_limit_error and a 429 are rate_limited; 5xx transient; the rest permanent
// with Lemmy's code as the reason.
import type { HttpResponse } from '../../infra/http/client.ts';
import { bodySnippet, retryAfterMs } from '../errors.ts';
import { parseJson } from '../http.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { ProviderError, type ProviderDeps, type TokenSet } from '../types.ts';

export const PROVIDER = 'lemmy';

const SESSION_GONE = new Set(['not_logged_in', 'incorrect_login']);

export function lemmyError(operation: string, res: HttpResponse, creates: boolean): ProviderError {
  const body = parseJson(res) as { error?: unknown; message?: unknown } | undefined;
  const code = typeof body?.error === 'string' ? body.error.slice(0, 100) : undefined;
  const reason = code ?? bodySnippet(res);
  const base = { provider: PROVIDER, status: res.status, reason };
  if (res.status === 429 || code === 'rate_limit_error') {
    const wait = retryAfterMs(res.headers);
    return new ProviderError('rate_limited', `Lemmy: ${operation} is rate limited by the instance`, { ...base, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (res.status === 401 || (code !== undefined && SESSION_GONE.has(code))) {
    return new ProviderError('auth_expired', `Lemmy: ${operation}: the instance no longer accepts this login (${reason}); reconnect the account`, base);
  }
  if (res.status >= 500) {
    if (creates && (res.status === 502 || res.status === 504)) return new ProviderError('unknown_outcome', `Lemmy: ${operation} answered ${res.status} from a gateway; it may have been done`, base);
    return new ProviderError('transient', `Lemmy: ${operation} failed on the instance's side (${res.status})`, base);
  }
  return new ProviderError('permanent', `Lemmy: ${operation} was refused (${reason})`, base);
}

export interface LemmyApi extends AdapterCalls {
  /** `https://{host}`, or the configured template (development: "http://{host}/lemmy", the simulator). */
  base(host: string): string;
  bearer(tokens: TokenSet): Record<string, string>;
}

export function lemmyApi(deps: ProviderDeps): LemmyApi {
  const template = deps.settings.baseUrls.instance ?? 'https://{host}';
  return {
    ...adapterCalls(deps.http, { provider: PROVIDER, error: lemmyError, defaults: { userSuppliedHost: true } }),
    base: (host) => template.replace('{host}', host),
    bearer: (t) => ({ authorization: `Bearer ${t.accessToken}`, accept: 'application/json' }),
  };
}

/** The instance host as stored with the account (host[:port]); anything else is refused before a call. */
export function requireHost(host: string | undefined): string {
  const h = (host ?? '').trim().toLowerCase();
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(h)) throw new ProviderError('permanent', 'Lemmy: name the instance (e.g. lemmy.world)', { provider: PROVIDER, reason: 'invalid_host' });
  return h;
}

/** Lemmy's timestamps; older instances write them without a zone, in UTC. */
export function lemmyDate(v: unknown): Date | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isFinite(t) ? new Date(t) : undefined;
}
