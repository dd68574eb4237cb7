// Connecting Sandbox accounts through the real OAuth round trip, as a browser does, and turning the
// network simulator's knobs.
import assert from 'node:assert/strict';
import type { Json } from './http.ts';

export interface ApiBase {
  url: string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: Json; headers: Headers }>;
}

/** Connects the simulator's user `simUser` to the workspace; returns the social account id. */
export async function connectSandbox(t: ApiBase, token: string, workspaceId: string, simUser = 'u1'): Promise<string> {
  const start = await t.call('POST', `/api/workspaces/${workspaceId}/accounts/connect`, { token, body: { provider: 'sandbox' } });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const consent = await fetch(`${start.body.authorizationUrl}&login_hint=${encodeURIComponent(simUser)}`, { redirect: 'manual' });
  const back = new URL(consent.headers.get('location')!);
  const res = await fetch(`${t.url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie } });
  const done = new URL(res.headers.get('location')!);
  assert.equal(done.searchParams.get('connected'), 'sandbox', done.toString());
  return done.searchParams.get('accounts')!.split(',')[0]!;
}

export async function simKnobs(simulatorUrl: string, network: string, knobs: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${simulatorUrl}/_sim/${network}/knobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs) });
  assert.equal(r.status, 200);
}

export async function simPosts(simulatorUrl: string, network = 'sandbox'): Promise<{ id: string; text: string; key?: string; replyTo?: string; userId: string }[]> {
  const r = await fetch(`${simulatorUrl}/_sim/${network}/posts`);
  const body = (await r.json()) as { posts: { id: string; text: string; key?: string; replyTo?: string; userId: string }[] };
  return body.posts;
}

// The poller lives in its own file; re-exported for the files that import it from here.
export { eventually } from './eventually.ts';

/** A comment, reply or mention made on the simulated network (tools/provider-sim/inbox.ts); returns the item. */
export async function simSay(simulatorUrl: string, item: { user: string; text: string; kind?: 'comment' | 'mention'; postId?: string; parentId?: string; lang?: string; createdAt?: string; author?: { id?: string; username?: string; name?: string } }, network = 'sandbox'): Promise<{ id: string; seq: number }> {
  const r = await fetch(`${simulatorUrl}/_sim/${network}/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(item) });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()) as { id: string; seq: number };
}

/** Edits or hides (PATCH) or deletes (DELETE) an item of the simulated network's inbox. */
export async function simChange(simulatorUrl: string, id: string, change: { text?: string; hidden?: boolean } | 'delete', network = 'sandbox'): Promise<void> {
  const r = await fetch(`${simulatorUrl}/_sim/${network}/inbox/${id}`, change === 'delete'
    ? { method: 'DELETE' }
    : { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) });
  assert.equal(r.status, 200, await r.clone().text());
}
