// Sign-in under load, as an attacker and as a team after a deploy would do it: bursts are queued by the
// work they bring (not refused after a fixed wait), one account's burst does not starve the others, the
// failed-login limit holds against parallel guesses, and cheap requests do not buy hashes. Each test runs
// under the shipped defaults unless the setting it changes is the one it tests.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hash as argonHash } from '@node-rs/argon2';
import { startTestApp, uniqueEmail, strongPassword, type TestApp } from './support/app.ts';
import { capturingLogger, testConfig, testRedisPrefix } from './support/env.ts';
import { apiCaller } from './support/http.ts';
import { eventually } from './support/eventually.ts';
import { startRuntime } from '../src/runtime.ts';
import { ARGON2_OPTIONS, PasswordHasher } from '../src/modules/auth/passwords.ts';
import { Lanes, Overloaded } from '../src/infra/semaphore.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(() => t.stop());

const shedCount = async (app: TestApp['running']) =>
  (await app.metrics.loadShed.get()).values.find((v) => v.labels.reason === 'hashing')?.value ?? 0;

const statusCounts = (rs: { status: number }[]) => Object.fromEntries([...new Set(rs.map((r) => r.status))].map((s) => [s, rs.filter((r) => r.status === s).length]));

describe('bursts', () => {
  test('200 concurrent logins of one user under the defaults: all 200, nothing shed', async () => {
    const u = await t.user();
    const shedBefore = await shedCount(t.running);
    const rs = await Promise.all(Array.from({ length: 200 }, () => t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })));
    assert.deepEqual(statusCounts(rs), { 200: 200 }, JSON.stringify(rs.find((r) => r.status !== 200)?.body));
    assert.equal(await shedCount(t.running), shedBefore);
  });

  test('one account\'s burst does not stand in front of another account\'s sign-in, and still all succeeds', async () => {
    const a = await t.user();
    const b = await t.user();
    const hasher = t.running.services.hasher;
    let aDone = 0;
    const burst = Promise.all(Array.from({ length: 150 }, () => t.call('POST', '/api/auth/login', { body: { email: a.email, password: a.password } })
      .then((r) => { aDone++; return r; })));
    // Wait until the burst is hashing, then sign in as someone else.
    const started = hasher.queue.started;
    await eventually(() => hasher.queue.started >= started + 4, 20_000, 'the burst to be hashing', 1);
    const other = await t.call('POST', '/api/auth/login', { body: { email: b.email, password: b.password } });
    const aDoneWhenBWasIn = aDone;
    const rs = await burst;
    assert.equal(other.status, 200);
    assert.deepEqual(statusCounts(rs), { 200: 150 });
    // Behind the whole burst it would have waited for ~150 of A's hashes; in its own line, for a few.
    assert.ok(aDoneWhenBWasIn < 75, `B signed in after ${aDoneWhenBWasIn} of A's 150 sign-ins`);
  });

  test('the account lines serve another account right after the hashes already running', async () => {
    // The same property without HTTP in the way: exact, whatever the machine's speed.
    const hasher = new PasswordHasher({ concurrency: 2, maxWaitMs: 60_000 });
    const stored = await argonHash('Quiet-harbour-lantern-1', ARGON2_OPTIONS);
    let aPassed = 0;
    let aDone = 0;
    const as = Array.from({ length: 40 }, () => hasher.forAccount('a', () => { aPassed++; return hasher.verify(stored, 'wrong guess'); }).then(() => { aDone++; }));
    let passedBeforeB = -1;
    const seenByB = await hasher.forAccount('b', () => { passedBeforeB = aPassed; return hasher.verify(stored, 'wrong guess'); }).then(() => aDone);
    await Promise.all(as);
    // At most 4 of A's attempts are past A's line at once, so B's attempt passes its own line with only
    // those ahead of it in the shared queue (exact, whatever the machine's speed)...
    assert.ok(passedBeforeB <= 4, `B passed its line after ${passedBeforeB} of A's attempts had passed theirs`);
    // ...and is served in turn: it does not wait behind all 40. (A's attempts that start beside B's in the
    // other hashing slot may finish first, so the count of A's finished ones is a bound, not an exact figure.)
    assert.ok(seenByB < 20, `B finished after ${seenByB} of A's attempts`);
  });
});

describe('shedding past HASH_MAX_WAIT_MS', () => {
  test('answers 503 with Retry-After at once, logs a warning without a stack, and counts it', async () => {
    // A bound this small is past as soon as a few hashes queue: the setting under test.
    const capture = capturingLogger('warn');
    const config = testConfig({ REDIS_KEY_PREFIX: `${testRedisPrefix()}${randomBytes(4).toString('hex')}:`, HASH_MAX_WAIT_MS: '20' });
    const running = await startRuntime('serve', config, capture.log);
    try {
      const call = apiCaller(running.url!);
      const people: { email: string; password: string }[] = [];
      for (let i = 0; i < 60; i++) { // one at a time: in parallel, the bound would refuse these too
        const p = { email: uniqueEmail('burst'), password: strongPassword() };
        await running.services.auth.createVerifiedUser({ ...p, name: 'Burst' });
        people.push(p);
      }
      const rs = await Promise.all(people.map((p) => call('POST', '/api/auth/login', { body: p })));
      const counts = statusCounts(rs);
      assert.deepEqual(Object.keys(counts).sort(), ['200', '503'], JSON.stringify(counts));
      for (const r of rs.filter((x) => x.status === 503)) {
        assert.equal(r.body.code, 'OVERLOADED');
        assert.ok(Number(r.headers.get('retry-after')) >= 1, String(r.headers.get('retry-after')));
        assert.match(r.body.message, /busy \(password hashing\); try again in \d+ s/);
      }
      const lines = capture.lines();
      const shed = lines.filter((l) => l.msg === 'request shed: at capacity');
      assert.equal(shed.length, counts[503]);
      assert.ok(shed.every((l) => l.level === 40 && l.err === undefined && !JSON.stringify(l).includes('stack')), JSON.stringify(shed[0]));
      assert.deepEqual(lines.filter((l) => Number(l.level) >= 50), [], 'no error for deliberate shedding');
      assert.equal((await running.metrics.loadShed.get()).values.find((v) => v.labels.reason === 'hashing')?.value, counts[503]);
    } finally {
      await running.stop();
    }
  });

  test('an account\'s line refuses at once past its length, whatever the machine\'s speed', async () => {
    const shed: number[] = [];
    const lanes = new Lanes('attempts', { perKey: 1, maxWaiting: 2, parallel: 1, costMs: () => 1500, onShed: (s) => shed.push(s) });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const runs = Array.from({ length: 4 }, () => lanes.run('a', () => gate));
    const refused = assert.rejects(runs[3]!, (e: unknown) => e instanceof Overloaded && e.retryAfterSeconds === 3);
    assert.equal(await lanes.run('b', async () => 'b ran'), 'b ran', 'another key is not held up');
    await refused;
    assert.deepEqual(shed, [3]);
    release();
    await Promise.all(runs.slice(0, 3));
    assert.equal(lanes.size, 0, 'an idle key holds nothing');
  });

  test('a queue refuses at once what it could not start within the bound, and Retry-After says when it has room', async () => {
    const shed: number[] = [];
    const hasher = new PasswordHasher({ concurrency: 1, maxWaitMs: 0, onShed: () => shed.push(1) });
    const stored = await argonHash('Quiet-harbour-lantern-1', ARGON2_OPTIONS);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => hasher.verify(stored, 'x')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'the one that found a free slot');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Overloaded);
    assert.equal(refused.length, 4);
    assert.ok(refused.every((e) => e instanceof Overloaded && e.retryAfterSeconds >= 1));
    assert.equal(shed.length, 4);
    assert.equal(hasher.counts.verify, 1);
  });
});

test('a sign-up shed for capacity does not count against the address\'s sign-up limit', async () => {
  // One hashing slot and no queue (the settings under test): of parallel sign-ups, all but the first are shed.
  const app = await startTestApp({ HASH_CONCURRENCY: '1', HASH_MAX_WAIT_MS: '0' });
  try {
    const limit = 10; // LIMIT_REGISTER_IP's default
    const register = () => app.call('POST', '/api/auth/register', { body: { email: uniqueEmail('signup'), password: strongPassword(), name: 'New' } });
    const burst = await Promise.all(Array.from({ length: limit }, register));
    const counts = statusCounts(burst);
    assert.ok(counts[503]! > 0 && counts[202]! > 0, JSON.stringify(counts));
    // One at a time, the address still has every sign-up the shed ones did not use.
    const later: number[] = [];
    for (let i = 0; i < counts[503]! + 1; i++) later.push((await register()).status);
    assert.deepEqual(later, [...Array(counts[503]).fill(202), 429]);
  } finally {
    await app.stop();
  }
});

describe('the failed-login limit under parallel guesses', () => {
  test('300 parallel wrong passwords for one account: at most the limit reach argon2', async () => {
    const u = await t.user();
    const limit = 10; // LIMIT_LOGIN_FAILURES_ACCOUNT_IP's default: failures of one account from one address
    const hasher = t.running.services.hasher;
    const before = hasher.counts.verify;
    const rs = await Promise.all(Array.from({ length: 300 }, (_, i) => t.call('POST', '/api/auth/login', { body: { email: u.email, password: `Wrong-guess-${i}-of-many` } })));
    const counts = statusCounts(rs);
    // 503: shed for capacity on a busy machine, also a refusal without a hash.
    assert.deepEqual(Object.keys(counts).filter((c) => !['401', '429', '503'].includes(c)), [], JSON.stringify(counts));
    assert.ok(counts[401]! <= limit && counts[429]! > 0, JSON.stringify(counts));
    assert.ok(hasher.counts.verify - before <= limit, `${hasher.counts.verify - before} verifications`);
    assert.ok(Number(rs.find((r) => r.status === 429)!.headers.get('retry-after')) > 0);
    // The account is closed to this address, for the right password too.
    assert.equal((await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 429);
  });
});

describe('cheap requests do not buy hashes', () => {
  test('reset-password with a made-up or spent token answers 400 without hashing', async () => {
    const hasher = t.running.services.hasher;
    const before = hasher.counts.hash;
    const bogus = await t.call('POST', '/api/auth/reset-password', { body: { token: `pr_${randomBytes(32).toString('base64url')}`, newPassword: strongPassword() } });
    assert.equal(bogus.status, 400);
    assert.equal(bogus.body.code, 'INVALID_TOKEN');
    assert.equal(hasher.counts.hash, before, 'no hash for a made-up token');

    const u = await t.user();
    await t.call('POST', '/api/auth/forgot-password', { body: { email: u.email } });
    const { mailOutbox } = await import('../src/modules/mail/schema.ts');
    const { eq } = await import('drizzle-orm');
    const rows = await t.running.services.db.select().from(mailOutbox).where(eq(mailOutbox.to, u.email));
    const token = decodeURIComponent(/#token=([^\s]+)/.exec(rows.map((r) => r.text).find((x) => x.includes('/reset-password#token='))!)![1]!);
    assert.equal((await t.call('POST', '/api/auth/reset-password', { body: { token, newPassword: strongPassword() } })).status, 200);
    const spentBefore = hasher.counts.hash;
    const spent = await t.call('POST', '/api/auth/reset-password', { body: { token, newPassword: strongPassword() } });
    assert.equal(spent.status, 400);
    assert.equal(hasher.counts.hash, spentBefore, 'no hash for a spent token');
  });

  for (const [method, path, field] of [['POST', '/api/auth/password', 'currentPassword'], ['DELETE', '/api/auth/me', 'password']] as const) {
    test(`${method} ${path}: wrong passwords count against the account's failed-login limit`, async () => {
      const u = await t.user();
      const s = await t.login(u.email, u.password);
      const body = (pw: string) => (field === 'currentPassword' ? { currentPassword: pw, newPassword: strongPassword() } : { password: pw });
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await t.call(method, path, { token: s.accessToken, body: body(`Wrong-guess-${i}-of-many`) })).status);
      assert.deepEqual(statuses, [...Array(10).fill(400), 429]);
      const refused = await t.call(method, path, { token: s.accessToken, body: body(u.password) });
      assert.equal(refused.status, 429, 'the right password too, until the window passes');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.equal((await t.call('POST', '/api/auth/login', { body: { email: u.email, password: u.password } })).status, 429, 'the same limit as sign-in');
    });
  }

  test('a right current password is not counted: many changes in a row all succeed', async () => {
    const u = await t.user();
    let password = u.password;
    let s = await t.login(u.email, password);
    for (let i = 0; i < 12; i++) {
      const next = strongPassword();
      const r = await t.call('POST', '/api/auth/password', { token: s.accessToken, body: { currentPassword: password, newPassword: next } });
      assert.equal(r.status, 200, `change ${i}: ${JSON.stringify(r.body)}`);
      password = next;
      if (i % 4 === 3) s = await t.login(u.email, password);
    }
  });
});
