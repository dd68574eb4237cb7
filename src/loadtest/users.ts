// The users a load test signs in as. It never relies on a built-in password: it makes its own users, each
// with a random strong password that lives only in this process, in one of two ways:
// - api: POST /api/auth/register, then the verification link from the development mail route
//   (GET /api/dev/mail, absent in production) and POST /api/auth/verify-email. Works against any URL of a
//   non-production AllIN, at the price of one sign-up each (LIMIT_REGISTER_IP, default 10 an hour per IP).
// - cli: `allin users create` in a child process, with this terminal's configuration: the user lands in
//   the database this machine's AllIN uses (DATABASE_URL, or the embedded one of a running `npm start`).
//   No sign-up limit; only for a server whose database this machine reaches.
// `auto` picks cli for a loopback URL and api otherwise. Against a production server, create users there
// with `allin users create` and pass them with --user (password from ALLIN_LOADTEST_PASSWORD).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.ts';
import type { Target } from './http.ts';
import { jsonOf } from './http.ts';

export interface Credentials {
  email: string;
  password: string;
}

export type CreateUsers = 'auto' | 'api' | 'cli';

export class SetupError extends Error {}

// From the project root, not this file: it runs from src/loadtest/ or, compiled, from dist/src/loadtest/.
const ALLIN_BIN = join(PROJECT_ROOT, 'bin', 'allin.js');

export const randomPassword = () => `Load-${randomBytes(12).toString('base64url')}-harbour-lantern`;

export function isLoopback(url: URL): boolean {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

export function resolveMethod(method: CreateUsers, url: URL): 'api' | 'cli' {
  if (method !== 'auto') return method;
  return isLoopback(url) ? 'cli' : 'api';
}

export async function provisionUsers(target: Target, n: number, opts: {
  method: CreateUsers;
  existing?: string[];
  runId: string;
  log: (line: string) => void;
}): Promise<{ users: Credentials[]; method: 'api' | 'cli' | 'given' }> {
  if (opts.existing && opts.existing.length > 0) {
    const password = process.env.ALLIN_LOADTEST_PASSWORD;
    if (!password) throw new SetupError('--user needs the password of those users in ALLIN_LOADTEST_PASSWORD');
    const users = opts.existing.map((email) => ({ email, password }));
    await canary(target, users[0]!, 'given');
    return { users, method: 'given' };
  }
  const method = resolveMethod(opts.method, target.base);
  const users = Array.from({ length: n }, (_, i) => ({ email: `loadtest-${opts.runId}-${i}@example.com`, password: randomPassword() }));
  opts.log(`creating ${n} user${n === 1 ? '' : 's'} (${method === 'api' ? 'POST /api/auth/register + /api/dev/mail' : 'allin users create'})`);
  if (method === 'api') {
    for (const u of users) await registerThroughApi(target, u);
  } else {
    // Two at a time: each is a process that hashes a password.
    for (let i = 0; i < users.length; i += 2) await Promise.all(users.slice(i, i + 2).map((u) => createWithCli(u)));
  }
  await canary(target, users[0]!, method);
  return { users, method };
}

/** One sign-in before the run, so a user the server cannot see fails here with a reason, not as 401s. */
async function canary(target: Target, u: Credentials, method: 'api' | 'cli' | 'given'): Promise<void> {
  const r = await target.send({ method: 'POST', path: '/api/auth/login', body: { email: u.email, password: u.password } });
  if (r.status === '200') {
    const token = jsonOf<{ accessToken: string }>(r)?.accessToken;
    if (token) await target.send({ method: 'POST', path: '/api/auth/logout', headers: { authorization: `Bearer ${token}` }, body: {} }, false);
    return;
  }
  const why = method === 'cli'
    ? 'the user was made with `allin users create` in this terminal\'s database, which is not the server\'s (set DATABASE_URL as the server has it, run from the folder of its `npm start`, or use --create-users api)'
    : method === 'given' ? 'check --user and ALLIN_LOADTEST_PASSWORD' : 'registration through the API did not give a user that can sign in';
  throw new SetupError(`signing in as ${u.email} answered ${r.status} ${r.text.slice(0, 200)}: ${why}`);
}

async function registerThroughApi(target: Target, u: Credentials): Promise<void> {
  const reg = await target.send({ method: 'POST', path: '/api/auth/register', body: { email: u.email, password: u.password, name: 'Load Test' } });
  if (reg.status === '429') throw new SetupError(`POST /api/auth/register answered 429: this IP used up its sign-ups (LIMIT_REGISTER_IP). Use --create-users cli on the server's machine, or --user with existing users`);
  if (reg.status !== '202') throw new SetupError(`POST /api/auth/register answered ${reg.status}: ${reg.text.slice(0, 200)}`);
  const mail = await target.send({ method: 'GET', path: `/api/dev/mail?to=${encodeURIComponent(u.email)}&limit=5` });
  if (mail.status === '404') throw new SetupError('GET /api/dev/mail answered 404: the server runs in production, so users cannot be confirmed through the API. Create them there with `allin users create` and pass --user (password in ALLIN_LOADTEST_PASSWORD)');
  const body = jsonOf<{ mail: { text: string }[] }>(mail);
  const link = body?.mail.map((m) => /#token=([^\s]+)/.exec(m.text)?.[1]).find(Boolean);
  if (!link) throw new SetupError(`no verification mail for ${u.email} in /api/dev/mail (${mail.status})`);
  const verify = await target.send({ method: 'POST', path: '/api/auth/verify-email', body: { token: decodeURIComponent(link) } });
  if (verify.status !== '200') throw new SetupError(`POST /api/auth/verify-email answered ${verify.status}: ${verify.text.slice(0, 200)}`);
}

function createWithCli(u: Credentials): Promise<void> {
  return new Promise((resolve, reject) => {
    // The password goes through the environment, not the command line (which any local user can read).
    execFile(process.execPath, [ALLIN_BIN, 'users', 'create', '--email', u.email, '--name', 'Load Test', '--json'], {
      cwd: process.cwd(), env: { ...process.env, ALLIN_USER_PASSWORD: u.password, LOG_LEVEL: 'warn' }, timeout: 120_000,
    }, (err, stdout, stderr) => {
      if (err) return reject(new SetupError(`allin users create failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`));
      if (!stdout.includes('"id"')) return reject(new SetupError(`allin users create printed no user: ${stdout.trim()}`));
      resolve();
    });
  });
}
