// Shared helpers for benchmarks: start a server process and wait for the URL it prints, run autocannon.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ALLIN_BIN = fileURLToPath(new URL('../bin/allin.js', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a process and resolves with the first `url` it prints in a JSON line on stdout. */
export function startServer(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${tail.join('\n')}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      try {
        const msg = JSON.parse(line) as { url?: string; msg?: string };
        // The server's own ready line (AllIN logs other URLs first, e.g. its in-process simulator's).
        if (msg.url && (msg.msg === undefined || msg.msg.includes('is ready'))) {
          clearTimeout(timer);
          resolve({
            url: msg.url,
            child,
            stop: () => new Promise((res) => {
              if (child.exitCode !== null) return res();
              child.once('exit', () => res());
              child.kill('SIGTERM');
            }),
          });
        }
      } catch { /* not JSON */ }
    });
    child.stderr!.on('data', (d: Buffer) => tail.push(d.toString().trim()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${tail.join('\n')}`));
    });
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** wrk (C, one thread) when installed: it needs far less CPU than the server it loads, so on a 2-core machine
 *  the server, not the load generator, is what gets measured. autocannon otherwise. */
export const HAVE_WRK = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status === 1; // wrk --version exits 1 after printing its version
  }
})();

export async function load(url: string, opts: { connections: number; seconds: number }): Promise<LoadResult> {
  if (HAVE_WRK) return loadWrk(url, opts);
  return loadAutocannon(url, opts);
}

/** One wrk run (one thread): extra options before the URL, script arguments after it. */
export function runWrk(url: string, opts: { connections: number; seconds: number; extra?: string[]; scriptArgs?: string[] }): Promise<LoadResult> {
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', ...(opts.extra ?? []), url, ...(opts.scriptArgs ?? [])];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { encoding: 'utf8' }, (err, out) => {
      if (err) return reject(err);
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
      const ms = (re: RegExp) => {
        const m = re.exec(out);
        if (!m) return NaN;
        const v = Number(m[1]);
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
      };
      resolve({
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
        p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
        errors: num(/Socket errors:.*?(\d+)/) || 0,
        non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
      });
    });
  });
}

const loadWrk = (url: string, opts: { connections: number; seconds: number }) => runWrk(url, opts);

async function loadAutocannon(url: string, opts: { connections: number; seconds: number }): Promise<LoadResult> {
  const r = await autocannon({ url, connections: opts.connections, duration: opts.seconds, pipelining: 1 });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * CPU time (ms) a server process has used so far, split into its main thread (the event loop), its
 * other threads (libuv's pool, where passwords are hashed, and V8's helpers) and its child processes
 * still running, with `alsoChildren` and their descendants (the embedded PostgreSQL, which runs
 * detached, and its backends). Linux only (/proc); null elsewhere.
 */
export function processCpu(pid: number, alsoChildren: number[] = []): { main: number; threads: number; children: number } | null {
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  };
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const ms = (t: number) => (t * 1000) / hz;
    let main = 0;
    let threads = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const t = ticks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (Number(tid) === pid) main += t;
      else threads += t;
    }
    const parent = new Map<number, number>();
    const own = new Map<number, number>();
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
        own.set(Number(p), ticks(stat));
      } catch { /* exited meanwhile */ }
    }
    const roots = new Set([pid, ...alsoChildren]);
    const descends = (p: number): boolean => {
      if (alsoChildren.includes(p)) return true;
      for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) if (roots.has(q)) return true;
      return false;
    };
    let children = 0;
    for (const [p, t] of own) if (descends(p)) children += t;
    return { main: ms(main), threads: ms(threads), children: ms(children) };
  } catch {
    return null;
  }
}

/** CPU time (ms, all threads, user + system) the processes have used so far; those gone count 0. Linux only (/proc). */
export function cpuMsOf(pids: number[]): number {
  let hz = 100;
  try { hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { /* the usual 100 */ }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return (ticks * 1000) / hz;
}
