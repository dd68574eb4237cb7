// Password hashing and policy.
// - argon2id at OWASP's parameters (19 MiB, t=2, p=1) through @node-rs/argon2, which hashes on libuv's
//   thread pool, never on the event loop, one hash per CPU core at once. The queue in front of the cores
//   takes a burst whole as long as its expected wait (queued hashes x measured time per hash / cores) stays
//   within maxWaitMs (HASH_MAX_WAIT_MS); past that it refuses at once (503 with Retry-After).
// - Each account's attempts go through a line of their own (forAccount), a few at once, so one account
//   looping sign-ins never stands in front of another account's.
// - bcrypt hashes (users imported from the previous AllIN backend, which used bcrypt) verify through @node-rs/bcrypt and are
//   re-hashed to argon2id on the next successful login.
// - Length 8-128 and zxcvbn-ts (its common-password and breach-derived dictionaries) refuse weak ones.
import { availableParallelism } from 'node:os';
import { hash as argonHash, verify as argonVerify, parseOptions } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as enDictionary, translations } from '@zxcvbn-ts/language-en';
import { Lanes, WorkQueue } from '../../infra/semaphore.ts';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const MIN_STRENGTH = 3; // zxcvbn score 0-4; 3 = "safely unguessable"

export interface VerifyResult {
  ok: boolean;
  /** The hash is bcrypt or weaker argon2 parameters: store a fresh one after this login. */
  needsRehash: boolean;
}

/** What one argon2id hash is taken to cost until the first ones are measured (a slow core's figure; 10-20 ms is usual). */
const INITIAL_HASH_MS = 50;
/** Most attempts of one account checked at once in a process. */
const PER_ACCOUNT_MAX = 4;
/**
 * Most attempts of one account waiting in its line: far more than a team sharing an account sends at
 * once (the 200-login burst fits five times), few enough that a loop on one account holds bounded memory.
 */
const PER_ACCOUNT_WAITING = 1000;

export interface HasherOptions {
  /** Hashes computed at once; one per core by default. */
  concurrency?: number;
  /** The longest expected wait a new hash may face before it is refused. */
  maxWaitMs: number;
  /** Called for each hash or attempt refused for capacity (the metric of deliberate shedding). */
  onShed?: () => void;
}

export class PasswordHasher {
  readonly queue: WorkQueue;
  private readonly lanes: Lanes;
  private dummyHash: Promise<string> | undefined;
  /** Hashes computed and verifications run since start (diagnostics and tests read them). */
  readonly counts = { hash: 0, verify: 0 };

  constructor(opts: HasherOptions) {
    const capacity = opts.concurrency ?? availableParallelism();
    const shed = opts.onShed ? { onShed: opts.onShed } : {};
    this.queue = new WorkQueue('password hashing', { capacity, maxWaitMs: opts.maxWaitMs, initialCostMs: INITIAL_HASH_MS, ...shed });
    // A few of one account's attempts at once: enough to keep the cores busy while others of its attempts
    // read the database and the limit counters, few enough that another account's attempt waits behind
    // at most that many, and that the failures reserved in flight (see AuthService) stay below any limit.
    this.lanes = new Lanes('sign-in attempts for this account', {
      perKey: Math.min(2 * capacity, PER_ACCOUNT_MAX), maxWaiting: PER_ACCOUNT_WAITING, parallel: capacity, costMs: () => this.queue.costMs, ...shed,
    });
  }

  /** Runs one attempt of an account (its verification and the bookkeeping around it) in the account's line. */
  forAccount<T>(account: string, attempt: () => Promise<T>): Promise<T> {
    return this.lanes.run(account, attempt);
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => {
      this.counts.hash++;
      return argonHash(password, ARGON2_OPTIONS);
    });
  }

  async verify(stored: string, password: string): Promise<VerifyResult> {
    if (/^\$2[aby]\$/.test(stored)) {
      const ok = await this.queue.run(() => {
        this.counts.verify++;
        return bcryptVerify(password, stored);
      });
      return { ok, needsRehash: ok };
    }
    const ok = await this.queue.run(() => {
      this.counts.verify++;
      return argonVerify(stored, password);
    });
    let needsRehash = false;
    if (ok) {
      const p = parseOptions(stored);
      needsRehash = p.algorithm !== ARGON2ID || p.memoryCost !== ARGON2_OPTIONS.memoryCost || p.timeCost !== ARGON2_OPTIONS.timeCost;
    }
    return { ok, needsRehash };
  }

  /**
   * The same work as a real verification, for an email that has no account, so that the answer takes
   * as long either way and says nothing about which emails exist.
   */
  async verifyDummy(password: string): Promise<void> {
    this.dummyHash ??= argonHash('not a real password: timing equaliser', ARGON2_OPTIONS);
    await this.queue.run(async () => {
      this.counts.verify++;
      return argonVerify(await this.dummyHash!, password);
    });
  }
}

let zxcvbn: ZxcvbnFactory | undefined;

/** Why the password is not acceptable, or null. `context` (email, name) counts against it. */
export function passwordProblem(password: string, context: string[] = []): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  zxcvbn ??= new ZxcvbnFactory({
    translations,
    graphs: adjacencyGraphs,
    dictionary: { ...commonDictionary, ...enDictionary },
  });
  const result = zxcvbn.check(password, context.filter(Boolean));
  if (result.score >= MIN_STRENGTH) return null;
  const hint = result.feedback.warning || result.feedback.suggestions[0] || 'it is too easy to guess';
  return `is too easy to guess (${String(hint).replace(/\.$/, '').toLowerCase()}); use a longer phrase of uncommon words`;
}
