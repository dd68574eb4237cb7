// A real, certified OpenID Connect server (panva's oidc-provider) run in-process on loopback, to test
// AllIN's OAuth 2.0 client code (src/providers/oauth2.ts) against something that is not our own
// simulator. Two confidential clients (client_secret_basic, client_secret_post), PKCE required with
// S256 only, refresh token rotation, RFC 7009 revocation. Login and consent are given programmatically
// by an interaction route in front of the provider, and `browse` follows the redirects the way a
// browser would (with a cookie jar), so the authorization code is really issued by the server.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, type errors } from 'oidc-provider';
import type { ClientAuth } from '../../src/providers/oauth2.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/api/connect/callback';
export const ACCOUNT_ID = 'user-1';
/** Access token lifetime the server is configured with (seconds): expires_in must say this. */
export const ACCESS_TOKEN_TTL = 600;

export interface OidcClient {
  clientId: string;
  clientSecret: string;
  /** How AllIN's withClient must authenticate this client for the server to accept it. */
  auth: ClientAuth;
}

export interface OidcServer {
  issuer: string;
  provider: Provider;
  /** Endpoints as the server's discovery document gives them. */
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  userinfoEndpoint: string;
  clients: { basic: OidcClient; post: OidcClient };
  /** The last error the token endpoint answered with, as the server saw it (`detail` says why). */
  lastGrantError(): { error: string; detail: string | undefined } | undefined;
  /** The Authorization header of every POST to the token and revocation endpoints, in order. */
  posts: { path: string; authorization: string | undefined }[];
  /** Opens `url` as a browser would, logging in and consenting; returns the redirect to REDIRECT_URI. */
  browse(url: string): Promise<URL>;
  stop(): Promise<void>;
}

export async function startOidcServer(): Promise<OidcServer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Characters that must be form-encoded before Base64 (RFC 6749 §2.3.1): a client that sends them raw
  // is refused (oidc-provider decodes '+' as a space and '%' as an escape).
  const basicSecret = `s3cr+t/:%25 &=?~${randomBytes(8).toString('hex')}`;
  const basic: OidcClient = { clientId: 'allin-basic', clientSecret: basicSecret, auth: { clientId: 'allin-basic', clientSecret: basicSecret, method: 'basic' } };
  const postSecret = randomBytes(24).toString('base64url');
  const post: OidcClient = { clientId: 'allin-post', clientSecret: postSecret, auth: { clientId: 'allin-post', clientSecret: postSecret, method: 'body' } };

  const client = (c: OidcClient, method: 'client_secret_basic' | 'client_secret_post'): ClientMetadata => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: method,
  });

  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const configuration: Configuration = {
    clients: [client(basic, 'client_secret_basic'), client(post, 'client_secret_post')],
    jwks: { keys: [{ ...signingKey, kid: 'test', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { methods: ['S256'], required: () => true },
    rotateRefreshToken: true,
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    ttl: { AccessToken: ACCESS_TOKEN_TTL, AuthorizationCode: 60, IdToken: 600, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  };
  const provider = new Provider(issuer, configuration);

  // oidc-provider answers every invalid_grant with one description; the reason is in error_detail.
  let lastGrantError: { error: string; detail: string | undefined } | undefined;
  provider.on('grant.error', (_ctx: unknown, err: errors.OIDCProviderError) => {
    lastGrantError = { error: err.error, detail: err.error_detail };
  });

  // Login, then consent to every scope asked for, without a page.
  const interaction = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT_ID } }, { mergeWithLastSubmission: false });
      return;
    }
    if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? (await provider.Grant.find(details.grantId))!
        : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      const missing = details.prompt.details.missingOIDCScope;
      if (Array.isArray(missing)) grant.addOIDCScope(missing.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  };

  // oidc-provider takes client_secret_basic and client_secret_post from either client (both are
  // "a secret"), so the way AllIN authenticated is checked on what it sent.
  const posts: OidcServer['posts'] = [];
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.method === 'POST') posts.push({ path: new URL(req.url ?? '/', issuer).pathname, authorization: req.headers.authorization });
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
      return;
    }
    void callback(req, res);
  };

  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as Record<string, string>;
  const endpoint = (name: string) => {
    const v = discovery[name];
    if (!v) throw new Error(`the discovery document has no ${name}`);
    return v;
  };

  async function browse(start: string): Promise<URL> {
    const jar = new Map<string, string>();
    let url = new URL(start);
    for (let hop = 0; hop < 10; hop++) {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const line of res.headers.getSetCookie()) {
        const [pair = '', ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        const expires = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('expires='));
        if (value === '' || (expires && Date.parse(expires.slice(8)) <= Date.now())) jar.delete(name);
        else jar.set(name, value);
      }
      const location = res.headers.get('location');
      await res.body?.cancel();
      if (!location) throw new Error(`${url.pathname} answered ${res.status} without a redirect`);
      const next = new URL(location, url);
      if (next.href.startsWith(REDIRECT_URI)) return next;
      url = next;
    }
    throw new Error('too many redirects');
  }

  return {
    issuer,
    provider,
    authorizationEndpoint: endpoint('authorization_endpoint'),
    tokenEndpoint: endpoint('token_endpoint'),
    revocationEndpoint: endpoint('revocation_endpoint'),
    userinfoEndpoint: endpoint('userinfo_endpoint'),
    clients: { basic, post },
    lastGrantError: () => lastGrantError,
    posts,
    browse,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
