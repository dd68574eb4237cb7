// Bluesky sessions: signing in with a handle and an app password
// (https://docs.bsky.app/docs/api/com-atproto-server-create-session), renewing the session
// (https://docs.bsky.app/docs/api/com-atproto-server-refresh-session) and ending it
// (https://docs.bsky.app/docs/api/com-atproto-server-delete-session); the access and refresh JWTs they
// answer become a TokenSet whose lifetimes come from the JWTs.
import { malformed } from '../errors.ts';
import { ProviderError, type AccountRef, type TokenSet } from '../types.ts';
import type { BlueskyHosts } from './hosts.ts';
import type { BlueskyIdentity } from './identity.ts';
import { xrpcBody, type Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';

/** What createSession, refreshSession and getSession answer (fields checked where they are used). */
export interface Session { accessJwt?: unknown; refreshJwt?: unknown; did?: unknown; handle?: unknown; didDoc?: unknown; active?: unknown; status?: unknown }

/** A JWT's `exp` and `scope`, read without checking the signature: the PDS checks it; AllIN only needs the lifetimes. */
function jwtClaims(token: string): { exp?: number; scope?: string } {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown; scope?: unknown };
    return { ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}), ...(typeof payload.scope === 'string' ? { scope: payload.scope } : {}) };
  } catch {
    return {};
  }
}

/** Session tokens; lifetimes come from the JWTs themselves (PDS defaults: access 2 h, refresh 90 days). */
export function toTokens(s: { accessJwt: string; refreshJwt: string }): TokenSet {
  const access = jwtClaims(s.accessJwt);
  const refresh = jwtClaims(s.refreshJwt);
  return {
    accessToken: s.accessJwt,
    refreshToken: s.refreshJwt,
    ...(access.exp ? { expiresAt: new Date(access.exp * 1000) } : {}),
    ...(refresh.exp ? { refreshExpiresAt: new Date(refresh.exp * 1000) } : {}),
    // com.atproto.appPass for an app password, com.atproto.access for the account's main password.
    ...(access.scope ? { scope: [access.scope] } : {}),
  };
}

type FullSession = Session & { accessJwt: string; refreshJwt: string; did: string; handle: string };

export interface BlueskySessions {
  signIn(identifier: string, password: string, host?: string): Promise<{ tokens: TokenSet; host?: string }>;
  refresh(account: AccountRef): Promise<TokenSet>;
  revoke(account: AccountRef): Promise<void>;
}

export function blueskySessions(x: Xrpc, hosts: BlueskyHosts, identity: BlueskyIdentity): BlueskySessions {
  const readSession = (res: Parameters<Xrpc['read']>[0], what: string): FullSession => {
    const s = x.read<Session>(res, what);
    if (typeof s.accessJwt !== 'string' || typeof s.refreshJwt !== 'string' || typeof s.did !== 'string' || typeof s.handle !== 'string') throw malformed(PROVIDER, what, false);
    return s as FullSession;
  };

  return {
    async signIn(identifier, password, host) {
      const id = identifier.trim().replace(/^@/, '');
      const login = host ? hosts.serviceUrl(host) : await identity.loginServiceFor(id);
      const res = await x.xrpcSend({ method: 'POST', base: login, nsid: 'com.atproto.server.createSession', what: 'sign_in', body: { identifier: id, password } });
      if (res.status === 401 || (res.status === 400 && ['AccountTakedown', 'AuthFactorTokenRequired'].includes(xrpcBody(res).error))) {
        const { error, message } = xrpcBody(res);
        const why = error === 'AuthFactorTokenRequired'
          ? 'this sign-in needs an e-mailed code; use an app password (Settings → App Passwords) instead'
          : error === 'AccountTakedown' ? 'the account has been taken down' : 'wrong handle or app password';
        throw new ProviderError('permanent', `bluesky: ${why}`, { provider: PROVIDER, status: res.status, reason: [error || 'invalid_credentials', message].filter(Boolean).join(': ') });
      }
      if (res.status < 200 || res.status >= 300) throw x.fail('sign_in', res);
      const s = readSession(res, 'sign_in');
      return { tokens: toTokens(s), host: hosts.hostLabel(login) };
    },

    async refresh(account) {
      if (!account.tokens.refreshToken) {
        throw new ProviderError('auth_expired', 'bluesky: the account has no refresh token; sign in again', { provider: PROVIDER, reason: 'no_refresh_token' });
      }
      // The refresh JWT is the bearer; the answer rotates it (the old one keeps working for a short grace).
      const res = await x.xrpcCall({ method: 'POST', base: hosts.serviceOf(account), nsid: 'com.atproto.server.refreshSession', what: 'oauth_refresh', token: account.tokens.refreshToken });
      const s = readSession(res, 'oauth_refresh');
      if (s.did !== account.externalId) {
        throw new ProviderError('permanent', `bluesky: the session belongs to ${s.did}, not ${account.externalId}`, { provider: PROVIDER, reason: 'different_account' });
      }
      return toTokens(s);
    },

    async revoke(account) {
      const token = account.tokens.refreshToken;
      if (!token) return; // nothing to end: access JWTs are not revocable and expire on their own
      const res = await x.xrpcSend({ method: 'POST', base: hosts.serviceOf(account), nsid: 'com.atproto.server.deleteSession', what: 'oauth_revoke', token });
      if (res.status >= 200 && res.status < 300) return;
      // An expired or unknown refresh token means the session is already over.
      if (['ExpiredToken', 'InvalidToken'].includes(xrpcBody(res).error)) return;
      throw x.fail('oauth_revoke', res);
    },
  };
}
