// Timing, on its own: scripts/test.js runs *.serial.test.ts files after the others, one at a time, so a
// measurement of milliseconds does not share the CPU with other test files hashing passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, uniqueEmail } from './support/app.ts';

const LOOSE = {
  HASH_MAX_WAIT_MS: '20000',
  LIMIT_LOGIN_FAILURES_ACCOUNT_IP: '1000/900',
  LIMIT_LOGIN_FAILURES_IP: '1000/900',
  LIMIT_LOGIN_FAILURES_ACCOUNT: '1000/900',
};

test('login timing: unknown email and wrong password differ by less than 10% over 50 tries each', async () => {
  const app = await startTestApp(LOOSE);
  try {
    const u = await app.user();
    const nobody = uniqueEmail('nobody');
    const time = async (email: string) => {
      const t0 = performance.now();
      const r = await app.call('POST', '/api/auth/login', { body: { email, password: 'Definitely-not-it-123' } });
      assert.equal(r.status, 401);
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) { await time(u.email); await time(nobody); } // warm-up
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 50; i++) {
      // Pairs, in alternating order: the two of a pair run under the same machine conditions.
      if (i % 2) { known.push(await time(u.email)); unknown.push(await time(nobody)); } else { unknown.push(await time(nobody)); known.push(await time(u.email)); }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const typical = median([...known, ...unknown]);
    const pairedDifference = median(known.map((k, i) => k - unknown[i]!));
    assert.ok(Math.abs(pairedDifference) / typical < 0.1,
      `wrong password ${median(known).toFixed(1)} ms vs unknown email ${median(unknown).toFixed(1)} ms (median paired difference ${pairedDifference.toFixed(1)} ms)`);
  } finally {
    await app.stop();
  }
});
