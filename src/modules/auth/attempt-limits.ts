// The failed sign-in limits of an account, shared by every check of something only its owner knows: the
// password (sign-in, re-confirmation before a sensitive change) and the second factor (a code or a recovery
// code). Counted per account and IP, per IP and per account (LIMIT_LOGIN_FAILURES_*), so guessing codes
// after a stolen password costs the same allowance as guessing passwords.
import { consume, tooMany, type Limiter } from '../../infra/rate-limit.ts';

export interface FailureLimiters {
  loginAccountIp: Limiter;
  loginIp: Limiter;
  loginAccount: Limiter;
}

export type Counters = [Limiter, string][];

export class AttemptLimits {
  constructor(private readonly limits: FailureLimiters) {}

  /** The failed-attempt counters of an account seen from an address: per account and IP, per IP, per account. */
  counters(email: string, ip: string): Counters {
    const { loginAccountIp, loginIp, loginAccount } = this.limits;
    return [[loginAccountIp, `${email}|${ip}`], [loginIp, ip], [loginAccount, email]];
  }

  /**
   * Runs one check under the failed-attempt limits. A failure is reserved on every counter before the check
   * runs, so parallel guesses cannot all pass a test made before any of them was counted, and given back
   * unless the answer was wrong: a legitimate user signing in often is never refused. Callers run it in the
   * account's line (hasher.forAccount), which bounds the reservations in flight.
   */
  async check(counters: Counters, message: string, check: () => Promise<boolean>): Promise<{ ok: boolean; counted: number }> {
    const taken = await Promise.all(counters.map(([l, key]) => consume(l, key)));
    const refused = taken.findIndex((r) => !r.ok);
    if (refused >= 0) {
      await this.giveBack(counters); // a refused attempt is not counted
      throw tooMany(counters[refused]![0], taken[refused]!.res, message);
    }
    let wrong = false;
    try {
      wrong = !(await check());
      // `counted`: what the first counter held besides this attempt (failures, and attempts in flight).
      return { ok: !wrong, counted: taken[0]!.res.consumedPoints - 1 };
    } finally {
      if (!wrong) await this.giveBack(counters); // right, or not checked at all (shed): not a failure
    }
  }

  /** A completed sign-in forgives this account's earlier failures from this address. */
  async forgive(counters: Counters): Promise<void> {
    await counters[0]![0].impl.delete(counters[0]![1]).catch(() => undefined);
  }

  private async giveBack(counters: Counters): Promise<void> {
    await Promise.all(counters.map(([l, key]) => l.impl.reward(key, 1).catch(() => undefined)));
  }
}
