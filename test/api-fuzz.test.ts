// A property-based fuzz of the running API, driven by its own /openapi.json: every operation gets valid
// and hostile path parameters, query strings, bodies and credentials, with real ids harvested from the
// API's own answers so requests reach the code behind validation. For every answer it asserts:
//   - no 5xx (a documented 503 with Retry-After is deliberate and allowed),
//   - the status is one the document lists for the operation, and the body matches that status's schema,
//   - an operation that declares `security` refuses missing and forged credentials with 401.
// Seeded (FUZZ_SEED reproduces a run) and bounded (FUZZ_RUNS per operation, FUZZ_SECONDS in all); a
// failure prints a curl line that reproduces it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startTestApp, type TestApp } from './support/app.ts';
import { connectSandbox, eventually, simKnobs, simSay } from './support/social.ts';
import { greyPng, member, newWorkspace, ok, person, type Person } from './support/fixtures.ts';
import { SchemaArbitraries, hostileString, type Schema } from './support/schema-arbitrary.ts';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
const BUDGET_MS = Number(process.env.FUZZ_SECONDS ?? 90) * 1000;

interface Operation { method: string; path: string; op: Record<string, unknown> }
interface Fixture {
  owner: Person; apiKey: string;
  ids: Record<string, string>;
}
type Cred = 'user' | 'apikey' | 'none' | 'forged';
interface Req { cred: Cred; path: Record<string, string>; query: Record<string, string>; body?: { json?: unknown; raw?: string } }

let t: TestApp;
let doc: { paths: Record<string, Record<string, Record<string, unknown>>>; components?: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, unknown> } };
let arbs: SchemaArbitraries;
let fixture: Fixture;
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats.default(ajv);
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

before(async () => {
  t = await startTestApp({}, 'start');
  doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as typeof doc;
  arbs = new SchemaArbitraries(doc.components?.schemas ?? {});
  fixture = await buildFixture();
  console.log(`api fuzz: seed ${SEED} (FUZZ_SEED=${SEED} reproduces it), ${RUNS} runs per operation`);
});
after(async () => { await t?.stop(); });

/** A workspace with one of everything, so path parameters can name real resources. */
async function buildFixture(): Promise<Fixture> {
  const owner = await person(t);
  const ws = await newWorkspace(t, owner, 'Fuzz');
  const accountId = await connectSandbox(t, owner.token, ws);
  const form = new FormData();
  form.append('file', new Blob([greyPng(8, 8)], { type: 'image/png' }), 'grey.png');
  const mediaRes = await fetch(`${t.url}/api/workspaces/${ws}/media`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` }, body: form });
  assert.equal(mediaRes.status, 201);
  const mediaId = ((await mediaRes.json()) as { id: string }).id;
  const post = await ok(t, 'POST', `/api/workspaces/${ws}/posts`, owner.token, { text: 'Fuzz fixture', mediaIds: [mediaId], targets: [{ accountId }] }, 201);
  const { webhook } = await ok(t, 'POST', `/api/workspaces/${ws}/webhooks`, owner.token, { url: 'https://fuzz-hook.invalid/in', events: ['post.published'] }, 201);
  await ok(t, 'POST', `/api/workspaces/${ws}/webhooks/${webhook.id}/ping`, owner.token, {});
  const deliveries = await ok(t, 'GET', `/api/workspaces/${ws}/webhooks/${webhook.id}/deliveries`, owner.token);
  const key = await ok(t, 'POST', `/api/workspaces/${ws}/api-keys`, owner.token, { name: 'fuzz', scopes: ['read', 'write', 'admin'] }, 201);
  const editor = await member(t, ws, owner, 'editor');
  const invitation = await ok(t, 'POST', `/api/workspaces/${ws}/invitations`, owner.token, { email: `pending-${Date.now()}@example.com`, role: 'viewer' }, 201);
  const sessions = await ok(t, 'GET', '/api/auth/sessions', owner.token);
  // A conversation in the inbox, collected by the worker from a comment on the Sandbox network.
  // The Sandbox's crowd (comments, edits and deletions it makes up on each read) is kept quiet: it could delete
  // the comment the fixture answers, and it is not what this test is about.
  const simUser = `fuzz-${Date.now()}`;
  await simKnobs(t.running.simulatorUrl!, 'sandbox', { inboxRatePerMinute: 0 });
  const inboxAccount = await connectSandbox(t, owner.token, ws, simUser);
  await simSay(t.running.simulatorUrl!, { user: simUser, postId: 'fuzz-post', text: 'A comment to fuzz?' });
  await t.running.services.inbox.scheduler.run();
  const conversation = await eventually(async () => (await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations?accountId=${inboxAccount}&q=fuzz`, owner.token)).conversations[0], 30_000, 'a collected conversation');
  const note = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/conversations/${conversation.id}/notes`, owner.token, { text: 'fuzz note' }, 201);
  const label = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/labels`, owner.token, { name: `fuzz-${Date.now()}` }, 201);
  const savedReply = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/saved-replies`, owner.token, { name: `fuzz-${Date.now()}`, text: 'Hi {author_name}' }, 201);
  const { messages } = await ok(t, 'GET', `/api/workspaces/${ws}/inbox/conversations/${conversation.id}`, owner.token);
  const comment = (messages as { id: string; text: string }[]).find((m) => m.text === 'A comment to fuzz?')!;
  const reply = await ok(t, 'POST', `/api/workspaces/${ws}/inbox/conversations/${conversation.id}/replies`, owner.token, { messageId: comment.id, text: 'fuzz reply' }, 202);
  return {
    owner,
    apiKey: key.key,
    ids: {
      workspaceId: ws, accountId, mediaId, postId: post.id, targetId: post.targets[0].id,
      webhookId: webhook.id, deliveryId: deliveries.deliveries[0].id, keyId: key.id,
      userId: editor.id, invitationId: invitation.id, sessionId: sessions.sessions[0].id, provider: 'sandbox',
      conversationId: conversation.id, noteId: note.id, labelId: label.id, savedReplyId: savedReply.id, replyId: reply.id,
    },
  };
}

/** Rebuilds the fixture when an earlier operation signed its owner out or deleted its workspace. */
async function freshFixture(): Promise<void> {
  const me = await t.call('GET', '/api/auth/me', { token: fixture.owner.token });
  const ws = me.status === 200 ? await t.call('GET', `/api/workspaces/${fixture.ids.workspaceId}`, { token: fixture.owner.token }) : me;
  if (ws.status !== 200) fixture = await buildFixture();
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) out.push({ method: method.toUpperCase(), path, op });
  }
  // Operations that end the caller's session or delete its workspace go last, so they cost one rebuild each.
  const ending = (o: Operation) => /logout|\/auth\/me$|\/auth\/sessions\/|\/auth\/password|transfer-ownership/.test(o.path) || (o.method === 'DELETE' && o.path === '/api/workspaces/{workspaceId}');
  return [...out.filter((o) => !ending(o)), ...out.filter(ending)];
}

function deref(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(deref);
  if (schema && typeof schema === 'object') {
    const s = schema as Record<string, unknown>;
    if (typeof s.$ref === 'string') return deref(doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {});
    return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, deref(v)]));
  }
  return schema;
}

function parameters(o: Operation): { name: string; in: string; required?: boolean; schema?: Schema }[] {
  return (o.op.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: Schema }[];
}

function requestArb(o: Operation): fc.Arbitrary<Req> {
  const params = parameters(o);
  const path: Record<string, fc.Arbitrary<string>> = {};
  for (const p of params.filter((x) => x.in === 'path')) {
    const real = fixture.ids[p.name];
    path[p.name] = fc.oneof(
      { weight: 6, arbitrary: fc.constant(real ?? 'x') },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: hostileString.map(escapeSegment).filter((s) => s.length > 0) },
      { weight: 1, arbitrary: fc.constantFrom('%C0%80', '%', '%2e%2e', '%FF') },
    );
  }
  const query: Record<string, fc.Arbitrary<string | undefined>> = {};
  for (const p of params.filter((x) => x.in === 'query')) {
    const valid = arbs.valid(p.schema ?? {}, 0, p.name).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    query[p.name] = fc.option(fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostileString }), { nil: undefined });
  }
  const content = ((o.op.requestBody as Record<string, unknown> | undefined)?.content ?? {}) as Record<string, { schema?: Schema }>;
  const jsonSchema = content['application/json']?.schema;
  const body: fc.Arbitrary<Req['body']> = jsonSchema
    ? fc.oneof(
      { weight: 4, arbitrary: arbs.valid(jsonSchema).map((json) => ({ json })) },
      { weight: 3, arbitrary: arbs.hostile(jsonSchema).map((json) => ({ json })) },
      { weight: 1, arbitrary: fc.constantFrom('{', '{"limit":1e400}', '[1e400]', '"x"', 'null', '['.repeat(2000), '{"__proto__":{"admin":true}}').map((raw) => ({ raw })) },
    )
    : fc.constant(undefined);
  return fc.record({
    cred: fc.constantFrom<Cred>('user', 'user', 'user', 'apikey', 'none', 'forged'),
    path: fc.record(path),
    query: fc.record(query).map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as Record<string, string>),
    body,
  });
}

function templateOf(o: Operation): RegExp {
  return new RegExp(`^${o.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}$`);
}

/** A path segment as a client would send it; a lone surrogate (which has no UTF-8 form) as the bytes a careless client sends. */
function escapeSegment(s: string): string {
  try { return encodeURIComponent(s); } catch { return '%ED%A0%80'; }
}

function urlOf(o: Operation, r: Req): string {
  const path = o.path.replace(/\{(\w+)\}/g, (_, name: string) => r.path[name] ?? 'x');
  const qs = new URLSearchParams(r.query).toString();
  return `${t.url}${path}${qs ? `?${qs}` : ''}`;
}

function headersOf(r: Req): Record<string, string> {
  const h: Record<string, string> = {};
  if (r.cred === 'user') h.authorization = `Bearer ${fixture.owner.token}`;
  if (r.cred === 'apikey') h.authorization = `Bearer ${fixture.apiKey}`;
  // A token with its signature bent: well-formed, signed by nobody.
  if (r.cred === 'forged') h.authorization = `Bearer ${fixture.owner.token.slice(0, -6)}AAAAAA`;
  if (r.body) h['content-type'] = 'application/json';
  return h;
}

function curl(method: string, url: string, headers: Record<string, string>, body?: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return ['curl', '-i', '-X', method, q(url), ...Object.entries(headers).flatMap(([k, v]) => ['-H', q(`${k}: ${v}`)]), ...(body !== undefined ? ['--data-raw', q(body.length > 2000 ? `${body.slice(0, 2000)}…` : body)] : [])].join(' ');
}

function validatorFor(o: Operation, status: number): ReturnType<typeof ajv.compile> | undefined {
  const key = `${o.method} ${o.path} ${status}`;
  if (validators.has(key)) return validators.get(key);
  const res = (o.op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }> | undefined)?.[String(status)];
  const schema = res?.content?.['application/json']?.schema;
  const v = schema ? ajv.compile(deref(schema) as object) : undefined;
  if (v) validators.set(key, v);
  return v;
}

let errorValidator: ReturnType<typeof ajv.compile> | undefined;
function errorShape(body: unknown): boolean {
  const schema = Object.values(doc.components?.schemas ?? {}).find((c) => c.title === 'Error');
  assert.ok(schema, 'the document has the Error schema');
  errorValidator ??= ajv.compile(deref(schema) as object);
  return errorValidator(body) === true;
}

function secured(o: Operation): boolean {
  const sec = o.op.security as Record<string, unknown>[] | undefined;
  return Array.isArray(sec) && sec.length > 0 && !sec.some((s) => Object.keys(s).length === 0);
}

test('every operation of /openapi.json, valid and hostile input: no 5xx, answers as documented', async () => {
  const ops = operations();
  assert.ok(ops.length > 50, 'the document lists the API');
  const deadline = Date.now() + BUDGET_MS;
  const problems: string[] = [];
  let sent = 0;
  for (const [i, o] of ops.entries()) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await freshFixture();
    const documented = Object.keys((o.op.responses ?? {}) as object);
    const arb = requestArb(o);
    const check = async (r: Req): Promise<void> => {
      const url = urlOf(o, r);
      const headers = headersOf(r);
      const raw = r.body ? (r.body.raw ?? JSON.stringify(r.body.json)) : undefined;
      const repro = () => curl(o.method, url, headers, raw);
      sent++;
      let res: Response;
      try {
        res = await fetch(url, { method: o.method, headers, ...(raw !== undefined ? { body: raw } : {}), redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        throw new Error(`${o.method} ${o.path}: no answer (${(err as Error).message})\n  ${repro()}`, { cause: err });
      }
      // A stream (the inbox's events) stays open: its head is the answer; the body is not waited for.
      const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
      const text = streaming ? await res.body?.cancel().then(() => '') ?? '' : await res.text();
      const status = res.status;
      const deliberate = status === 503 && res.headers.has('retry-after') && documented.includes('503');
      if (status >= 500 && !deliberate) throw new Error(`${o.method} ${o.path}: ${status} ${text.slice(0, 300)}\n  ${repro()}`);
      // A segment such as %2e%2e is resolved by the client's URL parser, so the request went to another
      // path than this operation's (for /l/{code}, the web app at /): only the rules for every answer apply
      // (no 5xx, an error in the error shape).
      const offRoute = !templateOf(o).test(new URL(url).pathname);
      if (offRoute) {
        if (status >= 400 && !errorShape(JSON.parse(text))) throw new Error(`${o.method} ${o.path}: the ${status} for another path is not in the error shape: ${text.slice(0, 300)}\n  ${repro()}`);
        return;
      }
      // The router refuses a malformed URL (a bad %-escape, a parameter past its length) before any
      // operation is chosen: that answer belongs to no operation, and must still have the error shape.
      const code = (res.headers.get('content-type') ?? '').includes('application/json') ? (JSON.parse(text) as { code?: string }).code : undefined;
      if ((status === 400 && code === 'BAD_URL') || (status === 414 && code === 'URI_TOO_LONG')) {
        if (!errorShape(JSON.parse(text))) throw new Error(`${o.method} ${o.path}: the router's ${status} is not in the error shape: ${text.slice(0, 300)}\n  ${repro()}`);
        return;
      }
      if (!documented.includes(String(status))) throw new Error(`${o.method} ${o.path}: answered ${status}, which the document does not list (${documented.join(', ')}): ${text.slice(0, 200)}\n  ${repro()}`);
      if (secured(o) && (r.cred === 'none' || r.cred === 'forged') && status !== 401 && status !== 429) {
        throw new Error(`${o.method} ${o.path}: ${r.cred} credentials answered ${status}, not 401\n  ${repro()}`);
      }
      const validate = validatorFor(o, status);
      if (validate && (res.headers.get('content-type') ?? '').includes('application/json')) {
        const body = JSON.parse(text) as unknown;
        if (!validate(body)) throw new Error(`${o.method} ${o.path}: the ${status} answer does not match its documented schema: ${ajv.errorsText(validate.errors)}; body ${text.slice(0, 300)}\n  ${repro()}`);
      }
    };
    const out = await fc.check(fc.asyncProperty(arb, check), {
      seed: SEED + i, numRuns: RUNS, interruptAfterTimeLimit: Math.max(1_000, Math.floor(left / Math.max(1, ops.length - i))), markInterruptAsFailure: false,
    });
    if (out.failed) problems.push(String((out.errorInstance as Error | undefined)?.message ?? out.errorInstance));
  }
  console.log(`api fuzz: ${sent} requests over ${ops.length} operations`);
  assert.deepEqual(problems, [], `\n${problems.join('\n\n')}`);
});

test('credentials are checked before the body is parsed or validated', async () => {
  const ws = fixture.ids.workspaceId;
  for (const [path, body] of [['/api/workspaces', '{'], [`/api/workspaces/${ws}/posts`, '{"text": 1e400}'], [`/api/workspaces/${ws}/webhooks`, '[]']] as const) {
    const anonymous = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(anonymous.status, 401, `${path} without credentials`);
    const forged = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer allin_not_a_key' }, body });
    assert.equal(forged.status, 401, `${path} with a forged key`);
  }
  // With credentials, the same bodies are refused for what they are.
  const mine = await fetch(`${t.url}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fixture.owner.token}` }, body: '{' });
  assert.equal(mine.status, 400);
});
