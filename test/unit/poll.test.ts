// The one loop adapters wait in for a network to finish processing media (src/providers/poll.ts): the
// waits double from the first to the cap, the loop stops before a wait would pass the deadline, and
// `waitFirst` decides whether the status is read at once; a wait the network names is kept for that turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pollUntilReady, type PollClock } from '../../src/providers/poll.ts';

function fakeClock(): PollClock & { waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return { waits, now: () => t, sleep: async (ms) => { waits.push(ms); t += ms; } };
}

test('reads at once, then waits doubling to the cap until ready', async () => {
  const clock = fakeClock();
  let reads = 0;
  const ok = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: 60_000 }, async () => ++reads === 7, clock);
  assert.equal(ok, true);
  assert.equal(reads, 7);
  assert.deepEqual(clock.waits, [500, 1000, 2000, 4000, 5000, 5000]);
});

test('waitFirst: the first read comes after the first wait', async () => {
  const clock = fakeClock();
  const readAt: number[] = [];
  const start = clock.now();
  await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: 60_000, waitFirst: true }, async () => { readAt.push(clock.now() - start); return readAt.length === 2; }, clock);
  assert.deepEqual(readAt, [500, 1500]);
});

test('gives up (false) before a wait that would end past the deadline; a thrown error stops it', async () => {
  const clock = fakeClock();
  let reads = 0;
  const ok = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: 4000 }, async () => { reads++; return false; }, clock);
  assert.equal(ok, false);
  assert.deepEqual(clock.waits, [500, 1000, 2000], 'a fourth wait (4000 ms) would end at 7500 ms, past 4000');
  assert.equal(reads, 4);
  await assert.rejects(pollUntilReady({ firstDelayMs: 1, maxDelayMs: 1, deadlineMs: 10 }, async () => { throw new Error('refused'); }, fakeClock()), /refused/);
  const fixed = fakeClock();
  await pollUntilReady({ firstDelayMs: 300, maxDelayMs: 300, deadlineMs: 1000 }, async () => false, fixed);
  assert.deepEqual(fixed.waits, [300, 300, 300], 'equal first and cap: a fixed interval');
});

test('a wait the network names replaces the schedule\'s for that turn; one past the deadline gives up without sleeping', async () => {
  const clock = fakeClock();
  const answers = [{ waitMs: 3000 }, false, { waitMs: 7000 }, true];
  let reads = 0;
  const ok = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: 60_000 }, async () => answers[reads++]!, clock);
  assert.equal(ok, true);
  assert.equal(reads, 4);
  assert.deepEqual(clock.waits, [3000, 1000, 7000], 'the named wait, the schedule\'s second wait, the named wait');

  const late = fakeClock();
  reads = 0;
  const gaveUp = await pollUntilReady({ firstDelayMs: 500, maxDelayMs: 5000, deadlineMs: 10_000 }, async () => (++reads === 1 ? { waitMs: 4000 } : { waitMs: 8000 }), late);
  assert.equal(gaveUp, false);
  assert.equal(reads, 2);
  assert.deepEqual(late.waits, [4000], 'an 8000 ms wait would end at 12000 ms, past 10000: no sleep, no read');
});
