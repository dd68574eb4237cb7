// The rig of the SIGKILL tests: a simulator, a database and an API process of their own, `allin worker`
// child processes started and killed on demand, and the loop that kills a worker a random moment after it
// took work. What the kills must leave behind is each test's own to assert, against the network.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator, type Simulator } from '../../tools/provider-sim/server.ts';
import { createTempDatabase, testRedisPrefix, testRedisUrl } from './env.ts';
import { startTestApp, type TestApp } from './app.ts';
import { spawnAllin, type AllinProcess } from './process.ts';
import { eventually } from './eventually.ts';

export interface CrashRig {
  sim: Simulator;
  api: TestApp;
  /** The environment every worker starts with. */
  env: Record<string, string>;
  /** A signed-in owner and their workspace. */
  token: string;
  ws: string;
  startWorker(): AllinProcess;
  /** The `n` column of the first row of `q`. */
  count(q: string, values?: unknown[]): Promise<number>;
  /** Ends every worker still running (SIGKILL), the API, the simulator and the database. */
  stop(): Promise<void>;
}

/** `name` tells this rig's Redis keys and secret apart; `settings` are the test's own (concurrency, leases, tries). */
export async function crashRig(name: string, settings: Record<string, string>): Promise<CrashRig> {
  const sim = await startSimulator();
  const db = await createTempDatabase();
  const env = {
    NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: `${testRedisPrefix()}${name}${randomBytes(3).toString('hex')}:`,
    AUTH_SECRET: `${name}-secret-${randomBytes(24).toString('hex')}`, ENCRYPTION_KEYS: `c1:${randomBytes(32).toString('base64')}`,
    SIMULATOR_URL: sim.url, SANDBOX: 'on', LOG_LEVEL: 'warn', WORKER_PORT: '0', WORKER_POLL_INTERVAL_MS: '100',
    HEARTBEAT_INTERVAL_SECONDS: '2', PUBLISH_LEASE_SECONDS: '2', PUBLISH_SWEEP_INTERVAL_MS: '300', PUBLISH_BACKOFF_BASE_MS: '100', PUBLISH_BACKOFF_MAX_MS: '500',
    STARTUP_MAX_ATTEMPTS: '5', SHUTDOWN_TIMEOUT_MS: '2000', ...settings,
  };
  const api = await startTestApp({ ...env, PORT: '0' }, 'serve');
  const u = await api.user();
  const token = (await api.login(u.email, u.password)).accessToken as string;
  const ws = (await api.call('POST', '/api/workspaces', { token, body: { name } })).body.id as string;
  const workers = new Set<AllinProcess>();
  return {
    sim, api, env, token, ws,
    startWorker() {
      const w = spawnAllin(['worker'], env);
      workers.add(w);
      void w.exited.then(() => workers.delete(w));
      return w;
    },
    count: async (q, values = []) => (await api.running.pool.query(q, values)).rows[0].n as number,
    async stop() {
      for (const w of workers) w.kill('SIGKILL');
      await Promise.all([...workers].map((w) => w.exited));
      await api.stop();
      await sim.stop();
      await db.drop();
    },
  };
}

export interface KillLoop {
  kills: number;
  /** Kills that found the victim with a network call in flight. */
  midCall: number;
  /** How long each victim took to hold work, in ms. */
  waits: number[];
  /** The workers still running at the end. */
  live: AllinProcess[];
}

/**
 * Starts two workers, then `kills` times: tops the queue up, waits until the oldest worker holds work,
 * kills it with SIGKILL a random moment later (before, during or after a call) and starts another.
 * `holding(pid)` says whether that worker holds work ('done' when nothing is left to hold: the loop ends);
 * `inFlight(pid)` whether it has a network call in flight.
 */
export async function killLoop(rig: CrashRig, opts: {
  kills: number;
  what: string;
  topUp?: () => Promise<void>;
  holding: (pid: number) => Promise<boolean | 'done'>;
  inFlight: (pid: number) => Promise<boolean>;
}): Promise<KillLoop> {
  const out: KillLoop = { kills: 0, midCall: 0, waits: [], live: [rig.startWorker(), rig.startWorker()] };
  while (out.kills < opts.kills) {
    await opts.topUp?.();
    const victim = out.live.shift()!;
    const pid = victim.child.pid!;
    const waitStarted = Date.now();
    const held = await eventually(async () => {
      if (victim.child.exitCode !== null) throw new Error(`worker exited (${victim.child.exitCode}): ${victim.stderr()}${JSON.stringify(victim.lines.slice(-5))}`);
      return opts.holding(pid);
    }, 60_000, `worker ${pid} to start ${opts.what}`);
    if (held === 'done') {
      out.live.push(victim);
      break;
    }
    out.waits.push(Date.now() - waitStarted);
    await sleep(Math.floor(Math.random() * 250));
    if (await opts.inFlight(pid)) out.midCall++;
    victim.kill('SIGKILL');
    await victim.exited;
    out.kills++;
    out.live.push(rig.startWorker());
  }
  return out;
}

/** Stops workers the way an operator would (SIGTERM) and waits for them. */
export async function stopWorkers(workers: AllinProcess[]): Promise<void> {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}
