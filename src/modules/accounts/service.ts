// Connected social accounts: the OAuth connect flow, tokens at rest, refresh, disconnect.
// - `state` is 256-bit random, single-use (atomic get-and-delete in the shared store), expires in 10
//   minutes, and is bound to the user, the workspace, the network, and the browser that started the
//   flow (a nonce in an httpOnly cookie): a link carrying someone else's state connects nothing.
//   While the shared store is unreachable, state is kept in this process's memory: the flow completes
//   when its callback comes back here, and fails with `invalid_state` otherwise (never an error).
// - The PKCE verifier never leaves the server.
// - Tokens are encrypted per row; a refresh token the network does not send again is kept.
// - Refreshes of one account are serialised by a row lock: with rotating refresh tokens, the second
//   worker waits and then uses the first one's result instead of spending the token a second time.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, inArray, lte, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../infra/db/client.ts';
import { keyset, type PageRequest } from '../../infra/db/keyset.ts';
import type { KeyValueStore } from '../../infra/stores/types.ts';
import { LocalFallback } from '../../infra/stores/local-fallback.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { TokenCipher } from '../../infra/crypto/token-cipher.ts';
import { Conflict, DomainError, Invalid, NotFound, Unavailable } from '../../domain/errors.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import { pkcePair } from '../../providers/oauth2.ts';
import { ProviderError, type AccountRef, type ConnectedIdentity, type ProviderId, type TokenSet } from '../../providers/types.ts';
import { audit, type AuditEntry } from '../audit/index.ts';
import { queueMail } from '../mail/index.ts';
import { templates } from '../mail/index.ts';
import { holdWorkspace } from '../workspaces/index.ts';
import { memberships } from '../workspaces/schema.ts';
import { users } from '../auth/schema.ts';
import { socialAccounts } from './schema.ts';
import type { EventEmitter } from '../webhooks/index.ts';

export const STATE_TTL_MS = 10 * 60_000;
/** Refresh a token this long before it expires. */
const REFRESH_AHEAD_MS = 5 * 60_000;
/** By network, then name (social_accounts_list_idx). */
const accountList = keyset('accounts', { provider: [socialAccounts.provider, 'text'], username: [socialAccounts.username, 'text'], id: [socialAccounts.id, 'uuid'] }, 'asc');

type Actor = Pick<AuditEntry, 'actorUserId' | 'actorApiKeyId' | 'ip' | 'userAgent'>;

interface PendingConnect {
  userId: string;
  workspaceId: string;
  provider: ProviderId;
  verifier: string;
  redirectUri: string;
  host?: string;
  reconnectAccountId?: string;
  /** SHA-256 of the nonce in the browser's cookie. */
  binding: string;
  createdAt: number;
}

export type Account = typeof socialAccounts.$inferSelect;

/** What the API shows of an account: never a token. */
export function publicAccount(a: Account) {
  return {
    id: a.id, provider: a.provider, host: a.host || null, externalId: a.externalId, kind: a.kind, username: a.username,
    displayName: a.displayName, avatarUrl: a.avatarUrl, profileUrl: a.profileUrl, status: a.status, statusReason: a.statusReason,
    tokenExpiresAt: a.tokenExpiresAt?.toISOString() ?? null, connectedAt: a.connectedAt.toISOString(),
    lastRefreshedAt: a.lastRefreshedAt?.toISOString() ?? null,
    // This account's own limits where they differ from the network's (a Mastodon instance's).
    limits: (a.data as { limits?: unknown }).limits ?? null,
  };
}

/** Error codes the callback redirects to the app with, one per failure a person can act on. */
export type ConnectError = 'consent_denied' | 'invalid_state' | 'state_not_yours' | 'exchange_failed' | 'network_unavailable'
  | 'different_account' | 'no_accounts' | 'not_allowed';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export class AccountService {
  private readonly states: LocalFallback;

  constructor(private readonly d: {
    db: Db;
    store: KeyValueStore;
    cipher: TokenCipher;
    registry: ProviderRegistry;
    metrics: Metrics;
    log: Logger;
    publicUrl: string;
    /** May this user still connect accounts to this workspace? (membership and accounts.manage) */
    mayManage: (workspaceId: string, userId: string) => Promise<boolean>;
    /** Workspace events (webhooks): told when an account needs reconnecting. */
    events?: EventEmitter;
  }) {
    this.states = new LocalFallback(d.store);
  }

  callbackUrl(provider: string): string {
    return `${this.d.publicUrl}/api/connect/${provider}/callback`;
  }

  private countOauth(provider: string, operation: string, ok: boolean): void {
    this.d.metrics.oauthOperations.labels(provider, operation, ok ? 'ok' : 'error').inc();
  }

  private provider(id: string) {
    if (!this.d.registry.isEnabled(id)) throw new Invalid('UNKNOWN_NETWORK', `"${id}" is not a network this AllIN offers. Offered: ${this.d.registry.enabled().join(', ')}.`);
    return this.d.registry.get(id);
  }

  /** Step 1: where to send the user. Returns the URL and the nonce for the browser's binding cookie. */
  async startConnect(userId: string, workspaceId: string, providerId: string, opts: { host?: string; reconnectAccountId?: string }) {
    const p = this.provider(providerId);
    if (p.meta.connect !== 'oauth2' || !p.authorizationUrl) {
      const what = p.meta.connect === 'bot_token' ? 'a chat and a bot token' : p.meta.connect === 'webhook_url' ? 'a channel\'s webhook URL (as the password)'
        : p.meta.connect === 'secret_key' ? 'its relays (as the identifier) and a secret key (as the password)'
          : p.meta.connect === 'login' ? 'the instance (as the host), a username and a password' : 'a handle and an app password';
      throw new Invalid('USE_CREDENTIALS', `${p.meta.displayName} connects with ${what}: use POST …/accounts/credentials.`);
    }
    if (p.meta.userSuppliedHost && !opts.host) throw new Invalid('VALIDATION_FAILED', `body.host is required for ${p.meta.displayName} (your server, e.g. mastodon.social)`);
    if (opts.reconnectAccountId) {
      const acc = await this.get(workspaceId, opts.reconnectAccountId);
      if (acc.provider !== providerId) throw new Invalid('VALIDATION_FAILED', `This account is on ${acc.provider}, not ${providerId}.`);
    }
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    const { verifier, challenge } = pkcePair();
    const redirectUri = this.callbackUrl(providerId);
    const pending: PendingConnect = {
      userId, workspaceId, provider: providerId as ProviderId, verifier, redirectUri, binding: sha(nonce), createdAt: Date.now(),
      ...(opts.host ? { host: normaliseHost(opts.host) } : {}), ...(opts.reconnectAccountId ? { reconnectAccountId: opts.reconnectAccountId } : {}),
    };
    let authorizationUrl: string;
    try {
      authorizationUrl = await p.authorizationUrl({ redirectUri, state, codeChallenge: challenge, ...(pending.host ? { host: pending.host } : {}) });
      this.countOauth(providerId, 'authorize', true);
    } catch (err) {
      this.countOauth(providerId, 'authorize', false);
      throw networkRefusal(p.meta.displayName, err);
    }
    await this.states.set(`oauth-state:${state}`, JSON.stringify(pending), STATE_TTL_MS);
    return { authorizationUrl, nonce };
  }

  /**
   * Step 2, the public callback: never throws; answers where to send the browser (the app, with either
   * `connected=` or `connect_error=`).
   */
  async completeConnect(providerId: string, query: { code?: string; state?: string; error?: string }, nonce: string | undefined): Promise<string> {
    const back = (params: Record<string, string>) => `${this.d.publicUrl}/accounts?${new URLSearchParams(params).toString()}`;
    const fail = (code: ConnectError, provider = providerId) => {
      this.countOauth(provider, 'exchange', false);
      return back({ connect_error: code, provider });
    };
    // Single use: whatever happens next, this state is gone.
    const raw = query.state ? await this.states.getDel(`oauth-state:${query.state}`) : null;
    if (!raw) return fail('invalid_state');
    const pending = JSON.parse(raw) as PendingConnect;
    if (pending.provider !== providerId || Date.now() - pending.createdAt > STATE_TTL_MS) return fail('invalid_state');
    if (!nonce || !timingSafeEqual(Buffer.from(sha(nonce)), Buffer.from(pending.binding))) return fail('state_not_yours');
    if (query.error) return fail('consent_denied');
    if (!query.code) return fail('invalid_state');
    if (!(await this.d.mayManage(pending.workspaceId, pending.userId))) return fail('not_allowed');

    const p = this.d.registry.get(pending.provider);
    let tokens: TokenSet;
    let identities: ConnectedIdentity[];
    try {
      tokens = await p.exchangeCode!({ code: query.code, redirectUri: pending.redirectUri, codeVerifier: pending.verifier, ...(pending.host ? { host: pending.host } : {}) });
      identities = await p.identities(tokens, pending.host);
    } catch (err) {
      this.d.log.warn({ provider: providerId, err: (err as Error).message }, 'connecting an account failed');
      return fail(err instanceof ProviderError && (err.kind === 'transient' || err.kind === 'rate_limited' || err.kind === 'unknown_outcome') ? 'network_unavailable' : 'exchange_failed');
    }
    if (identities.length === 0) return fail('no_accounts');
    if (pending.reconnectAccountId) {
      const acc = await this.d.db.select().from(socialAccounts).where(eq(socialAccounts.id, pending.reconnectAccountId));
      if (!acc[0] || !identities.some((i) => i.externalId === acc[0]!.externalId)) return fail('different_account');
    }
    const actor = { actorUserId: pending.userId, ip: null, userAgent: null };
    const saved = await this.saveIdentities(pending.workspaceId, pending.provider, pending.host ?? '', tokens, identities, actor);
    this.countOauth(providerId, 'exchange', true);
    return back({ connected: providerId, accounts: saved.map((a) => a.id).join(',') });
  }

  /**
   * Handle + app password networks (Bluesky), chat + bot token ones (Telegram: identifier is the chat,
   * password the token), webhook ones (Discord: the webhook URL is the password; no identifier), and key ones
   * (Nostr: identifier the relays and an optional media server, password the secret key), and login ones
   * (Lemmy: host the instance, identifier the username, password the password, which is used once and not kept).
   */
  async connectWithCredentials(userId: string, workspaceId: string, providerId: string, identifier: string | undefined, password: string, host: string | undefined, actor: Actor) {
    const p = this.provider(providerId);
    if (p.meta.connect === 'oauth2' || !p.signIn) throw new Invalid('USE_OAUTH', `${p.meta.displayName} connects through its own sign-in page: use POST …/accounts/connect.`);
    if (identifier === undefined && p.meta.connect !== 'webhook_url') {
      const what = p.meta.connect === 'bot_token' ? 'the chat' : p.meta.connect === 'secret_key' ? 'the relays to publish to, wss://…, and optionally a media server, https://…' : 'your handle';
      throw new Invalid('VALIDATION_FAILED', `body.identifier is required for ${p.meta.displayName} (${what})`);
    }
    if (p.meta.connect === 'login' && !host) throw new Invalid('VALIDATION_FAILED', `body.host is required for ${p.meta.displayName} (your instance, e.g. lemmy.world)`);
    let signed;
    let identities: ConnectedIdentity[];
    try {
      signed = await p.signIn(identifier ?? '', password, host ? normaliseHost(host) : undefined);
      identities = signed.identities ?? await p.identities(signed.tokens, signed.host);
      this.countOauth(providerId, 'exchange', true);
    } catch (err) {
      this.countOauth(providerId, 'exchange', false);
      if (err instanceof ProviderError && err.kind === 'auth_expired') {
        throw new Invalid('INVALID_CREDENTIALS', p.meta.connect === 'bot_token'
          ? `${p.meta.displayName} refused this bot token: copy the current one from @BotFather.`
          : p.meta.connect === 'webhook_url'
            ? `${p.meta.displayName} does not know this webhook (deleted, or its URL was reset): copy the current URL from the channel's settings, Integrations → Webhooks.`
            : p.meta.connect === 'login'
              ? `${p.meta.displayName} refused this username and password on that instance.`
              : p.meta.connect === 'secret_key'
              ? `This is not a ${p.meta.displayName} secret key: paste the nsec1… key (or its 64 hex characters), not the npub1… public key.`
              : `${p.meta.displayName} refused this handle and app password.`);
      }
      throw networkRefusal(p.meta.displayName, err);
    }
    return (await this.saveIdentities(workspaceId, providerId as ProviderId, signed.host ?? '', signed.tokens, identities, { ...actor, actorUserId: userId })).map(publicAccount);
  }

  private async saveIdentities(workspaceId: string, provider: ProviderId, host: string, userTokens: TokenSet, identities: ConnectedIdentity[], actor: Actor): Promise<Account[]> {
    return this.d.db.transaction(async (tx) => {
      const saved: Account[] = [];
      for (const identity of identities) {
        const tokens = identity.tokens ?? userTokens;
        const [existing] = await tx.select().from(socialAccounts).where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.provider, provider),
          eq(socialAccounts.host, host), eq(socialAccounts.externalId, identity.externalId))).for('update');
        const id = existing?.id ?? randomUUID();
        const profile = {
          kind: identity.kind, username: identity.username, displayName: identity.displayName, avatarUrl: identity.avatarUrl ?? null,
          profileUrl: identity.profileUrl ?? null, data: identity.data ?? {},
        };
        const secrets = {
          accessTokenEnc: this.d.cipher.encrypt(tokens.accessToken, id),
          // A network that does not send the refresh token again keeps the one we have.
          ...(tokens.refreshToken ? { refreshTokenEnc: this.d.cipher.encrypt(tokens.refreshToken, id) } : {}),
          tokenExpiresAt: tokens.expiresAt ?? null,
          ...(tokens.refreshExpiresAt ? { refreshExpiresAt: tokens.refreshExpiresAt } : {}),
          scope: tokens.scope ?? [],
        };
        let row: Account;
        if (existing) {
          [row] = await tx.update(socialAccounts).set({ ...profile, ...secrets, status: 'active', statusReason: null, updatedAt: sql`now()`, connectedAt: sql`now()` })
            .where(eq(socialAccounts.id, id)).returning() as [Account];
        } else {
          [row] = await tx.insert(socialAccounts).values({ id, workspaceId, provider, host, externalId: identity.externalId, ...profile, ...secrets, connectedBy: actor.actorUserId ?? null })
            .returning() as [Account];
        }
        await audit(tx, { action: existing ? 'account.reconnected' : 'account.connected', workspaceId, targetType: 'social_account', targetId: id,
          details: { provider, username: identity.username }, ...actor });
        saved.push(row);
      }
      return saved;
    });
  }

  /** The connected accounts (not the disconnected ones) by network, then name, a page at a time. */
  async list(workspaceId: string, page: PageRequest): Promise<{ items: Account[]; nextCursor: string | null }> {
    const rows = await this.d.db.select({ account: socialAccounts, cursorKey: accountList.fields.cursorKey }).from(socialAccounts)
      .where(and(eq(socialAccounts.workspaceId, workspaceId), ne(socialAccounts.status, 'disconnected'), accountList.startAfter(page)))
      .orderBy(...accountList.orderBy).limit(page.limit + 1);
    const { items, nextCursor } = accountList.page(rows, page.limit);
    return { items: items.map((r) => r.account), nextCursor };
  }

  /**
   * The active accounts of one network identity in every workspace that connected it (a Facebook Page may be
   * connected to several), for what a network pushes about that identity. At most `limit`.
   */
  async activeByIdentity(provider: string, externalId: string, limit = 100): Promise<Account[]> {
    return this.d.db.select().from(socialAccounts)
      .where(and(eq(socialAccounts.provider, provider), eq(socialAccounts.externalId, externalId), eq(socialAccounts.status, 'active')))
      .orderBy(socialAccounts.id).limit(limit);
  }

  async get(workspaceId: string, accountId: string): Promise<Account> {
    const [a] = await this.d.db.select().from(socialAccounts).where(and(eq(socialAccounts.id, accountId), eq(socialAccounts.workspaceId, workspaceId)));
    if (!a) throw new NotFound('NOT_FOUND', 'No such account in this workspace.');
    return a;
  }

  /** Revokes at the network where it can, deletes the tokens, keeps the row (and the history that points at it). */
  async disconnect(workspaceId: string, accountId: string, actor: Actor): Promise<{ revokedAtNetwork: boolean }> {
    const acc = await this.get(workspaceId, accountId);
    let revokedAtNetwork = false;
    if (acc.accessTokenEnc && this.d.registry.isEnabled(acc.provider)) {
      const p = this.d.registry.get(acc.provider as ProviderId);
      if (p.revoke) {
        try {
          await p.revoke(this.ref(acc));
          revokedAtNetwork = true;
          this.countOauth(acc.provider, 'revoke', true);
        } catch (err) {
          // The tokens are deleted here either way; the network forgets them when they expire.
          this.countOauth(acc.provider, 'revoke', false);
          this.d.log.warn({ provider: acc.provider, err: (err as Error).message }, 'revoking at the network failed; tokens deleted anyway');
        }
      }
    }
    await this.d.db.transaction(async (tx) => {
      // The workspace, then the account (see workspaces/hold.ts); a refresh holding the row finishes first.
      await holdWorkspace(tx, workspaceId);
      const [gone] = await tx.update(socialAccounts).set({ status: 'disconnected', statusReason: null, accessTokenEnc: null, refreshTokenEnc: null, tokenExpiresAt: null, updatedAt: sql`now()` })
        .where(and(eq(socialAccounts.id, accountId), eq(socialAccounts.workspaceId, workspaceId))).returning({ id: socialAccounts.id });
      if (!gone) throw new NotFound('NOT_FOUND', 'No such account in this workspace.');
      await audit(tx, { action: 'account.disconnected', workspaceId, targetType: 'social_account', targetId: accountId,
        details: { provider: acc.provider, username: acc.username, revokedAtNetwork }, ...actor });
    });
    return { revokedAtNetwork };
  }

  /** The adapter's view of an account, tokens decrypted. */
  ref(acc: Account): AccountRef {
    if (!acc.accessTokenEnc) throw new Conflict('ACCOUNT_DISCONNECTED', `The ${acc.provider} account ${acc.username} is disconnected; reconnect it.`);
    return {
      externalId: acc.externalId, username: acc.username, data: acc.data, ...(acc.host ? { host: acc.host } : {}),
      tokens: {
        accessToken: this.d.cipher.decrypt(acc.accessTokenEnc, acc.id),
        ...(acc.refreshTokenEnc ? { refreshToken: this.d.cipher.decrypt(acc.refreshTokenEnc, acc.id) } : {}),
        ...(acc.tokenExpiresAt ? { expiresAt: acc.tokenExpiresAt } : {}),
      },
    };
  }

  /**
   * Runs `fn` as the account: refreshes a token about to expire first, and on an auth_expired answer
   * refreshes once and tries once more. If the network still refuses, the account needs reconnecting.
   */
  async withAccount<T>(accountId: string, fn: (ref: AccountRef) => Promise<T>): Promise<T> {
    const [acc] = await this.d.db.select().from(socialAccounts).where(eq(socialAccounts.id, accountId));
    if (!acc) throw new NotFound('NOT_FOUND', 'No such account.');
    return this.withAccountRow(acc, fn);
  }

  /** withAccount for a row the caller has just read (saves reading it again). */
  async withAccountRow<T>(row: Account, fn: (ref: AccountRef) => Promise<T>): Promise<T> {
    let acc = row;
    if (acc.status !== 'active') throw new ProviderError('auth_expired', `The ${acc.provider} account ${acc.username} needs reconnecting`, { provider: acc.provider, reason: acc.status });
    if (acc.tokenExpiresAt && acc.tokenExpiresAt.getTime() - Date.now() < REFRESH_AHEAD_MS && acc.refreshTokenEnc) {
      acc = await this.refresh(acc.id, acc.accessTokenEnc);
    }
    try {
      return await fn(this.ref(acc));
    } catch (err) {
      if (!(err instanceof ProviderError) || err.kind !== 'auth_expired') throw err;
      const fresh = await this.refresh(acc.id, acc.accessTokenEnc);
      try {
        return await fn(this.ref(fresh));
      } catch (again) {
        if (again instanceof ProviderError && again.kind === 'auth_expired') await this.markNeedsReconnect(fresh, again.message);
        throw again;
      }
    }
  }

  /**
   * Refreshes under the account's row lock. `seenAccess` is the token the caller holds: if the row has a
   * different one, another worker refreshed while we waited, and its result is used as it is.
   */
  async refresh(accountId: string, seenAccess: string | null): Promise<Account> {
    const outcome = await this.d.db.transaction(async (tx): Promise<{ row: Account } | { failed: Account; err: unknown }> => {
      const [acc] = await tx.select().from(socialAccounts).where(eq(socialAccounts.id, accountId)).for('update');
      if (!acc) throw new NotFound('NOT_FOUND', 'No such account.');
      if (acc.accessTokenEnc !== seenAccess && acc.status === 'active') return { row: acc };
      const p = this.d.registry.get(acc.provider as ProviderId);
      let tokens: TokenSet;
      try {
        tokens = await p.refresh(this.ref(acc));
        this.countOauth(acc.provider, 'refresh', true);
      } catch (err) {
        this.countOauth(acc.provider, 'refresh', false);
        return { failed: acc, err };
      }
      const [row] = await tx.update(socialAccounts).set({
        accessTokenEnc: this.d.cipher.encrypt(tokens.accessToken, acc.id),
        ...(tokens.refreshToken ? { refreshTokenEnc: this.d.cipher.encrypt(tokens.refreshToken, acc.id) } : {}),
        tokenExpiresAt: tokens.expiresAt ?? null,
        ...(tokens.refreshExpiresAt ? { refreshExpiresAt: tokens.refreshExpiresAt } : {}),
        lastRefreshedAt: sql`now()`, updatedAt: sql`now()`,
      }).where(eq(socialAccounts.id, acc.id)).returning();
      return { row: row! };
    });
    if ('row' in outcome) return outcome.row as Account;
    // Outside the lock's transaction, so the status change is committed on its own.
    const { failed, err } = outcome;
    if (err instanceof ProviderError && err.kind === 'auth_expired') await this.markNeedsReconnect(failed, err.message);
    throw err;
  }

  /** The account stops publishing until reconnected; the workspace's owners and admins are told. */
  async markNeedsReconnect(acc: Account, reason: string, db: DbOrTx = this.d.db): Promise<void> {
    const changed = await db.update(socialAccounts).set({ status: 'needs_reconnect', statusReason: reason.slice(0, 300), updatedAt: sql`now()` })
      .where(and(eq(socialAccounts.id, acc.id), eq(socialAccounts.status, 'active'))).returning({ id: socialAccounts.id });
    if (changed.length === 0) return;
    await audit(db, { action: 'account.needs_reconnect', workspaceId: acc.workspaceId, targetType: 'social_account', targetId: acc.id,
      details: { provider: acc.provider, username: acc.username, reason: reason.slice(0, 300) } });
    await this.d.events?.emit(db, acc.workspaceId, 'account.needs_reconnect', { accountId: acc.id, provider: acc.provider, username: acc.username, reason: reason.slice(0, 300) });
    const admins = await db.select({ email: users.email, name: users.name }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.workspaceId, acc.workspaceId), inArray(memberships.role, ['owner', 'admin'])));
    for (const a of admins) {
      await queueMail(db, a.email, templates.accountNeedsReconnect(a.name, acc.provider, acc.username, `${this.d.publicUrl}/accounts`));
    }
  }

  /** The token-refresh job: every active account whose token expires soon. Returns how many it refreshed. */
  async refreshDue(): Promise<{ refreshed: number; failed: number }> {
    const due = await this.d.db.select().from(socialAccounts).where(and(eq(socialAccounts.status, 'active'),
      lte(socialAccounts.tokenExpiresAt, new Date(Date.now() + REFRESH_AHEAD_MS * 3)), sql`${socialAccounts.refreshTokenEnc} is not null`));
    let refreshed = 0;
    let failed = 0;
    for (const acc of due) {
      if (!this.d.registry.isEnabled(acc.provider)) continue;
      try {
        await this.refresh(acc.id, acc.accessTokenEnc);
        refreshed++;
      } catch (err) {
        failed++;
        this.d.log.warn({ accountId: acc.id, provider: acc.provider, err: (err as Error).message }, 'token refresh failed');
      }
    }
    return { refreshed, failed };
  }

  /**
   * `allin keys rotate`: re-encrypts every token under the current key. A row that no key can decrypt
   * (its key was dropped, or it was tampered with) is marked needs_reconnect rather than stopping the run.
   */
  async rotateKeys(): Promise<{ rotated: number; unreadable: number }> {
    const rows = await this.d.db.select().from(socialAccounts);
    let rotated = 0;
    let unreadable = 0;
    for (const r of rows) {
      const stale = [r.accessTokenEnc, r.refreshTokenEnc].some((c) => c && this.d.cipher.isStale(c));
      if (!stale) continue;
      try {
        const again = (c: string | null) => (c ? this.d.cipher.encrypt(this.d.cipher.decrypt(c, r.id), r.id) : c);
        await this.d.db.update(socialAccounts).set({ accessTokenEnc: again(r.accessTokenEnc), refreshTokenEnc: again(r.refreshTokenEnc) })
          .where(and(eq(socialAccounts.id, r.id), sql`${socialAccounts.accessTokenEnc} is not distinct from ${r.accessTokenEnc}`));
        rotated++;
      } catch (err) {
        unreadable++;
        await this.markNeedsReconnect(r, `stored tokens cannot be decrypted (${(err as Error).message})`);
      }
    }
    return { rotated, unreadable };
  }
}

function normaliseHost(host: string): string {
  const h = host.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(h)) throw new Invalid('VALIDATION_FAILED', 'body.host must be a host name such as mastodon.social');
  return h;
}

function networkRefusal(name: string, err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof ProviderError) {
    if (err.details.reason === 'blocked_host') return new Invalid('HOST_NOT_ALLOWED', `${err.message}`);
    if (err.kind === 'permanent') return new Invalid('NETWORK_REFUSED', `${name} refused: ${err.details.reason ?? err.message}`);
  }
  // Deliberate and documented: the network, not AllIN, is unavailable; Retry-After says when to try again.
  return new Unavailable('NETWORK_UNAVAILABLE', `${name} could not be reached; try again in a moment.`, 30);
}
