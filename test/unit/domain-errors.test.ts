// Services throw domain errors (src/domain/errors.ts) and the HTTP edge maps each kind to its status and
// headers in one place (src/http/errors.ts). These tests hold both halves: no file below the edge picks
// an HTTP status by importing ApiError, and every kind answers its status, headers and the error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import Fastify from 'fastify';
import * as domain from '../../src/domain/errors.ts';
import { answerOfDomainError, registerErrorHandling } from '../../src/http/errors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HTTP_ERRORS = join(ROOT, 'src', 'http', 'errors.ts');
// What a non-route file may take from src/http/errors.ts: the OpenAPI pieces that describe the error shape.
const SCHEMA_HELPERS = new Set(['ErrorRef', 'errors', 'ErrorBody']);
// Below the HTTP edge: services and the other non-route files of the modules, shared helpers, the infrastructure,
// the adapters and the command line. Route files (routes.ts, dev-routes.ts, a module's routes/ folder) and
// src/http are the edge.
const BELOW_THE_EDGE = ['src/modules', 'src/shared', 'src/infra', 'src/providers', 'src/cli', 'src/domain'];
const isRouteFile = (path: string) => /(^|[/-])routes(\.ts$|\/)/.test(path);

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'));
}

/** `file: what` for each import or re-export of ApiError (from anywhere) or of http/errors.ts beyond its schema helpers. */
function httpErrorImports(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    let specifier: ts.Expression | undefined;
    let names: string[] | null = null; // null: the whole module (import * as, import x, side effect, dynamic)
    if (ts.isImportDeclaration(node)) {
      specifier = node.moduleSpecifier;
      const clause = node.importClause;
      if (clause && !clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
        names = clause.namedBindings.elements.map((e) => (e.propertyName ?? e.name).text);
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      specifier = node.moduleSpecifier;
      if (node.exportClause && ts.isNamedExports(node.exportClause)) names = node.exportClause.elements.map((e) => (e.propertyName ?? e.name).text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      specifier = node.arguments[0];
    }
    if (specifier && ts.isStringLiteral(specifier)) {
      const target = specifier.text.startsWith('.') ? resolve(dirname(join(ROOT, file)), specifier.text) : specifier.text;
      if (names?.includes('ApiError')) found.push(`${file}: imports ApiError from ${specifier.text}`);
      else if (target === HTTP_ERRORS && (names === null || names.some((n) => !SCHEMA_HELPERS.has(n)))) {
        found.push(`${file}: imports ${names ? names.filter((n) => !SCHEMA_HELPERS.has(n)).join(', ') : 'the whole of'} ${specifier.text}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test('no service or other file below the HTTP edge imports ApiError or the error handler', () => {
  const files = BELOW_THE_EDGE.flatMap(tsFiles).filter((f) => !isRouteFile(f));
  assert.ok(files.includes('src/modules/auth/service.ts') && files.includes('src/modules/workspaces/access.ts'), 'the scan sees the services');
  const offenders = files.flatMap((f) => httpErrorImports(f));
  assert.deepEqual(offenders, [], `These files decide HTTP answers themselves; throw a domain error from src/domain/errors.ts instead:\n${offenders.join('\n')}`);
});

test('the scan finds every way of importing ApiError or the error handler, and lets the schema helpers pass', () => {
  const probe = 'src/modules/auth/probe.ts';
  const reported = [
    "import { ApiError } from '../../http/errors.ts';",
    "import { type ApiError as Refusal } from '../../http/errors.ts';",
    "import { ApiError } from '#http-errors';",
    "import * as e from '../../http/errors.ts';",
    "import { replyWithError, errors } from '../../http/errors.ts';",
    "export { ApiError } from '../../http/errors.ts';",
    "const e = await import('../../http/errors.ts');",
  ];
  for (const form of reported) assert.equal(httpErrorImports(probe, form).length, 1, form);
  const allowed = [
    "import { ErrorRef, errors } from '../../http/errors.ts';",
    "export { ErrorRef as Err, errors } from '../../http/errors.ts';",
    "import { NotFound } from '../../domain/errors.ts';",
  ];
  for (const form of allowed) assert.deepEqual(httpErrorImports(probe, form), [], form);
});

// Each kind, its status, and the headers it must carry.
const KINDS: { make: () => domain.DomainError; status: number; headers: Record<string, string> }[] = [
  { make: () => new domain.Invalid('VALIDATION_FAILED', 'name must not be blank', [{ field: 'body.name', message: 'must not be blank' }]), status: 400, headers: {} },
  { make: () => new domain.Unauthenticated('INVALID_CREDENTIALS', 'The email or password is incorrect.'), status: 401, headers: {} },
  { make: () => new domain.Unauthenticated('UNAUTHENTICATED', 'Sign in first.', 'missing'), status: 401, headers: { 'www-authenticate': 'Bearer' } },
  {
    make: () => new domain.Unauthenticated('INVALID_TOKEN', 'The token is "expired"', 'invalid'), status: 401,
    headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="The token is \'expired\'"' },
  },
  { make: () => new domain.Forbidden('FORBIDDEN', 'As viewer you cannot write posts.', { permission: 'posts.write' }), status: 403, headers: {} },
  { make: () => new domain.NotFound('NOT_FOUND', 'No such webhook in this workspace.'), status: 404, headers: {} },
  { make: () => new domain.Conflict('LAST_OWNER', 'You are the last owner.'), status: 409, headers: {} },
  { make: () => new domain.TooLarge('MEDIA_TOO_LARGE', 'This image is too large.', { limitBytes: 10 }), status: 413, headers: {} },
  { make: () => new domain.UnsupportedMediaType('UNSUPPORTED_MEDIA_TYPE', 'Not an image or a video.'), status: 415, headers: {} },
  { make: () => new domain.UnprocessableContent('INVALID_MEDIA', 'This video is damaged.'), status: 422, headers: {} },
  {
    make: () => new domain.RateLimited('RATE_LIMITED', 'Too many requests. Try again in 7 s.', 7,
      { name: 'login-ip', limit: 20, windowSeconds: 60, remaining: 0, resetSeconds: 7 }, { retryAfterSeconds: 7 }),
    status: 429, headers: { 'retry-after': '7', 'ratelimit-policy': '20;w=60;name="login-ip"', ratelimit: 'limit=20, remaining=0, reset=7' },
  },
  { make: () => new domain.RateLimited('RATE_LIMITED', 'Slow down.', 3), status: 429, headers: { 'retry-after': '3' } },
  { make: () => new domain.Unavailable('NETWORK_UNAVAILABLE', 'Mastodon could not be reached.', 30), status: 503, headers: { 'retry-after': '30' } },
  { make: () => new domain.InsufficientStorage('INSUFFICIENT_STORAGE', 'The disk is full.'), status: 507, headers: {} },
];

test('every kind of domain error has its status and headers', () => {
  const kinds = (Object.values(domain) as unknown[]).filter((v): v is typeof domain.DomainError =>
    typeof v === 'function' && v.prototype instanceof domain.DomainError);
  const tested = new Set<unknown>(KINDS.map((k) => k.make().constructor));
  assert.deepEqual(kinds.filter((k) => !tested.has(k)).map((k) => k.name), [], 'kinds this test does not cover');
  for (const k of KINDS) {
    const err = k.make();
    assert.deepEqual(answerOfDomainError(err), { status: k.status, headers: k.headers }, `${err.name} ${err.code}`);
  }
});

test('the error handler answers a domain error in the one error shape, with its headers', async () => {
  const app = Fastify();
  registerErrorHandling(app);
  app.get('/kind/:i', async (request) => {
    throw KINDS[Number((request.params as { i: string }).i)]!.make();
  });
  try {
    for (const [i, k] of KINDS.entries()) {
      const err = k.make();
      const res = await app.inject({ url: `/kind/${i}` });
      const body = res.json();
      assert.equal(res.statusCode, k.status, err.code);
      assert.deepEqual(body, {
        statusCode: k.status, code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), requestId: body.requestId,
      });
      assert.equal(typeof body.requestId, 'string');
      for (const [name, value] of Object.entries(k.headers)) assert.equal(res.headers[name], value, `${err.code}: ${name}`);
    }
  } finally {
    await app.close();
  }
});
