// Shared by the adapter tests: a simulator, an HttpClient with metrics, and an OAuth round trip that
// follows the simulator's consent redirect the way a browser would.
import { startSimulator, type Simulator } from '../../tools/provider-sim/server.ts';
import { HttpClient } from '../../src/infra/http/client.ts';
import { createMetrics, type Metrics } from '../../src/infra/metrics.ts';
import { pkcePair } from '../../src/providers/oauth2.ts';
import type { AccountRef, InboxItem, InboxPage, Provider, TokenSet } from '../../src/providers/types.ts';
import { quietLogger } from '../support/env.ts';

export interface Harness {
  sim: Simulator;
  http: HttpClient;
  metrics: Metrics;
  stop(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const sim = await startSimulator();
  const metrics = createMetrics({ enabled: true });
  // Timeouts short enough for "accept, then time out" tests, long enough for a loaded CI machine.
  const http = new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 4000, maxRetries: 1 });
  return { sim, http, metrics, stop: async () => { await http.close(); await sim.stop(); } };
}

export const REDIRECT = 'http://127.0.0.1:9/api/connect/callback';

/** Authorise as a browser would: open the authorization URL, take the code from the redirect. */
export async function authorize(p: Provider, opts: { host?: string; loginHint?: string } = {}): Promise<{ tokens: TokenSet; redirect: URL }> {
  const { verifier, challenge } = pkcePair();
  let url = await p.authorizationUrl!({ redirectUri: REDIRECT, state: 'state-123', codeChallenge: challenge, ...(opts.host ? { host: opts.host } : {}) });
  if (opts.loginHint) url += `&login_hint=${encodeURIComponent(opts.loginHint)}`;
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (!location) throw new Error(`no redirect from ${url}: ${res.status} ${await res.text()}`);
  const redirect = new URL(location);
  const code = redirect.searchParams.get('code');
  if (!code) return { tokens: { accessToken: '' }, redirect };
  const tokens = await p.exchangeCode!({ code, redirectUri: REDIRECT, codeVerifier: verifier, ...(opts.host ? { host: opts.host } : {}) });
  return { tokens, redirect };
}

/** An account connected through the adapter's OAuth round trip, as the accounts module would store it. */
export async function connectedAccount(p: Provider, loginHint: string): Promise<AccountRef> {
  const { tokens } = await authorize(p, { loginHint });
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
}

/** One sweep of an inbox source from `cursor`: page after page while the network says there is more (at most 50). */
export async function sweepInbox(p: Provider, a: AccountRef, source: string, cursor: string | null): Promise<{ items: InboxItem[]; cursor: string | null; pages: number }> {
  const items: InboxItem[] = [];
  let page: InboxPage;
  let pages = 0;
  do {
    page = await p.collectInbox!(a, { source, cursor });
    items.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (page.more && pages < 50);
  return { items, cursor, pages };
}
