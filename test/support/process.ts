// Runs the real `allin` command in a child process and waits for what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ALLIN = fileURLToPath(new URL('../../bin/allin.js', import.meta.url));

export interface AllinProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first JSON log line matching the predicate. */
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** `root`: another installation of AllIN to run (its bin/allin.js, in its folder); this checkout by default. */
export function spawnAllin(args: string[], env: Record<string, string | undefined>, root = ROOT): AllinProcess {
  const child = spawn(process.execPath, [root === ROOT ? ALLIN : join(root, 'bin', 'allin.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: 'json', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let err = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ text: line });
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      for (const w of waiters) w();
      res({ code, signal });
    });
  });
  return {
    child, lines, stderr: () => err, exited,
    kill: (signal = 'SIGTERM') => { child.kill(signal); },
    waitFor(pred, timeoutMs = 60_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            cleanup();
            res(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            rej(new Error(`allin ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before the expected line.\nstdout: ${JSON.stringify(lines.slice(-10))}\nstderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`timed out waiting for allin ${args.join(' ')}.\nstdout: ${JSON.stringify(lines.slice(-10))}\nstderr: ${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export const isReady = (l: Record<string, unknown>) => typeof l.url === 'string' && typeof l.msg === 'string' && (l.msg as string).includes('is ready');
