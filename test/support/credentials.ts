// What the tests of the networks connected with a pasted credential (Discord's webhook URL, Telegram's bot
// token) or through OAuth (Reddit, Slack) share: through the API, an app on a simulator of its own with a
// signed-in owner, the connect call or OAuth round trip and the wait for a post; at the adapter, the signed-in account, small media, and the probe that drives
// every kind of call and failure so a test can look for the secret in what came out.
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { startSimulator, type Simulator } from '../../tools/provider-sim/server.ts';
import type { NetworkState } from '../../tools/provider-sim/core.ts';
import { socialAccounts } from '../../src/modules/accounts/schema.ts';
import { ProviderError, type AccountRef, type MediaItem, type Provider } from '../../src/providers/types.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import type { Logger } from '../../src/infra/logger.ts';
import { startTestApp, type TestApp } from './app.ts';
import { capturingLogger, quietLogger } from './env.ts';
import { eventually } from './eventually.ts';
import { greyPng, newWorkspace, person, type Person } from './fixtures.ts';
import type { Json } from './http.ts';

export interface CredentialsApp {
  sim: Simulator;
  t: TestApp;
  owner: Person;
  ws: string;
  /** POST …/accounts/credentials for this network; `body` is the form (identifier, password). */
  connect(body: Record<string, unknown>, token?: string, workspace?: string): Promise<{ status: number; body: Json }>;
  /** The OAuth round trip for this network (start, the simulator's consent, the callback with the state cookie); the connected account ids. */
  connectOAuth(token?: string, workspace?: string): Promise<string>;
  /** A post published at once on `accountId`, settled (published, failed or unknown); its target. */
  postNow(accountId: string, text: string): Promise<Json>;
  /** `POST …/posts` with `body` (targets, options) published at once; its first target, settled. */
  publishNow(body: Record<string, unknown>): Promise<Json>;
  waitForTarget(postId: string): Promise<Json>;
  stop(): Promise<void>;
}

/**
 * The API and worker in one process, `env(sim)` pointing it at the simulator; `setup` makes the network's
 * side (a webhook, a bot and its channel) before the app starts.
 */
export async function credentialsApp(provider: string, opts: { env: (sim: Simulator) => Record<string, string>; setup?: (sim: Simulator) => void; log?: Logger }): Promise<CredentialsApp> {
  const sim = await startSimulator();
  opts.setup?.(sim);
  const t = await startTestApp(opts.env(sim), 'start', {}, opts.log ?? quietLogger());
  const owner = await person(t);
  const ws = await newWorkspace(t, owner, provider);
  const waitForTarget = (postId: string) => eventually(async () => {
    const r = await t.call('GET', `/api/workspaces/${ws}/posts/${postId}`, { token: owner.token });
    const target = r.body.targets?.[0];
    return target && ['published', 'failed', 'unknown'].includes(target.state) ? target : undefined;
  }, 30_000, `post ${postId} to settle`);
  const publishNow = async (body: Record<string, unknown>) => {
    const r = await t.call('POST', `/api/workspaces/${ws}/posts`, { token: owner.token, body: { schedule: { now: true }, ...body } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return waitForTarget(r.body.id);
  };
  return {
    sim, t, owner, ws, waitForTarget,
    connect: (body, token = owner.token, workspace = ws) =>
      t.call('POST', `/api/workspaces/${workspace}/accounts/credentials`, { token, body: { provider, ...body } }),
    async connectOAuth(token = owner.token, workspace = ws) {
      const start = await t.call('POST', `/api/workspaces/${workspace}/accounts/connect`, { token, body: { provider } });
      assert.equal(start.status, 200, JSON.stringify(start.body));
      const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
      const consent = await fetch(start.body.authorizationUrl, { redirect: 'manual' });
      const back = new URL(consent.headers.get('location')!);
      const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
      const done = new URL(res.headers.get('location')!);
      assert.equal(done.searchParams.get('connected'), provider, done.toString());
      return done.searchParams.get('accounts')!;
    },
    postNow: (accountId, text) => publishNow({ text, targets: [{ accountId }] }),
    publishNow,
    async stop() {
      await t.stop();
      await sim.stop();
    },
  };
}

/** The attack: a member of another workspace can neither see, use nor disconnect the account, nor connect into this workspace. */
export async function assertStrangerLockedOut(n: CredentialsApp, accountId: string, connectBody: Record<string, unknown>): Promise<void> {
  const { t, ws } = n;
  const stranger = await person(t);
  const theirs = await newWorkspace(t, stranger, 'Elsewhere');
  assert.equal((await t.call('GET', `/api/workspaces/${ws}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('GET', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await t.call('DELETE', `/api/workspaces/${theirs}/accounts/${accountId}`, { token: stranger.token })).status, 404);
  assert.equal((await n.connect(connectBody, stranger.token, ws)).status, 404);
  const post = await t.call('POST', `/api/workspaces/${theirs}/posts`, { token: stranger.token, body: { text: 'borrowed', targets: [{ accountId }], schedule: { now: true } } });
  assert.ok([400, 404].includes(post.status), `using another workspace's account: ${post.status}`);
}

/** Disconnects the account; asserts nothing was asked of the network, the token is forgotten and the row kept. */
export async function assertDisconnectForgets(n: CredentialsApp, network: string, accountId: string, why: string): Promise<void> {
  const before = n.sim.state(network).log.length;
  const r = await n.t.call('DELETE', `/api/workspaces/${n.ws}/accounts/${accountId}`, { token: n.owner.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.revokedAtNetwork, false);
  assert.equal(n.sim.state(network).log.length, before, why);
  const [row] = await n.t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, accountId));
  assert.equal(row!.accessTokenEnc, null);
  assert.equal(row!.status, 'disconnected');
}

/** The stored row of an account: its token must be encrypted at rest and not hold `secret`. */
export async function assertStoredEncrypted(t: TestApp, accountId: string, secret: string): Promise<void> {
  const [row] = await t.running.services.db.select().from(socialAccounts).where(eq(socialAccounts.id, accountId));
  assert.match(row!.accessTokenEnc!, /^v1\./, 'encrypted at rest');
  assert.ok(!row!.accessTokenEnc!.includes(secret));
}

// At the adapter.

export const isKind = (kind: string, reason?: RegExp, status?: number) => (e: unknown) =>
  e instanceof ProviderError && e.kind === kind && (!reason || reason.test(e.details.reason ?? '')) && (status === undefined || e.details.status === status);

export const png = (extra: Partial<MediaItem> = {}): MediaItem => {
  const b = greyPng(2, 2);
  return { mimeType: 'image/png', bytes: b.length, width: 2, height: 2, read: async () => b, ...extra };
};

export const mp4 = (): MediaItem => {
  const b = Buffer.from('00000018667479706d703432', 'hex');
  return { mimeType: 'video/mp4', bytes: b.length, read: async () => b };
};

/** Signs in with the pasted credential; the first account it names, as the accounts module would keep it. */
export async function signedIn(p: Provider, identifier: string, secret: string): Promise<AccountRef> {
  const signed = await p.signIn!(identifier, secret);
  const id = signed.identities![0]!;
  return { externalId: id.externalId, username: id.username, tokens: signed.tokens, data: id.data ?? {} };
}

/**
 * Drives an adapter (made by `create` on an HTTP client of its own that logs at debug and counts metrics)
 * through a success, an accepted-then-hung call, a 429, a reconciliation, `more` (the network's own
 * refusals) and a connection error. Returns what could leak: the error texts, every log line and the
 * metrics page, and the operations the metrics were labelled with.
 */
export async function secretProbe(opts: {
  provider: string; state: NetworkState; apiBase: string;
  create: (http: HttpClient, apiBase: string) => Provider;
  account: (p: Provider) => Promise<AccountRef>;
  more?: (p: Provider, errors: string[]) => Promise<void>;
}): Promise<{ errors: string[]; texts: string[]; operations: string[] }> {
  const { log, lines } = capturingLogger('debug');
  const metrics = createMetrics({ enabled: true });
  const http = new HttpClient({ metrics, log, allowPrivateHosts: true, defaultTimeoutMs: 1500, maxRetries: 1 });
  const p = opts.create(http, opts.apiBase);
  const s = opts.state;
  const errors: string[] = [];
  try {
    const a = await opts.account(p);
    await p.publish(a, { text: 'hello', media: [png()], marker: 'secret-1' });
    s.knobs.acceptThenHangNext = 1;
    await p.publish(a, { text: 'hang', media: [], marker: 'secret-2' }).catch((e: Error) => errors.push(e.message));
    s.knobs.rateLimitNext = 1;
    await p.publish(a, { text: 'limited', media: [], marker: 'secret-3' }).catch((e: Error) => errors.push(e.message));
    await p.findByMarker(a, 'secret-2', new Date(Date.now() - 60_000)).catch((e: Error) => errors.push(e.message));
    await opts.more?.(p, errors);
    // Nothing listens on port 9: a connection error.
    const dead = opts.create(http, 'http://127.0.0.1:9');
    await dead.publish(a, { text: 'nowhere', media: [], marker: 'secret-4' }).catch((e: Error) => errors.push(e.message));
  } finally {
    await http.close();
  }
  const operations = [...new Set((await metrics.socialApiCalls.get()).values.filter((v) => v.labels.provider === opts.provider).map((v) => String(v.labels.operation)))].sort();
  return { errors, texts: [...errors, JSON.stringify(lines()), await metrics.registry.metrics()], operations };
}
