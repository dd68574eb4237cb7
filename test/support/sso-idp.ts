// A real OpenID Connect identity provider (panva's oidc-provider) on 127.0.0.1 for the single sign-on tests.
// The person who logs in is chosen by the test (`nextLogin`), login and consent are given programmatically
// by an interaction route in front of the provider, and `tamper` may rewrite the ID token the token endpoint
// returns (re-signed with the provider's own key), to make a token that is validly signed but wrong: another
// audience, expired, another nonce. With `pages`, the provider shows its own login and consent pages
// (oidc-provider's development interactions) for a browser to fill in, signing in whoever `register` named.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { SignJWT, decodeJwt, importJWK, type JWTPayload } from 'jose';

export interface IdpPerson {
  sub: string;
  email: string;
  emailVerified: boolean;
  name?: string;
  amr?: string[];
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who logs in at the next interaction. */
  nextLogin: IdpPerson;
  /** Rewrites the ID token's claims before it leaves the token endpoint (re-signed); null: untouched. */
  tamper: ((claims: JWTPayload) => JWTPayload) | null;
  /** Times its discovery document was read. */
  discoveries: number;
  /** With `pages`: the person the login page signs in when their `sub` is typed as the login. */
  register(person: IdpPerson): void;
  stop(): Promise<void>;
}

export async function startTestIdp(redirectUri: string, opts: { pages?: boolean } = {}): Promise<TestIdp> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'allin-sso';
  const clientSecret = randomBytes(24).toString('base64url');
  const people = new Map<string, IdpPerson>();

  const jwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'idp', use: 'sig', alg: 'RS256' };
  const signingKey = await importJWK(jwk, 'RS256');
  const configuration: Configuration = {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { acr: null, sid: null, auth_time: null, iss: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name'] },
    // Claims in the ID token itself (not only at userinfo): what most enterprise providers do.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const p = people.get(sub);
      return p ? { accountId: sub, claims: () => ({ sub, email: p.email, email_verified: p.emailVerified, ...(p.name ? { name: p.name } : {}) }) } : undefined;
    },
    ...(opts.pages ? {} : { interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` } }),
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: opts.pages === true } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  };
  const provider = new Provider(issuer, configuration);

  const idp: TestIdp = {
    issuer, clientId, clientSecret, tamper: null, discoveries: 0,
    nextLogin: { sub: 'nobody', email: 'nobody@example.invalid', emailVerified: true },
    register(person) { people.set(person.sub, person); },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };

  const interaction = async (req: IncomingMessage, res: ServerResponse) => {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      const p = idp.nextLogin;
      people.set(p.sub, p);
      await provider.interactionFinished(req, res, { login: { accountId: p.sub, ...(p.amr ? { amr: p.amr } : {}) } }, { mergeWithLastSubmission: false });
      return;
    }
    if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? (await provider.Grant.find(details.grantId))!
        : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      const missing = details.prompt.details.missingOIDCScope;
      if (Array.isArray(missing)) grant.addOIDCScope(missing.join(' '));
      const claims = details.prompt.details.missingOIDCClaims;
      if (Array.isArray(claims)) grant.addOIDCClaims(claims);
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      return;
    }
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  };

  /** The token endpoint's answer with its ID token rewritten and signed again with the provider's key. */
  const rewriteTokenAnswer = (res: ServerResponse, tamper: (c: JWTPayload) => JWTPayload) => {
    const chunks: Buffer[] = [];
    const end = res.end.bind(res);
    res.write = ((c: unknown) => { chunks.push(Buffer.from(c as string)); return true; }) as typeof res.write;
    res.end = ((c?: unknown) => {
      if (c && typeof c !== 'function') chunks.push(Buffer.from(c as string));
      void (async () => {
        let out = Buffer.concat(chunks).toString();
        const body = JSON.parse(out) as { id_token?: string };
        if (body.id_token) {
          const claims = tamper(decodeJwt(body.id_token));
          body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp', typ: 'JWT' }).sign(signingKey);
          out = JSON.stringify(body);
        }
        res.setHeader('content-length', Buffer.byteLength(out));
        end(out);
      })();
      return res;
    }) as typeof res.end;
  };

  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url === '/.well-known/openid-configuration') idp.discoveries++;
    if (req.url?.startsWith('/interaction/') && !opts.pages) {
      interaction(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
      return;
    }
    if (req.method === 'POST' && req.url?.startsWith('/token') && idp.tamper) rewriteTokenAnswer(res, idp.tamper);
    void callback(req, res);
  };
  return idp;
}

/**
 * Follows redirects the way a browser would, with one cookie jar for every host, from `start` until a
 * Location that begins with `stopAt`; returns that answer's Location and the jar.
 */
export async function browse(start: string, stopAt: string, jar = new Map<string, string>(), rewrite?: (url: URL) => URL): Promise<{ location: URL; jar: Map<string, string> }> {
  let url = new URL(start);
  for (let hop = 0; hop < 12; hop++) {
    const cookie = [...jar].filter(([k]) => k.startsWith(`${url.host}|`)).map(([k, v]) => `${k.slice(k.indexOf('|') + 1)}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = `${url.host}|${pair.slice(0, eq).trim()}`;
      const value = pair.slice(eq + 1).trim();
      const expires = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('expires='));
      if (value === '' || (expires && Date.parse(expires.slice(8)) <= Date.now())) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (!location) throw new Error(`${url.pathname} answered ${res.status} without a redirect`);
    let next = new URL(location, url);
    if (next.href.startsWith(stopAt)) return { location: next, jar };
    if (rewrite) next = rewrite(next);
    url = next;
  }
  throw new Error('too many redirects');
}

/** The value of a cookie the jar holds for `host`. */
export const cookieOf = (jar: Map<string, string>, host: string, name: string) => jar.get(`${host}|${name}`);
