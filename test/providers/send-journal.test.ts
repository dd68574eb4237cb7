// The send journal outlives the adapter that wrote it: a publish whose answer never comes (accepted, then
// the connection hangs until the client times out) is reconciled by a NEW adapter instance that shares the
// journal, as a restarted worker does with the PostgreSQL journal. Without a shared journal the same
// question has no answer. (The PostgreSQL journal itself: test/send-journal.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, authorize, REDIRECT, type Harness } from './harness.ts';
import { createX } from '../../src/providers/x.ts';
import { createThreads } from '../../src/providers/threads.ts';
import { MemorySendJournal, sendKey, type SendJournal } from '../../src/providers/send-journal.ts';
import { HttpClient, TransportError, type HttpRequest, type HttpResponse } from '../../src/infra/http/client.ts';
import { ProviderError, type AccountRef, type Provider } from '../../src/providers/types.ts';
import { quietLogger } from '../support/env.ts';

const X_APP = { clientId: 'allin-x-journal', clientSecret: 'x-journal-secret' };
let h: Harness;
/** The client of the process that "dies": it gives up on an answer quickly. */
let impatient: HttpClient;
before(async () => {
  h = await harness();
  impatient = new HttpClient({ metrics: h.metrics, log: quietLogger(), allowPrivateHosts: true, defaultTimeoutMs: 1500, maxRetries: 1 });
  h.sim.state('x').apps.set(X_APP.clientId, { ...X_APP, redirectUris: [REDIRECT], name: 'AllIN' });
});
after(async () => {
  await impatient.close();
  await h.stop();
});

const kindOf = (e: unknown) => (e instanceof ProviderError ? e.kind : String(e));
const reasonOf = (e: unknown) => (e instanceof ProviderError ? e.details.reason : undefined);
const since = () => new Date(Date.now() - 60_000);
const unique = (s: string) => `${s} ${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

async function accountOf(p: Provider, loginHint: string): Promise<AccountRef> {
  const { tokens } = await authorize(p, { loginHint });
  const [id] = await p.identities(tokens);
  return { externalId: id!.externalId, username: id!.username, tokens, data: id!.data ?? {} };
}

const x = (http: HttpClient, journal?: SendJournal) => createX({
  http, settings: { ...X_APP, baseUrls: { api: h.sim.base('x'), auth: h.sim.base('x') } }, ...(journal ? { journal } : {}),
});
const threads = (http: HttpClient | Pick<HttpClient, 'request'>, journal?: SendJournal) => createThreads({
  http: http as HttpClient, settings: { clientId: 'th-app', clientSecret: 'th-secret', baseUrls: { auth: h.sim.base('threads'), graph: h.sim.base('threads') } },
  ...(journal ? { journal } : {}),
}, { poll: { intervalMs: 20, maxWaitMs: 3000 } });

test('the memory journal keeps the first send time of a key written again, and copies values through JSON', async () => {
  const j = new MemorySendJournal();
  const first = await j.put('x', sendKey('1', 'm'), { text: 'a', at: new Date(0) });
  await new Promise((r) => setTimeout(r, 5)); // let the clock move, so a send time written again would differ
  const again = await j.put('x', sendKey('1', 'm'), { text: 'b' });
  assert.equal(again.firstSentAt, first.firstSentAt);
  assert.deepEqual(first.value, { text: 'a', at: '1970-01-01T00:00:00.000Z' }, 'a Date comes back as its ISO string');
  assert.deepEqual((await j.get('x', sendKey('1', 'm')))!.value, { text: 'b' });
  assert.equal(await j.get('linkedin', sendKey('1', 'm')), undefined, 'networks do not share keys');
  assert.equal(await j.get('x', sendKey('2', 'm')), undefined, 'nor do accounts');
});

test('X: accepted, then the process gave up on the answer; a new adapter sharing the journal finds the post, and a retry resolves to it', async () => {
  const journal = new MemorySendJournal();
  const dying = x(impatient, journal);
  const a = await accountOf(dying, 'journal-x');
  const s = h.sim.state('x');
  const text = unique('Sent before the crash & found after it: https://example.com/a');
  s.knobs.acceptThenHangNext = 1;
  await assert.rejects(dying.publish(a, { text, media: [], marker: 'allin-x-journal-0' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = s.posts.filter((p) => p.text === text);
  assert.equal(stored.length, 1, 'the post exists');

  // The restarted process: a new adapter, a new HTTP client, the same journal.
  const restarted = x(h.http, journal);
  assert.deepEqual(await restarted.findByMarker(a, 'allin-x-journal-0', since()), { remoteId: stored[0]!.id, url: `https://x.com/${a.username}/status/${stored[0]!.id}` });
  // A retry under the same marker: X calls it a duplicate and the record says it was sent before.
  assert.equal((await restarted.publish(a, { text, media: [], marker: 'allin-x-journal-0' })).remoteId, stored[0]!.id);
  assert.equal(s.posts.filter((p) => p.text === text).length, 1, 'still one post');

  // Without the shared record the question has no answer (what a restart meant before the journal).
  await assert.rejects(x(h.http).findByMarker(a, 'allin-x-journal-0', since()), (e) => kindOf(e) === 'unknown_outcome' && reasonOf(e) === 'no_record_of_marker');
  // The record is per account: another account's marker of the same name is not this one.
  await assert.rejects(restarted.findByMarker({ ...a, externalId: `${a.externalId}9` }, 'allin-x-journal-0', since()), (e) => reasonOf(e) === 'no_record_of_marker');
});

test('Threads: threads_publish accepted, then the process gave up; a new adapter sharing the journal reads the container and finds the post', async () => {
  const journal = new MemorySendJournal();
  const dying = threads(impatient, journal);
  const a = await accountOf(dying, 'journal-th');
  const text = unique('Lost answer, kept record');
  h.sim.state('threads').knobs.acceptThenHangNext = 1;
  await assert.rejects(dying.publish(a, { text, media: [], marker: 'allin-th-journal-0' }), (e) => kindOf(e) === 'unknown_outcome');
  const stored = h.sim.state('threads').posts.find((p) => p.text === text)!;
  assert.ok(stored, 'the post exists');

  const restarted = threads(h.http, journal);
  const found = await restarted.findByMarker(a, 'allin-th-journal-0', since());
  assert.equal(found!.remoteId, stored.id);
  assert.match(found!.url!, /\/threads\/t\//);
  await assert.rejects(threads(h.http).findByMarker(a, 'allin-th-journal-0', since()), (e) => reasonOf(e) === 'marker_unknown');
});

test('Threads: the container was created but threads_publish never went out; a new adapter sharing the journal says it was not published', async () => {
  const journal = new MemorySendJournal();
  // The process's client refuses threads_publish before sending it (as if the worker died right there).
  const cut: Pick<HttpClient, 'request'> = {
    request: (req: HttpRequest): Promise<HttpResponse> => new URL(req.url).pathname.endsWith('/threads_publish')
      ? Promise.reject(new TransportError('connect', false, 'connection refused'))
      : h.http.request(req),
  };
  const dying = threads(cut, journal);
  const a = await accountOf(dying, 'journal-th2');
  const text = unique('Never published');
  await assert.rejects(dying.publish(a, { text, media: [], marker: 'allin-th-journal-1' }), (e) => kindOf(e) === 'transient');
  const record = await journal.get<{ text: string; containerId?: string }>('threads', sendKey(a.externalId, 'allin-th-journal-1'));
  assert.equal(record!.value.text, text);
  assert.ok(record!.value.containerId, 'the container id was recorded before threads_publish');
  assert.equal(h.sim.state('threads').posts.some((p) => p.text === text), false);

  assert.equal(await threads(h.http, journal).findByMarker(a, 'allin-th-journal-1', since()), null, 'the container was never published');
});

test('Meta: a retried marker keeps every container it was given, since an earlier one may still go live', async () => {
  const { PublishAttempts, containersOf } = await import('../../src/providers/meta-graph.ts');
  const journal = new MemorySendJournal();
  const attempts = new PublishAttempts('threads', journal);
  await attempts.record('user-1', 'allin-t-0', { text: 'Hello' });
  await attempts.record('user-1', 'allin-t-0', { text: 'Hello', containerId: 'c1' });
  const retried = await attempts.record('user-1', 'allin-t-0', { text: 'Hello', containerId: 'c2' });
  assert.deepEqual(containersOf(retried), ['c1', 'c2']);
  assert.deepEqual(containersOf(await new PublishAttempts('threads', journal).get('user-1', 'allin-t-0')), ['c1', 'c2']);
});
