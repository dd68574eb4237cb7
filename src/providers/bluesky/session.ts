// Bluesky sessions (https://docs.bsky.app/docs/api/com-atproto-server-create-session): the access and
// refresh JWTs a createSession or refreshSession answers, as a TokenSet whose lifetimes come from the JWTs.
import type { TokenSet } from '../types.ts';

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
