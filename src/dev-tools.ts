// The one seam between production code and the development tools that live beside it: the network
// simulator (tools/provider-sim, for the Sandbox network and `allin sim`) and the benchmarks (bench/, for
// `allin bench`). Production code never imports them by name: a production build leaves them out (the
// container image copies only dist/src), and the linter's layer rule forbids src/ → bench|tools|test. They
// are loaded here through a file URL computed at run time, which neither tsc nor dependency-cruiser follows,
// and only when the file is there: the .ts sources when AllIN runs from src/ (tsx), the compiled .js when
// it runs from dist/src/ (ALLIN_RUN=dist). Where a tool is missing, callers say so and carry on without it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './paths.ts';

/** What tools/provider-sim/server.ts exports (test/unit/dev-tools.test.ts checks the two agree). */
export interface SimulatorModule {
  startSimulator(opts: { port: number; host: string }): Promise<{ url: string; stop(): Promise<void> }>;
}

/** What bench/run.ts exports (checked the same way). */
export interface BenchModule {
  runBench(args: string[]): Promise<number>;
}

// This file is src/dev-tools.ts or dist/src/dev-tools.js: one folder up is the tree the tools sit in
// (the checkout, or dist/), and they have this file's extension.
const TREE = new URL('../', import.meta.url);
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The file a tool would be loaded from (whether or not it exists). */
export function devToolPath(name: string): string {
  return fileURLToPath(new URL(`${name}${EXTENSION}`, TREE));
}

async function load<T>(name: string): Promise<T | undefined> {
  const file = devToolPath(name);
  if (!existsSync(file)) return undefined;
  return (await import(pathToFileURL(file).href)) as T;
}

export const SIMULATOR = 'tools/provider-sim/server';
export const BENCH = 'bench/run';

/** The network simulator, or undefined when this installation has none. */
export const loadSimulator = (): Promise<SimulatorModule | undefined> => load<SimulatorModule>(SIMULATOR);

/** A development install has every devDependency of package.json (`npm install`, not `npm ci --omit=dev`). */
export function missingDevDependencies(root: string = PROJECT_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  // npm always installs a project's direct dependencies at the top of its node_modules.
  return Object.keys(pkg.devDependencies ?? {}).filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
}

/**
 * Loads a development tool for the command `allin <command>`, or says in one line on stderr why this
 * installation cannot run it and answers undefined (the command then exits 1).
 */
export async function loadDevTool<T>(command: string, name: string, root: string = PROJECT_ROOT): Promise<T | undefined> {
  const missing = missingDevDependencies(root);
  const mod = missing.length === 0 ? await load<T>(name) : undefined;
  if (mod) return mod;
  const why = missing.length > 0
    ? `this one lacks the development dependencies (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? `, and ${missing.length - 3} more` : ''})`
    : EXTENSION === '.js' && existsSync(join(root, `${name}.ts`))
      ? `it runs from the TypeScript sources, not from the compiled dist/ (unset ALLIN_RUN)`
      : `this one has no ${name}${EXTENSION}`;
  console.error(`allin ${command} needs a development install (\`npm install\`, without --omit=dev, in a checkout of the repository): ${why}.`);
  return undefined;
}

export const loadBench = (command: string): Promise<BenchModule | undefined> => loadDevTool<BenchModule>(command, BENCH);
