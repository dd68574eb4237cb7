// Builds the web app (web/ → web/dist) with Vite when its build is missing or stale. "Stale" is decided
// by content, not file times: web/dist/.build-stamp holds a hash of every input (the app's sources, its
// config, and the server files it imports to count text as the server does), so a fresh clone, a pull or
// an edit rebuilds, and an unchanged tree does not. Runs before `npm start` (prestart) and before the
// browser tests; `npm run build:web` rebuilds anyway.
// Vite is a development dependency: where it is not installed (npm ci --omit=dev) this says so and
// exits 0, and AllIN's `/` then points to the API documentation.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = join(ROOT, 'web');
const DIST = join(WEB, 'dist');
const STAMP = join(DIST, '.build-stamp');

/** Files whose content decides the build (the shared counting code included). */
function inputs(): string[] {
  const walk = (dir: string): string[] => existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    : [];
  return [
    ...walk(join(WEB, 'src')), ...walk(join(WEB, 'public')),
    join(WEB, 'index.html'), join(WEB, 'vite.config.ts'),
    join(ROOT, 'src', 'providers', 'text.ts'), join(ROOT, 'src', 'providers', 'types.ts'), join(ROOT, 'src', 'modules', 'posts', 'validate.ts'),
    join(ROOT, 'package-lock.json'),
  ].filter((f) => existsSync(f) && statSync(f).isFile()).sort();
}

export function webInputsHash(): string {
  const h = createHash('sha256');
  for (const f of inputs()) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

export function webBuildIsCurrent(): boolean {
  return existsSync(join(DIST, 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === webInputsHash();
}

/** Builds when needed; answers what it did. */
export async function buildWeb(opts: { force?: boolean; quiet?: boolean } = {}): Promise<'built' | 'current' | 'skipped'> {
  const say = (m: string) => { if (!opts.quiet) console.log(m); };
  if (!existsSync(join(WEB, 'index.html'))) {
    say('web app: no web/ folder in this installation; not built');
    return 'skipped';
  }
  if (!opts.force && webBuildIsCurrent()) {
    say('web app: web/dist is up to date');
    return 'current';
  }
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    say('web app: not built, because Vite (a development dependency) is not installed; `/` will point to the API documentation at /docs');
    return 'skipped';
  }
  const hash = webInputsHash();
  say('web app: building web/ into web/dist with Vite');
  // Built beside web/dist and swapped in whole, so a running AllIN never reads a half-written build.
  const next = join(WEB, `.dist-${process.pid}`);
  const old = join(WEB, `.dist-old-${process.pid}`);
  try {
    await vite.build({ configFile: join(WEB, 'vite.config.ts'), root: WEB, logLevel: opts.quiet ? 'warn' : 'info', build: { outDir: next, emptyOutDir: true } });
    writeFileSync(join(next, '.build-stamp'), `${hash}\n`);
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(next, DIST);
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  return 'built';
}

// `--if-needed` (prestart): a failed build is reported and AllIN starts anyway (its API does not need
// the app). Otherwise (`npm run build:web`) a failed build fails the command.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifNeeded = process.argv.includes('--if-needed');
  buildWeb({ force: process.argv.includes('--force') }).catch((err: unknown) => {
    console.error(`web app: the build failed: ${(err as Error).stack ?? String(err)}`);
    if (ifNeeded) console.error('web app: starting without it; `/` points to the API documentation at /docs');
    process.exit(ifNeeded ? 0 : 1);
  });
}
