// Single sign-on with OpenID Connect, per workspace (docs/SSO.md). A workspace names its identity provider
// (issuer, client id and secret) and proves it owns email domains (DNS TXT record or a mailed link); people
// of those domains then sign in through the provider: authorization code flow with PKCE, state and nonce
// kept server-side (single use, 10 minutes, bound to the browser that started), the ID token checked by
// openid-client, the email required verified and in a verified domain of that workspace. Every call to the
// provider goes through AllIN's HTTP client (customFetch), so the private-address guard applies to it.
import { timingSafeEqual } from 'node:crypto';
import { resolveTxt as dnsResolveTxt } from 'node:dns/promises';
import { and, asc, eq, isNotNull, isNull, gt, sql } from 'drizzle-orm';
import * as oidc from 'openid-client';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import { TtlCache } from '../../infra/cache.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { InvalidationBus } from '../../infra/stores/invalidation.ts';
import { TransportError, type HttpClient } from '../../infra/http/client.ts';
import { Conflict, Forbidden, Invalid, NotFound, Unauthenticated } from '../../domain/errors.ts';
import { audit, type RequestContext } from '../audit/index.ts';
import { queueMail, templates } from '../mail/index.ts';
import { newSecret, normaliseEmail, sha256 } from '../auth/index.ts';
import type { IssuedTokens } from '../auth/index.ts';
import { memberships, workspaces, type Role } from '../workspaces/schema.ts';
import { ssoConnections, ssoDomains } from './schema.ts';

export const JIT_ROLES = ['admin', 'editor', 'viewer'] as const;
export type JitRole = (typeof JIT_ROLES)[number];
/** The mailbox names a domain's administrator is expected to read (RFC 2142 and common practice). */
export const ADMIN_MAILBOXES = ['admin', 'administrator', 'hostmaster', 'postmaster', 'webmaster'] as const;

const STATE_TTL_MS = 10 * 60_000;
const MAIL_TTL_MS = 24 * 3600_000;
const MAX_DOMAINS = 20;
/** Verification mails a workspace may send per hour: the route mails addresses nobody here owns. */
const MAILS_PER_HOUR = 5;
export const TXT_PREFIX = '_allin-verification';
/** Topic and key (the workspace) on the invalidation bus: its SSO settings changed. */
const CONNECTION_TOPIC = 'sso_connection';
/**
 * How long a process keeps a workspace's provider as discovered: the limit of staleness should an
 * invalidation be lost, or the provider change its endpoints. (Its signing keys are openid-client's own
 * cache on that object: 5 minutes at most, fetched again for an unknown key id.)
 */
const CONNECTION_CACHE_MS = 15 * 60_000;

export interface SsoSettings {
  issuer: string;
  clientId: string;
  defaultRole: JitRole;
  ssoOnly: boolean;
  updatedAt: Date;
}

export interface SsoDomain {
  id: string;
  domain: string;
  verified: boolean;
  verifiedAt: Date | null;
  verifiedBy: 'dns' | 'mail' | null;
  txtRecord: { name: string; value: string };
  createdAt: Date;
}

interface PendingSignIn {
  workspaceId: string;
  nonce: string;
  verifier: string;
  /** SHA-256 (hex) of the random value in the browser's cookie. */
  binding: string;
}

export interface SsoDeps {
  db: Db;
  store: KeyValueStore;
  cipher: TokenCipher;
  http: HttpClient;
  metrics: Metrics;
  bus: InvalidationBus;
  publicUrl: string;
  /** SSO_ALLOW_PRIVATE_ISSUERS: an issuer may be on a private or loopback address. */
  allowPrivateIssuers: boolean;
  /** Plain http issuers (tests, a development IdP); never in production. */
  allowHttpIssuers: boolean;
  /** node:dns resolveTxt, replaceable in tests. */
  resolveTxt?: (name: string) => Promise<string[][]>;
  auth: {
    hasVerifiedAccount(email: string): Promise<boolean>;
    unusablePasswordHash(): Promise<string>;
    ssoUser(tx: DbOrTx, input: { email: string; name: string; unusableHash: () => Promise<string> }): Promise<{ id: string; created: boolean }>;
    openSsoSession(userId: string, amr: string[], ctx: RequestContext): Promise<IssuedTokens & { userId: string }>;
    invalidateMe(userIds: string[]): Promise<void>;
  };
  /** Sessions of users of a domain that were not opened by SSO end when the domain becomes SSO only. */
  revokeNonSsoSessions(tx: DbOrTx, emailDomain: string): Promise<number>;
}

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1);
const stateKey = (state: string) => `sso-state:${state}`;
const secretRow = (workspaceId: string) => `sso:${workspaceId}`;

/** A domain name as people type it: lower case, no trailing dot, at least two labels. */
export function cleanDomain(input: string): string {
  const d = input.trim().toLowerCase().replace(/\.$/, '');
  if (d.length > 253 || !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(d)) {
    throw new Invalid('VALIDATION_FAILED', `domain: "${input}" is not a domain name (for example example.com).`, [{ field: 'body.domain', message: 'not a domain name' }]);
  }
  return d;
}

const refused = (message: string) => new Unauthenticated('SSO_REFUSED', message);

export class SsoService {
  private readonly resolveTxt: (name: string) => Promise<string[][]>;
  /** By workspace: its provider as discovered, read once per process and TTL rather than twice per sign-in. */
  private readonly connections: TtlCache<oidc.Configuration>;

  constructor(private readonly d: SsoDeps) {
    this.resolveTxt = d.resolveTxt ?? dnsResolveTxt;
    this.connections = new TtlCache<oidc.Configuration>(CONNECTION_TOPIC, CONNECTION_CACHE_MS, d.metrics);
    d.bus.on(CONNECTION_TOPIC, (workspaceId) => this.connections.invalidate(workspaceId));
  }

  get callbackUrl(): string {
    return `${this.d.publicUrl}/api/auth/sso/callback`;
  }

  // --- settings -------------------------------------------------------------------------------------

  async settings(workspaceId: string): Promise<SsoSettings | null> {
    const [row] = await this.d.db.select().from(ssoConnections).where(eq(ssoConnections.workspaceId, workspaceId));
    return row ? { issuer: row.issuer, clientId: row.clientId, defaultRole: row.defaultRole as JitRole, ssoOnly: row.ssoOnly, updatedAt: row.updatedAt } : null;
  }

  /**
   * Sets the workspace's identity provider. The issuer's discovery document is read first (through the
   * guard), so a typo or a refused address is said now rather than at someone's sign-in.
   */
  async configure(workspaceId: string, input: { issuer: string; clientId: string; clientSecret?: string; defaultRole: JitRole; ssoOnly: boolean }, actorUserId: string, ctx: RequestContext): Promise<SsoSettings> {
    const issuer = this.checkIssuerUrl(input.issuer);
    const current = await this.d.db.select().from(ssoConnections).where(eq(ssoConnections.workspaceId, workspaceId)).then((r) => r[0]);
    let secret = input.clientSecret;
    if (secret === undefined) {
      if (!current) throw new Invalid('VALIDATION_FAILED', 'clientSecret: required the first time (the identity provider gives it with the client id).', [{ field: 'body.clientSecret', message: 'required' }]);
      // The stored secret goes only to the provider and client it was given for.
      if (current.issuer !== issuer || current.clientId !== input.clientId) {
        throw new Invalid('VALIDATION_FAILED', 'clientSecret: give the secret again when the issuer or client id changes.', [{ field: 'body.clientSecret', message: 'required when issuer or clientId change' }]);
      }
      secret = this.d.cipher.decrypt(current.clientSecretEnc, secretRow(workspaceId));
    }
    await this.discover({ issuer, clientId: input.clientId, clientSecret: secret });
    const enc = this.d.cipher.encrypt(secret, secretRow(workspaceId));
    await this.d.db.transaction(async (tx) => {
      await tx.insert(ssoConnections).values({ workspaceId, issuer, clientId: input.clientId, clientSecretEnc: enc, defaultRole: input.defaultRole, ssoOnly: input.ssoOnly })
        .onConflictDoUpdate({
          target: ssoConnections.workspaceId,
          set: { issuer, clientId: input.clientId, clientSecretEnc: enc, defaultRole: input.defaultRole, ssoOnly: input.ssoOnly, updatedAt: sql`now()` },
        });
      let ended = 0;
      if (input.ssoOnly && !current?.ssoOnly) ended = await this.endNonSsoSessions(tx, workspaceId);
      await audit(tx, {
        action: 'workspace.sso_configured', workspaceId, actorUserId, targetType: 'workspace', targetId: workspaceId, ...ctx,
        details: { issuer, clientId: input.clientId, defaultRole: input.defaultRole, ssoOnly: input.ssoOnly, secretChanged: input.clientSecret !== undefined, sessionsEnded: ended },
      });
    });
    // After the commit: a process that discovers again must read the new row.
    await this.d.bus.publish(CONNECTION_TOPIC, [workspaceId]);
    return (await this.settings(workspaceId))!;
  }

  async remove(workspaceId: string, actorUserId: string, ctx: RequestContext): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const gone = await tx.delete(ssoConnections).where(eq(ssoConnections.workspaceId, workspaceId)).returning({ id: ssoConnections.workspaceId });
      if (gone.length === 0) throw new NotFound('NOT_FOUND', 'This workspace has no single sign-on set up.');
      await audit(tx, { action: 'workspace.sso_removed', workspaceId, actorUserId, targetType: 'workspace', targetId: workspaceId, ...ctx });
    });
    await this.d.bus.publish(CONNECTION_TOPIC, [workspaceId]);
  }

  /** The workspace that signs the people of this email's domain in through SSO only, by name; null if none. */
  async ssoOnlyWorkspace(email: string): Promise<string | null> {
    // Every password sign-in asks this: the domain's verified row first, on its partial unique index (a join
    // let the planner walk another index of sso_domains whole).
    const res = await this.d.db.execute<{ name: string }>(sql`
      select w.name from workspaces w
       where w.id = (select d.workspace_id from sso_domains d where d.domain = ${domainOf(normaliseEmail(email))} and d.verified_at is not null)
         and exists (select 1 from sso_connections c where c.workspace_id = w.id and c.sso_only)`);
    return res.rows[0]?.name ?? null;
  }

  private async endNonSsoSessions(tx: DbOrTx, workspaceId: string, only?: string): Promise<number> {
    const domains = only ? [only] : (await tx.select({ domain: ssoDomains.domain }).from(ssoDomains)
      .where(and(eq(ssoDomains.workspaceId, workspaceId), isNotNull(ssoDomains.verifiedAt)))).map((r) => r.domain);
    let n = 0;
    for (const domain of domains) n += await this.d.revokeNonSsoSessions(tx, domain);
    return n;
  }

  private checkIssuerUrl(input: string): string {
    let u: URL;
    try {
      u = new URL(input.trim());
    } catch {
      throw new Invalid('VALIDATION_FAILED', 'issuer: not a URL (for example https://login.example.com/realms/acme).', [{ field: 'body.issuer', message: 'not a URL' }]);
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && this.d.allowHttpIssuers)) {
      throw new Invalid('VALIDATION_FAILED', 'issuer: must be an https:// URL.', [{ field: 'body.issuer', message: 'must use https' }]);
    }
    if (u.search || u.hash || u.username || u.password) {
      throw new Invalid('VALIDATION_FAILED', 'issuer: the issuer identifier has no query, fragment or credentials.', [{ field: 'body.issuer', message: 'no query, fragment or credentials' }]);
    }
    // The issuer identifier exactly as given (openid-client compares it with the discovery document's).
    return u.href.replace(/\/$/, u.pathname === '/' ? '' : '/');
  }

  // --- outbound -----------------------------------------------------------------------------------------

  /** openid-client's fetch, through AllIN's HTTP client: deadline, size caps, metrics and the address guard. */
  private readonly fetch: oidc.CustomFetch = async (url, options) => {
    const operation = new URL(url).pathname.endsWith('openid-configuration') ? 'discovery' : options.method === 'POST' ? 'token' : 'jwks';
    const r = await this.d.http.request({
      method: options.method as 'GET' | 'POST', url, provider: 'sso', operation, headers: options.headers,
      body: options.body as string | URLSearchParams | undefined, userSuppliedHost: !this.d.allowPrivateIssuers, timeoutMs: 15_000, maxBodyBytes: 1024 * 1024,
    });
    const empty = r.status === 204 || r.status === 304;
    return new Response(empty ? null : new Uint8Array(r.bytes), { status: r.status, headers: r.headers });
  };

  private async discover(c: { issuer: string; clientId: string; clientSecret: string }): Promise<oidc.Configuration> {
    try {
      const config = await oidc.discovery(new URL(c.issuer), c.clientId, { client_secret: c.clientSecret }, oidc.ClientSecretBasic(c.clientSecret), {
        [oidc.customFetch]: this.fetch,
        ...(this.d.allowHttpIssuers ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
      config[oidc.customFetch] = this.fetch;
      return config;
    } catch (err) {
      throw this.providerProblem(err, c.issuer);
    }
  }

  private providerProblem(err: unknown, issuer: string): Error {
    const transport = err instanceof TransportError ? err : (err as { cause?: unknown }).cause instanceof TransportError ? (err as { cause: TransportError }).cause : null;
    if (transport?.reason === 'blocked_host') {
      return new Invalid('SSO_ISSUER_BLOCKED', `${new URL(issuer).host} is a private or loopback address; AllIN reaches an identity provider there only when the operator sets SSO_ALLOW_PRIVATE_ISSUERS=true.`);
    }
    if (transport) return new Invalid('SSO_ISSUER_UNREACHABLE', `The identity provider at ${issuer} could not be reached (${transport.message}). Check the issuer URL.`);
    return new Invalid('SSO_ISSUER_INVALID', `${issuer} is not an OpenID Connect issuer AllIN can use: ${(err as Error).message}. Check the issuer URL (its /.well-known/openid-configuration must name the same issuer).`);
  }

  /** The workspace's provider, from this process's cache (dropped in every process when the settings change). */
  private async connectionOf(workspaceId: string): Promise<oidc.Configuration> {
    return (await this.connections.get(workspaceId, () => this.loadConnection(workspaceId))).value;
  }

  private async loadConnection(workspaceId: string): Promise<oidc.Configuration> {
    const [row] = await this.d.db.select().from(ssoConnections).where(eq(ssoConnections.workspaceId, workspaceId));
    if (!row) throw new NotFound('SSO_NOT_CONFIGURED', 'This workspace has no single sign-on set up: sign in with your password, or ask its admin.');
    return this.discover({ issuer: row.issuer, clientId: row.clientId, clientSecret: this.d.cipher.decrypt(row.clientSecretEnc, secretRow(workspaceId)) });
  }

  // --- sign-in --------------------------------------------------------------------------------------------

  /**
   * The provider's authorization URL for a sign-in by `email` (its verified domain names the workspace) or
   * for `workspaceId`, and the value the browser keeps in a cookie until the callback.
   */
  async start(input: { email?: string; workspaceId?: string }): Promise<{ url: string; binding: string }> {
    let workspaceId = input.workspaceId;
    if (input.email !== undefined) {
      const domain = domainOf(normaliseEmail(input.email));
      const res = await this.d.db.execute<{ workspaceId: string }>(sql`
        select c.workspace_id as "workspaceId" from sso_connections c
         where c.workspace_id = (select d.workspace_id from sso_domains d where d.domain = ${domain} and d.verified_at is not null)`);
      const row = res.rows[0];
      if (!row) throw new NotFound('SSO_NOT_CONFIGURED', `No workspace signs in ${domain} addresses with single sign-on: sign in with your password, or ask your workspace's admin to verify ${domain}.`);
      workspaceId = row.workspaceId;
    }
    if (!workspaceId) throw new Invalid('VALIDATION_FAILED', 'Give your work email address (email) or the workspace (workspace).');
    const config = await this.connectionOf(workspaceId);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const binding = newSecret('sso');
    const pending: PendingSignIn = { workspaceId, nonce, verifier, binding: sha256(binding).toString('hex') };
    await this.d.store.set(stateKey(state), JSON.stringify(pending), STATE_TTL_MS);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.callbackUrl, scope: 'openid email profile', state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      ...(input.email !== undefined ? { login_hint: normaliseEmail(input.email) } : {}),
    });
    return { url: url.href, binding };
  }

  /**
   * The provider's answer: state (single use, same browser), code exchanged with the PKCE verifier, the ID
   * token's signature, issuer, audience, expiry and nonce checked; then the email, verified and in one of the
   * workspace's verified domains. The person joins the workspace with its default role if new to it.
   */
  async callback(query: Record<string, string>, binding: string | undefined, ctx: RequestContext): Promise<IssuedTokens & { userId: string; workspaceId: string }> {
    const state = query.state;
    const raw = state ? await this.d.store.getDel(stateKey(state)) : null;
    if (!raw) throw new Unauthenticated('SSO_STATE_INVALID', 'This sign-in has expired or was already used: start again with "Sign in with SSO".');
    const pending = JSON.parse(raw) as PendingSignIn;
    const expected = Buffer.from(pending.binding, 'hex');
    const given = binding ? sha256(binding) : Buffer.alloc(expected.length);
    if (!binding || !timingSafeEqual(expected, given)) {
      throw new Unauthenticated('SSO_STATE_INVALID', 'This sign-in was started in another browser: start again with "Sign in with SSO" here.');
    }
    if (query.error) {
      throw refused(`The identity provider refused the sign-in (${query.error}${query.error_description ? `: ${query.error_description}` : ''}).`);
    }
    const config = await this.connectionOf(pending.workspaceId);
    const current = new URL(this.callbackUrl);
    for (const [k, v] of Object.entries(query)) current.searchParams.set(k, v);
    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier, expectedState: state, expectedNonce: pending.nonce, idTokenExpected: true,
      });
      claims = tokens.claims()!;
    } catch (err) {
      const e = this.providerProblem(err, config.serverMetadata().issuer);
      if (e instanceof Invalid && e.code === 'SSO_ISSUER_INVALID') {
        await audit(this.d.db, { action: 'auth.sso_refused', workspaceId: pending.workspaceId, ...ctx, details: { reason: (err as Error).message } });
        throw refused(`The identity provider's answer was refused: ${(err as Error).message}. Start again; if it keeps failing, tell your workspace's admin.`);
      }
      throw e;
    }
    const email = typeof claims.email === 'string' ? normaliseEmail(claims.email) : null;
    if (!email || !email.includes('@')) throw refused('The identity provider did not give an email address: its client must be allowed the "email" scope.');
    const deny = async (code: string, message: string) => {
      await audit(this.d.db, { action: 'auth.sso_refused', workspaceId: pending.workspaceId, ...ctx, details: { reason: code, email } });
      return new Forbidden(code, message);
    };
    if (claims.email_verified !== true) throw await deny('SSO_EMAIL_UNVERIFIED', `The identity provider has not verified ${email}; AllIN signs in only verified addresses. Ask your identity provider's admin.`);
    const domain = domainOf(email);
    const [owned] = await this.d.db.select({ id: ssoDomains.id }).from(ssoDomains)
      .where(and(eq(ssoDomains.workspaceId, pending.workspaceId), eq(ssoDomains.domain, domain), isNotNull(ssoDomains.verifiedAt)));
    if (!owned) throw await deny('SSO_DOMAIN_NOT_ALLOWED', `${domain} is not a verified domain of this workspace, so ${email} cannot sign in to it through single sign-on.`);

    const idpAmr = Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string' && /^[\w.-]{1,32}$/.test(a)).slice(0, 8) : [];
    const hash = (await this.d.auth.hasVerifiedAccount(email)) ? null : await this.d.auth.unusablePasswordHash();
    const name = [claims.name, claims.given_name].find((v): v is string => typeof v === 'string' && v.trim() !== '') ?? '';
    const { userId, joined } = await this.d.db.transaction(async (tx) => {
      const user = await this.d.auth.ssoUser(tx, { email, name, unusableHash: () => (hash ? Promise.resolve(hash) : this.d.auth.unusablePasswordHash()) });
      const [conn] = await tx.select({ role: ssoConnections.defaultRole }).from(ssoConnections).where(eq(ssoConnections.workspaceId, pending.workspaceId));
      const inserted = await tx.insert(memberships).values({ workspaceId: pending.workspaceId, userId: user.id, role: (conn?.role ?? 'viewer') as Role })
        .onConflictDoNothing().returning({ role: memberships.role });
      await audit(tx, {
        action: 'auth.sso_login', workspaceId: pending.workspaceId, actorUserId: user.id, ...ctx,
        details: { issuer: config.serverMetadata().issuer, subject: claims.sub, idpAmr, accountCreated: user.created, joinedAs: inserted[0]?.role ?? null },
      });
      return { userId: user.id, joined: inserted.length > 0 };
    });
    if (joined) await this.d.auth.invalidateMe([userId]);
    // RFC 8176 has no name for "a federated identity provider": "sso" is ours, with the provider's own
    // methods beside it, each marked as the provider's claim.
    const session = await this.d.auth.openSsoSession(userId, ['sso', ...idpAmr.map((a) => `idp:${a}`)], ctx);
    return { ...session, workspaceId: pending.workspaceId };
  }

  // --- domains --------------------------------------------------------------------------------------------

  private toDomain(r: typeof ssoDomains.$inferSelect): SsoDomain {
    return {
      id: r.id, domain: r.domain, verified: r.verifiedAt !== null, verifiedAt: r.verifiedAt, verifiedBy: r.verifiedBy,
      txtRecord: { name: `${TXT_PREFIX}.${r.domain}`, value: r.txtToken }, createdAt: r.createdAt,
    };
  }

  async domains(workspaceId: string): Promise<SsoDomain[]> {
    const rows = await this.d.db.select().from(ssoDomains).where(eq(ssoDomains.workspaceId, workspaceId)).orderBy(asc(ssoDomains.createdAt), asc(ssoDomains.id));
    return rows.map((r) => this.toDomain(r));
  }

  private async domainRow(workspaceId: string, domainId: string) {
    const [row] = await this.d.db.select().from(ssoDomains).where(and(eq(ssoDomains.id, domainId), eq(ssoDomains.workspaceId, workspaceId)));
    if (!row) throw new NotFound('NOT_FOUND', 'No such domain in this workspace.');
    return row;
  }

  private async verifiedElsewhere(db: DbOrTx, domain: string, workspaceId: string): Promise<boolean> {
    const [row] = await db.select({ ws: ssoDomains.workspaceId }).from(ssoDomains).where(and(eq(ssoDomains.domain, domain), isNotNull(ssoDomains.verifiedAt)));
    return row !== undefined && row.ws !== workspaceId;
  }

  async claimDomain(workspaceId: string, input: string, actorUserId: string, ctx: RequestContext): Promise<SsoDomain> {
    const domain = cleanDomain(input);
    const taken = () => new Conflict('DOMAIN_TAKEN', `${domain} is already verified by another workspace. If it is yours, ask that workspace's owner to remove it first.`);
    if (await this.verifiedElsewhere(this.d.db, domain, workspaceId)) throw taken();
    return this.d.db.transaction(async (tx) => {
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(ssoDomains).where(eq(ssoDomains.workspaceId, workspaceId));
      if (n >= MAX_DOMAINS) throw new Conflict('TOO_MANY_DOMAINS', `A workspace may claim at most ${MAX_DOMAINS} domains; remove one first.`);
      const [row] = await tx.insert(ssoDomains).values({ workspaceId, domain, txtToken: `allin-domain-verification=${newSecret('d').slice(2, 34)}`, claimedBy: actorUserId })
        .onConflictDoNothing().returning();
      if (!row) throw new Conflict('DOMAIN_ALREADY_CLAIMED', `This workspace has already claimed ${domain}.`);
      await audit(tx, { action: 'workspace.sso_domain_claimed', workspaceId, actorUserId, targetType: 'sso_domain', targetId: row.id, ...ctx, details: { domain } });
      return this.toDomain(row);
    });
  }

  async removeDomain(workspaceId: string, domainId: string, actorUserId: string, ctx: RequestContext): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const [gone] = await tx.delete(ssoDomains).where(and(eq(ssoDomains.id, domainId), eq(ssoDomains.workspaceId, workspaceId))).returning({ domain: ssoDomains.domain });
      if (!gone) throw new NotFound('NOT_FOUND', 'No such domain in this workspace.');
      await audit(tx, { action: 'workspace.sso_domain_removed', workspaceId, actorUserId, targetType: 'sso_domain', targetId: domainId, ...ctx, details: { domain: gone.domain } });
    });
  }

  /** Looks for the TXT record `_allin-verification.<domain>` holding the domain's token. */
  async verifyByDns(workspaceId: string, domainId: string, actorUserId: string, ctx: RequestContext): Promise<SsoDomain> {
    const row = await this.domainRow(workspaceId, domainId);
    if (row.verifiedAt) return this.toDomain(row);
    const name = `${TXT_PREFIX}.${row.domain}`;
    let records: string[][];
    try {
      records = await this.resolveTxt(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTFOUND' && code !== 'ENODATA') {
        throw new Invalid('DNS_LOOKUP_FAILED', `The DNS lookup of ${name} failed (${code ?? 'error'}); try again in a minute.`);
      }
      records = [];
    }
    // A long TXT value comes in chunks of 255 bytes: they are one string.
    if (!records.some((chunks) => chunks.join('') === row.txtToken)) {
      throw new Invalid('DOMAIN_NOT_VERIFIED', `No TXT record "${row.txtToken}" found at ${name} yet. Add it at your DNS host; changes can take a while to show.`);
    }
    return this.markVerified(row, 'dns', actorUserId, ctx);
  }

  private async markVerified(row: typeof ssoDomains.$inferSelect, by: 'dns' | 'mail', actorUserId: string | null, ctx: RequestContext): Promise<SsoDomain> {
    try {
      return await this.d.db.transaction(async (tx) => {
        const [done] = await tx.update(ssoDomains).set({ verifiedAt: sql`now()`, verifiedBy: by, mailTokenHash: null, mailTokenExpiresAt: null })
          .where(and(eq(ssoDomains.id, row.id), isNull(ssoDomains.verifiedAt))).returning();
        if (!done) return this.toDomain((await tx.select().from(ssoDomains).where(eq(ssoDomains.id, row.id)))[0]!);
        const [conn] = await tx.select({ ssoOnly: ssoConnections.ssoOnly }).from(ssoConnections).where(eq(ssoConnections.workspaceId, row.workspaceId));
        const ended = conn?.ssoOnly ? await this.endNonSsoSessions(tx, row.workspaceId, row.domain) : 0;
        await audit(tx, {
          action: 'workspace.sso_domain_verified', workspaceId: row.workspaceId, actorUserId, targetType: 'sso_domain', targetId: row.id, ...ctx,
          details: { domain: row.domain, by, sessionsEnded: ended },
        });
        return this.toDomain(done);
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505') {
        throw new Conflict('DOMAIN_TAKEN', `${row.domain} was verified by another workspace first.`);
      }
      throw err;
    }
  }

  /** Mails a single-use link to an administrator mailbox of the domain; following it verifies the domain. */
  async sendVerificationMail(workspaceId: string, domainId: string, mailbox: (typeof ADMIN_MAILBOXES)[number], actorUserId: string, ctx: RequestContext): Promise<{ sentTo: string; expiresAt: Date }> {
    const row = await this.domainRow(workspaceId, domainId);
    if (row.verifiedAt) throw new Conflict('DOMAIN_ALREADY_VERIFIED', `${row.domain} is already verified.`);
    const hour = Math.floor(Date.now() / 3600_000);
    if ((await this.d.store.incr(`sso-domain-mails:${workspaceId}:${hour}`, 3600_000)) > MAILS_PER_HOUR) {
      throw new Conflict('TOO_MANY_MAILS', `This workspace has sent ${MAILS_PER_HOUR} verification mails this hour; try again later, or use the DNS record.`);
    }
    const token = newSecret('dv');
    const expiresAt = new Date(Date.now() + MAIL_TTL_MS);
    const to = `${mailbox}@${row.domain}`;
    await this.d.db.transaction(async (tx) => {
      // A new mail replaces the previous link.
      await tx.update(ssoDomains).set({ mailTokenHash: sha256(token), mailTokenExpiresAt: expiresAt }).where(eq(ssoDomains.id, row.id));
      const [ws] = await tx.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, workspaceId));
      await queueMail(tx, to, templates.verifySsoDomain(row.domain, ws?.name ?? 'AllIN', `${this.d.publicUrl}/sso/verify-domain#token=${encodeURIComponent(token)}`));
      await audit(tx, { action: 'workspace.sso_domain_mail_sent', workspaceId, actorUserId, targetType: 'sso_domain', targetId: row.id, ...ctx, details: { domain: row.domain, to } });
    });
    return { sentTo: to, expiresAt };
  }

  /** The mailed link: anyone holding it (the domain's administrator need not have an account) verifies once. */
  async verifyByMailToken(token: string, ctx: RequestContext): Promise<{ domain: string; workspace: string }> {
    const [row] = await this.d.db.update(ssoDomains).set({ mailTokenHash: null, mailTokenExpiresAt: null })
      .where(and(eq(ssoDomains.mailTokenHash, sha256(token)), gt(ssoDomains.mailTokenExpiresAt, sql`now()`), isNull(ssoDomains.verifiedAt)))
      .returning();
    if (!row) throw new Invalid('INVALID_TOKEN', 'This verification link is invalid, used or expired. Ask the workspace\'s admin to send a new one.');
    const verified = await this.markVerified(row, 'mail', null, ctx);
    const [ws] = await this.d.db.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, row.workspaceId));
    return { domain: verified.domain, workspace: ws?.name ?? '' };
  }

  /** For `allin keys rotate`: client secrets re-encrypted under the current key. */
  async rotateKeys(): Promise<{ rotated: number; unreadable: number }> {
    const rows = await this.d.db.select({ workspaceId: ssoConnections.workspaceId, enc: ssoConnections.clientSecretEnc }).from(ssoConnections);
    let rotated = 0;
    let unreadable = 0;
    for (const r of rows) {
      if (!this.d.cipher.isStale(r.enc)) continue;
      let secret: string;
      try {
        secret = this.d.cipher.decrypt(r.enc, secretRow(r.workspaceId));
      } catch {
        unreadable++;
        continue;
      }
      await this.d.db.update(ssoConnections).set({ clientSecretEnc: this.d.cipher.encrypt(secret, secretRow(r.workspaceId)) })
        .where(and(eq(ssoConnections.workspaceId, r.workspaceId), eq(ssoConnections.clientSecretEnc, r.enc)));
      rotated++;
    }
    return { rotated, unreadable };
  }
}
