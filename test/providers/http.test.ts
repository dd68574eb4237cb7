// The adapters' one JSON reader (src/providers/http.ts) and the error text built from a network's answer:
// a body that is not JSON is a typed error naming the network, the call and the status; an answer past the
// client's body cap never reaches the reader; and a token the network echoes back (an error page quoting
// the request URL, a message quoting a header) never ends up in an error. Against a local HTTP server
// playing a misbehaving Graph host, through the real Facebook, Instagram and Threads adapters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_BODY_BYTES, HttpClient, type HttpResponse } from '../../src/infra/http/client.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { httpError, malformed } from '../../src/providers/errors.ts';
import { MalformedResponseError, readJson, redactSecrets } from '../../src/providers/http.ts';
import { graphError } from '../../src/providers/meta-graph.ts';
import { createFacebook } from '../../src/providers/facebook.ts';
import { createInstagram } from '../../src/providers/instagram.ts';
import { createThreads } from '../../src/providers/threads.ts';
import { ProviderError, type Provider } from '../../src/providers/types.ts';
import { quietLogger } from '../support/env.ts';

const SECRET = 'EAAGm0PX4ZCpsBAKzZB7secretTOKEN123';

/** What the server answers to every request. */
let answer: { status: number; type: string; body: Buffer | string } = { status: 200, type: 'application/json', body: '{}' };
let server: Server;
let base: string;
let http: HttpClient;

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(answer.status, { 'content-type': answer.type });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = new HttpClient({ metrics: createMetrics({ enabled: false }), log: quietLogger(), allowPrivateHosts: true });
});
after(async () => {
  await http.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const adapters = (): [string, Provider][] => {
  const settings = { clientId: 'app', clientSecret: 'app-secret', baseUrls: { graph: base, api: base, auth: base, rupload: base, version: 'v26.0' } };
  return [['facebook', createFacebook({ http, settings })], ['instagram', createInstagram({ http, settings })], ['threads', createThreads({ http, settings })]];
};

const response = (status: number, text: string): HttpResponse => ({
  status, headers: {}, bytes: Buffer.from(text), text, json: () => JSON.parse(text) as never,
});

const leaks = (e: unknown) => {
  const err = e as ProviderError;
  return `${err.message} ${JSON.stringify(err.details)}`.includes(SECRET);
};

test('a 2xx body that is not JSON: a MalformedResponseError naming the network, the call and the status, without the body', async () => {
  // An HTML page from a proxy in front of the API, quoting the URL the request was sent to.
  answer = { status: 200, type: 'text/html', body: `<html><body>Bad gateway for /v26.0/me?fields=id&access_token=${SECRET}</body></html>` };
  for (const [name, p] of adapters()) {
    await assert.rejects(p.identities({ accessToken: SECRET }), (e) => {
      assert.ok(e instanceof MalformedResponseError, `${name}: ${String(e)}`);
      assert.equal(e.kind, 'transient');
      assert.equal(e.details.reason, 'malformed_response');
      assert.equal(e.details.status, 200);
      assert.match(e.message, new RegExp(`^${name}: profile answered HTTP 200 with a body that is not JSON`));
      assert.equal(leaks(e), false, `${name} leaks the token`);
      return true;
    });
  }
});

test('JSON that is not an object is malformed too; a creating call makes it an unknown outcome', () => {
  for (const body of ['"text"', '42', 'null', '']) {
    assert.throws(() => readJson(response(200, body), { provider: 'x', operation: 'profile' }), (e) => e instanceof MalformedResponseError && e.kind === 'transient', body);
  }
  assert.deepEqual(readJson(response(200, '[1]'), { provider: 'mastodon', operation: 'find_post' }), [1], 'a list where a list is expected');
  assert.throws(() => readJson(response(200, '[1]'), { provider: 'facebook', operation: 'profile', objectOnly: true }), MalformedResponseError);
  assert.throws(() => readJson(response(201, '<html>'), { provider: 'x', operation: 'publish', creates: true }),
    (e) => e instanceof MalformedResponseError && e.kind === 'unknown_outcome' && e.details.status === 201);
  // The adapters' own "this answer lacks what it must hold" is the same typed error.
  assert.ok(malformed('linkedin', 'publish', true) instanceof MalformedResponseError);
});

test('an answer past the client\'s body cap never reaches the reader: the adapter fails with the cap\'s reason', async () => {
  answer = { status: 200, type: 'application/json', body: Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20) };
  for (const [name, p] of adapters()) {
    await assert.rejects(p.identities({ accessToken: SECRET }), (e) => {
      assert.ok(e instanceof ProviderError && !(e instanceof MalformedResponseError), `${name}: ${String(e)}`);
      assert.equal(e.details.reason, 'too_large', name);
      return true;
    });
  }
});

test('an error page that echoes the token: the error keeps the page\'s start, not the token', async () => {
  answer = { status: 502, type: 'text/html', body: `<h1>502</h1> upstream failed: GET /v26.0/me?access_token=${SECRET}&fields=id` };
  for (const [name, p] of adapters()) {
    await assert.rejects(p.identities({ accessToken: SECRET }), (e) => {
      assert.ok(e instanceof ProviderError, name);
      assert.equal(e.kind, 'transient', name);
      assert.match(e.details.reason!, /access_token=\[redacted\]/, name);
      assert.equal(leaks(e), false, `${name} leaks the token`);
      return true;
    });
  }
  // A Graph error message quoting a header, and the generic mapping of the other adapters.
  const quoted = response(400, JSON.stringify({ error: { message: `Invalid OAuth ${SECRET}`, code: 100 } }));
  assert.equal(leaks(graphError('facebook', 'publish', quoted)), false);
  assert.equal(leaks(httpError('mastodon', 'publish', response(403, `denied for Bearer ${SECRET}`))), false);
  assert.equal(leaks(httpError('mastodon', 'publish', response(400, JSON.stringify({ error: 'invalid_request', error_description: `client_secret=${SECRET} is wrong` })))), false);
});

test('redactSecrets takes out credential parameters and authorization schemes, and nothing else', () => {
  assert.equal(redactSecrets(`a?access_token=${SECRET}&fields=id`), 'a?access_token=[redacted]&fields=id');
  assert.equal(redactSecrets(`Authorization: Bearer ${SECRET}`), 'Authorization: Bearer [redacted]');
  assert.equal(redactSecrets('(#200) Permissions error [code 200]'), '(#200) Permissions error [code 200]');
});
