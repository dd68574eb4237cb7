// The auth module's public surface: what other modules use of it.
export { requestContext, userOf } from './authenticate.ts';
export type { AuthGuards } from './authenticate.ts';
export { normaliseEmail } from './service.ts';
export { newSecret, sha256 } from './tokens.ts';
export type { IssuedTokens } from './service.ts';
export { REFRESH_COOKIE } from './routes.ts';
