// Waiting for a network to finish with something AllIN handed it (an uploaded image or video, a media
// container): its status is read again and again, the waits growing by infra/retry.ts's backoff rule
// (without jitter: one job waits for one item of its own, there is no crowd to spread), until it is ready
// or the next wait would end past a deadline. A network that names the wait itself (X's check_after_secs)
// has its wait kept instead of the schedule's for that turn.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffCeiling } from '../infra/retry.ts';

export interface PollSchedule {
  /** The first wait, in milliseconds; each next one doubles, up to maxDelayMs (equal to it: a fixed interval). */
  firstDelayMs: number;
  maxDelayMs: number;
  /** No wait may end later than this many milliseconds after the start. */
  deadlineMs: number;
  /** Wait before the first read (the network has just said it is still working), rather than read at once. */
  waitFirst?: boolean;
}

/**
 * What a read of the status says: true when ready; false when not yet, to wait as the schedule says; or
 * not yet with the wait the network asked for before the next read (in milliseconds).
 */
export type PollAnswer = boolean | { waitMs: number };

/** The time and the wait; the real ones unless a test injects its own. */
export interface PollClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PollClock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

/**
 * Calls `ready` until it answers true (→ true), or until the next wait would end past the deadline
 * (→ false: the caller says what that means). `ready` may throw to stop with that error.
 */
export async function pollUntilReady(s: PollSchedule, ready: () => Promise<PollAnswer>, clock: PollClock = realClock): Promise<boolean> {
  const deadline = clock.now() + s.deadlineMs;
  let answer: PollAnswer = s.waitFirst ? false : await ready();
  for (let n = 1; answer !== true; n++) {
    // The ceiling is the wait itself here: jitter is not applied (see the head of this file).
    const delay = typeof answer === 'object' ? answer.waitMs : backoffCeiling({ baseMs: s.firstDelayMs, capMs: s.maxDelayMs, jitter: 'full' }, n);
    if (clock.now() + delay > deadline) return false;
    await clock.sleep(delay);
    answer = await ready();
  }
  return true;
}
