// Password hashing and policy.
// - argon2id at OWASP's parameters (19 MiB, t=2, p=1) through @node-rs/argon2, which hashes on libuv's
//   thread pool, never on the event loop; a semaphore sized to the CPU cores bounds the work in flight
//   and refuses (503) rather than queue for seconds.
// - bcrypt hashes (users imported from the seed's system) verify through @node-rs/bcrypt and are
//   re-hashed to argon2id on the next successful login.
// - Length 8-128 and zxcvbn-ts (its common-password and breach-derived dictionaries) refuse weak ones.
import { availableParallelism } from 'node:os';
import { hash as argonHash, verify as argonVerify, parseOptions } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as enDictionary, translations } from '@zxcvbn-ts/language-en';
import { Semaphore } from '../../infra/semaphore.ts';

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

export class PasswordHasher {
  readonly semaphore: Semaphore;
  private dummyHash: Promise<string> | undefined;

  constructor(opts: { concurrency?: number; maxWaitMs: number }) {
    this.semaphore = new Semaphore('password hashing', opts.concurrency ?? availableParallelism(), opts.maxWaitMs);
  }

  hash(password: string): Promise<string> {
    return this.semaphore.run(() => argonHash(password, ARGON2_OPTIONS));
  }

  async verify(stored: string, password: string): Promise<VerifyResult> {
    if (/^\$2[aby]\$/.test(stored)) {
      const ok = await this.semaphore.run(() => bcryptVerify(password, stored));
      return { ok, needsRehash: ok };
    }
    const ok = await this.semaphore.run(() => argonVerify(stored, password));
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
    await this.semaphore.run(async () => argonVerify(await this.dummyHash!, password));
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
