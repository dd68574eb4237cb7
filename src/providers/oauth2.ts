// OAuth 2.0 token endpoint calls shared by the adapters (RFC 6749 §4.1.3 and §6, RFC 7009), with PKCE
// (RFC 7636) S256. Each adapter says how its network authenticates the client.
import { createHash, randomBytes } from 'node:crypto';
import type { HttpClient, HttpResponse } from '../infra/http/client.ts';
import { httpError, malformed, transportError } from './errors.ts';
import { parseJson, readJson } from './http.ts';
import { ProviderError, type TokenSet } from './types.ts';

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface ClientAuth {
  clientId: string;
  clientSecret?: string;
  /** basic: HTTP Basic with id:secret; body: client_id (and client_secret) as form fields. */
  method: 'basic' | 'body';
}

function withClient(params: Record<string, string>, auth: ClientAuth): { body: URLSearchParams; headers: Record<string, string> } {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth.method === 'basic' && auth.clientSecret) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', auth.clientId);
    if (auth.clientSecret) body.set('client_secret', auth.clientSecret);
  }
  return { body, headers };
}

interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  refresh_token_expires_in?: unknown;
  scope?: unknown;
}

export function toTokenSet(a: TokenAnswer, previousRefresh?: string): TokenSet {
  if (typeof a.access_token !== 'string' || a.access_token === '') throw new Error('no access_token');
  const now = Date.now();
  const refresh = typeof a.refresh_token === 'string' && a.refresh_token !== '' ? a.refresh_token : previousRefresh;
  return {
    accessToken: a.access_token,
    ...(refresh ? { refreshToken: refresh } : {}),
    ...(typeof a.expires_in === 'number' || typeof a.expires_in === 'string' ? { expiresAt: new Date(now + Number(a.expires_in) * 1000) } : {}),
    ...(a.refresh_token_expires_in !== undefined ? { refreshExpiresAt: new Date(now + Number(a.refresh_token_expires_in) * 1000) } : {}),
    ...(typeof a.scope === 'string' ? { scope: a.scope.split(/[ ,]+/).filter(Boolean) } : {}),
  };
}

/**
 * POSTs to a token endpoint. An `invalid_grant` answer (a dead refresh token or code) is auth_expired;
 * a refresh token the network does not send again is kept (`previousRefresh`).
 */
export async function tokenRequest(http: HttpClient, opts: {
  provider: string;
  operation: 'oauth_exchange' | 'oauth_refresh';
  url: string;
  params: Record<string, string>;
  auth: ClientAuth;
  previousRefresh?: string;
}): Promise<TokenSet> {
  const { body, headers } = withClient(opts.params, opts.auth);
  let res;
  try {
    res = await http.request({ method: 'POST', url: opts.url, provider: opts.provider, operation: opts.operation, headers, body, retryUnsent: true });
  } catch (err) {
    throw transportError(opts.provider, opts.operation, err, false);
  }
  if (res.status === 400 || res.status === 401) {
    const code = String((parseJson(res) as { error?: unknown } | null)?.error ?? '');
    // RFC 6749 §5.2: invalid_grant is the user's authorisation (a dead refresh token or code): reconnect.
    if (code === 'invalid_grant') {
      throw new ProviderError('auth_expired', `${opts.provider}: the network no longer accepts this authorisation (invalid_grant)`,
        { provider: opts.provider, status: res.status, reason: code });
    }
    // invalid_client (or a bare 401 from a token endpoint) is AllIN's own app credentials being refused:
    // reconnecting cannot fix that, the operator must.
    if (code === 'invalid_client' || res.status === 401) {
      throw new ProviderError('permanent', `${opts.provider}: the network refused AllIN's app credentials (${code || 'unauthorized'}); check the client id and secret`,
        { provider: opts.provider, status: res.status, reason: code || 'invalid_client' });
    }
  }
  if (res.status < 200 || res.status >= 300) throw httpError(opts.provider, opts.operation, res);
  return readTokenSet(res, opts.provider, opts.operation, opts.previousRefresh);
}

/** A token endpoint's 2xx answer as a TokenSet; unreadable or without access_token, it is malformed. */
export function readTokenSet(res: HttpResponse, provider: string, operation: string, previousRefresh?: string): TokenSet {
  const answer = readJson<TokenAnswer>(res, { provider, operation });
  try {
    return toTokenSet(answer, previousRefresh);
  } catch {
    throw malformed(provider, operation, false, res.status);
  }
}

/** RFC 7009 revocation; networks answer 200 whether or not the token was known. */
export async function revokeRequest(http: HttpClient, opts: { provider: string; url: string; token: string; hint?: 'access_token' | 'refresh_token'; auth: ClientAuth }): Promise<void> {
  const { body, headers } = withClient({ token: opts.token, ...(opts.hint ? { token_type_hint: opts.hint } : {}) }, opts.auth);
  let res;
  try {
    res = await http.request({ method: 'POST', url: opts.url, provider: opts.provider, operation: 'oauth_revoke', headers, body, retryUnsent: true });
  } catch (err) {
    throw transportError(opts.provider, 'oauth_revoke', err, false);
  }
  if (res.status < 200 || res.status >= 300) throw httpError(opts.provider, 'oauth_revoke', res);
}
