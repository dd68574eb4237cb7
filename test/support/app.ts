// An AllIN API process for a test file: the run's database, Redis under a key prefix of its own (so
// rate-limit counters of one file do not reach another), and helpers to make users and sign in.
import { randomBytes } from 'node:crypto';
import { startRuntime, type Running, type StartOptions } from '../../src/runtime.ts';
import type { Role } from '../../src/app.ts';
import { testConfig, quietLogger, testRedisPrefix, createTempDatabase } from './env.ts';
import type { Logger } from '../../src/infra/logger.ts';
import { apiCaller, json, type CallApi, type Json } from './http.ts';

export interface TestApp {
  running: Running;
  url: string;
  /** A verified user with a strong password. */
  user(opts?: { email?: string; password?: string; name?: string }): Promise<{ id: string; email: string; password: string }>;
  login(email: string, password: string, extra?: Record<string, unknown>): Promise<Json>;
  /** fetch with JSON in and out; `token` becomes a Bearer header. */
  call: CallApi;
  stop(): Promise<void>;
}

let seq = 0;
export const uniqueEmail = (tag = 'user') => `${tag}-${Date.now().toString(36)}-${(seq++).toString(36)}-${randomBytes(3).toString('hex')}@example.com`;
export const strongPassword = () => `Quiet-${randomBytes(6).toString('base64url')}-harbour-lantern`;

/**
 * A process with a job runner ('start', 'worker') gets a database of its own: a runner takes any job in
 * its database, and one test's jobs must not run with another test's configuration.
 */
export async function startTestApp(overrides: Record<string, string | undefined> = {}, role: Role = 'serve', opts: StartOptions = {}, log: Logger = quietLogger()): Promise<TestApp> {
  const fresh = role === 'serve' ? undefined : await createTempDatabase();
  const config = testConfig({
    REDIS_KEY_PREFIX: `${testRedisPrefix()}${randomBytes(4).toString('hex')}:`, ...(fresh ? { DATABASE_URL: fresh.url } : {}), ...overrides,
  });
  const running = await startRuntime(role, config, log, opts);
  const url = running.url!;
  const call: TestApp['call'] = apiCaller(url);
  return {
    running, url, call,
    async user(opts = {}) {
      const email = opts.email ?? uniqueEmail();
      const password = opts.password ?? strongPassword();
      const r = await running.services.auth.createVerifiedUser({ email, password, name: opts.name ?? 'Test User' });
      return { id: r.id, email, password };
    },
    async login(email, password, extra = {}) {
      const r = await call('POST', '/api/auth/login', { body: { email, password, ...extra } });
      if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async stop() {
      await running.stop();
      await fresh?.drop();
    },
  };
}

export { json };
