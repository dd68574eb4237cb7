// AllIN's OAuth 2.0 client code (src/providers/oauth2.ts) against a real, certified OpenID Connect
// server: panva's oidc-provider, run in-process on loopback (see oidc-server.ts). Every code here is
// issued by that server after a login and a consent, and every refusal is the server's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics, type Metrics } from '../../src/infra/metrics.ts';
import { pkcePair, revokeRequest, tokenRequest, toTokenSet, type ClientAuth } from '../../src/providers/oauth2.ts';
import { ProviderError, type TokenSet } from '../../src/providers/types.ts';
import { quietLogger } from '../support/env.ts';
import { ACCESS_TOKEN_TTL, REDIRECT_URI, startOidcServer, type OidcClient, type OidcServer } from './oidc-server.ts';

const PROVIDER = 'oidc-test';

let s: OidcServer;
let http: HttpClient;
let metrics: Metrics;
before(async () => {
  s = await startOidcServer();
  metrics = createMetrics({ enabled: true });
  // No retries: a failure must show as it happened.
  http = new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 5000, maxRetries: 0 });
});
after(async () => {
  await http?.close();
  await s?.stop();
});

/** The authorization URL AllIN would send the user to: code flow, PKCE S256, offline access. */
function authorizationUrl(client: OidcClient, state: string, challenge: string): string {
  const u = new URL(s.authorizationEndpoint);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, state,
    code_challenge: challenge, code_challenge_method: 'S256',
    // offline_access (a refresh token) is only granted with prompt=consent (OpenID Connect Core §11).
    scope: 'openid offline_access', prompt: 'consent',
  }).toString();
  return u.toString();
}

/** Log in and consent at the server; the code and state come back on the redirect. */
async function authorize(client: OidcClient, state = randomBytes(32).toString('base64url')): Promise<{ code: string; verifier: string; redirect: URL }> {
  const { verifier, challenge } = pkcePair();
  const redirect = await s.browse(authorizationUrl(client, state, challenge));
  const code = redirect.searchParams.get('code');
  assert.ok(code, `no code on the redirect: ${redirect.href}`);
  return { code, verifier, redirect };
}

const exchange = (auth: ClientAuth, code: string, verifier: string) => tokenRequest(http, {
  provider: PROVIDER, operation: 'oauth_exchange', url: s.tokenEndpoint, auth,
  params: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
});

const refresh = (auth: ClientAuth, refreshToken: string) => tokenRequest(http, {
  provider: PROVIDER, operation: 'oauth_refresh', url: s.tokenEndpoint, auth, previousRefresh: refreshToken,
  params: { grant_type: 'refresh_token', refresh_token: refreshToken },
});

async function connect(client: OidcClient): Promise<TokenSet> {
  const { code, verifier } = await authorize(client);
  return exchange(client.auth, code, verifier);
}

/** The rejection is a ProviderError of exactly this kind and reason (and the server said `why`). */
async function refused(p: Promise<unknown>, kind: ProviderError['kind'], reason: string, why?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProviderError, `not a ProviderError: ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.equal(e.details.reason, reason);
    assert.equal(e.details.provider, PROVIDER);
    return true;
  });
  if (why) assert.match(s.lastGrantError()?.detail ?? '', why);
}

/**
 * How the last POST to `endpoint` authenticated: client_secret_basic is an Authorization header of
 * Base64(form-encoded id ":" form-encoded secret) (RFC 6749 §2.3.1), decoded here as the server does;
 * client_secret_post is no header (oidc-provider then only accepts the client if client_secret was in
 * the body).
 */
function assertAuthenticatedAs(endpoint: string, client: OidcClient): void {
  const path = new URL(endpoint).pathname;
  const sent = s.posts.filter((p) => p.path === path).at(-1);
  assert.ok(sent, `no POST to ${path}`);
  if (client.auth.method === 'body') {
    assert.equal(sent.authorization, undefined, 'client_secret_post sends no Authorization header');
    return;
  }
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(sent.authorization ?? '');
  assert.ok(m, `a Basic Authorization header, not ${sent.authorization}`);
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const formDecode = (x: string) => decodeURIComponent(x.replace(/\+/g, '%20'));
  assert.equal(formDecode(decoded.slice(0, colon)), client.clientId);
  assert.equal(formDecode(decoded.slice(colon + 1)), client.clientSecret);
  assert.doesNotMatch(decoded.slice(colon + 1), /[ +:&=?]/, 'the secret is form-encoded before Base64');
}

/** The access token works at the server's userinfo endpoint (it is a live token of the account). */
async function userinfoStatus(accessToken: string): Promise<number> {
  const res = await fetch(s.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.body?.cancel();
  return res.status;
}

async function callCount(operation: string, status: string): Promise<number> {
  const { values } = await metrics.socialApiCalls.get();
  return values.filter((v) => v.labels.provider === PROVIDER && v.labels.operation === operation && v.labels.status === status)
    .reduce((n, v) => n + v.value, 0);
}

for (const kind of ['basic', 'post'] as const) {
  test(`authorization code + PKCE S256, client_secret_${kind}: access and refresh tokens, expires_in → expiresAt`, async () => {
    const client = s.clients[kind];
    const { code, verifier } = await authorize(client);
    const t0 = Date.now();
    const tokens = await exchange(client.auth, code, verifier);
    const t1 = Date.now();
    assert.ok(tokens.accessToken.length >= 20, 'an access token');
    assert.ok(tokens.refreshToken && tokens.refreshToken.length >= 20, 'a refresh token (offline_access)');
    assert.notEqual(tokens.refreshToken, tokens.accessToken);
    assert.ok(tokens.expiresAt instanceof Date);
    const at = tokens.expiresAt.getTime();
    assert.ok(at >= t0 + ACCESS_TOKEN_TTL * 1000 - 1000 && at <= t1 + ACCESS_TOKEN_TTL * 1000, `expiresAt ${tokens.expiresAt.toISOString()} is now + ${ACCESS_TOKEN_TTL}s`);
    assert.deepEqual([...(tokens.scope ?? [])].sort(), ['offline_access', 'openid']);
    assert.equal(tokens.refreshExpiresAt, undefined);
    assert.equal(await userinfoStatus(tokens.accessToken), 200);
    assertAuthenticatedAs(s.tokenEndpoint, client);
  });
}

test('the server checks the client secret (so the passes above mean something)', async () => {
  for (const client of [s.clients.basic, s.clients.post]) {
    const { code, verifier } = await authorize(client);
    // RFC 6749 §5.2 invalid_client (oidc-provider answers 401): AllIN's app credentials, not the user's
    // authorisation, so permanent (an operator must fix it), not auth_expired (reconnecting cannot).
    await assert.rejects(exchange({ ...client.auth, clientSecret: 'not-the-secret' }, code, verifier), (e: unknown) =>
      e instanceof ProviderError && e.kind === 'permanent' && e.details.status === 401 && e.details.reason === 'invalid_client');
    // The code was not spent by that: with the right secret it is exchanged.
    assert.ok((await exchange(client.auth, code, verifier)).accessToken);
  }
});

test('a wrong code_verifier is refused: auth_expired, invalid_grant', async () => {
  const client = s.clients.post;
  const { code } = await authorize(client);
  const other = pkcePair().verifier; // well-formed, but not the one the challenge was made from
  await refused(exchange(client.auth, code, other), 'auth_expired', 'invalid_grant', /PKCE verification failed/);
});

test('a replayed authorization code is refused: auth_expired, invalid_grant', async () => {
  for (const client of [s.clients.basic, s.clients.post]) {
    const { code, verifier } = await authorize(client);
    const first = await exchange(client.auth, code, verifier);
    assert.ok(first.accessToken);
    await refused(exchange(client.auth, code, verifier), 'auth_expired', 'invalid_grant', /already consumed/);
    // RFC 6749 §4.1.2: the server revokes what the replayed code gave; AllIN sees that as auth_expired too.
    await refused(refresh(client.auth, first.refreshToken!), 'auth_expired', 'invalid_grant');
  }
});

test('refresh rotates the refresh token; the old one is then refused (auth_expired)', async () => {
  for (const client of [s.clients.basic, s.clients.post]) {
    const a = await connect(client);
    const b = await refresh(client.auth, a.refreshToken!);
    assertAuthenticatedAs(s.tokenEndpoint, client);
    assert.ok(b.refreshToken, 'a new refresh token');
    assert.notEqual(b.refreshToken, a.refreshToken, 'rotated');
    assert.notEqual(b.accessToken, a.accessToken);
    assert.ok(b.expiresAt && b.expiresAt.getTime() > Date.now());
    assert.equal(await userinfoStatus(b.accessToken), 200);
    // The rotated token refreshes again…
    const c = await refresh(client.auth, b.refreshToken);
    assert.ok(c.refreshToken && c.refreshToken !== b.refreshToken && c.refreshToken !== a.refreshToken);
    // …and the first one, already used, is refused.
    await refused(refresh(client.auth, a.refreshToken!), 'auth_expired', 'invalid_grant', /refresh token already used/);
  }
});

test('toTokenSet keeps the previous refresh token when the answer carries none', async () => {
  // A real refresh answer from the server, less its refresh_token: what a network that does not rotate
  // (and does not repeat the token) sends.
  const client = s.clients.post;
  const { refreshToken: previous } = await connect(client);
  const res = await fetch(s.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: previous!, client_id: client.clientId, client_secret: client.clientSecret }),
  });
  assert.equal(res.status, 200);
  const answer = await res.json() as Record<string, unknown>;
  assert.equal(typeof answer.refresh_token, 'string', 'the server did answer with one');
  assert.equal(answer.expires_in, ACCESS_TOKEN_TTL);
  const { refresh_token: rotated, ...withoutRefresh } = answer;

  const kept = toTokenSet(withoutRefresh, previous);
  assert.equal(kept.refreshToken, previous);
  assert.equal(kept.accessToken, answer.access_token);
  assert.ok(kept.expiresAt && Math.abs(kept.expiresAt.getTime() - (Date.now() + ACCESS_TOKEN_TTL * 1000)) < 2000);
  assert.deepEqual([...(kept.scope ?? [])].sort(), ['offline_access', 'openid']);
  // An empty refresh_token is no token either.
  assert.equal(toTokenSet({ ...withoutRefresh, refresh_token: '' }, previous).refreshToken, previous);
  // A refresh token in the answer replaces the previous one; with no previous one there is none.
  assert.equal(toTokenSet(answer, previous).refreshToken, rotated);
  assert.equal('refreshToken' in toTokenSet(withoutRefresh), false);
});

test('revocation (RFC 7009): a revoked refresh token no longer refreshes; an unknown token is still 200', async () => {
  for (const client of [s.clients.basic, s.clients.post]) {
    const a = await connect(client);
    const before = await callCount('oauth_revoke', '200');
    await revokeRequest(http, { provider: PROVIDER, url: s.revocationEndpoint, token: a.refreshToken!, hint: 'refresh_token', auth: client.auth });
    assertAuthenticatedAs(s.revocationEndpoint, client);
    await refused(refresh(client.auth, a.refreshToken!), 'auth_expired', 'invalid_grant', /refresh token not found/);
    // Unknown, with and without a hint, and with the wrong hint: the server answers 200 all the same.
    await revokeRequest(http, { provider: PROVIDER, url: s.revocationEndpoint, token: randomBytes(32).toString('base64url'), hint: 'refresh_token', auth: client.auth });
    await revokeRequest(http, { provider: PROVIDER, url: s.revocationEndpoint, token: 'never-issued', auth: client.auth });
    await revokeRequest(http, { provider: PROVIDER, url: s.revocationEndpoint, token: 'never-issued', hint: 'access_token', auth: client.auth });
    assert.equal(await callCount('oauth_revoke', '200'), before + 4);
  }
  // Revocation needs client authentication: a wrong secret is an error, not a silent success.
  await assert.rejects(
    revokeRequest(http, { provider: PROVIDER, url: s.revocationEndpoint, token: 'x', auth: { ...s.clients.post.auth, clientSecret: 'wrong' } }),
    (e: unknown) => e instanceof ProviderError && e.details.status === 401,
  );
});

test('state: the authorization response carries AllIN\'s state back unchanged', async () => {
  // As src/modules/accounts/service.ts makes it, and one with characters that need encoding.
  for (const state of [randomBytes(32).toString('base64url'), 'a b+c/d=e&f?g%h#i~j']) {
    const { redirect, code, verifier } = await authorize(s.clients.basic, state);
    assert.equal(redirect.searchParams.get('state'), state);
    assert.equal(redirect.origin + redirect.pathname, REDIRECT_URI);
    assert.equal(redirect.searchParams.get('iss'), s.issuer, 'RFC 9207 issuer identification');
    assert.ok((await exchange(s.clients.basic.auth, code, verifier)).accessToken);
  }
});
