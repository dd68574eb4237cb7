// Both model adapters (src/infra/ai/) against the simulated providers (tools/provider-sim/ai.ts), through
// AllIN's HTTP client: the request each API documents, plain and streamed answers with their token counts,
// and every failure as one ModelError: 429 with its Retry-After (waited out by the retry loop when short),
// overload, a refused key (never echoed), malformed bodies and streams, a stream cut short or failing half-way,
// an answer that never comes (the deadline), one too large, and a loopback base URL refused by default.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../tools/provider-sim/server.ts';
import { HttpClient } from '../src/infra/http/client.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { createModelProvider, withModelRetries, ModelError, type ModelProvider, type ModelProviderKind } from '../src/infra/ai/index.ts';
import { quietLogger } from './support/env.ts';

let sim: Simulator;
const metrics = createMetrics({ enabled: true });
const http = new HttpClient({ metrics, log: quietLogger(), allowPrivateHosts: false });

before(async () => {
  sim = await startSimulator();
});
after(async () => {
  await http.close();
  await sim.stop();
});

const baseOf = (kind: ModelProviderKind) => (kind === 'openai' ? `${sim.url}/ai/openai/v1` : `${sim.url}/ai/anthropic`);
function provider(kind: ModelProviderKind, o: { key?: string; timeoutMs?: number; maxResponseBytes?: number; allowPrivateHosts?: boolean } = {}): ModelProvider {
  return createModelProvider({ http, allowPrivateHosts: o.allowPrivateHosts ?? true, timeoutMs: o.timeoutMs ?? 30_000, maxResponseBytes: o.maxResponseBytes ?? 1024 * 1024 },
    { kind, baseUrl: baseOf(kind), apiKey: o.key ?? 'sim-key-123456', model: 'test-model' });
}
const req = { system: 'You write posts.', messages: [{ role: 'user' as const, content: 'Write about spring.' }], maxOutputTokens: 200 };
const script = (...steps: object[]) => sim.ai.script.push(...steps);
async function failure(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelError, String(err));
    return err;
  }
  assert.fail('expected a ModelError');
}

for (const kind of ['openai', 'anthropic'] as const) {
  describe(kind, () => {
    test('a plain answer: the documented request, the text, the tokens and the model', async () => {
      sim.reset();
      script({ text: 'Spring is here 🌷', inputTokens: 42, outputTokens: 7 });
      const a = await provider(kind).complete(req);
      assert.deepEqual(a, { text: 'Spring is here 🌷', inputTokens: 42, outputTokens: 7, model: 'test-model-sim', finishReason: kind === 'openai' ? 'stop' : 'end_turn' });
      const [r] = sim.ai.requests;
      assert.equal(r!.body.model, 'test-model');
      assert.equal(r!.body.max_tokens, 200);
      if (kind === 'openai') {
        assert.equal(r!.headers.authorization, 'Bearer sim-key-123456');
        assert.deepEqual(r!.body.messages, [{ role: 'system', content: 'You write posts.' }, { role: 'user', content: 'Write about spring.' }]);
      } else {
        assert.equal(r!.headers['x-api-key'], 'sim-key-123456');
        assert.equal(r!.headers['anthropic-version'], '2023-06-01');
        assert.equal(r!.body.system, 'You write posts.');
        assert.deepEqual(r!.body.messages, [{ role: 'user', content: 'Write about spring.' }]);
      }
    });

    test('a streamed answer arrives piece by piece and adds up to the text, with the tokens counted', async () => {
      sim.reset();
      const text = 'A longer answer, streamed in several pieces so the deltas can be counted.';
      script({ text, inputTokens: 30, outputTokens: 15 });
      const pieces: string[] = [];
      const a = await provider(kind).complete(req, (t) => pieces.push(t));
      assert.ok(pieces.length > 3);
      assert.equal(pieces.join(''), text);
      assert.equal(a.text, text);
      assert.equal(a.inputTokens, 30);
      assert.equal(a.outputTokens, 15);
      assert.equal(sim.ai.requests[0]!.body.stream, true);
      if (kind === 'openai') assert.deepEqual(sim.ai.requests[0]!.body.stream_options, { include_usage: true });
    });

    test('429 carries its Retry-After; the retry loop waits a short one out, and hands back a long one', async () => {
      sim.reset();
      script({ status: 429, retryAfter: '7' });
      const e = await failure(provider(kind).complete(req));
      assert.equal(e.reason, 'rate_limited');
      assert.equal(e.retryAfterMs, 7000);
      assert.equal(e.status, 429);

      sim.reset();
      script({ status: 429, retryAfter: '1' }, { text: 'after the wait' });
      const retried = withModelRetries(provider(kind), { retries: 2, backoff: { baseMs: 10, capMs: 50, jitter: 'full', maxRetryAfterMs: 2000 } });
      assert.equal((await retried.complete(req)).text, 'after the wait');
      assert.equal(sim.ai.requests.length, 2);

      sim.reset();
      script({ status: 429, retryAfter: '3600' });
      const long = await failure(retried.complete(req));
      assert.equal(long.retryAfterMs, 3_600_000);
      assert.equal(sim.ai.requests.length, 1, 'an hour is not waited for');
    });

    test('an overloaded or failing provider is unavailable; retried, it answers', async () => {
      sim.reset();
      script({ status: kind === 'openai' ? 503 : 529 });
      assert.equal((await failure(provider(kind).complete(req))).reason, 'unavailable');
      sim.reset();
      script({ status: 500 }, { text: 'fine now' });
      const retried = withModelRetries(provider(kind), { retries: 1, backoff: { baseMs: 10, capMs: 20, jitter: 'full' } });
      assert.equal((await retried.complete(req)).text, 'fine now');
    });

    test('a refused key is an auth error that does not repeat the key', async () => {
      sim.reset();
      const e = await failure(provider(kind, { key: 'wrong' }).complete(req));
      assert.equal(e.reason, 'auth');
      assert.equal(e.status, 401);
      sim.reset();
      // The simulated OpenAI echoes the key it refused, as OpenAI's message does.
      script({ status: 401 });
      const e2 = await failure(provider(kind, { key: 'sk-live-secret-value-99' }).complete(req));
      assert.doesNotMatch(e2.message, /secret-value/);
    });

    test('malformed answers: a body that is not JSON, a stream event that is not, a stream cut short, a failure half-way', async () => {
      sim.reset();
      script({ malformed: true });
      assert.equal((await failure(provider(kind).complete(req))).reason, 'malformed');
      sim.reset();
      script({ malformed: true });
      assert.equal((await failure(provider(kind).complete(req, () => {}))).reason, 'malformed');
      sim.reset();
      script({ truncate: true });
      assert.equal((await failure(provider(kind).complete(req, () => {}))).reason, 'malformed');
      sim.reset();
      script({ midStreamError: true });
      const mid = await failure(provider(kind).complete(req, () => {}));
      assert.equal(mid.reason, 'unavailable');
      // Text had reached the person: the retry loop does not start a second answer under the first.
      sim.reset();
      script({ midStreamError: true }, { text: 'second' });
      const retried = withModelRetries(provider(kind), { retries: 2, backoff: { baseMs: 10, capMs: 20, jitter: 'full' } });
      await failure(retried.complete(req, () => {}));
      assert.equal(sim.ai.requests.length, 1);
    });

    test('an answer that never comes ends at the deadline; one too large at the size cap', async () => {
      sim.reset();
      script({ hang: true });
      assert.equal((await failure(provider(kind, { timeoutMs: 300 }).complete(req, () => {}))).reason, 'timeout');
      sim.reset();
      script({ text: 'x'.repeat(5000) });
      assert.equal((await failure(provider(kind, { maxResponseBytes: 1000 }).complete(req))).reason, 'too_large');
      assert.equal((await failure((() => { script({ text: 'y'.repeat(5000) }); return provider(kind, { maxResponseBytes: 1000 }).complete(req, () => {}); })())).reason, 'too_large');
    });

    test('a loopback base URL is refused unless AI providers may use private addresses, and nothing is sent', async () => {
      sim.reset();
      const e = await failure(provider(kind, { allowPrivateHosts: false }).complete(req));
      assert.equal(e.reason, 'blocked_host');
      assert.match(e.message, /AI_ALLOW_PRIVATE_HOSTS/);
      assert.equal(sim.ai.requests.length, 0);
    });
  });
}
