// A production installation, from a clean copy of this working tree: `npm ci --omit=dev`, then every
// production command (migrate, users, keys, mail, serve, worker, start) from the TypeScript sources (tsx)
// and from the compiled JavaScript (ALLIN_RUN=dist); `allin sim` and `allin bench` refuse in one line. Then
// the container image: no Docker daemon runs here, so deploy/Dockerfile is replayed step by step in
// folders (its build context filtered by Dockerfile.dockerignore, each COPY, each RUN, its ENV and
// ENTRYPOINT), and the image's processes are run the way the image runs them.
// Serial: two npm installs' worth of files and a full `npm run build` take the machine's cores for a while.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { ROOT, spawnAllin, isReady, type AllinProcess } from './support/process.ts';
import { createTempDatabase, testRedisUrl, testRedisPrefix } from './support/env.ts';

const work = mkdtempSync(join(tmpdir(), 'allin-production-'));
const CHECKOUT = join(work, 'checkout'); // the clean copy, installed with `npm ci --omit=dev`
const STAGES = join(work, 'stages'); // the Dockerfile's stages, one folder each (the folder is its WORKDIR)
after(() => rmSync(work, { recursive: true, force: true }));

const database = await createTempDatabase();
after(() => database.drop());

const secrets = {
  AUTH_SECRET: randomBytes(48).toString('base64'),
  ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};
/** What every process of this file gets: the run's PostgreSQL and Redis, real secrets, its own folders. */
type Env = Record<string, string | undefined>;
const environment = (extra: Env = {}): Env => ({
  DATABASE_URL: database.url,
  REDIS_URL: testRedisUrl(),
  REDIS_KEY_PREFIX: `${testRedisPrefix()}prod-${randomBytes(3).toString('hex')}:`,
  NODE_ENV: 'production',
  ...secrets,
  HOST: '127.0.0.1',
  PORT: '0',
  ALLIN_HOME: join(work, 'home'),
  MEDIA_DIR: join(work, 'home', 'media'),
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  ...extra,
});

/** npm on the running Node, as scripts/test.js does (under `npm test`, npm_execpath is npm's own script). */
function npm(args: string[], cwd: string): void {
  const [cmd, pre] = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  // Not the npm_* variables `npm test` gave this process (npm_config_prefix and the like would point
  // npm at this checkout); npm's cache is the machine's own (~/.npm), which keeps the install quick.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || k.toLowerCase() === 'npm_config_cache'));
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', env: { ...env, NODE_ENV: undefined }, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} in ${cwd} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().once('error', rej).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

// ------------------------------------------------------------------------------------- the clean copy

// The working tree under test, not the last commit: tracked files as they are now, and new files not yet
// added (what `git add -A` would take), without anything .gitignore keeps out (node_modules, dist, .env).
const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0').filter((f) => f && existsSync(join(ROOT, f)) && !lstatSync(join(ROOT, f)).isDirectory());
for (const f of files) {
  mkdirSync(dirname(join(CHECKOUT, f)), { recursive: true });
  copyFileSync(join(ROOT, f), join(CHECKOUT, f));
}

// ------------------------------------------------------------------------------------- the Dockerfile

interface Instruction { op: string; args: string }
interface Stage { name: string | undefined; steps: Instruction[]; dir: string; workdir: string }

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    assert.ok(op && args !== undefined, `cannot read Dockerfile line: ${line}`);
    if (op === 'FROM') {
      const name = /\sAS\s+(\S+)$/i.exec(args)?.[1];
      stages.push({ name, steps: [], dir: join(STAGES, name ?? `final-${stages.length}`), workdir: '/' });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.steps.push({ op: op.toUpperCase(), args: args.trim() });
    }
  }
  return stages;
}

/** Docker's .dockerignore rules, as far as this file uses them: globs with * and **, `!` to let back in,
 *  the last matching line decides, and a line matching a folder matches everything in it. */
function ignoredBy(text: string): (path: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const keep = l.startsWith('!');
    const glob = (keep ? l.slice(1) : l).replace(/^\/+/, '');
    const source = glob.split(/(\*\*|\*|\?)/).map((part) =>
      part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('');
    return { keep, re: new RegExp(`^${source}$`) };
  });
  return (path) => {
    let ignored = false;
    const parts = path.split('/');
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join('/'))) {
          ignored = !rule.keep;
          break;
        }
      }
    }
    return ignored;
  };
}

const dockerfile = readFileSync(join(CHECKOUT, 'deploy', 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const isIgnored = ignoredBy(readFileSync(join(CHECKOUT, 'deploy', 'Dockerfile.dockerignore'), 'utf8'));
const context = files.filter((f) => !isIgnored(f));
const image = stages.at(-1)!;
const imageEnv: Record<string, string> = {};

/** A path inside a stage: relative to its WORKDIR, or absolute (then under its WORKDIR). */
function inStage(stage: Stage, path: string): string {
  if (!path.startsWith('/')) return join(stage.dir, path);
  const rel = posix.relative(stage.workdir, path);
  assert.ok(!rel.startsWith('..'), `${path} is outside the stage's WORKDIR ${stage.workdir}: the replay keeps each stage in one folder`);
  return join(stage.dir, rel);
}

/** The RUN lines this replay knows, and what it does for each on this machine. */
const RUNS: Record<string, (stage: Stage) => void> = {
  // The build stage's development install: the one this test suite runs on (the same lockfile).
  'npm ci --no-audit --no-fund': (stage) => symlinkSync(join(ROOT, 'node_modules'), join(stage.dir, 'node_modules'), 'dir'),
  'npm run build': (stage) => npm(['run', 'build'], stage.dir),
  // The production install: the command the checkout's test ran for real, on the same package.json and
  // lockfile (checked), so its tree is hard-linked from there rather than installed twice. (`npm cache
  // clean` is left out: it would empty this machine's npm cache; the image cleans it only to be smaller.)
  'npm ci --omit=dev --no-audit --no-fund && npm cache clean --force': (stage) => {
    for (const f of ['package.json', 'package-lock.json']) {
      assert.ok(readFileSync(join(stage.dir, f)).equals(readFileSync(join(CHECKOUT, f))), `${f} differs from the checkout's`);
    }
    assert.ok(existsSync(join(CHECKOUT, 'node_modules')), 'the checkout was installed first');
    execFileSync('cp', ['-al', join(CHECKOUT, 'node_modules'), join(stage.dir, 'node_modules')]);
  },
  // Run as root in the image to make the media volume the `node` user's; here ALLIN_HOME and MEDIA_DIR are
  // in this test's own folder (environment()).
  'mkdir -p /var/lib/allin/media && chown -R node:node /var/lib/allin': () => {},
};

function replay(stage: Stage): void {
  mkdirSync(stage.dir, { recursive: true });
  for (const { op, args } of stage.steps) {
    switch (op) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args);
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        const dest = words.pop()!;
        const destPath = inStage(stage, dest);
        for (const source of words) {
          if (from) {
            const other = stages.find((s) => s.name === from);
            assert.ok(other, `COPY --from=${from}: no such stage`);
            const src = inStage(other, source);
            assert.ok(existsSync(src), `COPY --from=${from} ${source}: the ${from} stage has no such file`);
            mkdirSync(dirname(destPath), { recursive: true });
            cpSync(src, destPath, { recursive: true, dereference: true });
            continue;
          }
          const matched = context.filter((f) => f === source || f.startsWith(`${source}/`));
          assert.ok(matched.length > 0, `COPY ${source}: not in the build context (deploy/Dockerfile.dockerignore lets in ${context.length} files)`);
          for (const f of matched) {
            const to = f === source
              ? (dest.endsWith('/') || words.length > 1 ? join(destPath, basename(f)) : destPath)
              : join(destPath, f.slice(source.length + 1));
            mkdirSync(dirname(to), { recursive: true });
            copyFileSync(join(CHECKOUT, f), to);
          }
        }
        break;
      }
      case 'RUN': {
        const run = RUNS[args];
        assert.ok(run, `RUN ${args}: this test does not know how to replay it; add it to RUNS`);
        run(stage);
        break;
      }
      case 'ENV':
        if (stage === image) {
          for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) imageEnv[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        }
        break;
      case 'USER': case 'VOLUME': case 'EXPOSE': case 'STOPSIGNAL': case 'ENTRYPOINT': case 'CMD':
        break; // read below, where the image's processes start
      default:
        assert.fail(`${op}: this test does not know how to replay it`);
    }
  }
}

// ---------------------------------------------------------------------------------------- the commands

async function oneShot(root: string, args: string[], env: Env): Promise<AllinProcess> {
  const p = spawnAllin(args, env, root);
  const { code } = await p.exited;
  assert.equal(code, 0, `allin ${args.join(' ')} exited ${code}\nstdout: ${JSON.stringify(p.lines.slice(-10))}\nstderr: ${p.stderr()}`);
  return p;
}

/** Starts a server command, checks its probes, stops it with SIGTERM; answers its log lines. */
async function server(root: string, args: string[], env: Env): Promise<Record<string, unknown>[]> {
  const p = spawnAllin(args, env, root);
  try {
    const ready = await p.waitFor(isReady, 120_000);
    for (const path of ['/health', '/api/health']) {
      const r = await fetch(`${String(ready.url)}${path}`);
      assert.equal(r.status, 200, `allin ${args.join(' ')}: ${path} answered ${r.status}: ${await r.text()}`);
    }
  } finally {
    p.kill('SIGTERM');
  }
  assert.deepEqual(await p.exited, { code: 0, signal: null }, `allin ${args.join(' ')} after SIGTERM\nstderr: ${p.stderr()}`);
  return p.lines;
}

async function refusesAsDevTool(root: string, command: string, env: Env): Promise<void> {
  const p = spawnAllin([command], env, root);
  const { code } = await p.exited;
  assert.equal(code, 1, `allin ${command}: ${p.stderr()}`);
  const said = p.stderr().trim();
  assert.match(said, new RegExp(`^allin ${command} needs a development install \\(\`npm install\`, without --omit=dev`));
  assert.equal(said.split('\n').length, 1, `one line, not: ${said}`);
}

async function productionCommands(root: string, env: (extra?: Env) => Env, label: string): Promise<void> {
  const migrate = await oneShot(root, ['migrate'], env());
  assert.ok(migrate.lines.some((l) => /^(Database is up to date|Applied \d+ of \d+ migrations)/.test(String(l.text))), JSON.stringify(migrate.lines));
  // The rest side by side: they do not depend on each other, and each start costs seconds of CPU.
  const email = `production-${label}-${randomBytes(3).toString('hex')}@example.com`;
  const [users, keys, mail] = await Promise.all([
    oneShot(root, ['users', 'create', '--email', email, '--password', `Prod-${randomBytes(9).toString('base64url')}-lantern`, '--json'], env()),
    oneShot(root, ['keys', 'rotate'], env()),
    oneShot(root, ['mail', '--json'], env()),
    refusesAsDevTool(root, 'sim', env()),
    refusesAsDevTool(root, 'bench', env()),
  ]);
  assert.ok(users.lines.some((l) => l.email === email && l.created === true), JSON.stringify(users.lines));
  assert.ok(keys.lines.some((l) => /^Re-encrypted \d+ /.test(String(l.text))), JSON.stringify(keys.lines));
  assert.ok(mail.lines.some((l) => Array.isArray(l)), JSON.stringify(mail.lines));

  const [, , start] = await Promise.all([
    server(root, ['serve'], env()),
    server(root, ['worker'], env({ WORKER_PORT: String(await freePort()) })),
    // The all-in-one process as `npm start` runs it outside production: the Sandbox network on, its
    // simulator in-process (loaded from tools/ through src/dev-tools.ts); shared state in memory.
    server(root, ['start'], env({ NODE_ENV: 'development', REDIS_URL: undefined, REDIS_KEY_PREFIX: undefined })),
  ]);
  assert.ok(start.some((l) => l.msg === 'Sandbox network simulator started'), `the Sandbox simulator: ${JSON.stringify(start.slice(0, 15))}`);
}

// ------------------------------------------------------------------------------------------- the tests

test('the Dockerfile builds the compiled JavaScript in a build stage, with the development install', () => {
  assert.ok(stages.length >= 2, 'a build stage and the final image');
  const build = stages.find((s) => s.name === 'build');
  assert.ok(build && build !== image);
  replay(build);
  assert.ok(existsSync(join(build.dir, 'dist', 'src', 'main.js')), 'npm run build wrote dist/src/main.js');
  // Its output is what `npm run build` gives in the checkout: every folder tsconfig.build.json compiles
  // was copied into the stage, so it is taken as the checkout's own dist/ below rather than built twice.
  const includes = /"include":\s*\[([^\]]*)\]/.exec(readFileSync(join(CHECKOUT, 'tsconfig.build.json'), 'utf8'))![1]!.match(/"[^"]+"/g)!.map((s) => s.slice(1, -1));
  for (const folder of includes) assert.ok(existsSync(join(build.dir, folder)), `the build stage lacks ${folder}/, which npm run build compiles`);
  cpSync(join(build.dir, 'dist'), join(CHECKOUT, 'dist'), { recursive: true });
});

test('npm ci --omit=dev, then every production command from the TypeScript sources (tsx)', async () => {
  npm(['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], CHECKOUT);
  // No package only development needs (typescript stays: it is also an optional peer of production ones).
  const lock = JSON.parse(readFileSync(join(CHECKOUT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.keys(lock.packages).filter((p) => lock.packages[p]!.dev && /^node_modules\/[^/]+(\/[^/]+)?$/.test(p));
  assert.ok(devOnly.length > 0);
  assert.deepEqual(devOnly.filter((p) => existsSync(join(CHECKOUT, p))), [], 'development-only packages installed');
  await productionCommands(CHECKOUT, (extra) => environment(extra), 'src');
});

test('the same commands from the compiled JavaScript (ALLIN_RUN=dist)', async () => {
  await productionCommands(CHECKOUT, (extra) => environment({ ALLIN_RUN: 'dist', ...extra }), 'dist');
});

test('the image: production dependencies and dist/src only, run by plain Node; no Sandbox, no dev tools', async () => {
  replay(image);
  assert.deepEqual(image.steps.find((s) => s.op === 'ENTRYPOINT')?.args, '["node", "bin/allin.js"]');
  assert.deepEqual(image.steps.find((s) => s.op === 'CMD')?.args, '["serve"]');
  assert.equal(imageEnv.ALLIN_RUN, 'dist');
  assert.equal(imageEnv.NODE_ENV, 'production');
  for (const absent of ['src', 'tools', 'bench', 'test', 'tsconfig.json', join('dist', 'tools')]) {
    assert.ok(!existsSync(join(image.dir, absent)), `the image has ${absent}`);
  }
  // tsx is a dependency (it runs the sources after `npm ci --omit=dev`), so the image has it; taken away
  // here, it shows that nothing the image runs loads it.
  rmSync(join(image.dir, 'node_modules', 'tsx'), { recursive: true, force: true });

  // The image's environment, with this machine's ports, folders, database and Redis.
  const env = (extra: Env = {}): Env => ({ ...imageEnv, ...environment(extra) });
  await oneShot(image.dir, ['migrate'], env());
  const [, , start] = await Promise.all([
    server(image.dir, ['serve'], env()),
    server(image.dir, ['worker'], env({ WORKER_PORT: String(await freePort()) })),
    // Asked for the Sandbox, an installation without the simulator runs without it and says why.
    server(image.dir, ['start'], env({ SANDBOX: 'on', REDIS_URL: undefined, REDIS_KEY_PREFIX: undefined })),
    refusesAsDevTool(image.dir, 'sim', env()),
    refusesAsDevTool(image.dir, 'bench', env()),
  ]);
  const warning = start.find((l) => String(l.msg).startsWith('no Sandbox network'));
  assert.ok(warning, `a line saying there is no Sandbox network: ${JSON.stringify(start.slice(0, 15))}`);
  assert.equal(warning.missing, join(image.dir, 'dist', 'tools', 'provider-sim', 'server.js'));
});
