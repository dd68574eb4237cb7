// The workspace scope: every route under /api/workspaces/:workspaceId must pass a workspace gate (the
// membership check) or the server does not start, and ids in its path are lowered before the gate runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type preHandlerAsyncHookHandler } from 'fastify';
import { workspaceScope } from '../../src/modules/workspaces/scope.ts';

const gates = new WeakSet<object>();
const gate = (seen: string[]): preHandlerAsyncHookHandler => {
  const g: preHandlerAsyncHookHandler = async (req) => {
    seen.push((req.params as { workspaceId: string }).workspaceId);
  };
  gates.add(g);
  return g;
};
const isGate = (h: unknown) => typeof h === 'function' && gates.has(h);

test('a route in the workspace scope without a gate stops the server from starting, naming the route', async () => {
  const app = Fastify();
  await assert.rejects(workspaceScope(app, isGate, async (scope) => {
    scope.get('/secrets', async () => ({ leaked: true }));
  }), /GET \/api\/workspaces\/:workspaceId\/secrets: a workspace route needs a workspaceAccess\(permission\) gate/);
  await app.close();
});

test('a path that repeats the prefix is refused, with the relative path to give', async () => {
  const app = Fastify();
  await assert.rejects(workspaceScope(app, isGate, async (scope) => {
    scope.get('/api/workspaces/:workspaceId/posts', { preHandler: gate([]) }, async () => ({}));
  }), /relative to \/api\/workspaces\/:workspaceId \(e\.g\. '\/posts'\)/);
  await app.close();
});

test('gated routes answer under the prefix, with the workspace id lowered before the gate', async () => {
  const app = Fastify();
  const seen: string[] = [];
  await workspaceScope(app, isGate, async (scope) => {
    scope.get('', { preHandler: gate(seen) }, async () => ({ workspace: true }));
    scope.get('/things', { preHandler: [gate(seen)] }, async () => ({ things: [] }));
  });
  const id = '0F8FAD5B-D9CB-469F-A165-70867728950E';
  assert.deepEqual((await app.inject({ url: `/api/workspaces/${id}` })).json(), { workspace: true });
  assert.deepEqual((await app.inject({ url: `/api/workspaces/${id}/things` })).json(), { things: [] });
  assert.deepEqual(seen, [id.toLowerCase(), id.toLowerCase()]);
  await app.close();
});
