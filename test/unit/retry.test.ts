// The one backoff rule and retry loop (src/infra/retry.ts), with an injected random source and sleep so
// every wait is known: the jitter kinds, the cap, Retry-After honoured up to its maximum, and the loop's
// stops (a result not retried, retries used up, a Retry-After too long to wait, the caller's signal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, retry, withRetries, DependencyError, type Backoff } from '../../src/infra/retry.ts';
import { retryDelayMs as retryAfterDelay } from '../../src/infra/retry-after.ts';
import { retryAfterMs as providerRetryAfterMs } from '../../src/providers/errors.ts';

const at = (r: number) => () => r;
/** A random source that hands out these numbers in turn. */
const seq = (...rs: number[]) => {
  let i = 0;
  return () => rs[i++ % rs.length]!;
};

test('full jitter: anywhere in [0, base·2^(n-1)], the ceiling capped', () => {
  const b: Backoff = { baseMs: 100, capMs: 1000, jitter: 'full' };
  assert.deepEqual([1, 2, 3, 4, 5, 30].map((n) => backoffDelay(b, n, { random: at(0.999999) })), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(b, 3, { random: at(0) }), 0);
  assert.equal(backoffDelay(b, 3, { random: at(0.5) }), 200);
});

test('equal jitter (publishing\'s): the upper half of the ceiling, doubling from the base to the cap', () => {
  const b: Backoff = { baseMs: 30_000, capMs: 3_600_000, jitter: 'equal' };
  assert.equal(backoffDelay(b, 1, { random: at(0) }), 15_000);
  assert.equal(backoffDelay(b, 1, { random: at(1) }), 30_000);
  assert.equal(backoffDelay(b, 3, { random: at(0) }), 60_000);
  assert.equal(backoffDelay(b, 20, { random: at(1) }), 3_600_000, 'capped');
  assert.equal(backoffDelay(b, 0, { random: at(1) }), 30_000, 'no attempt yet counts as the first');
});

test('decorrelated jitter grows from the previous wait, within [base, 3 × previous], capped', () => {
  const b: Backoff = { baseMs: 100, capMs: 5000, jitter: 'decorrelated' };
  assert.equal(backoffDelay(b, 1, { random: at(0) }), 100);
  assert.equal(backoffDelay(b, 1, { random: at(1) }), 300, 'first: up to 3 × base');
  assert.equal(backoffDelay(b, 2, { previousMs: 1000, random: at(1) }), 3000);
  assert.equal(backoffDelay(b, 2, { previousMs: 1000, random: at(0) }), 100);
  assert.equal(backoffDelay(b, 9, { previousMs: 4000, random: at(1) }), 5000, 'capped');
});

test('a schedule of steps with ±20 % (webhooks\' shape): multiples of the base, the last repeating', () => {
  const b: Backoff = { baseMs: 10_000, capMs: Infinity, steps: [1, 6, 30], jitter: { around: 0.2 } };
  assert.deepEqual([1, 2, 3, 4, 9].map((n) => backoffDelay(b, n, { random: at(0.5) })), [10_000, 60_000, 300_000, 300_000, 300_000]);
  assert.equal(backoffDelay(b, 1, { random: at(0) }), 8_000);
  assert.equal(backoffDelay(b, 1, { random: at(1) }), 12_000);
  assert.equal(backoffDelay({ ...b, capMs: 100_000 }, 3, { random: at(1) }), 100_000, 'capped');
});

test('Retry-After: never sooner than asked, a shorter one changes nothing, a longer one is cut to the maximum', () => {
  const b: Backoff = { baseMs: 1000, capMs: 60_000, jitter: 'full', maxRetryAfterMs: 30_000 };
  assert.equal(backoffDelay(b, 1, { retryAfterMs: 20_000, random: at(0.5) }), 20_000, 'longer than the backoff: the Retry-After');
  assert.equal(backoffDelay(b, 3, { retryAfterMs: 100, random: at(1) }), 4000, 'shorter: the backoff');
  assert.equal(backoffDelay(b, 1, { retryAfterMs: 3_600_000, random: at(0) }), 30_000, 'bounded by maxRetryAfterMs');
  assert.equal(backoffDelay(b, 1, { retryAfterMs: Number.NaN, random: at(0) }), 0, 'an unreadable one is ignored');
  // Spread over the asked wait, so a crowd told the same number does not come back in one instant.
  const spread: Backoff = { ...b, retryAfterJitter: 0.5 };
  assert.equal(backoffDelay(spread, 1, { retryAfterMs: 2000, random: seq(0, 1) }), 3000);
  assert.equal(backoffDelay(spread, 1, { retryAfterMs: 0, random: seq(0, 1) }), 500, 'told "now": still half a second of spread');
  assert.equal(backoffDelay({ ...b, maxRetryAfterMs: undefined }, 1, { retryAfterMs: 7_200_000, random: at(0) }), 7_200_000, 'no maximum: any wait');
  // The clients' rule (web app, loadtest) is the same computation.
  assert.equal(retryAfterDelay(503, '2', 1, { maxRetries: 2, maxWaitMs: 10_000 }, seq(0, 1)), 3000);
});

/** The waits a loop asked for, without waiting. */
const recorder = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => { waits.push(ms); } };
};

test('the loop: retries what retryOn retries, up to its count, then throws the last error', async () => {
  const { waits, sleep } = recorder();
  let tries = 0;
  await assert.rejects(withRetries(async () => { tries++; throw new Error(`no ${tries}`); }, {
    retries: 3, backoff: { baseMs: 100, capMs: 1000, jitter: 'full' }, retryOn: (r) => !r.ok, random: at(0.5), sleep,
  }), /no 4/);
  assert.equal(tries, 4);
  assert.deepEqual(waits, [50, 100, 200]);
});

test('the loop: a result not retried is returned at once; an answer can be retried like an error', async () => {
  const { waits, sleep } = recorder();
  const answers = [503, 503, 200];
  const got = await withRetries(async () => answers.shift()!, {
    retries: 5, backoff: { baseMs: 100, capMs: 1000, jitter: 'full' }, retryOn: (r) => r.ok && r.value >= 500, random: at(1), sleep,
  });
  assert.equal(got, 200);
  assert.deepEqual(waits, [100, 200]);
  let tries = 0;
  await assert.rejects(withRetries(async () => { tries++; throw new TypeError('a bug'); }, {
    retries: 5, backoff: { baseMs: 100, capMs: 1000, jitter: 'full' }, retryOn: (r) => !r.ok && !(r.error instanceof TypeError), sleep,
  }), TypeError);
  assert.equal(tries, 1, 'an error retryOn refuses is not tried again');
});

test('the loop: waits out a Retry-After it may, hands back one longer than maxRetryAfterMs at once', async () => {
  const { waits, sleep } = recorder();
  const b: Backoff = { baseMs: 100, capMs: 1000, jitter: 'full', maxRetryAfterMs: 5000 };
  const answers = [{ status: 503, ra: 2000 }, { status: 503, ra: 60_000 }, { status: 200, ra: undefined }];
  let tries = 0;
  const got = await withRetries(async () => { tries++; return answers.shift()!; }, {
    retries: 5, backoff: b, retryOn: (r) => r.ok && r.value.status === 503 && { retryAfterMs: r.value.ra }, random: at(0), sleep,
  });
  assert.equal(got.status, 503, 'the answer that asked for a minute is the caller\'s');
  assert.equal(tries, 2);
  assert.deepEqual(waits, [2000]);
});

test('the loop: decorrelated jitter is fed the previous wait', async () => {
  const { waits, sleep } = recorder();
  await assert.rejects(withRetries(async () => { throw new Error('x'); }, {
    retries: 3, backoff: { baseMs: 100, capMs: 10_000, jitter: 'decorrelated' }, retryOn: () => true, random: at(1), sleep,
  }));
  assert.deepEqual(waits, [300, 900, 2700]);
});

test('the loop: the caller\'s signal stops it and cuts a wait short', async () => {
  const ac = new AbortController();
  let tries = 0;
  const run = withRetries(async () => {
    tries++;
    if (tries === 1) setImmediate(() => ac.abort());
    throw new Error('down');
  }, { retries: 10, backoff: { baseMs: 3_600_000, capMs: 3_600_000, jitter: 'equal' }, retryOn: () => true, signal: ac.signal });
  // An hour's wait, ended by the abort: the loop makes at most the one try in progress, then stops.
  await assert.rejects(run, /down/);
  assert.ok(tries <= 2, `tries: ${tries}`);
  const stopped = new AbortController();
  stopped.abort();
  let once = 0;
  await assert.rejects(withRetries(async () => { once++; throw new Error('x'); }, { retries: 10, backoff: { baseMs: 1, capMs: 1, jitter: 'full' }, retryOn: () => true, signal: stopped.signal }));
  assert.equal(once, 1, 'an ended signal: no retry');
});

test('start-up retries: full jitter from 2·base, named in the log, then a DependencyError with the count', async () => {
  const { waits, sleep } = recorder();
  const logged: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = { warn: (obj: object, msg: string) => { logged.push({ obj: obj as Record<string, unknown>, msg }); } };
  let tries = 0;
  const err = await retry(async () => { tries++; throw Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }); }, {
    what: 'PostgreSQL', attempts: 4, maxDelayMs: 500, baseDelayMs: 100, log, random: at(1), sleep,
  }).catch((e: unknown) => e);
  assert.ok(err instanceof DependencyError);
  assert.equal(err.attempts, 4);
  assert.match(err.message, /PostgreSQL is not reachable after 4 attempts: ECONNREFUSED connect refused/);
  assert.equal(tries, 4);
  assert.deepEqual(waits, [200, 400, 500]);
  assert.deepEqual(logged.map((l) => [l.obj.attempt, l.obj.retryInMs, l.msg]), [
    [1, 200, 'PostgreSQL is not reachable yet; retrying'], [2, 400, 'PostgreSQL is not reachable yet; retrying'], [3, 500, 'PostgreSQL is not reachable yet; retrying'],
  ]);
  assert.equal(await retry(async () => 'up', { what: 'Redis', attempts: 1, maxDelayMs: 1, log }), 'up');
});

test('providers read Retry-After with the same parser, and fall back to the reset time of the window', () => {
  const now = Date.parse('2026-12-07T00:00:00Z');
  assert.equal(providerRetryAfterMs({ 'retry-after': '7' }, now), 7000);
  assert.equal(providerRetryAfterMs({ 'retry-after': 'Mon, 07 Dec 2026 00:00:30 GMT' }, now), 30_000);
  assert.equal(providerRetryAfterMs({ 'x-rate-limit-reset': String(now / 1000 + 90) }, now), 90_000);
  assert.equal(providerRetryAfterMs({ 'ratelimit-reset': String(now / 1000 + 60) }, now), 60_000, 'Bluesky: RateLimit-Reset in epoch seconds');
  assert.equal(providerRetryAfterMs({ 'x-ratelimit-reset': '2026-12-07T00:00:45.000000Z' }, now), 45_000, 'Mastodon: an ISO 8601 time');
  assert.equal(providerRetryAfterMs({ 'x-ratelimit-reset': '2026-12-06T23:00:00Z' }, now), 0, 'a reset in the past: now');
  assert.equal(providerRetryAfterMs({ 'x-ratelimit-reset': '45' }, now), undefined, 'neither epoch seconds nor a time');
  assert.equal(providerRetryAfterMs({ 'retry-after': 'soon' }, now), undefined, 'not a delay or a date');
  assert.equal(providerRetryAfterMs({ 'retry-after': '-5' }, now), undefined, 'a negative delay is not a delay');
  assert.equal(providerRetryAfterMs({}, now), undefined);
});
